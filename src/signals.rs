//! Signals during a run: SIGINT, SIGTERM and SIGHUP (what `timeout`, CI
//! cancellation and container stops send) all interrupt the run, which
//! then rolls back; a second one stops at once, with the journal whole.

use cutover_executor::Halter;
use tokio::sync::watch;

/// Waits for the next SIGINT, SIGTERM or SIGHUP.
#[cfg(unix)]
async fn next_signal(streams: &mut [tokio::signal::unix::Signal; 3]) -> &'static str {
    let [interrupt, terminate, hangup] = streams;
    tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
        _ = hangup.recv() => "SIGHUP",
    }
}

/// Interrupts the run on the first signal; on the second, records that the
/// run was halted, keeps the journal locked so that nothing is half
/// written, and exits with 1.
#[cfg(unix)]
pub fn watch(cancel: watch::Sender<bool>, halter: Halter) {
    use tokio::signal::unix::{SignalKind, signal};
    let streams = [
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ];
    let [Ok(interrupt), Ok(terminate), Ok(hangup)] = streams else {
        return;
    };
    let mut streams = [interrupt, terminate, hangup];
    tokio::spawn(async move {
        let first = next_signal(&mut streams).await;
        say(&format!(
            "{first}: stopping at the next safe point and rolling back (a second signal stops at once)"
        ));
        let _ = cancel.send(true);
        let second = next_signal(&mut streams).await;
        let _journal = halter.halt(&format!("a second signal ({second})"));
        say(&format!(
            "{second}: stopped at once; the journal is whole: run `cutover rollback` or `cutover resume` with it"
        ));
        stop_now();
    });
}

/// Ctrl-C only, where there are no Unix signals.
#[cfg(not(unix))]
pub fn watch(cancel: watch::Sender<bool>, halter: Halter) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = cancel.send(true);
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            let _journal = halter.halt("a second Ctrl-C");
            stop_now();
        }
    });
}

#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

#[allow(clippy::exit)] // the binary's one immediate stop, by the user's second signal
fn stop_now() -> ! {
    std::process::exit(1)
}
