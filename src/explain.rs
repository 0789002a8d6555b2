//! `mpic-check explain`: read the error text a CA or an ACME client printed after a failed renewal
//! and say, in plain words and under MPIC, what failed where, for which name, at which address and
//! URL, which mpic-check findings would show the cause, and which mpic-check command to run next.
//! Users paste whatever they have: a certbot console transcript or its `letsencrypt.log`, an
//! acme.sh or lego log, a bare ACME problem document (RFC 7807/8555 JSON, with `subproblems`), an
//! authorization object, an Open MPIC response, or one line copied from a forum post. So the text
//! is first cut into *problem records* (JSON documents found anywhere in it; certbot
//! `Domain:`/`Type:`/`Detail:` blocks; acme.sh `name:Verify error:` lines; lego
//! `[name] acme: error: …` lines; any other line carrying a known phrase), and each record's detail
//! is then matched against the message shapes Let's Encrypt's Boulder produces
//! (`../shared/docs/mpic-rules.md` §3.1–3.5) plus the keyword-level wording of other CAs (§4–5).
//! Everything is pure and bounded — no I/O, input capped at [`MAX_INPUT_BYTES`], a scan budget for
//! JSON, hand-written matching instead of regexes — because the text comes from anywhere and this
//! must never panic or stall on it. Output is never escaped here; the caller escapes for its sink.
//!
//! Recognised shapes (details in [`explain`]): `During secondary validation: …` wrapping any of the
//! others; `While processing CAA for …` and `rechecking caa: …`; `CAA record for … prevents
//! issuance`; `DNS problem: <RCODE|query timed out|networking error|…> looking up <TYPE> for …` with
//! its `- the domain's nameservers may be malfunctioning` / `- check that a DNS record exists`
//! suffixes and the Extended-DNS-Error form `DNS problem: looking up CAA for …: DNSSEC: Bogus`;
//! `no valid A records found for …`; `<ip>: Fetching <url>: Timeout during connect (likely firewall
//! problem)`; `Timeout after connect`; `Connection refused`; `Connection reset by peer`; `Network
//! unreachable`; `Invalid response from <url>: <status>` and the older `Invalid response from <url>
//! [<ip>]: "<body>"`; `The key authorization file from the server did not match this challenge`;
//! `Server is speaking HTTP/2 over HTTP`; `Server only speaks HTTP, not TLS`; `Too many redirects`,
//! `Redirect loop detected`, `Invalid port in redirect target …`, `received disallowed redirect
//! status code`, `Invalid host/hostname/protocol scheme in redirect target`; `No TXT record found at
//! _acme-challenge.…`; `Incorrect TXT record "…" found at _acme-challenge.…`; rate limits (`too many
//! failed authorizations …`, `too many certificates …`, `too many new orders …`, the account pause);
//! `Secondary validation RPC failed` and the other CA-internal MPIC errors; MPIC / multi-perspective
//! / corroboration / quorum / RIR wording of other CAs; certbot's and lego's wildcard-needs-DNS
//! refusals; and, when the detail says nothing specific, the problem `type`
//! (`urn:ietf:params:acme:error:caa|dns|connection|unauthorized|incorrectResponse|tls|rateLimited|
//! serverInternal`), which is all some CAs send.

use std::net::IpAddr;

use serde::Serialize;
use serde_json::{Map, Value};

/// Input beyond this many bytes is ignored: a renewal log that matters fits many times over, and
/// the cap bounds the work on whatever else is piped in.
pub const MAX_INPUT_BYTES: usize = 1 << 20;
/// Bytes the JSON bracket matcher may scan in total. A log full of unbalanced `{"` would otherwise
/// make every candidate scan to the end of the text (quadratic work).
const JSON_SCAN_BUDGET: usize = 16 << 20;
/// The longest JSON document looked for; ACME problem documents and authorizations are a few KiB.
const MAX_JSON_OBJECT: usize = 256 << 10;
/// Nesting depth walked inside a JSON document (serde_json itself stops at 128).
const MAX_JSON_DEPTH: usize = 32;
/// Problem records kept; a text with more distinct problems than this is not a renewal log.
const MAX_RECORDS: usize = 256;

/// One problem found in the text, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Whether the message shape was recognised; `false` only for the single "unknown" item.
    pub recognised: bool,
    /// Failure family, e.g. `http-geoblocked`, `caa-forbids`, `dns-nxdomain`, `txt-incorrect`,
    /// `rate-limit`, `unknown`.
    pub family: &'static str,
    /// Where in the CA's validation it failed.
    pub stage: Stage,
    /// The name concerned: lower case, no trailing dot, `*.` kept for wildcards.
    pub identifier: Option<String>,
    /// The IP address the CA connected to, when the message names one.
    pub address: Option<String>,
    /// The URL the CA fetched (or was redirected to), when the message names one.
    pub url: Option<String>,
    /// The HTTP status the CA got from the site (not the ACME server's own status).
    pub status: Option<u16>,
    /// What it means, in plain words and under MPIC.
    pub meaning: String,
    /// Finding codes of mpic-check that would show the cause, most likely first.
    pub likely_findings: Vec<&'static str>,
    /// Arguments for the mpic-check run that examines it, e.g. `--method http-01 www.example.com`;
    /// empty when no name could be extracted.
    pub suggested_args: Vec<String>,
    /// What to check by hand: the generic checklist when not recognised, targeted hints otherwise.
    pub checklist: Vec<String>,
}

/// The stage of the CA's validation a problem belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// The CA's own (primary) perspective failed; under MPIC its remotes were never asked.
    Primary,
    /// The primary passed and too many remote perspectives failed ("During secondary validation").
    Remote,
    /// The CAA check (at validation, or the recheck at finalization) failed.
    Caa,
    /// Not a validation stage (rate limits, client-side refusals) or not identifiable.
    Unknown,
}

impl Stage {
    /// Lower-case name for output: `primary`, `remote`, `caa`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Primary => "primary",
            Stage::Remote => "remote",
            Stage::Caa => "caa",
            Stage::Unknown => "unknown",
        }
    }
}

/// Explains every distinct problem in `text`, in the order they appear. Always returns at least
/// one item: when nothing is recognised, a single `recognised: false` item with family `unknown`
/// and the generic checklist (and the name, when the text still revealed one).
///
/// Problems are distinct by (family, stage, identifier): a certbot debug log that repeats the same
/// failure in the authorization JSON, the user notice and the final exception yields one item,
/// while a log with two failing names yields two.
pub fn explain(text: &str) -> Vec<Explanation> {
    let text = clean_text(cap(text));
    let ca = detect_ca(&text);
    let mut records = Vec::new();
    let masked = extract_json(&text, &mut records);
    let hints = Hints::scan(&masked);
    scan_lines(&masked, &mut records);
    // JSON documents were collected before the lines around them: restore text order.
    records.sort_by_key(|r| r.pos);

    let mut out: Vec<Explanation> = Vec::new();
    let mut unknown_names: Vec<String> = Vec::new();
    for r in &records {
        let facts = classify(r);
        if facts.family == "unknown" {
            if let Some(n) = resolve_identifier(r, &facts, &hints) {
                unknown_names.push(n);
            }
            continue;
        }
        merge(&mut out, build(r, &facts, &hints, ca));
    }
    absorb_nameless(&mut out);
    if out.is_empty() {
        let name = unknown_names
            .into_iter()
            .next()
            .or_else(|| hints.names.first().map(|(_, n)| n.clone()));
        out.push(unrecognised(name, hints.method, ca));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Input preparation

/// The first [`MAX_INPUT_BYTES`] of `text`, cut on a character boundary.
fn cap(text: &str) -> &str {
    if text.len() <= MAX_INPUT_BYTES {
        return text;
    }
    let mut end = MAX_INPUT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Drops ANSI colour sequences (acme.sh and some wrappers colour errors on terminals, and users
/// paste them) and turns CR/LF and lone CR into LF so that lines split the same everywhere.
fn clean_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    // Parameter and intermediate bytes, then one final byte in @..~.
                    for f in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&f) {
                            break;
                        }
                    }
                }
            }
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The CAA issuer domain of the CA whose ACME API the text names, if exactly one is named. Only
/// API host names count: documentation links and CAA values in a message prove nothing about
/// which CA the client talked to.
fn detect_ca(text: &str) -> Option<&'static str> {
    const HOSTS: [(&str, &str); 8] = [
        ("acme-v02.api.letsencrypt.org", "letsencrypt.org"),
        ("acme-staging-v02.api.letsencrypt.org", "letsencrypt.org"),
        ("acme.zerossl.com", "sectigo.com"),
        ("acme.sectigo.com", "sectigo.com"),
        ("acme-v02.api.pki.goog", "pki.goog"),
        ("acme.digicert.com", "digicert.com"),
        ("api.buypass.com", "buypass.com"),
        ("acme.ssl.com", "ssl.com"),
    ];
    let lower = text.to_ascii_lowercase();
    let mut found: Option<&'static str> = None;
    for (host, ca) in HOSTS {
        if lower.contains(host) {
            match found {
                Some(f) if f != ca => return None,
                _ => found = Some(ca),
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Problem records

/// One failure report cut out of the text, before interpretation.
#[derive(Debug, Clone, Default)]
struct Record {
    /// Byte offset in the text, for ordering and for the nearest preceding name hint.
    pos: usize,
    /// The name the surrounding structure attributes it to (certbot `Domain:`, lego `[name]`,
    /// acme.sh `name:`, JSON `identifier`).
    identifier: Option<String>,
    /// ACME problem type, e.g. `urn:ietf:params:acme:error:dns` or certbot's `Type:` value.
    problem_type: Option<String>,
    /// The human-readable detail.
    detail: String,
    /// Text of an enclosing problem (a subproblem's parent): only its stage markers are used.
    context: String,
    /// Challenge type the structure names (`http-01`, `dns-01`).
    method: Option<&'static str>,
    /// Address and URL from a JSON validation record, used when the detail names none.
    address: Option<String>,
    url: Option<String>,
    /// Failing perspectives named by the document (Open MPIC responses), and how many it asked.
    perspectives: Vec<String>,
    total_perspectives: usize,
}

/// Finds JSON objects anywhere in `text` and turns ACME problem documents, authorizations,
/// challenges and Open MPIC responses among them into records. Returns the text with those
/// documents blanked out (newlines kept), so the line scanner does not read their `"detail"`
/// lines a second time with JSON punctuation attached.
fn extract_json(text: &str, out: &mut Vec<Record>) -> String {
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
                collect(&v, &ctx, 0, out);
                // A document that held no problem (directory, nonce, a pending challenge) stays
                // visible: an unknown JSON wrapper around a known message must still be read.
                if out.len() > before {
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

/// Whether the `{` at `i` can start a JSON object: next non-blank byte is `"` or `}`. This skips
/// shell `${VAR}`, Go `%{…}` and prose braces cheaply.
fn opens_object(bytes: &[u8], i: usize) -> bool {
    bytes[i + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'"' || *b == b'}')
}

/// End (exclusive) of the bracketed value starting at `start`, string-aware, and bytes scanned.
fn match_brackets(bytes: &[u8], start: usize) -> (Option<usize>, usize) {
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
struct JsonCtx {
    pos: usize,
    identifier: Option<String>,
    method: Option<&'static str>,
    address: Option<String>,
    url: Option<String>,
}

fn collect(v: &Value, ctx: &JsonCtx, depth: usize, out: &mut Vec<Record>) {
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

fn collect_object(m: &Map<String, Value>, ctx: &JsonCtx, depth: usize, out: &mut Vec<Record>) {
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
fn problem_document(m: &Map<String, Value>, t: &str, ctx: &JsonCtx, out: &mut Vec<Record>) {
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
fn open_mpic(m: &Map<String, Value>, persp: &[Value], ctx: &JsonCtx, out: &mut Vec<Record>) {
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

fn str_of<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

/// `identifier.value` of an ACME object, with `*.` restored when the authorization says
/// `"wildcard": true` (ACME strips it from the identifier).
fn json_identifier(m: &Map<String, Value>) -> Option<String> {
    let v = m.get("identifier")?.get("value")?.as_str()?;
    let wildcard = m.get("wildcard").and_then(Value::as_bool) == Some(true);
    Some(if wildcard && !v.starts_with("*.") {
        format!("*.{v}")
    } else {
        v.to_string()
    })
}

fn is_problem_type(t: &str) -> bool {
    t.starts_with("urn:ietf:params:acme:error:") || t.starts_with("urn:acme:error:")
}

/// The mpic-check method for an ACME challenge type; tls-alpn-01 has none (mpic-check does not
/// test it), so it is left to the failure family.
fn method_name(t: &str) -> Option<&'static str> {
    match t {
        "http-01" => Some("http-01"),
        "dns-01" => Some("dns-01"),
        _ => None,
    }
}

/// Line-based shapes: certbot blocks, acme.sh and lego lines, and any other line with a known
/// phrase. Lines consumed by a structured shape are not read again as plain lines.
fn scan_lines(text: &str, out: &mut Vec<Record>) {
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
fn certbot_block(lines: &[(usize, &str)], i: usize) -> Option<(Record, usize)> {
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

fn key_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?;
    Some(rest.trim())
}

fn is_block_key(t: &str) -> bool {
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

/// acme.sh: `[date] name:Verify error:detail`.
fn acme_sh_line(pos: usize, line: &str) -> Option<Record> {
    let k = line.find(":Verify error:")?;
    let name = line[..k].rsplit(char::is_whitespace).next().unwrap_or("");
    Some(Record {
        pos,
        identifier: Some(name.to_string()).filter(|n| !n.is_empty()),
        detail: line[k + ":Verify error:".len()..].trim().to_string(),
        ..Record::default()
    })
}

/// lego: `[name] acme: error: <status> :: [<method> :: <url> ::] <type> :: <detail>[, problem:
/// "<type>" :: <detail>…][, url: <instance>]` (lego's `ProblemDetails.Error()`).
fn lego_line(pos: usize, line: &str) -> Option<Vec<Record>> {
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
fn bracket_name(prefix: &str) -> Option<String> {
    let open = prefix.rfind('[')?;
    let close = prefix[open..].find(']')? + open;
    let inner = prefix[open + 1..close].trim();
    looks_like_name(&normalise_name(inner)).then(|| inner.to_string())
}

/// Phrases that make an otherwise unstructured line worth classifying.
fn has_marker(l: &str) -> bool {
    const MARKERS: [&str; 34] = [
        "during secondary validation",
        "secondary validation rpc",
        "invalid response from",
        "dns problem:",
        "caa record for",
        "while processing caa",
        "timeout during connect",
        "timeout after connect",
        "connection refused",
        "connection reset by peer",
        "network unreachable",
        "no txt record found",
        "incorrect txt record",
        "too many redirects",
        "redirect loop detected",
        "in redirect target",
        "disallowed redirect",
        "key authorization file from the server",
        "speaking http/2 over http",
        "only speaks http, not tls",
        "too many failed authorizations",
        "too many certificates",
        "too many new orders",
        "too many registrations",
        "temporarily prevented from requesting",
        "no valid a records found",
        "no valid aaaa records found",
        "no valid ip addresses found",
        "insufficient remote perspectives",
        "error getting validation data",
        "does not support any combination of challenges",
        "could not determine solvers",
        "urn:ietf:params:acme:error:",
        "too few rirs",
    ];
    MARKERS.iter().any(|m| l.contains(m)) || mpic_wording(l)
}

/// Wording other CAs use for MPIC failures (Sectigo, DigiCert and Open MPIC publish no verbatim
/// messages, mpic-rules.md §4–5, so this is keyword-level). `mpic-check` itself is excluded.
fn mpic_wording(l: &str) -> bool {
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
struct Hints {
    names: Vec<(usize, String)>,
    method: Option<&'static str>,
}

impl Hints {
    fn scan(text: &str) -> Hints {
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
            http |= l.contains("http-01 challenge for")
                || l.contains("solve http-01")
                || l.contains("getting webroot for domain")
                || l.contains("standalone mode");
            dns |= l.contains("dns-01 challenge for")
                || l.contains("solve dns-01")
                || l.contains("adding txt value")
                || l.contains("dns-01 solver");
        }
        h.method = match (http, dns) {
            (true, false) => Some("http-01"),
            (false, true) => Some("dns-01"),
            _ => None,
        };
        h
    }

    /// The closest name mentioned before `pos`, else the only name mentioned at all.
    fn name_before(&self, pos: usize) -> Option<String> {
        if let Some((_, n)) = self.names.iter().rev().find(|(p, _)| *p <= pos) {
            return Some(n.clone());
        }
        let first = &self.names.first()?.1;
        self.names
            .iter()
            .all(|(_, n)| n == first)
            .then(|| first.clone())
    }

    fn mentions(&self, name: &str) -> bool {
        self.names.iter().any(|(_, n)| n == name)
    }
}

// ---------------------------------------------------------------------------------------------
// Classification

/// What a record's detail says, interpreted.
#[derive(Debug, Clone, Default)]
struct Facts {
    family: &'static str,
    /// Variant within the family, shaping the meaning (e.g. `timeout`, `refused`, `status`).
    cause: &'static str,
    remote: bool,
    /// Let's Encrypt's own wording ("During secondary validation"), which implies the primary
    /// passed; other CAs' MPIC wording does not say so.
    boulder: bool,
    caa: bool,
    recheck: bool,
    /// Only the problem type was recognised, not the detail.
    type_only: bool,
    name: Option<String>,
    address: Option<String>,
    url: Option<String>,
    status: Option<u16>,
    lookup: Option<Lookup>,
    port: Option<String>,
    method: Option<&'static str>,
    perspectives: Vec<String>,
    total_perspectives: usize,
}

/// `DNS problem: <what> looking up <rtype> for <name>`.
#[derive(Debug, Clone, Default)]
struct Lookup {
    rtype: String,
    name: String,
    what: String,
}

impl Lookup {
    fn is_challenge(&self) -> bool {
        self.name.starts_with("_acme-challenge.") || self.name.contains("._acme-challenge.")
    }
}

fn classify(r: &Record) -> Facts {
    let d = r.detail.as_str();
    let l = d.to_ascii_lowercase();
    let ctx = r.context.to_ascii_lowercase();
    let mut f = Facts {
        remote: l.contains("during secondary validation")
            || ctx.contains("during secondary validation")
            || mpic_wording(&l)
            || mpic_wording(&ctx),
        recheck: l.contains("rechecking caa") || ctx.contains("rechecking caa"),
        address: find_address(d),
        url: find_url(d, &l),
        boulder: l.contains("secondary validation") || ctx.contains("secondary validation"),
        perspectives: r.perspectives.clone(),
        total_perspectives: r.total_perspectives,
        ..Facts::default()
    };
    f.caa = f.recheck
        || l.contains("while processing caa for")
        || ctx.contains("while processing caa for");
    let (family, cause) = core_family(d, &l, &mut f);
    f.family = family;
    f.cause = cause;
    if f.family == "unknown" {
        let (family, cause) = type_family(r.problem_type.as_deref(), &ctx, f.remote);
        f.family = family;
        f.cause = cause;
        f.type_only = family != "unknown" && family != "quorum-rirs";
    }
    // Under MPIC a connection the primary made but remotes could not is the geoblocking
    // signature (mpic-rules.md §6.5); the underlying cause stays in `cause` for the meaning.
    if f.remote {
        let blocked_status = f.family == "http-status" && matches!(f.status, Some(401 | 403 | 451));
        if blocked_status
            || matches!(
                f.family,
                "connect-timeout" | "connection-refused" | "connection-reset" | "connection-error"
            )
        {
            if blocked_status {
                f.cause = "status";
            }
            f.family = "http-geoblocked";
        }
    }
    f.name = name_in_detail(d, &l, &f);
    f.method = intrinsic_method(&f);
    f
}

/// The family from the detail's own wording, most specific first.
fn core_family(d: &str, l: &str, f: &mut Facts) -> (&'static str, &'static str) {
    let has = |k: &str| l.contains(k);
    if has("secondary validation rpc")
        || has("remote performvalidation rpc")
        || has("problem is unavailable")
        || has("insufficient remote perspectives")
        || has("too few remote performvalidation")
    {
        return ("ca-internal", "rpc");
    }
    if let Some(cause) = rate_limit_cause(l) {
        return ("rate-limit", cause);
    }
    if has("does not support any combination of challenges")
        || has("can do challenges over dns")
        || has("could not determine solvers")
    {
        return ("wildcard-needs-dns01", "");
    }
    if has("caa record for") && has("prevents issuance") {
        f.caa = true;
        return ("caa-forbids", "");
    }
    if has("no valid a records found")
        || has("no valid aaaa records found")
        || has("no valid ip addresses found")
    {
        return ("dns-no-address", "");
    }
    if let Some(lk) = parse_lookup(d, l) {
        let kind = dns_kind(&lk.what);
        let caa = lk.rtype == "CAA";
        f.lookup = Some(lk);
        if caa {
            f.caa = true;
            return ("caa-lookup-failed", kind);
        }
        return (
            match kind {
                "nxdomain" => "dns-nxdomain",
                "servfail" => "dns-servfail",
                "timeout" => "dns-timeout",
                "refused" => "dns-refused",
                "dnssec" => "dns-dnssec",
                _ => "dns-error",
            },
            kind,
        );
    }
    if has("no txt record found at") {
        return ("txt-missing", "");
    }
    if has("incorrect txt record") {
        return ("txt-incorrect", "");
    }
    if has("key authorization file from the server did not match") {
        return ("wrong-body", "keyauth");
    }
    if has("too many redirects") {
        return ("redirect", "too-many");
    }
    if has("redirect loop") {
        return ("redirect", "loop");
    }
    if let Some(rest) = after(d, l, "invalid port in redirect target") {
        let lr = rest.to_ascii_lowercase();
        f.port = after(rest, &lr, "not ").map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        });
        f.port = f.port.take().filter(|p| !p.is_empty());
        return ("redirect", "port");
    }
    // Phrases that name the cause outright, first match wins (the order matters where one
    // message could contain two of them).
    const PHRASES: &[(&[&str], (&str, &str))] = &[
        (&["disallowed redirect status"], ("redirect", "status")),
        (
            &["in redirect target", "redirect target too long"],
            ("redirect", "target"),
        ),
        (&["speaking http/2 over http"], ("protocol-error", "h2c")),
        (&["only speaks http, not tls"], ("protocol-error", "no-tls")),
        (
            &[
                "remote error: tls",
                "doesn't support tlsv1.2",
                "tls handshake",
            ],
            ("protocol-error", "tls"),
        ),
        (&["timeout during connect"], ("connect-timeout", "timeout")),
        (
            &[
                "timeout after connect",
                "timeout during read",
                "timeout during write",
            ],
            ("http-timeout", ""),
        ),
        (&["connection refused"], ("connection-refused", "refused")),
        (&["connection reset by peer"], ("connection-reset", "reset")),
        (
            &["network unreachable", "no route to host"],
            ("network-unreachable", "unreachable"),
        ),
    ];
    if let Some((_, hit)) = PHRASES.iter().find(|(p, _)| p.iter().any(|n| has(n))) {
        return *hit;
    }
    if has("invalid response from") {
        let (status, body) = response_status(d, l);
        f.status = status;
        if body {
            return ("wrong-body", "body");
        }
        return ("http-status", "");
    }
    if has("error getting validation data") || has("cannot connect to host") {
        return ("connection-error", "connect");
    }
    if has("too few rirs")
        || has("quorum")
        || (has("rir") && (has("too few") || has("insufficient") || has("distinct")))
    {
        return ("quorum-rirs", "");
    }
    ("unknown", "")
}

fn rate_limit_cause(l: &str) -> Option<&'static str> {
    if l.contains("temporarily prevented from requesting") || l.contains("/unpause") {
        Some("paused")
    } else if l.contains("too many failed authorizations") {
        Some("failed-authz")
    } else if l.contains("too many certificates") {
        Some("certificates")
    } else if l.contains("too many new orders")
        || l.contains("too many registrations")
        || l.contains("too many new accounts")
        || l.contains("too many currently pending")
        || l.contains("ratelimited")
        || l.contains("rate limit")
    {
        Some("other")
    } else {
        None
    }
}

/// The family from the problem type alone, for CAs whose detail says nothing we know (RFC 8555
/// §6.7 defines what each type means).
fn type_family(ty: Option<&str>, ctx: &str, remote: bool) -> (&'static str, &'static str) {
    let short = ty
        .map(|t| t.rsplit(':').next().unwrap_or(t).to_ascii_lowercase())
        .unwrap_or_default();
    match short.as_str() {
        "caa" => ("caa-forbids", ""),
        "dns" => ("dns-error", ""),
        "connection" => ("connection-error", ""),
        "unauthorized" => ("unauthorized", ""),
        "incorrectresponse" => ("wrong-body", "keyauth"),
        "tls" => ("protocol-error", "tls"),
        "ratelimited" => ("rate-limit", "other"),
        "serverinternal" if remote || ctx.contains("secondary") => ("ca-internal", "rpc"),
        // A remote failure whose cause we cannot read is still a failed corroboration.
        _ if remote => ("quorum-rirs", ""),
        _ => ("unknown", ""),
    }
}

fn dns_kind(what: &str) -> &'static str {
    let w = what.to_ascii_lowercase();
    if w.contains("dnssec") || w.contains("bogus") {
        "dnssec"
    } else if w.contains("nxdomain") {
        "nxdomain"
    } else if w.contains("servfail") || w.contains("server failure") {
        "servfail"
    } else if w.contains("refused") {
        "refused"
    } else if w.contains("timed out") || w.contains("timeout") {
        "timeout"
    } else {
        "error"
    }
}

/// The first `DNS problem: <what> looking up <TYPE> for <name>` in the detail. In the
/// Extended-DNS-Error form (`DNS problem: looking up CAA for x: DNSSEC: Bogus: …`) the reason
/// follows the name instead of preceding `looking up`.
fn parse_lookup(d: &str, l: &str) -> Option<Lookup> {
    let i = l.find("dns problem:")?;
    let seg = &d[i..];
    let seg_l = &l[i..];
    let j = seg_l.find("looking up ")?;
    let mut what = seg["dns problem:".len()..j].trim().to_string();
    let rest = &seg[j + "looking up ".len()..];
    let rtype: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let rest = rest[rtype.len()..].trim_start();
    let rest = rest
        .strip_prefix("for ")
        .or_else(|| rest.strip_prefix("FOR "))?;
    let raw = token(rest);
    // Keep the queried name as is (with `_acme-challenge.`): it tells DNS-01 from HTTP-01.
    let name = raw.trim_end_matches('.').to_ascii_lowercase();
    if what.is_empty() {
        let tail = rest.trim_start()[raw.len().min(rest.trim_start().len())..].trim_start();
        let tail = tail.trim_start_matches(':').trim();
        let end = tail
            .find(" - ")
            .or_else(|| tail.find(';'))
            .unwrap_or(tail.len());
        what = tail[..end].trim().to_string();
    }
    Some(Lookup {
        rtype: rtype.to_ascii_uppercase(),
        name,
        what,
    })
}

/// Status after `Invalid response from <url>[ [<ip>]]: `, and whether a quoted body stands there
/// instead (Boulder quotes bodies of 128 bytes or more, and older versions quoted any body).
fn response_status(d: &str, l: &str) -> (Option<u16>, bool) {
    let Some(rest) = after(d, l, "invalid response from ") else {
        return (None, false);
    };
    let Some(k) = rest.find(": ") else {
        return (None, false);
    };
    let v = rest[k + 2..].trim_start();
    if v.starts_with('"') || v.starts_with("\\\"") {
        return (None, true);
    }
    let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
    let status = digits
        .parse::<u16>()
        .ok()
        .filter(|s| (100..=599).contains(s));
    (status, false)
}

/// The method a family implies by itself; CAA, quorum and rate-limit problems imply none.
fn intrinsic_method(f: &Facts) -> Option<&'static str> {
    if let Some(lk) = &f.lookup {
        if lk.is_challenge() {
            return Some("dns-01");
        }
        if matches!(lk.rtype.as_str(), "A" | "AAAA") {
            return Some("http-01");
        }
        return None;
    }
    match f.family {
        "txt-missing" | "txt-incorrect" | "wildcard-needs-dns01" => Some("dns-01"),
        "http-geoblocked"
        | "connect-timeout"
        | "http-timeout"
        | "connection-refused"
        | "connection-reset"
        | "network-unreachable"
        | "http-status"
        | "wrong-body"
        | "redirect"
        | "protocol-error"
        | "connection-error"
        | "dns-no-address"
        | "unauthorized" => Some("http-01"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Extraction helpers. All searches run on an ASCII-lowercased copy, which keeps byte offsets, so
// an index found in the copy is a character boundary in the original.

/// The text after the first occurrence of `needle` (lower case ASCII).
fn after<'a>(s: &'a str, lower: &str, needle: &str) -> Option<&'a str> {
    lower.find(needle).map(|i| &s[i + needle.len()..])
}

/// The leading word of `s`: up to whitespace or punctuation that cannot be in a name or address,
/// without a trailing `:` or `.`.
fn token(s: &str) -> &str {
    let s = s
        .trim_start()
        .trim_start_matches(['"', '\'', '`', '(', '<', '\\']);
    let end = s
        .find(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '"' | '\'' | '`' | ',' | ';' | '(' | ')' | '[' | ']' | '<' | '>' | '\\'
                )
        })
        .unwrap_or(s.len());
    s[..end].trim_end_matches([':', '.'])
}

/// Lower case, no trailing dot, no `_acme-challenge.` (or dns-account-01 `_x._acme-challenge.`)
/// label: the identifier the challenge belongs to.
fn normalise_name(t: &str) -> String {
    let mut n = t
        .trim()
        .trim_matches(['"', '\'', '`'])
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if let Some(k) = n.find("_acme-challenge.") {
        n = n[k + "_acme-challenge.".len()..].to_string();
    }
    n
}

/// A DNS name as CAs print it (A-labels, optional `*.`) or an IP address.
fn looks_like_name(n: &str) -> bool {
    if n.parse::<IpAddr>().is_ok() {
        return true;
    }
    let base = n.strip_prefix("*.").unwrap_or(n);
    if base.is_empty() || base.len() > 253 || !base.contains('.') {
        return false;
    }
    let labels_ok = base.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    let tld_ok = base.rsplit('.').next().is_some_and(|t| {
        (t.len() >= 2 && t.bytes().all(|b| b.is_ascii_alphabetic())) || t.starts_with("xn--")
    });
    labels_ok && tld_ok
}

/// A name at the start of `s`, if it looks like one.
fn name_at(s: &str) -> Option<String> {
    let n = normalise_name(token(s));
    looks_like_name(&n).then_some(n)
}

/// The identifier the detail itself names, most reliable wording first.
fn name_in_detail(d: &str, l: &str, f: &Facts) -> Option<String> {
    for key in ["while processing caa for ", "caa record for "] {
        if let Some(n) = after(d, l, key).and_then(name_at) {
            return Some(n);
        }
    }
    if let Some(lk) = &f.lookup {
        let n = normalise_name(&lk.name);
        if looks_like_name(&n) {
            return Some(n);
        }
    }
    for key in [
        "_acme-challenge.",
        "no valid a records found for ",
        "no valid aaaa records found for ",
        "no valid ip addresses found for ",
    ] {
        if let Some(n) = after(d, l, key).and_then(name_at) {
            return Some(n);
        }
    }
    // The initial challenge URL names the identifier; a redirect target may be anything else.
    if let Some(u) = &f.url
        && u.contains("/.well-known/acme-challenge/")
        && let Some(h) = url_host(u)
    {
        return Some(h);
    }
    if f.family == "rate-limit" {
        for key in [
            "for \"",
            "set of domains: ",
            "set of identifiers: ",
            "requesting certificates for ",
            "issued for: ",
        ] {
            if let Some(n) = after(d, l, key).and_then(name_at) {
                return Some(n);
            }
        }
    }
    // Last resort, for free-form wording ("MPIC failed for shop.example.com"): a name after
    // " for ", refusing file names that look like domains.
    l.match_indices(" for ").find_map(|(i, _)| {
        let n = name_at(&d[i + 5..])?;
        let tld = n.rsplit('.').next().unwrap_or_default();
        let file = [
            "log", "conf", "pem", "json", "txt", "sh", "py", "go", "rs", "html", "key",
        ];
        (!file.contains(&tld)).then_some(n)
    })
}

/// The IP address the CA connected to: Boulder's `<ip>: …` prefix, or the older ` [<ip>]` after
/// the URL.
fn find_address(s: &str) -> Option<String> {
    let mut from = 0;
    while let Some(k) = s[from..].find(": ") {
        let k = from + k;
        let start = s[..k]
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | '='))
            .map_or(0, |(j, c)| j + c.len_utf8());
        let tok = s[start..k].trim_matches(['[', ']']);
        if let Ok(ip) = tok.parse::<IpAddr>()
            && !ip.is_unspecified()
        {
            return Some(tok.to_ascii_lowercase());
        }
        from = k + 2;
    }
    for (i, _) in s.match_indices('[') {
        if let Some(j) = s[i + 1..].find(']')
            && j <= 45
            && s[i + 1..i + 1 + j].parse::<IpAddr>().is_ok()
        {
            return Some(s[i + 1..i + 1 + j].to_ascii_lowercase());
        }
    }
    None
}

/// The URL the CA fetched: after `Fetching` or `Invalid response from`, else any URL on the
/// challenge path.
fn find_url(d: &str, l: &str) -> Option<String> {
    for key in ["fetching ", "invalid response from "] {
        if let Some(u) = after(d, l, key).and_then(url_token) {
            return Some(u);
        }
    }
    l.match_indices("http").find_map(|(i, _)| {
        url_token(&d[i..]).filter(|u| u.contains("/.well-known/acme-challenge/"))
    })
}

fn url_token(s: &str) -> Option<String> {
    let t = s.trim_start();
    let head = t.get(..8).unwrap_or(t).to_ascii_lowercase();
    if !(head.starts_with("http://") || head.starts_with("https://")) {
        return None;
    }
    let end = t
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\'))
        .unwrap_or(t.len());
    let u = t[..end].trim_end_matches([':', ',', ';', '.', ')']);
    url::Url::parse(u).ok().map(|_| u.to_string())
}

fn url_host(u: &str) -> Option<String> {
    let parsed = url::Url::parse(u).ok()?;
    let h = parsed
        .host_str()?
        .trim_matches(['[', ']'])
        .to_ascii_lowercase();
    looks_like_name(&h).then_some(h)
}

// ---------------------------------------------------------------------------------------------
// Building explanations

fn resolve_identifier(r: &Record, f: &Facts, hints: &Hints) -> Option<String> {
    let explicit = r
        .identifier
        .as_deref()
        .map(normalise_name)
        .filter(|n| looks_like_name(n));
    match (explicit, f.name.clone()) {
        // certbot and ACME print a wildcard authorization's base name; the detail keeps the `*.`.
        (Some(e), Some(d)) if d == format!("*.{e}") => Some(d),
        (Some(e), _) => Some(e),
        (None, Some(d)) => Some(d),
        (None, None) => hints.name_before(r.pos),
    }
}

fn stage_of(f: &Facts) -> Stage {
    if f.remote || f.family == "quorum-rirs" {
        Stage::Remote
    } else if f.caa || f.family.starts_with("caa-") {
        Stage::Caa
    } else if f.type_only
        || matches!(
            f.family,
            "rate-limit" | "wildcard-needs-dns01" | "ca-internal"
        )
    {
        Stage::Unknown
    } else {
        Stage::Primary
    }
}

fn build(r: &Record, f: &Facts, hints: &Hints, ca: Option<&'static str>) -> Explanation {
    let mut f = f.clone();
    if f.address.is_none() {
        f.address = r.address.clone();
    }
    if f.url.is_none() {
        f.url = r.url.clone();
    }
    let stage = stage_of(&f);
    let identifier = resolve_identifier(r, &f, hints);
    let wildcard = identifier.as_deref().is_some_and(|i| i.starts_with("*."));
    let method = if wildcard {
        // CAs validate wildcards only with dns-01, whatever else the log suggests.
        Some("dns-01")
    } else {
        f.method.or(r.method).or(hints.method)
    };
    let mut likely = likely_findings(&f, stage);
    // An apex and its wildcard share `_acme-challenge`: a replaced RRset loses one value.
    if f.family == "txt-incorrect"
        && let Some(id) = &identifier
    {
        let base = id.strip_prefix("*.").unwrap_or(id);
        if wildcard || hints.mentions(&format!("*.{base}")) {
            likely.retain(|c| *c != "txt-shared-name");
            likely.insert(0, "txt-shared-name");
        }
    }
    let suggested_args = suggest(identifier.as_deref(), method, ca);
    let meaning = meaning(&f, stage, identifier.as_deref());
    let checklist = hints_for(&f, stage, identifier.as_deref(), &suggested_args, ca);
    Explanation {
        recognised: true,
        family: f.family,
        stage,
        identifier,
        address: f.address,
        url: f.url,
        status: f.status,
        meaning,
        likely_findings: likely,
        suggested_args,
        checklist,
    }
}

fn suggest(id: Option<&str>, method: Option<&str>, ca: Option<&str>) -> Vec<String> {
    let Some(id) = id else {
        return Vec::new();
    };
    let mut args = Vec::new();
    if let Some(m) = method {
        args.extend(["--method".to_string(), m.to_string()]);
    }
    if let Some(ca) = ca {
        args.extend(["--ca".to_string(), ca.to_string()]);
    }
    args.push(id.to_string());
    args
}

/// Adds `e` unless the same problem (family, stage, name) is already there; then only fills in
/// what the earlier report lacked.
fn merge(out: &mut Vec<Explanation>, e: Explanation) {
    if let Some(x) = out
        .iter_mut()
        .find(|x| x.family == e.family && x.stage == e.stage && x.identifier == e.identifier)
    {
        fill(x, e);
    } else {
        out.push(e);
    }
}

fn fill(x: &mut Explanation, e: Explanation) {
    if x.address.is_none() {
        x.address = e.address;
    }
    if x.url.is_none() {
        x.url = e.url;
    }
    if x.status.is_none() {
        x.status = e.status;
    }
}

/// A nameless report of a problem that is also reported with a name (a traceback line next to
/// certbot's `Domain:` block) is the same problem.
fn absorb_nameless(out: &mut Vec<Explanation>) {
    let mut k = 0;
    while k < out.len() {
        let nameless = out[k].identifier.is_none();
        let target = nameless
            .then(|| {
                out.iter().position(|x| {
                    x.identifier.is_some() && x.family == out[k].family && x.stage == out[k].stage
                })
            })
            .flatten();
        if let Some(t) = target {
            let e = out.remove(k);
            let t = if t > k { t - 1 } else { t };
            fill(&mut out[t], e);
        } else {
            k += 1;
        }
    }
}

fn unrecognised(
    name: Option<String>,
    method: Option<&'static str>,
    ca: Option<&'static str>,
) -> Explanation {
    let suggested_args = suggest(name.as_deref(), method, ca);
    Explanation {
        recognised: false,
        family: "unknown",
        stage: Stage::Unknown,
        meaning: "Not recognised: this text matches none of the failure messages known from Let's \
                  Encrypt, other CAs validating with MPIC, certbot, acme.sh or lego. It may be a \
                  client-side error, a new wording, or not a validation failure at all. Work through \
                  the checklist, or run mpic-check for the name to see what a CA's primary and \
                  remote perspectives would get."
            .to_string(),
        checklist: generic_checklist(name.as_deref()),
        identifier: name,
        address: None,
        url: None,
        status: None,
        likely_findings: Vec::new(),
        suggested_args,
    }
}

// ---------------------------------------------------------------------------------------------
// Wording

fn likely_findings(f: &Facts, stage: Stage) -> Vec<&'static str> {
    let remote = stage == Stage::Remote;
    let mut v: Vec<&'static str> = match f.family {
        "http-geoblocked" if f.cause == "status" => {
            vec![
                "http-geoblocked",
                "user-agent-filtered",
                "geodns-divergence",
            ]
        }
        "http-geoblocked" => vec!["http-geoblocked", "geodns-divergence", "dead-address"],
        "connect-timeout" => vec!["http-unreachable", "http-geoblocked", "dead-address"],
        "connection-refused" => vec!["http-unreachable", "dead-address"],
        "connection-reset" => vec!["http-geoblocked", "user-agent-filtered", "http-unreachable"],
        "network-unreachable" => vec!["ipv6-broken", "dead-address"],
        "http-timeout" => vec!["http-unreachable", "http-geoblocked"],
        "http-status" => match f.status {
            Some(404) if remote => {
                vec!["geodns-divergence", "cdn-cached-challenge", "dead-address"]
            }
            Some(404) => vec![
                "webroot-mismatch",
                "cdn-cached-challenge",
                "geodns-divergence",
            ],
            Some(401 | 403 | 451) => vec!["user-agent-filtered", "http-geoblocked"],
            _ if remote => vec!["geodns-divergence", "http-geoblocked"],
            _ => vec!["http-unreachable", "redirect-disallowed"],
        },
        "wrong-body" => match (f.cause, remote) {
            ("body", true) => vec!["http-geoblocked", "body-too-large", "geodns-divergence"],
            ("body", false) => vec!["body-too-large", "webroot-mismatch", "user-agent-filtered"],
            (_, true) => vec!["geodns-divergence", "cdn-cached-challenge", "dead-address"],
            _ => vec![
                "cdn-cached-challenge",
                "webroot-mismatch",
                "geodns-divergence",
            ],
        },
        "redirect" => vec!["redirect-disallowed"],
        "protocol-error" => vec!["http-unreachable"],
        "connection-error" => vec!["http-unreachable", "http-geoblocked"],
        "unauthorized" => vec!["http-geoblocked", "webroot-mismatch", "user-agent-filtered"],
        "txt-missing" => vec![
            "txt-missing-on-ns",
            "txt-early-removal",
            "negative-cache-risk",
        ],
        "txt-incorrect" => vec![
            "txt-missing-on-ns",
            "txt-shared-name",
            "ns-inconsistent",
            "txt-early-removal",
        ],
        "dns-nxdomain" if f.lookup.as_ref().is_some_and(Lookup::is_challenge) => {
            vec![
                "txt-missing-on-ns",
                "negative-cache-risk",
                "txt-early-removal",
            ]
        }
        "dns-nxdomain" => vec![
            "ns-inconsistent",
            "geodns-divergence",
            "dns-refused-by-region",
        ],
        "dns-servfail" => vec!["dns-refused-by-region", "ns-unreachable", "ns-inconsistent"],
        "dns-timeout" | "dns-error" => vec!["ns-unreachable", "dns-refused-by-region"],
        "dns-refused" => vec!["dns-refused-by-region", "ns-unreachable"],
        "dns-dnssec" => vec!["ns-inconsistent", "ns-unreachable"],
        "dns-no-address" => vec![
            "geodns-divergence",
            "ns-inconsistent",
            "dns-refused-by-region",
        ],
        "caa-forbids" => vec!["caa-forbids", "caa-critical-unknown"],
        "caa-lookup-failed" => vec![
            "caa-lookup-failed",
            "dns-refused-by-region",
            "ns-unreachable",
        ],
        "quorum-rirs" => vec![
            "http-geoblocked",
            "geodns-divergence",
            "dns-refused-by-region",
            "caa-lookup-failed",
        ],
        "wildcard-needs-dns01" => vec!["wildcard-needs-dns01"],
        _ => Vec::new(),
    };
    // A connection failure to an IPv6 address: CAs try the AAAA first (mpic-rules.md §3.4).
    let v6 = f.address.as_deref().is_some_and(|a| a.contains(':'));
    if v6 && matches!(f.cause, "timeout" | "refused" | "reset") && !v.contains(&"ipv6-broken") {
        v.insert(v.len().min(1), "ipv6-broken");
    }
    v
}

const REMOTE_LEAD: &str = "The CA's own (primary) check passed, but then at least two of its \
                           remote perspectives (other regions and networks, each repeating the \
                           whole check with its own DNS resolver) failed";
/// Other CAs' MPIC wording does not say whether their primary passed.
const OTHER_MPIC_LEAD: &str = "The CA's multi-perspective check (MPIC) failed: too many of its \
                               remote perspectives (other regions and networks, each repeating \
                               the check with its own DNS resolver) could not confirm the result";
const PRIMARY_NOTE: &str = "This happened at the CA's primary perspective: under MPIC the remote \
                            perspectives are asked only after the primary passes, so this is not a \
                            regional split but a failure seen from the CA's main site.";

fn meaning(f: &Facts, stage: Stage, id: Option<&str>) -> String {
    let at = f
        .address
        .as_deref()
        .map(|a| format!(" at {a}"))
        .unwrap_or_default();
    let url = f.url.as_deref().unwrap_or("the challenge URL");
    let name = id.unwrap_or("the name");
    let remote = stage == Stage::Remote;
    let lookup = f.lookup.as_ref().map_or_else(
        || format!("the lookup for {name}"),
        |lk| format!("{} {}", lk.rtype, lk.name),
    );
    let status = f
        .status
        .map_or_else(|| "an error".to_string(), |s| format!("HTTP {s}"));
    // (what happened at the primary, what happened at the remotes, why / what it implies)
    let (what, what_remote, why): (String, String, String) = match f.family {
        "http-geoblocked" => {
            let (seen, typical) = match f.cause {
                "status" => (
                    format!("got {status} from {url}{at}"),
                    "Typical of a geo rule or bot filter (WAF, CDN, hoster firewall, .htaccess, \
                     fail2ban) that refuses some countries or the CA's User-Agent while the \
                     primary's region gets through.",
                ),
                "refused" => (
                    format!("had their connections to port 80{at} refused"),
                    "Typical of a firewall REJECT rule by country or network, or of another host \
                     answering those regions (GeoDNS, a stale A/AAAA record).",
                ),
                "reset" => (
                    format!("had their connections to port 80{at} reset"),
                    "Typical of an intrusion-prevention system or geo firewall that resets \
                     connections from some regions.",
                ),
                "timeout" => (
                    format!("could not reach port 80{at}: the TCP connection timed out"),
                    "Typical of geoblocking: a firewall, hoster or CDN rule that lets the CA's \
                     primary region through but drops other countries or networks.",
                ),
                _ => (
                    format!("could not fetch {url}{at} (connection failure)"),
                    "Typical of geoblocking: a firewall, hoster or CDN rule that lets the CA's \
                     primary region through but drops other countries or networks.",
                ),
            };
            (
                seen.clone(),
                seen,
                format!(
                    "{typical} CAs do not publish their validation addresses, so an allowlist \
                     cannot work: /.well-known/acme-challenge/ on port 80 must answer the whole \
                     world (or switch to dns-01, which needs no inbound connection)."
                ),
            )
        }
        "connect-timeout" => (
            format!(
                "The CA could not open a TCP connection to port 80{at} in time (fetching {url})"
            ),
            String::new(),
            "Nothing answered: port 80 is closed or filtered by a firewall, the A/AAAA record \
             points to a host that does not answer, or IPv6 is broken on the server."
                .to_string(),
        ),
        "http-timeout" => (
            format!(
                "The CA connected to port 80{at} but got no complete answer in time from {url}"
            ),
            format!("they connected to port 80{at} but got no answer in time"),
            "The web server or a proxy in front of it is too slow, or a WAF or rate limiter \
             stalls unknown clients instead of answering."
                .to_string(),
        ),
        "connection-refused" => (
            format!("The CA's connection to port 80{at} was refused"),
            String::new(),
            "Nothing listens on port 80 at that address, or a firewall rejects it. If the \
             address belongs to an old record, remove it: the CA uses the first address of each \
             family, not the one that works."
                .to_string(),
        ),
        "connection-reset" => (
            format!("The CA's connection to port 80{at} was reset"),
            String::new(),
            "A firewall, intrusion-prevention system or proxy cut the connection.".to_string(),
        ),
        "network-unreachable" => (
            format!("The CA had no route to the server{at}"),
            format!("they had no route to the server{at}"),
            "Usually an AAAA record whose IPv6 network is not reachable: CAs try IPv6 first when \
             an AAAA exists and fall back to IPv4 only on connection errors. Fix IPv6 or remove \
             the AAAA record."
                .to_string(),
        ),
        "http-status" => {
            let why = match f.status {
                Some(404) if remote => {
                    "A 404 from some regions only usually means they reach another server \
                     (GeoDNS, an anycast CDN, a stale A/AAAA record) that lacks the file."
                }
                Some(404) => {
                    "The file is not where the web server serves from: the client wrote it to \
                     another directory than the document root, a rewrite or proxy catches \
                     /.well-known/acme-challenge/, or a cache served an old 404."
                }
                Some(401 | 403 | 451) => {
                    "Access to /.well-known/acme-challenge/ is denied: authentication, a deny \
                     rule, a WAF or bot filter refusing the CA's User-Agent, or a geo rule."
                }
                Some(s) if s >= 500 && remote => {
                    "The server, or a proxy or CDN in front of it, failed for those regions (a \
                     regional CDN edge or another backend)."
                }
                Some(s) if s >= 500 => "The server, or a proxy or CDN in front of it, failed.",
                _ => "Anything but 200 fails; only 301/302/307/308 redirects are followed.",
            };
            (
                format!("The CA fetched {url}{at} and got {status} instead of 200"),
                format!("they got {status} from {url}{at}"),
                why.to_string(),
            )
        }
        "wrong-body" if f.cause == "body" => (
            format!(
                "The CA fetched {url}{at} and got a page of 128 bytes or more instead of the bare key authorization"
            ),
            format!("they were served a page from {url}{at} instead of the token"),
            if remote {
                "Often a block, captcha or 'site not licensed' page that a hoster or CDN shows to \
                 some regions only."
            } else {
                "An HTML error, login or block page, or a web server that wraps the file in a \
                 template."
            }
            .to_string(),
        ),
        "wrong-body" => (
            format!(
                "The CA reached {url}{at} but the content was not this challenge's key authorization"
            ),
            format!("they got different content from {url}{at} than the primary did"),
            if remote {
                "Those regions reach another server or a cache holding an old token (GeoDNS, \
                 anycast CDN, a stale record)."
            } else {
                "Another server or an old cached copy answered (CDN, GeoDNS, a stale record), or \
                 the client wrote the token where the web server does not serve from."
            }
            .to_string(),
        ),
        "redirect" => {
            let what = match f.cause {
                "too-many" => "more than 10 redirects".to_string(),
                "loop" => "a redirect loop".to_string(),
                "port" => match &f.port {
                    Some(p) => format!("a redirect to port {p}"),
                    None => "a redirect to a port other than 80 or 443".to_string(),
                },
                "status" => "a redirect with a status other than 301/302/307/308".to_string(),
                _ => "a redirect to an invalid target (an IP address, a missing '/', a \
                      non-public name or an overlong path)"
                    .to_string(),
            };
            (
                format!("The CA refused to follow {what} on the challenge path ({url})"),
                format!("they were sent {what}"),
                "CAs follow at most 10 redirects, only 301/302/307/308, only to http:// or \
                 https:// host names on ports 80 or 443, never in a loop. Exempt \
                 /.well-known/acme-challenge/ from the redirect or point it at port 80/443."
                    .to_string(),
            )
        }
        "protocol-error" => {
            let what = match f.cause {
                "h2c" => format!(
                    "The server{at} answered the CA's HTTP/1.1 request on port 80 with HTTP/2 \
                     frames (HTTP/2 enabled on a plain-HTTP virtual host)"
                ),
                "no-tls" => format!(
                    "A redirect to https:// reached a server{at} that speaks plain HTTP, not TLS"
                ),
                _ => format!(
                    "The TLS handshake with the server{at} failed after a redirect to https:// \
                     (CAs accept any certificate there but need TLS 1.2 or later)"
                ),
            };
            (
                what,
                format!("they hit a protocol error{at}"),
                "Fix the web server's protocol settings for port 80 and the https target."
                    .to_string(),
            )
        }
        "connection-error" => (
            format!("The CA could not fetch {url}{at} (connection failure)"),
            String::new(),
            "The message gives no finer cause: a firewall, a proxy error, or a broken TLS \
             redirect target."
                .to_string(),
        ),
        "unauthorized" => (
            "The CA says the validation did not prove control of the name".to_string(),
            "they could not confirm the challenge".to_string(),
            "The message does not say which part failed; run mpic-check to see what each \
             perspective gets."
                .to_string(),
        ),
        "txt-missing" => (
            format!(
                "The CA found no TXT record at _acme-challenge.{}",
                base(name)
            ),
            format!(
                "their resolvers found no TXT record at _acme-challenge.{}",
                base(name)
            ),
            if remote {
                "Not every authoritative nameserver had the value yet (a lagging secondary, an \
                 anycast node, a hidden-primary transfer), or it was removed before the CA \
                 finished."
            } else {
                "The value was not yet on the nameserver asked, was removed too early, or was \
                 put in another zone or name (check CNAME delegation of _acme-challenge)."
            }
            .to_string(),
        ),
        "txt-incorrect" => (
            format!(
                "The CA found TXT values at _acme-challenge.{} but none matched this order",
                base(name)
            ),
            format!(
                "their resolvers found only other TXT values at _acme-challenge.{}",
                base(name)
            ),
            "An old value from an earlier attempt is still served by some nameserver or cache, \
             or the DNS hook replaced the record set instead of adding to it (an apex and its \
             wildcard share this name and need both values at once)."
                .to_string(),
        ),
        "dns-nxdomain" => (
            format!("The CA's resolver got NXDOMAIN (no such name) for {lookup}"),
            format!("their resolvers got NXDOMAIN for {lookup} while the primary's did not"),
            if f.lookup.as_ref().is_some_and(Lookup::is_challenge) {
                "The challenge record did not exist on the nameserver asked (not yet propagated, \
                 or already removed); resolvers keep such negative answers for the zone's SOA \
                 minimum TTL."
            } else {
                "The name does not resolve there: a missing record, or nameservers that \
                 disagree (a lagging secondary, GeoDNS)."
            }
            .to_string(),
        ),
        "dns-servfail" => (
            format!("The CA's resolver got SERVFAIL for {lookup}"),
            format!("their resolvers got SERVFAIL for {lookup}"),
            "The authoritative nameservers did not answer properly: unreachable, lame, DNSSEC \
             trouble, or refusing some query types or regions."
                .to_string(),
        ),
        "dns-timeout" => (
            format!("The CA's DNS query timed out for {lookup}"),
            format!("their DNS queries timed out for {lookup}"),
            "The authoritative nameservers did not answer in time: a firewall or rate limit on \
             port 53, an unreachable server, or broken IPv6 on a nameserver."
                .to_string(),
        ),
        "dns-refused" => (
            format!("The CA's resolver got REFUSED for {lookup}"),
            format!("their resolvers got REFUSED for {lookup}"),
            "A nameserver refuses the query: an ACL or geo restriction, or a server that is not \
             authoritative for the zone (lame delegation)."
                .to_string(),
        ),
        "dns-dnssec" => (
            format!("DNSSEC validation failed (bogus) for {lookup}"),
            format!("their resolvers found DNSSEC bogus for {lookup}"),
            "Expired signatures, a DS record that does not match the keys, or nameservers that \
             serve differently signed data."
                .to_string(),
        ),
        "dns-error" => {
            let what = f
                .lookup
                .as_ref()
                .map(|lk| lk.what.clone())
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| "a DNS error".to_string());
            (
                format!("The CA's DNS lookup failed ({what}) for {lookup}"),
                format!("their DNS lookups failed ({what}) for {lookup}"),
                "A network problem between the CA's resolver and the nameservers, or a problem \
                 at the CA's resolver."
                    .to_string(),
            )
        }
        "dns-no-address" => (
            format!("The CA's resolver found no usable A or AAAA record for {name}"),
            format!("their resolvers found no usable A or AAAA record for {name}"),
            "No records, or only private or reserved addresses; when only remotes fail, \
             nameservers answer differently per region (GeoDNS, a lagging secondary)."
                .to_string(),
        ),
        "caa-forbids" => (
            format!(
                "The CAA records for {name} (or its closest parent that has some) do not allow this CA"
            ),
            format!(
                "their resolvers saw CAA records for {name} that forbid this CA while the primary's did not"
            ),
            if remote {
                "Nameservers serve different CAA records: a recent change not yet everywhere, or \
                 GeoDNS."
            } else {
                "The CA is not listed in `issue` (or `issuewild`, for wildcards), or the record \
                 restricts `accounturi` or `validationmethods`, or an unknown tag is marked \
                 critical. Add the CA's issuer domain or fix the restriction."
            }
            .to_string(),
        ),
        "caa-lookup-failed" => {
            let what = f
                .lookup
                .as_ref()
                .map(|lk| lk.what.clone())
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| "error".to_string());
            (
                format!(
                    "The CA could not look up CAA for {} ({what})",
                    f.lookup.as_ref().map_or(name, |lk| lk.name.as_str())
                ),
                format!(
                    "their resolvers could not look up CAA for {} ({what})",
                    f.lookup.as_ref().map_or(name, |lk| lk.name.as_str())
                ),
                "Let's Encrypt treats a failed CAA lookup at the name or any parent as a refusal: \
                 every nameserver must answer CAA queries from every region (an empty NOERROR is \
                 fine; SERVFAIL, REFUSED, NOTIMP, timeouts and DNSSEC failures are not)."
                    .to_string(),
            )
        }
        "quorum-rirs" => (
            String::new(),
            String::new(),
            "Too many remote perspectives failed, or those that passed were not spread over two \
             RIRs (regional internet registries: North America, Europe, Asia-Pacific, Latin \
             America, Africa). The message does not say which check failed: run mpic-check to \
             see which regions fail and why."
                .to_string(),
        ),
        "rate-limit" => {
            let what = match f.cause {
                "paused" => {
                    "The CA paused issuance for this name on this account after a long \
                             series of failed validations; the message links to the unpause page"
                }
                "failed-authz" => {
                    "The CA refused the request: too many failed validations for \
                                   this name recently (Let's Encrypt: 5 per name per account per \
                                   hour, one more every 12 minutes)"
                }
                "certificates" => {
                    "The CA refused the request: too many certificates were issued \
                                   recently for these names"
                }
                _ => "The CA refused the request: a rate limit was hit",
            };
            (
                what.to_string(),
                String::new(),
                "This is not a validation failure in itself but follows repeated ones: find the \
                 cause with mpic-check, test against the CA's staging environment, and retry \
                 only once it passes."
                    .to_string(),
            )
        }
        "ca-internal" => (
            "The CA's own infrastructure failed".to_string(),
            "the CA could not get an answer from them (its internal calls failed)".to_string(),
            "Under MPIC a remote perspective that does not answer counts as a failure. This is \
             usually not your server: retry later, against staging first."
                .to_string(),
        ),
        "wildcard-needs-dns01" => (
            format!(
                "The ACME client refused before any validation: {} needs dns-01",
                id.unwrap_or("a wildcard name")
            ),
            String::new(),
            "CAs validate wildcard names only with dns-01, and the chosen authenticator does \
             http-01 or tls-alpn-01 only. Use a DNS plugin (certbot --preferred-challenges dns, \
             lego --dns) or drop the wildcard."
                .to_string(),
        ),
        _ => (String::new(), String::new(), String::new()),
    };
    let mut text = if remote {
        let lead = if f.total_perspectives > 0 {
            format!(
                "The CA's multi-perspective check (Open MPIC) did not reach its quorum: {} of {} \
                 remote perspectives failed",
                f.perspectives.len(),
                f.total_perspectives
            )
        } else if f.boulder {
            REMOTE_LEAD.to_string()
        } else {
            OTHER_MPIC_LEAD.to_string()
        };
        if !what_remote.is_empty() {
            format!("{lead}: {what_remote}. {why}")
        } else if !what.is_empty() {
            format!("{lead}: {}. {why}", lower_first(&what))
        } else {
            format!("{lead}. {why}")
        }
    } else {
        let mut t = format!("{what}. {why}");
        if stage == Stage::Primary {
            t.push(' ');
            t.push_str(PRIMARY_NOTE);
        }
        t
    };
    if f.recheck {
        text.push_str(
            " This was the CAA recheck at finalization: Let's Encrypt rechecks CAA, again from \
             several perspectives, when the authorization is older than 7 hours, so a renewal \
             that reuses an old validation can still fail here.",
        );
    }
    if f.type_only {
        text.push_str(
            " (Recognised from the ACME problem type only; the CA's wording was not specific.)",
        );
    }
    if !f.perspectives.is_empty() {
        text.push_str(&format!(
            " Failing perspectives: {}.",
            f.perspectives.join(", ")
        ));
    }
    text
}

fn base(name: &str) -> &str {
    name.strip_prefix("*.").unwrap_or(name)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Targeted hints for a recognised problem; the generic checklist is for unrecognised text.
fn hints_for(
    f: &Facts,
    stage: Stage,
    id: Option<&str>,
    args: &[String],
    ca: Option<&str>,
) -> Vec<String> {
    let name = id.unwrap_or("NAME");
    let mut v: Vec<String> = Vec::new();
    if !args.is_empty() {
        v.push(format!(
            "Run `mpic-check {}` to see what the CA's primary and remote perspectives would get.",
            args.join(" ")
        ));
    }
    let family_hints: &[&str] = match f.family {
        "http-geoblocked" | "connect-timeout" | "connection-refused" | "connection-reset"
        | "http-timeout" | "connection-error" => &[
            "Allow port 80 for /.well-known/acme-challenge/ from every country and network in \
             the server firewall, the hoster's firewall, the WAF/CDN and fail2ban-like tools.",
            "Check from outside your own network: curl -v http://NAME/.well-known/acme-challenge/test",
            "Compare the A and AAAA records with the server's real addresses, and test IPv6 \
             separately (CAs try it first).",
        ],
        "network-unreachable" => {
            &["Test port 80 over IPv6 from outside, or remove the AAAA record until IPv6 works."]
        }
        "http-status" | "wrong-body" | "unauthorized" => &[
            "Put a test file in the challenge directory and fetch \
             http://NAME/.well-known/acme-challenge/test from outside: status 200, exact content, \
             no HTML.",
            "Exclude /.well-known/acme-challenge/ from caching, redirects to other hosts, \
             authentication and bot filters.",
        ],
        "redirect" | "protocol-error" => &[
            "Serve /.well-known/acme-challenge/ directly on port 80, or redirect it only with \
             301/302/307/308 to http(s) on ports 80/443.",
        ],
        "txt-missing" | "txt-incorrect" | "dns-nxdomain" if f.method_is_dns() => &[
            "During the next renewal, run `mpic-check watch NAME` (or make the DNS hook call \
             `mpic-check wait-txt NAME VALUE…`) so the CA is asked only once every nameserver \
             serves the value.",
            "Query each authoritative nameserver directly: dig +norec TXT _acme-challenge.NAME \
             @<ns>",
            "Make the DNS hook add TXT values, never replace the record set, and clean up only \
             after validation.",
        ],
        "dns-nxdomain" | "dns-servfail" | "dns-timeout" | "dns-refused" | "dns-dnssec"
        | "dns-error" | "dns-no-address" => &[
            "Query every authoritative nameserver directly, over IPv4 and IPv6: dig +norec QUERY \
             @<ns>",
            "Check DNSSEC with a validating resolver (e.g. dig +dnssec, or an online DNSSEC \
             analyser).",
        ],
        "caa-forbids" => &[
            "List the CAA records from the name up to the TLD: dig CAA NAME (and each parent); the \
             closest non-empty set applies.",
            "Add the CA's issuer domain (e.g. 0 issue \"ISSUER\", and issuewild for \
             wildcards), or relax accounturi/validationmethods.",
        ],
        "caa-lookup-failed" => &[
            "Ask every authoritative nameserver for CAA directly: dig +norec CAA NAME @<ns> must \
             give NOERROR (an empty answer is fine).",
            "Fix DNSSEC and any nameserver that answers CAA (type 257) with SERVFAIL, REFUSED or \
             NOTIMP.",
        ],
        "quorum-rirs" => &[
            "Check reachability and DNS answers from several continents, not only from your own \
             network.",
        ],
        "rate-limit" => &[
            "Wait for the limit to reset (the message says when), and use the CA's staging \
             environment for tests.",
        ],
        "ca-internal" => &["Retry later; if it persists, check the CA's status page."],
        "wildcard-needs-dns01" => &[
            "Use a DNS authenticator for the wildcard (certbot --preferred-challenges dns with a \
             DNS plugin, lego --dns <provider>, acme.sh --dns <api>).",
        ],
        _ => &[],
    };
    // The record actually queried, when the message names it (`TXT _acme-challenge.x`).
    let query = f.lookup.as_ref().map_or_else(
        || format!("A {}", base(name)),
        |lk| format!("{} {}", lk.rtype, lk.name),
    );
    v.extend(family_hints.iter().map(|h| {
        h.replace("QUERY", &query)
            .replace("NAME", base(name))
            .replace("ISSUER", ca.unwrap_or("letsencrypt.org"))
    }));
    if stage == Stage::Remote {
        v.push(
            "Only some regions fail: look for what differs by region (geo rules, GeoDNS, anycast, \
             nameservers that lag), not for a general outage."
                .to_string(),
        );
    }
    v
}

impl Facts {
    fn method_is_dns(&self) -> bool {
        self.method == Some("dns-01")
    }
}

/// What to check when the message was not recognised.
fn generic_checklist(id: Option<&str>) -> Vec<String> {
    let n = id.map_or("NAME", base);
    vec![
        format!(
            "Run `mpic-check {n}` (add `--method dns-01` for DNS validation) to see what a CA's \
             primary and remote perspectives would get."
        ),
        "DNS: do the A and AAAA records point only at servers that answer, with the same answer \
         from every region (no stale or GeoDNS-only addresses)?"
            .to_string(),
        format!(
            "Port 80: is http://{n}/.well-known/acme-challenge/ reachable from every country and \
             network (no geo or IP firewall, WAF, bot filter, fail2ban or CDN rule), over IPv6 as \
             well as IPv4?"
        ),
        "Challenge file: status 200, only the key authorization (under 128 bytes), no redirect \
         other than 301/302/307/308 to ports 80 or 443, no cache serving old answers?"
            .to_string(),
        format!(
            "DNS-01: is the TXT at _acme-challenge.{n} on every authoritative nameserver before \
             the CA checks, and kept until it has finished?"
        ),
        "CAA: does the closest CAA record set allow your CA (issue, or issuewild for wildcards), \
         and does every nameserver answer CAA queries without SERVFAIL, REFUSED or timeouts?"
            .to_string(),
        "Retry against the CA's staging environment first: Let's Encrypt allows only 5 failed \
         validations per name per hour."
            .to_string(),
    ]
}

#[cfg(test)]
mod tests {
    //! Table-driven tests over real-world message shapes (Boulder's wording, certbot/acme.sh/lego
    //! wrappers, ACME problem documents), whole-log fixtures under `tests/fixtures/explain/`, and
    //! a no-panic loop over hostile input.

    use super::*;

    /// One message shape and everything the user is told about it.
    struct Case {
        name: &'static str,
        input: &'static str,
        family: &'static str,
        stage: Stage,
        id: Option<&'static str>,
        address: Option<&'static str>,
        url: Option<&'static str>,
        status: Option<u16>,
        findings: &'static [&'static str],
        args: &'static [&'static str],
    }

    const HTTP_GEO: &[&str] = &["http-geoblocked", "geodns-divergence", "dead-address"];
    const TXT_NX: &[&str] = &[
        "txt-missing-on-ns",
        "negative-cache-risk",
        "txt-early-removal",
    ];
    const CAA_FORBIDS: &[&str] = &["caa-forbids", "caa-critical-unknown"];
    const CAA_LOOKUP: &[&str] = &[
        "caa-lookup-failed",
        "dns-refused-by-region",
        "ns-unreachable",
    ];

    fn cases() -> Vec<Case> {
        vec![
            Case {
                name: "remote 403 over IPv6 (getssl#846 shape)",
                input: "During secondary validation: 2a06:98c1:3121::3: Invalid response from \
                        http://www.example.com/.well-known/acme-challenge/Tk1VZ2xE: 403",
                family: "http-geoblocked",
                stage: Stage::Remote,
                id: Some("www.example.com"),
                address: Some("2a06:98c1:3121::3"),
                url: Some("http://www.example.com/.well-known/acme-challenge/Tk1VZ2xE"),
                status: Some(403),
                findings: &[
                    "http-geoblocked",
                    "user-agent-filtered",
                    "geodns-divergence",
                ],
                args: &["--method", "http-01", "www.example.com"],
            },
            Case {
                name: "primary timeout during connect",
                input: "203.0.113.10: Fetching http://example.org/.well-known/acme-challenge/abc123: \
                        Timeout during connect (likely firewall problem)",
                family: "connect-timeout",
                stage: Stage::Primary,
                id: Some("example.org"),
                address: Some("203.0.113.10"),
                url: Some("http://example.org/.well-known/acme-challenge/abc123"),
                status: None,
                findings: &["http-unreachable", "http-geoblocked", "dead-address"],
                args: &["--method", "http-01", "example.org"],
            },
            Case {
                name: "remote timeout during connect",
                input: "During secondary validation: 203.0.113.10: Fetching \
                        http://shop.example.net/.well-known/acme-challenge/xyz: Timeout during \
                        connect (likely firewall problem)",
                family: "http-geoblocked",
                stage: Stage::Remote,
                id: Some("shop.example.net"),
                address: Some("203.0.113.10"),
                url: Some("http://shop.example.net/.well-known/acme-challenge/xyz"),
                status: None,
                findings: HTTP_GEO,
                args: &["--method", "http-01", "shop.example.net"],
            },
            Case {
                name: "primary timeout during connect over IPv6",
                input: "2001:db8::80: Fetching http://v6.example.com/.well-known/acme-challenge/t0k: \
                        Timeout during connect (likely firewall problem)",
                family: "connect-timeout",
                stage: Stage::Primary,
                id: Some("v6.example.com"),
                address: Some("2001:db8::80"),
                url: Some("http://v6.example.com/.well-known/acme-challenge/t0k"),
                status: None,
                findings: &[
                    "http-unreachable",
                    "ipv6-broken",
                    "http-geoblocked",
                    "dead-address",
                ],
                args: &["--method", "http-01", "v6.example.com"],
            },
            Case {
                name: "timeout after connect",
                input: "198.51.100.7: Fetching http://slow.example.com/.well-known/acme-challenge/t: \
                        Timeout after connect (your server may be slow or overloaded)",
                family: "http-timeout",
                stage: Stage::Primary,
                id: Some("slow.example.com"),
                address: Some("198.51.100.7"),
                url: Some("http://slow.example.com/.well-known/acme-challenge/t"),
                status: None,
                findings: &["http-unreachable", "http-geoblocked"],
                args: &["--method", "http-01", "slow.example.com"],
            },
            Case {
                name: "connection refused",
                input: "192.0.2.1: Fetching http://old.example.com/.well-known/acme-challenge/t: \
                        Connection refused",
                family: "connection-refused",
                stage: Stage::Primary,
                id: Some("old.example.com"),
                address: Some("192.0.2.1"),
                url: Some("http://old.example.com/.well-known/acme-challenge/t"),
                status: None,
                findings: &["http-unreachable", "dead-address"],
                args: &["--method", "http-01", "old.example.com"],
            },
            Case {
                name: "acme.sh Verify error with 404",
                input: "[Fri Feb 24 13:25:23 UTC 2023] opsales.example.jp:Verify error:219.94.163.80: \
                        Invalid response from \
                        http://opsales.example.jp/.well-known/acme-challenge/WBch-5VP4J1i: 404",
                family: "http-status",
                stage: Stage::Primary,
                id: Some("opsales.example.jp"),
                address: Some("219.94.163.80"),
                url: Some("http://opsales.example.jp/.well-known/acme-challenge/WBch-5VP4J1i"),
                status: Some(404),
                findings: &[
                    "webroot-mismatch",
                    "cdn-cached-challenge",
                    "geodns-divergence",
                ],
                args: &["--method", "http-01", "opsales.example.jp"],
            },
            Case {
                name: "lego key authorization mismatch",
                input: "[www.example.com] acme: error: 403 :: urn:ietf:params:acme:error:unauthorized \
                        :: 203.0.113.5: The key authorization file from the server did not match \
                        this challenge. Expected \"tok.abc\" (got \"old.def\")",
                family: "wrong-body",
                stage: Stage::Primary,
                id: Some("www.example.com"),
                address: Some("203.0.113.5"),
                url: None,
                status: None,
                findings: &[
                    "cdn-cached-challenge",
                    "webroot-mismatch",
                    "geodns-divergence",
                ],
                args: &["--method", "http-01", "www.example.com"],
            },
            Case {
                name: "HTTP/2 over plain HTTP",
                input: "192.0.2.8: Fetching http://h2.example.com/.well-known/acme-challenge/t: \
                        Server is speaking HTTP/2 over HTTP",
                family: "protocol-error",
                stage: Stage::Primary,
                id: Some("h2.example.com"),
                address: Some("192.0.2.8"),
                url: Some("http://h2.example.com/.well-known/acme-challenge/t"),
                status: None,
                findings: &["http-unreachable"],
                args: &["--method", "http-01", "h2.example.com"],
            },
            Case {
                name: "too many redirects",
                input: "198.51.100.4: Fetching https://loop.example.com/.well-known/acme-challenge/t: \
                        Too many redirects",
                family: "redirect",
                stage: Stage::Primary,
                id: Some("loop.example.com"),
                address: Some("198.51.100.4"),
                url: Some("https://loop.example.com/.well-known/acme-challenge/t"),
                status: None,
                findings: &["redirect-disallowed"],
                args: &["--method", "http-01", "loop.example.com"],
            },
            Case {
                name: "invalid port in redirect target",
                input: "Fetching http://www.example.com:8080/.well-known/acme-challenge/t: Invalid \
                        port in redirect target. Only ports 80 and 443 are supported, not 8080",
                family: "redirect",
                stage: Stage::Primary,
                id: Some("www.example.com"),
                address: None,
                url: Some("http://www.example.com:8080/.well-known/acme-challenge/t"),
                status: None,
                findings: &["redirect-disallowed"],
                args: &["--method", "http-01", "www.example.com"],
            },
            Case {
                name: "acme.sh NXDOMAIN for the TXT record",
                input: "[Tue Jun 30 20:53:50 UTC 2020] ohscribe.example.edu:Verify error:DNS problem: \
                        NXDOMAIN looking up TXT for _acme-challenge.ohscribe.example.edu - check \
                        that a DNS record exists for this domain",
                family: "dns-nxdomain",
                stage: Stage::Primary,
                id: Some("ohscribe.example.edu"),
                address: None,
                url: None,
                status: None,
                findings: TXT_NX,
                args: &["--method", "dns-01", "ohscribe.example.edu"],
            },
            Case {
                name: "NXDOMAIN for A and AAAA",
                input: "DNS problem: NXDOMAIN looking up A for typo.example.com - check that a DNS \
                        record exists for this domain; DNS problem: NXDOMAIN looking up AAAA for \
                        typo.example.com - check that a DNS record exists for this domain",
                family: "dns-nxdomain",
                stage: Stage::Primary,
                id: Some("typo.example.com"),
                address: None,
                url: None,
                status: None,
                findings: &[
                    "ns-inconsistent",
                    "geodns-divergence",
                    "dns-refused-by-region",
                ],
                args: &["--method", "http-01", "typo.example.com"],
            },
            Case {
                name: "remote SERVFAIL looking up CAA, as a problem document",
                input: "{\"type\": \"urn:ietf:params:acme:error:dns\", \"detail\": \"During secondary \
                        validation: DNS problem: SERVFAIL looking up CAA for life.example.cn - the \
                        domain's nameservers may be malfunctioning\", \"status\": 400}",
                family: "caa-lookup-failed",
                stage: Stage::Remote,
                id: Some("life.example.cn"),
                address: None,
                url: None,
                status: None,
                findings: CAA_LOOKUP,
                args: &["life.example.cn"],
            },
            Case {
                name: "DNSSEC bogus for CAA (Extended DNS Error form)",
                input: "DNS problem: looking up CAA for secure.example.com: DNSSEC: Bogus: \
                        signature expired",
                family: "caa-lookup-failed",
                stage: Stage::Caa,
                id: Some("secure.example.com"),
                address: None,
                url: None,
                status: None,
                findings: CAA_LOOKUP,
                args: &["secure.example.com"],
            },
            Case {
                name: "CAA forbids a wildcard",
                input: "While processing CAA for *.example.com: CAA record for example.com prevents \
                        issuance",
                family: "caa-forbids",
                stage: Stage::Caa,
                id: Some("*.example.com"),
                address: None,
                url: None,
                status: None,
                findings: CAA_FORBIDS,
                args: &["--method", "dns-01", "*.example.com"],
            },
            Case {
                name: "certbot block: CAA forbids during secondary validation",
                input: "Certbot failed to authenticate some domains (authenticator: nginx). The \
                        Certificate Authority reported these problems:\n  Domain: devhub.example\n  \
                        Type:   caa\n  Detail: During secondary validation: CAA record for \
                        devhub.example prevents issuance\n\nHint: …\n",
                family: "caa-forbids",
                stage: Stage::Remote,
                id: Some("devhub.example"),
                address: None,
                url: None,
                status: None,
                findings: CAA_FORBIDS,
                args: &["devhub.example"],
            },
            Case {
                name: "no TXT record",
                input: "No TXT record found at _acme-challenge.example.com",
                family: "txt-missing",
                stage: Stage::Primary,
                id: Some("example.com"),
                address: None,
                url: None,
                status: None,
                findings: &[
                    "txt-missing-on-ns",
                    "txt-early-removal",
                    "negative-cache-risk",
                ],
                args: &["--method", "dns-01", "example.com"],
            },
            Case {
                name: "remote incorrect TXT record",
                input: "During secondary validation: Incorrect TXT record \"0ldV4lue\" found at \
                        _acme-challenge.example.org",
                family: "txt-incorrect",
                stage: Stage::Remote,
                id: Some("example.org"),
                address: None,
                url: None,
                status: None,
                findings: &[
                    "txt-missing-on-ns",
                    "txt-shared-name",
                    "ns-inconsistent",
                    "txt-early-removal",
                ],
                args: &["--method", "dns-01", "example.org"],
            },
            Case {
                name: "rate limit, current wording",
                input: "too many failed authorizations (5) for \"example.com\" in the last 1h0m0s, \
                        retry after 2025-01-24 17:26:51 UTC: see \
                        https://letsencrypt.org/docs/rate-limits/#authorization-failures-per-hostname-per-account",
                family: "rate-limit",
                stage: Stage::Unknown,
                id: Some("example.com"),
                address: None,
                url: None,
                status: None,
                findings: &[],
                args: &["example.com"],
            },
            Case {
                name: "rate limit through lego, older wording, no name",
                input: "acme: error: 429 :: POST :: https://acme-v02.api.letsencrypt.org/acme/new-order \
                        :: urn:ietf:params:acme:error:rateLimited :: Error creating new order :: too \
                        many failed authorizations recently: see \
                        https://letsencrypt.org/docs/failed-validation-limit/",
                family: "rate-limit",
                stage: Stage::Unknown,
                id: None,
                address: None,
                url: None,
                status: None,
                findings: &[],
                args: &[],
            },
            Case {
                name: "account paused for a name",
                input: "Your account is temporarily prevented from requesting certificates for \
                        example.net and possibly others. Please visit: \
                        https://portal.letsencrypt.org/sfe/v1/unpause?jwt=eyJhbGciOi",
                family: "rate-limit",
                stage: Stage::Unknown,
                id: Some("example.net"),
                address: None,
                url: None,
                status: None,
                findings: &[],
                args: &["example.net"],
            },
            Case {
                name: "quorum / RIR wording of another CA",
                input: "Multi-Perspective Issuance Corroboration (MPIC) failed for shop.example.com: \
                        quorum not met, too few RIRs among corroborating perspectives",
                family: "quorum-rirs",
                stage: Stage::Remote,
                id: Some("shop.example.com"),
                address: None,
                url: None,
                status: None,
                findings: &[
                    "http-geoblocked",
                    "geodns-divergence",
                    "dns-refused-by-region",
                    "caa-lookup-failed",
                ],
                args: &["shop.example.com"],
            },
            Case {
                name: "multi-perspective wording wrapping a connect timeout",
                input: "DCV failed for www.example.com: multi-perspective corroboration failed: \
                        203.0.113.9: Timeout during connect (likely firewall problem)",
                family: "http-geoblocked",
                stage: Stage::Remote,
                id: Some("www.example.com"),
                address: Some("203.0.113.9"),
                url: None,
                status: None,
                findings: HTTP_GEO,
                args: &["--method", "http-01", "www.example.com"],
            },
            Case {
                name: "secondary validation RPC failure at the CA",
                input: "During secondary validation: Secondary validation RPC failed",
                family: "ca-internal",
                stage: Stage::Remote,
                id: None,
                address: None,
                url: None,
                status: None,
                findings: &[],
                args: &[],
            },
            Case {
                name: "certbot: wildcard with an HTTP authenticator",
                input: "Client with the currently selected authenticator does not support any \
                        combination of challenges that will satisfy the CA. You may need to use an \
                        authenticator plugin that can do challenges over DNS.",
                family: "wildcard-needs-dns01",
                stage: Stage::Unknown,
                id: None,
                address: None,
                url: None,
                status: None,
                findings: &["wildcard-needs-dns01"],
                args: &[],
            },
            Case {
                name: "lego, older quoted-body shape served by a hoster's block page",
                input: "[app.example.cn] acme: error: 403 :: urn:ietf:params:acme:error:unauthorized \
                        :: During secondary validation: Invalid response from \
                        https://dnspod.qcloud.com/static/webblock.html?d=app.example.cn \
                        [203.205.224.59]: \"<!DOCTYPE html>\\n<html>\\n\\t<head>\", url: ",
                family: "wrong-body",
                stage: Stage::Remote,
                id: Some("app.example.cn"),
                address: Some("203.205.224.59"),
                url: Some("https://dnspod.qcloud.com/static/webblock.html?d=app.example.cn"),
                status: None,
                findings: &["http-geoblocked", "body-too-large", "geodns-divergence"],
                args: &["--method", "http-01", "app.example.cn"],
            },
            Case {
                name: "no valid addresses from the remotes",
                input: "During secondary validation: no valid A records found for sub.example.com; \
                        no valid AAAA records found for sub.example.com",
                family: "dns-no-address",
                stage: Stage::Remote,
                id: Some("sub.example.com"),
                address: None,
                url: None,
                status: None,
                findings: &[
                    "geodns-divergence",
                    "ns-inconsistent",
                    "dns-refused-by-region",
                ],
                args: &["--method", "http-01", "sub.example.com"],
            },
            Case {
                name: "remote DNS timeout for the TXT record",
                input: "During secondary validation: DNS problem: query timed out looking up TXT for \
                        _acme-challenge.example.net",
                family: "dns-timeout",
                stage: Stage::Remote,
                id: Some("example.net"),
                address: None,
                url: None,
                status: None,
                findings: &["ns-unreachable", "dns-refused-by-region"],
                args: &["--method", "dns-01", "example.net"],
            },
            Case {
                name: "REFUSED for A",
                input: "DNS problem: REFUSED looking up A for geo.example.com",
                family: "dns-refused",
                stage: Stage::Primary,
                id: Some("geo.example.com"),
                address: None,
                url: None,
                status: None,
                findings: &["dns-refused-by-region", "ns-unreachable"],
                args: &["--method", "http-01", "geo.example.com"],
            },
            Case {
                name: "network unreachable over IPv6",
                input: "2001:db8::10: Fetching http://v6only.example.com/.well-known/acme-challenge/t: \
                        Network unreachable",
                family: "network-unreachable",
                stage: Stage::Primary,
                id: Some("v6only.example.com"),
                address: Some("2001:db8::10"),
                url: Some("http://v6only.example.com/.well-known/acme-challenge/t"),
                status: None,
                findings: &["ipv6-broken", "dead-address"],
                args: &["--method", "http-01", "v6only.example.com"],
            },
            Case {
                name: "problem type only (Google Trust Services via lego)",
                input: "[www.example.com] acme: error: 400 :: POST :: \
                        https://dv.acme-v02.api.pki.goog/chall/AbCd :: \
                        urn:ietf:params:acme:error:connection :: The server could not connect to \
                        the client to verify the domain",
                family: "connection-error",
                stage: Stage::Unknown,
                id: Some("www.example.com"),
                address: None,
                url: None,
                status: None,
                findings: &["http-unreachable", "http-geoblocked"],
                args: &["--method", "http-01", "--ca", "pki.goog", "www.example.com"],
            },
            Case {
                name: "CAA recheck at finalization",
                input: "Error finalizing order :: rechecking caa: While processing CAA for \
                        example.com: CAA record for example.com prevents issuance",
                family: "caa-forbids",
                stage: Stage::Caa,
                id: Some("example.com"),
                address: None,
                url: None,
                status: None,
                findings: CAA_FORBIDS,
                args: &["example.com"],
            },
            Case {
                name: "remote 502",
                input: "During secondary validation: 198.51.100.9: Invalid response from \
                        http://cdn.example.com/.well-known/acme-challenge/x: 502",
                family: "http-status",
                stage: Stage::Remote,
                id: Some("cdn.example.com"),
                address: Some("198.51.100.9"),
                url: Some("http://cdn.example.com/.well-known/acme-challenge/x"),
                status: Some(502),
                findings: &["geodns-divergence", "http-geoblocked"],
                args: &["--method", "http-01", "cdn.example.com"],
            },
            Case {
                name: "old certbot IMPORTANT NOTES block, wrapped detail",
                input: "IMPORTANT NOTES:\n - The following errors were reported by the server:\n\n   \
                        Domain: legacy.example.com\n   Type:   unauthorized\n   Detail: Invalid \
                        response from\n   http://legacy.example.com/.well-known/acme-challenge/Zx9 \
                        [192.0.2.44]: 404\n\n   To fix these errors, please make sure that your \
                        domain name was\n   entered correctly and the DNS A/AAAA record(s) for that \
                        domain\n",
                family: "http-status",
                stage: Stage::Primary,
                id: Some("legacy.example.com"),
                address: Some("192.0.2.44"),
                url: Some("http://legacy.example.com/.well-known/acme-challenge/Zx9"),
                status: Some(404),
                findings: &[
                    "webroot-mismatch",
                    "cdn-cached-challenge",
                    "geodns-divergence",
                ],
                args: &["--method", "http-01", "legacy.example.com"],
            },
        ]
    }

    fn one(input: &str) -> Explanation {
        let mut v = explain(input);
        assert_eq!(
            v.len(),
            1,
            "expected one explanation for {input:?}, got {v:#?}"
        );
        v.remove(0)
    }

    fn check(e: &Explanation, c: &Case) {
        let n = c.name;
        assert!(e.recognised, "{n}: not recognised: {e:#?}");
        assert_eq!(e.family, c.family, "{n}: family");
        assert_eq!(e.stage, c.stage, "{n}: stage");
        assert_eq!(e.identifier.as_deref(), c.id, "{n}: identifier");
        assert_eq!(e.address.as_deref(), c.address, "{n}: address");
        assert_eq!(e.url.as_deref(), c.url, "{n}: url");
        assert_eq!(e.status, c.status, "{n}: status");
        assert_eq!(e.likely_findings, c.findings, "{n}: likely findings");
        assert_eq!(e.suggested_args, c.args, "{n}: suggested args");
        assert!(!e.meaning.is_empty(), "{n}: meaning");
        // Let's Encrypt's wording implies its primary passed; other CAs' wording does not.
        if c.input.contains("During secondary validation") {
            assert!(
                e.meaning.starts_with("The CA's own (primary) check passed"),
                "{n}: a remote failure must say the primary passed: {}",
                e.meaning
            );
        } else if c.stage == Stage::Remote {
            assert!(
                e.meaning.contains("remote perspectives"),
                "{n}: {}",
                e.meaning
            );
            assert!(
                !e.meaning.contains("primary) check passed"),
                "{n}: {}",
                e.meaning
            );
        }
    }

    #[test]
    fn table_of_message_shapes() {
        let cases = cases();
        for c in &cases {
            check(&one(c.input), c);
        }
        let shapes: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.name).collect();
        assert!(shapes.len() >= 15, "{} shapes", shapes.len());
        let families: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.family).collect();
        assert!(
            families.len() >= 15,
            "{} families: {families:?}",
            families.len()
        );
    }

    /// Every finding code offered must be one the detectors can emit, or the advice points at
    /// nothing; reading the detector source keeps the two in step.
    #[test]
    fn likely_findings_are_real_finding_codes() {
        let detect = include_str!("analysis/detect.rs");
        let mut inputs: Vec<&str> = cases().iter().map(|c| c.input).collect();
        inputs.extend(FIXTURES.iter().map(|(_, f)| *f));
        for input in inputs {
            for e in explain(input) {
                for code in &e.likely_findings {
                    let variant = crate::analysis::FindingCode::parse(code)
                        .map(|c| format!("FindingCode::{c:?}"))
                        .unwrap_or_default();
                    assert!(
                        !variant.is_empty() && detect.contains(&variant),
                        "{code} is not emitted by src/analysis/detect.rs"
                    );
                }
            }
        }
    }

    #[test]
    fn secondary_validation_reports_the_geoblocking_meaning() {
        let e = one(cases()[2].input);
        assert!(
            e.meaning
                .contains("at least two of its remote perspectives"),
            "{}",
            e.meaning
        );
        assert!(
            e.meaning
                .contains("could not reach port 80 at 203.0.113.10"),
            "{}",
            e.meaning
        );
        assert!(e.meaning.contains("geoblocking"), "{}", e.meaning);
        let p = one(cases()[1].input);
        assert!(
            p.meaning
                .contains("remote perspectives are asked only after"),
            "{}",
            p.meaning
        );
    }

    const CERTBOT: &str =
        include_str!("../tests/fixtures/explain/certbot-secondary-validation.log");
    const CERTBOT_DEBUG: &str = include_str!("../tests/fixtures/explain/certbot-letsencrypt.log");
    const LEGO: &str = include_str!("../tests/fixtures/explain/lego-dns01.log");
    const ACME_SH: &str = include_str!("../tests/fixtures/explain/acme.sh-http01.log");
    const SUBPROBLEMS: &str = include_str!("../tests/fixtures/explain/problem-subproblems.json");
    const OPEN_MPIC: &str = include_str!("../tests/fixtures/explain/open-mpic-response.json");
    const FIXTURES: [(&str, &str); 6] = [
        ("certbot", CERTBOT),
        ("certbot debug", CERTBOT_DEBUG),
        ("lego", LEGO),
        ("acme.sh", ACME_SH),
        ("subproblems", SUBPROBLEMS),
        ("open mpic", OPEN_MPIC),
    ];

    #[test]
    fn certbot_renew_transcript_with_two_failing_names() {
        let v = explain(CERTBOT);
        assert_eq!(v.len(), 2, "{v:#?}");
        check(
            &v[0],
            &Case {
                name: "certbot: example.com",
                input: CERTBOT,
                family: "http-geoblocked",
                stage: Stage::Remote,
                id: Some("example.com"),
                address: Some("2001:db8:4006:812::200e"),
                url: Some(
                    "http://example.com/.well-known/acme-challenge/\
                     y8Jj3pJ2cvx_Ey5VgKTQyJSa0pRD2y3jYpGSeWqf5aU",
                ),
                status: Some(403),
                findings: &[
                    "http-geoblocked",
                    "user-agent-filtered",
                    "geodns-divergence",
                ],
                args: &["--method", "http-01", "example.com"],
            },
        );
        check(
            &v[1],
            &Case {
                name: "certbot: www.example.com",
                input: CERTBOT,
                family: "http-geoblocked",
                stage: Stage::Remote,
                id: Some("www.example.com"),
                address: Some("203.0.113.10"),
                url: Some(
                    "http://www.example.com/.well-known/acme-challenge/\
                     0hUYkq8m7w3xKuc7r8Kz1L5CnsDz0bq0QZb0wXcJv9E",
                ),
                status: None,
                findings: HTTP_GEO,
                args: &["--method", "http-01", "www.example.com"],
            },
        );
    }

    /// The debug log repeats one failure in the authorization JSON, the user notice and the final
    /// exception: one explanation, with the CA taken from the API host.
    #[test]
    fn certbot_debug_log_is_deduplicated() {
        let e = one(CERTBOT_DEBUG);
        check(
            &e,
            &Case {
                name: "certbot debug log",
                input: CERTBOT_DEBUG,
                family: "http-geoblocked",
                stage: Stage::Remote,
                id: Some("shop.example.net"),
                address: Some("198.51.100.23"),
                url: Some(
                    "http://shop.example.net/.well-known/acme-challenge/\
                     kP2rZb7QxV0mN4sW8tY1uI3oL6aD9fG5hJ0kE2cB7nM",
                ),
                status: None,
                findings: HTTP_GEO,
                args: &[
                    "--method",
                    "http-01",
                    "--ca",
                    "letsencrypt.org",
                    "shop.example.net",
                ],
            },
        );
        assert!(
            e.checklist[0].contains("mpic-check --method http-01"),
            "{:?}",
            e.checklist
        );
    }

    #[test]
    fn lego_log_with_two_failing_names() {
        let v = explain(LEGO);
        assert_eq!(v.len(), 2, "{v:#?}");
        check(
            &v[0],
            &Case {
                name: "lego: api.example.org",
                input: LEGO,
                family: "dns-servfail",
                stage: Stage::Remote,
                id: Some("api.example.org"),
                address: None,
                url: None,
                status: None,
                findings: &["dns-refused-by-region", "ns-unreachable", "ns-inconsistent"],
                args: &[
                    "--method",
                    "dns-01",
                    "--ca",
                    "letsencrypt.org",
                    "api.example.org",
                ],
            },
        );
        // The order also holds *.example.org: the shared challenge name comes first.
        check(
            &v[1],
            &Case {
                name: "lego: example.org",
                input: LEGO,
                family: "txt-incorrect",
                stage: Stage::Remote,
                id: Some("example.org"),
                address: None,
                url: None,
                status: None,
                findings: &[
                    "txt-shared-name",
                    "txt-missing-on-ns",
                    "ns-inconsistent",
                    "txt-early-removal",
                ],
                args: &[
                    "--method",
                    "dns-01",
                    "--ca",
                    "letsencrypt.org",
                    "example.org",
                ],
            },
        );
    }

    #[test]
    fn acme_sh_log() {
        let e = one(ACME_SH);
        check(
            &e,
            &Case {
                name: "acme.sh",
                input: ACME_SH,
                family: "http-geoblocked",
                stage: Stage::Remote,
                id: Some("cloud.example.com"),
                address: Some("2001:db8:85a3::8a2e:370:7334"),
                url: Some(
                    "http://cloud.example.com/.well-known/acme-challenge/\
                     5vQzL0xK3mN8bR2tY7wE1aS4dF6gH9jU0iO3pA5sD7f",
                ),
                status: None,
                findings: &[
                    "http-geoblocked",
                    "ipv6-broken",
                    "geodns-divergence",
                    "dead-address",
                ],
                args: &[
                    "--method",
                    "http-01",
                    "--ca",
                    "letsencrypt.org",
                    "cloud.example.com",
                ],
            },
        );
        assert!(e.meaning.contains("refused"), "{}", e.meaning);
    }

    #[test]
    fn problem_document_with_subproblems_for_two_identifiers() {
        let v = explain(SUBPROBLEMS);
        assert_eq!(v.len(), 2, "{v:#?}");
        for (e, id) in v.iter().zip(["example.com", "www.example.com"]) {
            assert_eq!(e.family, "caa-forbids");
            assert_eq!(e.stage, Stage::Caa);
            assert_eq!(e.identifier.as_deref(), Some(id));
            assert_eq!(e.likely_findings, CAA_FORBIDS);
            assert_eq!(e.suggested_args, [id]);
            assert!(e.meaning.contains("recheck"), "{}", e.meaning);
        }
    }

    #[test]
    fn subproblems_of_different_kinds_inside_a_log_line() {
        let text = "2025-01-01 00:00:00,000:DEBUG:acme.client:Received response:\n{\"type\": \
                    \"urn:ietf:params:acme:error:rejectedIdentifier\", \"detail\": \"Error creating \
                    new order :: Cannot issue for 2 identifiers\", \"subproblems\": [{\"type\": \
                    \"urn:ietf:params:acme:error:caa\", \"detail\": \"CAA record for a.example.com \
                    prevents issuance\", \"identifier\": {\"type\": \"dns\", \"value\": \
                    \"a.example.com\"}}, {\"type\": \"urn:ietf:params:acme:error:dns\", \"detail\": \
                    \"DNS problem: SERVFAIL looking up CAA for b.example.com - the domain's \
                    nameservers may be malfunctioning\", \"identifier\": {\"type\": \"dns\", \
                    \"value\": \"b.example.com\"}}]}\nsome trailing text";
        let v = explain(text);
        let got: Vec<(&str, Option<&str>)> = v
            .iter()
            .map(|e| (e.family, e.identifier.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("caa-forbids", Some("a.example.com")),
                ("caa-lookup-failed", Some("b.example.com"))
            ]
        );
    }

    #[test]
    fn authorization_with_wildcard_flag_keeps_the_star() {
        let text = r#"{"identifier": {"type": "dns", "value": "example.com"}, "wildcard": true,
            "status": "invalid", "challenges": [{"type": "dns-01", "status": "invalid",
            "error": {"type": "urn:ietf:params:acme:error:unauthorized",
            "detail": "No TXT record found at _acme-challenge.example.com", "status": 403}}]}"#;
        let e = one(text);
        assert_eq!(e.family, "txt-missing");
        assert_eq!(e.identifier.as_deref(), Some("*.example.com"));
        assert_eq!(e.suggested_args, ["--method", "dns-01", "*.example.com"]);
    }

    #[test]
    fn open_mpic_response_names_the_failing_perspectives() {
        let e = one(OPEN_MPIC);
        assert_eq!(e.family, "http-geoblocked");
        assert_eq!(e.stage, Stage::Remote);
        assert_eq!(e.identifier.as_deref(), Some("portal.example.com"));
        assert_eq!(
            e.suggested_args,
            ["--method", "http-01", "portal.example.com"]
        );
        assert!(
            e.meaning
                .contains("eu-central-2, il-central-1, me-central-1"),
            "{}",
            e.meaning
        );
    }

    #[test]
    fn unrecognised_text_is_honest_and_gives_the_checklist() {
        let e = one("certbot: error: unrecognized arguments: --foo");
        assert!(!e.recognised);
        assert_eq!(e.family, "unknown");
        assert_eq!(e.stage, Stage::Unknown);
        assert_eq!(e.identifier, None);
        assert!(e.likely_findings.is_empty());
        assert!(e.suggested_args.is_empty());
        assert!(e.meaning.starts_with("Not recognised"), "{}", e.meaning);
        assert!(e.checklist.len() >= 6, "{:?}", e.checklist);
        assert!(e.checklist.iter().any(|c| c.contains("CAA")));
        assert!(e.checklist.iter().any(|c| c.contains("_acme-challenge")));

        // An unknown problem type still yields the name, and a command to run for it.
        let e = one(
            "[www.example.com] acme: error: 400 :: urn:ietf:params:acme:error:badNonce :: JWS has \
             an invalid anti-replay nonce",
        );
        assert!(!e.recognised);
        assert_eq!(e.identifier.as_deref(), Some("www.example.com"));
        assert_eq!(e.suggested_args, ["www.example.com"]);
        assert!(
            e.checklist[0].contains("mpic-check www.example.com"),
            "{:?}",
            e.checklist
        );
    }

    /// `--ca` follows the ACME API the client used, so CAA is evaluated for the right issuer.
    #[test]
    fn ca_is_taken_from_the_acme_api_host_only() {
        let zerossl = "[Mon Jan  6 10:00:00 UTC 2025] Using CA: https://acme.zerossl.com/v2/DV90\n\
                       [Mon Jan  6 10:00:09 UTC 2025] shop.example.com:Verify error:CAA record for \
                       shop.example.com prevents issuance\n";
        let e = one(zerossl);
        assert_eq!(e.family, "caa-forbids");
        assert_eq!(
            e.suggested_args,
            ["--ca", "sectigo.com", "shop.example.com"]
        );
        assert!(
            e.checklist
                .iter()
                .any(|c| c.contains("0 issue \"sectigo.com\""))
        );
        // Two CAs named: no guess.
        let both = format!("{zerossl}Using CA: https://acme-v02.api.letsencrypt.org/directory\n");
        assert_eq!(one(&both).suggested_args, ["shop.example.com"]);
        // A documentation link is not the CA the client talked to.
        let doc = "No TXT record found at _acme-challenge.a.example.com; see https://letsencrypt.org/docs/";
        assert_eq!(
            one(doc).suggested_args,
            ["--method", "dns-01", "a.example.com"]
        );
    }

    #[test]
    fn mpic_check_own_name_is_not_mpic_wording() {
        assert!(!mpic_wording("mpic-check reported at-risk"));
        assert!(mpic_wording("mpic validation failed"));
        assert!(!one("mpic-check --help").recognised);
    }

    #[test]
    fn colours_and_crlf_are_tolerated() {
        let text = "\u{1b}[1;31m[Sat May 10 04:12:08 UTC 2025] cloud.example.com:Verify error:No TXT \
                    record found at _acme-challenge.cloud.example.com\u{1b}[0m\r\n";
        let e = one(text);
        assert_eq!(e.family, "txt-missing");
        assert_eq!(e.identifier.as_deref(), Some("cloud.example.com"));
    }

    /// Hostile and odd input: never a panic, always at least one item, bounded time.
    #[test]
    fn odd_inputs_never_panic() {
        let mut inputs: Vec<String> = [
            "",
            " ",
            "\0\0\0",
            "{",
            "}",
            "{\"",
            "{}",
            "[]",
            "\"",
            ":",
            ": :",
            ":: ::",
            "[",
            "]",
            "[]",
            "[] acme: error:",
            "[x] acme: error: :: ::",
            "acme: error: 1 :: urn:ietf:params:acme:error:",
            "acme: error: 1 :: urn: :: , problem: \"",
            ", problem: \"x\" :: ",
            "Domain:",
            "Domain:\nType:\nDetail:",
            "Domain: x\nDetail:\n  \n",
            ":Verify error:",
            "x:Verify error:",
            "DNS problem:",
            "DNS problem: looking up ",
            "DNS problem: looking up CAA for ",
            "DNS problem: looking up CAA for :",
            "dns problem: nxdomain looking up",
            "Invalid response from ",
            "Invalid response from http://: ",
            "Invalid response from http://x: \"",
            "Fetching : Timeout during connect",
            "Fetching http://[::1: Connection refused",
            "::: Connection refused",
            "[::]: Connection refused",
            "While processing CAA for : CAA record for  prevents issuance",
            "Invalid port in redirect target. not ",
            "No TXT record found at _acme-challenge.",
            "Incorrect TXT record \"",
            "too many failed authorizations for \"",
            "During secondary validation:",
            "During secondary validation: ",
            "MPIC",
            "mpic",
            "é: Connection refused ü",
            "\u{a0}192.0.2.1: Connection refused",
            "İİİ During secondary validation: İ: Timeout during connect",
            "\u{1b}[",
            "\u{1b}[31",
            "\r\r\r",
            "{\"type\":\"urn:ietf:params:acme:error:caa\",\"subproblems\":[1,\"x\",{}]}",
            "{\"perspectives\":[{\"check_passed\":false,\"errors\":[{}]}],\"is_valid\":false}",
            "{\"perspectives\":7,\"is_valid\":false}",
            "{\"identifier\":{\"value\":5},\"wildcard\":true}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Deep nesting, unbalanced openers, repeated markers and pseudo-random bytes.
        inputs.push("[".repeat(100_000));
        inputs.push("{\"a\":".repeat(50_000));
        inputs.push("{\"".repeat(200_000));
        inputs.push(format!("{}{}", "{\"a\":[".repeat(200), "]}".repeat(200)));
        inputs.push("During secondary validation: ".repeat(40_000));
        inputs.push("Domain: a.example.com\n".repeat(20_000));
        inputs.push(": ".repeat(300_000));
        inputs.push("No TXT record found at _acme-challenge.example.com\n".repeat(10_000));
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut bytes = Vec::with_capacity(300_000);
        for _ in 0..300_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.push((x >> 24) as u8);
        }
        inputs.push(String::from_utf8_lossy(&bytes).into_owned());
        // Over the cap, cut inside a multi-byte character.
        inputs.push(format!(
            "{}é{}",
            "a".repeat(MAX_INPUT_BYTES - 1),
            "b".repeat(1000)
        ));
        let start = std::time::Instant::now();
        for input in &inputs {
            let v = explain(input);
            assert!(!v.is_empty(), "no item for {:?}", input.get(..40));
            assert!(v.len() <= MAX_RECORDS);
            for e in &v {
                assert!(!e.meaning.is_empty());
            }
        }
        // Generous even for a debug build on a busy machine; quadratic work would take minutes.
        assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
    }

    #[test]
    fn huge_input_is_capped() {
        let mut text = "a".repeat(MAX_INPUT_BYTES);
        text.push_str("\nNo TXT record found at _acme-challenge.example.com\n");
        assert!(
            !one(&text).recognised,
            "text beyond the cap must be ignored"
        );
    }

    #[test]
    fn stage_names() {
        let names: Vec<&str> = [Stage::Primary, Stage::Remote, Stage::Caa, Stage::Unknown]
            .iter()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(names, ["primary", "remote", "caa", "unknown"]);
        let json =
            serde_json::to_value(one("No TXT record found at _acme-challenge.a.example")).unwrap();
        assert_eq!(json["stage"], "primary");
        assert_eq!(json["family"], "txt-missing");
    }
}
