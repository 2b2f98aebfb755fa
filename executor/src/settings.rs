//! How a run behaves, and who watches it.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::journal::Record;
use crate::notify::Webhook;

/// How a run behaves.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Roll back automatically on failure (`--no-rollback` turns it off).
    pub rollback: bool,
    /// Scale blue ECS services to 0 after the whole plan succeeded.
    pub retire_blue: bool,
    /// Print the calls instead of changing anything: no journal, no sleeps.
    pub dry_run: bool,
    /// DynamoDB table for the lock, if any.
    pub lock_table: Option<String>,
    /// Lease duration; renewed every third of it.
    pub lease_ttl: Duration,
    /// How long a gate may take to pass.
    pub gate_timeout: Duration,
    /// Pause between polls and between health checks during bake.
    pub poll_interval: Duration,
    /// Attempts per AWS call when throttled.
    pub aws_attempts: u32,
    /// Stop after these waves (1-based) have baked (`--pause-after`).
    pub pause_after: BTreeSet<usize>,
    /// Where each event of the run is POSTed (`--notify`).
    pub notify: Vec<Webhook>,
    /// When green sides are prepared (`--prepare`).
    pub prepare: Prepare,
}

/// When the green side of each service is prepared (image or AMI, capacity,
/// readiness).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prepare {
    /// In its wave, right before its gates (`per-wave`): a green runs its new
    /// release only once its providers have switched.
    #[default]
    PerWave,
    /// Every green of the plan at the start, concurrently (`ahead`): the run
    /// waits for the slowest preparation once instead of once per wave.
    Ahead,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rollback: true,
            retire_blue: false,
            dry_run: false,
            lock_table: None,
            lease_ttl: Duration::from_secs(300),
            gate_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_secs(5),
            aws_attempts: 5,
            pause_after: BTreeSet::new(),
            notify: Vec::new(),
            prepare: Prepare::PerWave,
        }
    }
}

/// Receives every journal record as it is written (progress display).
pub trait Observer: Send + Sync + 'static {
    /// Called after the record is on disk.
    fn record(&self, record: &Record);
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Observer for Silent {
    fn record(&self, _record: &Record) {}
}

/// Asks whether to start a wave (`--confirm`). Called on a blocking
/// thread: an implementation may read a terminal.
pub trait Confirm: Send + Sync + 'static {
    /// `true` to go on with the wave described by `question`; `false`
    /// stops the run as a pause.
    fn confirm(&self, question: &str) -> bool;
}
