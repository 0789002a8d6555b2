//! Interpreting one problem record: which failure family and cause its detail (or, failing that,
//! its problem type) belongs to, whether it happened at a remote perspective or during the CAA
//! recheck, and the name, address, URL, status and DNS lookup it mentions. Matching is
//! hand-written on an ASCII-lowercased copy of the detail (no regexes), so byte offsets found
//! there are character boundaries in the original.

use std::net::IpAddr;

use super::*;

// Classification

/// What a record's detail says, interpreted.
#[derive(Debug, Clone, Default)]
pub(super) struct Facts {
    pub(super) family: &'static str,
    /// Variant within the family, shaping the meaning (e.g. `timeout`, `refused`, `status`).
    pub(super) cause: &'static str,
    pub(super) remote: bool,
    /// Let's Encrypt's own wording ("During secondary validation"), which implies the primary
    /// passed; other CAs' MPIC wording does not say so.
    pub(super) boulder: bool,
    pub(super) caa: bool,
    pub(super) recheck: bool,
    /// Only the problem type was recognised, not the detail.
    pub(super) type_only: bool,
    pub(super) name: Option<String>,
    pub(super) address: Option<String>,
    pub(super) url: Option<String>,
    pub(super) status: Option<u16>,
    pub(super) lookup: Option<Lookup>,
    pub(super) port: Option<String>,
    /// The ACME client's own pre-check failed (lego's propagation check), naming this
    /// nameserver; the CA was never asked.
    pub(super) client_ns: Option<String>,
    pub(super) method: Option<&'static str>,
    pub(super) perspectives: Vec<String>,
    pub(super) total_perspectives: usize,
}

/// `DNS problem: <what> looking up <rtype> for <name>`.
#[derive(Debug, Clone, Default)]
pub(super) struct Lookup {
    pub(super) rtype: String,
    pub(super) name: String,
    pub(super) what: String,
}

impl Lookup {
    pub(super) fn is_challenge(&self) -> bool {
        self.name.starts_with("_acme-challenge.") || self.name.contains("._acme-challenge.")
    }
}

pub(super) fn classify(r: &Record) -> Facts {
    let d = r.detail.as_str();
    let l = d.to_ascii_lowercase();
    let ctx = r.context.to_ascii_lowercase();
    let wrapped = |w: &[&str]| w.iter().any(|k| l.contains(k) || ctx.contains(k));
    let mut f = Facts {
        remote: wrapped(patterns::REMOTE_WRAPPERS) || mpic_wording(&l) || mpic_wording(&ctx),
        recheck: l.contains("rechecking caa") || ctx.contains("rechecking caa"),
        address: find_address(d),
        url: find_url(d, &l),
        boulder: l.contains("secondary validation") || ctx.contains("secondary validation"),
        perspectives: r.perspectives.clone(),
        total_perspectives: r.total_perspectives,
        ..Facts::default()
    };
    f.caa = wrapped(patterns::CAA_WRAPPERS);
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
    // `unauthorized` and a bare DNS problem happen under either method; a challenge name in the
    // detail settles it.
    f.method = intrinsic_method(&f).or_else(|| l.contains("_acme-challenge.").then_some("dns-01"));
    f
}

/// The family from the detail's own wording: the first entry of the pattern table it matches,
/// plus whatever that shape lets us read (status, DNS lookup, redirect port).
pub(super) fn core_family(d: &str, l: &str, f: &mut Facts) -> (&'static str, &'static str) {
    let Some(pat) = patterns::find(l) else {
        return ("unknown", "");
    };
    match pat.read {
        Read::Nothing => {
            if pat.family == "caa-forbids" {
                f.caa = true;
            }
            (pat.family, pat.cause)
        }
        Read::RateLimit => ("rate-limit", rate_limit_cause(l).unwrap_or("other")),
        Read::BoulderLookup => match parse_lookup(d, l) {
            Some(lk) => lookup_family(lk, f),
            None => ("dns-error", "error"),
        },
        Read::PebbleRcode => {
            let lk = pebble_rcode_lookup(d, l);
            lookup_family(lk, f)
        }
        Read::GoLookup => match go_lookup(d, l) {
            Some(lk) => lookup_family(lk, f),
            None => ("dns-error", "error"),
        },
        Read::RedirectPort => {
            if let Some(rest) = after(d, l, "invalid port in redirect target") {
                let lr = rest.to_ascii_lowercase();
                f.port = after(rest, &lr, "not ")
                    .map(|p| {
                        p.chars()
                            .take_while(char::is_ascii_digit)
                            .collect::<String>()
                    })
                    .filter(|p| !p.is_empty());
            }
            ("redirect", "port")
        }
        Read::InvalidResponse => {
            let (status, body) = response_status(d, l);
            f.status = status;
            if body {
                ("wrong-body", "body")
            } else {
                ("http-status", "")
            }
        }
        Read::PebbleStatus => {
            f.status = after(d, l, " returned ").and_then(|s| {
                s.trim_start()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse::<u16>()
                    .ok()
                    .filter(|s| (100..=599).contains(s))
            });
            ("http-status", "")
        }
        Read::LegoPropagation => {
            f.client_ns = Some(lego_ns(d, l, " did not return"));
            // After `value: <v>]: ` lego lists the values it found instead.
            let found = after(d, l, "value: ")
                .and_then(|r| r.split_once("]:"))
                .is_some_and(|(_, rest)| !rest.trim().is_empty());
            if found {
                ("txt-incorrect", "client")
            } else {
                ("txt-missing", "client")
            }
        }
        Read::LegoRcode => {
            f.client_ns = Some(lego_ns(d, l, " returned "));
            let rest = after(d, l, " returned ").unwrap_or_default();
            let (code, fqdn) = rest.split_once(" for ").unwrap_or((rest, ""));
            let lk = Lookup {
                rtype: "TXT".to_string(),
                name: token(fqdn).trim_end_matches('.').to_ascii_lowercase(),
                what: code.trim().to_string(),
            };
            let (family, _) = lookup_family(lk, f);
            (family, "client")
        }
    }
}

/// The nameserver lego names in `NS <ns><verb>…`, without the `:53` it appends.
fn lego_ns<'a>(d: &'a str, l: &str, verb: &str) -> String {
    let end = l.find(verb).unwrap_or(l.len());
    let ns: &'a str = l[..end]
        .rfind("ns ")
        .map(|k| token(&d[k + 3..end]))
        .unwrap_or_default();
    ns.strip_suffix(":53")
        .unwrap_or(ns)
        .trim_end_matches('.')
        .to_string()
}

/// The family of a failed DNS lookup: a CAA lookup is a CAA failure, any other goes by RCODE.
fn lookup_family(lk: Lookup, f: &mut Facts) -> (&'static str, &'static str) {
    let kind = dns_kind(&lk.what);
    let caa = lk.rtype == "CAA";
    f.lookup = Some(lk);
    if caa {
        f.caa = true;
        return ("caa-lookup-failed", kind);
    }
    (
        match kind {
            "nxdomain" => "dns-nxdomain",
            "servfail" => "dns-servfail",
            "timeout" => "dns-timeout",
            "refused" => "dns-refused",
            "dnssec" => "dns-dnssec",
            _ => "dns-error",
        },
        kind,
    )
}

/// Pebble's `DNS lookup for "<name>" returned an unsuccessful response: '\x03'` (va/va.go
/// getTXTEntry prints the RCODE with Go's `%q`, a quoted rune; certbot adds a level of
/// escaping). Pebble only queries TXT there.
pub(super) fn pebble_rcode_lookup(d: &str, l: &str) -> Lookup {
    let name = after(d, l, "dns lookup for ")
        .map(|s| token(s.trim_start_matches(['\\', '"'])))
        .unwrap_or_default()
        .trim_end_matches(['.', '\\'])
        .to_ascii_lowercase();
    let code = after(d, l, "unsuccessful response:")
        .map(|s| s.trim_start_matches([' ', '\'', '"', '\\']))
        .and_then(|s| {
            let s = s.strip_prefix('x')?;
            u8::from_str_radix(s.get(..2)?, 16).ok()
        });
    // RFC 1035 §4.1.1 RCODEs, in the words Boulder uses for them.
    let what = match code {
        Some(2) => "SERVFAIL",
        Some(3) => "NXDOMAIN",
        Some(4) => "NOTIMP",
        Some(5) => "REFUSED",
        Some(c) => {
            return Lookup {
                rtype: "TXT".to_string(),
                name,
                what: format!("RCODE {c}"),
            };
        }
        None => "an unsuccessful response",
    };
    Lookup {
        rtype: "TXT".to_string(),
        name,
        what: what.to_string(),
    }
}

/// Go's resolver error `lookup <name> on <server>: no such host` (or `server misbehaving`,
/// `i/o timeout`): the record type is not printed, so it is TXT for a challenge name and A
/// otherwise.
pub(super) fn go_lookup(d: &str, l: &str) -> Option<Lookup> {
    let k = l.match_indices("lookup ").find_map(|(i, _)| {
        let rest = &l[i + "lookup ".len()..];
        let name = token(rest);
        looks_like_name(&normalise_name(name)).then_some(i)
    })?;
    let rest = &d[k + "lookup ".len()..];
    let name = token(rest).trim_end_matches('.').to_ascii_lowercase();
    let tail = l[k..].to_string();
    let what = if tail.contains("no such host") {
        "NXDOMAIN"
    } else if tail.contains("server misbehaving") {
        "SERVFAIL"
    } else if tail.contains("timeout") {
        "query timed out"
    } else {
        "error"
    };
    Some(Lookup {
        rtype: if name.starts_with("_acme-challenge.") {
            "TXT"
        } else {
            "A"
        }
        .to_string(),
        name,
        what: what.to_string(),
    })
}

pub(super) fn rate_limit_cause(l: &str) -> Option<&'static str> {
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
pub(super) fn type_family(
    ty: Option<&str>,
    ctx: &str,
    remote: bool,
) -> (&'static str, &'static str) {
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

pub(super) fn dns_kind(what: &str) -> &'static str {
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
pub(super) fn parse_lookup(d: &str, l: &str) -> Option<Lookup> {
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
pub(super) fn response_status(d: &str, l: &str) -> (Option<u16>, bool) {
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
pub(super) fn intrinsic_method(f: &Facts) -> Option<&'static str> {
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
        | "dns-no-address" => Some("http-01"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Extraction helpers. All searches run on an ASCII-lowercased copy, which keeps byte offsets, so
// an index found in the copy is a character boundary in the original.

/// The text after the first occurrence of `needle` (lower case ASCII).
pub(super) fn after<'a>(s: &'a str, lower: &str, needle: &str) -> Option<&'a str> {
    lower.find(needle).map(|i| &s[i + needle.len()..])
}

/// The leading word of `s`: up to whitespace or punctuation that cannot be in a name or address,
/// without a trailing `:` or `.`.
pub(super) fn token(s: &str) -> &str {
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
pub(super) fn normalise_name(t: &str) -> String {
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
pub(super) fn looks_like_name(n: &str) -> bool {
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
pub(super) fn name_at(s: &str) -> Option<String> {
    let n = normalise_name(token(s));
    looks_like_name(&n).then_some(n)
}

/// The identifier the detail itself names, most reliable wording first.
pub(super) fn name_in_detail(d: &str, l: &str, f: &Facts) -> Option<String> {
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

/// The IP address the CA connected to: Boulder's `<ip>: …` prefix (va/va.go ipError); Go's
/// `read tcp <local>-><remote>` and `dial tcp <ip>:<port>` as Pebble passes them through
/// (va/va.go fetchHTTP); or the older Boulder ` [<ip>]` after the URL.
pub(super) fn find_address(s: &str) -> Option<String> {
    // `->` names the remote end of an established connection; the local end comes before it.
    for (i, _) in s.match_indices("->") {
        if let Some(a) = socket_ip(sock_token(&s[i + 2..])) {
            return Some(a);
        }
    }
    for key in ["dial tcp ", "dial tcp4 ", "dial tcp6 "] {
        for (i, _) in s.match_indices(key) {
            if let Some(a) = socket_ip(sock_token(&s[i + key.len()..])) {
                return Some(a);
            }
        }
    }
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

/// The leading `ip:port` / `[v6]:port` of `s`, without the `:` that follows it in Go's errors.
fn sock_token(s: &str) -> &str {
    let end = s
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '(' | ')'))
        .unwrap_or(s.len());
    s[..end].trim_end_matches([':', '.'])
}

/// The IP of `ip:port` or `[ip]:port` (or a bare IP), lower case; the unspecified address is
/// no address.
fn socket_ip(t: &str) -> Option<String> {
    let ip = match t.parse::<std::net::SocketAddr>() {
        Ok(sa) => sa.ip(),
        Err(_) => t.trim_matches(['[', ']']).parse::<IpAddr>().ok()?,
    };
    (!ip.is_unspecified()).then(|| ip.to_string())
}

/// The URL the CA fetched: after `Fetching` or `Invalid response from`, else any URL on the
/// challenge path.
pub(super) fn find_url(d: &str, l: &str) -> Option<String> {
    for key in ["fetching ", "invalid response from "] {
        if let Some(u) = after(d, l, key).and_then(url_token) {
            return Some(u);
        }
    }
    l.match_indices("http").find_map(|(i, _)| {
        url_token(&d[i..]).filter(|u| u.contains("/.well-known/acme-challenge/"))
    })
}

pub(super) fn url_token(s: &str) -> Option<String> {
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

pub(super) fn url_host(u: &str) -> Option<String> {
    let parsed = url::Url::parse(u).ok()?;
    let h = parsed
        .host_str()?
        .trim_matches(['[', ']'])
        .to_ascii_lowercase();
    looks_like_name(&h).then_some(h)
}
