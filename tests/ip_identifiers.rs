//! Issue 24, IP-address identifiers (RFC 8738): the real binary checks `127.0.20.1` from every
//! region of the lab (per-region SOCKS5 proxies in front of an in-process origin and TLS server)
//! with the methods RFC 8738 allows. Nothing is looked up for an address — no A/AAAA, CAA or TXT
//! — and the fetch carries the address as Host header; tls-alpn-01 sends the reverse-DNS name as
//! SNI. dns-01, a wildcard over an address and a reserved address are usage errors (exit 3) with
//! nothing sent.

use serde_json::Value;

use crate::dns::obs;
use crate::e2e::{Lab, ORIGIN_DEFAULT, codes, finding, lab, plain_zone, verdict};
use crate::support::http::{Block, Site};
use crate::support::lo;
use crate::support::tls::{AcmeId, TlsAlpnServer, challenge_cert};

const TOKEN: &str = "ipTokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const KEYAUTH: &str =
    "ipTokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
const REGIONS: [&str; 4] = ["home", "us-east", "eu-west", "ap-south"];

/// The origin serves the key authorization at the token's path, to whoever asks.
fn serving() -> Site {
    Site::new().file(&format!("/.well-known/acme-challenge/{TOKEN}"), KEYAUTH)
}

fn known_token(lab: &Lab, extra: &[&str]) -> std::process::Output {
    lab.cmd()
        .args(["--token", TOKEN, "--expect-body", KEYAUTH])
        .args(extra)
        .output()
        .unwrap()
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn an_ip_serving_the_key_authorization_is_ready_with_no_dns_and_the_address_as_host() {
    let lab = lab(plain_zone(), |_| serving());
    let out = known_token(&lab, &["--format", "json", ORIGIN_DEFAULT]);
    crate::json_contract::contract(&out.stdout, out.status.code().unwrap());
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    assert_eq!(doc["outcome"], "pass");
    let id = &doc["identifiers"][0];
    assert_eq!(id["name"], ORIGIN_DEFAULT);
    assert_eq!(id["methods"], serde_json::json!(["http-01"]));
    // Only http-01 was judged: CAA does not apply to an address, and no lookup was made.
    let checks: Vec<&str> = id["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["http-01"], "{doc:#}");
    assert_eq!(verdict(&doc, "http-01")["outcome"], "pass");
    for o in id["observations"].as_array().unwrap() {
        assert_eq!(o["check"], "http-01", "{o:#}");
        assert!(o["dns"].as_array().is_none_or(|d| d.is_empty()), "{o:#}");
    }
    for p in REGIONS {
        assert_eq!(obs(&doc, p, "http-01")["ok"], true, "{p}");
    }
    assert!(lab.dns.queries().is_empty(), "{:?}", lab.dns.queries());
    // Coverage lists only what can happen to an address: nothing about its DNS or CAA.
    let modes: Vec<&str> = doc["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["failure_mode"].as_str().unwrap())
        .collect();
    assert!(modes.contains(&"http-geoblocked"), "{modes:?}");
    for dns in [
        "geodns-divergence",
        "dns-refused-by-region",
        "caa-forbids",
        "ns-unreachable",
    ] {
        assert!(!modes.contains(&dns), "{modes:?}");
    }
    let f = finding(&doc, "caa-not-applicable");
    assert_eq!(f["severity"], "info");
    assert!(f["evidence"].to_string().contains("RFC 8738"), "{f}");
    // Every finding is information, and none of them talks about DNS.
    for f in doc["findings"].as_array().unwrap() {
        assert_eq!(f["severity"], "info", "{f}");
        assert!(!f.to_string().contains("DNS"), "{f}");
    }
    // Each region fetched the address itself, from its own egress, with the address as Host
    // (no port: what a CA sends) and the CA's path.
    let requests = lab.origins.requests();
    let mut srcs: Vec<String> = requests.iter().map(|r| r.src.to_string()).collect();
    srcs.sort();
    srcs.dedup();
    assert_eq!(srcs, ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]);
    for r in &requests {
        assert_eq!(r.host.as_deref(), Some(ORIGIN_DEFAULT), "{r:?}");
        assert_eq!(r.path, format!("/.well-known/acme-challenge/{TOKEN}"));
        assert_eq!(r.local.to_string(), ORIGIN_DEFAULT);
    }

    // The table says so too, and never shows a DNS column value for the address.
    let out = known_token(&lab, &[ORIGIN_DEFAULT]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert!(
        table.contains(ORIGIN_DEFAULT) && table.contains("caa-not-applicable"),
        "{table}"
    );
}

#[test]
fn an_ip_geoblocked_in_one_region_is_named() {
    let lab = lab(plain_zone(), |_| {
        serving().block_source(lo(0, 0, 4), Block::Drop)
    });
    let out = known_token(&lab, &["--format", "json", ORIGIN_DEFAULT]);
    crate::json_contract::contract(&out.stdout, out.status.code().unwrap());
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(1), "{doc:#}");
    assert_eq!(doc["outcome"], "at-risk");
    let f = finding(&doc, "http-geoblocked");
    assert_eq!(f["perspectives"], serde_json::json!(["eu-west"]), "{f}");
    assert_eq!(
        verdict(&doc, "http-01")["dissenting_perspectives"],
        serde_json::json!(["eu-west"])
    );
    assert!(lab.dns.queries().is_empty());
}

#[test]
fn dns01_a_wildcard_or_a_reserved_address_is_one_line_exit_3_with_nothing_sent() {
    let lab = lab(plain_zone(), |_| serving());
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec!["--method", "dns-01", ORIGIN_DEFAULT],
            &[
                "RFC 8738",
                "dns-01 cannot validate an IP address",
                "http-01 or tls-alpn-01",
            ],
        ),
        (
            vec!["--method", "dns-01", "[2001:db8::1]"],
            &["RFC 8738", "2001:db8::1"],
        ),
        (
            vec!["*.127.0.20.1"],
            &["wildcard cannot cover an IP address"],
        ),
        (
            vec!["10.0.0.1"],
            &["10.0.0.1", "private", "will not contact"],
        ),
        (vec!["127.0.20.1:80"], &["port"]),
    ];
    for (args, says) in cases {
        let out = lab.cmd().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        for s in says {
            assert!(stderr.contains(s), "{args:?} should say {s:?}: {stderr}");
        }
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // A loopback address outside the lab's allowed ranges is refused the same way: the origin
    // listening there never hears from the tool.
    let out = lab
        .cmd()
        .env_remove("MPIC_CHECK_ALLOW_RANGES")
        .arg(ORIGIN_DEFAULT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("loopback"), "{stderr}");
    assert!(lab.dns.queries().is_empty(), "{:?}", lab.dns.queries());
    assert!(
        lab.origins.requests().is_empty(),
        "{:?}",
        lab.origins.requests()
    );
}

#[test]
fn tls_alpn01_to_an_ip_sends_the_reverse_dns_name_as_sni() {
    let lab = lab(plain_zone(), |_| Site::new());
    let server = TlsAlpnServer::start(
        &[ORIGIN_DEFAULT.parse().unwrap()],
        challenge_cert(&[ORIGIN_DEFAULT], &AcmeId::For(KEYAUTH.into())),
        &["acme-tls/1"],
        Vec::new(),
    );
    let out = lab
        .cmd()
        .env("MPIC_CHECK_TLS_PORT", server.port.to_string())
        .args(["--format", "json", "--method", "tls-alpn-01"])
        .args(["--key-authorization", KEYAUTH, ORIGIN_DEFAULT])
        .output()
        .unwrap();
    // (The contract test's mirror types predate tls-alpn-01, so only the generic rules apply.)
    let doc = json(&out);
    crate::json_contract::every_failure_has_a_finding(&doc);
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    assert_eq!(verdict(&doc, "tls-alpn-01")["outcome"], "pass");
    for p in REGIONS {
        let o = obs(&doc, p, "tls-alpn-01");
        assert_eq!(o["tls"]["certificate"], "valid", "{p}: {o:#}");
        assert_eq!(o["tls"]["san"], serde_json::json!([ORIGIN_DEFAULT]));
    }
    let snis = server.snis();
    assert_eq!(snis.len(), 4, "{snis:?}");
    assert!(
        snis.iter().all(|s| s == "1.20.0.127.in-addr.arpa"),
        "{snis:?}"
    );
    assert!(lab.dns.queries().is_empty());

    // A certificate made for a DNS name does not validate the address.
    let wrong = TlsAlpnServer::start(
        &[ORIGIN_DEFAULT.parse().unwrap()],
        challenge_cert(&["www.example.test"], &AcmeId::For(KEYAUTH.into())),
        &["acme-tls/1"],
        Vec::new(),
    );
    let out = lab
        .cmd()
        .env("MPIC_CHECK_TLS_PORT", wrong.port.to_string())
        .args(["--format", "json", "--method", "tls-alpn-01"])
        .args(["--key-authorization", KEYAUTH, ORIGIN_DEFAULT])
        .output()
        .unwrap();
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(2), "{doc:#}");
    assert!(
        codes(&doc).contains(&"tls-alpn-bad-certificate".to_string()),
        "{doc:#}"
    );
    assert!(
        obs(&doc, "home", "tls-alpn-01")["summary"]
            .as_str()
            .unwrap()
            .contains("iPAddress"),
        "{doc:#}"
    );
}

#[test]
fn save_replay_jsonl_nagios_and_prometheus_carry_the_address() {
    let lab = lab(plain_zone(), |_| serving());
    let saved = lab.dir.path().join("ip-run.json");
    let out = lab
        .cmd()
        .args(["--token", TOKEN, "--expect-body", KEYAUTH])
        .args(["--format", "json", "--save"])
        .arg(&saved)
        .arg(ORIGIN_DEFAULT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let live = json(&out);
    let requests = lab.origins.requests().len();
    let replayed = crate::support::base_cmd(lab.dir.path())
        .args(["--format", "json", "--as-of", "2026-11-28", "--replay"])
        .arg(&saved)
        .output()
        .unwrap();
    assert_eq!(replayed.status.code(), Some(0));
    assert_eq!(json(&replayed), live, "replay must reproduce the report");
    assert_eq!(
        lab.origins.requests().len(),
        requests,
        "replay sent traffic"
    );

    let out = known_token(&lab, &["--format", "jsonl", ORIGIN_DEFAULT]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|v| v.to_string().contains(ORIGIN_DEFAULT)),
        "{text}"
    );

    let out = known_token(&lab, &["--format", "nagios", ORIGIN_DEFAULT]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .starts_with(&format!("MPIC OK - {ORIGIN_DEFAULT}")),
        "{text}"
    );

    for format in ["html", "markdown"] {
        let out = known_token(&lab, &["--format", format, ORIGIN_DEFAULT]);
        assert_eq!(out.status.code(), Some(0), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(ORIGIN_DEFAULT), "{format}: {text}");
    }

    let out = known_token(&lab, &["--format", "prometheus", ORIGIN_DEFAULT]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            r#"mpic_check_outcome{{identifier="{ORIGIN_DEFAULT}",outcome="pass"}} 1"#
        )),
        "{text}"
    );
}

/// A certbot directory with one lineage for `sans` renewed by `authenticator`.
fn certbot_dir(sans: &[&str], authenticator: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live/mixed/cert.pem");
    crate::integrations::certificate(&live, sans, 60);
    let renewal = root.path().join("renewal");
    std::fs::create_dir_all(&renewal).unwrap();
    std::fs::write(
        renewal.join("mixed.conf"),
        format!(
            "version = 5.0.0\ncert = {}\n[renewalparams]\nauthenticator = {authenticator}\n",
            live.display()
        ),
    )
    .unwrap();
    root
}

#[test]
fn a_certbot_ip_san_is_checked_and_one_renewed_with_dns01_is_reported() {
    let lab = lab(plain_zone(), |_| Site::new());
    // http-01 (standalone): the address SAN is an identifier of its own, checked without DNS.
    let dir = certbot_dir(&["www.example.test", ORIGIN_DEFAULT], "standalone");
    let out = lab
        .cmd()
        .args(["--format", "json", "--certbot"])
        .arg(dir.path())
        .output()
        .unwrap();
    let doc = json(&out);
    crate::json_contract::every_failure_has_a_finding(&doc);
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    let ids: Vec<&str> = doc["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["www.example.test", ORIGIN_DEFAULT], "{doc:#}");
    let ip = &doc["identifiers"][1];
    assert!(
        ip["observations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["check"] == "http-01"),
        "{ip:#}"
    );

    // A DNS plugin cannot renew an address (RFC 8738 §7): the name is still checked, the address
    // is reported with the reason, and the run cannot call itself ready.
    let dir = certbot_dir(&["www.example.test", ORIGIN_DEFAULT], "dns-cloudflare");
    let out = lab
        .cmd()
        .args(["--format", "json", "--certbot"])
        .arg(dir.path())
        .output()
        .unwrap();
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(3), "{doc:#}");
    let f = finding(&doc, "client-config-unreadable");
    assert!(
        f["evidence"].to_string().contains("RFC 8738")
            && f["evidence"].to_string().contains(ORIGIN_DEFAULT),
        "{f}"
    );
    assert_eq!(doc["identifiers"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(doc["identifiers"][0]["name"], "www.example.test");

    // A reserved address in a SAN (a private CA's certificate) is never contacted: reported,
    // and the other names are still checked.
    let requests = lab.origins.requests().len();
    let dir = certbot_dir(&["www.example.test", "10.0.0.1"], "standalone");
    let out = lab
        .cmd()
        .args(["--format", "json", "--certbot"])
        .arg(dir.path())
        .output()
        .unwrap();
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(3), "{doc:#}");
    let f = finding(&doc, "client-config-unreadable");
    assert!(
        f["evidence"].to_string().contains("10.0.0.1")
            && f["evidence"].to_string().contains("will not contact"),
        "{f}"
    );
    assert_eq!(doc["identifiers"].as_array().unwrap().len(), 1, "{doc:#}");
    assert!(
        lab.origins.requests()[requests..]
            .iter()
            .all(|r| r.host.as_deref() != Some("10.0.0.1")),
    );
}

#[test]
fn an_ip_identifier_follows_redirects_to_names_and_refuses_reserved_addresses() {
    use crate::support::http::Resp;
    let challenge = format!("/.well-known/acme-challenge/{TOKEN}");
    // A redirect from the address to a name (Boulder follows redirects to names or addresses).
    let named = lab(plain_zone(), |_| {
        Site::new()
            .response(
                &challenge,
                Resp::redirect(302, &format!("http://www.example.test/moved/{TOKEN}")),
            )
            .file(&format!("/moved/{TOKEN}"), KEYAUTH)
    });
    let out = known_token(&named, &["--format", "json", ORIGIN_DEFAULT]);
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    let requests = named.origins.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path == challenge && r.host.as_deref() == Some(ORIGIN_DEFAULT)),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|r| r.path == format!("/moved/{TOKEN}")
            && r.host.as_deref() == Some("www.example.test")),
        "{requests:?}"
    );

    // A redirect from the address to a reserved one is refused before it is followed.
    let reserved = lab(plain_zone(), |_| {
        Site::new().response(
            &challenge,
            Resp::redirect(302, &format!("http://10.0.0.1/moved/{TOKEN}")),
        )
    });
    let out = known_token(&reserved, &["--format", "json", ORIGIN_DEFAULT]);
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(2), "{doc:#}");
    assert!(
        codes(&doc).contains(&"redirect-disallowed".to_string())
            || codes(&doc).contains(&"reserved-address".to_string()),
        "{doc:#}"
    );
}
