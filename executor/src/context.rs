//! What every task of a run shares: the cloud, the gate, the settings, the
//! journal, the observer and the cancellation signal.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::aws::Cloud;
use crate::gate::HealthGate;
use crate::journal::{Event, Journal, JournalError, Record, now_ms};
use crate::settings::{Observer, Settings};

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
    pub(crate) journal: Arc<Mutex<Option<Journal>>>,
    pub(crate) observer: Arc<dyn Observer>,
    pub(crate) cancel: watch::Receiver<bool>,
    /// Set when the run must stop for a reason of its own (the lock's lease
    /// was lost); checked wherever cancellation is.
    pub(crate) stop: Arc<watch::Sender<Option<String>>>,
    /// Every event of this run, for its report.
    pub(crate) events: Arc<Mutex<Vec<Event>>>,
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
            stop: Arc::clone(&self.stop),
            events: Arc::clone(&self.events),
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
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(record.event.clone());
        self.observer.record(&record);
        Ok(())
    }

    pub(crate) fn check_cancelled(&self) -> Result<(), Failure> {
        if *self.cancel.borrow() {
            return Err(Failure {
                service: None,
                reason: "interrupted".to_owned(),
            });
        }
        match self.stop.borrow().as_ref() {
            Some(reason) => Err(Failure {
                service: None,
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Stops the run at its next safe point, with `reason`.
    pub(crate) fn stop(&self, reason: String) {
        self.stop.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(reason);
            }
            first
        });
    }

    /// Records that a call which changes something is about to be made.
    pub(crate) fn intent(&self, service: &str, call: String) -> Result<(), JournalError> {
        self.record(Event::Intent {
            service: service.to_owned(),
            call,
        })
    }

    /// Resolves when the run is cancelled or stopped (never otherwise).
    pub(crate) async fn cancelled(&self) {
        let mut cancel = self.cancel.clone();
        let mut stop = self.stop.subscribe();
        // A dropped sender cannot cancel: that side then waits forever.
        let by_signal = async move {
            if cancel.wait_for(|cancelled| *cancelled).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let by_stop = async move {
            if stop.wait_for(Option::is_some).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = by_signal => {}
            () = by_stop => {}
        }
    }

    /// Sleeps until `deadline`, unless cancelled first (or a dry run).
    pub(crate) async fn sleep_until(&self, deadline: tokio::time::Instant) -> Result<(), Failure> {
        if self.settings.dry_run {
            return self.check_cancelled();
        }
        let mut cancel = self.cancel.clone();
        let mut stop = self.stop.subscribe();
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            // A dropped sender cannot cancel: that branch is then disabled.
            Ok(_) = cancel.wait_for(|cancelled| *cancelled) => {}
            Ok(_) = stop.wait_for(Option::is_some) => {}
        }
        self.check_cancelled()
    }
}

impl<C: Cloud, G: HealthGate> Context<C, G> {
    /// A context for reading live state outside a run (`plan --observe`):
    /// default settings, no journal, nothing to cancel.
    pub(crate) fn reader(cloud: C, gate: G) -> Self {
        let (_cancel, cancel) = watch::channel(false);
        Context {
            cloud: Arc::new(cloud),
            gate: Arc::new(gate),
            settings: Settings::default(),
            journal: Arc::new(Mutex::new(None)),
            observer: Arc::new(crate::settings::Silent),
            cancel,
            stop: Arc::new(watch::Sender::new(None)),
            events: Arc::default(),
        }
    }
}
