//! The tool is never an SSRF or scanning tool: a domain's data (its A/AAAA records, its redirects,
//! its nameserver addresses) never makes it contact a special-purpose address. Each test runs the
//! binary with the address policy narrowed to the lab's own origin range (`MPIC_CHECK_ALLOW_RANGES`)
//! and places a listener on the loopback address the hostile data points at, which must see no
//! traffic at all; the run must say why, in the CA's words, and fail as a CA would.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::support::dns::{DnsServer, Zone};
use crate::support::http::{HttpOrigin, Resp, Site};
use crate::support::lo;

/// The one range the tests allow: the lab's origin. 127.0.0.1 and 127.0.0.5 (the "internal
/// services") stay refused, as they would be on a real host.
const ORIGIN_RANGE: &str = "127.0.20.0/24";
const SECRET: &str = "TOPSECRET-internal-body";

struct Lab {
    _dns: DnsServer,
    origins: HttpOrigin,
    dir: tempfile::TempDir,
    config: PathBuf,
}

/// A resolver serving `zone`, the origin at 127.0.20.1 serving `site`, and two "internal services"
/// on 127.0.0.1 and 127.0.0.5 (same port) that serve [`SECRET`] on every path.
fn lab(zone: Zone, site: Site) -> Lab {
    let dns = DnsServer::start(lo(0, 0, 53), zone);
    let origin: IpAddr = "127.0.20.1".parse().unwrap();
    let origins = HttpOrigin::start_many(&[origin, lo(0, 0, 1), lo(0, 0, 5)], move |ip| {
        if ip == origin {
            site.clone()
        } else {
            Site::new().response("*", Resp::status(200, SECRET))
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lab.toml");
    let mut toml = String::from("[defaults]\ntimeout = \"2s\"\n");
    for (name, role, rir) in [
        ("home", "primary", "ARIN"),
        ("r1", "remote", "RIPE"),
        ("r2", "remote", "APNIC"),
    ] {
        toml.push_str(&format!(
            "\n[[perspective]]\nname = \"{name}\"\nrole = \"{role}\"\nrir = \"{rir}\"\ndns = \"udp://{}\"\n",
            dns.addr
        ));
    }
    std::fs::write(&config, toml).unwrap();
    Lab {
        _dns: dns,
        origins,
        dir,
        config,
    }
}

impl Lab {
    fn run(&self, format: &str, names: &[&str]) -> (i32, String) {
        let out = crate::support::base_cmd(self.dir.path())
            .env("MPIC_CHECK_HTTP_PORT", self.origins.port().to_string())
            .env("MPIC_CHECK_ALLOW_RANGES", ORIGIN_RANGE)
            .env("NO_COLOR", "1")
            .arg("--config")
            .arg(&self.config)
            .args([
                "--as-of",
                "2026-11-28",
                "--method",
                "http-01",
                "--format",
                format,
            ])
            .args(names)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.code().unwrap(), text)
    }

    fn json(&self, names: &[&str]) -> (i32, Value) {
        let (code, text) = self.run("json", names);
        let end = text.rfind('}').map_or(0, |i| i + 1);
        crate::json_contract::contract(&text.as_bytes()[..end], code);
        (code, serde_json::from_str(&text[..end]).unwrap())
    }

    /// Requests that reached an "internal service".
    fn internal_hits(&self) -> usize {
        self.origins
            .requests()
            .iter()
            .filter(|r| r.local != "127.0.20.1".parse::<IpAddr>().unwrap())
            .count()
    }
}

fn observations<'a>(doc: &'a Value, name: &str) -> Vec<&'a Value> {
    doc["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {doc:#}"))["observations"]
        .as_array()
        .unwrap()
        .iter()
        .collect()
}

fn outcome<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap()["outcome"]
}

fn plain() -> Zone {
    Zone::new("test").caa("example.test", 0, "issue", "letsencrypt.org")
}

#[test]
fn names_resolving_to_reserved_addresses_are_never_contacted() {
    let zone = plain()
        .a("lo.example.test", "127.0.0.1")
        .a("zero.example.test", "0.0.0.0")
        .aaaa("mapped.example.test", "::ffff:127.0.0.1")
        // One public-looking usable address beside a reserved one: the reserved one is ignored.
        .a("mixed.example.test", "127.0.20.1")
        .a("mixed.example.test", "127.0.0.5");
    let site = Site::new().response("/.well-known/acme-challenge/*", Resp::status(404, "no"));
    let lab = lab(zone, site);
    let names = [
        "lo.example.test",
        "zero.example.test",
        "mapped.example.test",
        "mixed.example.test",
    ];
    let (code, doc) = lab.json(&names);
    assert_eq!(lab.internal_hits(), 0, "{:?}", lab.origins.requests());
    assert_eq!(code, 2, "{doc:#}");
    for (name, ip, what) in [
        ("lo.example.test", "127.0.0.1", "loopback"),
        ("zero.example.test", "0.0.0.0", "\"this network\""),
        ("mapped.example.test", "::ffff:127.0.0.1", "IPv4-mapped"),
    ] {
        assert_eq!(outcome(&doc, name), "fail", "{name}: {doc:#}");
        let addr = observations(&doc, name)
            .into_iter()
            .find(|o| o["perspective"] == "home" && o["check"] == "address")
            .unwrap();
        assert_eq!(addr["ok"], false, "{addr}");
        let summary = addr["summary"].as_str().unwrap();
        assert!(
            summary.contains(&format!("a CA will not connect to {ip}")) && summary.contains(what),
            "{summary}"
        );
    }
    let f = crate::e2e::finding(&doc, "reserved-address");
    assert_eq!(f["severity"], "error", "{f}");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains("lo.example.test resolves to 127.0.0.1: a CA will not connect to 127.0.0.1: it is a loopback address (127.0.0.0/8)")
            || doc["findings"].to_string().contains("a CA will not connect to 127.0.0.1"),
        "{doc:#}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("Publish only public addresses"),
        "{f}"
    );
    let addr = observations(&doc, "lo.example.test")
        .into_iter()
        .find(|o| o["perspective"] == "home" && o["check"] == "address")
        .unwrap();
    assert_eq!(
        addr["refused"],
        serde_json::json!([{"address": "127.0.0.1", "range": "127.0.0.0/8", "what": "a loopback address", "from": "address"}]),
        "{addr}"
    );
    // The mixed name was fetched from its usable address only.
    let mixed = observations(&doc, "mixed.example.test");
    let a = mixed
        .iter()
        .find(|o| o["perspective"] == "home" && o["check"] == "address")
        .unwrap();
    assert_eq!(a["addresses"], serde_json::json!(["127.0.20.1"]), "{a}");
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .contains("ignored: a CA will not connect to 127.0.0.5")
    );
}

#[test]
fn redirects_into_the_internal_network_are_refused_and_never_printed() {
    let zone = plain().a("www.example.test", "127.0.20.1");
    // Port 80 in the Location: the test-only port override maps it onto the lab's port, so without
    // the policy this would reach the internal service on 127.0.0.5.
    let site = Site::new().response(
        "/.well-known/acme-challenge/*",
        Resp::redirect(302, "http://127.0.0.5/internal/secret"),
    );
    let lab = lab(zone, site);
    for format in ["json", "table", "html", "jsonl", "nagios"] {
        let (code, text) = lab.run(format, &["www.example.test"]);
        assert_eq!(code, 2, "{format}: {text}");
        assert!(
            !text.contains(SECRET),
            "{format} printed the internal body: {text}"
        );
        if format != "nagios" {
            assert!(
                text.contains("a CA will not connect to 127.0.0.5"),
                "{format}: {text}"
            );
        }
    }
    assert_eq!(lab.internal_hits(), 0, "{:?}", lab.origins.requests());
    let (_, doc) = lab.json(&["www.example.test"]);
    let f = crate::e2e::finding(&doc, "redirect-disallowed");
    assert!(f["evidence"].to_string().contains("127.0.0.5"), "{f}");
}

#[test]
fn a_redirect_to_a_name_that_resolves_internally_is_refused() {
    let zone = plain()
        .a("www.example.test", "127.0.20.1")
        .a("internal.example.test", "127.0.0.5");
    let site = Site::new().response(
        "/.well-known/acme-challenge/*",
        Resp::redirect(302, "http://internal.example.test/internal/secret"),
    );
    let lab = lab(zone, site);
    let (code, doc) = lab.json(&["www.example.test"]);
    assert_eq!(code, 2, "{doc:#}");
    assert_eq!(lab.internal_hits(), 0, "{:?}", lab.origins.requests());
    assert!(
        crate::e2e::codes(&doc).contains(&"redirect-disallowed".to_string()),
        "{doc:#}"
    );
    let text = doc.to_string();
    assert!(!text.contains(SECRET));
    assert!(
        text.contains("No valid IP addresses found for internal.example.test: a CA will not connect to 127.0.0.5"),
        "{doc:#}"
    );
}

/// The delegation of example.test as the lab's resolver serves it, with nameserver addresses
/// chosen by the test.
fn delegation(ns: &[(&str, &[&str])]) -> Zone {
    let mut z = Zone::new("test")
        .a("www.example.test", "127.0.20.1")
        .caa("example.test", 0, "issue", "letsencrypt.org")
        .txt("_acme-challenge.www.example.test", crate::dns::TOKEN);
    for (name, addrs) in ns {
        z = z.ns("example.test", name);
        for a in *addrs {
            z = if a.contains(':') {
                z.aaaa(name, a)
            } else {
                z.a(name, a)
            };
        }
    }
    z
}

/// A dns-01 run of the authoritative lab with only the lab's nameservers (127.0.1.0/24) and origin
/// allowed: (exit code, JSON document held to the contract).
fn dns01_run(lab: &crate::dns::AuthLab) -> (Option<i32>, Value) {
    let out = lab
        .cmd()
        .env("MPIC_CHECK_ALLOW_RANGES", "127.0.1.0/24,127.0.20.0/24")
        .args(["--format", "json", "--method", "dns-01", "--expect-txt"])
        .args([crate::dns::TOKEN, "www.example.test"])
        .output()
        .unwrap();
    crate::json_contract::contract(&out.stdout, out.status.code().unwrap());
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

/// Every `server` that any DNS exchange of the run went to.
fn servers_asked(doc: &Value) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for id in doc["identifiers"].as_array().unwrap() {
        for o in id["observations"].as_array().unwrap() {
            for x in o["dns"].as_array().into_iter().flatten() {
                out.insert(x["server"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    out
}

#[test]
fn nameservers_at_reserved_addresses_are_never_asked() {
    let lab = crate::dns::auth_lab(
        delegation(&[
            ("ns1.example.test", &["127.0.0.1", "0.0.0.0", "::1"]),
            ("ns2.example.test", &["127.0.1.2"]),
        ]),
        |_| crate::dns::example_zone(),
        crate::dns::REMOTES,
    );
    // A trap where the hostile glue points: nothing may arrive.
    let trap = std::net::UdpSocket::bind(("127.0.0.1", lab.ns[0].port())).unwrap();
    trap.set_nonblocking(true).unwrap();
    let (code, doc) = dns01_run(&lab);
    let mut buf = [0u8; 512];
    assert!(
        trap.recv_from(&mut buf).is_err(),
        "a datagram reached 127.0.0.1: {doc:#}"
    );
    let asked = servers_asked(&doc);
    assert!(
        asked
            .iter()
            .all(|s| !s.contains("//127.0.0.1:") && !s.contains("0.0.0.0") && !s.contains("::1")),
        "{asked:?}"
    );
    // ns2 still answers, as it would for a CA whose resolver skips the bad glue: the checks pass,
    // and the run is at risk for the nameserver a CA cannot use.
    assert_eq!(code, Some(1), "{doc:#}");
    let f = crate::e2e::finding(&doc, "reserved-address");
    assert_eq!(f["severity"], "warning", "{f}");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains(
            "nameserver ns1.example.test is at 127.0.0.1: a CA will not connect to 127.0.0.1"
        ),
        "{f}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("Give every nameserver of the zone a public address")
    );
}

#[test]
fn a_zone_whose_nameservers_are_all_reserved_fails_with_the_reason() {
    let lab = crate::dns::auth_lab(
        delegation(&[
            ("ns1.example.test", &["127.0.0.1"]),
            ("ns2.example.test", &["0.0.0.0"]),
        ]),
        |_| crate::dns::example_zone(),
        crate::dns::REMOTES,
    );
    let (code, doc) = dns01_run(&lab);
    assert_eq!(code, Some(2), "{doc:#}");
    assert!(
        doc.to_string().contains("have no address a CA would use"),
        "{doc:#}"
    );
    assert_eq!(
        crate::e2e::finding(&doc, "reserved-address")["severity"],
        "error"
    );
}

#[test]
fn a_zone_with_forty_nameservers_is_asked_at_most_twenty_addresses() {
    let names: Vec<String> = (0..40).map(|i| format!("ns{i:02}.example.test")).collect();
    let addrs: Vec<Vec<String>> = (0..40)
        .map(|i| {
            (0..8)
                .map(|j| format!("127.0.{}.{}", 100 + i, 1 + j))
                .collect()
        })
        .collect();
    let addr_refs: Vec<Vec<&str>> = addrs
        .iter()
        .map(|v| v.iter().map(String::as_str).collect())
        .collect();
    let mut ns: Vec<(&str, &[&str])> = names
        .iter()
        .zip(&addr_refs)
        .map(|(n, a)| (n.as_str(), a.as_slice()))
        .collect();
    // Two real servers among them, so the run has answers to compare.
    let real: [&[&str]; 2] = [&["127.0.1.1"], &["127.0.1.2"]];
    ns[0].1 = real[0];
    ns[1].1 = real[1];
    let lab = crate::dns::auth_lab(
        delegation(&ns),
        |_| crate::dns::example_zone(),
        crate::dns::REMOTES,
    );
    let out = lab
        .cmd()
        .args([
            "--format",
            "json",
            "--method",
            "dns-01",
            "--expect-txt",
            crate::dns::TOKEN,
        ])
        .args(["--timeout", "1s"])
        .arg("www.example.test")
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let asked: Vec<String> = servers_asked(&doc)
        .into_iter()
        .filter(|s| !s.contains("127.0.0.53:"))
        .collect();
    assert!(
        asked.len() <= mpic_check::perspective::MAX_NS_ADDRS,
        "{} nameserver addresses asked: {asked:?}",
        asked.len()
    );
    let sources = doc["perspectives"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["role"] == "source")
        .count();
    assert!(
        sources <= mpic_check::perspective::MAX_NS_ADDRS,
        "{sources} sources"
    );
    let f = crate::e2e::finding(&doc, "nameservers-capped");
    assert!(
        f["evidence"]
            .to_string()
            .contains("example.test delegates to 40 nameserver names; 10 were asked"),
        "{f}"
    );
}

#[test]
fn a_body_from_a_redirect_target_is_kept_only_as_a_short_excerpt() {
    let zone = plain()
        .a("www.example.test", "127.0.20.1")
        .a("elsewhere.example.test", "127.0.20.1");
    let long = format!("{}TAIL-that-must-not-be-shown", "x".repeat(500));
    let site = Site::new()
        .response(
            "/.well-known/acme-challenge/*",
            Resp::redirect(302, "http://elsewhere.example.test/page"),
        )
        .response("/page", Resp::status(200, &long));
    let lab = lab(zone, site);
    let (_, doc) = lab.json(&["www.example.test"]);
    let fetch = observations(&doc, "www.example.test")
        .into_iter()
        .find(|o| o["perspective"] == "home" && o["check"] == "http-01" && o["address"].is_null())
        .unwrap();
    let prefix = fetch["http"]["body_prefix"].as_str().unwrap();
    assert!(prefix.len() <= 64, "{prefix}");
    assert!(!doc.to_string().contains("TAIL-that"), "{doc:#}");
    assert_eq!(fetch["http"]["body_len"], long.len());
}
