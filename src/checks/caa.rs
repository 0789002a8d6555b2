//! CAA as a CA processes it: the RFC 8659 climb (every ancestor asked at once, as Let's Encrypt
//! does; the closest non-empty RRset is relevant; a lookup error nearer than it fails the check,
//! because it could hide records) and the evaluation of that RRset for one issuer domain, method
//! and account (RFC 8657 `accounturi`, `validationmethods`). The evaluation is a pure function so
//! each rule can be tested on its own.

use std::time::Instant;

use futures::future::join_all;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};

use super::blank;
use crate::observation::{
    CaaDecision, CaaFacts, CaaRecord, Check, Method, Observation, Phase, Signature,
};
use crate::perspective::Vantage;
use crate::text::escape_bytes;

/// One raw CAA property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// Flags octet.
    pub flags: u8,
    /// Tag as received.
    pub tag: String,
    /// Raw value bytes.
    pub value: Vec<u8>,
}

/// What a request looks like to the CA.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The CA's issuer domain, e.g. `letsencrypt.org`.
    pub issuer: &'a str,
    /// Whether the identifier is a wildcard.
    pub wildcard: bool,
    /// The validation method in use, when known.
    pub method: Option<Method>,
    /// The ACME account URI, when known.
    pub account_uri: Option<&'a str>,
    /// TLS server certificate (`issue`/`issuewild`) or S/MIME (`issuemail`, RFC 9495).
    pub smime: bool,
}

/// The CA's decision for one RRset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Issuance permitted; why.
    Permit(String),
    /// Issuance forbidden; why.
    Forbid(String),
}

/// Tags whose critical bit does not block (known to Let's Encrypt).
use crate::observation::CAA_KNOWN_TAGS as KNOWN_TAGS;

/// Evaluates a relevant RRset (RFC 8659 §4, RFC 8657, Boulder's choices in mpic-rules §3.3).
pub fn evaluate(set: &[Property], req: Request<'_>) -> Decision {
    // Boulder treats flag value 1 as critical too (a common misreading of the bit order).
    if let Some(p) = set.iter().find(|p| {
        (p.flags & 0x80 != 0 || p.flags & 0x01 != 0)
            && !KNOWN_TAGS.contains(&p.tag.to_ascii_lowercase().as_str())
    }) {
        return Decision::Forbid(format!(
            "unknown property \"{}\" is marked critical (flags {}): no CA may issue",
            escape_bytes(p.tag.as_bytes()),
            p.flags
        ));
    }
    let tag_is = |p: &Property, t: &str| p.tag.eq_ignore_ascii_case(t);
    // RFC 9495: S/MIME issuance is governed by issuemail alone; issue/issuewild do not apply.
    let kind = if req.smime {
        "issuemail"
    } else if req.wildcard && set.iter().any(|p| tag_is(p, "issuewild")) {
        "issuewild"
    } else {
        "issue"
    };
    let relevant: Vec<&Property> = set.iter().filter(|p| tag_is(p, kind)).collect();
    if relevant.is_empty() {
        return Decision::Permit(format!("no {kind} property: any CA may issue"));
    }
    let mut reasons = Vec::new();
    let mut named = Vec::new();
    for p in &relevant {
        let Some((issuer, params)) = parse_issue_value(&p.value) else {
            reasons.push(format!(
                "{kind} \"{}\" does not parse (authorizes nobody)",
                escape_bytes(&p.value)
            ));
            continue;
        };
        let Some(issuer) = issuer else {
            reasons.push(format!("{kind} \";\" authorizes no CA"));
            continue;
        };
        named.push(issuer.clone());
        if !issuer.eq_ignore_ascii_case(req.issuer) {
            continue;
        }
        match check_params(&params, req) {
            Ok(note) => {
                return Decision::Permit(format!(
                    "{kind} \"{}\" authorizes {}{note}",
                    escape_bytes(&p.value),
                    req.issuer
                ));
            }
            Err(why) => reasons.push(why),
        }
    }
    // The CA is unknown (an ACME server mpic-check has no issuer domain for): records that
    // authorize nobody still forbid every CA, but whether a named issuer is this CA cannot be
    // told, so that is reported as not judged rather than held against letsencrypt.org.
    if req.issuer.is_empty() {
        if named.is_empty() {
            return Decision::Forbid(format!(
                "CAA {kind} records authorize no CA; {}",
                reasons.join("; ")
            ));
        }
        named.sort();
        named.dedup();
        return Decision::Permit(format!(
            "not judged: {kind} names {}, and the CA's issuer domain is unknown (give --ca)",
            named.join(", ")
        ));
    }
    // The CA is named, but every record naming it has a parameter that excludes this request
    // (another account, another method): saying "do not authorize X (they name X)" would
    // contradict itself, so the message leads with the parameter.
    if named.iter().any(|n| n.eq_ignore_ascii_case(req.issuer)) {
        return Decision::Forbid(format!(
            "CAA {kind} records name {} but not for this request: {}",
            req.issuer,
            reasons.join("; ")
        ));
    }
    let mut msg = format!("CAA {kind} records do not authorize {}", req.issuer);
    if !named.is_empty() {
        named.sort();
        named.dedup();
        msg.push_str(&format!(" (they name {})", named.join(", ")));
    }
    if !reasons.is_empty() {
        msg.push_str(&format!("; {}", reasons.join("; ")));
    }
    Decision::Forbid(msg)
}

fn check_params(params: &[(String, String)], req: Request<'_>) -> Result<String, String> {
    let acct: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("accounturi"))
        .collect();
    let methods: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("validationmethods"))
        .collect();
    let mut note = String::new();
    if acct.len() > 1 {
        return Err("more than one accounturi in one record: unsatisfiable".into());
    }
    if let Some((_, uri)) = acct.first() {
        match req.account_uri {
            Some(mine) if mine == uri => {}
            // The record's URI is public DNS data and is shown whole; the renewing account's URI
            // identifies the user's account (a secret by our rules), so only its ACME server and
            // the last characters of its account number are shown: enough to tell two accounts
            // apart without handing the URI to whoever reads the report.
            Some(mine) => {
                return Err(format!(
                    "only the ACME account {uri} may use it, and this renewal's account is {}",
                    account_hint(mine)
                ));
            }
            None => note.push_str(&format!(
                ", but only for account {uri} (pass --account-uri to check yours)"
            )),
        }
    }
    if methods.len() > 1 {
        return Err("more than one validationmethods in one record: unsatisfiable".into());
    }
    if let Some((_, list)) = methods.first() {
        let labels: Vec<&str> = list.split(',').collect();
        if labels
            .iter()
            .any(|l| l.is_empty() || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(format!("validationmethods {list:?} is malformed"));
        }
        match req.method {
            Some(m) if labels.iter().any(|l| l.eq_ignore_ascii_case(m.as_str())) => {}
            Some(m) => {
                return Err(format!(
                    "validationmethods={list} does not allow {}",
                    m.as_str()
                ));
            }
            None => note.push_str(&format!(", only with validationmethods={list}")),
        }
    }
    Ok(note)
}

/// The renewing account, shown without its URI: `…/acct/…4321 at acme-v02.api.letsencrypt.org`
/// (the host and the last four characters of the last path segment), or `another account` when
/// the URI does not parse.
pub fn account_hint(uri: &str) -> String {
    let Ok(u) = url::Url::parse(uri) else {
        return "another account (its URI is not shown)".into();
    };
    let host = u.host_str().unwrap_or("?");
    let last = u
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default();
    let tail: String = last
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if tail.is_empty() || last.chars().count() <= 4 {
        // A very short id would be shown whole: name only the server.
        return format!("another account at {host} (its URI is not shown)");
    }
    format!("the account ending …{tail} at {host} (its URI is not shown)")
}

/// Parses an `issue`/`issuewild` value (RFC 8659 §4.2): optional issuer domain, then
/// `;`-separated `tag=value` parameters. `None` when it does not parse.
#[allow(clippy::type_complexity)]
pub fn parse_issue_value(raw: &[u8]) -> Option<(Option<String>, Vec<(String, String)>)> {
    let s = std::str::from_utf8(raw).ok()?;
    let (domain, rest) = match s.split_once(';') {
        Some((d, r)) => (d.trim_matches([' ', '\t']), Some(r)),
        None => (s.trim_matches([' ', '\t']), None),
    };
    let issuer = if domain.is_empty() {
        None
    } else {
        let ok = domain.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
        if !ok {
            return None;
        }
        Some(domain.to_ascii_lowercase())
    };
    let mut params = Vec::new();
    if let Some(rest) = rest {
        for part in rest.split(';') {
            let part = part.trim_matches([' ', '\t']);
            if part.is_empty() {
                continue;
            }
            let (k, v) = part.split_once('=')?;
            let (k, v) = (k.trim_matches([' ', '\t']), v.trim_matches([' ', '\t']));
            if k.is_empty()
                || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                || !v.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b';')
            {
                return None;
            }
            params.push((k.to_string(), v.to_string()));
        }
    }
    Some((issuer, params))
}

/// Runs the climb from `v` for `base` (the identifier without `*.`) and judges the result.
/// `stop_at` limits the climb to names at or below a zone apex (for a single authoritative
/// server, which cannot answer for parent zones); its signature is then the records themselves,
/// so servers of one zone can be compared.
pub async fn check(
    v: &Vantage,
    base: &str,
    req: Request<'_>,
    stop_at: Option<&str>,
) -> Observation {
    let mut o = climb(v, base, req, stop_at).await;
    super::note_zone(v, base, &mut o).await;
    o
}

async fn climb(v: &Vantage, base: &str, req: Request<'_>, stop_at: Option<&str>) -> Observation {
    let start = Instant::now();
    let mut o = blank(&v.spec.name, Check::Caa);
    let labels: Vec<&str> = base.split('.').collect();
    // Every name from the identifier up to the TLD; never the root.
    let mut names: Vec<String> = (0..labels.len()).map(|i| labels[i..].join(".")).collect();
    if let Some(apex) = stop_at
        && let Some(i) = names.iter().position(|n| n == apex)
    {
        names.truncate(i + 1);
    }
    // Boulder parity (va/caa.go, `getCAASet` and `parallelCAALookup`): every name from the
    // identifier up is asked at once, and the first name in tree order that has an error or a
    // non-empty set decides; an error there (bdns/dns.go `LookupCAA` turns SERVFAIL into one)
    // refuses issuance even when a parent has records. CNAMEs on CAA are not followed by hand:
    // "We depend on our resolver to snap CNAME and DNAME records" (getCAASet), so the records
    // that count are the ones at the end of the chain the resolver returns, which is what
    // `Answer::records` reads (and what an authoritative vantage chases zone by zone).
    // The identifier's own CAA is asked for it alone; the names above it are shared parents,
    // asked once per perspective and run while their TTL lasts (`Vantage::lookup_parent`).
    let lookups = join_all(names.iter().enumerate().map(|(i, n)| async move {
        if i == 0 {
            v.lookup(n, RecordType::CAA).await
        } else {
            v.lookup_parent(n, RecordType::CAA).await
        }
    }))
    .await;
    o.elapsed_ms = start.elapsed().as_millis() as u64;
    for l in &lookups {
        o.dns.extend(l.exchanges.iter().cloned());
    }
    for (i, (name, l)) in names.iter().zip(&lookups).enumerate() {
        let is_tld = i == names.len() - 1 && stop_at.is_none();
        let nx = l.rcode() == Some(ResponseCode::NXDomain);
        // NXDOMAIN below the TLD is an empty set; at the TLD it is an error (Boulder).
        let failed = l.failure.is_some() || (nx && is_tld);
        if failed {
            let f = l
                .failure
                .clone()
                .unwrap_or_else(|| crate::perspective::LookupFailure {
                    phase: Phase::Dns,
                    message: "NXDOMAIN at the TLD".into(),
                    perspective_fault: false,
                });
            o.phase = Some(f.phase);
            o.perspective_fault = f.perspective_fault;
            o.tool_fault = super::tool_fault_of(&f);
            o.summary = format!("DNS problem: {} looking up CAA for {name}", f.message);
            o.signature = Signature::CaaError;
            o.caa = Some(CaaFacts {
                found_at: None,
                records: Vec::new(),
                decision: CaaDecision::Error,
                reason: o.summary.clone(),
            });
            return o;
        }
        let set: Vec<Property> = l
            .answer
            .as_ref()
            .map(|a| {
                a.records(RecordType::CAA)
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::CAA(c) => Some(Property {
                            flags: c.flags(),
                            tag: c.tag.clone(),
                            value: c.value.clone(),
                        }),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        if set.is_empty() {
            continue;
        }
        let records = set
            .iter()
            .map(|p| CaaRecord {
                flags: p.flags,
                tag: escape_bytes(p.tag.as_bytes()),
                value: escape_bytes(&p.value),
            })
            .collect();
        let (decision, reason) = match evaluate(&set, req) {
            Decision::Permit(r) => (CaaDecision::Permit, r),
            Decision::Forbid(r) => (
                CaaDecision::Forbid,
                format!("CAA record for {name} prevents issuance: {r}"),
            ),
        };
        o.ok = decision == CaaDecision::Permit;
        o.summary = if o.ok {
            format!("permits ({name}: {reason})")
        } else {
            reason.clone()
        };
        // A single nameserver's view is compared with its peers by the records themselves.
        o.signature = match stop_at {
            Some(_) => {
                let mut r: Vec<String> = set
                    .iter()
                    .map(|p| {
                        format!(
                            "{} {} {}",
                            p.flags,
                            escape_bytes(p.tag.as_bytes()),
                            escape_bytes(&p.value)
                        )
                    })
                    .collect();
                r.sort();
                Signature::parse(&format!("{name}: {}", r.join("; ")))
            }
            None => match decision {
                CaaDecision::Permit => Signature::Permit,
                CaaDecision::Forbid => Signature::Forbid,
                CaaDecision::Error => Signature::CaaError,
            },
        };
        o.caa = Some(CaaFacts {
            found_at: Some(name.clone()),
            records,
            decision,
            reason,
        });
        return o;
    }
    o.ok = true;
    o.summary = match stop_at {
        Some(apex) => format!("no CAA records between {base} and the zone apex {apex}"),
        None => "no CAA records up to the TLD: any CA may issue".into(),
    };
    o.signature = if stop_at.is_some() {
        Signature::None
    } else {
        Signature::Permit
    };
    o.caa = Some(CaaFacts {
        found_at: None,
        records: Vec::new(),
        decision: CaaDecision::Permit,
        reason: o.summary.clone(),
    });
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(flags: u8, tag: &str, value: &str) -> Property {
        Property {
            flags,
            tag: tag.into(),
            value: value.as_bytes().to_vec(),
        }
    }
    fn req() -> Request<'static> {
        Request {
            issuer: "letsencrypt.org",
            wildcard: false,
            method: Some(Method::Http01),
            account_uri: None,
            smime: false,
        }
    }
    fn permits(set: &[Property], r: Request<'_>) -> bool {
        matches!(evaluate(set, r), Decision::Permit(_))
    }

    #[test]
    fn table_of_rules() {
        let wild = Request {
            wildcard: true,
            ..req()
        };
        let acct = Request {
            account_uri: Some("https://acme-v02.api.letsencrypt.org/acme/acct/1"),
            ..req()
        };
        let dns = Request {
            method: Some(Method::Dns01),
            ..req()
        };
        let cases: Vec<(&str, Vec<Property>, Request<'_>, bool)> = vec![
            ("empty set permits", vec![], req(), true),
            (
                "issue for us",
                vec![p(0, "issue", "letsencrypt.org")],
                req(),
                true,
            ),
            (
                "issue tag case-insensitive",
                vec![p(0, "ISSUE", "LetsEncrypt.org")],
                req(),
                true,
            ),
            (
                "issue for another CA",
                vec![p(0, "issue", "pki.goog")],
                req(),
                false,
            ),
            (
                "grants are additive",
                vec![p(0, "issue", "pki.goog"), p(0, "issue", "letsencrypt.org")],
                req(),
                true,
            ),
            (
                "empty issuer forbids",
                vec![p(0, "issue", ";")],
                req(),
                false,
            ),
            (
                "unparsable value authorizes nobody",
                vec![p(0, "issue", "letsencrypt.org; =bad")],
                req(),
                false,
            ),
            (
                "only iodef permits",
                vec![p(0, "iodef", "mailto:a@b.c")],
                req(),
                true,
            ),
            (
                "unknown non-critical tag ignored",
                vec![p(0, "future", "x"), p(0, "issue", "letsencrypt.org")],
                req(),
                true,
            ),
            (
                "unknown critical tag forbids",
                vec![p(128, "future", "x"), p(0, "issue", "letsencrypt.org")],
                req(),
                false,
            ),
            (
                "flag 1 counts as critical",
                vec![p(1, "future", "x")],
                req(),
                false,
            ),
            (
                "critical known tag is fine",
                vec![p(128, "issue", "letsencrypt.org")],
                req(),
                true,
            ),
            (
                "issuewild ignored for non-wildcard",
                vec![p(0, "issuewild", ";"), p(0, "issue", "letsencrypt.org")],
                req(),
                true,
            ),
            (
                "issuewild wins for wildcard",
                vec![p(0, "issuewild", ";"), p(0, "issue", "letsencrypt.org")],
                wild,
                false,
            ),
            (
                "issue used for wildcard without issuewild",
                vec![p(0, "issue", "letsencrypt.org")],
                wild,
                true,
            ),
            (
                "issuewild for us",
                vec![p(0, "issuewild", "letsencrypt.org"), p(0, "issue", ";")],
                wild,
                true,
            ),
            (
                "accounturi matches",
                vec![p(
                    0,
                    "issue",
                    "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1",
                )],
                acct,
                true,
            ),
            (
                "accounturi differs",
                vec![p(
                    0,
                    "issue",
                    "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/2",
                )],
                acct,
                false,
            ),
            (
                "two accounturi unsatisfiable",
                vec![p(0, "issue", "letsencrypt.org; accounturi=a; accounturi=a")],
                acct,
                false,
            ),
            (
                "validationmethods allows",
                vec![p(
                    0,
                    "issue",
                    "letsencrypt.org; validationmethods=dns-01,http-01",
                )],
                req(),
                true,
            ),
            (
                "validationmethods excludes",
                vec![p(0, "issue", "letsencrypt.org; validationmethods=dns-01")],
                req(),
                false,
            ),
            (
                "validationmethods for dns-01",
                vec![p(0, "issue", "letsencrypt.org; validationmethods=dns-01")],
                dns,
                true,
            ),
            (
                "validationmethods malformed",
                vec![p(0, "issue", "letsencrypt.org; validationmethods=http_01")],
                req(),
                false,
            ),
            (
                "non-utf8 value",
                vec![Property {
                    flags: 0,
                    tag: "issue".into(),
                    value: vec![0xff],
                }],
                req(),
                false,
            ),
        ];
        for (what, set, r, want) in cases {
            assert_eq!(permits(&set, r), want, "{what}: {:?}", evaluate(&set, r));
        }
    }

    #[test]
    fn smime_uses_issuemail_only() {
        let mail = Request {
            smime: true,
            ..req()
        };
        let cases: Vec<(&str, Vec<Property>, bool)> = vec![
            (
                "no issuemail: any CA may issue S/MIME",
                vec![p(0, "issue", ";")],
                true,
            ),
            (
                "issuemail for us",
                vec![p(0, "issuemail", "letsencrypt.org"), p(0, "issue", ";")],
                true,
            ),
            (
                "issuemail for another CA",
                vec![
                    p(0, "issuemail", "sectigo.com"),
                    p(0, "issue", "letsencrypt.org"),
                ],
                false,
            ),
            (
                "issuemail empty forbids",
                vec![p(0, "issuemail", ";")],
                false,
            ),
            (
                "issue does not grant S/MIME",
                vec![
                    p(0, "issuemail", "sectigo.com"),
                    p(0, "issue", "letsencrypt.org"),
                ],
                false,
            ),
            (
                "unknown critical tag still forbids",
                vec![p(128, "future", "x"), p(0, "issuemail", "letsencrypt.org")],
                false,
            ),
            (
                "critical issuemail is known",
                vec![p(128, "issuemail", "letsencrypt.org")],
                true,
            ),
            (
                "issuemail case-insensitive",
                vec![p(0, "IssueMail", "LetsEncrypt.org")],
                true,
            ),
        ];
        for (what, set, want) in cases {
            assert_eq!(
                permits(&set, mail),
                want,
                "{what}: {:?}",
                evaluate(&set, mail)
            );
        }
        // And the TLS evaluation ignores issuemail.
        assert!(permits(
            &[p(0, "issuemail", ";"), p(0, "issue", "letsencrypt.org")],
            req()
        ));
    }

    #[test]
    fn forbid_names_the_issuers() {
        let Decision::Forbid(m) = evaluate(&[p(0, "issue", "pki.goog")], req()) else {
            panic!()
        };
        assert!(
            m.contains("pki.goog") && m.contains("letsencrypt.org"),
            "{m}"
        );
    }

    #[test]
    fn issue_value_grammar() {
        assert_eq!(
            parse_issue_value(b"ca.example"),
            Some((Some("ca.example".into()), vec![]))
        );
        assert_eq!(
            parse_issue_value(b" ca.example ; a=b ;c=d"),
            Some((
                Some("ca.example".into()),
                vec![("a".into(), "b".into()), ("c".into(), "d".into())]
            ))
        );
        assert_eq!(parse_issue_value(b";"), Some((None, vec![])));
        assert_eq!(parse_issue_value(b"bad_domain"), None);
        assert_eq!(parse_issue_value(b"ca.example; novalue"), None);
    }
}

#[cfg(test)]
#[path = "caa_props.rs"]
mod props;

#[cfg(test)]
mod ca_identity_tests {
    use super::*;

    fn p(tag: &str, value: &str) -> Property {
        Property {
            flags: 0,
            tag: tag.into(),
            value: value.as_bytes().to_vec(),
        }
    }
    fn unknown_ca() -> Request<'static> {
        Request {
            issuer: "",
            wildcard: false,
            method: None,
            account_uri: None,
            smime: false,
        }
    }

    #[test]
    fn an_unknown_ca_is_not_judged_against_named_issuers() {
        let d = evaluate(&[p("issue", "letsencrypt.org")], unknown_ca());
        assert!(
            matches!(&d, Decision::Permit(m) if m.starts_with("not judged") && m.contains("letsencrypt.org")),
            "{d:?}"
        );
        // Records that authorize nobody forbid every CA, known or not.
        let d = evaluate(&[p("issue", ";")], unknown_ca());
        assert!(matches!(d, Decision::Forbid(_)), "{d:?}");
        let d = evaluate(&[p("iodef", "mailto:x@example.test")], unknown_ca());
        assert!(matches!(d, Decision::Permit(_)), "{d:?}");
    }

    #[test]
    fn an_account_mismatch_names_both_accounts_without_the_renewing_uri() {
        let r = Request {
            issuer: "letsencrypt.org",
            wildcard: false,
            method: None,
            account_uri: Some("https://acme-v02.api.letsencrypt.org/acme/acct/987654321"),
            smime: false,
        };
        let rec = "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/2";
        let Decision::Forbid(m) = evaluate(&[p("issue", rec)], r) else {
            panic!("a record for another account forbids")
        };
        assert!(!m.contains("do not authorize"), "{m}");
        assert!(
            m.contains("acme/acct/2"),
            "the record's account is named: {m}"
        );
        assert!(m.contains("…4321 at acme-v02.api.letsencrypt.org"), "{m}");
        assert!(
            !m.contains("987654321"),
            "the renewing account's URI is a secret: {m}"
        );
    }

    #[test]
    fn account_hints() {
        assert_eq!(
            account_hint("https://ca.example/acme/acct/12"),
            "another account at ca.example (its URI is not shown)"
        );
        assert_eq!(
            account_hint("not a uri"),
            "another account (its URI is not shown)"
        );
    }
}
