//! The SDK-backed cloud and whole runs against moto server on 127.0.0.1
//! (started per test; `scripts/test` installs it). These tests fail, never
//! skip, when moto is missing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cutover_executor::sandbox::{MotoServer, Shop};
use cutover_executor::{
    Cloud, CloudError, Event, Forward, HealthGate, Lease, NoHealthGate, Outcome, Record, Route,
    RunError, Runner, SdkCloud, Settings, Silent, read_journal,
};
use cutover_planner::{Limits, PlanDocument, validate_bytes};
use tokio::sync::watch;

pub(super) async fn moto() -> MotoServer {
    MotoServer::start()
        .await
        .unwrap_or_else(|error| panic!("moto server is needed for this test: {error}"))
}

#[tokio::test]
async fn routes_and_weights_round_trip() {
    let moto = moto().await;
    let shop = Shop::build(&moto, &["orders"]).await.expect("shop");
    let cloud = moto.cloud().await;
    let orders = shop.service("orders").expect("orders");
    let [a, b] = &orders.target_groups;
    for route in [
        Route::Rule(orders.rule.clone()),
        Route::Listener(orders.listener.clone()),
    ] {
        assert_eq!(
            cloud.forward(&route).await.expect("read").sole_target(),
            Some(a.as_str())
        );
        cloud
            .set_forward(&route, &Forward::split(a, b, 10))
            .await
            .expect("split");
        let live = cloud.forward(&route).await.expect("read");
        assert_eq!(live.percent_to(b), 10, "{live:?}");
        assert_eq!(live.targets.len(), 2);
        cloud
            .set_forward(&route, &Forward::to(b))
            .await
            .expect("switch");
        assert_eq!(
            cloud.forward(&route).await.expect("read").sole_target(),
            Some(b.as_str())
        );
    }
    let missing = cloud
        .forward(&Route::Rule(format!("{}-missing", orders.rule)))
        .await;
    assert!(missing.is_err());
}

#[tokio::test]
async fn target_health_and_ecs_services() {
    let moto = moto().await;
    let shop = Shop::build(&moto, &["orders"]).await.expect("shop");
    let cloud = moto.cloud().await;
    let orders = shop.service("orders").expect("orders");
    let health = cloud
        .target_health(&orders.target_groups[1])
        .await
        .expect("health");
    assert_eq!((health.healthy, health.total), (1, 1));
    let green = cloud
        .ecs_service("shop", &orders.ecs_services[1])
        .await
        .expect("ecs");
    assert!(
        green.task_definition.ends_with("task-definition/orders:1"),
        "{green:?}"
    );
    assert!(green.is_steady());
    let arn = cloud
        .deploy_image(
            "shop",
            &orders.ecs_services[1],
            "app",
            "registry.local/orders:2.0.0",
        )
        .await
        .expect("deploy");
    assert!(arn.ends_with("task-definition/orders:2"), "{arn}");
    let green = cloud
        .ecs_service("shop", &orders.ecs_services[1])
        .await
        .expect("ecs");
    assert_eq!(green.task_definition, arn);
    cloud
        .scale_service("shop", &orders.ecs_services[0], 3)
        .await
        .expect("scale");
    assert_eq!(
        cloud
            .ecs_service("shop", &orders.ecs_services[0])
            .await
            .expect("ecs")
            .desired,
        3
    );
    let missing = cloud.ecs_service("shop", "nope").await;
    assert!(
        matches!(missing, Err(CloudError::NotFound { .. })),
        "{missing:?}"
    );
}

#[tokio::test]
async fn leases_are_exclusive_until_released_or_expired() {
    let moto = moto().await;
    let shop = Shop::build(&moto, &["orders"]).await.expect("shop");
    let cloud = moto.cloud().await;
    let lease = |holder: &str, expires_at| Lease {
        key: "orders".to_owned(),
        holder: holder.to_owned(),
        plan_digest: "d1".to_owned(),
        expires_at,
    };
    let table = &shop.lock_table;
    cloud
        .acquire_lease(table, &lease("alice", 1_000), 500)
        .await
        .expect("free");
    cloud
        .acquire_lease(table, &lease("alice", 1_100), 600)
        .await
        .expect("renew");
    match cloud.acquire_lease(table, &lease("bob", 2_000), 700).await {
        Err(CloudError::LockHeld(held)) => {
            assert_eq!(held.holder, "alice");
            assert_eq!(held.expires_at, 1_100);
            assert_eq!(held.plan_digest, "d1");
        }
        other => panic!("expected the lock to be held: {other:?}"),
    }
    cloud
        .acquire_lease(table, &lease("bob", 2_000), 1_200)
        .await
        .expect("expired");
    cloud
        .release_lease(table, "orders", "alice")
        .await
        .expect("not alice's any more");
    assert!(
        cloud
            .acquire_lease(table, &lease("carol", 3_000), 1_300)
            .await
            .is_err()
    );
    cloud
        .release_lease(table, "orders", "bob")
        .await
        .expect("release");
    cloud
        .acquire_lease(table, &lease("carol", 3_000), 1_300)
        .await
        .expect("free again");
}

/// A shop of three services in a chain (three waves) on moto, its matrix
/// and a saved plan in a temporary directory.
pub(super) struct Stage {
    pub(super) moto: MotoServer,
    pub(super) shop: Shop,
    pub(super) dir: tempfile::TempDir,
    pub(super) plan: PathBuf,
    pub(super) journal: PathBuf,
}

pub(super) async fn stage(defaults: &str) -> Stage {
    stage_on(moto().await, defaults).await
}

/// The same on a server that may have been used: its state is reset first.
pub(super) async fn stage_on(moto: MotoServer, defaults: &str) -> Stage {
    moto.reset().await.expect("reset moto");
    let shop = Shop::build(&moto, &["a", "b", "c"]).await.expect("shop");
    let matrix = chain_matrix(&shop, defaults, ("1.0.0", "2.0.0"), &|_, _| String::new());
    let dir = tempfile::tempdir().expect("tempdir");
    let stage = Stage {
        journal: dir.path().join("plan.journal.jsonl"),
        plan: dir.path().join("plan.json"),
        moto,
        shop,
        dir,
    };
    stage.plan_again(&matrix);
    stage
}

/// The matrix of the shop's chain `a` → `b` → `c`, each moving from
/// `versions.0` to `versions.1`; `release` adds fields to a release
/// (`release(service, version)`), for images.
pub(super) fn chain_matrix(
    shop: &Shop,
    defaults: &str,
    (from, to): (&str, &str),
    release: &dyn Fn(&str, &str) -> String,
) -> String {
    let consumes = ["", "a-api: \"VERSION\"", "b-api: \"VERSION\""];
    let mut matrix = format!("version: 1\ndefaults:\n  deploy:\n{defaults}\nservices:\n");
    for (service, consumes) in shop.services.iter().zip(consumes) {
        let name = &service.name;
        matrix.push_str(&format!(
            "  {name}:\n    current: {from}\n    target: {to}\n    releases:\n      {from}: {{{}provides: {{{name}-api: {from}}}, consumes: {{{}}}}}\n      {to}: {{{}provides: {{{name}-api: [{from}, {to}]}}, consumes: {{{}}}}}\n{}",
            release(name, from),
            consumes.replace("VERSION", &format!("^{from}")),
            release(name, to),
            consumes.replace("VERSION", &format!("^{to}")),
            service.deploy_yaml()
        ));
    }
    matrix
}

impl Stage {
    /// Writes `matrix` and its plan (three waves) in place of the old ones.
    pub(super) fn plan_again(&self, matrix: &str) {
        std::fs::write(self.dir.path().join("matrix.yaml"), matrix).expect("matrix");
        let validated = validate_bytes("matrix.yaml", matrix.as_bytes(), &Limits::default());
        assert!(validated.is_valid(), "{:?}", validated.diagnostics);
        let result = validated.plan().expect("valid");
        let doc = PlanDocument::new(&validated, Some(&result));
        assert_eq!(doc.waves.len(), 3);
        std::fs::write(
            &self.plan,
            serde_json::to_string_pretty(&doc).expect("json"),
        )
        .expect("plan");
    }

    pub(super) async fn runner<G: HealthGate>(
        &self,
        gate: G,
        settings: Settings,
    ) -> Runner<SdkCloud, G> {
        let (_cancel, cancelled) = watch::channel(false);
        Runner::new(
            self.moto.cloud().await,
            gate,
            settings,
            Arc::new(Silent),
            cancelled,
        )
    }

    /// Percent of each service's production route on green (`NAME-b`).
    pub(super) async fn green_percents(&self) -> Vec<u32> {
        let cloud = self.moto.cloud().await;
        let mut percents = Vec::new();
        for service in &self.shop.services {
            let live = cloud
                .forward(&Route::Rule(service.rule.clone()))
                .await
                .expect("rule");
            percents.push(live.percent_to(&service.target_groups[1]));
        }
        percents
    }
}

pub(super) fn settings() -> Settings {
    Settings {
        poll_interval: Duration::from_millis(20),
        gate_timeout: Duration::from_secs(2),
        ..Settings::default()
    }
}

pub(super) fn events(journal: &std::path::Path) -> Vec<Event> {
    read_journal(journal)
        .expect("journal")
        .into_iter()
        .map(|r| r.event)
        .collect()
}

#[tokio::test]
async fn a_three_wave_cutover_ends_with_every_route_on_green() {
    let stage = stage("    strategy: all-at-once\n    bake: 50ms").await;
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
    let run = stage.runner(NoHealthGate, settings()).await;
    let report = run
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    assert_eq!(stage.green_percents().await, [100, 100, 100]);
    let cloud = stage.moto.cloud().await;
    for service in &stage.shop.services {
        let test = cloud
            .forward(&Route::Rule(service.test_rule.clone()))
            .await
            .expect("test rule");
        assert_eq!(
            test.sole_target(),
            Some(service.target_groups[1].as_str()),
            "test traffic on green"
        );
    }
    let switched: Vec<String> = events(&stage.journal)
        .into_iter()
        .filter_map(|e| match e {
            Event::ServiceSwitched { service } => Some(service),
            _ => None,
        })
        .collect();
    assert_eq!(switched, ["a", "b", "c"]);
}

#[tokio::test]
async fn canary_steps_show_in_the_weights_read_back_from_the_listener() {
    let stage = stage("    strategy: canary\n    steps: [10, 50, 100]\n    bake: 30ms").await;
    let run = stage.runner(NoHealthGate, settings()).await;
    let report = run
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    let green = &stage.shop.service("b").expect("b").target_groups[1];
    let observed: Vec<u32> = events(&stage.journal)
        .into_iter()
        .filter_map(|e| match e {
            Event::RouteObserved { service, forward } if service == "b" => {
                Some(forward.percent_to(green))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        observed,
        [10, 50, 100],
        "weights read back from moto after each step"
    );
}

#[tokio::test]
async fn drift_and_a_stale_plan_are_refused_and_the_lock_refuses_a_second_run() {
    let stage = stage("    strategy: all-at-once\n    bake: 10ms").await;
    let cloud = stage.moto.cloud().await;
    let b = stage.shop.service("b").expect("b");
    let route = Route::Rule(b.rule.clone());

    cloud
        .set_forward(
            &route,
            &Forward::split(&b.target_groups[0], &b.target_groups[1], 30),
        )
        .await
        .expect("drift");
    let error = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect_err("drift");
    assert!(matches!(error, RunError::Drift(_)), "{error}");

    cloud
        .set_forward(&route, &Forward::to(&b.target_groups[1]))
        .await
        .expect("moved");
    let error = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect_err("stale");
    assert!(matches!(error, RunError::Stale(_)), "{error}");
    cloud
        .set_forward(&route, &Forward::to(&b.target_groups[0]))
        .await
        .expect("back");

    let holder = Lease {
        key: "c".to_owned(),
        holder: "alice@ci pid 1 run other".to_owned(),
        plan_digest: "x".to_owned(),
        expires_at: u64::MAX / 2,
    };
    cloud
        .acquire_lease(&stage.shop.lock_table, &holder, 0)
        .await
        .expect("someone else runs");
    let locked = Settings {
        lock_table: Some(stage.shop.lock_table.clone()),
        ..settings()
    };
    let error = stage
        .runner(NoHealthGate, locked.clone())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect_err("locked");
    assert!(
        error.to_string().contains("alice@ci pid 1 run other"),
        "{error}"
    );
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
    cloud
        .release_lease(&stage.shop.lock_table, "c", &holder.holder)
        .await
        .expect("release");
    let report = stage
        .runner(NoHealthGate, locked)
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    let _ = &stage.dir;
}

/// Signals after the first service switched.
struct FirstSwitch(std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>);

impl cutover_executor::Observer for FirstSwitch {
    fn record(&self, record: &Record) {
        if matches!(record.event, Event::ServiceSwitched { .. })
            && let Some(tx) = self.0.lock().expect("lock").take()
        {
            let _ = tx.send(());
        }
    }
}

async fn kill_after_first_switch(stage: &Stage) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (_cancel, cancelled) = watch::channel(false);
    let run = Runner::new(
        stage.moto.cloud().await,
        NoHealthGate,
        Settings { ..settings() },
        Arc::new(FirstSwitch(std::sync::Mutex::new(Some(tx)))),
        cancelled,
    );
    tokio::select! {
        _ = run.execute(&stage.plan, &stage.journal) => panic!("should have been killed"),
        _ = rx => {}
    }
    assert_eq!(stage.green_percents().await, [100, 0, 0]);
}

#[tokio::test]
async fn a_killed_run_is_resumed_and_another_rolled_back_from_the_journal() {
    let stage = stage("    strategy: all-at-once\n    bake: 300ms").await;
    kill_after_first_switch(&stage).await;
    let report = stage
        .runner(NoHealthGate, settings())
        .await
        .resume(&stage.journal)
        .await
        .expect("resume");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    assert_eq!(stage.green_percents().await, [100, 100, 100]);

    // The second scenario on the same server, reset in between.
    let stage = stage_on(stage.moto, "    strategy: all-at-once\n    bake: 300ms").await;
    kill_after_first_switch(&stage).await;
    let report = stage
        .runner(NoHealthGate, settings())
        .await
        .rollback(&stage.journal)
        .await
        .expect("rollback");
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(report.rolled_back, ["a"]);
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
}

/// Actuator stand-ins on 127.0.0.1: every service UP and on 2.0.0, except
/// that `failing` answers DOWN (503) once it has answered `healthy_answers` times.
async fn actuator(failing: &'static str, healthy_answers: usize) -> String {
    use axum::Json;
    use axum::extract::Path;
    use axum::http::StatusCode;
    use axum::routing::get;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let answers = Arc::new(AtomicUsize::new(0));
    let health = move |Path(service): Path<String>| {
        let answers = Arc::clone(&answers);
        async move {
            let down =
                service == failing && answers.fetch_add(1, Ordering::SeqCst) >= healthy_answers;
            if down {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(
                        serde_json::json!({"status": "DOWN", "components": {"db": {"status": "DOWN"}}}),
                    ),
                )
            } else {
                (
                    StatusCode::OK,
                    Json(
                        serde_json::json!({"status": "UP", "components": {"db": {"status": "UP"}}}),
                    ),
                )
            }
        }
    };
    let app = axum::Router::new()
        .route("/{service}/actuator/health", get(health))
        .route(
            "/{service}/actuator/info",
            get(|| async { Json(serde_json::json!({"build": {"version": "2.0.0"}})) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

#[tokio::test]
async fn green_turning_down_during_bake_in_wave_two_puts_every_route_back_on_blue() {
    let stage = stage("    strategy: all-at-once\n    bake: 400ms").await;
    let base = actuator("b", 2).await;
    // Point each service's `deploy.health` at the stand-in and plan again.
    let matrix_path = stage.dir.path().join("matrix.yaml");
    let mut matrix = std::fs::read_to_string(&matrix_path).expect("matrix");
    for name in ["a", "b", "c"] {
        let rule = &stage.shop.service(name).expect("service").rule;
        matrix = matrix.replace(
            &format!("      rule: {rule}\n"),
            &format!("      rule: {rule}\n      health: {base}/{name}/actuator\n"),
        );
    }
    std::fs::write(&matrix_path, &matrix).expect("matrix");
    let validated = validate_bytes("matrix.yaml", matrix.as_bytes(), &Limits::default());
    let result = validated.plan().expect("valid");
    let doc = PlanDocument::new(&validated, Some(&result));
    std::fs::write(
        &stage.plan,
        serde_json::to_string_pretty(&doc).expect("json"),
    )
    .expect("plan");

    let gate = cutover_executor::ActuatorGate::new(|_| None);
    let settings = Settings {
        poll_interval: Duration::from_millis(100),
        ..settings()
    };
    let report = stage
        .runner(gate, settings)
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
    let failure = report.failure.expect("failure");
    assert!(
        failure.contains("`b`") && failure.contains("during bake") && failure.contains("DOWN"),
        "{failure}"
    );
    assert_eq!(report.rolled_back, ["b", "a"]);
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
}
