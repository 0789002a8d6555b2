//! `--certbot` end to end: a certbot configuration directory built in the test (renewal confs in
//! the real configobj format, a certificate generated with the SANs, an accounts directory, a
//! malformed conf), checked by the real binary against the fakes, with the webroot from the
//! webroot map probed for real.

use std::path::Path;

use serde_json::Value;

use crate::dns::obs;
use crate::e2e::{finding, lab, plain_zone};
use crate::support::http::Site;

/// Writes a certificate for `names` expiring `days` from now into `path`.
fn certificate(path: &Path, names: &[&str], days: i64) {
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    let (y, m, d) = civil_from_days((now + days * 86_400).div_euclid(86_400));
    params.not_after = rcgen::date_time_ymd(y, m, d);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, cert.pem()).unwrap();
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    ((y + i64::from(m <= 2)) as i32, m as u8, d as u8)
}

fn certbot_dir(root: &Path, webroot: &Path) {
    let live = root.join("live/www.example.test/cert.pem");
    certificate(&live, &["www.example.test"], 60);
    let renewal = root.join("renewal");
    std::fs::create_dir_all(&renewal).unwrap();
    std::fs::write(
        renewal.join("www.example.test.conf"),
        format!(
            "# renew_before_expiry = 30 days\nversion = 2.11.0\narchive_dir = {root}/archive/www.example.test\n\
             cert = {live}\nprivkey = {root}/live/www.example.test/privkey.pem\n\
             chain = {root}/live/www.example.test/chain.pem\nfullchain = {root}/live/www.example.test/fullchain.pem\n\n\
             # Options used in the renewal process\n[renewalparams]\naccount = 11aa22bb33cc44dd55ee66ff77889900\n\
             authenticator = webroot\nwebroot_path = {web},\nserver = https://acme-v02.api.letsencrypt.org/directory\n\
             key_type = ecdsa\n[[webroot_map]]\nwww.example.test = {web}\n",
            root = root.display(),
            live = live.display(),
            web = webroot.display()
        ),
    )
    .unwrap();
    std::fs::write(
        renewal.join("broken.example.test.conf"),
        "[renewalparams\nthis is = = not configobj\n",
    )
    .unwrap();
    let acct = root
        .join("accounts/acme-v02.api.letsencrypt.org/directory/11aa22bb33cc44dd55ee66ff77889900");
    std::fs::create_dir_all(&acct).unwrap();
    std::fs::write(
        acct.join("regr.json"),
        r#"{"body": {}, "uri": "https://acme-v02.api.letsencrypt.org/acme/acct/123456789"}"#,
    )
    .unwrap();
}

#[test]
fn certbot_configuration_drives_names_method_ca_account_and_webroot_probe() {
    let web = tempfile::tempdir().unwrap();
    let webroot = web.path().to_path_buf();
    let lab = lab(
        plain_zone().caa(
            "example.test",
            0,
            "issue",
            "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/123456789",
        ),
        move |_| Site::new().webroot(webroot.clone()),
    );
    let conf = tempfile::tempdir().unwrap();
    certbot_dir(conf.path(), web.path());
    let out = lab
        .cmd()
        .args(["--format", "json", "--certbot"])
        .arg(conf.path())
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let id = &doc["identifiers"][0];
    assert_eq!(id["name"], "www.example.test", "{doc:#}");
    assert_eq!(id["methods"], serde_json::json!(["http-01"]));
    assert_eq!(id["ca"], "letsencrypt.org");
    let cert = &id["certificate"];
    assert_eq!(cert["client"], "certbot");
    assert_eq!(cert["authenticator"], "webroot");
    let days = cert["days_left"].as_i64().unwrap();
    assert!((58..=60).contains(&days), "{days}");
    // The account from regr.json satisfies the CAA accounturi restriction.
    assert_eq!(obs(&doc, "home", "caa")["ok"], true, "{doc:#}");
    // The webroot from the map was probed for real and left as it was.
    assert_eq!(obs(&doc, "home", "http-01")["signature"], "expected");
    assert!(obs(&doc, "eu-west", "http-01")["probe"].is_object());
    assert_eq!(std::fs::read_dir(web.path()).unwrap().count(), 0);
    // The malformed conf is reported and did not stop the rest.
    let f = finding(&doc, "client-config-unreadable");
    assert!(
        f["identifier"]
            .as_str()
            .unwrap()
            .ends_with("broken.example.test.conf"),
        "{f}"
    );
    assert_eq!(out.status.code(), Some(0), "{doc:#}");

    // The metrics carry the expiry, and the unreadable conf is a finding about the run, not a
    // series labelled with a file path as if it were a name.
    let out = lab
        .cmd()
        .args(["--format", "prometheus", "--certbot"])
        .arg(conf.path())
        .output()
        .unwrap();
    let prom = String::from_utf8(out.stdout).unwrap();
    let samples = crate::serve::validate(&prom);
    let series = |name: &str| {
        samples
            .iter()
            .find(|(s, _)| s.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {prom}"))
            .clone()
    };
    let (labels, expiry) = series("mpic_check_certificate_expiry_timestamp_seconds{");
    assert!(
        labels.contains(r#"identifier="www.example.test",lineage="www.example.test""#),
        "{labels}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(((expiry - now) / 86_400.0 - 60.0).abs() < 2.0, "{prom}");
    let (labels, n) = series("mpic_check_run_findings{");
    assert_eq!(
        (labels.as_str(), n),
        (
            r#"mpic_check_run_findings{code="client-config-unreadable",severity="warning"}"#,
            1.0
        ),
        "{prom}"
    );
    assert!(!prom.contains("broken.example.test.conf"), "{prom}");

    // The table shows the certificate and its expiry.
    let out = lab
        .cmd()
        .args(["--certbot"])
        .arg(conf.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("certbot www.example.test") && text.contains("expires in"),
        "{text}"
    );
}

#[test]
fn a_missing_certbot_directory_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::support::base_cmd(dir.path())
        .arg("--certbot")
        .arg(dir.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn a_certificate_close_to_expiry_is_flagged() {
    let web = tempfile::tempdir().unwrap();
    let webroot = web.path().to_path_buf();
    let lab = lab(plain_zone(), move |_| Site::new().webroot(webroot.clone()));
    let conf = tempfile::tempdir().unwrap();
    certbot_dir(conf.path(), web.path());
    // Replace the certificate with one that expires in 5 days: renewals have been failing.
    certificate(
        &conf.path().join("live/www.example.test/cert.pem"),
        &["www.example.test"],
        5,
    );
    let out = lab
        .cmd()
        .args(["--format", "json", "--certbot"])
        .arg(conf.path())
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = finding(&doc, "certificate-expiring");
    assert_eq!(f["severity"], "warning");
    assert!(
        f["evidence"][0].as_str().unwrap().contains("expires in"),
        "{f}"
    );
}
