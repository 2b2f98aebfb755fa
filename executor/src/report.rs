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
}

impl Outcome {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::RolledBack => "rolled-back",
            Outcome::Failed => "failed",
            Outcome::NothingToDo => "nothing-to-do",
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunReport {
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
    /// A plan or journal file does not hold what it should.
    #[error("`{}` {problem}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}
