//! Where each answer came from, end to end: a set shaped like the built-in one (authoritative
//! views with ECS, direct HTTP) on a healthy site says HTTP-01 and regional DNS refusals were not
//! tested from other regions instead of claiming corroboration; the same name through SOCKS
//! proxies given with `--perspective` is measured; `--resolver` adds a source; and `config
//! init/check/show` write, validate and print a set.

use std::time::Duration;

use serde_json::Value;

use crate::dns::{REMOTES, auth_lab, example_zone, obs, resolver_zone};
use crate::support::http::{HttpOrigin, Site};
use crate::support::lo;
use crate::support::socks::Socks5Proxy;

fn verdict<'a>(doc: &'a Value, check: &str) -> &'a Value {
    doc["identifiers"][0]["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["check"] == check)
        .unwrap_or_else(|| panic!("no {check} verdict: {doc:#}"))
}

fn coverage<'a>(doc: &'a Value, mode: &str) -> &'a Value {
    doc["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["failure_mode"] == mode)
        .unwrap_or_else(|| panic!("no coverage for {mode}"))
}

#[test]
fn a_built_in_shaped_set_does_not_claim_corroboration_it_did_not_measure() {
    let lab = auth_lab(resolver_zone(), |_| example_zone(), REMOTES);
    let origin = HttpOrigin::start("127.0.20.1".parse().unwrap(), Site::new());
    let run = |format: &str| {
        lab.cmd()
            .env("MPIC_CHECK_HTTP_PORT", origin.port().to_string())
            .args([
                "--format",
                format,
                "--method",
                "http-01",
                "www.example.test",
            ])
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let out = run("json");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Healthy: ready for what was measured, never "would fail".
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    assert_eq!(doc["outcome"], "pass");
    let http = verdict(&doc, "http-01");
    assert_eq!(http["outcome"], "unknown", "{http:#}");
    assert_eq!(http["reach"], "untested");
    assert_eq!(http["corroborating"], 0);
    assert_eq!(
        http["from_this_host"],
        serde_json::json!(["ap", "eu", "us"])
    );
    let why = http["explanation"].as_str().unwrap();
    assert!(
        why.contains("not tested from other regions (every fetch left this host"),
        "{why}"
    );
    let caa = verdict(&doc, "caa");
    assert_eq!(caa["reach"], "emulated", "{caa:#}");
    assert_eq!(caa["outcome"], "pass");
    assert!(
        caa["explanation"]
            .as_str()
            .unwrap()
            .contains("emulated from this host (ECS)"),
        "{caa:#}"
    );
    // Per observation and per perspective: where it was really made.
    assert_eq!(
        obs(&doc, "eu", "caa")["provenance"]["kind"],
        "this_host_ecs"
    );
    assert_eq!(
        obs(&doc, "eu", "caa")["provenance"]["subnet"],
        "203.0.113.0/24"
    );
    assert_eq!(
        obs(&doc, "eu", "http-01")["provenance"]["kind"],
        "this_host"
    );
    assert_eq!(
        obs(&doc, "home", "caa")["provenance"]["kind"],
        "remote_resolver"
    );
    let eu = doc["perspectives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "eu")
        .unwrap();
    assert_eq!(eu["dns_provenance"]["kind"], "this_host_ecs");
    assert_eq!(eu["http_provenance"]["kind"], "this_host");
    // Coverage: ECS does not test source-address refusals; direct HTTP does not test geoblocking.
    assert_eq!(coverage(&doc, "http-geoblocked")["tested"], false);
    assert_eq!(coverage(&doc, "dns-refused-by-region")["tested"], false);
    assert!(
        coverage(&doc, "dns-refused-by-region")["why"]
            .as_str()
            .unwrap()
            .contains("ECS"),
    );

    let out = run("table");
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(!table.contains("remotes corroborate"), "{table}");
    assert!(table.contains("not tested from other regions"), "{table}");
    assert!(table.contains("via") && table.contains("E/H"), "{table}");
    assert!(
        table.contains("--globalping") && table.contains("ssh -D"),
        "{table}"
    );
}

#[test]
fn the_same_name_through_proxies_given_on_the_command_line_is_measured() {
    let lab = auth_lab(resolver_zone(), |_| example_zone(), REMOTES);
    let origin = HttpOrigin::start("127.0.20.1".parse().unwrap(), Site::new());
    let eu = Socks5Proxy::start(lo(0, 30, 2), lo(0, 0, 4));
    let ap = Socks5Proxy::start(lo(0, 30, 3), lo(0, 0, 5));
    let resolver = format!("udp://{}", lab.resolver.addr);
    let out = lab
        .cmd()
        .env("MPIC_CHECK_HTTP_PORT", origin.port().to_string())
        .args(["--format", "json", "--method", "http-01"])
        .args([
            "--perspective",
            &format!("name=eu,rir=RIPE,dns={resolver},http={}", eu.url(false)),
            "--perspective",
            &format!(
                "name=ap,role=remote,rir=APNIC,location=35.68,139.69,dns={resolver},http={}",
                ap.url(false)
            ),
            "--resolver",
            &lab.resolver.addr.to_string(),
            "www.example.test",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    let names: Vec<&str> = doc["perspectives"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["nameserver"].is_null())
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    // The file's remotes were replaced; its primary kept; the resolver added as a source.
    assert_eq!(names, ["home", "eu", "ap", "resolver-1"]);
    let http = verdict(&doc, "http-01");
    assert_eq!(http["outcome"], "pass", "{http:#}");
    assert_eq!(http["reach"], "measured");
    assert_eq!(http["corroborating"], 2);
    assert_eq!(obs(&doc, "eu", "http-01")["provenance"]["kind"], "proxy");
    assert_eq!(
        obs(&doc, "eu", "caa")["provenance"]["proxy"],
        format!("127.0.30.2:{}", eu.port())
    );
    assert_eq!(coverage(&doc, "http-geoblocked")["tested"], true);
    assert_eq!(coverage(&doc, "dns-refused-by-region")["tested"], true);
    assert!(!eu.connections().is_empty());
}

#[test]
fn a_bad_perspective_flag_is_one_line_exit_3_without_the_password() {
    let home = tempfile::tempdir().unwrap();
    let out = crate::support::base_cmd(home.path())
        .args([
            "--perspective",
            "name=eu,rir=RIPE,http=socks5://alice:s3cret@127.0.0.1",
            "www.example.test",
        ])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--perspective #1:1: perspective[0].http:") && !err.contains("s3cret"),
        "{err}"
    );
    // Only a primary left: an error with the fix, not a run that ends "0/0 remotes".
    let out = crate::support::base_cmd(home.path())
        .args(["--perspective", "name=me,role=primary", "www.example.test"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no remote perspective"), "{err}");
}

#[test]
fn config_init_passes_config_check_and_a_bad_file_names_file_line_and_key() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("conf/config.toml");
    let out = crate::support::base_cmd(home.path())
        .args(["config", "init", "--output"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = crate::support::base_cmd(home.path())
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("arin-us") && text.contains("emulated (ECS 73.0.0.0/24)"),
        "{text}"
    );
    assert!(
        text.contains("dns-refused-by-region") && text.contains("no: every DNS query"),
        "{text}"
    );
    // A second init keeps the file.
    let out = crate::support::base_cmd(home.path())
        .args(["config", "init", "--output"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));

    let bad = home.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[perspective]]\nname = \"home\"\nrole = \"primary\"\n\n[[perspective]]\nname = \"eu\"\nrole = \"remote\"\nrir = \"EUROPE\"\n",
    )
    .unwrap();
    let out = crate::support::base_cmd(home.path())
        .args(["config", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!("{}:8: perspective[1].rir:", bad.display())),
        "{err}"
    );

    // `show` applies the command line and redacts the proxy's password.
    let out = crate::support::base_cmd(home.path())
        .args(["config", "show", "--config"])
        .arg(&file)
        .args([
            "--perspective",
            "name=eu,rir=RIPE,dns=authoritative,http=socks5://alice:s3cret@127.0.0.1:1080",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("name = \"eu\"") && !text.contains("s3cret"),
        "{text}"
    );
    assert!(!text.contains("arin-us"), "{text}");
}
