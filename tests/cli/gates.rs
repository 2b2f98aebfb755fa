//! `execute`/`resume` with the gates that watch what breaks: the JSON run
//! report, the pause summary, notifications that never show their URL, and
//! the usage errors of the new flags.

use super::*;

#[test]
fn confirm_without_a_terminal_is_a_usage_error() {
    let run = cutover(&["execute", "no-such-plan.json", "--confirm"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn a_notify_value_that_is_not_a_url_is_a_usage_error_that_does_not_repeat_it() {
    let run = cutover(&[
        "execute",
        "no-such-plan.json",
        "--notify",
        "hooks.example.com/services/T000/B000/xoxb-secret-token",
    ]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(!run.stderr.contains("secret"), "{}", run.stderr);
    insta::assert_snapshot!(run.transcript());
}

#[test]
fn a_pause_after_the_last_wave_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let matrix = dir.path().join("matrix.yaml");
    std::fs::copy(root().join("matrices/minimal.yaml"), &matrix).expect("copy");
    let plan = dir.path().join("plan.json");
    plan_json(&matrix, &plan);
    let run = cutover(&[
        "execute",
        plan.to_str().expect("utf-8"),
        "--pause-after",
        "2",
    ]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        run.stderr,
        "error: --pause-after 2: the plan has 2 waves; pause after one of waves 1 to 1\n"
    );
    let zero = cutover(&[
        "execute",
        plan.to_str().expect("utf-8"),
        "--pause-after",
        "0",
    ]);
    assert_eq!(zero.code, 2, "{}", zero.transcript());
}

/// Replaces what varies between runs: the temporary folder, ARNs' ids,
/// durations, run ids.
fn redact(text: &str, dir: &Path) -> String {
    let text = text.replace(&dir.display().to_string(), "[DIR]");
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = if line.contains("\"duration_ms\"") {
            "      [duration_ms]".to_owned()
        } else {
            line.to_owned()
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn a_paused_run_reports_in_json_and_resume_ends_on_green_without_showing_the_webhook() {
    use cutover_executor::sandbox::{MotoServer, Shop};
    use std::sync::{Arc, Mutex};
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let (moto, shop, hook) = runtime.block_on(async {
        let moto = MotoServer::start()
            .await
            .unwrap_or_else(|e| panic!("moto server is needed for this test: {e}"));
        let shop = Shop::build(&moto, &["service-a", "service-b"])
            .await
            .expect("shop");
        for name in ["service-a-5xx", "service-b-5xx"] {
            moto.put_alarm(name).await.expect("alarm");
        }
        let sink = Arc::clone(&received);
        let app = axum::Router::new().route(
            "/services/T000/B000/{token}",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
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
            moto,
            shop,
            format!("http://{address}/services/T000/B000/xoxb-secret-token"),
        )
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let mut matrix =
        std::fs::read_to_string(root().join("matrices/minimal.yaml")).expect("minimal");
    matrix.push_str(
        "defaults:\n  deploy:\n    strategy: all-at-once\n    bake: 10ms\n    checks: [{name: contract, run: ./contract.sh, timeout: 10s}]\n",
    );
    for name in ["service-a", "service-b"] {
        let deploy = shop.service(name).expect("service").deploy_yaml();
        matrix = matrix.replace(
            &format!("  {name}:\n    current: 1.0.0\n"),
            &format!("  {name}:\n{deploy}      alarms: [{name}-5xx]\n    current: 1.0.0\n"),
        );
    }
    std::fs::write(dir.path().join("matrix.yaml"), &matrix).expect("matrix");
    let script = dir.path().join("contract.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"contract of $CUTOVER_SERVICE $CUTOVER_TO: 12 passed\"\n",
    )
    .expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let plan = dir.path().join("plan.json");
    plan_json(&dir.path().join("matrix.yaml"), &plan);
    let endpoint = moto.endpoint_url();
    let common = [
        "--endpoint-url",
        endpoint.as_str(),
        "--region",
        "us-east-1",
        "--poll-interval",
        "100ms",
        "--lock-table",
        shop.lock_table.as_str(),
        "--notify",
        hook.as_str(),
        "-v",
    ];
    let mut args = vec![
        "execute",
        plan.to_str().expect("utf-8"),
        "--pause-after",
        "1",
        "--format",
        "json",
    ];
    args.extend(common);
    let paused = cutover_aws(&args);
    assert_eq!(paused.code, 0, "{}", paused.transcript());
    let report = paused.json();
    assert_eq!(report["outcome"], "paused");
    assert_eq!(report["services"][0]["final"], "green");
    assert_eq!(report["services"][1]["final"], "blue");
    insta::assert_snapshot!("paused_json_report", redact(&paused.stdout, dir.path()));

    let journal = dir.path().join("plan.journal.jsonl");
    let mut args = vec!["resume", journal.to_str().expect("utf-8")];
    args.extend(common);
    let resumed = cutover_aws(&args);
    assert_eq!(resumed.code, 0, "{}", resumed.transcript());
    assert!(
        resumed.stdout.contains("outcome: succeeded"),
        "{}",
        resumed.stdout
    );

    // The live routes on moto: both services on green now.
    let greens = runtime.block_on(async {
        use cutover_executor::{Cloud, Route};
        let cloud = moto.cloud().await;
        let mut greens = Vec::new();
        for service in &shop.services {
            let live = cloud
                .forward(&Route::Rule(service.rule.clone()))
                .await
                .expect("rule");
            greens.push(live.percent_to(&service.target_groups[1]));
        }
        greens
    });
    assert_eq!(greens, [100, 100]);

    let journal_text = std::fs::read_to_string(&journal).expect("journal");
    for text in [
        paused.stdout.as_str(),
        paused.stderr.as_str(),
        resumed.stdout.as_str(),
        resumed.stderr.as_str(),
        journal_text.as_str(),
    ] {
        assert!(!text.contains("secret-token"), "{text}");
        assert!(!text.contains("/services/T000"), "{text}");
    }
    let events: Vec<String> = received
        .lock()
        .expect("lock")
        .iter()
        .map(|n| format!("{} {} {}", n["command"], n["event"], n["wave"]))
        .collect();
    assert_eq!(
        events,
        [
            "\"execute\" \"run_started\" null",
            "\"execute\" \"wave_started\" 1",
            "\"execute\" \"wave_baked\" 1",
            "\"execute\" \"paused\" 1",
            "\"execute\" \"run_finished\" null",
            "\"resume\" \"run_started\" null",
            "\"resume\" \"wave_started\" 2",
            "\"resume\" \"wave_baked\" 2",
            "\"resume\" \"run_finished\" null",
        ]
    );
}
