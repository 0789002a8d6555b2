//! Browser test for the HTML report: renders a realistic run (a primary and five remotes, one per
//! RIR, with one region geoblocked on port 80) and has Debian's headless chromium load the file
//! and take a screenshot. A page a browser cannot lay out would give a blank or tiny image, which
//! the size check catches; the structural checks (well-formed, escaped, nothing external) live
//! with the renderer's unit tests. Chromium is optional on a build machine, so the test says SKIP
//! and passes without it. With `MPIC_HTML_SCREENSHOT=path` it also copies the screenshot there,
//! which is how `docs/report.png` for the README is made (`MPIC_HTML_PAGE=path` keeps the page).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mpic_check::analysis::{FindingCode, mark::mark_report};
use mpic_check::model::{
    Coverage, Finding, IdentifierReport, Outcome, PerspectiveInfo, PolicyInfo, Report, Severity,
    ToolInfo, Verdict,
};
use mpic_check::observation::{
    CaaFacts, CaaRecord, Check, DnsExchange, HttpFacts, HttpHop, Method, Observation, Phase, Rir,
    Role, Rr,
};
use mpic_check::report::html;

/// Chromium's first start in a fresh profile is slow on a loaded CI machine; a hang is a failure.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

/// A page that rendered has text, a map and tables; an empty or failed render is a few KB.
const MIN_PNG_BYTES: u64 = 10 * 1024;

/// `/usr/bin/chromium` (Debian's package), else `chromium` anywhere on PATH.
fn chromium() -> Option<PathBuf> {
    let debian = Path::new("/usr/bin/chromium");
    if debian.is_file() {
        return Some(debian.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
}

/// (name, role, RIR, [lat, lon]): the CA-like vantage in Ashburn and one remote per RIR.
const PERSPECTIVES: [(&str, Role, Rir, [f64; 2]); 6] = [
    ("home", Role::Primary, Rir::Arin, [39.04, -77.49]),
    ("us-west", Role::Remote, Rir::Arin, [45.60, -121.18]),
    ("eu-central", Role::Remote, Rir::Ripe, [50.11, 8.68]),
    ("ap-southeast", Role::Remote, Rir::Apnic, [1.35, 103.82]),
    ("sa-east", Role::Remote, Rir::Lacnic, [-23.55, -46.63]),
    ("af-south", Role::Remote, Rir::Afrinic, [-33.92, 18.42]),
];

/// The region whose firewall drops port 80.
const BLOCKED: &str = "ap-southeast";

fn perspectives() -> Vec<PerspectiveInfo> {
    let mut v: Vec<PerspectiveInfo> = PERSPECTIVES
        .iter()
        .map(|&(name, role, rir, loc)| PerspectiveInfo {
            name: name.into(),
            role,
            rir: Some(rir),
            dns: if role == Role::Primary {
                "system resolver".into()
            } else {
                format!("https://dns.example.net/dns-query via socks5h://{name}.proxy.example.net")
            },
            http: if role == Role::Primary {
                "direct".into()
            } else {
                format!("socks5h://{name}.proxy.example.net:1080")
            },
            nameserver: None,
            location: Some(loc),
            dns_provenance: None,
            http_provenance: None,
        })
        .collect();
    v.push(PerspectiveInfo {
        name: "auth:ns1.dnsprovider.example".into(),
        role: Role::Source,
        rir: None,
        dns: "udp://198.51.100.53:53".into(),
        http: "-".into(),
        nameserver: Some("ns1.dnsprovider.example".into()),
        location: None,
        dns_provenance: None,
        http_provenance: None,
    });
    v
}

fn blank(perspective: &str, check: Check, ok: bool, summary: &str) -> Observation {
    Observation {
        perspective: perspective.into(),
        check,
        address: None,
        ok,
        phase: None,
        perspective_fault: false,
        summary: summary.into(),
        elapsed_ms: 40,
        signature: Default::default(),
        addresses: Vec::new(),
        dns: Vec::new(),
        http: None,
        caa: None,
        txt: Vec::new(),
        probe: None,
        refused: Vec::new(),
        ns_capped: None,
        connect_failure: None,
        fingerprints: Vec::new(),
        txt_doubled: None,
        provenance: None,
        tls: None,
        tool_fault: None,
    }
}

fn exchange(qname: &str, qtype: &str, server: &str, answers: Vec<Rr>) -> DnsExchange {
    DnsExchange {
        qname: qname.into(),
        qtype: qtype.into(),
        server: server.into(),
        rcode: Some("NOERROR".into()),
        aa: false,
        ad: false,
        answers,
        cname_chain: vec![qname.into()],
        negative_ttl: None,
        ecs: None,
        ecs_scope: None,
        elapsed_ms: 23,
        error: None,
        ede: None,
        retransmits: 0,
        diagnostic: false,
        reused: false,
    }
}

fn observations(name: &str) -> Vec<Observation> {
    let addr = "203.0.113.10";
    let mut v = Vec::new();
    for &(p, role, _, _) in &PERSPECTIVES {
        let server = if role == Role::Primary {
            "udp://127.0.0.53:53"
        } else {
            "https://dns.example.net/dns-query"
        };
        let mut a = blank(p, Check::Address, true, &format!("{name} → {addr}"));
        a.signature = addr.into();
        a.addresses = vec![addr.into()];
        a.dns = vec![exchange(
            name,
            "A",
            server,
            vec![Rr {
                name: name.into(),
                rtype: "A".into(),
                ttl: 300,
                data: addr.into(),
            }],
        )];
        v.push(a);

        let mut c = blank(
            p,
            Check::Caa,
            true,
            "CAA at example.com permits letsencrypt.org",
        );
        c.signature = "permit".into();
        c.caa = Some(CaaFacts {
            found_at: Some("example.com".into()),
            records: vec![CaaRecord {
                flags: 0,
                tag: "issue".into(),
                value: "letsencrypt.org".into(),
            }],
            decision: mpic_check::observation::CaaDecision::Permit,
            reason: "issue letsencrypt.org matches the CA".into(),
        });
        v.push(c);

        let url = format!("http://{name}/.well-known/acme-challenge/mpic-Yq3pJb2Qx9");
        let via = if role == Role::Primary {
            "direct".to_string()
        } else {
            format!("socks5h://{p}.proxy.example.net:1080")
        };
        let ua = "Mozilla/5.0 (compatible; Let's Encrypt validation server; \
                  +https://www.letsencrypt.org)";
        let h = if p == BLOCKED {
            let mut h = blank(
                p,
                Check::Http01,
                false,
                "Timeout after connect (your server may be slow or overloaded): no response \
                 within 10 s",
            );
            h.phase = Some(Phase::Timeout);
            h.signature = "error:timeout".into();
            h.elapsed_ms = 10_004;
            h.http = Some(HttpFacts {
                url: url.clone(),
                via,
                user_agent: ua.into(),
                hops: vec![HttpHop {
                    url,
                    address: Some(format!("{addr}:80")),
                    status: None,
                    location: None,
                    headers: Vec::new(),
                    elapsed_ms: 10_004,
                }],
                status: None,
                body_prefix: None,
                body_len: None,
                body_sha256: None,
                body_truncated: false,
                alt_user_agent: None,
            });
            h
        } else {
            let via_text = if role == Role::Primary {
                String::new()
            } else {
                format!(" via {p}")
            };
            let mut h = blank(
                p,
                Check::Http01,
                true,
                &format!("404 from the origin{via_text} (random token)"),
            );
            h.signature = "origin-404".into();
            h.elapsed_ms = 180;
            h.http = Some(HttpFacts {
                url: url.clone(),
                via,
                user_agent: ua.into(),
                hops: vec![HttpHop {
                    url,
                    address: Some(format!("{addr}:80")),
                    status: Some(404),
                    location: None,
                    headers: vec![
                        ("server".into(), "nginx/1.24.0".into()),
                        ("content-type".into(), "text/html".into()),
                    ],
                    elapsed_ms: 180,
                }],
                status: Some(404),
                body_prefix: Some("<html>\\r\\n<head><title>404 Not Found</title>".into()),
                body_len: Some(153),
                body_sha256: Some(
                    "6ba5dc1c7e1e2f4ea3d2b3c6a3b7a5b1f7d2f0e39a1a2c4b8e9d6f3a2b1c0d9e".into(),
                ),
                body_truncated: false,
                alt_user_agent: None,
            });
            h
        };
        v.push(h);
    }
    let mut src = blank(
        "auth:ns1.dnsprovider.example",
        Check::Address,
        true,
        &format!("{name} → {addr} (authoritative)"),
    );
    src.signature = addr.into();
    src.addresses = vec![addr.into()];
    v.push(src);
    v
}

fn verdict(check: Check, blocked: bool) -> Verdict {
    let remotes: Vec<&str> = PERSPECTIVES
        .iter()
        .filter(|p| p.1 == Role::Remote)
        .map(|p| p.0)
        .collect();
    let (ok, dissent): (Vec<&str>, Vec<&str>) =
        remotes.iter().partition(|p| !(blocked && **p == BLOCKED));
    let rirs: Vec<Rir> = Rir::ALL
        .into_iter()
        .filter(|r| !(blocked && *r == Rir::Apnic))
        .collect();
    let rir_text: Vec<&str> = rirs.iter().map(|r| r.as_str()).collect();
    let outcome = if dissent.is_empty() {
        Outcome::Pass
    } else {
        Outcome::AtRisk
    };
    Verdict {
        reach: Default::default(),
        from_this_host: Vec::new(),
        check,
        outcome,
        corroborating: ok.len(),
        remotes: remotes.len(),
        required: 4,
        rirs,
        primary_ok: true,
        corroborating_perspectives: ok.iter().map(|s| s.to_string()).collect(),
        dissenting_perspectives: dissent.iter().map(|s| s.to_string()).collect(),
        explanation: format!(
            "{}/{} remotes corroborate, 4 needed, RIRs {}",
            ok.len(),
            remotes.len(),
            rir_text.join("+")
        ),
        next_phase: None,
    }
}

fn identifier(name: &str, blocked: bool) -> IdentifierReport {
    let mut observations = observations(name);
    if !blocked {
        // The apex is served by a host without the regional firewall rule.
        for o in &mut observations {
            if o.check == Check::Http01 && !o.ok {
                o.ok = true;
                o.phase = None;
                o.signature = "origin-404".into();
                o.summary = format!("404 from the origin via {BLOCKED} (random token)");
                if let Some(h) = &mut o.http {
                    h.status = Some(404);
                    h.hops[0].status = Some(404);
                    h.hops[0].elapsed_ms = 212;
                }
                o.elapsed_ms = 212;
            }
        }
    }
    let verdicts = vec![verdict(Check::Caa, false), verdict(Check::Http01, blocked)];
    IdentifierReport {
        name: name.into(),
        methods: vec![Method::Http01],
        outcome: if blocked {
            Outcome::AtRisk
        } else {
            Outcome::Pass
        },
        verdicts,
        observations,
        ca: "letsencrypt.org".into(),
        certificate: None,
        marks: Vec::new(),
        acme_dry_run: None,
    }
}

/// A run as `mpic-check www.example.com example.com` would report it with the six perspectives
/// of the README's config example and a firewall that drops port 80 from Singapore for `www`.
fn realistic_report() -> Report {
    let coverage = [
        (
            "geodns-divergence",
            true,
            "5 remote perspective(s) resolved the name with their own DNS view",
        ),
        (
            "http-geoblocked",
            true,
            "5 remote perspective(s) fetch HTTP through a proxy in their region",
        ),
        (
            "dns-refused-by-region",
            true,
            "each perspective asks with its own resolver or ECS subnet",
        ),
        (
            "ns-inconsistent",
            false,
            "1 authoritative nameserver address(es) asked directly and compared",
        ),
        (
            "ns-unreachable",
            true,
            "1 authoritative nameserver address(es) asked directly and compared",
        ),
        ("txt-missing-on-ns", false, "only with --method dns-01"),
        (
            "caa-forbids",
            true,
            "CAA climb evaluated from each perspective",
        ),
        (
            "caa-lookup-failed",
            true,
            "CAA lookup errors recorded per perspective",
        ),
        (
            "dead-address",
            false,
            "the name has a single address, or proxies resolve names themselves",
        ),
        (
            "redirect-disallowed",
            true,
            "redirects followed under the CA rules",
        ),
        (
            "body-too-large",
            false,
            "needs a known body: --webroot or --token with --expect-body",
        ),
        (
            "cdn-cached-challenge",
            true,
            "cache headers checked only; --webroot also detects stale content and cached 404s",
        ),
        (
            "user-agent-filtered",
            true,
            "a refused fetch is repeated with a browser User-Agent",
        ),
    ]
    .into_iter()
    .map(|(m, tested, why)| Coverage {
        failure_mode: FindingCode::parse(m).expect("a finding code"),
        tested,
        why: why.into(),
    })
    .collect();
    let mut report = Report {
        schema_version: 1,
        tool: ToolInfo {
            name: "mpic-check".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        started_at: "2026-11-28T09:14:07.412Z".into(),
        duration_ms: 10_391,
        policy: PolicyInfo {
            name: "br".into(),
            remotes_required: 4,
            allowed_failures: 1,
            rirs_required: 2,
            as_of: "2026-11-28".into(),
        },
        ca: "letsencrypt.org".into(),
        outcome: Outcome::AtRisk,
        exit_code: 1,
        perspectives: perspectives(),
        identifiers: vec![
            identifier("www.example.com", true),
            identifier("example.com", false),
        ],
        findings: vec![Finding {
            code: FindingCode::HttpGeoblocked,
            severity: Severity::Warning,
            identifier: "www.example.com".into(),
            perspectives: vec![BLOCKED.into()],
            evidence: vec![
                "home (primary): 404 from the origin (random token)".into(),
                format!(
                    "{BLOCKED}: Timeout after connect (your server may be slow or overloaded): \
                     no response within 10 s"
                ),
            ],
            fix: "port 80 answers from some regions but not others (timeout, refusal or \
                  403/451): allow /.well-known/acme-challenge/ on port 80 from all countries in \
                  the firewall, WAF or CDN geo rules; CAs validate from several continents and do \
                  not publish their addresses"
                .into(),
        }],
        coverage,
    };
    // Hand-built: mark the observations as the analysis would.
    mark_report(&mut report);
    report
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        println!("SKIP html browser test: chromium not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let png = dir.path().join("report.png");
    let profile = dir.path().join("profile");
    let mut bytes = Vec::new();
    html::render(&realistic_report(), &mut bytes).unwrap();
    std::fs::write(&page, &bytes).unwrap();

    let log = std::fs::File::create(dir.path().join("chromium.log")).unwrap();
    let mut child = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1280,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {CHROMIUM_TIMEOUT:?}; log:\n{}",
                std::fs::read_to_string(dir.path().join("chromium.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(dir.path().join("chromium.log")).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}); log:\n{log}");
    let size = std::fs::metadata(&png)
        .unwrap_or_else(|e| panic!("no screenshot at {} ({e}); log:\n{log}", png.display()))
        .len();
    assert!(
        size > MIN_PNG_BYTES,
        "screenshot is only {size} bytes, the page did not render; log:\n{log}"
    );
    if let Some(out) = std::env::var_os("MPIC_HTML_SCREENSHOT") {
        std::fs::copy(&png, out).unwrap();
    }
    if let Some(out) = std::env::var_os("MPIC_HTML_PAGE") {
        std::fs::copy(&page, out).unwrap();
    }
}
