//! The compatibility graph as a picture: Mermaid (renders in GitHub
//! Markdown) and Graphviz DOT. Changing services are marked and grouped by
//! wave, dependencies are dotted arrows from consumer to provider, and
//! ordering constraints are bold arrows labelled with the API that forces them.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::compat::Catalog;
use crate::explain::NoSafeOrder;
use crate::matrix::Matrix;
use crate::order::{Constraint, Plan};

/// What the picture shows, independent of the drawing language.
struct Picture {
    /// `(name, label, changing)`, sorted by name.
    nodes: Vec<(String, String, bool)>,
    /// Groups of changing services: `(title, members)`.
    groups: Vec<(String, Vec<String>)>,
    /// `(consumer, provider, consumed names)`.
    dependencies: Vec<(String, String, String)>,
    /// `(before, after, label)`.
    orders: Vec<(String, String, String)>,
    /// `(consumer, provider)` pairs that allow no order.
    conflicts: Vec<(String, String)>,
}

fn picture(matrix: &Matrix, result: &Result<Plan, NoSafeOrder>) -> Picture {
    let catalog = Catalog::new(matrix);
    let nodes = matrix
        .services
        .values()
        .map(|s| {
            let label = if s.is_changing() {
                format!("{} {} → {}", s.name, s.current.value, s.target_version())
            } else {
                format!("{} {}", s.name, s.current.value)
            };
            (s.name.clone(), label, s.is_changing())
        })
        .collect();
    let mut dependencies: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for consumer in matrix.services.values() {
        for version in [&consumer.current.value, consumer.target_version()] {
            let Some(release) = consumer.release(version) else {
                continue;
            };
            for name in release.consumes.keys() {
                if let Some(provider) = catalog
                    .provider_of(name)
                    .filter(|p| p.name != consumer.name)
                {
                    let apis = dependencies
                        .entry((consumer.name.clone(), provider.name.clone()))
                        .or_default();
                    if !apis.contains(name) {
                        apis.push(name.clone());
                    }
                }
            }
        }
    }
    let (groups, constraints, conflicts) = match result {
        Ok(plan) => (
            plan.waves
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    (
                        format!("Wave {}", i + 1),
                        w.services.iter().map(|s| s.service.clone()).collect(),
                    )
                })
                .collect(),
            plan.constraints.as_slice(),
            Vec::new(),
        ),
        Err(no) => (
            vec![(
                "Changing (no safe order)".to_owned(),
                matrix.changing().map(|s| s.name.clone()).collect(),
            )],
            no.constraints.as_slice(),
            no.conflicts
                .iter()
                .map(|c| (c.consumer.clone(), c.provider.clone()))
                .collect(),
        ),
    };
    Picture {
        nodes,
        groups,
        dependencies: dependencies
            .into_iter()
            .map(|((consumer, provider), apis)| (consumer, provider, apis.join(", ")))
            .collect(),
        orders: constraints.iter().map(order_edge).collect(),
        conflicts,
    }
}

fn order_edge(constraint: &Constraint) -> (String, String, String) {
    let mut apis: Vec<&str> = constraint
        .mismatches
        .iter()
        .map(|m| m.api.as_str())
        .collect();
    apis.dedup();
    (
        constraint.before.clone(),
        constraint.after.clone(),
        format!("before ({})", apis.join(", ")),
    )
}

/// A Mermaid flowchart.
pub fn mermaid(matrix: &Matrix, result: &Result<Plan, NoSafeOrder>) -> String {
    let picture = picture(matrix, result);
    let id = |name: &str| format!("s_{}", name.replace('-', "_"));
    let mut out = String::from("flowchart LR\n");
    let grouped: Vec<&String> = picture
        .groups
        .iter()
        .flat_map(|(_, members)| members)
        .collect();
    let node = |out: &mut String, indent: &str, name: &str| {
        if let Some((_, label, changing)) = picture.nodes.iter().find(|(n, _, _)| n == name) {
            let class = if *changing { ":::changing" } else { "" };
            let _ = writeln!(
                out,
                "{indent}{}[\"{}\"]{class}",
                id(name),
                label.replace('"', "'")
            );
        }
    };
    for (i, (title, members)) in picture.groups.iter().enumerate() {
        let _ = writeln!(out, "  subgraph group{}[\"{title}\"]", i + 1);
        for member in members {
            node(&mut out, "    ", member);
        }
        out.push_str("  end\n");
    }
    for (name, _, _) in &picture.nodes {
        if !grouped.contains(&name) {
            node(&mut out, "  ", name);
        }
    }
    for (consumer, provider, apis) in &picture.dependencies {
        let _ = writeln!(out, "  {} -. \"{apis}\" .-> {}", id(consumer), id(provider));
    }
    for (before, after, label) in &picture.orders {
        let _ = writeln!(out, "  {} == \"{label}\" ==> {}", id(before), id(after));
    }
    for (consumer, provider) in &picture.conflicts {
        let _ = writeln!(
            out,
            "  {} x-- \"no safe order\" --x {}",
            id(consumer),
            id(provider)
        );
    }
    out.push_str("  classDef changing fill:#fff3cd,stroke:#b8860b,stroke-width:2px\n");
    out
}

/// A Graphviz DOT digraph.
pub fn dot(matrix: &Matrix, result: &Result<Plan, NoSafeOrder>) -> String {
    let picture = picture(matrix, result);
    let quote = |text: &str| format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::from(
        "digraph cutover {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    for (i, (title, members)) in picture.groups.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph cluster_{} {{\n    label={};\n    style=rounded;",
            i + 1,
            quote(title)
        );
        for member in members {
            let _ = writeln!(out, "    {};", quote(member));
        }
        out.push_str("  }\n");
    }
    for (name, label, changing) in &picture.nodes {
        let style = if *changing {
            ", style=\"filled,bold\", fillcolor=\"#fff3cd\""
        } else {
            ""
        };
        let _ = writeln!(out, "  {} [label={}{style}];", quote(name), quote(label));
    }
    for (consumer, provider, apis) in &picture.dependencies {
        let _ = writeln!(
            out,
            "  {} -> {} [style=dashed, label={}];",
            quote(consumer),
            quote(provider),
            quote(apis)
        );
    }
    for (before, after, label) in &picture.orders {
        let _ = writeln!(
            out,
            "  {} -> {} [penwidth=2.5, color=\"#b8860b\", label={}];",
            quote(before),
            quote(after),
            quote(label)
        );
    }
    for (consumer, provider) in &picture.conflicts {
        let _ = writeln!(
            out,
            "  {} -> {} [dir=both, color=red, penwidth=2.5, label=\"no safe order\"];",
            quote(consumer),
            quote(provider)
        );
    }
    out.push_str("}\n");
    out
}
