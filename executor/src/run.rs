//! A run: `execute` a plan, `resume` an interrupted run, or `rollback` what a
//! run touched; with the journal, the lock, the stale-plan and drift checks,
//! wave concurrency, cancellation and reverse-order rollback.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover_planner::{PlanDocument, sha256_hex};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::aws::{Cloud, CloudError, Forward};
use crate::cutover::{Cutover, PlanError, ServiceSwitch};
use crate::gate::HealthGate;
use crate::journal::{Event, Journal, JournalError, Record, now_ms, read_journal};
use crate::lock::{Leases, holder};
use crate::switch::{restore, switch_service, with_retries};

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
    fn name(self) -> &'static str {
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
    /// A route is in neither the blue nor the green state.
    #[error("drift: {0}")]
    Drift(String),
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
    /// The journal does not describe a run.
    #[error("journal `{}` {problem}", path.display())]
    BadJournal {
        /// The journal.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

/// A failure during the switches.
#[derive(Debug)]
pub(crate) struct Failure {
    pub service: Option<String>,
    pub reason: String,
}

impl Failure {
    pub(crate) fn service(service: &str, reason: String) -> Self {
        Failure {
            service: Some(service.to_owned()),
            reason,
        }
    }
}

impl From<JournalError> for Failure {
    fn from(error: JournalError) -> Self {
        Failure {
            service: None,
            reason: error.to_string(),
        }
    }
}

/// What every task of a run shares.
pub(crate) struct Context<C, G> {
    pub cloud: Arc<C>,
    pub gate: Arc<G>,
    pub settings: Settings,
    journal: Arc<Mutex<Option<Journal>>>,
    observer: Arc<dyn Observer>,
    cancel: watch::Receiver<bool>,
}

impl<C, G> Clone for Context<C, G> {
    fn clone(&self) -> Self {
        Context {
            cloud: Arc::clone(&self.cloud),
            gate: Arc::clone(&self.gate),
            settings: self.settings.clone(),
            journal: Arc::clone(&self.journal),
            observer: Arc::clone(&self.observer),
            cancel: self.cancel.clone(),
        }
    }
}

impl<C: Cloud, G: HealthGate> Context<C, G> {
    /// Journals (unless dry run) and reports an event.
    pub(crate) fn record(&self, event: Event) -> Result<(), JournalError> {
        let mut journal = self
            .journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let record = match journal.as_mut() {
            Some(journal) => journal.append(&event)?,
            None => Record {
                at_ms: now_ms(),
                run: "dry-run".to_owned(),
                event,
            },
        };
        drop(journal);
        self.observer.record(&record);
        Ok(())
    }

    pub(crate) fn check_cancelled(&self) -> Result<(), Failure> {
        if *self.cancel.borrow() {
            Err(Failure {
                service: None,
                reason: "interrupted".to_owned(),
            })
        } else {
            Ok(())
        }
    }

    /// Sleeps, unless cancelled first (or a dry run, which does not wait).
    pub(crate) async fn sleep(&self, duration: Duration) -> Result<(), Failure> {
        self.sleep_until(tokio::time::Instant::now() + duration)
            .await
    }

    /// Sleeps until `deadline`, unless cancelled first (or a dry run).
    pub(crate) async fn sleep_until(&self, deadline: tokio::time::Instant) -> Result<(), Failure> {
        if self.settings.dry_run {
            return self.check_cancelled();
        }
        let mut cancel = self.cancel.clone();
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            // A dropped sender cannot cancel: that branch is then disabled.
            Ok(_) = cancel.wait_for(|cancelled| *cancelled) => {}
        }
        self.check_cancelled()
    }
}

/// Carries out plans against a [`Cloud`].
pub struct Runner<C, G> {
    ctx: Context<C, G>,
}

impl<C: Cloud + 'static, G: HealthGate> Runner<C, G> {
    /// A runner; setting `cancel` to `true` interrupts the run (Ctrl-C), which
    /// then rolls back like any failure.
    pub fn new(
        cloud: C,
        gate: G,
        settings: Settings,
        observer: Arc<dyn Observer>,
        cancel: watch::Receiver<bool>,
    ) -> Self {
        Runner {
            ctx: Context {
                cloud: Arc::new(cloud),
                gate: Arc::new(gate),
                settings,
                journal: Arc::new(Mutex::new(None)),
                observer,
                cancel,
            },
        }
    }

    /// The cloud (for inspection after a run).
    pub fn cloud(&self) -> &C {
        &self.ctx.cloud
    }

    /// Executes the plan at `plan_path`, journaling to `journal_path`.
    pub async fn execute(
        &self,
        plan_path: &Path,
        journal_path: &Path,
    ) -> Result<RunReport, RunError> {
        let (plan, plan_sha256) = read_plan(plan_path)?;
        check_matrix(&plan, plan_path)?;
        let cutover = Cutover::from_plan(&plan)?;
        // Live state first: refuse drift and stale blues before anything is written.
        let mut blues = BTreeMap::new();
        for switch in cutover.switches() {
            let blue = self.live_blue(switch).await?;
            if blue != switch.planned_blue {
                return Err(RunError::Stale(format!(
                    "{} of `{}` forwards to {blue}, but the plan expects blue to be {}; plan again",
                    switch.route, switch.service, switch.planned_blue
                )));
            }
            blues.insert(switch.service.clone(), blue);
        }
        self.run(
            "execute",
            &cutover,
            plan_path,
            &plan_sha256,
            journal_path,
            blues,
            BTreeSet::new(),
        )
        .await
    }

    /// Continues the run recorded in `journal_path` after re-reading live state.
    pub async fn resume(&self, journal_path: &Path) -> Result<RunReport, RunError> {
        let (records, plan_path) = self.journal_run(journal_path)?;
        let (plan, plan_sha256) = read_plan(&plan_path)?;
        let cutover = Cutover::from_plan(&plan)?;
        let blues = recorded_blues(&records);
        let mut done = BTreeSet::new();
        let mut all_blues = BTreeMap::new();
        for switch in cutover.switches() {
            let forward = with_retries(&self.ctx, || self.ctx.cloud.forward(&switch.route)).await?;
            let blue = match blues.get(&switch.service) {
                Some(blue) => blue.clone(),
                None => self.live_blue(switch).await?,
            };
            let green = switch.other(&blue);
            if forward.percent_to(green) == 100 {
                done.insert(switch.service.clone());
            } else if !forward
                .targets
                .iter()
                .all(|(tg, w)| *w == 0 || tg == &blue || tg == green)
            {
                return Err(drift(switch, &forward));
            }
            all_blues.insert(switch.service.clone(), blue);
        }
        self.run(
            "resume",
            &cutover,
            &plan_path,
            &plan_sha256,
            journal_path,
            all_blues,
            done,
        )
        .await
    }

    /// Returns every service the journal's runs touched to its recorded blue,
    /// in reverse plan order.
    pub async fn rollback(&self, journal_path: &Path) -> Result<RunReport, RunError> {
        let (records, plan_path) = self.journal_run(journal_path)?;
        let (plan, plan_sha256) = read_plan(&plan_path)?;
        let cutover = Cutover::from_plan(&plan)?;
        let blues = recorded_blues(&records);
        let touched: BTreeSet<&str> = records
            .iter()
            .filter(|r| matches!(r.event, Event::RouteSet { .. }))
            .filter_map(|r| r.event.service())
            .collect();
        let services: Vec<String> = cutover.switches().map(|s| s.service.clone()).collect();
        let leases = self.lock(&services, &plan_sha256).await?;
        self.open_journal(journal_path)?;
        self.ctx.record(Event::RunStarted {
            command: "rollback".to_owned(),
            plan: plan_path.clone(),
            plan_sha256,
            services,
        })?;
        let order: Vec<&ServiceSwitch> = cutover
            .switches()
            .filter(|s| touched.contains(s.service.as_str()))
            .collect();
        let rolled_back = self.roll_back(&order, &blues).await;
        let outcome = if rolled_back.is_ok() {
            Outcome::RolledBack
        } else {
            Outcome::Failed
        };
        self.finish(outcome, leases).await?;
        let (rolled_back, failure) = match rolled_back {
            Ok(list) => (list, None),
            Err((list, reason)) => (list, Some(reason)),
        };
        Ok(RunReport {
            outcome,
            failure,
            switched: Vec::new(),
            rolled_back,
            journal: Some(journal_path.to_owned()),
        })
    }

    fn journal_run(&self, journal_path: &Path) -> Result<(Vec<Record>, PathBuf), RunError> {
        let records = read_journal(journal_path)?;
        let plan = records
            .iter()
            .find_map(|r| match &r.event {
                Event::RunStarted { plan, .. } => Some(plan.clone()),
                _ => None,
            })
            .ok_or_else(|| RunError::BadJournal {
                path: journal_path.to_owned(),
                problem: "records no run".to_owned(),
            })?;
        Ok((records, plan))
    }

    fn open_journal(&self, path: &Path) -> Result<(), JournalError> {
        if self.ctx.settings.dry_run {
            return Ok(());
        }
        let run = format!("{:x}-{}", now_ms(), std::process::id());
        let journal = Journal::open(path, &run)?;
        *self
            .ctx
            .journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(journal);
        Ok(())
    }

    /// Blue as the live route shows it: the one target group receiving all traffic.
    async fn live_blue(&self, switch: &ServiceSwitch) -> Result<String, RunError> {
        let forward = with_retries(&self.ctx, || self.ctx.cloud.forward(&switch.route)).await?;
        match forward.sole_target() {
            Some(tg) if switch.target_groups.iter().any(|t| t == tg) => Ok(tg.to_owned()),
            _ => Err(drift(switch, &forward)),
        }
    }

    async fn lock(&self, services: &[String], digest: &str) -> Result<Option<Leases>, RunError> {
        let Some(table) = &self.ctx.settings.lock_table else {
            self.ctx.observer.record(&Record {
                at_ms: now_ms(),
                run: String::new(),
                event: Event::NoLock,
            });
            return Ok(None);
        };
        let mut sorted = services.to_vec();
        sorted.sort();
        let leases = Leases {
            table: table.clone(),
            holder: holder(&format!("{:x}", now_ms())),
            plan_digest: digest.to_owned(),
            services: sorted,
            ttl: self.ctx.settings.lease_ttl,
        };
        // In a dry run the cloud only writes the calls down.
        leases.acquire(&*self.ctx.cloud).await?;
        Ok(Some(leases))
    }

    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        command: &str,
        cutover: &Cutover,
        plan_path: &Path,
        plan_sha256: &str,
        journal_path: &Path,
        blues: BTreeMap<String, String>,
        done: BTreeSet<String>,
    ) -> Result<RunReport, RunError> {
        let services: Vec<String> = cutover.switches().map(|s| s.service.clone()).collect();
        let leases = self.lock(&services, plan_sha256).await?;
        self.open_journal(journal_path)?;
        let plan_abs = std::path::absolute(plan_path).unwrap_or_else(|_| plan_path.to_owned());
        self.ctx.record(Event::RunStarted {
            command: command.to_owned(),
            plan: plan_abs,
            plan_sha256: plan_sha256.to_owned(),
            services: services.clone(),
        })?;
        if let Some(leases) = &leases {
            for service in &leases.services {
                self.ctx.record(Event::LockAcquired {
                    table: leases.table.clone(),
                    key: service.clone(),
                })?;
            }
        }
        for switch in cutover.switches() {
            let blue = &blues[&switch.service];
            self.ctx.record(Event::BlueGreen {
                service: switch.service.clone(),
                blue: blue.clone(),
                green: switch.other(blue).to_owned(),
            })?;
        }
        let renewal = leases.clone().map(|leases| self.renew(leases));

        let result = self.waves(cutover, &blues, &done).await;
        if let Some(renewal) = renewal {
            renewal.abort();
        }
        let (outcome, failure, rolled_back) = match result {
            Ok(()) if done.len() == services.len() => (Outcome::NothingToDo, None, Vec::new()),
            Ok(()) => {
                if self.ctx.settings.retire_blue {
                    self.retire_blue(cutover, &blues)
                        .await
                        .map_err(RunError::Cloud)?;
                }
                (Outcome::Succeeded, None, Vec::new())
            }
            Err(failure) => {
                let reason = match &failure.service {
                    Some(service) => format!("`{service}`: {}", failure.reason),
                    None => failure.reason.clone(),
                };
                self.ctx.record(Event::Failed {
                    service: failure.service.clone(),
                    reason: failure.reason.clone(),
                })?;
                if self.ctx.settings.rollback {
                    // Everything this cutover may have touched, restored in reverse plan order.
                    let order: Vec<&ServiceSwitch> = cutover.switches().collect();
                    match self.roll_back(&order, &blues).await {
                        Ok(list) => (Outcome::RolledBack, Some(reason), list),
                        Err((list, rollback_error)) => (
                            Outcome::Failed,
                            Some(format!("{reason}; rollback failed: {rollback_error}")),
                            list,
                        ),
                    }
                } else {
                    (Outcome::Failed, Some(reason), Vec::new())
                }
            }
        };
        self.finish(outcome, leases).await?;
        let switched = self.switched(cutover, &blues).await;
        Ok(RunReport {
            outcome,
            failure,
            switched,
            rolled_back,
            journal: (!self.ctx.settings.dry_run).then(|| journal_path.to_owned()),
        })
    }

    async fn finish(&self, outcome: Outcome, leases: Option<Leases>) -> Result<(), RunError> {
        self.ctx.record(Event::RunFinished {
            outcome: outcome.name().to_owned(),
        })?;
        if let Some(leases) = leases {
            leases.release(&*self.ctx.cloud).await?;
        }
        Ok(())
    }

    fn renew(&self, leases: Leases) -> tokio::task::JoinHandle<()> {
        let cloud = Arc::clone(&self.ctx.cloud);
        let every = leases.ttl / 3;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                // A failed renewal is retried at the next tick; the lease
                // outlives two missed renewals.
                let _ = leases.acquire(&*cloud).await;
            }
        })
    }

    async fn waves(
        &self,
        cutover: &Cutover,
        blues: &BTreeMap<String, String>,
        done: &BTreeSet<String>,
    ) -> Result<(), Failure> {
        for (index, wave) in cutover.waves.iter().enumerate() {
            let pending: Vec<&ServiceSwitch> =
                wave.iter().filter(|s| !done.contains(&s.service)).collect();
            if pending.is_empty() {
                continue;
            }
            self.ctx.record(Event::WaveStarted {
                wave: index + 1,
                services: pending.iter().map(|s| s.service.clone()).collect(),
            })?;
            let mut tasks = JoinSet::new();
            for switch in pending {
                let ctx = self.ctx.clone();
                let switch = switch.clone();
                let blue = blues[&switch.service].clone();
                tasks.spawn(async move { switch_service(&ctx, &switch, &blue).await });
            }
            while let Some(joined) = tasks.join_next().await {
                let result = joined.unwrap_or_else(|error| {
                    Err(Failure {
                        service: None,
                        reason: format!("a switch task failed: {error}"),
                    })
                });
                if let Err(failure) = result {
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    return Err(failure);
                }
            }
            self.ctx.record(Event::WaveDone { wave: index + 1 })?;
        }
        Ok(())
    }

    /// Restores `order` reversed; returns the services it changed.
    async fn roll_back(
        &self,
        order: &[&ServiceSwitch],
        blues: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, (Vec<String>, String)> {
        let reversed: Vec<&ServiceSwitch> = order.iter().rev().copied().collect();
        let record = |event| self.ctx.record(event).map_err(|e| e.to_string());
        let mut restored = Vec::new();
        record(Event::RollbackStarted {
            services: reversed.iter().map(|s| s.service.clone()).collect(),
        })
        .map_err(|e| (Vec::new(), e))?;
        for switch in reversed {
            let Some(blue) = blues.get(&switch.service) else {
                continue;
            };
            match restore(&self.ctx, switch, blue).await {
                Ok(changed) => {
                    if changed {
                        restored.push(switch.service.clone());
                        record(Event::RouteRestored {
                            service: switch.service.clone(),
                            blue: blue.clone(),
                        })
                        .map_err(|e| (restored.clone(), e))?;
                    }
                }
                Err(error) => return Err((restored, format!("`{}`: {error}", switch.service))),
            }
        }
        Ok(restored)
    }

    async fn retire_blue(
        &self,
        cutover: &Cutover,
        blues: &BTreeMap<String, String>,
    ) -> Result<(), CloudError> {
        for switch in cutover.switches() {
            let Some((cluster, ecs_service)) = switch.ecs_service_for(&blues[&switch.service])
            else {
                continue;
            };
            with_retries(&self.ctx, || {
                self.ctx.cloud.scale_service(cluster, ecs_service, 0)
            })
            .await?;
            self.ctx
                .record(Event::BlueRetired {
                    service: switch.service.clone(),
                    ecs_service: ecs_service.to_owned(),
                })
                .map_err(|e| CloudError::Service {
                    operation: "journal",
                    message: e.to_string(),
                    throttled: false,
                })?;
        }
        Ok(())
    }

    /// Services whose route is fully on green now.
    async fn switched(&self, cutover: &Cutover, blues: &BTreeMap<String, String>) -> Vec<String> {
        let mut switched = Vec::new();
        for switch in cutover.switches() {
            let green = switch.other(&blues[&switch.service]);
            if let Ok(forward) = self.ctx.cloud.forward(&switch.route).await
                && forward.percent_to(green) == 100
            {
                switched.push(switch.service.clone());
            }
        }
        switched
    }
}

fn drift(switch: &ServiceSwitch, forward: &Forward) -> RunError {
    let targets: Vec<String> = forward
        .targets
        .iter()
        .map(|(tg, w)| format!("{tg} (weight {w})"))
        .collect();
    RunError::Drift(format!(
        "{} of `{}` forwards to {}; expected all traffic on one of {} and {}",
        switch.route,
        switch.service,
        targets.join(", "),
        switch.target_groups[0],
        switch.target_groups[1]
    ))
}

fn recorded_blues(records: &[Record]) -> BTreeMap<String, String> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::BlueGreen { service, blue, .. } => Some((service.clone(), blue.clone())),
            _ => None,
        })
        .collect()
}

/// Reads a plan document (JSON or YAML) and its digest.
pub fn read_plan(path: &Path) -> Result<(PlanDocument, String), RunError> {
    let bytes = std::fs::read(path).map_err(|source| RunError::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let plan: PlanDocument = serde_json::from_str(&text)
        .map_err(|e| e.to_string())
        .or_else(|json_error| serde_saphyr::from_str(&text).map_err(|_| json_error))
        .map_err(|problem| RunError::BadJournal {
            path: path.to_owned(),
            problem: format!("is not a plan document: {problem}"),
        })?;
    Ok((plan, sha256_hex(&bytes)))
}

/// Refuses a plan whose matrix (resolved relative to the plan file) changed.
pub fn check_matrix(plan: &PlanDocument, plan_path: &Path) -> Result<(), RunError> {
    let matrix = matrix_path(plan, plan_path);
    let bytes = std::fs::read(&matrix).map_err(|source| RunError::Read {
        path: matrix.clone(),
        source,
    })?;
    let digest = sha256_hex(&bytes);
    if digest != plan.matrix.sha256 {
        return Err(RunError::Stale(format!(
            "the matrix `{}` changed since the plan was made (SHA-256 {} now, {} in the plan); plan again",
            matrix.display(),
            short(&digest),
            short(&plan.matrix.sha256)
        )));
    }
    Ok(())
}

/// The matrix file of a plan: its recorded path, relative to the plan file's directory.
pub fn matrix_path(plan: &PlanDocument, plan_path: &Path) -> PathBuf {
    let recorded = Path::new(&plan.matrix.path);
    if recorded.is_absolute() {
        return recorded.to_owned();
    }
    plan_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(recorded)
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}
