//! DNS over HTTPS end to end: perspectives whose DNS side is `https://127.0.0.1:PORT/dns-query`,
//! served by the harness's DoH front end (a private CA, queries forwarded to the scriptable DNS
//! fake). The real binary must trust the server only through `doh_ca`, report a certificate it
//! does not trust, an HTTP error status and an unreadable `doh_ca` file as failed observations
//! in a JSON document that still parses. The first tests exercise the DoH server itself (both
//! RFC 8484 forms, keep-alive, rejections) with reqwest.

use std::path::Path;
use std::time::Duration;

use hickory_server::proto::op::{Message, Query};
use hickory_server::proto::rr::{Name, RData, RecordType};
use serde_json::Value;

use crate::support::dns::{DnsServer, Zone};
use crate::support::doh::{DNS_MESSAGE, DohServer, base64url_decode, base64url_encode};
use crate::support::lo;

const VALUE: &str = "Kd3Mpn2oT2Sdoh-xRf0nz3pDx6WTGWaT6ZVl1HcHvxA";
const NAME: &str = "www.example.test";
const REMOTES: &[(&str, &str)] = &[("us", "ARIN"), ("eu", "RIPE"), ("ap", "APNIC")];

fn zone() -> Zone {
    Zone::new("test")
        .a(NAME, "127.0.20.1")
        .caa("example.test", 0, "issue", "letsencrypt.org")
        .txt("_acme-challenge.www.example.test", VALUE)
}

/// One perspective's DNS side: the `dns` URL and an optional `doh_ca` path.
#[derive(Clone, Copy)]
struct Side<'a> {
    dns: &'a str,
    ca: Option<&'a Path>,
}

impl<'a> Side<'a> {
    fn doh(server: &'a DohServer, url: &'a str) -> Side<'a> {
        Side {
            dns: url,
            ca: Some(&server.ca_pem_path),
        }
    }
}

fn perspective(name: &str, role: &str, rir: &str, side: Side<'_>) -> String {
    let mut s = format!(
        "\n[[perspective]]\nname = \"{name}\"\nrole = \"{role}\"\nrir = \"{rir}\"\ndns = \"{}\"\n",
        side.dns
    );
    if let Some(ca) = side.ca {
        s.push_str(&format!("doh_ca = {:?}\n", ca.display().to_string()));
    }
    s
}

/// Runs the binary for a dns-01 check of [`NAME`] with a primary `home` on `primary` and the
/// three remotes on `remote`; returns the exit code and the JSON, checked against the schema.
fn run(primary: Side<'_>, remote: Side<'_>) -> (i32, Value) {
    let mut toml = String::from("[defaults]\ntimeout = \"2s\"\n");
    toml.push_str(&perspective("home", "primary", "ARIN", primary));
    for (name, rir) in REMOTES {
        toml.push_str(&perspective(name, "remote", rir, remote));
    }
    let (dir, config) = crate::support::write_config("doh.toml", &toml);
    let out = crate::support::base_cmd(dir.path())
        // Nothing listens there: HTTP-01 is not under test in this module.
        .env("MPIC_CHECK_HTTP_PORT", "9")
        .arg("--config")
        .arg(&config)
        .args(["--method", "dns-01", "--expect-txt", VALUE])
        .args(["--format", "json", "--as-of", "2026-11-28", NAME])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let strict: Result<mpic_check::model::Report, _> = serde_json::from_slice(&out.stdout);
    assert!(
        strict.is_ok(),
        "schema: {strict:?}\nconfig:\n{toml}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    crate::json_contract::every_failure_has_a_finding(&doc);
    (out.status.code().unwrap(), doc)
}

/// The observation of `perspective` for `check` (not a per-address one).
fn obs<'a>(doc: &'a Value, perspective: &str, check: &str) -> &'a Value {
    doc["identifiers"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["perspective"] == perspective && o["check"] == check && o["address"].is_null())
        .unwrap_or_else(|| panic!("no {check} observation for {perspective}: {doc:#}"))
}

/// Every observation of `perspective`.
fn all_obs<'a>(doc: &'a Value, perspective: &str) -> Vec<&'a Value> {
    doc["identifiers"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["perspective"] == perspective)
        .collect()
}

fn summary(o: &Value) -> String {
    o["summary"].as_str().unwrap_or_default().to_owned()
}

// ---------------------------------------------------------------------------
// The DoH server itself.

fn txt_query(id: u16) -> Vec<u8> {
    let mut msg = Message::query();
    msg.metadata.id = id;
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(
        Name::from_ascii("_acme-challenge.www.example.test.").unwrap(),
        RecordType::TXT,
    ));
    msg.to_vec().unwrap()
}

fn txt_values(reply: &[u8]) -> Vec<String> {
    Message::from_vec(reply)
        .unwrap()
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(t.to_string()),
            _ => None,
        })
        .collect()
}

fn client_trusting(doh: &DohServer) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(doh.ca_pem().as_bytes()).unwrap();
    reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(ca)
        .http1_only()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[test]
fn base64url_round_trips_without_padding() {
    for len in 0..40u8 {
        let data: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
        let text = base64url_encode(&data);
        assert!(!text.contains(['=', '+', '/']), "{text}");
        assert_eq!(base64url_decode(&text).as_deref(), Some(&data[..]));
    }
    // RFC 4648 test vectors, url alphabet.
    assert_eq!(base64url_encode(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64url_encode(b"fo"), "Zm8");
    assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
    assert_eq!(base64url_decode("Zm8=").as_deref(), Some(&b"fo"[..]));
    assert_eq!(base64url_decode("Zm9v+mFy"), None);
    assert_eq!(base64url_decode("Z"), None);
}

#[tokio::test]
async fn doh_server_answers_post_and_get_on_one_kept_alive_connection() {
    let dns = DnsServer::start(lo(0, 0, 53), zone());
    let doh = DohServer::start(lo(0, 0, 1), dns.addr);
    let client = client_trusting(&doh);

    let query = txt_query(0x1234);
    let resp = client
        .post(doh.url())
        .header("content-type", DNS_MESSAGE)
        .header("accept", DNS_MESSAGE)
        .body(query.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], DNS_MESSAGE);
    let reply = resp.bytes().await.unwrap();
    assert_eq!(Message::from_vec(&reply).unwrap().metadata.id, 0x1234);
    assert_eq!(txt_values(&reply), [VALUE]);

    // RFC 8484 GET: ID 0, base64url without padding.
    let url = format!("{}?dns={}", doh.url(), base64url_encode(&txt_query(0)));
    let resp = client
        .get(url)
        .header("accept", DNS_MESSAGE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(txt_values(&resp.bytes().await.unwrap()), [VALUE]);

    let log = doh.requests();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, "/dns-query");
    assert_eq!(log[0].content_type.as_deref(), Some(DNS_MESSAGE));
    assert_eq!(log[0].body_len, query.len());
    assert_eq!(log[0].client, lo(0, 0, 1));
    assert_eq!(log[1].method, "GET");
    assert!(log[1].path.starts_with("/dns-query?dns="));
    assert_eq!(log[1].body_len, 0);
    assert!(log.iter().all(|l| l.status == 200));
    assert_eq!(log[0].connection, log[1].connection, "keep-alive");
    // Both queries went upstream over UDP from 127.0.0.1.
    let queries = dns.queries_for("_acme-challenge.www.example.test");
    assert_eq!(queries.len(), 2, "{queries:?}");
    assert!(queries.iter().all(|q| q.src == lo(0, 0, 1)));
}

#[tokio::test]
async fn doh_server_rejects_what_is_not_rfc8484() {
    let dns = DnsServer::start(lo(0, 0, 53), zone());
    let doh = DohServer::start(lo(0, 0, 1), dns.addr);
    let client = client_trusting(&doh);
    let base = format!("https://{}", doh.addr);
    let query = txt_query(7);

    let status = |r: reqwest::Response| r.status().as_u16();
    let wrong_path = client
        .post(format!("{base}/resolve"))
        .header("content-type", DNS_MESSAGE)
        .body(query.clone());
    assert_eq!(status(wrong_path.send().await.unwrap()), 404);
    let wrong_type = client
        .post(doh.url())
        .header("content-type", "application/json")
        .body(query.clone());
    assert_eq!(status(wrong_type.send().await.unwrap()), 415);
    let wrong_method = client.put(doh.url()).body(query);
    assert_eq!(status(wrong_method.send().await.unwrap()), 405);
    let no_param = client.get(doh.url());
    assert_eq!(status(no_param.send().await.unwrap()), 400);
    let bad_param = client.get(format!("{}?dns=!!", doh.url()));
    assert_eq!(status(bad_param.send().await.unwrap()), 400);
    let not_dns = client
        .post(doh.url())
        .header("content-type", DNS_MESSAGE)
        .body(vec![1, 2, 3]);
    assert_eq!(status(not_dns.send().await.unwrap()), 400);

    let statuses: Vec<u16> = doh.requests().iter().map(|l| l.status).collect();
    assert_eq!(statuses, [404, 415, 405, 400, 400, 400]);
    assert!(dns.queries().is_empty(), "nothing may reach the upstream");

    // A client without the private CA does not get through the handshake: nothing is logged.
    doh.clear_requests();
    let untrusting = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .build()
        .unwrap();
    let err = untrusting
        .post(doh.url())
        .header("content-type", DNS_MESSAGE)
        .body(txt_query(8))
        .send()
        .await
        .unwrap_err();
    let text = format!("{err:?}").to_ascii_lowercase();
    assert!(text.contains("certificate"), "{text}");
    assert!(doh.requests().is_empty());
}

#[tokio::test]
async fn doh_server_with_a_fixed_status_forwards_nothing() {
    let dns = DnsServer::start(lo(0, 0, 53), zone());
    let doh = DohServer::start_with_status(lo(0, 0, 1), dns.addr, 503);
    let resp = client_trusting(&doh)
        .post(doh.url())
        .header("content-type", DNS_MESSAGE)
        .body(txt_query(9))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(doh.requests()[0].status, 503);
    assert!(dns.queries().is_empty());
}

// ---------------------------------------------------------------------------
// The binary on DoH.

#[test]
fn doh_with_private_ca_answers_dns01() {
    let dns = DnsServer::start(lo(0, 0, 53), zone());
    let doh = DohServer::start(lo(0, 0, 1), dns.addr);
    let url = doh.url();
    let (code, doc) = run(Side::doh(&doh, &url), Side::doh(&doh, &url));

    let home = obs(&doc, "home", "dns-01");
    assert_eq!(home["ok"], true, "{doc:#}");
    assert_eq!(home["txt"][0], VALUE);
    let server = home["dns"][0]["server"].as_str().unwrap();
    assert!(server.starts_with("https://127.0.0.1"), "{server}");
    assert_eq!(server, url);
    for (p, _) in REMOTES {
        assert_eq!(obs(&doc, p, "dns-01")["ok"], true, "{p}: {doc:#}");
        assert_eq!(obs(&doc, p, "caa")["ok"], true, "{p}: {doc:#}");
    }
    assert_eq!(code, 0, "{doc:#}");

    let log = doh.requests();
    assert!(!log.is_empty());
    for l in &log {
        assert_eq!(l.method, "POST", "{l:?}");
        assert_eq!(l.path, "/dns-query", "{l:?}");
        assert_eq!(l.content_type.as_deref(), Some(DNS_MESSAGE), "{l:?}");
        assert!(l.body_len >= 12, "{l:?}");
        assert_eq!(l.status, 200, "{l:?}");
    }
    // The TXT question really went through DoH to the fake.
    assert!(
        !dns.queries_for("_acme-challenge.www.example.test")
            .is_empty()
    );
}

#[test]
fn doh_without_doh_ca_fails_on_the_certificate() {
    let dns = DnsServer::start(lo(0, 0, 53), zone());
    let doh = DohServer::start(lo(0, 0, 1), dns.addr);
    let url = doh.url();
    let side = Side {
        dns: &url,
        ca: None,
    };
    let (code, doc) = run(side, side);

    assert_ne!(code, 0, "an untrusted DoH server must not pass: {doc:#}");
    assert!(code == 2 || code == 3, "exit {code}: {doc:#}");
    for p in ["home", "us", "eu", "ap"] {
        let o = obs(&doc, p, "dns-01");
        assert_eq!(o["ok"], false, "{p}: {o:#}");
        assert_eq!(o["phase"], "dns", "{p}: {o:#}");
        let s = summary(o).to_ascii_lowercase();
        assert!(s.contains("certificate") || s.contains("tls"), "{p}: {s}");
        assert!(o["dns"][0]["error"].is_string(), "{p}: {o:#}");
    }
    assert!(doh.requests().is_empty(), "{:?}", doh.requests());
    assert!(dns.queries().is_empty());
}

#[test]
fn doh_http_error_status_fails_the_observation() {
    let dns = DnsServer::start(lo(0, 0, 53), zone());
    let doh = DohServer::start_with_status(lo(0, 0, 1), dns.addr, 503);
    let url = doh.url();
    let (code, doc) = run(Side::doh(&doh, &url), Side::doh(&doh, &url));

    assert_ne!(code, 0, "{doc:#}");
    for p in ["home", "us", "eu", "ap"] {
        let o = obs(&doc, p, "dns-01");
        assert_eq!(o["ok"], false, "{p}: {o:#}");
        assert!(summary(o).contains("HTTP 503"), "{p}: {o:#}");
    }
    let log = doh.requests();
    assert!(!log.is_empty());
    assert!(log.iter().all(|l| l.status == 503 && l.method == "POST"));
    assert!(dns.queries().is_empty());
}

#[test]
fn missing_doh_ca_file_marks_the_perspective_unusable() {
    let dns = DnsServer::start(lo(0, 0, 53), zone());
    let doh = DohServer::start(lo(0, 0, 1), dns.addr);
    let url = doh.url();
    let missing = doh.ca_pem_path.with_file_name("no-such-ca.pem");
    let primary = Side {
        dns: &url,
        ca: Some(&missing),
    };
    let (code, doc) = run(primary, Side::doh(&doh, &url));

    let shown = missing.display().to_string();
    let home = all_obs(&doc, "home");
    assert!(!home.is_empty(), "{doc:#}");
    for o in &home {
        assert_eq!(o["ok"], false, "{o:#}");
        assert_eq!(o["perspective_fault"], true, "{o:#}");
        assert!(summary(o).contains(&shown), "{o:#}");
    }
    assert!(home.iter().any(|o| o["check"] == "dns-01"), "{home:#?}");
    // The remotes still work through the same server with the right CA.
    for (p, _) in REMOTES {
        assert_eq!(obs(&doc, p, "dns-01")["ok"], true, "{p}: {doc:#}");
    }
    assert_ne!(code, 0, "{doc:#}");
}
