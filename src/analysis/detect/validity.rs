//! Names no CA issues for, decided from the name alone (Let's Debug `generic.go`
//! `validDomainChecker`: "Domain doesn't end in a public TLD", "Domain is a TLD"; Boulder
//! `policy/pa.go` `WillingToIssue`: the name must end in an ICANN public suffix and must not be
//! one). Label rules, Punycode and lengths are enforced when the name is parsed
//! (`identifier.rs`); what is left needs the Public Suffix List.

use super::*;

/// Special-use top-level domains (RFC 2606 / RFC 6761) that labs and tests use on purpose: a CA
/// refuses them too, but a run against them is a rehearsal, not a mistake to report.
const LAB_TLDS: &[&str] = &["test", "example", "invalid", "localhost"];

/// Why a CA refuses the name, if it does.
pub fn refusal(base: &str) -> Option<String> {
    // An IP identifier (RFC 8738) has no suffix to judge; its address range was checked when the
    // plan was made (a reserved address never gets this far).
    if base.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let tld = base.rsplit('.').next().unwrap_or(base);
    if LAB_TLDS.contains(&tld) {
        return None;
    }
    match psl::suffix(base.as_bytes()) {
        Some(s) if s.is_known() => {
            if s.as_bytes() == base.as_bytes() && s.typ() == Some(psl::Type::Icann) {
                Some(format!(
                    "{base} is itself a public suffix (like com or co.uk): names are registered below it, \
                     and no CA issues for the suffix itself"
                ))
            } else {
                None
            }
        }
        _ => Some(format!(
            "{base} does not end in a public top-level domain (.{tld} is not in the Public Suffix List): \
             internal names (.local, .lan, .internal, .home.arpa, …) cannot get a publicly trusted certificate"
        )),
    }
}

pub(super) fn name_validity(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let base = ctx.identifier.strip_prefix("*.").unwrap_or(ctx.identifier);
    if let Some(why) = refusal(base) {
        out.push(finding(
            ctx,
            FindingCode::NameNotIssuable,
            Severity::Error,
            Vec::new(),
            vec![
                why,
                "decided from the name alone: no DNS query or HTTP request was sent for it".into(),
            ],
            "a CA refuses this name before any validation: use a name registered under a public suffix \
             (e.g. host.example.com that you own); for internal names use a private CA (e.g. step-ca, \
             an internal ACME server) or a public subdomain with split-horizon DNS",
        ));
    }
}

/// An IP-address identifier: CAA does not apply and nothing was looked up, said once as info so the
/// missing address and CAA columns are explained rather than unexplained gaps. Boulder: `ra/ra.go`
/// `checkDCVAndCAA` calls `DoCAA` for DNS identifiers only, and `va/caa.go` `DoCAA` refuses any
/// other identifier type ("Identifier type for CAA check was not DNS").
pub(super) fn caa_not_applicable(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    if ctx.identifier.parse::<std::net::IpAddr>().is_err() {
        return;
    }
    let methods: Vec<&str> = ctx.methods.iter().map(|m| m.as_str()).collect();
    out.push(finding(
        ctx,
        FindingCode::CaaNotApplicable,
        Severity::Info,
        Vec::new(),
        vec![
            format!(
                "{} is an IP-address identifier (RFC 8738), checked with {}",
                ctx.identifier,
                methods.join(", ")
            ),
            "CAA (RFC 8659) is a record of domain names: a CA does not check it for an address, \
             and nothing was looked up for it (no A/AAAA, CAA or TXT query)"
                .into(),
        ],
        "nothing to fix: an IP address is validated with http-01 or tls-alpn-01 at the address \
         itself, and CAA does not apply to it",
    ));
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn public_suffixes_and_private_tlds_are_refused() {
        assert!(refusal("co.uk").is_some());
        assert!(refusal("com.au").is_some());
        assert!(refusal("nas.local").is_some());
        assert!(refusal("router.lan").is_some());
        assert!(refusal("example.com").is_none());
        assert!(refusal("www.example.co.uk").is_none());
        // Private-section suffixes (github.io) are issuable: CAs use the ICANN section only.
        assert!(refusal("user.github.io").is_none());
        assert!(refusal("github.io").is_none());
        assert!(refusal("example.test").is_none());
        assert!(refusal("192.0.2.1").is_none());
        assert!(refusal("2001:db8::1").is_none());
    }
}
