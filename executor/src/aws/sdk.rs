//! [`Cloud`] on the official AWS SDK for Rust. Every call goes through the
//! SDK's standard retry policy (3 attempts with backoff) before an error
//! reaches the run, which retries throttling once more on its own.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
};

use super::ec2_query::Ec2Query;
use super::{
    ALARMS_PER_CALL, ActionRecord, Alarm, AlarmState, AutoScalingGroup, Cloud, CloudError,
    Container, EcsService, Forward, GroupCapacity, Lease, Route, RouteState, Target, TargetHealth,
};

/// How to reach AWS: the standard credential chain, with optional profile,
/// region and endpoint (for moto or LocalStack).
#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    /// A named profile from the shared config files.
    pub profile: Option<String>,
    /// The region; otherwise from the environment or profile.
    pub region: Option<String>,
    /// Send every call to this endpoint instead of AWS.
    pub endpoint_url: Option<String>,
}

/// AWS through the official SDK.
#[derive(Clone, Debug)]
pub struct SdkCloud {
    pub(super) elb: aws_sdk_elasticloadbalancingv2::Client,
    pub(super) autoscaling: aws_sdk_autoscaling::Client,
    /// EC2 through its Query API (see `ec2_query.rs`).
    pub(super) ec2: Ec2Query,
    ecs: aws_sdk_ecs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

/// Codes AWS uses for throttling.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    // Auto Scaling: another change of the group is under way.
    "ResourceContention",
    "ScalingActivityInProgress",
];

/// Codes that mean "no such thing".
const NOT_FOUND: &[&str] = &[
    "ListenerNotFound",
    "RuleNotFound",
    "TargetGroupNotFound",
    "LoadBalancerNotFound",
    "ServiceNotFoundException",
    "ClusterNotFoundException",
    "ResourceNotFoundException",
    // EC2 (through `ec2_query`).
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateId.VersionNotFound",
    "InvalidLaunchTemplateName.NotFoundException",
    "InvalidInstanceID.NotFound",
    "InvalidAMIID.NotFound",
];

/// An AWS error code and its message as a [`CloudError`]: not-found and
/// throttling codes as such.
pub(super) fn classified(operation: &'static str, code: &str, message: String) -> CloudError {
    if NOT_FOUND.contains(&code) {
        return CloudError::NotFound {
            operation,
            what: message,
        };
    }
    CloudError::Service {
        operation,
        message,
        throttled: THROTTLING.contains(&code),
    }
}

pub(super) fn cloud_error<E>(
    operation: &'static str,
    error: aws_sdk_elasticloadbalancingv2::error::SdkError<E>,
) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = error.code().unwrap_or("").to_owned();
    let message = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => {
            // Transport errors: walk the chain for the root cause.
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            text
        }
    };
    classified(operation, &code, message)
}

impl SdkCloud {
    /// Loads the configuration (credential chain, profile, region, endpoint)
    /// and builds the clients. Makes no network call.
    pub async fn connect(options: &AwsOptions) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &options.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(endpoint) = &options.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        Self::from_config(&loader.load().await)
    }

    /// Clients for an already loaded configuration.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        SdkCloud {
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            autoscaling: aws_sdk_autoscaling::Client::new(config),
            ec2: Ec2Query::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
        }
    }
}

/// The forward of a route's actions: where its one `forward` action sends
/// traffic; a route without exactly one is refused.
fn forward_of(route: &Route, actions: &[Action]) -> Result<Forward, CloudError> {
    let forwards: Vec<&Action> = actions
        .iter()
        .filter(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
        .collect();
    let unsupported = |problem: String| CloudError::UnsupportedRoute {
        route: route.to_string(),
        problem,
    };
    let [action] = forwards.as_slice() else {
        return Err(unsupported(match forwards.len() {
            0 => "no `forward` action".to_owned(),
            n => format!("{n} `forward` actions"),
        }));
    };
    let tuples = action
        .forward_config()
        .map(|config| config.target_groups())
        .unwrap_or_default();
    let targets: Vec<(String, u32)> = if tuples.is_empty() {
        match action.target_group_arn() {
            Some(arn) => vec![(arn.to_owned(), 1)],
            None => {
                return Err(unsupported(
                    "a `forward` action without target groups".to_owned(),
                ));
            }
        }
    } else {
        tuples
            .iter()
            .filter_map(|t| {
                let weight = t.weight().map_or(1, |w| u32::try_from(w).unwrap_or(0));
                Some((t.target_group_arn()?.to_owned(), weight))
            })
            .collect()
    };
    Ok(Forward { targets })
}

/// The actions to send back so that only the forward's targets change: the
/// forward keeps its order and stickiness, every other action stays as it is
/// (an OIDC action keeps its client secret through `UseExistingClientSecret`,
/// since AWS never returns the secret).
fn with_forward(actions: &[Action], forward: &Forward) -> Vec<Action> {
    actions
        .iter()
        .map(|action| {
            let mut action = action.clone();
            if action.r#type() == Some(&ActionTypeEnum::Forward) {
                let stickiness = action
                    .forward_config
                    .as_ref()
                    .and_then(|c| c.target_group_stickiness_config.clone());
                let tuples: Vec<TargetGroupTuple> = forward
                    .targets
                    .iter()
                    .map(|(arn, weight)| {
                        TargetGroupTuple::builder()
                            .target_group_arn(arn)
                            .weight(i32::try_from(*weight).unwrap_or(i32::MAX))
                            .build()
                    })
                    .collect();
                action.target_group_arn = match forward.targets.as_slice() {
                    [(only, _)] => Some(only.clone()),
                    _ => None,
                };
                action.forward_config = Some(
                    ForwardActionConfig::builder()
                        .set_target_groups(Some(tuples))
                        .set_target_group_stickiness_config(stickiness)
                        .build(),
                );
            }
            if let Some(oidc) = action.authenticate_oidc_config.as_mut() {
                oidc.client_secret = None;
                oidc.use_existing_client_secret = Some(true);
            }
            action
        })
        .collect()
}

/// What the journal keeps of an action: everything but secrets.
fn action_record(action: &Action) -> ActionRecord {
    use serde_json::{Value, json};
    let text = |v: Option<&str>| v.map_or(Value::Null, |s| Value::String(s.to_owned()));
    let config = if let Some(forward) = action.forward_config() {
        json!({
            "TargetGroups": forward.target_groups().iter().map(|t| json!({
                "TargetGroupArn": text(t.target_group_arn()),
                "Weight": t.weight(),
            })).collect::<Vec<_>>(),
            "TargetGroupStickinessConfig": forward.target_group_stickiness_config().map(|s| json!({
                "Enabled": s.enabled(),
                "DurationSeconds": s.duration_seconds(),
            })),
        })
    } else if let Some(oidc) = action.authenticate_oidc_config() {
        json!({
            "Issuer": text(oidc.issuer()),
            "AuthorizationEndpoint": text(oidc.authorization_endpoint()),
            "TokenEndpoint": text(oidc.token_endpoint()),
            "UserInfoEndpoint": text(oidc.user_info_endpoint()),
            "ClientId": text(oidc.client_id()),
            "SessionCookieName": text(oidc.session_cookie_name()),
            "Scope": text(oidc.scope()),
            "SessionTimeout": oidc.session_timeout(),
            "OnUnauthenticatedRequest": oidc.on_unauthenticated_request().map(|b| b.as_str()),
        })
    } else if let Some(cognito) = action.authenticate_cognito_config() {
        json!({
            "UserPoolArn": text(cognito.user_pool_arn()),
            "UserPoolClientId": text(cognito.user_pool_client_id()),
            "UserPoolDomain": text(cognito.user_pool_domain()),
            "SessionCookieName": text(cognito.session_cookie_name()),
            "Scope": text(cognito.scope()),
            "SessionTimeout": cognito.session_timeout(),
            "OnUnauthenticatedRequest": cognito.on_unauthenticated_request().map(|b| b.as_str()),
        })
    } else if let Some(redirect) = action.redirect_config() {
        json!({
            "Protocol": text(redirect.protocol()),
            "Host": text(redirect.host()),
            "Port": text(redirect.port()),
            "Path": text(redirect.path()),
            "Query": text(redirect.query()),
            "StatusCode": redirect.status_code().map(|c| c.as_str()),
        })
    } else if let Some(fixed) = action.fixed_response_config() {
        json!({
            "StatusCode": text(fixed.status_code()),
            "ContentType": text(fixed.content_type()),
            "MessageBody": text(fixed.message_body()),
        })
    } else if let Some(arn) = action.target_group_arn() {
        json!({ "TargetGroupArn": arn })
    } else {
        Value::Null
    };
    ActionRecord {
        kind: action.r#type().map_or("unknown", |t| t.as_str()).to_owned(),
        order: action.order(),
        config,
    }
}

/// A target group's groups are moved by attaching and detaching them, never
/// by a forward.
fn unswitchable(route: &Route) -> CloudError {
    CloudError::UnsupportedRoute {
        route: route.to_string(),
        problem: "no listener action".to_owned(),
    }
}

/// `registry/name:tag` or `registry/name@sha256:…` → `registry/name`.
pub(crate) fn repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    match without_digest.rfind(':') {
        Some(colon) if !without_digest[colon..].contains('/') => &without_digest[..colon],
        _ => without_digest,
    }
}

impl Cloud for SdkCloud {
    async fn route(&self, route: &Route) -> Result<RouteState, CloudError> {
        if let Route::TargetGroup(arn) = route {
            let groups = self.attached_groups(arn).await?;
            return Ok(RouteState {
                forward: Forward {
                    targets: groups.into_iter().map(|group| (group, 1)).collect(),
                },
                actions: Vec::new(),
            });
        }
        let actions = self.actions(route).await?;
        Ok(RouteState {
            forward: forward_of(route, &actions)?,
            actions: actions.iter().map(action_record).collect(),
        })
    }

    async fn set_forward(&self, route: &Route, forward: &Forward) -> Result<(), CloudError> {
        if let Route::TargetGroup(_) = route {
            return Err(unswitchable(route));
        }
        let actions = self.actions(route).await?;
        forward_of(route, &actions)?;
        let actions = with_forward(&actions, forward);
        match route {
            Route::Listener(arn) => self
                .elb
                .modify_listener()
                .listener_arn(arn)
                .set_default_actions(Some(actions))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| cloud_error("ModifyListener", e)),
            Route::Rule(arn) => self
                .elb
                .modify_rule()
                .rule_arn(arn)
                .set_actions(Some(actions))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| cloud_error("ModifyRule", e)),
            Route::TargetGroup(_) => Err(unswitchable(route)),
        }
    }

    async fn target_health(&self, target_group: &str) -> Result<TargetHealth, CloudError> {
        let targets = self.target_states(target_group).await?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(TargetHealth {
            healthy: count(targets.iter().filter(|t| t.state == "healthy").count()),
            total: count(targets.len()),
        })
    }

    async fn ecs_service(&self, cluster: &str, service: &str) -> Result<EcsService, CloudError> {
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| cloud_error("DescribeServices", e))?;
        let Some(found) = out.services().first() else {
            let reason = out
                .failures()
                .first()
                .and_then(|f| f.reason())
                .unwrap_or("MISSING");
            return Err(CloudError::NotFound {
                operation: "DescribeServices",
                what: format!("service `{service}` in cluster `{cluster}` ({reason})"),
            });
        };
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        Ok(EcsService {
            task_definition: found.task_definition().unwrap_or_default().to_owned(),
            desired: count(found.desired_count()),
            running: count(found.running_count()),
            deployments: u32::try_from(found.deployments().len()).unwrap_or(u32::MAX),
        })
    }

    async fn containers(&self, task_definition: &str) -> Result<Vec<Container>, CloudError> {
        let described = self.describe_task_definition(task_definition).await?;
        let definition = described
            .task_definition()
            .ok_or_else(|| CloudError::NotFound {
                operation: "DescribeTaskDefinition",
                what: task_definition.to_owned(),
            })?;
        Ok(definition
            .container_definitions()
            .iter()
            .map(|c| Container {
                name: c.name().unwrap_or_default().to_owned(),
                image: c.image().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    async fn deploy_image(
        &self,
        cluster: &str,
        service: &str,
        container: &str,
        image: &str,
    ) -> Result<String, CloudError> {
        let current = self.ecs_service(cluster, service).await?;
        let described = self
            .describe_task_definition(&current.task_definition)
            .await?;
        let Some(definition) = described.task_definition() else {
            return Err(CloudError::NotFound {
                operation: "DescribeTaskDefinition",
                what: current.task_definition,
            });
        };
        let mut containers = definition.container_definitions().to_vec();
        let Some(target) = containers.iter_mut().find(|c| c.name() == Some(container)) else {
            return Err(CloudError::NotFound {
                operation: "DescribeTaskDefinition",
                what: format!("container `{container}` in {}", current.task_definition),
            });
        };
        target.image = Some(image.to_owned());
        let tags = described.tags().to_vec();
        let registered = self
            .ecs
            .register_task_definition()
            .set_family(definition.family().map(str::to_owned))
            .set_container_definitions(Some(containers))
            .set_task_role_arn(definition.task_role_arn().map(str::to_owned))
            .set_execution_role_arn(definition.execution_role_arn().map(str::to_owned))
            .set_network_mode(definition.network_mode().cloned())
            .set_volumes(Some(definition.volumes().to_vec()))
            .set_placement_constraints(Some(definition.placement_constraints().to_vec()))
            .set_requires_compatibilities(Some(definition.requires_compatibilities().to_vec()))
            .set_cpu(definition.cpu().map(str::to_owned))
            .set_memory(definition.memory().map(str::to_owned))
            .set_pid_mode(definition.pid_mode().cloned())
            .set_ipc_mode(definition.ipc_mode().cloned())
            .set_proxy_configuration(definition.proxy_configuration().cloned())
            .set_inference_accelerators(Some(definition.inference_accelerators().to_vec()))
            .set_ephemeral_storage(definition.ephemeral_storage().cloned())
            .set_runtime_platform(definition.runtime_platform().cloned())
            .set_enable_fault_injection(definition.enable_fault_injection())
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|e| cloud_error("RegisterTaskDefinition", e))?;
        let arn = registered
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .unwrap_or_default()
            .to_owned();
        self.ecs
            .update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(&arn)
            .send()
            .await
            .map_err(|e| cloud_error("UpdateService", e))?;
        Ok(arn)
    }

    async fn scale_service(
        &self,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> Result<(), CloudError> {
        self.ecs
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(i32::try_from(desired).unwrap_or(i32::MAX))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| cloud_error("UpdateService", e))
    }

    async fn targets(&self, target_group: &str) -> Result<Vec<Target>, CloudError> {
        self.target_states(target_group).await
    }

    async fn auto_scaling_group(&self, name: &str) -> Result<AutoScalingGroup, CloudError> {
        self.describe_group(name).await
    }

    async fn set_group_image(&self, name: &str, image: &str) -> Result<String, CloudError> {
        self.new_template_version(name, image).await
    }

    async fn set_group_capacity(
        &self,
        name: &str,
        capacity: GroupCapacity,
    ) -> Result<(), CloudError> {
        self.update_capacity(name, capacity).await
    }

    async fn replace_instance(&self, name: &str, instance: &str) -> Result<(), CloudError> {
        self.terminate_for_replacement(name, instance).await
    }

    async fn attach_target_group(&self, name: &str, target_group: &str) -> Result<(), CloudError> {
        self.attach(name, target_group).await
    }

    async fn detach_target_group(&self, name: &str, target_group: &str) -> Result<(), CloudError> {
        self.detach(name, target_group).await
    }

    async fn alarms(&self, names: &[String]) -> Result<Vec<Alarm>, CloudError> {
        use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
        let state = |value: Option<&StateValue>| match value {
            Some(StateValue::Alarm) => AlarmState::Alarm,
            Some(StateValue::Ok) => AlarmState::Ok,
            _ => AlarmState::InsufficientData,
        };
        let mut found = Vec::with_capacity(names.len());
        let mut token: Option<String> = None;
        // Up to 100 names ask for up to 100 alarms: one page, unless AWS
        // pages anyway (then the next token is followed).
        loop {
            let out = self
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(names.iter().take(ALARMS_PER_CALL).cloned().collect()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| cloud_error("DescribeAlarms", e))?;
            for alarm in out.metric_alarms() {
                found.push(Alarm {
                    name: alarm.alarm_name().unwrap_or_default().to_owned(),
                    state: state(alarm.state_value()),
                    reason: alarm.state_reason().unwrap_or_default().to_owned(),
                });
            }
            for alarm in out.composite_alarms() {
                found.push(Alarm {
                    name: alarm.alarm_name().unwrap_or_default().to_owned(),
                    state: state(alarm.state_value()),
                    reason: alarm.state_reason().unwrap_or_default().to_owned(),
                });
            }
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(found),
            }
        }
    }

    async fn acquire_lease(&self, table: &str, lease: &Lease, now: u64) -> Result<(), CloudError> {
        let put = self
            .dynamodb
            .put_item()
            .table_name(table)
            .item("lock_key", AttributeValue::S(lease.key.clone()))
            .item("holder", AttributeValue::S(lease.holder.clone()))
            .item("plan_digest", AttributeValue::S(lease.plan_digest.clone()))
            .item(
                "expires_at",
                AttributeValue::N(lease.expires_at.to_string()),
            )
            .condition_expression(
                "attribute_not_exists(lock_key) OR expires_at < :now OR holder = :holder",
            )
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":holder", AttributeValue::S(lease.holder.clone()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("ConditionalCheckFailedException") => {
                match self.get_lease(table, &lease.key).await? {
                    Some(held) => Err(CloudError::LockHeld(held)),
                    // Released between the put and the read: try again.
                    None => Err(CloudError::Service {
                        operation: "PutItem",
                        message: "the lease changed while it was being taken".to_owned(),
                        throttled: true,
                    }),
                }
            }
            Err(error) => Err(cloud_error("PutItem", error)),
        }
    }

    async fn read_lease(&self, table: &str, key: &str) -> Result<Option<Lease>, CloudError> {
        self.get_lease(table, key).await
    }

    async fn release_lease(&self, table: &str, key: &str, holder: &str) -> Result<(), CloudError> {
        let deleted = self
            .dynamodb
            .delete_item()
            .table_name(table)
            .key("lock_key", AttributeValue::S(key.to_owned()))
            .condition_expression("holder = :holder")
            .expression_attribute_values(":holder", AttributeValue::S(holder.to_owned()))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Taken over after expiry, or already gone: not ours to release.
            Err(error) if error.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(error) => Err(cloud_error("DeleteItem", error)),
        }
    }
}

impl SdkCloud {
    /// Every action of a route, as AWS describes it.
    async fn actions(&self, route: &Route) -> Result<Vec<Action>, CloudError> {
        let not_found = |operation| CloudError::NotFound {
            operation,
            what: route.to_string(),
        };
        match route {
            Route::Listener(arn) => {
                let out = self
                    .elb
                    .describe_listeners()
                    .listener_arns(arn)
                    .send()
                    .await
                    .map_err(|e| cloud_error("DescribeListeners", e))?;
                let listener = out
                    .listeners()
                    .first()
                    .ok_or_else(|| not_found("DescribeListeners"))?;
                Ok(listener.default_actions().to_vec())
            }
            Route::Rule(arn) => {
                let out = self
                    .elb
                    .describe_rules()
                    .rule_arns(arn)
                    .send()
                    .await
                    .map_err(|e| cloud_error("DescribeRules", e))?;
                let rule = out
                    .rules()
                    .first()
                    .ok_or_else(|| not_found("DescribeRules"))?;
                Ok(rule.actions().to_vec())
            }
            Route::TargetGroup(_) => Err(unswitchable(route)),
        }
    }

    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<
        aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput,
        CloudError,
    > {
        self.ecs
            .describe_task_definition()
            .task_definition(task_definition)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| cloud_error("DescribeTaskDefinition", e))
    }

    async fn get_lease(&self, table: &str, key: &str) -> Result<Option<Lease>, CloudError> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(table)
            .key("lock_key", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| cloud_error("GetItem", e))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(s) | AttributeValue::N(s)) => s.clone(),
            _ => String::new(),
        };
        Ok(Some(Lease {
            key: key.to_owned(),
            holder: text("holder"),
            plan_digest: text("plan_digest"),
            expires_at: text("expires_at").parse().unwrap_or(0),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_repositories() {
        assert_eq!(
            repository("registry.local/orders:2.0.0"),
            "registry.local/orders"
        );
        assert_eq!(
            repository("registry.local:5000/orders:2.0.0"),
            "registry.local:5000/orders"
        );
        assert_eq!(
            repository("registry.local:5000/orders"),
            "registry.local:5000/orders"
        );
        assert_eq!(repository("orders@sha256:abc"), "orders");
    }
}
