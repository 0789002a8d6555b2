//! Property tests for the pure half of the CAA check: `parse_issue_value` (RFC 8659 §4.2 value
//! syntax) and `evaluate` (the CA's decision for one RRset). CAA records come off the wire, so a
//! zone owner — or anyone spoofing answers — chooses every byte. Beyond "never panics": a
//! well-formed value round-trips its issuer and parameters, whatever parses has the syntax the
//! RFC allows, and a decision's reason is one line that cannot drive a terminal. Unknown
//! non-critical properties must not change a decision (RFC 8659 §4.1: they are ignored).

use proptest::prelude::*;

use super::{Decision, KNOWN_TAGS, Property, Request, evaluate, parse_issue_value};
use crate::observation::Method;
use crate::proptest_support::is_one_clean_line;

/// An LDH label that starts and ends with a letter or digit.
fn label() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?"
}

/// An issuer domain name as written in a record (any case).
fn issuer() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..4).prop_map(|l| l.join("."))
}

/// RFC 8659 parameters: a tag of letters, digits and hyphens, a value of printable non-space
/// ASCII other than `;`.
fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("[a-zA-Z0-9-]{1,12}", "[!-:<-~]{0,20}"), 0..4)
}

/// Blanks RFC 8659 allows around the issuer, the separators and `=`.
fn blank() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["", " ", "\t", "  \t "][..])
}

/// Bytes a hostile or broken record might hold: anything, or value syntax with stray bytes.
fn raw_value() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b";".to_vec()),
        Just(b"=".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\t".to_vec()),
        Just(b".".to_vec()),
        Just(b"-".to_vec()),
        Just(b"letsencrypt.org".to_vec()),
        Just(b"accounturi=https://x/acct/1".to_vec()),
        Just(b"validationmethods=dns-01,http-01".to_vec()),
        Just(vec![0xff]),
        Just(vec![0xc3, 0xbc]),
        Just(vec![0]),
        Just(vec![0x1b]),
        "[a-z0-9]{1,5}".prop_map(String::into_bytes),
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(piece, 0..10).prop_map(|p| p.concat()),
    ]
}

/// A CAA property with a tag and flags that may be anything, or close to what CAs know.
fn property() -> impl Strategy<Value = Property> {
    let tag = prop_oneof![
        prop::sample::select(
            &[
                "issue",
                "issuewild",
                "iodef",
                "issuemail",
                "ISSUE",
                "IssueWild"
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-zA-Z0-9]{0,16}",
        any::<String>(),
    ];
    let flags = prop_oneof![Just(0u8), Just(0x80), Just(1), any::<u8>()];
    (flags, tag, raw_value()).prop_map(|(flags, tag, value)| Property { flags, tag, value })
}

/// What the CA is asked for.
fn request() -> impl Strategy<Value = (String, bool, Option<Method>, Option<String>, bool)> {
    (
        prop_oneof![Just("letsencrypt.org".to_owned()), issuer()],
        any::<bool>(),
        prop::option::of(prop_oneof![Just(Method::Http01), Just(Method::Dns01)]),
        prop::option::of(prop_oneof![
            Just("https://x/acct/1".to_owned()),
            "[!-~]{0,30}"
        ]),
        any::<bool>(),
    )
}

fn reason(d: &Decision) -> &str {
    match d {
        Decision::Permit(r) | Decision::Forbid(r) => r,
    }
}

proptest! {
    /// Any bytes: never panics; whatever parses has RFC 8659 syntax and a lower-case issuer.
    #[test]
    fn prop_caa_issue_value_arbitrary_bytes(raw in raw_value()) {
        if let Some((issuer, params)) = parse_issue_value(&raw) {
            if let Some(issuer) = issuer {
                prop_assert!(!issuer.is_empty());
                for l in issuer.split('.') {
                    prop_assert!(!l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
                    prop_assert!(l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
                }
            }
            for (k, v) in &params {
                prop_assert!(!k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
                prop_assert!(v.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b';'));
            }
        }
    }

    /// `issuer; key=value; …` with any allowed blanks gives back the issuer (lower-cased) and
    /// the parameters in order.
    #[test]
    fn prop_caa_issue_value_round_trip(
        issuer in prop::option::of(issuer()),
        params in params(),
        blanks in prop::collection::vec(blank(), 12),
        trailing_semicolon in any::<bool>(),
    ) {
        let mut text = format!("{}{}{}", blanks[0], issuer.as_deref().unwrap_or(""), blanks[1]);
        for (i, (k, v)) in params.iter().enumerate() {
            let b = |j: usize| blanks[(2 + i * 3 + j) % blanks.len()];
            text.push_str(&format!(";{}{k}{}={}{v}", b(0), b(1), b(2)));
        }
        if trailing_semicolon || (issuer.is_none() && params.is_empty()) {
            text.push(';');
        }
        let parsed = parse_issue_value(text.as_bytes());
        let want_issuer = issuer.map(|i| i.to_ascii_lowercase());
        prop_assert_eq!(parsed, Some((want_issuer, params)), "value {:?}", text);
    }

    /// Any RRset and request: never panics, the reason is one clean line, and a property of an
    /// unknown tag without the critical bit changes nothing.
    #[test]
    fn prop_caa_evaluate(
        set in prop::collection::vec(property(), 0..6),
        (issuer, wildcard, method, account, smime) in request(),
        extra in property(),
        at in any::<prop::sample::Index>(),
    ) {
        let req = Request {
            issuer: &issuer,
            wildcard,
            method,
            account_uri: account.as_deref(),
            smime,
        };
        let decision = evaluate(&set, req);
        prop_assert!(is_one_clean_line(reason(&decision)), "{decision:?}");

        let unknown = !KNOWN_TAGS.contains(&extra.tag.to_ascii_lowercase().as_str());
        if unknown {
            let harmless = Property { flags: extra.flags & !0x81, ..extra };
            let mut more = set.clone();
            more.insert(at.index(set.len() + 1), harmless);
            prop_assert_eq!(evaluate(&more, req), decision);
        }
    }

    /// A record that names the CA and carries no parameters always permits it.
    #[test]
    fn prop_caa_own_issuer_permits(
        issuer in issuer(),
        others in prop::collection::vec(issuer(), 0..3),
        wildcard in any::<bool>(),
    ) {
        let mut set: Vec<Property> = others
            .iter()
            .map(|o| Property { flags: 0, tag: "issue".into(), value: o.clone().into_bytes() })
            .collect();
        set.push(Property { flags: 0, tag: "issue".into(), value: issuer.clone().into_bytes() });
        let req = Request {
            issuer: &issuer.to_ascii_lowercase(),
            wildcard,
            method: Some(Method::Http01),
            account_uri: None,
            smime: false,
        };
        prop_assert!(matches!(evaluate(&set, req), Decision::Permit(_)));
    }
}
