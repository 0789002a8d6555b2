//! The CA's identity from a certbot renewal conf's ACME server (issue 19): a known CA's directory
//! URL gives its CAA issuer domain and the report says where it came from; an unknown one (a
//! private ACME server) is said to be unknown and its CAA is not judged against letsencrypt.org.
//! And the CAA `accounturi` mismatch names both accounts (the renewing one without its URI) with
//! a fix that is not "add the record that is already there".

use std::path::Path;

use serde_json::Value;

use crate::e2e::{codes, finding, lab};
use crate::support::dns::Zone;
use crate::support::http::Site;

/// A certbot directory with one standalone (http-01) lineage for www.example.test renewing from
/// `server` with account `acct_uri` (regr.json).
fn certbot_conf(root: &Path, server: &str, acct_uri: &str) {
    let live = root.join("live/www.example.test/cert.pem");
    crate::integrations::certificate(&live, &["www.example.test"], 60);
    let renewal = root.join("renewal");
    std::fs::create_dir_all(&renewal).unwrap();
    std::fs::write(
        renewal.join("www.example.test.conf"),
        format!(
            "version = 2.11.0\ncert = {live}\n[renewalparams]\naccount = 11aa22bb33cc44dd55ee66ff77889900\n\
             authenticator = standalone\nserver = {server}\n",
            live = live.display(),
        ),
    )
    .unwrap();
    let u = url::Url::parse(server).unwrap();
    let mut acct = root.join("accounts").join(format!(
        "{}{}",
        u.host_str().unwrap(),
        u.port().map_or(String::new(), |p| format!(":{p}"))
    ));
    for seg in u.path_segments().unwrap() {
        acct = acct.join(seg);
    }
    let acct = acct.join("11aa22bb33cc44dd55ee66ff77889900");
    std::fs::create_dir_all(&acct).unwrap();
    std::fs::write(
        acct.join("regr.json"),
        format!(r#"{{"body": {{}}, "uri": "{acct_uri}"}}"#),
    )
    .unwrap();
}

fn zone(caa: &str) -> Zone {
    Zone::new("test")
        .caa("example.test", 0, "issue", caa)
        .a("www.example.test", crate::e2e::ORIGIN_DEFAULT)
}

fn run(lab: &crate::e2e::Lab, conf: &Path, format: &str) -> (i32, String) {
    let out = lab
        .cmd()
        .args(["--format", format, "--certbot"])
        .arg(conf)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn a_private_acme_server_is_an_unknown_ca_and_caa_is_not_judged_against_letsencrypt() {
    // The zone authorizes only the private CA: judged against letsencrypt.org this was a
    // caa-forbids error (exit 2) before.
    let lab = lab(zone("pebble.internal.test"), |_| Site::new());
    let conf = tempfile::tempdir().unwrap();
    certbot_conf(
        conf.path(),
        "https://user:pw@pebble.internal.test:14000/dir?token=s3cret",
        "https://pebble.internal.test:14000/my-account/1",
    );
    let (code, out) = run(&lab, conf.path(), "json");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let id = &doc["identifiers"][0];
    assert_eq!(id["ca"], "", "{doc:#}");
    assert_eq!(
        id["certificate"]["unknown_ca"],
        "https://pebble.internal.test:14000/dir"
    );
    assert!(!codes(&doc).contains(&"caa-forbids".to_string()), "{doc:#}");
    let f = finding(&doc, "ca-unknown");
    assert_eq!(f["severity"], "info", "{f}");
    assert!(f["fix"].as_str().unwrap().contains("--ca"), "{f}");
    assert!(
        f["evidence"].to_string().contains("pebble.internal.test"),
        "the records found are the evidence: {f}"
    );
    assert_eq!(id["outcome"], "pass", "{doc:#}");
    assert_eq!(code, 0);
    // Neither the directory URL's credentials nor its query reach the output.
    assert!(!out.contains("s3cret") && !out.contains("pw@"), "{out}");

    // The table says so in one line under the name.
    let (_, table) = run(&lab, conf.path(), "table");
    assert!(
        table.contains(
            "unknown CA at https://pebble.internal.test:14000/dir — CAA not judged; give --ca DOMAIN"
        ),
        "{table}"
    );

    // --ca makes it judged again, and the line says where the issuer came from.
    let out = lab
        .cmd()
        .args(["--ca", "pebble.internal.test", "--certbot"])
        .arg(conf.path())
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("CAA issuer pebble.internal.test (from --ca)"),
        "{table}"
    );
    assert_eq!(out.status.code(), Some(0), "{table}");
}

#[test]
fn a_known_ca_server_gives_its_issuer_domain_and_says_where_it_came_from() {
    let lab = lab(zone("pki.goog"), |_| Site::new());
    let conf = tempfile::tempdir().unwrap();
    certbot_conf(
        conf.path(),
        "https://dv.acme-v02.api.pki.goog/directory",
        "https://dv.acme-v02.api.pki.goog/account/abc",
    );
    let (code, out) = run(&lab, conf.path(), "json");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let id = &doc["identifiers"][0];
    assert_eq!(id["ca"], "pki.goog", "{doc:#}");
    assert_eq!(code, 0, "{doc:#}");
    let note = id["certificate"]["ca_note"].as_str().unwrap();
    assert!(
        note.starts_with("CAA issuer pki.goog (from the ACME server in ")
            && note.ends_with("renewal/www.example.test.conf)"),
        "{note}"
    );
    let (_, table) = run(&lab, conf.path(), "table");
    assert!(
        table.contains("CAA issuer pki.goog (from the ACME server in"),
        "{table}"
    );
}

#[test]
fn an_accounturi_for_another_account_names_both_and_the_fix_is_about_the_account() {
    let lab = lab(
        zone("letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/2"),
        |_| Site::new(),
    );
    let conf = tempfile::tempdir().unwrap();
    certbot_conf(
        conf.path(),
        "https://acme-v02.api.letsencrypt.org/directory",
        "https://acme-v02.api.letsencrypt.org/acme/acct/123456789",
    );
    let (code, out) = run(&lab, conf.path(), "json");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, 2, "{doc:#}");
    let f = finding(&doc, "caa-forbids");
    let evidence = f["evidence"].to_string();
    // Before: "do not authorize letsencrypt.org (they name letsencrypt.org)".
    assert!(!evidence.contains("do not authorize"), "{evidence}");
    assert!(
        evidence.contains("acme/acct/2"),
        "the record's account: {evidence}"
    );
    assert!(
        evidence.contains("…6789 at acme-v02.api.letsencrypt.org"),
        "the renewing account, shortened: {evidence}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("accounturi is the renewing account's URI")
            && fix.contains("renew with the account the record names"),
        "{fix}"
    );
    // The renewing account's URI is a secret: never in any output.
    assert!(!out.contains("123456789"), "{out}");
    let (_, table) = run(&lab, conf.path(), "table");
    assert!(!table.contains("123456789"), "{table}");
}
