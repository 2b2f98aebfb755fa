//! The minimum Rust version: the workspace's `rust-version` is at least every
//! locked dependency's, and the README says the same.

use super::*;

/// `1.89`, `1.88.0` → `(1, 89, 0)`.
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

#[test]
fn the_minimum_rust_version_covers_every_locked_dependency() {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let packages = metadata["packages"].as_array().expect("packages");
    let ours: Vec<&serde_json::Value> = packages.iter().filter(|p| p["source"].is_null()).collect();
    let declared = ours
        .iter()
        .find(|p| p["name"] == "cutover")
        .and_then(|p| p["rust_version"].as_str())
        .expect("the cutover package declares a rust-version");
    for package in &ours {
        assert_eq!(
            package["rust_version"].as_str(),
            Some(declared),
            "{} inherits the workspace's rust-version",
            package["name"]
        );
    }
    let needs_more: Vec<String> = packages
        .iter()
        .filter_map(|p| {
            let needed = p["rust_version"].as_str()?;
            (version(needed) > version(declared))
                .then(|| format!("{} {} needs Rust {needed}", p["name"], p["version"]))
        })
        .collect();
    assert!(
        needs_more.is_empty(),
        "rust-version is {declared}, but:\n{}",
        needs_more.join("\n")
    );
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    assert!(
        readme.contains(&format!("Rust toolchain ({declared} or newer)")),
        "the README's quick start names Rust {declared}"
    );
}
