//! `mpic-check explain`: read the error text a CA or an ACME client printed after a failed renewal
//! and say, in plain words and under MPIC, what failed where, for which name, at which address and
//! URL, which mpic-check findings would show the cause, and which mpic-check command to run next.
//! Users paste whatever they have: a certbot console transcript or its `letsencrypt.log`, an
//! acme.sh or lego log, a bare ACME problem document (RFC 7807/8555 JSON, with `subproblems`), an
//! authorization object, an Open MPIC response, or one line copied from a forum post. So the text
//! is first cut into *problem records* (JSON documents found anywhere in it; certbot
//! `Domain:`/`Type:`/`Detail:` blocks; acme.sh `name: Invalid status. Verification error
//! details:` (and the older `name:Verify error:`) lines; lego
//! `[name] acme: error: …` lines; any other line carrying a known phrase), and each record's detail
//! is then matched against the one table of message shapes in `patterns.rs` — Let's Encrypt's
//! Boulder (`../shared/docs/mpic-rules.md` §3.1–3.5), Pebble and the Go network errors it passes
//! through, the ACME clients' own refusals — plus the keyword-level wording of other CAs (§4–5).
//! mpic-check's own output in the text (a hook's `wait-txt` lines in certbot's log, a pasted
//! report or `explain` output, a JSON report) is blanked first, so it is never read as a CA's.
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

//!
//! Layout: `scan` cuts the text into records, `patterns` is the table of known shapes with the
//! source of each, `classify` interprets each record's detail into facts, `words` turns facts
//! into the meaning, hints and suggestions; this module holds the public types, the
//! [`explain`] entry point and the merging of records into explanations.

mod classify;
mod patterns;
#[cfg(test)]
mod real_texts;
mod scan;
#[cfg(test)]
mod tests;
mod words;

use classify::*;
use patterns::Read;
use scan::*;
use serde::Serialize;
use words::*;

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
    let text = mask_own_output(&crate::text::normalise_log(cap(text)));
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
    if f.client_ns.is_some() {
        // The client's own pre-check: no stage of the CA's validation.
        Stage::Unknown
    } else if f.remote || f.family == "quorum-rirs" {
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
        // Last resort: certbot's `Type: dns` (the problem type) when nothing else tells;
        // a DNS problem type with an A lookup was already settled as http-01 by the lookup.
        // A CAA lookup says nothing about the challenge method.
        let dns_type = (f.lookup.is_none()
            && !f.caa
            && r.problem_type
                .as_deref()
                .is_some_and(|t| t.ends_with(":dns")))
        .then_some("dns-01");
        f.method.or(r.method).or(hints.method).or(dns_type)
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
    let checklist = hints_for(
        &f,
        stage,
        identifier.as_deref(),
        method,
        &suggested_args,
        ca,
    );
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
