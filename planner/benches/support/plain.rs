//! The peer of the planning benchmark: the matrix as plain serde structs,
//! what a bare `serde_yaml` parse builds (no positions, no checks), and the
//! same structs read by a bare `serde-saphyr` parse (our parser's floor).
//! Shared by `benches/planning.rs` and `examples/synthetic.rs`, so that both
//! measure the same peers.

use std::collections::BTreeMap;

use cutover_planner::Limits;
use serde::Deserialize;

/// A bare `serde-saphyr` parse into the plain structs, with the budgets of
/// the planner's reader (so that large files are accepted).
pub fn saphyr_parse(yaml: &str, limits: &Limits) -> Result<PlainMatrix, serde_saphyr::Error> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_depth: limits.max_depth,
            max_nodes: limits.max_nodes,
            max_events: limits.max_nodes.saturating_mul(3),
            max_aliases: limits.max_aliases,
            max_anchors: limits.max_aliases,
            max_reader_input_bytes: Some(limits.max_bytes),
        },
    };
    serde_saphyr::from_str_with_options(yaml, options)
}

/// The matrix as plain serde structs: what a bare parse builds.
#[derive(Deserialize)]
#[allow(dead_code)]
pub struct PlainMatrix {
    version: u32,
    pub services: BTreeMap<String, PlainService>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
pub struct PlainService {
    current: String,
    target: Option<String>,
    releases: BTreeMap<String, PlainRelease>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
pub struct PlainRelease {
    #[serde(default)]
    provides: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    consumes: BTreeMap<String, OneOrMany>,
}

#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}
