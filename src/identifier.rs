//! Identifiers of an ACME order — DNS names and IP addresses — parsing, normalisation and
//! validation.
//!
//! Users type names the way they see them in a browser: with upper case,
//! a trailing dot, Unicode, sometimes a whole URL. An ACME order however
//! carries the ASCII form of a DNS name (RFC 8555, section 7.1.4), the
//! certificate holds it as a preferred-syntax host name (RFC 5280), and the
//! CA/Browser Forum rules forbid underscores and allow a wildcard only as the
//! whole leftmost label. So every name is reduced to one canonical form —
//! lower case, A-labels (UTS #46 processing), no trailing dot, `*.` prefix
//! for wildcards — before anything looks it up. One canonical form means two
//! spellings of the same name compare equal, and CAA and dns-01 lookups hit
//! exactly the name the CA will check. Input that cannot be a certificate
//! name is rejected with a reason that tells the user what to change,
//! rather than being silently "fixed": guessing which part of
//! `https://example.com:8443/x` was meant would hide typos in a tool whose
//! whole job is to predict what the CA will accept.
//!
//! An IP address is an identifier too (RFC 8738): `192.0.2.1`, `2001:db8::1` or the bracketed
//! `[2001:db8::1]` people copy from URLs. It is kept in the one textual form RFC 8738 §3 asks for
//! (RFC 1123 dotted quad, RFC 5952 canonical IPv6 — what Boulder's `policy/pa.go` `ValidIP`
//! insists on), so the JSON `name` stays a plain string and [`Identifier::is_ip`] tells the kinds
//! apart. A port, a zone id, an address range or a wildcard over an address is refused: none of
//! them can be an identifier.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// RFC 1035 limits, counted on the A-label form without the root dot.
const MAX_LABEL_OCTETS: usize = 63;
const MAX_NAME_OCTETS: usize = 253;

/// A normalised identifier (a DNS name or an IP address), ready to be put in an ACME order.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Identifier {
    /// Normalised ASCII form: lower case, A-labels, no trailing dot, with "*." prefix for
    /// wildcards; for an IP address its canonical text (RFC 1123 / RFC 5952), no brackets.
    pub name: String,
}

/// Why a user-supplied name cannot be used as a certificate identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid name {input:?}: {reason}")]
pub struct IdentifierError {
    /// The text exactly as the user gave it.
    pub input: String,
    /// A short, specific explanation of what is wrong.
    pub reason: String,
}

impl Identifier {
    /// Normalises and validates a user-supplied DNS name (optionally a wildcard).
    pub fn parse(input: &str) -> Result<Identifier, IdentifierError> {
        let fail = |reason: String| IdentifierError {
            input: input.to_owned(),
            reason,
        };
        normalise(input)
            .map(|name| Identifier { name })
            .map_err(fail)
    }

    /// The address, when this is an IP-address identifier (RFC 8738).
    pub fn ip(&self) -> Option<IpAddr> {
        self.name.parse().ok()
    }

    /// Whether this is an IP-address identifier (RFC 8738) rather than a DNS name.
    pub fn is_ip(&self) -> bool {
        self.ip().is_some()
    }

    /// The host as it stands in a URL or a Host header: an IPv6 address in brackets
    /// (RFC 8738 §3 and Boulder's `va/http.go` `processHTTPValidation` bracket it), anything
    /// else as is.
    pub fn url_host(&self) -> String {
        match self.ip() {
            Some(IpAddr::V6(_)) => format!("[{}]", self.name),
            _ => self.name.clone(),
        }
    }

    /// The reverse-DNS name of an IP identifier (`1.2.0.192.in-addr.arpa`, the nibble form under
    /// `ip6.arpa`): what tls-alpn-01 sends as SNI for an address (RFC 8738 §6; Boulder's
    /// `va/tlsalpn.go` `getChallengeCert` uses `dns.ReverseAddr`). `None` for a DNS name.
    pub fn reverse_name(&self) -> Option<String> {
        Some(match self.ip()? {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
            }
            IpAddr::V6(v6) => {
                let mut out = String::with_capacity(72);
                for b in v6.octets().iter().rev() {
                    out.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
                }
                out.push_str("ip6.arpa");
                out
            }
        })
    }

    /// Whether this is a wildcard (`*.example.com`) identifier.
    pub fn is_wildcard(&self) -> bool {
        self.name.starts_with("*.")
    }

    /// The name without the "*." prefix (what CAA and dns-01 use).
    pub fn base(&self) -> &str {
        self.name.strip_prefix("*.").unwrap_or(&self.name)
    }

    /// `_acme-challenge.<base>`
    ///
    /// RFC 8555 section 8.4 places the dns-01 record under the base name even
    /// for wildcards, which is why this uses `base()` and not `name`.
    pub fn challenge_name(&self) -> String {
        format!("_acme-challenge.{}", self.base())
    }

    /// Unicode form for display (to_unicode of the A-labels); equals `name` for pure ASCII.
    pub fn unicode(&self) -> String {
        if self.is_ip() {
            return self.name.clone();
        }
        // The "*" label is not a valid IDNA label, so only the base is converted.
        let (base, result) =
            Uts46::new().to_unicode(self.base().as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
        if result.is_err() {
            // Cannot happen for a parsed name, but a deserialised one skipped
            // validation; showing the ASCII form beats showing U+FFFD.
            return self.name.clone();
        }
        if self.is_wildcard() {
            format!("*.{base}")
        } else {
            base.into_owned()
        }
    }
}

impl std::fmt::Display for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl std::str::FromStr for Identifier {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Identifier::parse(s)
    }
}

/// Returns the canonical name, or the reason the input is not acceptable.
fn normalise(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err("empty name".to_owned());
    }
    check_whitespace(trimmed)?;

    // UTS #46 treats these as label separators; mapping them up front lets
    // every later check (labels, trailing dot, IP literals) see plain dots.
    let text: String = trimmed
        .chars()
        .map(|c| match c {
            '\u{3002}' | '\u{FF0E}' | '\u{FF61}' => '.',
            c => c,
        })
        .collect();

    // An address is its own identifier (RFC 8738); a URL that holds one is still a URL.
    if !text.contains("://")
        && let Some(ip) = ip_identifier(&text)?
    {
        return Ok(ip.to_string());
    }

    check_not_url(&text)?;

    let name = match text.strip_suffix('.') {
        Some("") => return Err("\".\" alone is the DNS root, not a host name".to_owned()),
        Some(rest) => rest,
        None => text.as_str(),
    };

    let labels: Vec<&str> = name.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return Err(if name.starts_with('.') {
            "empty label: the name starts with \".\"".to_owned()
        } else {
            "empty label (\"..\")".to_owned()
        });
    }

    // The wildcard must be checked before IDNA, which would only report "*"
    // as a disallowed character and hide what the user actually got wrong.
    let wildcard = labels[0] == "*";
    let base_labels = if wildcard { &labels[1..] } else { &labels[..] };
    if base_labels.iter().any(|l| l.contains('*')) {
        return Err(
            "wildcard \"*\" must be the whole leftmost label, as in *.example.com".to_owned(),
        );
    }

    let mut a_labels = Vec::with_capacity(base_labels.len());
    for label in base_labels {
        a_labels.push(to_a_label(label)?);
    }

    if wildcard && a_labels.len() < 2 {
        // "*.com" would cover a whole TLD; CAs refuse it and the BRs forbid it.
        return Err("wildcard needs at least two labels below it, as in *.example.com".to_owned());
    }
    if a_labels.len() < 2 {
        return Err(format!(
            "a certificate name needs at least two labels ({:?} has one), as in example.com",
            a_labels.join(".")
        ));
    }

    if let Some(tld) = a_labels.last() {
        // Resolvers and URL parsers read a numeric last label as part of an
        // IPv4 address, so such a name can never be a registered host name.
        if tld.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("top-level label {tld:?} is all digits"));
        }
        if let Some(hex) = tld.strip_prefix("0x")
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(format!(
                "top-level label {tld:?} is a hexadecimal number, which reads as an IPv4 address"
            ));
        }
    }

    let base = a_labels.join(".");
    check_idna_whole(&base)?;

    let full = if wildcard { format!("*.{base}") } else { base };
    if full.len() > MAX_NAME_OCTETS {
        return Err(format!(
            "name is {} octets long, the limit is {MAX_NAME_OCTETS}",
            full.len()
        ));
    }
    Ok(full)
}

/// Whitespace inside a name is almost always a copy-paste accident
/// (two names pasted together, a tab from a spreadsheet), never intended.
fn check_whitespace(text: &str) -> Result<(), String> {
    for c in text.chars() {
        if c == ' ' {
            return Err("contains a space".to_owned());
        }
        if c.is_control() {
            return Err(format!(
                "contains a control character (U+{:04X})",
                u32::from(c)
            ));
        }
        if c.is_whitespace() {
            return Err(format!("contains whitespace (U+{:04X})", u32::from(c)));
        }
    }
    Ok(())
}

/// Rejects the URL-shaped inputs people paste from a browser. The parts are
/// reported rather than stripped, because a silently dropped port or path
/// would make the tool check something other than what the user meant.
fn check_not_url(text: &str) -> Result<(), String> {
    if let Some(pos) = text.find("://")
        && !text[..pos].contains('/')
    {
        return Err(format!(
            "a URL is not a name: remove {:?}",
            &text[..pos + 3]
        ));
    }

    // Only the part before any path/query/fragment is the host candidate,
    // so "192.0.2.0/24" is reported as an IP address and not as a path.
    let host_end = text.find(['/', '?', '#']).unwrap_or(text.len());
    let host = &text[..host_end];

    if is_ip_literal(host) {
        return Err("a URL is not an identifier: give the IP address alone".to_owned());
    }

    if let Some(at) = host.rfind('@') {
        return Err(format!(
            "contains {:?}: give the host name only, not an email address or user@host",
            &host[..=at]
        ));
    }

    if let Some(colon) = host.find(':') {
        let rest = &host[colon..];
        if rest.len() > 1 && rest[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "contains a port ({rest:?}): certificates name hosts, not ports"
            ));
        }
        return Err(format!(
            "contains \":\" ({rest:?}), which is not allowed in a host name"
        ));
    }

    let tail = &text[host_end..];
    let (kind, end) = match tail.chars().next() {
        Some('/') => ("a path", tail.find(['?', '#']).unwrap_or(tail.len())),
        Some('?') => ("a query", tail.find('#').unwrap_or(tail.len())),
        Some('#') => ("a fragment", tail.len()),
        _ => return Ok(()),
    };
    Err(format!(
        "contains {kind} ({:?}): give the host name only",
        &tail[..end]
    ))
}

/// The address, when `text` is an IP-address identifier; `Ok(None)` when it is not IP-shaped (a
/// DNS name, checked by the caller); an error for IP-shaped text that cannot be an identifier.
fn ip_identifier(text: &str) -> Result<Option<IpAddr>, String> {
    let (wildcard, rest) = match text.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(host_end);
    if !is_ip_literal(host) {
        return Ok(None);
    }
    if wildcard {
        // RFC 8738 §3: an IP identifier names exactly one address; wildcards are DNS-only.
        return Err(
            "a wildcard cannot cover an IP address: an IP-address identifier (RFC 8738) names one address"
                .to_owned(),
        );
    }
    if let Some(bits) = tail.strip_prefix('/')
        && !bits.is_empty()
        && bits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "{text:?} is an address range: a certificate names one IP address, as in {host}"
        ));
    }
    if !tail.is_empty() {
        return Err(format!(
            "contains {tail:?} after the address: give the IP address alone"
        ));
    }
    if host.contains('%') {
        return Err(
            "has a zone id (\"%…\"): a zone is local to one machine and cannot be in a certificate"
                .to_owned(),
        );
    }
    let bare = host.strip_suffix('.').unwrap_or(host);
    if let Ok(ip) = bare.parse::<Ipv4Addr>() {
        return Ok(Some(IpAddr::V4(ip)));
    }
    if let Ok(ip) = host.parse::<Ipv6Addr>() {
        return Ok(Some(IpAddr::V6(ip)));
    }
    if let Some(ip) = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
    {
        return Ok(Some(IpAddr::V6(ip)));
    }
    if let Ok(sa) = host.parse::<SocketAddr>() {
        return Err(format!(
            "contains a port (\":{}\"): certificates name addresses, not ports",
            sa.port()
        ));
    }
    Err(format!(
        "{host:?} is not an IP address in a form a certificate can hold"
    ))
}

/// Detects IPv4 and IPv6 literals in the spellings people actually paste:
/// bare, bracketed, with a port, with a zone id, or with a trailing dot.
fn is_ip_literal(host: &str) -> bool {
    if host.parse::<IpAddr>().is_ok() || host.parse::<SocketAddr>().is_ok() {
        return true;
    }
    if let Some(v4) = host.strip_suffix('.')
        && v4.parse::<Ipv4Addr>().is_ok()
    {
        return true;
    }
    let inner = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => host,
    };
    let without_zone = inner.split('%').next().unwrap_or(inner);
    without_zone.parse::<Ipv6Addr>().is_ok()
}

/// Converts one label (never "*", never empty) to its A-label form.
fn to_a_label(label: &str) -> Result<String, String> {
    // Underscores are legal in DNS (e.g. _dmarc) but banned in certificate
    // host names since CA/B Forum ballot SC12, so say so specifically.
    if label.contains('_') {
        return Err(format!(
            "underscore in a host name label {label:?} is not allowed in certificates"
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| c.is_ascii() && !c.is_ascii_alphanumeric() && *c != '-')
    {
        return Err(format!(
            "label {label:?} contains {:?}: host names allow only letters, digits and hyphens",
            c.to_string()
        ));
    }
    check_hyphens(label)?;

    let is_ascii = label.is_ascii();
    let lowered = label.to_ascii_lowercase();
    let idna_input = if is_ascii { lowered.as_str() } else { label };
    let a_label = match Uts46::new().to_ascii(
        idna_input.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::Check,
        DnsLength::Ignore,
    ) {
        Ok(a) => a.into_owned(),
        Err(_) if lowered.starts_with("xn--") => {
            return Err(format!(
                "label {label:?} is not a valid IDNA A-label (bad Punycode or a disallowed character inside)"
            ));
        }
        Err(_) => return Err(explain_idna_failure(label)),
    };

    if a_label.is_empty() {
        return Err(format!(
            "label {label:?} is empty once IDNA removes its ignorable characters"
        ));
    }
    if a_label.contains('.') {
        return Err(format!(
            "label {label:?} turns into several labels under IDNA mapping"
        ));
    }
    // Guards the invariant the rest of the tool relies on; IDNA output with
    // STD3 rules should already satisfy it.
    if !a_label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "label {label:?} does not reduce to letters, digits and hyphens"
        ));
    }
    check_hyphens(&a_label)?;

    if a_label.starts_with("xn--") {
        check_round_trip(label, &a_label)?;
    }

    if a_label.len() > MAX_LABEL_OCTETS {
        let shown: String = label.chars().take(20).collect();
        let ellipsis = if shown.len() < label.len() { "…" } else { "" };
        let form = if is_ascii { "" } else { " in A-label form" };
        return Err(format!(
            "label \"{}{ellipsis}\" is {} octets long{form}, the limit is {MAX_LABEL_OCTETS}",
            shown.escape_debug(),
            a_label.len()
        ));
    }
    Ok(a_label)
}

/// Hyphen rules of RFC 5891 section 4.2.3.1, applied before IDNA so the user
/// gets a specific message instead of a generic IDNA failure.
fn check_hyphens(label: &str) -> Result<(), String> {
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!("label {label:?} starts or ends with a hyphen"));
    }
    let mut chars = label.chars().skip(2);
    if chars.next() == Some('-')
        && chars.next() == Some('-')
        && !label
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
    {
        // "??--" prefixes are reserved for future ACE encodings; only xn-- is
        // defined, and CAs reject the rest.
        return Err(format!(
            "label {label:?} has \"--\" in the third and fourth positions, which is reserved for xn-- (IDNA) labels"
        ));
    }
    Ok(())
}

/// An xn-- label is accepted only in canonical form: decoding and re-encoding
/// must give it back. Otherwise two different ASCII strings could stand for
/// the same Unicode name and defeat the comparison of identifiers.
fn check_round_trip(label: &str, a_label: &str) -> Result<(), String> {
    let uts46 = Uts46::new();
    let (unicode, decoded) =
        uts46.to_unicode(a_label.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
    let again = uts46.to_ascii(
        unicode.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::Check,
        DnsLength::Ignore,
    );
    match (decoded, again) {
        (Ok(()), Ok(again)) if again == a_label => Ok(()),
        _ => Err(format!(
            "label {label:?} does not round-trip through IDNA (decodes to {unicode:?}), so it is not a canonical A-label"
        )),
    }
}

/// IDNA only says "error", so find the culprit character to name it.
fn explain_idna_failure(label: &str) -> String {
    let uts46 = Uts46::new();
    let ok = |s: &str| {
        uts46
            .to_ascii(
                s.as_bytes(),
                AsciiDenyList::STD3,
                Hyphens::Check,
                DnsLength::Ignore,
            )
            .is_ok()
    };
    // A character is blamed only if it fails in every context: alone, after a
    // Latin letter (combining marks) and after a Hebrew letter (right-to-left
    // digits). Otherwise the failure comes from how characters combine.
    let culprit = label
        .chars()
        .find(|&c| !ok(&c.to_string()) && !ok(&format!("a{c}")) && !ok(&format!("\u{5D0}{c}")));
    match culprit {
        Some(c) => format!(
            "label {label:?} contains U+{:04X} ({:?}), which IDNA does not allow in host names",
            u32::from(c),
            c
        ),
        None => format!(
            "label {label:?} is not valid under IDNA: check combining marks, joiners and mixed right-to-left text"
        ),
    }
}

/// The bidi rule of RFC 5893 spans the whole name: once one label is
/// right-to-left, every label must obey it. Per-label checks cannot see that.
fn check_idna_whole(base: &str) -> Result<(), String> {
    match Uts46::new().to_ascii(
        base.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::Check,
        DnsLength::Ignore,
    ) {
        Ok(again) if again == base => Ok(()),
        _ => Err(
            "labels are not valid together under IDNA: a right-to-left label requires all labels to follow the bidi rule (RFC 5893)"
                .to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> Identifier {
        match Identifier::parse(input) {
            Ok(id) => id,
            Err(e) => panic!("{input:?} should parse: {e}"),
        }
    }

    /// Asserts rejection and that the reason mentions `keyword`, so reasons
    /// stay specific instead of drifting to a generic "invalid".
    fn rejected(input: &str, keyword: &str) -> IdentifierError {
        match Identifier::parse(input) {
            Ok(id) => panic!("{input:?} should be rejected, got {:?}", id.name),
            Err(e) => {
                assert_eq!(e.input, input);
                assert!(
                    e.reason.contains(keyword),
                    "reason for {input:?} should mention {keyword:?}: {}",
                    e.reason
                );
                e
            }
        }
    }

    #[test]
    fn plain_name_is_lowercased_and_loses_trailing_dot() {
        let id = ok("Example.COM.");
        assert_eq!(id.name, "example.com");
        assert!(!id.is_wildcard());
        assert_eq!(id.base(), "example.com");
        assert_eq!(id.challenge_name(), "_acme-challenge.example.com");
        assert_eq!(id.unicode(), "example.com");
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        assert_eq!(ok("  www.example.com\t\n").name, "www.example.com");
    }

    #[test]
    fn ordinary_names_are_accepted() {
        for name in [
            "a.b",
            "a-b.example.com",
            "123.example.com",
            "x1.co.uk",
            "a.b.c.d.e.f",
        ] {
            assert_eq!(ok(name).name, name);
        }
    }

    #[test]
    fn unicode_becomes_a_labels_and_back() {
        let id = ok("bücher.de");
        assert_eq!(id.name, "xn--bcher-kva.de");
        assert_eq!(id.unicode(), "bücher.de");
        assert_eq!(ok("BÜCHER.DE").name, "xn--bcher-kva.de");
        assert_eq!(ok("straße.de").name, "xn--strae-oqa.de");
    }

    #[test]
    fn existing_a_labels_are_validated_and_kept() {
        let id = ok("XN--BCHER-KVA.de");
        assert_eq!(id.name, "xn--bcher-kva.de");
        assert_eq!(id.unicode(), "bücher.de");
    }

    #[test]
    fn ideographic_full_stop_separates_labels() {
        assert_eq!(ok("bücher。de").name, "xn--bcher-kva.de");
        assert_eq!(ok("example．com").name, "example.com");
    }

    #[test]
    fn fullwidth_letters_are_mapped() {
        assert_eq!(ok("ｅｘａｍｐｌｅ.com").name, "example.com");
    }

    #[test]
    fn wildcard_is_accepted() {
        let id = ok("*.Example.com");
        assert_eq!(id.name, "*.example.com");
        assert!(id.is_wildcard());
        assert_eq!(id.base(), "example.com");
        assert_eq!(id.challenge_name(), "_acme-challenge.example.com");
        assert_eq!(id.unicode(), "*.example.com");
    }

    #[test]
    fn unicode_wildcard_displays_in_unicode() {
        let id = ok("*.bücher.de");
        assert_eq!(id.name, "*.xn--bcher-kva.de");
        assert_eq!(id.base(), "xn--bcher-kva.de");
        assert_eq!(id.unicode(), "*.bücher.de");
    }

    #[test]
    fn display_and_from_str() {
        let id: Identifier = "WWW.Example.com".parse().unwrap();
        assert_eq!(id.to_string(), "www.example.com");
        assert!("https://x.com".parse::<Identifier>().is_err());
    }

    #[test]
    fn serde_uses_the_name_field() {
        let id = ok("example.com");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, r#"{"name":"example.com"}"#);
        let back: Identifier = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
    }

    #[test]
    fn equal_after_normalisation() {
        assert_eq!(ok("EXAMPLE.com."), ok("example.COM"));
        assert_eq!(ok("bücher.de"), ok("xn--bcher-kva.de"));
    }

    #[test]
    fn empty_input() {
        rejected("", "empty name");
        rejected("   \t ", "empty name");
    }

    #[test]
    fn urls_are_rejected_not_stripped() {
        let e = rejected("https://example.com", "URL");
        assert!(e.reason.contains("remove \"https://\""), "{}", e.reason);
        rejected("http://example.com/", "http://");
        rejected("HTTPS://example.com", "HTTPS://");
        rejected("ftp://example.com", "URL");
        rejected("xxx://example.com", "xxx://");
        rejected("://example.com", "URL");
    }

    #[test]
    fn path_query_fragment_are_rejected() {
        let e = rejected("example.com/path", "path");
        assert!(e.reason.contains("/path"));
        rejected("example.com/", "path");
        let e = rejected("example.com?a=1", "query");
        assert!(e.reason.contains("?a=1"));
        let e = rejected("example.com#top", "fragment");
        assert!(e.reason.contains("#top"));
        let e = rejected("example.com/foo?x#y", "path");
        assert!(e.reason.contains("\"/foo\""), "{}", e.reason);
    }

    #[test]
    fn userinfo_is_rejected() {
        let e = rejected("user@example.com", "@");
        assert!(e.reason.contains("user@"));
        rejected("user:pass@example.com", "@");
    }

    #[test]
    fn ports_are_rejected() {
        let e = rejected("example.com:443", "port");
        assert!(e.reason.contains(":443"));
        rejected("example.com:8443", ":8443");
        rejected("example.com:", "\":\"");
        rejected("example.com:http", "\":\"");
        rejected("example.com:443/x", "port");
    }

    #[test]
    fn ip_addresses_are_identifiers_in_canonical_form() {
        for (input, name) in [
            ("192.0.2.1", "192.0.2.1"),
            ("192.0.2.1.", "192.0.2.1"),
            (" 192.0.2.1 ", "192.0.2.1"),
            ("::1", "::1"),
            ("[::1]", "::1"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:0db8::0001", "2001:db8::1"),
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ] {
            let id = ok(input);
            assert_eq!(id.name, name, "{input:?}");
            assert!(id.is_ip() && !id.is_wildcard(), "{input:?}");
            assert_eq!(id.base(), name);
            assert_eq!(id.unicode(), name);
            assert_eq!(ok(name), id, "canonical {name:?} re-parses to itself");
        }
        assert!(!ok("example.com").is_ip());
        assert_eq!(ok("192.0.2.1").url_host(), "192.0.2.1");
        assert_eq!(ok("[2001:db8::1]").url_host(), "[2001:db8::1]");
    }

    #[test]
    fn reverse_names_for_tls_alpn_sni() {
        assert_eq!(
            ok("192.0.2.1").reverse_name().as_deref(),
            Some("1.2.0.192.in-addr.arpa")
        );
        assert_eq!(
            ok("2001:db8::567:89ab").reverse_name().as_deref(),
            Some("b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
        );
        assert_eq!(ok("example.com").reverse_name(), None);
    }

    #[test]
    fn ip_shaped_input_that_is_no_identifier() {
        rejected("192.0.2.1:443", "port");
        rejected("[2001:db8::1]:443", "port");
        rejected("192.0.2.0/24", "address range");
        rejected("2001:db8::/32", "address range");
        rejected("192.0.2.1/x", "after the address");
        rejected("fe80::1%eth0", "zone id");
        rejected("[fe80::1%25eth0]", "zone id");
        rejected("*.192.0.2.1", "wildcard cannot cover an IP address");
        rejected("*.[2001:db8::1]", "wildcard cannot cover an IP address");
        rejected("http://192.0.2.1/", "URL");
        rejected("[192.0.2.1]", "\"[\"");
    }

    #[test]
    fn empty_labels_are_rejected() {
        rejected("a..b", "empty label");
        rejected(".example.com", "empty label");
        rejected("example.com..", "empty label");
        rejected("*..example.com", "empty label");
        rejected(".", "root");
        rejected("..", "empty label");
    }

    #[test]
    fn label_length_limit() {
        let ok63 = format!("{}.com", "a".repeat(63));
        assert_eq!(ok(&ok63).name, ok63);
        let e = rejected(&format!("{}.com", "a".repeat(64)), "63");
        assert!(e.reason.contains("64 octets"), "{}", e.reason);
        assert!(e.reason.contains('…'));
        // The limit applies to the A-label: 60 characters here, but 90 octets
        // once Punycode encodes each "ü" insertion.
        let e = rejected(&format!("{}.de", "aü".repeat(30)), "A-label form");
        assert!(e.reason.contains("63"));
    }

    #[test]
    fn name_length_limit() {
        // 63+1+63+1+63+1+61 = 253
        let labels = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ];
        let name253 = labels.join(".");
        assert_eq!(name253.len(), 253);
        assert_eq!(ok(&name253).name, name253);
        assert_eq!(ok(&format!("{name253}.")).name, name253);

        let name255 = format!("e.{name253}");
        assert_eq!(name255.len(), 255);
        let e = rejected(&name255, "253");
        assert!(e.reason.contains("255 octets"), "{}", e.reason);

        let labels = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(62),
        ];
        let e = rejected(&labels.join("."), "the limit is 253");
        assert!(e.reason.contains("254 octets"));
    }

    #[test]
    fn whitespace_and_control_characters() {
        rejected("exa mple.com", "space");
        rejected("example.com other.com", "space");
        rejected("exa\tmple.com", "control character (U+0009)");
        rejected("exa\u{0}mple.com", "U+0000");
        rejected("exa\u{7f}mple.com", "U+007F");
        rejected("exa\u{3000}mple.com", "whitespace (U+3000)");
        rejected("exa\u{a0}mple.com", "whitespace");
    }

    #[test]
    fn underscores_are_rejected() {
        let e = rejected("a_b.example.com", "underscore");
        assert!(e.reason.contains("\"a_b\""));
        rejected("_acme-challenge.example.com", "underscore");
        rejected("*.a_b.example.com", "underscore");
        rejected("example.co_m", "underscore");
    }

    #[test]
    fn misplaced_wildcards() {
        rejected("foo.*.example.com", "leftmost");
        rejected("a.*.example.com", "leftmost");
        rejected("*foo.example.com", "leftmost");
        rejected("f*o.example.com", "leftmost");
        rejected("**.example.com", "leftmost");
        rejected("*.*.example.com", "leftmost");
        rejected("example.*", "leftmost");
    }

    #[test]
    fn wildcard_needs_two_labels_below() {
        rejected("*", "two labels");
        rejected("*.", "two labels");
        rejected("*.com", "two labels");
        assert_eq!(ok("*.co.uk").name, "*.co.uk");
    }

    #[test]
    fn single_label_names() {
        let e = rejected("localhost", "two labels");
        assert!(e.reason.contains("localhost"));
        rejected("com.", "two labels");
    }

    #[test]
    fn hyphens() {
        rejected("-a.example.com", "hyphen");
        rejected("a-.example.com", "hyphen");
        rejected("a.-b.com", "hyphen");
        rejected("-.com", "hyphen");
        rejected("ü-.com", "hyphen");
        assert_eq!(ok("a--b.com").name, "a--b.com");
    }

    #[test]
    fn reserved_ldh_labels() {
        let e = rejected("ab--cd.example.com", "reserved");
        assert!(e.reason.contains("ab--cd"));
        rejected("AB--cd.com", "third and fourth");
    }

    #[test]
    fn invalid_a_labels() {
        let e = rejected("xn--zz.com", "xn--zz");
        assert!(e.reason.contains("A-label"));
        rejected("xn--.com", "hyphen");
        rejected("xn--abc-.com", "hyphen"); // would decode to plain ASCII
        rejected("xn--a-xbb.com", "A-label"); // decodes to non-NFC "a\u{301}"
        rejected("xn--tda020n.com", "A-label"); // joiner out of context
        rejected("xn--a.com", "A-label");
    }

    #[test]
    fn disallowed_characters() {
        rejected("a!b.com", "\"!\"");
        rejected("a\\b.com", "letters, digits and hyphens");
        rejected("[example.com]", "letters, digits and hyphens");
        let e = rejected("ex\u{e000}.com", "U+E000");
        assert!(e.reason.contains("IDNA"));
        rejected("a\u{2488}.com", "U+2488");
        rejected("\u{301}a.com", "IDNA");
        rejected("a\u{ff01}b.com", "U+FF01");
    }

    #[test]
    fn label_that_maps_to_nothing() {
        rejected("\u{ad}.example.com", "empty");
    }

    #[test]
    fn bidi_rule_spans_labels() {
        assert_eq!(ok("\u{5d0}.example").name, "xn--4db.example");
        rejected("\u{5d0}.1a.example", "right-to-left");
    }

    #[test]
    fn numeric_tld() {
        rejected("example.123", "all digits");
        rejected("1.2.3", "all digits");
        rejected("127.1", "all digits");
        rejected("1.0x7f", "hexadecimal");
        assert_eq!(ok("123.example").name, "123.example");
    }

    #[test]
    fn error_display_is_one_line_with_input() {
        let e = Identifier::parse("example.com:443").unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("example.com:443"), "{shown}");
        assert!(shown.contains("port"), "{shown}");
        assert!(!shown.contains('\n'));

        let e = Identifier::parse("a\nb.com").unwrap_err();
        let shown = e.to_string();
        assert!(!shown.contains('\n'), "{shown}");
        assert!(shown.contains("a\\nb.com"), "{shown}");
    }

    #[test]
    fn deserialised_garbage_does_not_panic_in_accessors() {
        let id = Identifier {
            name: "*.a_b.\u{5d0}".to_owned(),
        };
        let _ = id.unicode();
        let _ = id.base();
        let _ = id.challenge_name();
    }

    #[test]
    fn odd_inputs_never_panic() {
        let long_ascii = "a".repeat(100_000);
        let long_dots = ".".repeat(10_000);
        let long_labels = "ab.".repeat(10_000);
        let long_unicode = "ü".repeat(20_000);
        let long_bad = "\u{e000}".repeat(5_000);
        let inputs: Vec<&str> = vec![
            "\u{0}",
            "*",
            ".",
            "..",
            "-",
            "--",
            "xn--",
            "xn--.",
            "a.-b.com",
            "*.",
            "*.*",
            ":",
            "::",
            "[",
            "]",
            "[]",
            "[::1",
            "@",
            "/",
            "?",
            "#",
            "://",
            "a://",
            "%",
            "\u{feff}",
            "\u{200d}",
            "\u{fffd}.com",
            "。",
            "*。",
            "ü",
            "💩.la",
            "\u{10ffff}.com",
            "\u{2488}",
            "1",
            "0x",
            "a.0x",
            &long_ascii,
            &long_dots,
            &long_labels,
            &long_unicode,
            &long_bad,
        ];
        for input in inputs {
            if let Ok(id) = Identifier::parse(input) {
                assert!(id.name.is_ascii());
                assert!(id.name.len() <= MAX_NAME_OCTETS);
                let _ = (id.unicode(), id.base(), id.challenge_name());
            }
        }
        // Every single character, alone and inside a name.
        for c in (0u32..0x3000)
            .chain(0xFF00..0x10000)
            .filter_map(char::from_u32)
        {
            let _ = Identifier::parse(&c.to_string());
            let _ = Identifier::parse(&format!("a{c}b.example.com"));
        }
    }
}

#[cfg(test)]
#[path = "identifier_props.rs"]
mod props;
