//! The tool's own overload, told apart from a domain's fault. When one perspective's resolver
//! stops answering in time for many names of a bulk run at once, while the other perspectives
//! answer the same questions for the same names, the resolver is overloaded or rate-limiting this
//! host (public resolvers limit queries per client; a run with `--concurrency 2000` exceeds any
//! such limit before the back-off of [`crate::perspective::pace`] has adapted). Such a name is
//! checked once more at a lower concurrency; if that perspective still times out and the cluster
//! still holds, its timeouts are the perspective's fault (`perspective-error`, typed
//! [`ToolFault::ResolverOverloaded`]) and never decide the domain's verdict. One name timing out
//! on one perspective is no cluster and stays what it is: a real MPIC risk (a geoblocking or
//! slow nameserver shows exactly so), so runs of one or two names are never re-tried.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::DnsSpec;
use crate::observation::{Check, Observation, Phase, ToolFault};
use crate::perspective::Vantage;
use crate::perspective::pace::Pacer;

/// Names whose timeouts on one perspective make a cluster.
pub const CLUSTER_NAMES: usize = 3;

/// The run's record of which names timed out where, and the slots of the re-tries.
#[derive(Debug)]
pub struct Overload {
    /// Per perspective: when each suspect name finished, and its name (most recent last).
    seen: Mutex<HashMap<String, VecDeque<(Instant, String)>>>,
    changed: tokio::sync::Notify,
    /// Names re-tried at once: a quarter of `--concurrency`.
    retry: tokio::sync::Semaphore,
    /// How far apart in time timeouts still count as one cluster.
    window: Duration,
    /// How long a suspect name waits for a cluster to form before it is left as it is.
    wait: Duration,
    /// Whether the run has enough names for a cluster at all.
    enabled: bool,
}

impl Overload {
    /// For a run of `names` names, `concurrency` at once, with per-step timeout `step`.
    pub fn new(step: Duration, concurrency: usize, names: usize) -> Overload {
        Overload {
            seen: Mutex::new(HashMap::new()),
            changed: tokio::sync::Notify::new(),
            retry: tokio::sync::Semaphore::new((concurrency / 4).max(1)),
            window: step * 10,
            wait: step,
            enabled: names >= CLUSTER_NAMES,
        }
    }

    /// Whether a cluster could form in this run.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The perspectives (indexes into `vantages`, which `groups` follows) whose own recursive
    /// resolver timed out on a DNS check of this name while another perspective answered the
    /// same check.
    pub fn suspects(
        groups: &[Vec<Observation>],
        vantages: &[std::sync::Arc<Vantage>],
    ) -> Vec<usize> {
        let dns_check = |c: Check| matches!(c, Check::Address | Check::Caa | Check::Dns01);
        let timed_out = |o: &Observation| {
            dns_check(o.check) && !o.ok && !o.perspective_fault && o.phase == Some(Phase::Timeout)
        };
        let answered = |c: Check, skip: usize| {
            groups.iter().enumerate().any(|(j, g)| {
                j != skip
                    && g.iter().any(|o| {
                        o.check == c && !o.perspective_fault && o.phase != Some(Phase::Timeout)
                    })
            })
        };
        groups
            .iter()
            .enumerate()
            .filter(|(i, g)| {
                let recursive = vantages.get(*i).is_some_and(|v| {
                    matches!(
                        v.spec.dns,
                        DnsSpec::Udp(_) | DnsSpec::Tcp(_) | DnsSpec::System | DnsSpec::Doh(_)
                    )
                });
                recursive && g.iter().any(|o| timed_out(o) && answered(o.check, *i))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The nameserver sources (indexes into `sources`) that timed out on a check of this name
    /// although the same server answered other questions of this run and lost some (its window
    /// was cut): alive, but dropping this host's questions (response rate limiting, or overloaded
    /// by the run). Returned with the server's label, the key of its cluster. A server that never
    /// answered is dead, not overloaded, and stays `ns-unreachable`.
    pub fn source_suspects(
        sources: &[(crate::model::PerspectiveInfo, Vec<Observation>)],
        pace: &Pacer,
    ) -> Vec<(usize, String)> {
        sources
            .iter()
            .enumerate()
            .filter(|(_, (info, _))| info.nameserver.is_some())
            .filter_map(|(i, (_, obs))| {
                let server = obs
                    .iter()
                    .filter(|o| !o.ok && !o.perspective_fault && o.phase == Some(Phase::Timeout))
                    .flat_map(|o| &o.dns)
                    .find(|d| d.rcode.is_none())
                    .map(|d| d.server.clone())?;
                let alive = pace
                    .view(&server)
                    .is_some_and(|v| v.answered > 0 && v.cuts > 0);
                alive.then_some((i, server))
            })
            .collect()
    }

    /// Turns a nameserver source's timeouts into the tool's fault (the server answered other
    /// questions of the run and dropped these: it limits this host's rate).
    pub fn blame_nameserver(obs: &mut [Observation], names: usize) {
        for o in obs
            .iter_mut()
            .filter(|o| !o.ok && !o.perspective_fault && o.phase == Some(Phase::Timeout))
        {
            o.perspective_fault = true;
            o.tool_fault = Some(ToolFault::ResolverOverloaded);
            o.summary = format!(
                "this nameserver answered other questions of this run but not these, for {names} names \
                 (also when asked again at a lower concurrency): it is rate-limiting this host (response \
                 rate limiting) or overloaded by the run; not counted against the domain ({})",
                o.summary
            );
        }
    }

    /// Notes that `name` timed out on `perspectives`.
    pub fn record(&self, name: &str, perspectives: &[&str]) {
        let now = Instant::now();
        let mut m = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        for p in perspectives {
            let q = m.entry(p.to_string()).or_default();
            q.push_back((now, name.to_string()));
            while q
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > self.window)
            {
                q.pop_front();
            }
        }
        drop(m);
        self.changed.notify_waiters();
    }

    /// How many distinct names timed out on `perspective` within the window, if that is a
    /// cluster.
    pub fn cluster(&self, perspective: &str) -> Option<usize> {
        let now = Instant::now();
        let m = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let q = m.get(perspective)?;
        let mut names: Vec<&str> = q
            .iter()
            .filter(|(t, _)| now.duration_since(*t) <= self.window)
            .map(|(_, n)| n.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        (names.len() >= CLUSTER_NAMES).then_some(names.len())
    }

    /// Waits (at most one step timeout) until one of `perspectives` is in a cluster; returns
    /// those that are.
    pub async fn await_cluster(&self, perspectives: &[&str]) -> Vec<String> {
        let until = Instant::now() + self.wait;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let found: Vec<String> = perspectives
                .iter()
                .filter(|p| self.cluster(p).is_some())
                .map(|p| p.to_string())
                .collect();
            if !found.is_empty() || Instant::now() >= until {
                return found;
            }
            if tokio::time::timeout_at(until, changed).await.is_err() {
                return perspectives
                    .iter()
                    .filter(|p| self.cluster(p).is_some())
                    .map(|p| p.to_string())
                    .collect();
            }
        }
    }

    /// A slot for one re-try (a quarter of the run's concurrency at once).
    pub async fn retry_slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.retry.acquire().await.ok()
    }

    /// Turns the timeouts of one perspective's group into the perspective's fault: the DNS checks
    /// that timed out, and the HTTP-01/TLS-ALPN-01 checks that failed only because the address
    /// lookup did.
    pub fn blame_resolver(group: &mut [Observation], names: usize, retried: bool) {
        let address_timed_out = group
            .iter()
            .any(|o| o.check == Check::Address && o.phase == Some(Phase::Timeout));
        for o in group.iter_mut().filter(|o| !o.ok && !o.perspective_fault) {
            let dns = matches!(o.check, Check::Address | Check::Caa | Check::Dns01)
                && o.phase == Some(Phase::Timeout);
            let via_address = matches!(o.check, Check::Http01 | Check::TlsAlpn01)
                && address_timed_out
                && o.phase == Some(Phase::Dns);
            if dns || via_address {
                o.perspective_fault = true;
                o.tool_fault = Some(ToolFault::ResolverOverloaded);
                o.summary = format!(
                    "this perspective's resolver is overloaded or rate-limiting this host: it did not answer in time \
                     for {names} names of this run while the other perspectives answered them{}; not counted \
                     against the domain ({})",
                    if retried {
                        " (asked again once at a lower concurrency: the same)"
                    } else {
                        ""
                    },
                    o.summary
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::blank;

    #[tokio::test]
    async fn three_names_within_the_window_are_a_cluster_and_two_are_not() {
        let o = Overload::new(Duration::from_secs(1), 32, 100);
        o.record("a.test", &["r1"]);
        o.record("b.test", &["r1", "r2"]);
        o.record("b.test", &["r1"]);
        assert_eq!(o.cluster("r1"), None, "the same name twice is one name");
        o.record("c.test", &["r1"]);
        assert_eq!(o.cluster("r1"), Some(3));
        assert_eq!(o.cluster("r2"), None);
        // A waiter for r2 gives up after one step timeout; one for r1 returns at once.
        let start = Instant::now();
        assert_eq!(o.await_cluster(&["r1", "r2"]).await, vec!["r1".to_string()]);
        assert!(start.elapsed() < Duration::from_millis(100));
        assert!(o.await_cluster(&["r2"]).await.is_empty());
        assert!(start.elapsed() >= Duration::from_millis(900));
    }

    #[tokio::test]
    async fn a_waiter_wakes_when_the_cluster_forms() {
        let o = std::sync::Arc::new(Overload::new(Duration::from_secs(5), 32, 100));
        o.record("a.test", &["r1"]);
        let w = {
            let o = o.clone();
            tokio::spawn(async move { o.await_cluster(&["r1"]).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        o.record("b.test", &["r1"]);
        o.record("c.test", &["r1"]);
        let start = Instant::now();
        assert_eq!(w.await.unwrap(), vec!["r1".to_string()]);
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn timeouts_become_the_resolvers_fault_and_real_answers_stay() {
        let mut addr = blank("r1", Check::Address);
        addr.phase = Some(Phase::Timeout);
        addr.summary = "udp://127.0.0.1:53: timed out: no reply to 3 datagram(s)".into();
        let mut http = blank("r1", Check::Http01);
        http.phase = Some(Phase::Dns);
        let mut caa = blank("r1", Check::Caa);
        caa.phase = Some(Phase::Dns);
        caa.summary = "SERVFAIL from udp://127.0.0.1:53".into();
        let mut g = vec![addr, http, caa];
        Overload::blame_resolver(&mut g, 7, true);
        assert!(g[0].perspective_fault && g[1].perspective_fault);
        assert_eq!(g[0].tool_fault, Some(ToolFault::ResolverOverloaded));
        assert!(g[0].summary.contains("for 7 names"), "{}", g[0].summary);
        assert!(
            g[0].summary.contains("timed out: no reply"),
            "{}",
            g[0].summary
        );
        // A SERVFAIL is an answer: it stays the domain's.
        assert!(!g[2].perspective_fault && g[2].tool_fault.is_none());
    }

    #[test]
    fn no_cluster_in_a_run_of_two_names() {
        assert!(!Overload::new(Duration::from_secs(1), 32, 2).enabled());
        assert!(Overload::new(Duration::from_secs(1), 32, 3).enabled());
    }

    fn source(
        name: &str,
        facts: crate::observation::DnsExchange,
    ) -> (crate::model::PerspectiveInfo, Vec<Observation>) {
        let mut o = blank(name, Check::Soa);
        o.phase = Some(Phase::Timeout);
        o.dns = vec![facts];
        let info = crate::model::PerspectiveInfo {
            name: name.into(),
            role: crate::observation::Role::Source,
            rir: None,
            dns: "nameserver".into(),
            http: "none".into(),
            nameserver: Some(name.into()),
            location: None,
            dns_provenance: None,
            http_provenance: None,
        };
        (info, vec![o])
    }

    #[tokio::test]
    async fn a_nameserver_that_answers_some_and_drops_others_is_overloaded_and_a_dead_one_is_not() {
        use crate::perspective::dns::{Ask, Transport};
        use hickory_resolver::proto::op::{Message, MessageType};
        use hickory_resolver::proto::rr::RecordType;
        // Answers the first query, drops every later one (a rate limit that ran out).
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let limited = Transport::Udp(sock.local_addr().unwrap());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let (n, from) = sock.recv_from(&mut buf).await.unwrap();
            let mut m = Message::from_vec(&buf[..n]).unwrap();
            m.metadata.message_type = MessageType::Response;
            sock.send_to(&m.to_vec().unwrap(), from).await.unwrap();
            loop {
                let _ = sock.recv_from(&mut buf).await;
            }
        });
        let dead_sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let dead = Transport::Udp(dead_sock.local_addr().unwrap());
        let ask = Ask {
            recursion: false,
            ecs: None,
            timeout: Duration::from_millis(150),
        };
        let pace = Pacer::default();
        assert!(
            pace.exchange(&limited, "a.test", RecordType::SOA, ask)
                .await
                .message
                .is_some()
        );
        let lost = pace
            .exchange(&limited, "b.test", RecordType::SOA, ask)
            .await;
        let lost_dead = pace.exchange(&dead, "b.test", RecordType::SOA, ask).await;
        assert!(lost.message.is_none() && lost_dead.message.is_none());
        let mut sources = vec![source("ns1", lost.facts), source("ns2", lost_dead.facts)];
        assert_eq!(
            Overload::source_suspects(&sources, &pace),
            vec![(0, limited.label())]
        );
        Overload::blame_nameserver(&mut sources[0].1, 5);
        let o = &sources[0].1[0];
        assert!(o.perspective_fault, "{o:?}");
        assert_eq!(o.tool_fault, Some(ToolFault::ResolverOverloaded));
        assert!(o.summary.contains("for 5 names"), "{}", o.summary);
    }
}
