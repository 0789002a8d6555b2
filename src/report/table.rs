//! The terminal report: per identifier a matrix of perspectives × checks with a short cell each,
//! then findings grouped by severity with evidence and fix, then the verdicts with their quorum
//! arithmetic, then coverage in one line. Text from the wire was escaped when it was recorded; the
//! renderer only shortens it.

use std::io::{self, Write};

use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::Style;
use crate::model::{Check, IdentifierReport, Observation, Outcome, Report, Severity};

const CHECKS: [Check; 4] = [Check::Address, Check::Caa, Check::Dns01, Check::Http01];

fn paint(style: Style, s: &str, code: &str) -> String {
    if style.color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "READY",
        Outcome::AtRisk => "AT RISK",
        Outcome::Fail => "WOULD FAIL",
        Outcome::Unknown => "COULD NOT ASSESS",
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

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The short text of one cell.
fn cell_text(o: &Observation) -> String {
    let mark = if o.ok { "✓" } else { "✗" };
    let detail = match o.check {
        Check::Address if o.ok => o.addresses.join(" "),
        Check::Caa if o.ok => "permits".to_string(),
        Check::Caa if o.signature == "forbid" => "forbids".to_string(),
        Check::Http01 => match (&o.http, o.phase) {
            (_, Some(p)) if o.perspective_fault => format!("{p} failed"),
            (Some(h), Some(crate::model::Phase::Http)) if o.signature == "redirect-disallowed" => {
                format!(
                    "redirect refused ({})",
                    h.status.map_or("-".into(), |s| s.to_string())
                )
            }
            (Some(h), _) if h.status.is_some() && o.phase != Some(crate::model::Phase::Timeout) => {
                let s = h.status.unwrap_or_default();
                if o.ok {
                    format!("{s}")
                } else {
                    format!("{s} {}", shorten(&o.summary, 18))
                }
            }
            (_, Some(p)) => p.to_string(),
            _ => o.summary.clone(),
        },
        Check::Dns01 if o.ok && o.txt.is_empty() => "no TXT".to_string(),
        Check::Dns01 if o.ok => format!("{} value(s)", o.txt.len()),
        _ => match o.phase {
            Some(p) => format!("{p}: {}", o.summary),
            None => o.summary.clone(),
        },
    };
    shorten(&format!("{mark} {detail}"), 26)
}

/// Writes the whole table report.
pub fn render(r: &Report, style: Style, w: &mut impl Write) -> io::Result<()> {
    writeln!(
        w,
        "mpic-check {} · policy {} on {} (≥{} remotes, {} RIRs) · CAA issuer {}",
        r.tool.version,
        r.policy.name,
        r.policy.as_of,
        r.policy.remotes_required,
        r.policy.rirs_required,
        r.ca
    )?;
    for id in &r.identifiers {
        writeln!(w)?;
        render_identifier(r, id, style, w)?;
    }
    render_findings(r, style, w)?;
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
    for line in super::wrap(&cov, style.width, "", "  ") {
        writeln!(w, "{line}")?;
    }
    writeln!(
        w,
        "Result: {} (exit {}) in {} ms",
        paint(style, outcome_word(r.outcome), outcome_color(r.outcome)),
        r.exit_code,
        r.duration_ms
    )
}

fn render_identifier(
    r: &Report,
    id: &IdentifierReport,
    style: Style,
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
        "{}{cert} — {}",
        id.name,
        paint(style, outcome_word(id.outcome), outcome_color(id.outcome))
    )?;
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
    let mut header = vec![
        Cell::new("perspective"),
        Cell::new("RIR"),
        Cell::new("role"),
    ];
    header.extend(used.iter().map(|c| Cell::new(c.as_str())));
    t.set_header(header);
    for p in &r.perspectives {
        let seen: Vec<&Observation> = id
            .observations
            .iter()
            .filter(|o| o.perspective == p.name && o.address.is_none())
            .collect();
        if seen.is_empty() {
            continue;
        }
        let mut row = vec![
            Cell::new(&p.name),
            Cell::new(p.rir.map_or("-".into(), |x| x.to_string())),
            Cell::new(p.role.to_string()),
        ];
        for c in &used {
            row.push(match seen.iter().find(|o| o.check == *c) {
                Some(o) => {
                    let cell = Cell::new(cell_text(o));
                    if style.color {
                        cell.fg(if o.ok {
                            Color::Green
                        } else if o.perspective_fault {
                            Color::Magenta
                        } else {
                            Color::Red
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
    let per_addr: Vec<&Observation> = id
        .observations
        .iter()
        .filter(|o| o.address.is_some())
        .collect();
    if !per_addr.is_empty() && (style.verbose || per_addr.iter().any(|o| !o.ok)) {
        writeln!(w, "  per address (HTTP-01):")?;
        for o in per_addr {
            let mark = if o.ok { "✓" } else { "✗" };
            writeln!(
                w,
                "    {mark} {} → {}: {}",
                o.perspective,
                o.address.as_deref().unwrap_or("-"),
                shorten(&o.summary, 90)
            )?;
        }
    }
    if style.verbose {
        for o in id.observations.iter().filter(|o| o.address.is_none()) {
            writeln!(
                w,
                "  {} {}: {}",
                o.perspective,
                o.check,
                shorten(&o.summary, 120)
            )?;
        }
    }
    for v in &id.verdicts {
        let line = format!(
            "{} {}: {}",
            v.check,
            paint(style, v.outcome.as_str(), outcome_color(v.outcome)),
            v.explanation
        );
        for l in super::wrap(&line, style.width, "  ", "      ") {
            writeln!(w, "{l}")?;
        }
        if let Some(n) = &v.next_phase {
            writeln!(w, "      {n}")?;
        }
    }
    Ok(())
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
            writeln!(w, "  {} [{}]", paint(style, &f.code, color), f.identifier)?;
            for e in &f.evidence {
                for l in super::wrap(e, style.width, "    - ", "      ") {
                    writeln!(w, "{l}")?;
                }
            }
            for l in super::wrap(&format!("fix: {}", f.fix), style.width, "    ", "         ") {
                writeln!(w, "{l}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Coverage, PolicyInfo, ToolInfo};

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
                    failure_mode: "a-mode".into(),
                    tested: true,
                    why: "x".into(),
                },
                Coverage {
                    failure_mode: "b-mode".into(),
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
        assert!(s.contains("not tested:") && s.contains("b-mode"), "{s}");
    }
}
