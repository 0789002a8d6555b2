//! The benchmark harness of issues 11, 19 and 22: `cargo bench --bench scale` (parts a, b, c,
//! blackhole, d, e, f) or `cargo bench --bench scale -- PART…` (one or more of them, or `compare`,
//! which runs only when named).
//!
//! Everything runs on 127.0.0.0/8 with in-process fakes that inject latency themselves (the kernel
//! here has no netem): each DNS answer and each HTTP response is delayed by one emulated round trip
//! (`Behaviour::Delay` in the DNS fake, `Site::latency` in the HTTP origin). The tool is the real
//! release binary (`CARGO_BIN_EXE_mpic-check`, or `MPIC_CHECK_BIN`), run exactly as a user runs it:
//! a config file naming the perspectives, `--format json` or `--format jsonl --from-file`, and
//! `MPIC_CHECK_HTTP_PORT`/`MPIC_CHECK_DNS_PORT` pointing at the fakes' ephemeral ports.
//!
//! - (a) one identifier, 1 primary + 5 remotes, every check (addresses, CAA climb, HTTP-01 with one
//!   redirect to another host, the authoritative nameservers as sources) at 50 ms per round trip:
//!   wall time against the critical path computed from the tool's dependency chain.
//! - (b) 1,000 and 10,000 identifiers x 6 perspectives at 20 ms: wall time, identifiers/s, peak
//!   RSS and CPU time of the tool (getrusage of the child), CPU per identifier, the 10k/1k ratio;
//!   with `MPIC_BENCH_RATIO_RUNS=5` the whole size list runs five times and the ratio is reported
//!   per round, as a median and as a spread, with the peak RSS at 10k of each round.
//! - (c) the same single-identifier check scripted the way a sysadmin does it today, sequential
//!   `dig` + `curl` per perspective, timed side by side with the tool.
//! - blackhole: one silent perspective (resolver, HTTP path, proxy, primary resolver) adds at most
//!   one timeout to the wall time.
//! - (d) 2,000 identifiers with the tool's open-file limit at 256, soft and hard (the measuring
//!   wrapper lowers its own `RLIMIT_NOFILE` before starting the tool, which inherits it): names not
//!   ready (all are healthy: must be 0), `perspective-error` findings, the note on stderr.
//! - (e) 1 % of incoming queries dropped at random (seeded) by every resolver and authoritative
//!   server: false alarms (must be 0) and the `retransmits` the JSON shows.
//! - (f) 2,000 identifiers with `--concurrency 2000` against DNS servers that rate-limit each client
//!   (token bucket per source address, 2,000 queries/s, burst 200, excess dropped silently as RRL
//!   does): domains blamed (not ready for a reason other than `perspective-error`; must be 0).
//! - compare: the 1k run of (b) with the cargo-built binary and with `MPIC_CHECK_BIN`, which here
//!   means the *previous release*, alternating which runs first, `MPIC_BENCH_RUNS` rounds (default
//!   3); each run's wall and CPU per identifier and the median new/old ratio.
//!
//! Environment: `MPIC_CHECK_BIN` (binary to run; in `compare`, the old binary set against the
//! cargo-built one), `MPIC_BENCH_SIZES` (identifier counts for (b), default `1000,10000,1000`, and
//! for (e), default `1000`), `MPIC_BENCH_RUNS` (measured runs for (a), (c), blackhole and compare,
//! default 7, 3, 3 and 3), `MPIC_BENCH_RATIO_RUNS` (rounds of (b), default 1), `MPIC_BENCH_NAMES`
//! (identifiers of (d) and (f), default 2000), `MPIC_BENCH_RATE` (`QPS,BURST` of (f), default
//! `2000,200`), `MPIC_BENCH_SEED` (the loss pattern of (e), default 22).

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeValLike;
use serde_json::Value;

#[allow(unused)]
#[path = "../tests/support/mod.rs"]
mod support;

use support::dns::{Behaviour, DnsServer, Zone};
use support::http::{Block, HttpOrigin, Resp, Site};
use support::socks::Socks5Proxy;

/// Set (to a number) on the wrapper's environment: the wrapper lowers its own `RLIMIT_NOFILE`, soft
/// and hard, to that number before starting the tool, which inherits it and cannot raise it (part
/// (d)). Done in the wrapper rather than in a `pre_exec` hook because the crate forbids `unsafe`.
const NOFILE_ENV: &str = "MPIC_BENCH_NOFILE";

/// When set, this binary is only a measuring wrapper: it runs its arguments as a child, waits,
/// and writes the child's wall time and `getrusage(RUSAGE_CHILDREN)` to the file named here.
/// (A fresh wrapper per run, so the peak RSS is that run's and not the maximum of all runs.)
const MEASURE_ENV: &str = "MPIC_BENCH_MEASURE_TO";

const ZONE: &str = "example.test";
const NAME: &str = "www.example.test";
const REDIRECT_HOST: &str = "acme.example.test";
/// Origin of every identifier (answers the challenge with a 301 to `REDIRECT_HOST`).
const ORIGIN_IP: &str = "127.0.20.1";
/// The redirect target, which serves the key authorization.
const REDIRECT_IP: &str = "127.0.20.2";
const NS1_IP: &str = "127.0.1.1";
const NS2_IP: &str = "127.0.1.2";
/// A 43-character base64url token and its key authorization (what `--token`/`--expect-body` get).
const TOKEN: &str = "bench_TOKEN-0123456789abcdefghijklmnopqrstu";
const KEY_AUTH: &str =
    "bench_TOKEN-0123456789abcdefghijklmnopqrstu.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
/// Let's Encrypt's validation User-Agent, also sent by the scripted check.
const CA_UA: &str =
    "Mozilla/5.0 (compatible; Let's Encrypt validation server; +https://www.letsencrypt.org)";

/// name, role, RIR, location: one primary and one remote per RIR (and a second ARIN one).
const PERSPECTIVES: [(&str, &str, &str, (f64, f64)); 6] = [
    ("home", "primary", "ARIN", (40.71, -74.01)),
    ("us-west", "remote", "ARIN", (37.77, -122.42)),
    ("eu-central", "remote", "RIPE", (50.11, 8.68)),
    ("ap-northeast", "remote", "APNIC", (35.68, 139.69)),
    ("sa-east", "remote", "LACNIC", (-23.55, -46.63)),
    ("af-south", "remote", "AFRINIC", (-33.92, 18.42)),
];

fn resolver_ip(i: usize) -> IpAddr {
    support::lo(0, 0, 53 + i as u8)
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("literal address")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ------------------------------------------------------------------------------------------------
// The lab: resolvers, authoritative servers, origin, optional proxies, and the config file.

/// What to start.
#[derive(Debug, Clone)]
struct LabSpec {
    /// One emulated round trip, added by every DNS answer and every HTTP response.
    latency: Duration,
    /// Identifiers served (each resolves to `ORIGIN_IP`).
    names: Vec<String>,
    /// `timeout` in the config's `[defaults]`; `None` = the tool's default.
    timeout: Option<Duration>,
    /// Remote perspectives fetch through their own SOCKS5 proxy (egress 127.0.0.1x).
    socks: bool,
    /// Perspective whose resolver never answers.
    silent_resolver: Option<usize>,
    /// Perspective whose HTTP traffic the origin black-holes (needs `socks`).
    http_blackhole: Option<usize>,
    /// Perspective whose proxy accepts TCP and then says nothing (needs `socks`).
    proxy_blackhole: Option<usize>,
    /// Use the bench's constant-time DNS responder instead of the harness's `DnsServer` (see
    /// `fast_dns`): for (b), where the harness's per-query cost grows with the zone.
    fast_dns: bool,
    /// Loss and rate limiting on every resolver and authoritative server (`fast_dns` only).
    impair: fast_dns::Impair,
}

impl LabSpec {
    fn new(latency: Duration) -> LabSpec {
        LabSpec {
            latency,
            names: vec![NAME.to_string()],
            timeout: None,
            socks: false,
            silent_resolver: None,
            http_blackhole: None,
            proxy_blackhole: None,
            fast_dns: false,
            impair: fast_dns::Impair::default(),
        }
    }
}

enum DnsSide {
    Harness(Vec<DnsServer>),
    Fast(Vec<fast_dns::FastDns>),
}

struct Lab {
    dns: DnsSide,
    dns_port: u16,
    origin: HttpOrigin,
    _proxies: Vec<Socks5Proxy>,
    _blackhole: Option<std::net::TcpListener>,
    dir: tempfile::TempDir,
    config: PathBuf,
}

fn egress_ip(i: usize) -> IpAddr {
    support::lo(0, 0, 10 + i as u8)
}

/// The resolvers' view (a recursive resolver knows every zone: here the root).
fn resolver_zone(names: &[String]) -> Zone {
    let mut z = Zone::new(".")
        .ns(ZONE, "ns1.example.test")
        .ns(ZONE, "ns2.example.test")
        .a("ns1.example.test", NS1_IP)
        .a("ns2.example.test", NS2_IP)
        .caa(ZONE, 0, "issue", "letsencrypt.org")
        .a(REDIRECT_HOST, REDIRECT_IP);
    for n in names {
        z = z.a(n, ORIGIN_IP);
    }
    z
}

/// The zone as its authoritative servers serve it.
fn authoritative_zone(names: &[String]) -> Zone {
    let mut z = Zone::new(ZONE)
        .ns("@", "ns1.example.test")
        .ns("@", "ns2.example.test")
        .a("ns1", NS1_IP)
        .a("ns2", NS2_IP)
        .caa("@", 0, "issue", "letsencrypt.org")
        .a(REDIRECT_HOST, REDIRECT_IP);
    for n in names {
        z = z.a(n, ORIGIN_IP);
    }
    z
}

fn site(at: IpAddr, port: u16, spec: &LabSpec) -> Site {
    let mut s = Site::new().latency(spec.latency);
    if at == ip(ORIGIN_IP) {
        // The challenge path of every name moves to one validation host (one redirect).
        s = s.response(
            "/.well-known/acme-challenge/*",
            Resp::redirect(
                301,
                &format!("http://{REDIRECT_HOST}:{port}/.well-known/acme-challenge/{TOKEN}"),
            ),
        );
    } else {
        s = s.file(&format!("/.well-known/acme-challenge/{TOKEN}"), KEY_AUTH);
    }
    if let Some(i) = spec.http_blackhole {
        s = s.block_source(egress_ip(i), Block::Drop);
    }
    s
}

impl Lab {
    fn start(spec: &LabSpec) -> Lab {
        let mut ips: Vec<IpAddr> = (0..PERSPECTIVES.len()).map(resolver_ip).collect();
        ips.push(ip(NS1_IP));
        ips.push(ip(NS2_IP));
        let (dns, dns_port) = if spec.fast_dns {
            let names: Arc<HashSet<String>> = Arc::new(spec.names.iter().cloned().collect());
            let servers = fast_dns::FastDns::start_many(&ips, spec.latency, &names, spec.impair);
            let port = servers[0].addr.port();
            (DnsSide::Fast(servers), port)
        } else {
            let resolvers = resolver_zone(&spec.names);
            let auth = authoritative_zone(&spec.names);
            let s = spec;
            let servers = DnsServer::start_many(&ips, |at| {
                let zone = if at == ip(NS1_IP) || at == ip(NS2_IP) {
                    auth.clone()
                } else {
                    resolvers.clone()
                };
                let silent = s.silent_resolver.is_some_and(|i| resolver_ip(i) == at);
                if silent {
                    zone.behaviour(Behaviour::Silent)
                } else if s.latency > Duration::ZERO {
                    zone.behaviour(Behaviour::Delay(s.latency))
                } else {
                    zone
                }
            });
            let port = servers[0].port();
            (DnsSide::Harness(servers), port)
        };
        let origin = start_origin(spec);
        let mut proxies = Vec::new();
        let mut blackhole = None;
        let mut http_sides = vec!["direct".to_string()];
        for i in 1..PERSPECTIVES.len() {
            if !spec.socks {
                http_sides.push("direct".into());
            } else if spec.proxy_blackhole == Some(i) {
                // Accepts the TCP handshake (backlog) and never says a word.
                let l = std::net::TcpListener::bind((support::lo(0, 30, 99), 0))
                    .expect("bind black-hole listener");
                http_sides.push(format!("socks5://{}", l.local_addr().expect("addr")));
                blackhole = Some(l);
            } else {
                let p = Socks5Proxy::start(support::lo(0, 30, i as u8), egress_ip(i));
                http_sides.push(p.url(false));
                proxies.push(p);
            }
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let mut toml = String::from("# written by benches/scale.rs\n[defaults]\n");
        if let Some(t) = spec.timeout {
            toml.push_str(&format!("timeout = \"{}ms\"\n", t.as_millis()));
        }
        for (i, (name, role, rir, (lat, lon))) in PERSPECTIVES.iter().enumerate() {
            toml.push_str(&format!(
                "\n[[perspective]]\nname = \"{name}\"\nrole = \"{role}\"\nrir = \"{rir}\"\n\
                 location = [{lat}, {lon}]\ndns = \"udp://{}:{dns_port}\"\nhttp = \"{}\"\n",
                resolver_ip(i),
                http_sides[i]
            ));
        }
        let config = dir.path().join("perspectives.toml");
        std::fs::write(&config, toml).expect("write config");
        Lab {
            dns,
            dns_port,
            origin,
            _proxies: proxies,
            _blackhole: blackhole,
            dir,
            config,
        }
    }

    /// The environment a user would set to point the tool at this lab.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "MPIC_CHECK_HTTP_PORT".into(),
                self.origin.port().to_string(),
            ),
            ("MPIC_CHECK_DNS_PORT".into(), self.dns_port.to_string()),
            ("HOME".into(), self.dir.path().display().to_string()),
            ("NO_COLOR".into(), "1".into()),
            // The lab lives on loopback, which the address policy refuses unless allowed.
            ("MPIC_CHECK_ALLOW_RANGES".into(), "127.0.0.0/8".into()),
        ]
    }

    /// `mpic-check --config … ARGS`.
    fn tool_args(&self, extra: &[&str]) -> Vec<String> {
        self.tool_args_with(&tool_bin(), extra)
    }

    /// The same with another binary (part `compare`).
    fn tool_args_with(&self, bin: &Path, extra: &[&str]) -> Vec<String> {
        let mut v = vec![
            bin.display().to_string(),
            "--config".into(),
            self.config.display().to_string(),
            "--token".into(),
            TOKEN.into(),
            "--expect-body".into(),
            KEY_AUTH.into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }

    /// One `--format json` run for NAME; returns the measurement and the document.
    fn run_single(&self, tag: &str) -> (Measured, Value) {
        let out = self.dir.path().join(format!("{tag}.json"));
        let m = measure(
            &self.tool_args(&["--format", "json", NAME]),
            &self.env(),
            &out,
        );
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "mpic-check printed no JSON ({e}); exit {}; stderr: {}",
                m.code, m.stderr
            )
        });
        (m, doc)
    }

    /// DNS queries and HTTP requests the fakes have seen so far.
    fn traffic(&self) -> (u64, usize) {
        let q = match &self.dns {
            DnsSide::Harness(s) => s.iter().map(|d| d.queries().len() as u64).sum(),
            DnsSide::Fast(s) => s.iter().map(fast_dns::FastDns::queries).sum(),
        };
        (q, self.origin.requests().len())
    }

    /// Queries the fakes dropped on purpose: (random loss, rate limit).
    fn dropped(&self) -> (u64, u64) {
        match &self.dns {
            DnsSide::Harness(_) => (0, 0),
            DnsSide::Fast(s) => s
                .iter()
                .map(fast_dns::FastDns::dropped)
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1)),
        }
    }

    fn clear_traffic(&self) {
        if let DnsSide::Harness(s) = &self.dns {
            for d in s {
                d.clear_queries();
            }
        }
        self.origin.clear_requests();
    }
}

/// Both origin addresses on one port that is known before the sites are built, so the redirect's
/// `Location` can carry it (as `http://acme.example.test:PORT/…`; the tool counts the test port as
/// port 80, and `curl --resolve` maps it).
fn start_origin(spec: &LabSpec) -> HttpOrigin {
    let ips = [ip(ORIGIN_IP), ip(REDIRECT_IP)];
    for _ in 0..20 {
        let port = std::net::TcpListener::bind((ips[0], 0))
            .and_then(|l| l.local_addr())
            .expect("probe a free port")
            .port();
        if let Ok(o) = HttpOrigin::start_on_port(&ips, port, |at| site(at, port, spec)) {
            return o;
        }
    }
    panic!("no free port for the HTTP origin after 20 attempts");
}

fn tool_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MPIC_CHECK_BIN") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_BIN_EXE_mpic-check"))
}

// ------------------------------------------------------------------------------------------------
// Measuring a child: wall time, CPU time and peak RSS through a fresh wrapper process.

#[derive(Debug, Clone)]
struct Measured {
    wall: Duration,
    cpu_user: Duration,
    cpu_sys: Duration,
    max_rss_kib: u64,
    code: i32,
    stderr: String,
    /// CPU time of this process (the fakes) during the run.
    fakes_cpu: Duration,
    /// CPU time of everything else on the machine during the run (other users' builds and tests
    /// compete for the same 2 cores and inflate every figure).
    others_cpu: Duration,
}

impl Measured {
    fn cpu(&self) -> Duration {
        self.cpu_user + self.cpu_sys
    }
}

/// Runs `args` (program first) with `env` through the measuring wrapper; stdout goes to `stdout`.
fn measure(args: &[String], env: &[(String, String)], stdout: &Path) -> Measured {
    let report = stdout.with_extension("rusage");
    let stderr_path = stdout.with_extension("stderr");
    let busy_before = machine_busy();
    let own_before = own_cpu();
    let out = std::fs::File::create(stdout).expect("create stdout file");
    let err = std::fs::File::create(&stderr_path).expect("create stderr file");
    let status = Command::new(std::env::current_exe().expect("bench executable"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("XDG_CONFIG_HOME")
        .env(MEASURE_ENV, &report)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .expect("run the measuring wrapper");
    let fakes_cpu = own_cpu().saturating_sub(own_before);
    let busy = machine_busy().saturating_sub(busy_before);
    assert!(status.success(), "measuring wrapper failed: {status}");
    let text = std::fs::read_to_string(&report).expect("wrapper report");
    let f: Vec<i64> = text
        .split_whitespace()
        .map(|x| x.parse().expect("number"))
        .collect();
    let us = |v: i64| Duration::from_micros(v.max(0) as u64);
    let (cpu_user, cpu_sys) = (us(f[1]), us(f[2]));
    Measured {
        wall: us(f[0]),
        cpu_user,
        cpu_sys,
        max_rss_kib: f[3].max(0) as u64,
        code: f[4] as i32,
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
        fakes_cpu,
        others_cpu: busy
            .saturating_sub(cpu_user + cpu_sys)
            .saturating_sub(fakes_cpu),
    }
}

/// Busy CPU time of the whole machine so far (`/proc/stat`: all but idle and iowait).
fn machine_busy() -> Duration {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// Load from other processes during a run, as "cores busy".
fn others(m: &Measured) -> String {
    format!(
        "{:.2} cores",
        m.others_cpu.as_secs_f64() / m.wall.as_secs_f64()
    )
}

/// The wrapper side of [`measure`].
fn measuring_wrapper(report: &Path) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(n) = std::env::var(NOFILE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        use nix::sys::resource::{Resource, setrlimit};
        setrlimit(Resource::RLIMIT_NOFILE, n, n).expect("lower RLIMIT_NOFILE");
    }
    let start = Instant::now();
    let status = Command::new(&args[0])
        .args(&args[1..])
        .env_remove(MEASURE_ENV)
        .env_remove(NOFILE_ENV)
        .status();
    let wall = start.elapsed();
    let code = match status {
        Ok(s) => s.code().unwrap_or(-1),
        Err(e) => {
            eprintln!("bench wrapper: cannot run {}: {e}", args[0]);
            -2
        }
    };
    let ru = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage(RUSAGE_CHILDREN)");
    let line = format!(
        "{} {} {} {} {code}\n",
        wall.as_micros(),
        ru.user_time().num_microseconds(),
        ru.system_time().num_microseconds(),
        ru.max_rss()
    );
    std::fs::write(report, line).expect("write wrapper report");
    std::process::exit(0)
}

/// CPU time of this process (the fakes run on its threads).
fn own_cpu() -> Duration {
    let ru = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage(RUSAGE_SELF)");
    Duration::from_micros(
        (ru.user_time().num_microseconds() + ru.system_time().num_microseconds()).max(0) as u64,
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn runs_from_env(default: usize) -> usize {
    std::env::var("MPIC_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

// ------------------------------------------------------------------------------------------------
// The critical path, from the tool's dependency chain (src/app.rs, src/checks, src/perspective):
//
//   per perspective (perspective_checks):  [A ‖ AAAA]  ‖  [CAA climb: every ancestor at once]
//                                          then HTTP-01 (needs the addresses): GET hop 1, and for
//                                          each redirect: [A ‖ AAAA of the new host] → GET hop n
//   nameserver sources (nameserver_sources, find_zone), through the primary's resolver:
//                                          [NS of every ancestor at once] → [A ‖ AAAA of each
//                                          nameserver] → [SOA ‖ A ‖ AAAA ‖ CAA at each server]
//   before all of it (Engine::new): one SOCKS5 greeting per proxy, in parallel (0 here: direct).
//
// Each bracket is one round trip. The hop count comes from the run's own JSON (`http.hops`).

struct Step {
    what: String,
    rtts: u32,
    after: Option<usize>,
}

struct Dag(Vec<Step>);

impl Dag {
    fn add(&mut self, what: String, rtts: u32, after: Option<usize>) -> usize {
        self.0.push(Step { what, rtts, after });
        self.0.len() - 1
    }

    /// Length in round trips of the longest chain, and the chain.
    fn longest(&self) -> (u32, Vec<usize>) {
        let mut best = (0, Vec::new());
        for end in 0..self.0.len() {
            let mut chain = vec![end];
            let mut total = self.0[end].rtts;
            let mut cur = end;
            while let Some(prev) = self.0[cur].after {
                chain.push(prev);
                total += self.0[prev].rtts;
                cur = prev;
            }
            if total > best.0 {
                chain.reverse();
                best = (total, chain);
            }
        }
        best
    }
}

fn observations<'a>(doc: &'a Value, perspective: &str) -> Vec<&'a Value> {
    doc["identifiers"][0]["observations"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|o| o["perspective"] == perspective)
                .collect()
        })
        .unwrap_or_default()
}

fn critical_path(doc: &Value) -> Dag {
    let mut dag = Dag(Vec::new());
    let perspectives = doc["perspectives"].as_array().cloned().unwrap_or_default();
    for p in perspectives.iter().filter(|p| p["role"] != "source") {
        let name = p["name"].as_str().unwrap_or_default();
        let obs = observations(doc, name);
        let addr = dag.add(format!("{name}: A ‖ AAAA {NAME}"), 1, None);
        let caa_names = obs
            .iter()
            .find(|o| o["check"] == "caa")
            .and_then(|o| o["dns"].as_array())
            .map_or(0, Vec::len);
        dag.add(
            format!("{name}: CAA climb ({caa_names} names at once)"),
            1,
            None,
        );
        let hops = obs
            .iter()
            .find(|o| o["check"] == "http-01" && o["address"].is_null())
            .and_then(|o| o["http"]["hops"].as_array())
            .cloned()
            .unwrap_or_default();
        let mut prev = addr;
        for (i, h) in hops.iter().enumerate() {
            let url = h["url"].as_str().unwrap_or_default();
            if i > 0 {
                let host = url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_default();
                prev = dag.add(format!("{name}: A ‖ AAAA {host}"), 1, Some(prev));
            }
            prev = dag.add(
                format!("{name}: GET hop {} ({})", i + 1, h["status"]),
                1,
                Some(prev),
            );
        }
    }
    let sources = perspectives
        .iter()
        .filter(|p| p["role"] == "source")
        .count();
    if sources > 0 {
        let labels = NAME.split('.').count();
        let climb = dag.add(
            format!("sources: NS of {labels} ancestors at once (primary's resolver)"),
            1,
            None,
        );
        let addrs = dag.add(
            "sources: A ‖ AAAA of every nameserver".into(),
            1,
            Some(climb),
        );
        dag.add(
            format!("sources: SOA ‖ A ‖ AAAA ‖ CAA at {sources} nameserver address(es)"),
            1,
            Some(addrs),
        );
    }
    dag
}

// ------------------------------------------------------------------------------------------------
// Scenarios.

struct Outcome {
    line: String,
    met: Option<bool>,
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

fn scenario_a(results: &mut Vec<Outcome>) -> Option<Duration> {
    let latency = Duration::from_millis(50);
    println!(
        "\n== (a) one identifier, 1 primary + 5 remotes, every check, one redirect, 50 ms RTT"
    );
    let lab = Lab::start(&LabSpec::new(latency));
    let runs = runs_from_env(7);
    let _ = lab.run_single("warmup");
    lab.clear_traffic();
    let mut walls = Vec::new();
    let mut busy = Vec::new();
    let mut last = None;
    for i in 0..runs {
        let (m, doc) = lab.run_single(&format!("a{i}"));
        walls.push(m.wall);
        busy.push(m.others_cpu.as_secs_f64() / m.wall.as_secs_f64());
        last = Some((m, doc));
    }
    busy.sort_by(f64::total_cmp);
    let (q, r) = lab.traffic();
    let (m, doc) = last.expect("at least one run");
    let outcome = doc["outcome"].as_str().unwrap_or("?").to_string();
    let dag = critical_path(&doc);
    let (rtts, chain) = dag.longest();
    let cp = latency * rtts;
    let wall = median(walls.clone());
    let ratio = wall.as_secs_f64() / cp.as_secs_f64();

    // The same run with no injected latency: the tool's fixed cost (start-up, local work).
    let zero = Lab::start(&LabSpec::new(Duration::ZERO));
    let _ = zero.run_single("warmup0");
    let zero_walls: Vec<Duration> = (0..runs)
        .map(|i| zero.run_single(&format!("z{i}")).0.wall)
        .collect();
    let fixed = median(zero_walls);

    println!(
        "  result: outcome {outcome}, exit {}; per run {} DNS queries, {} HTTP requests",
        m.code,
        q / runs as u64,
        r / runs
    );
    println!(
        "  critical path: {rtts} round trips x {} ms = {:.0} ms",
        latency.as_millis(),
        ms(cp)
    );
    for i in &chain {
        println!("    {}", dag.0[*i].what);
    }
    let other: Vec<String> = dag
        .0
        .iter()
        .filter(|s| s.what.starts_with("sources"))
        .map(|s| s.what.clone())
        .collect();
    if !other.is_empty() {
        println!(
            "    (in parallel: {} round trips of nameserver sources)",
            other.len()
        );
    }
    let mut sorted = walls.clone();
    sorted.sort();
    println!(
        "  wall time: median {:.1} ms over {runs} runs (min {:.1}, max {:.1}); CPU {:.1} ms; peak RSS {:.1} MiB",
        ms(wall),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1]),
        ms(m.cpu()),
        m.max_rss_kib as f64 / 1024.0
    );
    println!(
        "  same run without injected latency: {:.1} ms (start-up and local work)",
        ms(fixed)
    );
    println!(
        "  other processes kept {:.2} cores busy (median over the runs)",
        busy[busy.len() / 2]
    );
    let met = ratio <= 1.25;
    println!(
        "  ratio wall / critical path = {ratio:.3} (target <= 1.25): {}",
        verdict(met)
    );
    println!(
        "  elapsed per perspective (JSON elapsed_ms, address → http-01): {}",
        per_perspective_elapsed(&doc)
    );
    results.push(Outcome {
        line: format!(
            "(a) wall {:.0} ms vs critical path {:.0} ms ({rtts} RTT): {ratio:.2}x (<= 1.25x)",
            ms(wall),
            ms(cp)
        ),
        met: Some(met),
    });
    Some(wall)
}

fn per_perspective_elapsed(doc: &Value) -> String {
    PERSPECTIVES
        .iter()
        .map(|(name, ..)| {
            let obs = observations(doc, name);
            let get = |c: &str| {
                obs.iter()
                    .find(|o| o["check"] == c && o["address"].is_null())
                    .and_then(|o| o["elapsed_ms"].as_u64())
                    .unwrap_or(0)
            };
            format!(
                "{name} {}+{} ms (caa {})",
                get("address"),
                get("http-01"),
                get("caa")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn sizes_from_env() -> Vec<usize> {
    std::env::var("MPIC_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        // The 1,000 run twice, before and after the 10,000 one: this shared 2-core machine drifts by
        // 10-20 % over minutes, and bracketing the long run cancels most of the drift in the ratio.
        .unwrap_or_else(|| vec![1_000, 10_000, 1_000])
}

/// The names of a bulk lab: `n00000.example.test` …
fn bulk_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("n{i:05}.{ZONE}")).collect()
}

/// A bulk lab (fast DNS, 20 ms unless told) serving `n` names, and the `--from-file` list.
fn bulk_lab(n: usize, latency: Duration, impair: fast_dns::Impair) -> (Lab, String) {
    let names = bulk_names(n);
    let mut spec = LabSpec::new(latency);
    spec.names = names.clone();
    spec.fast_dns = true;
    spec.impair = impair;
    let lab = Lab::start(&spec);
    let list = lab.dir.path().join("names.txt");
    let mut text = String::from("# one name per line, as --from-file reads it\n");
    for n in &names {
        text.push_str(n);
        text.push('\n');
    }
    std::fs::write(&list, text).expect("write names");
    (lab, list.display().to_string())
}

/// What the `--format jsonl` lines of one bulk run say about the names.
#[derive(Debug, Default)]
struct Tally {
    identifiers: usize,
    /// Names whose outcome is not `pass` (every name in the lab is healthy: all are false alarms).
    not_ready: usize,
    /// Not-ready names with a finding that is not about the tool's own side: the domain blamed.
    blamed: usize,
    /// `perspective-error` findings on all lines.
    perspective_errors: usize,
    /// Sum of `retransmits` over every DNS question of every observation.
    retransmits: u64,
    outcomes: std::collections::BTreeMap<String, usize>,
    /// Finding codes on the not-ready names, with counts.
    codes: std::collections::BTreeMap<String, usize>,
    /// The first blamed name and its findings' first evidence lines.
    example: Option<String>,
}

/// Findings about the tool's side, which never count against a domain (docs/findings.md).
const TOOL_SIDE: [&str; 2] = ["perspective-error", "engine-unavailable"];

fn tally(p: &Path) -> Tally {
    use std::io::BufRead;
    let mut t = Tally::default();
    let Ok(f) = std::fs::File::open(p) else {
        return t;
    };
    for line in std::io::BufReader::new(f).lines().map_while(Result::ok) {
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if v["type"] != "identifier" {
            continue;
        }
        t.identifiers += 1;
        let id = &v["identifier"];
        let outcome = id["outcome"].as_str().unwrap_or("?").to_string();
        let findings = v["findings"].as_array().cloned().unwrap_or_default();
        let codes: Vec<&str> = findings
            .iter()
            .map(|f| f["code"].as_str().unwrap_or("?"))
            .collect();
        t.perspective_errors += codes.iter().filter(|c| **c == "perspective-error").count();
        for o in id["observations"].as_array().into_iter().flatten() {
            for d in o["dns"].as_array().into_iter().flatten() {
                t.retransmits += d["retransmits"].as_u64().unwrap_or(0);
            }
        }
        if outcome != "pass" {
            t.not_ready += 1;
            for c in &codes {
                *t.codes.entry((*c).to_string()).or_default() += 1;
            }
            let tool_only = !codes.is_empty() && codes.iter().all(|c| TOOL_SIDE.contains(c));
            if !tool_only {
                t.blamed += 1;
                if t.example.is_none() {
                    let ev: Vec<String> = findings
                        .iter()
                        .map(|f| {
                            format!(
                                "{}: {}",
                                f["code"].as_str().unwrap_or("?"),
                                f["evidence"][0].as_str().unwrap_or("")
                            )
                        })
                        .collect();
                    t.example = Some(format!(
                        "{} {outcome} [{}]",
                        id["name"].as_str().unwrap_or("?"),
                        ev.join("; ")
                    ));
                }
            }
        }
        *t.outcomes.entry(outcome).or_default() += 1;
    }
    t
}

/// One bulk run and what it said.
#[derive(Debug)]
struct Bulk {
    n: usize,
    m: Measured,
    queries: u64,
    http: usize,
    /// Queries the fakes dropped on purpose: (random loss, rate limit).
    dropped: (u64, u64),
    lines: usize,
    summary: Value,
    out: PathBuf,
}

impl Bulk {
    fn cpu_per_name_ms(&self) -> f64 {
        ms(self.m.cpu()) / self.n as f64
    }
}

/// Runs `bin --format jsonl --from-file LIST EXTRA` against `lab`, optionally under an open-file
/// limit of `nofile` (soft and hard).
fn run_bulk(
    lab: &Lab,
    list: &str,
    n: usize,
    bin: &Path,
    extra: &[&str],
    nofile: Option<u64>,
    tag: &str,
) -> Bulk {
    let out = lab.dir.path().join(format!("{tag}.jsonl"));
    let mut args = vec!["--format", "jsonl", "--from-file", list];
    args.extend_from_slice(extra);
    let mut env = lab.env();
    if let Some(k) = nofile {
        env.push((NOFILE_ENV.into(), k.to_string()));
    }
    let (q0, r0) = lab.traffic();
    let d0 = lab.dropped();
    let m = measure(&lab.tool_args_with(bin, &args), &env, &out);
    let (q, r) = lab.traffic();
    let d = lab.dropped();
    Bulk {
        n,
        m,
        queries: q - q0,
        http: r - r0,
        dropped: (d.0 - d0.0, d.1 - d0.1),
        lines: line_count(&out),
        summary: serde_json::from_str(&last_line(&out)).unwrap_or(Value::Null),
        out,
    }
}

/// The figures every bulk part prints for one run.
fn print_bulk(b: &Bulk) {
    let m = &b.m;
    println!(
        "  {:>6} identifiers: wall {:.2} s, {:.0} identifiers/s, peak RSS {:.1} MiB, CPU {:.2} s (user {:.2} + sys {:.2}), exit {}",
        b.n,
        m.wall.as_secs_f64(),
        b.n as f64 / m.wall.as_secs_f64(),
        m.max_rss_kib as f64 / 1024.0,
        m.cpu().as_secs_f64(),
        m.cpu_user.as_secs_f64(),
        m.cpu_sys.as_secs_f64(),
        m.code
    );
    println!(
        "          summary: {} identifiers, outcomes {}, {} lines; {} DNS queries ({:.1}/identifier), {} HTTP requests",
        b.summary["identifiers"],
        b.summary["outcomes"],
        b.lines,
        b.queries,
        b.queries as f64 / b.n as f64,
        b.http,
    );
    println!(
        "          CPU per identifier {:.2} ms; the fakes used {:.2} s CPU; other processes on the machine {}; load {}",
        b.cpu_per_name_ms(),
        m.fakes_cpu.as_secs_f64(),
        others(m),
        loadavg()
    );
}

/// The tool's stderr, de-duplicated, at most `max` lines (the notes a user would see).
fn stderr_lines(m: &Measured, max: usize) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for l in m.stderr.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !seen.iter().any(|s| s == l) {
            seen.push(l.to_string());
        }
    }
    let more = seen.len().saturating_sub(max);
    seen.truncate(max);
    if more > 0 {
        seen.push(format!("(and {more} other lines)"));
    }
    seen
}

fn print_tally(t: &Tally) {
    println!(
        "          names: {} lines, {} not ready, {} blamed on the domain, {} perspective-error findings, {} DNS retransmits; outcomes {:?}",
        t.identifiers, t.not_ready, t.blamed, t.perspective_errors, t.retransmits, t.outcomes
    );
    if !t.codes.is_empty() {
        println!("          finding codes on not-ready names: {:?}", t.codes);
    }
    if let Some(e) = &t.example {
        println!("          e.g. {e}");
    }
}

/// `/proc/loadavg`'s three load averages, to note next to a figure on this shared machine.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let k = v.len();
    if k == 0 {
        return f64::NAN;
    }
    if k % 2 == 1 {
        v[k / 2]
    } else {
        (v[k / 2 - 1] + v[k / 2]) / 2.0
    }
}

fn spread(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

fn scenario_b(results: &mut Vec<Outcome>) {
    let latency = Duration::from_millis(20);
    let rounds = env_usize("MPIC_BENCH_RATIO_RUNS", 1);
    println!(
        "\n== (b) many identifiers x 6 perspectives at 20 ms RTT (--format jsonl --from-file, default --concurrency){}",
        if rounds > 1 {
            format!(", {rounds} rounds")
        } else {
            String::new()
        }
    );
    let mut all: Vec<Bulk> = Vec::new();
    // Per round: (10k/1k ratio, 10k peak RSS in KiB).
    let mut ratios: Vec<(f64, u64)> = Vec::new();
    for round in 0..rounds {
        if rounds > 1 {
            println!("  -- round {} of {rounds}", round + 1);
        }
        let mut rows: Vec<Bulk> = Vec::new();
        for n in sizes_from_env() {
            let (lab, list) = bulk_lab(n, latency, fast_dns::Impair::default());
            let b = run_bulk(&lab, &list, n, &tool_bin(), &[], None, "run");
            print_bulk(&b);
            if b.m.code == 3 || b.lines != n + 1 {
                println!("          stderr: {}", b.m.stderr.trim());
            }
            rows.push(b);
        }
        let ones: Vec<&Bulk> = rows.iter().filter(|b| b.n == 1_000).collect();
        if let (false, Some(ten)) = (ones.is_empty(), rows.iter().find(|b| b.n == 10_000)) {
            let one_wall =
                ones.iter().map(|b| b.m.wall.as_secs_f64()).sum::<f64>() / ones.len() as f64;
            let one_cpu =
                ones.iter().map(|b| b.m.cpu().as_secs_f64()).sum::<f64>() / ones.len() as f64;
            let ratio = ten.m.wall.as_secs_f64() / one_wall;
            println!(
                "  10k/1k wall-time ratio {ratio:.2} against the mean of {} 1k run(s), {one_wall:.2} s; CPU ratio {:.2}; peak RSS {:.1} MiB (1k) → {:.1} MiB (10k)",
                ones.len(),
                ten.m.cpu().as_secs_f64() / one_cpu,
                ones.iter().map(|b| b.m.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0,
                ten.m.max_rss_kib as f64 / 1024.0
            );
            ratios.push((ratio, ten.m.max_rss_kib));
        }
        all.extend(rows);
    }
    let ones: Vec<&Bulk> = all.iter().filter(|b| b.n == 1_000).collect();
    if !ones.is_empty() {
        let slowest = ones.iter().map(|b| b.m.wall).max().unwrap_or_default();
        let walls: Vec<String> = ones
            .iter()
            .map(|b| format!("{:.2} s", b.m.wall.as_secs_f64()))
            .collect();
        results.push(Outcome {
            line: format!("(b) 1,000 identifiers in {} (< 10 s)", walls.join(", ")),
            met: Some(slowest < Duration::from_secs(10)),
        });
        let cpu = median_f(ones.iter().map(|b| b.cpu_per_name_ms()).collect());
        results.push(Outcome {
            line: format!(
                "(b) CPU per identifier at 1k {cpu:.2} ms, median of {} run(s) (<= 3.5 ms, issue 22)",
                ones.len()
            ),
            met: Some(cpu <= 3.5),
        });
    }
    if !ratios.is_empty() {
        let r: Vec<f64> = ratios.iter().map(|x| x.0).collect();
        let med = median_f(r.clone());
        let (lo, hi) = spread(&r);
        let each: Vec<String> = ratios
            .iter()
            .map(|(x, rss)| format!("{x:.2} ({:.1} MiB)", *rss as f64 / 1024.0))
            .collect();
        println!(
            "  10k/1k ratio per round (peak RSS at 10k): {}; median {med:.2}, spread {lo:.2}–{hi:.2} ({:.2})",
            each.join(", "),
            hi - lo
        );
        results.push(Outcome {
            line: format!(
                "(b) 10k/1k ratio median {med:.2} of {} round(s), spread {lo:.2}–{hi:.2} (< 10.5x, issue 11)",
                r.len()
            ),
            met: Some(med < 10.5),
        });
        results.push(Outcome {
            line: format!(
                "(b) 10k/1k ratio median {med:.2} of {} round(s) (<= 10.3, median of five, issue 22)",
                r.len()
            ),
            met: Some(med <= 10.3 && r.len() >= 5),
        });
        let rss10 = ratios.iter().map(|x| x.1).max().unwrap_or(0);
        results.push(Outcome {
            line: format!(
                "(b) peak RSS at 10k {:.1} MiB, worst of {} round(s) (< 100 MiB, issue 22)",
                rss10 as f64 / 1024.0,
                r.len()
            ),
            met: Some(rss10 < 100 * 1024),
        });
    }
    let peak = all.iter().map(|b| b.m.max_rss_kib).max().unwrap_or(0);
    if !all.is_empty() {
        results.push(Outcome {
            line: format!("(b) peak RSS {:.1} MiB (< 200 MiB)", peak as f64 / 1024.0),
            met: Some(peak < 200 * 1024),
        });
    }
}

/// (d): the issue-22 probe "`ulimit -n 256` with 2,000 names" — the tool must size its work to
/// the limit (and say so) instead of turning EMFILE into broken perspectives and `unknown` names.
fn scenario_d(results: &mut Vec<Outcome>) {
    let n = env_usize("MPIC_BENCH_NAMES", 2_000);
    let limit = 256;
    println!(
        "\n== (d) {n} identifiers under ulimit -n {limit} (soft and hard), 20 ms RTT, default --concurrency"
    );
    let (lab, list) = bulk_lab(n, Duration::from_millis(20), fast_dns::Impair::default());
    let b = run_bulk(&lab, &list, n, &tool_bin(), &[], Some(limit), "d");
    print_bulk(&b);
    let t = tally(&b.out);
    print_tally(&t);
    let notes = stderr_lines(&b.m, 4);
    if notes.is_empty() {
        println!("          stderr: (nothing)");
    }
    for l in &notes {
        println!("          stderr: {l}");
    }
    let met = t.not_ready == 0 && t.identifiers == n;
    println!(
        "  {} of {n} healthy names not ready (target 0): {}",
        t.not_ready + n.saturating_sub(t.identifiers),
        verdict(met)
    );
    results.push(Outcome {
        line: format!(
            "(d) {n} names under ulimit -n {limit}: {} not ready, {} perspective-error, wall {:.1} s, CPU {:.2} ms/name, note {} (0 not ready)",
            t.not_ready + n.saturating_sub(t.identifiers),
            t.perspective_errors,
            b.m.wall.as_secs_f64(),
            b.cpu_per_name_ms(),
            if notes.is_empty() { "none" } else { "printed" }
        ),
        met: Some(met),
    });
}

fn loss_impair(loss: f64) -> fast_dns::Impair {
    fast_dns::Impair {
        loss,
        seed: std::env::var("MPIC_BENCH_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(22),
        rate_limit: None,
    }
}

/// (e): 1 % of incoming queries dropped at random by every resolver and authoritative server. A
/// CA's resolver retransmits; a healthy name must not become a false alarm.
fn scenario_e(results: &mut Vec<Outcome>) {
    let loss = 0.01;
    let sizes: Vec<usize> = if std::env::var_os("MPIC_BENCH_SIZES").is_some() {
        let mut v = sizes_from_env();
        v.dedup();
        v
    } else {
        vec![1_000]
    };
    println!(
        "\n== (e) 1 % random UDP loss on every resolver and authoritative server (seeded), 20 ms RTT"
    );
    for n in sizes {
        let (lab, list) = bulk_lab(n, Duration::from_millis(20), loss_impair(loss));
        let b = run_bulk(&lab, &list, n, &tool_bin(), &[], None, "e");
        print_bulk(&b);
        let t = tally(&b.out);
        print_tally(&t);
        println!(
            "          the fakes dropped {} of {} queries ({:.2} %)",
            b.dropped.0,
            b.queries,
            100.0 * b.dropped.0 as f64 / b.queries.max(1) as f64
        );
        for l in stderr_lines(&b.m, 3) {
            println!("          stderr: {l}");
        }
        let alarms = t.not_ready + n.saturating_sub(t.identifiers);
        let met = alarms == 0;
        println!(
            "  {alarms} false alarms among {n} healthy names (target 0): {}",
            verdict(met)
        );
        results.push(Outcome {
            line: format!(
                "(e) {n} names, 1 % loss ({} queries dropped): {alarms} false alarms, {} retransmits in the JSON, wall {:.1} s (0 false alarms)",
                b.dropped.0,
                t.retransmits,
                b.m.wall.as_secs_f64()
            ),
            met: Some(met),
        });
    }
}

/// (f): `--concurrency 2000` against resolvers that rate-limit each client (token bucket per source
/// address, excess dropped silently). The timeouts are the tool's own overload: no domain may be
/// blamed for them.
fn scenario_f(results: &mut Vec<Outcome>) {
    let n = env_usize("MPIC_BENCH_NAMES", 2_000);
    let (rate, burst) = std::env::var("MPIC_BENCH_RATE")
        .ok()
        .and_then(|v| {
            let (a, b) = v.split_once(',')?;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        })
        .unwrap_or((2_000.0, 200.0));
    println!(
        "\n== (f) {n} identifiers with --concurrency 2000; every DNS server rate-limits each client to {rate} queries/s (burst {burst}), 20 ms RTT"
    );
    let impair = fast_dns::Impair {
        rate_limit: Some((rate, burst)),
        ..fast_dns::Impair::default()
    };
    let (lab, list) = bulk_lab(n, Duration::from_millis(20), impair);
    let b = run_bulk(
        &lab,
        &list,
        n,
        &tool_bin(),
        &["--concurrency", "2000"],
        None,
        "f",
    );
    print_bulk(&b);
    let t = tally(&b.out);
    print_tally(&t);
    println!(
        "          the rate limit dropped {} of {} queries ({:.1} %)",
        b.dropped.1,
        b.queries,
        100.0 * b.dropped.1 as f64 / b.queries.max(1) as f64
    );
    for l in stderr_lines(&b.m, 3) {
        println!("          stderr: {l}");
    }
    let blamed = t.blamed + n.saturating_sub(t.identifiers);
    let met = blamed == 0;
    println!(
        "  {blamed} of {n} healthy names blamed (target 0): {}",
        verdict(met)
    );
    results.push(Outcome {
        line: format!(
            "(f) {n} names, --concurrency 2000, {rate}/s per client: {blamed} domains blamed, {} not ready, {} perspective-error, wall {:.1} s (0 blamed)",
            t.not_ready,
            t.perspective_errors,
            b.m.wall.as_secs_f64()
        ),
        met: Some(met),
    });
}

/// `compare`: the 1k bulk of (b) with the cargo-built binary and with `MPIC_CHECK_BIN` (the
/// previous release), alternating which goes first, `MPIC_BENCH_RUNS` rounds (default 3).
fn scenario_compare(results: &mut Vec<Outcome>) {
    let new = PathBuf::from(env!("CARGO_BIN_EXE_mpic-check"));
    let Some(old) = std::env::var_os("MPIC_CHECK_BIN").map(PathBuf::from) else {
        println!("\n== compare: SKIPPED (set MPIC_CHECK_BIN to the previous release's binary)");
        results.push(Outcome {
            line: "compare: skipped, MPIC_CHECK_BIN not set".into(),
            met: None,
        });
        return;
    };
    let n = 1_000;
    let rounds = runs_from_env(3);
    println!(
        "\n== compare: 1,000 identifiers x 6 perspectives at 20 ms RTT, new vs old, {rounds} rounds\n  new: {}\n  old: {}",
        new.display(),
        old.display()
    );
    let (lab, list) = bulk_lab(n, Duration::from_millis(20), fast_dns::Impair::default());
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut new_cpu = Vec::new();
    for round in 0..rounds {
        let order: [(&str, &Path); 2] = if round % 2 == 0 {
            [("new", &new), ("old", &old)]
        } else {
            [("old", &old), ("new", &new)]
        };
        let mut got: Vec<(&str, Bulk)> = Vec::new();
        for (tag, bin) in order {
            let b = run_bulk(&lab, &list, n, bin, &[], None, &format!("cmp{round}{tag}"));
            let t = tally(&b.out);
            println!(
                "  round {} {tag}: wall {:.2} s, CPU {:.2} ms/name, peak RSS {:.1} MiB, exit {}, {} not ready; others {}; load {}",
                round + 1,
                b.m.wall.as_secs_f64(),
                b.cpu_per_name_ms(),
                b.m.max_rss_kib as f64 / 1024.0,
                b.m.code,
                t.not_ready,
                others(&b.m),
                loadavg()
            );
            got.push((tag, b));
        }
        let pick = |k: &str| got.iter().find(|(t, _)| *t == k).map(|(_, b)| b);
        if let (Some(nb), Some(ob)) = (pick("new"), pick("old")) {
            walls.push(nb.m.wall.as_secs_f64() / ob.m.wall.as_secs_f64());
            cpus.push(nb.cpu_per_name_ms() / ob.cpu_per_name_ms());
            new_cpu.push(nb.cpu_per_name_ms());
        }
    }
    let (w, c) = (median_f(walls.clone()), median_f(cpus.clone()));
    let (lo, hi) = spread(&walls);
    println!(
        "  new/old per round: wall {:?}, CPU {:?}",
        walls.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>(),
        cpus.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>()
    );
    println!("  median new/old: wall {w:.3} (spread {lo:.3}–{hi:.3}), CPU per name {c:.3}");
    results.push(Outcome {
        line: format!(
            "compare: 1k wall new/old median {w:.3} of {rounds} round(s) (<= 0.8x the previous release)"
        ),
        met: Some(w <= 0.8),
    });
    let nc = median_f(new_cpu);
    results.push(Outcome {
        line: format!("compare: new CPU per identifier {nc:.2} ms, median (<= 3.5 ms)"),
        met: Some(nc <= 3.5),
    });
}

fn last_line(p: &Path) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(p) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    let _ = f.seek(SeekFrom::Start(start));
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    s.trim_end().rsplit('\n').next().unwrap_or("").to_string()
}

fn line_count(p: &Path) -> usize {
    use std::io::BufRead;
    std::fs::File::open(p)
        .map(|f| std::io::BufReader::new(f).lines().count())
        .unwrap_or(0)
}

/// The check as a sysadmin scripts it: per perspective, dig its resolver (addresses, the CAA
/// climb, the redirect host) and curl the challenge URL following the redirect; then ask each
/// authoritative server directly. One process after another.
const SCRIPT: &str = r#"#!/bin/bash
# usage: sysadmin-check.sh DNS_PORT HTTP_PORT TOKEN RESOLVER...
set -u
P=$1; H=$2; TOKEN=$3; shift 3
NAME=www.example.test; ZONE=example.test; UA="$CA_UA"
d() { dig +short +tries=1 +time=5 -p "$P" "$@"; }
for R in "$@"; do
  A=$(d @"$R" "$NAME" A | tail -n1)
  AAAA=$(d @"$R" "$NAME" AAAA | tail -n1)
  CAA=""
  for N in "$NAME" "$ZONE" test; do CAA="$CAA$(d @"$R" "$N" CAA | tr '\n' ' ')"; done
  RA=$(d @"$R" acme.example.test A | tail -n1)
  d @"$R" acme.example.test AAAA >/dev/null
  BODY=$(curl -sS -L --max-redirs 10 -m 5 -A "$UA" \
    --resolve "$NAME:$H:$A" --resolve "acme.example.test:$H:$RA" \
    "http://$NAME:$H/.well-known/acme-challenge/$TOKEN")
  echo "resolver $R: A=$A AAAA=${AAAA:-none} CAA=[$CAA] body=$BODY"
done
R=$1
for NS in $(d @"$R" "$ZONE" NS); do
  NSIP=$(d @"$R" "$NS" A | tail -n1)
  d @"$R" "$NS" AAAA >/dev/null
  SOA=$(d @"$NSIP" +norecurse "$ZONE" SOA)
  NA=$(d @"$NSIP" +norecurse "$NAME" A)
  d @"$NSIP" +norecurse "$NAME" AAAA >/dev/null
  NCAA="$(d @"$NSIP" +norecurse "$NAME" CAA)$(d @"$NSIP" +norecurse "$ZONE" CAA)"
  echo "nameserver $NS ($NSIP): SOA=[$SOA] A=$NA CAA=[$NCAA]"
done
"#;

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_dig_curl() -> Result<(), String> {
    if have("dig") && have("curl") {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return Err("dig and curl are needed (apt-get install bind9-dnsutils curl); not root, so not installing them".into());
    }
    println!("  installing dig and curl (apt-get install bind9-dnsutils curl) …");
    let ok = Command::new("sh")
        .args([
            "-c",
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bind9-dnsutils curl",
        ])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok && have("dig") && have("curl") {
        Ok(())
    } else {
        Err("installing bind9-dnsutils and curl failed".into())
    }
}

fn scenario_c(results: &mut Vec<Outcome>) {
    let latency = Duration::from_millis(50);
    println!(
        "\n== (c) the same single-identifier check as a sequential dig + curl script, 50 ms RTT"
    );
    if let Err(why) = ensure_dig_curl() {
        println!("  SKIPPED: {why}");
        results.push(Outcome {
            line: format!("(c) skipped: {why}"),
            met: None,
        });
        return;
    }
    let lab = Lab::start(&LabSpec::new(latency));
    let script = lab.dir.path().join("sysadmin-check.sh");
    std::fs::write(&script, SCRIPT).expect("write script");
    let mut script_args = vec![
        "bash".to_string(),
        script.display().to_string(),
        lab.dns_port.to_string(),
        lab.origin.port().to_string(),
        TOKEN.to_string(),
    ];
    script_args.extend((0..PERSPECTIVES.len()).map(|i| resolver_ip(i).to_string()));
    let mut env = lab.env();
    env.push(("CA_UA".into(), CA_UA.into()));
    let runs = runs_from_env(3);
    let _ = lab.run_single("warmup");
    let mut tool = Vec::new();
    let mut scripted = Vec::new();
    let mut last_script = None;
    for i in 0..runs {
        tool.push(lab.run_single(&format!("c{i}")).0);
        lab.clear_traffic();
        let out = lab.dir.path().join(format!("script{i}.out"));
        let m = measure(&script_args, &env, &out);
        let (q, r) = lab.traffic();
        last_script = Some((m.clone(), out, q, r));
        scripted.push(m);
    }
    let t = median(tool.iter().map(|m| m.wall).collect());
    let s = median(scripted.iter().map(|m| m.wall).collect());
    let (sm, out, q, r) = last_script.expect("one script run");
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let ok = text.lines().filter(|l| l.contains(KEY_AUTH)).count();
    println!(
        "  script: {} DNS queries and {} HTTP requests in sequence; {ok}/6 perspectives fetched the key authorization; exit {}",
        q, r, sm.code
    );
    for l in text.lines().take(2) {
        println!("    | {l}");
    }
    println!("    | …");
    println!(
        "  tool:   median {:.0} ms over {runs} runs (CPU {:.0} ms)",
        ms(t),
        ms(tool[0].cpu())
    );
    println!(
        "  script: median {:.0} ms over {runs} runs (CPU {:.0} ms in bash, dig and curl)",
        ms(s),
        ms(sm.cpu())
    );
    println!(
        "  other processes kept {} busy during the last tool run, {} during the last script run",
        others(&tool[tool.len() - 1]),
        others(&scripted[scripted.len() - 1])
    );
    let speedup = s.as_secs_f64() / t.as_secs_f64();
    let met = speedup >= 10.0;
    println!(
        "  the tool is {speedup:.1}x faster (target >= 10x): {}",
        verdict(met)
    );
    results.push(Outcome {
        line: format!(
            "(c) tool {:.0} ms vs dig+curl script {:.0} ms: {speedup:.1}x (>= 10x)",
            ms(t),
            ms(s)
        ),
        met: Some(met),
    });
}

fn scenario_blackhole(results: &mut Vec<Outcome>) {
    let latency = Duration::from_millis(50);
    let timeout = Duration::from_secs(2);
    // Measurement noise allowed on top of "at most one timeout".
    let slack = Duration::from_millis(50);
    println!(
        "\n== blackhole: one silent perspective, timeout {} s, 50 ms RTT, remotes through SOCKS5 proxies",
        timeout.as_secs()
    );
    let base_spec = {
        let mut s = LabSpec::new(latency);
        s.timeout = Some(timeout);
        s.socks = true;
        s
    };
    let base = Lab::start(&base_spec);
    let _ = base.run_single("warmup");
    let runs = runs_from_env(3);
    let walls: Vec<Duration> = (0..runs)
        .map(|i| base.run_single(&format!("bh{i}")).0.wall)
        .collect();
    let baseline = median(walls);
    drop(base);
    println!(
        "  baseline (every perspective answers): {:.0} ms",
        ms(baseline)
    );
    let victim = 2; // eu-central
    let vname = PERSPECTIVES[victim].0;
    let variants: Vec<(String, LabSpec, &str)> = vec![
        (
            format!("{vname}'s resolver never answers"),
            LabSpec {
                silent_resolver: Some(victim),
                ..base_spec.clone()
            },
            vname,
        ),
        (
            format!("{vname}'s HTTP traffic is black-holed at the origin"),
            LabSpec {
                http_blackhole: Some(victim),
                ..base_spec.clone()
            },
            vname,
        ),
        (
            format!("{vname}'s proxy accepts TCP and never answers (whole perspective dark)"),
            LabSpec {
                proxy_blackhole: Some(victim),
                ..base_spec.clone()
            },
            vname,
        ),
        (
            "the primary's resolver never answers (also the discovery resolver)".to_string(),
            LabSpec {
                silent_resolver: Some(0),
                ..base_spec
            },
            "home",
        ),
    ];
    let mut all_met = true;
    let mut busy = Vec::new();
    let mut worst = Duration::ZERO;
    for (what, spec, who) in variants {
        let lab = Lab::start(&spec);
        let (m, doc) = lab.run_single("dark");
        let added = m.wall.saturating_sub(baseline);
        busy.push(others(&m));
        worst = worst.max(added);
        let met = added <= timeout + slack;
        all_met &= met;
        let seen: Vec<String> = observations(&doc, who)
            .iter()
            .map(|o| {
                format!(
                    "{} {}",
                    o["check"].as_str().unwrap_or("?"),
                    o["phase"].as_str().unwrap_or("ok")
                )
            })
            .collect();
        println!(
            "  {what}: wall {:.0} ms, +{:.0} ms = {:.2} timeouts: {} (outcome {}; {who}: {})",
            ms(m.wall),
            ms(added),
            added.as_secs_f64() / timeout.as_secs_f64(),
            verdict(met),
            doc["outcome"].as_str().unwrap_or("?"),
            seen.join(", ")
        );
    }
    println!("  other processes kept busy: {}", busy.join(", "));
    results.push(Outcome {
        line: format!(
            "blackhole: a silent perspective adds at most {:.0} ms = {:.2} timeouts (<= 1 timeout + {} ms noise)",
            ms(worst),
            worst.as_secs_f64() / timeout.as_secs_f64(),
            slack.as_millis()
        ),
        met: Some(all_met),
    });
}

/// `cargo bench --bench scale -- serve [N [RTT_MS]]`: starts the (b) lab with N names (default
/// 1000) at RTT_MS (default 20) and prints how to point the tool at it, for profiling by hand (`perf stat`, `-v`,
/// `valgrind`). Stops when stdin is closed or after an hour.
fn serve() {
    let rest: Vec<u64> = std::env::args()
        .skip_while(|a| a != "serve")
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let n = rest.first().map_or(1_000, |&n| n as usize);
    let latency = Duration::from_millis(rest.get(1).copied().unwrap_or(20));
    let names = bulk_names(n);
    let mut spec = LabSpec::new(latency);
    spec.names = names.clone();
    spec.fast_dns = true;
    let lab = Lab::start(&spec);
    let list = lab.dir.path().join("names.txt");
    std::fs::write(&list, names.join("\n") + "\n").expect("write names");
    let env: Vec<String> = lab.env().iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!(
        "lab up: {n} names at {} ms. Run:\n  env {} {} --format jsonl --from-file {}\n(close stdin to stop)",
        latency.as_millis(),
        env.join(" "),
        lab.tool_args(&[]).join(" "),
        list.display()
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
        let _ = tx.send(());
    });
    let _ = rx.recv_timeout(Duration::from_secs(3600));
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or("?".into(), |k| {
            format!("{:.1} GiB", k as f64 / 1024.0 / 1024.0)
        });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}, {mem} RAM")
}

fn main() {
    if let Some(report) = std::env::var_os(MEASURE_ENV) {
        measuring_wrapper(Path::new(&report));
    }
    if std::env::args().nth(1).as_deref() == Some("serve") || std::env::args().any(|a| a == "serve")
    {
        serve();
        return;
    }
    // `compare` runs only when named: it needs MPIC_CHECK_BIN to be the previous release.
    let known = ["a", "b", "c", "blackhole", "d", "e", "f", "compare"];
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for a in &asked {
        if !known.contains(&a.as_str()) {
            eprintln!("unknown part {a:?}: use a, b, c, d, e, f, blackhole or compare");
            std::process::exit(2);
        }
    }
    let run = |p: &str| (asked.is_empty() && p != "compare") || asked.iter().any(|a| a == p);
    let bin = tool_bin();
    assert!(
        bin.exists(),
        "{} not found: build it (cargo build --release) or set MPIC_CHECK_BIN",
        bin.display()
    );
    println!("mpic-check benchmark harness (issues 11, 19, 22)");
    println!("  machine: {}; load {}", machine(), loadavg());
    println!("  binary:  {}", bin.display());
    if run("compare") {
        println!("  (compare: new = the cargo-built binary, old = MPIC_CHECK_BIN)");
    }
    let mut results = Vec::new();
    let started = Instant::now();
    if run("a") {
        scenario_a(&mut results);
    }
    if run("b") {
        scenario_b(&mut results);
    }
    if run("c") {
        scenario_c(&mut results);
    }
    if run("blackhole") {
        scenario_blackhole(&mut results);
    }
    if run("d") {
        scenario_d(&mut results);
    }
    if run("e") {
        scenario_e(&mut results);
    }
    if run("f") {
        scenario_f(&mut results);
    }
    if run("compare") {
        scenario_compare(&mut results);
    }
    println!(
        "\n== targets ({:.0} s in all)",
        started.elapsed().as_secs_f64()
    );
    for o in &results {
        let tag = match o.met {
            Some(true) => "MET   ",
            Some(false) => "MISSED",
            None => "n/a   ",
        };
        println!("  [{tag}] {}", o.line);
    }
}

// ------------------------------------------------------------------------------------------------

/// A constant-time DNS responder for (b). The harness's `DnsServer` scans (and, since it became
/// swappable, clones) the whole zone for every query, so with 10,000 names each query would cost
/// the bench milliseconds of CPU on the 2 cores the tool needs, and the fakes would be measured
/// instead of the tool. This one answers the same records as `resolver_zone`/`authoritative_zone`
/// from a hash set, after the same injected delay, over UDP (all the tool uses here), on its own
/// thread with its own current-thread runtime like the harness servers.
mod fast_dns {
    use std::collections::{HashMap, HashSet};
    use std::net::{IpAddr, SocketAddr};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use hickory_server::proto::op::{Edns, Message, ResponseCode};
    use hickory_server::proto::rr::rdata::{A, NS, NULL, SOA};
    use hickory_server::proto::rr::{Name, RData, Record, RecordType};

    use super::support::{ServerThread, bind_same_port};
    use super::{NS1_IP, NS2_IP, ORIGIN_IP, REDIRECT_HOST, REDIRECT_IP, ZONE};

    /// What a real path and a real resolver do to queries under load, for (e) and (f). Both act on
    /// incoming queries, before any work: a dropped query is never answered, so the tool sees a
    /// timeout exactly as it would for a datagram lost on the way or refused by rate limiting.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Impair {
        /// Fraction of incoming queries dropped at random (0.01 = 1 %), from a seeded generator so a
        /// run can be repeated; each server derives its own stream from `seed` and its index.
        pub loss: f64,
        pub seed: u64,
        /// Per-source-address token bucket `(queries per second, burst)`; a query that finds the
        /// bucket empty is dropped silently, as unbound's `ip-ratelimit` and BIND's RRL do.
        pub rate_limit: Option<(f64, f64)>,
    }

    pub struct FastDns {
        pub addr: SocketAddr,
        queries: Arc<AtomicU64>,
        lost: Arc<AtomicU64>,
        limited: Arc<AtomicU64>,
        _thread: ServerThread,
    }

    impl FastDns {
        pub fn start_many(
            ips: &[IpAddr],
            latency: Duration,
            names: &Arc<HashSet<String>>,
            impair: Impair,
        ) -> Vec<FastDns> {
            let sockets = bind_same_port(ips, |at, port| {
                let s = std::net::UdpSocket::bind((at, port))?;
                let port = s.local_addr()?.port();
                s.set_nonblocking(true)?;
                Ok((s, port))
            })
            .expect("bind UDP sockets on 127/8");
            sockets
                .into_iter()
                .enumerate()
                .map(|(i, s)| FastDns::spawn(s, latency, names.clone(), impair, i))
                .collect()
        }

        fn spawn(
            sock: std::net::UdpSocket,
            latency: Duration,
            names: Arc<HashSet<String>>,
            impair: Impair,
            index: usize,
        ) -> FastDns {
            let addr = sock.local_addr().expect("local addr");
            let queries = Arc::new(AtomicU64::new(0));
            let lost = Arc::new(AtomicU64::new(0));
            let limited = Arc::new(AtomicU64::new(0));
            let (counter, lost_n, limited_n) = (queries.clone(), lost.clone(), limited.clone());
            let thread = ServerThread::spawn(&format!("fastdns-{addr}"), move || async move {
                let sock = Arc::new(tokio::net::UdpSocket::from_std(sock).expect("register"));
                let mut buf = vec![0u8; 4096];
                // xorshift64: the loss pattern is the same on every run with the same seed.
                let mut rng =
                    (impair.seed ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(index as u64 + 1)).max(1);
                // Source address -> (tokens, last refill); one loop owns it, so no lock.
                let mut buckets: HashMap<IpAddr, (f64, Instant)> = HashMap::new();
                loop {
                    let (n, from) = match sock.recv_from(&mut buf).await {
                        Ok(x) => x,
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            continue;
                        }
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    if impair.loss > 0.0 {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let u = (rng >> 11) as f64 / (1u64 << 53) as f64;
                        if u < impair.loss {
                            lost_n.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                    }
                    if let Some((rate, burst)) = impair.rate_limit {
                        let now = Instant::now();
                        let b = buckets.entry(from.ip()).or_insert((burst, now));
                        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * rate).min(burst);
                        b.1 = now;
                        if b.0 < 1.0 {
                            limited_n.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        b.0 -= 1.0;
                    }
                    let Ok(req) = Message::from_vec(&buf[..n]) else {
                        continue;
                    };
                    let sock = sock.clone();
                    let names = names.clone();
                    tokio::spawn(async move {
                        if latency > Duration::ZERO {
                            tokio::time::sleep(latency).await;
                        }
                        if let Ok(bytes) = respond(&req, &names).to_vec() {
                            let _ = sock.send_to(&bytes, from).await;
                        }
                    });
                }
            });
            FastDns {
                addr,
                queries,
                lost,
                limited,
                _thread: thread,
            }
        }

        pub fn queries(&self) -> u64 {
            self.queries.load(Ordering::Relaxed)
        }

        /// Queries dropped by the random loss and by the rate limit so far.
        pub fn dropped(&self) -> (u64, u64) {
            (
                self.lost.load(Ordering::Relaxed),
                self.limited.load(Ordering::Relaxed),
            )
        }
    }

    fn name(s: &str) -> Name {
        Name::from_ascii(format!("{s}.")).expect("name")
    }

    fn soa() -> RData {
        RData::SOA(SOA::new(
            name(&format!("ns1.{ZONE}")),
            name(&format!("hostmaster.{ZONE}")),
            1,
            3600,
            600,
            86400,
            300,
        ))
    }

    fn a(ip: &str) -> RData {
        RData::A(A(ip.parse().expect("IPv4")))
    }

    fn caa_issue(issuer: &str) -> RData {
        let mut wire = vec![0u8, 5];
        wire.extend_from_slice(b"issue");
        wire.extend_from_slice(issuer.as_bytes());
        RData::Unknown {
            code: RecordType::CAA,
            rdata: NULL::with(wire),
        }
    }

    /// Same data as `resolver_zone` and `authoritative_zone`.
    fn lookup(q: &str, t: RecordType, names: &HashSet<String>) -> (ResponseCode, Vec<RData>) {
        use RecordType as T;
        let nodata = (ResponseCode::NoError, Vec::new());
        if q != "test" && !q.ends_with(".test") {
            return (ResponseCode::Refused, Vec::new());
        }
        let ns1 = format!("ns1.{ZONE}");
        let ns2 = format!("ns2.{ZONE}");
        match t {
            _ if q == ZONE => match t {
                T::NS => (
                    ResponseCode::NoError,
                    vec![RData::NS(NS(name(&ns1))), RData::NS(NS(name(&ns2)))],
                ),
                T::SOA => (ResponseCode::NoError, vec![soa()]),
                T::CAA => (ResponseCode::NoError, vec![caa_issue("letsencrypt.org")]),
                _ => nodata,
            },
            T::A if q == ns1 => (ResponseCode::NoError, vec![a(NS1_IP)]),
            T::A if q == ns2 => (ResponseCode::NoError, vec![a(NS2_IP)]),
            T::A if q == REDIRECT_HOST => (ResponseCode::NoError, vec![a(REDIRECT_IP)]),
            T::A if names.contains(q) => (ResponseCode::NoError, vec![a(ORIGIN_IP)]),
            _ if q == "test" || q == ns1 || q == ns2 || q == REDIRECT_HOST => nodata,
            _ if names.contains(q) => nodata,
            _ => (ResponseCode::NXDomain, Vec::new()),
        }
    }

    fn respond(req: &Message, names: &HashSet<String>) -> Message {
        let mut m = Message::response(req.metadata.id, req.metadata.op_code);
        m.metadata.recursion_desired = req.metadata.recursion_desired;
        m.metadata.recursion_available = true;
        m.queries.clone_from(&req.queries);
        if let Some(e) = &req.edns {
            let mut edns = Edns::new();
            edns.set_max_payload(e.max_payload().max(512));
            m.set_edns(edns);
        }
        let Some(q) = req.queries.first() else {
            m.metadata.response_code = ResponseCode::FormErr;
            return m;
        };
        let owner = q.name().clone();
        let text = owner.to_ascii();
        let qname = text.trim_end_matches('.').to_ascii_lowercase();
        let (rcode, data) = lookup(&qname, q.query_type(), names);
        m.metadata.response_code = rcode;
        m.metadata.authoritative = matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain);
        let negative = data.is_empty() && m.metadata.authoritative;
        m.answers = data
            .into_iter()
            .map(|d| Record::from_rdata(owner.clone(), 300, d))
            .collect();
        if negative {
            m.authorities
                .push(Record::from_rdata(name(ZONE), 300, soa()));
        }
        m
    }
}
