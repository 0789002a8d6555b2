//! Back-pressure per DNS server: how many questions one server may have in flight from this run,
//! adapted the way TCP adapts its window (additive increase, multiplicative decrease). A bulk run
//! with `--concurrency 2000` would otherwise put thousands of questions on one resolver at once; a
//! resolver that rate-limits per client (most public ones do, and RRL on authoritative servers)
//! drops the excess, and the drops would show as timeouts blamed on the domains. Here a question
//! waits for a slot *before* its step timeout starts (waiting is the tool's own cost and never a
//! domain's), a reply that needed a retransmission or never came halves the server's window (at
//! most once per third of a step timeout, so one burst of losses is one cut, not a collapse), and
//! every clean reply widens it by one question per window. The servers are keyed by transport
//! (address and how it is reached), run-wide: two perspectives asking the same resolver share its
//! limit, as the resolver counts them together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_resolver::proto::rr::RecordType;

use super::dns::{self, Answer, Ask, FailureKind, Transport};

/// Questions one server starts with: enough that a default run (32 names) never waits.
pub const START_WINDOW: f64 = 256.0;
/// The window never shrinks below this many questions in flight.
pub const MIN_WINDOW: f64 = 8.0;
/// Nor grows above this: the per-server in-flight limit of a run.
pub const MAX_WINDOW: f64 = 1024.0;

/// The run's gates, one per DNS server.
#[derive(Debug, Default)]
pub struct Pacer {
    gates: Mutex<HashMap<String, Arc<Gate>>>,
}

/// One server's window.
#[derive(Debug)]
struct Gate {
    state: Mutex<State>,
    wake: tokio::sync::Notify,
}

#[derive(Debug)]
struct State {
    window: f64,
    in_flight: usize,
    last_cut: Option<Instant>,
    cuts: u32,
    answered: u64,
}

/// What one server's gate looks like now (for tests and the run's notes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateView {
    /// Questions it may have in flight.
    pub window: f64,
    /// How many times the window was halved.
    pub cuts: u32,
    /// Replies received from it (of any RCODE): it is alive.
    pub answered: u64,
}

impl Pacer {
    /// Sends one question through `t`'s gate: waits for a slot, then [`dns::exchange`] with its
    /// full step timeout, then adapts the window to how the reply came.
    pub async fn exchange(&self, t: &Transport, name: &str, rtype: RecordType, ask: Ask) -> Answer {
        let gate = self.gate(&t.label());
        gate.enter().await;
        let a = dns::exchange(t, name, rtype, ask).await;
        gate.leave(&a, ask.timeout / dns::UDP_TRIES);
        a
    }

    /// The gate of one server, created at first use.
    fn gate(&self, key: &str) -> Arc<Gate> {
        let mut m = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(Gate {
                    state: Mutex::new(State {
                        window: START_WINDOW,
                        in_flight: 0,
                        last_cut: None,
                        cuts: 0,
                        answered: 0,
                    }),
                    wake: tokio::sync::Notify::new(),
                })
            })
            .clone()
    }

    /// The window of the server `label` (a transport's [`Transport::label`]), if it was asked.
    pub fn view(&self, label: &str) -> Option<GateView> {
        let m = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        m.get(label).map(|g| {
            let s = g.lock();
            GateView {
                window: s.window,
                cuts: s.cuts,
                answered: s.answered,
            }
        })
    }
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the window has room, then takes one place in it.
    async fn enter(&self) {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            // Registered before the check, so a place freed in between is not missed.
            notified.as_mut().enable();
            {
                let mut s = self.lock();
                if (s.in_flight as f64) < s.window.floor() {
                    s.in_flight += 1;
                    return;
                }
            }
            notified.await;
        }
    }

    /// Gives the place back and adapts the window: a reply that needed a retransmission, or
    /// none at all, is loss (halve, at most once per `spacing`); a clean reply is room to grow.
    fn leave(&self, a: &Answer, spacing: Duration) {
        let lost = a.facts.retransmits > 0 || dns::failure_kind(a) == Some(FailureKind::Timeout);
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        if a.message.is_some() {
            s.answered += 1;
        }
        if lost {
            if s.last_cut.is_none_or(|t| t.elapsed() >= spacing) {
                s.window = (s.window / 2.0).max(MIN_WINDOW);
                s.last_cut = Some(Instant::now());
                s.cuts += 1;
            }
        } else if a.message.is_some() {
            s.window = (s.window + 1.0 / s.window).min(MAX_WINDOW);
        }
        let room = (s.window.floor() as usize).saturating_sub(s.in_flight);
        drop(s);
        // Wake as many waiters as there is room (at least the one place just freed).
        for _ in 0..room.max(1) {
            self.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn ask(ms: u64) -> Ask {
        Ask {
            recursion: true,
            ecs: None,
            timeout: Duration::from_millis(ms),
        }
    }

    /// A UDP server on loopback that answers every query (echoing it as a NOERROR reply) after
    /// `delay`, dropping those for which `drop` says so, and counting the most it held at once.
    async fn server(
        delay: Duration,
        drop: impl Fn(usize) -> bool + Send + Sync + 'static,
    ) -> (SocketAddr, Arc<AtomicUsize>) {
        use hickory_resolver::proto::op::{Message, MessageType};
        let sock = Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = sock.local_addr().unwrap();
        let peak = Arc::new(AtomicUsize::new(0));
        let held = Arc::new(AtomicUsize::new(0));
        let (p, h) = (peak.clone(), held);
        tokio::spawn(async move {
            let mut n = 0;
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((len, from)) = sock.recv_from(&mut buf).await else {
                    return;
                };
                n += 1;
                if drop(n) {
                    continue;
                }
                let Ok(mut m) = Message::from_vec(&buf[..len]) else {
                    continue;
                };
                m.metadata.message_type = MessageType::Response;
                let bytes = m.to_vec().unwrap();
                let (sock, p, h) = (sock.clone(), p.clone(), h.clone());
                let now = h.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    h.fetch_sub(1, Ordering::SeqCst);
                    let _ = sock.send_to(&bytes, from).await;
                });
            }
        });
        (addr, peak)
    }

    #[tokio::test]
    async fn a_quiet_server_is_never_made_to_wait_and_its_window_grows() {
        let (addr, _) = server(Duration::from_millis(5), |_| false).await;
        let p = Pacer::default();
        let t = Transport::Udp(addr);
        for _ in 0..20 {
            let a = p.exchange(&t, "a.test", RecordType::A, ask(2000)).await;
            assert!(a.message.is_some(), "{:?}", a.facts.error);
        }
        let v = p.view(&t.label()).unwrap();
        assert_eq!(v.cuts, 0);
        assert!(v.window > START_WINDOW, "{v:?}");
    }

    #[tokio::test]
    async fn loss_halves_the_window_once_per_spacing_and_holds_questions_back() {
        // Every 10th datagram is dropped: the first loss cuts the window, and the questions
        // past the window wait for a place instead of piling onto the server.
        let (addr, peak) = server(Duration::from_millis(20), |n| n % 10 == 0).await;
        let p = Arc::new(Pacer::default());
        let t = Transport::Udp(addr);
        let asks = (0..600).map(|i| {
            let (p, t) = (p.clone(), t.clone());
            tokio::spawn(async move {
                p.exchange(&t, &format!("n{i}.test"), RecordType::A, ask(600))
                    .await
            })
        });
        let answers = futures::future::join_all(asks).await;
        let ok = answers
            .iter()
            .filter(|a| a.as_ref().unwrap().message.is_some())
            .count();
        // With three tries per question, a 10 % drop loses (almost) nothing.
        assert!(ok >= 598, "{ok} of 600 answered");
        let v = p.view(&t.label()).unwrap();
        assert!(v.cuts >= 1, "{v:?}");
        assert!(v.window < START_WINDOW, "{v:?}");
        // Never more than the starting window held by the server at once.
        assert!(
            peak.load(Ordering::SeqCst) <= START_WINDOW as usize,
            "{peak:?}"
        );
    }

    #[tokio::test]
    async fn a_burst_of_losses_is_one_cut_not_a_collapse() {
        // A silent server: every question is lost (retransmitted, then timed out).
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let t = Transport::Udp(silent.local_addr().unwrap());
        let lost = dns::exchange(&t, "a.test", RecordType::A, ask(30)).await;
        assert!(lost.facts.retransmits > 0 && lost.message.is_none());
        let g = Pacer::default().gate("x");
        for _ in 0..50 {
            g.enter().await;
            g.leave(&lost, Duration::from_secs(60));
        }
        let s = g.lock();
        assert_eq!(s.cuts, 1);
        assert_eq!(s.window, START_WINDOW / 2.0);
        assert_eq!(s.in_flight, 0);
    }
}
