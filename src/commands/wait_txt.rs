//! DNS-01 helpers for ACME client hooks. `wait-txt` blocks an auth hook until the challenge TXT is
//! visible everywhere a CA could look: first on every authoritative nameserver address (asked
//! directly, which plants no negative cache anywhere), only then through the configured
//! perspectives' resolvers, until a quorum of them sees it. `watch` records a timeline of the TXT
//! RRset per nameserver and perspective and names values that disappear early, RRsets replaced
//! instead of extended, and servers that lag. Both start from [`hook_setup`]: the challenge
//! name, the configured vantages and the policy, from the hook flags and the config file.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use hickory_resolver::proto::rr::RecordType;

use crate::analysis::quorum::Policy;
use crate::cli::HookArgs;
use crate::config::{Config, DnsSpec, PerspectiveSpec, PolicyName};
use crate::exit::Exit;
use crate::identifier::Identifier;
use crate::observation::Role;
use crate::perspective::{Discovery, Lookup, NetSettings, Vantage};
use crate::plan::UsageError;
use crate::probe::{ProbeSet, Resolvers};

/// Never ask one server more often than this.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Longest pause between polls.
const MAX_INTERVAL: Duration = Duration::from_secs(10);

/// A place the TXT is read from.
struct Source {
    name: String,
    authoritative: bool,
    role: Role,
    vantage: Arc<Vantage>,
}

/// TXT values at the name, or why there is no answer.
fn values(l: &Lookup) -> Result<BTreeSet<String>, String> {
    if let Some(f) = &l.failure {
        return Err(f.message.clone());
    }
    Ok(l.txt_values().into_iter().collect())
}

/// The negative-caching TTL the zone hands out, if any reply carried one.
fn negative_ttl(l: &Lookup) -> Option<u32> {
    l.exchanges.iter().filter_map(|e| e.negative_ttl).max()
}

/// [`sources`], or `None` after saying on `out` why there are none.
async fn sources_or_say(
    engine: &Resolvers<'_>,
    challenge: &str,
    timeout: Duration,
    command: &str,
    out: &mut impl Write,
) -> std::io::Result<Option<Vec<Source>>> {
    match sources(engine, challenge, timeout).await {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            writeln!(
                out,
                "mpic-check {command}: cannot find the nameservers of {challenge}: {e}"
            )?;
            Ok(None)
        }
    }
}

async fn sources(
    engine: &Resolvers<'_>,
    challenge: &str,
    timeout: Duration,
) -> Result<Vec<Source>, String> {
    let zone = engine
        .bootstrap
        .zone_of(challenge)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (ns, addr) in zone.servers {
        let spec = PerspectiveSpec::local(
            format!("{ns}@{}", addr.ip()),
            Role::Source,
            DnsSpec::Nameserver(addr),
        );
        let v = Vantage::new(spec, timeout, None, engine.discovery.clone());
        out.push(Source {
            name: v.spec.name.clone(),
            authoritative: true,
            role: Role::Source,
            vantage: Arc::new(v),
        });
    }
    for v in engine.vantages {
        if v.spec.role == Role::Source || v.broken.is_some() {
            continue;
        }
        out.push(Source {
            name: v.spec.name.clone(),
            authoritative: false,
            role: v.spec.role,
            vantage: v.clone(),
        });
    }
    Ok(out)
}

/// `wait-txt`: returns `Ready` when every value is on every authoritative server and a quorum
/// of perspectives sees it, `WouldFail` on timeout, `CouldNotAssess` when nothing can be asked.
#[allow(clippy::too_many_arguments)]
pub async fn wait_txt(
    engine: &Resolvers<'_>,
    policy: &Policy,
    challenge: &str,
    wanted: &[String],
    deadline: Duration,
    step_timeout: Duration,
    log: &mut impl Write,
    out: &mut impl Write,
) -> std::io::Result<Exit> {
    let start = Instant::now();
    let Some(srcs) = sources_or_say(engine, challenge, step_timeout, "wait-txt", out).await? else {
        return Ok(Exit::CouldNotAssess);
    };
    let want: BTreeSet<String> = wanted.iter().cloned().collect();
    let mut pause = MIN_INTERVAL;
    let mut warned_negative = false;
    let mut last_missing: Vec<String> = Vec::new();
    loop {
        let auth: Vec<&Source> = srcs.iter().filter(|s| s.authoritative).collect();
        let answers = join_all(
            auth.iter()
                .map(|s| s.vantage.lookup(challenge, RecordType::TXT)),
        )
        .await;
        let mut missing: Vec<String> = Vec::new();
        for (s, l) in auth.iter().zip(&answers) {
            match values(l) {
                Ok(v) => {
                    let lack: Vec<&String> = want.difference(&v).collect();
                    if !lack.is_empty() {
                        missing.push(format!("{} lacks {}", s.name, quote(&lack)));
                        if let Some(ttl) = negative_ttl(l)
                            && !warned_negative
                            && ttl > 300
                        {
                            warned_negative = true;
                            writeln!(
                                log,
                                "mpic-check wait-txt: note: resolvers that ask before the record exists cache its absence for up to {ttl} s (SOA minimum); perspectives are asked only after every nameserver has it"
                            )?;
                        }
                    }
                }
                Err(e) => missing.push(format!("{} did not answer: {e}", s.name)),
            }
        }
        // Perspectives' resolvers are asked only once every authoritative server has the values,
        // so no resolver caches "no such record" in the meantime.
        if missing.is_empty() {
            let persp: Vec<&Source> = srcs.iter().filter(|s| !s.authoritative).collect();
            let answers = join_all(
                persp
                    .iter()
                    .map(|s| s.vantage.lookup(challenge, RecordType::TXT)),
            )
            .await;
            let mut remotes = 0;
            let mut seeing = 0;
            let mut primary_ok = persp.iter().all(|s| s.role != Role::Primary);
            for (s, l) in persp.iter().zip(&answers) {
                let ok = values(l).is_ok_and(|v| want.is_subset(&v));
                if s.role == Role::Remote {
                    remotes += 1;
                    if ok {
                        seeing += 1;
                    }
                }
                if s.role == Role::Primary && ok {
                    primary_ok = true;
                }
                if !ok {
                    missing.push(format!("{} does not see it yet", s.name));
                }
            }
            let needed = policy.required(remotes);
            if primary_ok && seeing >= needed {
                writeln!(
                    out,
                    "ready: {} value(s) at {challenge} on all {} nameserver address(es) and {seeing}/{remotes} remote perspectives (primary ok) after {:.1} s",
                    want.len(),
                    auth.len(),
                    start.elapsed().as_secs_f64()
                )?;
                return Ok(Exit::Ready);
            }
        }
        if missing != last_missing {
            writeln!(
                log,
                "mpic-check wait-txt: {:.0} s: waiting: {}",
                start.elapsed().as_secs_f64(),
                missing.join("; ")
            )?;
            last_missing.clone_from(&missing);
        }
        if start.elapsed() + pause > deadline {
            writeln!(
                out,
                "timeout after {:.0} s: {}",
                start.elapsed().as_secs_f64(),
                missing.join("; ")
            )?;
            return Ok(Exit::WouldFail);
        }
        tokio::time::sleep(pause).await;
        pause = (pause.mul_f64(1.5)).clamp(MIN_INTERVAL, MAX_INTERVAL);
    }
}

fn quote(v: &[&String]) -> String {
    v.iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One change seen by `watch`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    at: Duration,
    source: String,
    added: Vec<String>,
    removed: Vec<String>,
}

/// `watch`: polls every `interval` until `duration` ends (or `stop` resolves), printing each
/// change, then a summary. Returns `AtRisk` when a problem was seen, else `Ready`.
pub async fn watch(
    engine: &Resolvers<'_>,
    challenge: &str,
    duration: Duration,
    interval: Duration,
    step_timeout: Duration,
    stop: impl Future<Output = ()>,
    out: &mut impl Write,
) -> std::io::Result<Exit> {
    let start = Instant::now();
    let Some(srcs) = sources_or_say(engine, challenge, step_timeout, "watch", out).await? else {
        return Ok(Exit::CouldNotAssess);
    };
    let interval = interval.max(MIN_INTERVAL);
    let mut state: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut events: Vec<Event> = Vec::new();
    let mut first_seen: BTreeMap<(String, String), Duration> = BTreeMap::new();
    writeln!(
        out,
        "watching TXT at {challenge} on {} source(s) for up to {} s (Ctrl-C ends)",
        srcs.len(),
        duration.as_secs()
    )?;
    tokio::pin!(stop);
    loop {
        let answers = join_all(
            srcs.iter()
                .map(|s| s.vantage.lookup(challenge, RecordType::TXT)),
        )
        .await;
        let at = start.elapsed();
        for (s, l) in srcs.iter().zip(&answers) {
            let Ok(now) = values(l) else { continue };
            let before = state.get(&s.name).cloned();
            let added: Vec<String> = now
                .difference(&before.clone().unwrap_or_default())
                .cloned()
                .collect();
            let removed: Vec<String> = before
                .as_ref()
                .map(|b| b.difference(&now).cloned().collect())
                .unwrap_or_default();
            for v in &added {
                first_seen.entry((s.name.clone(), v.clone())).or_insert(at);
            }
            if !added.is_empty() || !removed.is_empty() {
                let mut line = format!("{:>6.1} s  {:<28}", at.as_secs_f64(), s.name);
                for a in &added {
                    line.push_str(&format!(" +{a:?}"));
                }
                for r in &removed {
                    line.push_str(&format!(" -{r:?}"));
                }
                writeln!(out, "{line}")?;
                events.push(Event {
                    at,
                    source: s.name.clone(),
                    added,
                    removed,
                });
            }
            state.insert(s.name.clone(), now);
        }
        if start.elapsed() >= duration {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = &mut stop => break,
        }
    }
    summarize(&srcs, &events, &first_seen, interval, out)
}

fn summarize(
    srcs: &[Source],
    events: &[Event],
    first_seen: &BTreeMap<(String, String), Duration>,
    interval: Duration,
    out: &mut impl Write,
) -> std::io::Result<Exit> {
    let mut problems = Vec::new();
    let is_auth = |name: &str| srcs.iter().any(|s| s.name == name && s.authoritative);
    for e in events {
        if !e.removed.is_empty() && !e.added.is_empty() {
            problems.push(format!(
                "txt-replaced: at {:.1} s {} replaced {} with {}: an apex and its wildcard (or two clients) overwrite each other; add values instead of replacing the RRset",
                e.at.as_secs_f64(),
                e.source,
                e.removed.join(", "),
                e.added.join(", ")
            ));
        } else if !e.removed.is_empty() && is_auth(&e.source) {
            problems.push(format!(
                "txt-early-removal: at {:.1} s {} dropped {}: if a CA was still validating, perspectives that had not read it yet fail",
                e.at.as_secs_f64(),
                e.source,
                e.removed.join(", ")
            ));
        }
    }
    // Lag: a value appearing on one authoritative server well after another.
    let mut by_value: BTreeMap<&str, Vec<(&str, Duration)>> = BTreeMap::new();
    for ((src, v), at) in first_seen {
        if is_auth(src) {
            by_value
                .entry(v.as_str())
                .or_default()
                .push((src.as_str(), *at));
        }
    }
    for (v, seen) in by_value {
        let Some(first) = seen.iter().map(|(_, t)| *t).min() else {
            continue;
        };
        for (src, t) in &seen {
            if *t > first + interval {
                problems.push(format!(
                    "ns-lag: {src} served {v:?} {:.1} s after the first nameserver: check NOTIFY and zone transfers",
                    (*t - first).as_secs_f64()
                ));
            }
        }
    }
    writeln!(out, "summary: {} change(s) seen", events.len())?;
    if problems.is_empty() {
        writeln!(out, "no early removal, replacement or lag seen")?;
        Ok(Exit::Ready)
    } else {
        for p in &problems {
            writeln!(out, "{p}")?;
        }
        Ok(Exit::AtRisk)
    }
}

/// Adapts a `dyn Write` to `impl Write` for the hook log.
#[allow(missing_debug_implementations)]
pub struct LogWriter<'a>(pub &'a mut dyn Write);

impl Write for LogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The challenge name, the vantages and the policy for a hook subcommand.
pub async fn hook_setup(
    name: &str,
    hook: &HookArgs,
) -> Result<(ProbeSet, Policy, String, Duration), UsageError> {
    let bare = name.trim().trim_end_matches('.');
    let bare = bare.strip_prefix("_acme-challenge.").unwrap_or(bare);
    let id = Identifier::parse(bare).map_err(|e| UsageError(e.to_string()))?;
    let config = Config::discover(hook.config.as_deref()).map_err(|e| UsageError(e.to_string()))?;
    let step = hook
        .step_timeout
        .or(config.timeout)
        .unwrap_or(crate::config::DEFAULT_TIMEOUT);
    let policy = Policy::named(
        hook.policy.or(config.policy).unwrap_or(PolicyName::Br),
        chrono::Utc::now().date_naive(),
        None,
        None,
    )
    .map_err(UsageError)?;
    let net = NetSettings::from_env().map_err(UsageError)?;
    // Hooks poll for minutes at most once a second per server (and caps bound the servers), so they
    // carry no run budget.
    let engine = ProbeSet::build(&config, step, Discovery::new(net)).await;
    Ok((engine, policy, id.challenge_name(), step))
}
