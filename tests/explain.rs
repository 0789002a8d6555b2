//! `mpic-check explain`: a real certbot failure log through standard input, JSON output, and
//! `--run` executing the suggested check against the in-process lab; and certbot 2.1's genuine
//! output for validations Pebble 2.4 failed on loopback (tests/fixtures/explain/pebble/),
//! piped as `certbot … 2>&1 | mpic-check explain` does, with what the user reads in the text
//! and JSON output.

use assert_cmd::Command;

use crate::e2e::{lab, plain_zone};
use crate::support::http::{Block, Site};
use crate::support::lo;

#[test]
fn a_certbot_log_on_stdin_is_explained() {
    let log = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/explain/certbot-secondary-validation.log"
    ))
    .unwrap();
    let out = crate::support::base_cmd(&std::env::temp_dir())
        .args(["explain", "-"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("http-geoblocked (remote check) for example.com"),
        "{text}"
    );
    assert!(
        text.contains("for www.example.com")
            && text.contains("run: mpic-check --method http-01 www.example.com"),
        "{text}"
    );
    let out = crate::support::base_cmd(&std::env::temp_dir())
        .args(["explain", "--format", "json"])
        .write_stdin(log)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = doc
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["identifier"].as_str())
        .collect();
    assert!(
        ids.contains(&"example.com") && ids.contains(&"www.example.com"),
        "{doc:#}"
    );
    // Unrecognised text is said to be so, with the checklist, and exit 3.
    let out = crate::support::base_cmd(&std::env::temp_dir())
        .args(["explain", "the printer is on fire"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("not recognised"));
}

#[test]
fn explain_run_checks_the_name_from_the_message() {
    let lab = lab(plain_zone(), |_| {
        Site::new().block_source(lo(0, 0, 4), Block::Status(403))
    });
    let msg = "During secondary validation: www.example.test: Invalid response from http://www.example.test/.well-known/acme-challenge/abc: 403";
    let out = Command::from_std(lab.std_cmd_without_config())
        .args(["explain", "--run", "--config"])
        .arg(&lab.config)
        .arg(msg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("$ mpic-check --method http-01 www.example.test"),
        "{text}"
    );
    assert!(
        text.contains("http-geoblocked [www.example.test]"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
}

/// A log over 1 MiB on stdin: its end is read (where ACME clients log the failure), with one note
/// on stderr; bytes that are not UTF-8 are replaced, not fatal.
#[test]
fn a_long_log_is_read_from_its_end_and_bad_utf8_is_replaced() {
    let log = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/explain/certbot-secondary-validation.log"
    ))
    .unwrap();
    let mut input = Vec::new();
    while input.len() < 2 << 20 {
        input.extend_from_slice(b"Renewing an existing certificate \xff\xfe\n");
    }
    input.extend_from_slice(&log);
    let out = crate::support::base_cmd(&std::env::temp_dir())
        .args(["explain", "-"])
        .write_stdin(input)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        text.contains("http-geoblocked (remote check) for example.com"),
        "{text}"
    );
    assert_eq!(
        stderr,
        "mpic-check: explain: the input is over 1 MiB; only its last 1 MiB was read\n"
    );
}

fn pebble_fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/explain/pebble/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// `explain` over `input` on stdin, as text and as JSON (the one item it must find).
fn explain_both(input: Vec<u8>) -> (String, serde_json::Value) {
    let home = std::env::temp_dir();
    let out = crate::support::base_cmd(&home)
        .arg("explain")
        .write_stdin(input.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let out = crate::support::base_cmd(&home)
        .args(["explain", "--format", "json", "-"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = doc.as_array().unwrap();
    assert_eq!(items.len(), 1, "{doc:#}");
    (text, items[0].clone())
}

/// One certbot 2.1 + Pebble 2.4 failure and what the user must read about it.
struct Seen {
    fixture: &'static str,
    heading: &'static str,
    family: &'static str,
    method: &'static str,
    address: Option<&'static str>,
    status: Option<u64>,
    /// A line of the advice.
    advice: &'static str,
}

/// certbot 2.1 against Pebble 2.4 (Debian packages), each failure as certbot printed it.
#[test]
fn certbot_and_pebble_failures_are_explained() {
    let cases = [
        Seen {
            fixture: "certbot-403.txt",
            heading: "http-status (primary check) for www.example.com",
            family: "http-status",
            method: "http-01",
            address: None,
            status: Some(403),
            advice: "refusing the CA's User-Agent",
        },
        Seen {
            fixture: "certbot-shop.txt",
            heading: "http-status (primary check) for shop.example.com",
            family: "http-status",
            method: "http-01",
            address: None,
            status: Some(404),
            advice: "The file is not where the web server serves from",
        },
        Seen {
            fixture: "certbot-down.txt",
            heading: "connection-refused (primary check) for down.example.com",
            family: "connection-refused",
            method: "http-01",
            address: Some("127.0.60.22"),
            status: None,
            advice: "Nothing listens on port 80 at that address",
        },
        Seen {
            fixture: "certbot-nohost.txt",
            heading: "dns-no-address (primary check) for nohost.example.com",
            family: "dns-no-address",
            method: "http-01",
            address: None,
            status: None,
            advice: "dig +norec A nohost.example.com @<ns>",
        },
        Seen {
            fixture: "certbot-txtwrong.txt",
            heading: "txt-incorrect (primary check) for dns.example.com",
            family: "txt-incorrect",
            method: "dns-01",
            address: None,
            status: None,
            advice: "dig +norec TXT _acme-challenge.dns.example.com",
        },
        Seen {
            fixture: "certbot-txtnone.txt",
            heading: "txt-missing (primary check) for notxt.example.com",
            family: "txt-missing",
            method: "dns-01",
            address: None,
            status: None,
            advice: "mpic-check wait-txt notxt.example.com",
        },
        Seen {
            fixture: "certbot-servfail.txt",
            heading: "dns-servfail (primary check) for sf.example.com",
            family: "dns-servfail",
            method: "dns-01",
            address: None,
            status: None,
            advice: "TXT _acme-challenge.sf.example.com",
        },
        Seen {
            fixture: "letsencrypt-manual-hook.log",
            heading: "txt-incorrect (primary check) for hook.example.com",
            family: "txt-incorrect",
            method: "dns-01",
            address: None,
            status: None,
            advice: "mpic-check wait-txt hook.example.com",
        },
    ];
    for Seen {
        fixture,
        heading,
        family,
        method,
        address,
        status,
        advice,
    } in cases
    {
        let (text, json) = explain_both(pebble_fixture(fixture));
        assert!(text.starts_with(heading), "{fixture}: {text}");
        let id = heading.rsplit(' ').next().unwrap();
        assert!(
            text.contains(&format!("run: mpic-check --method {method} {id}")),
            "{fixture}: {text}"
        );
        // The advice a user reads: all on one line once the wrapping is undone.
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(advice), "{fixture}: {text}");
        if method == "dns-01" {
            assert!(!flat.contains("challenge directory"), "{fixture}: {text}");
        }
        if let Some(a) = address {
            assert!(
                text.contains(&format!("  address: {a}\n")),
                "{fixture}: {text}"
            );
        }
        if let Some(s) = status {
            assert!(
                text.contains(&format!("  status: HTTP {s}\n")),
                "{fixture}: {text}"
            );
        }
        assert_eq!(json["family"], family, "{fixture}: {json:#}");
        assert_eq!(json["identifier"], id, "{fixture}: {json:#}");
        assert_eq!(json["stage"], "primary", "{fixture}: {json:#}");
        assert_eq!(
            json["suggested_args"],
            serde_json::json!(["--method", method, id]),
            "{fixture}: {json:#}"
        );
        assert_eq!(
            json["address"],
            serde_json::json!(address),
            "{fixture}: {json:#}"
        );
        assert_eq!(
            json["status"],
            serde_json::json!(status),
            "{fixture}: {json:#}"
        );
    }
}

/// The hook's `wait-txt` lines in certbot's log ("… remote perspectives (primary ok) …") are
/// mpic-check's own, not a remote quorum failure at the CA.
#[test]
fn the_tools_own_lines_in_a_certbot_log_are_skipped() {
    let (text, json) = explain_both(pebble_fixture("letsencrypt-manual-hook.log"));
    assert_ne!(json["stage"], "remote", "{json:#}");
    assert!(!text.contains("quorum"), "{text}");
    // Alone, the tool's line is nothing a CA said: not recognised, exit 3.
    let out = crate::support::base_cmd(&std::env::temp_dir())
        .args([
            "explain",
            "ready: 1 value(s) at _acme-challenge.hook.example.com on all 2 nameserver \
             address(es) and 4/5 remote perspectives (primary ok) after 3.4 s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("not recognised"));
}

/// Two failing names in one run, from certbot's console output and from its debug log (where
/// the authorization JSON also carries them): one item each, with what each name needs.
#[test]
fn two_failing_names_from_console_and_log() {
    for fixture in ["certbot-two-names.txt", "letsencrypt-webroot-two-names.log"] {
        let out = crate::support::base_cmd(&std::env::temp_dir())
            .args(["explain", "--format", "json"])
            .write_stdin(pebble_fixture(fixture))
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let got: Vec<(String, String, serde_json::Value, serde_json::Value)> = doc
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["identifier"].as_str().unwrap().to_string(),
                    e["family"].as_str().unwrap().to_string(),
                    e["address"].clone(),
                    e["status"].clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "down.example.com".to_string(),
                    "connection-refused".to_string(),
                    serde_json::json!("127.0.60.22"),
                    serde_json::Value::Null
                ),
                (
                    "www.example.com".to_string(),
                    "http-status".to_string(),
                    serde_json::Value::Null,
                    serde_json::json!(403)
                ),
            ],
            "{fixture}: {doc:#}"
        );
    }
}

/// An apex + wildcard DNS-01 run in certbot's debug log: both authorizations, the wildcard
/// named with its `*.`, both pointing first at the `_acme-challenge` name they share.
#[test]
fn apex_and_wildcard_in_the_debug_log() {
    let out = crate::support::base_cmd(&std::env::temp_dir())
        .args(["explain", "--format", "json"])
        .write_stdin(pebble_fixture("letsencrypt-dns-apex-wildcard.log"))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = doc.as_array().unwrap();
    let ids: Vec<&str> = items
        .iter()
        .map(|e| e["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["wild.example.com", "*.wild.example.com"], "{doc:#}");
    for e in items {
        assert_eq!(e["family"], "txt-incorrect", "{e:#}");
        assert_eq!(e["suggested_args"][1], "dns-01", "{e:#}");
        assert_eq!(e["likely_findings"][0], "txt-shared-name", "{e:#}");
    }
}
