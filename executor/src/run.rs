//! A run: `execute` a plan, `resume` an interrupted run, or `rollback` what a
//! run may have touched; with the lock held from the first look to the last
//! record, the stale-plan, drift and `current` checks, wave concurrency,
//! cancellation and reverse-order rollback.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use cutover_planner::PlanDocument;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::alarms::Watched;
use crate::aws::{ActionRecord, Cloud, CloudError, Forward, GroupCapacity, Route};
use crate::checks::CheckPlace;
use crate::context::{Context, Failure};
use crate::cutover::{Cutover, ServiceSwitch};
use crate::gate::HealthGate;
use crate::journal::{Event, Journal, JournalError, Record, now_ms};
use crate::lock::{Leases, holder};
use crate::notify::{Announcer, NotifiedService, Outbox, RunFacts};
use crate::plan_file::{check_matrix, matrix_path, read_plan};
use crate::preflight::{Recorded, observe_sides};
use crate::report::{Outcome, PauseReport, RunError, RunReport, Side};
use crate::settings::{Confirm, Observer, Prepare, Settings};
use crate::switch::{
    Sides, journal_error, prepare, restore, scale, scale_group, switch_service, with_retries,
};

/// Carries out plans against a [`Cloud`].
pub struct Runner<C, G> {
    ctx: Context<C, G>,
    confirm: Option<Arc<dyn Confirm>>,
}

/// Stops journal writes for good: a second signal takes it before the
/// binary exits, so that no record is left half written.
#[derive(Clone)]
pub struct Halter {
    journal: Arc<Mutex<Option<Journal>>>,
}

impl Halter {
    /// Records [`Event::Halted`] and returns the journal's lock; hold it
    /// until the process exits.
    pub fn halt(&self, reason: &str) -> MutexGuard<'_, Option<Journal>> {
        let mut journal = self
            .journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(journal) = journal.as_mut() {
            let _ = journal.append(&Event::Halted {
                reason: reason.to_owned(),
            });
        }
        journal
    }
}

/// The lock of a run: its leases and the task that renews them.
struct HeldLock {
    leases: Leases,
    renewal: tokio::task::JoinHandle<()>,
}

/// What a run starts from, once every check has passed.
struct Start<'a> {
    command: &'static str,
    cutover: &'a Cutover,
    plan_path: &'a Path,
    plan_sha256: &'a str,
    journal_path: &'a Path,
    /// Per service: blue, capacity, container.
    sides: BTreeMap<String, Sides>,
    /// Where integration checks run.
    place: CheckPlace,
    /// Routes and capacities to record as first observed (absent when the
    /// journal has them already).
    first_seen: Vec<Event>,
}

impl<C: Cloud + 'static, G: HealthGate> Runner<C, G> {
    /// A runner; setting `cancel` to `true` interrupts the run (a signal),
    /// which then rolls back like any failure.
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
                stop: Arc::new(watch::Sender::new(None)),
                events: Arc::default(),
            },
            confirm: None,
        }
    }

    /// Asks `confirm` before each wave (`--confirm`); a wave not confirmed
    /// stops the run as a pause.
    #[must_use]
    pub fn with_confirm(mut self, confirm: Arc<dyn Confirm>) -> Self {
        self.confirm = Some(confirm);
        self
    }

    /// The cloud (for inspection after a run).
    pub fn cloud(&self) -> &C {
        &self.ctx.cloud
    }

    /// A handle that stops journal writes, for a second signal.
    pub fn halter(&self) -> Halter {
        Halter {
            journal: Arc::clone(&self.ctx.journal),
        }
    }

    /// Executes the plan at `plan_path`, journaling to `journal_path`.
    pub async fn execute(
        &self,
        plan_path: &Path,
        journal_path: &Path,
    ) -> Result<RunReport, RunError> {
        let (plan, plan_sha256) = read_plan(plan_path)?;
        let recorded = Recorded::read_if_present(journal_path)?;
        recorded.refuse_other_plan(journal_path, &plan_sha256)?;
        self.refuse_pauses_beyond(plan.waves.len())?;
        let lock = self.lock(&plan, &plan_sha256).await?;
        let checked = async {
            check_matrix(&plan, plan_path)?;
            let cutover = Cutover::from_plan(&plan)?;
            let live = self.check_live_state(&cutover).await?;
            Ok((cutover, live))
        }
        .await;
        let (cutover, (sides, first_seen)) = match checked {
            Ok(checked) => checked,
            Err(error) => {
                self.unlock(lock).await;
                return Err(error);
            }
        };
        let start = Start {
            command: "execute",
            cutover: &cutover,
            plan_path,
            plan_sha256: &plan_sha256,
            journal_path,
            sides,
            place: check_place(&plan, plan_path),
            first_seen,
        };
        self.run(start, lock, BTreeSet::new(), BTreeMap::new())
            .await
    }

    /// Continues the run recorded in `journal_path` after re-reading the live
    /// route of every service of the plan. A service counts as done only
    /// when its route is fully on green and its last bake finished; one
    /// interrupted mid-bake has its gates checked and bakes again.
    pub async fn resume(&self, journal_path: &Path) -> Result<RunReport, RunError> {
        let recorded = Recorded::read(journal_path)?;
        let (plan, plan_path, plan_sha256) = recorded.plan(journal_path)?;
        let cutover = Cutover::from_plan(&plan)?;
        self.refuse_pauses_beyond(plan.waves.len())?;
        let lock = self.lock(&plan, &plan_sha256).await?;
        let checked = async {
            crate::alarms::refuse_unknown(&self.ctx, &cutover).await?;
            let mut sides = BTreeMap::new();
            let mut first_seen = Vec::new();
            let mut done = BTreeSet::new();
            let mut from = BTreeMap::new();
            for switch in cutover.switches() {
                let live = with_retries(&self.ctx, || self.ctx.cloud.route(&switch.route)).await?;
                let blue = match recorded.blue(&switch.service) {
                    Some(blue) => blue.to_owned(),
                    None => live_blue(switch, &live.forward)?,
                };
                let green = switch.other(&blue).to_owned();
                if !live
                    .forward
                    .targets
                    .iter()
                    .all(|(tg, w)| *w == 0 || *tg == blue || *tg == green)
                {
                    return Err(drift(switch, &live.forward));
                }
                let (mut side, capacities) = observe_sides(&self.ctx, switch, &blue).await?;
                first_seen.extend(recorded.missing_first_seen(switch, &live.actions, capacities));
                if let Some(desired) = recorded.blue_desired(&switch.service) {
                    side.blue_desired = Some(desired);
                }
                if let Some(capacity) = recorded.blue_capacity(&switch.service) {
                    side.blue_capacity = Some(capacity);
                }
                let percent = live.forward.percent_to(&green);
                if percent == 100 && recorded.switched(&switch.service) {
                    done.insert(switch.service.clone());
                } else {
                    from.insert(switch.service.clone(), percent);
                }
                sides.insert(switch.service.clone(), side);
            }
            Ok((sides, first_seen, done, from))
        }
        .await;
        let (sides, first_seen, done, from) = match checked {
            Ok(checked) => checked,
            Err(error) => {
                self.unlock(lock).await;
                return Err(error);
            }
        };
        let start = Start {
            command: "resume",
            cutover: &cutover,
            plan_path: &plan_path,
            plan_sha256: &plan_sha256,
            journal_path,
            sides,
            place: check_place(&plan, &plan_path),
            first_seen,
        };
        self.run(start, lock, done, from).await
    }

    /// Returns every service of the plan to its recorded blue, in reverse
    /// plan order, after re-reading each live route (whatever the journal
    /// says was touched) and bringing blue's capacity back first.
    pub async fn rollback(&self, journal_path: &Path) -> Result<RunReport, RunError> {
        let recorded = Recorded::read(journal_path)?;
        let (plan, plan_path, plan_sha256) = recorded.plan(journal_path)?;
        let cutover = Cutover::from_plan(&plan)?;
        let lock = self.lock(&plan, &plan_sha256).await?;
        let run = match self.open_journal(journal_path) {
            Ok(run) => run,
            Err(error) => {
                self.unlock(lock).await;
                return Err(error.into());
            }
        };
        self.clear_events();
        let services: Vec<String> = cutover.switches().map(|s| s.service.clone()).collect();
        self.ctx.record(Event::RunStarted {
            command: "rollback".to_owned(),
            plan: plan_path.clone(),
            plan_sha256: plan_sha256.clone(),
            services,
        })?;
        let announcer = self.announcer("rollback", &cutover, &plan_path, &plan_sha256, &run);
        announcer.run_started();
        let sides: BTreeMap<String, Sides> = cutover
            .switches()
            .map(|switch| {
                let side = Sides {
                    blue: recorded
                        .blue(&switch.service)
                        .unwrap_or(&switch.planned_blue)
                        .to_owned(),
                    blue_desired: recorded.blue_desired(&switch.service),
                    container: None,
                    blue_capacity: recorded.blue_capacity(&switch.service),
                };
                (switch.service.clone(), side)
            })
            .collect();
        let order: Vec<&ServiceSwitch> = cutover.switches().collect();
        let rolled_back = self.roll_back(&order, &sides, &announcer, None).await;
        let outcome = if rolled_back.is_ok() {
            Outcome::RolledBack
        } else {
            Outcome::Failed
        };
        let (rolled_back, failure) = match rolled_back {
            Ok(list) => (list, None),
            Err((list, reason)) => (list, Some(reason)),
        };
        let mut report = self
            .report(
                "rollback",
                &cutover,
                &sides,
                outcome,
                failure,
                rolled_back,
                None,
            )
            .await;
        report.journal = Some(journal_path.to_owned());
        self.finish(outcome, report.failure.as_deref(), lock, announcer)
            .await?;
        Ok(report)
    }

    /// `--pause-after N` must leave a wave to pause before.
    fn refuse_pauses_beyond(&self, waves: usize) -> Result<(), RunError> {
        match self
            .ctx
            .settings
            .pause_after
            .iter()
            .find(|n| **n == 0 || **n >= waves)
        {
            Some(n) => Err(RunError::Usage(format!(
                "--pause-after {n}: the plan has {waves} wave{}; pause after one of waves 1 to {}",
                if waves == 1 { "" } else { "s" },
                waves.saturating_sub(1)
            ))),
            None => Ok(()),
        }
    }

    fn clear_events(&self) {
        self.ctx
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// The notifications of this run (none in a dry run or without `--notify`).
    fn announcer(
        &self,
        command: &str,
        cutover: &Cutover,
        plan_path: &Path,
        plan_sha256: &str,
        run: &str,
    ) -> Announcer {
        let facts = RunFacts {
            command: command.to_owned(),
            plan: plan_path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            plan_sha256: plan_sha256.to_owned(),
            run: run.to_owned(),
            waves: cutover
                .waves
                .iter()
                .map(|wave| {
                    wave.iter()
                        .map(|s| NotifiedService {
                            service: s.service.clone(),
                            from: s.from.clone(),
                            to: s.to.clone(),
                        })
                        .collect()
                })
                .collect(),
        };
        let settings = &self.ctx.settings;
        let outbox = (!settings.dry_run && !settings.notify.is_empty()).then(|| {
            let ctx = self.ctx.clone();
            Outbox::start(settings.notify.clone(), move |undelivered| {
                let _ = ctx.record(Event::NotificationFailed {
                    host: undelivered.host,
                    notification: undelivered.event.to_owned(),
                    error: undelivered.error,
                });
            })
        });
        Announcer::new(outbox, facts)
    }

    /// The report of a run: every service of the plan with its wave,
    /// releases, final side (read from its route) and the gates of this run.
    #[allow(clippy::too_many_arguments)]
    async fn report(
        &self,
        command: &str,
        cutover: &Cutover,
        sides: &BTreeMap<String, Sides>,
        outcome: Outcome,
        failure: Option<String>,
        rolled_back: Vec<String>,
        paused: Option<PauseReport>,
    ) -> RunReport {
        let events = self
            .ctx
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut services = Vec::new();
        let mut switched = Vec::new();
        for switch in cutover.switches() {
            let blue = sides
                .get(&switch.service)
                .map_or(switch.planned_blue.as_str(), |s| s.blue.as_str());
            let green = switch.other(blue);
            let final_side = match self.ctx.cloud.forward(&switch.route).await {
                Ok(forward) if forward.percent_to(green) == 100 => Side::Green,
                Ok(forward) if forward.percent_to(blue) == 100 => Side::Blue,
                Ok(_) => Side::Split,
                Err(_) => Side::Unknown,
            };
            if final_side == Side::Green {
                switched.push(switch.service.clone());
            }
            services.push(crate::report::ServiceReport {
                service: switch.service.clone(),
                wave: switch.wave,
                from: switch.from.clone(),
                to: switch.to.clone(),
                final_side,
                gates: crate::report::gates_of(&switch.service, &events),
            });
        }
        RunReport {
            command: command.to_owned(),
            outcome,
            failure,
            switched,
            rolled_back,
            journal: None,
            services,
            paused,
        }
    }

    /// Everything `execute` checks on AWS before it changes anything: each
    /// route has exactly one forward, sends all traffic to the plan's blue,
    /// and blue runs the matrix's `current` (image, Actuator).
    async fn check_live_state(
        &self,
        cutover: &Cutover,
    ) -> Result<(BTreeMap<String, Sides>, Vec<Event>), RunError> {
        let mut sides = BTreeMap::new();
        let mut first_seen = Vec::new();
        for switch in cutover.switches() {
            let live = with_retries(&self.ctx, || self.ctx.cloud.route(&switch.route)).await?;
            if let Some(test_route) = &switch.test_route {
                with_retries(&self.ctx, || self.ctx.cloud.route(test_route)).await?;
            }
            let blue = live_blue(switch, &live.forward)?;
            if blue != switch.planned_blue {
                return Err(RunError::Stale(format!(
                    "{} of `{}` forwards to {blue}, but the plan expects blue to be {}; plan again",
                    switch.route, switch.service, switch.planned_blue
                )));
            }
            let (side, capacities) = observe_sides(&self.ctx, switch, &blue).await?;
            if switch.live_health.is_some() {
                self.ctx.gate.check_live(switch).await.map_err(|problem| {
                    RunError::Drift(format!(
                        "`{}`: the production route's Actuator does not show the current release {}: {problem}",
                        switch.service, switch.from
                    ))
                })?;
            }
            first_seen.extend(Recorded::default().missing_first_seen(
                switch,
                &live.actions,
                capacities,
            ));
            sides.insert(switch.service.clone(), side);
        }
        crate::alarms::refuse_unknown(&self.ctx, cutover).await?;
        Ok((sides, first_seen))
    }

    /// Opens the journal; returns the run's id.
    fn open_journal(&self, path: &Path) -> Result<String, JournalError> {
        if self.ctx.settings.dry_run {
            return Ok("dry-run".to_owned());
        }
        let run = format!("{:x}-{}", now_ms(), std::process::id());
        let journal = Journal::open(path, &run)?;
        *self
            .ctx
            .journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(journal);
        Ok(run)
    }

    /// Takes the lock of every service of the plan and starts renewing it.
    async fn lock(&self, plan: &PlanDocument, digest: &str) -> Result<Option<HeldLock>, RunError> {
        let Some(table) = &self.ctx.settings.lock_table else {
            self.ctx.observer.record(&Record {
                at_ms: now_ms(),
                run: String::new(),
                event: Event::NoLock,
            });
            return Ok(None);
        };
        let mut services: Vec<String> = plan
            .waves
            .iter()
            .flat_map(|wave| wave.services.iter().map(|step| step.service.clone()))
            .collect();
        services.sort();
        let leases = Leases {
            table: table.clone(),
            holder: holder(&format!("{:x}", now_ms())),
            plan_digest: digest.to_owned(),
            services,
            ttl: self.ctx.settings.lease_ttl,
        };
        // In a dry run the cloud only writes the calls down.
        leases.acquire(&*self.ctx.cloud).await?;
        let renewal = self.renew(leases.clone());
        Ok(Some(HeldLock { leases, renewal }))
    }

    /// Renews the leases every third of their lifetime. A failed renewal is
    /// tried again until the lease would expire; a lease taken by someone
    /// else, or about to expire, stops the run at its next safe point.
    fn renew(&self, leases: Leases) -> tokio::task::JoinHandle<()> {
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            let every = leases.ttl / 3;
            let pause = (leases.ttl / 30).clamp(
                std::time::Duration::from_millis(50),
                std::time::Duration::from_secs(5),
            );
            let mut expires = tokio::time::Instant::now() + leases.ttl;
            loop {
                tokio::time::sleep(every).await;
                loop {
                    match leases.renew(&*ctx.cloud).await {
                        Ok(()) => {
                            expires = tokio::time::Instant::now() + leases.ttl;
                            break;
                        }
                        Err(CloudError::LockHeld(held)) => {
                            ctx.stop(format!(
                                "the lock was lost: `{}` is now held by {}",
                                held.key, held.holder
                            ));
                            return;
                        }
                        Err(error) if tokio::time::Instant::now() + pause * 2 >= expires => {
                            ctx.stop(format!(
                                "the lock could not be renewed before it expired: {error}"
                            ));
                            return;
                        }
                        Err(_) => tokio::time::sleep(pause).await,
                    }
                }
            }
        })
    }

    /// Stops renewing and releases the leases (an expired lease is free already).
    async fn unlock(&self, lock: Option<HeldLock>) -> Option<CloudError> {
        let lock = lock?;
        lock.renewal.abort();
        lock.leases.release(&*self.ctx.cloud).await.err()
    }

    async fn run(
        &self,
        start: Start<'_>,
        lock: Option<HeldLock>,
        done: BTreeSet<String>,
        from: BTreeMap<String, u32>,
    ) -> Result<RunReport, RunError> {
        let cutover = start.cutover;
        let run = match self.open_journal(start.journal_path) {
            Ok(run) => run,
            Err(error) => {
                self.unlock(lock).await;
                return Err(error.into());
            }
        };
        self.clear_events();
        let services: Vec<String> = cutover.switches().map(|s| s.service.clone()).collect();
        let plan_abs =
            std::path::absolute(start.plan_path).unwrap_or_else(|_| start.plan_path.to_owned());
        self.ctx.record(Event::RunStarted {
            command: start.command.to_owned(),
            plan: plan_abs,
            plan_sha256: start.plan_sha256.to_owned(),
            services: services.clone(),
        })?;
        let announcer = self.announcer(
            start.command,
            cutover,
            start.plan_path,
            start.plan_sha256,
            &run,
        );
        announcer.run_started();
        if let Some(lock) = &lock {
            for service in &lock.leases.services {
                self.ctx.record(Event::LockAcquired {
                    table: lock.leases.table.clone(),
                    key: service.clone(),
                })?;
            }
        }
        for event in start.first_seen {
            self.ctx.record(event)?;
        }
        let sides = &start.sides;
        for switch in cutover.switches() {
            let blue = &sides[&switch.service].blue;
            self.ctx.record(Event::BlueGreen {
                service: switch.service.clone(),
                blue: blue.clone(),
                green: switch.other(blue).to_owned(),
            })?;
        }

        let result = self
            .waves(cutover, sides, &done, &from, &start.place, &announcer)
            .await;
        let mut paused = None;
        let (outcome, failure, rolled_back) = match result {
            Ok(Some(pause)) => {
                self.ctx.record(Event::Paused {
                    wave: pause.after_wave,
                    next_wave: pause.next_wave,
                    reason: pause.reason.clone(),
                })?;
                announcer.paused(
                    pause.after_wave,
                    pause.next_wave,
                    &start.journal_path.display().to_string(),
                );
                paused = Some(pause);
                (Outcome::Paused, None, Vec::new())
            }
            // A resumed run whose switches were all done still retires blue
            // when asked: the run it resumes may have died before or while
            // doing it.
            Ok(None) => match self.retire_blue(cutover, sides).await {
                Ok(0) if done.len() == services.len() => (Outcome::NothingToDo, None, Vec::new()),
                Ok(_) => (Outcome::Succeeded, None, Vec::new()),
                Err(error) => (
                    Outcome::Failed,
                    Some(format!("retiring blue failed: {error}")),
                    Vec::new(),
                ),
            },
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
                    // Every service of the cutover, restored in reverse plan order.
                    let order: Vec<&ServiceSwitch> = cutover.switches().collect();
                    match self
                        .roll_back(&order, sides, &announcer, Some(&reason))
                        .await
                    {
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
        let mut report = self
            .report(
                start.command,
                cutover,
                sides,
                outcome,
                failure,
                rolled_back,
                paused,
            )
            .await;
        report.journal = (!self.ctx.settings.dry_run).then(|| start.journal_path.to_owned());
        self.finish(outcome, report.failure.as_deref(), lock, announcer)
            .await?;
        Ok(report)
    }

    /// The last notification is delivered (or given up), then the last
    /// record, then the lock goes.
    async fn finish(
        &self,
        outcome: Outcome,
        failure: Option<&str>,
        lock: Option<HeldLock>,
        announcer: Announcer,
    ) -> Result<(), RunError> {
        announcer.run_finished(outcome.name(), failure);
        announcer.drain().await;
        let recorded = self.ctx.record(Event::RunFinished {
            outcome: outcome.name().to_owned(),
        });
        let released = self.unlock(lock).await;
        recorded?;
        released.map_or(Ok(()), |error| Err(error.into()))
    }

    /// The waves not done yet; `Some` when the run pauses after one (or a
    /// wave is not confirmed).
    async fn waves(
        &self,
        cutover: &Cutover,
        sides: &BTreeMap<String, Sides>,
        done: &BTreeSet<String>,
        from: &BTreeMap<String, u32>,
        place: &CheckPlace,
        announcer: &Announcer,
    ) -> Result<Option<PauseReport>, Failure> {
        let total = cutover.waves.len();
        if self.ctx.settings.prepare == Prepare::Ahead {
            self.prepare_ahead(cutover, sides, done).await?;
        }
        for (index, wave) in cutover.waves.iter().enumerate() {
            let number = index + 1;
            let pending: Vec<&ServiceSwitch> =
                wave.iter().filter(|s| !done.contains(&s.service)).collect();
            if pending.is_empty() {
                continue;
            }
            self.ctx.check_cancelled()?;
            if !self.confirmed(number, total, &pending).await {
                return Ok(Some(PauseReport {
                    after_wave: index,
                    next_wave: number,
                    reason: "not confirmed".to_owned(),
                }));
            }
            self.ctx.record(Event::WaveStarted {
                wave: number,
                services: pending.iter().map(|s| s.service.clone()).collect(),
            })?;
            announcer.wave_started(number);
            let whole: Vec<&ServiceSwitch> = wave.iter().collect();
            let watched: Arc<[Watched]> = crate::alarms::watched(&whole).into();
            let mut tasks = JoinSet::new();
            for switch in pending {
                let ctx = self.ctx.clone();
                let switch = switch.clone();
                let side = sides[&switch.service].clone();
                let from_percent = from.get(&switch.service).copied().unwrap_or(0);
                let watched = Arc::clone(&watched);
                let place = place.clone();
                tasks.spawn(async move {
                    switch_service(&ctx, &switch, &side, from_percent, &watched, &place).await
                });
            }
            let result = self.watch_wave(number, &mut tasks, &watched).await;
            if result.is_err() {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
            }
            result?;
            self.ctx.record(Event::WaveDone { wave: number })?;
            announcer.wave_baked(number);
            if self.ctx.settings.pause_after.contains(&number) && number < total {
                return Ok(Some(PauseReport {
                    after_wave: number,
                    next_wave: number + 1,
                    reason: format!("--pause-after {number}"),
                }));
            }
        }
        Ok(None)
    }

    /// Prepares the green of every service not done yet, all at once
    /// (`--prepare ahead`); the first failure stops the others. The waves
    /// then find each green ready and repeat nothing.
    async fn prepare_ahead(
        &self,
        cutover: &Cutover,
        sides: &BTreeMap<String, Sides>,
        done: &BTreeSet<String>,
    ) -> Result<(), Failure> {
        let mut tasks = JoinSet::new();
        for switch in cutover.switches().filter(|s| !done.contains(&s.service)) {
            let ctx = self.ctx.clone();
            let switch = switch.clone();
            let side = sides[&switch.service].clone();
            tasks.spawn(async move {
                let green = switch.other(&side.blue).to_owned();
                prepare(&ctx, &switch, &side, &green).await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let result = joined.unwrap_or_else(|error| {
                Err(Failure {
                    service: None,
                    reason: format!("a preparation task failed: {error}"),
                })
            });
            if result.is_err() {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
            }
            result?;
        }
        Ok(())
    }

    /// Waits for a wave's switches while its alarms are polled every poll
    /// interval, and reads them once more when every switch has baked.
    async fn watch_wave(
        &self,
        wave: usize,
        tasks: &mut JoinSet<Result<(), Failure>>,
        watched: &[Watched],
    ) -> Result<(), Failure> {
        let polling = !watched.is_empty() && !self.ctx.settings.dry_run;
        let alarm_failure = |reason: String| Failure {
            service: None,
            reason: format!("while wave {wave} switched and baked, {reason}"),
        };
        let mut next = tokio::time::Instant::now() + self.ctx.settings.poll_interval;
        loop {
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    None => break,
                    Some(joined) => joined.unwrap_or_else(|error| {
                        Err(Failure {
                            service: None,
                            reason: format!("a switch task failed: {error}"),
                        })
                    })?,
                },
                () = tokio::time::sleep_until(next), if polling => {
                    crate::alarms::check(&self.ctx, watched)
                        .await
                        .map_err(alarm_failure)?;
                    next = tokio::time::Instant::now() + self.ctx.settings.poll_interval;
                }
            }
        }
        if polling {
            crate::alarms::check(&self.ctx, watched)
                .await
                .map_err(alarm_failure)?;
        }
        Ok(())
    }

    /// Asks before a wave when `--confirm` is on.
    async fn confirmed(&self, wave: usize, total: usize, pending: &[&ServiceSwitch]) -> bool {
        let Some(confirm) = &self.confirm else {
            return true;
        };
        let services = pending
            .iter()
            .map(|s| format!("`{}` {} → {}", s.service, s.from, s.to))
            .collect::<Vec<_>>()
            .join(", ");
        let question = format!("Start wave {wave} of {total} ({services})? [y/N] ");
        let confirm = Arc::clone(confirm);
        tokio::task::spawn_blocking(move || confirm.confirm(&question))
            .await
            .unwrap_or(false)
    }

    /// Restores `order` reversed, stopping at the first service whose blue
    /// cannot take its traffic back (rolling back the services before it
    /// would break the plan's safety); returns the services it changed.
    async fn roll_back(
        &self,
        order: &[&ServiceSwitch],
        sides: &BTreeMap<String, Sides>,
        announcer: &Announcer,
        failure: Option<&str>,
    ) -> Result<Vec<String>, (Vec<String>, String)> {
        let reversed: Vec<&ServiceSwitch> = order.iter().rev().copied().collect();
        let record = |event| self.ctx.record(event).map_err(|e| e.to_string());
        let mut restored = Vec::new();
        let services: Vec<String> = reversed.iter().map(|s| s.service.clone()).collect();
        announcer.rollback_started(&services, failure);
        record(Event::RollbackStarted { services }).map_err(|e| (Vec::new(), e))?;
        for switch in reversed {
            let Some(side) = sides.get(&switch.service) else {
                continue;
            };
            match restore(&self.ctx, switch, side).await {
                Ok(true) => {
                    restored.push(switch.service.clone());
                    record(Event::RouteRestored {
                        service: switch.service.clone(),
                        blue: side.blue.clone(),
                    })
                    .map_err(|e| (restored.clone(), e))?;
                }
                Ok(false) => {}
                Err(error) => return Err((restored, format!("`{}`: {error}", switch.service))),
            }
        }
        Ok(restored)
    }

    /// With `--retire-blue`, after the whole plan has baked: each blue ECS
    /// service's or Auto Scaling group's capacity is recorded, then it is
    /// scaled to 0 (a group's min and desired; its max stays). Returns how
    /// many it scaled (those at 0 already are left alone).
    async fn retire_blue(
        &self,
        cutover: &Cutover,
        sides: &BTreeMap<String, Sides>,
    ) -> Result<usize, CloudError> {
        let mut retired = 0;
        if !self.ctx.settings.retire_blue {
            return Ok(retired);
        }
        for switch in cutover.switches() {
            let blue = &sides[&switch.service].blue;
            if let Some(group) = switch.group_for(blue) {
                retired += usize::from(self.retire_group(switch, group).await?);
                continue;
            }
            let Some((cluster, ecs_service)) = switch.ecs_service_for(blue) else {
                continue;
            };
            let state = with_retries(&self.ctx, || {
                self.ctx.cloud.ecs_service(cluster, ecs_service)
            })
            .await?;
            if state.desired == 0 {
                continue;
            }
            self.ctx
                .record(Event::BlueRetired {
                    service: switch.service.clone(),
                    ecs_service: ecs_service.to_owned(),
                    desired_before: state.desired,
                })
                .map_err(journal_error)?;
            scale(&self.ctx, &switch.service, cluster, ecs_service, 0).await?;
            retired += 1;
        }
        Ok(retired)
    }

    /// Records blue's group size and scales it to 0; `false` when it is at 0 already.
    async fn retire_group(&self, switch: &ServiceSwitch, group: &str) -> Result<bool, CloudError> {
        let state = with_retries(&self.ctx, || self.ctx.cloud.auto_scaling_group(group)).await?;
        let before = state.capacity;
        if before.desired == 0 && before.min == 0 {
            return Ok(false);
        }
        self.ctx
            .record(Event::GroupRetired {
                service: switch.service.clone(),
                group: group.to_owned(),
                capacity_before: before,
            })
            .map_err(journal_error)?;
        let retired = GroupCapacity {
            min: 0,
            desired: 0,
            max: before.max,
        };
        scale_group(&self.ctx, &switch.service, group, retired).await?;
        Ok(true)
    }
}

/// Where checks run: the plan (absolute) and the matrix file's folder.
fn check_place(plan: &PlanDocument, plan_path: &Path) -> CheckPlace {
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let matrix = absolute(&matrix_path(plan, plan_path));
    CheckPlace {
        plan: absolute(plan_path),
        folder: matrix
            .parent()
            .map_or_else(|| std::path::PathBuf::from("."), Path::to_owned),
    }
}

/// Blue as the live route shows it: the one target group receiving all traffic.
pub(crate) fn live_blue(switch: &ServiceSwitch, forward: &Forward) -> Result<String, RunError> {
    match forward.sole_target() {
        Some(side) if switch.sides.iter().any(|s| s == side) => Ok(side.to_owned()),
        _ => Err(drift(switch, forward)),
    }
}

pub(crate) fn drift(switch: &ServiceSwitch, forward: &Forward) -> RunError {
    if let Route::TargetGroup(_) = switch.route {
        let attached: Vec<String> = forward
            .targets
            .iter()
            .map(|(group, _)| format!("`{group}`"))
            .collect();
        let found = if attached.is_empty() {
            "no Auto Scaling group".to_owned()
        } else {
            attached.join(" and ")
        };
        return RunError::Drift(format!(
            "{} of `{}` are {found}; expected exactly one of `{}` and `{}` (both attached is a cutover in progress: `cutover resume` or `cutover rollback` with its journal)",
            switch.route, switch.service, switch.sides[0], switch.sides[1]
        ));
    }
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
        switch.sides[0],
        switch.sides[1]
    ))
}

/// Kept for the journal's `RouteRecorded`.
pub(crate) fn route_recorded(switch: &ServiceSwitch, actions: &[ActionRecord]) -> Event {
    Event::RouteRecorded {
        service: switch.service.clone(),
        route: switch.route.clone(),
        actions: actions.to_vec(),
    }
}
