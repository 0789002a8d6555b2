//! Structural tests of the HTML report: hand-built reports (healthy, at risk, failing, hostile
//! wire text everywhere) must give a well-formed page with nothing external, every string escaped,
//! and the marks the analysis decided on the map.

use super::*;
use crate::model::{Coverage, PolicyInfo, ToolInfo, Verdict};
use crate::observation::{AltFetch, CaaRecord, HttpHop, Method, Rr};

/// What a hostile DNS operator or web server could put on the wire.
const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";
const QUOTE: &str = "' onmouseover='alert(2)";

fn hostile(prefix: &str) -> String {
    format!("{prefix} {SCRIPT} {IMG} {QUOTE}")
}

/// A perspective name that breaks out of an attribute or element if not escaped.
const EVIL_PERSPECTIVE: &str = "ev<i>l\"p'&amp";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Healthy,
    AtRisk,
    Failing,
}

pub(super) fn persp(
    name: &str,
    role: Role,
    rir: Option<Rir>,
    location: Option<[f64; 2]>,
) -> PerspectiveInfo {
    PerspectiveInfo {
        name: name.into(),
        role,
        rir,
        dns: hostile("resolver"),
        http: "direct".into(),
        nameserver: None,
        location,
        dns_provenance: None,
        http_provenance: None,
    }
}

/// The primary at a location, remotes in four RIRs, two of them sharing the RIPE centroid,
/// and an authoritative source that is not placed.
fn perspectives() -> Vec<PerspectiveInfo> {
    vec![
        persp("home", Role::Primary, Some(Rir::Arin), Some([39.0, -77.5])),
        persp("r-ripe", Role::Remote, Some(Rir::Ripe), None),
        persp(EVIL_PERSPECTIVE, Role::Remote, Some(Rir::Ripe), None),
        persp("r-apnic", Role::Remote, Some(Rir::Apnic), None),
        persp(
            "r-lacnic",
            Role::Remote,
            Some(Rir::Lacnic),
            Some([-23.5, -46.6]),
        ),
        persp("auth:ns1", Role::Source, None, None),
    ]
}

fn obs(p: &str, check: Check, ok: bool) -> Observation {
    Observation {
        perspective: p.into(),
        check,
        address: None,
        ok,
        phase: None,
        perspective_fault: false,
        summary: hostile("summary"),
        elapsed_ms: 12,
        signature: "same".into(),
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

fn http_facts(status: Option<u16>) -> HttpFacts {
    HttpFacts {
        url: format!("http://x.test/.well-known/acme-challenge/{SCRIPT}"),
        via: "direct".into(),
        user_agent: hostile("ua"),
        hops: vec![HttpHop {
            url: "http://x.test/".into(),
            address: Some("192.0.2.1:80".into()),
            status,
            location: Some(IMG.into()),
            headers: vec![("server".into(), hostile("header"))],
            elapsed_ms: 3,
        }],
        status,
        body_prefix: Some(hostile("body")),
        body_len: Some(99),
        body_sha256: Some("ab".repeat(32)),
        body_truncated: true,
        alt_user_agent: Some(AltFetch {
            user_agent: "Mozilla/5.0".into(),
            status: Some(200),
            summary: hostile("alt"),
        }),
    }
}

fn observations(kind: Kind) -> Vec<Observation> {
    let mut v = Vec::new();
    for p in perspectives() {
        let name = p.name.as_str();
        let mut a = obs(name, Check::Address, true);
        a.addresses = vec!["192.0.2.1".into()];
        a.dns = vec![DnsExchange {
            qname: "x.test".into(),
            qtype: "A".into(),
            server: "udp://127.0.0.53:53".into(),
            rcode: Some("NOERROR".into()),
            aa: true,
            ad: false,
            answers: vec![Rr {
                name: "x.test".into(),
                rtype: "TXT".into(),
                ttl: 60,
                data: hostile("rdata"),
            }],
            cname_chain: vec!["x.test".into(), IMG.into()],
            negative_ttl: Some(30),
            ecs: Some("198.51.100.0/24".into()),
            ecs_scope: Some(24),
            elapsed_ms: 5,
            error: Some(hostile("dns error")),
            ede: Some(crate::observation::Ede {
                code: 18,
                text: hostile("Prohibited"),
            }),
            retransmits: 0,
            diagnostic: false,
            reused: false,
        }];
        v.push(a);
        if p.role == Role::Source {
            continue;
        }
        let caa_ok = kind != Kind::Failing;
        let mut c = obs(name, Check::Caa, caa_ok);
        c.signature = if caa_ok { "permit" } else { "forbid" }.into();
        c.caa = Some(CaaFacts {
            found_at: Some("x.test".into()),
            records: vec![CaaRecord {
                flags: 128,
                tag: "issue".into(),
                value: hostile("caa"),
            }],
            decision: if caa_ok {
                crate::observation::CaaDecision::Permit
            } else {
                crate::observation::CaaDecision::Forbid
            },
            reason: hostile("reason"),
        });
        v.push(c);
        let http_ok = match kind {
            Kind::Healthy => true,
            Kind::AtRisk => name != "r-apnic",
            Kind::Failing => name != "home",
        };
        let mut h = obs(name, Check::Http01, http_ok);
        h.http = Some(http_facts(if http_ok { Some(404) } else { None }));
        if !http_ok {
            h.phase = Some(Phase::Timeout);
        }
        v.push(h);
        let mut t = obs(name, Check::Dns01, true);
        t.txt = vec![hostile("txt"), "plain".into()];
        v.push(t);
    }
    v
}

fn verdict(check: Check, outcome: Outcome, primary_ok: bool, dissent: &[&str]) -> Verdict {
    let remotes: Vec<String> = perspectives()
        .into_iter()
        .filter(|p| p.role == Role::Remote)
        .map(|p| p.name)
        .collect();
    let (dis, cor): (Vec<String>, Vec<String>) = remotes
        .into_iter()
        .partition(|r| !primary_ok || dissent.contains(&r.as_str()));
    Verdict {
        reach: Default::default(),
        from_this_host: Vec::new(),
        check,
        outcome,
        corroborating: cor.len(),
        remotes: cor.len() + dis.len(),
        required: 3,
        rirs: vec![Rir::Ripe, Rir::Lacnic],
        primary_ok,
        corroborating_perspectives: cor,
        dissenting_perspectives: dis,
        explanation: hostile("3/4 remotes corroborate"),
        next_phase: Some(hostile("next phase")),
    }
}

fn report(kind: Kind) -> Report {
    let (outcome, verdicts) = match kind {
        Kind::Healthy => (
            Outcome::Pass,
            vec![
                verdict(Check::Caa, Outcome::Pass, true, &[]),
                verdict(Check::Http01, Outcome::Pass, true, &[]),
            ],
        ),
        Kind::AtRisk => (
            Outcome::AtRisk,
            vec![
                verdict(Check::Caa, Outcome::Pass, true, &[]),
                verdict(Check::Http01, Outcome::AtRisk, true, &["r-apnic"]),
            ],
        ),
        Kind::Failing => (
            Outcome::Fail,
            vec![
                verdict(Check::Caa, Outcome::Fail, false, &[]),
                verdict(Check::Http01, Outcome::Fail, false, &[]),
            ],
        ),
    };
    let findings = match kind {
        Kind::Healthy => Vec::new(),
        Kind::AtRisk | Kind::Failing => vec![
            Finding {
                code: crate::analysis::FindingCode::HttpGeoblocked,
                severity: if kind == Kind::Failing {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                identifier: hostile("www.example.test"),
                perspectives: vec!["r-apnic".into(), EVIL_PERSPECTIVE.into()],
                evidence: vec![hostile("evidence one"), hostile("evidence two")],
                fix: hostile("fix"),
            },
            Finding {
                code: crate::analysis::FindingCode::EngineVerdict,
                severity: Severity::Info,
                identifier: "x".into(),
                perspectives: Vec::new(),
                evidence: Vec::new(),
                fix: hostile("note fix"),
            },
        ],
    };
    // A second published address from the primary: dead except in the healthy run.
    let mut per_addr = obs("home", Check::Http01, kind == Kind::Healthy);
    per_addr.address = Some("[2001:db8::1]".into());
    let mut observations = observations(kind);
    observations.push(per_addr);
    let mut r = Report {
        schema_version: 1,
        tool: ToolInfo {
            name: "mpic-check".into(),
            version: hostile("0.1.0"),
        },
        started_at: "2026-11-28T09:14:07.412Z".into(),
        duration_ms: 2008,
        policy: PolicyInfo {
            name: "br".into(),
            remotes_required: 4,
            allowed_failures: 1,
            rirs_required: 2,
            as_of: "2026-11-28".into(),
        },
        ca: "letsencrypt.org".into(),
        outcome,
        exit_code: 1,
        perspectives: perspectives(),
        identifiers: vec![IdentifierReport {
            name: hostile("www.example.test"),
            methods: vec![Method::Http01, Method::Dns01],
            outcome,
            verdicts,
            observations,
            ca: "letsencrypt.org".into(),
            certificate: Some(crate::model::CertInfo {
                client: "certbot".into(),
                lineage: hostile("lineage"),
                source: "/etc/letsencrypt/renewal/x.conf".into(),
                authenticator: "webroot".into(),
                not_after: None,
                days_left: Some(-2),
                warnings: vec![hostile("cert warning")],
                ca_note: None,
                unknown_ca: None,
            }),
            marks: Vec::new(),
            acme_dry_run: None,
        }],
        findings,
        coverage: vec![Coverage {
            failure_mode: "http-geoblocked".into(),
            tested: false,
            why: hostile("why"),
        }],
    };
    crate::analysis::mark::mark_report(&mut r);
    r
}

fn render_str(r: &Report) -> String {
    let mut out = Vec::new();
    render(r, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

/// Element names the renderer may write; anything else is a typo or an injection.
const KNOWN: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "header",
    "footer",
    "section",
    "article",
    "figure",
    "figcaption",
    "div",
    "p",
    "span",
    "strong",
    "em",
    "code",
    "pre",
    "a",
    "br",
    "h1",
    "h2",
    "h3",
    "h4",
    "ul",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "details",
    "summary",
    "svg",
    "defs",
    "g",
    "path",
    "rect",
    "circle",
    "text",
    "use",
    "desc",
];
const VOID: &[&str] = &["meta", "br"];

/// Text between tags: no raw `>` and only the entities `esc` writes.
fn check_text(t: &str) {
    assert!(!t.contains('>'), "raw > in text: {t:?}");
    for (i, _) in t.match_indices('&') {
        let rest = &t[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                .iter()
                .any(|e| rest.starts_with(e)),
            "bare & in {:?}",
            &rest[..rest.len().min(20)]
        );
    }
}

/// A strict little tokenizer for what this renderer writes: every element known, closed in
/// order (void elements and `/>` in SVG excepted), attributes `name="value"` or bare, values
/// and text free of raw markup characters.
fn parse(html: &str) -> Vec<Tag> {
    let mut rest = html
        .strip_prefix("<!DOCTYPE html>")
        .expect("starts with the doctype");
    let mut stack: Vec<String> = Vec::new();
    let mut tags = Vec::new();
    while let Some(lt) = rest.find('<') {
        check_text(&rest[..lt]);
        rest = &rest[lt..];
        let gt = rest.find('>').expect("unterminated tag");
        let inner = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = inner.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>; open: {stack:?}");
            continue;
        }
        let self_closing = inner.ends_with('/');
        let inner = inner.trim_end_matches('/');
        let (name, mut a) = inner.split_once(' ').unwrap_or((inner, ""));
        assert!(KNOWN.contains(&name), "unknown element <{name}>");
        let mut attrs = Vec::new();
        loop {
            a = a.trim_start();
            if a.is_empty() {
                break;
            }
            let end = a.find(['=', ' ']).unwrap_or(a.len());
            let an = &a[..end];
            assert!(
                !an.is_empty()
                    && an
                        .chars()
                        .all(|c| c.is_ascii_alphabetic() || c == '-' || c == ':'),
                "bad attribute name {an:?} in <{name}>"
            );
            a = &a[end..];
            if let Some(v) = a.strip_prefix("=\"") {
                let close = v.find('"').expect("unterminated attribute value");
                let value = &v[..close];
                check_text(value);
                assert!(!value.contains('<'), "raw < in attribute {an}");
                attrs.push((an.to_string(), value.to_string()));
                a = &v[close + 1..];
                assert!(a.is_empty() || a.starts_with(' '), "junk after {an}=\"…\"");
            } else {
                attrs.push((an.to_string(), String::new()));
            }
        }
        if name == "style" {
            let end = rest.find("</style>").expect("style closed");
            assert!(!rest[..end].contains('<'), "markup inside <style>");
            rest = &rest[end + "</style>".len()..];
        } else if !VOID.contains(&name) && !self_closing {
            stack.push(name.to_string());
        }
        tags.push(Tag {
            name: name.to_string(),
            attrs,
        });
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    tags
}

/// Everything the issue asks of every rendered page.
fn validate(r: &Report) -> String {
    let html = render_str(r);
    let tags = parse(&html);
    for t in &tags {
        for (n, v) in &t.attrs {
            assert!(!n.starts_with("on"), "event handler {n} on <{}>", t.name);
            assert_ne!(n, "src", "src on <{}>", t.name);
            assert_ne!(n, "style", "inline style on <{}>", t.name);
            if n == "href" || n.ends_with(":href") {
                // In-page links only; no URL anywhere, let alone http:, https: or //.
                assert!(v.starts_with('#'), "href {v:?} on <{}>", t.name);
            }
        }
    }
    assert!(!html.to_ascii_lowercase().contains("<script"));
    for s in [SCRIPT, IMG, QUOTE, EVIL_PERSPECTIVE] {
        assert!(!html.contains(s), "unescaped {s:?}");
        assert!(html.contains(&esc(s).to_string()), "{s:?} missing");
    }
    let title = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
    assert!(title.contains(outcome_word(r.outcome)), "{title}");
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("@media print"));
    assert!(html.contains("<th scope=\"col\">") && html.contains("<th scope=\"row\">"));
    html
}

/// The map's markers: (label, state class, glyph, translate) for each.
fn pins(html: &str) -> Vec<(String, String, String, String)> {
    let start = html.find("<figure class=\"map\">").unwrap();
    let end = start + html[start..].find("</figure>").unwrap();
    html[start..end]
        .split("<g class=\"pin ")
        .skip(1)
        .map(|chunk| {
            let between = |a: &str, b: &str| {
                let i = chunk.find(a).unwrap_or_else(|| panic!("{a} in {chunk}")) + a.len();
                chunk[i..i + chunk[i..].find(b).unwrap()].to_string()
            };
            let label = between("<text class=\"lbl", "</text>");
            (
                label.split_once('>').unwrap().1.to_string(),
                between("", "\""),
                between("<text class=\"glyph\"", "</text>")
                    .split('>')
                    .nth(1)
                    .unwrap()
                    .to_string(),
                between("translate(", ")"),
            )
        })
        .collect()
}

fn pin_of<'a>(
    pins: &'a [(String, String, String, String)],
    label: &str,
) -> &'a (String, String, String, String) {
    let want = esc(label).to_string();
    pins.iter()
        .find(|p| p.0 == want)
        .unwrap_or_else(|| panic!("no marker for {label}: {pins:?}"))
}

fn check_map(html: &str, expect: &[(&str, Mark)]) {
    let pins = pins(html);
    // Primary and remotes are placed; the source is listed under the map instead.
    assert_eq!(pins.len(), 5, "{pins:?}");
    for (label, mark) in expect {
        let p = pin_of(&pins, label);
        assert_eq!(p.1, mark.class(), "{label}: {p:?}");
        assert_eq!(p.2, mark.symbol(), "{label}: {p:?}");
    }
    // Two remotes share the RIPE centroid; they must not be drawn on top of each other.
    let mut at: Vec<&String> = pins.iter().map(|p| &p.3).collect();
    at.sort();
    at.dedup();
    assert_eq!(at.len(), pins.len(), "overlapping markers: {pins:?}");
    assert!(html.contains("Not on the map") && html.contains("auth:ns1"));
}

#[test]
fn healthy_report_is_valid_and_all_green() {
    let html = validate(&report(Kind::Healthy));
    check_map(
        &html,
        &[
            ("home (primary)", Mark::Pass),
            ("r-ripe", Mark::Pass),
            (EVIL_PERSPECTIVE, Mark::Pass),
            ("r-apnic", Mark::Pass),
            ("r-lacnic", Mark::Pass),
        ],
    );
    assert!(html.contains("<title>READY — "));
    assert!(html.contains("No findings."));
}

#[test]
fn at_risk_report_marks_the_dissenting_remote() {
    let html = validate(&report(Kind::AtRisk));
    check_map(
        &html,
        &[
            // The primary's dead IPv6 address is a risk, not a failure: a CA picks one.
            ("home (primary)", Mark::Risk),
            ("r-apnic", Mark::Risk),
            ("r-ripe", Mark::Pass),
            ("r-lacnic", Mark::Pass),
        ],
    );
    assert!(html.contains("<title>AT RISK — "));
    assert!(html.contains("Warnings (1)") && html.contains("Notes (1)"));
    assert!(html.contains("not corroborating: r-apnic"));
}

#[test]
fn failing_report_marks_the_primary() {
    let html = validate(&report(Kind::Failing));
    check_map(
        &html,
        &[
            ("home (primary)", Mark::Fail),
            // CAA forbids everywhere, so the remotes fail too.
            ("r-ripe", Mark::Fail),
            ("r-apnic", Mark::Fail),
        ],
    );
    assert!(html.contains("<title>WOULD FAIL — "));
    assert!(html.contains("Errors (1)"));
    // Raw observations: open where something failed, and all the wire data is there.
    assert!(html.contains("<details class=\"persp-raw\" open>"));
    for part in [
        "rdata",
        "txt",
        "header",
        "body",
        "caa",
        "dns error",
        "alt",
        "18 Prohibited",
    ] {
        assert!(
            html.contains(&esc(&hostile(part)).to_string()),
            "{part} missing"
        );
    }
}

#[test]
fn tool_faults_show_as_unknown_not_as_blame() {
    let mut r = report(Kind::Healthy);
    for o in &mut r.identifiers[0].observations {
        if o.perspective == "r-apnic" && o.check == Check::Http01 {
            o.ok = false;
            o.perspective_fault = true;
            o.phase = Some(Phase::Proxy);
        }
    }
    // The facts changed after the analysis: mark again, as the analysis would.
    crate::analysis::mark::mark_report(&mut r);
    let html = validate(&r);
    let pins = pins(&html);
    let p = pin_of(&pins, "r-apnic");
    assert_eq!((p.1.as_str(), p.2.as_str()), ("unknown", "?"));
}

#[test]
fn empty_report_is_valid() {
    let mut r = report(Kind::Healthy);
    r.identifiers.clear();
    r.perspectives.clear();
    r.coverage.clear();
    let html = render_str(&r);
    parse(&html);
    assert!(html.contains("No identifier was checked."));
}

#[test]
fn escaper_covers_markup_quotes_and_controls() {
    assert_eq!(
        esc("<a href='x'>&\"\u{0}\u{1b}ok\u{202e}moc.\n").to_string(),
        "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\u{fffd}\u{fffd}ok\u{fffd}moc.\n"
    );
}

// ---- Many names ------------------------------------------------------------------------------

/// The text of `html` from the first `from` to the first `to` after it.
fn between<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let start = html.find(from).unwrap_or_else(|| panic!("no {from}"));
    let end = start + html[start..].find(to).unwrap_or_else(|| panic!("no {to}"));
    &html[start..end]
}

#[test]
fn two_hundred_names_get_one_map_a_grouped_summary_and_folded_details() {
    let r = crate::report::test_fixtures::bulk_report(200);
    let html = render_str(&r);
    parse(&html);
    // 201 maps made this 6 MB; one map and folded details keep it small enough to mail.
    assert!(html.len() < 1_500_000, "{} bytes", html.len());
    assert_eq!(html.matches("<figure class=\"map\">").count(), 1);
    // The map and the hidden sheet of continents it `use`s: nothing else is an SVG.
    assert_eq!(html.matches("<svg").count(), 2);
    assert_eq!(pins(&html).len(), 5);
    assert_eq!(
        html.matches("<details class=\"ident\" id=\"id-").count(),
        200
    );
    // Raw observations only for the 33 names that are not ready.
    assert_eq!(html.matches("<details class=\"ident-raw\"").count(), 33);
    assert!(html.contains("The observations of the 167 ready name(s) are left out here"));
    assert!(!html.contains("<details class=\"ident\" id=\"id-0\" open"));
    // The summary comes before the map and the details, grouped worst first without script.
    let summary = between(&html, "<section class=\"summary\"", "</section>");
    assert!(html.find("<section class=\"summary\"") < html.find("<figure class=\"map\">"));
    assert!(
        summary.contains("200 names: 8 would fail, 20 at risk, 5 could not assess, 167 ready"),
        "{summary}"
    );
    let at = |s: &str| {
        summary
            .find(s)
            .unwrap_or_else(|| panic!("{s} in {summary}"))
    };
    assert!(at("Would fail (8)") < at("At risk (20)"));
    assert!(at("At risk (20)") < at("Could not assess (5)"));
    assert!(at("Could not assess (5)") < at("Ready (167)"));
    assert_eq!(summary.matches("<tr><th scope=\"row\">").count(), 200);
    // Every row links to its folded details.
    let first = between(summary, "<th scope=\"row\"><a href=\"#id-", "</a>");
    let (id, name) = first["<th scope=\"row\"><a href=\"#id-".len()..]
        .split_once("\">")
        .unwrap();
    assert_eq!(r.identifiers[id.parse::<usize>().unwrap()].name, name);
    assert_eq!(
        r.identifiers[id.parse::<usize>().unwrap()].outcome,
        Outcome::Fail
    );
    insta::assert_snapshot!(summary);
}

#[test]
fn one_name_keeps_its_own_map_and_open_layout() {
    let html = render_str(&crate::report::test_fixtures::bulk_report(1));
    parse(&html);
    assert_eq!(html.matches("<figure class=\"map\">").count(), 1);
    assert!(!html.contains("<section class=\"summary\""));
    assert!(!html.contains("<details class=\"ident\""));
    insta::assert_snapshot!(between(&html, "<main>", "<section class=\"raw\""));
}

#[test]
fn hostile_names_in_the_summary_are_escaped() {
    let mut r = report(Kind::AtRisk);
    let mut second = r.identifiers[0].clone();
    second.name = SCRIPT.to_string();
    second.outcome = Outcome::Fail;
    r.identifiers.push(second);
    let html = validate(&r);
    let summary = between(&html, "<section class=\"summary\"", "</section>");
    assert!(summary.contains(&esc(SCRIPT).to_string()), "{summary}");
}
