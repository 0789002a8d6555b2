//! The HTML report (`--format html`, `--html FILE`): one self-contained HTML5 document that a
//! sysadmin can attach to a ticket for whoever has to act — the DNS provider, the CDN team, the
//! firewall owner. It opens with the outcome and the quorum arithmetic per identifier, then shows
//! per identifier a world map with every perspective placed where it asks from and marked by what
//! it saw, the perspectives × checks matrix, the findings with evidence and fix, coverage, and
//! every raw observation in collapsible sections. Everything is inline (CSS and SVG, no script,
//! nothing fetched, a Content-Security-Policy that forbids both) so the file works offline and in
//! a mail attachment. Most strings in a report came off the wire — a TXT record, an HTTP header
//! or body is whatever the other side chose to send — so every one of them goes through `esc`,
//! in text and in attribute values alike. Like the other renderers this one decides nothing:
//! what mark a perspective or a cell gets comes from the analysis (`analysis::mark`).

use super::{outcome_word, shorten};
use std::fmt::{self, Write as _};
use std::io::{self, Write};

use crate::analysis::Mark;
use crate::model::{
    CaaFacts, Check, DnsExchange, Finding, HttpFacts, IdentifierReport, Observation, Outcome,
    PerspectiveInfo, Phase, ProbeFacts, Report, Rir, Role, Severity, Signature,
};

/// Matrix columns, in the table renderer's order (a column appears only when used).
const CHECKS: [Check; 4] = [Check::Address, Check::Caa, Check::Dns01, Check::Http01];

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
    verdicts(r, out)?;
    for (i, id) in r.identifiers.iter().enumerate() {
        identifier(r, id, i, out)?;
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
    out.push_str("</section>\n");
    Ok(())
}

/// The worst standing (as the analysis marked it) among a perspective's observations for an
/// identifier, with the reason.
fn perspective_mark(p: &PerspectiveInfo, id: &IdentifierReport) -> (Mark, String) {
    let mut mark = Mark::Pass;
    let mut why = String::new();
    let mut any = false;
    for o in id.observations.iter().filter(|o| o.perspective == p.name) {
        any = true;
        let m = id.marks_of(o).standing;
        if m.rank() > mark.rank() {
            mark = m;
            why = format!("{}: {}", check_label(o), o.summary);
        }
    }
    if !any {
        return (Mark::Unknown, "not asked for this identifier".to_string());
    }
    if mark == Mark::Pass {
        why = "every check as expected".to_string();
    }
    (mark, why)
}

fn check_label(o: &Observation) -> String {
    match &o.address {
        Some(a) => format!("{} via {a}", o.check),
        None => o.check.to_string(),
    }
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
    map(r, id, i, out)?;
    matrix(r, id, out)?;
    out.push_str("</section>\n");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The map

/// Pixels per degree in the SVG's own units.
const SCALE: f64 = 3.0;
/// Latitudes shown: the Arctic islands to Tierra del Fuego; nobody validates from Antarctica.
const LAT_TOP: f64 = 80.0;
const LAT_BOTTOM: f64 = -58.0;
const MAP_W: f64 = 360.0 * SCALE;
const MAP_H: f64 = (LAT_TOP - LAT_BOTTOM) * SCALE;
/// Vertical distance between markers pushed apart so they and their labels do not overlap.
const STEP: f64 = 25.0;

/// Equirectangular projection into the map's units.
fn project(lat: f64, lon: f64) -> (f64, f64) {
    let lat = lat.clamp(LAT_BOTTOM + 3.0, LAT_TOP - 3.0);
    let lon = (lon + 180.0).rem_euclid(360.0) - 180.0;
    ((lon + 180.0) * SCALE, (LAT_TOP - lat) * SCALE)
}

/// A rough middle of each registry's service region, for perspectives without a location.
fn rir_centroid(r: Rir) -> [f64; 2] {
    match r {
        Rir::Arin => [40.0, -100.0],
        Rir::Ripe => [50.0, 10.0],
        Rir::Apnic => [20.0, 110.0],
        Rir::Lacnic => [-15.0, -60.0],
        Rir::Afrinic => [0.0, 20.0],
    }
}

/// Where a perspective goes: its configured location (`true`), else its RIR's centroid.
fn place(p: &PerspectiveInfo) -> Option<([f64; 2], bool)> {
    match p.location {
        Some([lat, lon])
            if lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0 =>
        {
            Some(([lat, lon], true))
        }
        _ => p.rir.map(|r| (rir_centroid(r), false)),
    }
}

#[derive(Debug)]
struct Pin<'a> {
    p: &'a PerspectiveInfo,
    mark: Mark,
    why: String,
    configured: bool,
    /// The true spot.
    anchor: (f64, f64),
    /// Where the marker is drawn, after moving it off its neighbours.
    at: (f64, f64),
    /// Label to the left of the marker (near the right edge).
    left: bool,
}

impl Pin<'_> {
    fn label(&self) -> String {
        if self.p.role == Role::Primary {
            format!("{} (primary)", self.p.name)
        } else {
            self.p.name.clone()
        }
    }
}

/// Moves markers apart vertically, greedily in report order (primary first), until no marker
/// with its label overlaps another: several perspectives in one RIR without locations share a
/// centroid, and configured locations cluster in a few cities.
fn layout(pins: &mut [Pin<'_>]) {
    let mut boxes: Vec<[f64; 4]> = Vec::new();
    for pin in pins.iter_mut() {
        // DejaVu Sans at 12 px averages about 7 px a character.
        let label_w = pin.label().chars().count() as f64 * 7.0 + 6.0;
        let (ax, ay) = pin.anchor;
        let left = ax + 16.0 + label_w > MAP_W - 2.0;
        let bbox = |y: f64| {
            if left {
                [ax - 16.0 - label_w, y - 12.0, ax + 12.0, y + 12.0]
            } else {
                [ax - 12.0, y - 12.0, ax + 16.0 + label_w, y + 12.0]
            }
        };
        let free = |b: &[f64; 4]| {
            boxes
                .iter()
                .all(|o| b[2] <= o[0] || o[2] <= b[0] || b[3] <= o[1] || o[3] <= b[1])
        };
        let mut chosen = None;
        for k in 0..24u32 {
            let dy = STEP * f64::from(k.div_ceil(2)) * if k % 2 == 1 { 1.0 } else { -1.0 };
            let y = ay + dy;
            if !(14.0..=MAP_H - 14.0).contains(&y) {
                continue;
            }
            let b = bbox(y);
            if free(&b) {
                chosen = Some((y, b));
                break;
            }
        }
        let (y, b) = chosen.unwrap_or_else(|| {
            let y = ay.clamp(14.0, MAP_H - 14.0);
            (y, bbox(y))
        });
        boxes.push(b);
        pin.at = (ax, y);
        pin.left = left;
    }
}

/// The continents, once per document; each map draws them with `<use>`.
fn world_defs(out: &mut String) -> fmt::Result {
    out.push_str(
        "<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\" focusable=\"false\">\
         <defs><g id=\"world\"><path class=\"land\" d=\"",
    );
    outline(out, LAND)?;
    out.push_str("\"/><path class=\"lake\" d=\"");
    outline(out, LAKES)?;
    out.push_str("\"/></g></defs></svg>\n");
    Ok(())
}

fn outline(out: &mut String, polys: &[&[(f32, f32)]]) -> fmt::Result {
    for poly in polys {
        for (k, &(lon, lat)) in poly.iter().enumerate() {
            // Not `project`: the outline may run past the frame, and the viewBox crops it.
            let x = (f64::from(lon) + 180.0) * SCALE;
            let y = (LAT_TOP - f64::from(lat)) * SCALE;
            write!(out, "{}{x:.0} {y:.0}", if k == 0 { "M" } else { "L" })?;
        }
        out.push('Z');
    }
    Ok(())
}

fn map(r: &Report, id: &IdentifierReport, i: usize, out: &mut String) -> fmt::Result {
    let mut pins = Vec::new();
    let mut unplaced = Vec::new();
    // The primary first so it keeps its true spot when markers are pushed apart.
    let order = r
        .perspectives
        .iter()
        .filter(|p| p.role == Role::Primary)
        .chain(r.perspectives.iter().filter(|p| p.role != Role::Primary));
    for p in order {
        let (mark, why) = perspective_mark(p, id);
        match (p.role, place(p)) {
            (Role::Primary | Role::Remote, Some(([lat, lon], configured))) => {
                let anchor = project(lat, lon);
                pins.push(Pin {
                    p,
                    mark,
                    why,
                    configured,
                    anchor,
                    at: anchor,
                    left: false,
                });
            }
            // Sources (authoritative servers, public resolvers) are diagnostic, not vantage
            // points of a CA; they and perspectives without a region are listed instead.
            _ => {
                if id.observations.iter().any(|o| o.perspective == p.name) {
                    unplaced.push((p, mark, why));
                }
            }
        }
    }
    layout(&mut pins);
    let desc: Vec<String> = pins
        .iter()
        .map(|p| {
            format!(
                "{} ({}{}): {} {}",
                p.p.name,
                p.p.role,
                p.p.rir.map_or(String::new(), |r| format!(", {r}")),
                p.mark.symbol(),
                p.mark.word()
            )
        })
        .collect();
    writeln!(
        out,
        "<figure class=\"map\">\n<svg viewBox=\"0 0 {MAP_W:.0} {MAP_H:.0}\" role=\"img\" \
         aria-labelledby=\"map-{i}-t map-{i}-d\">\n<title id=\"map-{i}-t\">Perspectives for {} \
         on a world map</title>\n<desc id=\"map-{i}-d\">{}</desc>",
        esc(&id.name),
        esc(&desc.join("; "))
    )?;
    writeln!(
        out,
        "<rect class=\"sea\" width=\"{MAP_W:.0}\" height=\"{MAP_H:.0}\"/>"
    )?;
    // A 30° graticule gives the eye something to measure distance by.
    out.push_str("<path class=\"grid\" d=\"");
    for lon in (-150..=150).step_by(30) {
        let x = (f64::from(lon) + 180.0) * SCALE;
        write!(out, "M{x:.0} 0V{MAP_H:.0}")?;
    }
    for lat in [60, 30, 0, -30] {
        let y = (LAT_TOP - f64::from(lat)) * SCALE;
        write!(out, "M0 {y:.0}H{MAP_W:.0}")?;
    }
    out.push_str("\"/>\n<use href=\"#world\"/>\n");
    for pin in &pins {
        let (ax, ay) = pin.anchor;
        let (x, y) = pin.at;
        if (y - ay).abs() > 0.5 {
            writeln!(
                out,
                "<path class=\"leader\" d=\"M{ax:.1} {ay:.1}L{x:.1} {y:.1}\"/>\
                 <circle class=\"spot\" cx=\"{ax:.1}\" cy=\"{ay:.1}\" r=\"2.5\"/>"
            )?;
        }
    }
    for pin in &pins {
        pin_svg(pin, out)?;
    }
    out.push_str("</svg>\n<figcaption>\n");
    legend(out)?;
    if pins.iter().any(|p| !p.configured) {
        out.push_str(
            "<p class=\"sub\">Names in <em>italics</em> have no configured location and sit at \
             the middle of their RIR's region.</p>\n",
        );
    }
    if !unplaced.is_empty() {
        out.push_str("<p class=\"sub\">Not on the map (diagnostic sources or no region): ");
        for (k, (p, mark, why)) in unplaced.iter().enumerate() {
            if k > 0 {
                out.push_str("; ");
            }
            write!(
                out,
                "{} {} ({}): {}",
                Sym(*mark),
                esc(&p.name),
                p.role,
                esc(&shorten(why, 80))
            )?;
        }
        out.push_str("</p>\n");
    }
    out.push_str("</figcaption>\n</figure>\n");
    Ok(())
}

fn legend(out: &mut String) -> fmt::Result {
    out.push_str("<ul class=\"legend\">");
    for (m, text) in [
        (Mark::Pass, "as expected"),
        (
            Mark::Risk,
            "disagrees with the primary (quorum still holds)",
        ),
        (Mark::Fail, "fails (primary, or quorum missed)"),
        (Mark::Unknown, "no usable answer (tool fault) or not asked"),
    ] {
        write!(out, "<li>{} {text}</li>", Sym(m))?;
    }
    out.push_str("<li><span class=\"ringkey\" aria-hidden=\"true\">◯</span> ring: primary</li>");
    out.push_str("</ul>\n");
    Ok(())
}

/// One marker: a shape per state (circle, triangle, square, diamond) with the symbol inside, so
/// it reads without colour, and the name beside it.
fn pin_svg(pin: &Pin<'_>, out: &mut String) -> fmt::Result {
    let (x, y) = pin.at;
    writeln!(
        out,
        "<g class=\"pin {}\" transform=\"translate({x:.1} {y:.1})\">",
        pin.mark.class()
    )?;
    writeln!(
        out,
        "<title>{} — {} {}, {}{}: {}</title>",
        esc(&pin.p.name),
        pin.mark.symbol(),
        pin.mark.word(),
        pin.p.role,
        pin.p.rir.map_or(String::new(), |r| format!(", {r}")),
        esc(&pin.why)
    )?;
    if pin.p.role == Role::Primary {
        out.push_str("<circle class=\"ring\" r=\"14\"/>");
    }
    let (shape, dy) = match pin.mark {
        Mark::Pass => ("<circle class=\"mk\" r=\"10\"/>", 0.0),
        Mark::Risk => ("<path class=\"mk\" d=\"M0 -12L11 8H-11Z\"/>", 2.5),
        Mark::Fail => (
            "<rect class=\"mk\" x=\"-9.5\" y=\"-9.5\" width=\"19\" height=\"19\"/>",
            0.0,
        ),
        Mark::Unknown => ("<path class=\"mk\" d=\"M0 -12L12 0L0 12L-12 0Z\"/>", 0.0),
    };
    out.push_str(shape);
    write!(
        out,
        "<text class=\"glyph\" y=\"{:.1}\">{}</text>",
        4.5 + dy,
        pin.mark.symbol()
    )?;
    let (lx, anchor) = if pin.left {
        (-17, "end")
    } else {
        (17, "start")
    };
    writeln!(
        out,
        "<text class=\"lbl{}\" x=\"{lx}\" y=\"4.5\" text-anchor=\"{anchor}\">{}</text>\n</g>",
        if pin.configured { "" } else { " approx" },
        esc(&pin.label())
    )
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
        let seen: Vec<&Observation> = id
            .observations
            .iter()
            .filter(|o| o.perspective == p.name && o.address.is_none())
            .collect();
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
// Raw observations

fn raw(r: &Report, out: &mut String) -> fmt::Result {
    out.push_str(
        "<section class=\"raw\" aria-labelledby=\"raw-h\">\n<h2 id=\"raw-h\">Raw observations\
         </h2>\n<p class=\"sub noprint\">Open a section to see what each perspective sent and \
         received. Perspectives with a problem are open already.</p>\n",
    );
    for id in &r.identifiers {
        writeln!(
            out,
            "<details class=\"ident-raw\"{}>\n<summary>{} {} — {} observation(s)</summary>",
            if id.outcome == Outcome::Pass {
                ""
            } else {
                " open"
            },
            Sym(Mark::of(id.outcome)),
            esc(&id.name),
            id.observations.len()
        )?;
        // Report order of perspectives, then any name that only the observations know.
        let mut names: Vec<&str> = r.perspectives.iter().map(|p| p.name.as_str()).collect();
        for o in &id.observations {
            if !names.contains(&o.perspective.as_str()) {
                names.push(&o.perspective);
            }
        }
        for name in names {
            let obs: Vec<&Observation> = id
                .observations
                .iter()
                .filter(|o| o.perspective == name)
                .collect();
            if obs.is_empty() {
                continue;
            }
            let bad = obs.iter().any(|o| id.marks_of(o).answer != Mark::Pass);
            let mark = match r.perspectives.iter().find(|p| p.name == name) {
                Some(p) => perspective_mark(p, id).0,
                None if bad => Mark::Fail,
                None => Mark::Pass,
            };
            writeln!(
                out,
                "<details class=\"persp-raw\"{}>\n<summary>{} {} — {} check(s)</summary>",
                if bad { " open" } else { "" },
                Sym(mark),
                esc(name),
                obs.len()
            )?;
            for o in obs {
                observation(o, out)?;
            }
            out.push_str("</details>\n");
        }
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
    Ok(())
}

/// A `<dt>`/`<dd>` pair of escaped text.
fn kv(out: &mut String, k: &str, v: &str) -> fmt::Result {
    write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v))
}

fn observation(o: &Observation, out: &mut String) -> fmt::Result {
    let m = if o.ok {
        Mark::Pass
    } else if o.perspective_fault {
        Mark::Unknown
    } else {
        Mark::Fail
    };
    writeln!(
        out,
        "<div class=\"obs\">\n<h4>{} {}</h4>\n<dl>",
        Sym(m),
        esc(&check_label(o))
    )?;
    kv(out, "summary", &o.summary)?;
    kv(out, "result", if o.ok { "ok" } else { "not ok" })?;
    if let Some(p) = o.phase {
        kv(out, "phase", &p.to_string())?;
    }
    if o.perspective_fault {
        kv(
            out,
            "fault",
            "the tool's own (proxy or resolver), not the domain's",
        )?;
    }
    kv(out, "elapsed", &duration(o.elapsed_ms))?;
    kv(out, "signature", &o.signature.to_string())?;
    if !o.addresses.is_empty() {
        kv(out, "addresses", &o.addresses.join(", "))?;
    }
    if !o.txt.is_empty() {
        out.push_str("<dt>TXT values</dt><dd><ul class=\"mono\">");
        for t in &o.txt {
            write!(out, "<li>{}</li>", esc(t))?;
        }
        out.push_str("</ul></dd>");
    }
    // One list of facts, so the names line up; the tables follow it.
    if let Some(h) = &o.http {
        http_facts(h, out)?;
    }
    if let Some(c) = &o.caa {
        caa(c, out)?;
    }
    if let Some(p) = &o.probe {
        probe(p, out)?;
    }
    out.push_str("</dl>\n");
    if !o.dns.is_empty() {
        dns_table(&o.dns, out)?;
    }
    if let Some(h) = &o.http {
        http_tables(h, out)?;
    }
    out.push_str("</div>\n");
    Ok(())
}

fn dns_table(dns: &[DnsExchange], out: &mut String) -> fmt::Result {
    out.push_str(
        "<div class=\"scroll\"><table class=\"dns\">\n<caption>DNS exchanges</caption>\n\
         <thead><tr><th scope=\"col\">question</th><th scope=\"col\">server</th>\
         <th scope=\"col\">reply</th><th scope=\"col\">answers</th><th scope=\"col\">time</th>\
         </tr></thead>\n<tbody>\n",
    );
    for d in dns {
        let mut flags = Vec::new();
        if d.aa {
            flags.push("aa".to_string());
        }
        if d.ad {
            flags.push("ad".to_string());
        }
        if let Some(t) = d.negative_ttl {
            flags.push(format!("negative TTL {t}"));
        }
        if let Some(e) = &d.ecs {
            flags.push(match d.ecs_scope {
                Some(s) => format!("ECS {e} scope /{s}"),
                None => format!("ECS {e}"),
            });
        }
        let reply = match (&d.rcode, &d.error) {
            (Some(rc), Some(e)) => format!("{rc} ({e})"),
            (Some(rc), None) => rc.clone(),
            (None, Some(e)) => format!("no reply: {e}"),
            (None, None) => "no reply".to_string(),
        };
        if let Some(ede) = &d.ede {
            flags.push(format!("EDE {ede}"));
        }
        write!(
            out,
            "<tr><td><code>{} {}</code></td><td><code>{}</code></td><td>{}{}{}</td><td>",
            esc(&d.qname),
            esc(&d.qtype),
            esc(&d.server),
            esc(&reply),
            if flags.is_empty() { "" } else { "<br>" },
            esc(&flags.join(", "))
        )?;
        if d.cname_chain.len() > 1 {
            write!(
                out,
                "<div class=\"sub\">chain {}</div>",
                esc(&d.cname_chain.join(" → "))
            )?;
        }
        if !d.answers.is_empty() {
            out.push_str("<ul class=\"mono\">");
            for rr in &d.answers {
                write!(
                    out,
                    "<li>{} {} {} {}</li>",
                    esc(&rr.name),
                    rr.ttl,
                    esc(&rr.rtype),
                    esc(&rr.data)
                )?;
            }
            out.push_str("</ul>");
        }
        writeln!(out, "</td><td>{}</td></tr>", duration(d.elapsed_ms))?;
    }
    out.push_str("</tbody></table></div>\n");
    Ok(())
}

fn http_facts(h: &HttpFacts, out: &mut String) -> fmt::Result {
    kv(out, "URL", &h.url)?;
    kv(out, "via", &h.via)?;
    kv(out, "User-Agent", &h.user_agent)?;
    kv(
        out,
        "final status",
        &h.status.map_or("none".to_string(), |s| s.to_string()),
    )?;
    if let Some(n) = h.body_len {
        let more = if h.body_truncated {
            " (stopped reading there)"
        } else {
            ""
        };
        kv(out, "body bytes read", &format!("{n}{more}"))?;
    }
    if let Some(s) = &h.body_sha256 {
        kv(out, "body SHA-256", s)?;
    }
    if let Some(a) = &h.alt_user_agent {
        kv(
            out,
            "with another User-Agent",
            &format!(
                "{} → {}: {}",
                a.user_agent,
                a.status.map_or("none".to_string(), |s| s.to_string()),
                a.summary
            ),
        )?;
    }
    Ok(())
}

/// The body's first bytes and the redirect chain with the revealing headers.
fn http_tables(h: &HttpFacts, out: &mut String) -> fmt::Result {
    if let Some(b) = &h.body_prefix {
        writeln!(
            out,
            "<p class=\"sub\">Body (first bytes)</p><pre>{}</pre>",
            esc(b)
        )?;
    }
    if h.hops.is_empty() {
        return Ok(());
    }
    out.push_str(
        "<div class=\"scroll\"><table class=\"hops\">\n<caption>HTTP requests</caption>\n\
         <thead><tr><th scope=\"col\">#</th><th scope=\"col\">request</th><th scope=\"col\">\
         status</th><th scope=\"col\">headers</th><th scope=\"col\">time</th></tr></thead>\n\
         <tbody>\n",
    );
    for (k, hop) in h.hops.iter().enumerate() {
        write!(
            out,
            "<tr><td>{}</td><td><code>{}</code>{}{}</td><td>{}{}{}</td><td>",
            k + 1,
            esc(&hop.url),
            if hop.address.is_some() {
                "<br><span class=\"sub\">to </span>"
            } else {
                ""
            },
            esc(hop.address.as_deref().unwrap_or("")),
            hop.status.map_or("none".to_string(), |s| s.to_string()),
            if hop.location.is_some() { " → " } else { "" },
            esc(hop.location.as_deref().unwrap_or(""))
        )?;
        if !hop.headers.is_empty() {
            out.push_str("<ul class=\"mono\">");
            for (n, v) in &hop.headers {
                write!(out, "<li>{}: {}</li>", esc(n), esc(v))?;
            }
            out.push_str("</ul>");
        }
        writeln!(out, "</td><td>{}</td></tr>", duration(hop.elapsed_ms))?;
    }
    out.push_str("</tbody></table></div>\n");
    Ok(())
}

fn caa(c: &CaaFacts, out: &mut String) -> fmt::Result {
    kv(out, "CAA decision", c.decision.as_str())?;
    kv(out, "why", &c.reason)?;
    kv(
        out,
        "relevant RRset at",
        c.found_at.as_deref().unwrap_or("none"),
    )?;
    if !c.records.is_empty() {
        out.push_str("<dt>CAA records</dt><dd><ul class=\"mono\">");
        for rec in &c.records {
            write!(
                out,
                "<li>{} {} &quot;{}&quot;</li>",
                rec.flags,
                esc(&rec.tag),
                esc(&rec.value)
            )?;
        }
        out.push_str("</ul></dd>");
    }
    Ok(())
}

fn probe(p: &ProbeFacts, out: &mut String) -> fmt::Result {
    let st = |s: Option<u16>| s.map_or("none".to_string(), |s| s.to_string());
    kv(
        out,
        "webroot probe: before the file existed",
        &st(p.before_status),
    )?;
    kv(
        out,
        "after rewriting it",
        &format!(
            "{} — new content {}, old content {}: {}",
            st(p.rewrite_status),
            if p.rewrite_matched {
                "seen"
            } else {
                "not seen"
            },
            if p.rewrite_stale { "seen" } else { "not seen" },
            p.rewrite_summary
        ),
    )
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

// ---------------------------------------------------------------------------------------------
// The continents

// A coarse, hand-made equirectangular outline as (longitude, latitude) pairs, a few dozen points
// a landmass: enough to recognise where a perspective is, small enough to ship in the binary.

#[rustfmt::skip]
const LAND: &[&[(f32, f32)]] = &[
    // North and Central America
    &[(-166.0,68.5),(-156.0,71.3),(-141.0,69.7),(-128.0,70.0),(-115.0,68.5),(-105.0,68.0),
      (-95.0,68.0),(-90.0,69.0),(-85.0,66.5),(-88.0,64.0),(-94.0,61.0),(-93.0,58.5),(-88.0,56.5),
      (-82.0,53.0),(-79.0,51.5),(-79.0,55.0),(-77.0,60.0),(-78.0,62.5),(-73.0,62.0),(-69.0,59.0),
      (-64.5,60.3),(-61.0,56.0),(-56.0,52.5),(-60.0,50.2),(-66.0,50.0),(-64.5,48.0),(-61.0,46.0),
      (-66.0,44.5),(-70.0,43.5),(-70.5,41.7),(-74.0,40.5),(-75.5,38.5),(-76.0,36.5),(-76.5,34.5),
      (-81.0,31.5),(-80.2,27.0),(-80.5,25.2),(-82.5,27.5),(-83.5,29.8),(-86.0,30.3),(-89.5,30.2),
      (-90.0,29.0),(-94.0,29.5),(-97.3,27.5),(-97.5,22.5),(-95.5,18.8),(-91.5,18.5),(-90.5,21.0),
      (-87.0,21.5),(-88.0,18.0),(-88.5,15.8),(-84.0,15.8),(-83.5,12.0),(-81.5,9.0),(-79.5,9.5),
      (-77.5,8.5),(-77.3,7.8),(-79.0,8.0),(-80.5,7.3),(-82.5,8.2),(-85.7,10.0),(-87.5,13.0),
      (-91.5,13.9),(-94.5,16.1),(-97.0,15.8),(-101.0,17.2),(-105.0,19.5),(-105.5,22.5),
      (-108.5,25.5),(-112.5,29.5),(-114.7,31.5),(-113.0,28.5),(-110.5,24.5),(-109.5,23.0),
      (-112.0,24.8),(-114.3,27.5),(-116.0,30.5),(-117.2,32.7),(-120.5,34.5),(-122.5,37.5),
      (-124.0,40.5),(-124.2,46.0),(-124.7,48.4),(-127.5,50.5),(-130.5,54.0),(-134.0,57.5),
      (-138.0,59.0),(-144.0,60.0),(-148.0,60.5),(-152.0,59.0),(-156.0,57.0),(-162.0,55.0),
      (-158.0,58.5),(-162.0,59.8),(-165.0,62.0),(-164.0,64.5),(-168.0,65.6)],
    // Greenland
    &[(-73.0,78.0),(-60.0,82.0),(-40.0,83.5),(-22.0,82.0),(-18.0,77.0),(-21.0,72.0),
      (-23.0,69.0),(-32.0,68.0),(-37.0,65.5),(-42.0,60.0),(-48.0,61.0),(-51.0,64.0),(-53.5,67.0),
      (-54.0,70.0),(-58.0,75.0),(-66.0,76.5)],
    // Baffin Island
    &[(-90.0,72.5),(-80.0,73.7),(-71.0,70.5),(-62.0,66.5),(-65.0,62.5),(-71.0,63.0),
      (-78.0,64.5),(-74.0,67.5),(-81.0,69.5),(-88.0,70.5)],
    // Victoria and Ellesmere Islands
    &[(-118.0,73.0),(-106.0,73.5),(-101.0,70.0),(-108.0,68.5),(-117.0,69.5)],
    &[(-92.0,80.5),(-88.0,77.0),(-78.0,76.5),(-75.0,79.0),(-63.0,82.0),(-75.0,83.0),(-90.0,82.0)],
    // Cuba, Hispaniola
    &[(-85.0,21.9),(-82.0,23.1),(-77.5,22.2),(-74.2,20.2),(-77.7,19.9),(-81.0,21.6)],
    &[(-74.4,18.5),(-72.8,19.9),(-69.5,19.6),(-68.4,18.6),(-71.0,17.9),(-74.4,18.2)],
    // South America
    &[(-77.3,8.5),(-75.5,10.5),(-72.0,12.2),(-70.0,11.5),(-64.0,10.6),(-61.5,10.5),
      (-60.0,8.5),(-57.0,6.0),(-52.0,4.5),(-50.0,1.5),(-48.5,-1.0),(-44.0,-2.5),(-39.0,-3.5),
      (-35.2,-5.5),(-35.0,-9.0),(-37.5,-12.5),(-39.0,-17.5),(-40.2,-20.5),(-42.0,-23.0),
      (-45.0,-23.8),(-48.5,-26.5),(-49.0,-29.0),(-51.5,-32.0),(-53.5,-34.0),(-57.0,-35.5),
      (-57.0,-38.0),(-62.0,-39.0),(-65.0,-41.0),(-64.5,-42.5),(-65.5,-45.0),(-67.5,-46.5),
      (-65.8,-48.0),(-69.0,-51.5),(-68.5,-53.0),(-70.5,-55.0),(-74.0,-52.5),(-75.5,-48.0),
      (-73.5,-44.0),(-73.5,-40.0),(-72.8,-36.0),(-71.5,-32.0),(-71.3,-28.0),(-70.3,-23.0),
      (-70.3,-18.5),(-72.0,-17.2),(-76.2,-14.0),(-79.0,-8.5),(-81.2,-6.0),(-80.9,-2.5),
      (-80.2,-0.5),(-79.0,1.5),(-77.8,3.5),(-77.4,6.5)],
    // Europe and Asia
    &[(-9.0,37.0),(-8.8,38.7),(-9.5,38.8),(-8.9,40.5),(-8.8,42.0),(-9.3,43.0),(-8.0,43.7),
      (-5.0,43.5),(-1.5,43.4),(-1.2,46.0),(-2.2,47.2),(-4.7,48.0),(-4.6,48.6),(-3.0,48.8),
      (-1.6,48.7),(-1.6,49.7),(0.2,49.5),(1.6,50.4),(2.5,51.1),(3.7,51.4),(4.7,52.9),(7.0,53.5),
      (8.6,53.9),(8.6,55.5),(8.1,56.6),(10.6,57.7),(10.5,56.2),(10.0,55.0),(11.0,54.0),
      (12.5,54.4),(14.0,53.9),(16.5,54.6),(18.6,54.7),(19.6,54.4),(21.2,55.2),(21.0,56.8),
      (22.6,57.7),(24.1,57.1),(24.4,58.3),(23.5,59.2),(25.0,59.6),(28.0,59.6),(30.0,59.9),
      (28.8,60.5),(26.0,60.4),(23.0,59.9),(21.4,60.7),(21.5,62.2),(22.5,63.8),(25.0,65.0),
      (25.4,65.6),(22.2,65.8),(21.2,64.8),(18.0,62.7),(17.3,61.3),(18.8,60.0),(18.8,59.4),
      (16.5,57.3),(16.0,56.2),(14.3,56.0),(13.0,55.4),(12.5,56.3),(11.8,57.7),(10.8,59.2),
      (9.5,59.0),(8.0,58.1),(6.6,58.1),(5.5,58.8),(5.0,60.2),(5.0,61.8),(6.0,62.5),(8.5,63.5),
      (10.5,64.5),(12.5,66.0),(14.0,67.5),(16.0,68.5),(18.5,69.8),(21.0,70.2),(24.0,71.0),
      (26.0,71.1),(28.5,70.9),(31.0,70.3),(33.1,69.4),(36.0,69.1),(41.0,67.6),(41.2,66.5),
      (44.0,68.4),(46.0,68.0),(50.0,68.0),(53.5,68.8),(58.0,68.7),(61.0,69.8),(66.0,69.3),
      (68.5,72.5),(72.8,72.8),(74.0,70.0),(80.0,72.5),(85.0,73.5),(90.0,75.5),(97.0,76.0),
      (104.0,77.7),(112.0,75.5),(113.0,73.5),(120.0,73.0),(126.0,73.3),(131.0,71.5),
      (140.0,72.5),(150.0,71.5),(160.0,69.7),(170.0,70.0),(176.0,69.8),(180.0,69.0),
      (180.0,65.0),(176.0,62.5),(173.5,61.8),(170.0,60.0),(165.0,60.0),(163.3,58.0),
      (160.0,54.5),(158.5,53.0),(156.7,51.0),(156.0,53.0),(156.5,57.0),(160.0,60.3),
      (155.0,59.4),(150.0,59.5),(143.3,59.3),(140.6,58.3),(138.0,56.5),(136.8,54.6),
      (139.5,54.2),(141.4,53.3),(140.3,50.0),(140.5,48.3),(138.5,46.5),(136.0,44.2),
      (133.0,42.8),(131.9,43.1),(130.7,42.3),(129.7,41.0),(129.5,40.3),(128.2,39.0),
      (129.4,37.0),(129.4,35.5),(127.7,34.6),(126.3,34.6),(126.5,36.8),(126.1,37.7),
      (124.7,38.6),(125.2,39.6),(124.4,39.9),(121.6,39.6),(121.2,38.8),(121.9,40.0),
      (121.0,41.0),(119.5,39.9),(118.0,39.1),(118.9,37.6),(119.9,37.2),(121.6,37.5),
      (122.6,37.4),(121.0,36.3),(119.5,35.2),(120.5,33.3),(121.9,31.7),(121.9,30.9),
      (122.1,29.9),(121.5,28.5),(120.5,27.2),(119.6,25.9),(118.6,24.6),(117.2,23.6),
      (116.0,22.9),(114.3,22.4),(113.5,22.2),(112.0,21.8),(110.4,21.2),(110.2,20.3),
      (109.7,21.5),(108.5,21.7),(107.0,21.0),(106.6,20.3),(105.7,19.0),(106.6,17.5),
      (108.5,15.8),(109.3,13.0),(109.0,11.5),(107.0,10.5),(105.0,8.6),(104.8,10.3),
      (103.0,11.0),(100.9,12.7),(100.5,13.4),(100.0,12.3),(99.2,10.0),(100.2,8.5),(100.5,7.0),
      (102.0,6.0),(103.4,4.0),(104.2,1.4),(103.5,1.3),(101.3,2.8),(100.3,5.5),(98.3,8.0),
      (98.6,12.0),(97.6,16.5),(95.5,15.8),(94.3,16.2),(94.5,18.5),(92.3,21.0),(91.8,22.3),
      (90.5,22.0),(89.0,21.7),(86.9,21.5),(85.0,19.5),(82.3,17.0),(80.3,15.5),(80.2,13.0),
      (79.8,10.3),(78.2,8.9),(77.5,8.1),(76.3,9.8),(75.0,12.5),(74.0,15.0),(73.0,18.5),
      (72.7,21.0),(72.5,22.3),(70.2,22.8),(69.0,22.3),(68.5,23.5),(67.0,24.8),(64.0,25.3),
      (61.6,25.2),(58.8,25.5),(57.3,25.8),(56.8,27.1),(54.8,26.5),(52.6,27.4),(50.8,28.9),
      (50.0,30.2),(48.6,29.9),(48.3,28.6),(49.6,26.9),(50.8,24.7),(51.6,24.2),(54.0,24.1),
      (56.0,26.1),(56.4,24.9),(57.5,23.7),(59.8,22.5),(58.5,20.5),(57.7,19.0),(55.5,17.3),
      (52.2,15.6),(49.0,14.2),(45.0,12.8),(43.5,12.7),(42.8,14.8),(40.8,19.0),(39.1,21.5),
      (38.5,23.8),(37.0,25.8),(35.0,28.1),(34.9,29.5),(33.9,27.8),(32.6,29.9),(34.2,31.3),
      (35.0,32.8),(35.9,35.2),(36.2,36.6),(34.6,36.8),(32.8,36.1),(30.5,36.4),(29.2,36.7),
      (27.3,37.0),(26.4,38.4),(26.2,40.1),(26.6,40.6),(26.0,40.8),(24.0,40.7),(22.9,40.6),
      (23.0,39.3),(22.9,37.9),(22.5,36.5),(21.7,36.8),(21.2,37.8),(21.0,39.2),(20.0,39.7),
      (19.4,41.8),(18.5,42.5),(16.0,43.5),(15.0,44.8),(13.7,45.6),(12.3,45.3),(12.4,44.2),
      (13.6,43.5),(16.0,41.9),(18.0,40.6),(18.5,40.1),(17.2,40.4),(16.6,39.9),(17.1,38.9),
      (16.1,38.0),(15.6,38.0),(15.8,39.6),(14.8,40.6),(12.5,41.7),(11.1,42.4),(10.2,43.9),
      (8.9,44.4),(7.5,43.8),(6.2,43.1),(4.5,43.4),(3.1,43.1),(3.2,41.9),(1.0,41.0),(-0.3,39.4),
      (0.2,38.7),(-0.8,37.6),(-2.1,36.7),(-4.4,36.7),(-5.6,36.0),(-6.3,36.5),(-7.4,37.2)],
    // Chukotka, east of the date line
    &[(-180.0,69.0),(-174.0,67.5),(-170.0,66.2),(-172.5,64.5),(-180.0,65.0)],
    // Great Britain, Ireland, Iceland
    &[(-5.5,50.0),(1.4,51.2),(1.7,52.7),(0.1,53.5),(-1.5,55.0),(-2.0,57.0),(-1.8,57.6),
      (-4.0,58.6),(-5.0,58.6),(-6.0,56.5),(-5.0,55.0),(-3.0,54.8),(-3.2,53.3),(-4.5,53.2),
      (-5.0,51.7),(-3.0,51.4)],
    &[(-6.0,52.0),(-6.0,54.0),(-7.5,55.3),(-10.0,54.0),(-10.3,51.6),(-8.0,51.5)],
    &[(-24.0,65.5),(-22.0,66.5),(-15.0,66.5),(-13.5,65.0),(-18.0,63.4),(-22.5,63.8)],
    // Svalbard, Novaya Zemlya
    &[(11.0,78.5),(17.0,80.0),(27.0,80.0),(20.0,77.0),(15.0,77.0)],
    &[(52.0,71.5),(56.0,73.5),(60.0,76.0),(68.0,77.0),(62.0,75.0),(56.0,72.0),(55.0,70.5)],
    // Japan, Taiwan, Sri Lanka, Sakhalin
    &[(129.8,33.2),(131.0,31.2),(132.0,33.8),(135.0,33.5),(137.0,34.5),(140.0,35.0),
      (141.0,38.0),(142.0,40.0),(141.5,41.5),(143.0,42.0),(145.5,43.3),(141.5,45.5),
      (140.5,41.5),(140.0,40.0),(139.5,38.0),(137.0,37.0),(133.0,35.5),(131.0,34.5)],
    &[(120.1,23.0),(121.0,25.3),(122.0,25.0),(121.0,22.0),(120.7,22.0)],
    &[(79.8,8.0),(80.0,9.8),(81.5,7.5),(80.5,6.0)],
    &[(142.0,46.0),(143.5,49.0),(143.0,54.0),(142.5,54.3),(142.0,51.0)],
    // Philippines (Luzon, Mindanao)
    &[(120.0,18.5),(122.0,18.5),(122.0,14.0),(124.0,12.5),(121.0,13.5),(120.0,15.0)],
    &[(122.0,7.0),(126.0,9.5),(126.5,6.5),(124.0,6.0)],
    // Borneo, Sumatra, Java, Sulawesi, New Guinea
    &[(109.0,1.5),(111.0,-3.0),(116.0,-4.0),(117.5,0.5),(119.0,5.0),(117.0,7.0),(115.0,5.0),
      (113.0,3.2),(111.0,1.5)],
    &[(95.2,5.6),(98.0,4.0),(104.0,-1.0),(106.0,-6.0),(103.0,-5.0),(100.0,-1.0),(97.5,2.0)],
    &[(105.5,-6.5),(109.0,-6.7),(114.5,-7.7),(114.5,-8.7),(106.0,-7.5)],
    &[(119.4,-5.5),(119.5,0.8),(121.0,1.2),(125.0,1.4),(120.8,-1.0),(122.5,-5.0),(120.5,-5.5)],
    &[(131.0,-1.0),(135.0,-3.3),(138.0,-1.5),(141.0,-2.6),(145.5,-5.0),(147.5,-6.2),
      (150.0,-10.5),(147.0,-10.0),(146.0,-8.0),(143.0,-9.0),(141.0,-9.1),(138.0,-8.4),
      (137.5,-5.0),(133.0,-4.0),(132.0,-2.5)],
    // Africa
    &[(-6.0,35.8),(-2.0,35.1),(3.0,36.8),(10.0,37.3),(11.0,36.8),(10.5,35.8),(11.0,35.2),
      (10.0,34.0),(11.5,33.1),(15.2,32.3),(20.0,30.9),(20.3,32.5),(23.0,32.6),(25.0,31.8),
      (29.0,30.9),(32.3,31.3),(32.6,29.9),(33.5,28.0),(35.5,24.0),(37.2,21.0),(38.5,18.0),
      (39.7,15.5),(41.6,13.5),(43.3,12.0),(43.3,11.5),(45.0,10.4),(51.2,11.8),(51.0,10.4),
      (49.0,6.0),(46.0,2.0),(41.5,-1.7),(39.3,-5.0),(39.5,-9.0),(40.5,-11.0),(40.5,-15.0),
      (36.5,-18.5),(35.3,-22.0),(32.8,-26.0),(32.5,-29.0),(30.0,-31.3),(27.0,-33.7),
      (22.5,-34.0),(20.0,-34.8),(18.3,-34.0),(18.0,-31.5),(15.2,-27.0),(14.5,-22.7),
      (11.8,-17.3),(13.5,-12.0),(12.3,-6.0),(9.5,-2.0),(9.5,2.5),(9.7,4.0),(8.5,4.5),(6.0,4.3),
      (4.5,6.3),(1.5,6.0),(-2.0,4.8),(-7.5,4.4),(-11.5,6.9),(-13.3,9.0),(-15.0,11.0),
      (-16.7,12.5),(-17.5,14.7),(-16.5,16.2),(-16.0,19.5),(-17.0,21.0),(-16.5,23.5),
      (-14.5,26.0),(-13.0,27.7),(-9.8,29.5),(-9.6,32.0),(-6.8,34.0)],
    // Madagascar
    &[(49.3,-12.0),(50.5,-15.5),(49.5,-17.5),(47.0,-25.0),(45.0,-25.5),(43.5,-22.0),
      (44.0,-17.0),(46.5,-15.7),(48.0,-13.5)],
    // Australia, Tasmania, New Zealand
    &[(113.5,-22.0),(114.0,-26.5),(115.0,-33.5),(117.5,-35.0),(123.0,-33.8),(126.0,-32.3),
      (131.0,-31.5),(135.0,-34.8),(137.7,-33.0),(138.5,-35.5),(140.0,-37.5),(143.5,-38.8),
      (146.5,-39.0),(150.0,-37.5),(153.0,-31.0),(153.5,-28.0),(153.0,-25.0),(149.0,-21.0),
      (146.0,-18.7),(145.3,-15.0),(143.5,-14.0),(142.5,-10.7),(141.5,-13.0),(141.5,-16.5),
      (139.5,-17.5),(136.5,-15.0),(137.0,-12.3),(136.0,-12.0),(131.0,-11.2),(129.5,-15.0),
      (126.0,-14.0),(124.0,-16.3),(122.0,-18.0),(121.0,-19.5),(117.0,-20.7)],
    &[(144.7,-40.7),(148.3,-40.9),(148.0,-43.2),(146.0,-43.6),(144.6,-41.5)],
    &[(172.7,-34.5),(175.0,-36.5),(178.5,-37.7),(177.0,-39.3),(176.0,-41.5),(174.7,-41.3),
      (175.0,-39.8),(173.8,-39.2),(174.5,-37.0),(173.0,-35.2)],
    &[(172.7,-40.5),(174.3,-41.7),(173.0,-43.5),(171.2,-44.5),(169.0,-46.6),(166.5,-46.0),
      (167.0,-44.5),(171.0,-42.0)],
];

/// Inland seas drawn over the land in the sea colour.
#[rustfmt::skip]
const LAKES: &[&[(f32, f32)]] = &[
    // Black Sea
    &[(28.0,41.3),(28.6,43.5),(30.5,46.5),(33.5,46.0),(33.0,44.5),(36.5,45.3),(38.0,47.0),
      (39.5,44.5),(41.5,42.0),(41.5,41.5),(36.0,41.7),(31.0,41.2)],
    // Caspian Sea
    &[(47.0,44.5),(49.5,46.5),(53.0,47.0),(53.0,42.0),(54.0,40.5),(53.5,37.5),(50.5,37.0),
      (49.0,38.5),(49.5,40.5),(47.5,43.0)],
    // Hudson Bay is carved out of North America's outline; the Great Lakes are too small here.
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        AltFetch, CaaRecord, Coverage, HttpHop, Method, PolicyInfo, Rr, ToolInfo, Verdict,
    };

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

    fn persp(
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
                ede: Some(crate::model::Ede {
                    code: 18,
                    text: hostile("Prohibited"),
                }),
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
                    crate::model::CaaDecision::Permit
                } else {
                    crate::model::CaaDecision::Forbid
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
                }),
                marks: Vec::new(),
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

    #[test]
    fn layout_separates_markers_at_one_spot_and_keeps_labels_inside() {
        let ps: Vec<PerspectiveInfo> = (0..7)
            .map(|i| persp(&format!("remote-{i}"), Role::Remote, Some(Rir::Apnic), None))
            .chain([persp(
                "far-east-perspective",
                Role::Remote,
                None,
                Some([-41.0, 174.8]),
            )])
            .collect();
        let mut pins: Vec<Pin<'_>> = ps
            .iter()
            .map(|p| {
                let ([lat, lon], configured) = place(p).unwrap();
                let anchor = project(lat, lon);
                Pin {
                    p,
                    mark: Mark::Pass,
                    why: String::new(),
                    configured,
                    anchor,
                    at: anchor,
                    left: false,
                }
            })
            .collect();
        layout(&mut pins);
        for (i, a) in pins.iter().enumerate() {
            assert!((14.0..=MAP_H - 14.0).contains(&a.at.1), "{a:?}");
            for b in &pins[i + 1..] {
                assert!(
                    (a.at.0 - b.at.0).abs() >= 20.0 || (a.at.1 - b.at.1).abs() >= 20.0,
                    "{a:?} overlaps {b:?}"
                );
            }
        }
        // Wellington is near the right edge: its label goes to the left of the marker.
        assert!(pins[7].left);
        assert!(!pins[0].left);
    }
}
