//! How long a whole cutover takes against its planned critical path.
//!
//! Three waves (`a`, then `b` and `d` together, then `c`), canary steps
//! `[10, 50, 100]` with a 100 ms bake after each: the critical path is
//! 3 waves × 3 steps × 100 ms = 900 ms. Budget: the run takes at most 10 %
//! more (990 ms), AWS round trips to the in-memory cloud included.
//!
//! Run with `cargo bench -p cutover-executor --bench cutover`.

use std::time::Duration;

use cutover_executor::{FakeCloud, Forward, Route, Settings};

#[path = "support/run.rs"]
mod run;

fn main() {
    divan::main();
}

const MATRIX: &str = r#"version: 1
defaults:
  deploy: {strategy: canary, steps: [10, 50, 100], bake: 100ms}
services:
  a:
    current: 1.0.0
    target: 2.0.0
    releases:
      1.0.0: {provides: {a-api: 1.0.0}}
      2.0.0: {provides: {a-api: [1.0.0, 2.0.0]}}
    deploy: {listener: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/a/1, target_groups: [arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a-a/1, arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a-b/1]}
  b:
    current: 1.0.0
    target: 2.0.0
    releases:
      1.0.0: {provides: {b-api: 1.0.0}, consumes: {a-api: "^1"}}
      2.0.0: {provides: {b-api: [1.0.0, 2.0.0]}, consumes: {a-api: "^2"}}
    deploy: {listener: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/b/1, target_groups: [arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b-a/1, arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b-b/1]}
  d:
    current: 1.0.0
    target: 2.0.0
    releases:
      1.0.0: {consumes: {a-api: "^1"}}
      2.0.0: {consumes: {a-api: "^2"}}
    deploy: {listener: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/d/1, target_groups: [arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/d-a/1, arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/d-b/1]}
  c:
    current: 1.0.0
    target: 2.0.0
    releases:
      1.0.0: {consumes: {b-api: "^1"}}
      2.0.0: {consumes: {b-api: "^2"}}
    deploy: {listener: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/c/1, target_groups: [arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/c-a/1, arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/c-b/1]}
"#;

/// The whole run, from the stale-plan checks to the summary.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn three_waves_canary(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, waves) = run::saved_plan(dir.path(), MATRIX);
    assert_eq!(waves, 3);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    bencher.bench_local(|| {
        let cloud = FakeCloud::new();
        for name in ["a", "b", "c", "d"] {
            cloud.put_route(
                &Route::Listener(format!(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/{name}/1"
                )),
                Forward::to(&format!(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{name}-a/1"
                )),
            );
        }
        let settings = Settings {
            poll_interval: Duration::from_secs(1),
            ..Settings::default()
        };
        let report = run::execute(&runtime, cloud, settings, &plan);
        assert_eq!(report.switched.len(), 4);
    });
}
