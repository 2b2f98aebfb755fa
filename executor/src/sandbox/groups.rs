//! The Auto Scaling side of the shop: AMIs, a launch template, a blue and a
//! green group per service, and their target groups.

use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetTypeEnum};

use super::{MotoServer, SandboxError, ShopKind, aws};
use crate::aws::SdkCloud;

/// The Auto Scaling side of a service of the shop.
#[derive(Clone, Debug)]
pub struct ShopGroups {
    /// `NAME-a` (blue at first) and `NAME-b`.
    pub groups: [String; 2],
    /// The launch template both groups launch from (its ID), at `$Default`
    /// (version 1, with the first AMI).
    pub launch_template: String,
    /// The AMIs registered for the service: `NAME-1.0.0` (the one its groups
    /// launch now) and `NAME-2.0.0`, for the releases' `ami:`.
    pub amis: [String; 2],
    /// [`ShopKind::AsgShared`]: the one target group the groups take turns behind.
    pub target_group: Option<String>,
}

/// Instances of each blue Auto Scaling group (`NAME-a`); green (`NAME-b`) has none.
pub const BLUE_INSTANCES: u32 = 2;

/// The most instances a group of the shop may have.
pub const GROUP_MAX_SIZE: u32 = 4;

fn cloud(operation: &'static str) -> impl Fn(crate::CloudError) -> SandboxError {
    move |error| SandboxError::Aws {
        operation,
        message: error.to_string(),
    }
}

/// A target group of instances (for Auto Scaling groups), with no targets.
pub(super) async fn instance_target_group(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    vpc: &str,
    name: &str,
) -> Result<String, SandboxError> {
    let created = elb
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(vpc)
        .target_type(TargetTypeEnum::Instance)
        .send()
        .await
        .map_err(aws("CreateTargetGroup"))?;
    Ok(created
        .target_groups()
        .first()
        .and_then(|t| t.target_group_arn())
        .unwrap_or_default()
        .to_owned())
}

/// The AMIs `NAME-1.0.0` and `NAME-2.0.0` (`RegisterImage`), a launch
/// template `NAME` on the first, and the groups `NAME-a` (blue,
/// [`BLUE_INSTANCES`] instances) and `NAME-b` (green, none) launching from
/// it at `$Default` in the default subnets, attached as `kind` says.
pub(super) async fn auto_scaling_groups(
    moto: &MotoServer,
    name: &str,
    kind: ShopKind,
    target_groups: &[String; 2],
    subnets: &[String],
) -> Result<ShopGroups, SandboxError> {
    use aws_sdk_autoscaling::types::LaunchTemplateSpecification;
    let config = moto.sdk_config().await;
    let sdk = SdkCloud::from_config(&config);
    let ec2 = sdk.ec2_query();
    let mut amis = Vec::new();
    for release in ["1.0.0", "2.0.0"] {
        let image = format!("{name}-{release}");
        let registered = ec2
            .call("RegisterImage", &[("Name", &image)])
            .await
            .map_err(cloud("RegisterImage"))?;
        amis.push(registered.text("imageId").unwrap_or_default().to_owned());
    }
    let created = ec2
        .call(
            "CreateLaunchTemplate",
            &[
                ("LaunchTemplateName", name),
                ("LaunchTemplateData.ImageId", &amis[0]),
                ("LaunchTemplateData.InstanceType", "t3.micro"),
            ],
        )
        .await
        .map_err(cloud("CreateLaunchTemplate"))?;
    let template = created
        .child("launchTemplate")
        .and_then(|t| t.text("launchTemplateId"))
        .unwrap_or_default()
        .to_owned();
    let autoscaling = aws_sdk_autoscaling::Client::new(&config);
    let mut groups = Vec::new();
    for (side, desired) in [("a", BLUE_INSTANCES), ("b", 0)] {
        let group = format!("{name}-{side}");
        let attached = match (kind, side) {
            (ShopKind::AsgShared, "b") => None,
            (_, "a") => Some(target_groups[0].clone()),
            _ => Some(target_groups[1].clone()),
        };
        autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(&group)
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .launch_template_id(&template)
                    .version("$Default")
                    .build(),
            )
            .min_size(0)
            .max_size(i32::try_from(GROUP_MAX_SIZE).unwrap_or(i32::MAX))
            .desired_capacity(i32::try_from(desired).unwrap_or(i32::MAX))
            .vpc_zone_identifier(subnets.join(","))
            .set_target_group_arns(attached.map(|arn| vec![arn]))
            .send()
            .await
            .map_err(aws("CreateAutoScalingGroup"))?;
        groups.push(group);
    }
    let two = |list: Vec<String>| -> [String; 2] {
        let mut list = list.into_iter();
        [
            list.next().unwrap_or_default(),
            list.next().unwrap_or_default(),
        ]
    };
    Ok(ShopGroups {
        groups: two(groups),
        launch_template: template,
        amis: two(amis),
        target_group: (kind == ShopKind::AsgShared).then(|| target_groups[0].clone()),
    })
}
