//! The DNS engine end to end: authoritative perspectives that discover the zone's nameservers
//! through the primary's resolver and ask each one directly with an ECS subnet, every nameserver
//! address diffed as a source (missing TXT, refusal, silence, old serial), CNAME loops and long
//! chains bounded, truncation answered over TCP, and the dns-01 / CAA observations in the JSON.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

use crate::e2e::{codes, finding};
use crate::support::dns::{Behaviour, DnsServer, Zone};
use crate::support::lo;

pub const TOKEN: &str = "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ";
pub const OLD_TOKEN: &str = "old-value-from-an-earlier-attempt-xxxxxxxxxx";

/// A resolver that knows the delegation of example.test, and two authoritative servers.
pub struct AuthLab {
    pub resolver: DnsServer,
    pub ns: Vec<DnsServer>,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

/// The records every zone of this lab shares: example.test's nameservers with their glue, and
/// the web server's address.
fn delegated(zone: Zone) -> Zone {
    zone.ns("example.test", "ns1.example.test")
        .ns("example.test", "ns2.example.test")
        .a("ns1.example.test", "127.0.1.1")
        .a("ns2.example.test", "127.0.1.2")
        .a("www.example.test", "127.0.20.1")
}

/// example.test as a nameserver serves it before the CAA and TXT records are published.
pub fn bare_example_zone() -> Zone {
    delegated(Zone::new("example.test"))
}

/// The zone as the authoritative servers serve it; `ns2` can be altered by the caller.
pub fn example_zone() -> Zone {
    bare_example_zone()
        .caa("example.test", 0, "issue", "letsencrypt.org")
        .txt("_acme-challenge.www.example.test", TOKEN)
}

/// The resolver's own data: the delegation (NS + glue) and the same records, so the primary
/// agrees with ns1.
pub fn resolver_zone() -> Zone {
    delegated(Zone::new("test"))
        .caa("example.test", 0, "issue", "letsencrypt.org")
        .txt("_acme-challenge.www.example.test", TOKEN)
}

/// Starts the lab. `ns_zone` builds each authoritative server's zone from its address.
pub fn auth_lab(
    resolver: Zone,
    ns_zone: impl Fn(IpAddr) -> Zone,
    remotes: &[(&str, &str, &str)],
) -> AuthLab {
    let resolver = DnsServer::start(lo(0, 0, 53), resolver);
    let ns = DnsServer::start_many(&[lo(0, 1, 1), lo(0, 1, 2)], ns_zone);
    let mut toml = format!(
        "[defaults]\ntimeout = \"1s\"\n\n[[perspective]]\nname = \"home\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
         dns = \"udp://{}\"\n",
        resolver.addr
    );
    for (name, rir, ecs) in remotes {
        toml.push_str(&format!(
            "\n[[perspective]]\nname = \"{name}\"\nrole = \"remote\"\nrir = \"{rir}\"\ndns = \"authoritative\"\necs = \"{ecs}\"\n"
        ));
    }
    let (dir, config) = crate::support::write_config("lab.toml", &toml);
    AuthLab {
        resolver,
        ns,
        dir,
        config,
    }
}

pub const REMOTES: &[(&str, &str, &str)] = &[
    ("us", "ARIN", "198.51.100.0/24"),
    ("eu", "RIPE", "203.0.113.0/24"),
    ("ap", "APNIC", "192.0.2.0/24"),
];

impl AuthLab {
    /// The binary against this lab, without a `--format`.
    pub fn cmd(&self) -> Command {
        let mut c = crate::support::base_cmd(self.dir.path());
        c.env("MPIC_CHECK_DNS_PORT", self.ns[0].port().to_string())
            // Nothing listens there: HTTP-01 is not under test in this module.
            .env("MPIC_CHECK_HTTP_PORT", "9")
            .arg("--config")
            .arg(&self.config)
            .args(["--as-of", "2026-11-28"])
            .timeout(Duration::from_secs(60));
        c
    }

    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        let out = self
            .cmd()
            .args(["--format", "json"])
            .args(args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let strict: Result<mpic_check::model::Report, _> = serde_json::from_slice(&out.stdout);
        assert!(
            strict.is_ok(),
            "schema: {strict:?}\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        crate::json_contract::every_failure_has_a_finding(&doc);
        (out.status.code().unwrap(), doc)
    }
}

/// Observations of `perspective` for `check` (CA-like ones only).
pub fn obs<'a>(doc: &'a Value, perspective: &str, check: &str) -> &'a Value {
    doc["identifiers"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["perspective"] == perspective && o["check"] == check && o["address"].is_null())
        .unwrap_or_else(|| panic!("no {check} observation for {perspective}: {doc:#}"))
}

#[test]
fn authoritative_perspectives_use_ecs_and_show_dns_caa_txt_facts() {
    let lab = auth_lab(
        resolver_zone(),
        |_| {
            // A view replaces the whole record set for queries from that subnet.
            let view = |addr: &str| {
                Zone::new("example.test")
                    .a("www.example.test", addr)
                    .caa("example.test", 0, "issue", "letsencrypt.org")
                    .txt("_acme-challenge.www.example.test", TOKEN)
            };
            example_zone()
                .view_for_ecs("203.0.113.0/24", view("127.0.20.2"))
                .view_for_ecs("192.0.2.0/24", view("127.0.20.9"))
        },
        REMOTES,
    );
    let (_, doc) = lab.json(&[
        "--method",
        "dns-01",
        "--expect-txt",
        TOKEN,
        "www.example.test",
    ]);
    // DNS-01 and CAA pass everywhere.
    for p in ["home", "us", "eu", "ap"] {
        assert_eq!(obs(&doc, p, "dns-01")["ok"], true, "{p}: {doc:#}");
        assert_eq!(obs(&doc, p, "caa")["ok"], true, "{p}");
    }
    let eu = obs(&doc, "eu", "dns-01");
    let ex = &eu["dns"][0];
    assert_eq!(ex["ecs"], "203.0.113.0/24");
    assert_eq!(ex["ecs_scope"], 24);
    assert_eq!(ex["aa"], true);
    assert!(
        ex["server"].as_str().unwrap().starts_with("udp://127.0.1."),
        "{ex}"
    );
    assert_eq!(eu["txt"][0], TOKEN);
    let caa = obs(&doc, "us", "caa");
    assert_eq!(caa["caa"]["found_at"], "example.test");
    assert_eq!(caa["caa"]["records"][0]["tag"], "issue");
    // Each nameserver address became a source, and they agree.
    let names: Vec<&str> = doc["perspectives"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["nameserver"].as_str())
        .collect();
    assert_eq!(names, ["ns1.example.test", "ns2.example.test"]);
    assert!(
        !codes(&doc).contains(&"ns-inconsistent".to_string()),
        "{doc:#}"
    );
    assert!(!codes(&doc).contains(&"txt-missing-on-ns".to_string()));
    assert_eq!(doc["identifiers"][0]["verdicts"][0]["check"], "dns-01");
    assert_eq!(doc["identifiers"][0]["verdicts"][0]["outcome"], "pass");

    // The address check shows the ECS views: the APNIC subnet's answer differs.
    let (_, doc) = lab.json(&["www.example.test"]);
    assert_eq!(obs(&doc, "ap", "address")["addresses"][0], "127.0.20.9");
    assert_eq!(obs(&doc, "eu", "address")["addresses"][0], "127.0.20.2");
    assert_eq!(obs(&doc, "us", "address")["addresses"][0], "127.0.20.1");
    assert!(codes(&doc).contains(&"geodns-divergence".to_string()));
}

#[test]
fn a_secondary_missing_the_txt_is_named_with_the_fix() {
    let lab = auth_lab(
        resolver_zone(),
        |ip| {
            if ip == lo(0, 1, 2) {
                // ns2 missed the last zone transfer: old serial, old TXT.
                Zone::new("example.test")
                    .serial(1)
                    .ns("example.test", "ns1.example.test")
                    .a("www.example.test", "127.0.20.1")
                    .caa("example.test", 0, "issue", "letsencrypt.org")
                    .txt("_acme-challenge.www.example.test", OLD_TOKEN)
            } else {
                example_zone().serial(2)
            }
        },
        REMOTES,
    );
    let (code, doc) = lab.json(&[
        "--method",
        "dns-01",
        "--expect-txt",
        TOKEN,
        "www.example.test",
    ]);
    let f = finding(&doc, "txt-missing-on-ns");
    assert_eq!(f["severity"], "error");
    let ev = f["evidence"].to_string();
    assert!(
        ev.contains("ns2.example.test (127.0.1.2)") && ev.contains(OLD_TOKEN),
        "{ev}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .starts_with("TXT missing on ns2.example.test (127.0.1.2): wait for the zone transfer")
    );
    let serial = doc["findings"].as_array().unwrap().iter().find(|f| {
        f["code"] == "ns-inconsistent" && f["evidence"].to_string().contains("SOA serial")
    });
    assert!(serial.is_some(), "{doc:#}");
    assert_eq!(
        code, 1,
        "a lagging secondary puts the renewal at risk: {doc:#}"
    );
}

#[test]
fn refusing_and_silent_nameservers_are_reported_not_fatal() {
    for (b, word) in [
        (Behaviour::Refused, "REFUSED"),
        (Behaviour::Silent, "timed out"),
    ] {
        let lab = auth_lab(
            resolver_zone(),
            move |ip| {
                if ip == lo(0, 1, 2) {
                    example_zone().behaviour(b)
                } else {
                    example_zone()
                }
            },
            REMOTES,
        );
        let (code, doc) = lab.json(&["--method", "dns-01", "www.example.test"]);
        let f = finding(&doc, "ns-unreachable");
        assert_eq!(f["severity"], "warning");
        assert!(f["evidence"].to_string().contains(word), "{word}: {f}");
        assert_eq!(f["perspectives"][0], "ns2.example.test@127.0.1.2");
        // The remotes still got their answers from ns1.
        assert_eq!(obs(&doc, "eu", "dns-01")["ok"], true);
        assert_eq!(code, 1, "{doc:#}");
    }
}

#[test]
fn a_lame_nameserver_is_skipped_and_named_not_believed() {
    // ns1 is listed in NS but does not serve the zone: it answers NOERROR without AA and nothing
    // in it. That is not "no TXT record": a CA's resolver asks ns2, and so must the remotes.
    let lab = auth_lab(
        resolver_zone(),
        |ip| {
            if ip == lo(0, 1, 1) {
                example_zone().behaviour(Behaviour::Lame)
            } else {
                example_zone()
            }
        },
        REMOTES,
    );
    let (code, doc) = lab.json(&[
        "--method",
        "dns-01",
        "--expect-txt",
        TOKEN,
        "www.example.test",
    ]);
    for p in ["us", "eu", "ap"] {
        let o = obs(&doc, p, "dns-01");
        assert_eq!(o["ok"], true, "{p}: {o}");
        assert_eq!(o["txt"][0], TOKEN, "{p}");
    }
    assert!(
        !codes(&doc).contains(&"txt-missing-on-ns".to_string()),
        "a lame server's empty reply is no missing record: {doc:#}"
    );
    // Its own code, naming the server (name and address) and the zone it is delegated.
    let f = finding(&doc, "ns-lame");
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        f["perspectives"],
        serde_json::json!(["ns1.example.test@127.0.1.1"])
    );
    assert!(
        f["evidence"].to_string().contains(
            "ns1.example.test (127.0.1.1) for example.test: answers NOERROR without the AA flag"
        ),
        "{f}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("lame delegation: ns1.example.test (127.0.1.1) for example.test is listed")
            && fix.contains("Load the zone on that server"),
        "{f}"
    );
    assert!(
        !codes(&doc).contains(&"ns-unreachable".to_string()),
        "a lame server answers: it is not unreachable: {doc:#}"
    );
    assert_eq!(code, 1, "{doc:#}");

    // Every nameserver lame: no authoritative answer anywhere, so the remotes fail, and say why.
    let lab = auth_lab(
        resolver_zone(),
        |_| example_zone().behaviour(Behaviour::Lame),
        REMOTES,
    );
    let (code, doc) = lab.json(&["--method", "dns-01", "www.example.test"]);
    let o = obs(&doc, "eu", "dns-01");
    assert_eq!(o["ok"], false, "{o}");
    assert_eq!(o["phase"], "dns", "{o}");
    assert!(
        o["summary"].as_str().unwrap().contains("lame delegation"),
        "{o}"
    );
    assert_eq!(finding(&doc, "ns-lame")["severity"], "error");
    assert_eq!(code, 2, "{doc:#}");
}

#[test]
fn cname_loops_and_long_chains_are_bounded_failures() {
    let looping = resolver_zone()
        .cname("loop.example.test", "loop2.example.test")
        .cname("loop2.example.test", "loop.example.test");
    let mut long = resolver_zone();
    for i in 0..20 {
        long = long.cname(
            &format!("c{i}.example.test"),
            &format!("c{}.example.test", i + 1),
        );
    }
    long = long.a("c20.example.test", "127.0.20.1");
    for (zone, name, word) in [
        (looping, "loop.example.test", "CNAME loop"),
        (long, "c0.example.test", "CNAME chain longer"),
    ] {
        let lab = auth_lab(zone, |_| example_zone(), &[]);
        let (code, doc) = lab.json(&[name]);
        let a = obs(&doc, "home", "address");
        assert_eq!(a["ok"], false);
        assert_eq!(a["phase"], "dns");
        assert!(a["summary"].as_str().unwrap().contains(word), "{a}");
        assert_eq!(code, 2, "{doc:#}");
    }
}

#[test]
fn truncated_udp_answers_are_retried_over_tcp() {
    let lab = auth_lab(
        resolver_zone().behaviour(Behaviour::TruncateUdp),
        |_| example_zone(),
        &[],
    );
    let (_, doc) = lab.json(&["--method", "dns-01", "www.example.test"]);
    let t = obs(&doc, "home", "dns-01");
    assert_eq!(t["ok"], true, "{t}");
    assert_eq!(t["txt"][0], TOKEN);
    assert!(
        t["dns"][0]["server"]
            .as_str()
            .unwrap()
            .ends_with("(tcp after truncation)"),
        "{t}"
    );
    assert!(
        lab.resolver
            .queries()
            .iter()
            .any(|q| q.transport == crate::support::dns::Transport::Tcp)
    );
}

#[test]
fn a_lost_udp_datagram_is_sent_again_within_the_timeout() {
    // Every first datagram of every query is lost, to the resolver and to both nameservers: a CA's
    // resolver retries, so the domain must still pass, and the JSON says what it took.
    let lab = auth_lab(
        resolver_zone().behaviour(Behaviour::LoseFirstUdp),
        |_| example_zone().behaviour(Behaviour::LoseFirstUdp),
        REMOTES,
    );
    let (code, doc) = lab.json(&[
        "--method",
        "dns-01",
        "--expect-txt",
        TOKEN,
        "www.example.test",
    ]);
    for p in ["home", "us", "eu", "ap"] {
        let o = obs(&doc, p, "dns-01");
        assert_eq!(o["ok"], true, "{p}: {o}");
        assert_eq!(o["txt"][0], TOKEN, "{p}");
        let ex = &o["dns"][0];
        assert_eq!(ex["retransmits"], 1, "{p}: {ex}");
        // The timeout is 1 s; the retransmission goes out after a third of it, not after all of it.
        let ms = ex["elapsed_ms"].as_u64().unwrap();
        assert!((300..1_000).contains(&ms), "{p}: {ms} ms");
    }
    assert_eq!(doc["identifiers"][0]["verdicts"][0]["outcome"], "pass");
    assert!(
        !codes(&doc).contains(&"ns-unreachable".to_string()),
        "{doc:#}"
    );
    assert_eq!(code, 0, "{doc:#}");
    // The resolver saw the TXT question twice, both over UDP (no fallback to TCP was needed).
    let asked = lab
        .resolver
        .queries_for("_acme-challenge.www.example.test.");
    assert!(
        asked
            .iter()
            .filter(|q| q.qtype == "TXT" && q.transport == crate::support::dns::Transport::Udp)
            .count()
            >= 2,
        "{asked:?}"
    );
}

#[test]
fn caa_that_forbids_the_ca_fails_with_the_fix() {
    let zone = Zone::new("test")
        .a("www.example.test", "127.0.20.1")
        .caa("example.test", 0, "issue", "pki.goog")
        .caa("example.test", 0, "iodef", "mailto:sec@example.test");
    let lab = auth_lab(zone, |_| example_zone(), &[]);
    let (code, doc) = lab.json(&["--method", "dns-01", "www.example.test"]);
    let f = finding(&doc, "caa-forbids");
    assert!(f["evidence"].to_string().contains("pki.goog"), "{f}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("issue \"letsencrypt.org\"")
    );
    assert_eq!(code, 2);
    // The same records with --ca pki.goog pass.
    let (_, doc) = lab.json(&["--method", "dns-01", "--ca", "pki.goog", "www.example.test"]);
    assert_eq!(obs(&doc, "home", "caa")["ok"], true);
    // Without --expect-txt dns-01 is read but not judged: `unknown`, with the finding that says
    // why and how to give the value (before, `unknown` came with no finding at all).
    assert_eq!(doc["identifiers"][0]["outcome"], "unknown", "{doc:#}");
    let f = finding(&doc, "txt-not-judged");
    assert_eq!(f["severity"], "info", "{f}");
    assert!(f["evidence"].to_string().contains("home"), "{f}");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("--expect-txt VALUE") && fix.contains("wait-txt"),
        "{f}"
    );
}

#[test]
fn caa_accounturi_for_another_account_fails_without_printing_ours() {
    const MINE: &str = "https://acme-v02.api.letsencrypt.org/acme/acct/31337000";
    let zone = Zone::new("test").a("www.example.test", "127.0.20.1").caa(
        "example.test",
        0,
        "issue",
        "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1",
    );
    let lab = auth_lab(zone, |_| example_zone(), &[]);
    let (code, doc) = lab.json(&[
        "--method",
        "dns-01",
        "--account-uri",
        MINE,
        "www.example.test",
    ]);
    let c = obs(&doc, "home", "caa");
    assert_eq!(c["ok"], false, "{c:#}");
    assert!(
        c["summary"].as_str().unwrap().contains(
            "only the ACME account https://acme-v02.api.letsencrypt.org/acme/acct/1 may use it"
        ),
        "{c:#}"
    );
    assert_eq!(code, 2);
    // The user's own account URI appears in no output format.
    assert!(!doc.to_string().contains("31337000"), "{doc:#}");
    for format in ["table", "nagios", "prometheus", "html", "jsonl"] {
        let out = lab
            .cmd()
            .args([
                "--format",
                format,
                "--method",
                "dns-01",
                "--account-uri",
                MINE,
            ])
            .arg("-v")
            .arg("www.example.test")
            .output()
            .unwrap();
        let all = [out.stdout, out.stderr].concat();
        assert!(
            !String::from_utf8_lossy(&all).contains("31337000"),
            "{format}: {}",
            String::from_utf8_lossy(&all)
        );
    }
}

#[test]
fn caa_servfail_nearer_than_the_records_fails_the_check() {
    let zone = resolver_zone().behaviour_for_type("CAA", Behaviour::ServFail);
    let lab = auth_lab(zone, |_| example_zone(), &[]);
    let (code, doc) = lab.json(&["--method", "dns-01", "www.example.test"]);
    let c = obs(&doc, "home", "caa");
    assert_eq!(c["ok"], false);
    assert!(c["summary"].as_str().unwrap().contains("SERVFAIL"), "{c}");
    assert_eq!(finding(&doc, "caa-lookup-failed")["severity"], "error");
    assert_eq!(code, 2);
}

#[test]
fn smime_checks_issuemail_and_skips_http() {
    let zone = resolver_zone().a("mail.example.test", "127.0.20.1").caa(
        "example.test",
        0,
        "issuemail",
        "sectigo.com",
    );
    let lab = auth_lab(
        zone,
        |_| {
            example_zone().a("mail.example.test", "127.0.20.1").caa(
                "example.test",
                0,
                "issuemail",
                "sectigo.com",
            )
        },
        REMOTES,
    );
    let (code, doc) = lab.json(&["--cert-type", "smime", "mail.example.test"]);
    let f = finding(&doc, "caa-forbids");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("issuemail \"letsencrypt.org\""),
        "{f}"
    );
    assert_eq!(code, 2);
    let checks: Vec<&str> = doc["identifiers"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["check"].as_str().unwrap())
        .collect();
    assert!(!checks.contains(&"http-01"), "{checks:?}");
    assert_eq!(
        doc["identifiers"][0]["methods"],
        serde_json::json!(["dns-01"])
    );
    let (code, doc) = lab.json(&[
        "--cert-type",
        "smime",
        "--ca",
        "sectigo.com",
        "mail.example.test",
    ]);
    assert_eq!(obs(&doc, "home", "caa")["ok"], true);
    assert_eq!(code, 0, "{doc:#}");
}

#[test]
fn a_name_missing_in_some_regions_views_is_named_with_the_fix() {
    // Split horizon: the RIPE subnet's view of the zone has no www (NXDOMAIN there), the others
    // resolve it. Before, this failed with no finding at all.
    let lab = auth_lab(
        resolver_zone(),
        |_| {
            example_zone().view_for_ecs(
                "203.0.113.0/24",
                Zone::new("example.test").caa("example.test", 0, "issue", "letsencrypt.org"),
            )
        },
        REMOTES,
    );
    let (_, doc) = lab.json(&["www.example.test"]);
    assert_eq!(
        obs(&doc, "eu", "address")["signature"],
        "nxdomain",
        "{doc:#}"
    );
    let f = finding(&doc, "name-missing-in-region");
    assert_eq!(f["perspectives"], serde_json::json!(["eu"]), "{f}");
    let ev = f["evidence"].to_string();
    assert!(ev.contains("eu: NXDOMAIN for www.example.test"), "{ev}");
    assert!(ev.contains("us → 127.0.20.1"), "{ev}");
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.contains("eu got NXDOMAIN while "), "{fix}");
    assert!(
        fix.contains("publish the record in every public view"),
        "{fix}"
    );
}

/// The acme-dns pattern: `_acme-challenge.www.example.test` is a CNAME to `abc.auth.test`, a zone
/// served by ns1/ns2.auth.test (127.0.2.1, 127.0.2.2); the second one lacks the TXT.
fn acme_dns_lab() -> AuthLab {
    let auth_ns = |z: Zone| {
        z.ns("auth.test", "ns1.auth.test")
            .ns("auth.test", "ns2.auth.test")
            .a("ns1.auth.test", "127.0.2.1")
            .a("ns2.auth.test", "127.0.2.2")
    };
    let alias = |z: Zone| z.cname("_acme-challenge.www.example.test", "abc.auth.test");
    let resolver = DnsServer::start(
        lo(0, 0, 53),
        auth_ns(alias(delegated(Zone::new("test"))))
            .caa("example.test", 0, "issue", "letsencrypt.org")
            .txt("abc.auth.test", TOKEN),
    );
    let ns = DnsServer::start_many(
        &[lo(0, 1, 1), lo(0, 1, 2), lo(0, 2, 1), lo(0, 2, 2)],
        move |ip| match ip {
            ip if ip == lo(0, 2, 1) => auth_ns(Zone::new("auth.test")).txt("abc.auth.test", TOKEN),
            ip if ip == lo(0, 2, 2) => auth_ns(Zone::new("auth.test")),
            _ => alias(bare_example_zone()).caa("example.test", 0, "issue", "letsencrypt.org"),
        },
    );
    let mut toml = format!(
        "[defaults]\ntimeout = \"1s\"\n\n[[perspective]]\nname = \"home\"\nrole = \"primary\"\nrir = \"ARIN\"\n\
         dns = \"udp://{}\"\n",
        resolver.addr
    );
    for (name, rir, ecs) in REMOTES {
        toml.push_str(&format!(
            "\n[[perspective]]\nname = \"{name}\"\nrole = \"remote\"\nrir = \"{rir}\"\ndns = \"authoritative\"\necs = \"{ecs}\"\n"
        ));
    }
    let (dir, config) = crate::support::write_config("lab.toml", &toml);
    AuthLab {
        resolver,
        ns,
        dir,
        config,
    }
}

#[test]
fn a_cname_delegated_challenge_is_checked_on_every_server_of_the_target_zone() {
    // Before: only example.test's servers were asked (they answer with the alias), so the TXT
    // missing on ns2.auth.test gave exit 1 or 2 with no finding.
    let lab = acme_dns_lab();
    let (code, doc) = lab.json(&[
        "--method",
        "dns-01",
        "--expect-txt",
        TOKEN,
        "www.example.test",
    ]);
    let names: Vec<&str> = doc["perspectives"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["nameserver"].as_str())
        .collect();
    assert!(
        names.contains(&"ns1.auth.test") && names.contains(&"ns2.auth.test"),
        "{names:?}"
    );
    let f = finding(&doc, "txt-missing-on-ns");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        f["perspectives"],
        serde_json::json!(["ns2.auth.test@127.0.2.2 (auth.test)"]),
        "{f}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .starts_with("TXT missing on ns2.auth.test (127.0.2.2):"),
        "{f}"
    );
    assert!(code == 1 || code == 2, "{doc:#}");
    // ns2.auth.test was asked for the target name itself.
    assert!(!lab.ns[3].queries_for("abc.auth.test").is_empty());

    // wait-txt follows the alias too: it waits for ns2.auth.test and names it.
    let out = crate::support::base_cmd(lab.dir.path())
        .env("MPIC_CHECK_DNS_PORT", lab.ns[0].port().to_string())
        .args([
            "wait-txt",
            "www.example.test",
            TOKEN,
            "--timeout",
            "3s",
            "-q",
        ])
        .arg("--config")
        .arg(&lab.config)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("ns2.auth.test@127.0.2.2 lacks"), "{stdout}");
    // And returns once it has it.
    lab.ns[3].set_zone(lab_auth_zone().txt("abc.auth.test", TOKEN));
    let out = crate::support::base_cmd(lab.dir.path())
        .env("MPIC_CHECK_DNS_PORT", lab.ns[0].port().to_string())
        .args(["wait-txt", "www.example.test", TOKEN, "--timeout", "10s"])
        .arg("--config")
        .arg(&lab.config)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("on all 2 nameserver"), "{stdout}");
}

fn lab_auth_zone() -> Zone {
    Zone::new("auth.test")
        .ns("auth.test", "ns1.auth.test")
        .ns("auth.test", "ns2.auth.test")
        .a("ns1.auth.test", "127.0.2.1")
        .a("ns2.auth.test", "127.0.2.2")
}

/// A zone under `test` holding `names` (A, CAA at example.test, and the challenge TXT), served by
/// a resolver as in [`auth_lab`]; no NS, so no nameserver sources: only the resolvers are asked.
fn many_names_zone(names: &[String]) -> Zone {
    let mut zone = Zone::new("test").caa("example.test", 0, "issue", "letsencrypt.org");
    for n in names {
        zone = zone
            .a(n, "127.0.20.1")
            .txt(&format!("_acme-challenge.{n}"), TOKEN);
    }
    zone
}

/// A config with a primary on `resolvers[0]` and one remote per other resolver, all recursive.
fn recursive_config(resolvers: &[&DnsServer], timeout: &str) -> (tempfile::TempDir, PathBuf) {
    let mut toml = format!("[defaults]\ntimeout = \"{timeout}\"\n");
    let rirs = ["ARIN", "RIPE", "APNIC", "LACNIC"];
    for (i, r) in resolvers.iter().enumerate() {
        let (name, role) = if i == 0 {
            ("home".to_string(), "primary")
        } else {
            (format!("r{i}"), "remote")
        };
        toml.push_str(&format!(
            "\n[[perspective]]\nname = \"{name}\"\nrole = \"{role}\"\nrir = \"{}\"\ndns = \"udp://{}\"\n",
            rirs[i % rirs.len()],
            r.addr
        ));
    }
    crate::support::write_config("lossy.toml", &toml)
}

/// The JSON report of a run; a document that does not parse panics with both output streams.
pub fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Checks the names listed in `list` for dns-01 (`--expect-txt TOKEN`) with `config`, so many at
/// once, as JSON; the process output and the report.
fn bulk_dns01(
    dir: &tempfile::TempDir,
    config: &std::path::Path,
    list: &std::path::Path,
    concurrency: usize,
    wait: Duration,
) -> (std::process::Output, Value) {
    let out = crate::support::base_cmd(dir.path())
        .arg("--config")
        .arg(config)
        .args(["--as-of", "2026-11-28", "--format", "json"])
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--method", "dns-01", "--expect-txt", TOKEN])
        .arg("--from-file")
        .arg(list)
        .timeout(wait)
        .output()
        .unwrap();
    let doc = json_of(&out);
    (out, doc)
}

#[test]
fn one_percent_udp_loss_gives_no_false_alarm_on_200_names() {
    // Every resolver drops 1% of the datagrams it receives (seeded). A lost datagram is sent
    // again within the step timeout, so all 200 healthy names must come out ready.
    let names: Vec<String> = (0..200).map(|i| format!("n{i}.example.test")).collect();
    let zone = many_names_zone(&names);
    let resolvers: Vec<DnsServer> = (0..4u8)
        .map(|i| {
            DnsServer::start(
                lo(0, 0, 60 + i),
                zone.clone().behaviour(Behaviour::LoseUdp {
                    per_mille: 10,
                    seed: 19 + u64::from(i),
                }),
            )
        })
        .collect();
    // A 5 s step (retransmissions after 1.7 and 3.3 s) and 4 names in flight: on a shared 2-core
    // machine a larger burst overflows the starved fakes' UDP receive buffers (real loss, far
    // above 1%), which is not what this test measures.
    let (dir, config) = recursive_config(&resolvers.iter().collect::<Vec<_>>(), "5s");
    let list = dir.path().join("names.txt");
    std::fs::write(&list, names.join("\n") + "\n").unwrap();
    let (out, doc) = bulk_dns01(&dir, &config, &list, 4, Duration::from_secs(240));
    let ids = doc["identifiers"].as_array().unwrap();
    assert_eq!(ids.len(), 200);
    let not_ready: Vec<String> = ids
        .iter()
        .filter(|i| i["outcome"] != "pass")
        .map(|i| format!("{} {}", i["name"], i["outcome"]))
        .collect();
    assert!(
        not_ready.is_empty(),
        "{} not ready: {not_ready:#?}\n{:#}",
        not_ready.len(),
        doc["findings"]
    );
    assert_eq!(out.status.code(), Some(0));
    // The loss was real, and answered by retransmission.
    let dropped: u64 = resolvers.iter().map(DnsServer::dropped).sum();
    assert!(dropped > 0, "no datagram was dropped");
    let resent: u64 = ids
        .iter()
        .flat_map(|i| i["observations"].as_array().unwrap())
        .flat_map(|o| o["dns"].as_array().unwrap())
        .filter_map(|d| d["retransmits"].as_u64())
        .sum();
    // Not one retransmission per drop: lookups that leave no exchange in the JSON (zone
    // discovery) lose datagrams too, and a drop of a late retry needs none. Some must show.
    assert!(resent > 0, "resent {resent}, dropped {dropped}");
}

#[test]
fn a_silent_resolver_costs_at_most_one_step_timeout() {
    // One remote's resolver never answers: its lookups run in parallel and each costs one
    // timeout (with its retransmissions inside it), so the whole run stays within one step
    // timeout plus a margin for the rest of the work.
    let names = vec!["n1.example.test".to_string()];
    let zone = many_names_zone(&names);
    let good = DnsServer::start_many(&[lo(0, 0, 70), lo(0, 0, 71), lo(0, 0, 72)], |_| {
        zone.clone()
    });
    let silent = DnsServer::start(lo(0, 0, 73), zone.behaviour(Behaviour::Silent));
    let (dir, config) = recursive_config(&[&good[0], &good[1], &good[2], &silent], "3s");
    let start = std::time::Instant::now();
    let out = crate::support::base_cmd(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["--as-of", "2026-11-28", "--format", "json"])
        .args([
            "--method",
            "dns-01",
            "--expect-txt",
            TOKEN,
            "n1.example.test",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let wall = start.elapsed();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = obs(&doc, "r3", "dns-01");
    assert_eq!(o["ok"], false, "{o}");
    assert!(o["summary"].as_str().unwrap().contains("timed out"), "{o}");
    assert_eq!(o["dns"][0]["retransmits"], 2, "{o}");
    assert!(
        wall < Duration::from_millis(3_000 + 2_000),
        "a silent resolver cost {wall:?} with a 3 s step timeout"
    );
}

#[test]
fn a_truncated_caa_on_servers_refusing_tcp_is_named_not_blamed_on_geography() {
    // example.test's servers answer CAA only with TC=1 over UDP and nothing listens on TCP/53.
    // The regions' recursive resolvers (eu, ap) then SERVFAIL on CAA; before, that was
    // `dns-refused-by-region` ("remove geographic ACLs"). Now each SERVFAIL is diagnosed by
    // asking the authoritative servers from that perspective, and the cause is named.
    let resolver = DnsServer::start(lo(0, 0, 53), resolver_zone());
    let failing = DnsServer::start_many(&[lo(0, 0, 54), lo(0, 0, 55)], |_| {
        resolver_zone().behaviour_for_type("CAA", Behaviour::ServFail)
    });
    let ns = DnsServer::start_many_udp_only(&[lo(0, 1, 1), lo(0, 1, 2)], |_| {
        example_zone().behaviour_for_type("CAA", Behaviour::TruncateUdp)
    });
    let mut toml = String::from("[defaults]\ntimeout = \"1s\"\n");
    for (name, role, rir, dns) in [
        (
            "home",
            "primary",
            "ARIN",
            format!("udp://{}", resolver.addr),
        ),
        ("eu", "remote", "RIPE", format!("udp://{}", failing[0].addr)),
        (
            "ap",
            "remote",
            "APNIC",
            format!("udp://{}", failing[1].addr),
        ),
        ("us", "remote", "ARIN", "authoritative".to_string()),
    ] {
        toml.push_str(&format!(
            "\n[[perspective]]\nname = \"{name}\"\nrole = \"{role}\"\nrir = \"{rir}\"\ndns = \"{dns}\"\n"
        ));
    }
    let (dir, config) = crate::support::write_config("lab.toml", &toml);
    let lab = AuthLab {
        resolver,
        ns,
        dir,
        config,
    };
    let (code, doc) = lab.json(&[
        "--method",
        "dns-01",
        "--expect-txt",
        TOKEN,
        "www.example.test",
    ]);
    let eu = obs(&doc, "eu", "caa");
    assert_eq!(eu["ok"], false, "{eu}");
    let summary = eu["summary"].as_str().unwrap();
    assert!(
        summary.contains("asked directly from here, the authoritative servers of example.test: ns1.example.test (127.0.1.1) reply truncated and TCP retry failed"),
        "{summary}"
    );
    let diag: Vec<&Value> = eu["dns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["diagnostic"] == true)
        .collect();
    assert!(!diag.is_empty(), "{eu}");
    assert!(
        diag[0]["server"]
            .as_str()
            .unwrap()
            .ends_with("(ns1.example.test)"),
        "{}",
        diag[0]
    );
    let f = finding(&doc, "dns-tcp-refused");
    assert_eq!(f["severity"], "error");
    let who = f["perspectives"].to_string();
    assert!(
        who.contains("\"eu\"") && who.contains("\"ap\"") && who.contains("\"us\""),
        "{who}"
    );
    let ev = f["evidence"].to_string();
    assert!(
        ev.contains("(ns2.example.test)") && ev.contains("www.example.test CAA"),
        "{ev}"
    );
    assert!(f["fix"].as_str().unwrap().contains("RFC 7766"), "{f}");
    assert!(
        !codes(&doc).contains(&"dns-refused-by-region".to_string()),
        "truncation with TCP refused is no geographic ACL: {doc:#}"
    );
    assert_eq!(
        code, 2,
        "a CAA that cannot be read refuses issuance: {doc:#}"
    );
}

#[test]
fn a_resolver_timeout_in_one_region_is_a_dns_failure_not_http_geoblocking() {
    // eu-west's DNS questions go unanswered (its resolver times out); its HTTP-01 fetch is never
    // tried. Before, that was `http-geoblocked` with "allow port 80 from all countries".
    let lab = crate::e2e::lab(
        crate::e2e::plain_zone().behaviour_for_source(lo(0, 0, 4), Behaviour::Silent),
        |_| crate::support::http::Site::new(),
    );
    let (_, doc) = lab.json(&["www.example.test"]);
    assert!(
        !codes(&doc).contains(&"http-geoblocked".to_string()),
        "a DNS failure is no HTTP geoblocking: {doc:#}"
    );
    let http = obs(&doc, "eu-west", "http-01");
    assert_eq!(http["phase"], "dns", "{http}");
    assert!(
        http["summary"]
            .as_str()
            .unwrap()
            .contains("did not resolve"),
        "{http}"
    );
    let f = finding(&doc, "dns-refused-by-region");
    assert!(f["perspectives"].to_string().contains("eu-west"), "{f}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("time out in some regions"),
        "{f}"
    );
}

/// A run where the primary's resolver answers and the eu and ap regions' resolvers answer CAA
/// with `resolver` (a SERVFAIL of some kind) while example.test's authoritative servers answer
/// CAA with `servers`: the SERVFAIL is diagnosed by asking them from eu and ap.
fn servfail_lab(resolver: Behaviour, servers: Behaviour) -> (i32, Value) {
    let good = DnsServer::start(lo(0, 0, 53), resolver_zone());
    let failing = DnsServer::start_many(&[lo(0, 0, 54), lo(0, 0, 55)], |_| {
        resolver_zone().behaviour_for_type("CAA", resolver)
    });
    let ns = DnsServer::start_many(&[lo(0, 1, 1), lo(0, 1, 2)], |_| {
        example_zone().behaviour_for_type("CAA", servers)
    });
    let mut toml = String::from("[defaults]\ntimeout = \"1s\"\n");
    for (name, role, rir, dns) in [
        ("home", "primary", "ARIN", good.addr),
        ("eu", "remote", "RIPE", failing[0].addr),
        ("ap", "remote", "APNIC", failing[1].addr),
    ] {
        toml.push_str(&format!(
            "\n[[perspective]]\nname = \"{name}\"\nrole = \"{role}\"\nrir = \"{rir}\"\ndns = \"udp://{dns}\"\n"
        ));
    }
    let (dir, config) = crate::support::write_config("lab.toml", &toml);
    let lab = AuthLab {
        resolver: good,
        ns,
        dir,
        config,
    };
    let out = lab.json(&[
        "--method",
        "dns-01",
        "--expect-txt",
        TOKEN,
        "www.example.test",
    ]);
    drop(failing);
    out
}

#[test]
fn a_servfail_behind_which_the_servers_refuse_the_region_names_them_and_their_ede() {
    let (code, doc) = servfail_lab(Behaviour::ServFail, Behaviour::RefusedEde(18));
    let f = finding(&doc, "dns-refused-by-region");
    let who = f["perspectives"].to_string();
    assert!(who.contains("\"eu\"") && who.contains("\"ap\""), "{who}");
    let ev = f["evidence"].to_string();
    assert!(
        ev.contains("(ns1.example.test)")
            && ev.contains("answered REFUSED")
            && ev.contains("EDE 18"),
        "{ev}"
    );
    assert!(
        f["fix"].as_str().unwrap().contains("geographic ACLs"),
        "{f}"
    );
    assert!(!codes(&doc).contains(&"ns-lame".to_string()), "{doc:#}");
    assert_eq!(code, 2, "{doc:#}");
}

#[test]
fn a_servfail_behind_which_the_servers_are_lame_is_ns_lame_not_geography() {
    let (code, doc) = servfail_lab(Behaviour::ServFail, Behaviour::Lame);
    let f = finding(&doc, "ns-lame");
    let who = f["perspectives"].to_string();
    assert!(who.contains("\"eu\"") && who.contains("\"ap\""), "{who}");
    let ev = f["evidence"].to_string();
    assert!(
        ev.contains("(ns1.example.test)")
            && ev.contains("(ns2.example.test)")
            && ev.contains("without the AA flag"),
        "{ev}"
    );
    assert!(f["fix"].as_str().unwrap().contains("Load the zone"), "{f}");
    assert!(
        !codes(&doc).contains(&"dns-refused-by-region".to_string()),
        "a lame server is no geographic ACL: {doc:#}"
    );
    assert_eq!(code, 2, "{doc:#}");
}

#[test]
fn a_servfail_with_a_dnssec_ede_is_dnssec_bogus_naming_the_resolver() {
    // The fakes cannot sign a zone, and the tool does not validate DNSSEC itself, so a bogus
    // zone is seen the way a validating resolver reports it: SERVFAIL with EDE 6 (RFC 8914),
    // while the authoritative servers, asked directly, answer with authority.
    let (code, doc) = servfail_lab(Behaviour::ServFailEde(6), Behaviour::Answer);
    let f = finding(&doc, "dnssec-bogus");
    let ev = f["evidence"].to_string();
    assert!(ev.contains("127.0.0.54") && ev.contains("EDE 6"), "{ev}");
    assert!(f["fix"].as_str().unwrap().contains("DS record"), "{f}");
    assert!(
        !codes(&doc).contains(&"dns-refused-by-region".to_string()),
        "DNSSEC is no geographic ACL: {doc:#}"
    );
    assert_eq!(code, 2, "{doc:#}");
}

#[test]
fn a_resolver_that_rate_limits_this_host_is_the_perspectives_fault_not_the_domains() {
    // r3's resolver answers one query a second from this host (a public resolver's per-client
    // limit, far exceeded by a bulk run): its lookups time out for every name while home, r1
    // and r2 answer them. Those timeouts cluster across names, the names are asked again at a
    // lower concurrency, and what still times out is r3's fault: no name is reported failing
    // for it, and the finding names the resolver's overload and the remedy.
    let names: Vec<String> = (0..24).map(|i| format!("n{i}.example.test")).collect();
    let zone = many_names_zone(&names);
    let good = DnsServer::start_many(&[lo(0, 0, 80), lo(0, 0, 81), lo(0, 0, 82)], |_| {
        zone.clone()
    });
    let limited = DnsServer::start(
        lo(0, 0, 83),
        zone.behaviour(Behaviour::RateLimit {
            per_second: 1,
            burst: 2,
        }),
    );
    let (dir, config) = recursive_config(&[&good[0], &good[1], &good[2], &limited], "1s");
    let list = dir.path().join("names.txt");
    std::fs::write(&list, names.join("\n") + "\n").unwrap();
    let (out, doc) = bulk_dns01(&dir, &config, &list, 24, Duration::from_secs(120));
    assert!(limited.dropped() > 0, "the limit never applied");
    let ids = doc["identifiers"].as_array().unwrap();
    assert_eq!(ids.len(), 24);
    // No name fails or is at risk for a domain's reason: the only finding is r3's perspective
    // error, and every r3 timeout left in the JSON is typed as the resolver's overload.
    let codes: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    let blamed: Vec<&String> = codes.iter().filter(|c| *c != "perspective-error").collect();
    assert!(blamed.is_empty(), "{blamed:?}\n{:#}", doc["findings"]);
    assert_ne!(out.status.code(), Some(2), "{:#}", doc["findings"]);
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "perspective-error")
        .unwrap_or_else(|| panic!("no perspective-error: {:#}", doc["findings"]));
    let text = f.to_string();
    assert!(text.contains("r3"), "{text}");
    assert!(text.contains("overloaded or rate-limiting"), "{text}");
    assert!(text.contains("--concurrency"), "{text}");
    for id in ids {
        assert_ne!(id["outcome"], "fail", "{}", id["name"]);
        for o in id["observations"].as_array().unwrap() {
            if o["perspective"] == "r3" && o["phase"] == "timeout" {
                assert_eq!(o["perspective_fault"], true, "{o}");
                assert_eq!(o["tool_fault"], "resolver-overloaded", "{o}");
            }
            if o["perspective"] != "r3" {
                assert_eq!(o["ok"], true, "{o}");
            }
        }
    }
}

#[test]
fn running_out_of_open_files_is_the_tools_fault_with_the_remedy() {
    // The tool runs under a hard open-file limit too small for even one name's sockets (it can
    // neither raise it nor fit a name in it). Whatever runs out, the sockets that could not be
    // opened are the tool's fault with the remedy, never a domain's failure, and the JSON is whole.
    let names: Vec<String> = (0..4).map(|i| format!("n{i}.example.test")).collect();
    let zone = many_names_zone(&names);
    let resolvers = DnsServer::start_many(
        &[lo(0, 0, 90), lo(0, 0, 91), lo(0, 0, 92), lo(0, 0, 93)],
        |_| zone.clone(),
    );
    let origin = crate::support::http::HttpOrigin::start(
        "127.0.20.1".parse().unwrap(),
        crate::support::http::Site::new(),
    );
    let (dir, config) = recursive_config(&resolvers.iter().collect::<Vec<_>>(), "2s");
    let list = dir.path().join("names.txt");
    std::fs::write(&list, names.join("\n") + "\n").unwrap();
    let mut typed = 0;
    let mut seen = Vec::new();
    for limit in [14, 16, 18, 20, 22, 24, 28, 32] {
        let mut c = crate::support::base_command(dir.path());
        // `ulimit -n` in sh sets the soft and the hard limit: the tool cannot raise it.
        c.env("MPIC_CHECK_HTTP_PORT", origin.port().to_string());
        let prog = c.get_program().to_owned();
        let mut sh = std::process::Command::new("sh");
        sh.arg("-c")
            .arg(format!("ulimit -n {limit} && exec \"$@\""))
            .arg("sh")
            .arg(prog);
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        for a in c.get_args() {
            sh.arg(a);
        }
        sh.arg("--config")
            .arg(&config)
            .args([
                "--as-of",
                "2026-11-28",
                "--format",
                "json",
                "--method",
                "http-01",
            ])
            .arg("--from-file")
            .arg(&list);
        let out = Command::from_std(sh)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!stderr.contains("panicked"), "limit {limit}: {stderr}");
        let Ok(doc) = serde_json::from_slice::<Value>(&out.stdout) else {
            // Too few files to start at all: a one-line error and exit 3, never a panic.
            assert_eq!(out.status.code(), Some(3), "limit {limit}: {stderr}");
            assert_eq!(stderr.trim().lines().count(), 1, "limit {limit}: {stderr}");
            seen.push(format!("{limit}: exit 3 {}", stderr.trim()));
            continue;
        };
        seen.push(format!("{limit}: exit {:?}", out.status.code()));
        for id in doc["identifiers"].as_array().unwrap() {
            for o in id["observations"].as_array().unwrap() {
                let s = o["summary"].as_str().unwrap_or("");
                if s.contains("open files") {
                    assert_eq!(o["perspective_fault"], true, "limit {limit}: {o}");
                    assert_eq!(o["tool_fault"], "out-of-files", "limit {limit}: {o}");
                    typed += 1;
                }
            }
        }
        if typed > 0 {
            let f = finding(&doc, "perspective-error");
            assert!(f["fix"].as_str().unwrap().contains("ulimit -n"), "{f}");
            // No domain is blamed for the tool's want of files.
            for c in codes(&doc) {
                assert!(
                    ["perspective-error", "deadline-exceeded"].contains(&c.as_str())
                        || finding(&doc, &c)["severity"] == "info",
                    "limit {limit}: {c} {:#}",
                    doc["findings"]
                );
            }
            break;
        }
    }
    assert!(typed > 0, "no run ran out of files: {seen:#?}");
}
