//! A [`Cloud`] that changes nothing: reads go to the real cloud, writes are
//! only written down (and remembered, so that reading a route back shows
//! what the write would have made of it).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{
    Alarm, AutoScalingGroup, Cloud, CloudError, Container, EcsService, Forward, GroupCapacity,
    Lease, Route, RouteState, Target, TargetHealth,
};

/// Records every call, in order, and performs only the reads.
#[derive(Clone, Debug)]
pub struct DryRun<C> {
    inner: C,
    calls: Arc<Mutex<Vec<String>>>,
    routes: Arc<Mutex<BTreeMap<String, Forward>>>,
    /// Images and capacities the writes would have given groups.
    images: Arc<Mutex<BTreeMap<String, String>>>,
    capacities: Arc<Mutex<BTreeMap<String, GroupCapacity>>>,
}

impl<C> DryRun<C> {
    /// Wraps a cloud.
    pub fn new(inner: C) -> Self {
        DryRun {
            inner,
            calls: Arc::default(),
            routes: Arc::default(),
            images: Arc::default(),
            capacities: Arc::default(),
        }
    }

    /// Every call that would be made, in order, as `Operation arguments`.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    fn note(&self, call: String) {
        lock(&self.calls).push(call);
    }
}

impl<C: Cloud> DryRun<C> {
    /// The groups attached to a target group, as the writes so far would
    /// have left them.
    async fn attached(&self, target_group: &str) -> Result<Forward, CloudError> {
        if let Some(planned) = lock(&self.routes).get(target_group).cloned() {
            return Ok(planned);
        }
        let route = Route::TargetGroup(target_group.to_owned());
        Ok(self.inner.route(&route).await?.forward)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn describe_forward(forward: &Forward) -> String {
    forward
        .targets
        .iter()
        .map(|(tg, w)| format!("{tg}={w}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl<C: Cloud> Cloud for DryRun<C> {
    async fn route(&self, route: &Route) -> Result<RouteState, CloudError> {
        let operation = match route {
            Route::Listener(_) => "DescribeListeners",
            Route::Rule(_) => "DescribeRules",
            Route::TargetGroup(_) => "DescribeAutoScalingGroups attached to",
        };
        self.note(format!("{operation} {}", route.arn()));
        let mut live = self.inner.route(route).await?;
        if let Some(planned) = lock(&self.routes).get(route.arn()).cloned() {
            live.forward = planned;
        }
        Ok(live)
    }

    async fn set_forward(&self, route: &Route, forward: &Forward) -> Result<(), CloudError> {
        let operation = match route {
            Route::Listener(_) => "ModifyListener",
            Route::Rule(_) => "ModifyRule",
            Route::TargetGroup(_) => {
                "AttachLoadBalancerTargetGroups/DetachLoadBalancerTargetGroups"
            }
        };
        self.note(format!(
            "{operation} {} forward {} (other actions kept)",
            route.arn(),
            describe_forward(forward)
        ));
        lock(&self.routes).insert(route.arn().to_owned(), forward.clone());
        Ok(())
    }

    async fn target_health(&self, target_group: &str) -> Result<TargetHealth, CloudError> {
        self.note(format!("DescribeTargetHealth {target_group}"));
        self.inner.target_health(target_group).await
    }

    async fn ecs_service(&self, cluster: &str, service: &str) -> Result<EcsService, CloudError> {
        self.note(format!("DescribeServices {cluster}/{service}"));
        self.inner.ecs_service(cluster, service).await
    }

    async fn containers(&self, task_definition: &str) -> Result<Vec<Container>, CloudError> {
        self.note(format!("DescribeTaskDefinition {task_definition}"));
        self.inner.containers(task_definition).await
    }

    async fn deploy_image(
        &self,
        cluster: &str,
        service: &str,
        container: &str,
        image: &str,
    ) -> Result<String, CloudError> {
        self.note(format!(
            "DescribeTaskDefinition, RegisterTaskDefinition, UpdateService {cluster}/{service} container {container} image {image}"
        ));
        Ok(format!("(new revision of {service}'s task definition)"))
    }

    async fn scale_service(
        &self,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> Result<(), CloudError> {
        self.note(format!(
            "UpdateService {cluster}/{service} desired-count {desired}"
        ));
        Ok(())
    }

    async fn targets(&self, target_group: &str) -> Result<Vec<Target>, CloudError> {
        self.note(format!("DescribeTargetHealth {target_group}"));
        self.inner.targets(target_group).await
    }

    async fn auto_scaling_group(&self, name: &str) -> Result<AutoScalingGroup, CloudError> {
        self.note(format!(
            "DescribeAutoScalingGroups, DescribeLaunchTemplateVersions, DescribeInstances {name}"
        ));
        let mut group = self.inner.auto_scaling_group(name).await?;
        if let Some(image) = lock(&self.images).get(name) {
            group.template_image = Some(image.clone());
        }
        if let Some(capacity) = lock(&self.capacities).get(name) {
            group.capacity = *capacity;
        }
        Ok(group)
    }

    async fn set_group_image(&self, name: &str, image: &str) -> Result<String, CloudError> {
        self.note(format!(
            "CreateLaunchTemplateVersion (from {name}'s version, ImageId {image}), UpdateAutoScalingGroup {name} to that version"
        ));
        lock(&self.images).insert(name.to_owned(), image.to_owned());
        Ok("(new version)".to_owned())
    }

    async fn set_group_capacity(
        &self,
        name: &str,
        capacity: GroupCapacity,
    ) -> Result<(), CloudError> {
        self.note(format!("UpdateAutoScalingGroup {name} {capacity}"));
        lock(&self.capacities).insert(name.to_owned(), capacity);
        Ok(())
    }

    async fn replace_instance(&self, name: &str, instance: &str) -> Result<(), CloudError> {
        self.note(format!(
            "TerminateInstanceInAutoScalingGroup {name} {instance} (replaced, desired kept)"
        ));
        Ok(())
    }

    async fn attach_target_group(&self, name: &str, target_group: &str) -> Result<(), CloudError> {
        self.note(format!(
            "AttachLoadBalancerTargetGroups {name} {target_group}"
        ));
        let mut attached = self.attached(target_group).await?;
        if !attached.targets.iter().any(|(group, _)| group == name) {
            attached.targets.push((name.to_owned(), 1));
        }
        lock(&self.routes).insert(target_group.to_owned(), attached);
        Ok(())
    }

    async fn detach_target_group(&self, name: &str, target_group: &str) -> Result<(), CloudError> {
        self.note(format!(
            "DetachLoadBalancerTargetGroups {name} {target_group}"
        ));
        let mut attached = self.attached(target_group).await?;
        attached.targets.retain(|(group, _)| group != name);
        lock(&self.routes).insert(target_group.to_owned(), attached);
        Ok(())
    }

    async fn alarms(&self, names: &[String]) -> Result<Vec<Alarm>, CloudError> {
        self.note(format!("DescribeAlarms {}", names.join(",")));
        self.inner.alarms(names).await
    }

    async fn acquire_lease(&self, table: &str, lease: &Lease, _now: u64) -> Result<(), CloudError> {
        self.note(format!("PutItem {table} lock_key={}", lease.key));
        Ok(())
    }

    async fn read_lease(&self, table: &str, key: &str) -> Result<Option<Lease>, CloudError> {
        self.note(format!("GetItem {table} lock_key={key}"));
        self.inner.read_lease(table, key).await
    }

    async fn release_lease(&self, table: &str, key: &str, _holder: &str) -> Result<(), CloudError> {
        self.note(format!("DeleteItem {table} lock_key={key}"));
        Ok(())
    }
}
