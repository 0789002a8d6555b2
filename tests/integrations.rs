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
pub fn certificate(path: &Path, names: &[&str], days: i64) {
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
    // …but its names went unchecked, so the run cannot be ready.
    assert_eq!(id["outcome"], "pass", "{doc:#}");
    assert_eq!(doc["outcome"], "unknown");
    assert_eq!(out.status.code(), Some(3), "{doc:#}");

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

// ---------------------------------------------------------------------------------------------
// `mpic-check gate`: a certbot directory with certificates in every state, a fake certbot that
// records its argv, and the real checks against the lab.

/// One lineage: its certificate (expiring in `days`) and a renewal conf with `authenticator`.
fn lineage(root: &Path, name: &str, sans: &[&str], days: i64, extra: &str) {
    let live = root.join(format!("live/{name}/cert.pem"));
    certificate(&live, sans, days);
    let renewal = root.join("renewal");
    std::fs::create_dir_all(&renewal).unwrap();
    std::fs::write(
        renewal.join(format!("{name}.conf")),
        format!(
            "version = 2.1.0\ncert = {live}\n[renewalparams]\nauthenticator = nginx\n\
             server = https://acme-v02.api.letsencrypt.org/directory\n{extra}\n",
            live = live.display()
        ),
    )
    .unwrap();
}

/// A fake certbot that appends its arguments to `calls` and exits `status`.
fn fake_certbot(dir: &Path, status: i32) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let calls = dir.join("calls");
    let bin = dir.join("certbot");
    std::fs::write(
        &bin,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexit {status}\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, calls)
}

fn gate_lab() -> (crate::e2e::Lab, tempfile::TempDir) {
    let zone = plain_zone()
        .a("bad.example.test", crate::e2e::ORIGIN_DEFAULT)
        .caa("bad.example.test", 0, "issue", "other-ca.example");
    let lab = lab(zone, |_| Site::new());
    let conf = tempfile::tempdir().unwrap();
    let root = conf.path();
    lineage(root, "ready.example.test", &["www.example.test"], 20, "");
    lineage(root, "fails.example.test", &["bad.example.test"], 10, "");
    lineage(root, "later.example.test", &["www.example.test"], 60, "");
    lineage(root, "early.example.test", &["www.example.test"], 50, "");
    // Renewed 60 days before expiry by its own setting: due although 50 days are left.
    let early = root.join("renewal/early.example.test.conf");
    let text = std::fs::read_to_string(&early).unwrap();
    std::fs::write(&early, format!("renew_before_expiry = 60 days\n{text}")).unwrap();
    std::fs::write(
        root.join("renewal/broken.example.test.conf"),
        "[renewalparams\nthis is = = not configobj\n",
    )
    .unwrap();
    (lab, conf)
}

fn gate_cmd(lab: &crate::e2e::Lab, conf: &Path, certbot: &Path) -> std::process::Command {
    let mut c = lab.std_cmd_without_config();
    c.arg("gate")
        .arg("--config")
        .arg(&lab.config)
        .args(["--as-of", "2026-11-28", "--certbot-bin"])
        .arg(certbot)
        .arg("--config-dir")
        .arg(conf);
    c
}

#[test]
fn gate_renews_each_ready_due_certificate_and_holds_the_one_that_would_fail() {
    let (lab, conf) = gate_lab();
    let bin_dir = tempfile::tempdir().unwrap();
    let (certbot, calls) = fake_certbot(bin_dir.path(), 0);
    let out = gate_cmd(&lab, conf.path(), &certbot)
        .args(["--", "--no-random-sleep-on-renew", "--quiet"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // One certificate held because it would fail: exit 2, the others renewed anyway.
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {stdout}"))
    };
    assert_eq!(
        line("renew ready.example.test"),
        "renew ready.example.test: ready"
    );
    assert_eq!(
        line("renew early.example.test"),
        "renew early.example.test: ready"
    );
    assert!(
        line("hold fails.example.test: would fail: caa-forbids [bad.example.test]").len() > 60,
        "{stdout}"
    );
    assert!(line("skip later.example.test: not due").contains("certbot renews it from"));
    assert!(
        line("renew broken.example.test: could not assess: unreadable renewal conf")
            .contains("line"),
        "{stdout}"
    );
    assert!(
        stderr.contains("WARNING: could not assess broken.example.test; renewing unchecked"),
        "{stderr}"
    );
    let dir = conf.path().display();
    let called = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(
        called,
        format!(
            "renew --cert-name broken.example.test --config-dir {dir} --no-random-sleep-on-renew --quiet\n\
             renew --cert-name early.example.test --config-dir {dir} --no-random-sleep-on-renew --quiet\n\
             renew --cert-name ready.example.test --config-dir {dir} --no-random-sleep-on-renew --quiet\n"
        )
    );
    assert!(line("renewed ready.example.test").ends_with("exited 0"));
}

#[test]
fn gate_print_and_policies_and_certbot_failure() {
    let (lab, conf) = gate_lab();
    let bin_dir = tempfile::tempdir().unwrap();
    let (certbot, calls) = fake_certbot(bin_dir.path(), 1);
    // --print: decisions only, certbot never runs; --on-unknown hold holds the broken conf (3).
    let out = gate_cmd(&lab, conf.path(), &certbot)
        .args(["--print", "--on-unknown", "hold", "--all"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("hold broken.example.test: could not assess"),
        "{stdout}"
    );
    // --all checks the certificate that is not due too.
    assert!(
        stdout.contains("renew later.example.test: ready"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("would renew: early.example.test later.example.test ready.example.test\n"),
        "{stdout}"
    );
    assert!(!calls.exists(), "--print ran certbot");

    // certbot failing is the gate's failure (4), named per certificate.
    std::fs::remove_file(conf.path().join("renewal/fails.example.test.conf")).unwrap();
    let out = gate_cmd(&lab, conf.path(), &certbot).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("failed ready.example.test: ") && stdout.contains(" exited 1"),
        "{stdout}"
    );
    // A certbot that does not exist is a failure too, not a panic.
    let out = gate_cmd(&lab, conf.path(), &bin_dir.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("cannot run"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn gate_renews_unchecked_with_a_warning_when_the_perspectives_are_down() {
    let conf = tempfile::tempdir().unwrap();
    lineage(
        conf.path(),
        "ready.example.test",
        &["www.example.test"],
        20,
        "",
    );
    let bin_dir = tempfile::tempdir().unwrap();
    let (certbot, calls) = fake_certbot(bin_dir.path(), 0);
    // Every perspective behind a SOCKS proxy that is not there: a checker outage.
    let mut toml = String::from("[defaults]\ntimeout = \"1s\"\n");
    for (name, role, rir, n) in [
        ("home", "primary", "ARIN", 2),
        ("r1", "remote", "ARIN", 3),
        ("r2", "remote", "RIPE", 4),
        ("r3", "remote", "APNIC", 5),
    ] {
        toml.push_str(&crate::support::perspective_toml(
            name,
            role,
            rir,
            "udp://127.0.9.1:9",
            Some(&format!("socks5://127.0.9.{n}:9")),
        ));
    }
    let (dir, config) = crate::support::write_config("down.toml", &toml);
    let run = |extra: &[&str]| {
        crate::support::base_command(dir.path())
            .arg("gate")
            .arg("--config")
            .arg(&config)
            .arg("--certbot-dir")
            .arg(conf.path())
            .arg("--certbot-bin")
            .arg(&certbot)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("renew ready.example.test: could not assess"),
        "{stdout}"
    );
    assert!(stderr.contains("WARNING"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 1);
    let out = run(&["--on-unknown", "hold"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap().lines().count(),
        1,
        "held: certbot not run again"
    );
}

#[test]
fn unreadable_confs_never_make_a_run_ready() {
    let web = tempfile::tempdir().unwrap();
    let lab = lab(plain_zone(), |_| Site::new());
    let conf = tempfile::tempdir().unwrap();
    lineage(
        conf.path(),
        "ready.example.test",
        &["www.example.test"],
        20,
        "",
    );
    for n in 1..=4 {
        std::fs::write(
            conf.path()
                .join(format!("renewal/bad{n}.example.test.conf")),
            "[renewalparams\n",
        )
        .unwrap();
    }
    let out = lab
        .cmd()
        .args(["--format", "json", "--certbot"])
        .arg(conf.path())
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["identifiers"][0]["outcome"], "pass", "{doc:#}");
    assert_eq!(doc["outcome"], "unknown");
    assert_eq!(out.status.code(), Some(3));
    drop(web);
}

#[test]
fn certbot_dir_via_mpic_args_and_a_directory_operand() {
    let conf = tempfile::tempdir().unwrap();
    // An explicit perspectives file, so nothing on the machine (/etc/mpic-check) is read.
    let (home, config) = crate::support::write_config(
        "one.toml",
        &crate::support::perspective_toml("home", "primary", "ARIN", "udp://127.0.9.1:9", None),
    );
    // A wrapper that adds --certbot, plus MPIC_ARGS="--certbot DIR": the last one wins.
    let out = crate::support::base_cmd(home.path())
        .arg("--config")
        .arg(&config)
        .args(["--certbot", "--certbot"])
        .arg(conf.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        err.contains(&format!("{}/renewal", conf.path().display())),
        "{err}"
    );
    // The directory alone, where a name belongs: say what to write instead.
    let out = crate::support::base_cmd(home.path())
        .arg(conf.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("is a directory, not a name") && err.contains("--certbot"),
        "{err}"
    );
}

#[test]
fn gate_stops_starting_certbot_after_a_signal() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let le = dir.path().join("le");
    std::fs::create_dir_all(le.join("renewal")).unwrap();
    // Unreadable confs need no checks: both are renewed unchecked (--on-unknown renew).
    for name in ["a.example.test", "b.example.test"] {
        std::fs::write(le.join(format!("renewal/{name}.conf")), "[renewalparams\n").unwrap();
    }
    let calls = dir.path().join("calls");
    let certbot = dir.path().join("certbot");
    std::fs::write(
        &certbot,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\nsleep 2\n", calls.display()),
    )
    .unwrap();
    std::fs::set_permissions(&certbot, std::fs::Permissions::from_mode(0o755)).unwrap();
    let child = crate::support::base_command(dir.path())
        .arg("gate")
        .arg("--config-dir")
        .arg(&le)
        .arg("--certbot-bin")
        .arg(&certbot)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("interrupted by SIGTERM") && stdout.contains("not started: b.example.test"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 1);
}
