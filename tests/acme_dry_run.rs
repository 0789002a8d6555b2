//! `--acme-dry-run` without a CA: what a user sees when the ACME server cannot be used. The real
//! orders against Pebble are in the interop lab (tests/interop/acme.py); here the binary runs
//! against the in-process lab with a directory URL nothing listens on, and with bad input.

use std::path::Path;

use crate::e2e::{lab, plain_zone};
use crate::support::http::Site;

/// A directory URL on loopback where nothing listens: the connection is refused at once.
const DEAD_DIRECTORY: &str = "https://127.0.41.9:9/dir";

#[test]
fn an_unreachable_directory_is_one_line_and_the_report_is_still_printed() {
    let lab = lab(plain_zone(), |_| Site::new());
    let state = tempfile::tempdir().unwrap();
    let out = lab
        .std_cmd()
        .env("XDG_STATE_HOME", state.path())
        .args(["--format", "json", "--acme-dry-run", DEAD_DIRECTORY])
        .arg("www.example.test")
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    // First the notice that a third party is contacted and nothing is issued, then one line.
    assert!(
        lines[0].contains("--acme-dry-run contacts https://127.0.41.9:9/dir")
            && lines[0].contains("nothing is issued"),
        "{stderr}"
    );
    let errors: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("mpic-check: --acme-dry-run: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    // The whole report, valid under the contract; the prediction passed, the dry run could not
    // assess: exit 3 and the finding says it is not the domain's fault.
    crate::json_contract::contract(&out.stdout, code);
    assert_eq!(code, 3, "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = &doc["identifiers"][0];
    assert_eq!(id["acme_dry_run"]["status"], "error", "{doc:#}");
    assert_eq!(id["acme_dry_run"]["server"], DEAD_DIRECTORY);
    assert!(
        id["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["outcome"] == "pass")
    );
    let f = crate::e2e::finding(&doc, "acme-dry-run-error");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("not the domain's fault")
    );
    // No account was stored.
    assert!(!state.path().join("mpic-check").exists() || empty(&state.path().join("mpic-check")));

    // The table says it in one line under the name.
    let out = lab
        .std_cmd()
        .env("XDG_STATE_HOME", state.path())
        .args(["--acme-dry-run", DEAD_DIRECTORY])
        .arg("www.example.test")
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("CA dry run error: no verdict from the CA"),
        "{table}"
    );
}

fn empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().count() == 0
}

#[test]
fn bad_dry_run_input_is_one_line_and_exit_3_before_any_traffic() {
    let lab = lab(plain_zone(), |_| Site::new());
    let dir = tempfile::tempdir().unwrap();
    let bad_pem = dir.path().join("bad.pem");
    std::fs::write(&bad_pem, "not a certificate\n").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--acme-dry-run".into(),
                DEAD_DIRECTORY.into(),
                "--acme-ca-file".into(),
                bad_pem.display().to_string(),
            ],
            "no PEM certificate",
        ),
        (
            vec![
                "--acme-dry-run".into(),
                DEAD_DIRECTORY.into(),
                "--acme-ca-file".into(),
                dir.path().join("missing.pem").display().to_string(),
            ],
            "--acme-ca-file",
        ),
        (
            vec!["--acme-dry-run=http://127.0.41.9:9/dir".into()],
            "not an https:// ACME directory URL",
        ),
    ];
    for (args, wanted) in cases {
        let out = lab
            .std_cmd()
            .env("XDG_STATE_HOME", dir.path())
            .args(&args)
            .arg("www.example.test")
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        // Nothing was probed: the check stopped at the flags.
        assert!(lab.origins.requests().is_empty(), "{args:?}");
    }
}

#[test]
fn a_name_no_ca_issues_for_is_never_ordered() {
    // `co.uk` is a public suffix: the dry run does not order it (nor contact the server when it
    // is the only name), and says why beside the name-not-issuable finding.
    let lab = lab(plain_zone(), |_| Site::new());
    let state = tempfile::tempdir().unwrap();
    let out = lab
        .std_cmd()
        .env("XDG_STATE_HOME", state.path())
        .args(["--format", "json", "--acme-dry-run", DEAD_DIRECTORY])
        .arg("co.uk")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        !stderr.contains("mpic-check: --acme-dry-run: "),
        "the server was contacted: {stderr}"
    );
    let code = out.status.code().unwrap();
    crate::json_contract::contract(&out.stdout, code);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = &doc["identifiers"][0];
    let err = id["acme_dry_run"]["error"].as_str().unwrap();
    assert!(
        err.starts_with("not ordered: ") && err.contains("public suffix"),
        "{doc:#}"
    );
    crate::e2e::finding(&doc, "name-not-issuable");
    assert_eq!(code, 2, "{stderr}");
    assert!(!state.path().join("mpic-check").exists() || empty(&state.path().join("mpic-check")));
}
