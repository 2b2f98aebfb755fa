//! Plans for people: a terminal report and Markdown for pull requests and
//! GitHub job summaries. Both are views of the [`PlanDocument`].

use std::fmt::Write;

use crate::describe::{constraint, cycle_path, offer, plural};
use crate::document::{PlanDocument, Problem};

/// The plan as a terminal report (no colours, stable for snapshots).
pub fn human(doc: &PlanDocument) -> String {
    let mut out = String::new();
    let path = &doc.matrix.path;
    if doc.feasible {
        let services: usize = doc.waves.iter().map(|w| w.services.len()).sum();
        if services == 0 {
            let _ = writeln!(
                out,
                "Nothing to cut over in {path}: no service has a `target` other than its `current` (0 waves)."
            );
            return out;
        }
        let _ = writeln!(
            out,
            "Plan for {path}: {services} changing service{} in {} wave{}",
            plural(services),
            doc.waves.len(),
            plural(doc.waves.len())
        );
        let width = doc
            .waves
            .iter()
            .flat_map(|w| &w.services)
            .map(|s| s.service.len())
            .max()
            .unwrap_or(0);
        for (i, wave) in doc.waves.iter().enumerate() {
            let _ = writeln!(out, "\nWave {}", i + 1);
            for step in &wave.services {
                let _ = writeln!(
                    out,
                    "  {:width$}  {} → {}",
                    step.service, step.from, step.to
                );
            }
        }
        if !doc.constraints.is_empty() {
            let _ = writeln!(out, "\nWhy this order:");
            for c in &doc.constraints {
                let _ = writeln!(out, "  {}", constraint(&c.before, &c.after, &c.reason));
            }
        }
        let _ = writeln!(
            out,
            "\nEvery wave is safe while both releases of its services serve traffic, so rolling back the waves in reverse order is safe too."
        );
        return out;
    }
    let Some(explanation) = &doc.explanation else {
        return out;
    };
    let _ = writeln!(out, "error: {} ({path})", explanation.summary);
    for broken in &explanation.broken_states {
        let _ = writeln!(out, "\nThe {} state is broken:", broken.state);
        for problem in &broken.problems {
            problem_lines(&mut out, "  ", problem);
        }
    }
    for conflict in &explanation.conflicts {
        let _ = writeln!(
            out,
            "\n`{}` and `{}` cannot switch in either order:",
            conflict.consumer, conflict.provider
        );
        let _ = writeln!(out, "  if `{}` switches first:", conflict.provider);
        for problem in &conflict.provider_first {
            problem_lines(&mut out, "    ", problem);
        }
        let _ = writeln!(out, "  if `{}` switches first:", conflict.consumer);
        for problem in &conflict.consumer_first {
            problem_lines(&mut out, "    ", problem);
        }
    }
    for cycle in &explanation.cycles {
        let _ = writeln!(
            out,
            "\nThe ordering constraints form a cycle: {}",
            cycle_path(&cycle.path)
        );
        for edge in &cycle.edges {
            let _ = writeln!(
                out,
                "  {}",
                constraint(&edge.before, &edge.after, &edge.reason)
            );
        }
    }
    if let Some(health) = doc.health.as_ref().filter(|h| !h.healthy) {
        for service in health.unhealthy() {
            let _ = writeln!(
                out,
                "\nThe green side of `{}` is not healthy:",
                service.service
            );
            for problem in &service.problems {
                let _ = writeln!(out, "  - {problem}");
            }
        }
    }
    if !doc.hints.is_empty() {
        out.push('\n');
        for hint in &doc.hints {
            let _ = writeln!(out, "hint: {}", hint.message);
        }
    }
    out
}

fn problem_lines(out: &mut String, indent: &str, problem: &Problem) {
    let offer = offer("it", &problem.api, &problem.offered, false);
    let at = &problem.requirement_at;
    let _ = writeln!(out, "{indent}{}", problem.message);
    let _ = writeln!(
        out,
        "{indent}  --> {}:{}:{} ({offer})",
        at.file, at.line, at.column
    );
}

/// The plan as Markdown: waves as a numbered list, constraints as a table.
pub fn markdown(doc: &PlanDocument) -> String {
    let mut out = String::new();
    let path = &doc.matrix.path;
    let short_digest: String = doc.matrix.sha256.chars().take(12).collect();
    if doc.feasible {
        let services: usize = doc.waves.iter().map(|w| w.services.len()).sum();
        let _ = writeln!(out, "## Cutover plan for `{path}`\n");
        let _ = writeln!(
            out,
            "{services} changing service{} in {} wave{} · matrix `sha256:{short_digest}` · cutover {}\n",
            plural(services),
            doc.waves.len(),
            plural(doc.waves.len()),
            doc.tool_version
        );
        if services == 0 {
            let _ = writeln!(
                out,
                "Nothing to cut over: no service has a `target` other than its `current`."
            );
            return out;
        }
        if let Some(health) = &doc.health {
            let healthy = health.services.iter().filter(|s| s.ok).count();
            let _ = writeln!(
                out,
                "Green sides checked through Actuator: {healthy} of {} healthy.\n",
                health.services.len()
            );
        }
        for (i, wave) in doc.waves.iter().enumerate() {
            let steps: Vec<String> = wave
                .services
                .iter()
                .map(|s| format!("`{}` {} → {}", s.service, s.from, s.to))
                .collect();
            let _ = writeln!(out, "{}. **Wave {}**: {}", i + 1, i + 1, steps.join(", "));
        }
        if !doc.constraints.is_empty() {
            let _ = writeln!(out, "\n| Before | After | Reason |\n| --- | --- | --- |");
            for c in &doc.constraints {
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | {} |",
                    c.before,
                    c.after,
                    cell(&c.reason)
                );
            }
        }
        let _ = writeln!(
            out,
            "\nEvery wave is safe while both releases of its services serve traffic, so rolling back in reverse order is safe too."
        );
        return out;
    }
    let unhealthy = doc.health.as_ref().filter(|h| !h.healthy);
    if unhealthy.is_some() {
        let _ = writeln!(out, "## No cutover plan for `{path}`\n");
    } else {
        let _ = writeln!(out, "## No safe cutover order for `{path}`\n");
    }
    if let Some(explanation) = &doc.explanation {
        let _ = writeln!(out, "{}\n", cell(&explanation.summary));
        for broken in &explanation.broken_states {
            let _ = writeln!(out, "**The {} state is broken:**\n", broken.state);
            for p in &broken.problems {
                let _ = writeln!(
                    out,
                    "- {} (line {})",
                    cell(&p.message),
                    p.requirement_at.line
                );
            }
            out.push('\n');
        }
        for conflict in &explanation.conflicts {
            let _ = writeln!(
                out,
                "**`{}` and `{}` cannot switch in either order:**\n",
                conflict.consumer, conflict.provider
            );
            for p in &conflict.provider_first {
                let _ = writeln!(
                    out,
                    "- if `{}` switches first: {}",
                    conflict.provider,
                    cell(&p.message)
                );
            }
            for p in &conflict.consumer_first {
                let _ = writeln!(
                    out,
                    "- if `{}` switches first: {}",
                    conflict.consumer,
                    cell(&p.message)
                );
            }
            out.push('\n');
        }
        for cycle in &explanation.cycles {
            let _ = writeln!(out, "**Cycle:** {}\n", cycle_path(&cycle.path));
            let _ = writeln!(out, "| Before | After | Reason |\n| --- | --- | --- |");
            for edge in &cycle.edges {
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | {} |",
                    edge.before,
                    edge.after,
                    cell(&edge.reason)
                );
            }
            out.push('\n');
        }
    }
    if let Some(health) = unhealthy {
        let _ = writeln!(out, "**Green sides that are not healthy:**\n");
        for service in health.unhealthy() {
            let problems: Vec<String> = service.problems.iter().map(|p| cell(p)).collect();
            let _ = writeln!(out, "- `{}`: {}", service.service, problems.join("; "));
        }
        if !doc.diagnostics.is_empty() || !doc.hints.is_empty() {
            out.push('\n');
        }
    }
    if !doc.diagnostics.is_empty() {
        let _ = writeln!(out, "**Matrix diagnostics:**\n");
        for d in &doc.diagnostics {
            let _ = writeln!(
                out,
                "- `{}` {}:{}:{}: {}",
                d.code,
                d.file,
                d.line,
                d.column,
                cell(&d.message)
            );
        }
        out.push('\n');
    }
    if !doc.hints.is_empty() {
        let _ = writeln!(out, "**Hints:**\n");
        for hint in &doc.hints {
            let _ = writeln!(out, "- {}", cell(&hint.message));
        }
    }
    out
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
