//! Issue 24: the checks Let's Debug makes, each built for real (fake DNS, fake origins behind
//! per-region SOCKS proxies) and seen the way a user sees it: the JSON finding, its fix and the
//! exit code.

use serde_json::Value;

use crate::dns::TOKEN;
use crate::e2e::{finding, lab, plain_zone};
use crate::support::http::{Resp, Site};
use crate::support::lo;

const CHALLENGE: &str = "/.well-known/acme-challenge/*";

fn codes(doc: &Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn html(status: u16, body: &str) -> Resp {
    Resp::status(status, body).with_header("Content-Type", "text/html")
}

#[test]
fn a_routers_own_page_on_port_80() {
    let lab = lab(plain_zone(), |_| {
        Site::new().response(
            CHALLENGE,
            html(
                200,
                "<!DOCTYPE html><html><head><title>FRITZ!Box</title></head><body>Anmeldung</body></html>",
            ),
        )
    });
    let (code, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "router-page");
    assert_eq!(f["severity"], "error");
    assert!(f["evidence"].to_string().contains("FRITZ!Box"), "{f}");
    assert!(f["fix"].as_str().unwrap().contains("forward TCP port 80"));
    assert_ne!(code, 0, "{doc:#}");
}

#[test]
fn a_waf_page_for_one_region_only() {
    // eu-west (egress 127.0.0.4) gets an HTML interstitial with 200; everyone else the origin's 404.
    let lab = lab(plain_zone(), |_| {
        Site::new().respond_to_source(
            lo(0, 0, 4),
            html(
                200,
                "<!DOCTYPE html><html><head><title>Attention Required</title></head><body>checking your browser</body></html>",
            ),
        )
    });
    let (code, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "waf-or-challenge-page");
    assert_eq!(f["perspectives"], serde_json::json!(["eu-west"]), "{f}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("Exempt /.well-known/acme-challenge/")
    );
    assert_ne!(code, 0, "{doc:#}");
}

#[test]
fn nginx_testcookie_and_a_palo_alto_block_page() {
    let lab = lab(plain_zone(), |_| {
        Site::new().response(
            CHALLENGE,
            html(
                200,
                "<html><body><script type=\"text/javascript\" src=\"/aes.min.js\"></script><script>function toNumbers(d){}</script></body></html>",
            ),
        )
    });
    let (_, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "waf-or-challenge-page");
    assert!(
        f["fix"].as_str().unwrap().contains("testcookie off;"),
        "{f}"
    );

    let lab = crate::e2e::lab(plain_zone(), |_| {
        Site::new().response(
            CHALLENGE,
            html(
                503,
                "<html><body>Application Blocked: access to the application acme-protocol is denied by policy</body></html>",
            ),
        )
    });
    let (code, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "waf-or-challenge-page");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("App-ID `acme-protocol`"),
        "{f}"
    );
    assert!(
        !codes(&doc).contains(&"unexpected-http-response".to_string()),
        "the block page explains the 503: {doc:#}"
    );
    assert_eq!(code, 2, "{doc:#}");
}

#[test]
fn plain_http_sent_to_an_https_port() {
    // nginx with `ssl` on the port 80 listener answers a plain request with its 400 page.
    let lab = lab(plain_zone(), |_| {
        Site::new().response(
            CHALLENGE,
            html(
                400,
                "<html><head><title>400 The plain HTTP request was sent to HTTPS port</title></head><body><center><h1>400 Bad Request</h1></center><center>The plain HTTP request was sent to HTTPS port</center></body></html>",
            ),
        )
    });
    let (code, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "http-on-https-port");
    assert!(f["fix"].as_str().unwrap().contains("TLS on 443"));
    assert!(!codes(&doc).contains(&"unexpected-http-response".to_string()));
    assert_eq!(code, 2, "{doc:#}");
}

#[test]
fn a_status_other_than_200_or_404_is_named_with_the_cdns_own_bypass() {
    let lab = lab(plain_zone(), |_| {
        Site::new()
            .header("cf-ray", "8f1e2d3c4b5a6978-AMS")
            .header("Server", "cloudflare")
            .response(CHALLENGE, Resp::status(502, "bad gateway"))
    });
    let (code, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "unexpected-http-response");
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.contains("HTTP 502"), "{fix}");
    assert!(fix.contains("Cloudflare: add a Cache Rule"), "{fix}");
    assert_eq!(finding(&doc, "cdn-detected")["severity"], "info");
    assert_eq!(code, 2, "{doc:#}");
}

#[test]
fn a_healthy_name_behind_a_cdn_gets_only_an_info() {
    let lab = lab(plain_zone(), |_| {
        Site::new().header("X-Amz-Cf-Id", "abcdefghijklmnop==")
    });
    let (code, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "cdn-detected");
    assert!(
        f["fix"].as_str().unwrap().contains("CachingDisabled"),
        "{f}"
    );
    for f in doc["findings"].as_array().unwrap() {
        assert_eq!(f["severity"], "info", "{f}");
    }
    assert_eq!(code, 0, "{doc:#}");
}

#[test]
fn caa_records_a_ca_would_read_differently() {
    let zone = plain_zone()
        .caa("example.test", 0, "isue", "letsencrypt.org")
        .caa("example.test", 0, "issue", "\"sectigo.com\"");
    let lab = lab(zone, |_| Site::new());
    let (code, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "caa-syntax");
    let ev = f["evidence"].to_string();
    assert!(ev.contains("isue") && ev.contains("quote"), "{f}");
    assert_eq!(f["severity"], "warning");
    assert_eq!(code, 1, "{doc:#}");
}

#[test]
fn caa_accounturi_is_noted_as_binding_renewals() {
    let zone = crate::support::dns::Zone::new("test")
        .caa(
            "example.test",
            0,
            "issue",
            "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/12345",
        )
        .a("www.example.test", crate::e2e::ORIGIN_DEFAULT);
    let lab = lab(zone, |_| Site::new());
    let (_, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "caa-account-bound");
    assert_eq!(f["severity"], "info");
    assert!(f["evidence"].to_string().contains("acct/12345"), "{f}");
    assert!(!codes(&doc).contains(&"caa-syntax".to_string()), "{doc:#}");
}

#[test]
fn a_txt_record_at_the_doubled_name() {
    let zone = plain_zone().txt("_acme-challenge.www.example.test.example.test", TOKEN);
    let lab = lab(zone, |_| Site::new());
    let (code, doc) = lab.json(&[
        "--method",
        "dns-01",
        "--expect-txt",
        TOKEN,
        "www.example.test",
    ]);
    let f = finding(&doc, "txt-doubled-name");
    assert_eq!(f["severity"], "error", "{f}");
    assert!(
        f["evidence"]
            .to_string()
            .contains("_acme-challenge.www.example.test.example.test"),
        "{f}"
    );
    assert!(f["fix"].as_str().unwrap().contains("trailing dot"));
    assert_eq!(code, 2, "{doc:#}");
}

#[test]
fn names_no_ca_issues_for() {
    let lab = lab(plain_zone(), |_| Site::new());
    for name in ["co.uk", "nas.local"] {
        let (code, doc) = lab.json(&[name]);
        let f = finding(&doc, "name-not-issuable");
        assert_eq!(f["identifier"], name);
        assert!(f["fix"].as_str().unwrap().contains("private CA"));
        assert_eq!(code, 2, "{name}: {doc:#}");
    }
}

#[test]
fn a_name_no_ca_issues_for_is_never_probed() {
    // Beside a healthy name: the refused one gets no DNS query at all (nor any of its parents'
    // CAA), yet it is reported with the finding and the run would fail (exit 2).
    let lab = lab(plain_zone(), |_| Site::new());
    for name in ["co.uk", "nas.local"] {
        lab.dns.clear_queries();
        let (code, doc) = lab.json(&["www.example.test", name]);
        let f = finding(&doc, "name-not-issuable");
        assert_eq!(f["identifier"], name);
        assert!(f["evidence"].to_string().contains("no DNS query"), "{f}");
        assert_eq!(code, 2, "{name}: {doc:#}");
        let queries = lab.dns.queries();
        assert!(!queries.is_empty(), "the healthy name was probed: {doc:#}");
        let tld = name.rsplit('.').next().unwrap();
        let asked: Vec<_> = queries
            .iter()
            .filter(|q| q.qname.ends_with(&format!("{tld}.")))
            .collect();
        assert!(asked.is_empty(), "{name} was probed: {asked:?}");
        let ids = doc["identifiers"].as_array().unwrap();
        let refused = ids.iter().find(|i| i["name"] == name).unwrap();
        assert_eq!(
            refused["observations"],
            serde_json::json!([]),
            "{refused:#}"
        );
        assert_eq!(refused["outcome"], "fail");
        let healthy = ids
            .iter()
            .find(|i| i["name"] == "www.example.test")
            .unwrap();
        assert_eq!(healthy["outcome"], "pass", "{healthy:#}");
    }
}

/// Local fakes of the status.io API and of crt.sh's JSON search.
fn online_fakes(
    status_code: u32,
    status: &str,
    crt_rows: &str,
) -> crate::support::http::HttpOrigin {
    let status_doc = format!(
        r#"{{"result":{{"status_overall":{{"updated":"2026-12-06T23:00:00.000Z","status":"{status}","status_code":{status_code}}},"status":[]}}}}"#
    );
    crate::support::http::HttpOrigin::start(
        lo(0, 24, 1),
        Site::new()
            .response(
                "/1.0/status/page",
                Resp::status(200, &status_doc).with_header("Content-Type", "application/json"),
            )
            .response(
                "/crt/",
                Resp::status(200, crt_rows).with_header("Content-Type", "application/json"),
            ),
    )
}

fn crt_row(serial: &str, names: &str, issuer: &str, days_ago: i64) -> String {
    let nb = (chrono::Utc::now() - chrono::Duration::days(days_ago))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    format!(
        r#"{{"issuer_ca_id":1,"issuer_name":"{issuer}","common_name":"x","name_value":"{names}","id":1,"entry_timestamp":"{nb}.000","not_before":"{nb}","not_after":"2027-03-01T00:00:00","serial_number":"{serial}","result_count":1}}"#
    )
}

#[test]
fn online_context_from_local_fakes_of_the_status_page_and_crt_sh() {
    const LE: &str = "C=US, O=Let's Encrypt, CN=R11";
    let rows = [
        crt_row("01", "www.example.test", LE, 1),
        // The precertificate of the same serial: counted once.
        crt_row("01", "www.example.test", LE, 1),
        crt_row("02", "www.example.test", LE, 2),
        crt_row("03", "www.example.test", LE, 3),
        crt_row("04", "www.example.test", LE, 6),
        crt_row("05", "api.example.test\\nwww.example.test", LE, 4),
        // Too old, and another CA: not counted.
        crt_row("06", "www.example.test", LE, 10),
        crt_row("07", "www.example.test", "C=GB, O=Sectigo Limited", 1),
    ];
    let fakes = online_fakes(500, "Service Disruption", &format!("[{}]", rows.join(",")));
    let lab = lab(plain_zone(), |_| Site::new());
    let out = lab
        .cmd()
        .env("MPIC_CHECK_LE_STATUS_URL", fakes.url("/1.0/status/page"))
        .env("MPIC_CHECK_CRTSH_URL", fakes.url("/crt/"))
        .args(["--format", "json", "--online-context", "www.example.test"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = finding(&doc, "le-status");
    assert_eq!(s["severity"], "info");
    assert!(
        s["evidence"].to_string().contains("Service Disruption"),
        "{s}"
    );
    assert!(
        s["fix"].as_str().unwrap().starts_with("third-party data"),
        "{s}"
    );
    let r = finding(&doc, "rate-limit-context");
    let ev = r["evidence"].to_string();
    assert!(
        ev.contains("5 Let's Encrypt certificate(s) for example.test"),
        "{ev}"
    );
    assert!(ev.contains("4 for exactly {www.example.test}"), "{ev}");
    assert!(
        r["fix"]
            .as_str()
            .unwrap()
            .contains("near a Let's Encrypt rate limit"),
        "{r}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "third-party data never changes the exit code"
    );
    let asked: Vec<String> = fakes.requests().iter().map(|q| q.path.clone()).collect();
    assert!(
        asked.iter().any(|p| p.contains("q=%25.example.test")),
        "{asked:?}"
    );
}

#[test]
fn online_context_is_off_by_default_and_skipped_with_a_note_when_unreachable() {
    let lab = lab(plain_zone(), |_| Site::new());
    let (code, doc) = lab.json(&["www.example.test"]);
    assert!(
        !codes(&doc)
            .iter()
            .any(|c| c == "le-status" || c == "rate-limit-context")
    );
    assert_eq!(code, 0);
    // Nothing listens on these ports.
    let out = lab
        .cmd()
        .env("MPIC_CHECK_LE_STATUS_URL", "http://127.0.24.2:9/status")
        .env("MPIC_CHECK_CRTSH_URL", "http://127.0.24.2:9/")
        .args(["--format", "json", "--online-context", "www.example.test"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !codes(&doc)
            .iter()
            .any(|c| c == "le-status" || c == "rate-limit-context")
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("status page unreachable") && err.contains("crt.sh unreachable"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_wildcard_txt_is_not_a_doubled_name() {
    // `*.example.test` answers every name below the apex that does not exist, the doubled name
    // included; the random name asked beside it answers the same, so this is no panel mistake.
    let zone = plain_zone()
        .txt("_acme-challenge.example.test", TOKEN)
        .txt("*.example.test", "v=wildcard-for-everything");
    let lab = lab(zone, |_| Site::new());
    let (code, doc) = lab.json(&["--method", "dns-01", "--expect-txt", TOKEN, "example.test"]);
    let doubled = "_acme-challenge.example.test.example.test";
    assert!(
        !lab.dns.queries_for(doubled).is_empty(),
        "the doubled name was asked"
    );
    assert!(
        !codes(&doc).contains(&"txt-doubled-name".to_string()),
        "{doc:#}"
    );
    assert_eq!(code, 0, "{doc:#}");
}

#[test]
fn a_redirect_to_an_https_port_that_speaks_plain_http() {
    // The origin redirects the challenge to https://www.example.test:80/…: Boulder follows it
    // (port 80 is allowed) and speaks TLS to a port that answers in plain HTTP.
    let lab = lab(plain_zone(), |_| {
        Site::new().response(
            CHALLENGE,
            Resp::redirect(
                302,
                "https://www.example.test:80/.well-known/acme-challenge/moved",
            ),
        )
    });
    let (code, doc) = lab.json(&["www.example.test"]);
    let f = finding(&doc, "http-on-https-port");
    assert!(
        f["evidence"]
            .to_string()
            .contains("https://www.example.test:80/"),
        "{f}"
    );
    assert!(f["fix"].as_str().unwrap().contains("TLS on 443"), "{f}");
    assert_eq!(code, 2, "{doc:#}");
}

#[test]
fn online_context_where_it_cannot_apply_is_a_one_line_usage_error() {
    // jsonl writes each line as its name finishes; a replay is another day's observations: the
    // flag is refused there in one line, exit 3, before anything is read or sent.
    let home = tempfile::tempdir().unwrap();
    for args in [
        vec!["--online-context", "--format", "jsonl", "www.example.test"],
        vec!["--online-context", "--replay", "/nonexistent/run.json"],
    ] {
        let out = crate::support::base_command(home.path())
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains("--online-context") && !stderr.contains("nonexistent"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
