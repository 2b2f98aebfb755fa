//! The Auto Scaling and EC2 side of [`SdkCloud`]: groups, their launch
//! template versions and instances, and their target group attachments.
//! Auto Scaling goes through `aws-sdk-autoscaling`; the three EC2 calls
//! through the small Query API client of `ec2_query.rs`.

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::LaunchTemplateSpecification;

use super::sdk::{SdkCloud, cloud_error};
use super::{AutoScalingGroup, CloudError, GroupCapacity, GroupInstance, Target};

/// Groups per `DescribeAutoScalingGroups` page (the most AWS allows).
const GROUPS_PER_PAGE: i32 = 100;

/// An Auto Scaling error: AWS answers `ValidationError` "… not found" for a
/// group that does not exist, which is [`CloudError::NotFound`] here.
fn group_error<E>(
    operation: &'static str,
    name: &str,
    error: aws_sdk_autoscaling::error::SdkError<E>,
) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if error.code() == Some("ValidationError")
        && error
            .message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("not found"))
    {
        return CloudError::NotFound {
            operation,
            what: format!("Auto Scaling group `{name}`"),
        };
    }
    cloud_error(operation, error)
}

fn count(n: Option<i32>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

fn size(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl SdkCloud {
    /// The EC2 Query API client (the sandbox sets up AMIs and launch
    /// templates with it).
    pub(crate) fn ec2_query(&self) -> &super::ec2_query::Ec2Query {
        &self.ec2
    }

    /// The names of the groups attached to `target_group`, sorted; a target
    /// group that does not exist is [`CloudError::NotFound`], not an empty list.
    pub(super) async fn attached_groups(
        &self,
        target_group: &str,
    ) -> Result<Vec<String>, CloudError> {
        self.elb
            .describe_target_groups()
            .target_group_arns(target_group)
            .send()
            .await
            .map_err(|e| cloud_error("DescribeTargetGroups", e))?;
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .autoscaling
                .describe_auto_scaling_groups()
                .max_records(GROUPS_PER_PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| cloud_error("DescribeAutoScalingGroups", e))?;
            names.extend(
                out.auto_scaling_groups()
                    .iter()
                    .filter(|g| g.target_group_arns().iter().any(|arn| arn == target_group))
                    .filter_map(|g| g.auto_scaling_group_name())
                    .map(str::to_owned),
            );
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        names.sort();
        Ok(names)
    }

    /// Every registered target of `target_group` and its state.
    pub(super) async fn target_states(
        &self,
        target_group: &str,
    ) -> Result<Vec<Target>, CloudError> {
        let out = self
            .elb
            .describe_target_health()
            .target_group_arn(target_group)
            .send()
            .await
            .map_err(|e| cloud_error("DescribeTargetHealth", e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(|d| Target {
                id: d
                    .target()
                    .and_then(|t| t.id())
                    .unwrap_or_default()
                    .to_owned(),
                state: d
                    .target_health()
                    .and_then(|h| h.state())
                    .map_or("unknown", |s| s.as_str())
                    .to_owned(),
            })
            .collect())
    }

    /// The group as AWS describes it, with the AMI of its launch template
    /// version and of each instance.
    pub(super) async fn describe_group(&self, name: &str) -> Result<AutoScalingGroup, CloudError> {
        const OPERATION: &str = "DescribeAutoScalingGroups";
        let out = self
            .autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .map_err(|e| group_error(OPERATION, name, e))?;
        let Some(group) = out
            .auto_scaling_groups()
            .iter()
            .find(|g| g.auto_scaling_group_name() == Some(name))
        else {
            return Err(CloudError::NotFound {
                operation: OPERATION,
                what: format!("Auto Scaling group `{name}`"),
            });
        };
        // A mixed-instances policy names its template inside the policy (and
        // moto shows it as the group's too): not a template cutover changes.
        let template = match (group.launch_template(), group.mixed_instances_policy()) {
            (Some(spec), None) => spec.launch_template_id().map(|id| {
                (
                    id.to_owned(),
                    spec.version().unwrap_or("$Default").to_owned(),
                )
            }),
            _ => None,
        };
        let template_image = match &template {
            Some((id, version)) => self
                .ec2
                .template_versions(id, &[version])
                .await?
                .into_iter()
                .next()
                .and_then(|v| v.image),
            None => None,
        };
        let ids: Vec<String> = group
            .instances()
            .iter()
            .filter_map(|i| i.instance_id())
            .map(str::to_owned)
            .collect();
        let images = if ids.is_empty() {
            Vec::new()
        } else {
            self.ec2.instance_images(&ids).await?
        };
        let instances = group
            .instances()
            .iter()
            .filter_map(|i| {
                let id = i.instance_id()?;
                Some(GroupInstance {
                    id: id.to_owned(),
                    lifecycle: i
                        .lifecycle_state()
                        .map_or("Unknown", |s| s.as_str())
                        .to_owned(),
                    healthy: i.health_status() == Some("Healthy"),
                    image: images
                        .iter()
                        .find(|(known, _)| known == id)
                        .map(|(_, image)| image.clone()),
                })
            })
            .collect();
        Ok(AutoScalingGroup {
            name: name.to_owned(),
            capacity: GroupCapacity {
                min: count(group.min_size()),
                max: count(group.max_size()),
                desired: count(group.desired_capacity()),
            },
            template,
            template_image,
            instances,
            target_groups: group.target_group_arns().to_vec(),
        })
    }

    /// A new launch template version from the one the group uses (resolved
    /// to its number) with `image` as its AMI, and the group set to it.
    pub(super) async fn new_template_version(
        &self,
        name: &str,
        image: &str,
    ) -> Result<String, CloudError> {
        let group = self.describe_group(name).await?;
        let Some((template, version)) = group.template else {
            return Err(CloudError::Service {
                operation: "CreateLaunchTemplateVersion",
                message: format!(
                    "Auto Scaling group `{name}` launches from a launch configuration or a \
                     mixed-instances policy, not a launch template; cutover changes only the AMI \
                     of a launch template"
                ),
                throttled: false,
            });
        };
        let source = self
            .ec2
            .template_versions(&template, &[&version])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| CloudError::NotFound {
                operation: "DescribeLaunchTemplateVersions",
                what: format!("version {version} of launch template {template}"),
            })?;
        let created = self
            .ec2
            .create_template_version(&template, &source.number.to_string(), image)
            .await?;
        let number = created.number.to_string();
        self.autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .launch_template_id(&template)
                    .version(&number)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| group_error("UpdateAutoScalingGroup", name, e))?;
        Ok(number)
    }

    /// Sets min, max and desired size.
    pub(super) async fn update_capacity(
        &self,
        name: &str,
        capacity: GroupCapacity,
    ) -> Result<(), CloudError> {
        self.autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .min_size(size(capacity.min))
            .max_size(size(capacity.max))
            .desired_capacity(size(capacity.desired))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| group_error("UpdateAutoScalingGroup", name, e))
    }

    /// Terminates `instance`, which must belong to group `name`
    /// (`DescribeAutoScalingInstances` first: an instance of another group is
    /// never touched), keeping the desired size so that a replacement launches.
    pub(super) async fn terminate_for_replacement(
        &self,
        name: &str,
        instance: &str,
    ) -> Result<(), CloudError> {
        let out = self
            .autoscaling
            .describe_auto_scaling_instances()
            .instance_ids(instance)
            .send()
            .await
            .map_err(|e| cloud_error("DescribeAutoScalingInstances", e))?;
        let member = out.auto_scaling_instances().iter().any(|i| {
            i.instance_id() == Some(instance) && i.auto_scaling_group_name() == Some(name)
        });
        if !member {
            return Err(CloudError::NotFound {
                operation: "DescribeAutoScalingInstances",
                what: format!("instance {instance} in Auto Scaling group `{name}`"),
            });
        }
        self.autoscaling
            .terminate_instance_in_auto_scaling_group()
            .instance_id(instance)
            .should_decrement_desired_capacity(false)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| cloud_error("TerminateInstanceInAutoScalingGroup", e))
    }

    pub(super) async fn attach(&self, name: &str, target_group: &str) -> Result<(), CloudError> {
        self.autoscaling
            .attach_load_balancer_target_groups()
            .auto_scaling_group_name(name)
            .target_group_arns(target_group)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| group_error("AttachLoadBalancerTargetGroups", name, e))
    }

    pub(super) async fn detach(&self, name: &str, target_group: &str) -> Result<(), CloudError> {
        self.autoscaling
            .detach_load_balancer_target_groups()
            .auto_scaling_group_name(name)
            .target_group_arns(target_group)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| group_error("DetachLoadBalancerTargetGroups", name, e))
    }
}
