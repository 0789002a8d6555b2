//! `mpic-check explain`: a real certbot failure log through standard input, JSON output, and
//! `--run` executing the suggested check against the in-process lab.

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
