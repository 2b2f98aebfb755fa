//! Gates that watch what breaks, against moto: CloudWatch alarms (created
//! with `PutMetricAlarm`, flipped with `SetAlarmState`), the consumers'
//! alarms, integration checks against green, pauses and resume, and
//! notifications received by a local server. Each scenario checks the live
//! routes on moto afterwards, not only the outcome.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover_executor::sandbox::MotoServer;
use cutover_executor::{
    Event, NoHealthGate, Observer, Outcome, Record, RunError, Runner, SdkCloud, Settings, Webhook,
};
use tokio::sync::watch;

use super::moto::{Stage, chain_matrix, events, settings, stage};

/// A non-changing service `web` that consumes `a-api`, with its own alarm.
const WEB: &str = "  web:\n    current: 1.0.0\n    releases:\n      1.0.0: {consumes: {a-api: \"^1.0.0\"}}\n    deploy:\n      alarms: [web-5xx]\n";

/// The chain `a` → `b` → `c` (plus `web`), each with its alarm `NAME-5xx`,
/// and `extra` added to each service's `deploy`.
fn matrix_with(stage: &Stage, defaults: &str, extra: &dyn Fn(&str) -> String) -> String {
    let mut matrix = chain_matrix(&stage.shop, defaults, ("1.0.0", "2.0.0"), &|_, _| {
        String::new()
    });
    for service in &stage.shop.services {
        let name = &service.name;
        let ecs = format!(
            "      ecs: {{cluster: shop, services: [{}, {}]}}\n",
            service.ecs_services[0], service.ecs_services[1]
        );
        matrix = matrix.replace(
            &ecs,
            &format!("{ecs}      alarms: [{name}-5xx]\n{}", extra(name)),
        );
    }
    matrix.push_str(WEB);
    matrix
}

/// Creates metric alarms (in state `OK`).
async fn put_alarms(moto: &MotoServer, names: &[&str]) {
    for name in names {
        moto.put_alarm(name).await.expect("PutMetricAlarm");
    }
}

/// Calls `then` on the first record `when` matches.
struct OnRecord {
    when: Box<dyn Fn(&Event) -> bool + Send + Sync>,
    then: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Observer for OnRecord {
    fn record(&self, record: &Record) {
        if (self.when)(&record.event)
            && let Some(then) = self.then.lock().expect("lock").take()
        {
            then();
        }
    }
}

async fn runner_observed(
    stage: &Stage,
    settings: Settings,
    observer: Arc<dyn Observer>,
) -> Runner<SdkCloud, NoHealthGate> {
    let (_cancel, cancelled) = watch::channel(false);
    Runner::new(
        stage.moto.cloud().await,
        NoHealthGate,
        settings,
        observer,
        cancelled,
    )
}

/// Sets `alarm` to ALARM (on moto) as soon as `service`'s production route
/// is first switched: during its bake.
fn alarm_during_bake_of(
    stage: &Stage,
    service: &'static str,
    alarm: &'static str,
) -> Arc<dyn Observer> {
    let endpoint = stage.moto.endpoint_url();
    Arc::new(OnRecord {
        when: Box::new(
            move |event| matches!(event, Event::RouteSet { service: s, .. } if s == service),
        ),
        then: Mutex::new(Some(Box::new(move || {
            tokio::spawn(async move {
                let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .endpoint_url(endpoint)
                    .region(aws_config::Region::new("us-east-1"))
                    .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
                        "testing", "testing", None, None, "test",
                    ))
                    .load()
                    .await;
                aws_sdk_cloudwatch::Client::new(&config)
                    .set_alarm_state()
                    .alarm_name(alarm)
                    .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
                    .state_reason("Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (10.0).")
                    .send()
                    .await
                    .expect("SetAlarmState");
            });
        }))),
    })
}

fn slow_bake() -> Settings {
    Settings {
        poll_interval: Duration::from_millis(100),
        ..settings()
    }
}

#[tokio::test]
async fn a_wave_two_alarm_going_off_during_bake_rolls_every_route_back_to_blue() {
    let stage = stage("    strategy: all-at-once\n    bake: 1500ms").await;
    stage.plan_again(&matrix_with(
        &stage,
        "    strategy: all-at-once\n    bake: 1500ms",
        &|_| String::new(),
    ));
    put_alarms(&stage.moto, &["a-5xx", "b-5xx", "c-5xx", "web-5xx"]).await;
    let observer = alarm_during_bake_of(&stage, "b", "b-5xx");
    let report = runner_observed(&stage, slow_bake(), observer)
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
    let failure = report.failure.expect("failure");
    assert!(
        failure.contains("`b-5xx` of `b` (switching in wave 2) is in ALARM: Threshold Crossed: 1 datapoint [42.0]"),
        "{failure}"
    );
    assert_eq!(report.rolled_back, ["b", "a"]);
    assert_eq!(
        stage.green_percents().await,
        [0, 0, 0],
        "every route on blue"
    );
    insta::assert_snapshot!("alarm_of_a_wave_two_service", failure);
}

#[tokio::test]
async fn an_alarm_of_a_consumer_that_does_not_change_rolls_back_wave_one() {
    let stage = stage("    strategy: all-at-once\n    bake: 1500ms").await;
    stage.plan_again(&matrix_with(
        &stage,
        "    strategy: all-at-once\n    bake: 1500ms",
        &|_| String::new(),
    ));
    put_alarms(&stage.moto, &["a-5xx", "b-5xx", "c-5xx", "web-5xx"]).await;
    let observer = alarm_during_bake_of(&stage, "a", "web-5xx");
    let report = runner_observed(&stage, slow_bake(), observer)
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
    let failure = report.failure.expect("failure");
    assert!(
        failure.contains("`web-5xx` of `web`, which consumes `a-api` from `a` (switching in wave 1), is in ALARM: Threshold Crossed"),
        "{failure}"
    );
    assert_eq!(report.rolled_back, ["a"]);
    assert_eq!(
        stage.green_percents().await,
        [0, 0, 0],
        "every route on blue"
    );
    insta::assert_snapshot!("alarm_of_a_consumer", failure);
}

#[tokio::test]
async fn an_alarm_name_that_does_not_exist_is_refused_before_any_change() {
    let stage = stage("    strategy: all-at-once\n    bake: 10ms").await;
    stage.plan_again(&matrix_with(
        &stage,
        "    strategy: all-at-once\n    bake: 10ms\n    alarms: [shop-alb-5xx]",
        &|_| String::new(),
    ));
    // `c-5xx` and the default `shop-alb-5xx` are never created.
    put_alarms(&stage.moto, &["a-5xx", "b-5xx", "web-5xx"]).await;
    let error = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect_err("refused");
    assert!(matches!(error, RunError::Refused(_)), "{error}");
    let message = error.to_string();
    assert!(message.contains("`c-5xx` of `c`"), "{message}");
    assert!(message.contains("`shop-alb-5xx`"), "{message}");
    insta::assert_snapshot!("unknown_alarms", message);
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
    assert!(!stage.journal.exists(), "nothing was journaled");
}

/// Each service gets the checks `extra` gives it; the scripts live in the
/// matrix's folder.
fn with_checks(stage: &Stage, script: &str, checks: &str) {
    let path = stage.dir.path().join("check.sh");
    std::fs::write(&path, script).expect("script");
    let checks = checks.to_owned();
    stage.plan_again(&matrix_with(
        stage,
        "    strategy: all-at-once\n    bake: 10ms",
        &move |_| checks.clone(),
    ));
}

async fn put_all_alarms(stage: &Stage) {
    put_alarms(&stage.moto, &["a-5xx", "b-5xx", "c-5xx", "web-5xx"]).await;
}

#[tokio::test]
async fn checks_that_pass_see_the_switch_in_their_environment() {
    let stage = stage("    strategy: all-at-once\n    bake: 10ms").await;
    with_checks(
        &stage,
        "echo \"$CUTOVER_SERVICE $CUTOVER_FROM $CUTOVER_TO $CUTOVER_WAVE $CUTOVER_GREEN_TARGET_GROUP $CUTOVER_PLAN\" >> seen.txt\necho checked \"$CUTOVER_SERVICE\"\n",
        "      checks: [{name: contract, run: sh ./check.sh, timeout: 10s}]\n",
    );
    put_all_alarms(&stage).await;
    let report = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{report:?}");
    assert_eq!(stage.green_percents().await, [100, 100, 100]);
    let seen = std::fs::read_to_string(stage.dir.path().join("seen.txt"))
        .expect("ran in the matrix's folder");
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines.len(), 3, "{seen}");
    for (wave, service) in stage.shop.services.iter().enumerate() {
        let expected = format!(
            "{} 1.0.0 2.0.0 {} {} {}",
            service.name,
            wave + 1,
            service.target_groups[1],
            std::path::absolute(&stage.plan)
                .expect("absolute")
                .display()
        );
        assert!(lines.contains(&expected.as_str()), "{expected} in {seen}");
    }
    let outputs: Vec<String> = events(&stage.journal)
        .into_iter()
        .filter_map(|e| match e {
            Event::CheckFinished { result, output, .. } if result == "passed" => Some(output),
            _ => None,
        })
        .collect();
    assert_eq!(outputs, ["checked a\n", "checked b\n", "checked c\n"]);
    let gates: Vec<&str> = report.services[0]
        .gates
        .iter()
        .map(|g| g.gate.as_str())
        .collect();
    assert!(
        gates.contains(&"check:contract") && gates.contains(&"alarms"),
        "{gates:?}"
    );
}

#[tokio::test]
async fn a_failing_check_keeps_traffic_on_blue_and_reports_its_output() {
    let stage = stage("    strategy: all-at-once\n    bake: 10ms").await;
    with_checks(
        &stage,
        "if [ \"$CUTOVER_SERVICE\" = b ]; then echo 'FAILED test_orders_v2_contract: expected 200, got 409'; exit 3; fi\n",
        "      checks: [{name: contract, run: sh ./check.sh, timeout: 10s}]\n",
    );
    put_all_alarms(&stage).await;
    let report = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
    let failure = report.failure.expect("failure");
    assert!(
        failure.contains("check `contract` exited with status 3"),
        "{failure}"
    );
    assert!(failure.contains("expected 200, got 409"), "{failure}");
    insta::assert_snapshot!("failing_check", failure);
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
    assert!(events(&stage.journal).iter().any(|e| matches!(e,
        Event::CheckFinished { service, result, exit_code: Some(3), output, .. }
            if service == "b" && result == "failed" && output.contains("409"))));
}

#[tokio::test]
async fn a_check_that_times_out_is_killed_with_its_children() {
    let stage = stage("    strategy: all-at-once\n    bake: 10ms").await;
    let marker = stage.dir.path().join("survivor");
    with_checks(
        &stage,
        &format!(
            "(sleep 2; touch {}) &\necho waiting for green\nsleep 60\n",
            marker.display()
        ),
        "      checks: [{name: slow, run: sh ./check.sh, timeout: 500ms}]\n",
    );
    put_all_alarms(&stage).await;
    let started = std::time::Instant::now();
    let report = stage
        .runner(NoHealthGate, settings())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
    let failure = report.failure.expect("failure");
    assert!(
        failure.contains("check `slow` timed out after 500ms"),
        "{failure}"
    );
    assert!(failure.contains("waiting for green"), "{failure}");
    assert_eq!(stage.green_percents().await, [0, 0, 0]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        !marker.exists(),
        "a child of the check outlived its timeout"
    );
}

#[tokio::test]
async fn a_pause_after_wave_one_then_resume_ends_on_green() {
    let stage = stage("    strategy: all-at-once\n    bake: 10ms").await;
    stage.plan_again(&matrix_with(
        &stage,
        "    strategy: all-at-once\n    bake: 10ms",
        &|_| String::new(),
    ));
    put_all_alarms(&stage).await;
    let locked = Settings {
        lock_table: Some(stage.shop.lock_table.clone()),
        pause_after: [1].into(),
        ..settings()
    };
    let report = stage
        .runner(NoHealthGate, locked.clone())
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Paused, "{report:?}");
    let paused = report.paused.expect("paused");
    assert_eq!((paused.after_wave, paused.next_wave), (1, 2));
    assert_eq!(stage.green_percents().await, [100, 0, 0]);
    let recorded = events(&stage.journal);
    assert!(recorded.iter().any(|e| matches!(
        e,
        Event::Paused {
            wave: 1,
            next_wave: 2,
            ..
        }
    )));
    assert!(matches!(recorded.last(), Some(Event::RunFinished { outcome }) if outcome == "paused"));
    // The lock is free: another holder can take it.
    let cloud = stage.moto.cloud().await;
    for key in ["a", "b", "c"] {
        assert_eq!(
            cutover_executor::Cloud::read_lease(&cloud, &stage.shop.lock_table, key)
                .await
                .expect("read"),
            None,
            "the lease of `{key}` was released"
        );
    }

    let resume = Settings {
        pause_after: Default::default(),
        ..locked
    };
    let report = stage
        .runner(NoHealthGate, resume)
        .await
        .resume(&stage.journal)
        .await
        .expect("resumes");
    assert_eq!(report.outcome, Outcome::Succeeded, "{report:?}");
    assert_eq!(stage.green_percents().await, [100, 100, 100]);
    let waves: Vec<usize> = events(&stage.journal)
        .into_iter()
        .filter_map(|e| match e {
            Event::WaveStarted { wave, .. } => Some(wave),
            _ => None,
        })
        .collect();
    assert_eq!(
        waves,
        [1, 2, 3],
        "resume went on with wave 2, not wave 1 again"
    );
}

/// A webhook stand-in on 127.0.0.1 that keeps every body it receives.
async fn webhook_server() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    use axum::Json;
    use axum::routing::post;
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/services/T000/B000/{token}",
        post(move |Json(body): Json<serde_json::Value>| {
            let sink = Arc::clone(&sink);
            async move {
                sink.lock().expect("lock").push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        format!("http://{address}/services/T000/B000/xoxb-secret-token"),
        received,
    )
}

#[tokio::test]
async fn notifications_arrive_in_order_and_no_url_is_journaled() {
    let stage = stage("    strategy: all-at-once\n    bake: 10ms").await;
    let (url, received) = webhook_server().await;
    // A second webhook that nobody answers: logged, never fatal.
    let dead = "http://127.0.0.1:9/services/T000/B000/xoxb-dead-token";
    let settings = Settings {
        notify: vec![
            Webhook::parse(&url).expect("url"),
            Webhook::parse(dead).expect("url"),
        ],
        ..settings()
    };
    let report = stage
        .runner(NoHealthGate, settings)
        .await
        .execute(&stage.plan, &stage.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{report:?}");
    assert_eq!(stage.green_percents().await, [100, 100, 100]);
    let received = received.lock().expect("lock").clone();
    let kinds: Vec<String> = received
        .iter()
        .map(|n| format!("{} {}", n["event"].as_str().unwrap_or("?"), n["wave"]))
        .collect();
    assert_eq!(
        kinds,
        [
            "run_started null",
            "wave_started 1",
            "wave_baked 1",
            "wave_started 2",
            "wave_baked 2",
            "wave_started 3",
            "wave_baked 3",
            "run_finished null"
        ]
    );
    for notification in &received {
        assert_eq!(notification["run"], received[0]["run"]);
        assert_eq!(notification["plan_sha256"].as_str().map(str::len), Some(64));
        assert!(
            notification["text"]
                .as_str()
                .is_some_and(|t| !t.contains('\n'))
        );
    }
    assert_eq!(
        received[1]["services"],
        serde_json::json!([{"service": "a", "from": "1.0.0", "to": "2.0.0"}])
    );
    assert_eq!(received[7]["outcome"], "succeeded");
    let mut last = received[7].clone();
    for volatile in ["run", "plan_sha256"] {
        last[volatile] = serde_json::json!("[redacted]");
    }
    insta::assert_json_snapshot!("run_finished_notification", last);
    let journal = std::fs::read_to_string(&stage.journal).expect("journal");
    assert!(
        !journal.contains("xoxb") && !journal.contains("/services/T000"),
        "{journal}"
    );
    let failed: Vec<Event> = events(&stage.journal)
        .into_iter()
        .filter(|e| matches!(e, Event::NotificationFailed { .. }))
        .collect();
    assert_eq!(
        failed.len(),
        8,
        "each notification to the dead webhook, once"
    );
    assert!(failed.iter().all(|e| matches!(e,
        Event::NotificationFailed { host, error, .. } if host == "127.0.0.1" && error.contains("3 attempts"))));
}
