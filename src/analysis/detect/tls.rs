//! TLS-ALPN-01 detectors (RFC 8737), read from the typed `TlsFacts` and phases of the
//! `tls-alpn-01` observations: port 443 unreachable (from every region, or only from some — the
//! geoblock pattern), a server that does not negotiate `acme-tls/1` (often a TLS-terminating
//! proxy or CDN in front), and a challenge certificate a CA would reject.

use super::*;
use crate::observation::TlsCertVerdict;

/// Error when the primary fails or more remotes fail than the quorum tolerates, else warning.
fn severity(ctx: &Context<'_>, all: &[&Observation], hit: &[&Observation]) -> Severity {
    let primary = hit
        .iter()
        .any(|o| ctx.role(&o.perspective) == Role::Primary);
    let remotes = all
        .iter()
        .filter(|o| ctx.role(&o.perspective) == Role::Remote)
        .count();
    let remotes_hit = hit
        .iter()
        .filter(|o| ctx.role(&o.perspective) == Role::Remote)
        .count();
    if primary || remotes_hit > allowed_failures(remotes) {
        Severity::Error
    } else {
        Severity::Warning
    }
}

fn push(
    ctx: &Context<'_>,
    all: &[&Observation],
    hit: &[&Observation],
    code: FindingCode,
    fix: &str,
    out: &mut Vec<Finding>,
) {
    if hit.is_empty() {
        return;
    }
    out.push(finding(
        ctx,
        code,
        severity(ctx, all, hit),
        hit.iter().map(|o| o.perspective.clone()).collect(),
        hit.iter()
            .map(|o| format!("{}: {}", o.perspective, o.summary))
            .collect(),
        fix,
    ));
}

pub(super) fn tls_alpn(ctx: &Context<'_>, obs: &[Observation], out: &mut Vec<Finding>) {
    let all: Vec<&Observation> = ca_like(obs, Check::TlsAlpn01)
        .filter(|o| !o.perspective_fault)
        .collect();
    if all.is_empty() {
        return;
    }
    let unreachable: Vec<&Observation> = all
        .iter()
        .copied()
        .filter(|o| matches!(o.phase, Some(Phase::Connect | Phase::Timeout)))
        .collect();
    let reached_elsewhere = all.iter().any(|o| o.tls.is_some() && o.phase.is_none());
    let fix = if reached_elsewhere {
        "port 443 answers from some regions but not from these: CAs validate from several \
         regions, so allow TCP 443 from everywhere (remove geographic or IP allow-lists, \
         geo-blocking firewall rules or rate limits on 443 for the challenge), or use http-01/dns-01"
    } else {
        "nothing answers on TCP port 443 for this name: start the server that answers tls-alpn-01 \
         (Caddy, Traefik, lego --tls) on 443, open 443 in the firewall and any port forwarding, \
         or use http-01/dns-01"
    };
    push(
        ctx,
        &all,
        &unreachable,
        FindingCode::TlsAlpnUnreachable,
        fix,
        out,
    );
    let not_offered: Vec<&Observation> = all
        .iter()
        .copied()
        .filter(|o| {
            o.phase == Some(Phase::Tls)
                || o.tls.as_ref().is_some_and(|t| {
                    t.alpn_refused || (o.phase.is_none() && t.alpn.as_deref() != Some("acme-tls/1"))
                })
        })
        .collect();
    push(
        ctx,
        &all,
        &not_offered,
        FindingCode::TlsAlpnNotOffered,
        "the server on port 443 must negotiate ALPN \"acme-tls/1\" and present the challenge \
         certificate while a challenge is pending. Caddy does it by itself unless \
         `disable_tlsalpn_challenge` is set; Traefik needs `certificatesResolvers.<name>.acme.tlsChallenge` \
         with the entry point on 443 terminating TLS in Traefik; lego needs `--tls` (with `--tls.port` \
         when 443 is forwarded to it). A TLS-terminating proxy, load balancer or CDN in front (Cloudflare \
         proxy, an ALB, nginx `listen 443 ssl`) answers the handshake itself and breaks tls-alpn-01: pass \
         443 through at the TCP level (e.g. nginx `stream` with `ssl_preread`) or use http-01/dns-01",
        out,
    );
    let bad: Vec<&Observation> =
        all.iter()
            .copied()
            .filter(|o| {
                o.tls.as_ref().and_then(|t| t.certificate).is_some_and(|c| {
                    !matches!(c, TlsCertVerdict::Valid | TlsCertVerdict::Unverified)
                })
            })
            .collect();
    push(
        ctx,
        &all,
        &bad,
        FindingCode::TlsAlpnBadCertificate,
        "the certificate served for acme-tls/1 must be the ACME client's challenge certificate \
         (RFC 8737 §3): self-signed, exactly one dNSName SAN equal to the name, and a critical \
         acmeIdentifier extension holding the SHA-256 of the key authorization. A wrong digest means \
         another challenge or another ACME client answers on this address: make sure one client answers \
         tls-alpn-01 for this name on every server behind it, and that a proxy does not serve its own certificate",
        out,
    );
}
