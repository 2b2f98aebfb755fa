//! Services on EC2 Auto Scaling groups, against [`FakeCloud`]: green
//! prepared with a new launch template version and blue's size, the two
//! shapes (a route between two target groups, or groups that attach in turn
//! to one), retiring blue and bringing it back, the `current` AMI check, a
//! dry run, and preparing every green ahead.

use std::time::Duration;

use cutover_executor::{
    DryRun, Event, Forward, GroupCapacity, NoHealthGate, Outcome, Prepare, Route, RunError,
    Settings,
};

use super::runs::{ELB, journal_events, runner, settings};

const OLD_AMI: &str = "ami-0a1b2c3d4e5f60718";
const NEW_AMI: &str = "ami-0f1e2d3c4b5a69788";
const BLUE_SIZE: GroupCapacity = GroupCapacity {
    min: 2,
    max: 4,
    desired: 3,
};

/// How a service's groups serve.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Two target groups behind a listener, one group each.
    Route,
    /// One target group that the groups attach to in turn.
    Attach,
}

fn listener(name: &str) -> Route {
    Route::Listener(format!("{ELB}:listener/app/shop/{name}/1"))
}
fn target_group(name: &str, side: &str) -> String {
    format!("{ELB}:targetgroup/{name}-{side}/1")
}
fn shared_target_group(name: &str) -> String {
    format!("{ELB}:targetgroup/{name}/1")
}

/// Three services in a chain (`a`, then `b`, then `c`), each on two Auto
/// Scaling groups `NAME-a` (blue) and `NAME-b` (green), releases 1.0.0 on
/// the old AMI and 2.0.0 on the new one.
fn matrix(shapes: [Shape; 3], defaults: &str) -> String {
    let service = |name: &str, shape: Shape, provides: &str, consumes: &str| {
        let deploy = match shape {
            Shape::Route => format!(
                "      listener: {}\n      target_groups: [{}, {}]\n",
                listener(name).arn(),
                target_group(name, "a"),
                target_group(name, "b")
            ),
            Shape::Attach => format!("      target_group: {}\n", shared_target_group(name)),
        };
        format!(
            "  {name}:\n    current: 1.0.0\n    target: 2.0.0\n    releases:\n      1.0.0: {{ami: {OLD_AMI}, provides: {{{name}-api: 1.0.0}}, consumes: {{{}}}}}\n      2.0.0: {{ami: {NEW_AMI}, provides: {{{name}-api: [{provides}]}}, consumes: {{{}}}}}\n    deploy:\n{deploy}      asg: {{groups: [{name}-a, {name}-b]}}\n",
            consumes.replace("VERSION", "^1"),
            consumes.replace("VERSION", "^2"),
        )
    };
    format!(
        "version: 1\ndefaults:\n  deploy:\n{defaults}\nservices:\n{}{}{}",
        service("a", shapes[0], "1.0.0, 2.0.0", ""),
        service("b", shapes[1], "1.0.0, 2.0.0", "a-api: \"VERSION\""),
        service("c", shapes[2], "2.0.0", "b-api: \"VERSION\""),
    )
}

const FAST: &str = "    strategy: all-at-once\n    bake: 30ms";

struct Shop {
    setup: super::runs::Setup,
    shapes: [Shape; 3],
}

/// The matrix, its plan, and a fake cloud with blue's groups serving.
fn shop(shapes: [Shape; 3]) -> Shop {
    let setup = super::runs::setup(&matrix(shapes, FAST));
    let cloud = &setup.cloud;
    for (name, shape) in ["a", "b", "c"].into_iter().zip(shapes) {
        let (blue_tgs, green_tgs) = match shape {
            Shape::Route => {
                cloud.put_route(&listener(name), Forward::to(&target_group(name, "a")));
                (vec![target_group(name, "a")], vec![target_group(name, "b")])
            }
            Shape::Attach => (vec![shared_target_group(name)], Vec::new()),
        };
        cloud.put_group(
            &format!("{name}-a"),
            &format!("lt-{name}"),
            OLD_AMI,
            BLUE_SIZE,
            &blue_tgs.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        cloud.put_group(
            &format!("{name}-b"),
            &format!("lt-{name}"),
            OLD_AMI,
            GroupCapacity::default(),
            &green_tgs.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    Shop { setup, shapes }
}

impl Shop {
    fn group(&self, name: &str) -> cutover_executor::AutoScalingGroup {
        self.setup.cloud.group(name).expect("group")
    }

    /// Whether production traffic of `name` reaches only green's group.
    fn on_green(&self, name: &str) -> bool {
        self.only_on(name, "b", "a")
    }

    /// Whether production traffic of `name` reaches only blue's group.
    fn on_blue(&self, name: &str) -> bool {
        self.only_on(name, "a", "b")
    }

    /// Whether all of `name`'s traffic reaches side `to` and none `other`.
    fn only_on(&self, name: &str, to: &str, other: &str) -> bool {
        let index = ["a", "b", "c"]
            .iter()
            .position(|n| *n == name)
            .expect("name");
        match self.shapes[index] {
            Shape::Route => self
                .setup
                .cloud
                .route(&listener(name))
                .is_some_and(|f| f.percent_to(&target_group(name, to)) == 100),
            Shape::Attach => {
                let tg = shared_target_group(name);
                self.group(&format!("{name}-{to}"))
                    .target_groups
                    .contains(&tg)
                    && !self
                        .group(&format!("{name}-{other}"))
                        .target_groups
                        .contains(&tg)
            }
        }
    }
}

fn instance_images(group: &cutover_executor::AutoScalingGroup) -> Vec<&str> {
    group
        .instances
        .iter()
        .map(|i| i.image.as_deref().unwrap_or("?"))
        .collect()
}

#[tokio::test]
async fn a_release_launches_the_new_ami_on_green_at_blues_size_before_the_route_moves() {
    let shop = shop([Shape::Route; 3]);
    let report = runner(shop.setup.cloud.clone(), NoHealthGate, settings())
        .execute(&shop.setup.plan, &shop.setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    for name in ["a", "b", "c"] {
        assert!(shop.on_green(name), "{name} on green");
        let green = shop.group(&format!("{name}-b"));
        assert_eq!(green.capacity, BLUE_SIZE);
        assert_eq!(green.template_image.as_deref(), Some(NEW_AMI));
        assert_eq!(instance_images(&green), [NEW_AMI; 3]);
        let blue = shop.group(&format!("{name}-a"));
        assert_eq!(blue.capacity, BLUE_SIZE, "blue is kept for rollback");
        assert_eq!(instance_images(&blue), [OLD_AMI; 3]);
    }
    // Green is ready (image, size) before its route changes.
    let events = journal_events(&shop.setup.journal);
    let position = |wanted: &dyn Fn(&Event) -> bool| events.iter().position(wanted).expect("event");
    let image_set =
        position(&|e| matches!(e, Event::GroupImageSet { service, .. } if service == "a"));
    let scaled = position(&|e| matches!(e, Event::GroupScaled { service, .. } if service == "a"));
    let ready = position(
        &|e| matches!(e, Event::GatePassed { service, gate } if service == "a" && gate == "asg-ready"),
    );
    let switched = position(&|e| matches!(e, Event::RouteSet { service, .. } if service == "a"));
    assert!(image_set < scaled && scaled < ready && ready < switched);
}

#[tokio::test]
async fn groups_that_share_a_target_group_take_turns_attaching() {
    let shop = shop([Shape::Attach; 3]);
    let report = runner(shop.setup.cloud.clone(), NoHealthGate, settings())
        .execute(&shop.setup.plan, &shop.setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    assert_eq!(report.switched, ["a", "b", "c"]);
    for name in ["a", "b", "c"] {
        assert!(shop.on_green(name), "only {name}-b attached");
        assert_eq!(
            instance_images(&shop.group(&format!("{name}-b"))),
            [NEW_AMI; 3]
        );
    }
    // Both serve (attach, healthy) before blue leaves (detach, drained).
    let steps: Vec<String> = journal_events(&shop.setup.journal)
        .into_iter()
        .filter_map(|e| match e {
            Event::GroupAttached { service, group } if service == "a" => {
                Some(format!("attach {group}"))
            }
            Event::GroupDetached { service, group } if service == "a" => {
                Some(format!("detach {group}"))
            }
            Event::GatePassed { service, gate } if service == "a" => Some(gate),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        [
            "asg-ready",
            "attach a-b",
            "attached-healthy",
            "detach a-a",
            "drained"
        ]
    );
}

#[tokio::test]
async fn retired_blue_groups_get_their_size_back_before_traffic_returns() {
    let shop = shop([Shape::Route, Shape::Attach, Shape::Route]);
    let report = runner(
        shop.setup.cloud.clone(),
        NoHealthGate,
        Settings {
            retire_blue: true,
            ..settings()
        },
    )
    .execute(&shop.setup.plan, &shop.setup.journal)
    .await
    .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    for name in ["a", "b", "c"] {
        let blue = shop.group(&format!("{name}-a"));
        assert_eq!((blue.capacity.min, blue.capacity.desired), (0, 0));
        assert_eq!(blue.capacity.max, BLUE_SIZE.max, "max is kept");
        assert!(blue.instances.is_empty());
    }

    let report = runner(shop.setup.cloud.clone(), NoHealthGate, settings())
        .rollback(&shop.setup.journal)
        .await
        .expect("rolls back");
    assert_eq!(report.outcome, Outcome::RolledBack, "{:?}", report.failure);
    for name in ["a", "b", "c"] {
        assert!(shop.on_blue(name), "{name} back on blue");
        let blue = shop.group(&format!("{name}-a"));
        assert_eq!(blue.capacity, BLUE_SIZE);
        assert_eq!(instance_images(&blue), [OLD_AMI; 3]);
    }
    // For each service, blue's size first, then its traffic.
    let events = journal_events(&shop.setup.journal);
    let rollback = events
        .iter()
        .rposition(|e| matches!(e, Event::RunStarted { command, .. } if command == "rollback"))
        .expect("rollback run");
    let order: Vec<String> = events[rollback..]
        .iter()
        .filter_map(|e| match e {
            Event::GroupScaled { group, .. } => Some(format!("scale {group}")),
            Event::RouteRestored { service, .. } => Some(format!("restored {service}")),
            Event::GroupAttached { group, .. } => Some(format!("attach {group}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        [
            "scale c-a",
            "restored c",
            "scale b-a",
            "attach b-a",
            "restored b",
            "scale a-a",
            "restored a"
        ]
    );
}

#[tokio::test]
async fn a_blue_group_on_another_ami_than_current_is_refused_before_any_change() {
    let shop = shop([Shape::Route; 3]);
    shop.setup.cloud.put_group(
        "b-a",
        "lt-b",
        "ami-0badc0ffee0000000",
        BLUE_SIZE,
        &[&target_group("b", "a")],
    );
    let error = runner(shop.setup.cloud.clone(), NoHealthGate, settings())
        .execute(&shop.setup.plan, &shop.setup.journal)
        .await
        .expect_err("refused");
    let RunError::Drift(message) = &error else {
        panic!("expected drift, got {error:?}");
    };
    assert!(
        message.contains("`b-a`") && message.contains("ami-0badc0ffee0000000"),
        "{message}"
    );
    let changes: Vec<String> = shop
        .setup
        .cloud
        .calls()
        .into_iter()
        .filter(|c| !c.starts_with("Describe"))
        .collect();
    assert!(changes.is_empty(), "{changes:?}");
}

#[tokio::test]
async fn a_blue_group_on_the_latest_version_of_greens_template_is_refused() {
    let shop = shop([Shape::Route; 3]);
    shop.setup.cloud.launch_latest("c-a");
    let error = runner(shop.setup.cloud.clone(), NoHealthGate, settings())
        .execute(&shop.setup.plan, &shop.setup.journal)
        .await
        .expect_err("refused");
    let RunError::Refused(message) = &error else {
        panic!("expected a refusal, got {error:?}");
    };
    assert!(
        message.contains("`c-a` launches `$Latest` of launch template `lt-c`"),
        "{message}"
    );
    assert!(
        shop.setup
            .cloud
            .calls()
            .iter()
            .all(|c| c.starts_with("Describe")),
        "nothing changed"
    );
}

#[tokio::test]
async fn a_dry_run_lists_every_group_call_and_changes_nothing() {
    let shop = shop([Shape::Route, Shape::Attach, Shape::Route]);
    let dry = DryRun::new(shop.setup.cloud.clone());
    let report = runner(
        dry.clone(),
        NoHealthGate,
        Settings {
            dry_run: true,
            ..settings()
        },
    )
    .execute(&shop.setup.plan, &shop.setup.journal)
    .await
    .expect("dry run");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    let calls = dry.calls();
    let has = |needle: &str| calls.iter().any(|c| c.contains(needle));
    assert!(has(&format!(
        "CreateLaunchTemplateVersion (from a-b's version, ImageId {NEW_AMI})"
    )));
    assert!(has("UpdateAutoScalingGroup a-b min 2 max 4 desired 3"));
    assert!(has("AttachLoadBalancerTargetGroups b-b"));
    assert!(has("DetachLoadBalancerTargetGroups b-a"));
    assert!(has("ModifyListener"));
    for name in ["a", "b", "c"] {
        assert!(shop.on_blue(name));
        assert_eq!(
            shop.group(&format!("{name}-b")).capacity,
            GroupCapacity::default()
        );
    }
    assert!(!shop.setup.journal.exists(), "a dry run writes no journal");
}

#[tokio::test]
async fn prepared_ahead_every_green_is_ready_before_the_first_switch() {
    let shop = shop([Shape::Route, Shape::Attach, Shape::Route]);
    shop.setup.cloud.ready_after(Duration::from_millis(60));
    let report = runner(
        shop.setup.cloud.clone(),
        NoHealthGate,
        Settings {
            prepare: Prepare::Ahead,
            ..settings()
        },
    )
    .execute(&shop.setup.plan, &shop.setup.journal)
    .await
    .expect("runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
    let events = journal_events(&shop.setup.journal);
    let first_switch = events
        .iter()
        .position(|e| matches!(e, Event::RouteSet { .. }))
        .expect("a switch");
    let ready_before: Vec<&str> = events[..first_switch]
        .iter()
        .filter_map(|e| match e {
            Event::GatePassed { service, gate } if gate == "asg-ready" => Some(service.as_str()),
            _ => None,
        })
        .collect();
    let mut ready_before = ready_before;
    ready_before.sort_unstable();
    // A wave checks its greens once more; they pass at once.
    ready_before.dedup();
    assert_eq!(ready_before, ["a", "b", "c"]);
    // Nothing is prepared twice.
    let image_sets = events
        .iter()
        .filter(|e| matches!(e, Event::GroupImageSet { .. }))
        .count();
    assert_eq!(image_sets, 3);
}

/// Signals once the run has written `after` records.
struct KillAfter {
    after: usize,
    seen: std::sync::atomic::AtomicUsize,
    kill: tokio::sync::watch::Sender<bool>,
}

impl cutover_executor::Observer for KillAfter {
    fn record(&self, _record: &cutover_executor::Record) {
        let seen = self.seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if seen == self.after {
            let _ = self.kill.send(true);
        }
    }
}

/// Runs the plan, dropping the run (as a kill would: no cleanup, no
/// rollback) at its first await after record `after`; `None` kills nothing.
/// Returns how many records the run wrote.
async fn run_killed_after(shop: &Shop, settings: Settings, after: Option<usize>) -> usize {
    let (kill, mut killed) = tokio::sync::watch::channel(false);
    let observer = std::sync::Arc::new(KillAfter {
        after: after.unwrap_or(usize::MAX),
        seen: std::sync::atomic::AtomicUsize::new(0),
        kill,
    });
    let (_cancel, cancelled) = tokio::sync::watch::channel(false);
    let runner = cutover_executor::Runner::new(
        shop.setup.cloud.clone(),
        NoHealthGate,
        settings,
        observer.clone(),
        cancelled,
    );
    tokio::select! {
        report = runner.execute(&shop.setup.plan, &shop.setup.journal) => {
            let report = report.expect("runs");
            assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.failure);
        }
        _ = killed.wait_for(|k| *k) => {}
    }
    observer.seen.load(std::sync::atomic::Ordering::SeqCst)
}

#[tokio::test]
async fn a_run_killed_after_any_record_resumes_or_rolls_back_to_a_consistent_fleet() {
    let shapes = [Shape::Route, Shape::Attach, Shape::Route];
    let retiring = || Settings {
        retire_blue: true,
        ..settings()
    };
    let total = run_killed_after(&shop(shapes), retiring(), None).await;
    assert!(total > 40, "a run of three services writes {total} records");
    // Kill points that left `b`'s two groups both attached: the loop does
    // reach the middle of a switch.
    let mut both_attached = 0;
    for after in 1..total {
        for resume in [true, false] {
            let shop = shop(shapes);
            run_killed_after(&shop, retiring(), Some(after)).await;
            let tg = shared_target_group("b");
            if shop.group("b-a").target_groups.contains(&tg)
                && shop.group("b-b").target_groups.contains(&tg)
            {
                both_attached += 1;
            }
            if !shop.setup.journal.exists() {
                // Killed before the journal was opened: nothing was changed.
                assert!(["a", "b", "c"].iter().all(|n| shop.on_blue(n)));
                continue;
            }
            let recovery = runner(shop.setup.cloud.clone(), NoHealthGate, retiring());
            let at = format!(
                "killed after record {after}, then {}",
                if resume { "resume" } else { "rollback" }
            );
            if resume {
                let report = recovery.resume(&shop.setup.journal).await.expect(&at);
                assert!(
                    matches!(report.outcome, Outcome::Succeeded | Outcome::NothingToDo),
                    "{at}: {:?} {:?}",
                    report.outcome,
                    report.failure
                );
                for name in ["a", "b", "c"] {
                    assert!(shop.on_green(name), "{at}: {name} on green");
                    let green = shop.group(&format!("{name}-b"));
                    assert_eq!(green.capacity, BLUE_SIZE, "{at}: {name}-b");
                    assert_eq!(instance_images(&green), [NEW_AMI; 3], "{at}: {name}-b");
                    let blue = shop.group(&format!("{name}-a"));
                    assert_eq!(blue.capacity.desired, 0, "{at}: {name}-a retired");
                }
            } else {
                let report = recovery.rollback(&shop.setup.journal).await.expect(&at);
                assert_eq!(
                    report.outcome,
                    Outcome::RolledBack,
                    "{at}: {:?}",
                    report.failure
                );
                for name in ["a", "b", "c"] {
                    assert!(shop.on_blue(name), "{at}: {name} on blue");
                    let blue = shop.group(&format!("{name}-a"));
                    assert_eq!(blue.capacity, BLUE_SIZE, "{at}: {name}-a");
                    assert_eq!(instance_images(&blue), [OLD_AMI; 3], "{at}: {name}-a");
                }
            }
        }
    }
    assert!(both_attached > 0, "no kill point left `b` mid-switch");
}

#[tokio::test]
async fn an_attach_applied_whose_answer_was_lost_is_rolled_back_to_blue_alone() {
    let shop = shop([Shape::Attach; 3]);
    shop.setup
        .cloud
        .inject(cutover_executor::FakeFault::AnswerLost {
            operation: "AttachLoadBalancerTargetGroups",
            times: 1,
        });
    let report = runner(shop.setup.cloud.clone(), NoHealthGate, settings())
        .execute(&shop.setup.plan, &shop.setup.journal)
        .await
        .expect("runs");
    assert_eq!(report.outcome, Outcome::RolledBack, "{:?}", report.failure);
    assert!(
        report
            .failure
            .as_deref()
            .is_some_and(|f| f.contains("connection reset")),
        "{:?}",
        report.failure
    );
    // The attach took effect; the rollback detached green again after blue
    // was seen serving.
    for name in ["a", "b", "c"] {
        assert!(shop.on_blue(name), "{name} on blue alone");
    }
    let detached_green = journal_events(&shop.setup.journal).iter().any(|e| {
        matches!(e, Event::GroupDetached { service, group } if service == "a" && group == "a-b")
    });
    assert!(detached_green);
}
