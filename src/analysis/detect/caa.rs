//! The CAA detector: records that forbid the CA, critical properties it does not know, and
//! lookups that failed (which a CA treats as a refusal).

use super::*;

pub(super) fn caa(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    // Nameserver sources answer only for their zone; they are compared in ns-inconsistent.
    let caa: Vec<&Observation> = ca_like(obs, Check::Caa)
        .filter(|o| !o.perspective_fault && !ctx.is_nameserver(&o.perspective))
        .collect();
    let forbids: Vec<&&Observation> = caa
        .iter()
        .filter(|o| o.signature == Signature::Forbid)
        .collect();
    if !forbids.is_empty() {
        // The same rule the CAA check applied, read from the records it found.
        let critical = forbids.iter().any(|o| {
            o.caa
                .as_ref()
                .is_some_and(|c| c.records.iter().any(|r| r.is_critical_unknown()))
        });
        // Records that name this CA but only for another ACME account (RFC 8657 accounturi): the
        // fix is about the account, never "add the record" that is already there.
        let other_account = forbids.iter().any(|o| {
            o.caa
                .as_ref()
                .is_some_and(|c| c.records.iter().any(|r| names_ca_for_an_account(r, ctx.ca)))
        });
        let (code, fix) = if critical {
            (
                FindingCode::CaaCriticalUnknown,
                "a CAA record carries the critical flag on a property tag the CA does not know: remove the \
                 flag (set it to 0) or the record",
            )
        } else if other_account {
            (
                FindingCode::CaaForbids,
                "the CAA record authorizes <ca> only for the ACME account in its accounturi, and this \
                 renewal uses another account: add a CAA issue record for <ca> whose accounturi is the \
                 renewing account's URI (certbot: \"uri\" in accounts/<server>/<id>/regr.json; acme.sh: \
                 ACCOUNT_URL in ca.conf), or renew with the account the record names",
            )
        } else {
            (
                FindingCode::CaaForbids,
                "the CAA records do not authorize this CA: add  CAA 0 issue \"<ca>\"  (and issuewild for \
                 wildcards) at the name where the records are found, or remove the conflicting parameters",
            )
        };
        let fix = if ctx.smime {
            fix.replace(
                "issue \"<ca>\"  (and issuewild for wildcards)",
                "issuemail \"<ca>\"",
            )
            .replace("<ca>", ctx.ca)
        } else {
            fix.replace("<ca>", ctx.ca)
        };
        let evidence = forbids
            .iter()
            .map(|o| format!("{}: {}", o.perspective, o.summary))
            .collect();
        out.push(finding(
            ctx,
            code,
            Severity::Error,
            forbids.iter().map(|o| o.perspective.clone()).collect(),
            evidence,
            &fix,
        ));
    }
    let failed: Vec<&&Observation> = caa.iter().filter(|o| o.phase.is_some()).collect();
    if !failed.is_empty() {
        let primary_failed = failed
            .iter()
            .any(|o| ctx.role(&o.perspective) == Role::Primary);
        let remotes = caa
            .iter()
            .filter(|o| ctx.role(&o.perspective) == Role::Remote)
            .count();
        let remotes_failed = failed
            .iter()
            .filter(|o| ctx.role(&o.perspective) == Role::Remote)
            .count();
        let severity = if primary_failed || remotes_failed > allowed_failures(remotes) {
            Severity::Error
        } else {
            Severity::Warning
        };
        out.push(finding(
            ctx,
            FindingCode::CaaLookupFailed,
            severity,
            failed.iter().map(|o| o.perspective.clone()).collect(),
            failed.iter().map(|o| format!("{}: {}", o.perspective, o.summary)).collect(),
            "a CAA lookup error at the name or a parent counts as a refusal at Let's Encrypt: make every \
             nameserver answer CAA queries (NOERROR with an empty answer is fine; SERVFAIL, REFUSED, NOTIMP \
             and timeouts are not), from every region",
        ));
    }
}

/// Whether a CAA record is an `issue`/`issuewild` naming `ca` with an `accounturi` parameter.
fn names_ca_for_an_account(r: &crate::observation::CaaRecord, ca: &str) -> bool {
    let tag = r.tag.to_ascii_lowercase();
    if tag != "issue" && tag != "issuewild" {
        return false;
    }
    crate::checks::caa::parse_issue_value(r.value.as_bytes()).is_some_and(|(issuer, params)| {
        issuer.is_some_and(|i| !ca.is_empty() && i.eq_ignore_ascii_case(ca))
            && params
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("accounturi"))
    })
}
