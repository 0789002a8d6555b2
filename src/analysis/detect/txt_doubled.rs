//! The TXT at a doubled name (Let's Debug `dns01.go` `TXTDoubleLabel`): a DNS panel appended the
//! zone to a name typed in full, so the record sits at `_acme-challenge.example.com.example.com`
//! where no CA looks. A wildcard TXT answering a random name beside it is not such evidence.

use super::*;

pub(super) fn txt_doubled(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let hits: Vec<&Observation> = ca_like(obs, Check::Dns01)
        .filter(|o| !o.perspective_fault)
        .filter(|o| o.txt_doubled.as_ref().is_some_and(|d| !d.wildcard))
        .collect();
    let Some(first) = hits.first() else { return };
    let Some(d) = first.txt_doubled.as_ref() else {
        return;
    };
    // The expected value is at the wrong name and missing at the right one: that is why this
    // validation fails, not a leftover beside a working record.
    let explains_failure = hits.iter().any(|o| {
        !o.ok
            && o.txt_doubled
                .as_ref()
                .is_some_and(|d| ctx.expect_txt.iter().any(|e| d.values.contains(e)))
    });
    let severity = if explains_failure {
        Severity::Error
    } else {
        Severity::Warning
    };
    let challenge = format!(
        "_acme-challenge.{}",
        ctx.identifier.strip_prefix("*.").unwrap_or(ctx.identifier)
    );
    out.push(finding(
        ctx,
        FindingCode::TxtDoubledName,
        severity,
        hits.iter().map(|o| o.perspective.clone()).collect(),
        vec![format!(
            "TXT at {}: {} (a random name beside it has no such TXT, so this is not a wildcard)",
            d.name,
            d.values.join(" ")
        )],
        &format!(
            "the TXT record was created at {} instead of {challenge}: the DNS panel appends the zone to the \
             name you type. Enter only the part before the zone (e.g. \"_acme-challenge\" or \
             \"_acme-challenge.www\"), or the full name with a trailing dot (\"{challenge}.\"), and delete the \
             record at the doubled name",
            d.name
        ),
    ));
}
