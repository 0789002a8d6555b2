//! The catalogue of finding codes (design §6): every problem the analysis can name, as one closed
//! enum, so detectors, the outcome rules and the renderers match on variants instead of comparing
//! strings, and a typo is a compile error rather than a silently different JSON code. The kebab-case
//! strings are part of the JSON contract (docs/json.md) and never change for an existing code.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A stable finding code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FindingCode {
    /// The tool could not use a perspective: coverage, not the domain's fault.
    PerspectiveError,
    /// A wildcard can only be validated with dns-01.
    WildcardNeedsDns01,
    /// Perspectives resolve the name to different addresses.
    GeodnsDivergence,
    /// HTTP-01 refused or dropped from some regions only.
    HttpGeoblocked,
    /// HTTP-01 fails everywhere.
    HttpUnreachable,
    /// The CA's User-Agent is refused where a browser's is not.
    UserAgentFiltered,
    /// The challenge answer comes from a cache.
    CdnCachedChallenge,
    /// The webroot does not serve the probe file.
    WebrootMismatch,
    /// The webroot probe could not run.
    WebrootProbeFailed,
    /// A redirect a CA will not follow.
    RedirectDisallowed,
    /// The challenge body is too large to be a key authorization.
    BodyTooLarge,
    /// One of several addresses does not answer.
    DeadAddress,
    /// AAAA published, port 80 broken over IPv6.
    Ipv6Broken,
    /// CAA forbids the CA.
    CaaForbids,
    /// A critical CAA property the CA does not know.
    CaaCriticalUnknown,
    /// The CAA lookup failed.
    CaaLookupFailed,
    /// DNS refuses or fails some regions only.
    DnsRefusedByRegion,
    /// Authoritative servers disagree.
    NsInconsistent,
    /// An authoritative server does not answer.
    NsUnreachable,
    /// The TXT value is missing on some authoritative server.
    TxtMissingOnNs,
    /// The TXT value was removed before validation ended.
    TxtEarlyRemoval,
    /// Apex and wildcard need two values in one RRset.
    TxtSharedName,
    /// Old TXT values left behind.
    TxtLeftover,
    /// A long negative-caching TTL on `_acme-challenge`.
    NegativeCacheRisk,
    /// Perspectives closer than the 500 km rule allows.
    PerspectivesTooClose,
    /// The certificate expires soon.
    CertificateExpiring,
    /// An ACME client's configuration could not be read.
    ClientConfigUnreadable,
    /// A validating resolver rejects the zone's DNSSEC.
    DnssecBogus,
    /// A remote engine could not be used.
    EngineUnavailable,
    /// A remote engine's own verdict, for comparison.
    EngineVerdict,
    /// The domain's data pointed at an address a CA will not contact (special-purpose range).
    ReservedAddress,
    /// The zone delegates to more nameservers than a validator asks; the rest went unasked.
    NameserversCapped,
    /// The run's `--deadline` passed before some perspectives finished: coverage, not the domain.
    DeadlineExceeded,
    /// The CA's own validation failed in an `--acme-dry-run`.
    AcmeDryRunInvalid,
    /// An `--acme-dry-run` got no verdict from the CA (not the domain's fault).
    AcmeDryRunError,
    /// A router's or modem's own web page answers on port 80 (port forwarding missing).
    RouterPage,
    /// A WAF, bot challenge or firewall page (HTML) instead of the key authorization.
    WafOrChallengePage,
    /// Plain HTTP and HTTPS crossed on the challenge path.
    HttpOnHttpsPort,
    /// A status other than 200/404 on the challenge path.
    UnexpectedHttpResponse,
    /// A CDN answers the challenge path: its own bypass setting.
    CdnDetected,
    /// A CAA record a CA would read differently than written.
    CaaSyntax,
    /// CAA `accounturi` ties issuance to one ACME account.
    CaaAccountBound,
    /// The TXT record sits at the name with the zone appended twice.
    TxtDoubledName,
    /// A name no CA issues for (a public suffix, no public TLD).
    NameNotIssuable,
    /// `--online-context`: Let's Encrypt's status page (third-party data).
    LeStatus,
    /// `--online-context`: certificates this week from CT logs vs Let's Encrypt's limits (third-party data).
    RateLimitContext,
    /// The challenge URL answered, but not with the expected key authorization (a status, a
    /// body or a failure no more specific finding explains).
    ChallengeNotServed,
    /// An authoritative server listed in NS answers without the AA flag (a lame delegation).
    NsLame,
    /// The name exists in some regions' views only (NXDOMAIN elsewhere: split horizon).
    NameMissingInRegion,
    /// A DNS answer too large for UDP, and the server refuses DNS over TCP.
    DnsTcpRefused,
    /// The certificate's ACME server is a CA whose CAA issuer domain is unknown: CAA not judged.
    CaUnknown,
    /// TLS-ALPN-01: port 443 does not answer (everywhere, or from some regions only).
    TlsAlpnUnreachable,
    /// TLS-ALPN-01: the server does not negotiate ALPN `acme-tls/1`.
    TlsAlpnNotOffered,
    /// TLS-ALPN-01: the challenge certificate is not what RFC 8737 requires.
    TlsAlpnBadCertificate,
    /// dns-01 was asked for without an expected TXT value, so it could not be judged.
    TxtNotJudged,
    /// An IP-address identifier (RFC 8738): CAA does not apply, no DNS is asked (info).
    CaaNotApplicable,
}

impl FindingCode {
    /// Every code, in catalogue order.
    pub const ALL: [FindingCode; 56] = [
        FindingCode::PerspectiveError,
        FindingCode::WildcardNeedsDns01,
        FindingCode::GeodnsDivergence,
        FindingCode::HttpGeoblocked,
        FindingCode::HttpUnreachable,
        FindingCode::UserAgentFiltered,
        FindingCode::CdnCachedChallenge,
        FindingCode::WebrootMismatch,
        FindingCode::WebrootProbeFailed,
        FindingCode::RedirectDisallowed,
        FindingCode::BodyTooLarge,
        FindingCode::DeadAddress,
        FindingCode::Ipv6Broken,
        FindingCode::CaaForbids,
        FindingCode::CaaCriticalUnknown,
        FindingCode::CaaLookupFailed,
        FindingCode::DnsRefusedByRegion,
        FindingCode::NsInconsistent,
        FindingCode::NsUnreachable,
        FindingCode::TxtMissingOnNs,
        FindingCode::TxtEarlyRemoval,
        FindingCode::TxtSharedName,
        FindingCode::TxtLeftover,
        FindingCode::NegativeCacheRisk,
        FindingCode::PerspectivesTooClose,
        FindingCode::CertificateExpiring,
        FindingCode::ClientConfigUnreadable,
        FindingCode::DnssecBogus,
        FindingCode::EngineUnavailable,
        FindingCode::EngineVerdict,
        FindingCode::ReservedAddress,
        FindingCode::NameserversCapped,
        FindingCode::DeadlineExceeded,
        FindingCode::AcmeDryRunInvalid,
        FindingCode::AcmeDryRunError,
        FindingCode::RouterPage,
        FindingCode::WafOrChallengePage,
        FindingCode::HttpOnHttpsPort,
        FindingCode::UnexpectedHttpResponse,
        FindingCode::CdnDetected,
        FindingCode::CaaSyntax,
        FindingCode::CaaAccountBound,
        FindingCode::TxtDoubledName,
        FindingCode::NameNotIssuable,
        FindingCode::LeStatus,
        FindingCode::RateLimitContext,
        FindingCode::ChallengeNotServed,
        FindingCode::NsLame,
        FindingCode::NameMissingInRegion,
        FindingCode::DnsTcpRefused,
        FindingCode::CaUnknown,
        FindingCode::TlsAlpnUnreachable,
        FindingCode::TlsAlpnNotOffered,
        FindingCode::TlsAlpnBadCertificate,
        FindingCode::TxtNotJudged,
        FindingCode::CaaNotApplicable,
    ];

    /// The code as it appears in JSON, tables and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::PerspectiveError => "perspective-error",
            FindingCode::WildcardNeedsDns01 => "wildcard-needs-dns01",
            FindingCode::GeodnsDivergence => "geodns-divergence",
            FindingCode::HttpGeoblocked => "http-geoblocked",
            FindingCode::HttpUnreachable => "http-unreachable",
            FindingCode::UserAgentFiltered => "user-agent-filtered",
            FindingCode::CdnCachedChallenge => "cdn-cached-challenge",
            FindingCode::WebrootMismatch => "webroot-mismatch",
            FindingCode::WebrootProbeFailed => "webroot-probe-failed",
            FindingCode::RedirectDisallowed => "redirect-disallowed",
            FindingCode::BodyTooLarge => "body-too-large",
            FindingCode::DeadAddress => "dead-address",
            FindingCode::Ipv6Broken => "ipv6-broken",
            FindingCode::CaaForbids => "caa-forbids",
            FindingCode::CaaCriticalUnknown => "caa-critical-unknown",
            FindingCode::CaaLookupFailed => "caa-lookup-failed",
            FindingCode::DnsRefusedByRegion => "dns-refused-by-region",
            FindingCode::NsInconsistent => "ns-inconsistent",
            FindingCode::NsUnreachable => "ns-unreachable",
            FindingCode::TxtMissingOnNs => "txt-missing-on-ns",
            FindingCode::TxtEarlyRemoval => "txt-early-removal",
            FindingCode::TxtSharedName => "txt-shared-name",
            FindingCode::TxtLeftover => "txt-leftover",
            FindingCode::NegativeCacheRisk => "negative-cache-risk",
            FindingCode::PerspectivesTooClose => "perspectives-too-close",
            FindingCode::CertificateExpiring => "certificate-expiring",
            FindingCode::ClientConfigUnreadable => "client-config-unreadable",
            FindingCode::DnssecBogus => "dnssec-bogus",
            FindingCode::EngineUnavailable => "engine-unavailable",
            FindingCode::EngineVerdict => "engine-verdict",
            FindingCode::ReservedAddress => "reserved-address",
            FindingCode::NameserversCapped => "nameservers-capped",
            FindingCode::DeadlineExceeded => "deadline-exceeded",
            FindingCode::AcmeDryRunInvalid => "acme-dry-run-invalid",
            FindingCode::AcmeDryRunError => "acme-dry-run-error",
            FindingCode::RouterPage => "router-page",
            FindingCode::WafOrChallengePage => "waf-or-challenge-page",
            FindingCode::HttpOnHttpsPort => "http-on-https-port",
            FindingCode::UnexpectedHttpResponse => "unexpected-http-response",
            FindingCode::CdnDetected => "cdn-detected",
            FindingCode::CaaSyntax => "caa-syntax",
            FindingCode::CaaAccountBound => "caa-account-bound",
            FindingCode::TxtDoubledName => "txt-doubled-name",
            FindingCode::NameNotIssuable => "name-not-issuable",
            FindingCode::LeStatus => "le-status",
            FindingCode::RateLimitContext => "rate-limit-context",
            FindingCode::ChallengeNotServed => "challenge-not-served",
            FindingCode::NsLame => "ns-lame",
            FindingCode::NameMissingInRegion => "name-missing-in-region",
            FindingCode::DnsTcpRefused => "dns-tcp-refused",
            FindingCode::CaUnknown => "ca-unknown",
            FindingCode::TlsAlpnUnreachable => "tls-alpn-unreachable",
            FindingCode::TlsAlpnNotOffered => "tls-alpn-not-offered",
            FindingCode::TlsAlpnBadCertificate => "tls-alpn-bad-certificate",
            FindingCode::TxtNotJudged => "txt-not-judged",
            FindingCode::CaaNotApplicable => "caa-not-applicable",
        }
    }

    /// Whether a finding with this code is about the run as a whole (its perspectives, engines,
    /// client configuration or webroot) rather than one name. The report still files it under an
    /// identifier (the first, or a file path) for the JSON contract; metrics leave that label out
    /// so an alert does not blame a name.
    pub fn is_run_level(self) -> bool {
        matches!(
            self,
            FindingCode::PerspectivesTooClose
                | FindingCode::EngineUnavailable
                | FindingCode::ClientConfigUnreadable
                | FindingCode::WebrootProbeFailed
        )
    }

    /// Whether the finding is about the tool's own reach (a broken perspective, the run's
    /// deadline) rather than the domain: it lowers coverage but never makes a name at risk.
    pub fn is_coverage(self) -> bool {
        matches!(
            self,
            FindingCode::PerspectiveError
                | FindingCode::DeadlineExceeded
                | FindingCode::AcmeDryRunError
        )
    }

    /// The code for its JSON string, if it is one.
    pub fn parse(s: &str) -> Option<FindingCode> {
        FindingCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

// Findings of equal severity are sorted by code; ordering by the string keeps that order (and so
// the JSON and the table) exactly as it was when codes were strings.
impl Ord for FindingCode {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for FindingCode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// Unit tests compare with the JSON strings; production code matches variants.
#[cfg(test)]
impl PartialEq<&str> for FindingCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
impl From<&str> for FindingCode {
    fn from(s: &str) -> Self {
        FindingCode::parse(s).unwrap_or_else(|| panic!("no finding code {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_strings_are_the_catalogue_strings() {
        for c in FindingCode::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<FindingCode>(&json).unwrap(), c);
            assert_eq!(FindingCode::parse(c.as_str()), Some(c));
        }
    }
}
