//! The journal: every action and every observed state of a run, one JSON
//! object per line, flushed to disk (fsync) before the next AWS call, so a
//! killed process loses nothing. `resume` and `rollback` read it back.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::aws::{ActionRecord, Forward, GroupCapacity, Route};

/// Something that happened during a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A run began.
    RunStarted {
        /// `execute`, `resume` or `rollback`.
        command: String,
        /// The plan file, absolute.
        plan: PathBuf,
        /// SHA-256 of the plan file.
        plan_sha256: String,
        /// The services of the plan, in plan order.
        services: Vec<String>,
    },
    /// The lock is held for this run.
    LockAcquired {
        /// DynamoDB table.
        table: String,
        /// Lock key.
        key: String,
    },
    /// Execution without a lock table.
    NoLock,
    /// Which side is blue, as found on the live route before switching.
    BlueGreen {
        /// Service.
        service: String,
        /// Blue target group.
        blue: String,
        /// Green target group.
        green: String,
    },
    /// A route's whole action list, as first observed (before any change).
    RouteRecorded {
        /// Service.
        service: String,
        /// The production route.
        route: Route,
        /// Every action, in order, secrets removed.
        actions: Vec<ActionRecord>,
    },
    /// An ECS service's desired count, as first observed (before any change).
    Capacity {
        /// Service.
        service: String,
        /// ECS service name.
        ecs_service: String,
        /// `blue` or `green`.
        side: String,
        /// Desired task count.
        desired: u32,
    },
    /// An Auto Scaling group's size, as first observed (before any change).
    GroupCapacity {
        /// Service.
        service: String,
        /// The group.
        group: String,
        /// `blue` or `green`.
        side: String,
        /// Min, max and desired size.
        capacity: GroupCapacity,
    },
    /// A group now launches the target release's AMI, from a new version
    /// of its launch template.
    GroupImageSet {
        /// Service.
        service: String,
        /// The group.
        group: String,
        /// The AMI.
        image: String,
        /// The new launch template version.
        version: String,
    },
    /// A group's size was set.
    GroupScaled {
        /// Service.
        service: String,
        /// The group.
        group: String,
        /// Its new size.
        capacity: GroupCapacity,
    },
    /// An instance not launched from the target AMI was terminated for the
    /// group to replace it.
    InstanceReplaced {
        /// Service.
        service: String,
        /// The group.
        group: String,
        /// The instance terminated.
        instance: String,
    },
    /// A group was attached to the service's target group.
    GroupAttached {
        /// Service.
        service: String,
        /// The group.
        group: String,
    },
    /// A group was detached from the service's target group.
    GroupDetached {
        /// Service.
        service: String,
        /// The group.
        group: String,
    },
    /// Blue's group scaled to 0 after the whole plan baked (`--retire-blue`).
    GroupRetired {
        /// Service.
        service: String,
        /// Blue's group.
        group: String,
        /// Its size before, which a rollback gives back.
        capacity_before: GroupCapacity,
    },
    /// A call that changes something is about to be made; its outcome
    /// follows, unless the process died in between (then the live state
    /// tells, and `resume` and `rollback` read it).
    Intent {
        /// Service.
        service: String,
        /// The call, in words.
        call: String,
    },
    /// An ECS service's desired count was set.
    Scaled {
        /// Service.
        service: String,
        /// ECS service name.
        ecs_service: String,
        /// The new desired count.
        desired: u32,
    },
    /// A wave began.
    WaveStarted {
        /// 1-based.
        wave: usize,
        /// Its services.
        services: Vec<String>,
    },
    /// A route was read.
    RouteObserved {
        /// Service.
        service: String,
        /// What it forwards to.
        forward: Forward,
    },
    /// Green's ECS service was told to run the target image.
    ImageDeployed {
        /// Service.
        service: String,
        /// The new task definition.
        task_definition: String,
    },
    /// The test listener now forwards to green.
    TestRouteSet {
        /// Service.
        service: String,
    },
    /// A gate passed.
    GatePassed {
        /// Service.
        service: String,
        /// `ecs-steady`, `target-health`, `actuator`.
        gate: String,
    },
    /// A gate failed (it did not pass within the gate timeout, an alarm is
    /// in `ALARM`, or an integration check failed).
    GateFailed {
        /// Service.
        service: String,
        /// The gate: `target-health`, `actuator`, `alarms`, `check:NAME`, ...
        gate: String,
        /// Why, in words.
        reason: String,
    },
    /// An integration check ended (or, in a dry run, was listed, not run).
    CheckFinished {
        /// Service.
        service: String,
        /// The check's name.
        check: String,
        /// `passed`, `failed`, `timed-out`, `cancelled`, `not-started` or
        /// `not-run` (dry run).
        result: String,
        /// Its exit status, when it exited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// How long it ran, in milliseconds.
        duration_ms: u64,
        /// The last 4 KiB of its combined stdout and stderr.
        output: String,
    },
    /// The production route was changed.
    RouteSet {
        /// Service.
        service: String,
        /// Percent on green.
        green_percent: u32,
        /// The new forward.
        forward: Forward,
    },
    /// Green served its share for the bake time with its gates passing.
    Baked {
        /// Service.
        service: String,
        /// Percent on green during the bake.
        green_percent: u32,
    },
    /// All production traffic of the service is on green.
    ServiceSwitched {
        /// Service.
        service: String,
    },
    /// A wave finished.
    WaveDone {
        /// 1-based.
        wave: usize,
    },
    /// Something failed.
    Failed {
        /// The service, when one is to blame.
        service: Option<String>,
        /// What failed.
        reason: String,
    },
    /// The run stopped after a wave, as asked (`--pause-after`, or a
    /// wave not confirmed at the `--confirm` prompt); `resume` continues.
    Paused {
        /// The last wave that switched and baked (0 when none did).
        wave: usize,
        /// The wave `resume` starts with.
        next_wave: usize,
        /// `--pause-after N`, or `not confirmed`.
        reason: String,
    },
    /// A notification could not be delivered (after two retries); the run
    /// went on. Only the webhook's host is kept, never its URL.
    NotificationFailed {
        /// The webhook's host.
        host: String,
        /// The notification's event, e.g. `wave_started`.
        notification: String,
        /// What went wrong.
        error: String,
    },
    /// Rollback began, of these services in this order.
    RollbackStarted {
        /// Services, reverse plan order.
        services: Vec<String>,
    },
    /// The production route forwards to blue again.
    RouteRestored {
        /// Service.
        service: String,
        /// Blue target group.
        blue: String,
    },
    /// Blue's ECS service was scaled to zero.
    BlueRetired {
        /// Service.
        service: String,
        /// ECS service name.
        ecs_service: String,
        /// Its desired count before (what `rollback` brings back).
        desired_before: u32,
    },
    /// The run was stopped at once (a second signal).
    Halted {
        /// Why.
        reason: String,
    },
    /// The run ended.
    RunFinished {
        /// `succeeded`, `rolled-back`, `failed` (left as it was), `paused` or
        /// `nothing-to-do`.
        outcome: String,
    },
}

impl Event {
    /// The service the event is about, if any.
    pub fn service(&self) -> Option<&str> {
        match self {
            Event::BlueGreen { service, .. }
            | Event::RouteRecorded { service, .. }
            | Event::Capacity { service, .. }
            | Event::Intent { service, .. }
            | Event::Scaled { service, .. }
            | Event::RouteObserved { service, .. }
            | Event::ImageDeployed { service, .. }
            | Event::TestRouteSet { service }
            | Event::GatePassed { service, .. }
            | Event::GateFailed { service, .. }
            | Event::CheckFinished { service, .. }
            | Event::RouteSet { service, .. }
            | Event::Baked { service, .. }
            | Event::ServiceSwitched { service }
            | Event::RouteRestored { service, .. }
            | Event::BlueRetired { service, .. }
            | Event::GroupCapacity { service, .. }
            | Event::GroupImageSet { service, .. }
            | Event::GroupScaled { service, .. }
            | Event::InstanceReplaced { service, .. }
            | Event::GroupAttached { service, .. }
            | Event::GroupDetached { service, .. }
            | Event::GroupRetired { service, .. } => Some(service),
            Event::Failed { service, .. } => service.as_deref(),
            _ => None,
        }
    }
}

/// One journal line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The run that wrote it.
    pub run: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// Journal I/O errors.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("journal `{}`: {source}", path.display())]
    Io {
        /// The journal.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a journal record.
    #[error("journal `{}` line {line}: {message}", path.display())]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// An open journal, appended to.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    run: String,
}

impl Journal {
    /// Opens (creating it if needed) the journal at `path` for run `run`.
    pub fn open(path: &Path, run: &str) -> Result<Self, JournalError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| JournalError::Io {
                path: path.to_owned(),
                source,
            })?;
        Ok(Journal {
            path: path.to_owned(),
            file,
            run: run.to_owned(),
        })
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event and syncs it to disk.
    pub fn append(&mut self, event: &Event) -> Result<Record, JournalError> {
        let record = Record {
            at_ms: now_ms(),
            run: self.run.clone(),
            event: event.clone(),
        };
        let mut line = serde_json::to_string(&record).map_err(|e| JournalError::Corrupt {
            path: self.path.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|source| JournalError::Io {
                path: self.path.clone(),
                source,
            })?;
        Ok(record)
    }
}

/// Reads every record of a journal. A torn last line (the process died while
/// writing it) is ignored; any other bad line is an error.
pub fn read_journal(path: &Path) -> Result<Vec<Record>, JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(io)?;
    let mut records = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(record) => records.push(record),
            Err(_) if index + 1 == lines.len() => {}
            Err(error) => {
                return Err(JournalError::Corrupt {
                    path: path.to_owned(),
                    line: index + 1,
                    message: error.to_string(),
                });
            }
        }
    }
    Ok(records)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.jsonl");
        let mut journal = Journal::open(&path, "r1").expect("open");
        journal
            .append(&Event::ServiceSwitched {
                service: "orders".into(),
            })
            .expect("append");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(b"{\"at_ms\":1,\"ru"))
            .expect("torn write");
        let records = read_journal(&path).expect("read");
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].event.service(), Some("orders"));
    }
}
