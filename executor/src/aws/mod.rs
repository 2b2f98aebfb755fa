//! AWS behind a trait: the few ELBv2, ECS, Auto Scaling, EC2, CloudWatch
//! and DynamoDB operations a cutover needs. [`SdkCloud`] talks to AWS (or to any endpoint, such as moto);
//! [`FakeCloud`] keeps state in memory for tests of the run's state machine.

mod dry_run;
mod ec2_query;
mod fake;
mod sdk;
mod sdk_groups;

use std::future::Future;

pub use dry_run::DryRun;
pub use fake::{FakeCloud, FakeFault};
pub(crate) use sdk::repository;
pub use sdk::{AwsOptions, SdkCloud};

/// A production or test route: a listener's default action, or one rule.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(tag = "kind", content = "arn", rename_all = "lowercase")]
pub enum Route {
    /// The default action of a listener (ARN).
    Listener(String),
    /// A listener rule (ARN).
    Rule(String),
    /// The Auto Scaling groups attached to a target group (its ARN): the
    /// route of a service whose blue and green groups take turns behind one
    /// target group. Its "forward" lists the attached groups, weight 1 each.
    #[serde(rename = "target-group")]
    TargetGroup(String),
}

impl Route {
    /// The ARN.
    pub fn arn(&self) -> &str {
        match self {
            Route::Listener(arn) | Route::Rule(arn) | Route::TargetGroup(arn) => arn,
        }
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Listener(arn) => write!(f, "listener {arn}"),
            Route::Rule(arn) => write!(f, "rule {arn}"),
            Route::TargetGroup(arn) => write!(f, "the groups attached to target group {arn}"),
        }
    }
}

/// Where a route forwards: target group ARNs with their weights, in the
/// order AWS returned them. A plain `forward` to one group is weight 1.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Forward {
    /// `(target group ARN, weight)` pairs.
    pub targets: Vec<(String, u32)>,
}

impl Forward {
    /// All traffic to one target group.
    pub fn to(target_group: &str) -> Self {
        Forward {
            targets: vec![(target_group.to_owned(), 1)],
        }
    }

    /// `green_percent` % to `green`, the rest to `blue` (a group with weight 0 is kept
    /// in the action so that the split is visible).
    pub fn split(blue: &str, green: &str, green_percent: u32) -> Self {
        let green_percent = green_percent.min(100);
        Forward {
            targets: vec![
                (blue.to_owned(), 100 - green_percent),
                (green.to_owned(), green_percent),
            ],
        }
    }

    /// The share of traffic, in percent (rounded down), that goes to `target_group`.
    pub fn percent_to(&self, target_group: &str) -> u32 {
        let total: u64 = self.targets.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return 0;
        }
        let to: u64 = self
            .targets
            .iter()
            .filter(|(tg, _)| tg == target_group)
            .map(|(_, w)| u64::from(*w))
            .sum();
        u32::try_from(to * 100 / total).unwrap_or(100)
    }

    /// The single target group receiving all traffic, if there is exactly one.
    pub fn sole_target(&self) -> Option<&str> {
        let mut receiving = self.targets.iter().filter(|(_, w)| *w > 0);
        let (first, _) = receiving.next()?;
        receiving.next().is_none().then_some(first.as_str())
    }
}

/// One action of a route as AWS describes it, for the journal: its type, its
/// order and its settings. Secrets (an OIDC client secret) are never kept.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActionRecord {
    /// `forward`, `authenticate-oidc`, `authenticate-cognito`, `redirect`, `fixed-response`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The action's `Order`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
    /// The action's settings, as AWS names them.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub config: serde_json::Value,
}

/// A route as read from AWS: where its one `forward` action sends traffic,
/// and every action it has (other actions are never changed by a switch).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RouteState {
    /// The targets of its `forward` action.
    pub forward: Forward,
    /// Every action, in the order AWS lists them.
    pub actions: Vec<ActionRecord>,
}

impl RouteState {
    /// A route with only a forward action (the fakes' routes).
    pub fn forwarding(forward: Forward) -> Self {
        let config = serde_json::json!({
            "TargetGroups": forward.targets.iter()
                .map(|(arn, weight)| serde_json::json!({"TargetGroupArn": arn, "Weight": weight}))
                .collect::<Vec<_>>(),
        });
        RouteState {
            forward,
            actions: vec![ActionRecord {
                kind: "forward".to_owned(),
                order: None,
                config,
            }],
        }
    }
}

/// A container of a task definition and its image.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Container {
    /// The container name.
    pub name: String,
    /// Its image.
    pub image: String,
}

/// Registered targets of a target group by health.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TargetHealth {
    /// Targets in state `healthy`.
    pub healthy: u32,
    /// All registered targets.
    pub total: u32,
}

/// What a cutover needs to know of an ECS service.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EcsService {
    /// The task definition ARN of its primary deployment.
    pub task_definition: String,
    /// Desired task count.
    pub desired: u32,
    /// Running task count.
    pub running: u32,
    /// Number of deployments in progress or done (1 when steady).
    pub deployments: u32,
}

impl EcsService {
    /// One deployment, and as many tasks running as desired.
    pub fn is_steady(&self) -> bool {
        self.deployments <= 1 && self.running == self.desired
    }
}

/// The size of an Auto Scaling group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupCapacity {
    /// `MinSize`.
    pub min: u32,
    /// `MaxSize`.
    pub max: u32,
    /// `DesiredCapacity`.
    pub desired: u32,
}

impl std::fmt::Display for GroupCapacity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "min {} max {} desired {}",
            self.min, self.max, self.desired
        )
    }
}

/// An instance of an Auto Scaling group.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupInstance {
    /// The instance ID.
    pub id: String,
    /// Its lifecycle state: `Pending`, `InService`, `Terminating`, ...
    pub lifecycle: String,
    /// Whether Auto Scaling reports it `Healthy`.
    pub healthy: bool,
    /// The AMI it was launched from (`DescribeInstances`), when known.
    pub image: Option<String>,
}

impl GroupInstance {
    /// In service and healthy.
    pub fn is_ready(&self) -> bool {
        self.lifecycle == "InService" && self.healthy
    }
}

/// What a cutover needs to know of an Auto Scaling group.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AutoScalingGroup {
    /// The group's name.
    pub name: String,
    /// Its size.
    pub capacity: GroupCapacity,
    /// The launch template it launches from, as `id` and version
    /// (`$Latest`, `$Default` or a number); `None` for a launch configuration
    /// or a mixed-instances policy, which cutover does not change.
    pub template: Option<(String, String)>,
    /// The AMI of that launch template version.
    pub template_image: Option<String>,
    /// Its instances.
    pub instances: Vec<GroupInstance>,
    /// The target groups it is attached to (ARNs).
    pub target_groups: Vec<String>,
}

impl AutoScalingGroup {
    /// As many instances as desired, each in service, healthy and launched
    /// from `image` (any image when `None`); otherwise why not, in words.
    pub fn readiness(&self, image: Option<&str>) -> Result<(), String> {
        let name = &self.name;
        let ready = self.instances.iter().filter(|i| i.is_ready()).count();
        let desired = self.capacity.desired as usize;
        if let Some(image) = image
            && let Some(other) = self
                .instances
                .iter()
                .find(|i| i.image.as_deref().is_some_and(|found| found != image))
        {
            return Err(format!(
                "Auto Scaling group `{name}` still has instance {} on {}, not {image}",
                other.id,
                other.image.as_deref().unwrap_or("an unknown AMI")
            ));
        }
        if ready == desired && self.instances.len() == desired {
            Ok(())
        } else {
            Err(format!(
                "Auto Scaling group `{name}` has {ready} of {desired} instances in service and healthy ({} in all)",
                self.instances.len()
            ))
        }
    }
}

/// A target registered in a target group, and its health state
/// (`healthy`, `initial`, `draining`, `unhealthy`, `unused`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Target {
    /// The instance ID or IP address.
    pub id: String,
    /// Its state as ELB names it.
    pub state: String,
}

/// The state of a CloudWatch alarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    /// `OK`: passes.
    Ok,
    /// `ALARM`: fails the gate before a switch, and the run during bake.
    Alarm,
    /// `INSUFFICIENT_DATA`: passes (no data is not bad news).
    InsufficientData,
}

impl AlarmState {
    /// The name CloudWatch uses: `OK`, `ALARM`, `INSUFFICIENT_DATA`.
    pub fn name(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// A CloudWatch alarm (metric or composite) as `DescribeAlarms` shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Alarm {
    /// The alarm name.
    pub name: String,
    /// Its state.
    pub state: AlarmState,
    /// CloudWatch's `StateReason`.
    pub reason: String,
}

/// The most alarm names one `DescribeAlarms` call takes.
pub const ALARMS_PER_CALL: usize = 100;

/// The record of a lock lease.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lease {
    /// What is locked: the sorted, comma-joined services of the plan.
    pub key: String,
    /// Who holds it: `user@host pid N run RUN_ID`.
    pub holder: String,
    /// The plan's digest.
    pub plan_digest: String,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: u64,
}

/// An AWS call that failed (after the SDK's own retries).
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The service answered with an error.
    #[error("{operation} failed: {message}")]
    Service {
        /// The API operation, e.g. `ModifyListener`.
        operation: &'static str,
        /// The error code and message from AWS.
        message: String,
        /// Whether it was throttling (worth retrying).
        throttled: bool,
    },
    /// The thing asked for does not exist.
    #[error("{operation}: {what} not found")]
    NotFound {
        /// The API operation.
        operation: &'static str,
        /// What was missing.
        what: String,
    },
    /// The lock is held by someone else.
    #[error("the lock `{}` is held by {} (plan {}); it {}; if that run is dead, `cutover unlock` breaks it", .0.key, .0.holder, short_digest(&.0.plan_digest), crate::lock::describe_expiry(.0.expires_at, crate::journal::now_ms() / 1000))]
    LockHeld(Lease),
    /// A route cutover cannot switch without changing more than the forward.
    #[error("{route} has {problem}; cutover switches routes with exactly one `forward` action")]
    UnsupportedRoute {
        /// The route.
        route: String,
        /// What is wrong, in words.
        problem: String,
    },
}

/// The first 12 characters of a digest.
pub(crate) fn short_digest(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

impl CloudError {
    /// Whether retrying the same call later may succeed.
    pub fn is_throttling(&self) -> bool {
        matches!(
            self,
            CloudError::Service {
                throttled: true,
                ..
            }
        )
    }
}

/// The AWS operations a cutover uses. Every method is one logical call
/// (`deploy_image` is two: it registers a task definition and updates the service).
pub trait Cloud: Send + Sync {
    /// A route's actions and where its one forward sends traffic
    /// (`DescribeListeners` / `DescribeRules`); a route without exactly one
    /// `forward` action is [`CloudError::UnsupportedRoute`].
    fn route(&self, route: &Route) -> impl Future<Output = Result<RouteState, CloudError>> + Send;
    /// Where a route's forward sends traffic now.
    fn forward(&self, route: &Route) -> impl Future<Output = Result<Forward, CloudError>> + Send {
        async move { Ok(self.route(route).await?.forward) }
    }
    /// Makes the route's forward action send traffic as given, and changes
    /// nothing else: every other action, their order, the forward's
    /// stickiness and the rule's conditions stay as they are
    /// (`DescribeListeners`/`DescribeRules`, then `ModifyListener` / `ModifyRule`).
    fn set_forward(
        &self,
        route: &Route,
        forward: &Forward,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Health of a target group's targets (`DescribeTargetHealth`).
    fn target_health(
        &self,
        target_group: &str,
    ) -> impl Future<Output = Result<TargetHealth, CloudError>> + Send;
    /// An ECS service's deployment state (`DescribeServices`).
    fn ecs_service(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<EcsService, CloudError>> + Send;
    /// The containers of a task definition (`DescribeTaskDefinition`).
    fn containers(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<Vec<Container>, CloudError>> + Send;
    /// Makes the service run `image` in `container`: a new revision of its
    /// task definition that keeps everything else, tags included
    /// (`DescribeTaskDefinition`, `RegisterTaskDefinition`, `UpdateService`).
    /// Returns the new task definition ARN.
    fn deploy_image(
        &self,
        cluster: &str,
        service: &str,
        container: &str,
        image: &str,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;
    /// Sets the desired count (`UpdateService`).
    fn scale_service(
        &self,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// The targets of a target group and their states (`DescribeTargetHealth`).
    fn targets(
        &self,
        target_group: &str,
    ) -> impl Future<Output = Result<Vec<Target>, CloudError>> + Send;
    /// An Auto Scaling group, with the AMI of its launch template version and
    /// of each instance (`DescribeAutoScalingGroups`,
    /// `DescribeLaunchTemplateVersions`, `DescribeInstances`).
    fn auto_scaling_group(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<AutoScalingGroup, CloudError>> + Send;
    /// Makes the group launch `image`: a new version of its launch template,
    /// from the version it uses with only `ImageId` changed, and the group
    /// set to that version (`CreateLaunchTemplateVersion`,
    /// `UpdateAutoScalingGroup`). Returns the new version number.
    fn set_group_image(
        &self,
        name: &str,
        image: &str,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;
    /// Sets min, max and desired size (`UpdateAutoScalingGroup`).
    fn set_group_capacity(
        &self,
        name: &str,
        capacity: GroupCapacity,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Terminates an instance of the group without lowering its desired
    /// size, so that the group launches a replacement from its current
    /// launch template (`TerminateInstanceInAutoScalingGroup`).
    fn replace_instance(
        &self,
        name: &str,
        instance: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Attaches the group to a target group: its instances are registered
    /// (`AttachLoadBalancerTargetGroups`).
    fn attach_target_group(
        &self,
        name: &str,
        target_group: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Detaches the group from a target group: its instances drain
    /// (`DetachLoadBalancerTargetGroups`).
    fn detach_target_group(
        &self,
        name: &str,
        target_group: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// The alarms of these names, metric and composite (`DescribeAlarms`
    /// with `AlarmNames`; at most [`ALARMS_PER_CALL`] names). A name with no
    /// alarm is left out of the answer.
    fn alarms(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<Alarm>, CloudError>> + Send;
    /// Takes or renews a lease with a conditional put: succeeds when the key is
    /// free, expired at `now`, or held by the same holder; otherwise
    /// [`CloudError::LockHeld`] (`PutItem`).
    fn acquire_lease(
        &self,
        table: &str,
        lease: &Lease,
        now: u64,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// The lease of `key`, if any (`GetItem`, consistent).
    fn read_lease(
        &self,
        table: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Lease>, CloudError>> + Send;
    /// Releases a lease held by `holder` (`DeleteItem` with a condition).
    fn release_lease(
        &self,
        table: &str,
        key: &str,
        holder: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
}
