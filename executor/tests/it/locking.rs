//! The lock held from the first look to the last record, bounded waits, and
//! journals that name their plan; against the in-memory fake, whose faults
//! moto cannot inject.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover_executor::{
    Cloud, Event, FakeFault, Forward, Lease, NoHealthGate, Observer, Outcome, Record, RunError,
    Runner, Settings, TargetHealth,
};
use tokio::sync::watch;

use super::runs::{
    FAST, blue, journal_events, matrix, on_blue, on_green, put_ecs_services, route, runner,
    settings, setup,
};

const TABLE: &str = "locks";

/// A short lease, renewed every 100 ms.
fn locked() -> Settings {
    Settings {
        lock_table: Some(TABLE.to_owned()),
        lease_ttl: Duration::from_millis(1200),
        ..settings()
    }
}

/// Calls `then` once, on the first record that `when` matches.
struct OnRecord<W, T> {
    when: W,
    then: Mutex<Option<T>>,
}

impl<W, T> Observer for OnRecord<W, T>
where
    W: Fn(&Event) -> bool + Send + Sync + 'static,
    T: FnOnce() + Send + 'static,
{
    fn record(&self, record: &Record) {
        if (self.when)(&record.event)
            && let Some(then) = self.then.lock().expect("lock").take()
        {
            then();
        }
    }
}

fn on_record<W, T>(when: W, then: T) -> Arc<OnRecord<W, T>>
where
    W: Fn(&Event) -> bool + Send + Sync + 'static,
    T: FnOnce() + Send + 'static,
{
    Arc::new(OnRecord {
        when,
        then: Mutex::new(Some(then)),
    })
}

fn runner_with(
    cloud: &cutover_executor::FakeCloud,
    settings: Settings,
    observer: Arc<dyn Observer>,
) -> Runner<cutover_executor::FakeCloud, NoHealthGate> {
    let (_cancel, cancelled) = watch::channel(false);
    Runner::new(cloud.clone(), NoHealthGate, settings, observer, cancelled)
}

fn put_items(cloud: &cutover_executor::FakeCloud) -> usize {
    cloud
        .calls()
        .iter()
        .filter(|c| c.starts_with("PutItem"))
        .count()
}

#[tokio::test]
async fn a_failed_renewal_is_retried_and_releases_nothing() {
    let setup = setup(&matrix(
        "    strategy: all-at-once\n    bake: 600ms",
        &|_| String::new(),
    ));
    let cloud = setup.cloud.clone();
    // Once the run has its lock, the next two renewals fail.
    let observer = on_record(
        |e| matches!(e, Event::LockAcquired { .. }),
        move || {
            cloud.inject(FakeFault::Fail {
                operation: "PutItem",
                times: 2,
            })
        },
    );
    let report = runner_with(&setup.cloud, locked(), observer)
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    let calls = setup.cloud.calls();
    let deletes_before_end = calls
        .iter()
        .rev()
        .skip_while(|c| c.starts_with("DeleteItem"))
        .filter(|c| c.starts_with("DeleteItem"))
        .count();
    assert_eq!(
        deletes_before_end, 0,
        "nothing released mid-run: {calls:#?}"
    );
    assert!(
        put_items(&setup.cloud) > 3 + 2,
        "renewed after the failures"
    );
    assert!(
        setup.cloud.lease(TABLE, "a").is_none(),
        "released at the end"
    );
}

#[tokio::test]
async fn a_lost_lease_stops_the_run_and_rolls_back() {
    let setup = setup(&matrix("    strategy: all-at-once\n    bake: 2s", &|_| {
        String::new()
    }));
    let cloud = setup.cloud.clone();
    // While `a` bakes, someone takes `b`'s lease (it had expired for them).
    let observer = on_record(
        |e| matches!(e, Event::RouteSet { service, .. } if service == "a"),
        move || {
            let thief = Lease {
                key: "b".to_owned(),
                holder: "mallory@ci pid 3 run x".to_owned(),
                plan_digest: "other".to_owned(),
                expires_at: u64::MAX / 2,
            };
            let cloud = cloud.clone();
            tokio::spawn(async move { cloud.acquire_lease(TABLE, &thief, u64::MAX).await });
        },
    );
    let report = runner_with(&setup.cloud, locked(), observer)
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
    let failure = report.failure.expect("failure");
    assert!(
        failure.contains("lock was lost") && failure.contains("mallory"),
        "{failure}"
    );
    assert!(["a", "b", "c"].iter().all(|s| on_blue(&setup.cloud, s)));
    assert_eq!(
        setup.cloud.lease(TABLE, "b").map(|l| l.holder),
        Some("mallory@ci pid 3 run x".to_owned()),
        "the new holder keeps its lease"
    );
}

#[tokio::test]
async fn the_lock_is_taken_before_the_stale_plan_checks() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    // The plan is stale (blue moved) and the lock is held: the lock speaks first.
    setup
        .cloud
        .put_route(&route("b"), Forward::to(&super::runs::green("b")));
    let holder = Lease {
        key: "c".to_owned(),
        holder: "alice@ci pid 7 run r1".to_owned(),
        plan_digest: "abc".to_owned(),
        expires_at: u64::MAX / 2,
    };
    setup
        .cloud
        .acquire_lease(TABLE, &holder, 0)
        .await
        .expect("held");
    let error = runner(setup.cloud.clone(), NoHealthGate, locked())
        .execute(&setup.plan, &setup.journal)
        .await
        .expect_err("locked");
    assert!(error.to_string().contains("alice@ci"), "{error}");
    let calls = setup.cloud.calls();
    assert!(
        calls.iter().all(|c| !c.starts_with("Describe")),
        "no live state read before the lock: {calls:#?}"
    );
    setup
        .cloud
        .release_lease(TABLE, "c", &holder.holder)
        .await
        .expect("release");
    let error = runner(setup.cloud.clone(), NoHealthGate, locked())
        .execute(&setup.plan, &setup.journal)
        .await
        .expect_err("stale");
    assert!(matches!(error, RunError::Stale(_)), "{error}");
    let calls = setup.cloud.calls();
    let first_put = calls.iter().position(|c| c.starts_with("PutItem"));
    let first_read = calls.iter().position(|c| c.starts_with("Describe"));
    assert!(first_put < first_read, "{calls:#?}");
    assert!(
        ["a", "b", "c"]
            .iter()
            .all(|s| setup.cloud.lease(TABLE, s).is_none()),
        "a refused run releases its lock"
    );
}

#[tokio::test]
async fn the_lease_is_renewed_through_rollback_until_the_last_record() {
    let setup = setup(&matrix(FAST, &super::runs::ecs));
    put_ecs_services(&setup.cloud);
    // `c`'s green fails its gate; on the way back, `b`'s blue takes a while
    // to be healthy again, longer than the lease lives.
    setup.cloud.put_target_health(
        &super::runs::green("c"),
        TargetHealth {
            healthy: 0,
            total: 2,
        },
    );
    let cloud = setup.cloud.clone();
    let renewals_at_rollback = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&renewals_at_rollback);
    let observer = on_record(
        |e| matches!(e, Event::RollbackStarted { .. }),
        move || {
            *seen.lock().expect("lock") = Some(put_items(&cloud));
            cloud.put_target_health(
                &blue("b"),
                TargetHealth {
                    healthy: 0,
                    total: 2,
                },
            );
            let cloud = cloud.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                cloud.put_target_health(
                    &blue("b"),
                    TargetHealth {
                        healthy: 2,
                        total: 2,
                    },
                );
            });
        },
    );
    let settings = Settings {
        gate_timeout: Duration::from_secs(5),
        ..locked()
    };
    let report = runner_with(&setup.cloud, settings, observer)
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
    assert!(["a", "b", "c"].iter().all(|s| on_blue(&setup.cloud, s)));
    let at_rollback = renewals_at_rollback
        .lock()
        .expect("lock")
        .expect("rollback started");
    assert!(
        put_items(&setup.cloud) > at_rollback,
        "renewed during the rollback"
    );
    let events = journal_events(&setup.journal);
    assert!(matches!(events.last(), Some(Event::RunFinished { .. })));
}

#[tokio::test]
async fn the_gate_timeout_is_honoured_whatever_the_poll_interval() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    setup.cloud.put_target_health(
        &super::runs::green("a"),
        TargetHealth {
            healthy: 0,
            total: 1,
        },
    );
    let slow_polls = Settings {
        gate_timeout: Duration::from_secs(1),
        poll_interval: Duration::from_secs(3600),
        ..settings()
    };
    let started = std::time::Instant::now();
    let report = runner(setup.cloud.clone(), NoHealthGate, slow_polls)
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    // Not a speed target: without the bound the run would wait an hour.
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert!(
        report
            .failure
            .expect("failure")
            .contains("did not pass within 1s")
    );
}

#[tokio::test]
async fn a_modify_applied_whose_answer_was_lost_is_rolled_back() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    setup.cloud.inject(FakeFault::AnswerLost {
        operation: "ModifyListener",
        times: 1,
    });
    let report = runner(setup.cloud.clone(), NoHealthGate, settings())
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack, "{report:?}");
    assert_eq!(
        report.rolled_back,
        ["a"],
        "the change AWS applied is undone"
    );
    assert!(["a", "b", "c"].iter().all(|s| on_blue(&setup.cloud, s)));
    let events = journal_events(&setup.journal);
    let intent = events
        .iter()
        .position(|e| matches!(e, Event::Intent { service, .. } if service == "a"));
    let failed = events
        .iter()
        .position(|e| matches!(e, Event::Failed { .. }));
    assert!(intent.is_some() && intent < failed, "{events:#?}");
}

#[tokio::test]
async fn resume_and_rollback_refuse_a_plan_changed_since_the_run() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    let report = runner(setup.cloud.clone(), NoHealthGate, settings())
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded);
    let mut plan = std::fs::read_to_string(&setup.plan).expect("plan");
    plan.push('\n');
    std::fs::write(&setup.plan, plan).expect("edit");
    for error in [
        runner(setup.cloud.clone(), NoHealthGate, settings())
            .resume(&setup.journal)
            .await
            .expect_err("resume refused"),
        runner(setup.cloud.clone(), NoHealthGate, settings())
            .rollback(&setup.journal)
            .await
            .expect_err("rollback refused"),
    ] {
        assert!(matches!(error, RunError::Stale(_)), "{error}");
        assert!(
            error.to_string().contains("changed since the run"),
            "{error}"
        );
    }
    assert!(["a", "b", "c"].iter().all(|s| on_green(&setup.cloud, s)));
}

#[tokio::test]
async fn a_journal_of_another_plan_is_refused() {
    let first = setup(&matrix(FAST, &|_| String::new()));
    let report = runner(first.cloud.clone(), NoHealthGate, settings())
        .execute(&first.plan, &first.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded);
    let other = setup(&matrix(
        "    strategy: all-at-once\n    bake: 41ms",
        &|_| String::new(),
    ));
    let error = runner(other.cloud.clone(), NoHealthGate, settings())
        .execute(&other.plan, &first.journal)
        .await
        .expect_err("refused");
    assert!(matches!(error, RunError::BadFile { .. }), "{error}");
    assert!(error.to_string().contains("another plan"), "{error}");
    assert!(["a", "b", "c"].iter().all(|s| on_blue(&other.cloud, s)));
}

#[tokio::test]
async fn a_plan_of_another_format_version_is_refused_as_such() {
    let setup = setup(&matrix(FAST, &|_| String::new()));
    let plan = std::fs::read_to_string(&setup.plan)
        .expect("plan")
        .replace("\"format_version\": 1", "\"format_version\": 2");
    std::fs::write(&setup.plan, plan).expect("write");
    let error = runner(setup.cloud.clone(), NoHealthGate, settings())
        .execute(&setup.plan, &setup.journal)
        .await
        .expect_err("refused");
    assert!(matches!(error, RunError::BadFile { .. }), "{error}");
    assert!(error.to_string().contains("format version 2"), "{error}");
    assert!(setup.cloud.calls().is_empty());
}

#[tokio::test]
async fn resume_finishes_retiring_blue_after_a_run_stopped_midway() {
    let setup = setup(&matrix(FAST, &super::runs::ecs));
    put_ecs_services(&setup.cloud);
    let cloud = setup.cloud.clone();
    // The second blue's scale-down fails, as if the run died there.
    let observer = on_record(
        |e| matches!(e, Event::BlueRetired { service, .. } if service == "b"),
        move || {
            cloud.inject(FakeFault::Fail {
                operation: "UpdateService",
                times: 1,
            })
        },
    );
    let retire = Settings {
        retire_blue: true,
        aws_attempts: 1,
        ..settings()
    };
    let report = runner_with(&setup.cloud, retire.clone(), observer)
        .execute(&setup.plan, &setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Failed, "{report:?}");
    assert!(
        report
            .failure
            .expect("failure")
            .contains("retiring blue failed")
    );
    let blue_desired = |name: &str| {
        setup
            .cloud
            .service("shop", &format!("{name}-a"))
            .expect("blue")
            .desired
    };
    assert_eq!(
        ["a", "b", "c"].map(blue_desired),
        [0, 2, 2],
        "retiring stopped midway"
    );
    let report = runner(setup.cloud.clone(), NoHealthGate, retire)
        .resume(&setup.journal)
        .await
        .expect("resume");
    assert_eq!(report.outcome, Outcome::Succeeded, "{report:?}");
    assert_eq!(["a", "b", "c"].map(blue_desired), [0, 0, 0]);
    assert!(["a", "b", "c"].iter().all(|s| on_green(&setup.cloud, s)));
}
