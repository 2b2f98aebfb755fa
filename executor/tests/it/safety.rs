//! The guarantees of execution against moto server, each named after the
//! defect it guards against: routes keep their other actions, capacity
//! follows traffic, the right container gets the image, blue is checked
//! against `current`, and an interrupted bake is baked again.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::types::{Action, RuleCondition};
use cutover_executor::sandbox::{BLUE_TASKS, SIDECAR_IMAGE, Shop};
use cutover_executor::{
    ActuatorGate, Cloud, Event, NoHealthGate, Outcome, Record, Route, RunError, Runner, Settings,
};
use tokio::sync::watch;

use super::moto::{Stage, chain_matrix, events, moto, settings, stage, stage_on};

const CANARY: &str = "    strategy: canary\n    steps: [10, 50, 100]\n    bake: 30ms";

/// A rule's actions and conditions as AWS describes them, with what a
/// switch may change taken out: the forward's targets (and the OIDC secret,
/// which AWS never returns).
async fn rule_shape(stage: &Stage, rule: &str) -> (Vec<Action>, Vec<RuleCondition>) {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&stage.moto.sdk_config().await);
    let out = elb
        .describe_rules()
        .rule_arns(rule)
        .send()
        .await
        .expect("describe rule");
    let rule = out.rules().first().expect("rule").clone();
    let actions = rule
        .actions()
        .iter()
        .cloned()
        .map(|mut action| {
            action.target_group_arn = None;
            if let Some(forward) = action.forward_config.as_mut() {
                forward.target_groups = None;
            }
            if let Some(oidc) = action.authenticate_oidc_config.as_mut() {
                oidc.client_secret = None;
                oidc.use_existing_client_secret = None;
            }
            action
        })
        .collect();
    (actions, rule.conditions().to_vec())
}

async fn shapes(stage: &Stage) -> Vec<(Vec<Action>, Vec<RuleCondition>)> {
    let mut shapes = Vec::new();
    for service in &stage.shop.services {
        shapes.push(rule_shape(stage, &service.rule).await);
    }
    shapes
}

async fn desired(stage: &Stage, ecs_service: &str) -> u32 {
    stage
        .moto
        .cloud()
        .await
        .ecs_service("shop", ecs_service)
        .await
        .expect("ecs service")
        .desired
}

#[tokio::test]
async fn a_switch_keeps_authentication_and_stickiness_through_execute_and_rollback() {
    let stage = stage(CANARY).await;
    let before = shapes(&stage).await;
    let (oidc, forward) = (&before[0].0[0], &before[0].0[1]);
    assert_eq!(oidc.order(), Some(1));
    assert!(oidc.authenticate_oidc_config().is_some());
    let stickiness = forward
        .forward_config()
        .and_then(|f| f.target_group_stickiness_config())
        .expect("stickiness");
    assert_eq!(
        (stickiness.enabled(), stickiness.duration_seconds()),
        (Some(true), Some(300))
    );

    let report = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    assert_eq!(stage.green_percents().await, [100, 100, 100]);
    assert_eq!(
        shapes(&stage).await,
        before,
        "only the forward's targets changed"
    );

    let report = stage
        .runner(NoHealthGate, settings())
        .await
        .rollback(&stage.journal)
        .await
        .expect("rollback");
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
    assert_eq!(shapes(&stage).await, before, "and after rollback too");

    let journal = std::fs::read_to_string(&stage.journal).expect("journal");
    assert!(
        !journal.contains("sandbox-client-secret"),
        "no secret in the journal"
    );
    let recorded: Vec<Vec<String>> = events(&stage.journal)
        .into_iter()
        .filter_map(|e| match e {
            Event::RouteRecorded { actions, .. } => {
                Some(actions.into_iter().map(|a| a.kind).collect())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        recorded,
        vec![vec!["authenticate-oidc".to_owned(), "forward".to_owned()]; 3],
        "the whole action list, as first observed"
    );
}

#[tokio::test]
async fn rollback_after_retire_blue_brings_capacity_back_before_traffic() {
    let stage = stage(CANARY).await;
    let retire = Settings {
        retire_blue: true,
        ..settings()
    };
    let report = stage
        .runner(NoHealthGate, retire)
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    for service in &stage.shop.services {
        assert_eq!(
            desired(&stage, &service.ecs_services[0]).await,
            0,
            "retired"
        );
        assert_eq!(
            desired(&stage, &service.ecs_services[1]).await,
            BLUE_TASKS,
            "green was prepared at blue's capacity"
        );
    }

    let report = stage
        .runner(NoHealthGate, settings())
        .await
        .rollback(&stage.journal)
        .await
        .expect("rollback");
    assert_eq!(report.outcome, Outcome::RolledBack, "{:?}", report.failure);
    assert_eq!(report.rolled_back, ["c", "b", "a"]);
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
    for service in &stage.shop.services {
        assert_eq!(desired(&stage, &service.ecs_services[0]).await, BLUE_TASKS);
    }
    // For each service, blue is scaled back before its route moves.
    let events = events(&stage.journal);
    for name in ["a", "b", "c"] {
        let scaled = events.iter().rposition(|e| {
            matches!(e, Event::Scaled { service, desired, .. } if service == name && *desired == BLUE_TASKS)
        });
        let restored = events
            .iter()
            .rposition(|e| matches!(e, Event::RouteRestored { service, .. } if service == name));
        assert!(
            scaled.is_some() && scaled < restored,
            "{name}: {scaled:?} {restored:?}"
        );
    }
}

#[tokio::test]
async fn a_blue_that_cannot_take_traffic_back_keeps_the_route() {
    let stage = stage("    strategy: all-at-once\n    bake: 20ms").await;
    let report = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    // `c`'s blue loses its targets: nothing there could take the traffic.
    let c = stage.shop.service("c").expect("c");
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&stage.moto.sdk_config().await);
    elb.deregister_targets()
        .target_group_arn(&c.target_groups[0])
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id("10.0.2.10")
                .port(80)
                .build(),
        )
        .send()
        .await
        .expect("deregister");
    let quick = Settings {
        gate_timeout: Duration::from_millis(500),
        ..settings()
    };
    let report = stage
        .runner(NoHealthGate, quick)
        .await
        .rollback(&stage.journal)
        .await
        .expect("rollback runs");
    assert_eq!(report.outcome, Outcome::Failed);
    let failure = report.failure.expect("failure");
    assert!(
        failure.contains("`c`")
            && failure.contains("blue is not ready")
            && failure.contains("0 of 0"),
        "{failure}"
    );
    assert_eq!(
        stage.green_percents().await,
        [100, 100, 100],
        "c stays on green, and a and b are not rolled back under it"
    );
}

#[tokio::test]
async fn the_next_release_after_a_retired_blue_prepares_green_at_blue_capacity() {
    let stage = stage("    strategy: all-at-once\n    bake: 20ms").await;
    let retire = Settings {
        retire_blue: true,
        ..settings()
    };
    let report = stage
        .runner(NoHealthGate, retire.clone())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);

    // The next release starts from today's green (`NAME-b`), observed.
    let matrix = chain_matrix(
        &stage.shop,
        "    strategy: all-at-once\n    bake: 20ms",
        ("2.0.0", "3.0.0"),
        &|_, _| String::new(),
    );
    stage.plan_again(&matrix);
    let mut doc: cutover_planner::PlanDocument =
        serde_json::from_str(&std::fs::read_to_string(&stage.plan).expect("plan")).expect("json");
    cutover_executor::observe_blue(stage.moto.cloud().await, NoHealthGate, &mut doc)
        .await
        .expect("observe");
    std::fs::write(
        &stage.plan,
        serde_json::to_string_pretty(&doc).expect("json"),
    )
    .expect("plan");
    let second = stage.dir.path().join("second.journal.jsonl");
    let report = stage
        .runner(NoHealthGate, retire)
        .await
        .execute(&stage.plan, &second)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    assert_eq!(stage.green_percents().await, [0, 0, 0], "back on `NAME-a`");
    for service in &stage.shop.services {
        let [a, b] = &service.ecs_services;
        assert_eq!(
            desired(&stage, a).await,
            BLUE_TASKS,
            "the retired side came back"
        );
        assert_eq!(desired(&stage, b).await, 0, "and the old one retired");
    }
}

/// Releases with images: `registry.local/NAME:VERSION`.
fn with_images(name: &str, version: &str) -> String {
    format!("image: \"registry.local/{name}:{version}\", ")
}

async fn containers(stage: &Stage, ecs_service: &str) -> Vec<(String, String)> {
    let cloud = stage.moto.cloud().await;
    let task_definition = cloud
        .ecs_service("shop", ecs_service)
        .await
        .expect("service")
        .task_definition;
    cloud
        .containers(&task_definition)
        .await
        .expect("containers")
        .into_iter()
        .map(|c| (c.name, c.image))
        .collect()
}

#[tokio::test]
async fn the_image_goes_to_the_app_container_not_the_sidecar_and_tags_are_kept() {
    let stage = stage(CANARY).await;
    stage.plan_again(&chain_matrix(
        &stage.shop,
        CANARY,
        ("1.0.0", "2.0.0"),
        &with_images,
    ));
    let report = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    for service in &stage.shop.services {
        assert_eq!(
            containers(&stage, &service.ecs_services[1]).await,
            [
                ("log-router".to_owned(), SIDECAR_IMAGE.to_owned()),
                (
                    "app".to_owned(),
                    format!("registry.local/{}:2.0.0", service.name)
                ),
            ]
        );
    }
    let ecs = aws_sdk_ecs::Client::new(&stage.moto.sdk_config().await);
    let green = stage
        .moto
        .cloud()
        .await
        .ecs_service("shop", "a-b")
        .await
        .expect("a-b");
    let described = ecs
        .describe_task_definition()
        .task_definition(&green.task_definition)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .expect("describe");
    let tags: Vec<(Option<&str>, Option<&str>)> = described
        .tags()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(
        tags,
        [(Some("team"), Some("shop"))],
        "tags copied to the new revision"
    );
}

#[tokio::test]
async fn no_container_of_the_images_repository_is_refused_before_any_change() {
    let stage = stage(CANARY).await;
    stage.plan_again(&chain_matrix(
        &stage.shop,
        CANARY,
        ("1.0.0", "2.0.0"),
        &|name, version| match version {
            "2.0.0" => format!("image: \"registry.other/{name}:2.0.0\", "),
            _ => String::new(),
        },
    ));
    let error = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect_err("refused");
    assert!(matches!(error, RunError::Refused(_)), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("`registry.other/a`") && message.contains("deploy.ecs.container"),
        "{message}"
    );
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
    assert_eq!(
        containers(&stage, "a-b").await[1],
        ("app".to_owned(), "registry.local/a:1.0.0".to_owned()),
        "nothing deployed"
    );

    // Naming the container makes it work.
    let matrix = std::fs::read_to_string(stage.dir.path().join("matrix.yaml"))
        .expect("matrix")
        .replace(
            "ecs: {cluster: shop,",
            "ecs: {container: app, cluster: shop,",
        );
    stage.plan_again(&matrix);
    let report = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    assert_eq!(
        containers(&stage, "a-b").await[1].1,
        "registry.other/a:2.0.0"
    );
    assert_eq!(containers(&stage, "a-b").await[0].1, SIDECAR_IMAGE);
}

#[tokio::test]
async fn a_blue_running_another_image_than_current_is_refused() {
    let stage = stage(CANARY).await;
    stage.plan_again(&chain_matrix(
        &stage.shop,
        CANARY,
        ("1.0.0", "2.0.0"),
        &|name, version| match (name, version) {
            // The matrix says `b` 1.0.0 is 1.0.1; blue runs 1.0.0.
            ("b", "1.0.0") => "image: \"registry.local/b:1.0.1\", ".to_owned(),
            _ => with_images(name, version),
        },
    ));
    let error = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect_err("refused");
    assert!(matches!(error, RunError::Drift(_)), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("`b`")
            && message.contains("runs `registry.local/b:1.0.0`")
            && message.contains("is `registry.local/b:1.0.1`"),
        "{message}"
    );
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
    assert_eq!(
        containers(&stage, "a-b").await[1].1,
        "registry.local/a:1.0.0"
    );
}

/// An Actuator on 127.0.0.1 whose `/info` reports `version` for every
/// service and whose `/health` is UP until `down` is set.
async fn actuator(version: &'static str, down: Arc<std::sync::atomic::AtomicBool>) -> String {
    use axum::Json;
    use axum::http::StatusCode;
    use axum::routing::get;
    use std::sync::atomic::Ordering;
    let health = move || {
        let down = Arc::clone(&down);
        async move {
            if down.load(Ordering::SeqCst) {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({"status": "DOWN"})),
                )
            } else {
                (StatusCode::OK, Json(serde_json::json!({"status": "UP"})))
            }
        }
    };
    let app = axum::Router::new()
        .route("/{service}/actuator/health", get(health))
        .route(
            "/{service}/actuator/info",
            get(move || async move { Json(serde_json::json!({"build": {"version": version}})) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// Adds `KEY: BASE/NAME/actuator` to each service's `deploy`.
fn with_actuator(matrix: &str, shop: &Shop, key: &str, base: &str) -> String {
    let mut matrix = matrix.to_owned();
    for service in &shop.services {
        let rule = &service.rule;
        matrix = matrix.replace(
            &format!("      rule: {rule}\n"),
            &format!(
                "      rule: {rule}\n      {key}: {base}/{}/actuator\n",
                service.name
            ),
        );
    }
    matrix
}

#[tokio::test]
async fn a_production_actuator_reporting_another_release_is_refused() {
    let stage = stage(CANARY).await;
    let base = actuator("0.9.0", Arc::default()).await;
    let matrix = chain_matrix(&stage.shop, CANARY, ("1.0.0", "2.0.0"), &|_, _| {
        String::new()
    });
    stage.plan_again(&with_actuator(&matrix, &stage.shop, "live_health", &base));
    let error = stage
        .runner(ActuatorGate::new(|_| None), settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect_err("refused");
    assert!(matches!(error, RunError::Drift(_)), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("current release 1.0.0") && message.contains("0.9.0"),
        "{message}"
    );
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
    assert!(!stage.journal.exists(), "refused before the journal");
}

/// Signals when `service`'s route reaches 100 % (its final bake begins).
struct FinalBake(
    &'static str,
    std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
);

impl cutover_executor::Observer for FinalBake {
    fn record(&self, record: &Record) {
        if matches!(&record.event, Event::RouteSet { service, green_percent: 100, .. } if service == self.0)
            && let Some(tx) = self.1.lock().expect("lock").take()
        {
            let _ = tx.send(());
        }
    }
}

#[tokio::test]
async fn resume_after_a_kill_in_the_final_bake_bakes_again_and_checks_green() {
    let mut server = Some(moto().await);
    let defaults = "    strategy: canary\n    steps: [50, 100]\n    bake: 1s";
    for green_goes_down in [false, true] {
        let stage = stage_on(server.take().expect("server"), defaults).await;
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let base = actuator("2.0.0", Arc::clone(&down)).await;
        let matrix = chain_matrix(&stage.shop, defaults, ("1.0.0", "2.0.0"), &|_, _| {
            String::new()
        });
        stage.plan_again(&with_actuator(&matrix, &stage.shop, "health", &base));

        // Killed as `b` starts its final bake.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (_cancel, cancelled) = watch::channel(false);
        let run = Runner::new(
            stage.moto.cloud().await,
            ActuatorGate::new(|_| None),
            settings(),
            Arc::new(FinalBake("b", std::sync::Mutex::new(Some(tx)))),
            cancelled,
        );
        tokio::select! {
            _ = run.execute(&stage.plan, &stage.journal) => panic!("should have been killed"),
            _ = rx => {}
        }
        assert_eq!(stage.green_percents().await, [100, 100, 0]);
        down.store(green_goes_down, std::sync::atomic::Ordering::SeqCst);

        let report = stage
            .runner(ActuatorGate::new(|_| None), settings())
            .await
            .resume(&stage.journal)
            .await
            .expect("resume");
        let after_resume: Vec<Event> = events(&stage.journal)
            .into_iter()
            .skip_while(|e| !matches!(e, Event::RunStarted { command, .. } if command == "resume"))
            .collect();
        if green_goes_down {
            assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
            let failure = report.failure.expect("failure");
            assert!(
                failure.contains("`b`") && failure.contains("DOWN"),
                "{failure}"
            );
            assert_eq!(stage.green_percents().await, [0, 0, 0]);
        } else {
            assert_eq!(report.outcome, Outcome::Succeeded, "{report:?}");
            assert_eq!(stage.green_percents().await, [100, 100, 100]);
            assert!(
                after_resume.iter().any(
                    |e| matches!(e, Event::Baked { service, green_percent: 100 } if service == "b")
                ),
                "b's final bake was done again: {after_resume:#?}"
            );
        }
        assert!(
            !after_resume
                .iter()
                .any(|e| matches!(e, Event::Baked { service, .. } if service == "a")),
            "a had finished its bake and is not baked again"
        );
        server = Some(stage.moto);
    }
}

#[tokio::test]
async fn a_route_without_exactly_one_forward_is_refused_before_any_change() {
    let stage = stage(CANARY).await;
    let b = stage.shop.service("b").expect("b");
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&stage.moto.sdk_config().await);
    let fixed = Action::builder()
        .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            aws_sdk_elasticloadbalancingv2::types::FixedResponseActionConfig::builder()
                .status_code("503")
                .content_type("text/plain")
                .message_body("maintenance")
                .build(),
        )
        .build();
    elb.modify_rule()
        .rule_arn(&b.rule)
        .actions(fixed)
        .send()
        .await
        .expect("maintenance page");
    let error = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect_err("refused");
    let message = error.to_string();
    assert!(
        message.contains("no `forward` action") && message.contains(&b.rule),
        "{message}"
    );
    let a = stage.shop.service("a").expect("a");
    let live = stage
        .moto
        .cloud()
        .await
        .forward(&Route::Rule(a.rule.clone()))
        .await
        .expect("a's rule");
    assert_eq!(
        live.percent_to(&a.target_groups[1]),
        0,
        "`a` was not switched"
    );
    assert!(!stage.journal.exists(), "refused before the journal");
}
