//! `--prepare per-wave` and `--prepare ahead` against the physical limit of
//! a cutover: its longest preparation plus, for each wave, its gates, steps
//! and bakes.
//!
//! Five services in a chain (five waves), each on two Auto Scaling groups;
//! every green takes [`READY_AFTER`] to be ready once its new AMI is set (the
//! in-memory cloud models instances booting), then is switched all at once
//! and baked for [`BAKE`]. The limit is `READY_AFTER + 5 × BAKE` = 1.5 s;
//! per wave pays the preparation five times (about 5.5 s). Budget: ahead
//! within 10 % of the limit (1.65 s), AWS round trips to the in-memory
//! cloud, the journal's fsyncs and the poll interval included. (Real
//! preparations take minutes; these times are short so that the benchmark
//! is, and long enough that a millisecond of timer rounding per bake does
//! not pass for overhead of the run.)
//!
//! Run with `cargo bench -p cutover-executor --bench prepare`.

use std::time::Duration;

use cutover_executor::{FakeCloud, Forward, GroupCapacity, Prepare, Route, Settings};

#[path = "support/run.rs"]
mod run;

fn main() {
    divan::main();
}

/// How long a green takes to be ready after its image changes.
const READY_AFTER: Duration = Duration::from_secs(1);
/// The bake after each switch.
const BAKE: Duration = Duration::from_millis(100);
const SERVICES: [&str; 5] = ["s1", "s2", "s3", "s4", "s5"];
const ELB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012";

/// `s1` provides what `s2` needs, and so on: five waves.
fn matrix() -> String {
    let mut text = format!(
        "version: 1\ndefaults:\n  deploy: {{strategy: all-at-once, bake: {}ms}}\nservices:\n",
        BAKE.as_millis()
    );
    for (index, name) in SERVICES.iter().enumerate() {
        let consumes = |version: &str| match index {
            0 => String::new(),
            _ => format!("consumes: {{{}-api: \"{version}\"}}", SERVICES[index - 1]),
        };
        text.push_str(&format!(
            "  {name}:\n    current: 1.0.0\n    target: 2.0.0\n    releases:\n      1.0.0: {{ami: ami-00000000000000001, provides: {{{name}-api: 1.0.0}}, {}}}\n      2.0.0: {{ami: ami-00000000000000002, provides: {{{name}-api: [1.0.0, 2.0.0]}}, {}}}\n    deploy:\n      listener: {ELB}:listener/app/shop/{name}/1\n      target_groups: [{ELB}:targetgroup/{name}-a/1, {ELB}:targetgroup/{name}-b/1]\n      asg: {{groups: [{name}-a, {name}-b]}}\n",
            consumes("^1"),
            consumes("^2"),
        ));
    }
    text
}

/// Blue's groups serving on the old AMI, green's empty; instances launched
/// from now on take [`READY_AFTER`].
fn cloud() -> FakeCloud {
    let cloud = FakeCloud::new();
    let size = GroupCapacity {
        min: 2,
        max: 4,
        desired: 2,
    };
    for name in SERVICES {
        let (blue, green) = (
            format!("{ELB}:targetgroup/{name}-a/1"),
            format!("{ELB}:targetgroup/{name}-b/1"),
        );
        cloud.put_route(
            &Route::Listener(format!("{ELB}:listener/app/shop/{name}/1")),
            Forward::to(&blue),
        );
        let template = format!("lt-{name}");
        cloud.put_group(
            &format!("{name}-a"),
            &template,
            "ami-00000000000000001",
            size,
            &[&blue],
        );
        cloud.put_group(
            &format!("{name}-b"),
            &template,
            "ami-00000000000000001",
            GroupCapacity::default(),
            &[&green],
        );
    }
    cloud.ready_after(READY_AFTER);
    cloud
}

fn cutover(bencher: divan::Bencher, prepare: Prepare) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, waves) = run::saved_plan(dir.path(), &matrix());
    assert_eq!(waves, SERVICES.len());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    bencher.bench_local(|| {
        let settings = Settings {
            prepare,
            poll_interval: Duration::from_millis(5),
            ..Settings::default()
        };
        let report = run::execute(&runtime, cloud(), settings, &plan);
        assert_eq!(
            report.switched.len(),
            SERVICES.len(),
            "{:?}",
            report.failure
        );
    });
}

/// The physical limit, for the report beside the two modes: the longest
/// preparation, then each wave's bake.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn limit() {
    let waves = u32::try_from(SERVICES.len()).unwrap_or(u32::MAX);
    std::thread::sleep(READY_AFTER + BAKE * waves);
}

/// Each green prepared in its wave.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn per_wave(bencher: divan::Bencher) {
    cutover(bencher, Prepare::PerWave);
}

/// Every green prepared at the start, concurrently.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn ahead(bencher: divan::Bencher) {
    cutover(bencher, Prepare::Ahead);
}
