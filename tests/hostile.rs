//! The hostile-server suite (issue 10, part 1): the real binary against DNS resolvers, HTTP
//! origins and SOCKS5 proxies that misbehave on purpose (`support::hostile`), and against bad
//! input. Every run must finish well inside a generous hang guard, record the failure on the
//! perspective that met the hostile server with the right phase and a readable one-line summary,
//! print JSON that parses strictly into `mpic_check::model::Report` with `exit_code` equal to the
//! process status (0–3), never panic, never believe a spoofed reply and never let bytes from the
//! wire reach the terminal unescaped.
//!
//! Layout of a run: three healthy perspectives (`home` primary, `r1`, `r2`) that ask a healthy
//! harness resolver, and one remote `bad` whose resolver, origin or proxy is hostile, so every
//! test can also check that the failure is pinned on `bad` and nowhere else. Each test uses its
//! own addresses (`127.0.40.n` healthy resolver, `127.0.41.n` hostile resolver, `127.0.22.n`
//! healthy origin, `127.0.20.(100+n)` hostile origin, `127.0.42.n` proxies leaving from
//! `127.0.43.n`) and ephemeral ports, `--timeout 1s` where a timeout is the expected outcome and
//! `5s` elsewhere (so a loaded machine cannot fail a healthy perspective), and table-driven tests
//! run their cases on threads of their own: the suite runs in parallel in a few seconds.
//!
//! A case that shows a bug of the tool asserts the correct behaviour and is marked
//! `#[ignore = "BUG: …"]`: `cargo test hostile -- --ignored` shows them failing, and
//! `HOSTILE_DUMP=1 cargo test hostile -- --nocapture` prints what every run concluded.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use hickory_resolver::proto::op::{Message, ResponseCode};
use hickory_resolver::proto::rr::RecordType;
use serde_json::Value;

use crate::support::dns::{DnsServer, Transport, Zone};
use crate::support::hostile::{
    self as h, ConnectReply, DnsAction, DnsQuery, Greeting, HostileDns, HostileHttp, HostileSocks,
    HttpAction, HttpRequest,
};
use crate::support::socks::Socks5Proxy;
use crate::support::{lo, perspective_toml};

/// The dns-01 value the healthy zone publishes.
const TOKEN: &str = "hostile-suite-token-LPJNul-wow4m6DsqxbninhsWHlwfp0";
/// A hang guard, not a performance claim: with `--timeout 1s` every run ends far below this.
const HANG_GUARD_MS: u64 = 20_000;
/// Data a hostile server tries to plant; it must never show up as something the tool believed.
const SPOOFED_IP: &str = "127.0.66.6";
const SPOOFED_TXT: &str = "spoofed-txt-value";
const SPOOFED_CA: &str = "evil-ca.example";

fn good_dns_ip(n: u8) -> IpAddr {
    lo(0, 40, n)
}
fn bad_dns_ip(n: u8) -> IpAddr {
    lo(0, 41, n)
}
fn good_origin_ip(n: u8) -> IpAddr {
    lo(0, 22, n)
}
fn bad_origin_ip(n: u8) -> IpAddr {
    assert!(n < 150);
    lo(0, 20, 100 + n)
}
fn proxy_ip(n: u8) -> IpAddr {
    lo(0, 42, n)
}

// ------------------------------------------------------------------------------------------------
// Running the binary and the invariants every run must satisfy
// ------------------------------------------------------------------------------------------------

/// A config directory: three healthy perspectives and `bad`.
struct Lab {
    dir: tempfile::TempDir,
    config: PathBuf,
    http_port: Option<u16>,
    /// `--timeout` of every run: [`ROOMY`] unless the test expects a timeout.
    timeout: &'static str,
}

/// `--timeout` where no timeout is expected: ample, so a loaded machine cannot fail a healthy
/// perspective.
const ROOMY: &str = "5s";
/// `--timeout` where a timeout is the expected outcome.
const TIMING_OUT: &str = "1s";

/// A healthy resolver whose zone sends `www.example.test` to `origin`.
fn good_resolver(n: u8, origin: IpAddr) -> DnsServer {
    DnsServer::start(good_dns_ip(n), healthy_zone(origin))
}

fn healthy_zone(origin: IpAddr) -> Zone {
    Zone::new("test")
        .a("www.example.test", &origin.to_string())
        .caa("example.test", 0, "issue", "letsencrypt.org")
        .txt("_acme-challenge.www.example.test", TOKEN)
}

/// Writes the config: `home`, `r1`, `r2` ask `good` and fetch directly; `bad` uses the given
/// DNS and HTTP sides.
fn lab(good: &DnsServer, bad_dns: &str, bad_http: &str, http_port: Option<u16>) -> Lab {
    let mut toml = String::from("[defaults]\ntimeout = \"5s\"\n");
    let good = format!("udp://{}", good.addr);
    for (name, role, rir, dns, http) in [
        ("home", "primary", "ARIN", good.as_str(), "direct"),
        ("r1", "remote", "RIPE", good.as_str(), "direct"),
        ("r2", "remote", "APNIC", good.as_str(), "direct"),
        ("bad", "remote", "LACNIC", bad_dns, bad_http),
    ] {
        toml.push_str(&perspective_toml(name, role, rir, dns, Some(http)));
    }
    let (dir, config) = crate::support::write_config("hostile.toml", &toml);
    Lab {
        dir,
        config,
        http_port,
        timeout: ROOMY,
    }
}

impl Lab {
    fn command(&self) -> assert_cmd::Command {
        let mut c = crate::support::base_command(self.dir.path());
        // Port 9 has no listener anywhere in the suite: DNS-only runs never fetch anything.
        let port = self.http_port.map_or("9".to_string(), |p| p.to_string());
        c.env("MPIC_CHECK_HTTP_PORT", port)
            .env("NO_COLOR", "1")
            .arg("--config")
            .arg(&self.config)
            .args(["--as-of", "2026-11-28", "--timeout", self.timeout]);
        let mut c = assert_cmd::Command::from_std(c);
        c.timeout(Duration::from_secs(90));
        c
    }

    /// `--format json` with `args`; checks the invariants and returns (exit code, document).
    fn json(&self, args: &[&str]) -> (i32, Value) {
        let out = self
            .command()
            .args(["--format", "json"])
            .args(args)
            .output()
            .unwrap();
        checked_json(&out)
    }

    /// A dns-01 run of `www.example.test` expecting the healthy TXT value.
    fn dns01(&self) -> (i32, Value) {
        self.json(&[
            "--method",
            "dns-01",
            "--expect-txt",
            TOKEN,
            "www.example.test",
        ])
    }

    /// The table (no colour, verbose) with `args`; checks exit code and panics.
    fn table(&self, args: &[&str]) -> (i32, String) {
        let out = self
            .command()
            .args(["--format", "table", "--color", "never", "-v"])
            .args(args)
            .output()
            .unwrap();
        let code = exit_code(&out);
        let text = String::from_utf8(out.stdout).expect("table output is UTF-8");
        if std::env::var_os("HOSTILE_DUMP").is_some() {
            eprintln!("{text}");
        }
        (code, text)
    }
}

fn exit_code(out: &Output) -> i32 {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("killed (hang guard or signal): {:?}\n{stderr}", out.status));
    assert!((0..=3).contains(&code), "exit code {code} outside 0–3");
    code
}

/// The invariants of every run that produced a report.
fn checked_json(out: &Output) -> (i32, Value) {
    let code = exit_code(out);
    let strict: Result<mpic_check::model::Report, _> = serde_json::from_slice(&out.stdout);
    assert!(
        strict.is_ok(),
        "JSON does not parse strictly: {strict:?}\nstderr: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    if std::env::var_os("HOSTILE_DUMP").is_some() {
        // `HOSTILE_DUMP=1 cargo test hostile -- --nocapture` shows what every run concluded.
        eprintln!("exit {code}\n{}", brief(&doc));
    }
    assert_eq!(doc["exit_code"].as_i64(), Some(i64::from(code)), "{doc:#}");
    let ms = doc["duration_ms"].as_u64().unwrap();
    assert!(ms < HANG_GUARD_MS, "hang guard: the run took {ms} ms");
    no_control_characters(&doc, "$");
    for id in doc["identifiers"].as_array().unwrap() {
        for o in id["observations"].as_array().unwrap() {
            if o["ok"] == false {
                let s = o["summary"].as_str().unwrap();
                assert!(!s.trim().is_empty(), "a failure without a summary: {o:#}");
            }
        }
    }
    (code, doc)
}

/// Wire bytes are escaped as `\xNN` before they are recorded: no decoded JSON string may hold a
/// control character (C0, DEL or C1), so printing any field cannot drive a terminal.
fn no_control_characters(v: &Value, at: &str) {
    match v {
        Value::String(s) => assert!(
            !s.chars().any(char::is_control),
            "control character in {at}: {s:?}"
        ),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                no_control_characters(x, &format!("{at}[{i}]"));
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                no_control_characters(x, &format!("{at}.{k}"));
            }
        }
        _ => {}
    }
}

/// The CA-like observation of `perspective` for `check` (`address`, `caa`, `dns-01`, `http-01`).
fn obs<'a>(doc: &'a Value, perspective: &str, check: &str) -> &'a Value {
    doc["identifiers"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["perspective"] == perspective && o["check"] == check && o["address"].is_null())
        .unwrap_or_else(|| panic!("no {check} observation for {perspective}: {doc:#}"))
}

fn summary(o: &Value) -> &str {
    o["summary"].as_str().unwrap()
}

/// The healthy perspectives saw `check` succeed: the hostile server's failure is not spread.
fn healthy_ok(doc: &Value, check: &str) {
    for p in ["home", "r1", "r2"] {
        let o = obs(doc, p, check);
        assert_eq!(o["ok"], true, "{p} {check} should be unaffected: {o:#}");
        assert_eq!(o["perspective_fault"], false);
    }
}

/// `bad`'s `check` failed in `phase` with a summary containing every word of `words`; returns it.
fn bad_failed<'a>(doc: &'a Value, check: &str, phase: &str, words: &[&str]) -> &'a Value {
    let o = obs(doc, "bad", check);
    assert_eq!(o["ok"], false, "{o:#}");
    assert_eq!(o["phase"], phase, "{check}: {o:#}");
    for w in words {
        assert!(
            summary(o).to_lowercase().contains(&w.to_lowercase()),
            "{check}: summary lacks {w:?}: {o:#}"
        );
    }
    o
}

/// `bad`'s failure of `check` is blamed on the domain, not on the tool.
fn blamed_on_domain(doc: &Value, check: &str) {
    let o = obs(doc, "bad", check);
    assert_eq!(o["perspective_fault"], false, "{o:#}");
    assert!(
        !codes(doc).contains(&"perspective-error".to_string()),
        "{doc:#}"
    );
}

/// `bad` was recognised as unusable: its failure is the tool's, reported once as
/// `perspective-error`, and left out of the quorum.
fn blamed_on_tool(doc: &Value, check: &str) {
    let o = obs(doc, "bad", check);
    assert_eq!(o["ok"], false, "{o:#}");
    assert_eq!(o["perspective_fault"], true, "{check}: {o:#}");
    let f = finding(doc, "perspective-error");
    assert_eq!(f["perspectives"], serde_json::json!(["bad"]), "{f:#}");
    for v in doc["identifiers"][0]["verdicts"].as_array().unwrap() {
        assert!(
            !v["dissenting_perspectives"].to_string().contains("\"bad\""),
            "a tool failure counted as dissent: {v:#}"
        );
    }
}

/// A compact account of a run for failure messages: findings and `bad`'s observations.
fn brief(doc: &Value) -> String {
    let mut out = String::from("findings:");
    for f in doc["findings"].as_array().unwrap() {
        out.push_str(&format!(
            "\n  {} {} {}",
            f["severity"], f["code"], f["evidence"]
        ));
    }
    out.push_str("\nbad:");
    for o in doc["identifiers"][0]["observations"].as_array().unwrap() {
        if o["perspective"] == "bad" {
            out.push_str(&format!(
                "\n  {} ok={} phase={} fault={} {}",
                o["check"], o["ok"], o["phase"], o["perspective_fault"], o["summary"]
            ));
        }
    }
    out
}

fn codes(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn finding<'a>(doc: &'a Value, code: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} finding in {doc:#}"))
}

fn verdict<'a>(doc: &'a Value, check: &str) -> &'a Value {
    doc["identifiers"][0]["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["check"] == check)
        .unwrap_or_else(|| panic!("no {check} verdict: {doc:#}"))
}

/// Nothing the hostile server planted is anywhere in what the tool concluded: addresses, TXT
/// values, CAA records, HTTP hops, findings and verdicts. (The raw `dns[]` exchange facts may
/// show what arrived, which is evidence, not belief.)
fn nothing_spoofed_believed(doc: &Value) {
    for o in doc["identifiers"][0]["observations"].as_array().unwrap() {
        let mut believed = o.clone();
        if let Some(m) = believed.as_object_mut() {
            m.remove("dns");
        }
        let text = believed.to_string();
        for planted in [SPOOFED_IP, SPOOFED_TXT, SPOOFED_CA] {
            assert!(!text.contains(planted), "{planted} was believed: {o:#}");
        }
    }
    let rest = format!("{}{}", doc["findings"], doc["identifiers"][0]["verdicts"]);
    for planted in [SPOOFED_IP, SPOOFED_TXT, SPOOFED_CA] {
        assert!(!rest.contains(planted), "{planted} reached the findings");
    }
}

/// A reply that was ignored leaves no trace at all, not even in the raw exchange facts.
/// The bad perspective's address, CAA and DNS-01 checks all failed in `phase` (naming `words`),
/// and nothing the hostile server planted reached the document.
fn dns_checks_failed_unspoofed(doc: &Value, phase: &str, words: &[&str]) {
    for check in ["address", "caa", "dns-01"] {
        bad_failed(doc, check, phase, words);
    }
    nothing_spoofed_anywhere(doc);
}

fn nothing_spoofed_anywhere(doc: &Value) {
    let text = doc.to_string();
    for planted in [SPOOFED_IP, SPOOFED_TXT, SPOOFED_CA] {
        assert!(
            !text.contains(planted),
            "{planted} from an ignored reply: {doc:#}"
        );
    }
}

/// Runs the closures on their own threads and waits for all (a table-driven test stays fast).
fn in_parallel(cases: Vec<Box<dyn FnOnce() + Send + '_>>) {
    std::thread::scope(|s| {
        let handles: Vec<_> = cases.into_iter().map(|c| s.spawn(c)).collect();
        let mut panics = Vec::new();
        for h in handles {
            if let Err(e) = h.join() {
                panics.push(
                    e.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default(),
                );
            }
        }
        assert!(
            panics.is_empty(),
            "{} case(s) failed:\n{}",
            panics.len(),
            panics.join("\n---\n")
        );
    });
}

// ------------------------------------------------------------------------------------------------
// Hostile DNS resolvers
// ------------------------------------------------------------------------------------------------

/// What a healthy resolver would answer for the test zone.
fn healthy_answer(q: &DnsQuery) -> Message {
    let mut m = h::reply(q);
    match (q.qname.as_str(), q.qtype) {
        ("www.example.test", RecordType::A) => m.answers.push(h::a(&q.qname, "127.0.20.1")),
        ("example.test", RecordType::CAA) => {
            m.answers
                .push(h::caa(&q.qname, 0, b"issue", b"letsencrypt.org"));
        }
        ("_acme-challenge.www.example.test", RecordType::TXT) => {
            m.answers.push(h::txt(&q.qname, &[TOKEN.as_bytes()]));
        }
        _ => {}
    }
    m
}

fn healthy(q: &DnsQuery) -> Vec<DnsAction> {
    vec![h::send(&healthy_answer(q))]
}

/// What a spoofer would like the tool to believe, as a reply to `q`.
fn spoofed_answer(q: &DnsQuery) -> Message {
    let mut m = h::reply(q);
    match q.qtype {
        RecordType::A => m.answers.push(h::a(&q.qname, SPOOFED_IP)),
        RecordType::TXT => m.answers.push(h::txt(&q.qname, &[SPOOFED_TXT.as_bytes()])),
        RecordType::CAA => m
            .answers
            .push(h::caa(&q.qname, 0, b"issue", SPOOFED_CA.as_bytes())),
        _ => {}
    }
    m
}

/// A lab whose `bad` perspective asks `bad` over `scheme` (`udp` or `tcp`).
fn dns_lab(n: u8, bad: &HostileDns, scheme: &str) -> (DnsServer, Lab) {
    let good = good_resolver(n, lo(0, 20, 1));
    let lab = lab(&good, &bad.url(scheme), "direct", None);
    (good, lab)
}

/// The dns-01 verdict still stands on the healthy remotes and counts `bad` as dissenting.
fn bad_dissents(doc: &Value, check: &str) {
    let v = verdict(doc, check);
    assert_eq!(
        v["dissenting_perspectives"],
        serde_json::json!(["bad"]),
        "{v:#}"
    );
    assert_eq!(v["corroborating"], 2, "{v:#}");
}

fn silence(n: u8, scheme: &str) {
    let bad = HostileDns::start(bad_dns_ip(n), |_| Vec::new());
    let (_good, mut lab) = dns_lab(n, &bad, scheme);
    lab.timeout = TIMING_OUT;
    let (code, doc) = lab.dns01();
    for check in ["address", "caa", "dns-01"] {
        bad_failed(&doc, check, "timeout", &["timed out"]);
        let ms = obs(&doc, "bad", check)["elapsed_ms"].as_u64().unwrap();
        assert!(ms < HANG_GUARD_MS, "{check} took {ms} ms");
    }
    healthy_ok(&doc, "dns-01");
    healthy_ok(&doc, "caa");
    bad_dissents(&doc, "dns-01");
    assert_eq!(
        code, 1,
        "one silent remote puts the renewal at risk: {doc:#}"
    );
    assert!(!bad.queries().is_empty());
}

#[test]
fn dns_silence_over_udp_is_a_timeout_of_that_perspective() {
    silence(1, "udp");
}

#[test]
fn dns_silence_over_tcp_is_a_timeout_of_that_perspective() {
    silence(2, "tcp");
}

/// `bad`'s resolver answers every query with `rcode`; returns the report.
fn rcode_everywhere(n: u8, rcode: ResponseCode, word: &str) -> (i32, Value) {
    let bad = HostileDns::start(bad_dns_ip(n), move |q| {
        vec![h::send(&h::rcode_reply(q, rcode))]
    });
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (code, doc) = lab.dns01();
    for check in ["address", "caa", "dns-01"] {
        bad_failed(&doc, check, "dns", &[word]);
    }
    healthy_ok(&doc, "dns-01");
    assert!(code == 1 || code == 0, "{doc:#}");
    (code, doc)
}

#[test]
fn dns_refused_is_recorded_as_refused() {
    rcode_everywhere(3, ResponseCode::Refused, "REFUSED");
}

#[test]
fn dns_refused_by_the_perspectives_own_resolver_is_the_tools_problem() {
    // A recursive resolver answers REFUSED for its own policy (allow-recursion ACLs); upstream
    // refusals reach the client as SERVFAIL. So REFUSED to everything means: this perspective
    // cannot use its resolver.
    let (_, doc) = rcode_everywhere(23, ResponseCode::Refused, "REFUSED");
    blamed_on_tool(&doc, "dns-01");
    no_domain_blame(&doc, "own resolver REFUSED");
}

#[test]
fn dns_servfail_is_recorded_as_servfail() {
    let (code, doc) = rcode_everywhere(4, ResponseCode::ServFail, "SERVFAIL");
    // SERVFAIL from a recursive resolver is about the domain (lame delegation, broken DNSSEC).
    blamed_on_domain(&doc, "dns-01");
    bad_dissents(&doc, "dns-01");
    assert_eq!(code, 1, "{doc:#}");
}

#[test]
fn dns_notimp_for_caa_only_fails_the_caa_check_only() {
    let n = 5;
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        if q.qtype == RecordType::CAA {
            vec![h::send(&h::rcode_reply(q, ResponseCode::NotImp))]
        } else {
            healthy(q)
        }
    });
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (code, doc) = lab.dns01();
    bad_failed(&doc, "caa", "dns", &["NOTIMP", "CAA"]);
    assert_eq!(obs(&doc, "bad", "caa")["caa"]["decision"], "error");
    assert_eq!(obs(&doc, "bad", "address")["ok"], true);
    assert_eq!(obs(&doc, "bad", "dns-01")["ok"], true);
    healthy_ok(&doc, "caa");
    bad_dissents(&doc, "caa");
    assert!(
        codes(&doc).contains(&"caa-lookup-failed".to_string()),
        "{doc:#}"
    );
    assert_eq!(code, 1, "{doc:#}");
}

/// A TXT RRset of `count` records of `len` bytes each, plus the healthy token.
fn big_txt(q: &DnsQuery, count: usize, len: usize) -> Message {
    let mut m = h::reply(q);
    m.answers.push(h::txt(&q.qname, &[TOKEN.as_bytes()]));
    for i in 0..count {
        let mut v = format!("pad-{i:04}-").into_bytes();
        v.resize(len.max(v.len()), b'x');
        m.answers.push(h::txt(&q.qname, &[&v[..]]));
    }
    m
}

#[test]
fn dns_truncated_udp_then_a_large_tcp_answer_is_used() {
    let n = 6;
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        if q.qtype != RecordType::TXT {
            return healthy(q);
        }
        match q.transport {
            Transport::Udp => {
                let mut m = h::reply(q);
                m.metadata.truncation = true;
                vec![h::send(&m)]
            }
            // About 8 KiB: far more than the 1232 bytes advertised over UDP.
            Transport::Tcp => vec![h::send(&big_txt(q, 40, 200))],
        }
    });
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (code, doc) = lab.dns01();
    let t = obs(&doc, "bad", "dns-01");
    assert_eq!(t["ok"], true, "{t:#}");
    assert_eq!(t["txt"].as_array().unwrap().len(), 41);
    assert!(
        t["dns"][0]["server"]
            .as_str()
            .unwrap()
            .ends_with("(tcp after truncation)"),
        "{t:#}"
    );
    assert!(
        bad.queries()
            .iter()
            .any(|q| q.transport == Transport::Tcp && q.qtype == RecordType::TXT)
    );
    // Its TXT set differs from the other perspectives' (they see one value): not the same answer.
    assert!(code <= 1, "{doc:#}");
}

#[test]
fn dns_truncated_udp_with_tcp_refused_is_a_dns_failure() {
    let n = 7;
    let bad = HostileDns::start_udp_only(bad_dns_ip(n), |q| {
        if q.qtype == RecordType::TXT {
            let mut m = h::reply(q);
            m.metadata.truncation = true;
            vec![h::send(&m)]
        } else {
            healthy(q)
        }
    });
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (code, doc) = lab.dns01();
    let t = obs(&doc, "bad", "dns-01");
    assert_eq!(t["ok"], false, "{t:#}");
    // Both are documented meanings: `dns` (name resolution failed) or `protocol`; never a
    // timeout (the refusal is immediate) and never the HTTP side.
    let phase = t["phase"].as_str().unwrap();
    assert!(matches!(phase, "dns" | "protocol"), "{t:#}");
    let s = summary(t).to_lowercase();
    assert!(s.contains("truncat") && s.contains("refused"), "{t:#}");
    assert_eq!(obs(&doc, "bad", "address")["ok"], true);
    healthy_ok(&doc, "dns-01");
    assert!(code <= 2, "{doc:#}");
}

#[test]
fn dns_truncated_udp_with_tcp_refused_is_the_resolvers_fault() {
    let n = 24;
    let bad = HostileDns::start_udp_only(bad_dns_ip(n), |q| {
        let mut m = h::reply(q);
        m.metadata.truncation = true;
        vec![h::send(&m)]
    });
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (_, doc) = lab.dns01();
    blamed_on_tool(&doc, "dns-01");
    no_domain_blame(&doc, "resolver without TCP");
}

#[test]
fn dns_a_64_kib_txt_rrset_over_tcp_is_read_whole() {
    let n = 8;
    // 230 records of 255 bytes: about as much as one TCP frame can carry (hickory would set
    // TC=1 and drop records beyond 65535 bytes, so the test checks that it did not).
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        if q.qtype == RecordType::TXT {
            let wire = h::encode(&big_txt(q, 230, 255));
            let back = Message::from_vec(&wire).unwrap();
            assert!(!back.metadata.truncation && back.answers.len() == 231);
            assert!(wire.len() > 63 * 1024, "{}", wire.len());
            vec![DnsAction::Send(wire)]
        } else {
            healthy(q)
        }
    });
    let (_good, lab) = dns_lab(n, &bad, "tcp");
    let (code, doc) = lab.dns01();
    let t = obs(&doc, "bad", "dns-01");
    assert_eq!(t["ok"], true, "{}", summary(t));
    assert_eq!(t["txt"].as_array().unwrap().len(), 231);
    assert!(t["txt"].to_string().contains(TOKEN));
    // Its TXT set differs from the other perspectives' (they see one value): not the same answer.
    assert!(code <= 1, "{}", doc["findings"]);
}

#[test]
fn dns_a_thousand_txt_records_in_one_oversized_datagram() {
    let n = 9;
    // Ignores the advertised 1232-byte payload: one ~25 KB datagram.
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        if q.qtype == RecordType::TXT {
            vec![h::send(&big_txt(q, 999, 8))]
        } else {
            healthy(q)
        }
    });
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (code, doc) = lab.dns01();
    let t = obs(&doc, "bad", "dns-01");
    assert_eq!(t["ok"], true, "{}", summary(t));
    assert!(t["txt"].as_array().unwrap().len() <= 1000);
    assert!(t["txt"].to_string().contains(TOKEN));
    assert!(code <= 1, "{}", doc["findings"]);
}

#[test]
fn dns_a_cname_loop_in_one_answer_is_a_bounded_dns_failure() {
    let n = 10;
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        if q.qname == "www.example.test" && matches!(q.qtype, RecordType::A | RecordType::AAAA) {
            let mut m = h::reply(q);
            m.answers.push(h::cname(&q.qname, "loop1.example.test"));
            m.answers
                .push(h::cname("loop1.example.test", "loop2.example.test"));
            m.answers
                .push(h::cname("loop2.example.test", "loop1.example.test"));
            vec![h::send(&m)]
        } else {
            healthy(q)
        }
    });
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (_, doc) = lab.dns01();
    let a = bad_failed(&doc, "address", "dns", &["CNAME loop"]);
    assert!(a["addresses"].is_null(), "{a:#}");
    healthy_ok(&doc, "address");
}

/// `www.example.test` → c1 → … → c`len` → A, all in one answer.
fn chain_server(n: u8, len: usize) -> HostileDns {
    HostileDns::start(bad_dns_ip(n), move |q| {
        if q.qname == "www.example.test" && q.qtype == RecordType::A {
            let mut m = h::reply(q);
            let mut owner = q.qname.clone();
            for i in 1..=len {
                let next = format!("c{i}.example.test");
                m.answers.push(h::cname(&owner, &next));
                owner = next;
            }
            m.answers.push(h::a(&owner, "127.0.20.1"));
            vec![h::send(&m)]
        } else {
            healthy(q)
        }
    })
}

#[test]
fn dns_a_20_long_cname_chain_is_a_bounded_dns_failure() {
    let n = 11;
    let bad = chain_server(n, 20);
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (_, doc) = lab.dns01();
    bad_failed(&doc, "address", "dns", &["CNAME chain longer than"]);
    healthy_ok(&doc, "address");
}

#[test]
fn dns_a_cname_chain_within_the_documented_bound_is_followed() {
    // `MAX_CNAME_CHAIN` is documented as the longest chain followed, and the failure says
    // "longer than 12": a chain of exactly 12 aliases is within the bound.
    let n = 12;
    let bad = chain_server(n, mpic_check::perspective::dns::MAX_CNAME_CHAIN);
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (_, doc) = lab.dns01();
    let a = obs(&doc, "bad", "address");
    assert_eq!(a["ok"], true, "{a:#}");
    assert_eq!(a["addresses"][0], "127.0.20.1");
}

#[test]
fn dns_a_reply_with_the_wrong_id_is_ignored_not_believed() {
    let n = 13;
    // A spoofed reply with the wrong ID, then silence: the tool must wait out the timeout.
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        let mut m = spoofed_answer(q);
        m.metadata.id = q.id.wrapping_add(1);
        vec![h::send(&m)]
    });
    let (_good, mut lab) = dns_lab(n, &bad, "udp");
    lab.timeout = TIMING_OUT;
    let (_, doc) = lab.dns01();
    dns_checks_failed_unspoofed(&doc, "timeout", &[]);

    // The same spoof, then the genuine reply: the genuine one is what counts.
    let n = 14;
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        let mut m = spoofed_answer(q);
        m.metadata.id = q.id.wrapping_add(1);
        vec![
            h::send(&m),
            DnsAction::Sleep(Duration::from_millis(100)),
            h::send(&healthy_answer(q)),
        ]
    });
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (code, doc) = lab.dns01();
    for check in ["address", "caa", "dns-01"] {
        assert_eq!(obs(&doc, "bad", check)["ok"], true, "{check}: {doc:#}");
    }
    assert_eq!(obs(&doc, "bad", "address")["addresses"][0], "127.0.20.1");
    nothing_spoofed_anywhere(&doc);
    assert_eq!(code, 0, "{}", doc["findings"]);
}

#[test]
fn dns_a_reply_with_the_wrong_id_over_tcp_is_a_protocol_failure() {
    let n = 15;
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        let mut m = spoofed_answer(q);
        m.metadata.id = q.id.wrapping_add(1);
        vec![h::send(&m)]
    });
    let (_good, lab) = dns_lab(n, &bad, "tcp");
    let (_, doc) = lab.dns01();
    dns_checks_failed_unspoofed(&doc, "protocol", &["ID"]);
}

#[test]
fn dns_a_reply_to_another_question_is_ignored_not_believed() {
    // Over UDP: right ID, but the question (and the answer) is another name's, or another
    // type's; then silence.
    let n = 16;
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        let mut other = h::reply_for_question(q, "evil.test", q.qtype);
        other.answers.push(h::a("evil.test", SPOOFED_IP));
        other.answers.push(h::a(&q.qname, SPOOFED_IP));
        let mut wrong_type = spoofed_answer(q);
        wrong_type.queries = vec![hickory_resolver::proto::op::Query::query(
            h::name(&q.qname),
            RecordType::MX,
        )];
        vec![h::send(&other), h::send(&wrong_type)]
    });
    let (_good, mut lab) = dns_lab(n, &bad, "udp");
    lab.timeout = TIMING_OUT;
    let (_, doc) = lab.dns01();
    dns_checks_failed_unspoofed(&doc, "timeout", &[]);

    // Over TCP a reply to another question cannot be a stray datagram: it fails at once.
    let n = 17;
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        let mut other = h::reply_for_question(q, "evil.test", q.qtype);
        other.answers.push(h::a(&q.qname, SPOOFED_IP));
        vec![h::send(&other)]
    });
    let (_good, lab) = dns_lab(n, &bad, "tcp");
    let (_, doc) = lab.dns01();
    dns_checks_failed_unspoofed(&doc, "protocol", &["another name"]);
}

#[test]
fn dns_answers_for_another_name_are_not_taken_for_ours() {
    let n = 18;
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        let mut m = h::reply(q);
        m.answers.push(h::a("elsewhere.test", SPOOFED_IP));
        m.answers
            .push(h::txt("elsewhere.test", &[SPOOFED_TXT.as_bytes()]));
        m.answers
            .push(h::caa("elsewhere.test", 0, b"issue", SPOOFED_CA.as_bytes()));
        vec![h::send(&m)]
    });
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (_, doc) = lab.dns01();
    let a = obs(&doc, "bad", "address");
    assert_eq!(a["ok"], false, "{a:#}");
    assert!(a["addresses"].is_null(), "{a:#}");
    let t = obs(&doc, "bad", "dns-01");
    assert_eq!(t["ok"], false, "{t:#}");
    assert!(t["txt"].is_null(), "{t:#}");
    // Records owned by another name are no CAA RRset of ours: the climb finds none.
    let c = obs(&doc, "bad", "caa");
    assert_eq!(c["caa"]["records"], serde_json::json!([]), "{c:#}");
    nothing_spoofed_believed(&doc);
    healthy_ok(&doc, "dns-01");
}

#[test]
fn dns_a_compression_pointer_loop_over_tcp_is_a_protocol_failure() {
    let n = 19;
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        vec![DnsAction::Send(h::pointer_loop_reply(q))]
    });
    let (_good, lab) = dns_lab(n, &bad, "tcp");
    let (_, doc) = lab.dns01();
    dns_checks_failed_unspoofed(&doc, "protocol", &["malformed"]);
    healthy_ok(&doc, "dns-01");
}

#[test]
fn dns_a_compression_pointer_loop_over_udp_is_ignored_and_named() {
    // Over UDP an unparseable datagram may be junk from anyone, so it is skipped and the
    // exchange waits for a real reply; when none comes, the summary must still say that a
    // malformed reply arrived (the operator would otherwise chase a "silent" resolver).
    let n = 20;
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        vec![DnsAction::Send(h::pointer_loop_reply(q))]
    });
    let (_good, mut lab) = dns_lab(n, &bad, "udp");
    lab.timeout = TIMING_OUT;
    let (_, doc) = lab.dns01();
    for check in ["address", "caa", "dns-01"] {
        let o = obs(&doc, "bad", check);
        assert_eq!(o["ok"], false, "{o:#}");
        assert!(
            matches!(o["phase"].as_str(), Some("timeout" | "protocol")),
            "{o:#}"
        );
        assert!(summary(o).contains("malformed"), "{check}: {}", brief(&doc));
    }
    nothing_spoofed_believed(&doc);
}

#[test]
fn dns_nxdomain_at_the_tld_during_the_caa_climb_fails_caa() {
    let n = 21;
    let bad = HostileDns::start(bad_dns_ip(n), |q| match (q.qname.as_str(), q.qtype) {
        ("test", _) => vec![h::send(&h::rcode_reply(q, ResponseCode::NXDomain))],
        // example.test has no CAA RRset: the climb must reach the TLD.
        (_, RecordType::CAA) => vec![h::send(&h::reply(q))],
        _ => healthy(q),
    });
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (code, doc) = lab.dns01();
    let c = bad_failed(&doc, "caa", "dns", &["NXDOMAIN", "TLD"]);
    assert_eq!(c["caa"]["decision"], "error", "{c:#}");
    blamed_on_domain(&doc, "caa");
    healthy_ok(&doc, "caa");
    bad_dissents(&doc, "caa");
    assert_eq!(code, 1, "{doc:#}");
}

#[test]
fn dns_a_resolver_that_is_down_is_the_tools_problem() {
    // The configured resolver refuses every connection (nothing listens): the perspective is
    // unusable. `Observation::perspective_fault` is documented as "the tool's own (proxy down,
    // resolver unreachable)", and the README says such a perspective is reported as
    // perspective-error and never blamed on the domain.
    let n = 22;
    let good = good_resolver(n, lo(0, 20, 1));
    // A port that nothing listens on at this address (bound, then released).
    let dead = std::net::TcpListener::bind((bad_dns_ip(n), 0)).unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let lab = lab(&good, &format!("tcp://{dead_addr}"), "direct", None);
    let (_, doc) = lab.dns01();
    for check in ["address", "caa", "dns-01"] {
        assert!(
            summary(obs(&doc, "bad", check))
                .to_lowercase()
                .contains("refused"),
            "{check}: {doc:#}"
        );
    }
    blamed_on_tool(&doc, "dns-01");
    healthy_ok(&doc, "dns-01");
}

// ------------------------------------------------------------------------------------------------
// Hostile HTTP origins
// ------------------------------------------------------------------------------------------------

/// A lab where `bad` resolves `www.example.test` to the hostile origin and the others to a
/// healthy one (both on the same port), with `bad`'s HTTP side `bad_http`.
struct HttpLab {
    _good: DnsServer,
    _bad: DnsServer,
    origin: HostileHttp,
    lab: Lab,
}

const NOT_FOUND: &[u8] =
    b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 9\r\n\r\nnot found";

fn http_lab(
    n: u8,
    bad_http: &str,
    script: impl Fn(&HttpRequest) -> Vec<HttpAction> + Send + Sync + 'static,
) -> HttpLab {
    let (good_ip, bad_ip) = (good_origin_ip(n), bad_origin_ip(n));
    let origin = HostileHttp::start(&[good_ip, bad_ip], move |req| {
        if req.local.ip() == good_ip {
            vec![HttpAction::Write(NOT_FOUND.to_vec())]
        } else {
            script(req)
        }
    });
    let good = good_resolver(n, good_ip);
    let bad = DnsServer::start(bad_dns_ip(n), healthy_zone(bad_ip));
    let lab = lab(
        &good,
        &format!("udp://{}", bad.addr),
        bad_http,
        Some(origin.port),
    );
    HttpLab {
        _good: good,
        _bad: bad,
        origin,
        lab,
    }
}

fn write(b: &[u8]) -> Vec<HttpAction> {
    vec![HttpAction::Write(b.to_vec())]
}

fn redirect(to: &str) -> Vec<HttpAction> {
    write(&h::http_response(302, &[("Location", to.as_bytes())], b""))
}

/// Runs the default (random-token) http-01 check; asserts only `bad` failed, in `phase`.
fn http_bad(hl: &HttpLab, phase: &str, words: &[&str]) -> Value {
    let (code, doc) = hl.lab.json(&["www.example.test"]);
    bad_failed(&doc, "http-01", phase, words);
    blamed_on_domain(&doc, "http-01");
    healthy_ok(&doc, "http-01");
    assert!(code == 1 || code == 2, "{doc:#}");
    doc
}

#[test]
fn http_a_redirect_loop_is_refused_as_a_loop() {
    let hl = http_lab(30, "direct", |req| match req.path.as_str() {
        "/loop-a" => redirect("/loop-b"),
        "/loop-b" => redirect("http://www.example.test/loop-a"),
        _ => redirect("/loop-a"),
    });
    let doc = http_bad(&hl, "http", &["Redirect loop"]);
    assert_eq!(
        obs(&doc, "bad", "http-01")["signature"],
        "redirect-disallowed"
    );
    assert!(codes(&doc).contains(&"redirect-disallowed".to_string()));
}

#[test]
fn http_twelve_redirects_are_too_many() {
    // Boulder follows 11 (`va/http.go`: `numRedirects > maxRedirect` is tested before the
    // increment); the 12th is refused.
    let hl = http_lab(31, "direct", |req| {
        match req
            .path
            .strip_prefix("/r")
            .and_then(|k| k.parse::<u32>().ok())
        {
            Some(12) => write(NOT_FOUND),
            Some(k) => redirect(&format!("/r{}", k + 1)),
            None => redirect("/r1"),
        }
    });
    let doc = http_bad(&hl, "http", &["Too many redirects"]);
    let hops = obs(&doc, "bad", "http-01")["http"]["hops"]
        .as_array()
        .unwrap()
        .len();
    assert!(hops <= 12, "followed {hops} hops");
    assert_eq!(
        obs(&doc, "bad", "http-01")["signature"],
        "redirect-disallowed"
    );
}

#[test]
fn http_redirects_to_other_ports_schemes_and_dead_names_are_refused() {
    let cases: Vec<(u8, &str, &str, &[&str])> = vec![
        (
            32,
            "http://www.example.test:8080/.well-known/acme-challenge/x",
            "http",
            &["ports 80 and 443", "8080"],
        ),
        (
            33,
            "ftp://www.example.test/x",
            "http",
            &["only http and https"],
        ),
        (
            34,
            "http://nx.example.test/.well-known/acme-challenge/x",
            "dns",
            &["nx.example.test", "does not resolve"],
        ),
    ];
    in_parallel(
        cases
            .into_iter()
            .map(|(n, to, phase, words)| -> Box<dyn FnOnce() + Send> {
                Box::new(move || {
                    let to = to.to_string();
                    let hl = http_lab(n, "direct", move |_| redirect(&to));
                    http_bad(&hl, phase, words);
                })
            })
            .collect(),
    );
}

/// `--token t --expect-body t.x`: the real challenge path and a known key authorization.
const KNOWN: [&str; 4] = ["--token", "t", "--expect-body", "t.x"];

fn known_token_run(hl: &HttpLab) -> (i32, Value) {
    let mut args = KNOWN.to_vec();
    args.push("www.example.test");
    hl.lab.json(&args)
}

#[test]
fn http_a_10_mib_body_is_read_only_up_to_the_bound() {
    let hl = http_lab(35, "direct", |_| {
        // No Content-Length: the body ends when the connection does.
        let mut b = h::http_head(200, &[("Content-Type", b"text/plain")]);
        b.extend(std::iter::repeat_n(b'x', 10 << 20));
        write(&b)
    });
    let (code, doc) = known_token_run(&hl);
    let o = bad_failed(&doc, "http-01", "http", &["1024"]);
    assert_eq!(o["signature"], "body-too-large");
    assert_eq!(o["http"]["body_truncated"], true);
    assert!(o["http"]["body_len"].as_u64().unwrap() <= 1024, "{o:#}");
    assert_eq!(
        code, 2,
        "home is healthy but serves 404 for the known token: {doc:#}"
    );
}

#[test]
fn http_a_body_that_drips_one_byte_a_second_ends_at_the_timeout() {
    let mut hl = http_lab(36, "direct", |_| {
        vec![
            HttpAction::Write(h::http_head(200, &[("Content-Length", b"64")])),
            HttpAction::Drip(vec![b'x'; 64], Duration::from_secs(1)),
        ]
    });
    hl.lab.timeout = TIMING_OUT;
    let doc = http_bad(&hl, "timeout", &[]);
    let ms = obs(&doc, "bad", "http-01")["elapsed_ms"].as_u64().unwrap();
    assert!(ms < 10_000, "a 1s timeout let a drip run {ms} ms");
}

#[test]
fn http_accept_then_silence_is_a_timeout_after_connect() {
    let mut hl = http_lab(37, "direct", |_| vec![HttpAction::Hold]);
    hl.lab.timeout = TIMING_OUT;
    http_bad(&hl, "timeout", &["Timeout after connect"]);
}

#[test]
fn http_garbage_instead_of_http_is_a_protocol_failure() {
    let hl = http_lab(38, "direct", |_| {
        write(b"\x00\xff\xfeSSH-2.0-OpenSSH_9.6\r\n\x1b[31mnot http at all\r\n\r\n")
    });
    http_bad(&hl, "protocol", &[]);
}

#[test]
fn http_an_h2_server_on_port_80_is_a_protocol_failure() {
    // An HTTP/2 prior-knowledge server: connection preface, then a SETTINGS frame.
    let hl = http_lab(39, "direct", |_| {
        let mut b = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        b.extend_from_slice(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]);
        write(&b)
    });
    http_bad(&hl, "protocol", &[]);
    // Just a SETTINGS frame, as an h2c server answers an HTTP/1.1 request it does not speak.
    let hl = http_lab(40, "direct", |_| {
        write(&[0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    });
    http_bad(&hl, "protocol", &[]);
}

#[test]
fn http_a_megabyte_of_response_headers_is_refused() {
    let hl = http_lab(41, "direct", |_| {
        let pad = vec![b'h'; 1000];
        let headers: Vec<(String, &[u8])> = (0..1050)
            .map(|i| (format!("X-Pad-{i}"), &pad[..]))
            .collect();
        let refs: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        write(&h::http_response(200, &refs, b"ok"))
    });
    let (code, doc) = hl.lab.json(&["www.example.test"]);
    let o = obs(&doc, "bad", "http-01");
    assert_eq!(o["ok"], false, "{o:#}");
    // An HTTP-level refusal (`http`) or a protocol violation (`protocol`); never a timeout.
    assert!(
        matches!(o["phase"].as_str(), Some("http" | "protocol")),
        "{o:#}"
    );
    assert!(summary(o).len() < 1024, "{o:#}");
    blamed_on_domain(&doc, "http-01");
    healthy_ok(&doc, "http-01");
    assert!(code == 1 || code == 2);
}

/// 10 MiB of zeros, gzip-compressed by the system's `gzip`.
fn gzip_bomb() -> Vec<u8> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("gzip")
        .args(["-c", "-9"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the gzip command is needed for the gzip-bomb case");
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&vec![0u8; 10 << 20]).unwrap());
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(out.status.success() && out.stdout.len() < 100_000);
    out.stdout
}

#[test]
fn http_a_gzip_bomb_is_never_decompressed() {
    let bomb = gzip_bomb();
    let hl = http_lab(42, "direct", move |_| {
        write(&h::http_response(
            200,
            &[
                ("Content-Encoding", b"gzip"),
                ("Content-Type", b"text/plain"),
            ],
            &bomb,
        ))
    });
    let (_, doc) = known_token_run(&hl);
    let o = bad_failed(&doc, "http-01", "http", &[]);
    assert_eq!(o["signature"], "body-too-large", "{o:#}");
    let facts = &o["http"];
    assert!(facts["body_len"].as_u64().unwrap() <= 1024, "{facts:#}");
    // The raw gzip magic, not inflated zeros.
    assert!(
        facts["body_prefix"]
            .as_str()
            .unwrap()
            .starts_with("\\x1f\\x8b"),
        "{facts:#}"
    );
}

#[test]
fn http_an_invalid_utf8_body_is_escaped_and_compared() {
    let hl = http_lab(43, "direct", |_| {
        write(&h::http_response(200, &[], b"\xff\xfe\xc3\x28\x1b[2Jt.x"))
    });
    let (_, doc) = known_token_run(&hl);
    let o = obs(&doc, "bad", "http-01");
    assert_eq!(o["ok"], false, "{o:#}");
    assert!(
        o["signature"].as_str().unwrap().starts_with("mismatch:"),
        "{o:#}"
    );
    assert!(summary(o).contains("did not match"), "{o:#}");
    let prefix = o["http"]["body_prefix"].as_str().unwrap();
    assert!(prefix.starts_with("\\xff\\xfe\\xc3(\\x1b[2J"), "{prefix}");
    blamed_on_domain(&doc, "http-01");
}

#[test]
fn http_a_mismatching_body_is_quoted_with_the_bytes_sent() {
    let hl = http_lab(49, "direct", |_| {
        write(&h::http_response(200, &[], b"\xff\xfe\xc3\x28t.x"))
    });
    let (_, doc) = known_token_run(&hl);
    let o = obs(&doc, "bad", "http-01");
    let s = summary(o);
    assert!(s.contains("did not match"), "{o:#}");
    // The wire bytes, escaped once, as body_prefix shows them.
    assert!(s.contains("\\xff\\xfe\\xc3(t.x"), "{s}");
}

#[test]
fn http_a_128_byte_body_is_too_large_for_a_ca() {
    let hl = http_lab(44, "direct", |_| {
        let mut body = b"t.x".to_vec();
        body.resize(128, b'\n');
        write(&h::http_response(200, &[], &body))
    });
    let (_, doc) = known_token_run(&hl);
    let o = bad_failed(&doc, "http-01", "http", &["128"]);
    assert_eq!(o["signature"], "body-too-large", "{o:#}");
    assert_eq!(o["http"]["body_len"], 128);
    assert_eq!(o["http"]["body_truncated"], false);
}

#[test]
fn http_control_characters_in_location_never_reach_the_terminal() {
    // (n, Location bytes, whether an HTTP parser accepts them as a header value)
    let cases: Vec<(u8, &'static [u8], bool)> = vec![
        // Raw ESC sequences, a BEL and DEL: invalid in a header value, the response is refused.
        (45, b"/\x1b[2J\x1b]0;owned\x07\x7f\x1b[31mred", false),
        // C1 controls as UTF-8 (U+009B CSI, U+0085 NEL) and as raw bytes: valid obs-text.
        (46, b"/\xc2\x9b2J\x9b31mred\xc2\x85next\xff", true),
        // An absolute URL whose host carries C1 bytes.
        (47, b"http://www.example.test\xc2\x9b0m/x", true),
    ];
    in_parallel(
        cases
            .into_iter()
            .map(|(n, loc, accepted)| -> Box<dyn FnOnce() + Send> {
                Box::new(move || {
                    let hl = http_lab(n, "direct", move |req| {
                        if req.path.starts_with("/.well-known/") {
                            write(&h::http_response(302, &[("Location", loc)], b""))
                        } else {
                            write(NOT_FOUND)
                        }
                    });
                    // The JSON invariants (no control character in any string) hold…
                    let (_, doc) = hl.lab.json(&["www.example.test"]);
                    let o = obs(&doc, "bad", "http-01");
                    if accepted {
                        let l = o["http"]["hops"][0]["location"].as_str().unwrap();
                        assert!(l.contains("\\xc2\\x9b"), "location not escaped: {l:?}");
                    } else {
                        assert_eq!(o["ok"], false, "{o:#}");
                        assert_eq!(o["phase"], "protocol", "{o:#}");
                    }
                    // …and the table, verbose, has no raw ESC, C1 or BEL byte.
                    let (_, table) = hl.lab.table(&["www.example.test"]);
                    assert!(!table.contains('\x1b'), "raw ESC in the table:\n{table}");
                    assert!(
                        !table.chars().any(|c| c.is_control() && c != '\n'),
                        "control character in the table:\n{table:?}"
                    );
                })
            })
            .collect(),
    );
}

#[test]
fn dns_control_characters_in_names_and_records_never_reach_the_terminal() {
    let n = 48;
    let bad = HostileDns::start(bad_dns_ip(n), |q| {
        let mut m = h::reply(q);
        match q.qtype {
            RecordType::A => {
                m.answers
                    .push(h::cname_raw(&q.qname, &[b"\x1b[31mred\x07", b"test"]));
                let mut a = h::a("x.test", "127.0.20.1");
                a.name = match &m.answers[0].data {
                    hickory_resolver::proto::rr::RData::CNAME(c) => c.0.clone(),
                    _ => unreachable!(),
                };
                m.answers.push(a);
            }
            RecordType::TXT => m.answers.push(h::txt(
                &q.qname,
                &[TOKEN.as_bytes(), b"\x1b]0;title\x07\xc2\x9b"],
            )),
            RecordType::CAA if q.qname == "example.test" => {
                m.answers
                    .push(h::caa(&q.qname, 0, b"issue", b"letsencrypt.org\x1b[2J"));
            }
            _ => {}
        }
        vec![h::send(&m)]
    });
    let (_good, lab) = dns_lab(n, &bad, "udp");
    let (_, doc) = lab.dns01();
    let a = obs(&doc, "bad", "address");
    assert_eq!(a["addresses"][0], "127.0.20.1", "{a:#}");
    let (_, table) = lab.table(&[
        "--method",
        "dns-01",
        "--expect-txt",
        TOKEN,
        "www.example.test",
    ]);
    assert!(!table.contains('\x1b'), "raw ESC in the table:\n{table}");
    assert!(
        !table.chars().any(|c| c.is_control() && c != '\n'),
        "control character in the table:\n{table:?}"
    );
}

// ------------------------------------------------------------------------------------------------
// Through a SOCKS5 proxy
// ------------------------------------------------------------------------------------------------

#[test]
fn http_hostile_origins_behind_a_healthy_proxy_are_the_domains_problem() {
    // `bad` leaves through the harness's SOCKS5 proxy (DNS over TCP through it, HTTP too): the
    // origin's misbehaviour must not be mistaken for a proxy failure.
    type Script = fn(&HttpRequest) -> Vec<HttpAction>;
    let cases: Vec<(u8, Script, &str)> = vec![
        (50, |_| vec![HttpAction::Hold], "timeout"),
        (
            51,
            |_| write(b"\x00\x01garbage, not HTTP\r\n\r\n"),
            "protocol",
        ),
        (
            52,
            |_| {
                write(&h::http_response(
                    302,
                    &[("Location", b"ftp://x.test/")],
                    b"",
                ))
            },
            "http",
        ),
    ];
    in_parallel(
        cases
            .into_iter()
            .map(|(n, script, phase)| -> Box<dyn FnOnce() + Send> {
                Box::new(move || {
                    let proxy = Socks5Proxy::start(proxy_ip(n), lo(0, 43, n));
                    let mut hl = http_lab(n, &proxy.url(false), script);
                    if phase == "timeout" {
                        hl.lab.timeout = TIMING_OUT;
                    }
                    let doc = http_bad(&hl, phase, &[]);
                    assert!(
                        obs(&doc, "bad", "address")["dns"][0]["server"]
                            .as_str()
                            .unwrap()
                            .contains("via"),
                        "DNS did not go through the proxy"
                    );
                    assert!(
                        hl.origin
                            .requests()
                            .iter()
                            .any(|r| r.peer.ip() == lo(0, 43, n)),
                        "the fetch did not leave from the proxy"
                    );
                })
            })
            .collect(),
    );
}

// ------------------------------------------------------------------------------------------------
// Hostile and dead proxies: always the tool's problem, never the domain's
// ------------------------------------------------------------------------------------------------

/// An HTTP lab whose `bad` perspective uses `proxy_url`.
fn proxy_lab(n: u8, proxy_url: &str) -> HttpLab {
    http_lab(n, proxy_url, |_| write(NOT_FOUND))
}

/// A proxy that relays `bad`'s DNS (to its resolver) but answers the CONNECT to the origin
/// with `reply`, and the lab using it.
fn proxy_for_http_only(n: u8, reply: ConnectReply) -> (HostileSocks, HttpLab) {
    let origin = std::sync::Arc::new(std::sync::OnceLock::<std::net::SocketAddr>::new());
    let target = origin.clone();
    let proxy = HostileSocks::start(proxy_ip(n), Greeting::NoAuth, move |dst| {
        if Some(&dst) == target.get() {
            reply.clone()
        } else {
            ConnectReply::Forward
        }
    });
    let hl = proxy_lab(n, &proxy.url(None));
    let origin_addr = std::net::SocketAddr::new(bad_origin_ip(n), hl.origin.port);
    origin.set(origin_addr).unwrap();
    (proxy, hl)
}

/// Findings that blame the domain for an unreachable or refusing origin or resolver.
const DOMAIN_BLAME: [&str; 4] = [
    "http-geoblocked",
    "http-unreachable",
    "caa-lookup-failed",
    "dns-refused-by-region",
];

fn no_domain_blame(doc: &Value, what: &str) {
    for c in DOMAIN_BLAME {
        assert!(
            !codes(doc).contains(&c.to_string()),
            "{what}: the proxy's failure became {c}: {}",
            doc["findings"]
        );
    }
}

#[test]
fn proxy_that_is_down_is_a_perspective_error_and_the_rest_is_judged() {
    let n = 60;
    let dead = std::net::TcpListener::bind((proxy_ip(n), 0)).unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let hl = proxy_lab(n, &format!("socks5://user:secret-pw@{dead_addr}"));
    let (code, doc) = hl.lab.json(&["www.example.test"]);
    blamed_on_tool(&doc, "http-01");
    no_domain_blame(&doc, "proxy down");
    healthy_ok(&doc, "http-01");
    healthy_ok(&doc, "caa");
    // The two healthy remotes fetch directly from this host: they agree, but that is not
    // corroboration from other regions (docs/how-it-decides.md), so the check is untested.
    let v = verdict(&doc, "http-01");
    assert_eq!(v["remotes"], 0, "{v:#}");
    assert_eq!(v["reach"], "untested", "{v:#}");
    assert_eq!(
        v["from_this_host"].as_array().map(Vec::len),
        Some(2),
        "{v:#}"
    );
    assert!(
        !doc.to_string().contains("secret-pw"),
        "proxy password printed"
    );
    assert!(code <= 1, "{doc:#}");
}

#[test]
fn proxy_handshake_failures_are_perspective_errors() {
    /// (n, greeting, reply to CONNECT, credentials in the config, what the proxy does)
    type Case = (
        u8,
        Greeting,
        ConnectReply,
        Option<(&'static str, &'static str)>,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            61,
            Greeting::Silent,
            ConnectReply::Forward,
            None,
            "accepts, then silence",
        ),
        (
            62,
            Greeting::Close,
            ConnectReply::Forward,
            None,
            "hangs up on the greeting",
        ),
        (
            63,
            Greeting::NoAcceptableMethod,
            ConnectReply::Forward,
            None,
            "requires auth we do not have",
        ),
        (
            64,
            Greeting::Garbage(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
            ConnectReply::Forward,
            None,
            "is not SOCKS5",
        ),
        (
            65,
            Greeting::Password("user".into(), "right".into()),
            ConnectReply::Forward,
            Some(("user", "pw-wrong-5ecret")),
            "rejects our credentials",
        ),
        (
            66,
            Greeting::NoAuth,
            ConnectReply::Close,
            None,
            "hangs up after CONNECT",
        ),
    ];
    in_parallel(
        cases
            .into_iter()
            .map(
                |(n, greeting, reply, auth, what)| -> Box<dyn FnOnce() + Send> {
                    Box::new(move || {
                        let silent = greeting == Greeting::Silent;
                        let proxy =
                            HostileSocks::start(proxy_ip(n), greeting, move |_| reply.clone());
                        let mut hl = proxy_lab(n, &proxy.url(auth));
                        if silent {
                            hl.lab.timeout = TIMING_OUT;
                        }
                        let (_, doc) = hl.lab.json(&["www.example.test"]);
                        for check in ["address", "caa", "http-01"] {
                            let o = obs(&doc, "bad", check);
                            assert_eq!(
                                o["perspective_fault"], true,
                                "proxy {what}: {check} blamed on the domain: {o:#}"
                            );
                        }
                        blamed_on_tool(&doc, "http-01");
                        no_domain_blame(&doc, what);
                        healthy_ok(&doc, "http-01");
                        assert!(
                            !doc.to_string().contains("pw-wrong-5ecret"),
                            "credentials printed"
                        );
                    })
                },
            )
            .collect(),
    );
}

#[test]
fn proxy_that_hangs_up_on_the_fetch_is_a_perspective_error() {
    // The proxy relays DNS but closes the connection after the CONNECT to the origin.
    let (_proxy, hl) = proxy_for_http_only(67, ConnectReply::Close);
    let (_, doc) = hl.lab.json(&["www.example.test"]);
    assert_eq!(obs(&doc, "bad", "address")["ok"], true, "{doc:#}");
    let o = obs(&doc, "bad", "http-01");
    assert_eq!(o["phase"], "proxy", "{o:#}");
    blamed_on_tool(&doc, "http-01");
    no_domain_blame(&doc, "proxy hangs up after CONNECT");
}

#[test]
fn proxy_silent_after_connect_is_the_tools_problem_for_dns() {
    // Every CONNECT (the DNS ones first) is read and never answered.
    let n = 68;
    let proxy = HostileSocks::start(proxy_ip(n), Greeting::NoAuth, |_| ConnectReply::Silent);
    let mut hl = proxy_lab(n, &proxy.url(None));
    hl.lab.timeout = TIMING_OUT;
    let (_, doc) = hl.lab.json(&["www.example.test"]);
    for check in ["address", "caa", "http-01"] {
        let o = obs(&doc, "bad", check);
        assert_eq!(o["perspective_fault"], true, "{check}: {}", brief(&doc));
    }
    blamed_on_tool(&doc, "http-01");
    no_domain_blame(&doc, "proxy silent after CONNECT");
}

#[test]
/// A SOCKS5 proxy that never answers the CONNECT for the origin looks exactly like a firewall
/// that drops the region's SYNs (the proxy is still waiting for the origin), while the same proxy
/// carries DNS fine. So the timeout stays a domain-side `timeout`, but the message says that the
/// proxy or the target did not answer, rather than blaming a slow server.
fn proxy_silent_after_connect_is_named_as_ambiguous_for_http() {
    let (_proxy, mut hl) = proxy_for_http_only(69, ConnectReply::Silent);
    hl.lab.timeout = TIMING_OUT;
    let (_, doc) = hl.lab.json(&["www.example.test"]);
    assert_eq!(obs(&doc, "bad", "address")["ok"], true, "{doc:#}");
    let o = obs(&doc, "bad", "http-01");
    assert_eq!(o["phase"], "timeout", "{}", brief(&doc));
    let summary = o["summary"].as_str().unwrap();
    assert!(
        summary.contains("through the proxy") && summary.contains("firewall"),
        "{summary}"
    );
}

/// RFC 1928 REP codes 2–8; `true` when the reply is about the target, not the proxy itself.
/// (REP 1, "general SOCKS server failure", has its own test.)
const SOCKS_REPLIES: [(u8, &str, bool); 7] = [
    (2, "connection not allowed by ruleset", false),
    (3, "network unreachable", true),
    (4, "host unreachable", true),
    (5, "connection refused", true),
    (6, "TTL expired", true),
    (7, "command not supported", false),
    (8, "address type not supported", false),
];

/// One SOCKS error reply to the fetch only: a reply about the target is the domain's (the
/// origin cannot be reached from that region: `connect`), any other is the proxy's.
fn socks_reply_to_fetch(rep: u8, what: &str, target_side: bool) {
    let (_proxy, hl) = proxy_for_http_only(70 + rep, ConnectReply::Error(rep));
    let (_, doc) = hl.lab.json(&["www.example.test"]);
    assert_eq!(
        obs(&doc, "bad", "address")["ok"],
        true,
        "REP {rep}: {doc:#}"
    );
    let o = obs(&doc, "bad", "http-01");
    assert_eq!(o["ok"], false, "REP {rep} ({what}): {o:#}");
    if target_side {
        assert_eq!(o["phase"], "connect", "REP {rep} ({what}): {o:#}");
        blamed_on_domain(&doc, "http-01");
    } else {
        assert_eq!(o["phase"], "proxy", "REP {rep} ({what}): {}", brief(&doc));
        blamed_on_tool(&doc, "http-01");
        no_domain_blame(&doc, what);
    }
}

#[test]
fn proxy_error_replies_to_the_fetch_are_classified() {
    in_parallel(
        SOCKS_REPLIES
            .iter()
            .map(|&(rep, what, target_side)| -> Box<dyn FnOnce() + Send> {
                Box::new(move || socks_reply_to_fetch(rep, what, target_side))
            })
            .collect(),
    );
}

#[test]
fn proxy_general_failure_reply_to_the_fetch_is_the_proxys() {
    socks_reply_to_fetch(1, "general SOCKS server failure", false);
}

#[test]
fn proxy_error_replies_to_dns_are_the_perspectives_problem() {
    // `bad`'s DNS goes to its own resolver through the proxy: whatever the proxy replies, the
    // perspective cannot reach its resolver, which is never the domain's fault.
    in_parallel(
        (1..=8u8)
            .map(|rep| -> Box<dyn FnOnce() + Send> {
                Box::new(move || {
                    let n = 80 + rep;
                    let proxy = HostileSocks::start(proxy_ip(n), Greeting::NoAuth, move |_| {
                        ConnectReply::Error(rep)
                    });
                    let hl = proxy_lab(n, &proxy.url(None));
                    let (_, doc) = hl.lab.json(&["www.example.test"]);
                    let o = obs(&doc, "bad", "address");
                    assert_eq!(o["ok"], false, "REP {rep}: {o:#}");
                    assert!(
                        matches!(o["phase"].as_str(), Some("dns" | "proxy")),
                        "{o:#}"
                    );
                    blamed_on_tool(&doc, "address");
                    blamed_on_tool(&doc, "http-01");
                    no_domain_blame(&doc, &format!("REP {rep} to DNS"));
                })
            })
            .collect(),
    );
}

// ------------------------------------------------------------------------------------------------
// Bad input
// ------------------------------------------------------------------------------------------------

/// Runs the binary with `args` and checks that it refused them: exit 3, nothing on stdout, a
/// short error (one line when `one_line`; clap's own errors add a usage hint). Unless `args`
/// name a config, a loopback-only one is used, so a name accepted by mistake cannot make the
/// binary contact anything outside 127.0.0.0/8.
fn usage_error(home: &Path, args: &[&std::ffi::OsStr], one_line: bool) -> String {
    let mut c = crate::support::base_command(home);
    c.env("MPIC_CHECK_HTTP_PORT", "9");
    if !args.iter().any(|a| *a == "--config" || *a == "--replay") {
        let safe = home.join("loopback-only.toml");
        std::fs::write(
            &safe,
            "[[perspective]]\nname = \"home\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
             dns = \"udp://127.0.44.1:9\"\nhttp = \"direct\"\n",
        )
        .unwrap();
        c.arg("--config").arg(safe);
    }
    c.args(args);
    let out = assert_cmd::Command::from_std(c)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let code = exit_code(&out);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(code, 3, "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}: stdout not empty");
    if one_line {
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {err}"
        );
    }
    assert!(
        err.len() < 4096,
        "{args:?}: a {} byte error (input echoed?)",
        err.len()
    );
    err
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

#[test]
fn bad_config_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("not-toml.toml"), "this is { not toml ]]\n").unwrap();
    // 10 MB of binary garbage (deterministic, not UTF-8).
    let mut x: u32 = 0x1234_5678;
    let garbage: Vec<u8> = (0..10_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(p("binary.toml"), &garbage).unwrap();
    // 10 MB of printable garbage on one line.
    let printable: Vec<u8> = garbage.iter().map(|b| b'!' + b % 90).collect();
    std::fs::write(p("printable.toml"), &printable).unwrap();
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        ("not TOML", p("not-toml.toml"), "not-toml.toml:1"),
        ("10 MB of binary garbage", p("binary.toml"), "binary.toml"),
        (
            "10 MB of printable garbage",
            p("printable.toml"),
            "printable.toml",
        ),
        (
            "a directory",
            dir.path().to_path_buf(),
            "cannot read config",
        ),
        ("a missing file", p("missing.toml"), "missing.toml"),
    ];
    let home = dir.path();
    in_parallel(
        cases
            .into_iter()
            .map(|(what, path, want)| -> Box<dyn FnOnce() + Send + '_> {
                Box::new(move || {
                    let err = usage_error(
                        home,
                        &[os("--config"), path.as_os_str(), os("www.example.test")],
                        true,
                    );
                    assert!(err.contains(want), "{what}: {err}");
                })
            })
            .collect(),
    );
}

#[test]
fn a_config_with_a_10_mb_value_is_a_short_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long-value.toml");
    let config = |len: usize| {
        format!(
            "[[perspective]]\nname = \"{}\"\nrole = \"primary\"\nrir = \"ARIN\"\n",
            "a".repeat(len)
        )
    };
    let run = || {
        usage_error(
            dir.path(),
            &[os("--config"), path.as_os_str(), os("www.example.test")],
            true,
        )
    };
    // 10 MB: refused by size before parsing.
    std::fs::write(&path, config(10_000_000)).unwrap();
    let err = run();
    assert!(
        err.contains("long-value.toml") && err.contains("larger than 1 MiB"),
        "{err}"
    );
    // Just under the limit: parsed, and the error names file, line and key without quoting
    // the whole value.
    std::fs::write(&path, config(1_000_000)).unwrap();
    let err = run();
    assert!(
        err.contains("long-value.toml:2: perspective[0].name"),
        "{err}"
    );
    assert!(err.len() < 400, "{} bytes", err.len());
}

#[test]
fn an_unreadable_config_is_a_one_line_error() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.toml");
    std::fs::write(&path, "[defaults]\ntimeout = \"1s\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&path).is_ok() {
        // Running as root: permissions do not stop reads; the directory case above covers it.
        return;
    }
    let err = usage_error(
        dir.path(),
        &[os("--config"), path.as_os_str(), os("www.example.test")],
        true,
    );
    assert!(
        err.contains("secret.toml") && err.contains("ermission denied"),
        "{err}"
    );
}

#[test]
fn bad_flags_and_names_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let long_label = "a".repeat(300);
    let long_name = format!("{}.test", vec!["b".repeat(59); 5].join("."));
    assert!(long_name.len() >= 300);
    let long_unicode = format!("{}.test", "ü".repeat(150));
    // (what, arguments, expected text, one line: clap's own errors add a usage hint)
    let cases: Vec<(&str, Vec<String>, &str, bool)> = vec![
        (
            "--timeout 0s",
            vec!["--timeout".into(), "0s".into(), "www.example.test".into()],
            "--timeout",
            false,
        ),
        (
            "a 300-character label",
            vec![long_label],
            "invalid name",
            true,
        ),
        (
            "a 300-character name",
            vec![long_name],
            "invalid name",
            true,
        ),
        (
            "a 300-character Unicode name",
            vec![long_unicode],
            "invalid name",
            true,
        ),
        // Endless inputs end at their documented size limits, with one line.
        (
            "--config /dev/zero",
            vec![
                "--config".into(),
                "/dev/zero".into(),
                "www.example.test".into(),
            ],
            "larger than 1 MiB",
            true,
        ),
        (
            "--from-file /dev/zero",
            vec!["--from-file".into(), "/dev/zero".into()],
            "larger than 64 MiB",
            true,
        ),
        (
            "--replay /dev/zero",
            vec!["--replay".into(), "/dev/zero".into()],
            "larger than 256 MiB",
            true,
        ),
    ];
    let home = dir.path();
    in_parallel(
        cases
            .into_iter()
            .map(
                |(what, args, want, one_line)| -> Box<dyn FnOnce() + Send + '_> {
                    Box::new(move || {
                        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| os(a)).collect();
                        let err = usage_error(home, &args, one_line);
                        assert!(err.contains(want), "{what}: {err}");
                    })
                },
            )
            .collect(),
    );
}

#[test]
fn a_replay_file_with_unknown_fields_is_refused() {
    let n = 90;
    let good = good_resolver(n, lo(0, 20, 1));
    let bad = HostileDns::start(bad_dns_ip(n), healthy);
    let lab = lab(&good, &bad.url("udp"), "direct", None);
    let saved = lab.dir.path().join("run.json");
    let (code, live) = lab.json(&[
        "--method",
        "dns-01",
        "--expect-txt",
        TOKEN,
        "--save",
        saved.to_str().unwrap(),
        "www.example.test",
    ]);
    // The untouched file replays to the same report.
    let replay = |path: &Path| {
        let mut c = crate::support::base_command(lab.dir.path());
        c.args(["--format", "json", "--as-of", "2026-11-28", "--replay"])
            .arg(path);
        assert_cmd::Command::from_std(c)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let out = replay(&saved);
    let (again_code, again) = checked_json(&out);
    assert_eq!((again_code, &again), (code, &live));

    let original: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    type Edit = fn(&mut Value);
    let edits: Vec<(&str, Edit)> = vec![
        ("top level", |v| v["surprise"] = Value::Bool(true)),
        ("run", |v| v["run"]["surprise"] = Value::Bool(true)),
        ("an observation", |v| {
            v["run"]["identifiers"][0]["observations"][0]["surprise"] = Value::Bool(true);
        }),
    ];
    for (what, edit) in edits {
        let mut v = original.clone();
        edit(&mut v);
        let path = lab.dir.path().join("edited.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        let err = usage_error(lab.dir.path(), &[os("--replay"), path.as_os_str()], true);
        assert!(
            err.contains("unknown field") && err.contains("surprise"),
            "{what}: {err}"
        );
    }
}
