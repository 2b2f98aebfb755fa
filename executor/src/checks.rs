//! Integration checks against green: a command run by `sh -c` from the
//! matrix file's folder, with the switch described in `CUTOVER_*`
//! variables. A non-zero exit or a timeout fails the gate. The check runs
//! in its own process group, which is killed when it ends, times out or the
//! run is cancelled, so nothing it started outlives it.

use std::collections::VecDeque;
use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover_planner::CheckDoc;

use crate::cutover::ServiceSwitch;

/// How much of a check's output is kept: its last 4 KiB.
pub const OUTPUT_TAIL: usize = 4096;

/// Where checks run and what they are told.
#[derive(Clone, Debug, Default)]
pub(crate) struct CheckPlace {
    /// The plan file (`CUTOVER_PLAN`), absolute.
    pub plan: PathBuf,
    /// The matrix file's folder: the checks' working directory.
    pub folder: PathBuf,
}

/// How a check ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Exit status 0.
    Passed,
    /// Another exit status, or killed by a signal (`None`).
    Failed(Option<i32>),
    /// Still running at its timeout; its process group was killed.
    TimedOut,
    /// The run was cancelled while it ran; its process group was killed.
    Cancelled,
    /// It could not be started.
    NotStarted(String),
}

/// A finished check: how it ended, how long it took, its output's tail.
#[derive(Clone, Debug)]
pub(crate) struct CheckRun {
    pub ended: Ended,
    pub duration: Duration,
    pub output: String,
}

/// The variables a check gets.
pub(crate) fn environment(
    switch: &ServiceSwitch,
    green: &str,
    place: &CheckPlace,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("CUTOVER_SERVICE", switch.service.clone()),
        ("CUTOVER_FROM", switch.from.clone()),
        ("CUTOVER_TO", switch.to.clone()),
        ("CUTOVER_WAVE", switch.wave.to_string()),
        ("CUTOVER_PLAN", place.plan.display().to_string()),
    ];
    // Groups that attach in turn to one target group: before the switch,
    // that target group is blue's.
    if switch.attached_to.is_none() {
        env.push(("CUTOVER_GREEN_TARGET_GROUP", green.to_owned()));
    }
    if let Some(group) = switch.group_for(green) {
        env.push(("CUTOVER_GREEN_GROUP", group.to_owned()));
    }
    if let Some(health) = &switch.health {
        env.push(("CUTOVER_HEALTH_URL", health.url.clone()));
    }
    env
}

/// Kills a process group when dropped (a timeout, a cancelled run, an
/// aborted task, or simply the end of the check).
struct GroupKiller(Option<rustix::process::Pid>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(group) = self.0.take() {
            // ESRCH: the group is gone already.
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
}

/// Runs one check; `cancelled` resolves when the run must stop.
pub(crate) async fn run(
    check: &CheckDoc,
    env: &[(&'static str, String)],
    folder: &std::path::Path,
    cancelled: impl std::future::Future<Output = ()>,
) -> CheckRun {
    let started = tokio::time::Instant::now();
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(OUTPUT_TAIL)));
    let finish = |ended: Ended, tail: &Arc<Mutex<VecDeque<u8>>>| CheckRun {
        ended,
        duration: started.elapsed(),
        output: text_of(tail),
    };
    let (reader, writer) = match std::io::pipe() {
        Ok(pipe) => pipe,
        Err(error) => return finish(Ended::NotStarted(error.to_string()), &tail),
    };
    let stderr = match writer.try_clone() {
        Ok(clone) => clone,
        Err(error) => return finish(Ended::NotStarted(error.to_string()), &tail),
    };
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(&check.run)
        .current_dir(folder)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::from(stderr))
        .process_group(0)
        .kill_on_drop(true);
    let spawned = command.spawn();
    // The parent's copies of the write end go with `command`, so that the
    // reader sees the end of the output when the group is gone.
    drop(command);
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            return finish(
                Ended::NotStarted(format!(
                    "`sh -c` could not be started in `{}`: {error}",
                    folder.display()
                )),
                &tail,
            );
        }
    };
    let killer = GroupKiller(
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw),
    );
    // A plain thread: a reader that never sees the end (a descendant that
    // left the group keeps the pipe open) must not hold up the runtime.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let sink = Arc::clone(&tail);
    std::thread::spawn(move || {
        let mut reader = reader;
        let mut buffer = [0_u8; 8192];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let mut tail = sink
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            tail.extend(&buffer[..n]);
            let excess = tail.len().saturating_sub(OUTPUT_TAIL);
            tail.drain(..excess);
        }
        let _ = done_tx.send(());
    });
    let timeout = Duration::from_millis(check.timeout_ms);
    let ended = tokio::select! {
        status = child.wait() => match status {
            Ok(status) if status.success() => Ended::Passed,
            Ok(status) => Ended::Failed(status.code()),
            Err(error) => Ended::NotStarted(error.to_string()),
        },
        () = tokio::time::sleep(timeout) => Ended::TimedOut,
        () = cancelled => Ended::Cancelled,
    };
    // Whatever it left running goes now, then the output's end is awaited
    // briefly.
    drop(killer);
    let _ = child.start_kill();
    let _ = child.wait().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), done_rx).await;
    finish(ended, &tail)
}

/// The kept output as text, starting at a character boundary.
fn text_of(tail: &Arc<Mutex<VecDeque<u8>>>) -> String {
    let tail = tail
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let bytes: Vec<u8> = tail.iter().copied().collect();
    let start = bytes
        .iter()
        .position(|b| (*b as i8) >= -0x40)
        .unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// "exited with status 3", "timed out after 2s", ...
pub(crate) fn describe(ended: &Ended, timeout: Duration) -> String {
    match ended {
        Ended::Passed => "passed".to_owned(),
        Ended::Failed(Some(code)) => format!("exited with status {code}"),
        Ended::Failed(None) => "was killed by a signal".to_owned(),
        Ended::TimedOut => format!(
            "timed out after {}; its process group was killed",
            crate::switch::describe(timeout)
        ),
        Ended::Cancelled => "was stopped: the run was interrupted".to_owned(),
        Ended::NotStarted(error) => format!("could not run: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(run: &str, timeout_ms: u64) -> CheckDoc {
        CheckDoc {
            name: "t".into(),
            run: run.into(),
            timeout_ms,
        }
    }

    #[tokio::test]
    async fn output_is_combined_and_its_tail_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ran = run(
            &check(
                "echo out; echo err >&2; head -c 5000 /dev/zero | tr '\\0' x; echo; echo \"$CUTOVER_SERVICE\"; exit 3",
                10_000,
            ),
            &[("CUTOVER_SERVICE", "orders".into())],
            dir.path(),
            std::future::pending(),
        )
        .await;
        assert_eq!(ran.ended, Ended::Failed(Some(3)));
        assert_eq!(ran.output.len(), OUTPUT_TAIL);
        assert!(ran.output.ends_with("x\norders\n"), "{}", ran.output);
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("survivor");
        let script = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let ran = run(
            &check(&script, 200),
            &[],
            dir.path(),
            std::future::pending(),
        )
        .await;
        assert_eq!(ran.ended, Ended::TimedOut);
        assert!(ran.duration < Duration::from_secs(3), "{:?}", ran.duration);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            !marker.exists(),
            "a child of the check outlived its timeout"
        );
    }
}
