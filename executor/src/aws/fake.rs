//! An in-memory [`Cloud`] for tests: routes, target health, ECS services and
//! leases, with injectable faults (throttling, services that never settle)
//! and a log of every call.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Cloud, CloudError, EcsService, Forward, Lease, Route, TargetHealth};

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
}

#[derive(Debug, Default)]
struct State {
    routes: BTreeMap<String, Forward>,
    target_health: BTreeMap<String, TargetHealth>,
    services: BTreeMap<(String, String), EcsService>,
    /// ECS services that never reach a steady state.
    never_steady: Vec<(String, String)>,
    leases: BTreeMap<(String, String), Lease>,
    faults: VecDeque<FakeFault>,
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

    /// Records a call and applies a queued fault for it, if any.
    fn call(
        &self,
        operation: &'static str,
        arguments: String,
    ) -> Result<MutexGuard<'_, State>, CloudError> {
        let mut state = self.state();
        state.calls.push(format!("{operation} {arguments}"));
        let position = state.faults.iter().position(|fault| match fault {
            FakeFault::Throttle { operation: o, .. } | FakeFault::Fail { operation: o, .. } => {
                *o == operation
            }
        });
        if let Some(index) = position {
            let (throttled, remaining) = match &mut state.faults[index] {
                FakeFault::Throttle { times, .. } => {
                    *times -= 1;
                    (true, *times)
                }
                FakeFault::Fail { times, .. } => {
                    *times -= 1;
                    (false, *times)
                }
            };
            if remaining == 0 {
                state.faults.remove(index);
            }
            return Err(CloudError::Service {
                operation,
                message: if throttled {
                    "ThrottlingException: Rate exceeded".to_owned()
                } else {
                    "InternalFailure: injected by the test".to_owned()
                },
                throttled,
            });
        }
        Ok(state)
    }
}

impl Cloud for FakeCloud {
    async fn forward(&self, route: &Route) -> Result<Forward, CloudError> {
        let operation = match route {
            Route::Listener(_) => "DescribeListeners",
            Route::Rule(_) => "DescribeRules",
        };
        let state = self.call(operation, route.arn().to_owned())?;
        state
            .routes
            .get(route.arn())
            .cloned()
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
        let mut state = self.call(operation, format!("{} {}", route.arn(), weights.join(",")))?;
        match state.routes.get_mut(route.arn()) {
            Some(current) => {
                *current = forward.clone();
                Ok(())
            }
            None => Err(CloudError::NotFound {
                operation,
                what: route.to_string(),
            }),
        }
    }

    async fn target_health(&self, target_group: &str) -> Result<TargetHealth, CloudError> {
        let state = self.call("DescribeTargetHealth", target_group.to_owned())?;
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
        let mut state = self.call("DescribeServices", format!("{cluster}/{service}"))?;
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

    async fn deploy_image(
        &self,
        cluster: &str,
        service: &str,
        image: &str,
    ) -> Result<String, CloudError> {
        let mut state = self.call(
            "UpdateService",
            format!("{cluster}/{service} image={image}"),
        )?;
        state.revisions += 1;
        let revision = state.revisions;
        let key = (cluster.to_owned(), service.to_owned());
        let Some(current) = state.services.get_mut(&key) else {
            return Err(CloudError::NotFound {
                operation: "UpdateService",
                what: format!("service {service} in cluster {cluster}"),
            });
        };
        let arn = format!("arn:aws:ecs:fake:task-definition/{service}:{revision}");
        current.task_definition = arn.clone();
        current.deployments = 2;
        current.running = current.desired.saturating_sub(1);
        Ok(arn)
    }

    async fn scale_service(
        &self,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> Result<(), CloudError> {
        let mut state = self.call(
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
        Ok(())
    }

    async fn acquire_lease(&self, table: &str, lease: &Lease, now: u64) -> Result<(), CloudError> {
        let mut state = self.call("PutItem", format!("{table} {}", lease.key))?;
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

    async fn release_lease(&self, table: &str, key: &str, holder: &str) -> Result<(), CloudError> {
        let mut state = self.call("DeleteItem", format!("{table} {key}"))?;
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
