//! The peer of the planning benchmark: the matrix as plain serde structs,
//! what a bare `serde_yaml` parse builds (no positions, no checks). Shared by
//! `benches/planning.rs` and `examples/synthetic.rs`, so that both measure
//! the same peer.

use std::collections::BTreeMap;

use serde::Deserialize;

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
