//! Cutting the pasted text into problem records: JSON documents found anywhere in it (ACME
//! problem documents with `subproblems`, authorizations, challenges, Open MPIC responses), certbot
//! `Domain:`/`Type:`/`Detail:` blocks, acme.sh `name:Verify error:` lines, lego `[name] acme:
//! error:` lines and any other line carrying a known phrase; plus the [`Hints`] (names and the
//! challenge method mentioned around the problems) for records that carry neither. Bounded by the
//! JSON scan budget and the record cap in the parent module; nothing here interprets a detail.

use serde_json::{Map, Value};

use super::*;

// Problem records

/// One failure report cut out of the text, before interpretation.
#[derive(Debug, Clone, Default)]
pub(super) struct Record {
    /// Byte offset in the text, for ordering and for the nearest preceding name hint.
    pub(super) pos: usize,
    /// The name the surrounding structure attributes it to (certbot `Domain:`, lego `[name]`,
    /// acme.sh `name:`, JSON `identifier`).
    pub(super) identifier: Option<String>,
    /// ACME problem type, e.g. `urn:ietf:params:acme:error:dns` or certbot's `Type:` value.
    pub(super) problem_type: Option<String>,
    /// The human-readable detail.
    pub(super) detail: String,
    /// Text of an enclosing problem (a subproblem's parent): only its stage markers are used.
    pub(super) context: String,
    /// Challenge type the structure names (`http-01`, `dns-01`).
    pub(super) method: Option<&'static str>,
    /// Address and URL from a JSON validation record, used when the detail names none.
    pub(super) address: Option<String>,
    pub(super) url: Option<String>,
    /// Failing perspectives named by the document (Open MPIC responses), and how many it asked.
    pub(super) perspectives: Vec<String>,
    pub(super) total_perspectives: usize,
}

/// Finds JSON objects anywhere in `text` and turns ACME problem documents, authorizations,
/// challenges and Open MPIC responses among them into records. Returns the text with those
/// documents blanked out (newlines kept), so the line scanner does not read their `"detail"`
/// lines a second time with JSON punctuation attached.
pub(super) fn extract_json(text: &str, out: &mut Vec<Record>) -> String {
    let bytes = text.as_bytes();
    let mut masked = bytes.to_vec();
    let mut budget = JSON_SCAN_BUDGET;
    let mut i = 0;
    while i < bytes.len() && budget > 0 {
        if bytes[i] == b'{' && opens_object(bytes, i) {
            let (end, scanned) = match_brackets(bytes, i);
            budget = budget.saturating_sub(scanned);
            if let Some(end) = end
                && let Ok(v) = serde_json::from_str::<Value>(&text[i..end])
            {
                let before = out.len();
                let ctx = JsonCtx {
                    pos: i,
                    ..JsonCtx::default()
                };
                // mpic-check's own JSON report quotes CA-like evidence; it is not a CA's answer.
                let own = is_own_json(&v);
                if !own {
                    collect(&v, &ctx, 0, out);
                }
                // A document that held no problem (directory, nonce, a pending challenge) stays
                // visible: an unknown JSON wrapper around a known message must still be read.
                if own || out.len() > before {
                    for b in &mut masked[i..end] {
                        if *b != b'\n' {
                            *b = b' ';
                        }
                    }
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    // Whole characters were replaced by ASCII spaces, so this is still valid UTF-8.
    String::from_utf8_lossy(&masked).into_owned()
}

/// A report (or JSON Lines record) written by mpic-check itself: `"tool": {"name":
/// "mpic-check"}` (docs/json.md).
fn is_own_json(v: &Value) -> bool {
    v.get("tool")
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
        == Some("mpic-check")
}

// ---------------------------------------------------------------------------------------------
// mpic-check's own output

/// `text` with mpic-check's own output lines emptied (newlines kept), so a log that captured a
/// hook's `wait-txt` lines, or a report pasted next to certbot's output, is not read as a CA's
/// message: `wait-txt` says "remote perspectives", and a report quotes CA wording as evidence.
pub(super) fn mask_own_output(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Indentation of the heading whose indented lines are being skipped (a finding in a table
    // report, an item of `explain`'s own output), and whether a whole report is being skipped.
    let mut skip_indented: Option<usize> = None;
    let mut in_report = false;
    for (k, line) in text.split('\n').enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let t = line.trim_start();
        let indent = line.len() - t.len();
        if in_report {
            // The table report ends with `Result: READY (exit 0) in 812 ms`; a report cut short
            // ends at the first line it could not have printed.
            if t.starts_with("Result: ") && t.contains("(exit ") {
                in_report = false;
                continue;
            }
            if is_report_line(line) {
                continue;
            }
            in_report = false;
        }
        if let Some(i) = skip_indented {
            if !t.is_empty() && indent > i {
                continue;
            }
            skip_indented = None;
        }
        if is_report_header(t) {
            in_report = true;
            continue;
        }
        if is_own_heading(t) {
            skip_indented = Some(indent);
            continue;
        }
        if is_own_line(line) {
            continue;
        }
        out.push_str(line);
    }
    out
}

/// A line the table report (src/report/table.rs render) prints after its header: blank or
/// indented lines, the table's box drawing, `name — STATUS`, the section titles, `Coverage:`.
fn is_report_line(line: &str) -> bool {
    let t = line.trim_end();
    t.is_empty()
        || line.starts_with(' ')
        || t.starts_with(['┌', '│', '╞', '├', '└', '╭', '╰', '+', '|', '='])
        || t.contains(" \u{2014} ")
        || ["Errors", "Warnings", "Notes", "Findings: ", "Coverage: "]
            .iter()
            .any(|k| t.starts_with(k))
}

/// `mpic-check 0.1.0 · policy br on …`: the first line of a table report.
fn is_report_header(t: &str) -> bool {
    t.strip_prefix("mpic-check ")
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()) && r.contains(" \u{b7} "))
}

/// A finding heading of the table report (`  http-geoblocked [shop.example.com]`) or an item
/// heading of `explain`'s own output (`http-status (primary check) for www.example.com`, `not
/// recognised`): the indented lines under it are the tool's, too.
fn is_own_heading(t: &str) -> bool {
    let t = t.trim_end();
    let code = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if let Some((c, rest)) = t.split_once(" [") {
        return code(c) && rest.ends_with(']') && !rest[..rest.len() - 1].contains(' ');
    }
    if let Some((c, rest)) = t.split_once(" (") {
        let stage = ["primary", "remote", "caa", "unknown"]
            .iter()
            .any(|s| rest.starts_with(&format!("{s} check)")));
        return code(c) && c.contains('-') && stage;
    }
    t == "not recognised"
}

/// One line printed by mpic-check itself, wherever a log put it (certbot indents hook output,
/// journald prefixes a date): `mpic-check wait-txt: …` (and every other `mpic-check[ cmd]: `
/// diagnostic), `explain --run`'s `$ mpic-check …` echo, and `wait-txt`'s result lines `ready: N
/// value(s) at … remote perspectives (primary ok) …` and `timeout after N s: ns lacks "…"`
/// (src/commands/wait_txt.rs).
fn is_own_line(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    let diagnostic = l.match_indices("mpic-check").any(|(i, _)| {
        let before = l[..i].bytes().next_back();
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return false;
        }
        let rest = &l[i + "mpic-check".len()..];
        if rest.starts_with(':') {
            return true;
        }
        // `mpic-check wait-txt:` — a subcommand word, then a colon.
        rest.strip_prefix(' ').is_some_and(|r| {
            let word: String = r
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            !word.is_empty() && r[word.len()..].starts_with(':')
        }) || l[..i].trim_end().ends_with('$')
    });
    diagnostic
        || (l.contains("value(s) at ") && l.contains("nameserver address(es)"))
        || (l.contains("timeout after ")
            && (l.contains(" lacks \"")
                || l.contains("does not see it yet")
                || l.contains(" did not answer: ")))
}

/// Whether the `{` at `i` can start a JSON object: next non-blank byte is `"` or `}`. This skips
/// shell `${VAR}`, Go `%{…}` and prose braces cheaply.
pub(super) fn opens_object(bytes: &[u8], i: usize) -> bool {
    bytes[i + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'"' || *b == b'}')
}

/// End (exclusive) of the bracketed value starting at `start`, string-aware, and bytes scanned.
pub(super) fn match_brackets(bytes: &[u8], start: usize) -> (Option<usize>, usize) {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut esc = false;
    let mut scanned = 0;
    for (k, &c) in bytes.iter().enumerate().skip(start).take(MAX_JSON_OBJECT) {
        scanned += 1;
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                let Some(d) = depth.checked_sub(1) else {
                    return (None, scanned);
                };
                depth = d;
                if depth == 0 {
                    return (Some(k + 1), scanned);
                }
            }
            _ => {}
        }
    }
    (None, scanned)
}

/// What an enclosing JSON object tells about the problems inside it.
#[derive(Debug, Clone, Default)]
pub(super) struct JsonCtx {
    pub(super) pos: usize,
    pub(super) identifier: Option<String>,
    pub(super) method: Option<&'static str>,
    pub(super) address: Option<String>,
    pub(super) url: Option<String>,
}

pub(super) fn collect(v: &Value, ctx: &JsonCtx, depth: usize, out: &mut Vec<Record>) {
    if depth > MAX_JSON_DEPTH || out.len() >= MAX_RECORDS {
        return;
    }
    match v {
        Value::Array(a) => {
            for x in a {
                collect(x, ctx, depth + 1, out);
            }
        }
        Value::Object(m) => collect_object(m, ctx, depth, out),
        _ => {}
    }
}

pub(super) fn collect_object(
    m: &Map<String, Value>,
    ctx: &JsonCtx,
    depth: usize,
    out: &mut Vec<Record>,
) {
    if let Some(p) = m.get("perspectives").and_then(Value::as_array)
        && m.contains_key("is_valid")
    {
        open_mpic(m, p, ctx, out);
        return;
    }
    let mut ctx = ctx.clone();
    if let Some(id) = json_identifier(m) {
        ctx.identifier = Some(id);
    }
    if let Some(t) = str_of(m, "type") {
        if let Some(meth) = method_name(t) {
            ctx.method = Some(meth);
        }
        if is_problem_type(t) {
            problem_document(m, t, &ctx, out);
            return;
        }
    }
    // A challenge's validation record names the address and URL the CA used.
    if let Some(vr) = m
        .get("validationRecord")
        .and_then(Value::as_array)
        .and_then(|a| a.last())
        .and_then(Value::as_object)
    {
        if let Some(a) = str_of(vr, "addressUsed") {
            ctx.address = Some(a.to_string());
        }
        if let Some(u) = str_of(vr, "url") {
            ctx.url = Some(u.to_string());
        }
        if ctx.identifier.is_none() {
            ctx.identifier = str_of(vr, "hostname").map(str::to_string);
        }
    }
    for child in m.values() {
        collect(child, &ctx, depth + 1, out);
    }
}

/// An RFC 7807/8555 problem document: one record, or one per subproblem (RFC 8555 §6.7.1), since
/// the parent's detail then only says "refer to sub-problems".
pub(super) fn problem_document(
    m: &Map<String, Value>,
    t: &str,
    ctx: &JsonCtx,
    out: &mut Vec<Record>,
) {
    let detail = str_of(m, "detail").unwrap_or_default();
    let record = |identifier: Option<String>, ty: &str, d: &str, context: &str| Record {
        pos: ctx.pos,
        identifier,
        problem_type: Some(ty.to_string()),
        detail: d.to_string(),
        context: context.to_string(),
        method: ctx.method,
        address: ctx.address.clone(),
        url: ctx.url.clone(),
        perspectives: Vec::new(),
        total_perspectives: 0,
    };
    let subs: Vec<&Map<String, Value>> = m
        .get("subproblems")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    if subs.is_empty() {
        out.push(record(ctx.identifier.clone(), t, detail, ""));
        return;
    }
    for s in subs {
        if out.len() >= MAX_RECORDS {
            return;
        }
        let id = json_identifier(s).or_else(|| ctx.identifier.clone());
        let ty = str_of(s, "type").unwrap_or(t);
        out.push(record(
            id,
            ty,
            str_of(s, "detail").unwrap_or_default(),
            detail,
        ));
    }
}

/// An Open MPIC `POST /mpic` response (mpic-rules.md §4.1) with `is_valid: false`: the failing
/// perspectives' error messages, attributed to `domain_or_ip_target`.
pub(super) fn open_mpic(
    m: &Map<String, Value>,
    persp: &[Value],
    ctx: &JsonCtx,
    out: &mut Vec<Record>,
) {
    if m.get("is_valid").and_then(Value::as_bool) != Some(false) {
        return;
    }
    let mut failing = Vec::new();
    let mut message: Option<String> = None;
    for p in persp {
        // The schema nests the result in `check_response`; the spec's example puts it inline.
        let cr = p.get("check_response").unwrap_or(p);
        if cr.get("check_passed").and_then(Value::as_bool) != Some(false) {
            continue;
        }
        if let Some(code) = p.get("perspective_code").and_then(Value::as_str) {
            failing.push(code.to_string());
        }
        if message.is_none() {
            message = cr
                .get("errors")
                .and_then(Value::as_array)
                .and_then(|e| e.iter().find_map(|e| e.get("error_message")?.as_str()))
                .map(str::to_string);
        }
    }
    let caa = str_of(m, "check_type") == Some("caa");
    let target = str_of(m, "domain_or_ip_target").map(str::to_string);
    // The context marks the record as an MPIC failure (remote stage), and as CAA when it was one.
    let context = if caa {
        format!(
            "multi-perspective corroboration failed; While processing CAA for {}",
            target.as_deref().unwrap_or("")
        )
    } else {
        "multi-perspective corroboration failed".to_string()
    };
    out.push(Record {
        pos: ctx.pos,
        identifier: target,
        problem_type: None,
        detail: message.unwrap_or_default(),
        context,
        method: None,
        address: None,
        url: None,
        perspectives: failing,
        total_perspectives: persp.len(),
    });
}

pub(super) fn str_of<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

/// `identifier.value` of an ACME object, with `*.` restored when the authorization says
/// `"wildcard": true` (ACME strips it from the identifier).
pub(super) fn json_identifier(m: &Map<String, Value>) -> Option<String> {
    let v = m.get("identifier")?.get("value")?.as_str()?;
    let wildcard = m.get("wildcard").and_then(Value::as_bool) == Some(true);
    Some(if wildcard && !v.starts_with("*.") {
        format!("*.{v}")
    } else {
        v.to_string()
    })
}

pub(super) fn is_problem_type(t: &str) -> bool {
    t.starts_with("urn:ietf:params:acme:error:") || t.starts_with("urn:acme:error:")
}

/// The mpic-check method for an ACME challenge type; tls-alpn-01 has none (mpic-check does not
/// test it), so it is left to the failure family.
pub(super) fn method_name(t: &str) -> Option<&'static str> {
    match t {
        "http-01" => Some("http-01"),
        "dns-01" => Some("dns-01"),
        _ => None,
    }
}

/// Line-based shapes: certbot blocks, acme.sh and lego lines, and any other line with a known
/// phrase. Lines consumed by a structured shape are not read again as plain lines.
pub(super) fn scan_lines(text: &str, out: &mut Vec<Record>) {
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut off = 0;
    for l in text.split('\n') {
        lines.push((off, l));
        off += l.len() + 1;
    }
    let mut i = 0;
    while i < lines.len() && out.len() < MAX_RECORDS {
        let (pos, raw) = lines[i];
        let line = raw.trim();
        if let Some((rec, next)) = certbot_block(&lines, i) {
            out.push(rec);
            i = next;
            continue;
        }
        if let Some(rec) = acme_sh_line(pos, line) {
            out.push(rec);
        } else if let Some(recs) = lego_line(pos, line) {
            out.extend(recs);
        } else if has_marker(&line.to_ascii_lowercase()) {
            out.push(Record {
                pos,
                detail: line.to_string(),
                ..Record::default()
            });
        }
        i += 1;
    }
}

/// certbot's report: `Domain: x` / `Type: t` / `Detail: d`, where old versions (the "IMPORTANT
/// NOTES" layout) wrap the detail over indented lines that are joined back here.
pub(super) fn certbot_block(lines: &[(usize, &str)], i: usize) -> Option<(Record, usize)> {
    let (pos, first) = lines[i];
    let domain = key_value(first.trim(), "Domain:")?;
    let mut ty = None;
    let mut j = i + 1;
    while j < lines.len() && j <= i + 2 {
        let t = lines[j].1.trim();
        if let Some(v) = key_value(t, "Type:") {
            ty = Some(v);
            j += 1;
            continue;
        }
        let d = key_value(t, "Detail:")?;
        let mut detail = d.to_string();
        j += 1;
        while j < lines.len() {
            let raw = lines[j].1;
            let t = raw.trim();
            if t.is_empty() || !raw.starts_with(char::is_whitespace) || is_block_key(t) {
                break;
            }
            // textwrap breaks after hyphens ("acme-" / "challenge"): rejoin those without a space.
            if !detail.ends_with('-') {
                detail.push(' ');
            }
            detail.push_str(t);
            j += 1;
        }
        let rec = Record {
            pos,
            identifier: Some(domain.to_string()),
            problem_type: ty
                .filter(|t| !t.eq_ignore_ascii_case("none"))
                .map(|t| format!("urn:ietf:params:acme:error:{t}")),
            detail,
            ..Record::default()
        };
        return Some((rec, j));
    }
    None
}

pub(super) fn key_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?;
    Some(rest.trim())
}

pub(super) fn is_block_key(t: &str) -> bool {
    [
        "Domain:",
        "Type:",
        "Detail:",
        "Hint:",
        "To fix these errors",
    ]
    .iter()
    .any(|k| t.starts_with(k))
}

/// acme.sh's report of an invalid authorization, `[date] <name><marker><detail>`: acme.sh
/// `_check_valid_authz`/issue loop, `$d: Invalid status. Verification error details:
/// $errordetail` (since 2024), `$d: Invalid status, Verification error: $error` (no detail in
/// the JSON), and the older `$d:Verify error:$detail`.
pub(super) fn acme_sh_line(pos: usize, line: &str) -> Option<Record> {
    const MARKERS: [&str; 3] = [
        ": Invalid status. Verification error details:",
        ": Invalid status, Verification error:",
        ":Verify error:",
    ];
    let (k, marker) = MARKERS.iter().find_map(|m| line.find(m).map(|k| (k, *m)))?;
    let name = line[..k].rsplit(char::is_whitespace).next().unwrap_or("");
    Some(Record {
        pos,
        identifier: Some(name.to_string()).filter(|n| !n.is_empty()),
        detail: line[k + marker.len()..].trim().to_string(),
        ..Record::default()
    })
}

/// lego: `[name] acme: error: <status> :: [<method> :: <url> ::] <type> :: <detail>[, problem:
/// "<type>" :: <detail>…][, url: <instance>]` (lego's `ProblemDetails.Error()`).
pub(super) fn lego_line(pos: usize, line: &str) -> Option<Vec<Record>> {
    let k = line.find("acme: error:")?;
    let identifier = bracket_name(&line[..k]);
    let rest = &line[k + "acme: error:".len()..];
    let parts: Vec<&str> = rest.split(" :: ").collect();
    let ti = parts
        .iter()
        .position(|p| is_problem_type(p.trim()) || p.trim() == "about:blank")?;
    let ty = parts[ti].trim();
    let mut detail = parts[ti + 1..].join(" :: ");
    // The instance URL closes the line; the line was trimmed, so its trailing space may be gone.
    if let Some(u) = detail.rfind(", url:") {
        detail.truncate(u);
    }
    let mut pieces = detail.split(", problem: \"");
    let main = pieces.next().unwrap_or_default();
    let subs: Vec<Record> = pieces
        .filter_map(|p| {
            let (sty, sd) = p.split_once("\" :: ")?;
            Some(Record {
                pos,
                identifier: identifier.clone(),
                problem_type: Some(sty.to_string()),
                detail: sd.to_string(),
                context: main.to_string(),
                ..Record::default()
            })
        })
        .collect();
    if !subs.is_empty() {
        return Some(subs);
    }
    Some(vec![Record {
        pos,
        identifier,
        problem_type: Some(ty.to_string()),
        detail: main.to_string(),
        ..Record::default()
    }])
}

/// The name in the last `[…]` of a lego log prefix, if it is one name (not a list).
pub(super) fn bracket_name(prefix: &str) -> Option<String> {
    let open = prefix.rfind('[')?;
    let close = prefix[open..].find(']')? + open;
    let inner = prefix[open + 1..close].trim();
    looks_like_name(&normalise_name(inner)).then(|| inner.to_string())
}

/// Whether an otherwise unstructured line is worth classifying: it carries a known shape from
/// the pattern table, an ACME problem type, or other CAs' MPIC wording.
pub(super) fn has_marker(l: &str) -> bool {
    patterns::line_has_pattern(l) || l.contains("urn:ietf:params:acme:error:") || mpic_wording(l)
}

/// Wording other CAs use for MPIC failures (Sectigo, DigiCert and Open MPIC publish no verbatim
/// messages, mpic-rules.md §4–5, so this is keyword-level). `mpic-check` itself is excluded.
pub(super) fn mpic_wording(l: &str) -> bool {
    let mpic = l.match_indices("mpic").any(|(i, _)| {
        let before = l[..i].bytes().next_back();
        let after = l[i + 4..].bytes().next();
        !before.is_some_and(|b| b.is_ascii_alphanumeric())
            && !after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    mpic || [
        "multi-perspective",
        "multi perspective",
        "multiperspective",
        "corroborat",
        "remote perspective",
        "network perspective",
    ]
    .iter()
    .any(|k| l.contains(k))
}

/// Names and the challenge method mentioned around the problems, for records that carry neither.
#[derive(Debug, Default)]
pub(super) struct Hints {
    pub(super) names: Vec<(usize, String)>,
    /// Names of the whole order (certbot's "Requesting a certificate for …").
    pub(super) order: Vec<String>,
    pub(super) method: Option<&'static str>,
}

impl Hints {
    pub(super) fn scan(text: &str) -> Hints {
        let mut h = Hints::default();
        let (mut http, mut dns) = (false, false);
        let mut off = 0;
        for line in text.split('\n') {
            let pos = off;
            off += line.len() + 1;
            let l = line.to_ascii_lowercase();
            // certbot: "Challenge failed for domain x", "http-01 challenge for x".
            for key in [
                "challenge failed for domain ",
                "challenge for ",
                "verifying: ",
            ] {
                if let Some(n) = after(line, &l, key).and_then(name_at) {
                    h.names.push((pos, n));
                }
            }
            // certbot (main.py, display_util.summarize_domain_list): "Requesting a certificate
            // for a and *.a" names the order; kept apart, since these are not failures.
            if let Some(rest) = after(line, &l, "requesting a certificate for ") {
                for n in rest.split([',', ' ']).filter(|w| *w != "and") {
                    let n = normalise_name(n);
                    if looks_like_name(&n) {
                        h.order.push(n);
                    }
                }
            }
            // lego: "[a, *.b] acme: …" names every identifier of the order.
            if let Some(close) = l.find("] acme: ")
                && let Some(open) = line[..close].rfind('[')
            {
                for n in line[open + 1..close].split(',') {
                    let n = normalise_name(n.trim());
                    if looks_like_name(&n) {
                        h.names.push((pos, n));
                    }
                }
            }
            // certbot (auth_handler.py): "http-01 challenge for x", "(authenticator: webroot)",
            // and the plugins' auth_hint: "… failed to download the temporary challenge files"
            // (webroot), "… failed to verify the DNS TXT records created by the
            // --manual-auth-hook" (manual; "DNS TXT records and challenge files" when both
            // failed), "… DNS TXT records created by --dns-x" (dns plugins); lego "Trying to
            // solve DNS-01"; acme.sh "Getting webroot for domain", "Adding txt value".
            // `authenticator: manual` alone says nothing: manual does both.
            let authenticator = after(line, &l, "(authenticator: ").map(|a| {
                a.split(')')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
            let hint_http =
                l.contains("certificate authority failed to") && l.contains("challenge files");
            let hint_dns = l.contains("certificate authority failed to verify the dns txt records");
            http |= l.contains("http-01 challenge for")
                || l.contains("solve http-01")
                || l.contains("getting webroot for domain")
                || l.contains("standalone mode")
                || l.contains("/.well-known/acme-challenge/")
                || hint_http
                || authenticator
                    .as_deref()
                    .is_some_and(|a| matches!(a, "webroot" | "nginx" | "apache" | "standalone"));
            dns |= l.contains("dns-01 challenge for")
                || l.contains("solve dns-01")
                || l.contains("adding txt value")
                || l.contains("dns-01 solver")
                || l.contains("_acme-challenge.")
                || hint_dns
                || authenticator
                    .as_deref()
                    .is_some_and(|a| a.starts_with("dns-"));
        }
        h.method = match (http, dns) {
            (true, false) => Some("http-01"),
            (false, true) => Some("dns-01"),
            _ => None,
        };
        h
    }

    /// The closest name mentioned before `pos`, else the only name mentioned at all.
    pub(super) fn name_before(&self, pos: usize) -> Option<String> {
        if let Some((_, n)) = self.names.iter().rev().find(|(p, _)| *p <= pos) {
            return Some(n.clone());
        }
        let first = &self.names.first()?.1;
        self.names
            .iter()
            .all(|(_, n)| n == first)
            .then(|| first.clone())
    }

    pub(super) fn mentions(&self, name: &str) -> bool {
        self.names.iter().any(|(_, n)| n == name) || self.order.iter().any(|n| n == name)
    }
}
