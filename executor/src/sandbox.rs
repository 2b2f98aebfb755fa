//! A local AWS sandbox for tests and the demo: moto server on 127.0.0.1 and
//! a small shop built on it with the SDK (an ALB, a production and a test
//! listener, a blue/green target group pair, a listener rule and ECS
//! services per service, and a DynamoDB lock table). A service may run on
//! two Auto Scaling groups instead of ECS ([`ShopKind`], [`Shop::build_with`]).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ProtocolEnum, RuleCondition, TargetDescription, TargetTypeEnum,
};

use crate::aws::SdkCloud;

mod groups;

pub use groups::{BLUE_INSTANCES, GROUP_MAX_SIZE, ShopGroups};

/// The sandbox could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// moto server is not installed.
    #[error(
        "moto server was not found (looked at $CUTOVER_MOTO_SERVER and ./.venv/bin/moto_server); \
         run `scripts/test`, which installs it into ./.venv"
    )]
    MotoMissing,
    /// Starting or reaching moto failed.
    #[error("moto server: {0}")]
    Moto(String),
    /// An AWS call to moto failed.
    #[error("{operation}: {message}")]
    Aws {
        /// The call.
        operation: &'static str,
        /// What went wrong.
        message: String,
    },
}

fn aws<E: std::fmt::Debug>(operation: &'static str) -> impl Fn(E) -> SandboxError {
    move |error| SandboxError::Aws {
        operation,
        message: format!("{error:?}"),
    }
}

/// A moto server child process on 127.0.0.1, killed on drop.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
}

impl MotoServer {
    /// The moto executable: `$CUTOVER_MOTO_SERVER`, else `.venv/bin/moto_server`
    /// in the current directory or one of its parents.
    pub fn executable() -> Result<PathBuf, SandboxError> {
        if let Some(path) = std::env::var_os("CUTOVER_MOTO_SERVER") {
            let path = PathBuf::from(path);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(SandboxError::MotoMissing)
            };
        }
        let start = std::env::current_dir().map_err(|e| SandboxError::Moto(e.to_string()))?;
        start
            .ancestors()
            .map(|dir| dir.join(".venv/bin/moto_server"))
            .find(|path| path.is_file())
            .ok_or(SandboxError::MotoMissing)
    }

    /// Starts moto on a free port and waits until it answers.
    pub async fn start() -> Result<Self, SandboxError> {
        let executable = Self::executable()?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| SandboxError::Moto(e.to_string()))?
            .port();
        let child = Command::new(&executable)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                SandboxError::Moto(format!("cannot start {}: {e}", executable.display()))
            })?;
        let server = MotoServer { child, port };
        let client = http();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if client
                .get(format!("{}/moto-api/", server.endpoint_url()))
                .send()
                .await
                .is_ok()
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(SandboxError::Moto("did not answer within 30 s".to_owned()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Forgets every resource (moto's reset endpoint).
    pub async fn reset(&self) -> Result<(), SandboxError> {
        http()
            .post(format!("{}/moto-api/reset", self.endpoint_url()))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map(|_| ())
            .map_err(|e| SandboxError::Moto(e.to_string()))
    }

    /// SDK configuration for this server: fixed test credentials, `us-east-1`.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_at(&self.endpoint_url()).await
    }

    /// A [`SdkCloud`] talking to this server.
    pub async fn cloud(&self) -> SdkCloud {
        SdkCloud::from_config(&self.sdk_config().await)
    }

    /// Creates a CloudWatch metric alarm (`PutMetricAlarm`, a 5xx count of
    /// the load balancer over 10 per minute) and puts it in `OK`.
    pub async fn put_alarm(&self, name: &str) -> Result<(), SandboxError> {
        use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
        aws_sdk_cloudwatch::Client::new(&self.sdk_config().await)
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/ApplicationELB")
            .metric_name("HTTPCode_Target_5XX_Count")
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(10.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await
            .map_err(aws("PutMetricAlarm"))?;
        self.set_alarm_state(
            name,
            "OK",
            "Threshold Crossed: no datapoints were above 10.0",
        )
        .await
    }

    /// Sets an alarm's state (`SetAlarmState`): `OK`, `ALARM` or
    /// `INSUFFICIENT_DATA`, with its reason.
    pub async fn set_alarm_state(
        &self,
        name: &str,
        state: &str,
        reason: &str,
    ) -> Result<(), SandboxError> {
        aws_sdk_cloudwatch::Client::new(&self.sdk_config().await)
            .set_alarm_state()
            .alarm_name(name)
            .state_value(aws_sdk_cloudwatch::types::StateValue::from(state))
            .state_reason(reason)
            .send()
            .await
            .map(|_| ())
            .map_err(aws("SetAlarmState"))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SDK configuration for a moto server at `endpoint`: fixed test
/// credentials, `us-east-1`.
pub async fn sdk_config_at(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_elasticloadbalancingv2::config::Credentials::new(
            "testing", "testing", None, None, "sandbox",
        ))
        .load()
        .await
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// The image of the logging sidecar, the first container of every task definition.
pub const SIDECAR_IMAGE: &str = "registry.local/fluent-bit:3.0";

/// Tasks of each blue ECS service (`NAME-a`); green (`NAME-b`) has none.
pub const BLUE_TASKS: u32 = 2;

/// The OIDC issuer of every production rule's `authenticate-oidc` action.
pub const OIDC_ISSUER: &str = "https://login.shop.invalid";

/// A production rule's actions: `authenticate-oidc` first, then a forward
/// with stickiness, as a team that guards its routes has them.
fn production_actions(target_group: &str) -> Vec<Action> {
    use aws_sdk_elasticloadbalancingv2::types::{
        AuthenticateOidcActionConfig, ForwardActionConfig, TargetGroupStickinessConfig,
        TargetGroupTuple,
    };
    let authenticate = Action::builder()
        .r#type(ActionTypeEnum::AuthenticateOidc)
        .order(1)
        .authenticate_oidc_config(
            AuthenticateOidcActionConfig::builder()
                .issuer(OIDC_ISSUER)
                .authorization_endpoint(format!("{OIDC_ISSUER}/authorize"))
                .token_endpoint(format!("{OIDC_ISSUER}/token"))
                .user_info_endpoint(format!("{OIDC_ISSUER}/userinfo"))
                .client_id("shop")
                .client_secret("sandbox-client-secret")
                .build(),
        )
        .build();
    let forward = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .order(2)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(target_group)
                        .weight(1)
                        .build(),
                )
                .target_group_stickiness_config(
                    TargetGroupStickinessConfig::builder()
                        .enabled(true)
                        .duration_seconds(300)
                        .build(),
                )
                .build(),
        )
        .build();
    vec![authenticate, forward]
}

/// How a service of the shop runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShopKind {
    /// ECS services `NAME-a` and `NAME-b` in cluster `shop`, behind target
    /// groups `NAME-a` and `NAME-b` (IP targets): what [`Shop::build`] makes.
    Ecs,
    /// Auto Scaling groups `NAME-a` (blue, [`BLUE_INSTANCES`] instances) and
    /// `NAME-b` (green, none), each attached to its own target group
    /// `NAME-a` / `NAME-b`, switched by the listener rule like ECS services.
    AsgPair,
    /// Auto Scaling groups `NAME-a` (blue, [`BLUE_INSTANCES`] instances) and
    /// `NAME-b` (green, none), and one target group `NAME` with only `NAME-a`
    /// attached: switched by attaching and detaching the groups. The rules
    /// forward to that one target group.
    AsgShared,
}

/// One service of the shop, as built on moto.
#[derive(Clone, Debug)]
pub struct ShopService {
    /// Service name.
    pub name: String,
    /// The production listener.
    pub listener: String,
    /// Its rule for this service (`/NAME/*`).
    pub rule: String,
    /// The test listener.
    pub test_listener: String,
    /// Its rule for this service (`/NAME/*`), pointed at green before the gates.
    pub test_rule: String,
    /// `NAME-a` (blue at first) and `NAME-b`; for [`ShopKind::AsgShared`],
    /// the one target group `NAME` twice.
    pub target_groups: [String; 2],
    /// ECS services `NAME-a` and `NAME-b` in cluster `shop`; empty strings
    /// for a service on Auto Scaling groups.
    pub ecs_services: [String; 2],
    /// How it runs.
    pub kind: ShopKind,
    /// Its Auto Scaling groups, for [`ShopKind::AsgPair`] and [`ShopKind::AsgShared`].
    pub asg: Option<ShopGroups>,
}

impl ShopService {
    /// The `deploy:` lines of the matrix for this service (indented for a
    /// service entry). ECS: its rules as the production and the test route,
    /// and its ECS services. [`ShopKind::AsgPair`]: the listener, its rule,
    /// the target groups and `asg: {groups: [...]}`. [`ShopKind::AsgShared`]:
    /// `target_group:` and `asg: {groups: [...]}`.
    pub fn deploy_yaml(&self) -> String {
        match (&self.asg, self.kind) {
            (Some(asg), ShopKind::AsgShared) => format!(
                "    deploy:\n      target_group: {}\n      asg: {{groups: [{}, {}]}}\n",
                asg.target_group
                    .as_deref()
                    .unwrap_or(&self.target_groups[0]),
                asg.groups[0],
                asg.groups[1]
            ),
            (Some(asg), _) => format!(
                "    deploy:\n      listener: {}\n      rule: {}\n      target_groups: [{}, {}]\n      asg: {{groups: [{}, {}]}}\n",
                self.listener,
                self.rule,
                self.target_groups[0],
                self.target_groups[1],
                asg.groups[0],
                asg.groups[1]
            ),
            (None, _) => format!(
                "    deploy:\n      listener: {}\n      rule: {}\n      test_listener: {}\n      target_groups: [{}, {}]\n      ecs: {{cluster: shop, services: [{}, {}]}}\n",
                self.listener,
                self.rule,
                self.test_rule,
                self.target_groups[0],
                self.target_groups[1],
                self.ecs_services[0],
                self.ecs_services[1]
            ),
        }
    }
}

/// A small shop on moto.
#[derive(Clone, Debug)]
pub struct Shop {
    /// Per service, in the order given.
    pub services: Vec<ShopService>,
    /// The ECS cluster.
    pub cluster: String,
    /// The DynamoDB lock table.
    pub lock_table: String,
}

impl Shop {
    /// Builds the shop for `names` on the moto server, every service on ECS.
    pub async fn build(moto: &MotoServer, names: &[&str]) -> Result<Self, SandboxError> {
        let specs: Vec<(&str, ShopKind)> =
            names.iter().map(|name| (*name, ShopKind::Ecs)).collect();
        Self::build_with(moto, &specs).await
    }

    /// Builds the shop on the moto server: each service (name and kind) in
    /// the order given. ECS services are built as [`Shop::build`] builds them.
    pub async fn build_with(
        moto: &MotoServer,
        specs: &[(&str, ShopKind)],
    ) -> Result<Self, SandboxError> {
        let config = moto.sdk_config().await;
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
        let ecs = aws_sdk_ecs::Client::new(&config);
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let (vpc, subnets) = default_network(moto).await?;

        let balancer = elb
            .create_load_balancer()
            .name("shop")
            .set_subnets(Some(subnets.clone()))
            .send()
            .await
            .map_err(aws("CreateLoadBalancer"))?;
        let balancer = balancer
            .load_balancers()
            .first()
            .and_then(|b| b.load_balancer_arn())
            .unwrap_or_default()
            .to_owned();
        ecs.create_cluster()
            .cluster_name("shop")
            .send()
            .await
            .map_err(aws("CreateCluster"))?;
        dynamodb
            .create_table()
            .table_name("cutover-locks")
            .attribute_definitions(
                aws_sdk_dynamodb::types::AttributeDefinition::builder()
                    .attribute_name("lock_key")
                    .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                    .build()
                    .map_err(aws("AttributeDefinition"))?,
            )
            .key_schema(
                aws_sdk_dynamodb::types::KeySchemaElement::builder()
                    .attribute_name("lock_key")
                    .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                    .build()
                    .map_err(aws("KeySchemaElement"))?,
            )
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(aws("CreateTable"))?;

        let mut services = Vec::new();
        let mut listeners: Option<(String, String)> = None;
        for (index, (name, kind)) in specs.iter().enumerate() {
            let kind = *kind;
            let mut groups = Vec::new();
            if kind != ShopKind::Ecs {
                let names = match kind {
                    ShopKind::AsgShared => vec![(*name).to_owned()],
                    _ => vec![format!("{name}-a"), format!("{name}-b")],
                };
                for group in names {
                    groups.push(groups::instance_target_group(&elb, &vpc, &group).await?);
                }
                if groups.len() == 1 {
                    groups.push(groups[0].clone());
                }
            }
            for side in ["a", "b"].into_iter().filter(|_| kind == ShopKind::Ecs) {
                let created = elb
                    .create_target_group()
                    .name(format!("{name}-{side}"))
                    .protocol(ProtocolEnum::Http)
                    .port(80)
                    .vpc_id(&vpc)
                    .target_type(TargetTypeEnum::Ip)
                    .send()
                    .await
                    .map_err(aws("CreateTargetGroup"))?;
                let arn = created
                    .target_groups()
                    .first()
                    .and_then(|t| t.target_group_arn())
                    .unwrap_or_default()
                    .to_owned();
                elb.register_targets()
                    .target_group_arn(&arn)
                    .targets(
                        TargetDescription::builder()
                            .id(format!(
                                "10.0.{index}.{}",
                                if side == "a" { 10 } else { 20 }
                            ))
                            .port(80)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(aws("RegisterTargets"))?;
                groups.push(arn);
            }
            let forward_to = |arn: &str| {
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(arn)
                    .build()
            };
            let (listener, test_listener) = match &listeners {
                Some(pair) => pair.clone(),
                None => {
                    let mut arns = Vec::new();
                    for port in [80, 8080] {
                        let created = elb
                            .create_listener()
                            .load_balancer_arn(&balancer)
                            .protocol(ProtocolEnum::Http)
                            .port(port)
                            .default_actions(forward_to(&groups[0]))
                            .send()
                            .await
                            .map_err(aws("CreateListener"))?;
                        arns.push(
                            created
                                .listeners()
                                .first()
                                .and_then(|l| l.listener_arn())
                                .unwrap_or_default()
                                .to_owned(),
                        );
                    }
                    let pair = (arns[0].clone(), arns[1].clone());
                    listeners = Some(pair.clone());
                    pair
                }
            };
            let mut rules = Vec::new();
            for (on, actions) in [
                (&listener, production_actions(&groups[0])),
                (&test_listener, vec![forward_to(&groups[0])]),
            ] {
                let created = elb
                    .create_rule()
                    .listener_arn(on)
                    .priority(i32::try_from(index + 1).unwrap_or(i32::MAX))
                    .conditions(
                        RuleCondition::builder()
                            .field("path-pattern")
                            .values(format!("/{name}/*"))
                            .build(),
                    )
                    .set_actions(Some(actions))
                    .send()
                    .await
                    .map_err(aws("CreateRule"))?;
                rules.push(
                    created
                        .rules()
                        .first()
                        .and_then(|r| r.rule_arn())
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            let pair = |list: Vec<String>| -> [String; 2] {
                let mut list = list.into_iter();
                [
                    list.next().unwrap_or_default(),
                    list.next().unwrap_or_default(),
                ]
            };
            if kind != ShopKind::Ecs {
                let [rule, test_rule] = pair(rules);
                let target_groups = pair(groups);
                let asg =
                    groups::auto_scaling_groups(moto, name, kind, &target_groups, &subnets).await?;
                services.push(ShopService {
                    name: (*name).to_owned(),
                    listener,
                    rule,
                    test_listener,
                    test_rule,
                    target_groups,
                    ecs_services: [String::new(), String::new()],
                    kind,
                    asg: Some(asg),
                });
                continue;
            }
            let task_definition = ecs
                .register_task_definition()
                .family(*name)
                .container_definitions(
                    aws_sdk_ecs::types::ContainerDefinition::builder()
                        .name("log-router")
                        .image(SIDECAR_IMAGE)
                        .memory(64)
                        .build(),
                )
                .container_definitions(
                    aws_sdk_ecs::types::ContainerDefinition::builder()
                        .name("app")
                        .image(format!("registry.local/{name}:1.0.0"))
                        .memory(128)
                        .build(),
                )
                .tags(
                    aws_sdk_ecs::types::Tag::builder()
                        .key("team")
                        .value("shop")
                        .build(),
                )
                .send()
                .await
                .map_err(aws("RegisterTaskDefinition"))?;
            let task_definition = task_definition
                .task_definition()
                .and_then(|t| t.task_definition_arn())
                .unwrap_or_default()
                .to_owned();
            let mut ecs_services = Vec::new();
            for side in ["a", "b"] {
                let service = format!("{name}-{side}");
                // moto counts the tasks of a desired count set by
                // UpdateService as running (not those of CreateService).
                ecs.create_service()
                    .cluster("shop")
                    .service_name(&service)
                    .task_definition(&task_definition)
                    .desired_count(0)
                    .send()
                    .await
                    .map_err(aws("CreateService"))?;
                if side == "a" {
                    ecs.update_service()
                        .cluster("shop")
                        .service(&service)
                        .desired_count(i32::try_from(BLUE_TASKS).unwrap_or(i32::MAX))
                        .send()
                        .await
                        .map_err(aws("UpdateService"))?;
                }
                ecs_services.push(service);
            }
            let [rule, test_rule] = pair(rules);
            services.push(ShopService {
                name: (*name).to_owned(),
                listener,
                rule,
                test_listener,
                test_rule,
                target_groups: pair(groups),
                ecs_services: pair(ecs_services),
                kind,
                asg: None,
            });
        }
        Ok(Shop {
            services,
            cluster: "shop".to_owned(),
            lock_table: "cutover-locks".to_owned(),
        })
    }

    /// A service by name.
    pub fn service(&self, name: &str) -> Option<&ShopService> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// moto's default VPC and two of its subnets, through the EC2 query API
/// (one request; not worth the build time of the EC2 SDK).
async fn default_network(moto: &MotoServer) -> Result<(String, Vec<String>), SandboxError> {
    let body = http()
        .post(moto.endpoint_url())
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0",
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("Action=DescribeSubnets&Version=2016-11-15")
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| SandboxError::Moto(e.to_string()))?
        .text()
        .await
        .map_err(|e| SandboxError::Moto(e.to_string()))?;
    let values = |tag: &str| -> Vec<String> {
        body.split(&format!("<{tag}>"))
            .skip(1)
            .filter_map(|rest| rest.split(&format!("</{tag}>")).next())
            .map(str::to_owned)
            .collect()
    };
    let subnets: Vec<String> = values("subnetId").into_iter().take(2).collect();
    let vpc = values("vpcId").into_iter().next();
    match (vpc, subnets.len()) {
        (Some(vpc), 2) => Ok((vpc, subnets)),
        _ => Err(SandboxError::Moto(format!("no default subnets in: {body}"))),
    }
}
