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
    /// The name this source is asked instead of the challenge name: the alias target, for the
    /// authoritative servers of the zone an `_acme-challenge` CNAME points into.
    qname: Option<String>,
}

impl Source {
    /// The name to ask this source for `challenge`'s TXT.
    fn name_for<'a>(&'a self, challenge: &'a str) -> &'a str {
        self.qname.as_deref().unwrap_or(challenge)
    }
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
    // An alias (acme-dns): the TXT is on the servers of the target's zone, asked for the target.
    let target = engine.bootstrap.alias_target(challenge).await;
    let zone = engine
        .bootstrap
        .zone_of(target.as_deref().unwrap_or(challenge))
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
            qname: target.clone(),
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
            qname: None,
        });
    }
    Ok(out)
}

/// The values wanted at one challenge name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// `_acme-challenge.<base>`.
    pub challenge: String,
    /// Every value that must be in its RRset (apex and wildcard share the name).
    pub values: BTreeSet<String>,
}

/// Groups `(name, value)` pairs by challenge name, in first-seen order. Names may be given as the
/// domain, its wildcard or the `_acme-challenge` name, as certbot's `CERTBOT_DOMAIN` or a DNS
/// record would spell them.
pub fn group(pairs: &[(String, String)]) -> Result<Vec<Wanted>, UsageError> {
    let mut out: Vec<Wanted> = Vec::new();
    for (name, value) in pairs {
        let challenge = challenge_of(name)?;
        match out.iter_mut().find(|w| w.challenge == challenge) {
            Some(w) => {
                w.values.insert(value.clone());
            }
            None => out.push(Wanted {
                challenge,
                values: [value.clone()].into(),
            }),
        }
    }
    Ok(out)
}

fn challenge_of(name: &str) -> Result<String, UsageError> {
    let bare = name.trim().trim_end_matches('.');
    let bare = bare.strip_prefix("_acme-challenge.").unwrap_or(bare);
    let id = Identifier::parse(bare).map_err(|e| UsageError(e.to_string()))?;
    if id.is_ip() {
        // RFC 8738 §7: an address has no `_acme-challenge` name; dns-01 cannot validate it.
        return Err(UsageError(format!(
            "{}: dns-01 cannot validate an IP address (RFC 8738 §7), so there is no TXT record to wait for",
            id.name
        )));
    }
    Ok(id.challenge_name())
}

/// Reads `--records FILE` (`-` = stdin): one `NAME VALUE` per line, `#` comments; what the
/// example certbot hook collects while certbot hands it one challenge at a time.
pub fn read_records(path: &std::path::Path) -> Result<Vec<(String, String)>, UsageError> {
    let shown = path.display().to_string();
    let read = if path.as_os_str() == "-" {
        crate::text::read_text_capped(std::io::stdin(), 1 << 20)
    } else {
        std::fs::File::open(path).and_then(|f| crate::text::read_text_capped(f, 1 << 20))
    };
    let text = read.map_err(|e| UsageError(format!("--records {shown}: {e}")))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some(name), Some(value), None) => out.push((name.to_string(), value.to_string())),
            _ => {
                return Err(UsageError(format!(
                    "--records {shown}:{}: expected `NAME VALUE`",
                    n + 1
                )));
            }
        }
    }
    if out.is_empty() {
        return Err(UsageError(format!(
            "--records {shown}: no `NAME VALUE` line"
        )));
    }
    Ok(out)
}

/// What `wait-txt` waits for: `NAME VALUE...` and the `--records` lines, grouped by challenge
/// name; never empty.
pub fn wanted(
    name: Option<&str>,
    values: &[String],
    records: Option<&std::path::Path>,
) -> Result<Vec<Wanted>, UsageError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(name) = name {
        if values.is_empty() {
            return Err(UsageError(format!(
                "wait-txt {name}: give the TXT value(s) after the name"
            )));
        }
        pairs.extend(values.iter().map(|v| (name.to_string(), v.clone())));
    }
    if let Some(path) = records {
        pairs.extend(read_records(path)?);
    }
    if pairs.is_empty() {
        return Err(UsageError(
            "wait-txt: give NAME VALUE... or --records FILE".into(),
        ));
    }
    group(&pairs)
}

/// One challenge name with the places its TXT is read from.
struct Group {
    want: Wanted,
    srcs: Vec<Source>,
}

/// `wait-txt`: returns `Ready` when every value of every name is on every authoritative server
/// of its zone and then a quorum of perspectives sees all of them, `WouldFail` on timeout,
/// `CouldNotAssess` when nothing can be asked. All names are waited for together: the
/// perspectives' resolvers are asked only once every nameserver has every value, so none of
/// them caches an RRset that still lacks one (apex + wildcard share a name).
#[allow(clippy::too_many_arguments)]
pub async fn wait_txt(
    engine: &Resolvers<'_>,
    policy: &Policy,
    wanted: &[Wanted],
    deadline: Duration,
    step_timeout: Duration,
    log: &mut impl Write,
    out: &mut impl Write,
) -> std::io::Result<Exit> {
    let start = Instant::now();
    let mut groups = Vec::new();
    for w in wanted {
        let Some(srcs) =
            sources_or_say(engine, &w.challenge, step_timeout, "wait-txt", out).await?
        else {
            return Ok(Exit::CouldNotAssess);
        };
        groups.push(Group {
            want: w.clone(),
            srcs,
        });
    }
    // Name the challenge in progress lines only when there is more than one.
    let several = groups.len() > 1;
    let at = |g: &Group| {
        if several {
            format!(" at {}", g.want.challenge)
        } else {
            String::new()
        }
    };
    let mut pause = MIN_INTERVAL;
    let mut warned_negative = false;
    let mut last_missing: Vec<String> = Vec::new();
    loop {
        let auth: Vec<(&Group, &Source)> = groups
            .iter()
            .flat_map(|g| {
                g.srcs
                    .iter()
                    .filter(|s| s.authoritative)
                    .map(move |s| (g, s))
            })
            .collect();
        let answers = join_all(auth.iter().map(|(g, s)| {
            s.vantage
                .lookup(s.name_for(&g.want.challenge), RecordType::TXT)
        }))
        .await;
        let mut missing: Vec<String> = Vec::new();
        for ((g, s), l) in auth.iter().zip(&answers) {
            match values(l) {
                Ok(v) => {
                    let lack: Vec<&String> = g.want.values.difference(&v).collect();
                    if !lack.is_empty() {
                        missing.push(format!("{} lacks {}{}", s.name, quote(&lack), at(g)));
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
                Err(e) => missing.push(format!("{} did not answer{}: {e}", s.name, at(g))),
            }
        }
        // Perspectives' resolvers are asked only once every authoritative server has every
        // value of every name, so no resolver caches "no such record" or a partial RRset.
        if missing.is_empty() {
            let persp: Vec<(&Group, &Source)> = groups
                .iter()
                .flat_map(|g| {
                    g.srcs
                        .iter()
                        .filter(|s| !s.authoritative)
                        .map(move |s| (g, s))
                })
                .collect();
            let answers = join_all(persp.iter().map(|(g, s)| {
                s.vantage
                    .lookup(s.name_for(&g.want.challenge), RecordType::TXT)
            }))
            .await;
            let mut all_ok = true;
            let mut worst: Option<(usize, usize)> = None;
            for g in &groups {
                let mut remotes = 0;
                let mut seeing = 0;
                let mut primary_ok = g.srcs.iter().all(|s| s.role != Role::Primary);
                for ((pg, s), l) in persp.iter().zip(&answers) {
                    if !std::ptr::eq(*pg, g) {
                        continue;
                    }
                    let ok = values(l).is_ok_and(|v| g.want.values.is_subset(&v));
                    if s.role == Role::Remote {
                        remotes += 1;
                        seeing += usize::from(ok);
                    }
                    primary_ok |= s.role == Role::Primary && ok;
                    if !ok {
                        missing.push(format!("{} does not see it yet{}", s.name, at(g)));
                    }
                }
                all_ok &= primary_ok && seeing >= policy.required(remotes);
                if worst.is_none_or(|(w, _)| seeing < w) {
                    worst = Some((seeing, remotes));
                }
            }
            if all_ok {
                let (seeing, remotes) = worst.unwrap_or((0, 0));
                let values: usize = groups.iter().map(|g| g.want.values.len()).sum();
                let names: Vec<&str> = groups.iter().map(|g| g.want.challenge.as_str()).collect();
                writeln!(
                    out,
                    "ready: {values} value(s) at {} on all {} nameserver address(es) and {seeing}/{remotes} remote perspectives (primary ok) after {:.1} s",
                    names.join(", "),
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
            for g in &groups {
                if let Some(line) = doubled(g).await {
                    writeln!(out, "{line}")?;
                }
            }
            return Ok(Exit::WouldFail);
        }
        tokio::time::sleep(pause).await;
        pause = (pause.mul_f64(1.5)).clamp(MIN_INTERVAL, MAX_INTERVAL);
    }
}

/// Let's Debug `dns01.go` (`TXTDoubleLabel`): when the value never shows at the challenge name,
/// it may be at the doubled name a DNS panel makes by appending the zone. Asked once, at the
/// end, from the first authoritative server (the same lookup the check uses, wildcard-aware).
async fn doubled(g: &Group) -> Option<String> {
    let s = g.srcs.iter().find(|s| s.authoritative)?;
    if s.qname.is_some() {
        // An alias: the record lives in another zone, under a name the user did not type.
        return None;
    }
    let d = crate::checks::txt::doubled_name(&s.vantage, &g.want.challenge).await?;
    let found: Vec<&String> = g
        .want
        .values
        .iter()
        .filter(|v| d.values.contains(v))
        .collect();
    if d.wildcard || found.is_empty() {
        return None;
    }
    let challenge = &g.want.challenge;
    Some(format!(
        "the value {} is at {} instead of {challenge} ({}): the DNS panel appends the zone to the \
         name you type. Enter only the part before the zone (e.g. \"_acme-challenge\" or \
         \"_acme-challenge.www\"), or the full name with a trailing dot (\"{challenge}.\"), and \
         delete the record at the doubled name",
        quote(&found),
        d.name,
        s.name
    ))
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
                .map(|s| s.vantage.lookup(s.name_for(challenge), RecordType::TXT)),
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

/// The vantages, the policy and the step timeout for a hook subcommand; `name`'s challenge name
/// is validated first so a bad name fails before any packet is sent.
pub async fn hook_setup(
    name: &str,
    hook: &HookArgs,
) -> Result<(ProbeSet, Policy, String, Duration), UsageError> {
    let challenge = challenge_of(name)?;
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
    Ok((engine, policy, challenge, step))
}
