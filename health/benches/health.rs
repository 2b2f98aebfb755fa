//! Checking 1,000 green sides whose Actuator answers after 200 ms, 100 at a
//! time, against a local fake Actuator (127.0.0.1).
//!
//! Ideal: 1,000 / 100 × 200 ms = 2 s (each service's `/health` and `/info`
//! go out together). Budget: at most 1.3 × the ideal, 2.6 s.
//!
//! Run with `cargo bench -p cutover-health --bench health`.

#[path = "../tests/support/actuator.rs"]
mod actuator;

use actuator::{Actuator, RELEASE};
use cutover_health::{HealthChecker, HealthSettings, HealthTarget};

/// The allocator the `cutover` binary uses, so that the figures are the tool's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

const ENDPOINTS: usize = 1_000;
const CONCURRENCY: usize = 100;

/// Every service healthy, at the expected release, with `db` required.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn check_1000_endpoints_answering_in_200ms_at_concurrency_100(bencher: divan::Bencher) {
    let actuator = Actuator::start_in_background();
    let release: semver::Version = RELEASE.parse().expect("version");
    let targets: Vec<HealthTarget> = (0..ENDPOINTS)
        .map(|n| HealthTarget {
            service: format!("service-{n:04}"),
            url: Some(actuator.url(&format!("delayed-{n}"))),
            expected_version: Some(release.clone()),
            require: vec!["db".to_owned()],
            ..HealthTarget::default()
        })
        .collect();
    let settings = HealthSettings {
        concurrency: CONCURRENCY,
        ..HealthSettings::default()
    };
    let checker = HealthChecker::new(settings).expect("checker");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    bencher.bench_local(|| {
        let report = runtime.block_on(checker.check_all(&targets));
        assert!(report.healthy, "{:?}", report.unhealthy().next());
        report
    });
}
