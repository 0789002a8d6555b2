//! The CA behind a certificate's ACME server is not one whose CAA issuer domain mpic-check knows
//! (a private ACME server such as Pebble or step-ca, or a CA not in the table): CAA was not judged
//! against any issuer domain, and the user is told so with the one flag that fixes it. Read from
//! typed facts: the certificate's `unknown_ca` and the CAA records each perspective found.

use super::*;
use crate::model::CertInfo;

/// `ca-unknown` for a name whose certificate's CA is unknown: information, with the CAA records
/// that name issuers as evidence. Not a warning: whether those records allow this CA cannot be
/// told, and a private CA (Pebble, step-ca) often does not check CAA at all, so "at risk" would
/// be a guess; the user is told what was not judged and the flag that judges it.
pub fn unknown_ca(
    ctx: &Context<'_>,
    cert: Option<&CertInfo>,
    obs: &[Observation],
) -> Option<Finding> {
    let server = cert?.unknown_ca.as_deref()?;
    let restricting: Vec<&Observation> = ca_like(obs, Check::Caa)
        .filter(|o| {
            o.caa.as_ref().is_some_and(|c| {
                c.records.iter().any(|r| {
                    let tag = r.tag.to_ascii_lowercase();
                    tag == "issue" || tag == "issuewild" || tag == "issuemail"
                })
            })
        })
        .collect();
    let mut evidence = vec![format!(
        "unknown CA at {server} — CAA not judged; give --ca DOMAIN"
    )];
    evidence.extend(
        restricting
            .iter()
            .take(3)
            .map(|o| format!("{}: {}", o.perspective, o.summary)),
    );
    let severity = Severity::Info;
    Some(finding(
        ctx,
        FindingCode::CaUnknown,
        severity,
        restricting.iter().map(|o| o.perspective.clone()).collect(),
        evidence,
        "the renewal's ACME server is not a CA whose CAA issuer domain mpic-check knows, so CAA was \
         not checked for it: pass --ca with the issuer domain your CA documents for CAA (e.g. --ca \
         sectigo.com), or set `ca` in the configuration file",
    ))
}
