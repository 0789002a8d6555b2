//! The terminal report: per identifier a matrix of perspectives × checks with a short cell each,
//! then findings grouped by severity with evidence and fix, then the verdicts with their quorum
//! arithmetic, then coverage in one line. Every text goes through `clean` (control characters
//! escaped) and is wrapped to the width, so nothing from the wire can drive the terminal.

use std::io::{self, Write};

use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::{Style, clean, outcome_word, shorten, wrap};
use crate::analysis::Mark;
use crate::model::{IdentifierReport, Outcome, PerspectiveInfo, Report, Severity};
use crate::observation::{CNAME_LOOP, Check, ConnectFailure, Observation, Provenance, Signature};

const CHECKS: [Check; 5] = [
    Check::Address,
    Check::Caa,
    Check::Dns01,
    Check::Http01,
    Check::TlsAlpn01,
];

fn paint(style: Style, s: &str, code: &str) -> String {
    if style.color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn outcome_color(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "32",
        Outcome::AtRisk => "33",
        Outcome::Fail => "31",
        Outcome::Unknown => "35",
    }
}

/// A failure in a few words: the DNS response code, the HTTP status, or the phase.
fn failure_words(o: &Observation) -> String {
    use crate::observation::Phase;
    if o.perspective_fault {
        return if o.phase == Some(Phase::Proxy) {
            "proxy failed".into()
        } else {
            "resolver failed".into()
        };
    }
    // The response codes the exchanges behind the observation received, most telling first.
    for rc in ["NXDOMAIN", "SERVFAIL", "REFUSED", "NOTIMP", "FORMERR"] {
        if o.dns.iter().any(|d| d.rcode.as_deref() == Some(rc)) {
            return rc.into();
        }
    }
    if o.dns.iter().any(|d| d.error.as_deref() == Some(CNAME_LOOP)) {
        return CNAME_LOOP.into();
    }
    // A DNS failure without a single exchange: the authoritative servers were never found.
    if o.phase == Some(Phase::Dns) && o.dns.is_empty() && o.check != Check::Http01 {
        return "no nameservers".into();
    }
    match o.phase {
        Some(Phase::Timeout) => "timeout".into(),
        Some(Phase::Connect) if o.connect_failure == Some(ConnectFailure::Refused) => {
            "refused".into()
        }
        Some(p) => p.to_string(),
        None => shorten(&o.summary, 20),
    }
}

/// The cell symbol of the analysis's answer mark: the table has only two, so a tool fault
/// (unknown) is a ✗ like a failure and only its colour tells them apart.
fn symbol(answer: Mark) -> &'static str {
    if answer == Mark::Pass { "✓" } else { "✗" }
}

/// A TLS-ALPN-01 answer in a few words, from its typed facts.
fn tls_words(o: &Observation) -> String {
    use crate::observation::TlsCertVerdict as V;
    let Some(t) = &o.tls else {
        return failure_words(o);
    };
    if t.alpn_refused || t.alpn.as_deref() != Some("acme-tls/1") {
        return "no acme-tls/1".into();
    }
    match t.certificate {
        Some(V::Valid) => "challenge cert".into(),
        Some(V::Unverified) => "acme-tls/1".into(),
        Some(V::WrongDigest) => "wrong digest".into(),
        Some(V::WrongSan) => "wrong SAN".into(),
        Some(V::NoAcmeIdentifier) => "no acmeIdentifier".into(),
        Some(V::NotCritical) => "not critical".into(),
        Some(V::Malformed) => "malformed ext".into(),
        Some(V::Unusable) | None => "bad certificate".into(),
    }
}

/// The short text of one cell.
fn cell_text(o: &Observation, answer: Mark) -> String {
    let mark = symbol(answer);
    let detail = match o.check {
        // Every address when they fit; else the first and how many more (all are in -v and JSON).
        Check::Address if o.ok => match o.addresses.as_slice() {
            all if all.join(" ").chars().count() <= 24 => all.join(" "),
            [first, rest @ ..] => format!("{} (+{})", shorten(first, 18), rest.len()),
            [] => String::new(),
        },
        Check::Address if o.phase.is_none() => shorten(&o.summary, 20),
        Check::Caa if o.ok => "permits".to_string(),
        Check::Caa if o.signature == Signature::Forbid => "forbids".to_string(),
        Check::Http01 if o.perspective_fault => failure_words(o),
        Check::Http01 if o.signature == Signature::RedirectDisallowed => "redirect refused".into(),
        Check::Http01 if o.signature == Signature::BodyTooLarge => "body too large".into(),
        Check::Http01 if matches!(o.signature, Signature::Mismatch(_)) => "wrong body".into(),
        Check::Http01 => match (&o.http, o.phase) {
            (Some(h), p) if h.status.is_some() && p != Some(crate::observation::Phase::Timeout) => {
                h.status.map(|s| s.to_string()).unwrap_or_default()
            }
            _ => failure_words(o),
        },
        Check::Dns01 if o.ok && o.txt.is_empty() => "no TXT".to_string(),
        Check::Dns01 if o.ok => format!("{} value(s)", o.txt.len()),
        Check::Dns01 if o.phase.is_none() => "missing value".into(),
        Check::Soa if o.ok => o.summary.clone(),
        Check::TlsAlpn01 if o.phase.is_none() => tls_words(o),
        _ => failure_words(o),
    };
    clean(&shorten(&format!("{mark} {detail}"), 26))
}

/// Writes the whole table report.
pub fn render(r: &Report, style: Style, w: &mut impl Write) -> io::Result<()> {
    let title = format!(
        "mpic-check {} · policy {} on {} (≥{} remotes, {} RIRs) · CAA issuer {}",
        r.tool.version,
        r.policy.name,
        r.policy.as_of,
        r.policy.remotes_required,
        r.policy.rirs_required,
        r.ca
    );
    for line in wrap(&title, style.width, "", "  ") {
        writeln!(w, "{line}")?;
    }
    let shared = shared_notes(r);
    for id in &r.identifiers {
        writeln!(w)?;
        render_identifier(r, id, style, &shared, w)?;
    }
    for (note, n) in &shared {
        writeln!(w)?;
        let line = format!("Next BR phase ({n} checks of these names): {note}");
        for l in wrap(&line, style.width, "", "  ") {
            writeln!(w, "{l}")?;
        }
    }
    render_findings(r, style, w)?;
    render_summary(r, style, w)?;
    writeln!(w)?;
    let tested = r.coverage.iter().filter(|c| c.tested).count();
    let not: Vec<&str> = r
        .coverage
        .iter()
        .filter(|c| !c.tested)
        .map(|c| c.failure_mode.as_str())
        .collect();
    let cov = format!(
        "Coverage: {tested} of {} failure modes testable with these perspectives{}",
        r.coverage.len(),
        if not.is_empty() {
            String::new()
        } else {
            format!("; not tested: {}", not.join(", "))
        }
    );
    for line in wrap(&cov, style.width, "", "  ") {
        writeln!(w, "{line}")?;
    }
    // What a run without vantage points elsewhere cannot see, and the one flag or proxy that
    // would show it.
    let untested =
        |m: crate::model::FindingCode| r.coverage.iter().any(|c| c.failure_mode == m && !c.tested);
    if untested(crate::model::FindingCode::HttpGeoblocked)
        || untested(crate::model::FindingCode::DnsRefusedByRegion)
    {
        let hint = "Hint: geoblocking and regional DNS refusals need vantage points elsewhere: \
                    add --globalping (third-party probes), or SOCKS proxies in other regions \
                    (ssh -D 1080 user@vps, then --perspective 'name=eu,role=remote,rir=RIPE,dns=authoritative,http=socks5://127.0.0.1:1080')";
        for line in wrap(hint, style.width, "", "  ") {
            writeln!(w, "{line}")?;
        }
    }
    writeln!(
        w,
        "Result: {} (exit {}) in {} ms",
        paint(style, outcome_word(r.outcome), outcome_color(r.outcome)),
        r.exit_code,
        r.duration_ms
    )
}

/// The names a signal stopped before they finished, after the report of those that did: one line
/// with the counts, one with the names (at most 20, then how many more), so a person who pressed
/// Ctrl-C sees what is missing and a script sees why the exit status is 130.
pub fn render_unchecked(
    signal: &str,
    unchecked: &[String],
    total: usize,
    note: Option<&str>,
    w: &mut impl Write,
) -> io::Result<()> {
    const SHOWN: usize = 20;
    writeln!(w)?;
    writeln!(
        w,
        "Interrupted by {signal}: {} of {total} names checked, {} not checked (exit 130)",
        total - unchecked.len(),
        unchecked.len()
    )?;
    if !unchecked.is_empty() {
        let mut names: Vec<String> = unchecked.iter().take(SHOWN).map(|n| clean(n)).collect();
        if unchecked.len() > SHOWN {
            names.push(format!("and {} more", unchecked.len() - SHOWN));
        }
        writeln!(w, "  not checked: {}", names.join(", "))?;
    }
    if let Some(n) = note {
        writeln!(w, "  {}", clean(n))?;
    }
    w.flush()
}

/// The phase notes that more than one name carries, with how many verdicts carry each, in the
/// order they first appear. With 200 names the same "from 2026-12-15 CAs must use…" would
/// otherwise be printed 400 times; it is printed once after the names instead. A report of one
/// name keeps every note beside its verdict.
fn shared_notes(r: &Report) -> Vec<(String, usize)> {
    if r.identifiers.len() < 2 {
        return Vec::new();
    }
    let mut notes: Vec<(String, usize, usize)> = Vec::new();
    for (i, id) in r.identifiers.iter().enumerate() {
        for n in id.verdicts.iter().filter_map(|v| v.next_phase.as_ref()) {
            match notes.iter_mut().find(|(t, _, _)| t == n) {
                Some((_, count, first)) => {
                    *count += 1;
                    // Remember that another name has it by marking the first name as "many".
                    if *first != i {
                        *first = usize::MAX;
                    }
                }
                None => notes.push((n.clone(), 1, i)),
            }
        }
    }
    notes
        .into_iter()
        .filter(|(_, _, first)| *first == usize::MAX)
        .map(|(t, n, _)| (t, n))
        .collect()
}

/// For several names: one line of counts per outcome, then the names that would fail, are at
/// risk or could not be assessed, each with its first finding (or its worst verdict), so the end
/// of a long run says what needs attention without scrolling back.
fn render_summary(r: &Report, style: Style, w: &mut impl Write) -> io::Result<()> {
    if r.identifiers.len() < 2 {
        return Ok(());
    }
    let count = |o: Outcome| r.identifiers.iter().filter(|i| i.outcome == o).count();
    let order = [
        Outcome::Fail,
        Outcome::AtRisk,
        Outcome::Unknown,
        Outcome::Pass,
    ];
    let counts: Vec<String> = order
        .iter()
        .filter(|o| count(**o) > 0)
        .map(|o| {
            let word = outcome_word(*o).to_lowercase();
            format!("{} {}", count(*o), paint(style, &word, outcome_color(*o)))
        })
        .collect();
    writeln!(w)?;
    writeln!(
        w,
        "Summary: {} names: {}",
        r.identifiers.len(),
        counts.join(", ")
    )?;
    let width = usize::from(style.width).max(40);
    for o in &order[..3] {
        let names: Vec<&IdentifierReport> =
            r.identifiers.iter().filter(|i| i.outcome == *o).collect();
        if names.is_empty() {
            continue;
        }
        let title = format!("{} ({}):", outcome_word(*o), names.len());
        writeln!(w, "  {}", paint(style, &title, outcome_color(*o)))?;
        for id in names {
            let why = match r.findings.iter().find(|f| f.identifier == id.name) {
                Some(f) => match super::dissenting_first(f).first() {
                    Some(e) => format!("{}: {e}", f.code),
                    None => f.code.to_string(),
                },
                None => id
                    .verdicts
                    .iter()
                    .max_by_key(|v| v.outcome.rank())
                    .map_or(String::new(), |v| {
                        format!("{} {}: {}", v.check, v.outcome, v.explanation)
                    }),
            };
            let line = format!("{} — {why}", id.name);
            writeln!(w, "    {}", clean(&shorten(&line, width - 4)))?;
        }
    }
    Ok(())
}

fn render_identifier(
    r: &Report,
    id: &IdentifierReport,
    style: Style,
    shared: &[(String, usize)],
    w: &mut impl Write,
) -> io::Result<()> {
    let cert = id.certificate.as_ref().map_or(String::new(), |c| {
        let expiry = match c.days_left {
            Some(d) if d < 0 => format!(", expired {} day(s) ago", -d),
            Some(d) => format!(", expires in {d} day(s)"),
            None => String::new(),
        };
        format!(" ({} {}{expiry})", c.client, c.lineage)
    });
    writeln!(
        w,
        "{}{} — {}",
        clean(&id.name),
        clean(&cert),
        paint(style, outcome_word(id.outcome), outcome_color(id.outcome))
    )?;
    // Which CA this certificate's CAA was judged for, and where that came from (or that the CA is
    // unknown and CAA was not judged): one line under the name.
    if let Some(note) = id.certificate.as_ref().and_then(|c| c.ca_note.as_deref()) {
        for l in wrap(&clean(note), style.width, "  ", "    ") {
            writeln!(w, "{l}")?;
        }
    }
    let used: Vec<Check> = CHECKS
        .iter()
        .copied()
        .filter(|c| id.observations.iter().any(|o| o.check == *c))
        .collect();
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(style.width);
    if !style.color {
        t.force_no_tty();
    } else {
        t.enforce_styling();
    }
    // Where each row's answers were made: DNS side / HTTP side, one letter each (legend below).
    let show_via = r
        .perspectives
        .iter()
        .any(|p| p.dns_provenance.is_some() || p.http_provenance.is_some());
    let mut header = vec![
        Cell::new("perspective"),
        Cell::new("RIR"),
        Cell::new("role"),
    ];
    if show_via {
        header.push(Cell::new("via"));
    }
    header.extend(used.iter().map(|c| Cell::new(c.as_str())));
    t.set_header(header);
    for p in &r.perspectives {
        let seen = id.ca_like_of(&p.name);
        if seen.is_empty() {
            continue;
        }
        let mut row = vec![
            Cell::new(clean(&p.name)),
            Cell::new(p.rir.map_or("-".into(), |x| x.to_string())),
            Cell::new(p.role.to_string()),
        ];
        if show_via {
            row.push(Cell::new(via(p)));
        }
        for c in &used {
            row.push(match seen.iter().find(|o| o.check == *c) {
                Some(o) => {
                    let answer = id.marks_of(o).answer;
                    let cell = Cell::new(cell_text(o, answer));
                    if style.color {
                        cell.fg(match answer {
                            Mark::Pass => Color::Green,
                            Mark::Unknown => Color::Magenta,
                            Mark::Risk | Mark::Fail => Color::Red,
                        })
                    } else {
                        cell
                    }
                }
                None => Cell::new("—"),
            });
        }
        t.add_row(row);
    }
    writeln!(w, "{t}")?;
    if show_via {
        let legend = format!("  via (DNS/HTTP): {}", Provenance::LEGEND);
        for l in wrap(&legend, style.width, "", "    ") {
            writeln!(w, "{l}")?;
        }
    }
    let per_addr: Vec<&Observation> = id
        .observations
        .iter()
        .filter(|o| o.address.is_some())
        .collect();
    if !per_addr.is_empty()
        && (style.verbose || per_addr.iter().any(|o| id.marks_of(o).answer != Mark::Pass))
    {
        writeln!(w, "  per address (HTTP-01):")?;
        for o in per_addr {
            let mark = symbol(id.marks_of(o).answer);
            let line = format!(
                "{mark} {} → {}: {}",
                o.perspective,
                o.address.as_deref().unwrap_or("-"),
                o.summary
            );
            for l in wrap(&line, style.width, "    ", "        ") {
                writeln!(w, "{l}")?;
            }
        }
    }
    if style.verbose {
        for o in id.observations.iter().filter(|o| o.address.is_none()) {
            for l in wrap(
                &format!("{} {}: {}", o.perspective, o.check, o.summary),
                style.width,
                "  ",
                "      ",
            ) {
                writeln!(w, "{l}")?;
            }
        }
    }
    for (i, v) in id.verdicts.iter().enumerate() {
        // Wrapped first and painted after: `wrap` escapes control characters (the explanation may
        // carry wire bytes), so a word painted before it would reach the terminal as literal
        // `\x1b[33m` text. The check and outcome words are ours, so the first wrapped line
        // always starts with them.
        let head = format!("  {} ", v.check);
        let word = v.outcome.as_str();
        let line = format!("{} {word}: {}", v.check, v.explanation);
        for (j, l) in wrap(&line, style.width, "  ", "      ")
            .into_iter()
            .enumerate()
        {
            match l.strip_prefix(&head).and_then(|r| r.strip_prefix(word)) {
                Some(rest) if j == 0 => writeln!(
                    w,
                    "{head}{}{rest}",
                    paint(style, word, outcome_color(v.outcome))
                )?,
                _ => writeln!(w, "{l}")?,
            }
        }
        // A note shared with other names is printed once after them; one that an earlier
        // check of this name already carries is not repeated.
        let repeated = |n: &&String| {
            shared.iter().any(|(t, _)| t == *n)
                || id.verdicts[..i]
                    .iter()
                    .any(|e| e.next_phase.as_ref() == Some(*n))
        };
        if let Some(n) = v.next_phase.as_ref().filter(|n| !repeated(n)) {
            for l in wrap(n, style.width, "      ", "      ") {
                writeln!(w, "{l}")?;
            }
        }
    }
    // The CA's own verdict (--acme-dry-run), one line: what it says beside what we saw.
    if let Some(d) = &id.acme_dry_run {
        let line = format!("CA dry run {}: {}", d.status.as_str(), d.summary);
        for l in wrap(&line, style.width, "  ", "      ") {
            writeln!(w, "{l}")?;
        }
    }
    Ok(())
}

/// A perspective's provenance markers: `E/H` (DNS emulated with ECS, HTTP from this host).
fn via(p: &PerspectiveInfo) -> String {
    let m = |x: &Option<Provenance>| x.as_ref().map_or("-", Provenance::marker);
    match &p.http_provenance {
        Some(_) => format!("{}/{}", m(&p.dns_provenance), m(&p.http_provenance)),
        None => m(&p.dns_provenance).to_string(),
    }
}

fn render_findings(r: &Report, style: Style, w: &mut impl Write) -> io::Result<()> {
    if r.findings.is_empty() {
        writeln!(w)?;
        return writeln!(w, "Findings: none");
    }
    for sev in [Severity::Error, Severity::Warning, Severity::Info] {
        let list: Vec<_> = r.findings.iter().filter(|f| f.severity == sev).collect();
        if list.is_empty() {
            continue;
        }
        writeln!(w)?;
        let (title, color) = match sev {
            Severity::Error => ("Errors", "31"),
            Severity::Warning => ("Warnings", "33"),
            Severity::Info => ("Notes", "36"),
        };
        writeln!(w, "{}", paint(style, title, color))?;
        for f in list {
            // The identifier is whatever a replayed file says; it is not re-parsed.
            writeln!(
                w,
                "  {} [{}]",
                paint(style, f.code.as_str(), color),
                clean(&f.identifier)
            )?;
            for e in &f.evidence {
                for l in wrap(e, style.width, "    - ", "      ") {
                    writeln!(w, "{l}")?;
                }
            }
            for l in wrap(&format!("fix: {}", f.fix), style.width, "    ", "         ") {
                writeln!(w, "{l}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Fixed-width, colourless snapshots of the three reports a sysadmin meets (ready, at risk,
    //! would fail), built by hand so the snapshots change only when the renderer does; checks
    //! that every line fits the width; and checks that bytes from the wire cannot reach the
    //! terminal as control sequences.

    use super::*;
    use crate::model::{
        CertInfo, Coverage, Finding, PerspectiveInfo, PolicyInfo, ToolInfo, Verdict,
    };
    use crate::observation::{CaaFacts, CaaRecord, HttpFacts, HttpHop, Method, Phase, Rir, Role};
    use unicode_width::UnicodeWidthStr;

    pub(crate) fn empty_report() -> Report {
        Report {
            schema_version: 1,
            tool: ToolInfo {
                name: "mpic-check".into(),
                version: "0".into(),
            },
            started_at: "2026-11-28T00:00:00.000Z".into(),
            duration_ms: 5,
            policy: PolicyInfo {
                name: "br".into(),
                remotes_required: 4,
                allowed_failures: 1,
                rirs_required: 2,
                as_of: "2026-11-28".into(),
            },
            ca: "letsencrypt.org".into(),
            outcome: Outcome::Pass,
            exit_code: 0,
            perspectives: Vec::new(),
            identifiers: Vec::new(),
            findings: Vec::new(),
            coverage: vec![
                Coverage {
                    failure_mode: crate::analysis::FindingCode::CaaForbids,
                    tested: true,
                    why: "x".into(),
                },
                Coverage {
                    failure_mode: crate::analysis::FindingCode::DeadAddress,
                    tested: false,
                    why: "y".into(),
                },
            ],
        }
    }

    #[test]
    fn coverage_names_what_was_not_tested() {
        let mut out = Vec::new();
        render(
            &empty_report(),
            Style {
                color: false,
                width: 80,
                verbose: false,
            },
            &mut out,
        )
        .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.contains("not tested:") && s.contains("dead-address"),
            "{s}"
        );
    }

    // ---- Hand-built reports -------------------------------------------------------------------

    /// The name checked in every fixture.
    const NAME: &str = "shop.example.com";
    /// The challenge URL fetched (with a random token).
    const URL: &str = "http://shop.example.com/.well-known/acme-challenge/mpic-check-7Hq2vXcN";
    /// A block page body, as the recorder stores it: the ESC byte already written as `\x1b`.
    const HOSTILE: &str = r"\x1b[2J\x1b]0;pwned\x07Access denied";

    /// One primary (ARIN) and five remotes, one in each RIR.
    fn perspectives() -> Vec<PerspectiveInfo> {
        let p = |name: &str, role: Role, rir: Rir, proxy: &str| PerspectiveInfo {
            name: name.into(),
            role,
            rir: Some(rir),
            dns: "system".into(),
            http: proxy.into(),
            nameserver: None,
            location: None,
            dns_provenance: None,
            http_provenance: None,
        };
        vec![
            p("home", Role::Primary, Rir::Arin, "direct"),
            p(
                "us-west",
                Role::Remote,
                Rir::Arin,
                "socks5h://us-west.vpn:1080",
            ),
            p(
                "eu-central",
                Role::Remote,
                Rir::Ripe,
                "socks5h://fra.vpn:1080",
            ),
            p(
                "ap-southeast",
                Role::Remote,
                Rir::Apnic,
                "socks5h://sin.vpn:1080",
            ),
            p(
                "sa-east",
                Role::Remote,
                Rir::Lacnic,
                "socks5h://gru.vpn:1080",
            ),
            p(
                "af-south",
                Role::Remote,
                Rir::Afrinic,
                "socks5h://jnb.vpn:1080",
            ),
        ]
    }

    fn names() -> Vec<String> {
        perspectives().into_iter().map(|p| p.name).collect()
    }

    fn obs(perspective: &str, check: Check, ok: bool, summary: &str) -> Observation {
        Observation {
            perspective: perspective.into(),
            check,
            address: None,
            ok,
            phase: None,
            perspective_fault: false,
            summary: summary.into(),
            elapsed_ms: 42,
            signature: Signature::default(),
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

    fn address(perspective: &str, addrs: &[&str]) -> Observation {
        let mut o = obs(perspective, Check::Address, true, &addrs.join(" "));
        o.addresses = addrs.iter().map(|a| a.to_string()).collect();
        o.signature = addrs.join(",").into();
        o
    }

    fn caa(perspective: &str, value: &str) -> Observation {
        let permits = value == "letsencrypt.org";
        let reason = if permits {
            "issue letsencrypt.org".to_string()
        } else {
            format!(
                "CAA record for example.com prevents issuance: no issue property names \
                 letsencrypt.org (found 0 issue \"{value}\")"
            )
        };
        let summary = if permits {
            format!("permits (example.com: {reason})")
        } else {
            reason.clone()
        };
        let mut o = obs(perspective, Check::Caa, permits, &summary);
        o.signature = if permits { "permit" } else { "forbid" }.into();
        o.caa = Some(CaaFacts {
            found_at: Some("example.com".into()),
            records: vec![CaaRecord {
                flags: 0,
                tag: "issue".into(),
                value: value.into(),
            }],
            decision: if permits { "permit" } else { "forbid" }.into(),
            reason,
        });
        o
    }

    /// An HTTP-01 fetch; `status` is `None` when no response arrived (then `phase` says why).
    fn http(
        perspective: &str,
        status: Option<u16>,
        phase: Option<Phase>,
        summary: &str,
    ) -> Observation {
        let ok = phase.is_none();
        let mut o = obs(perspective, Check::Http01, ok, summary);
        o.phase = phase;
        o.elapsed_ms = if phase == Some(Phase::Timeout) {
            10_000
        } else {
            180
        };
        o.signature = match (status, phase) {
            (Some(s), _) => Signature::Status(s),
            (None, Some(p)) => Signature::Failed(p),
            (None, None) => Signature::default(),
        };
        o.http = Some(HttpFacts {
            url: URL.into(),
            via: "direct".into(),
            user_agent: "Mozilla/5.0 (compatible; Let's Encrypt validation server)".into(),
            hops: vec![HttpHop {
                url: URL.into(),
                address: Some("203.0.113.10:80".into()),
                status,
                location: None,
                headers: vec![("server".into(), "nginx".into())],
                elapsed_ms: o.elapsed_ms,
            }],
            status,
            body_prefix: status.map(|s| {
                if s == 403 {
                    HOSTILE.to_string()
                } else {
                    "<html><head><title>404 Not Found</title>".into()
                }
            }),
            body_len: status.map(|_| 153),
            body_sha256: None,
            body_truncated: false,
            alt_user_agent: None,
        });
        o
    }

    fn http_ok(perspective: &str) -> Observation {
        http(
            perspective,
            Some(404),
            None,
            "404 from the origin (random token)",
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn verdict(
        check: Check,
        outcome: Outcome,
        corroborating: &[&str],
        dissenting: &[&str],
        required: usize,
        rirs: &[Rir],
        primary_ok: bool,
        explanation: &str,
    ) -> Verdict {
        Verdict {
            reach: Default::default(),
            from_this_host: Vec::new(),
            check,
            outcome,
            corroborating: corroborating.len(),
            remotes: corroborating.len() + dissenting.len(),
            required,
            rirs: rirs.to_vec(),
            primary_ok,
            corroborating_perspectives: corroborating.iter().map(|s| s.to_string()).collect(),
            dissenting_perspectives: dissenting.iter().map(|s| s.to_string()).collect(),
            explanation: explanation.into(),
            // As `judge_with_outlook` words it, with the BR phase of 2026-12-15 (5 remotes).
            next_phase: Some(if corroborating.len() + dissenting.len() >= 5 {
                format!("from 2026-12-15 (at least 5 remotes): unchanged, {outcome}")
            } else {
                format!(
                    "from 2026-12-15 CAs must use at least 5 remotes; this run tested {}, so \
                     the estimate is weaker",
                    corroborating.len() + dissenting.len()
                )
            }),
        }
    }

    fn coverage() -> Vec<Coverage> {
        let c = |mode: &str, tested: bool, why: &str| Coverage {
            failure_mode: mode.into(),
            tested,
            why: why.into(),
        };
        vec![
            c(
                "geodns-divergence",
                true,
                "5 remote perspective(s) resolved the name",
            ),
            c(
                "http-geoblocked",
                true,
                "5 remote perspective(s) fetch HTTP through a proxy",
            ),
            c(
                "dns-refused-by-region",
                true,
                "each perspective asks with its own resolver",
            ),
            c(
                "ns-inconsistent",
                false,
                "no authoritative nameserver was discovered",
            ),
            c(
                "ns-unreachable",
                false,
                "no authoritative nameserver was discovered",
            ),
            c(
                "caa-forbids",
                true,
                "CAA climb evaluated from each perspective",
            ),
            c("dead-address", false, "only one address is published"),
            c("cdn-cached-challenge", false, "only with --webroot"),
        ]
    }

    fn report(
        outcome: Outcome,
        exit_code: u8,
        id: IdentifierReport,
        findings: Vec<Finding>,
    ) -> Report {
        let mut r = Report {
            schema_version: 1,
            tool: ToolInfo {
                name: "mpic-check".into(),
                version: "0.1.0".into(),
            },
            started_at: "2026-11-28T09:30:00.000Z".into(),
            duration_ms: 2317,
            policy: PolicyInfo {
                name: "br".into(),
                remotes_required: 4,
                allowed_failures: 1,
                rirs_required: 2,
                as_of: "2026-11-28".into(),
            },
            ca: "letsencrypt.org".into(),
            outcome,
            exit_code,
            perspectives: perspectives(),
            identifiers: vec![id],
            findings,
            coverage: coverage(),
        };
        crate::analysis::mark::mark_report(&mut r);
        r
    }

    fn identifier(
        outcome: Outcome,
        verdicts: Vec<Verdict>,
        obs: Vec<Observation>,
    ) -> IdentifierReport {
        IdentifierReport {
            name: NAME.into(),
            methods: vec![Method::Http01],
            outcome,
            verdicts,
            observations: obs,
            ca: "letsencrypt.org".into(),
            certificate: None,
            marks: Vec::new(),
            acme_dry_run: None,
        }
    }

    fn finding(
        code: &str,
        severity: Severity,
        who: &[&str],
        evidence: &[&str],
        fix: &str,
    ) -> Finding {
        Finding {
            code: code.into(),
            severity,
            identifier: NAME.into(),
            perspectives: who.iter().map(|s| s.to_string()).collect(),
            evidence: evidence.iter().map(|s| s.to_string()).collect(),
            fix: fix.into(),
        }
    }

    const REMOTES: [&str; 5] = [
        "us-west",
        "eu-central",
        "ap-southeast",
        "sa-east",
        "af-south",
    ];
    const ALL_RIRS: [Rir; 5] = [Rir::Arin, Rir::Ripe, Rir::Apnic, Rir::Lacnic, Rir::Afrinic];

    /// Every perspective resolves, is permitted by CAA and reaches the origin: READY, one note.
    fn healthy() -> Report {
        let mut o = Vec::new();
        for n in names() {
            o.push(address(&n, &["203.0.113.10"]));
        }
        for n in names() {
            o.push(caa(&n, "letsencrypt.org"));
        }
        for n in names() {
            o.push(http_ok(&n));
        }
        let id = identifier(
            Outcome::Pass,
            vec![
                verdict(
                    Check::Caa,
                    Outcome::Pass,
                    &REMOTES,
                    &[],
                    4,
                    &ALL_RIRS,
                    true,
                    "5/5 remotes corroborate, 4 needed, RIRs ARIN+RIPE+APNIC+LACNIC+AFRINIC",
                ),
                verdict(
                    Check::Http01,
                    Outcome::Pass,
                    &REMOTES,
                    &[],
                    4,
                    &ALL_RIRS,
                    true,
                    "5/5 remotes corroborate, 4 needed, RIRs ARIN+RIPE+APNIC+LACNIC+AFRINIC",
                ),
            ],
            o,
        );
        let f = vec![finding(
            "perspectives-too-close",
            Severity::Info,
            &["us-west", "home"],
            &["us-west and home are 310 km apart; the BRs want remotes 500 km from the primary"],
            "use a remote perspective in another metro area so each one counts",
        )];
        report(Outcome::Pass, 0, id, f)
    }

    /// GeoDNS sends APNIC elsewhere, and eu-central's port 80 is silently dropped: still within
    /// the quorum (4/5, 4 needed), so AT RISK.
    fn at_risk() -> Report {
        let mut o = Vec::new();
        for n in names() {
            let a = if n == "ap-southeast" {
                "198.51.100.7"
            } else {
                "203.0.113.10"
            };
            o.push(address(&n, &[a]));
        }
        for n in names() {
            o.push(caa(&n, "letsencrypt.org"));
        }
        for n in names() {
            o.push(if n == "eu-central" {
                http(
                    &n,
                    None,
                    Some(Phase::Timeout),
                    "Timeout during connect (likely firewall problem)",
                )
            } else {
                http_ok(&n)
            });
        }
        let ok4 = ["us-west", "ap-southeast", "sa-east", "af-south"];
        let id = identifier(
            Outcome::AtRisk,
            vec![
                verdict(
                    Check::Caa,
                    Outcome::Pass,
                    &REMOTES,
                    &[],
                    4,
                    &ALL_RIRS,
                    true,
                    "5/5 remotes corroborate, 4 needed, RIRs ARIN+RIPE+APNIC+LACNIC+AFRINIC",
                ),
                verdict(
                    Check::Http01,
                    Outcome::AtRisk,
                    &ok4,
                    &["eu-central"],
                    4,
                    &[Rir::Arin, Rir::Apnic, Rir::Lacnic, Rir::Afrinic],
                    true,
                    "4/5 remotes corroborate, 4 needed, RIRs ARIN+APNIC+LACNIC+AFRINIC",
                ),
            ],
            o,
        );
        let mut id = id;
        id.certificate = Some(CertInfo {
            client: "certbot".into(),
            lineage: "shop.example.com".into(),
            source: "/etc/letsencrypt/renewal/shop.example.com.conf".into(),
            authenticator: "webroot".into(),
            not_after: Some("2026-12-07T08:12:55Z".into()),
            days_left: Some(9),
            warnings: Vec::new(),
            ca_note: None,
            unknown_ca: None,
        });
        let f = vec![
            finding(
                "http-geoblocked",
                Severity::Warning,
                &["eu-central"],
                &[
                    "eu-central: Timeout during connect (likely firewall problem)",
                    "home, us-west, ap-southeast, sa-east, af-south: 404 from the origin (random \
                     token)",
                ],
                "port 80 answers from some regions but not others (timeout, refusal or \
                 403/451): allow /.well-known/acme-challenge/ on port 80 from all countries in \
                 the firewall, WAF or CDN geo rules; CAs validate from several continents and do \
                 not publish their addresses",
            ),
            finding(
                "geodns-divergence",
                Severity::Info,
                &["ap-southeast"],
                &[
                    "home, us-west, eu-central, sa-east, af-south → 203.0.113.10",
                    "ap-southeast → 198.51.100.7",
                ],
                "GeoDNS answers differently by region, and every regional address served the \
                 challenge path the same way: nothing to do, but keep every regional origin \
                 able to serve /.well-known/acme-challenge/ (or use dns-01)",
            ),
        ];
        report(Outcome::AtRisk, 1, id, f)
    }

    /// CAA names another CA, the WAF answers 403 with a hostile block page to the primary and two
    /// remotes, one proxy is down: WOULD FAIL, with a per-address line for the dead IPv6 origin.
    fn failing() -> Report {
        let hostile_summary = format!("Invalid response from {URL}: 403 \"{HOSTILE}\"");
        let mut o = Vec::new();
        for n in names() {
            o.push(address(&n, &["203.0.113.10", "2001:db8::10"]));
        }
        for n in names() {
            o.push(caa(&n, "pki.goog; \\x1b[31mcritical"));
        }
        for n in names() {
            o.push(match n.as_str() {
                "us-west" | "af-south" => http_ok(&n),
                "sa-east" => {
                    let mut x = http(
                        &n,
                        None,
                        Some(Phase::Proxy),
                        "SOCKS5 proxy gru.vpn:1080 refused",
                    );
                    x.perspective_fault = true;
                    x
                }
                _ => http(&n, Some(403), Some(Phase::Http), &hostile_summary),
            });
        }
        let mut v6 = http(
            "home",
            None,
            Some(Phase::Connect),
            "connect to [2001:db8::10]:80 refused",
        );
        v6.address = Some("2001:db8::10".into());
        v6.connect_failure = Some(ConnectFailure::Refused);
        o.push(v6);
        let mut v4 = http_ok("home");
        v4.address = Some("203.0.113.10".into());
        o.push(v4);
        let id = identifier(
            Outcome::Fail,
            vec![
                verdict(
                    Check::Caa,
                    Outcome::Fail,
                    &[],
                    &REMOTES,
                    4,
                    &[],
                    false,
                    "the primary fails, so a CA stops here; 0/5 remotes corroborate, 4 needed, \
                     RIRs no RIR",
                ),
                verdict(
                    Check::Http01,
                    Outcome::Fail,
                    &["us-west", "af-south"],
                    &["eu-central", "ap-southeast"],
                    3,
                    &[Rir::Arin, Rir::Afrinic],
                    false,
                    "the primary fails, so a CA stops here; 2/4 remotes corroborate, 3 needed, \
                     RIRs ARIN+AFRINIC",
                ),
            ],
            o,
        );
        let f = vec![
            finding(
                "caa-forbids",
                Severity::Error,
                &names().iter().map(String::as_str).collect::<Vec<_>>(),
                &[
                    "home: CAA record for example.com prevents issuance: no issue property \
                     names letsencrypt.org (found 0 issue \"pki.goog; \\x1b[31mcritical\")",
                ],
                "the CAA records do not authorize this CA: add  CAA 0 issue \"letsencrypt.org\"  \
                 (and issuewild for wildcards) at the name where the records are found, or \
                 remove the conflicting parameters",
            ),
            finding(
                "http-geoblocked",
                Severity::Error,
                &["home", "eu-central", "ap-southeast"],
                &[
                    &format!("home (primary): {hostile_summary}"),
                    &format!("eu-central: {hostile_summary}"),
                    &format!("ap-southeast: {hostile_summary}"),
                ],
                "port 80 is blocked from the primary perspective's region while other regions \
                 get through: allow /.well-known/acme-challenge/ from all countries (firewall, \
                 WAF or CDN geo rules); a CA's primary perspective can be in any region",
            ),
            finding(
                "ipv6-broken",
                Severity::Warning,
                &["home"],
                &["home → 2001:db8::10: connect to [2001:db8::10]:80 refused"],
                "the AAAA address 2001:db8::10 does not answer on port 80 but IPv4 does: CAs try \
                 IPv6 first and fall back only on connection errors, so fix IPv6 on port 80 \
                 (firewall, listen directive) or remove the AAAA record",
            ),
            finding(
                "perspective-error",
                Severity::Info,
                &["sa-east"],
                &["sa-east: SOCKS5 proxy gru.vpn:1080 refused"],
                "the tool could not use this perspective; it is left out of the quorum",
            ),
        ];
        report(Outcome::Fail, 2, id, f)
    }

    fn plain(r: &Report, width: u16) -> String {
        let mut out = Vec::new();
        render(
            r,
            Style {
                color: false,
                width,
                verbose: false,
            },
            &mut out,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Lines wider than `width` columns, with their widths.
    fn too_wide(s: &str, width: usize) -> Vec<(usize, &str)> {
        s.lines()
            .map(|l| (UnicodeWidthStr::width(l), l))
            .filter(|(w, _)| *w > width)
            .collect()
    }

    // ---- Snapshots ----------------------------------------------------------------------------

    #[test]
    fn snapshot_healthy_80() {
        insta::assert_snapshot!(plain(&healthy(), 80));
    }

    #[test]
    fn snapshot_healthy_100() {
        insta::assert_snapshot!(plain(&healthy(), 100));
    }

    #[test]
    fn snapshot_at_risk_80() {
        insta::assert_snapshot!(plain(&at_risk(), 80));
    }

    #[test]
    fn snapshot_at_risk_100() {
        insta::assert_snapshot!(plain(&at_risk(), 100));
    }

    #[test]
    fn snapshot_failing_80() {
        insta::assert_snapshot!(plain(&failing(), 80));
    }

    #[test]
    fn snapshot_failing_100() {
        insta::assert_snapshot!(plain(&failing(), 100));
    }

    // ---- Bulk runs: 1 and 200 names from the shared fixture ------------------------------------

    #[test]
    fn snapshot_bulk_1_name() {
        insta::assert_snapshot!(plain(&crate::report::test_fixtures::bulk_report(1), 100));
    }

    #[test]
    fn snapshot_bulk_200_names() {
        insta::assert_snapshot!(plain(&crate::report::test_fixtures::bulk_report(200), 100));
    }

    #[test]
    fn a_bulk_run_ends_with_counts_and_the_names_that_need_attention() {
        let r = crate::report::test_fixtures::bulk_report(200);
        let s = plain(&r, 100);
        // The phase note once, not once per verdict.
        assert_eq!(s.matches("from 2026-12-15").count(), 1, "{s}");
        let summary = &s[s.find("Summary: 200 names").expect("no summary")..];
        let count = |o: Outcome| r.identifiers.iter().filter(|i| i.outcome == o).count();
        let (fail, risk, unknown, pass) = (
            count(Outcome::Fail),
            count(Outcome::AtRisk),
            count(Outcome::Unknown),
            count(Outcome::Pass),
        );
        assert!(fail > 0 && risk > 0 && unknown > 0 && pass > 0);
        assert!(
            summary.starts_with(&format!(
                "Summary: 200 names: {fail} would fail, {risk} at risk, {unknown} could not assess, \
                 {pass} ready"
            )),
            "{summary}"
        );
        for id in r.identifiers.iter().filter(|i| i.outcome != Outcome::Pass) {
            let line = summary
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{} — ", id.name)))
                .unwrap_or_else(|| panic!("{} not in the summary:\n{summary}", id.name));
            let first = r.findings.iter().find(|f| f.identifier == id.name).unwrap();
            assert!(line.contains(first.code.as_str()), "{line}");
        }
        // Healthy names are counted, not listed.
        assert!(!summary.contains("site000.example.com"), "{summary}");
        // One name: no summary, and the note stays beside its verdict.
        let one = plain(&crate::report::test_fixtures::bulk_report(1), 100);
        assert!(
            !one.contains("Summary:") && one.contains("from 2026-12-15"),
            "{one}"
        );
    }

    // ---- Properties of the snapshots ----------------------------------------------------------

    #[test]
    fn the_three_reports_say_what_they_are() {
        let h = plain(&healthy(), 100);
        assert!(h.contains("shop.example.com — READY"), "{h}");
        assert!(h.contains("Result: READY (exit 0)"), "{h}");
        let a = plain(&at_risk(), 100);
        assert!(a.contains("AT RISK (exit 1)"), "{a}");
        assert!(
            a.contains("Warnings") && a.contains("http-geoblocked"),
            "{a}"
        );
        assert!(a.contains("4/5 remotes corroborate, 4 needed"), "{a}");
        let f = plain(&failing(), 100);
        assert!(f.contains("WOULD FAIL (exit 2)"), "{f}");
        assert!(f.contains("Errors") && f.contains("caa-forbids"), "{f}");
        assert!(f.contains("per address (HTTP-01):"), "{f}");
        assert!(f.contains("✗ forbids") && f.contains("proxy failed"), "{f}");
        // Severity order: errors, then warnings, then notes.
        let (e, w, n) = (
            f.find("Errors").unwrap(),
            f.find("Warnings").unwrap(),
            f.find("Notes").unwrap(),
        );
        assert!(e < w && w < n, "{f}");
    }

    #[test]
    fn no_colour_means_no_escape_byte_and_colour_means_some() {
        for r in [healthy(), at_risk(), failing()] {
            for width in [80, 100] {
                let s = plain(&r, width);
                assert!(!s.contains('\x1b'), "escape byte with colour off:\n{s}");
            }
            let mut out = Vec::new();
            let style = Style {
                color: true,
                width: 100,
                verbose: false,
            };
            render(&r, style, &mut out).unwrap();
            let s = String::from_utf8(out).unwrap();
            assert!(s.contains("\x1b["), "no colour with colour on:\n{s}");
        }
    }

    /// The screen a terminal shows for `bytes`: the output goes through a VT100 model (with the
    /// `\n` → `\r\n` a tty's line discipline adds), so escapes are interpreted, not searched.
    pub(crate) fn screen(bytes: &[u8], cols: u16) -> vt100::Screen {
        let size = |n: u16| std::num::NonZeroU16::new(n).unwrap();
        let mut p = vt100::Parser::new(size(400), size(cols), 0);
        let text = String::from_utf8_lossy(bytes).replace('\n', "\r\n");
        p.process(text.as_bytes());
        p.screen().clone()
    }

    /// Where `word` starts on the screen, as (row, column), for the first row containing `needle`.
    fn find_on_screen(s: &vt100::Screen, needle: &str, word: &str) -> Option<(u16, u16)> {
        let (_, cols) = s.size();
        let rows: Vec<String> = s.rows(0, cols.get()).collect();
        let (r, line) = rows.iter().enumerate().find(|(_, l)| l.contains(needle))?;
        let byte = line.find(word)?;
        let col = line[..byte].chars().count() as u16;
        Some((r as u16, col))
    }

    /// The colour bug of issue 21: the verdict word was painted and then escaped, so a terminal
    /// showed `http-01 \x1b[33mat-risk\x1b[0m: …`. Read as a terminal reads it, the word must be
    /// yellow and no escape may show as text anywhere.
    #[test]
    fn a_terminal_shows_the_verdict_words_coloured_and_no_escape_text() {
        for (r, word, colour) in [
            (at_risk(), "at-risk", 3),
            (failing(), "fail", 1),
            (healthy(), "pass", 2),
        ] {
            let mut out = Vec::new();
            let style = Style {
                color: true,
                width: 100,
                verbose: false,
            };
            render(&r, style, &mut out).unwrap();
            let s = screen(&out, 100);
            let text = s.contents();
            // (The failing fixture carries an escaped ESC from the wire on purpose; only our
            // own paint must never show as text.)
            assert!(
                !text.contains(&format!("\\x1b[3{colour}m{word}")),
                "literal escape on screen:\n{text}"
            );
            assert!(
                !text.contains("\\x1b[0m"),
                "literal reset on screen:\n{text}"
            );
            let needle = format!("http-01 {word}:");
            let (row, col) = find_on_screen(&s, &needle, &needle)
                .unwrap_or_else(|| panic!("no {needle:?} on screen:\n{text}"));
            let col = col + "http-01 ".len() as u16;
            for (i, ch) in word.chars().enumerate() {
                let cell = s.cell(row, col + i as u16).unwrap();
                assert_eq!(cell.contents(), ch.to_string());
                assert_eq!(
                    cell.fgcolor(),
                    vt100::Color::Idx(colour),
                    "{word} at {row}:{col}"
                );
            }
            // The colon after the word is back to the default colour.
            let after = s.cell(row, col + word.len() as u16).unwrap();
            assert_eq!(after.fgcolor(), vt100::Color::Default);
        }
    }

    /// Found by `prop_replay_mutated_saved_runs`: a saved run with an ESC sequence as the
    /// identifier name (`--replay` does not re-parse names) reached the terminal raw through the
    /// findings list, though the identifier heading escaped it.
    #[test]
    fn a_replayed_identifier_name_cannot_drive_the_terminal() {
        let mut r = at_risk();
        assert!(!r.findings.is_empty());
        let name = "\u{1b}[2J\u{1b}[31mred";
        r.identifiers[0].name = name.into();
        for f in &mut r.findings {
            f.identifier = name.into();
        }
        let s = plain(&r, 100);
        assert!(!s.contains('\x1b'), "{s}");
        assert!(s.contains(r"[\x1b[2J\x1b[31mred]"), "{s}");
    }

    #[test]
    fn escaped_wire_bytes_stay_escaped() {
        let s = plain(&failing(), 100);
        assert!(s.contains(r"\x1b[31mcritical"), "{s}");
        assert!(s.contains(r"\x1b[2J"), "{s}");
        assert!(!s.contains('\x1b') && !s.contains('\x07'), "{s}");
    }

    #[test]
    fn the_matrices_fit_in_80_columns() {
        // The comfy-table matrices of all three reports at 80 columns.
        for r in [healthy(), at_risk(), failing()] {
            let s = plain(&r, 80);
            let table: Vec<&str> = s
                .lines()
                .filter(|l| l.starts_with(['┌', '│', '╞', '└']))
                .collect();
            assert!(table.len() >= 10, "{s}");
            let wide: Vec<_> = table.iter().filter(|l| l.width() > 80).collect();
            assert!(wide.is_empty(), "{wide:#?}");
        }
    }

    /// The lines the renderer does not wrap today (see `every_line_fits_in_80_columns`): the title,
    /// a verdict's next-phase line and the per-address lines.
    fn unwrapped(line: &str) -> bool {
        line.starts_with("mpic-check ")
            || line.starts_with("      from ")
            || line.starts_with("    ✗ ")
            || line.starts_with("    ✓ ")
    }

    #[test]
    fn findings_verdicts_and_coverage_wrap_within_80_columns() {
        for r in [healthy(), at_risk(), failing()] {
            let s = plain(&r, 80);
            let wide: Vec<_> = too_wide(&s, 80)
                .into_iter()
                .filter(|(_, l)| !unwrapped(l))
                .collect();
            assert!(wide.is_empty(), "{wide:#?}");
        }
        // Continuation lines keep their hanging indent.
        let s = plain(&failing(), 80);
        assert!(s.contains("\n         records are found"), "{s}");
        assert!(s.contains("\n      3 needed, RIRs ARIN+AFRINIC"), "{s}");
        assert!(s.contains("\n  ns-inconsistent, ns-unreachable"), "{s}");
    }

    /// A report where one IPv4 origin behind the CDN answers 403 to the CA-like fetch.
    fn failing_with_a_long_per_address_line() -> Report {
        let mut r = failing();
        let mut o = http(
            "home",
            Some(403),
            Some(Phase::Http),
            &format!("Invalid response from {URL}: 403"),
        );
        o.address = Some("203.0.113.10".into());
        r.identifiers[0]
            .observations
            .retain(|x| x.address.as_deref() != Some("203.0.113.10"));
        r.identifiers[0].observations.push(o);
        // Edited after the analysis: mark again, as a tool editing a report must.
        crate::analysis::mark::mark_report(&mut r);
        r
    }

    #[test]
    fn every_line_fits_in_80_columns() {
        let mut wide = Vec::new();
        for r in [
            healthy(),
            at_risk(),
            failing(),
            failing_with_a_long_per_address_line(),
        ] {
            let s = plain(&r, 80);
            wide.extend(
                too_wide(&s, 80)
                    .into_iter()
                    .map(|(w, l)| (w, l.to_string())),
            );
        }
        assert!(wide.is_empty(), "{wide:#?}");
    }

    #[test]
    fn verbose_lines_fit_in_80_columns() {
        let mut out = Vec::new();
        let style = Style {
            color: false,
            width: 80,
            verbose: true,
        };
        render(&failing(), style, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        let wide = too_wide(&s, 80);
        assert!(wide.is_empty(), "{wide:#?}");
    }

    /// The failing report with raw ESC and BEL bytes where wire text goes: a summary shown in a
    /// cell, finding evidence and the verdict explanation.
    fn failing_with_raw_control_bytes() -> Report {
        let mut r = failing();
        let id = &mut r.identifiers[0];
        for o in id
            .observations
            .iter_mut()
            .filter(|o| o.check == Check::Address)
        {
            o.ok = false;
            o.phase = Some(Phase::Dns);
            o.addresses.clear();
            o.summary = "\x1b[2J\x1b]0;pwned\x07SERVFAIL".into();
        }
        r.findings[0]
            .evidence
            .push("home: \x1b[31mred\x1b[0m CAA".into());
        id.verdicts[0].explanation.push_str(" \x1b[5mblink");
        crate::analysis::mark::mark_report(&mut r);
        r
    }

    #[test]
    fn raw_control_bytes_never_reach_the_terminal() {
        let s = plain(&failing_with_raw_control_bytes(), 100);
        assert!(
            s.contains("pwned") && s.contains("blink"),
            "{}",
            s.escape_debug()
        );
        assert!(
            !s.contains(['\x1b', '\x07']),
            "raw control bytes in the table:\n{}",
            s.escape_debug()
        );
    }

    #[test]
    fn a_refused_connection_is_told_from_a_reset_one_by_type_not_by_summary() {
        let mut o = http(
            "home",
            None,
            Some(Phase::Connect),
            "Connection refused: whatever",
        );
        // The summary alone no longer decides: without the typed kind it is a connect failure.
        assert_eq!(failure_words(&o), "connect");
        o.connect_failure = Some(ConnectFailure::Refused);
        assert_eq!(failure_words(&o), "refused");
        o.summary = "connection reset by peer".into();
        o.connect_failure = Some(ConnectFailure::Reset);
        assert_eq!(failure_words(&o), "connect");
    }
}
