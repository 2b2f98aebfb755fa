//! Recovery of the `cutover` binary against moto on 127.0.0.1 (issue 8): a
//! three-wave canary run killed after every one of its journal records, then
//! rolled back or resumed; a `ModifyRule` that AWS applied but whose answer
//! never came back; SIGTERM and SIGHUP during bake; a second signal; and
//! `unlock` of a dead holder's lease.
//!
//! Exit codes are not trusted alone: every scenario ends by reading the live
//! state back from moto through the SDK: where each production rule
//! forwards, its `authenticate-oidc` action and the forward's stickiness
//! (which a switch must never touch), its conditions, and the ECS desired
//! counts of both sides.

use std::io::Read;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum;
use cutover_executor::sandbox::{self, MotoServer, Shop};
use cutover_executor::{Cloud, Lease, Route, read_journal};
use tokio::runtime::Runtime;

use super::*;

/// The shop's services: a chain, so three waves.
const NAMES: [&str; 3] = ["a", "b", "c"];

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn start_moto(runtime: &Runtime) -> MotoServer {
    runtime
        .block_on(MotoServer::start())
        .unwrap_or_else(|e| panic!("moto server is needed for this test: {e}"))
}

/// A fresh shop on `moto` (reset first), its matrix and a plan made by the
/// binary, in a temporary directory.
struct Scene {
    shop: Shop,
    dir: tempfile::TempDir,
    plan: PathBuf,
    journal: PathBuf,
}

impl Scene {
    fn new(runtime: &Runtime, moto: &MotoServer, bake: &str) -> Scene {
        let shop = runtime.block_on(async {
            moto.reset().await.expect("reset moto");
            Shop::build(moto, &NAMES).await.expect("shop")
        });
        let consumes = ["", "a-api: \"VERSION\"", "b-api: \"VERSION\""];
        let mut matrix = format!(
            "version: 1\ndefaults:\n  deploy:\n    strategy: canary\n    steps: [10, 50, 100]\n    bake: {bake}\nservices:\n"
        );
        for (name, consumes) in NAMES.iter().zip(consumes) {
            matrix.push_str(&format!(
                "  {name}:\n    current: 1.0.0\n    target: 2.0.0\n    releases:\n      1.0.0: {{provides: {{{name}-api: 1.0.0}}, consumes: {{{}}}}}\n      2.0.0: {{provides: {{{name}-api: [1.0.0, 2.0.0]}}, consumes: {{{}}}}}\n{}",
                consumes.replace("VERSION", "^1"),
                consumes.replace("VERSION", "^2"),
                shop.service(name).expect("service").deploy_yaml()
            ));
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let matrix_path = dir.path().join("matrix.yaml");
        std::fs::write(&matrix_path, &matrix).expect("matrix");
        let plan = dir.path().join("plan.json");
        plan_json(&matrix_path, &plan);
        let waves = serde_json::from_str::<serde_json::Value>(
            &std::fs::read_to_string(&plan).expect("plan"),
        )
        .expect("json")["waves"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(waves, 3, "a chain of three services is three waves");
        Scene {
            journal: dir.path().join("plan.journal.jsonl"),
            shop,
            dir,
            plan,
        }
    }

    /// The journal's lines (none when there is no journal).
    fn journal_lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.journal)
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// The last lines of the journal, for failure messages.
    fn journal_tail(&self, count: usize) -> String {
        let lines = self.journal_lines();
        lines[lines.len().saturating_sub(count)..].join("\n")
    }

    /// Replaces what varies from run to run (temporary paths, ARNs) in `text`.
    fn redact(&self, text: &str) -> String {
        let mut text = text.replace(&path_str(self.dir.path()).replace('\\', "/"), "[DIR]");
        for service in &self.shop.services {
            for (arn, name) in [
                (&service.rule, format!("[RULE {}]", service.name)),
                (&service.test_rule, format!("[TEST RULE {}]", service.name)),
                (
                    &service.target_groups[0],
                    format!("[TG {}-a]", service.name),
                ),
                (
                    &service.target_groups[1],
                    format!("[TG {}-b]", service.name),
                ),
            ] {
                text = text.replace(arn.as_str(), &name);
            }
        }
        text
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// How the binary talks to AWS: `endpoint`, small polls, short gates.
fn aws_args(endpoint: &str) -> Vec<String> {
    [
        "--endpoint-url",
        endpoint,
        "--region",
        "us-east-1",
        "--poll-interval",
        "100ms",
        "--gate-timeout",
        "5s",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A finished `cutover` process, however it ended.
struct Finished {
    command: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Finished {
    fn transcript(&self) -> String {
        format!(
            "$ {}\n{}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.command,
            describe_status(self.status),
            self.stdout,
            self.stderr
        )
    }
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code: {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "ended without a code or a signal".to_owned(),
    }
}

/// `cutover ARGS` with AWS test credentials and `env`, waited for.
fn run_cutover(args: &[String], env: &[(&str, &str)]) -> Finished {
    let spawned = Spawned::start(args, env);
    spawned.wait(Duration::from_secs(120))
}

/// A running `cutover`, its output collected as it comes.
struct Spawned {
    command: String,
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Spawned {
    fn start(args: &[String], env: &[(&str, &str)]) -> Spawned {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(args)
            .current_dir(root())
            .env_remove("ACTUATOR_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("CUTOVER_FAULT_ABORT_AFTER_RECORD")
            .envs(AWS_ENV)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cutover starts");
        let mut readers = Vec::new();
        let mut collect = |stream: Option<Box<dyn Read + Send>>| {
            let text = Arc::new(Mutex::new(String::new()));
            let sink = Arc::clone(&text);
            let mut stream = stream.expect("piped");
            readers.push(std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(read) = stream.read(&mut buffer) {
                    if read == 0 {
                        break;
                    }
                    sink.lock()
                        .expect("output")
                        .push_str(&String::from_utf8_lossy(&buffer[..read]));
                }
            }));
            text
        };
        let stdout = collect(
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let stderr = collect(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let mut command = format!("{}cutover", env_prefix(env));
        for arg in args {
            command.push(' ');
            command.push_str(arg);
        }
        Spawned {
            command,
            child,
            stdout,
            stderr,
            readers,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr").clone()
    }

    /// Sends `signal` (`TERM`, `HUP`, `KILL`) with `kill(1)`.
    fn signal(&self, signal: &str) {
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} {} failed", self.pid());
    }

    /// Waits for the end, killing the process after `limit`.
    fn wait(mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "`{}` did not end within {limit:?}:\n----- stderr -----\n{}",
                    self.command,
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        for reader in self.readers.drain(..) {
            reader.join().expect("reader");
        }
        let take = |text: &Arc<Mutex<String>>| text.lock().expect("output").clone();
        Finished {
            command: self.command,
            status,
            stdout: take(&self.stdout),
            stderr: take(&self.stderr),
        }
    }
}

fn env_prefix(env: &[(&str, &str)]) -> String {
    env.iter().map(|(k, v)| format!("{k}={v} ")).collect()
}

/// `cutover execute PLAN` against `endpoint`, with `extra` flags.
fn execute_args(scene: &Scene, endpoint: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["execute".to_owned(), path_str(&scene.plan).to_owned()];
    args.extend(aws_args(endpoint));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// `cutover rollback|resume JOURNAL` against `endpoint`, with `extra` flags.
fn journal_args(command: &str, scene: &Scene, endpoint: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![command.to_owned(), path_str(&scene.journal).to_owned()];
    args.extend(aws_args(endpoint));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// One service as moto has it now.
struct LiveService {
    name: String,
    /// Percent of the production rule's forward on green (`NAME-b`).
    green_percent: u32,
    /// What is wrong with the rule's actions or conditions, if anything.
    damage: Vec<String>,
    /// ECS desired counts of `NAME-a` and `NAME-b`.
    desired: [u32; 2],
    /// The rule's actions and the ECS counts, in words.
    shown: String,
}

/// Reads every production rule, its actions and both ECS services back from moto.
async fn live(moto: &MotoServer, shop: &Shop) -> Vec<LiveService> {
    let cloud = moto.cloud().await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&moto.sdk_config().await);
    let mut services = Vec::new();
    for service in &shop.services {
        let route = cloud
            .route(&Route::Rule(service.rule.clone()))
            .await
            .unwrap_or_else(|e| panic!("`{}`: the production rule: {e}", service.name));
        let green_percent = route.forward.percent_to(&service.target_groups[1]);
        let described = elb
            .describe_rules()
            .rule_arns(&service.rule)
            .send()
            .await
            .expect("DescribeRules");
        let rule = described.rules().first().expect("the rule");
        let damage = damage(rule, &service.name);
        let mut desired = [0; 2];
        for (count, ecs_service) in desired.iter_mut().zip(&service.ecs_services) {
            *count = cloud
                .ecs_service(&shop.cluster, ecs_service)
                .await
                .expect("DescribeServices")
                .desired;
        }
        let actions: Vec<String> = rule.actions().iter().map(show_action).collect();
        services.push(LiveService {
            name: service.name.clone(),
            green_percent,
            damage,
            desired,
            shown: format!(
                "{}: {}% on green; actions [{}]; ECS desired {}-a={} {}-b={}",
                service.name,
                green_percent,
                actions.join(", "),
                service.name,
                desired[0],
                service.name,
                desired[1],
            ),
        });
    }
    services
}

fn show_action(action: &aws_sdk_elasticloadbalancingv2::types::Action) -> String {
    let kind = action.r#type().map_or("?", |t| t.as_str());
    let order = action.order().map_or("-".to_owned(), |o| o.to_string());
    match action.forward_config() {
        Some(forward) => {
            let targets: Vec<String> = forward
                .target_groups()
                .iter()
                .map(|t| {
                    let arn = t.target_group_arn().unwrap_or("?");
                    let name = arn.split('/').nth(1).unwrap_or(arn);
                    format!("{name}={}", t.weight().unwrap_or(1))
                })
                .collect();
            let sticky = forward
                .target_group_stickiness_config()
                .map_or("no stickiness".to_owned(), |s| {
                    format!("sticky={:?}/{:?}s", s.enabled(), s.duration_seconds())
                });
            format!("{kind}#{order} {} {sticky}", targets.join(" "))
        }
        None => format!(
            "{kind}#{order}{}",
            action
                .authenticate_oidc_config()
                .and_then(|c| c.issuer())
                .map(|i| format!(" issuer={i}"))
                .unwrap_or_default()
        ),
    }
}

/// Everything that must be as the sandbox built it, whatever the traffic split.
fn damage(rule: &aws_sdk_elasticloadbalancingv2::types::Rule, name: &str) -> Vec<String> {
    let mut damage = Vec::new();
    let actions = rule.actions();
    if actions.len() != 2 {
        damage.push(format!("{} actions instead of 2", actions.len()));
    }
    match actions
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::AuthenticateOidc))
    {
        None => damage.push("no authenticate-oidc action".to_owned()),
        Some(oidc) => {
            if oidc.order() != Some(1) {
                damage.push(format!("authenticate-oidc has Order {:?}", oidc.order()));
            }
            let config = oidc.authenticate_oidc_config();
            if config.and_then(|c| c.issuer()) != Some(sandbox::OIDC_ISSUER) {
                damage.push(format!(
                    "authenticate-oidc issuer is {:?}",
                    config.and_then(|c| c.issuer())
                ));
            }
            if config.and_then(|c| c.client_id()) != Some("shop") {
                damage.push("authenticate-oidc lost its client id".to_owned());
            }
        }
    }
    match actions
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
    {
        None => damage.push("no forward action".to_owned()),
        Some(forward) => {
            if forward.order() != Some(2) {
                damage.push(format!("forward has Order {:?}", forward.order()));
            }
            let sticky = forward
                .forward_config()
                .and_then(|c| c.target_group_stickiness_config());
            if sticky.and_then(|s| s.enabled()) != Some(true)
                || sticky.and_then(|s| s.duration_seconds()) != Some(300)
            {
                damage.push(format!(
                    "forward stickiness is {:?}, not enabled for 300 s",
                    sticky
                ));
            }
        }
    }
    let pattern = format!("/{name}/*");
    let conditions = rule.conditions();
    let kept = conditions.len() == 1
        && conditions.iter().all(|c| {
            c.field() == Some("path-pattern")
                && (c.values().contains(&pattern)
                    || c.path_pattern_config()
                        .is_some_and(|p| p.values().contains(&pattern)))
        });
    if !kept {
        damage.push(format!("conditions changed: {conditions:?}"));
    }
    damage
}

/// Which side all production traffic must be on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Blue,
    Green,
}

/// What is wrong with the live state, when every route must be 100 % on
/// `side` with its actions intact and `side` at blue's recorded capacity.
fn problems(live: &[LiveService], side: Side) -> Vec<String> {
    let mut problems = Vec::new();
    for service in live {
        let (percent, index) = match side {
            Side::Blue => (0, 0),
            Side::Green => (100, 1),
        };
        if service.green_percent != percent {
            problems.push(format!(
                "`{}` sends {}% to green, expected {percent}%",
                service.name, service.green_percent
            ));
        }
        for damage in &service.damage {
            problems.push(format!("`{}`: {damage}", service.name));
        }
        if service.desired[index] != sandbox::BLUE_TASKS {
            problems.push(format!(
                "`{}`: ECS `{}-{}` has desired count {}, expected {}",
                service.name,
                service.name,
                ["a", "b"][index],
                service.desired[index],
                sandbox::BLUE_TASKS
            ));
        }
    }
    problems
}

fn show(live: &[LiveService]) -> String {
    live.iter()
        .map(|s| format!("  {}", s.shown))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Panics with everything needed to see why, unless all traffic is on `side`.
fn assert_all_on(
    runtime: &Runtime,
    moto: &MotoServer,
    scene: &Scene,
    side: Side,
    context: &str,
    transcripts: &[&Finished],
) {
    let live = runtime.block_on(live(moto, &scene.shop));
    let problems = problems(&live, side);
    if problems.is_empty() {
        return;
    }
    let transcripts: Vec<String> = transcripts.iter().map(|f| f.transcript()).collect();
    panic!(
        "{context}: not everything is on {side:?} with its actions intact:\n  - {}\nlive state:\n{}\n\n{}\n----- journal tail -----\n{}",
        problems.join("\n  - "),
        show(&live),
        transcripts.join("\n"),
        scene.journal_tail(8)
    );
}

fn aborted(finished: &Finished) -> bool {
    finished.status.signal() == Some(6)
}

#[test]
fn every_kill_point_of_a_three_wave_canary_run_is_recoverable() {
    let runtime = runtime();
    let moto = start_moto(&runtime);
    // `--retire-blue` adds the kill points where blue's capacity is gone
    // (scaled to 0 after the last bake): the way back must bring it back
    // before any traffic.
    let extra = ["--retire-blue"];
    let scene = Scene::new(&runtime, &moto, "50ms");
    let whole = run_cutover(&execute_args(&scene, &moto.endpoint_url(), &extra), &[]);
    assert_eq!(whole.status.code(), Some(0), "{}", whole.transcript());
    let count = scene.journal_lines().len();
    assert!(count > 20, "{count} records:\n{}", scene.journal_tail(100));
    drop(scene);

    // Rollbacks on one server, resumes on another, side by side.
    let second = start_moto(&runtime);
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for (recovery, moto) in [(Recovery::Rollback, &moto), (Recovery::Resume, &second)] {
            let (runtime, failed, extra) = (&runtime, &failed, &extra);
            scope.spawn(move || {
                for n in 1..=count {
                    if failed.load(Ordering::SeqCst) {
                        return;
                    }
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        kill_and_recover(runtime, moto, recovery, n, count, extra);
                    }));
                    if let Err(panic) = result {
                        failed.store(true, Ordering::SeqCst);
                        std::panic::resume_unwind(panic);
                    }
                }
            });
        }
    });
}

/// How a killed run is recovered, and where that leaves the traffic.
#[derive(Clone, Copy, Debug)]
enum Recovery {
    Rollback,
    Resume,
}

/// A fresh shop; `execute` aborted right after its `n`th journal record;
/// then `cutover rollback` (all on blue, at its capacity) or `cutover
/// resume` (all on green, at blue's capacity), actions intact.
fn kill_and_recover(
    runtime: &Runtime,
    moto: &MotoServer,
    recovery: Recovery,
    n: usize,
    count: usize,
    extra: &[&str],
) {
    let (command, side) = match recovery {
        Recovery::Rollback => ("rollback", Side::Blue),
        Recovery::Resume => ("resume", Side::Green),
    };
    let endpoint = moto.endpoint_url();
    let fault = n.to_string();
    let scene = Scene::new(runtime, moto, "50ms");
    let killed = run_cutover(
        &execute_args(&scene, &endpoint, extra),
        &[("CUTOVER_FAULT_ABORT_AFTER_RECORD", fault.as_str())],
    );
    let context = format!("killed after record N={n} of {count}, then `cutover {command}`");
    assert!(
        aborted(&killed),
        "N={n}: the run should abort after record {n}:\n{}",
        killed.transcript()
    );
    assert_eq!(
        scene.journal_lines().len(),
        n,
        "N={n}: the journal holds exactly the records before the abort:\n{}",
        killed.transcript()
    );
    let recovered = run_cutover(&journal_args(command, &scene, &endpoint, extra), &[]);
    assert_eq!(
        recovered.status.code(),
        Some(0),
        "{context}:\n{}\n{}\n----- journal tail -----\n{}",
        killed.transcript(),
        recovered.transcript(),
        scene.journal_tail(8)
    );
    assert_all_on(
        runtime,
        moto,
        &scene,
        side,
        &context,
        &[&killed, &recovered],
    );
    if let Recovery::Resume = recovery {
        // The resumed run finishes what it was asked: blue retired.
        let live = runtime.block_on(live(moto, &scene.shop));
        assert!(
            live.iter().all(|s| s.desired[0] == 0),
            "{context} --retire-blue: every blue ECS service should be retired (desired count 0):\n{}\n\n{}\n{}\n----- journal tail -----\n{}",
            show(&live),
            killed.transcript(),
            recovered.transcript(),
            scene.journal_tail(8)
        );
    }
}

/// An HTTP proxy on 127.0.0.1 between the binary and moto. It passes every
/// request on unchanged; the first `ModifyRule` of `kill_on` (a rule ARN) is
/// passed on and answered by moto, then the `cutover` process is killed
/// (SIGKILL) and the answer never goes back. `delay_ms` holds every request
/// back before it is passed on.
#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    kill_on: Option<String>,
    /// The `cutover` process to kill (0 until it runs).
    pid: Arc<AtomicU32>,
    fired: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
}

impl Proxy {
    fn new(upstream: String, kill_on: Option<String>) -> Proxy {
        Proxy {
            upstream,
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            kill_on,
            pid: Arc::new(AtomicU32::new(0)),
            fired: Arc::new(AtomicBool::new(false)),
            delay_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Serves on a free port of 127.0.0.1; returns its URL.
    fn serve(&self, runtime: &Runtime) -> String {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
                [127, 0, 0, 1],
                0,
            ))))
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let app = axum::Router::new()
            .fallback(pass_on)
            .with_state(self.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    }

    /// Whether this request is the `ModifyRule` to answer with a kill.
    fn is_the_one(&self, body: &[u8]) -> bool {
        let Some(rule) = &self.kill_on else {
            return false;
        };
        let form = percent_decode(&String::from_utf8_lossy(body));
        form.split('&').any(|pair| pair == "Action=ModifyRule")
            && form
                .split('&')
                .any(|pair| pair == format!("RuleArn={rule}"))
            && !self.fired.swap(true, Ordering::SeqCst)
    }
}

/// `%3A` → `:`, `+` → ` ` (form encoding).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn pass_on(
    axum::extract::State(proxy): axum::extract::State<Proxy>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("request body");
    let delay = proxy.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let url = format!(
        "{}{}",
        proxy.upstream,
        parts.uri.path_and_query().map_or("/", |pq| pq.as_str())
    );
    let mut upstream = proxy.client.request(parts.method, url);
    for (name, value) in &parts.headers {
        // Hop-by-hop framing is the connection's own; reqwest sets it.
        if name != axum::http::header::CONTENT_LENGTH
            && name != axum::http::header::TRANSFER_ENCODING
            && name != axum::http::header::CONNECTION
        {
            upstream = upstream.header(name, value);
        }
    }
    let kill = proxy.is_the_one(&body);
    let answer = upstream.body(body).send().await.expect("moto answers");
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.bytes().await.expect("moto's body");
    if kill {
        let pid = loop {
            match proxy.pid.load(Ordering::SeqCst) {
                0 => tokio::time::sleep(Duration::from_millis(5)).await,
                pid => break pid,
            }
        };
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success(), "kill -KILL {pid}");
        // The answer never goes back.
        std::future::pending::<()>().await;
    }
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != axum::http::header::TRANSFER_ENCODING && name != axum::http::header::CONNECTION {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

/// The journal's records, parsed (each line must be a whole record).
fn records(scene: &Scene) -> Vec<cutover_executor::Record> {
    read_journal(&scene.journal)
        .unwrap_or_else(|e| panic!("the journal is not whole: {e}\n{}", scene.journal_tail(5)))
}

#[test]
fn a_modify_rule_applied_but_unanswered_is_rolled_back() {
    let runtime = runtime();
    let moto = start_moto(&runtime);
    // The first production `ModifyRule` of the run (`a` at 10 %), and one
    // of a later wave (`b` at 10 %, with `a` all on green).
    for name in ["a", "b"] {
        let scene = Scene::new(&runtime, &moto, "50ms");
        let rule = scene.shop.service(name).expect("service").rule.clone();
        let proxy = Proxy::new(moto.endpoint_url(), Some(rule.clone()));
        let through = proxy.serve(&runtime);
        let spawned = Spawned::start(&execute_args(&scene, &through, &[]), &[]);
        proxy.pid.store(spawned.pid(), Ordering::SeqCst);
        let killed = spawned.wait(Duration::from_secs(60));
        assert_eq!(
            killed.status.signal(),
            Some(9),
            "`{name}`: the proxy should have killed the run after moto applied the ModifyRule:\n{}",
            killed.transcript()
        );
        let live_before = runtime.block_on(live(&moto, &scene.shop));
        let modified = live_before
            .iter()
            .find(|s| s.name == name)
            .expect("service");
        assert_eq!(
            modified.green_percent,
            10,
            "`{name}`: moto applied the 10 % step before the kill:\n{}",
            show(&live_before)
        );
        let last = records(&scene).pop().expect("a record");
        match &last.event {
            cutover_executor::Event::Intent { service, call } => {
                assert_eq!(service, name, "{last:?}");
                assert!(
                    call.contains(&rule) && call.contains("10% to green"),
                    "the intent names the rule and the step: {call}"
                );
            }
            other => panic!(
                "`{name}`: the last record before the kill should be the intent of the ModifyRule, found {other:?}\n{}",
                scene.journal_tail(5)
            ),
        }
        let back = run_cutover(
            &journal_args("rollback", &scene, &moto.endpoint_url(), &[]),
            &[],
        );
        let context =
            format!("ModifyRule of `{name}` applied, answer lost, then `cutover rollback`");
        assert_eq!(
            back.status.code(),
            Some(0),
            "{context}:\n{}\n{}",
            killed.transcript(),
            back.transcript()
        );
        assert!(
            back.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{name} ")) && l.ends_with("rolled back to blue")),
            "`{name}` is named as rolled back:\n{}",
            back.transcript()
        );
        assert_all_on(
            &runtime,
            &moto,
            &scene,
            Side::Blue,
            &context,
            &[&killed, &back],
        );
    }
}

/// Waits until `done` holds, or panics with `what` after `limit`.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the journal has a record of kind `event` (`route_set`, ...).
fn journal_has(scene: &Scene, event: &str) -> bool {
    let wanted = format!("\"event\":\"{event}\"");
    scene.journal_lines().iter().any(|l| l.contains(&wanted))
}

/// What people read after a run, with paths, ARNs and the endpoint redacted.
fn redacted_output(scene: &Scene, endpoint: &str, finished: &Finished) -> String {
    let text = format!(
        "{}\n----- stdout -----\n{}----- stderr -----\n{}",
        describe_status(finished.status),
        finished.stdout,
        finished.stderr
    );
    scene.redact(&text).replace(endpoint, "[ENDPOINT]")
}

#[test]
fn sigterm_during_bake_rolls_back_every_route() {
    let runtime = runtime();
    let moto = start_moto(&runtime);
    let endpoint = moto.endpoint_url();
    // SIGHUP (a closed terminal) is handled like SIGTERM (a stopped container).
    for signal in ["TERM", "HUP"] {
        let scene = Scene::new(&runtime, &moto, "5s");
        let spawned = Spawned::start(&execute_args(&scene, &endpoint, &[]), &[]);
        // `route_observed` follows the line `a: 10% of traffic on green`.
        wait_until(Duration::from_secs(30), "the first route change", || {
            journal_has(&scene, "route_observed")
        });
        let sent = Instant::now();
        spawned.signal(signal);
        let finished = spawned.wait(Duration::from_secs(30));
        let context = format!("SIG{signal} during the first bake");
        assert_eq!(
            finished.status.code(),
            Some(1),
            "{context}:\n{}",
            finished.transcript()
        );
        assert!(
            sent.elapsed() < Duration::from_secs(4),
            "{context}: the bake is cut short, took {:?}",
            sent.elapsed()
        );
        assert!(
            finished.stdout.contains("outcome: rolled-back"),
            "{context}:\n{}",
            finished.transcript()
        );
        assert_all_on(&runtime, &moto, &scene, Side::Blue, &context, &[&finished]);
        let last = records(&scene).pop().expect("a record");
        assert_eq!(
            last.event,
            cutover_executor::Event::RunFinished {
                outcome: "rolled-back".to_owned()
            },
            "{context}"
        );
        insta::assert_snapshot!(
            format!("sig{}-during-bake", signal.to_lowercase()),
            redacted_output(&scene, &endpoint, &finished)
        );
    }
}

#[test]
fn a_second_signal_stops_at_once_with_a_whole_journal() {
    let runtime = runtime();
    let moto = start_moto(&runtime);
    let scene = Scene::new(&runtime, &moto, "5s");
    // Through a proxy that slows every call down once the first signal is
    // on its way, so that the second one meets the rollback under way.
    let proxy = Proxy::new(moto.endpoint_url(), None);
    let through = proxy.serve(&runtime);
    let spawned = Spawned::start(&execute_args(&scene, &through, &[]), &[]);
    wait_until(Duration::from_secs(30), "the first route change", || {
        journal_has(&scene, "route_set")
    });
    proxy.delay_ms.store(400, Ordering::SeqCst);
    spawned.signal("TERM");
    wait_until(
        Duration::from_secs(10),
        "the first SIGTERM to be seen",
        || spawned.stderr().contains("SIGTERM: stopping"),
    );
    spawned.signal("TERM");
    let second = Instant::now();
    let finished = spawned.wait(Duration::from_secs(30));
    assert_eq!(finished.status.code(), Some(1), "{}", finished.transcript());
    assert!(
        second.elapsed() < Duration::from_secs(2),
        "a second signal stops at once, but the run took {:?} more:\n{}",
        second.elapsed(),
        finished.transcript()
    );
    assert!(
        finished.stderr.contains("SIGTERM: stopped at once"),
        "{}",
        finished.transcript()
    );
    let records = records(&scene);
    let last = records.last().expect("a record");
    assert!(
        matches!(&last.event, cutover_executor::Event::Halted { reason } if reason.contains("SIGTERM")),
        "the last record is `halted`: {last:?}\n{}",
        finished.transcript()
    );
    assert!(
        !records
            .iter()
            .any(|r| matches!(r.event, cutover_executor::Event::RunFinished { .. })),
        "a halted run did not finish:\n{}",
        scene.journal_tail(10)
    );
    let back = run_cutover(
        &journal_args("rollback", &scene, &moto.endpoint_url(), &[]),
        &[],
    );
    assert_eq!(back.status.code(), Some(0), "{}", back.transcript());
    assert_all_on(
        &runtime,
        &moto,
        &scene,
        Side::Blue,
        "halted by a second SIGTERM, then `cutover rollback`",
        &[&finished, &back],
    );
}

#[test]
fn unlock_breaks_a_dead_holders_lease() {
    let runtime = runtime();
    let moto = start_moto(&runtime);
    let endpoint = moto.endpoint_url();
    let scene = Scene::new(&runtime, &moto, "50ms");
    let table = scene.shop.lock_table.clone();
    let cloud = runtime.block_on(moto.cloud());
    let now = cutover_executor::now_ms() / 1000;
    let dead = Lease {
        key: "b".to_owned(),
        holder: "deploy-bot@ci-runner-7 pid 4242 run 18f2c0ffee".to_owned(),
        plan_digest: "4f9c2e1a7b3d5e6f00112233445566778899aabbccddeeff0011223344556677".to_owned(),
        expires_at: now + 600,
    };
    runtime
        .block_on(cloud.acquire_lease(&table, &dead, now))
        .expect("the dead run's lease");
    let lease_of = |key: &str| {
        runtime
            .block_on(cloud.read_lease(&table, key))
            .expect("GetItem")
    };
    let filters = vec![
        (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "[TIME]"),
        (r"expires in \d+m\d\ds", "expires in [SPAN]"),
    ];
    let locked = ["--lock-table", table.as_str()];

    let refused = run_cutover(&execute_args(&scene, &endpoint, &locked), &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", refused.transcript());
    for wanted in [
        dead.holder.as_str(),
        "expires in 9m",
        " UTC)",
        "cutover unlock",
    ] {
        assert!(
            refused.stderr.contains(wanted)
                || (wanted == "expires in 9m" && refused.stderr.contains("expires in 10m00s")),
            "`{wanted}` is shown:\n{}",
            refused.transcript()
        );
    }
    insta::with_settings!({filters => filters.clone()}, {
        insta::assert_snapshot!("unlock-execute-refused", redacted_output(&scene, &endpoint, &refused));
    });
    assert_eq!(
        lease_of("a"),
        None,
        "the lease taken before `b` was refused is given back"
    );

    let mut unlock = vec![
        "unlock".to_owned(),
        "--lock-table".to_owned(),
        table.clone(),
        path_str(&scene.plan).to_owned(),
        "--endpoint-url".to_owned(),
        endpoint.clone(),
        "--region".to_owned(),
        "us-east-1".to_owned(),
    ];
    let asked = run_cutover(&unlock, &[]);
    assert_eq!(asked.status.code(), Some(2), "{}", asked.transcript());
    assert_eq!(
        lease_of("b").as_ref(),
        Some(&dead),
        "nothing is broken without `--force`"
    );
    insta::with_settings!({filters => filters.clone()}, {
        insta::assert_snapshot!("unlock-without-a-terminal", redacted_output(&scene, &endpoint, &asked));
    });

    unlock.push("--force".to_owned());
    let broken = run_cutover(&unlock, &[]);
    assert_eq!(broken.status.code(), Some(0), "{}", broken.transcript());
    assert_eq!(lease_of("b"), None, "{}", broken.transcript());
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!("unlock-force", redacted_output(&scene, &endpoint, &broken));
    });

    let run = run_cutover(&execute_args(&scene, &endpoint, &locked), &[]);
    assert_eq!(run.status.code(), Some(0), "{}", run.transcript());
    assert_all_on(
        &runtime,
        &moto,
        &scene,
        Side::Green,
        "execute after unlock",
        &[&run],
    );
    for key in NAMES {
        assert_eq!(
            lease_of(key),
            None,
            "`{key}`'s lease is released at the end"
        );
    }
}
