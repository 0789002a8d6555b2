//! Reading what an installed ACME client will renew: certbot's renewal confs and acme.sh's domain
//! confs become `ManagedCert`s (names, validation method, webroots, CA and account), so the checks
//! can run against exactly what the next renewal will ask for. Everything here is pure parsing and
//! file reading, no network. Each source file succeeds or fails on its own: one broken conf must
//! not hide the other certificates, so the readers return the good ones and a `ReadError` per bad
//! file side by side instead of stopping at the first problem.

pub mod acme_sh;
pub mod certbot;

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::identifier::Identifier;
use crate::observation::Method;

/// One certificate an ACME client on this machine renews, as its configuration describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManagedCert {
    /// The renewal conf (certbot) or domain conf (acme.sh) it came from.
    pub source: PathBuf,
    /// certbot lineage name, or acme.sh main domain.
    pub lineage: String,
    /// The names the next renewal will request: the current certificate's DNS SANs (certbot,
    /// which renews exactly those), `Le_Domain` + `Le_Alt` (acme.sh). Order kept, duplicates dropped.
    pub names: Vec<Identifier>,
    /// The validation method the renewal will use (see the rules in `derive_method`).
    pub method: Method,
    /// The client's plugin or mode: "webroot", "nginx", "dns-cloudflare", "manual", acme.sh
    /// "dns_cf", "webroot", "standalone", …
    pub authenticator: String,
    /// Webroot directory per name, for the names served from a webroot.
    pub webroots: Vec<(String, PathBuf)>,
    /// ACME directory URL.
    pub server: Option<String>,
    /// The CAA issuer domain of the CA behind `server`, when the CA is known.
    pub ca_issuer_domain: Option<String>,
    /// The ACME account URL (what CAA `accounturi` names), when the client stored it.
    pub account_uri: Option<String>,
    /// The current certificate's notAfter.
    pub not_after: Option<DateTime<Utc>>,
    /// From when the client's own renew command renews this certificate: certbot's notAfter
    /// minus `renew_before_expiry` (30 days unless the conf says otherwise), acme.sh's
    /// `Le_NextRenewTime`. `None` when unknown (then it counts as due: guessing "not due" could
    /// let a certificate expire).
    pub renew_from: Option<DateTime<Utc>>,
    /// False when the conf turns automatic renewal off (certbot `autorenew = False`): the
    /// client's renew command then skips it.
    pub autorenew: bool,
    /// Non-fatal oddities, one line each.
    pub warnings: Vec<String>,
}

/// A source file that could not be turned into a `ManagedCert`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", crate::text::one_line(&.path.display().to_string(), usize::MAX), crate::text::one_line(.message, usize::MAX))]
pub struct ReadError {
    /// The conf file (or directory) concerned.
    pub path: PathBuf,
    /// What went wrong, in plain words.
    pub message: String,
}

impl ReadError {
    pub(crate) fn new(path: &Path, message: impl Into<String>) -> ReadError {
        ReadError {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Upper bound for any file read here. Confs and certificates are a few KiB; the bound keeps a
/// stray symlink to a device or a huge file from exhausting memory.
pub(crate) const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads at most `MAX_FILE_BYTES`, failing (rather than truncating) on larger files so a partial
/// read is never parsed as if it were complete.
pub(crate) fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    crate::text::read_file_capped(path, MAX_FILE_BYTES)
}

pub(crate) use crate::text::io_message;

/// What the checks need from a certificate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CertFacts {
    /// dNSName SANs as written in the certificate.
    pub dns_names: Vec<String>,
    /// iPAddress SANs, rendered; reported because they cannot be checked as DNS identifiers.
    pub ip_names: Vec<String>,
    /// notAfter, when it is representable.
    pub not_after: Option<DateTime<Utc>>,
}

/// Parses the first PEM CERTIFICATE block of `pem` (certbot's cert.pem and acme.sh's .cer hold
/// the leaf first; a fullchain would too).
pub(crate) fn parse_cert_pem(pem: &[u8]) -> Result<CertFacts, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::{Error as PemError, PemObject};
    use x509_cert::der::Decode;
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;

    // The pem crate's own messages quote whole lines as byte arrays; ours stay short.
    let der = CertificateDer::from_pem_slice(pem).map_err(|e| match e {
        PemError::NoItemsFound => "no PEM CERTIFICATE block".to_owned(),
        PemError::MissingSectionEnd { .. } => "PEM block has no END line".to_owned(),
        PemError::IllegalSectionStart { .. } => "malformed PEM BEGIN line".to_owned(),
        PemError::Base64Decode(_) => "PEM block is not valid base64".to_owned(),
        other => format!("unreadable PEM: {other}"),
    })?;
    let cert = x509_cert::Certificate::from_der(der.as_ref())
        .map_err(|e| format!("not a valid X.509 certificate: {e}"))?;
    let tbs = cert.tbs_certificate();

    let mut dns_names = Vec::new();
    let mut ip_names = Vec::new();
    let san = tbs
        .get_extension::<SubjectAltName>()
        .map_err(|e| format!("unreadable subjectAltName extension: {e}"))?;
    if let Some((_critical, SubjectAltName(names))) = san {
        for name in names {
            match name {
                GeneralName::DnsName(n) => dns_names.push(n.as_str().to_owned()),
                GeneralName::IpAddress(octets) => ip_names.push(render_ip(octets.as_bytes())),
                _ => {}
            }
        }
    }

    let secs = tbs.validity().not_after.to_unix_duration().as_secs();
    let not_after = i64::try_from(secs)
        .ok()
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0));
    Ok(CertFacts {
        dns_names,
        ip_names,
        not_after,
    })
}

fn render_ip(octets: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(octets) {
        std::net::Ipv4Addr::from(v4).to_string()
    } else if let Ok(v6) = <[u8; 16]>::try_from(octets) {
        std::net::Ipv6Addr::from(v6).to_string()
    } else {
        format!("<{} address octets>", octets.len())
    }
}

/// Turns raw names into identifiers, keeping order and dropping duplicates; names that cannot be
/// certificate identifiers become warnings, so one odd SAN does not lose the others.
pub(crate) fn collect_names<'a>(
    raw: impl IntoIterator<Item = &'a str>,
    what: &str,
    warnings: &mut Vec<String>,
) -> Vec<Identifier> {
    let mut names: Vec<Identifier> = Vec::new();
    for r in raw {
        match Identifier::parse(r) {
            Ok(id) if !names.contains(&id) => names.push(id),
            Ok(_) => {}
            Err(e) => warnings.push(format!("{what}: skipped {e}")),
        }
    }
    names
}

/// The CAA issuer domain of a CA, from its ACME directory URL. CAs list these on their CAA pages;
/// staging endpoints share the production CA's domain. A CA not listed here is unknown (`None`):
/// the caller then says so and judges no CAA, because a guess would be a verdict about the wrong
/// CA. Each entry names the page that gives the domain.
pub fn ca_issuer_domain(server: &str) -> Option<String> {
    let url = url::Url::parse(server.trim()).ok()?;
    let host = url.host_str()?.trim_end_matches('.');
    let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    let issuer = if under("letsencrypt.org") {
        // https://letsencrypt.org/docs/caa/ : `issue "letsencrypt.org"`, production and staging
        // (acme-v02 / acme-staging-v02.api.letsencrypt.org).
        "letsencrypt.org"
    } else if under("zerossl.com") || under("sectigo.com") {
        // https://help.zerossl.com/hc/en-us/articles/360060119753-Invalid-CAA-Records : ZeroSSL
        // issues from Sectigo's CA, "add a new CAA record … with sectigo.com as value"; Sectigo's
        // own ACME endpoints (acme.sectigo.com) are the same CA.
        "sectigo.com"
    } else if under("pki.goog") {
        // Google Trust Services (dv.acme-v02.api.pki.goog): the issuer domain is "pki.goog", as
        // GTS's FAQ (https://pki.goog/faq/) and google.com's own `0 issue "pki.goog"` show.
        "pki.goog"
    } else if under("buypass.com") || under("buypass.no") {
        // https://community.buypass.com/t/h7hqcpz/acme-caa-notification : "include 'buypass.no'
        // or 'buypass.com' in CAA records" (buypass.com is the one we suggest).
        "buypass.com"
    } else if under("ssl.com") {
        // https://www.ssl.com/how-to/configure-caa-records-to-authorize-ssl-com/ : `issue "ssl.com"`.
        "ssl.com"
    } else {
        // Actalis and DigiCert also run ACME servers, but no CAA page of theirs could be checked
        // here: they stay unknown (the user gives --ca) rather than carry an unverified domain.
        return None;
    };
    Some(issuer.to_owned())
}

/// An ACME directory URL as reports show it: scheme, host, port and path only, so user
/// information or a query string (which could carry credentials) never reaches the output.
/// Text that is not a URL is shown as `(unparsable ACME server URL)`.
pub fn shown_server(server: &str) -> String {
    match url::Url::parse(server.trim()) {
        Ok(u) if u.host_str().is_some() => {
            let port = u.port().map_or(String::new(), |p| format!(":{p}"));
            format!(
                "{}://{}{port}{}",
                u.scheme(),
                u.host_str().unwrap_or_default(),
                u.path()
            )
        }
        _ => "(unparsable ACME server URL)".into(),
    }
}

/// How a client plugin or mode can answer challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capability {
    /// Only http-01 (webroot, standalone, nginx, apache, acme.sh stateless).
    Http,
    /// Only dns-01 (DNS plugins and APIs).
    Dns,
    /// Either, chosen by preference (certbot manual, plugins we do not know).
    Either,
}

/// A challenge type named in certbot's `pref_challs`.
pub(crate) fn parse_challenge(s: &str) -> Option<Method> {
    match s.trim().to_ascii_lowercase().as_str() {
        "http-01" | "http" => Some(Method::Http01),
        "dns-01" | "dns" => Some(Method::Dns01),
        "tls-alpn-01" | "tls-alpn" => Some(Method::TlsAlpn01),
        _ => None,
    }
}

/// Derives the method a renewal will use.
///
/// Like certbot, the first preferred challenge the plugin supports wins, else the plugin's own
/// order (http-01 before dns-01 for manual). A wildcard name forces dns-01 whatever the plugin:
/// RFC 8555 §7.1.3 and the CAs offer nothing else for wildcards, so that is what the CA will check
/// (and, when the plugin cannot do dns-01, the renewal fails: worth a warning).
pub(crate) fn derive_method(
    authenticator: &str,
    capability: Capability,
    prefs: &[Method],
    names: &[Identifier],
    warnings: &mut Vec<String>,
) -> Method {
    let supported: &[Method] = match capability {
        Capability::Http => &[Method::Http01],
        Capability::Dns => &[Method::Dns01],
        Capability::Either => &[Method::Http01, Method::Dns01],
    };
    let preferred = prefs.iter().copied().find(|m| supported.contains(m));
    if preferred.is_none() && !prefs.is_empty() {
        warnings.push(format!(
            "preferred challenges ({}) are not supported by authenticator {authenticator:?}; \
             the client would refuse to renew",
            prefs
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let chosen = preferred.unwrap_or(supported[0]);

    let Some(wildcard) = names.iter().find(|n| n.is_wildcard()) else {
        return chosen;
    };
    if chosen == Method::Dns01 {
        return Method::Dns01;
    }
    if !supported.contains(&Method::Dns01) {
        warnings.push(format!(
            "{wildcard} needs dns-01 but authenticator {authenticator:?} only answers http-01: \
             the renewal will fail"
        ));
    } else if !prefs.is_empty() && !prefs.contains(&Method::Dns01) {
        warnings.push(format!(
            "{wildcard} needs dns-01 but the preferred challenges exclude it: the renewal will fail"
        ));
    } else {
        warnings.push(format!(
            "{wildcard} forces dns-01; the other names will probably be validated with http-01"
        ));
    }
    Method::Dns01
}

impl ManagedCert {
    /// Whether the client's renew command would renew it at `now` (ignoring revocation, which
    /// needs the network and makes certbot renew early).
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.autorenew && self.renew_from.is_none_or(|t| now >= t)
    }
}

/// Parses a certbot renewal interval (`renew_before_expiry`): one or more `N unit` pairs as
/// parsedatetime reads them (`30 days`, `3 weeks`, `6 months 1 week`, `12 hours`); a bare number
/// is days, as in certbot. Months count 30 days and years 365. `None` when it cannot be read.
pub(crate) fn parse_interval(text: &str) -> Option<chrono::TimeDelta> {
    let text = text.trim();
    if let Ok(days) = text.parse::<i64>() {
        return chrono::TimeDelta::try_days(days);
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return None;
    }
    let mut total = chrono::TimeDelta::zero();
    for pair in words.chunks(2) {
        let n: i64 = pair[0].parse().ok()?;
        let unit = pair[1].trim_end_matches(',').to_ascii_lowercase();
        let secs_per: i64 = match unit.trim_end_matches('s') {
            "second" | "sec" => 1,
            "minute" | "min" => 60,
            "hour" | "hr" | "h" => 3600,
            "day" | "d" => 86_400,
            "week" | "wk" | "w" => 7 * 86_400,
            "month" | "mon" => 30 * 86_400,
            "year" | "yr" | "y" => 365 * 86_400,
            _ => return None,
        };
        total += chrono::TimeDelta::try_seconds(n.checked_mul(secs_per)?)?;
    }
    Some(total)
}

impl fmt::Display for ManagedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.names.iter().map(|n| n.name.as_str()).collect();
        write!(
            f,
            "{} ({}, {}): {}",
            self.lineage,
            self.authenticator,
            self.method.as_str(),
            names.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<Identifier> {
        names
            .iter()
            .map(|n| Identifier::parse(n).unwrap())
            .collect()
    }

    #[test]
    fn renewal_intervals_read_like_certbot() {
        let d = |n: i64| chrono::TimeDelta::try_days(n);
        assert_eq!(parse_interval("30 days"), d(30));
        assert_eq!(parse_interval(" 10 "), d(10));
        assert_eq!(parse_interval("3 weeks"), d(21));
        assert_eq!(parse_interval("1 week 2 days"), d(9));
        assert_eq!(parse_interval("2 months"), d(60));
        assert_eq!(parse_interval("12 hours"), chrono::TimeDelta::try_hours(12));
        for bad in ["", "soon", "days 30", "30 fortnights", "1 day 2"] {
            assert_eq!(parse_interval(bad), None, "{bad}");
        }
    }

    #[test]
    fn ca_issuer_domains() {
        let cases = [
            (
                "https://acme-v02.api.letsencrypt.org/directory",
                Some("letsencrypt.org"),
            ),
            (
                "https://acme-staging-v02.api.letsencrypt.org/directory",
                Some("letsencrypt.org"),
            ),
            ("https://acme.zerossl.com/v2/DV90", Some("sectigo.com")),
            (
                "https://dv.acme-v02.api.pki.goog/directory",
                Some("pki.goog"),
            ),
            (
                "https://dv.acme-v02.test-api.pki.goog/directory",
                Some("pki.goog"),
            ),
            (
                "https://api.buypass.com/acme/directory",
                Some("buypass.com"),
            ),
            (
                "https://api.test4.buypass.no/acme/directory",
                Some("buypass.com"),
            ),
            ("https://acme.ssl.com/sslcom-dv-ecc", Some("ssl.com")),
            (
                "HTTPS://ACME-V02.API.LETSENCRYPT.ORG/directory",
                Some("letsencrypt.org"),
            ),
            ("https://ca.internal.example/acme/directory", None),
            // A look-alike host must not borrow a known CA's identity.
            ("https://notletsencrypt.org/directory", None),
            ("not a url", None),
            ("", None),
        ];
        for (server, want) in cases {
            assert_eq!(ca_issuer_domain(server).as_deref(), want, "{server}");
        }
    }

    #[test]
    fn http_plugins_give_http01() {
        let mut w = Vec::new();
        let m = derive_method(
            "webroot",
            Capability::Http,
            &[],
            &ids(&["a.example"]),
            &mut w,
        );
        assert_eq!(m, Method::Http01);
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn dns_plugins_give_dns01_even_if_http_is_preferred_first() {
        let mut w = Vec::new();
        let prefs = [Method::Http01, Method::Dns01];
        let m = derive_method(
            "dns-x",
            Capability::Dns,
            &prefs,
            &ids(&["a.example"]),
            &mut w,
        );
        assert_eq!(m, Method::Dns01);
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn either_follows_preference_order() {
        let mut w = Vec::new();
        let names = ids(&["a.example"]);
        let dns_first = [Method::Dns01, Method::Http01];
        let http_first = [Method::Http01, Method::Dns01];
        assert_eq!(
            derive_method("manual", Capability::Either, &dns_first, &names, &mut w),
            Method::Dns01
        );
        assert_eq!(
            derive_method("manual", Capability::Either, &http_first, &names, &mut w),
            Method::Http01
        );
        assert_eq!(
            derive_method("manual", Capability::Either, &[], &names, &mut w),
            Method::Http01
        );
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn unsupported_preference_warns() {
        let mut w = Vec::new();
        let m = derive_method("nginx", Capability::Http, &[Method::Dns01], &[], &mut w);
        assert_eq!(m, Method::Http01);
        assert!(w[0].contains("not supported"), "{w:?}");
    }

    #[test]
    fn wildcards_force_dns01() {
        let names = ids(&["a.example", "*.a.example"]);

        let mut w = Vec::new();
        assert_eq!(
            derive_method("webroot", Capability::Http, &[], &names, &mut w),
            Method::Dns01
        );
        assert!(
            w[0].contains("*.a.example") && w[0].contains("will fail"),
            "{w:?}"
        );

        let mut w = Vec::new();
        let http_only = [Method::Http01];
        assert_eq!(
            derive_method("manual", Capability::Either, &http_only, &names, &mut w),
            Method::Dns01
        );
        assert!(w[0].contains("exclude"), "{w:?}");

        let mut w = Vec::new();
        assert_eq!(
            derive_method("manual", Capability::Either, &[], &names, &mut w),
            Method::Dns01
        );
        assert!(w[0].contains("other names"), "{w:?}");

        let mut w = Vec::new();
        assert_eq!(
            derive_method("dns-x", Capability::Dns, &[], &names, &mut w),
            Method::Dns01
        );
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn challenge_names() {
        assert_eq!(parse_challenge("dns-01"), Some(Method::Dns01));
        assert_eq!(parse_challenge(" DNS "), Some(Method::Dns01));
        assert_eq!(parse_challenge("http"), Some(Method::Http01));
        assert_eq!(parse_challenge("tls-alpn-01"), Some(Method::TlsAlpn01));
        assert_eq!(parse_challenge("tls-sni-01"), None);
    }

    #[test]
    fn read_error_display_is_one_line() {
        let e = ReadError::new(Path::new("/etc/a\nb.conf"), "bad\nthing\u{7}");
        let shown = e.to_string();
        assert_eq!(shown, "/etc/a\\nb.conf: bad\\nthing\\x07");
        let plain = ReadError::new(Path::new("/x.conf"), "missing authenticator");
        assert_eq!(plain.to_string(), "/x.conf: missing authenticator");
    }

    #[test]
    fn names_are_normalised_deduplicated_and_bad_ones_warned() {
        let mut w = Vec::new();
        let got = collect_names(
            [
                "Example.test",
                "example.test.",
                "a_b.example.test",
                "www.example.test",
            ],
            "certificate",
            &mut w,
        );
        assert_eq!(got, ids(&["example.test", "www.example.test"]));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("a_b.example.test"), "{w:?}");
    }

    #[test]
    fn garbage_pem_is_an_error_not_a_panic() {
        assert!(parse_cert_pem(b"").is_err());
        assert!(parse_cert_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n").is_err());
        assert!(
            parse_cert_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
        assert!(parse_cert_pem(&[0xff; 64]).is_err());
    }

    #[test]
    fn truncated_certificates_never_panic() {
        let pem = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/certbot/live/example.test/cert.pem"),
        )
        .unwrap();
        assert!(parse_cert_pem(&pem).is_ok());
        for cut in 0..pem.len() {
            let _ = parse_cert_pem(&pem[..cut]);
            let mut flipped = pem.clone();
            flipped[cut] ^= 0x41;
            let _ = parse_cert_pem(&flipped);
        }
    }

    #[test]
    fn reads_sans_ips_and_not_after() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/certbot/live");
        let facts =
            parse_cert_pem(&std::fs::read(dir.join("nginx.example.test/cert.pem")).unwrap())
                .unwrap();
        assert_eq!(facts.dns_names, ["nginx.example.test"]);
        assert_eq!(facts.ip_names, ["192.0.2.10"]);
        assert_eq!(
            facts.not_after.map(|t| t.to_rfc3339()).as_deref(),
            Some("2027-02-26T15:51:56+00:00")
        );
    }
}
