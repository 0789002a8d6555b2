//! Detectors: pure functions from one identifier's observations to findings with a stable code,
//! the evidence (what each side saw) and the fix in plain words. A detector never blames the
//! domain for the tool's own failure to use a perspective; that is `perspective-error`.

use std::collections::BTreeMap;

use super::FindingCode;
use super::roster::Roster;
use crate::model::{Finding, Severity};
use crate::observation::{Check, Method, Observation, Phase, Role, Signature, ToolFault};

/// What a detector knows about the run besides the observations.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The identifier.
    pub identifier: &'a str,
    /// Wildcard identifier.
    pub wildcard: bool,
    /// Methods evaluated.
    pub methods: &'a [Method],
    /// The run's perspectives: roles and nameserver host names, looked up by typed id.
    pub roster: &'a Roster,
    /// The CAA issuer domain.
    pub ca: &'a str,
    /// dns-01 values the user expects.
    pub expect_txt: &'a [String],
    /// S/MIME: CAA issuemail instead of issue.
    pub smime: bool,
    /// Perspectives the run's deadline cut off for this identifier (`IdentifierRun::unfinished`).
    pub unfinished: &'a [String],
}

impl Context<'_> {
    fn role(&self, name: &str) -> Role {
        self.roster.role_of(name)
    }

    /// Whether the named perspective is an authoritative nameserver asked directly.
    fn is_nameserver(&self, name: &str) -> bool {
        self.roster.is_nameserver(name)
    }
}

pub(super) fn finding(
    ctx: &Context<'_>,
    code: FindingCode,
    severity: Severity,
    who: Vec<String>,
    evidence: Vec<String>,
    fix: &str,
) -> Finding {
    Finding {
        code,
        severity,
        identifier: ctx.identifier.into(),
        perspectives: who,
        evidence,
        fix: fix.into(),
    }
}

/// Runs every detector.
pub fn detect(ctx: &Context<'_>, obs: &[Observation]) -> Vec<Finding> {
    let mut out = Vec::new();
    perspective_errors(ctx, obs, &mut out);
    deadline_exceeded(ctx, &mut out);
    wildcard_needs_dns01(ctx, &mut out);
    name_validity(ctx, &mut out);
    caa_not_applicable(ctx, &mut out);
    geodns(ctx, obs, &mut out);
    name_missing_in_region(ctx, obs, &mut out);
    http_failures(ctx, obs, &mut out);
    tls_alpn(ctx, obs, &mut out);
    per_address(ctx, obs, &mut out);
    fingerprints(ctx, obs, &mut out);
    unexplained_http(ctx, obs, &mut out);
    caa(ctx, obs, &mut out);
    caa_syntax(ctx, obs, &mut out);
    dns_refused(ctx, obs, &mut out);
    tcp_refused(ctx, obs, &mut out);
    lame_behind_servfail(ctx, obs, &mut out);
    nameservers(ctx, obs, &mut out);
    txt(ctx, obs, &mut out);
    txt_not_judged(ctx, obs, &mut out);
    txt_doubled(ctx, obs, &mut out);
    dnssec(ctx, obs, &mut out);
    reserved_addresses(ctx, obs, &mut out);
    nameservers_capped(ctx, obs, &mut out);
    if let Some(cdn) = cdn_advice(ctx, obs, &mut out) {
        out.push(cdn);
    }
    out
}

/// The BR table's tolerated non-corroborations for `n` remotes: beyond this a CA cannot issue.
pub(super) fn allowed_failures(n: usize) -> usize {
    match n {
        0 | 1 => 0,
        2..=5 => 1,
        _ => 2,
    }
}

pub(super) fn ca_like(obs: &[Observation], check: Check) -> impl Iterator<Item = &Observation> {
    obs.iter()
        .filter(move |o| o.check == check && o.address.is_none())
}

/// The remedy for the tool's own faults among a run's failures: the typed fault decides it.
fn tool_fault_fix(faults: impl Iterator<Item = ToolFault>) -> String {
    let mut faults: Vec<ToolFault> = faults.collect();
    faults.sort_by_key(|f| *f as u8);
    faults.dedup();
    let mut fix: Vec<&str> = faults
        .iter()
        .map(|f| match f {
            ToolFault::ResolverOverloaded => {
                "The resolver did not keep up with this run (overloaded or rate-limiting this host): \
                 check fewer names at once (--concurrency) or use a resolver that does not limit this host; \
                 the names were asked again once at a lower concurrency."
            }
            ToolFault::OutOfFiles => {
                "mpic-check ran out of open files: raise the limit (ulimit -n, or LimitNOFILE= in the \
                 systemd unit) or check fewer names at once (--concurrency)."
            }
        })
        .collect();
    if fix.is_empty() {
        fix.push("Check that perspective's settings (or this host's network), not the domain.");
    }
    fix.join(" ")
}

fn perspective_errors(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let mut by: BTreeMap<&str, &Observation> = BTreeMap::new();
    // A perspective the deadline cut off is not broken: `deadline_exceeded` tells that story.
    for o in obs
        .iter()
        .filter(|o| o.perspective_fault && !ctx.unfinished.contains(&o.perspective))
    {
        by.entry(o.perspective.as_str()).or_insert(o);
    }
    if by.is_empty() {
        return;
    }
    // One finding for all of them: each is the same kind of problem with the tool's setup.
    let names: Vec<String> = by.keys().map(|n| n.to_string()).collect();
    out.push(finding(
        ctx,
        FindingCode::PerspectiveError,
        Severity::Warning,
        names.clone(),
        by.iter().map(|(name, o)| format!("{name}: {}", o.summary)).collect(),
        &format!(
            "mpic-check could not use {} ({}): its proxy or resolver failed, so its results are left out \
             of the quorum and lower coverage. {}",
            if names.len() == 1 { "this perspective" } else { "these perspectives" },
            names.join(", "),
            tool_fault_fix(obs.iter().filter_map(|o| o.tool_fault))
        ),
    ));
}

/// The run's `--deadline` passed before these perspectives finished: their results are left out
/// of the quorum like a broken perspective's, and the fix is about the run, never the domain.
fn deadline_exceeded(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    if ctx.unfinished.is_empty() {
        return;
    }
    let names = ctx.unfinished.to_vec();
    out.push(finding(
        ctx,
        FindingCode::DeadlineExceeded,
        Severity::Warning,
        names.clone(),
        vec![format!(
            "{}: not finished when the run's deadline passed",
            names.join(", ")
        )],
        "mpic-check stopped at its --deadline before these perspectives answered, so their results \
         are left out of the quorum (this says nothing about the domain): raise --deadline (below the \
         monitoring system's check timeout), lower --timeout, or check fewer names per run",
    ));
}

fn wildcard_needs_dns01(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    if ctx.wildcard && ctx.methods.contains(&Method::Http01) {
        out.push(finding(
            ctx,
            FindingCode::WildcardNeedsDns01,
            Severity::Error,
            Vec::new(),
            vec![format!(
                "{} is a wildcard and http-01 was requested",
                ctx.identifier
            )],
            "CAs validate wildcard names only with dns-01: switch this certificate to a DNS plugin \
             (e.g. certbot --preferred-challenges dns) or drop the wildcard",
        ));
    }
}

/// The name and address of a nameserver source, whose perspective is named `name@address …`.
pub(super) fn nameserver_of<'a>(ctx: &Context, perspective: &'a str) -> (String, &'a str) {
    let host = ctx
        .roster
        .id(perspective)
        .and_then(|id| ctx.roster.nameserver(id))
        .unwrap_or_default()
        .to_string();
    let ip = perspective
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or("");
    (host, ip)
}

mod addresses;
mod ca;
mod caa;
mod caa_syntax;
mod dns;
mod fingerprints;
mod http;
mod tls;
mod txt_doubled;
mod validity;

use addresses::{geodns, name_missing_in_region, reserved_addresses};
pub use ca::unknown_ca;
use caa::caa;
use caa_syntax::caa_syntax;
use dns::{
    dns_refused, dnssec, lame_behind_servfail, nameservers, nameservers_capped, tcp_refused, txt,
    txt_not_judged,
};
use fingerprints::{cdn_advice, fingerprints};
use http::{http_failures, per_address, unexplained as unexplained_http};
use tls::tls_alpn;
use txt_doubled::txt_doubled;
pub use validity::refusal;
use validity::{caa_not_applicable, name_validity};

#[cfg(test)]
mod tests;
