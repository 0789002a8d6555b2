//! GitHub-flavoured Markdown for `$GITHUB_STEP_SUMMARY` and tickets: the verdict, one compact
//! table (a row per name: outcome, each check's quorum, its first finding with the dissenting
//! evidence), then every finding with its evidence and fix. Names, evidence and fixes come from
//! DNS answers, HTTP bodies and the user's config, so every such string is escaped: a domain's
//! data must not be able to open a link, an image, raw HTML or a new table cell in the page
//! where CI shows the summary.

use std::io::{self, Write};

use super::{dissenting_first, outcome_word};
use crate::model::{Finding, IdentifierReport, Outcome, Report, Severity};
use crate::observation::Check;

/// The first finding in the summary table is cut here; the full text is in the findings below.
const CELL_MAX: usize = 140;

/// Escapes text for use inside a Markdown paragraph, list item or table cell.
///
/// Every character that can start inline markup (code, emphasis, links, images, strikethrough,
/// headings) is backslash-escaped (`|` included, which GFM honours inside table cells); `<`, `>` and
/// `&` become entities so that no raw HTML or entity can form, whatever renderer reads it.
/// Line breaks and other control characters become spaces: a newline would end the table row
/// or the list item and let the rest start a heading of its own.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Writes the report as Markdown.
pub fn render(r: &Report, w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "## mpic-check: {}", outcome_word(r.outcome))?;
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        escape(&format!(
            "mpic-check {} · policy {} on {} (≥{} remotes, {} RIRs) · CAA issuer {} · exit {}",
            r.tool.version,
            r.policy.name,
            r.policy.as_of,
            r.policy.remotes_required,
            r.policy.rirs_required,
            r.ca,
            r.exit_code
        ))
    )?;
    writeln!(w)?;
    if r.identifiers.len() > 1 {
        let count = |o| r.identifiers.iter().filter(|i| i.outcome == o).count();
        use Outcome::*;
        writeln!(
            w,
            "**{} names:** {} would fail, {} at risk, {} could not assess, {} ready",
            r.identifiers.len(),
            count(Fail),
            count(AtRisk),
            count(Unknown),
            count(Pass)
        )?;
        writeln!(w)?;
    }
    summary_table(r, w)?;
    findings(r, w)?;
    w.flush()
}

/// Position of an outcome's group in the table.
fn group(o: Outcome) -> u8 {
    match o {
        Outcome::Fail => 0,
        Outcome::AtRisk => 1,
        Outcome::Unknown => 2,
        Outcome::Pass => 3,
    }
}

/// The checks that appear in any verdict, in the order they first appear, one column each.
fn columns(r: &Report) -> Vec<Check> {
    let mut checks: Vec<Check> = Vec::new();
    for v in r.identifiers.iter().flat_map(|i| &i.verdicts) {
        if !checks.contains(&v.check) {
            checks.push(v.check);
        }
    }
    checks
}

/// The first (most severe: the report sorts them) finding about `id`.
fn first_finding<'a>(r: &'a Report, id: &IdentifierReport) -> Option<&'a Finding> {
    r.findings.iter().find(|f| f.identifier == id.name)
}

/// `code: dissenting evidence`, escaped and cut to fit a cell.
fn finding_cell(f: &Finding) -> String {
    let evidence = dissenting_first(f).first().copied().unwrap_or_default();
    let text = if evidence.is_empty() {
        f.code.as_str().to_string()
    } else {
        format!("{}: {}", f.code.as_str(), evidence)
    };
    escape(&super::shorten(&text, CELL_MAX))
}

fn summary_table(r: &Report, w: &mut impl Write) -> io::Result<()> {
    if r.identifiers.is_empty() {
        writeln!(w, "No identifiers checked.")?;
        return Ok(());
    }
    let checks = columns(r);
    let mut head = String::from("| name | outcome |");
    let mut rule = String::from("| --- | --- |");
    for c in &checks {
        head.push_str(&format!(" {} |", escape(c.as_str())));
        rule.push_str(" --- |");
    }
    head.push_str(" first finding |");
    rule.push_str(" --- |");
    writeln!(w, "{head}")?;
    writeln!(w, "{rule}")?;
    // Grouped in the order of the counts line (would fail, at risk, could not assess, ready;
    // report order within a group): the names that need attention are the ones a reader sees
    // without scrolling.
    let mut ids: Vec<&IdentifierReport> = r.identifiers.iter().collect();
    ids.sort_by_key(|id| group(id.outcome));
    for id in ids {
        let mut row = format!("| {} | {} |", escape(&id.name), outcome_word(id.outcome));
        for c in &checks {
            match id.verdicts.iter().find(|v| v.check == *c) {
                Some(v) => row.push_str(&format!(
                    " {} {}/{} |",
                    v.outcome.as_str(),
                    v.corroborating,
                    v.remotes
                )),
                None => row.push_str(" — |"),
            }
        }
        match first_finding(r, id) {
            Some(f) => row.push_str(&format!(" {} |", finding_cell(f))),
            None => row.push_str(" — |"),
        }
        writeln!(w, "{row}")?;
    }
    Ok(())
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "Error",
        Severity::Warning => "Warning",
        Severity::Info => "Info",
    }
}

fn findings(r: &Report, w: &mut impl Write) -> io::Result<()> {
    if r.findings.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "### Findings ({})", r.findings.len())?;
    for f in &r.findings {
        writeln!(w)?;
        let about = if f.identifier.is_empty() {
            "the whole run".to_string()
        } else {
            escape(&f.identifier)
        };
        writeln!(
            w,
            "**{}** {} — {}",
            severity_word(f.severity),
            escape(f.code.as_str()),
            about
        )?;
        writeln!(w)?;
        for e in dissenting_first(f) {
            writeln!(w, "- {}", escape(e))?;
        }
        if !f.fix.is_empty() {
            if !f.evidence.is_empty() {
                writeln!(w)?;
            }
            writeln!(w, "Fix: {}", escape(&f.fix))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_fixtures::{finding, ident, report, verdict};

    fn render_string(r: &Report) -> String {
        let mut out = Vec::new();
        render(r, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Strings a domain's DNS answers, HTTP bodies or a config could carry to take over a page.
    const HOSTILE: &[&str] = &[
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](https://evil.example/)",
        "![img](https://evil.example/x.png)",
        "a | b | c",
        "`code` and ``two``",
        "*bold* _it_ **x** __y__",
        "line\n# Heading\n| fake | row |",
        "line\r\n- item",
        "&lt;script&gt; &#60;",
        "\\| escaped pipe",
        "~~strike~~",
    ];

    #[test]
    fn hostile_text_is_inert() {
        for h in HOSTILE {
            let e = escape(h);
            assert!(!e.contains('\n') && !e.contains('\r'), "{h:?} -> {e:?}");
            assert!(!e.contains('<') && !e.contains('>'), "{h:?} -> {e:?}");
            // Every markup character is preceded by a backslash that is itself not escaped.
            let chars: Vec<char> = e.chars().collect();
            let mut i = 0;
            while i < chars.len() {
                if chars[i] == '\\' {
                    i += 2;
                    continue;
                }
                assert!(
                    !"`*_[]|#!~".contains(chars[i]),
                    "{h:?} -> {e:?}: bare {:?}",
                    chars[i]
                );
                // An `&` only as the start of our own `&amp;`/`&lt;`/`&gt;`.
                if chars[i] == '&' {
                    let rest: String = chars[i..].iter().take(5).collect();
                    assert!(
                        rest.starts_with("&amp;")
                            || rest.starts_with("&lt;")
                            || rest.starts_with("&gt;"),
                        "{h:?} -> {e:?}"
                    );
                }
                i += 1;
            }
        }
        assert_eq!(escape("a | b"), "a \\| b");
        assert_eq!(escape("<b>"), "&lt;b&gt;");
        assert_eq!(escape("x\ny"), "x y");
    }

    #[test]
    fn a_hostile_report_keeps_its_table_shape() {
        let name = "evil|name<script>`x`\n| injected | row |";
        let r = report(
            "2026-11-28T10:00:00Z",
            Outcome::Fail,
            2,
            vec![ident(
                name,
                Outcome::Fail,
                vec![verdict(Check::Http01, Outcome::Fail, 1, 4, 3)],
            )],
            vec![finding(
                "http-geoblocked",
                Severity::Error,
                name,
                &["eu: got [link](http://x) <b>403</b>\n## owned", "| a | b |"],
            )],
        );
        let s = render_string(&r);
        // Each table line has exactly the pipes of its 4 columns (5 unescaped).
        for line in s.lines().filter(|l| l.starts_with('|')) {
            let bare = line
                .char_indices()
                .filter(|(i, c)| *c == '|' && (*i == 0 || line.as_bytes()[i - 1] != b'\\'))
                .count();
            assert_eq!(bare, 5, "{line}");
        }
        assert!(!s.contains("<script") && !s.contains("<b>"), "{s}");
        assert!(
            !s.lines()
                .any(|l| l.starts_with("##") && l.contains("owned"))
        );
        // The link's brackets are escaped, so no link forms.
        assert!(!s.contains("[link]("), "{s}");
        assert!(s.contains("\\[link\\](http://x)"), "{s}");
    }

    #[test]
    fn a_clean_name_reads_plainly() {
        let r = report(
            "2026-11-28T10:00:00Z",
            Outcome::Pass,
            0,
            vec![ident(
                "example.com",
                Outcome::Pass,
                vec![verdict(Check::Caa, Outcome::Pass, 4, 4, 3)],
            )],
            vec![],
        );
        let s = render_string(&r);
        assert!(s.starts_with("## mpic-check: READY\n"), "{s}");
        assert!(s.contains("| example.com | READY | pass 4/4 | — |"), "{s}");
        assert!(!s.contains("### Findings"), "{s}");
    }

    #[test]
    fn snapshot_bulk_1_name() {
        insta::assert_snapshot!(render_string(&crate::report::test_fixtures::bulk_report(1)));
    }

    #[test]
    fn snapshot_bulk_200_names() {
        let r = crate::report::test_fixtures::bulk_report(200);
        let s = render_string(&r);
        assert!(
            s.contains("**200 names:** 8 would fail, 20 at risk, 5 could not assess, 167 ready"),
            "{s}"
        );
        // Worst first: the first row is a name that would fail.
        let first_row = s.lines().find(|l| l.starts_with("| site")).unwrap();
        assert!(first_row.contains("| WOULD FAIL |"), "{first_row}");
        // GitHub caps a step summary at 1 MiB.
        assert!(s.len() < 1024 * 1024, "{}", s.len());
        insta::assert_snapshot!(s);
    }
}
