//! The HTML report (`--format html`, `--html FILE`): one self-contained HTML5 document that a
//! sysadmin can attach to a ticket for whoever has to act — the DNS provider, the CDN team, the
//! firewall owner. It opens with the outcome and the quorum arithmetic per identifier, then shows
//! a world map with every perspective placed where it asks from and marked by what it saw, the
//! perspectives × checks matrix, the findings with evidence and fix, coverage, and the raw
//! observations in collapsible sections. A report of several names opens with a summary table
//! grouped by outcome instead, draws one map for all of them and folds each name into a
//! `<details>`, so a bulk run stays a page one can open and mail. Everything is inline (CSS and SVG, no script,
//! nothing fetched, a Content-Security-Policy that forbids both) so the file works offline and in
//! a mail attachment. Most strings in a report came off the wire — a TXT record, an HTTP header
//! or body is whatever the other side chose to send — so every one of them goes through `esc`,
//! in text and in attribute values alike. Like the other renderers this one decides nothing:
//! what mark a perspective or a cell gets comes from the analysis (`analysis::mark`).
//!
//! This file is the page: skeleton, escaping, verdicts, the matrix, findings, coverage and the
//! style sheet. `map` places the perspectives on the world map, `world` holds the continents it
//! is drawn on, and `raw` dumps every observation.

mod map;
mod raw;
#[cfg(test)]
mod tests;
mod world;

use super::{outcome_word, shorten};
use map::{check_label, map, perspective_mark};
use raw::raw;
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use world::world_defs;

use crate::analysis::Mark;
use crate::model::{Finding, IdentifierReport, Outcome, PerspectiveInfo, Report, Severity};
use crate::observation::{
    CaaFacts, Check, DnsExchange, HttpFacts, Observation, Phase, ProbeFacts, Rir, Role, Signature,
};

/// Matrix columns, in the table renderer's order (a column appears only when used).
const CHECKS: [Check; 5] = [
    Check::Address,
    Check::Caa,
    Check::Dns01,
    Check::Http01,
    Check::TlsAlpn01,
];

/// A matrix cell keeps this many characters of its reason; the whole line is in its tooltip and
/// in the raw observations.
const CELL_MAX: usize = 56;

/// Writes the report as one self-contained HTML5 document.
pub fn render(report: &Report, w: &mut impl Write) -> io::Result<()> {
    let mut out = String::with_capacity(64 * 1024);
    page(report, &mut out).map_err(io::Error::other)?;
    w.write_all(out.as_bytes())
}

/// Text escaped for HTML element content and for quoted attribute values (both quote kinds).
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = 0;
        for (i, c) in self.0.char_indices() {
            let rep = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                // HTML has no place for control characters other than tab and newline; show
                // that something was there rather than pass it through.
                c if c.is_control() && c != '\n' && c != '\t' => "\u{fffd}",
                // Bidirectional overrides would let a record make the text around it read
                // backwards (a host name that displays as another).
                '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => "\u{fffd}",
                _ => continue,
            };
            f.write_str(&self.0[last..i])?;
            f.write_str(rep)?;
            last = i + c.len_utf8();
        }
        f.write_str(&self.0[last..])
    }
}

fn esc(s: &str) -> Esc<'_> {
    Esc(s)
}

/// How an analysed [`Mark`] looks on the page: each has a colour AND a symbol, so nothing
/// depends on telling colours apart. The marks themselves come from the analysis.
trait Look {
    fn symbol(self) -> &'static str;
    fn class(self) -> &'static str;
    fn word(self) -> &'static str;
}

impl Look for Mark {
    fn symbol(self) -> &'static str {
        match self {
            Mark::Pass => "✓",
            Mark::Unknown => "?",
            Mark::Risk => "!",
            Mark::Fail => "✗",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Mark::Pass => "pass",
            Mark::Unknown => "unknown",
            Mark::Risk => "risk",
            Mark::Fail => "fail",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Mark::Pass => "as expected",
            Mark::Unknown => "no usable answer",
            Mark::Risk => "disagrees",
            Mark::Fail => "fails",
        }
    }
}

/// `2.008 s` or `350 ms`, computed on integers so it is exact.
fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{:03} s", ms / 1000, ms % 1000)
    }
}

fn page(r: &Report, out: &mut String) -> fmt::Result {
    let names: Vec<&str> = r.identifiers.iter().map(|i| i.name.as_str()).collect();
    let subject = match names.as_slice() {
        [] => "no identifiers".to_string(),
        [one] => (*one).to_string(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    };
    let m = Mark::of(r.outcome);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // Defence in depth: even if some string escaped `esc`, nothing could run or be fetched.
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    writeln!(
        out,
        "<meta name=\"generator\" content=\"{} {}\">",
        esc(&r.tool.name),
        esc(&r.tool.version)
    )?;
    writeln!(
        out,
        "<title>{} — {} — mpic-check</title>",
        outcome_word(r.outcome),
        esc(&subject)
    )?;
    writeln!(out, "<style>{CSS}</style>\n</head>\n<body>")?;
    world_defs(out)?;
    out.push_str("<main>\n");

    // The answer first: outcome, then per identifier the arithmetic behind it.
    writeln!(
        out,
        "<header class=\"top {}\">\n<h1>{} Renewal {} <span class=\"subject\">{}</span></h1>",
        m.class(),
        Sym(m),
        outcome_word(r.outcome),
        esc(&subject)
    )?;
    writeln!(
        out,
        "<p class=\"meta\">CAA issuer <strong>{}</strong> · policy <strong>{}</strong> on {} \
         (≥{} remotes, {} may fail, {} RIRs) · exit status {}</p>",
        esc(&r.ca),
        esc(&r.policy.name),
        esc(&r.policy.as_of),
        r.policy.remotes_required,
        r.policy.allowed_failures,
        r.policy.rirs_required,
        r.exit_code
    )?;
    writeln!(
        out,
        "<p class=\"meta\">Generated {} by {} {} · run took {} · {} perspective(s), {} \
         identifier(s), {} finding(s)</p>\n</header>",
        esc(&r.started_at),
        esc(&r.tool.name),
        esc(&r.tool.version),
        duration(r.duration_ms),
        r.perspectives.len(),
        r.identifiers.len(),
        r.findings.len()
    )?;
    if r.identifiers.len() > 1 {
        // Many names: the summary table first, one map for all of them, then each name's
        // arithmetic and matrix folded away, so 200 names stay a page one can read (and send).
        summary(r, out)?;
        let all: Vec<&IdentifierReport> = r.identifiers.iter().collect();
        out.push_str(
            "<section class=\"where\" aria-labelledby=\"where-h\">\n<h2 id=\"where-h\">Where \
             the perspectives ask from</h2>\n<p class=\"sub\">Each perspective is marked by the \
             worst it saw for any of these names.</p>\n",
        );
        map(r, &all, &format!("{} identifiers", all.len()), "all", out)?;
        out.push_str("</section>\n<section class=\"details\" aria-labelledby=\"details-h\">\n");
        out.push_str("<h2 id=\"details-h\">Per name</h2>\n");
        for (i, id) in r.identifiers.iter().enumerate() {
            folded(r, id, i, out)?;
        }
        out.push_str("</section>\n");
    } else {
        verdicts(r, out)?;
        for (i, id) in r.identifiers.iter().enumerate() {
            identifier(r, id, i, out)?;
        }
    }
    findings(r, out)?;
    coverage(r, out)?;
    perspectives(r, out)?;
    raw(r, out)?;
    writeln!(
        out,
        "</main>\n<footer><p>{} {} · JSON schema {} · started {} · {} · a self-contained file: \
         no scripts, nothing loaded from anywhere.</p></footer>\n</body>\n</html>",
        esc(&r.tool.name),
        esc(&r.tool.version),
        r.schema_version,
        esc(&r.started_at),
        duration(r.duration_ms)
    )
}

/// `<span class="sym pass">✓</span>` in a format string: the symbol carries the state for
/// screen readers and printers, the class only adds colour.
struct Sym(Mark);

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<span class=\"sym {}\">{}</span>",
            self.0.class(),
            self.0.symbol()
        )
    }
}

fn cert_text(id: &IdentifierReport) -> String {
    id.certificate.as_ref().map_or(String::new(), |c| {
        let expiry = match c.days_left {
            Some(d) if d < 0 => format!(", expired {} day(s) ago", -d),
            Some(d) => format!(", expires in {d} day(s)"),
            None => String::new(),
        };
        format!("{} {}{expiry}", c.client, c.lineage)
    })
}

/// One card per identifier: its outcome and each verdict's quorum arithmetic.
fn verdicts(r: &Report, out: &mut String) -> fmt::Result {
    out.push_str("<section class=\"verdicts\" aria-labelledby=\"verdicts-h\">\n");
    out.push_str("<h2 id=\"verdicts-h\">Verdicts</h2>\n");
    if r.identifiers.is_empty() {
        out.push_str("<p>No identifier was checked.</p>\n");
    }
    for (i, id) in r.identifiers.iter().enumerate() {
        card(id, i, out)?;
    }
    out.push_str("</section>\n");
    Ok(())
}

/// An identifier's card: its outcome, method, certificate and each verdict's arithmetic.
fn card(id: &IdentifierReport, i: usize, out: &mut String) -> fmt::Result {
    {
        let m = Mark::of(id.outcome);
        writeln!(
            out,
            "<div class=\"card {c}\"><h3><a href=\"#id-{i}\">{s} <span class=\"word\">{w}</span> \
             <span class=\"name\">{n}</span></a></h3>",
            c = m.class(),
            s = Sym(m),
            w = outcome_word(id.outcome),
            n = esc(&id.name)
        )?;
        let cert = cert_text(id);
        let methods: Vec<&str> = id.methods.iter().map(|m| m.as_str()).collect();
        writeln!(
            out,
            "<p class=\"sub\">method {} · CAA issuer {}{}{}</p>",
            esc(&methods.join(", ")),
            esc(&id.ca),
            if cert.is_empty() {
                ""
            } else {
                " · certificate "
            },
            esc(&cert)
        )?;
        if let Some(note) = id.certificate.as_ref().and_then(|c| c.ca_note.as_deref()) {
            writeln!(out, "<p class=\"sub\">{}</p>", esc(note))?;
        }
        // Oddities in the client's configuration (certbot, acme.sh) belong next to the name.
        for w in id.certificate.iter().flat_map(|c| &c.warnings) {
            writeln!(out, "<p class=\"sub\">{} {}</p>", Sym(Mark::Risk), esc(w))?;
        }
        if id.verdicts.is_empty() {
            out.push_str("<p>No corroborated check was judged.</p>\n");
        } else {
            out.push_str("<ul class=\"arith\">\n");
            for v in &id.verdicts {
                let vm = Mark::of(v.outcome);
                write!(
                    out,
                    "<li>{} <strong>{}</strong> <span class=\"word {}\">{}</span>: {}",
                    Sym(vm),
                    v.check,
                    vm.class(),
                    v.outcome,
                    esc(&v.explanation)
                )?;
                if !v.dissenting_perspectives.is_empty() {
                    write!(
                        out,
                        "<br><span class=\"sub\">not corroborating: {}</span>",
                        esc(&v.dissenting_perspectives.join(", "))
                    )?;
                }
                if let Some(n) = &v.next_phase {
                    write!(out, "<br><span class=\"sub\">{}</span>", esc(n))?;
                }
                out.push_str("</li>\n");
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</div>\n");
    }
    Ok(())
}

fn identifier(r: &Report, id: &IdentifierReport, i: usize, out: &mut String) -> fmt::Result {
    let m = Mark::of(id.outcome);
    writeln!(
        out,
        "<section class=\"ident\" id=\"id-{i}\" aria-labelledby=\"id-{i}-h\">\n\
         <h2 id=\"id-{i}-h\">{} {} <span class=\"word {}\">{}</span></h2>",
        Sym(m),
        esc(&id.name),
        m.class(),
        outcome_word(id.outcome)
    )?;
    map(r, &[id], &id.name, &i.to_string(), out)?;
    matrix(r, id, out)?;
    out.push_str("</section>\n");
    Ok(())
}

/// One name of many, folded: the summary line shows the outcome, opening it shows the card and
/// the matrix (the map is the shared one above).
fn folded(r: &Report, id: &IdentifierReport, i: usize, out: &mut String) -> fmt::Result {
    let m = Mark::of(id.outcome);
    writeln!(
        out,
        "<details class=\"ident\" id=\"id-{i}\">\n<summary>{} {} <span class=\"word {}\">{}\
         </span></summary>",
        Sym(m),
        esc(&id.name),
        m.class(),
        outcome_word(id.outcome)
    )?;
    card(id, i, out)?;
    matrix(r, id, out)?;
    out.push_str("</details>\n");
    Ok(())
}

/// The order of the summary's groups: what needs action first.
const GROUPS: [(Outcome, &str); 4] = [
    (Outcome::Fail, "Would fail"),
    (Outcome::AtRisk, "At risk"),
    (Outcome::Unknown, "Could not assess"),
    (Outcome::Pass, "Ready"),
];

/// The summary table of a report of many names: one row per name, grouped by outcome (would
/// fail, at risk, could not assess, ready) and in report order within a group. The order is
/// the page's own (no script may run), so the names that need action come first. Each row has
/// each check's quorum and the name's first finding, dissenting evidence first.
fn summary(r: &Report, out: &mut String) -> fmt::Result {
    let checks: Vec<Check> = CHECKS
        .iter()
        .copied()
        .filter(|c| {
            r.identifiers
                .iter()
                .any(|id| id.verdicts.iter().any(|v| v.check == *c))
        })
        .collect();
    let count = |o: Outcome| r.identifiers.iter().filter(|i| i.outcome == o).count();
    let counts: Vec<String> = GROUPS
        .iter()
        .map(|(o, w)| format!("{} {}", count(*o), w.to_lowercase()))
        .collect();
    writeln!(
        out,
        "<section class=\"summary\" aria-labelledby=\"summary-h\">\n<h2 id=\"summary-h\">\
         Summary</h2>\n<p>{} names: {}</p>",
        r.identifiers.len(),
        counts.join(", ")
    )?;
    out.push_str(
        "<div class=\"scroll\"><table class=\"summary\">\n<caption>Names that need action \
         first; open a name below for its arithmetic and matrix.</caption>\n<thead><tr>\
         <th scope=\"col\">name</th><th scope=\"col\">outcome</th>",
    );
    for c in &checks {
        write!(out, "<th scope=\"col\">{c}</th>")?;
    }
    out.push_str("<th scope=\"col\">first finding</th></tr></thead>\n");
    for (outcome, title) in GROUPS {
        let group: Vec<(usize, &IdentifierReport)> = r
            .identifiers
            .iter()
            .enumerate()
            .filter(|(_, id)| id.outcome == outcome)
            .collect();
        if group.is_empty() {
            continue;
        }
        let m = Mark::of(outcome);
        writeln!(
            out,
            "<tbody class=\"{}\"><tr><th scope=\"rowgroup\" colspan=\"{}\">{} {title} ({})</th>\
             </tr>",
            m.class(),
            checks.len() + 3,
            Sym(m),
            group.len()
        )?;
        for (i, id) in group {
            write!(
                out,
                "<tr><th scope=\"row\"><a href=\"#id-{i}\">{}</a></th><td class=\"word {}\">{}</td>",
                esc(&id.name),
                m.class(),
                outcome_word(id.outcome)
            )?;
            for c in &checks {
                match id.verdicts.iter().find(|v| v.check == *c) {
                    Some(v) => {
                        let vm = Mark::of(v.outcome);
                        write!(
                            out,
                            "<td class=\"cell {}\">{} {}/{}</td>",
                            vm.class(),
                            Sym(vm),
                            v.corroborating,
                            v.remotes
                        )?;
                    }
                    None => out.push_str("<td class=\"cell none\">—</td>"),
                }
            }
            match r.findings.iter().find(|f| f.identifier == id.name) {
                Some(f) => {
                    let evidence = super::dissenting_first(f).first().copied().unwrap_or("");
                    writeln!(
                        out,
                        "<td><code>{}</code> {}</td></tr>",
                        esc(f.code.as_str()),
                        esc(&shorten(evidence, 120))
                    )?;
                }
                None => out.push_str("<td class=\"cell none\">—</td></tr>\n"),
            }
        }
        out.push_str("</tbody>\n");
    }
    out.push_str("</table></div>\n</section>\n");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The matrix

/// A cell's reason: the same wording as the terminal table's cells, less shortened.
fn cell_detail(o: &Observation) -> String {
    let detail = match o.check {
        Check::Address if o.ok => o.addresses.join(" "),
        Check::Caa if o.ok => "permits".to_string(),
        Check::Caa if o.signature == Signature::Forbid => "forbids".to_string(),
        Check::Http01 => match (&o.http, o.phase) {
            (_, Some(p)) if o.perspective_fault => format!("{p} failed"),
            (Some(h), Some(Phase::Http)) if o.signature == Signature::RedirectDisallowed => {
                format!(
                    "redirect refused ({})",
                    h.status.map_or("-".into(), |s| s.to_string())
                )
            }
            (Some(h), _) if h.status.is_some() && o.phase != Some(Phase::Timeout) => {
                let s = h.status.unwrap_or_default();
                if o.ok {
                    format!("{s}")
                } else {
                    format!("{s} {}", o.summary)
                }
            }
            (_, Some(p)) => format!("{p}: {}", o.summary),
            _ => o.summary.clone(),
        },
        Check::Dns01 if o.ok && o.txt.is_empty() => "no TXT".to_string(),
        Check::Dns01 if o.ok => format!("{} value(s)", o.txt.len()),
        _ => match o.phase {
            Some(p) => format!("{p}: {}", o.summary),
            None => o.summary.clone(),
        },
    };
    shorten(&detail, CELL_MAX)
}

fn matrix(r: &Report, id: &IdentifierReport, out: &mut String) -> fmt::Result {
    let used: Vec<Check> = CHECKS
        .iter()
        .copied()
        .filter(|c| id.observations.iter().any(|o| o.check == *c))
        .collect();
    if used.is_empty() {
        out.push_str("<p>No observations for this identifier.</p>\n");
        return Ok(());
    }
    writeln!(
        out,
        "<div class=\"scroll\"><table class=\"matrix\">\n<caption>Perspectives × checks for {} \
         (✓ answered as required, ✗ did not, ? the tool's own failure, — not tested)</caption>",
        esc(&id.name)
    )?;
    out.push_str(
        "<thead><tr><th scope=\"col\">perspective</th><th scope=\"col\">role</th>\
         <th scope=\"col\">RIR</th>",
    );
    for c in &used {
        write!(out, "<th scope=\"col\">{c}</th>")?;
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for p in &r.perspectives {
        let seen = id.ca_like_of(&p.name);
        if seen.is_empty() {
            continue;
        }
        let (pm, _) = perspective_mark(p, id);
        write!(
            out,
            "<tr class=\"{}\"><th scope=\"row\">{} {}</th><td>{}</td><td>{}</td>",
            p.role,
            Sym(pm),
            esc(&p.name),
            p.role,
            p.rir.map_or("—".to_string(), |x| x.to_string())
        )?;
        for c in &used {
            match seen.iter().find(|o| o.check == *c) {
                Some(o) => {
                    let m = id.marks_of(o).answer;
                    write!(
                        out,
                        "<td class=\"cell {}\" title=\"{}\">{} {}</td>",
                        m.class(),
                        esc(&o.summary),
                        Sym(m),
                        esc(&cell_detail(o))
                    )?;
                }
                None => out.push_str("<td class=\"cell none\">—</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    let per_addr: Vec<&Observation> = id
        .observations
        .iter()
        .filter(|o| o.address.is_some())
        .collect();
    if !per_addr.is_empty() {
        out.push_str("<h3>HTTP-01 per published address</h3>\n<ul class=\"peraddr\">\n");
        for o in per_addr {
            let m = id.marks_of(o).answer;
            writeln!(
                out,
                "<li>{} {} → <code>{}</code>: {}</li>",
                Sym(m),
                esc(&o.perspective),
                esc(o.address.as_deref().unwrap_or("-")),
                esc(&o.summary)
            )?;
        }
        out.push_str("</ul>\n");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Findings and coverage

fn findings(r: &Report, out: &mut String) -> fmt::Result {
    out.push_str("<section class=\"findings\" aria-labelledby=\"findings-h\">\n");
    out.push_str("<h2 id=\"findings-h\">Findings</h2>\n");
    if r.findings.is_empty() {
        writeln!(out, "<p>{} No findings.</p>", Sym(Mark::Pass))?;
    }
    for sev in [Severity::Error, Severity::Warning, Severity::Info] {
        let list: Vec<&Finding> = r.findings.iter().filter(|f| f.severity == sev).collect();
        if list.is_empty() {
            continue;
        }
        let (title, class, symbol) = match sev {
            Severity::Error => ("Errors", "fail", "✗"),
            Severity::Warning => ("Warnings", "risk", "!"),
            Severity::Info => ("Notes", "info", "i"),
        };
        writeln!(
            out,
            "<h3 class=\"sev {class}\"><span class=\"sym {class}\">{symbol}\
             </span> {title} ({})</h3>",
            list.len()
        )?;
        for f in list {
            writeln!(
                out,
                "<article class=\"finding {class}\">\n<h4><code>{}</code> <span class=\"sub\">\
                 {sev} for</span> {}</h4>",
                esc(f.code.as_str()),
                esc(&f.identifier)
            )?;
            if !f.perspectives.is_empty() {
                writeln!(
                    out,
                    "<p class=\"sub\">Perspectives: {}</p>",
                    esc(&f.perspectives.join(", "))
                )?;
            }
            if !f.evidence.is_empty() {
                out.push_str("<ul class=\"evidence\">\n");
                for e in &f.evidence {
                    writeln!(out, "<li>{}</li>", esc(e))?;
                }
                out.push_str("</ul>\n");
            }
            writeln!(
                out,
                "<p class=\"fix\"><strong>Fix:</strong> {}</p>\n</article>",
                esc(&f.fix)
            )?;
        }
    }
    out.push_str("</section>\n");
    Ok(())
}

fn coverage(r: &Report, out: &mut String) -> fmt::Result {
    let tested = r.coverage.iter().filter(|c| c.tested).count();
    writeln!(
        out,
        "<section class=\"coverage\" aria-labelledby=\"coverage-h\">\n<h2 id=\"coverage-h\">\
         Coverage</h2>\n<p>{tested} of {} failure modes could be seen with these perspectives.</p>",
        r.coverage.len()
    )?;
    if r.coverage.is_empty() {
        out.push_str("</section>\n");
        return Ok(());
    }
    out.push_str(
        "<div class=\"scroll\"><table class=\"cov\">\n<thead><tr><th scope=\"col\">failure mode\
         </th><th scope=\"col\">tested</th><th scope=\"col\">why</th></tr></thead>\n<tbody>\n",
    );
    for c in &r.coverage {
        let (m, word) = if c.tested {
            (Mark::Pass, "yes")
        } else {
            (Mark::Unknown, "no")
        };
        writeln!(
            out,
            "<tr><th scope=\"row\"><code>{}</code></th><td class=\"{}\">{} {word}</td>\
             <td>{}</td></tr>",
            esc(c.failure_mode.as_str()),
            m.class(),
            Sym(m),
            esc(&c.why)
        )?;
    }
    out.push_str("</tbody></table></div>\n</section>\n");
    Ok(())
}

fn perspectives(r: &Report, out: &mut String) -> fmt::Result {
    out.push_str(
        "<section class=\"persp\" aria-labelledby=\"persp-h\">\n<h2 id=\"persp-h\">Perspectives\
         </h2>\n<div class=\"scroll\"><table>\n<thead><tr><th scope=\"col\">name</th>\
         <th scope=\"col\">role</th><th scope=\"col\">RIR</th><th scope=\"col\">location</th>\
         <th scope=\"col\">DNS</th><th scope=\"col\">HTTP</th></tr></thead>\n<tbody>\n",
    );
    for p in &r.perspectives {
        let loc = match p.location {
            Some([lat, lon]) => format!("{lat:.2}, {lon:.2}"),
            None => "—".to_string(),
        };
        let dns = match &p.nameserver {
            Some(ns) => format!("{} ({ns})", p.dns),
            None => p.dns.clone(),
        };
        writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code>\
             </td><td><code>{}</code></td></tr>",
            esc(&p.name),
            p.role,
            p.rir.map_or("—".to_string(), |x| x.to_string()),
            loc,
            esc(&dns),
            esc(&p.http)
        )?;
    }
    out.push_str("</tbody></table></div>\n</section>\n");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Style

/// Colours meet WCAG AA (4.5:1) on white, and white symbols on the marker colours; print keeps
/// the symbols and the layout and drops the decoration.
const CSS: &str = r#"
:root{--pass:#1a7f37;--risk:#9a6700;--fail:#c0262d;--unknown:#6639ba;--info:#0b62a4;
--ink:#1f2328;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--ink);background:#fff}
main{max-width:1180px;margin:0 auto;padding:20px 24px}
h1{font-size:1.6em;margin:0 0 .3em}
h2{font-size:1.25em;margin:1.4em 0 .5em;padding-bottom:.2em;border-bottom:1px solid var(--line)}
h3{font-size:1.05em;margin:1em 0 .4em}
h4{font-size:1em;margin:.6em 0 .3em}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.9em}
pre{white-space:pre-wrap;background:var(--soft);padding:6px 8px;border-radius:4px}
a{color:inherit}
.sub{color:var(--muted);font-size:.92em}
.sym{display:inline-block;min-width:1.35em;padding:0 .2em;border-radius:3px;color:#fff;
font-weight:700;text-align:center;line-height:1.35}
.sym.pass{background:var(--pass)}.sym.risk{background:var(--risk)}
.sym.fail{background:var(--fail)}.sym.unknown{background:var(--unknown)}
.sym.info{background:var(--info)}
td.pass{color:var(--pass)}td.unknown{color:var(--unknown)}
.top{border-left:8px solid var(--muted);background:var(--soft);padding:14px 18px;
border-radius:6px}
.top.pass{border-color:var(--pass)}.top.risk{border-color:var(--risk)}
.top.fail{border-color:var(--fail)}.top.unknown{border-color:var(--unknown)}
.top .subject{font-weight:400;color:var(--muted)}
.meta{margin:.2em 0;color:var(--muted)}
.verdicts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:10px}
.verdicts h2{grid-column:1/-1}
.card{border:1px solid var(--line);border-left:6px solid var(--muted);border-radius:6px;
padding:8px 14px}
.card.pass{border-left-color:var(--pass)}.card.risk{border-left-color:var(--risk)}
.card.fail{border-left-color:var(--fail)}.card.unknown{border-left-color:var(--unknown)}
.card h3{margin:.2em 0}.card h3 a{text-decoration:none}
.card .name{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-weight:400}
.card p{margin:.2em 0}
.arith{list-style:none;padding:0;margin:.4em 0}.arith li{margin:.25em 0}
.word.pass{color:var(--pass)}.word.risk{color:var(--risk)}.word.fail{color:var(--fail)}
.word.unknown{color:var(--unknown)}
.map{margin:0}
.map svg{display:block;width:100%;height:auto;border:1px solid var(--line);border-radius:6px}
.defs{position:absolute;width:0;height:0;overflow:hidden}
.sea{fill:#eef4fa}.grid{stroke:#d8e2ec;stroke-width:1;fill:none}
.land{fill:#dfe3e8;stroke:#a9b4bf;stroke-width:1;stroke-linejoin:round}
.lake{fill:#eef4fa;stroke:#a9b4bf;stroke-width:1}
.leader{stroke:#57606a;stroke-width:1.2;stroke-dasharray:3 2;fill:none}
.spot{fill:#57606a}
.pin .mk{stroke:#fff;stroke-width:1.5}
.pin.pass .mk{fill:var(--pass)}.pin.risk .mk{fill:var(--risk)}
.pin.fail .mk{fill:var(--fail)}.pin.unknown .mk{fill:var(--unknown)}
.pin .ring{fill:none;stroke:var(--ink);stroke-width:2}
.glyph{fill:#fff;font:700 13px "DejaVu Sans",sans-serif;text-anchor:middle}
.lbl{font:600 12.5px "DejaVu Sans",sans-serif;fill:var(--ink);paint-order:stroke;
stroke:#fff;stroke-width:3.5px;stroke-linejoin:round}
.lbl.approx{font-style:italic}
figcaption{margin:.4em 0}
.legend{list-style:none;padding:0;margin:.3em 0;display:flex;flex-wrap:wrap;gap:4px 18px}
.ringkey{font-weight:700}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:.6em 0;width:100%}
caption{text-align:left;color:var(--muted);font-size:.92em;padding:.2em 0}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;
overflow-wrap:break-word}
td code,td .mono,dd{overflow-wrap:anywhere}
.persp td:nth-child(2),.persp td:nth-child(3),.persp td:nth-child(4){white-space:nowrap}
thead th{background:var(--soft)}
.matrix tbody th,.matrix td:nth-child(2),.matrix td:nth-child(3){white-space:nowrap}
.matrix tbody th{font-weight:600}
.matrix tr.primary th,.matrix tr.primary td{background:#f3f6f9}
td.cell.pass{color:var(--pass)}td.cell.fail{color:var(--fail);font-weight:600}
td.cell.unknown{color:var(--unknown)}td.cell.none{color:var(--muted);text-align:center}
.cell .sym{margin-right:.2em}
td.cell{white-space:nowrap}td.cell.fail,td.cell.unknown{white-space:normal;min-width:14em}
.peraddr{padding-left:1.2em}
.sev.fail{color:var(--fail)}.sev.risk{color:var(--risk)}.sev.info{color:var(--info)}
.finding{border:1px solid var(--line);border-left:6px solid var(--muted);border-radius:6px;
padding:4px 14px;margin:.5em 0}
.finding.fail{border-left-color:var(--fail)}.finding.risk{border-left-color:var(--risk)}
.finding.info{border-left-color:var(--info)}
.evidence{margin:.3em 0;padding-left:1.2em}.evidence li{overflow-wrap:anywhere}
.fix{margin:.4em 0}
.cov td:nth-child(2){white-space:nowrap}
table.summary tbody th[scope=rowgroup]{background:var(--soft);font-weight:700}
table.summary tbody th[scope=row]{font-weight:400;white-space:nowrap}
table.summary td.cell{min-width:0}
details.ident>summary{font-weight:600}
details.ident .card{border:none;padding:4px 0}
details{border:1px solid var(--line);border-radius:6px;padding:4px 10px;margin:6px 0}
summary{cursor:pointer;font-weight:600}
.obs{border-top:1px dashed var(--line);margin-top:6px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:.4em 0}
dt{color:var(--muted)}dd{margin:0}
dd ul,td ul{margin:0;padding-left:1.1em}
footer{max-width:1180px;margin:0 auto;padding:8px 24px 24px;color:var(--muted);font-size:.9em}
@media print{
@page{margin:14mm}
body{font-size:10pt}
main{max-width:none;padding:0}
.top,.card,thead th,.matrix tr.primary th,.matrix tr.primary td{background:none}
.verdicts{display:block}.card{margin:6px 0}
.map,.finding,.card,tr{break-inside:avoid}
h2,h3{break-after:avoid}
.scroll{overflow:visible}
.noprint{display:none}
summary{list-style:none}
/* Browsers drop backgrounds when printing by default: the symbols become coloured glyphs in a
   coloured frame instead of white glyphs on a coloured badge. */
.sym{background:none!important;border:1px solid currentColor}
.sym.pass{color:var(--pass)}.sym.risk{color:var(--risk)}.sym.fail{color:var(--fail)}
.sym.unknown{color:var(--unknown)}.sym.info{color:var(--info)}
details{border:none;padding:0}
/* Chromium 131+ can show the content of closed sections when printing; elsewhere they print
   closed, and the sections with a problem are open already. */
details::details-content{content-visibility:visible;display:contents}
}
"#;
