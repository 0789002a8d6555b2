//! End-to-end runs of the real binary against the in-process fakes: a GeoDNS resolver that answers
//! by client source address, per-region SOCKS5 proxies whose connections leave from their own
//! 127.0.0.x, and HTTP origins that can block a region. Each test asserts the exit code, the
//! table on stdout and the parsed JSON document.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

use crate::support::dns::{DnsServer, Zone};
use crate::support::http::{Block, HttpOrigin, Site};
use crate::support::socks::Socks5Proxy;
use crate::support::{lo, perspective_toml};

/// One region of the lab: a perspective name, its RIR and the address its traffic leaves from.
pub struct Region {
    pub name: &'static str,
    pub role: &'static str,
    pub rir: &'static str,
    pub egress: IpAddr,
}

/// The four perspectives of the first slice: a primary and three remotes in three RIRs.
pub fn regions() -> Vec<Region> {
    vec![
        Region {
            name: "home",
            role: "primary",
            rir: "ARIN",
            egress: lo(0, 0, 2),
        },
        Region {
            name: "us-east",
            role: "remote",
            rir: "ARIN",
            egress: lo(0, 0, 3),
        },
        Region {
            name: "eu-west",
            role: "remote",
            rir: "RIPE",
            egress: lo(0, 0, 4),
        },
        Region {
            name: "ap-south",
            role: "remote",
            rir: "APNIC",
            egress: lo(0, 0, 5),
        },
    ]
}

/// A running lab: servers stay up while this lives.
pub struct Lab {
    pub dns: DnsServer,
    pub origins: HttpOrigin,
    pub proxies: Vec<Socks5Proxy>,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

/// The origin addresses GeoDNS hands out: the default and the APNIC region's.
pub const ORIGIN_DEFAULT: &str = "127.0.20.1";
pub const ORIGIN_APAC: &str = "127.0.20.2";

/// Starts the resolver, one origin per GeoDNS address (same port) and one proxy per region,
/// and writes a config naming them.
pub fn lab(zone: Zone, site: impl Fn(IpAddr) -> Site) -> Lab {
    let dns = DnsServer::start(lo(0, 0, 53), zone);
    let origins = HttpOrigin::start_many(
        &[
            ORIGIN_DEFAULT.parse().unwrap(),
            ORIGIN_APAC.parse().unwrap(),
        ],
        site,
    );
    let mut proxies = Vec::new();
    let mut toml = String::from("[defaults]\ntimeout = \"2s\"\n");
    for (i, r) in regions().iter().enumerate() {
        let p = Socks5Proxy::start(lo(0, 30, 2 + i as u8), r.egress);
        let udp = format!("udp://{}", dns.addr);
        let http = p.url(false);
        toml.push_str(&perspective_toml(r.name, r.role, r.rir, &udp, Some(&http)));
        proxies.push(p);
    }
    let (dir, config) = crate::support::write_config("lab.toml", &toml);
    Lab {
        dns,
        origins,
        proxies,
        dir,
        config,
    }
}

/// The GeoDNS zone: everyone gets the default origin, the APNIC region's egress gets its own.
pub fn geo_zone() -> Zone {
    let base = Zone::new("test").caa("example.test", 0, "issue", "letsencrypt.org");
    let apac = base.clone().a("www.example.test", ORIGIN_APAC);
    base.a("www.example.test", ORIGIN_DEFAULT)
        .view_for_source(lo(0, 0, 5), apac)
}

/// A zone where every region gets the same origin.
pub fn plain_zone() -> Zone {
    Zone::new("test")
        .caa("example.test", 0, "issue", "letsencrypt.org")
        .a("www.example.test", ORIGIN_DEFAULT)
}

impl Lab {
    /// The binary, set up for this lab, as a plain `std::process::Command` (for tests that
    /// signal the running process).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = self.std_cmd_without_config();
        c.arg("--config")
            .arg(&self.config)
            .args(["--as-of", "2026-11-28"]);
        c
    }

    /// The binary with this lab's environment but no flags (for subcommands).
    pub fn std_cmd_without_config(&self) -> std::process::Command {
        let mut c = crate::support::base_command(self.dir.path());
        c.env("MPIC_CHECK_HTTP_PORT", self.origins.port().to_string())
            .env("NO_COLOR", "1");
        c
    }

    /// The binary, set up for this lab.
    pub fn cmd(&self) -> Command {
        let mut c = Command::from_std(self.std_cmd());
        c.timeout(Duration::from_secs(60));
        c
    }

    /// Runs with `--format json` and returns (exit code, document).
    pub fn json(&self, names: &[&str]) -> (i32, Value) {
        let out = self
            .cmd()
            .args(["--format", "json"])
            .args(names)
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "invalid JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        crate::json_contract::every_failure_has_a_finding(&doc);
        (out.status.code().unwrap(), doc)
    }

    /// Runs with the table and returns (exit code, stdout, stderr).
    pub fn table(&self, names: &[&str]) -> (i32, String, String) {
        let out = self.cmd().args(names).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

/// Codes of the findings in a document.
pub fn codes(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// The finding with `code`.
pub fn finding<'a>(doc: &'a Value, code: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {doc:#}"))
}

/// The verdict for `check` of the first identifier.
pub fn verdict<'a>(doc: &'a Value, check: &str) -> &'a Value {
    doc["identifiers"][0]["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["check"] == check)
        .unwrap()
}

#[test]
fn healthy_domain_is_ready_with_no_warning() {
    let lab = lab(plain_zone(), |_| Site::new());
    let (code, doc) = lab.json(&["www.example.test"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["outcome"], "pass");
    assert_eq!(doc["exit_code"], 0);
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "info"),
        "{doc:#}"
    );
    let http = verdict(&doc, "http-01");
    assert_eq!(
        (http["corroborating"].as_u64(), http["remotes"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(verdict(&doc, "caa")["outcome"], "pass");
    // Each region's request left from its own proxy egress.
    let mut srcs: Vec<String> = lab
        .origins
        .requests()
        .iter()
        .map(|r| r.src.to_string())
        .collect();
    srcs.sort();
    srcs.dedup();
    assert_eq!(srcs, ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]);
    // DNS went through the proxies (TCP), so the resolver saw the regions' addresses.
    let dns_srcs: Vec<String> = lab
        .dns
        .queries()
        .iter()
        .map(|q| q.src.to_string())
        .collect();
    assert!(
        dns_srcs.iter().all(|s| s.starts_with("127.0.0."))
            && dns_srcs.contains(&"127.0.0.5".to_string())
    );
    // Pinned fetches carry the name, not the address, in the Host header.
    assert!(lab.origins.requests().iter().all(|r| {
        r.host
            .as_deref()
            .is_some_and(|h| h.starts_with("www.example.test"))
    }));
    // The CA's User-Agent was sent.
    assert!(lab.origins.requests().iter().all(|r| {
        r.user_agent
            .as_deref()
            .unwrap_or("")
            .contains("Let's Encrypt")
    }));
}

#[test]
fn geodns_divergence_is_reported_in_table_and_json() {
    let lab = lab(geo_zone(), |_| Site::new());
    let (code, doc) = lab.json(&["www.example.test"]);
    // Every regional origin answers the same way: informational, still ready.
    assert_eq!(code, 0, "{doc:#}");
    let f = finding(&doc, "geodns-divergence");
    assert_eq!(f["severity"], "info");
    let ev = f["evidence"].to_string();
    assert!(
        ev.contains(ORIGIN_APAC) && ev.contains(ORIGIN_DEFAULT) && ev.contains("ap-south"),
        "{ev}"
    );
    let ap = doc["identifiers"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["perspective"] == "ap-south" && o["check"] == "address")
        .unwrap();
    assert_eq!(ap["addresses"][0], ORIGIN_APAC);

    let (code, out, _) = lab.table(&["www.example.test"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("geodns-divergence") && out.contains(ORIGIN_APAC),
        "{out}"
    );
    assert!(
        !out.contains('\x1b'),
        "NO_COLOR output has escape sequences"
    );
}

#[test]
fn geodns_with_a_broken_regional_origin_is_at_risk() {
    // The APNIC region's origin answers 403 on the challenge path.
    let lab = lab(geo_zone(), |ip| {
        if ip.to_string() == ORIGIN_APAC {
            Site::new().response(
                "/.well-known/acme-challenge/*",
                crate::support::http::Resp::status(403, "no"),
            )
        } else {
            Site::new()
        }
    });
    let (code, doc) = lab.json(&["www.example.test"]);
    assert_eq!(
        doc["identifiers"][0]["observations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["check"] == "http-01" && o["ok"] == false)
            .count(),
        1,
        "{doc:#}"
    );
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(finding(&doc, "geodns-divergence")["severity"], "warning");
}

#[test]
fn one_region_geoblocked_is_at_risk_two_would_fail() {
    // One region's traffic is silently dropped on port 80.
    let lab1 = lab(plain_zone(), |_| {
        Site::new().block_source(lo(0, 0, 4), Block::Drop)
    });
    let (code, doc) = lab1.json(&["www.example.test"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["outcome"], "at-risk");
    let f = finding(&doc, "http-geoblocked");
    assert_eq!(f["perspectives"], serde_json::json!(["eu-west"]));
    assert!(f["fix"].as_str().unwrap().contains("all countries"));
    let v = verdict(&doc, "http-01");
    assert_eq!(
        (v["corroborating"].as_u64(), v["required"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(v["dissenting_perspectives"], serde_json::json!(["eu-west"]));
    let eu = doc["identifiers"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["perspective"] == "eu-west" && o["check"] == "http-01")
        .unwrap();
    assert_eq!(eu["phase"], "timeout", "{eu:#}");
    assert_eq!(eu["perspective_fault"], false);

    // Two regions refused with 403: quorum missed.
    let lab2 = lab(plain_zone(), |_| {
        Site::new()
            .block_source(lo(0, 0, 4), Block::Status(403))
            .block_source(lo(0, 0, 5), Block::Status(403))
    });
    let (code, doc) = lab2.json(&["www.example.test"]);
    assert_eq!(code, 2, "{doc:#}");
    assert_eq!(doc["outcome"], "fail");
    assert_eq!(finding(&doc, "http-geoblocked")["severity"], "error");
    let (code, out, _) = lab2.table(&["www.example.test"]);
    assert_eq!(code, 2);
    assert!(
        out.contains("WOULD FAIL") && out.contains("1/3 remotes corroborate, 2 needed"),
        "{out}"
    );
}

#[test]
fn a_dead_proxy_is_the_tools_problem_not_the_domains() {
    let lab = lab(plain_zone(), |_| Site::new());
    // Replace one remote's proxy with a port nothing listens on.
    let text = std::fs::read_to_string(&lab.config).unwrap();
    let dead = text.replace(&lab.proxies[3].url(false), "socks5://127.0.31.9:9");
    std::fs::write(&lab.config, dead).unwrap();
    let (code, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "perspective-error");
    assert_eq!(f["perspectives"], serde_json::json!(["ap-south"]));
    assert!(
        !codes(&doc).contains(&"http-geoblocked".to_string()),
        "{doc:#}"
    );
    let v = verdict(&doc, "http-01");
    assert_eq!(
        v["remotes"].as_u64(),
        Some(2),
        "a tool failure is not counted as a remote"
    );
    assert_eq!(code, 0, "{doc:#}");
    assert!(
        doc["coverage"]
            .to_string()
            .contains("could not use: ap-south")
    );
}

#[test]
fn every_perspective_failing_still_gives_complete_json() {
    let lab = lab(plain_zone(), |_| Site::new());
    let text = std::fs::read_to_string(&lab.config).unwrap();
    let mut dead = text;
    for p in &lab.proxies {
        dead = dead.replace(&p.url(false), "socks5://127.0.31.9:9");
    }
    std::fs::write(&lab.config, dead).unwrap();
    let (code, doc) = lab.json(&["www.example.test"]);
    assert_eq!(code, 3, "{doc:#}");
    assert_eq!(doc["outcome"], "unknown");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["perspectives"].as_array().unwrap().len(), 4);
    assert!(
        !doc["identifiers"][0]["observations"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bad_input_is_one_line_and_exit_3() {
    let lab = lab(plain_zone(), |_| Site::new());
    for bad in [
        "https://www.example.test/",
        "www.example.test:443",
        // An address is an identifier (RFC 8738), with a port it is not.
        "192.0.2.1:443",
        "a..b",
        "foo.*.example.test",
    ] {
        let out = lab.cmd().arg(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{bad}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{bad}: {err}");
        assert!(err.contains("invalid name"), "{err}");
        assert!(out.stdout.is_empty());
    }
    // A config error names file, line and key.
    std::fs::write(
        &lab.config,
        "[[perspective]]\nname = \"a\"\nrole = \"primary\"\nrir = \"MARS\"\n",
    )
    .unwrap();
    let out = lab.cmd().arg("www.example.test").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("lab.toml:4: perspective[0].rir"), "{err}");
    // Unknown flag values are bad input too.
    let out = lab
        .cmd()
        .args(["--format", "xml", "www.example.test"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
#[ignore = "prints the table for a human to look at"]
fn show_table() {
    let lab = lab(geo_zone(), |_| {
        Site::new().block_source(lo(0, 0, 4), Block::Drop)
    });
    let (_, out, err) = lab.table(&["www.example.test", "-v"]);
    let (_, doc) = lab.json(&["www.example.test"]);
    println!("{}", doc["coverage"]);
    println!("{out}\n{err}");
}

#[test]
fn save_and_replay_give_the_same_report_without_network() {
    let lab = lab(geo_zone(), |_| {
        Site::new().block_source(lo(0, 0, 4), Block::Status(403))
    });
    let saved = lab.dir.path().join("run.json");
    let out = lab
        .cmd()
        .args(["--format", "json", "--save"])
        .arg(&saved)
        .arg("www.example.test")
        .output()
        .unwrap();
    let live: Value = serde_json::from_slice(&out.stdout).unwrap();
    let queries = lab.dns.queries().len();
    let requests = lab.origins.requests().len();
    let replayed = crate::support::base_cmd(lab.dir.path())
        .args(["--format", "json", "--as-of", "2026-11-28", "--replay"])
        .arg(&saved)
        .output()
        .unwrap();
    assert_eq!(replayed.status.code(), out.status.code());
    let again: Value = serde_json::from_slice(&replayed.stdout).unwrap();
    assert_eq!(again, live, "replay must reproduce the report");
    assert_eq!(
        (lab.dns.queries().len(), lab.origins.requests().len()),
        (queries, requests),
        "replay sent traffic"
    );
    // A corrupt file is bad input.
    std::fs::write(&saved, "{").unwrap();
    let bad = crate::support::base_cmd(lab.dir.path())
        .arg("--replay")
        .arg(&saved)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a saved run"));
}

#[test]
fn fail_on_error_lets_at_risk_pass_the_gate() {
    let lab = lab(plain_zone(), |_| {
        Site::new().block_source(lo(0, 0, 4), Block::Status(403))
    });
    let (code, doc) = lab.json(&["www.example.test"]);
    assert_eq!((code, doc["exit_code"].as_i64()), (1, Some(1)));
    let out = lab
        .cmd()
        .args(["--format", "json", "--fail-on", "error", "www.example.test"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), doc["exit_code"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(doc["outcome"], "at-risk");
}

#[test]
fn nagios_and_prometheus_outputs_from_the_binary() {
    let lab = lab(plain_zone(), |_| {
        Site::new().block_source(lo(0, 0, 4), Block::Status(403))
    });
    let out = lab
        .cmd()
        .args(["--format", "nagios", "www.example.test"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("MPIC WARNING - www.example.test: at-risk"),
        "{first}"
    );
    assert_eq!(first.matches(" | ").count(), 1, "{first}");
    let out = lab
        .cmd()
        .args(["--format", "prometheus", "www.example.test"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("# TYPE mpic_check_exit_code gauge")
            && text.contains("mpic_check_exit_code 1"),
        "{text}"
    );
    assert!(
        text.contains(r#"mpic_check_outcome{identifier="www.example.test",outcome="at-risk"} 1"#),
        "{text}"
    );
}

#[test]
fn perspectives_closer_than_500_km_are_flagged() {
    let lab = lab(plain_zone(), |_| Site::new());
    let text = std::fs::read_to_string(&lab.config).unwrap();
    let located = text
        .replacen(
            "name = \"us-east\"\n",
            "name = \"us-east\"\nlocation = [40.71, -74.01]\n",
            1,
        )
        .replacen(
            "name = \"eu-west\"\n",
            "name = \"eu-west\"\nlocation = [40.73, -73.99]\n",
            1,
        );
    std::fs::write(&lab.config, located).unwrap();
    let (_, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "perspectives-too-close");
    assert!(
        f["evidence"][0]
            .as_str()
            .unwrap()
            .contains("us-east and eu-west are 3 km apart"),
        "{f}"
    );
}

#[test]
fn completions_and_man_page() {
    let home = tempfile::tempdir().unwrap();
    let out = crate::support::base_cmd(home.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--webroot"));
    let out = crate::support::base_cmd(home.path())
        .arg("man")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(".TH mpic-check 1"));
    let out = crate::support::base_cmd(home.path())
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("EXIT CODES") && help.contains("certbot renew"));
}
