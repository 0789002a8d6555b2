//! The world map: every perspective placed where it asks from (its configured location, else its
//! RIR's middle), marked by the worst standing the analysis gave its observations, and pushed
//! apart so markers and labels never overlap. A report of one name gets that name's map; a report
//! of many gets one map for all of them (each perspective marked by its worst standing over every
//! name), since 200 copies of the same five pins made the page 6 MB. The continents come from
//! `world`.

use super::*;

/// The worst standing (as the analysis marked it) among a perspective's observations for an
/// identifier, with the reason.
pub(super) fn perspective_mark(p: &PerspectiveInfo, id: &IdentifierReport) -> (Mark, String) {
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

/// [`perspective_mark`] over several identifiers: the worst standing any of them gave the
/// perspective, the reason naming the first identifier with it and how many more share it.
/// For one identifier it is exactly [`perspective_mark`].
pub(super) fn perspective_mark_all(
    p: &PerspectiveInfo,
    ids: &[&IdentifierReport],
) -> (Mark, String) {
    if let [id] = ids {
        return perspective_mark(p, id);
    }
    let asked: Vec<(&IdentifierReport, (Mark, String))> = ids
        .iter()
        .filter(|id| id.observations.iter().any(|o| o.perspective == p.name))
        .map(|id| (*id, perspective_mark(p, id)))
        .collect();
    let Some(worst) = asked.iter().map(|(_, (m, _))| *m).max_by_key(|m| m.rank()) else {
        return (Mark::Unknown, "not asked for these identifiers".to_string());
    };
    if worst == Mark::Pass {
        return (
            Mark::Pass,
            format!("every check as expected for {} identifier(s)", asked.len()),
        );
    }
    let with: Vec<&(&IdentifierReport, (Mark, String))> =
        asked.iter().filter(|(_, (m, _))| *m == worst).collect();
    let (first, (_, why)) = with[0];
    let more = if with.len() > 1 {
        format!(" (and {} more identifier(s))", with.len() - 1)
    } else {
        String::new()
    };
    (worst, format!("{}: {why}{more}", first.name))
}

pub(super) fn check_label(o: &Observation) -> String {
    match &o.address {
        Some(a) => format!("{} via {a}", o.check),
        None => o.check.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The map

/// Pixels per degree in the SVG's own units.
pub(super) const SCALE: f64 = 3.0;
/// Latitudes shown: the Arctic islands to Tierra del Fuego; nobody validates from Antarctica.
pub(super) const LAT_TOP: f64 = 80.0;
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

pub(super) fn map(
    r: &Report,
    ids: &[&IdentifierReport],
    subject: &str,
    i: &str,
    out: &mut String,
) -> fmt::Result {
    let mut pins = Vec::new();
    let mut unplaced = Vec::new();
    // The primary first so it keeps its true spot when markers are pushed apart.
    let order = r
        .perspectives
        .iter()
        .filter(|p| p.role == Role::Primary)
        .chain(r.perspectives.iter().filter(|p| p.role != Role::Primary));
    for p in order {
        let (mark, why) = perspective_mark_all(p, ids);
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
                if ids
                    .iter()
                    .any(|id| id.observations.iter().any(|o| o.perspective == p.name))
                {
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
        esc(subject),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::html::tests::persp;

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
