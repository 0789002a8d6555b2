//! `mpic-check serve`, the Prometheus exporter, as Prometheus sees it: the real binary listens on
//! 127.0.0.1 (port 0, the address read from its "listening on" line), and plain HTTP requests
//! scrape `/probe` and `/metrics` while the in-process DNS, SOCKS5 and HTTP fakes play the
//! Internet. Each answer is held to the exposition format (and to `promtool check metrics` when
//! it is installed); the cache interval, the concurrency limit, bad requests and SIGTERM are
//! checked by what a scraper and an operator see.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::e2e::{Lab, lab, plain_zone};
use crate::support::dns::{Behaviour, Zone};
use crate::support::http::{Block, Site};
use crate::support::lo;

/// The lab's module for tests: a custom 3-of-3-needs-2 policy, so the verdicts do not depend on
/// which BR phase is in force on the day the suite runs.
const MODULES: &str = "\n[modules.default]\npolicy = \"custom\"\nremotes = 3\nquorum = 2\n\
                       \n[modules.home-only]\nperspectives = [\"home\"]\nmethod = \"dns-01\"\n";

/// A running exporter; killed on drop if a test did not stop it.
struct Exporter {
    child: Child,
    addr: SocketAddr,
    stderr: BufReader<std::process::ChildStderr>,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` for `lab` with the test modules appended to its config.
fn start(lab: &Lab, extra: &[&str]) -> Exporter {
    let mut toml = std::fs::read_to_string(&lab.config).unwrap();
    if !toml.contains("[modules.") {
        toml.push_str(MODULES);
        std::fs::write(&lab.config, &toml).unwrap();
    }
    let mut child = lab
        .std_cmd_without_config()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&lab.config)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no listening address in {line:?}"));
    Exporter {
        child,
        addr,
        stderr,
    }
}

/// One GET; returns the status code and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    assert!(crate::support::is_loopback_v4(addr.ip()));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, body.to_string())
}

/// Checks a document against the exposition format: each family once with HELP then TYPE in
/// front of its samples, every sample `name{labels} value` under its own family, no series twice;
/// also `promtool check metrics` when installed. Returns the samples as (series, value).
pub fn validate(doc: &str) -> Vec<(String, f64)> {
    assert!(doc.ends_with('\n'), "no trailing newline: {doc}");
    let mut families = std::collections::HashSet::new();
    let mut series = std::collections::HashSet::new();
    let mut current = String::new();
    let mut out = Vec::new();
    for line in doc.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            current = rest.split(' ').next().unwrap().to_string();
            assert!(families.insert(current.clone()), "{current} twice");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(name, current, "TYPE without HELP: {line}");
            assert!(matches!(kind, "gauge" | "counter"), "{line}");
        } else {
            let (s, v) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
            let name = s.split('{').next().unwrap();
            assert_eq!(name, current, "sample outside its family: {line}");
            let v: f64 = v.parse().unwrap_or_else(|_| panic!("bad value: {line}"));
            assert!(series.insert(s.to_string()), "series twice: {line}");
            out.push((s.to_string(), v));
        }
    }
    promtool(doc);
    out
}

/// `promtool check metrics` on the document, when promtool is installed.
fn promtool(doc: &str) {
    let Ok(mut p) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        return;
    };
    p.stdin.take().unwrap().write_all(doc.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}\n{doc}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of the one series `series` (exact text before the value).
fn value(samples: &[(String, f64)], series: &str) -> f64 {
    samples
        .iter()
        .find(|(s, _)| s == series)
        .unwrap_or_else(|| panic!("no {series} in {samples:?}"))
        .1
}

#[test]
fn probe_of_a_healthy_name_is_success_with_every_family() {
    let lab = lab(plain_zone(), |_| Site::new());
    let ex = start(&lab, &[]);
    let (code, body) = get(ex.addr, "/probe?target=www.example.test");
    assert_eq!(code, 200, "{body}");
    let s = validate(&body);
    assert_eq!(value(&s, "mpic_check_probe_success"), 1.0, "{body}");
    assert_eq!(value(&s, "mpic_check_probe_cached"), 0.0);
    assert_eq!(
        value(
            &s,
            r#"mpic_check_outcome{identifier="www.example.test",outcome="pass"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            r#"mpic_check_corroborating_remotes{identifier="www.example.test",check="http-01"}"#
        ),
        3.0
    );
    for p in ["home", "us-east", "eu-west", "ap-south"] {
        let role = if p == "home" { "primary" } else { "remote" };
        assert_eq!(
            value(
                &s,
                &format!(r#"mpic_check_perspective_up{{perspective="{p}",role="{role}"}}"#)
            ),
            1.0
        );
    }
    assert!(s.iter().any(|(n, _)| n == "mpic_check_duration_seconds"));
    // Unicode and upper case are normalised like a command-line name.
    let (code, body) = get(ex.addr, "/probe?target=WWW.Example.TEST.");
    assert_eq!(code, 200);
    assert!(body.contains("mpic_check_probe_cached 1"), "{body}");
}

#[test]
fn probe_of_a_geoblocked_name_fails_and_a_dead_proxy_is_down() {
    let lab = lab(plain_zone(), |_| {
        Site::new()
            .block_source(lo(0, 0, 4), Block::Status(403))
            .block_source(lo(0, 0, 5), Block::Status(403))
    });
    let ex = start(&lab, &[]);
    let (code, body) = get(ex.addr, "/probe?target=www.example.test");
    assert_eq!(code, 200, "{body}");
    let s = validate(&body);
    assert_eq!(value(&s, "mpic_check_probe_success"), 0.0, "{body}");
    assert_eq!(
        value(
            &s,
            r#"mpic_check_findings_by_code{identifier="www.example.test",code="http-geoblocked",severity="error"}"#
        ),
        1.0,
        "{body}"
    );
    // A proxy that is gone is the tool's problem: that perspective is down, the others up.
    drop(ex);
    let mut lab = lab;
    lab.proxies.remove(1); // us-east's SOCKS proxy stops listening
    let ex = start(&lab, &[]);
    let (_, body) = get(ex.addr, "/probe?target=www.example.test");
    let s = validate(&body);
    assert_eq!(
        value(
            &s,
            r#"mpic_check_perspective_up{perspective="us-east",role="remote"}"#
        ),
        0.0,
        "{body}"
    );
    assert_eq!(
        value(
            &s,
            r#"mpic_check_perspective_up{perspective="eu-west",role="remote"}"#
        ),
        1.0
    );
}

#[test]
fn results_are_cached_for_the_min_interval_and_counted_on_metrics() {
    let lab = lab(plain_zone(), |_| Site::new());
    let ex = start(&lab, &["--min-interval", "3s"]);
    let (code, first) = get(ex.addr, "/probe?target=www.example.test");
    // The result was stored before this answer was sent: the interval ends before t0 + 3 s.
    let t0 = Instant::now();
    assert_eq!(code, 200);
    assert!(first.contains("mpic_check_probe_cached 0"));
    let fetches = lab.origins.requests().len();
    assert!(fetches > 0);
    // A scrape storm within the interval sends nothing to the target.
    for _ in 0..5 {
        let (code, body) = get(ex.addr, "/probe?target=www.example.test");
        assert_eq!(code, 200);
        assert!(body.contains("mpic_check_probe_cached 1"), "{body}");
    }
    assert_eq!(lab.origins.requests().len(), fetches);
    let (_, m) = get(ex.addr, "/metrics");
    let s = validate(&m);
    assert_eq!(value(&s, "mpic_check_exporter_probes_total"), 1.0, "{m}");
    assert_eq!(value(&s, "mpic_check_exporter_cache_hits_total"), 5.0);
    assert_eq!(
        value(
            &s,
            r#"mpic_check_exporter_requests_total{path="/probe",code="200"}"#
        ),
        6.0
    );
    assert_eq!(value(&s, "mpic_check_exporter_probes_in_flight"), 0.0);
    // After the interval the target is checked again.
    std::thread::sleep(
        Duration::from_secs(3).saturating_sub(t0.elapsed()) + Duration::from_millis(100),
    );
    let (_, body) = get(ex.addr, "/probe?target=www.example.test");
    assert!(body.contains("mpic_check_probe_cached 0"), "{body}");
    assert!(lab.origins.requests().len() > fetches);
    // Another module is another cache entry.
    let (code, body) = get(ex.addr, "/probe?target=www.example.test&module=home-only");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("mpic_check_probe_cached 0"), "{body}");
    assert!(body.contains(r#"check="dns-01""#), "{body}");
    assert!(!body.contains(r#"perspective="us-east""#), "{body}");
}

#[test]
fn checks_beyond_max_concurrent_get_503() {
    // Every answer of the resolver takes a second, so the first check is still running when the
    // second scrape arrives.
    let zone: Zone = plain_zone()
        .a("other.example.test", crate::e2e::ORIGIN_DEFAULT)
        .behaviour(Behaviour::Delay(Duration::from_millis(700)));
    let lab = lab(zone, |_| Site::new());
    let ex = start(&lab, &["--max-concurrent", "1"]);
    let addr = ex.addr;
    let slow = std::thread::spawn(move || get(addr, "/probe?target=www.example.test"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, m) = get(addr, "/metrics");
        if m.contains("mpic_check_exporter_probes_in_flight 1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first check never started: {m}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, body) = get(addr, "/probe?target=other.example.test");
    assert_eq!(code, 503, "{body}");
    assert_eq!(body.lines().count(), 1, "{body}");
    assert!(body.contains("--max-concurrent"), "{body}");
    let (code, body) = slow.join().unwrap();
    assert_eq!(code, 200, "{body}");
    let (_, m) = get(addr, "/metrics");
    let s = validate(&m);
    assert_eq!(value(&s, "mpic_check_exporter_rejected_total"), 1.0, "{m}");
    assert_eq!(
        value(
            &s,
            r#"mpic_check_exporter_requests_total{path="/probe",code="503"}"#
        ),
        1.0
    );
}

#[test]
fn scrapes_during_a_check_wait_for_it_instead_of_starting_another() {
    let zone = plain_zone().behaviour(Behaviour::Delay(Duration::from_millis(200)));
    let lab = lab(zone, |_| Site::new());
    let ex = start(&lab, &["--max-concurrent", "1"]);
    let addr = ex.addr;
    let scrapes: Vec<_> = (0..3)
        .map(|_| std::thread::spawn(move || get(addr, "/probe?target=www.example.test")))
        .collect();
    let bodies: Vec<String> = scrapes
        .into_iter()
        .map(|t| {
            let (code, body) = t.join().unwrap();
            // Not 503: waiting for the running check of the same target takes no slot.
            assert_eq!(code, 200, "{body}");
            body
        })
        .collect();
    let fresh = bodies
        .iter()
        .filter(|b| b.contains("mpic_check_probe_cached 0"))
        .count();
    assert_eq!(fresh, 1, "{bodies:?}");
    let (_, m) = get(addr, "/metrics");
    let s = validate(&m);
    assert_eq!(value(&s, "mpic_check_exporter_probes_total"), 1.0, "{m}");
    assert_eq!(
        value(&s, "mpic_check_exporter_cache_hits_total"),
        2.0,
        "{m}"
    );
}

#[test]
fn bad_requests_get_400_with_one_line_and_send_nothing() {
    let lab = lab(plain_zone(), |_| Site::new());
    let ex = start(&lab, &[]);
    for (path, says) in [
        ("/probe", "missing target"),
        ("/probe?target=https://www.example.test/", "URL"),
        // An address a CA never issues for (RFC 8738 identifiers are checked, reserved ones not).
        ("/probe?target=10.0.0.1", "will not contact"),
        ("/probe?target=www.example.test:8080", "port"),
        ("/probe?target=a..test", "empty label"),
        (
            "/probe?target=www.example.test&module=nope",
            "unknown module",
        ),
        ("/probe?target=a.test&target=b.test", "more than once"),
        ("/probe?target=a.test&debug=1", "unknown parameter"),
    ] {
        let (code, body) = get(ex.addr, path);
        assert_eq!(code, 400, "{path}: {body}");
        assert_eq!(body.lines().count(), 1, "{path}: {body}");
        assert!(body.contains(says), "{path}: {body}");
    }
    let (code, body) = get(ex.addr, "/nowhere");
    assert_eq!(code, 404, "{body}");
    let (code, body) = get(ex.addr, "/");
    assert_eq!(code, 200);
    assert!(
        body.contains("/probe?target=") && body.contains("home-only"),
        "{body}"
    );
    assert!(lab.origins.requests().is_empty());
    assert!(lab.dns.queries().is_empty());
    let (_, m) = get(ex.addr, "/metrics");
    let s = validate(&m);
    assert_eq!(
        value(
            &s,
            r#"mpic_check_exporter_requests_total{path="/probe",code="400"}"#
        ),
        8.0,
        "{m}"
    );
    assert_eq!(value(&s, "mpic_check_exporter_probes_total"), 0.0);
}

#[test]
fn sigterm_finishes_the_running_check_and_exits_0() {
    let zone = plain_zone().behaviour(Behaviour::Delay(Duration::from_millis(300)));
    let lab = lab(zone, |_| Site::new());
    let mut ex = start(&lab, &[]);
    let addr = ex.addr;
    let running = std::thread::spawn(move || get(addr, "/probe?target=www.example.test"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !get(addr, "/metrics")
        .1
        .contains("mpic_check_exporter_probes_in_flight 1")
    {
        assert!(Instant::now() < deadline, "the check never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &ex.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, body) = running.join().unwrap();
    assert_eq!(code, 200, "the running check was cut off: {body}");
    validate(&body);
    let t0 = Instant::now();
    let exit = loop {
        if let Some(s) = ex.child.try_wait().unwrap() {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(0));
    let mut rest = String::new();
    ex.stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("stopping"), "{rest}");
    // Nothing listens any more.
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

#[test]
fn a_bad_module_is_an_error_at_start() {
    let home = tempfile::tempdir().unwrap();
    let base =
        crate::support::perspective_toml("home", "primary", "ARIN", "udp://127.0.0.1:9", None);
    for (module, says) in [
        (
            "[modules.eu]\nperspectives = [\"nowhere\"]\n",
            "modules.eu.perspectives: no [[perspective]] is named \"nowhere\"",
        ),
        ("[modules.x]\nmethod = \"tls-sni-01\"\n", "modules.x.method"),
        ("[modules.c]\npolicy = \"custom\"\n", "modules.c:"),
        ("[modules.t]\ntimeot = \"5s\"\n", "timeot"),
    ] {
        let config = home.path().join("c.toml");
        std::fs::write(&config, format!("{base}\n{module}")).unwrap();
        let out = crate::support::base_cmd(home.path())
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{module}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{module}: {err}");
    }
    // A port that is taken is one line too.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = home.path().join("ok.toml");
    std::fs::write(&config, &base).unwrap();
    let out = crate::support::base_cmd(home.path())
        .args([
            "serve",
            "--listen",
            &taken.local_addr().unwrap().to_string(),
            "--config",
        ])
        .arg(&config)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--listen") && err.lines().count() == 1,
        "{err}"
    );
}

#[test]
fn one_shot_prometheus_has_perspective_up_and_run_level_findings() {
    let lab = lab(plain_zone(), |_| Site::new());
    // Two perspectives placed 10 km apart: perspectives-too-close, a finding about the setup.
    let toml = std::fs::read_to_string(&lab.config)
        .unwrap()
        .replace(
            "name = \"us-east\"\n",
            "name = \"us-east\"\nlocation = [40.71, -74.00]\n",
        )
        .replace(
            "name = \"eu-west\"\n",
            "name = \"eu-west\"\nlocation = [40.80, -74.05]\n",
        );
    std::fs::write(&lab.config, toml).unwrap();
    let out = lab
        .cmd()
        .args(["--format", "prometheus", "www.example.test"])
        .output()
        .unwrap();
    let doc = String::from_utf8(out.stdout).unwrap();
    let s = validate(&doc);
    assert_eq!(
        value(
            &s,
            r#"mpic_check_run_findings{code="perspectives-too-close",severity="warning"}"#
        ),
        1.0,
        "{doc}"
    );
    // Not pinned to the first name's label any more.
    assert!(
        !doc.lines()
            .any(|l| l.starts_with("mpic_check_findings_by_code") && l.contains("too-close")),
        "{doc}"
    );
    assert_eq!(
        value(
            &s,
            r#"mpic_check_perspective_up{perspective="home",role="primary"}"#
        ),
        1.0
    );
}

#[test]
fn probe_of_an_ip_address_target_checks_the_address_without_dns() {
    // RFC 8738: an address is a target like a name; nothing is looked up for it.
    let lab = lab(plain_zone(), |_| Site::new());
    let ex = start(&lab, &[]);
    let (code, body) = get(ex.addr, "/probe?target=127.0.20.1");
    assert_eq!(code, 200, "{body}");
    let s = validate(&body);
    assert_eq!(value(&s, "mpic_check_probe_success"), 1.0, "{body}");
    assert_eq!(
        value(
            &s,
            r#"mpic_check_outcome{identifier="127.0.20.1",outcome="pass"}"#
        ),
        1.0
    );
    assert!(lab.dns.queries().is_empty(), "{:?}", lab.dns.queries());
    assert!(
        lab.origins
            .requests()
            .iter()
            .all(|r| r.host.as_deref() == Some("127.0.20.1")),
        "{:?}",
        lab.origins.requests()
    );
}
