//! CAA syntax (Let's Debug `generic.go` `caaChecker` → `CAAPossiblyInvalid`, and
//! `caaRequiresAccountUri`): records a CA would read differently than the user meant, checked
//! against the grammar of RFC 8659 §4.1-§4.4 and RFC 8657 (quotes stored in the value, two CAs in
//! one value, `;` misuse, parameters without `=`, spaces inside a parameter, unknown tags and
//! validation methods, upper case, a bad iodef URL). Distinct from `caa-critical-unknown`, which
//! is about the critical flag. And the info that `accounturi` binds issuance to one account.

use super::*;
use crate::observation::{CAA_KNOWN_TAGS, CaaRecord};

/// Property tags in use that no CA acts on for issuance but that are not mistakes (CA/B Forum
/// BR §3.2.2.4.13/14 contact tags).
const OTHER_KNOWN_TAGS: &[&str] = &["contactemail", "contactphone"];

/// RFC 8657 §4 method labels (the ACME validation method registry).
const METHODS: &[&str] = &["http-01", "dns-01", "tls-alpn-01", "dns-account-01"];

/// Parameters of issue/issuewild that CAs know (RFC 8657 §3 and §4).
const PARAMS: &[&str] = &["accounturi", "validationmethods"];

fn unescape(v: &str) -> String {
    v.replace("\\\"", "\"").replace("\\\\", "\\")
}

fn is_domain(d: &str) -> bool {
    d.split('.').all(|l| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    })
}

/// Every way one record departs from the grammar or from what the user probably meant.
pub fn problems(r: &CaaRecord) -> Vec<String> {
    let mut out = Vec::new();
    let tag_l = r.tag.to_ascii_lowercase();
    let known =
        CAA_KNOWN_TAGS.contains(&tag_l.as_str()) || OTHER_KNOWN_TAGS.contains(&tag_l.as_str());
    if !known {
        // Critical unknown tags block everything: that is caa-critical-unknown's story.
        if !r.is_critical_unknown() {
            out.push(format!(
                "tag \"{}\" is not a CAA property a CA knows, so the record is ignored (a typo of issue/issuewild/iodef?)",
                r.tag
            ));
        }
        return out;
    }
    if r.tag != tag_l {
        out.push(format!(
            "tag \"{}\" is not lower case: RFC 8659 matches tags case-insensitively but DNS tools and \
             some CAs compare them as written; write \"{tag_l}\"",
            r.tag
        ));
    }
    let value = unescape(&r.value);
    match tag_l.as_str() {
        "issue" | "issuewild" | "issuemail" => issue_value(&value, &mut out),
        "iodef" => {
            let v = value.trim();
            if !(v.starts_with("mailto:") || v.starts_with("https://") || v.starts_with("http://"))
            {
                out.push(format!(
                    "iodef \"{v}\" is neither a mailto: nor an http(s):// URL (RFC 8659 §4.4): violation reports cannot be sent"
                ));
            }
        }
        _ => {}
    }
    out
}

fn issue_value(value: &str, out: &mut Vec<String>) {
    if value.contains('"') {
        out.push(format!(
            "the value {value:?} contains quote characters: the DNS panel stored the quotes as part of the \
             value, so no CA recognises its own name; enter the value without extra quotes"
        ));
        return;
    }
    let (domain, rest) = match value.split_once(';') {
        Some((d, r)) => (d.trim_matches([' ', '\t']), Some(r)),
        None => (value.trim_matches([' ', '\t']), None),
    };
    if domain.contains([' ', '\t', ',']) {
        out.push(format!(
            "\"{domain}\" names more than one CA in one value: a CA reads it as one invalid issuer domain; \
             publish one issue record per CA"
        ));
    } else if domain.ends_with('.') {
        out.push(format!(
            "issuer domain \"{domain}\" ends with a dot: CAs compare the name as written and do not \
             recognise it; drop the trailing dot"
        ));
    } else if !domain.is_empty() && !is_domain(domain) {
        out.push(format!(
            "issuer domain \"{domain}\" is not a domain name (RFC 8659 §4.2): no CA matches it"
        ));
    } else if !domain.is_empty() && domain != domain.to_ascii_lowercase() {
        out.push(format!(
            "issuer domain \"{domain}\" has upper case: CAs compare it case-insensitively, but write \
             \"{}\" to be safe with every CA",
            domain.to_ascii_lowercase()
        ));
    }
    let Some(rest) = rest else { return };
    let parts: Vec<&str> = rest.split(';').collect();
    for (i, part) in parts.iter().enumerate() {
        let part = part.trim_matches([' ', '\t']);
        if part.is_empty() {
            if i + 1 < parts.len() {
                out.push("an empty parameter (\";;\"): `;` separates parameters, one after the issuer domain".into());
            }
            continue;
        }
        let Some((k, v)) = part.split_once('=') else {
            out.push(format!(
                "\"{part}\" after `;` is not a tag=value parameter: if it is a second CA, publish a \
                 separate issue record for it (a CA reads this record as invalid and authorizes nobody with it)"
            ));
            continue;
        };
        let (k, v) = (k.trim_matches([' ', '\t']), v.trim_matches([' ', '\t']));
        let kl = k.to_ascii_lowercase();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            out.push(format!(
                "parameter tag \"{k}\" is not alphanumeric (RFC 8659 §4.2)"
            ));
            continue;
        }
        if v.is_empty() {
            out.push(format!("parameter \"{k}\" has an empty value"));
            continue;
        }
        if v.contains([' ', '\t']) {
            out.push(format!(
                "parameter value \"{v}\" contains a space: RFC 8659 values cannot, so a CA reads the record \
                 as invalid (write e.g. validationmethods=dns-01,http-01)"
            ));
            continue;
        }
        if !PARAMS.contains(&kl.as_str()) {
            out.push(format!(
                "parameter \"{k}\" is not one CAs know (accounturi, validationmethods): it is ignored"
            ));
            continue;
        }
        if kl == "validationmethods" {
            for m in v.split(',') {
                if !METHODS.contains(&m) {
                    let hint = if METHODS.contains(&m.to_ascii_lowercase().as_str()) {
                        " (write it in lower case)"
                    } else {
                        ""
                    };
                    out.push(format!(
                        "validationmethods names \"{m}\", which is not an ACME method label{hint}: CAs ignore \
                         it, and if no listed method is valid nothing can be validated"
                    ));
                }
            }
        }
        // An account URI is a secret this tool redacts where it records it ("***"): nothing to check.
        if kl == "accounturi" && v != "***" && !v.starts_with("https://") {
            out.push(format!(
                "accounturi \"{v}\" is not an https:// ACME account URL (RFC 8657 §3): it matches no account"
            ));
        }
    }
}

pub(super) fn caa_syntax(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let caa: Vec<&Observation> = ca_like(obs, Check::Caa)
        .filter(|o| !o.perspective_fault && !ctx.is_nameserver(&o.perspective))
        .collect();
    let mut seen: Vec<&CaaRecord> = Vec::new();
    let mut who: Vec<String> = Vec::new();
    let mut evidence: Vec<String> = Vec::new();
    let mut bound: Vec<String> = Vec::new();
    for o in &caa {
        let Some(facts) = o.caa.as_ref() else {
            continue;
        };
        let at = facts.found_at.clone().unwrap_or_default();
        for r in &facts.records {
            let ps = problems(r);
            if !ps.is_empty() {
                who.push(o.perspective.clone());
            }
            if seen.contains(&r) {
                continue;
            }
            seen.push(r);
            for p in ps {
                evidence.push(format!(
                    "{at} CAA {} {} \"{}\": {p}",
                    r.flags, r.tag, r.value
                ));
            }
            let tag = r.tag.to_ascii_lowercase();
            let value = unescape(&r.value);
            if matches!(tag.as_str(), "issue" | "issuewild")
                && value
                    .split(';')
                    .next()
                    .is_some_and(|d| d.trim().eq_ignore_ascii_case(ctx.ca))
                && value.to_ascii_lowercase().contains("accounturi=")
            {
                bound.push(format!("{at} CAA {} {} \"{}\"", r.flags, r.tag, r.value));
            }
        }
    }
    who.sort();
    who.dedup();
    if !evidence.is_empty() {
        out.push(finding(
            ctx,
            FindingCode::CaaSyntax,
            Severity::Warning,
            who,
            evidence,
            "a CAA record does not follow RFC 8659/8657 syntax, so a CA may read it differently than you \
             meant (usually as authorizing nobody): rewrite it as  0 issue \"<ca>\"  or  0 issue \
             \"<ca>; validationmethods=dns-01,http-01\"  (one CA per record, lower-case tags, no quotes \
             inside the value, no spaces inside parameters)"
                .replace("<ca>", ctx.ca)
                .as_str(),
        ));
    }
    if !bound.is_empty() {
        out.push(finding(
            ctx,
            FindingCode::CaaAccountBound,
            Severity::Info,
            Vec::new(),
            bound,
            "CAA accounturi limits issuance to one ACME account: renewals from a new account (a reinstalled \
             server, another ACME client, a lost account key) are refused until the record is updated. \
             Keep the account key backed up, or drop accounturi if that is not intended",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(tag: &str, value: &str) -> Vec<String> {
        problems(&CaaRecord {
            flags: 0,
            tag: tag.into(),
            value: crate::text::escape_bytes(value.as_bytes()),
        })
    }

    #[test]
    fn well_formed_records_have_no_problems() {
        for (t, v) in [
            ("issue", "letsencrypt.org"),
            ("issue", ";"),
            ("issue", ""),
            ("issue", "letsencrypt.org; validationmethods=dns-01,http-01"),
            (
                "issue",
                "letsencrypt.org;accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1",
            ),
            ("issue", "letsencrypt.org;"),
            ("iodef", "mailto:security@example.com"),
            ("issuewild", "sectigo.com"),
        ] {
            assert!(rec(t, v).is_empty(), "{t} {v}: {:?}", rec(t, v));
        }
    }

    #[test]
    fn the_mistakes_people_make_are_named() {
        for (t, v, word) in [
            ("issue", "\"letsencrypt.org\"", "quote"),
            ("issue", "letsencrypt.org sectigo.com", "more than one CA"),
            ("issue", "letsencrypt.org; sectigo.com", "not a tag=value"),
            (
                "issue",
                "letsencrypt.org;; validationmethods=dns-01",
                "\";;\"",
            ),
            (
                "issue",
                "letsencrypt.org; validationmethods=dns-01, http-01",
                "space",
            ),
            (
                "issue",
                "letsencrypt.org; validationmethods=HTTP-01",
                "lower case",
            ),
            ("issue", "letsencrypt.org; accounturi=", "empty value"),
            ("issue", "letsencrypt.org.", "trailing dot"),
            ("Issue", "letsencrypt.org", "not lower case"),
            ("isue", "letsencrypt.org", "typo"),
            ("iodef", "security@example.com", "mailto"),
        ] {
            let p = rec(t, v).join(" | ");
            assert!(p.contains(word), "{t} {v}: {p}");
        }
    }
}
