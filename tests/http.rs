//! The HTTP-01 engine end to end: the CA's redirect rules, body limits, slow bodies, per-address
//! fetches (a dead extra address, an AAAA that refuses), User-Agent filtering told apart from
//! geoblocking, and the webroot probe (served, stale cache, cached 404, wrong webroot, and the
//! file removed again when the process is interrupted).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::dns::obs;
use crate::e2e::{Lab, codes, finding, lab, plain_zone, verdict};
use crate::support::dns::Zone;
use crate::support::http::{Block, HttpOrigin, Resp, Site};
use crate::support::{lo, perspective_toml};

fn challenge(site: Site, resp: Resp) -> Site {
    site.response("/.well-known/acme-challenge/*", resp)
}

fn run(lab: &Lab, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["www.example.test"];
    all.extend_from_slice(args);
    lab.json(&all)
}

#[test]
fn disallowed_redirects_fail_with_the_rule_named() {
    let cases: Vec<(Resp, &str)> = vec![
        (
            Resp::redirect(
                302,
                "http://www.example.test:8080/.well-known/acme-challenge/x",
            ),
            "not 8080",
        ),
        (
            Resp::redirect(301, "ftp://www.example.test/x"),
            "only http and https",
        ),
        (
            Resp::redirect(302, "/.well-known/acme-challenge/loop"),
            "Redirect loop",
        ),
        (
            Resp::redirect(303, "/elsewhere"),
            "disallowed redirect status code 303",
        ),
        // Boulder names the missing '/' of `Redirect / https://host` (host ends in .well-known).
        (
            Resp::redirect(302, "http://www.example.test.well-known/acme-challenge/x"),
            "missing '/'",
        ),
    ];
    for (resp, word) in cases {
        let lab = lab(plain_zone(), move |_| challenge(Site::new(), resp.clone()));
        let (code, doc) = run(&lab, &[]);
        assert_eq!(code, 2, "{word}: {doc:#}");
        let f = finding(&doc, "redirect-disallowed");
        assert!(f["evidence"].to_string().contains(word), "{word}: {f}");
        assert_eq!(
            obs(&doc, "home", "http-01")["signature"],
            "redirect-disallowed"
        );
    }
}

fn redirect_chain(n: usize) -> Site {
    let mut site = challenge(Site::new(), Resp::redirect(302, "/r1"));
    for i in 1..n {
        site = site.response(
            &format!("/r{i}"),
            Resp::redirect(302, &format!("/r{}", i + 1)),
        );
    }
    site.response(&format!("/r{n}"), Resp::status(404, "end of chain"))
}

/// Boulder (`va/http.go`, `processHTTPValidation`): `if numRedirects > maxRedirect` is tested
/// before `numRedirects++`, with `maxRedirect = 10`, so the 11th redirect is still followed.
#[test]
fn eleven_redirects_are_followed_twelve_are_not() {
    let lab11 = lab(plain_zone(), |_| redirect_chain(11));
    let (code, doc) = run(&lab11, &[]);
    assert_eq!(code, 0, "{doc:#}");
    let h = &obs(&doc, "us-east", "http-01")["http"];
    assert_eq!(h["hops"].as_array().unwrap().len(), 12);
    assert_eq!(h["status"], 404);
    let lab12 = lab(plain_zone(), |_| redirect_chain(12));
    let (code, doc) = run(&lab12, &[]);
    assert_eq!(code, 2, "{doc:#}");
    assert!(
        finding(&doc, "redirect-disallowed")["evidence"]
            .to_string()
            .contains("Too many redirects")
    );
    let h = &obs(&doc, "us-east", "http-01")["http"];
    assert_eq!(
        h["hops"].as_array().unwrap().len(),
        12,
        "the 12th is not followed"
    );
}

/// Boulder's `maxPathSize` (`va/http.go`): a redirect path over 2,000 bytes is refused.
#[test]
fn a_redirect_path_over_2000_bytes_is_refused() {
    for (len, ok) in [(2000, true), (2001, false)] {
        let target = format!("/{}", "a".repeat(len - 1));
        let lab = lab(plain_zone(), move |_| {
            challenge(Site::new(), Resp::redirect(302, &target))
        });
        let (code, doc) = run(&lab, &[]);
        if ok {
            assert_eq!(code, 0, "{len}: {doc:#}");
            assert_eq!(
                obs(&doc, "home", "http-01")["http"]["hops"]
                    .as_array()
                    .unwrap()
                    .len(),
                2
            );
        } else {
            assert_eq!(code, 2, "{len}: {doc:#}");
            let f = finding(&doc, "redirect-disallowed");
            assert!(
                f["evidence"]
                    .to_string()
                    .contains("Redirect target too long"),
                "{f}"
            );
        }
    }
}

/// Boulder's `validateHTTP01` trims with `unicode.IsSpace`: NBSP, NEL and the ideographic space
/// are white space; a zero-width space is not.
#[test]
fn trailing_unicode_white_space_is_trimmed_like_boulder() {
    let token = "uni-tok";
    let body = "uni-tok.thumbprint";
    let path = format!("/.well-known/acme-challenge/{token}");
    for (tail, ok) in [("\u{a0}\u{85}\u{3000}\r\n", true), ("\u{200b}", false)] {
        let served = format!("{body}{tail}");
        let lab = lab(plain_zone(), {
            let path = path.clone();
            move |_| Site::new().file(&path, &served)
        });
        let (code, doc) = run(&lab, &["--token", token, "--expect-body", body]);
        if ok {
            assert_eq!(code, 0, "{tail:?}: {doc:#}");
            assert_eq!(obs(&doc, "home", "http-01")["signature"], "expected");
        } else {
            assert_eq!(code, 2, "{tail:?}: {doc:#}");
            assert!(
                obs(&doc, "home", "http-01")["summary"]
                    .as_str()
                    .unwrap()
                    .contains("did not match")
            );
        }
    }
}

/// An https redirect target with a certificate for another name is followed (a CA ignores
/// certificate errors there), and an IP-literal target is followed like a name (Boulder's
/// `extractRequestTarget` returns an IP identifier for a non-reserved address); a server that
/// speaks only TLS 1.1 fails the redirect.
#[test]
fn https_redirects_need_tls_1_2_and_ignore_certificate_errors() {
    use crate::support::http::{HttpsOrigin, Tls};
    let token = "tls-tok";
    let body = "tls-tok.thumbprint";
    let modern = HttpsOrigin::start(lo(0, 77, 1), Tls::Modern(body.into())).expect("bind :443");
    let old = HttpsOrigin::start(lo(0, 77, 2), Tls::OnlyOld).expect("bind :443");
    let to =
        |o: &HttpsOrigin| format!("https://{}/.well-known/acme-challenge/{token}", o.addr.ip());
    let good = lab(plain_zone(), {
        let target = to(&modern);
        move |_| challenge(Site::new(), Resp::redirect(302, &target))
    });
    let (code, doc) = run(&good, &["--token", token, "--expect-body", body]);
    assert_eq!(code, 0, "{doc:#}");
    let h = &obs(&doc, "eu-west", "http-01")["http"];
    assert_eq!(h["hops"][1]["url"], to(&modern));
    assert_eq!(obs(&doc, "eu-west", "http-01")["signature"], "expected");

    let bad = lab(plain_zone(), {
        let target = to(&old);
        move |_| challenge(Site::new(), Resp::redirect(302, &target))
    });
    let (code, doc) = run(&bad, &["--token", token, "--expect-body", body]);
    assert_eq!(code, 2, "{doc:#}");
    let o = obs(&doc, "home", "http-01");
    assert_eq!(o["phase"], "tls", "{o}");
    let f = finding(&doc, "redirect-disallowed");
    assert!(f["evidence"].to_string().contains("TLS 1.2"), "{f}");
    assert!(f["fix"].as_str().unwrap().contains("TLS 1.2"), "{f}");
}

#[test]
fn a_known_token_needs_the_exact_small_body() {
    let token = "tok-0123456789";
    let body = "tok-0123456789.thumbprint";
    let path = format!("/.well-known/acme-challenge/{token}");
    let good = lab(plain_zone(), {
        let path = path.clone();
        move |_| Site::new().file(&path, &format!("{body}\n"))
    });
    let (code, doc) = run(&good, &["--token", token, "--expect-body", body]);
    assert_eq!(code, 0, "trailing whitespace is trimmed as CAs do: {doc:#}");
    assert_eq!(obs(&doc, "eu-west", "http-01")["signature"], "expected");

    let big = lab(plain_zone(), {
        let path = path.clone();
        move |_| Site::new().response(&path, Resp::status(200, "").with_body(vec![b'x'; 1 << 20]))
    });
    let (code, doc) = run(&big, &["--token", token, "--expect-body", body]);
    assert_eq!(code, 2, "{doc:#}");
    assert!(
        codes(&doc).contains(&"body-too-large".to_string()),
        "{doc:#}"
    );
    let h = &obs(&doc, "home", "http-01")["http"];
    assert_eq!(h["body_truncated"], true);
    assert!(
        h["body_len"].as_u64().unwrap() <= 1024,
        "never reads more than a small bound"
    );

    let wrong = lab(plain_zone(), move |_| {
        Site::new().file(&path, "someone-elses-token.x")
    });
    let (code, doc) = run(&wrong, &["--token", token, "--expect-body", body]);
    assert_eq!(code, 2);
    assert!(
        obs(&doc, "home", "http-01")["summary"]
            .as_str()
            .unwrap()
            .contains("did not match")
    );
}

#[test]
fn a_slow_drip_body_ends_at_the_timeout() {
    let token = "drip";
    let lab = lab(plain_zone(), |_| {
        Site::new().response(
            "/.well-known/acme-challenge/drip",
            Resp::status(200, "0123456789abcdefghijklmnopqrstuvwxyz")
                .with_drip(Duration::from_millis(250)),
        )
    });
    let (code, doc) = run(
        &lab,
        &["--token", token, "--expect-body", "x", "--timeout", "1s"],
    );
    let o = obs(&doc, "home", "http-01");
    assert_eq!(o["ok"], false);
    assert_eq!(o["phase"], "timeout", "{o}");
    assert_eq!(code, 2);
}

#[test]
fn a_dead_extra_address_is_found_by_fetching_each() {
    // 127.0.20.3 has no origin: the port is closed there.
    let zone = plain_zone().a("www.example.test", "127.0.20.3");
    let lab = lab(zone, |_| Site::new());
    let (_, doc) = run(&lab, &[]);
    let f = finding(&doc, "dead-address");
    assert!(f["fix"].as_str().unwrap().contains("127.0.20.3"), "{f}");
    let per: Vec<&Value> = doc["identifiers"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            o["perspective"] == "home" && o["check"] == "http-01" && !o["address"].is_null()
        })
        .collect();
    assert_eq!(per.len(), 2);
    assert!(
        per.iter()
            .any(|o| o["address"] == "127.0.20.3" && o["ok"] == false && o["phase"] == "connect"),
        "{per:?}"
    );
}

/// A lab without proxies: every perspective connects directly (needed for ::1, which the test
/// proxies refuse as a target).
fn direct_lab(
    zone: Zone,
    site: Site,
) -> (
    crate::support::dns::DnsServer,
    HttpOrigin,
    tempfile::TempDir,
    PathBuf,
) {
    let dns = crate::support::dns::DnsServer::start(lo(0, 0, 53), zone);
    let origin = HttpOrigin::start(lo(0, 20, 1), site);
    let mut toml = String::from("[defaults]\ntimeout = \"2s\"\n");
    for (name, role, rir) in [
        ("home", "primary", "ARIN"),
        ("r1", "remote", "RIPE"),
        ("r2", "remote", "APNIC"),
    ] {
        let udp = format!("udp://{}", dns.addr);
        toml.push_str(&perspective_toml(name, role, rir, &udp, None));
    }
    let (dir, config) = crate::support::write_config("direct.toml", &toml);
    (dns, origin, dir, config)
}

fn run_direct(origin: &HttpOrigin, dir: &Path, config: &Path, args: &[&str]) -> (i32, Value) {
    let out = crate::support::base_cmd(dir)
        .env("MPIC_CHECK_HTTP_PORT", origin.port().to_string())
        .arg("--config")
        .arg(config)
        .args([
            "--as-of",
            "2026-11-28",
            "--format",
            "json",
            "www.example.test",
        ])
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    crate::json_contract::every_failure_has_a_finding(&doc);
    (out.status.code().unwrap(), doc)
}

#[test]
fn an_aaaa_that_refuses_falls_back_to_ipv4_and_is_reported() {
    let zone = plain_zone().aaaa("www.example.test", "::1");
    let (_dns, origin, dir, config) = direct_lab(zone, Site::new());
    let (code, doc) = run_direct(&origin, dir.path(), &config, &[]);
    let main = obs(&doc, "home", "http-01");
    assert_eq!(
        main["ok"], true,
        "the CA falls back to IPv4 on a dial error: {main}"
    );
    assert!(
        main["summary"]
            .as_str()
            .unwrap()
            .contains("IPv4 after IPv6"),
        "{main}"
    );
    let f = finding(&doc, "ipv6-broken");
    assert!(f["fix"].as_str().unwrap().contains("::1"));
    assert_eq!(code, 1, "{doc:#}");
}

/// The token on IPv4, a 404 on the AAAA address: a CA dials the first AAAA and falls back only on
/// a dial error (Boulder `va/http.go`, `fallbackErr`), so it gets the 404.
#[test]
fn an_aaaa_that_answers_404_while_ipv4_serves_the_token_fails_with_its_cause() {
    let token = "v6-tok";
    let body = "v6-tok.thumbprint";
    let path = format!("/.well-known/acme-challenge/{token}");
    let zone = plain_zone().aaaa("www.example.test", "::1");
    let (_dns, origin, dir, config) = direct_lab(zone, Site::new().file(&path, body));
    let _v6 = HttpOrigin::start_on_port(&["::1".parse().unwrap()], origin.port(), |_| Site::new())
        .expect("bind [::1] on the origin's port");
    let (code, doc) = run_direct(
        &origin,
        dir.path(),
        &config,
        &["--token", token, "--expect-body", body],
    );
    assert_eq!(code, 2, "{doc:#}");
    let main = obs(&doc, "home", "http-01");
    assert_eq!(main["http"]["status"], 404, "{main}");
    assert_eq!(main["http"]["hops"][0]["address"], "::1", "{main}");
    let f = finding(&doc, "ipv6-broken");
    assert_eq!(f["severity"], "error", "{f}");
    let ev = f["evidence"].to_string();
    assert!(
        ev.contains("AAAA ::1: Invalid response")
            && ev.contains(": 404")
            && ev.contains("A 127.0.20.1: 200"),
        "{ev}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("never after an HTTP answer"),
        "{f}"
    );
}

/// An AAAA that accepts the connection and then says nothing: a read timeout is not a dial
/// error, so a CA does not fall back to IPv4.
#[test]
fn an_aaaa_that_stalls_after_connecting_is_not_fallen_back_from() {
    let zone = plain_zone().aaaa("www.example.test", "::1");
    let (_dns, origin, dir, config) = direct_lab(zone, Site::new());
    let _v6 = HttpOrigin::start_on_port(&["::1".parse().unwrap()], origin.port(), |_| {
        Site::new().block_source("::1".parse().unwrap(), Block::Drop)
    })
    .expect("bind [::1] on the origin's port");
    let (code, doc) = run_direct(&origin, dir.path(), &config, &[]);
    let main = obs(&doc, "home", "http-01");
    assert_eq!(main["ok"], false, "{main}");
    assert_eq!(main["phase"], "timeout", "{main}");
    assert!(
        !main["summary"]
            .as_str()
            .unwrap()
            .contains("IPv4 after IPv6"),
        "{main}"
    );
    assert_eq!(finding(&doc, "ipv6-broken")["severity"], "error");
    assert_eq!(code, 2, "{doc:#}");
}

/// Two A records: a CA dials the first only (no fallback between addresses of one family). The
/// tool orders a perspective's addresses (lowest first), so the dead one is the lower here.
#[test]
fn only_the_first_a_record_is_dialled() {
    let zone = Zone::new("test")
        .caa("example.test", 0, "issue", "letsencrypt.org")
        .a("www.example.test", "127.0.19.9")
        .a("www.example.test", crate::e2e::ORIGIN_DEFAULT);
    let lab = lab(zone, |_| Site::new());
    let (code, doc) = run(&lab, &[]);
    assert_eq!(code, 2, "{doc:#}");
    let main = obs(&doc, "home", "http-01");
    assert_eq!(main["http"]["hops"][0]["address"], "127.0.19.9", "{main}");
    assert_eq!(main["phase"], "connect", "{main}");
    assert!(
        finding(&doc, "dead-address")["fix"]
            .as_str()
            .unwrap()
            .contains("127.0.19.9")
    );
}

/// One region gets a 403, another has its connection closed without a response: both are in
/// the geoblocking finding, each with what it saw.
#[test]
fn every_blocked_region_is_in_the_geoblocking_finding_with_what_it_saw() {
    let lab = lab(plain_zone(), |_| {
        Site::new()
            .block_source(lo(0, 0, 4), Block::Status(403))
            .block_source(lo(0, 0, 5), Block::Close)
    });
    let (code, doc) = run(&lab, &[]);
    assert_eq!(code, 2, "{doc:#}");
    let f = finding(&doc, "http-geoblocked");
    let mut who: Vec<&str> = f["perspectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    who.sort_unstable();
    assert_eq!(who, ["ap-south", "eu-west"], "{f}");
    let ev = f["evidence"].to_string();
    assert!(ev.contains("eu-west: answered 403"), "{ev}");
    assert!(
        ev.contains("ap-south: connection closed without a response"),
        "{ev}"
    );
}

#[test]
fn user_agent_filtering_is_not_mistaken_for_geoblocking() {
    let lab = lab(plain_zone(), |_| {
        Site::new().block_user_agent("Let's Encrypt", Block::Status(403))
    });
    let (code, doc) = run(&lab, &[]);
    assert_eq!(code, 2, "{doc:#}");
    let f = finding(&doc, "user-agent-filtered");
    assert!(f["fix"].as_str().unwrap().contains("User-Agent"));
    assert!(!codes(&doc).contains(&"http-geoblocked".to_string()));
    let alt = &obs(&doc, "eu-west", "http-01")["http"]["alt_user_agent"];
    assert_eq!(alt["status"], 404, "{alt}");
    assert_eq!(verdict(&doc, "http-01")["outcome"], "fail");
}

fn listing(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let content = if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
                Vec::new()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            v.push((e.path().display().to_string(), content));
        }
    }
    v.sort();
    v
}

fn webroot_lab(make: impl Fn(PathBuf) -> Site + Send + Sync + 'static) -> (Lab, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("index.html"), "home page").unwrap();
    let path = root.path().to_path_buf();
    let lab = lab(plain_zone(), move |_| make(path.clone()));
    (lab, root)
}

#[test]
fn webroot_probe_is_served_everywhere_and_leaves_nothing_behind() {
    let (lab, root) = webroot_lab(|dir| Site::new().webroot(dir));
    let before = listing(root.path());
    let dir = root.path().display().to_string();
    let (code, doc) = run(&lab, &["--webroot", &dir]);
    assert_eq!(code, 0, "{doc:#}");
    let o = obs(&doc, "ap-south", "http-01");
    assert_eq!(o["signature"], "expected");
    assert_eq!(o["probe"]["before_status"], 404);
    assert_eq!(o["probe"]["rewrite_matched"], true);
    assert_eq!(
        listing(root.path()),
        before,
        "the webroot is exactly as before"
    );
    // Every perspective fetched the probe file three times (before, written, rewritten).
    let hits = lab
        .origins
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/.well-known/acme-challenge/"))
        .count();
    assert!(hits >= 12, "{hits}");
}

#[test]
fn a_cache_that_serves_the_old_probe_content_is_caught() {
    let (lab, root) = webroot_lab(|dir| Site::new().webroot(dir).caching());
    let dir = root.path().display().to_string();
    let (code, doc) = run(&lab, &["--webroot", &dir]);
    let f = finding(&doc, "cdn-cached-challenge");
    assert_eq!(f["severity"], "error");
    assert!(f["evidence"].to_string().contains("old content"), "{f}");
    assert_eq!(obs(&doc, "home", "http-01")["probe"]["rewrite_stale"], true);
    assert!(code >= 1);
}

/// An edge that caches 404s (and only those): the probe learns it from another random path
/// fetched twice, and fetches the probe file's own path only after the file exists, so it never
/// poisons the cache itself (it used to, and then failed with "404 from a cache").
#[test]
fn a_cache_that_keeps_404s_is_learned_without_poisoning_the_probe() {
    let (lab, root) = webroot_lab(|dir| Site::new().webroot(dir).caching_only_404s());
    let before = listing(root.path());
    let dir = root.path().display().to_string();
    let (code, doc) = run(&lab, &["--webroot", &dir]);
    assert_eq!(code, 0, "{doc:#}");
    let o = obs(&doc, "home", "http-01");
    assert_eq!(o["signature"], "expected", "{o}");
    assert!(
        o["probe"]["cached_404"]
            .as_str()
            .unwrap()
            .contains("x-cache: HIT"),
        "{o}"
    );
    let f = finding(&doc, "cdn-cached-challenge");
    assert_eq!(f["severity"], "info", "{f}");
    assert!(f["evidence"].to_string().contains("cached 404"), "{f}");
    assert!(
        !f["evidence"]
            .to_string()
            .contains("although the file exists"),
        "{f}"
    );
    assert_eq!(
        listing(root.path()),
        before,
        "the webroot is exactly as before"
    );
    // The 404 caching was learned from another path, fetched at least twice by each perspective;
    // the probe file's own path is a different one.
    let log = lab.origins.requests();
    let url = o["http"]["url"].as_str().unwrap();
    let probe_path = &url[url.find("/.well-known/").unwrap()..];
    let other = log
        .iter()
        .filter(|r| r.path.starts_with("/.well-known/acme-challenge/") && r.path != probe_path)
        .count();
    assert!(other >= 8, "{other}");
    assert!(log.iter().any(|r| r.path == probe_path));
}

#[test]
fn a_wrong_webroot_is_told_apart_from_a_cache() {
    let (lab, root) = webroot_lab(|_| Site::new());
    let dir = root.path().display().to_string();
    let (code, doc) = run(&lab, &["--webroot", &dir]);
    assert!(
        codes(&doc).contains(&"webroot-mismatch".to_string()),
        "{doc:#}"
    );
    assert!(!codes(&doc).contains(&"cdn-cached-challenge".to_string()));
    assert_eq!(code, 2);
}

#[test]
fn an_unusable_webroot_is_reported_and_nothing_is_overwritten() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join(".well-known"), "a file, not a directory").unwrap();
    let lab = lab(plain_zone(), |_| Site::new());
    let dir = root.path().display().to_string();
    let (_, doc) = run(&lab, &["--webroot", &dir]);
    let f = finding(&doc, "webroot-probe-failed");
    assert!(f["evidence"].to_string().contains("not a directory"), "{f}");
    assert_eq!(
        std::fs::read_to_string(root.path().join(".well-known")).unwrap(),
        "a file, not a directory"
    );
}

/// A lab whose origin serves `webroot` and where one region's requests hang, so a run sits in
/// the probe phase for seconds.
fn hanging_webroot_lab(webroot: &Path) -> Lab {
    let path = webroot.to_path_buf();
    lab(plain_zone(), move |_| {
        Site::new()
            .webroot(path.clone())
            .block_source(lo(0, 0, 5), Block::Drop)
    })
}

/// The binary probing `webroot` for www.example.test with 3 s steps, output captured.
fn spawn_webroot_probe(lab: &Lab, webroot: &Path) -> std::process::Child {
    lab.std_cmd()
        .args(["--format", "json", "--timeout", "3s", "--webroot"])
        .arg(webroot)
        .arg("www.example.test")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn interrupting_a_webroot_probe_restores_the_webroot() {
    for signal in ["INT", "TERM"] {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("index.html"), "home page").unwrap();
        let lab = hanging_webroot_lab(root.path());
        let before = listing(root.path());
        let child = spawn_webroot_probe(&lab, root.path());
        let challenge_dir = root.path().join(".well-known/acme-challenge");
        let mut seen = false;
        for _ in 0..200 {
            if std::fs::read_dir(&challenge_dir).is_ok_and(|mut d| d.next().is_some()) {
                seen = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(seen, "the probe file never appeared");
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        // What finished is reported (here: nothing, the probe was under way) and the run exits
        // 130; the report says the probe file was removed.
        assert_eq!(out.status.code(), Some(130), "{signal}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("Interrupted by SIG{signal}: 0 of 1 names checked")),
            "{err}"
        );
        assert!(
            err.contains("was stopped and its probe file removed"),
            "{err}"
        );
        assert_eq!(
            listing(root.path()),
            before,
            "SIG{signal}: webroot exactly as before"
        );
    }
}

#[test]
fn the_probe_is_0644_and_its_directories_0755_even_under_umask_077() {
    // The web server is often another user: with the umask's mode (0600/0700) it could not read
    // the file and every perspective would see 403. The binary runs under `umask 077` (set in
    // its own shell, never in this shared test process) and is inspected mid-probe.
    let root = tempfile::tempdir().unwrap();
    let lab = hanging_webroot_lab(root.path());
    let probe = lab.std_cmd();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(r#"umask 077; exec "$0" "$@""#)
        .arg(probe.get_program())
        .args(probe.get_args());
    for (k, v) in probe.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let child = cmd
        .args(["--format", "json", "--timeout", "3s", "--webroot"])
        .arg(root.path())
        .arg("www.example.test")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let challenge_dir = root.path().join(".well-known/acme-challenge");
    // The content is written after the mode is set, so a non-empty file has its final mode.
    let mut file = None;
    for _ in 0..200 {
        if let Some(e) = std::fs::read_dir(&challenge_dir)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(Result::ok)
            .filter(|e| e.metadata().is_ok_and(|m| m.len() > 0))
        {
            file = Some(e.path());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let file = file.expect("the probe file never appeared");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    assert!(
        status.lines().any(|l| l == "Umask:\t0077"),
        "the probe did not run under umask 077: {status}"
    );
    let mode =
        |p: &Path| std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(p).unwrap()) & 0o7777;
    let modes = (
        mode(&file),
        mode(&challenge_dir),
        mode(&root.path().join(".well-known")),
    );
    std::process::Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        modes,
        (0o644, 0o755, 0o755),
        "file, acme-challenge, .well-known (octal {:o} {:o} {:o})",
        modes.0,
        modes.1,
        modes.2
    );
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(root.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn signals_at_random_points_never_leave_anything_in_the_webroot() {
    use rand::Rng;
    // One lab, many runs: each gets SIGINT, SIGTERM or SIGHUP after a random delay, from before
    // the probe file exists (start-up, DNS) to the middle of the fetches, and sometimes a second
    // signal right behind the first. Whatever the moment, the webroot ends exactly as it was.
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("index.html"), "home page").unwrap();
    std::fs::create_dir_all(root.path().join(".well-known")).unwrap();
    std::fs::write(root.path().join(".well-known/security.txt"), "Contact: x").unwrap();
    let lab = hanging_webroot_lab(root.path());
    let before = listing(root.path());
    let mut rng = rand::rng();
    let mut caught = 0;
    for i in 0..16 {
        let signal = ["INT", "TERM", "HUP"][i % 3];
        let delay = Duration::from_millis(rng.random_range(0..1200));
        let twice = rng.random_bool(0.3);
        let child = spawn_webroot_probe(&lab, root.path());
        std::thread::sleep(delay);
        for _ in 0..if twice { 2 } else { 1 } {
            let _ = std::process::Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(child.id().to_string())
                .status();
        }
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        // Caught (exit 130, said so) once the handlers are up; before that the default action
        // ends the process, which is fine because nothing has been written yet.
        match out.status.code() {
            Some(130) if err.contains("Interrupted by SIG") => caught += 1,
            None => {}
            other => panic!("SIG{signal} after {delay:?}: exit {other:?}: {err}"),
        }
        assert_eq!(
            listing(root.path()),
            before,
            "SIG{signal} after {delay:?} (twice: {twice}): webroot exactly as before"
        );
    }
    // Most delays land in the probe phase (the blocked region keeps it open for seconds).
    assert!(
        caught >= 8,
        "only {caught} of 16 runs were caught mid-probe"
    );
}

#[test]
fn http_proxy_perspectives_let_the_proxy_resolve_and_pin_addresses_with_connect() {
    use std::collections::HashMap;

    use crate::support::httpproxy::HttpProxy;
    // Two published addresses; the second has no origin.
    let zone = plain_zone().a("www.example.test", "127.0.20.3");
    let lab = lab(zone, |_| Site::new());
    let hosts: HashMap<String, std::net::IpAddr> =
        [("www.example.test".to_string(), lo(0, 20, 1))].into();
    let proxy = HttpProxy::start(lo(0, 31, 4), lo(0, 0, 6), hosts);
    let text = std::fs::read_to_string(&lab.config).unwrap();
    std::fs::write(
        &lab.config,
        text.replace(&lab.proxies[3].url(false), &proxy.url()),
    )
    .unwrap();
    let (_, doc) = run(&lab, &[]);
    // The CA-like fetch went to the proxy by name (absolute form): the proxy's view decides.
    let main = obs(&doc, "ap-south", "http-01");
    assert_eq!(main["ok"], true, "{main}");
    let port = lab.origins.port();
    let reqs = proxy.requests();
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("GET http://www.example.test:")
                && r.contains("/.well-known/acme-challenge/")),
        "{reqs:?}"
    );
    // Each published address was tested through an explicit CONNECT to it.
    assert!(
        reqs.contains(&format!("CONNECT 127.0.20.1:{port} HTTP/1.1")),
        "{reqs:?}"
    );
    assert!(
        reqs.contains(&format!("CONNECT 127.0.20.3:{port} HTTP/1.1")),
        "{reqs:?}"
    );
    let dead = doc["identifiers"][0]["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["perspective"] == "ap-south" && o["address"] == "127.0.20.3")
        .unwrap();
    assert_eq!(dead["ok"], false);
    assert_eq!(dead["phase"], "connect", "{dead}");
    assert_eq!(
        dead["perspective_fault"], false,
        "a refused target is not the proxy's fault"
    );
    // Requests through the proxy left from its egress and carried the name in Host.
    assert!(lab.origins.requests().iter().any(|r| {
        r.src == lo(0, 0, 6)
            && r.host
                .as_deref()
                .is_some_and(|h| h.starts_with("www.example.test"))
    }));
}
