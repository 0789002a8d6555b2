//! The signals that end a run early: SIGINT (Ctrl-C), SIGTERM and SIGHUP. They are caught rather
//! than left to kill the process, so that a stopped run still prints what finished, a webroot
//! probe file is removed, and `watch` ends with its summary.

/// SIGINT, SIGTERM and SIGHUP, caught from the moment this is built. Building it before the
/// probes start leaves no window in which a signal would kill the process with the default
/// action while a probe file exists.
#[derive(Debug)]
pub(super) struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    pub(super) fn install() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
            hup: signal(SignalKind::hangup()).ok(),
        }
    }

    /// The name of the first signal received.
    pub(super) async fn recv(&mut self) -> &'static str {
        async fn one(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = one(&mut self.int) => "SIGINT",
            () = one(&mut self.term) => "SIGTERM",
            () = one(&mut self.hup) => "SIGHUP",
        }
    }
}
