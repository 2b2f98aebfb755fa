//! Alarms, checks and confirmations against the in-memory cloud, for what
//! is easier to count or to stage there: `DescribeAlarms` batches and calls
//! per poll, an alarm already firing before a switch, dry runs, a wave not
//! confirmed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cutover_executor::{
    AlarmState, Confirm, DryRun, Event, NoHealthGate, Outcome, Settings, Silent,
};
use tokio::sync::watch;

use super::runs::{FAST, journal_events, matrix, on_blue, on_green, runner, settings, setup};

fn alarms(name: &str) -> String {
    format!("      alarms: [{name}-5xx]\n")
}

#[tokio::test]
async fn alarms_are_read_in_batches_of_at_most_100_names_every_poll() {
    let names: Vec<String> = (0..150).map(|i| format!("shop-{i}")).collect();
    let defaults = format!(
        "    strategy: all-at-once\n    bake: 500ms\n    alarms: [{}]",
        names.join(", ")
    );
    let setup = setup(&matrix(&defaults, &alarms));
    for name in names
        .iter()
        .map(String::as_str)
        .chain(["a-5xx", "b-5xx", "c-5xx"])
    {
        setup.cloud.put_alarm(name, AlarmState::Ok, "fine");
    }
    let poll = Duration::from_millis(100);
    let run = runner(
        setup.cloud.clone(),
        NoHealthGate,
        Settings {
            poll_interval: poll,
            ..settings()
        },
    );
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    let describes: Vec<String> = setup
        .cloud
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("DescribeAlarms "))
        .collect();
    let sizes: Vec<usize> = describes
        .iter()
        .map(|c| c.trim_start_matches("DescribeAlarms ").split(',').count())
        .collect();
    assert!(sizes.iter().all(|n| *n <= 100), "{sizes:?}");
    // Each read of a wave's 151-152 names is two calls: 100, then the rest.
    assert!(
        sizes
            .chunks(2)
            .all(|pair| pair[0] == 100 && pair.len() == 2),
        "{sizes:?}"
    );
    // Per wave: one gate read before the switch, about bake / poll reads
    // during it, one at the end; plus one read of all names before the run.
    let reads = sizes.len() / 2;
    assert!(
        (3 * 3 + 1..=3 * 9 + 1).contains(&reads),
        "{reads} reads of the alarms"
    );
}

#[tokio::test]
async fn an_alarm_already_firing_fails_the_gate_before_the_switch() {
    let setup = setup(&matrix(FAST, &alarms));
    setup.cloud.put_alarm("a-5xx", AlarmState::Ok, "fine");
    setup
        .cloud
        .put_alarm("b-5xx", AlarmState::InsufficientData, "no data");
    // `c` consumes `b-api`: its alarm is watched while `b` switches.
    setup.cloud.put_alarm(
        "c-5xx",
        AlarmState::Alarm,
        "Threshold Crossed: 3 datapoints\n were greater than the threshold (5.0).",
    );
    // Polls far apart: the gate right before the switch sees it first.
    let run = runner(
        setup.cloud.clone(),
        NoHealthGate,
        Settings {
            poll_interval: Duration::from_secs(1),
            ..settings()
        },
    );
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
    let failure = report.failure.clone().expect("failure");
    assert_eq!(
        failure,
        "`b`: gate `alarms` failed before the switch: `c-5xx` of `c`, which consumes `b-api` from `b` (switching in wave 2), is in ALARM: Threshold Crossed: 3 datapoints were greater than the threshold (5.0)."
    );
    assert!(["a", "b", "c"].iter().all(|s| on_blue(&setup.cloud, s)));
    let b_switched = setup
        .cloud
        .calls()
        .iter()
        .any(|c| c.starts_with("ModifyListener") && c.contains("listener/app/shop/b/1 "));
    assert!(!b_switched, "b's production route was never touched");
    let b = &report.services[1];
    assert_eq!(
        b.gates.last().map(|g| (g.gate.as_str(), g.result.as_str())),
        Some(("alarms", "failed"))
    );
}

#[tokio::test]
async fn a_dry_run_lists_checks_without_running_them() {
    let setup = setup(&matrix(FAST, &|_| {
        "      checks: [{name: smoke, run: touch ran-smoke, timeout: 5s}]\n".to_owned()
    }));
    let cloud = DryRun::new(setup.cloud.clone());
    let run = runner(
        cloud.clone(),
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
    assert_eq!(report.outcome, Outcome::Succeeded, "{report:?}");
    let folder = setup.matrix.parent().expect("folder");
    assert!(!folder.join("ran-smoke").exists(), "the check did not run");
    let listed: Vec<String> = report
        .services
        .iter()
        .flat_map(|s| s.gates.iter())
        .filter(|g| g.result == "not-run")
        .map(|g| g.detail.clone().unwrap_or_default())
        .collect();
    assert_eq!(listed.len(), 3);
    assert!(
        listed[0].starts_with("sh -c 'touch ran-smoke' in ") && listed[0].ends_with("(timeout 5s)"),
        "{listed:?}"
    );
    assert!(!setup.journal.exists());
}

/// Says yes to the first `yes` questions.
struct Answers {
    yes: usize,
    asked: AtomicUsize,
}

impl Confirm for Answers {
    fn confirm(&self, _question: &str) -> bool {
        self.asked.fetch_add(1, Ordering::SeqCst) < self.yes
    }
}

#[tokio::test]
async fn a_wave_not_confirmed_stops_as_a_pause_and_resume_goes_on() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    let (_tx, rx) = watch::channel(false);
    let answers = Arc::new(Answers {
        yes: 1,
        asked: AtomicUsize::new(0),
    });
    let run = cutover_executor::Runner::new(
        setup.cloud.clone(),
        NoHealthGate,
        settings(),
        Arc::new(Silent),
        rx,
    )
    .with_confirm(answers.clone());
    let report = run
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Paused);
    assert_eq!(answers.asked.load(Ordering::SeqCst), 2);
    assert!(on_green(&setup.cloud, "a") && on_blue(&setup.cloud, "b"));
    assert!(journal_events(&setup.journal).iter().any(|e| matches!(e,
        Event::Paused { wave: 1, next_wave: 2, reason } if reason == "not confirmed")));
    let report = runner(setup.cloud.clone(), NoHealthGate, settings())
        .resume(&setup.journal)
        .await
        .expect("resumes");
    assert_eq!(report.outcome, Outcome::Succeeded);
    assert!(["a", "b", "c"].iter().all(|s| on_green(&setup.cloud, s)));
}

#[tokio::test]
async fn a_pause_after_the_last_wave_is_a_usage_error() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    let error = runner(
        setup.cloud.clone(),
        NoHealthGate,
        Settings {
            pause_after: [3].into(),
            ..settings()
        },
    )
    .execute(&setup.plan, &setup.journal)
    .await
    .expect_err("refused");
    assert_eq!(
        error.to_string(),
        "--pause-after 3: the plan has 3 waves; pause after one of waves 1 to 2"
    );
    assert!(setup.cloud.calls().is_empty(), "nothing was called");
}
