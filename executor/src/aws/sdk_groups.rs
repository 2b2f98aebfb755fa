//! The Auto Scaling and EC2 side of [`SdkCloud`]: groups, their launch
//! template versions and instances, and their target group attachments.

use super::sdk::SdkCloud;
use super::{AutoScalingGroup, CloudError, GroupCapacity, Target};

fn not_built(operation: &'static str) -> CloudError {
    CloudError::Service {
        operation,
        message: "not built yet".to_owned(),
        throttled: false,
    }
}

impl SdkCloud {
    /// The names of the groups attached to `target_group`.
    pub(super) async fn attached_groups(
        &self,
        _target_group: &str,
    ) -> Result<Vec<String>, CloudError> {
        Err(not_built("DescribeAutoScalingGroups"))
    }

    pub(super) async fn target_states(
        &self,
        _target_group: &str,
    ) -> Result<Vec<Target>, CloudError> {
        Err(not_built("DescribeTargetHealth"))
    }

    pub(super) async fn describe_group(&self, _name: &str) -> Result<AutoScalingGroup, CloudError> {
        Err(not_built("DescribeAutoScalingGroups"))
    }

    pub(super) async fn new_template_version(
        &self,
        _name: &str,
        _image: &str,
    ) -> Result<String, CloudError> {
        Err(not_built("CreateLaunchTemplateVersion"))
    }

    pub(super) async fn update_capacity(
        &self,
        _name: &str,
        _capacity: GroupCapacity,
    ) -> Result<(), CloudError> {
        Err(not_built("UpdateAutoScalingGroup"))
    }

    pub(super) async fn terminate_for_replacement(
        &self,
        _name: &str,
        _instance: &str,
    ) -> Result<(), CloudError> {
        Err(not_built("TerminateInstanceInAutoScalingGroup"))
    }

    pub(super) async fn attach(&self, _name: &str, _target_group: &str) -> Result<(), CloudError> {
        Err(not_built("AttachLoadBalancerTargetGroups"))
    }

    pub(super) async fn detach(&self, _name: &str, _target_group: &str) -> Result<(), CloudError> {
        Err(not_built("DetachLoadBalancerTargetGroups"))
    }
}
