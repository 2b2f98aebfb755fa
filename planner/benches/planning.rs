//! Parse alone versus parse + validate + plan, side by side, at 1,000,
//! 10,000 and 50,000 services.
//!
//! Budget: at 10,000 services, end to end takes at most 1.5 times as long as
//! parsing alone; from 10,000 to 50,000 services costs at most 6 times as much.
//!
//! Run with `cargo bench -p cutover-planner --bench planning`.

use cutover_planner::{Limits, load, synthetic_matrix, validate_bytes};

/// The allocator the `cutover` binary uses, so that the figures are the tool's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

const SIZES: &[usize] = &[1_000, 10_000, 50_000];

fn matrix(services: usize) -> (String, Limits) {
    (
        synthetic_matrix(services, 42),
        Limits::for_services(services),
    )
}

/// The YAML parse into the node tree, nothing else.
#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn parse_only(bencher: divan::Bencher, services: usize) {
    let (yaml, limits) = matrix(services);
    bencher
        .counter(divan::counter::BytesCount::new(yaml.len()))
        .bench(|| {
            let (_, document) = load("synthetic.yaml", divan::black_box(yaml.as_bytes()), &limits);
            assert!(document.is_ok());
        });
}

/// Parse, validate every pair, and plan the waves.
#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn end_to_end(bencher: divan::Bencher, services: usize) {
    let (yaml, limits) = matrix(services);
    bencher
        .counter(divan::counter::BytesCount::new(yaml.len()))
        .bench(|| {
            let validated =
                validate_bytes("synthetic.yaml", divan::black_box(yaml.as_bytes()), &limits);
            validated.plan().expect("valid").expect("plannable")
        });
}
