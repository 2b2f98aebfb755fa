//! The planner against the peer a user would compare it with: a bare
//! `serde_yaml` parse of the same file into plain serde structs of the
//! matrix (no positions, no checks), side by side in one run, on matrices
//! shaped like large real releases (`release_matrix`: 30 % of the services
//! changing, chains up to 40 waves deep, three or four consumed APIs per
//! release, some alternatives and lists of provided versions).
//!
//! Beside it, the floor of our own parser: a bare `serde-saphyr` parse into
//! the same plain structs (no spans, no checks), so that what our layers
//! cost can be told apart from what the parser costs.
//!
//! Budgets: at 10,000 services, `plan` end to end at most 1.5× the bare
//! parse and `validate` alone at most 1.2×; from 10,000 to 50,000 services
//! at most 5.5×; peak memory at most 10× the file. The allocator is wrapped
//! in divan's `AllocProfiler`, so the same run reports the peak of live heap
//! bytes (`max alloc`) of each benchmark beside its time.
//!
//! Run with `cargo bench -p cutover-planner --bench planning`.

use cutover_planner::{Limits, release_matrix, validate_bytes};

/// The allocator the `cutover` binary uses, so that the figures are the
/// tool's, counted by divan (allocations, bytes, and the peak of live bytes).
#[global_allocator]
static ALLOCATOR: divan::AllocProfiler<mimalloc::MiMalloc> =
    divan::AllocProfiler::new(mimalloc::MiMalloc);

const SIZES: &[usize] = &[10_000, 50_000];

fn main() {
    divan::main();
}

#[path = "support/plain.rs"]
mod plain;
use plain::PlainMatrix;

fn bare_parse(yaml: &str) -> PlainMatrix {
    serde_yaml::from_str(yaml).expect("the generated matrix parses")
}

fn bare_saphyr_parse(yaml: &str, limits: &Limits) -> PlainMatrix {
    plain::saphyr_parse(yaml, limits).expect("the generated matrix parses")
}

fn matrix(services: usize) -> (String, Limits) {
    (release_matrix(services, 42), Limits::for_services(services))
}

/// The peer: `serde_yaml` into plain structs, nothing else.
#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn bare_serde_yaml(bencher: divan::Bencher, services: usize) {
    let (yaml, _) = matrix(services);
    bencher
        .counter(divan::counter::BytesCount::new(yaml.len()))
        .bench(|| bare_parse(divan::black_box(&yaml)));
}

/// Our parser's floor: `serde-saphyr` into the same plain structs.
#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn bare_serde_saphyr(bencher: divan::Bencher, services: usize) {
    let (yaml, limits) = matrix(services);
    bencher
        .counter(divan::counter::BytesCount::new(yaml.len()))
        .bench(|| bare_saphyr_parse(divan::black_box(&yaml), &limits));
}

/// Read and validate: every diagnostic, no plan.
#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn validate(bencher: divan::Bencher, services: usize) {
    let (yaml, limits) = matrix(services);
    bencher
        .counter(divan::counter::BytesCount::new(yaml.len()))
        .bench(|| {
            let validated =
                validate_bytes("release.yaml", divan::black_box(yaml.as_bytes()), &limits);
            assert!(validated.is_valid());
            validated
        });
}

/// Read, validate every pair, and plan the waves.
#[divan::bench(args = SIZES, sample_count = 10, sample_size = 1)]
fn plan(bencher: divan::Bencher, services: usize) {
    let (yaml, limits) = matrix(services);
    bencher
        .counter(divan::counter::BytesCount::new(yaml.len()))
        .bench(|| {
            let validated =
                validate_bytes("release.yaml", divan::black_box(yaml.as_bytes()), &limits);
            validated.plan().expect("valid").expect("plannable")
        });
}
