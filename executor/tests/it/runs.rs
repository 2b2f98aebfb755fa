//! Runs of real plans against [`FakeCloud`]: waves, canary steps, gate
//! failures and rollback, throttling, ECS that never settles, stale plans,
//! drift, locks, resume and rollback from a journal, dry runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover_executor::{
    Cloud, Container, DryRun, EcsService, Event, FakeCloud, FakeFault, Forward, HealthGate, Lease,
    NoHealthGate, Observer, Outcome, Record, Route, RunError, Runner, ServiceSwitch, Settings,
    read_journal,
};
use cutover_planner::{Limits, PlanDocument, validate_bytes};
use tokio::sync::watch;

/// Three services in a chain: `a` before `b` before `c` (three waves).
pub(super) fn matrix(deploy_defaults: &str, extra: &dyn Fn(&str) -> String) -> String {
    let service = |name: &str, provides: &str, consumes: &str| {
        format!(
            "  {name}:\n    current: 1.0.0\n    target: 2.0.0\n    releases:\n      1.0.0: {{provides: {{{name}-api: 1.0.0}}, consumes: {{{}}}}}\n      2.0.0: {{provides: {{{name}-api: [{provides}]}}, consumes: {{{}}}}}\n    deploy:\n      listener: {ELB}:listener/app/shop/{name}/1\n      target_groups: [{ELB}:targetgroup/{name}-a/1, {ELB}:targetgroup/{name}-b/1]\n{}",
            consumes.replace("VERSION", "^1"),
            consumes.replace("VERSION", "^2"),
            extra(name)
        )
    };
    format!(
        "version: 1\ndefaults:\n  deploy:\n{deploy_defaults}\nservices:\n{}{}{}",
        service("a", "1.0.0, 2.0.0", ""),
        service("b", "1.0.0, 2.0.0", "a-api: \"VERSION\""),
        service("c", "2.0.0", "b-api: \"VERSION\""),
    )
}

pub(super) const FAST: &str = "    strategy: all-at-once\n    bake: 40ms";

pub(super) struct Setup {
    pub(super) _dir: tempfile::TempDir,
    pub(super) plan: PathBuf,
    pub(super) journal: PathBuf,
    pub(super) matrix: PathBuf,
    pub(super) cloud: FakeCloud,
}

/// Writes the matrix and its plan into a temporary directory and puts every
/// route on its first target group (blue).
pub(super) fn setup(matrix_text: &str) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let matrix = dir.path().join("matrix.yaml");
    std::fs::write(&matrix, matrix_text).expect("write matrix");
    let validated = validate_bytes("matrix.yaml", matrix_text.as_bytes(), &Limits::default());
    assert!(validated.is_valid(), "{:?}", validated.diagnostics);
    let result = validated.plan().expect("valid");
    let doc = PlanDocument::new(&validated, Some(&result));
    assert_eq!(doc.waves.len(), 3, "a, b, c in three waves");
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, serde_json::to_string_pretty(&doc).expect("json")).expect("write plan");
    let cloud = FakeCloud::new();
    for name in ["a", "b", "c"] {
        cloud.put_route(&route(name), Forward::to(&blue(name)));
    }
    Setup {
        journal: dir.path().join("plan.journal.jsonl"),
        _dir: dir,
        plan,
        matrix,
        cloud,
    }
}

/// Steady ECS services `NAME-a` and `NAME-b` with two tasks each, in cluster
/// `shop`, on task definition `td/NAME:1`: a logging sidecar, then `app`
/// on `registry.local/NAME:1.0.0`.
pub(super) fn put_ecs_services(cloud: &FakeCloud) {
    for name in ["a", "b", "c"] {
        cloud.put_task_definition(
            &format!("td/{name}:1"),
            vec![
                Container {
                    name: "log-router".to_owned(),
                    image: "registry.local/fluent-bit:3".to_owned(),
                },
                Container {
                    name: "app".to_owned(),
                    image: format!("registry.local/{name}:1.0.0"),
                },
            ],
        );
        for side in ["a", "b"] {
            cloud.put_service(
                "shop",
                &format!("{name}-{side}"),
                EcsService {
                    task_definition: format!("td/{name}:1"),
                    desired: 2,
                    running: 2,
                    deployments: 1,
                },
            );
        }
    }
}

/// `deploy.ecs` lines for the matrix.
pub(super) fn ecs(name: &str) -> String {
    format!("      ecs: {{cluster: shop, services: [{name}-a, {name}-b]}}\n")
}

/// The ARN prefix of the fake shop's load balancer resources.
pub(super) const ELB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012";

pub(super) fn route(name: &str) -> Route {
    Route::Listener(format!("{ELB}:listener/app/shop/{name}/1"))
}
pub(super) fn blue(name: &str) -> String {
    format!("{ELB}:targetgroup/{name}-a/1")
}
pub(super) fn green(name: &str) -> String {
    format!("{ELB}:targetgroup/{name}-b/1")
}

/// Calls with the ARN prefix taken out, for reading.
pub(super) fn short_calls(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .map(|c| c.replace(&format!("{ELB}:"), ""))
        .collect()
}

pub(super) fn settings() -> Settings {
    Settings {
        poll_interval: Duration::from_millis(10),
        gate_timeout: Duration::from_millis(300),
        ..Settings::default()
    }
}

/// Keeps every record.
#[derive(Default)]
pub(super) struct Recorded(pub(super) Mutex<Vec<Record>>);

impl Observer for Recorded {
    fn record(&self, record: &Record) {
        self.0.lock().expect("lock").push(record.clone());
    }
}

pub(super) fn runner<C: Cloud + 'static, G: HealthGate>(
    cloud: C,
    gate: G,
    settings: Settings,
) -> Runner<C, G> {
    let (_tx, rx) = watch::channel(false);
    Runner::new(
        cloud,
        gate,
        settings,
        Arc::new(cutover_executor::Silent),
        rx,
    )
}

pub(super) fn on_green(cloud: &FakeCloud, name: &str) -> bool {
    cloud
        .route(&route(name))
        .expect("route")
        .percent_to(&green(name))
        == 100
}

pub(super) fn on_blue(cloud: &FakeCloud, name: &str) -> bool {
    cloud
        .route(&route(name))
        .expect("route")
        .percent_to(&blue(name))
        == 100
}

pub(super) fn journal_events(path: &Path) -> Vec<Event> {
    read_journal(path)
        .expect("journal")
        .into_iter()
        .map(|r| r.event)
        .collect()
}

#[tokio::test]
async fn three_waves_end_with_every_route_on_green() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    let run = runner(setup.cloud.clone(), NoHealthGate, settings());
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    assert_eq!(report.switched, ["a", "b", "c"]);
    assert!(["a", "b", "c"].iter().all(|s| on_green(&setup.cloud, s)));
    let switched: Vec<String> = journal_events(&setup.journal)
        .into_iter()
        .filter_map(|e| match e {
            Event::ServiceSwitched { service } => Some(service),
            _ => None,
        })
        .collect();
    assert_eq!(switched, ["a", "b", "c"], "in wave order");
}

#[tokio::test]
async fn every_switched_service_costs_few_aws_calls() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    let run = runner(
        setup.cloud.clone(),
        NoHealthGate,
        Settings {
            poll_interval: Duration::from_secs(1),
            ..settings()
        },
    );
    run.execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    let calls = setup.cloud.calls();
    let per_service: BTreeMap<&str, usize> = ["a", "b", "c"]
        .into_iter()
        .map(|s| {
            (
                s,
                calls
                    .iter()
                    .filter(|c| c.contains(&format!("/{s}/")) || c.contains(&format!("/{s}-")))
                    .count(),
            )
        })
        .collect();
    // Before: read the route (stale/drift check). Switch: target health,
    // read the route again, modify, read back, one target-health check in
    // the 40 ms bake. After: read the route for the report. The README
    // states this count.
    assert_eq!(
        per_service,
        BTreeMap::from([("a", 7), ("b", 7), ("c", 7)]),
        "{calls:#?}"
    );
}

#[tokio::test]
async fn canary_steps_are_visible_in_the_listener_weights() {
    let setup = setup(&matrix(
        "    strategy: canary\n    steps: [10, 50, 100]\n    bake: 20ms",
        &|_| String::new(),
    ));
    let run = runner(setup.cloud.clone(), NoHealthGate, settings());
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded);
    let modifications: Vec<String> = setup
        .cloud
        .calls()
        .into_iter()
        .map(|c| c.replace(&format!("{ELB}:"), ""))
        .filter(|c| c.starts_with("ModifyListener listener/app/shop/a/1 "))
        .collect();
    assert_eq!(
        modifications,
        [
            "ModifyListener listener/app/shop/a/1 targetgroup/a-a/1=90,targetgroup/a-b/1=10",
            "ModifyListener listener/app/shop/a/1 targetgroup/a-a/1=50,targetgroup/a-b/1=50",
            "ModifyListener listener/app/shop/a/1 targetgroup/a-b/1=1",
        ]
    );
}

/// Green of `failing` turns DOWN after `healthy_checks` checks.
struct TurnsDown {
    failing: &'static str,
    healthy_checks: Mutex<u32>,
}

impl HealthGate for TurnsDown {
    async fn check(&self, switch: &ServiceSwitch) -> Result<(), String> {
        if switch.service != self.failing {
            return Ok(());
        }
        let mut left = self.healthy_checks.lock().expect("lock");
        if *left == 0 {
            return Err("status DOWN; component `db` is DOWN".to_owned());
        }
        *left -= 1;
        Ok(())
    }
}

fn with_health(name: &str) -> String {
    format!("      health: http://127.0.0.1:9/{name}/actuator\n")
}

#[tokio::test]
async fn a_gate_failure_in_wave_two_puts_every_route_back_on_blue() {
    let setup = setup(&matrix(
        "    strategy: all-at-once\n    bake: 200ms",
        &with_health,
    ));
    let gate = TurnsDown {
        failing: "b",
        healthy_checks: Mutex::new(2),
    };
    let run = runner(setup.cloud.clone(), gate, settings());
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack);
    let failure = report.failure.expect("a failure");
    assert!(
        failure.contains("`b`") && failure.contains("during bake") && failure.contains("DOWN"),
        "{failure}"
    );
    assert_eq!(report.rolled_back, ["b", "a"], "reverse plan order");
    assert!(["a", "b", "c"].iter().all(|s| on_blue(&setup.cloud, s)));
    let events = journal_events(&setup.journal);
    assert!(
        events.iter().any(
            |e| matches!(e, Event::RollbackStarted { services } if services == &["c", "b", "a"])
        )
    );
}

#[tokio::test]
async fn no_rollback_leaves_things_as_they_are() {
    let setup = setup(&matrix(
        "    strategy: all-at-once\n    bake: 100ms",
        &with_health,
    ));
    let gate = TurnsDown {
        failing: "b",
        healthy_checks: Mutex::new(1),
    };
    let run = runner(
        setup.cloud.clone(),
        gate,
        Settings {
            rollback: false,
            ..settings()
        },
    );
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(on_green(&setup.cloud, "a"));
    assert!(on_blue(&setup.cloud, "c"));
}

#[tokio::test]
async fn throttling_is_retried_and_persistent_errors_roll_back() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    setup.cloud.inject(FakeFault::Throttle {
        operation: "ModifyListener",
        times: 2,
    });
    let run = runner(setup.cloud.clone(), NoHealthGate, settings());
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);

    let setup = setup_again(&setup);
    setup.cloud.inject(FakeFault::Throttle {
        operation: "ModifyListener",
        times: 1,
    });
    setup.cloud.inject(FakeFault::Fail {
        operation: "DescribeTargetHealth",
        times: 1000,
    });
    let run = runner(setup.cloud.clone(), NoHealthGate, settings());
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(
        report.outcome,
        Outcome::RolledBack,
        "{:#?}",
        setup.cloud.calls()
    );
    assert!(report.failure.expect("failure").contains("InternalFailure"));
}

fn setup_again(previous: &Setup) -> Setup {
    setup(&std::fs::read_to_string(&previous.matrix).expect("matrix"))
}

#[tokio::test]
async fn an_ecs_service_that_never_settles_fails_its_gate_and_rolls_back() {
    let text = matrix(FAST, &ecs).replace(
        "      2.0.0: {provides: {c-api",
        "      2.0.0: {image: \"registry.local/c:2.0.0\", provides: {c-api",
    );
    let setup = setup(&text);
    put_ecs_services(&setup.cloud);
    setup.cloud.never_steady("shop", "c-b");
    let run = runner(setup.cloud.clone(), NoHealthGate, settings());
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack);
    let failure = report.failure.expect("failure");
    assert!(
        failure.contains("ecs-steady") && failure.contains("c-b"),
        "{failure}"
    );
    assert!(
        setup
            .cloud
            .calls()
            .iter()
            .any(|c| c == "UpdateService shop/c-b app=registry.local/c:2.0.0")
    );
    assert!(["a", "b", "c"].iter().all(|s| on_blue(&setup.cloud, s)));
}

#[tokio::test]
async fn a_changed_matrix_or_a_moved_blue_makes_the_plan_stale() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    setup.cloud.put_route(&route("b"), Forward::to(&green("b")));
    let run = runner(setup.cloud.clone(), NoHealthGate, settings());
    let error = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect_err("stale");
    assert!(matches!(error, RunError::Stale(_)), "{error}");
    assert!(error.to_string().contains(&green("b")), "{error}");
    assert!(!setup.journal.exists(), "refused before writing anything");

    let setup = setup_again(&setup);
    let mut text = std::fs::read_to_string(&setup.matrix).expect("matrix");
    text.push_str("# edited\n");
    std::fs::write(&setup.matrix, text).expect("write");
    let error = runner(setup.cloud.clone(), NoHealthGate, settings())
        .execute(&setup.plan, &setup.journal)
        .await
        .expect_err("stale");
    assert!(
        error
            .to_string()
            .contains("changed since the plan was made"),
        "{error}"
    );
}

#[tokio::test]
async fn drift_is_refused() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    setup
        .cloud
        .put_route(&route("c"), Forward::split(&blue("c"), &green("c"), 50));
    let error = runner(setup.cloud.clone(), NoHealthGate, settings())
        .execute(&setup.plan, &setup.journal)
        .await
        .expect_err("drift");
    assert!(matches!(error, RunError::Drift(_)), "{error}");
    assert!(error.to_string().contains("weight 50"), "{error}");
    assert!(setup.cloud.calls().iter().all(|c| !c.starts_with("Modify")));
}

#[tokio::test]
async fn the_lock_refuses_a_second_run_and_names_the_holder() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    let far_future = u64::MAX / 2;
    setup
        .cloud
        .acquire_lease(
            "locks",
            &Lease {
                key: "b".to_owned(),
                holder: "alice@ci pid 7 run r1".to_owned(),
                plan_digest: "abc".to_owned(),
                expires_at: far_future,
            },
            0,
        )
        .await
        .expect("first holder");
    let locked = Settings {
        lock_table: Some("locks".to_owned()),
        ..settings()
    };
    let error = runner(setup.cloud.clone(), NoHealthGate, locked.clone())
        .execute(&setup.plan, &setup.journal)
        .await
        .expect_err("locked");
    assert!(
        error.to_string().contains("alice@ci pid 7 run r1"),
        "{error}"
    );
    assert!(on_blue(&setup.cloud, "a"), "nothing switched");

    setup
        .cloud
        .release_lease("locks", "b", "alice@ci pid 7 run r1")
        .await
        .expect("release");
    let report = runner(setup.cloud.clone(), NoHealthGate, locked)
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded);
    let someone_else = Lease {
        key: "c".to_owned(),
        holder: "bob@laptop pid 9 run r2".to_owned(),
        plan_digest: "def".to_owned(),
        expires_at: far_future,
    };
    setup
        .cloud
        .acquire_lease("locks", &someone_else, 0)
        .await
        .expect("released at the end");
}

/// Signals when the first service has switched.
struct FirstSwitch(Mutex<Option<tokio::sync::oneshot::Sender<()>>>);

impl Observer for FirstSwitch {
    fn record(&self, record: &Record) {
        if matches!(record.event, Event::ServiceSwitched { .. })
            && let Some(tx) = self.0.lock().expect("lock").take()
        {
            let _ = tx.send(());
        }
    }
}

/// Runs the plan and drops the run (as a killed process would stop) right
/// after its first switch.
async fn killed_after_first_switch(setup: &Setup) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (_cancel, cancelled) = watch::channel(false);
    let run = Runner::new(
        setup.cloud.clone(),
        NoHealthGate,
        Settings {
            poll_interval: Duration::from_millis(10),
            ..settings()
        },
        Arc::new(FirstSwitch(Mutex::new(Some(tx)))),
        cancelled,
    );
    tokio::select! {
        _ = run.execute(&setup.plan, &setup.journal) => panic!("the run should have been killed"),
        _ = rx => {}
    }
    assert!(on_green(&setup.cloud, "a"));
    assert!(on_blue(&setup.cloud, "c"));
}

#[tokio::test]
async fn a_killed_run_is_resumed_from_its_journal() {
    let setup = setup(&matrix(
        "    strategy: all-at-once\n    bake: 100ms",
        &|_| String::new(),
    ));
    killed_after_first_switch(&setup).await;
    let observer = Arc::new(Recorded::default());
    let (_cancel, cancelled) = watch::channel(false);
    let run = Runner::new(
        setup.cloud.clone(),
        NoHealthGate,
        settings(),
        observer.clone(),
        cancelled,
    );
    let report = run.resume(&setup.journal).await.expect("resumes");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    assert!(["a", "b", "c"].iter().all(|s| on_green(&setup.cloud, s)));
    let switched_now: Vec<String> = observer
        .0
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|r| match &r.event {
            Event::ServiceSwitched { service } => Some(service.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(switched_now, ["b", "c"], "`a` was already done");
    // Idempotent: a second resume has nothing to do.
    let again = runner(setup.cloud.clone(), NoHealthGate, settings())
        .resume(&setup.journal)
        .await
        .expect("resumes");
    assert_eq!(again.outcome, Outcome::NothingToDo);
}

#[tokio::test]
async fn a_killed_run_is_rolled_back_from_its_journal() {
    let setup = setup(&matrix(
        "    strategy: all-at-once\n    bake: 100ms",
        &|_| String::new(),
    ));
    killed_after_first_switch(&setup).await;
    let run = runner(setup.cloud.clone(), NoHealthGate, settings());
    let report = run.rollback(&setup.journal).await.expect("rolls back");
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert!(report.rolled_back.contains(&"a".to_owned()));
    assert!(["a", "b", "c"].iter().all(|s| on_blue(&setup.cloud, s)));
    let again = run.rollback(&setup.journal).await.expect("idempotent");
    assert!(again.rolled_back.is_empty());
}

#[tokio::test]
async fn retire_blue_scales_blue_to_zero_only_after_success() {
    let setup = setup(&matrix(FAST, &ecs));
    put_ecs_services(&setup.cloud);
    let run = runner(
        setup.cloud.clone(),
        NoHealthGate,
        Settings {
            retire_blue: true,
            ..settings()
        },
    );
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded);
    for name in ["a", "b", "c"] {
        assert_eq!(
            setup
                .cloud
                .service("shop", &format!("{name}-a"))
                .expect("blue")
                .desired,
            0
        );
        assert_eq!(
            setup
                .cloud
                .service("shop", &format!("{name}-b"))
                .expect("green")
                .desired,
            2
        );
    }
}

/// A `--retire-blue` run that died after its last switch, before (or
/// while) retiring blue: its resume has no switch left, and retires blue.
#[tokio::test]
async fn resuming_a_retire_blue_run_after_its_last_switch_retires_blue() {
    let setup = setup(&matrix(FAST, &ecs));
    put_ecs_services(&setup.cloud);
    let switched = runner(setup.cloud.clone(), NoHealthGate, settings())
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(switched.outcome, Outcome::Succeeded);
    let retire = || Settings {
        retire_blue: true,
        ..settings()
    };
    let blue_desired = |name: &str| {
        setup
            .cloud
            .service("shop", &format!("{name}-a"))
            .expect("blue")
            .desired
    };
    assert_eq!(blue_desired("b"), 2);
    let resumed = runner(setup.cloud.clone(), NoHealthGate, retire())
        .resume(&setup.journal)
        .await
        .expect("resumes");
    assert_eq!(resumed.outcome, Outcome::Succeeded, "{:?}", resumed.failure);
    for name in ["a", "b", "c"] {
        assert_eq!(blue_desired(name), 0, "`{name}`'s blue is retired");
    }
    let again = runner(setup.cloud.clone(), NoHealthGate, retire())
        .resume(&setup.journal)
        .await
        .expect("resumes");
    assert_eq!(again.outcome, Outcome::NothingToDo);
}

#[tokio::test]
async fn a_dry_run_lists_the_calls_and_changes_nothing() {
    let setup = setup(&matrix(
        "    strategy: linear\n    steps: [50, 100]\n    bake: 1h",
        &|_| String::new(),
    ));
    let cloud = DryRun::new(setup.cloud.clone());
    let run = runner(
        cloud,
        NoHealthGate,
        Settings {
            dry_run: true,
            ..settings()
        },
    );
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded);
    assert!(
        ["a", "b", "c"].iter().all(|s| on_blue(&setup.cloud, s)),
        "nothing changed"
    );
    assert!(!setup.journal.exists(), "a dry run writes no journal");
    let calls = short_calls(&run.cloud().calls());
    let writes: Vec<&String> = calls.iter().filter(|c| c.starts_with("Modify")).collect();
    assert_eq!(
        writes,
        [
            "ModifyListener listener/app/shop/a/1 forward targetgroup/a-a/1=50,targetgroup/a-b/1=50 (other actions kept)",
            "ModifyListener listener/app/shop/a/1 forward targetgroup/a-b/1=1 (other actions kept)",
            "ModifyListener listener/app/shop/b/1 forward targetgroup/b-a/1=50,targetgroup/b-b/1=50 (other actions kept)",
            "ModifyListener listener/app/shop/b/1 forward targetgroup/b-b/1=1 (other actions kept)",
            "ModifyListener listener/app/shop/c/1 forward targetgroup/c-a/1=50,targetgroup/c-b/1=50 (other actions kept)",
            "ModifyListener listener/app/shop/c/1 forward targetgroup/c-b/1=1 (other actions kept)",
        ]
    );
}

#[tokio::test]
async fn ctrl_c_during_bake_rolls_back() {
    let setup = setup(&matrix("    strategy: all-at-once\n    bake: 10s", &|_| {
        String::new()
    }));
    let (cancel, cancelled) = watch::channel(false);
    let observer = Arc::new(Recorded::default());
    let run = Runner::new(
        setup.cloud.clone(),
        NoHealthGate,
        settings(),
        observer.clone(),
        cancelled,
    );
    let interrupt = async {
        // Wait until `a` is on green and baking, then press Ctrl-C.
        while !on_green(&setup.cloud, "a") {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cancel.send(true).expect("send");
    };
    let (report, ()) = tokio::join!(run.execute(&setup.plan, &setup.journal), interrupt);
    let report = report.expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(report.failure.as_deref(), Some("interrupted"));
    assert_eq!(report.rolled_back, ["a"]);
    assert!(on_blue(&setup.cloud, "a"));
}

#[tokio::test]
async fn a_route_moved_during_the_run_fails_the_switch() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    let cloud = setup.cloud.clone();
    let observer = Arc::new(MoveRouteOf {
        cloud: cloud.clone(),
        service: "b",
    });
    let (_cancel, cancelled) = watch::channel(false);
    let run = Runner::new(cloud, NoHealthGate, settings(), observer, cancelled);
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert!(report.failure.expect("failure").contains("drift"));
}

/// Points `service`'s route at a third target group as soon as its gate passes.
struct MoveRouteOf {
    cloud: FakeCloud,
    service: &'static str,
}

impl Observer for MoveRouteOf {
    fn record(&self, record: &Record) {
        if let Event::GatePassed { service, .. } = &record.event
            && service == self.service
        {
            self.cloud
                .put_route(&route(self.service), Forward::to("tg/somebody-else"));
        }
    }
}

#[tokio::test]
async fn ecs_greens_prepared_ahead_run_their_images_before_the_first_switch() {
    let mut text = matrix(FAST, &ecs);
    for name in ["a", "b", "c"] {
        text = text.replace(
            &format!("      2.0.0: {{provides: {{{name}-api"),
            &format!(
                "      2.0.0: {{image: \"registry.local/{name}:2.0.0\", provides: {{{name}-api"
            ),
        );
    }
    let setup = setup(&text);
    put_ecs_services(&setup.cloud);
    setup.cloud.ready_after(Duration::from_millis(50));
    let run = runner(
        setup.cloud.clone(),
        NoHealthGate,
        Settings {
            prepare: cutover_executor::Prepare::Ahead,
            ..settings()
        },
    );
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    let events = journal_events(&setup.journal);
    let first_switch = events
        .iter()
        .position(|e| matches!(e, Event::RouteSet { .. }))
        .expect("a switch");
    let deployed = |events: &[Event]| {
        events
            .iter()
            .filter(|e| matches!(e, Event::ImageDeployed { .. }))
            .count()
    };
    assert_eq!(
        deployed(&events[..first_switch]),
        3,
        "every image before any switch"
    );
    assert_eq!(deployed(&events), 3, "and none twice");
    assert!(["a", "b", "c"].iter().all(|s| on_green(&setup.cloud, s)));
}
