//! Synthetic matrices of any size, for benchmarks and load tests.

use std::fmt::Write;

/// A valid, plannable matrix of `services` services in YAML: each release
/// consumes about ten APIs of earlier services, and every tenth service
/// changes, needing the new minor version of the changing services it
/// consumes (so the plan has real ordering constraints). The same `seed`
/// gives the same matrix.
pub fn synthetic_matrix(services: usize, seed: u64) -> String {
    let mut out = String::with_capacity(services * 420);
    let mut rng = seed | 1;
    let mut next = move |bound: usize| {
        // xorshift64*: small, fast and deterministic.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % bound.max(1)
    };
    let changing = |i: usize| i % 10 == 3;
    out.push_str("version: 1\nservices:\n");
    for i in 0..services {
        let mut providers: Vec<usize> = (0..10.min(i)).map(|_| next(i)).collect();
        providers.sort_unstable();
        providers.dedup();
        let consumes = |target: bool| {
            providers
                .iter()
                .map(|p| {
                    let requirement = if target && changing(*p) { "^1.1" } else { "^1" };
                    format!("api-{p}: \"{requirement}\"")
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "  svc-{i}:\n    current: 1.0.0");
        if changing(i) {
            let _ = writeln!(out, "    target: 1.1.0");
        }
        let _ = writeln!(out, "    releases:");
        let _ = writeln!(
            out,
            "      1.0.0: {{provides: {{api-{i}: 1.0.0}}, consumes: {{{}}}}}",
            consumes(false)
        );
        if changing(i) {
            let _ = writeln!(
                out,
                "      1.1.0: {{provides: {{api-{i}: [1.0.0, 1.1.0]}}, consumes: {{{}}}}}",
                consumes(true)
            );
        }
    }
    out
}

/// A valid, plannable matrix of `services` services shaped like a large
/// real release: about 30 % of the services change, the changes form
/// dependency chains up to 40 waves deep, each release consumes three or
/// four APIs, about one requirement in ten lists alternatives
/// (`[^0.9, ^1]`) and about one provider in ten serves a list of versions.
/// The same `seed` gives the same matrix.
pub fn release_matrix(services: usize, seed: u64) -> String {
    const DEPTH: usize = 40;
    let mut out = String::with_capacity(services * 400);
    let mut rng = seed | 1;
    let mut next = move |bound: usize| {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % bound.max(1)
    };
    // The changing services by chain level: level `l` consumes the new
    // minor version of one service of level `l - 1`.
    let mut levels: Vec<Vec<usize>> = Vec::new();
    out.push_str("version: 1\nservices:\n");
    for i in 0..services {
        let changes = next(10) < 3;
        let mut chained = None;
        if changes {
            let level = next(DEPTH).min(levels.len());
            if level > 0 {
                let below = &levels[level - 1];
                chained = Some(below[next(below.len())]);
            }
            if level == levels.len() {
                levels.push(Vec::new());
            }
            levels[level].push(i);
        }
        let wanted = 3 + next(2);
        let mut providers: Vec<usize> = chained.into_iter().collect();
        while i > 0 && providers.len() < wanted.min(i) {
            let p = next(i);
            if !providers.contains(&p) {
                providers.push(p);
            }
        }
        providers.sort_unstable();
        let alternatives = next(10) == 0;
        let consumes = |target: bool| {
            providers
                .iter()
                .map(|p| {
                    let requirement = if target && Some(*p) == chained {
                        "\"^1.1\"".to_owned()
                    } else if alternatives {
                        "[\"^0.9\", \"^1\"]".to_owned()
                    } else {
                        "\"^1\"".to_owned()
                    };
                    format!("api-{p}: {requirement}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let current_provides = if next(10) == 0 {
            "[0.9.0, 1.0.0]"
        } else {
            "1.0.0"
        };
        let _ = writeln!(out, "  svc-{i}:\n    current: 1.0.0");
        if changes {
            let _ = writeln!(out, "    target: 1.1.0");
        }
        let _ = writeln!(out, "    releases:");
        let _ = writeln!(
            out,
            "      1.0.0: {{provides: {{api-{i}: {current_provides}}}, consumes: {{{}}}}}",
            consumes(false)
        );
        if changes {
            let _ = writeln!(
                out,
                "      1.1.0: {{provides: {{api-{i}: [1.0.0, 1.1.0]}}, consumes: {{{}}}}}",
                consumes(true)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, plan, validate_bytes};

    #[test]
    fn release_matrices_plan_in_at_most_forty_waves() {
        let yaml = release_matrix(2_000, 7);
        let validated = validate_bytes("r.yaml", yaml.as_bytes(), &Limits::for_services(2_000));
        assert!(validated.is_valid(), "{:?}", validated.diagnostics.first());
        let plan = validated.plan().expect("valid").expect("plannable");
        let changing: usize = plan.waves.iter().map(|w| w.services.len()).sum();
        assert!((500..=700).contains(&changing), "{changing}");
        assert!(
            (20..=40).contains(&plan.waves.len()),
            "{}",
            plan.waves.len()
        );
    }

    #[test]
    fn synthetic_matrices_are_valid_and_plannable() {
        let yaml = synthetic_matrix(500, 7);
        assert_eq!(yaml, synthetic_matrix(500, 7));
        let validated = validate_bytes("synthetic.yaml", yaml.as_bytes(), &Limits::default());
        assert!(validated.is_valid(), "{:?}", validated.diagnostics.first());
        let matrix = validated.matrix.as_ref().expect("matrix");
        let plan = plan(matrix).expect("a safe order");
        assert_eq!(
            plan.waves.iter().map(|w| w.services.len()).sum::<usize>(),
            50
        );
        assert!(plan.waves.len() > 1);
        assert!(!plan.constraints.is_empty());
    }
}
