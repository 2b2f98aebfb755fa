//! A run: `execute` a plan, `resume` an interrupted run, or `rollback` what a
//! run touched; with the journal, the lock, the stale-plan and drift checks,
//! wave concurrency, cancellation and reverse-order rollback.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::aws::{Cloud, CloudError, Forward};
use crate::context::{Context, Failure};
use crate::cutover::{Cutover, ServiceSwitch};
use crate::gate::HealthGate;
use crate::journal::{Event, Journal, JournalError, Record, now_ms, read_journal};
use crate::lock::{Leases, holder};
use crate::plan_file::{check_matrix, read_plan};
use crate::report::{Outcome, RunError, RunReport};
use crate::settings::{Observer, Settings};
use crate::switch::{restore, switch_service, with_retries};

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
            .ok_or_else(|| RunError::BadFile {
                path: journal_path.to_owned(),
                problem: "is a journal that records no run".to_owned(),
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

pub(crate) fn drift(switch: &ServiceSwitch, forward: &Forward) -> RunError {
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
