//! [`Cloud`] on the official AWS SDK for Rust. Every call goes through the
//! SDK's standard retry policy (3 attempts with backoff) before an error
//! reaches the run, which retries throttling once more on its own.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple, TargetHealthStateEnum,
};

use super::{Cloud, CloudError, EcsService, Forward, Lease, Route, TargetHealth};

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
    elb: aws_sdk_elasticloadbalancingv2::Client,
    ecs: aws_sdk_ecs::Client,
    dynamodb: aws_sdk_dynamodb::Client,
}

/// Codes AWS uses for throttling.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
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
];

fn cloud_error<E>(
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
    if NOT_FOUND.contains(&code.as_str()) {
        return CloudError::NotFound {
            operation,
            what: message,
        };
    }
    CloudError::Service {
        operation,
        message,
        throttled: THROTTLING.contains(&code.as_str()),
    }
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
            ecs: aws_sdk_ecs::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
        }
    }
}

/// The forward of a list of actions: the first `forward` action.
fn forward_of(actions: &[Action]) -> Option<Forward> {
    let action = actions
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))?;
    let tuples = action
        .forward_config()
        .map(|config| config.target_groups())
        .unwrap_or_default();
    let targets: Vec<(String, u32)> = if tuples.is_empty() {
        vec![(action.target_group_arn()?.to_owned(), 1)]
    } else {
        tuples
            .iter()
            .filter_map(|t| {
                let weight = t.weight().map_or(1, |w| u32::try_from(w).unwrap_or(0));
                Some((t.target_group_arn()?.to_owned(), weight))
            })
            .collect()
    };
    Some(Forward { targets })
}

fn forward_action(forward: &Forward) -> Action {
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
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .set_target_groups(Some(tuples))
                .build(),
        )
        .build()
}

/// `registry/name:tag` or `registry/name@sha256:…` → `registry/name`.
fn repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    match without_digest.rfind(':') {
        Some(colon) if !without_digest[colon..].contains('/') => &without_digest[..colon],
        _ => without_digest,
    }
}

impl Cloud for SdkCloud {
    async fn forward(&self, route: &Route) -> Result<Forward, CloudError> {
        let (operation, actions) = match route {
            Route::Listener(arn) => {
                let out = self
                    .elb
                    .describe_listeners()
                    .listener_arns(arn)
                    .send()
                    .await
                    .map_err(|e| cloud_error("DescribeListeners", e))?;
                let actions = out
                    .listeners()
                    .first()
                    .map(|l| l.default_actions().to_vec())
                    .unwrap_or_default();
                ("DescribeListeners", actions)
            }
            Route::Rule(arn) => {
                let out = self
                    .elb
                    .describe_rules()
                    .rule_arns(arn)
                    .send()
                    .await
                    .map_err(|e| cloud_error("DescribeRules", e))?;
                let actions = out
                    .rules()
                    .first()
                    .map(|r| r.actions().to_vec())
                    .unwrap_or_default();
                ("DescribeRules", actions)
            }
        };
        forward_of(&actions).ok_or_else(|| CloudError::NotFound {
            operation,
            what: format!("a forward action on {route}"),
        })
    }

    async fn set_forward(&self, route: &Route, forward: &Forward) -> Result<(), CloudError> {
        let action = forward_action(forward);
        match route {
            Route::Listener(arn) => self
                .elb
                .modify_listener()
                .listener_arn(arn)
                .default_actions(action)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| cloud_error("ModifyListener", e)),
            Route::Rule(arn) => self
                .elb
                .modify_rule()
                .rule_arn(arn)
                .actions(action)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| cloud_error("ModifyRule", e)),
        }
    }

    async fn target_health(&self, target_group: &str) -> Result<TargetHealth, CloudError> {
        let out = self
            .elb
            .describe_target_health()
            .target_group_arn(target_group)
            .send()
            .await
            .map_err(|e| cloud_error("DescribeTargetHealth", e))?;
        let descriptions = out.target_health_descriptions();
        let healthy = descriptions
            .iter()
            .filter(|d| {
                d.target_health().and_then(|h| h.state()) == Some(&TargetHealthStateEnum::Healthy)
            })
            .count();
        Ok(TargetHealth {
            healthy: u32::try_from(healthy).unwrap_or(u32::MAX),
            total: u32::try_from(descriptions.len()).unwrap_or(u32::MAX),
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

    async fn deploy_image(
        &self,
        cluster: &str,
        service: &str,
        image: &str,
    ) -> Result<String, CloudError> {
        let current = self.ecs_service(cluster, service).await?;
        let described = self
            .ecs
            .describe_task_definition()
            .task_definition(&current.task_definition)
            .send()
            .await
            .map_err(|e| cloud_error("DescribeTaskDefinition", e))?;
        let Some(definition) = described.task_definition() else {
            return Err(CloudError::NotFound {
                operation: "DescribeTaskDefinition",
                what: current.task_definition,
            });
        };
        let mut containers = definition.container_definitions().to_vec();
        let wanted = repository(image);
        let index = containers
            .iter()
            .position(|c| c.image().is_some_and(|i| repository(i) == wanted))
            .unwrap_or(0);
        let Some(container) = containers.get_mut(index) else {
            return Err(CloudError::NotFound {
                operation: "DescribeTaskDefinition",
                what: format!("a container in {}", current.task_definition),
            });
        };
        container.image = Some(image.to_owned());
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
            .set_ephemeral_storage(definition.ephemeral_storage().cloned())
            .set_runtime_platform(definition.runtime_platform().cloned())
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
            Err(error) if error.code() == Some("ConditionalCheckFailedException") => Err(
                CloudError::LockHeld(self.read_lease(table, &lease.key).await?),
            ),
            Err(error) => Err(cloud_error("PutItem", error)),
        }
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
    async fn read_lease(&self, table: &str, key: &str) -> Result<Lease, CloudError> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(table)
            .key("lock_key", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| cloud_error("GetItem", e))?;
        let item = out.item().cloned().unwrap_or_default();
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(s) | AttributeValue::N(s)) => s.clone(),
            _ => String::new(),
        };
        Ok(Lease {
            key: key.to_owned(),
            holder: text("holder"),
            plan_digest: text("plan_digest"),
            expires_at: text("expires_at").parse().unwrap_or(0),
        })
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
