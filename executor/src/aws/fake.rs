//! An in-memory [`Cloud`] for tests: routes, target health, ECS services and
//! leases, with injectable faults (throttling, services that never settle)
//! and a log of every call.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use std::time::Duration;

use tokio::time::Instant;

use super::{
    Alarm, AlarmState, AutoScalingGroup, Cloud, CloudError, Container, EcsService, Forward,
    GroupCapacity, GroupInstance, Lease, Route, RouteState, Target, TargetHealth,
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
    /// How long a new ECS deployment or a launched instance takes to be
    /// ready; zero: ECS services settle at the next look, instances at once.
    ready_after: Duration,
    /// When each ECS service that is deploying becomes steady.
    steady_at: BTreeMap<(String, String), Instant>,
    groups: BTreeMap<String, FakeGroup>,
    instances_launched: u32,
}

/// An Auto Scaling group of the fake: it launches and terminates instances
/// to match its desired size, from its launch template's image.
#[derive(Clone, Debug)]
struct FakeGroup {
    capacity: GroupCapacity,
    template: String,
    version: u32,
    /// Launches `$Latest` of its template rather than a version number.
    latest: bool,
    image: String,
    instances: Vec<FakeInstance>,
    target_groups: Vec<String>,
}

#[derive(Clone, Debug)]
struct FakeInstance {
    id: String,
    image: String,
    ready_at: Instant,
}

impl State {
    /// Launches or terminates instances so that group `name` has its desired size.
    fn reconcile(&mut self, name: &str) {
        self.launch_ready_after(name, self.ready_after);
    }

    /// [`State::reconcile`] with instances launched now ready after `ready_after`.
    fn launch_ready_after(&mut self, name: &str, ready_after: Duration) {
        let now = Instant::now();
        let Some(group) = self.groups.get_mut(name) else {
            return;
        };
        let desired = group.capacity.desired as usize;
        group.instances.truncate(desired);
        while group.instances.len() < desired {
            self.instances_launched += 1;
            group.instances.push(FakeInstance {
                id: format!("i-{:017x}", self.instances_launched),
                image: group.image.clone(),
                ready_at: now + ready_after,
            });
        }
    }

    fn group_view(&mut self, name: &str) -> Option<AutoScalingGroup> {
        self.reconcile(name);
        let now = Instant::now();
        let group = self.groups.get(name)?;
        Some(AutoScalingGroup {
            name: name.to_owned(),
            capacity: group.capacity,
            template: Some((
                group.template.clone(),
                if group.latest {
                    "$Latest".to_owned()
                } else {
                    group.version.to_string()
                },
            )),
            template_image: Some(group.image.clone()),
            instances: group
                .instances
                .iter()
                .map(|i| GroupInstance {
                    id: i.id.clone(),
                    lifecycle: if now >= i.ready_at {
                        "InService"
                    } else {
                        "Pending"
                    }
                    .to_owned(),
                    healthy: true,
                    image: Some(i.image.clone()),
                })
                .collect(),
            target_groups: group.target_groups.clone(),
        })
    }

    /// The groups attached to a target group.
    fn attached(&self, target_group: &str) -> Vec<String> {
        self.groups
            .iter()
            .filter(|(_, g)| g.target_groups.iter().any(|t| t == target_group))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The instances of the groups attached to a target group, `initial`
    /// until they are ready.
    fn group_targets(&mut self, target_group: &str) -> Option<Vec<Target>> {
        let attached = self.attached(target_group);
        if attached.is_empty() {
            return None;
        }
        let now = Instant::now();
        let mut targets = Vec::new();
        for name in attached {
            self.reconcile(&name);
            for instance in &self.groups[&name].instances {
                targets.push(Target {
                    id: instance.id.clone(),
                    state: if now >= instance.ready_at {
                        "healthy"
                    } else {
                        "initial"
                    }
                    .to_owned(),
                });
            }
        }
        Some(targets)
    }
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

    /// Makes new ECS deployments and launched instances take `delay` to be
    /// ready (the time a real green needs: tasks pull images, instances boot).
    pub fn ready_after(&self, delay: Duration) {
        self.state().ready_after = delay;
    }

    /// Adds an Auto Scaling group launching `image` from launch template
    /// `template` version 1, attached to `target_groups`; its instances are
    /// in service at once.
    pub fn put_group(
        &self,
        name: &str,
        template: &str,
        image: &str,
        capacity: GroupCapacity,
        target_groups: &[&str],
    ) {
        let mut state = self.state();
        state.groups.insert(
            name.to_owned(),
            FakeGroup {
                capacity,
                template: template.to_owned(),
                version: 1,
                latest: false,
                image: image.to_owned(),
                instances: Vec::new(),
                target_groups: target_groups.iter().map(|t| (*t).to_owned()).collect(),
            },
        );
        state.launch_ready_after(name, Duration::ZERO);
    }

    /// Makes a group launch `$Latest` of its launch template.
    pub fn launch_latest(&self, name: &str) {
        if let Some(group) = self.state().groups.get_mut(name) {
            group.latest = true;
        }
    }

    /// An Auto Scaling group as it is now, if it exists.
    pub fn group(&self, name: &str) -> Option<AutoScalingGroup> {
        self.state().group_view(name)
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

/// Every call yields once before it answers, as a network call would, so
/// that a run can be stopped between any two calls.
impl Cloud for FakeCloud {
    async fn route(&self, route: &Route) -> Result<RouteState, CloudError> {
        tokio::task::yield_now().await;
        let operation = match route {
            Route::Listener(_) => "DescribeListeners",
            Route::Rule(_) => "DescribeRules",
            Route::TargetGroup(_) => "DescribeAutoScalingGroups",
        };
        let state = self.read(operation, route.arn().to_owned())?;
        if let Route::TargetGroup(arn) = route {
            let targets = state.attached(arn).into_iter().map(|g| (g, 1)).collect();
            return Ok(RouteState {
                forward: Forward { targets },
                actions: Vec::new(),
            });
        }
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
        tokio::task::yield_now().await;
        let operation = match route {
            Route::Listener(_) => "ModifyListener",
            Route::Rule(_) => "ModifyRule",
            Route::TargetGroup(_) => {
                return Err(CloudError::UnsupportedRoute {
                    route: route.to_string(),
                    problem: "no listener action".to_owned(),
                });
            }
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
        tokio::task::yield_now().await;
        let mut state = self.read("DescribeTargetHealth", target_group.to_owned())?;
        if let Some(targets) = state.group_targets(target_group) {
            let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            return Ok(TargetHealth {
                healthy: count(targets.iter().filter(|t| t.state == "healthy").count()),
                total: count(targets.len()),
            });
        }
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
        tokio::task::yield_now().await;
        let mut state = self.read("DescribeServices", format!("{cluster}/{service}"))?;
        let key = (cluster.to_owned(), service.to_owned());
        let never_steady = state.never_steady.contains(&key);
        let steady_at = state.steady_at.get(&key).copied();
        let Some(current) = state.services.get_mut(&key) else {
            return Err(CloudError::NotFound {
                operation: "DescribeServices",
                what: format!("service {service} in cluster {cluster}"),
            });
        };
        let observed = current.clone();
        match steady_at {
            // A deployment with a readiness time settles once it has come.
            Some(at) if Instant::now() >= at && !never_steady => {
                current.deployments = 1;
                current.running = current.desired;
                let settled = current.clone();
                state.steady_at.remove(&key);
                Ok(settled)
            }
            Some(_) => Ok(observed),
            // Without one, deployments progress by one step per look, unless stuck.
            None => {
                if !never_steady {
                    current.deployments = 1;
                    current.running = current.desired;
                }
                Ok(observed)
            }
        }
    }

    async fn containers(&self, task_definition: &str) -> Result<Vec<Container>, CloudError> {
        tokio::task::yield_now().await;
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
        tokio::task::yield_now().await;
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
        if !state.ready_after.is_zero() {
            let at = Instant::now() + state.ready_after;
            state.steady_at.insert(key, at);
        }
        lost.map_or(Ok(arn), Err)
    }

    async fn scale_service(
        &self,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> Result<(), CloudError> {
        tokio::task::yield_now().await;
        let (mut state, lost) = self.call(
            "UpdateService",
            format!("{cluster}/{service} desired={desired}"),
        )?;
        let key = (cluster.to_owned(), service.to_owned());
        let ready_after = state.ready_after;
        let Some(current) = state.services.get_mut(&key) else {
            return Err(CloudError::NotFound {
                operation: "UpdateService",
                what: format!("service {service} in cluster {cluster}"),
            });
        };
        current.desired = desired;
        if ready_after.is_zero() {
            current.running = desired;
        } else {
            current.running = current.running.min(desired);
            state.steady_at.insert(key, Instant::now() + ready_after);
        }
        lost.map_or(Ok(()), Err)
    }

    async fn targets(&self, target_group: &str) -> Result<Vec<Target>, CloudError> {
        tokio::task::yield_now().await;
        let mut state = self.read("DescribeTargetHealth", target_group.to_owned())?;
        Ok(state.group_targets(target_group).unwrap_or_default())
    }

    async fn auto_scaling_group(&self, name: &str) -> Result<AutoScalingGroup, CloudError> {
        tokio::task::yield_now().await;
        let mut state = self.read("DescribeAutoScalingGroups", name.to_owned())?;
        state
            .group_view(name)
            .ok_or_else(|| group_not_found("DescribeAutoScalingGroups", name))
    }

    async fn set_group_image(&self, name: &str, image: &str) -> Result<String, CloudError> {
        tokio::task::yield_now().await;
        let (mut state, lost) =
            self.call("CreateLaunchTemplateVersion", format!("{name} {image}"))?;
        let group = state
            .groups
            .get_mut(name)
            .ok_or_else(|| group_not_found("CreateLaunchTemplateVersion", name))?;
        group.version += 1;
        group.image = image.to_owned();
        let version = group.version.to_string();
        lost.map_or(Ok(version), Err)
    }

    async fn set_group_capacity(
        &self,
        name: &str,
        capacity: GroupCapacity,
    ) -> Result<(), CloudError> {
        tokio::task::yield_now().await;
        let (mut state, lost) =
            self.call("UpdateAutoScalingGroup", format!("{name} {capacity}"))?;
        state.reconcile(name);
        let group = state
            .groups
            .get_mut(name)
            .ok_or_else(|| group_not_found("UpdateAutoScalingGroup", name))?;
        group.capacity = capacity;
        state.reconcile(name);
        lost.map_or(Ok(()), Err)
    }

    async fn replace_instance(&self, name: &str, instance: &str) -> Result<(), CloudError> {
        tokio::task::yield_now().await;
        let (mut state, lost) = self.call(
            "TerminateInstanceInAutoScalingGroup",
            format!("{name} {instance}"),
        )?;
        let group = state
            .groups
            .get_mut(name)
            .ok_or_else(|| group_not_found("TerminateInstanceInAutoScalingGroup", name))?;
        group.instances.retain(|i| i.id != instance);
        state.reconcile(name);
        lost.map_or(Ok(()), Err)
    }

    async fn attach_target_group(&self, name: &str, target_group: &str) -> Result<(), CloudError> {
        tokio::task::yield_now().await;
        let (mut state, lost) = self.call(
            "AttachLoadBalancerTargetGroups",
            format!("{name} {target_group}"),
        )?;
        let group = state
            .groups
            .get_mut(name)
            .ok_or_else(|| group_not_found("AttachLoadBalancerTargetGroups", name))?;
        if !group.target_groups.iter().any(|t| t == target_group) {
            group.target_groups.push(target_group.to_owned());
        }
        lost.map_or(Ok(()), Err)
    }

    async fn detach_target_group(&self, name: &str, target_group: &str) -> Result<(), CloudError> {
        tokio::task::yield_now().await;
        let (mut state, lost) = self.call(
            "DetachLoadBalancerTargetGroups",
            format!("{name} {target_group}"),
        )?;
        let group = state
            .groups
            .get_mut(name)
            .ok_or_else(|| group_not_found("DetachLoadBalancerTargetGroups", name))?;
        group.target_groups.retain(|t| t != target_group);
        lost.map_or(Ok(()), Err)
    }

    async fn alarms(&self, names: &[String]) -> Result<Vec<Alarm>, CloudError> {
        tokio::task::yield_now().await;
        let state = self.read("DescribeAlarms", names.join(","))?;
        Ok(names
            .iter()
            .filter_map(|name| state.alarms.get(name).cloned())
            .collect())
    }

    async fn acquire_lease(&self, table: &str, lease: &Lease, now: u64) -> Result<(), CloudError> {
        tokio::task::yield_now().await;
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
        tokio::task::yield_now().await;
        let state = self.read("GetItem", format!("{table} {key}"))?;
        Ok(state
            .leases
            .get(&(table.to_owned(), key.to_owned()))
            .cloned())
    }

    async fn release_lease(&self, table: &str, key: &str, holder: &str) -> Result<(), CloudError> {
        tokio::task::yield_now().await;
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

fn group_not_found(operation: &'static str, name: &str) -> CloudError {
    CloudError::NotFound {
        operation,
        what: format!("Auto Scaling group `{name}`"),
    }
}
