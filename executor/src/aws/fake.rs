//! An in-memory [`Cloud`] for tests: routes, target health, ECS services and
//! leases, with injectable faults (throttling, services that never settle)
//! and a log of every call.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{
    Alarm, AlarmState, Cloud, CloudError, Container, EcsService, Forward, Lease, Route, RouteState,
    TargetHealth,
};

/// A fault to inject into the next matching calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FakeFault {
    /// The next `times` calls of `operation` fail with a throttling error.
    Throttle {
        /// The operation name, e.g. `ModifyListener`.
        operation: &'static str,
        /// How many calls fail.
        times: u32,
    },
    /// The next `times` calls of `operation` fail with a non-retryable error.
    Fail {
        /// The operation name.
        operation: &'static str,
        /// How many calls fail.
        times: u32,
    },
    /// The next `times` calls of `operation` take effect, but their answer is
    /// lost (a transport error reaches the caller).
    AnswerLost {
        /// The operation name.
        operation: &'static str,
        /// How many calls lose their answer.
        times: u32,
    },
}

impl FakeFault {
    fn operation(&self) -> &'static str {
        match self {
            FakeFault::Throttle { operation, .. }
            | FakeFault::Fail { operation, .. }
            | FakeFault::AnswerLost { operation, .. } => operation,
        }
    }

    /// Counts one use; `true` when it is used up.
    fn use_once(&mut self) -> bool {
        let (FakeFault::Throttle { times, .. }
        | FakeFault::Fail { times, .. }
        | FakeFault::AnswerLost { times, .. }) = self;
        *times = times.saturating_sub(1);
        *times == 0
    }
}

#[derive(Debug, Default)]
struct State {
    routes: BTreeMap<String, Forward>,
    target_health: BTreeMap<String, TargetHealth>,
    services: BTreeMap<(String, String), EcsService>,
    /// ECS services that never reach a steady state.
    never_steady: Vec<(String, String)>,
    leases: BTreeMap<(String, String), Lease>,
    task_definitions: BTreeMap<String, Vec<Container>>,
    faults: VecDeque<FakeFault>,
    alarms: BTreeMap<String, Alarm>,
    calls: Vec<String>,
    revisions: u32,
}

/// In-memory AWS. Cheap to clone; clones share state.
#[derive(Clone, Debug, Default)]
pub struct FakeCloud {
    state: Arc<Mutex<State>>,
}

impl FakeCloud {
    /// An empty cloud.
    pub fn new() -> Self {
        FakeCloud::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a test failure already; keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets where a route forwards.
    pub fn put_route(&self, route: &Route, forward: Forward) {
        self.state().routes.insert(route.arn().to_owned(), forward);
    }

    /// Where a route forwards, if it exists.
    pub fn route(&self, route: &Route) -> Option<Forward> {
        self.state().routes.get(route.arn()).cloned()
    }

    /// Sets the target health of a target group.
    pub fn put_target_health(&self, target_group: &str, health: TargetHealth) {
        self.state()
            .target_health
            .insert(target_group.to_owned(), health);
    }

    /// Adds or replaces an ECS service.
    pub fn put_service(&self, cluster: &str, service: &str, state: EcsService) {
        self.state()
            .services
            .insert((cluster.to_owned(), service.to_owned()), state);
    }

    /// The state of an ECS service, if it exists.
    pub fn service(&self, cluster: &str, service: &str) -> Option<EcsService> {
        self.state()
            .services
            .get(&(cluster.to_owned(), service.to_owned()))
            .cloned()
    }

    /// Registers a task definition's containers under `arn`.
    pub fn put_task_definition(&self, arn: &str, containers: Vec<Container>) {
        self.state()
            .task_definitions
            .insert(arn.to_owned(), containers);
    }

    /// The containers of a task definition, if registered.
    pub fn task_definition(&self, arn: &str) -> Option<Vec<Container>> {
        self.state().task_definitions.get(arn).cloned()
    }

    /// A lease, if held.
    pub fn lease(&self, table: &str, key: &str) -> Option<Lease> {
        self.state()
            .leases
            .get(&(table.to_owned(), key.to_owned()))
            .cloned()
    }

    /// Creates an alarm, or sets the state and reason of one (as
    /// `PutMetricAlarm` and `SetAlarmState` would).
    pub fn put_alarm(&self, name: &str, state: AlarmState, reason: &str) {
        self.state().alarms.insert(
            name.to_owned(),
            Alarm {
                name: name.to_owned(),
                state,
                reason: reason.to_owned(),
            },
        );
    }

    /// Makes an ECS service stay mid-deployment forever.
    pub fn never_steady(&self, cluster: &str, service: &str) {
        self.state()
            .never_steady
            .push((cluster.to_owned(), service.to_owned()));
    }

    /// Queues a fault.
    pub fn inject(&self, fault: FakeFault) {
        self.state().faults.push_back(fault);
    }

    /// Every call so far, as `Operation arguments`.
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    /// Records a call and applies a queued fault for it, if any. A lost
    /// answer is returned as `Ok((state, Some(error)))`: the caller applies
    /// the call, then returns the error.
    fn call(
        &self,
        operation: &'static str,
        arguments: String,
    ) -> Result<(MutexGuard<'_, State>, Option<CloudError>), CloudError> {
        let mut state = self.state();
        state.calls.push(format!("{operation} {arguments}"));
        let Some(index) = state.faults.iter().position(|f| f.operation() == operation) else {
            return Ok((state, None));
        };
        let fault = state.faults[index].clone();
        if state.faults[index].use_once() {
            state.faults.remove(index);
        }
        let error = |message: &str, throttled| CloudError::Service {
            operation,
            message: message.to_owned(),
            throttled,
        };
        match fault {
            FakeFault::Throttle { .. } => Err(error("ThrottlingException: Rate exceeded", true)),
            FakeFault::Fail { .. } => Err(error("InternalFailure: injected by the test", false)),
            FakeFault::AnswerLost { .. } => Ok((
                state,
                Some(error(
                    "dispatch failure: connection reset (injected)",
                    false,
                )),
            )),
        }
    }

    /// A read: applies faults, ignores lost answers (nothing to lose).
    fn read(
        &self,
        operation: &'static str,
        arguments: String,
    ) -> Result<MutexGuard<'_, State>, CloudError> {
        match self.call(operation, arguments)? {
            (_, Some(error)) => Err(error),
            (state, None) => Ok(state),
        }
    }
}

impl Cloud for FakeCloud {
    async fn route(&self, route: &Route) -> Result<RouteState, CloudError> {
        let operation = match route {
            Route::Listener(_) => "DescribeListeners",
            Route::Rule(_) => "DescribeRules",
        };
        let state = self.read(operation, route.arn().to_owned())?;
        state
            .routes
            .get(route.arn())
            .cloned()
            .map(RouteState::forwarding)
            .ok_or_else(|| CloudError::NotFound {
                operation,
                what: route.to_string(),
            })
    }

    async fn set_forward(&self, route: &Route, forward: &Forward) -> Result<(), CloudError> {
        let operation = match route {
            Route::Listener(_) => "ModifyListener",
            Route::Rule(_) => "ModifyRule",
        };
        let weights: Vec<String> = forward
            .targets
            .iter()
            .map(|(tg, w)| format!("{tg}={w}"))
            .collect();
        let (mut state, lost) =
            self.call(operation, format!("{} {}", route.arn(), weights.join(",")))?;
        let Some(current) = state.routes.get_mut(route.arn()) else {
            return Err(CloudError::NotFound {
                operation,
                what: route.to_string(),
            });
        };
        *current = forward.clone();
        lost.map_or(Ok(()), Err)
    }

    async fn target_health(&self, target_group: &str) -> Result<TargetHealth, CloudError> {
        let state = self.read("DescribeTargetHealth", target_group.to_owned())?;
        Ok(state
            .target_health
            .get(target_group)
            .copied()
            .unwrap_or(TargetHealth {
                healthy: 1,
                total: 1,
            }))
    }

    async fn ecs_service(&self, cluster: &str, service: &str) -> Result<EcsService, CloudError> {
        let mut state = self.read("DescribeServices", format!("{cluster}/{service}"))?;
        let key = (cluster.to_owned(), service.to_owned());
        let never_steady = state.never_steady.contains(&key);
        let Some(current) = state.services.get_mut(&key) else {
            return Err(CloudError::NotFound {
                operation: "DescribeServices",
                what: format!("service {service} in cluster {cluster}"),
            });
        };
        let observed = current.clone();
        // Deployments progress by one step per look, unless stuck.
        if !never_steady {
            current.deployments = 1;
            current.running = current.desired;
        }
        Ok(observed)
    }

    async fn containers(&self, task_definition: &str) -> Result<Vec<Container>, CloudError> {
        let state = self.read("DescribeTaskDefinition", task_definition.to_owned())?;
        state
            .task_definitions
            .get(task_definition)
            .cloned()
            .ok_or_else(|| CloudError::NotFound {
                operation: "DescribeTaskDefinition",
                what: task_definition.to_owned(),
            })
    }

    async fn deploy_image(
        &self,
        cluster: &str,
        service: &str,
        container: &str,
        image: &str,
    ) -> Result<String, CloudError> {
        let (mut state, lost) = self.call(
            "UpdateService",
            format!("{cluster}/{service} {container}={image}"),
        )?;
        state.revisions += 1;
        let revision = state.revisions;
        let key = (cluster.to_owned(), service.to_owned());
        let Some(current) = state.services.get(&key).cloned() else {
            return Err(CloudError::NotFound {
                operation: "UpdateService",
                what: format!("service {service} in cluster {cluster}"),
            });
        };
        let mut containers = state
            .task_definitions
            .get(&current.task_definition)
            .cloned()
            .unwrap_or_else(|| {
                vec![Container {
                    name: container.to_owned(),
                    image: String::new(),
                }]
            });
        for c in containers.iter_mut().filter(|c| c.name == container) {
            c.image = image.to_owned();
        }
        let arn = format!("arn:aws:ecs:fake:task-definition/{service}:{revision}");
        state.task_definitions.insert(arn.clone(), containers);
        if let Some(current) = state.services.get_mut(&key) {
            current.task_definition = arn.clone();
            current.deployments = 2;
            current.running = current.desired.saturating_sub(1);
        }
        lost.map_or(Ok(arn), Err)
    }

    async fn scale_service(
        &self,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> Result<(), CloudError> {
        let (mut state, lost) = self.call(
            "UpdateService",
            format!("{cluster}/{service} desired={desired}"),
        )?;
        let key = (cluster.to_owned(), service.to_owned());
        let Some(current) = state.services.get_mut(&key) else {
            return Err(CloudError::NotFound {
                operation: "UpdateService",
                what: format!("service {service} in cluster {cluster}"),
            });
        };
        current.desired = desired;
        current.running = desired;
        lost.map_or(Ok(()), Err)
    }

    async fn alarms(&self, names: &[String]) -> Result<Vec<Alarm>, CloudError> {
        let state = self.read("DescribeAlarms", names.join(","))?;
        Ok(names
            .iter()
            .filter_map(|name| state.alarms.get(name).cloned())
            .collect())
    }

    async fn acquire_lease(&self, table: &str, lease: &Lease, now: u64) -> Result<(), CloudError> {
        let mut state = self.read("PutItem", format!("{table} {}", lease.key))?;
        let key = (table.to_owned(), lease.key.clone());
        match state.leases.get(&key) {
            Some(held) if held.holder != lease.holder && held.expires_at > now => {
                Err(CloudError::LockHeld(held.clone()))
            }
            _ => {
                state.leases.insert(key, lease.clone());
                Ok(())
            }
        }
    }

    async fn read_lease(&self, table: &str, key: &str) -> Result<Option<Lease>, CloudError> {
        let state = self.read("GetItem", format!("{table} {key}"))?;
        Ok(state
            .leases
            .get(&(table.to_owned(), key.to_owned()))
            .cloned())
    }

    async fn release_lease(&self, table: &str, key: &str, holder: &str) -> Result<(), CloudError> {
        let mut state = self.read("DeleteItem", format!("{table} {key}"))?;
        let map_key = (table.to_owned(), key.to_owned());
        if state
            .leases
            .get(&map_key)
            .is_some_and(|l| l.holder == holder)
        {
            state.leases.remove(&map_key);
        }
        Ok(())
    }
}
