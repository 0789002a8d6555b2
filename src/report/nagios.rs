//! Nagios/Icinga plugin output, so a monitoring system can run `mpic-check` as a check command
//! and alert before a renewal fails. The plugin convention
//! (<https://nagios-plugins.org/doc/guidelines.html#AEN200>) gives us one status line
//! `MPIC <STATE> - <text> | <perfdata>`, optional long-output lines after it, and the exit status
//! (0..3), which the report's `exit_code` already follows. The monitoring side splits on `|` and
//! on newlines wherever they appear, so every piece of text from a report is cleaned before it is
//! written; perfdata labels are quoted and their single quotes doubled as the guidelines ask.

use std::cmp::Reverse;
use std::io::{self, Write};

use super::dissenting_first;
use crate::model::{IdentifierReport, Outcome, Report, Severity};

/// Identifiers named on the status line; the rest are counted. Dashboards show only the first
/// line, and usually only its start, so it names the names in trouble and stops.
const MAX_NAMES: usize = 4;

/// Distinct finding codes named on the status line, most severe first as the report sorts them.
const MAX_CODES: usize = 3;

/// Evidence on a long-output line is cut here: Nagios keeps only 8 KiB of plugin output in all.
const MAX_EVIDENCE: usize = 200;

/// Long output stops before this many bytes: Nagios keeps 8 KiB of plugin output in all, and the
/// status line and perfdata come first.
const MAX_LONG_OUTPUT: usize = 6 * 1024;

/// The plugin state word for an exit status. It is taken from the exit code, not the outcome:
/// with `--fail-on error` an at-risk run exits 0, and Nagios alerts on the code while people read
/// the word, so the two must never disagree. Anything but 0..2 (an interrupted run's 130) is
/// UNKNOWN, as the guidelines say of any status the plugin cannot vouch for.
fn state(exit_code: u8) -> &'static str {
    match exit_code {
        0 => "OK",
        1 => "WARNING",
        2 => "CRITICAL",
        _ => "UNKNOWN",
    }
}

/// The whole plugin output of a run that could not produce a report (a config or flag error, a
/// signal): `MPIC UNKNOWN - <reason>` on stdout, because Nagios shows only stdout and an empty
/// one reads as "(No output)". The reason is cut to one clean line.
pub fn render_unknown(reason: &str, w: &mut impl Write) -> io::Result<()> {
    let first = reason
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("could not assess");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    writeln!(w, "MPIC UNKNOWN - {}", clean(&shorten(first, 400)))?;
    w.flush()
}

/// Makes text safe for plugin output: a `|` anywhere starts perfdata, and a line break would end
/// the status line early or fake a long-output line. Other control characters go too, since the
/// web front-ends print them raw.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// Cuts `s` to `max` characters (not bytes: evidence may hold any UTF-8), ending in ASCII `...`
/// rather than `…` like the other renderers: plugin output passes through Nagios front-ends and
/// notification scripts that are not all UTF-8 safe.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(3)).collect();
        t.push_str("...");
        t
    }
}

/// A perfdata label per the guidelines: quoted unless it is plain word characters, with a single
/// quote written as two. `=` is the one character a label cannot hold even quoted (parsers split
/// on it), so it becomes `_`.
fn label(raw: &str) -> String {
    let s: String = clean(raw)
        .chars()
        .map(|c| if c == '=' { '_' } else { c })
        .collect();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain {
        s
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// `name: outcome (caa 4/4, http-01 3/4 remotes)`: the outcome with the quorum behind it.
fn identifier_text(id: &IdentifierReport) -> String {
    let checks: Vec<String> = id
        .verdicts
        .iter()
        .map(|v| format!("{} {}/{}", v.check, v.corroborating, v.remotes))
        .collect();
    if checks.is_empty() {
        format!("{}: {}", id.name, id.outcome)
    } else {
        format!(
            "{}: {} ({} remotes)",
            id.name,
            id.outcome,
            checks.join(", ")
        )
    }
}

/// The text between `MPIC <STATE> - ` and ` | `.
fn status_text(r: &Report) -> String {
    // Worst first (the sort is stable, so report order otherwise): when names are cut, the
    // ones left off are the healthy ones.
    let mut ids: Vec<&IdentifierReport> = r.identifiers.iter().collect();
    ids.sort_by_key(|id| Reverse(id.outcome.rank()));
    let mut parts: Vec<String> = ids
        .iter()
        .take(MAX_NAMES)
        .map(|id| identifier_text(id))
        .collect();
    if ids.len() > MAX_NAMES {
        parts.push(format!("{} more identifiers", ids.len() - MAX_NAMES));
    }
    if parts.is_empty() {
        parts.push("no identifiers checked".to_string());
    }
    // The same code often fires for several names; once is enough on a one-line summary.
    let mut codes: Vec<&str> = Vec::new();
    for f in &r.findings {
        if !codes.contains(&f.code.as_str()) {
            codes.push(f.code.as_str());
        }
    }
    if !codes.is_empty() {
        let mut shown = codes[..codes.len().min(MAX_CODES)].join(", ");
        if codes.len() > MAX_CODES {
            shown.push_str(&format!(", +{} more", codes.len() - MAX_CODES));
        }
        parts.push(format!("findings: {shown}"));
    }
    clean(&parts.join("; "))
}

/// Milliseconds as seconds with three decimals, computed on integers so it is exact.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Per-name perfdata stops being written past this many bytes: Nagios keeps 8 KiB of output in
/// all, and 200 names would need 40 KiB.
const MAX_NAME_PERFDATA: usize = 3 * 1024;

/// The perfdata items, in report order so graphs keep their series between runs. When the
/// per-name items would not fit, none are written (a cut list would shift series between runs)
/// and the names are counted per outcome instead.
fn perfdata(r: &Report) -> Vec<String> {
    let mut out = per_name_perfdata(r);
    if out.iter().map(|p| p.len() + 1).sum::<usize>() > MAX_NAME_PERFDATA {
        out.clear();
        for o in [
            Outcome::Pass,
            Outcome::AtRisk,
            Outcome::Fail,
            Outcome::Unknown,
        ] {
            let n = r.identifiers.iter().filter(|i| i.outcome == o).count();
            out.push(format!("names_{}={n}", o.as_str().replace('-', "_")));
        }
    }
    for (sev, name) in [
        (Severity::Error, "findings_error"),
        (Severity::Warning, "findings_warning"),
        (Severity::Info, "findings_info"),
    ] {
        let n = r.findings.iter().filter(|f| f.severity == sev).count();
        out.push(format!("{name}={n}"));
    }
    out.push(format!("duration={}s", seconds(r.duration_ms)));
    out
}

/// Corroborating and required remotes per name and check.
fn per_name_perfdata(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for id in &r.identifiers {
        for v in &id.verdicts {
            let base = format!("{} {}", id.name, v.check);
            out.push(format!(
                "{}={};;;0;{}",
                label(&format!("{base} corroborating")),
                v.corroborating,
                v.remotes
            ));
            out.push(format!(
                "{}={};;;0",
                label(&format!("{base} required")),
                v.required
            ));
        }
    }
    out
}

/// Writes the status line with perfdata, then the long output: per finding a line with its code,
/// name and first (dissenting) evidence, and one indented line per further evidence line, until
/// the long-output budget is spent; then one line says how much was left off.
pub fn render(report: &Report, w: &mut impl Write) -> io::Result<()> {
    writeln!(
        w,
        "MPIC {} - {} | {}",
        state(report.exit_code),
        status_text(report),
        perfdata(report).join(" ")
    )?;
    let mut lines: Vec<String> = Vec::new();
    for f in &report.findings {
        let evidence = dissenting_first(f);
        let mut head = format!("{} [{}]", f.code, f.identifier);
        if let Some(e) = evidence.first() {
            head.push_str(": ");
            head.push_str(&shorten(e, MAX_EVIDENCE));
        }
        lines.push(clean(&head));
        for e in evidence.iter().skip(1) {
            lines.push(clean(&format!("  {}", shorten(e, MAX_EVIDENCE))));
        }
    }
    let mut spent = 0;
    for (i, l) in lines.iter().enumerate() {
        if spent + l.len() + 1 > MAX_LONG_OUTPUT {
            let left = lines.len() - i;
            writeln!(
                w,
                "... {left} more line(s) left off; --format json has every finding"
            )?;
            break;
        }
        spent += l.len() + 1;
        writeln!(w, "{l}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::Check;
    use crate::report::test_fixtures::{WEIRD, finding, ident, verdict};

    fn report(
        outcome: Outcome,
        exit_code: u8,
        identifiers: Vec<IdentifierReport>,
        findings: Vec<crate::model::Finding>,
    ) -> Report {
        crate::report::test_fixtures::report(
            "2026-11-28T10:00:00.250Z",
            outcome,
            exit_code,
            identifiers,
            findings,
        )
    }

    fn healthy() -> Report {
        let ok = |name: &str| {
            ident(
                name,
                Outcome::Pass,
                vec![
                    verdict(Check::Caa, Outcome::Pass, 4, 4, 3),
                    verdict(Check::Http01, Outcome::Pass, 4, 4, 3),
                ],
            )
        };
        report(
            Outcome::Pass,
            0,
            vec![ok("example.com"), ok("www.example.com")],
            vec![finding(
                "caa-critical-unknown",
                Severity::Info,
                "example.com",
                &["no CAA record"],
            )],
        )
    }

    fn at_risk() -> Report {
        report(
            Outcome::AtRisk,
            1,
            vec![
                ident(
                    "example.org",
                    Outcome::Pass,
                    vec![verdict(Check::Dns01, Outcome::Pass, 4, 4, 3)],
                ),
                ident(
                    WEIRD,
                    Outcome::AtRisk,
                    vec![verdict(Check::Dns01, Outcome::AtRisk, 3, 4, 3)],
                ),
            ],
            vec![finding(
                "geodns-divergence",
                Severity::Warning,
                WEIRD,
                &[
                    "ap-south saw 192.0.2.1 | others \"198.51.100.7\"\nsee C:\\dns",
                    "second",
                ],
            )],
        )
    }

    fn failing() -> Report {
        report(
            Outcome::Fail,
            2,
            vec![
                ident(
                    "a.example",
                    Outcome::Unknown,
                    vec![verdict(Check::Http01, Outcome::Unknown, 0, 1, 1)],
                ),
                ident(
                    "b.example",
                    Outcome::Fail,
                    vec![
                        verdict(Check::Caa, Outcome::Fail, 0, 4, 3),
                        verdict(Check::Http01, Outcome::Fail, 1, 4, 3),
                    ],
                ),
            ],
            vec![
                finding(
                    "caa-forbids",
                    Severity::Error,
                    "b.example",
                    &["issue \"x.test\""],
                ),
                finding("http-unreachable", Severity::Error, "b.example", &[]),
                finding(
                    "http-unreachable",
                    Severity::Error,
                    "a.example",
                    &["timeout"],
                ),
                finding(
                    "perspective-error",
                    Severity::Warning,
                    "a.example",
                    &["proxy"],
                ),
                finding(
                    "dead-address",
                    Severity::Warning,
                    "b.example",
                    &["2001:db8::1"],
                ),
            ],
        )
    }

    fn unknown() -> Report {
        let mut r = failing();
        r.outcome = Outcome::Unknown;
        r.exit_code = 3;
        r.identifiers.remove(1);
        r.findings.retain(|f| f.identifier == "a.example");
        r
    }

    fn render_string(r: &Report) -> String {
        let mut out = Vec::new();
        render(r, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn first_line(r: &Report) -> String {
        render_string(r).lines().next().unwrap().to_string()
    }

    /// One perfdata item, parsed per the guidelines:
    /// `'label'=value[UOM];[warn];[crit];[min];[max]`.
    #[derive(Debug, PartialEq)]
    struct Perf {
        label: String,
        value: f64,
        uom: String,
        /// warn, crit, min, max as written (empty when left out).
        rest: Vec<String>,
    }

    const UOMS: [&str; 10] = ["", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"];

    /// A strict, regex-free perfdata parser: space-separated items, a label quoted with `'` (a
    /// doubled quote inside stands for one) or unquoted without spaces, `=` or quotes, a number
    /// with an optional known UOM, then at most four `;`-separated numeric fields.
    fn parse_perfdata(s: &str) -> Result<Vec<Perf>, String> {
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        let mut items = Vec::new();
        while i < chars.len() {
            let mut label = String::new();
            if chars[i] == '\'' {
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated label in {s:?}")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            label.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some('=') => return Err(format!("'=' inside label {label:?}")),
                        Some(c) => {
                            label.push(*c);
                            i += 1;
                        }
                    }
                }
            } else {
                while i < chars.len() && chars[i] != '=' {
                    if chars[i] == ' ' || chars[i] == '\'' {
                        return Err(format!("unquoted label with space or quote at {i}"));
                    }
                    label.push(chars[i]);
                    i += 1;
                }
            }
            if label.is_empty() || chars.get(i) != Some(&'=') {
                return Err(format!("expected '=' after label {label:?}"));
            }
            i += 1;
            let start = i;
            while i < chars.len() && chars[i] != ' ' {
                i += 1;
            }
            let data: String = chars[start..i].iter().collect();
            let mut fields = data.split(';');
            let first = fields.next().unwrap_or_default();
            let num_end = first
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
                .unwrap_or(first.len());
            let value: f64 = first[..num_end]
                .parse()
                .map_err(|_| format!("bad value {first:?}"))?;
            let uom = first[num_end..].to_string();
            if !UOMS.contains(&uom.as_str()) {
                return Err(format!("unknown UOM {uom:?}"));
            }
            let rest: Vec<String> = fields.map(str::to_string).collect();
            if rest.len() > 4 {
                return Err(format!("too many fields in {data:?}"));
            }
            for f in &rest {
                if !f.is_empty() && f.parse::<f64>().is_err() {
                    return Err(format!("bad threshold/min/max {f:?}"));
                }
            }
            items.push(Perf {
                label,
                value,
                uom,
                rest,
            });
            if i < chars.len() {
                // Exactly one space between items.
                i += 1;
                if i == chars.len() || chars[i] == ' ' {
                    return Err("stray space in perfdata".into());
                }
            }
        }
        Ok(items)
    }

    /// Splits a first line into status and perfdata, insisting on exactly one ` | ` and no other
    /// `|` (the monitoring side would cut there).
    fn split_first_line(line: &str) -> (&str, &str) {
        assert_eq!(line.matches(" | ").count(), 1, "{line}");
        assert_eq!(line.matches('|').count(), 1, "{line}");
        line.split_once(" | ").unwrap()
    }

    #[test]
    fn ok_status_line() {
        assert_eq!(
            first_line(&healthy()),
            "MPIC OK - example.com: pass (caa 4/4, http-01 4/4 remotes); \
             www.example.com: pass (caa 4/4, http-01 4/4 remotes); findings: caa-critical-unknown | \
             'example.com caa corroborating'=4;;;0;4 'example.com caa required'=3;;;0 \
             'example.com http-01 corroborating'=4;;;0;4 'example.com http-01 required'=3;;;0 \
             'www.example.com caa corroborating'=4;;;0;4 'www.example.com caa required'=3;;;0 \
             'www.example.com http-01 corroborating'=4;;;0;4 \
             'www.example.com http-01 required'=3;;;0 \
             findings_error=0 findings_warning=0 findings_info=1 duration=1.234s"
        );
    }

    #[test]
    fn warning_status_line_cleans_the_identifier() {
        // The at-risk name comes first; `|` and the newline are gone, quotes and backslash stay
        // in the text, and the label's single quote is doubled.
        assert_eq!(
            first_line(&at_risk()),
            "MPIC WARNING - we/ird \"q\" back\\slash it's next: at-risk (dns-01 3/4 remotes); \
             example.org: pass (dns-01 4/4 remotes); findings: geodns-divergence | \
             'example.org dns-01 corroborating'=4;;;0;4 'example.org dns-01 required'=3;;;0 \
             'we/ird \"q\" back\\slash it''s next dns-01 corroborating'=3;;;0;4 \
             'we/ird \"q\" back\\slash it''s next dns-01 required'=3;;;0 \
             findings_error=0 findings_warning=1 findings_info=0 duration=1.234s"
        );
    }

    #[test]
    fn critical_status_line() {
        assert_eq!(
            first_line(&failing()),
            "MPIC CRITICAL - b.example: fail (caa 0/4, http-01 1/4 remotes); \
             a.example: unknown (http-01 0/1 remotes); \
             findings: caa-forbids, http-unreachable, perspective-error, +1 more | \
             'a.example http-01 corroborating'=0;;;0;1 'a.example http-01 required'=1;;;0 \
             'b.example caa corroborating'=0;;;0;4 'b.example caa required'=3;;;0 \
             'b.example http-01 corroborating'=1;;;0;4 'b.example http-01 required'=3;;;0 \
             findings_error=3 findings_warning=2 findings_info=0 duration=1.234s"
        );
    }

    #[test]
    fn unknown_status_line() {
        assert_eq!(
            first_line(&unknown()),
            "MPIC UNKNOWN - a.example: unknown (http-01 0/1 remotes); \
             findings: http-unreachable, perspective-error | \
             'a.example http-01 corroborating'=0;;;0;1 'a.example http-01 required'=1;;;0 \
             findings_error=1 findings_warning=1 findings_info=0 duration=1.234s"
        );
    }

    #[test]
    fn no_identifiers_still_gives_a_valid_line() {
        let mut r = healthy();
        r.identifiers.clear();
        r.findings.clear();
        assert_eq!(
            first_line(&r),
            "MPIC OK - no identifiers checked | \
             findings_error=0 findings_warning=0 findings_info=0 duration=1.234s"
        );
    }

    #[test]
    fn status_text_is_cut_to_the_worst_names() {
        let mut r = healthy();
        for n in 0..6 {
            let o = if n == 5 { Outcome::Fail } else { Outcome::Pass };
            r.identifiers
                .push(ident(&format!("n{n}.example"), o, Vec::new()));
        }
        let line = first_line(&r);
        let (status, _) = split_first_line(&line);
        assert!(
            status.starts_with("MPIC OK - n5.example: fail; example.com: pass"),
            "{status}"
        );
        assert!(status.contains("; 4 more identifiers;"), "{status}");
    }

    #[test]
    fn perfdata_follows_the_guideline_grammar() {
        for r in [healthy(), at_risk(), failing(), unknown()] {
            let line = first_line(&r);
            let (_, perf) = split_first_line(&line);
            let items = parse_perfdata(perf).unwrap_or_else(|e| panic!("{e}: {perf}"));
            let verdicts: usize = r.identifiers.iter().map(|i| i.verdicts.len()).sum();
            assert_eq!(items.len(), verdicts * 2 + 4, "{perf}");
            for id in &r.identifiers {
                for v in &id.verdicts {
                    let name = clean(&id.name);
                    let k = items
                        .iter()
                        .find(|p| p.label == format!("{name} {} corroborating", v.check))
                        .unwrap_or_else(|| panic!("no corroborating item for {name}: {perf}"));
                    assert_eq!(k.value, v.corroborating as f64);
                    assert_eq!(k.rest, ["", "", "0", &v.remotes.to_string()]);
                    let req = items
                        .iter()
                        .find(|p| p.label == format!("{name} {} required", v.check))
                        .unwrap();
                    assert_eq!(req.value, v.required as f64);
                    assert_eq!(req.rest, ["", "", "0"]);
                }
            }
            let duration = items.iter().find(|p| p.label == "duration").unwrap();
            assert_eq!((duration.value, duration.uom.as_str()), (1.234, "s"));
            let errors = items.iter().find(|p| p.label == "findings_error").unwrap();
            let n = r.findings.iter().filter(|f| f.severity == Severity::Error);
            assert_eq!(errors.value, n.count() as f64);
        }
    }

    #[test]
    fn weird_label_round_trips_through_the_parser() {
        let line = first_line(&at_risk());
        let (_, perf) = split_first_line(&line);
        let items = parse_perfdata(perf).unwrap();
        assert!(
            items
                .iter()
                .any(|p| p.label == "we/ird \"q\" back\\slash it's next dns-01 required"),
            "{items:?}"
        );
    }

    #[test]
    fn the_parser_rejects_what_the_guidelines_forbid() {
        assert!(parse_perfdata("a b=1").is_err());
        assert!(parse_perfdata("'a b=1").is_err());
        assert!(parse_perfdata("'a=b'=1").is_err());
        assert!(parse_perfdata("x=1;;;0;1;2").is_err());
        assert!(parse_perfdata("x=1parsecs").is_err());
        assert!(parse_perfdata("x=1  y=2").is_err());
        assert_eq!(parse_perfdata("'it''s'=1.5s;;;0").unwrap()[0].label, "it's");
    }

    #[test]
    fn long_output_has_one_clean_line_per_finding() {
        let out = render_string(&at_risk());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[1..],
            [
                "geodns-divergence [we/ird \"q\" back\\slash it's next]: \
                 ap-south saw 192.0.2.1 / others \"198.51.100.7\" see C:\\dns",
                "  second"
            ]
        );
        assert!(out.ends_with('\n'));

        let out = render_string(&failing());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1 + 5);
        assert_eq!(lines[2], "http-unreachable [b.example]");
        for l in &lines[1..] {
            assert!(!l.contains('|'), "{l}");
        }
    }

    #[test]
    fn long_evidence_is_shortened() {
        let mut r = healthy();
        r.findings[0].evidence = vec!["x".repeat(1000)];
        let out = render_string(&r);
        let line = out.lines().nth(1).unwrap();
        assert_eq!(
            line.len(),
            "caa-critical-unknown [example.com]: ".len() + MAX_EVIDENCE
        );
        assert!(line.ends_with("..."));
    }

    #[test]
    fn the_state_word_follows_the_exit_code_after_fail_on() {
        // `--fail-on error`: an at-risk run exits 0, so Nagios must read OK, not WARNING.
        let mut r = at_risk();
        r.exit_code = 0;
        assert!(
            first_line(&r).starts_with("MPIC OK - "),
            "{}",
            first_line(&r)
        );
        for (code, word) in [
            (0, "OK"),
            (1, "WARNING"),
            (2, "CRITICAL"),
            (3, "UNKNOWN"),
            (130, "UNKNOWN"),
        ] {
            r.exit_code = code;
            assert!(
                first_line(&r).starts_with(&format!("MPIC {word} - ")),
                "{code}"
            );
        }
    }

    #[test]
    fn the_dissenting_evidence_comes_first_and_every_line_is_shown() {
        let mut r = at_risk();
        let mut f = finding(
            "http-geoblocked",
            Severity::Warning,
            "shop.example",
            &[
                "home (primary), us-west: 404 from the origin (random token)",
                "eu-central: 403 from the origin",
                "ap-south: 403 from the origin",
            ],
        );
        f.perspectives = vec!["eu-central".into(), "ap-south".into()];
        r.findings = vec![f];
        let out = render_string(&r);
        let lines: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "http-geoblocked [shop.example]: eu-central: 403 from the origin",
                "  ap-south: 403 from the origin",
                "  home (primary), us-west: 404 from the origin (random token)",
            ]
        );
        // The primary named as the dissenting side is recognised through its "(primary)".
        let mut f = r.findings[0].clone();
        f.perspectives = vec!["home".into()];
        assert_eq!(dissenting_first(&f)[0], f.evidence[0]);
    }

    #[test]
    fn long_output_stays_within_the_budget() {
        let mut r = healthy();
        let many: Vec<String> = (0..400)
            .map(|i| format!("p{i}: {}", "x".repeat(150)))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        r.findings = vec![finding(
            "ns-inconsistent",
            Severity::Warning,
            "example.com",
            &many,
        )];
        let out = render_string(&r);
        let long: usize = out.lines().skip(1).map(|l| l.len() + 1).sum();
        assert!(long <= MAX_LONG_OUTPUT + 100, "{long}");
        let last = out.lines().last().unwrap();
        assert!(
            last.starts_with("... ") && last.contains("more line(s) left off"),
            "{last}"
        );
    }

    #[test]
    fn an_error_is_one_unknown_line() {
        let mut out = Vec::new();
        render_unknown(
            "error: config /etc/x.toml:3: key `timeout`: invalid | value\n\nUsage: …",
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "MPIC UNKNOWN - config /etc/x.toml:3: key `timeout`: invalid / value\n"
        );
    }

    #[test]
    fn snapshot_bulk_1_name() {
        insta::assert_snapshot!(render_string(&crate::report::test_fixtures::bulk_report(1)));
    }

    #[test]
    fn snapshot_bulk_200_names() {
        let out = render_string(&crate::report::test_fixtures::bulk_report(200));
        // Nagios keeps 8 KiB of output, status line and perfdata included... the perfdata of 200
        // names is the one part that is not cut, so only the long output is held to the budget.
        let long: usize = out.lines().skip(1).map(|l| l.len() + 1).sum();
        assert!(long <= MAX_LONG_OUTPUT + 100, "{long}");
        assert!(
            out.starts_with("MPIC CRITICAL - site007.example.com: fail"),
            "{out}"
        );
        let first = out.lines().next().unwrap();
        assert!(first.len() < 2048, "{first}");
        let (_, perf) = split_first_line(first);
        let items = parse_perfdata(perf).unwrap();
        let n = |l: &str| items.iter().find(|p| p.label == l).unwrap().value;
        assert_eq!(
            (
                n("names_pass"),
                n("names_at_risk"),
                n("names_fail"),
                n("names_unknown")
            ),
            (167.0, 20.0, 8.0, 5.0)
        );
        insta::assert_snapshot!(out);
    }
}
