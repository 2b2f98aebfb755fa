//! [`Cloud`] on the AWS SDK for Rust.

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

impl SdkCloud {
    /// Loads the configuration and builds the clients.
    pub async fn connect(options: &AwsOptions) -> Self {
        todo!("{options:?}")
    }
}

impl Cloud for SdkCloud {
    async fn forward(&self, route: &Route) -> Result<Forward, CloudError> {
        todo!("{route:?}")
    }
    async fn set_forward(&self, route: &Route, forward: &Forward) -> Result<(), CloudError> {
        todo!("{route:?}{forward:?}")
    }
    async fn target_health(&self, target_group: &str) -> Result<TargetHealth, CloudError> {
        todo!("{target_group}")
    }
    async fn ecs_service(&self, cluster: &str, service: &str) -> Result<EcsService, CloudError> {
        todo!("{cluster}{service}")
    }
    async fn deploy_image(
        &self,
        cluster: &str,
        service: &str,
        image: &str,
    ) -> Result<String, CloudError> {
        todo!("{cluster}{service}{image}")
    }
    async fn scale_service(
        &self,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> Result<(), CloudError> {
        todo!("{cluster}{service}{desired}")
    }
    async fn acquire_lease(&self, table: &str, lease: &Lease, now: u64) -> Result<(), CloudError> {
        todo!("{table}{lease:?}{now}")
    }
    async fn release_lease(&self, table: &str, key: &str, holder: &str) -> Result<(), CloudError> {
        todo!("{table}{key}{holder}")
    }
}
