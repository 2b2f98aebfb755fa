//! Notifications: one JSON object per event of a run, POSTed to each
//! `--notify` webhook in order, by a background task so that a slow or dead
//! webhook never holds up a switch or a rollback. A failed delivery is
//! tried twice more and then journaled (with the webhook's host only); it
//! never fails a cutover. Webhook URLs hold tokens: they are never printed,
//! journaled or put in an error message.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

/// A webhook URL. Its `Debug` and `Display` show the host only.
#[derive(Clone)]
pub struct Webhook {
    url: reqwest::Url,
    host: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({} …)", self.host)
    }
}

impl std::fmt::Display for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.host)
    }
}

/// Why a `--notify` value is not a webhook URL (the value is not repeated).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "a --notify value is not an http:// or https:// URL with a host (the value is not shown: webhook URLs hold tokens)"
)]
pub struct WebhookError;

impl Webhook {
    /// Reads an `http://` or `https://` URL with a host.
    pub fn parse(text: &str) -> Result<Self, WebhookError> {
        let url = reqwest::Url::parse(text).map_err(|_| WebhookError)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(WebhookError);
        }
        let host = url.host_str().ok_or(WebhookError)?.to_owned();
        Ok(Webhook { url, host })
    }

    /// The host, the only part of the URL ever shown.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// One service of a notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotifiedService {
    /// The service.
    pub service: String,
    /// Release on blue.
    pub from: String,
    /// Release on green.
    pub to: String,
}

/// One event, as POSTed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// `run_started`, `wave_started`, `wave_baked`, `paused`,
    /// `rollback_started`, `run_finished`.
    pub event: &'static str,
    /// One line for people (Slack and Teams incoming webhooks show it).
    pub text: String,
    /// `execute`, `resume` or `rollback`.
    pub command: String,
    /// The plan file's name.
    pub plan: String,
    /// SHA-256 of the plan file.
    pub plan_sha256: String,
    /// The run's id (as in the journal).
    pub run: String,
    /// The wave (1-based), when the event is about one.
    pub wave: Option<usize>,
    /// The number of waves of the plan.
    pub waves: usize,
    /// The services the event is about.
    pub services: Vec<NotifiedService>,
    /// How the run ended (`run_finished` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// What failed, if anything did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// A delivery that failed three times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Undelivered {
    pub host: String,
    pub event: &'static str,
    pub error: String,
}

/// One queue and one sender task per webhook, so that a dead webhook
/// never delays another; dropping the queues lets the tasks finish.
pub(crate) struct Outbox {
    queues: Vec<mpsc::UnboundedSender<Notification>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Attempts per notification and webhook: the first and two retries.
const ATTEMPTS: u32 = 3;
/// Each attempt's time limit.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the end of a run waits for the queues to drain.
const DRAIN: Duration = Duration::from_secs(30);

impl Outbox {
    /// Starts the senders; `failed` is told of each notification not delivered.
    pub(crate) fn start(
        webhooks: Vec<Webhook>,
        failed: impl Fn(Undelivered) + Send + Sync + 'static,
    ) -> Self {
        let failed = std::sync::Arc::new(failed);
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .build()
            .map_err(|e| describe(e.without_url()));
        let mut queues = Vec::with_capacity(webhooks.len());
        let mut tasks = Vec::with_capacity(webhooks.len());
        for webhook in webhooks {
            let (queue, mut incoming) = mpsc::unbounded_channel::<Notification>();
            let client = client.clone();
            let failed = std::sync::Arc::clone(&failed);
            tasks.push(tokio::spawn(async move {
                while let Some(notification) = incoming.recv().await {
                    let outcome = match &client {
                        Ok(client) => deliver(client, &webhook, &notification).await,
                        Err(error) => Err(error.clone()),
                    };
                    if let Err(error) = outcome {
                        failed(Undelivered {
                            host: webhook.host.clone(),
                            event: notification.event,
                            error,
                        });
                    }
                }
            }));
            queues.push(queue);
        }
        Outbox { queues, tasks }
    }

    /// Queues a notification for every webhook (never waits).
    pub(crate) fn send(&self, notification: Notification) {
        for queue in &self.queues {
            let _ = queue.send(notification.clone());
        }
    }

    /// Waits (at most 30 s) until everything queued was delivered or given up.
    pub(crate) async fn drain(self) {
        drop(self.queues);
        let deadline = tokio::time::Instant::now() + DRAIN;
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

/// POSTs one notification, retrying twice (after 0.25 s and 0.5 s).
async fn deliver(
    client: &reqwest::Client,
    webhook: &Webhook,
    notification: &Notification,
) -> Result<(), String> {
    let mut pause = Duration::from_millis(250);
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match client
            .post(webhook.url.clone())
            .json(notification)
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => last = format!("HTTP {}", response.status()),
            // Never the URL: reqwest's messages name it unless told not to.
            Err(error) => last = describe(error.without_url()),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    Err(format!("{last} ({ATTEMPTS} attempts)"))
}

fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.contains("://") {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// What every notification of a run says about it.
#[derive(Clone, Debug, Default)]
pub(crate) struct RunFacts {
    pub command: String,
    pub plan: String,
    pub plan_sha256: String,
    pub run: String,
    /// Per wave (index + 1), its services.
    pub waves: Vec<Vec<NotifiedService>>,
}

/// Builds and queues the notifications of a run (none without webhooks or
/// in a dry run).
pub(crate) struct Announcer {
    outbox: Option<Outbox>,
    facts: RunFacts,
}

fn names(services: &[NotifiedService]) -> String {
    services
        .iter()
        .map(|s| format!("`{}` {} → {}", s.service, s.from, s.to))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Announcer {
    pub(crate) fn new(outbox: Option<Outbox>, facts: RunFacts) -> Self {
        Announcer { outbox, facts }
    }

    fn all(&self) -> Vec<NotifiedService> {
        self.facts.waves.iter().flatten().cloned().collect()
    }

    fn wave(&self, wave: usize) -> Vec<NotifiedService> {
        wave.checked_sub(1)
            .and_then(|i| self.facts.waves.get(i))
            .cloned()
            .unwrap_or_default()
    }

    fn send(
        &self,
        event: &'static str,
        text: String,
        wave: Option<usize>,
        services: Vec<NotifiedService>,
        outcome: Option<String>,
        failure: Option<String>,
    ) {
        let Some(outbox) = &self.outbox else {
            return;
        };
        let facts = &self.facts;
        outbox.send(Notification {
            event,
            text,
            command: facts.command.clone(),
            plan: facts.plan.clone(),
            plan_sha256: facts.plan_sha256.clone(),
            run: facts.run.clone(),
            wave,
            waves: facts.waves.len(),
            services,
            outcome,
            failure,
        });
    }

    pub(crate) fn run_started(&self) {
        let facts = &self.facts;
        let services = self.all();
        let text = format!(
            "cutover {} of `{}` started: {} services in {} waves",
            facts.command,
            facts.plan,
            services.len(),
            facts.waves.len()
        );
        self.send("run_started", text, None, services, None, None);
    }

    pub(crate) fn wave_started(&self, wave: usize) {
        let services = self.wave(wave);
        let text = format!(
            "cutover `{}`: wave {wave} of {} started: {}",
            self.facts.plan,
            self.facts.waves.len(),
            names(&services)
        );
        self.send("wave_started", text, Some(wave), services, None, None);
    }

    pub(crate) fn wave_baked(&self, wave: usize) {
        let services = self.wave(wave);
        let text = format!(
            "cutover `{}`: wave {wave} of {} switched and baked: {}",
            self.facts.plan,
            self.facts.waves.len(),
            names(&services)
        );
        self.send("wave_baked", text, Some(wave), services, None, None);
    }

    pub(crate) fn paused(&self, after_wave: usize, next_wave: usize, journal: &str) {
        let text = format!(
            "cutover `{}`: paused after wave {after_wave} of {}; `cutover resume {journal}` continues with wave {next_wave}",
            self.facts.plan,
            self.facts.waves.len()
        );
        let services = self.wave(next_wave);
        self.send("paused", text, Some(after_wave), services, None, None);
    }

    pub(crate) fn rollback_started(&self, services: &[String], failure: Option<&str>) {
        let all = self.all();
        let listed: Vec<NotifiedService> = services
            .iter()
            .filter_map(|name| all.iter().find(|s| &s.service == name).cloned())
            .collect();
        let why = failure
            .map(|f| format!(" after: {}", first_line(f)))
            .unwrap_or_default();
        let text = format!(
            "cutover `{}`: rolling back to blue, in this order: {}{why}",
            self.facts.plan,
            listed
                .iter()
                .map(|s| format!("`{}`", s.service))
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.send(
            "rollback_started",
            text,
            None,
            listed,
            None,
            failure.map(str::to_owned),
        );
    }

    pub(crate) fn run_finished(&self, outcome: &str, failure: Option<&str>) {
        let why = failure
            .map(|f| format!(": {}", first_line(f)))
            .unwrap_or_default();
        let text = format!(
            "cutover {} of `{}` finished: {outcome}{why}",
            self.facts.command, self.facts.plan
        );
        self.send(
            "run_finished",
            text,
            None,
            self.all(),
            Some(outcome.to_owned()),
            failure.map(str::to_owned),
        );
    }

    /// Waits for the queue to drain.
    pub(crate) async fn drain(self) {
        if let Some(outbox) = self.outbox {
            outbox.drain().await;
        }
    }
}

/// The first line of a message, for a one-line `text`.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_host_is_ever_shown() {
        let hook = Webhook::parse("https://hooks.example.com/services/T000/B000/secret-token")
            .expect("a URL");
        assert_eq!(hook.to_string(), "hooks.example.com");
        assert!(!format!("{hook:?}").contains("secret"));
        assert_eq!(
            Webhook::parse("ftp://x/secret").map(|_| ()),
            Err(WebhookError)
        );
        assert!(!WebhookError.to_string().contains("secret"));
    }
}
