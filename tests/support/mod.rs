//! In-process test harness for the integration tests: a scriptable DNS server
//! ([`dns`]), a deliberately simple HTTP/1.1 origin ([`http`]) and a SOCKS5
//! proxy with a chosen egress address ([`socks`]). Everything binds to
//! 127.0.0.0/8 on ephemeral ports and never talks to anything outside it, so
//! the tests need no root, no network namespace and no Internet access.
//!
//! Threading model: every server owns a dedicated OS thread running its own
//! current-thread tokio runtime ([`ServerThread`]). That is why all
//! constructors are plain synchronous `fn`s: they work the same from a
//! `#[test]`, a `#[tokio::test]` of either flavour, or a test that blocks on
//! `std::process::Command` running the real CLI binary (which would starve
//! servers spawned on the test's own runtime). Dropping a server handle stops
//! its thread: the runtime is shut down, which cancels every connection task,
//! and the thread is joined before `drop` returns, so the ports are closed
//! afterwards.

// The support modules are compiled into one test binary together with tests
// that may not use every helper yet.
#![allow(dead_code)]

pub mod dns;
pub mod doh;
pub mod globalping;
pub mod hostile;
pub mod http;
pub mod httpproxy;
pub mod openmpic;
pub mod socks;
pub mod tls;
pub mod wire;

mod selftest;

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

/// The binary with a hermetic environment, the one way every test starts it: `HOME` is `home` and
/// `XDG_CONFIG_HOME` is removed (so no developer's own config is picked up), and the secrets and test
/// overrides a developer's shell may hold are removed (`GLOBALPING_TOKEN`, `OPEN_MPIC_API_KEY`, the
/// port overrides); tests set again what they need. The fake Internet of the suite lives on
/// 127.0.0.0/8, which the address policy refuses by default: [`LAB_RANGES`] is allowed explicitly,
/// as the README documents for tests and labs (a test of the policy itself removes it).
pub fn base_command(home: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("mpic-check"));
    c.env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("GLOBALPING_TOKEN")
        .env_remove("OPEN_MPIC_API_KEY")
        .env_remove("MPIC_CHECK_HTTP_PORT")
        .env_remove("MPIC_CHECK_TLS_PORT")
        .env_remove("MPIC_CHECK_DNS_PORT")
        .env("MPIC_CHECK_ALLOW_RANGES", LAB_RANGES);
    c
}

/// The ranges the suite's servers live in, allowed through `MPIC_CHECK_ALLOW_RANGES`.
pub const LAB_RANGES: &str = "127.0.0.0/8,::1/128";

/// One `[[perspective]]` table of a config file (with a blank line before it); `http` is left
/// out when `None`, so the perspective fetches directly.
pub fn perspective_toml(
    name: &str,
    role: &str,
    rir: &str,
    dns: &str,
    http: Option<&str>,
) -> String {
    let mut t = format!(
        "\n[[perspective]]\nname = \"{name}\"\nrole = \"{role}\"\nrir = \"{rir}\"\ndns = \"{dns}\"\n"
    );
    if let Some(http) = http {
        t.push_str(&format!("http = \"{http}\"\n"));
    }
    t
}

/// Writes `toml` as `file_name` into a fresh temporary directory, which also serves as the
/// run's `HOME`; keep the directory alive while the binary runs.
pub fn write_config(file_name: &str, toml: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(file_name);
    std::fs::write(&config, toml).unwrap();
    (dir, config)
}

/// [`base_command`] as an `assert_cmd` command (stdin, timeouts, assertions).
pub fn base_cmd(home: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(base_command(home))
}

/// True for IPv4 addresses in 127.0.0.0/8 — the only addresses the harness
/// may bind to or connect to.
pub fn is_loopback_v4(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 127)
}

/// Panics unless `ip` is in 127.0.0.0/8. Called by every constructor so a
/// typo in a test can never make a fake server listen on a real interface.
pub fn assert_loopback(ip: IpAddr) {
    assert!(
        is_loopback_v4(ip),
        "test harness sockets must bind to 127.0.0.0/8 only, got {ip}"
    );
}

/// Shorthand for `127.a.b.c` in tests.
pub fn lo(a: u8, b: u8, c: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, a, b, c))
}

/// Binds one socket (set) per address, all on the same port: first on
/// `ips[0]` with port 0 to let the kernel pick a free port, then on the other
/// addresses with that port. If any bind fails (the port may be taken on
/// another address) everything is dropped and the whole set is retried with a
/// fresh port, up to 20 times.
///
/// `bind(ip, port)` must return the bound socket(s) and the port actually used.
pub(crate) fn bind_same_port<T>(
    ips: &[IpAddr],
    mut bind: impl FnMut(IpAddr, u16) -> io::Result<(T, u16)>,
) -> io::Result<Vec<T>> {
    assert!(!ips.is_empty(), "need at least one address to bind");
    for ip in ips {
        assert_loopback(*ip);
    }
    let mut last_err = io::Error::other("no bind attempted");
    'attempt: for _ in 0..20 {
        let (first, port) = match bind(ips[0], 0) {
            Ok(bound) => bound,
            Err(e) => {
                last_err = e;
                continue;
            }
        };
        let mut all = vec![first];
        for ip in &ips[1..] {
            match bind(*ip, port) {
                Ok((sock, _)) => all.push(sock),
                Err(e) => {
                    last_err = e;
                    continue 'attempt;
                }
            }
        }
        return Ok(all);
    }
    Err(last_err)
}

/// A server's background thread. The thread runs a current-thread tokio
/// runtime until the future returned by `make` finishes or the handle is
/// dropped.
///
/// Drop sends the stop signal, then joins the thread. The thread leaves
/// `block_on` (dropping the server future, and with it listeners), then shuts
/// the runtime down, which cancels all spawned connection tasks; that is
/// bounded, because the harness never uses `spawn_blocking`.
#[derive(Debug)]
pub(crate) struct ServerThread {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerThread {
    /// `make` runs on the new thread, inside the runtime, so it may convert
    /// std sockets with `from_std` and call `tokio::spawn`.
    pub(crate) fn spawn<F, Fut>(name: &str, make: F) -> ServerThread
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        // Build the runtime here so a failure surfaces in the test, not in a
        // detached thread.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build server runtime");
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                rt.block_on(async move {
                    tokio::select! {
                        () = make() => {}
                        // Fires on an explicit stop and also when the sender
                        // is dropped without sending.
                        _ = stop_rx => {}
                    }
                });
                rt.shutdown_timeout(Duration::from_secs(2));
            })
            .expect("spawn server thread");
        ServerThread {
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic on the server thread has already been printed; do not
            // turn it into a double panic while a test is unwinding.
            let _ = thread.join();
        }
    }
}
