//! Progress of a run: a spinner per service on a terminal (indicatif), plain
//! lines otherwise; structured `tracing` logs under `-v`; the final summary.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use cutover_executor::{Confirm, Event, Observer, Record, RunReport};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Shows journal records as they are written.
pub struct Progress {
    bars: Option<(MultiProgress, Mutex<BTreeMap<String, ProgressBar>>)>,
    fault: crate::fault::AbortAfter,
}

impl Progress {
    /// Bars when `terminal`, plain lines otherwise.
    pub fn new(terminal: bool) -> Self {
        Progress {
            bars: terminal.then(|| (MultiProgress::new(), Mutex::new(BTreeMap::new()))),
            fault: crate::fault::AbortAfter::from_env(),
        }
    }

    /// Stops the spinners.
    pub fn finish(&self) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .values()
            {
                bar.finish();
            }
        }
    }
}

/// One line for an event, or `None` for events not worth a line.
pub fn describe(event: &Event) -> Option<String> {
    Some(match event {
        Event::RunStarted { command, plan, .. } => format!("{command}: {}", plan.display()),
        Event::LockAcquired { table, key } => format!("lock `{key}` taken in table `{table}`"),
        Event::NoLock => "no lock is held (no --lock-table)".to_owned(),
        Event::WaveStarted { wave, services } => format!("wave {wave}: {}", services.join(", ")),
        Event::ImageDeployed {
            task_definition, ..
        } => format!("green runs {task_definition}"),
        Event::TestRouteSet { .. } => "test listener points at green".to_owned(),
        Event::GatePassed { gate, .. } => format!("gate `{gate}` passed"),
        Event::RouteSet { green_percent, .. } => format!("{green_percent}% of traffic on green"),
        Event::Baked { green_percent, .. } => format!("baked at {green_percent}%"),
        Event::ServiceSwitched { .. } => "on green".to_owned(),
        Event::Failed { reason, .. } => format!("failed: {reason}"),
        Event::RollbackStarted { services } => format!("rolling back: {}", services.join(", ")),
        Event::RouteRestored { blue, .. } => format!("back on blue ({blue})"),
        Event::BlueRetired {
            ecs_service,
            desired_before,
            ..
        } => format!("retiring blue `{ecs_service}` (desired count was {desired_before})"),
        Event::RunFinished { outcome } => format!("finished: {outcome}"),
        Event::Scaled {
            ecs_service,
            desired,
            ..
        } => format!("ECS `{ecs_service}` desired count {desired}"),
        Event::GroupImageSet {
            group,
            image,
            version,
            ..
        } => format!("group `{group}` launches {image} (launch template version {version})"),
        Event::GroupScaled {
            group, capacity, ..
        } => format!("group `{group}`: {capacity}"),
        Event::InstanceReplaced {
            group, instance, ..
        } => format!("group `{group}`: {instance} replaced"),
        Event::GroupAttached { group, .. } => format!("group `{group}` attached"),
        Event::GroupDetached { group, .. } => format!("group `{group}` detached"),
        Event::GroupRetired {
            group,
            capacity_before,
            ..
        } => format!("retiring blue group `{group}` (was {capacity_before})"),
        Event::Halted { reason } => format!("stopped at once: {reason}"),
        Event::GateFailed { gate, reason, .. } => format!("gate `{gate}` failed: {reason}"),
        Event::CheckFinished {
            check,
            result,
            duration_ms,
            output,
            ..
        } => match result.as_str() {
            "not-run" => format!("check `{check}` not run (dry run): {output}"),
            _ => format!("check `{check}`: {result} after {duration_ms} ms"),
        },
        Event::Paused {
            wave,
            next_wave,
            reason,
        } => format!("paused after wave {wave} ({reason}); resume continues with wave {next_wave}"),
        Event::NotificationFailed {
            host,
            notification,
            error,
        } => format!("notification `{notification}` to {host} not delivered: {error}"),
        Event::BlueGreen { .. }
        | Event::RouteRecorded { .. }
        | Event::Capacity { .. }
        | Event::GroupCapacity { .. }
        | Event::Intent { .. }
        | Event::RouteObserved { .. }
        | Event::WaveDone { .. } => {
            return None;
        }
    })
}

impl Observer for Progress {
    fn record(&self, record: &Record) {
        if !record.run.is_empty() && record.run != "dry-run" {
            self.fault.recorded();
        }
        tracing::info!(target: "cutover::journal", event = %serde_json::to_string(&record.event).unwrap_or_default());
        let Some(line) = describe(&record.event) else {
            return;
        };
        let service = record.event.service();
        match (&self.bars, service) {
            (Some((multi, bars)), Some(service)) => {
                let mut bars = bars
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let bar = bars.entry(service.to_owned()).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {prefix:>16} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_prefix(service.to_owned());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_message(line);
            }
            (Some((multi, _)), None) => {
                let _ = multi.println(line);
            }
            (None, Some(service)) => eprintln_line(&format!("{service}: {line}")),
            (None, None) => eprintln_line(&line),
        }
    }
}

#[allow(clippy::print_stderr)]
fn eprintln_line(line: &str) {
    eprintln!("{line}");
}

impl Confirm for Progress {
    /// Asks on stderr and reads a line from the terminal; only `y` goes on.
    #[allow(clippy::print_stderr)]
    fn confirm(&self, question: &str) -> bool {
        let ask = || {
            eprint!("{question}");
            let _ = std::io::Write::flush(&mut std::io::stderr());
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y")
        };
        match &self.bars {
            Some((multi, _)) => multi.suspend(ask),
            None => ask(),
        }
    }
}

/// What a dry run did not run: the integration checks, with their commands.
pub fn checks_not_run(report: &RunReport) -> String {
    let mut text = String::new();
    for service in &report.services {
        for gate in service.gates.iter().filter(|g| g.result == "not-run") {
            text.push_str(&format!(
                "  {} {}: {}\n",
                service.service,
                gate.gate,
                gate.detail.as_deref().unwrap_or_default()
            ));
        }
    }
    if text.is_empty() {
        return text;
    }
    format!("Integration checks a real run would run against green (not run):\n{text}")
}

/// The `cutover resume` command that continues a paused run.
fn resume_command(report: &RunReport) -> Option<String> {
    let journal = report.journal.as_ref()?;
    report
        .paused
        .as_ref()
        .map(|_| format!("cutover resume {}", journal.display()))
}

/// `--format json`: the run report.
pub fn json_report(report: &RunReport, calls: Option<&[String]>) -> serde_json::Value {
    let mut document = serde_json::json!({
        "command": report.command,
        "outcome": report.outcome,
        "failure": report.failure,
        "services": report.services,
        "rolled_back": report.rolled_back,
        "paused": report.paused,
        "resume": resume_command(report),
        "journal": report.journal,
    });
    if let (Some(calls), Some(object)) = (calls, document.as_object_mut()) {
        object.insert("dry_run_calls".to_owned(), serde_json::json!(calls));
    }
    document
}

/// `--format json` for a run refused before it began.
pub fn json_refusal(command: &str, failure: &str) -> serde_json::Value {
    serde_json::json!({
        "command": command,
        "outcome": "failed",
        "failure": failure,
        "services": [],
        "rolled_back": [],
        "paused": null,
        "resume": null,
        "journal": null,
    })
}

/// The final summary table.
pub fn summary(report: &RunReport) -> String {
    let mut rows: Vec<(String, &str)> = Vec::new();
    for service in &report.switched {
        rows.push((service.clone(), "on green"));
    }
    for service in &report.rolled_back {
        rows.push((service.clone(), "rolled back to blue"));
    }
    let width = rows.iter().map(|(s, _)| s.len()).max().unwrap_or(7).max(7);
    let mut out = format!("{:<width$}  state\n", "service");
    for (service, state) in rows {
        out.push_str(&format!("{service:<width$}  {state}\n"));
    }
    out.push_str(&format!(
        "outcome: {}\n",
        serde_json::to_value(report.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    ));
    if let Some(failure) = &report.failure {
        out.push_str(&format!("failure: {failure}\n"));
    }
    if let (Some(paused), Some(resume)) = (&report.paused, resume_command(report)) {
        out.push_str(&format!(
            "paused: after wave {} ({}); the lock is released\nto continue with wave {}: {resume}\n",
            paused.after_wave, paused.reason, paused.next_wave
        ));
    }
    if let Some(journal) = &report.journal {
        out.push_str(&format!("journal: {}\n", journal.display()));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use cutover_executor::{Outcome, PauseReport, RunReport};

    #[test]
    fn the_pause_summary_says_how_to_continue() {
        let report = RunReport {
            command: "execute".to_owned(),
            outcome: Outcome::Paused,
            failure: None,
            switched: vec!["payments".to_owned()],
            rolled_back: Vec::new(),
            journal: Some(PathBuf::from("plans/release-42.journal.jsonl")),
            services: Vec::new(),
            paused: Some(PauseReport {
                after_wave: 1,
                next_wave: 2,
                reason: "--pause-after 1".to_owned(),
            }),
        };
        insta::assert_snapshot!(super::summary(&report), @r"
        service   state
        payments  on green
        outcome: paused
        paused: after wave 1 (--pause-after 1); the lock is released
        to continue with wave 2: cutover resume plans/release-42.journal.jsonl
        journal: plans/release-42.journal.jsonl
        ");
    }
}
