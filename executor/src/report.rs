//! How a run ended, and why one could not start.

use std::path::PathBuf;

use crate::aws::CloudError;
use crate::cutover::PlanError;
use crate::journal::JournalError;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every wave switched and baked.
    Succeeded,
    /// Something failed and every touched service is back on blue.
    RolledBack,
    /// Something failed and things were left as they were.
    Failed,
    /// Nothing left to do.
    NothingToDo,
    /// Stopped after a wave as asked; `resume` continues.
    Paused,
}

impl Outcome {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::RolledBack => "rolled-back",
            Outcome::Failed => "failed",
            Outcome::NothingToDo => "nothing-to-do",
            Outcome::Paused => "paused",
        }
    }
}

/// Where a service's production traffic is at the end of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// All of it on green.
    Green,
    /// All of it on blue.
    Blue,
    /// Split between the two.
    Split,
    /// The route could not be read.
    Unknown,
}

/// A gate that ran for a service, and its result.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GateReport {
    /// `ecs-steady`, `target-health`, `actuator`, `alarms`, `check:NAME`, ...
    pub gate: String,
    /// `passed`, `failed`, or `not-run` (a check in a dry run).
    pub result: String,
    /// Why it failed, or what a dry run would have run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A check's last 4 KiB of output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// One service of a run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ServiceReport {
    /// The service.
    pub service: String,
    /// Its wave, 1-based.
    pub wave: usize,
    /// Release on blue.
    pub from: String,
    /// Release on green.
    pub to: String,
    /// Where its production traffic is now.
    #[serde(rename = "final")]
    pub final_side: Side,
    /// The gates that ran in this run, in order.
    pub gates: Vec<GateReport>,
}

/// Where a paused run stopped.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PauseReport {
    /// The last wave that switched and baked (0 when none did).
    pub after_wave: usize,
    /// The wave `resume` starts with.
    pub next_wave: usize,
    /// `--pause-after N` or `not confirmed`.
    pub reason: String,
}

/// What a run did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunReport {
    /// `execute`, `resume` or `rollback`.
    pub command: String,
    /// How it ended.
    pub outcome: Outcome,
    /// What failed, when something did.
    pub failure: Option<String>,
    /// Services now fully on green, in plan order.
    pub switched: Vec<String>,
    /// Services returned to blue, in the order it was done.
    pub rolled_back: Vec<String>,
    /// The journal (absent for dry runs).
    pub journal: Option<PathBuf>,
    /// Every service of the plan, in plan order.
    pub services: Vec<ServiceReport>,
    /// Where the run paused, when it did.
    pub paused: Option<PauseReport>,
}

/// Why a run could not start or was refused.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The plan cannot be executed.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The journal failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The plan no longer matches the matrix or the live routes.
    #[error("stale plan: {0}")]
    Stale(String),
    /// A route is in neither the blue nor the green state, or blue does not
    /// run the matrix's `current`.
    #[error("drift: {0}")]
    Drift(String),
    /// Something on AWS makes the plan impossible to carry out as it is.
    #[error("refused: {0}")]
    Refused(String),
    /// The lock is held, or AWS failed before anything changed.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The command line asks for something the plan cannot do
    /// (`--pause-after` beyond the last wave).
    #[error("{0}")]
    Usage(String),
    /// A plan or journal file does not hold what it should.
    #[error("`{}` {problem}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

/// The gates a service went through, in the order they ran, from the
/// events of a run. A check is reported once, with its output.
pub(crate) fn gates_of(service: &str, events: &[crate::journal::Event]) -> Vec<GateReport> {
    use crate::journal::Event;
    let mut gates = Vec::new();
    for event in events {
        if event.service() != Some(service) {
            continue;
        }
        match event {
            Event::GatePassed { gate, .. } if !gate.starts_with("check:") => {
                gates.push(GateReport {
                    gate: gate.clone(),
                    result: "passed".to_owned(),
                    detail: None,
                    output: None,
                });
            }
            Event::GateFailed { gate, reason, .. } if !gate.starts_with("check:") => {
                gates.push(GateReport {
                    gate: gate.clone(),
                    result: "failed".to_owned(),
                    detail: Some(reason.clone()),
                    output: None,
                });
            }
            Event::CheckFinished {
                check,
                result,
                output,
                ..
            } => {
                let (result, detail, output) = match result.as_str() {
                    "passed" => ("passed", None, Some(output.clone())),
                    "not-run" => ("not-run", Some(output.clone()), None),
                    other => ("failed", Some(other.to_owned()), Some(output.clone())),
                };
                gates.push(GateReport {
                    gate: format!("check:{check}"),
                    result: result.to_owned(),
                    detail,
                    output,
                });
            }
            _ => {}
        }
    }
    gates
}
