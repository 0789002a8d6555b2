//! TLS-ALPN-01 (RFC 8737) as a CA validates it, from one perspective: the name's addresses in
//! this perspective's DNS view (the first IPv6 address, then the first IPv4 one on failure, as
//! Boulder's va/tlsalpn.go `tryGetChallengeCert` does), a TLS 1.2+ handshake on port 443 with the
//! name as SNI offering only ALPN `acme-tls/1`, and the certificate presented checked as
//! `validateTLSALPN01` checks it: `acme-tls/1` negotiated; self-signed (subject = issuer; the
//! signature itself is not verified here); no extension twice; exactly one dNSName SAN equal to
//! the name (case-insensitively) and no iPAddress SAN (`checkExpectedSAN`); the acmeIdentifier
//! extension (OID 1.3.6.1.5.5.7.1.31) present, critical, and an OCTET STRING holding the SHA-256
//! of the key authorization. An IP-address identifier (RFC 8738 §6) is dialled at the address
//! itself (no lookup) with its reverse-DNS name as SNI, and its certificate must hold exactly one
//! iPAddress SAN equal to it and no dNSName (Boulder `va/tlsalpn.go`: `getChallengeCert` sends
//! `dns.ReverseAddr`, `checkExpectedSAN` compares the iPAddress). The verdict is typed
//! ([`TlsCertVerdict`]) so the analysis never reads the summary.

use std::net::IpAddr;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::blank;
use crate::observation::{Check, Observation, Phase, Signature, TlsCertVerdict, TlsFacts};
use crate::perspective::Vantage;
use crate::perspective::tls::{ACME_TLS_1, handshake_with_sni};

/// The acmeIdentifier extension (RFC 8737 §3, id-pe 31).
const ACME_IDENTIFIER: &str = "1.3.6.1.5.5.7.1.31";

/// What the challenge certificate must name: a DNS name, or an IP address (RFC 8738).
#[derive(Debug, Clone, Copy)]
enum Want<'a> {
    Name(&'a str),
    Ip(IpAddr),
}

/// Runs the TLS-ALPN-01 handshake for `name` from `v` to `addrs` (this perspective's answer) and
/// judges the challenge certificate against `key_authorization` when one is known.
pub async fn check(
    v: &Vantage,
    name: &str,
    addrs: &[IpAddr],
    key_authorization: Option<&str>,
) -> Observation {
    run(v, Want::Name(name), addrs, key_authorization).await
}

/// TLS-ALPN-01 for the IP-address identifier `ip` (RFC 8738 §6): the handshake goes to the
/// address whatever the perspective's proxy (there is nothing to resolve), with the reverse-DNS
/// name as SNI, and the certificate must name the address in one iPAddress SAN.
pub async fn check_ip(v: &Vantage, ip: IpAddr, key_authorization: Option<&str>) -> Observation {
    run(v, Want::Ip(ip), &[ip], key_authorization).await
}

async fn run(
    v: &Vantage,
    want: Want<'_>,
    addrs: &[IpAddr],
    key_authorization: Option<&str>,
) -> Observation {
    let shown = match want {
        Want::Name(n) => n.to_string(),
        Want::Ip(ip) => ip.to_string(),
    };
    let name = shown.as_str();
    let sni = match want {
        Want::Name(n) => n.to_string(),
        Want::Ip(ip) => crate::identifier::Identifier {
            name: ip.to_string(),
        }
        .reverse_name()
        .unwrap_or_default(),
    };
    let start = Instant::now();
    let mut o = blank(&v.spec.name, Check::TlsAlpn01);
    let port = v.net().tls_port;
    let policy = &v.net().addresses;
    let usable: Vec<IpAddr> = addrs
        .iter()
        .copied()
        .filter(|ip| policy.permits(*ip))
        .collect();
    // Through socks5h (or when the perspective has no address of its own) the proxy resolves.
    let targets: Vec<Option<IpAddr>> = if let Want::Ip(ip) = want {
        usable
            .iter()
            .filter(|a| **a == ip)
            .map(|a| Some(*a))
            .collect()
    } else if !v.pins_addresses() {
        vec![None]
    } else {
        let v6 = usable.iter().find(|ip| ip.is_ipv6()).copied();
        let v4 = usable.iter().find(|ip| ip.is_ipv4()).copied();
        [v6, v4].into_iter().flatten().map(Some).collect()
    };
    if targets.is_empty() {
        o.phase = Some(Phase::Dns);
        o.summary = if addrs.is_empty() {
            format!("not tried: {name} has no address in this perspective's DNS view")
        } else {
            format!("No valid IP addresses found for {name}: none a CA would contact")
        };
        o.signature = Signature::Failed(Phase::Dns);
        o.elapsed_ms = start.elapsed().as_millis() as u64;
        return o;
    }
    let mut last = None;
    for target in &targets {
        match handshake_with_sni(&v.spec.http, name, &sni, *target, port, v.timeout).await {
            Ok(h) => {
                judge(&mut o, want, *target, port, &h, key_authorization);
                o.elapsed_ms = start.elapsed().as_millis() as u64;
                return o;
            }
            Err(f) => last = Some((*target, f)),
        }
    }
    let (target, f) = last.expect("at least one target was tried");
    let at = target.map_or(format!("{name}:{port}"), |ip| {
        std::net::SocketAddr::new(ip, port).to_string()
    });
    o.phase = Some(f.phase);
    o.perspective_fault = f.perspective_fault;
    o.connect_failure = f.connect;
    o.summary = if f.alpn_refused {
        format!(
            "{at}: the server refused ALPN \"acme-tls/1\" (alert no_application_protocol): it does not answer tls-alpn-01"
        )
    } else {
        format!("{at}: {}", f.message)
    };
    o.signature = if f.alpn_refused {
        Signature::Answer("alpn:refused".into())
    } else {
        Signature::Failed(f.phase)
    };
    o.tls = Some(TlsFacts {
        address: target.map(|ip| ip.to_string()),
        version: None,
        alpn: None,
        alpn_refused: f.alpn_refused,
        certificate: None,
        san: Vec::new(),
        acme_identifier: None,
    });
    // A refused ALPN is an answer from the server, not a failure to reach it.
    if f.alpn_refused {
        o.phase = None;
    }
    o.elapsed_ms = start.elapsed().as_millis() as u64;
    o
}

fn judge(
    o: &mut Observation,
    want: Want<'_>,
    target: Option<IpAddr>,
    port: u16,
    h: &crate::perspective::tls::Handshake,
    key_authorization: Option<&str>,
) {
    let name = match want {
        Want::Name(n) => n.to_string(),
        Want::Ip(ip) => ip.to_string(),
    };
    let at = target.map_or(format!("{name}:{port}"), |ip| {
        std::net::SocketAddr::new(ip, port).to_string()
    });
    let alpn = h
        .alpn
        .as_ref()
        .map(|a| String::from_utf8_lossy(a).into_owned());
    let mut facts = TlsFacts {
        address: target.map(|ip| ip.to_string()),
        version: h.version.clone(),
        alpn: alpn.clone(),
        alpn_refused: false,
        certificate: None,
        san: Vec::new(),
        acme_identifier: None,
    };
    if h.alpn.as_deref() != Some(ACME_TLS_1) {
        // Boulder: "Cannot negotiate ALPN protocol "acme-tls/1" for tls-alpn-01 challenge".
        o.summary = format!(
            "{at}: TLS works but the server did not negotiate ALPN \"acme-tls/1\" ({}): it does not answer tls-alpn-01",
            alpn.map_or("no ALPN selected".into(), |a| format!("it chose {a:?}"))
        );
        o.signature = Signature::Answer("alpn:none".into());
        o.tls = Some(facts);
        return;
    }
    let examined = examine(want, h.leaf.as_deref(), key_authorization);
    facts.san = examined.san;
    facts.acme_identifier = examined.digest.clone();
    facts.certificate = Some(examined.verdict);
    o.ok = matches!(
        examined.verdict,
        TlsCertVerdict::Valid | TlsCertVerdict::Unverified
    );
    o.summary = format!("{at}: acme-tls/1 negotiated; {}", examined.why);
    o.signature = match examined.verdict {
        TlsCertVerdict::Valid => Signature::Expected,
        TlsCertVerdict::Unverified => Signature::Answer("acme-tls/1".into()),
        TlsCertVerdict::WrongDigest => Signature::Mismatch(examined.digest.unwrap_or_default()),
        other => Signature::Answer(format!(
            "bad-certificate:{}",
            serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        )),
    };
    o.tls = Some(facts);
}

/// What the challenge certificate showed.
struct Examined {
    verdict: TlsCertVerdict,
    why: String,
    san: Vec<String>,
    digest: Option<String>,
}

/// RFC 8737 §3 (and RFC 8738 §6 for an address) on one certificate (DER).
fn examine(want: Want<'_>, leaf: Option<&[u8]>, key_authorization: Option<&str>) -> Examined {
    use x509_cert::der::Decode;
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;

    let bad = |verdict, why: String| Examined {
        verdict,
        why,
        san: Vec::new(),
        digest: None,
    };
    let Some(der) = leaf else {
        return bad(
            TlsCertVerdict::Unusable,
            "no certificate was presented".into(),
        );
    };
    let cert = match x509_cert::Certificate::from_der(der) {
        Ok(c) => c,
        Err(e) => {
            return bad(
                TlsCertVerdict::Unusable,
                format!("the certificate does not parse: {e}"),
            );
        }
    };
    let tbs = cert.tbs_certificate();
    let mut dns = Vec::new();
    let mut ip_sans: Vec<Option<IpAddr>> = Vec::new();
    if let Ok(Some((_, SubjectAltName(names)))) = tbs.get_extension::<SubjectAltName>() {
        for n in names {
            match n {
                GeneralName::DnsName(d) => dns.push(d.as_str().to_owned()),
                GeneralName::IpAddress(a) => ip_sans.push(match a.as_bytes() {
                    b if b.len() == 4 => <[u8; 4]>::try_from(b).ok().map(IpAddr::from),
                    b if b.len() == 16 => <[u8; 16]>::try_from(b).ok().map(IpAddr::from),
                    _ => None,
                }),
                _ => {}
            }
        }
    }
    let ips = ip_sans.len();
    let mut san = dns.clone();
    san.extend(
        ip_sans
            .iter()
            .map(|a| a.map_or("(malformed iPAddress)".to_string(), |a| a.to_string())),
    );
    let mut out = Examined {
        verdict: TlsCertVerdict::Valid,
        why: String::new(),
        san,
        digest: None,
    };
    let exts: &[x509_cert::ext::Extension] = tbs.extensions().map_or(&[], |e| e.as_slice());
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = exts.iter().find(|e| !seen.insert(e.extn_id.to_string())) {
        out.verdict = TlsCertVerdict::Unusable;
        out.why = format!("the certificate carries extension {} twice", dup.extn_id);
        return out;
    }
    if tbs.subject() != tbs.issuer() {
        out.verdict = TlsCertVerdict::Unusable;
        out.why = "the certificate is not self-signed (a CA would refuse it)".into();
        return out;
    }
    let name = match want {
        Want::Name(n) => n.trim_end_matches('.').to_string(),
        Want::Ip(ip) => ip.to_string(),
    };
    if let Want::Ip(ip) = want {
        // Boulder `checkExpectedSAN`, TypeIP: exactly one iPAddress, equal, and no dNSName.
        if ips != 1 || !dns.is_empty() || ip_sans[0] != Some(ip) {
            out.verdict = TlsCertVerdict::WrongSan;
            out.why = format!(
                "the certificate's SANs are {:?}, but RFC 8738 wants exactly one iPAddress, {ip}, and no dNSName",
                out.san
            );
            return out;
        }
    } else if dns.len() != 1 || ips != 0 || !dns[0].eq_ignore_ascii_case(&name) {
        out.verdict = TlsCertVerdict::WrongSan;
        out.why = format!(
            "the certificate's SANs are {:?}{}, but RFC 8737 wants exactly one dNSName, {name}",
            dns,
            if ips > 0 {
                format!(" and {ips} IP address(es)")
            } else {
                String::new()
            }
        );
        return out;
    }
    let Some(ext) = exts
        .iter()
        .find(|e| e.extn_id.to_string() == ACME_IDENTIFIER)
    else {
        out.verdict = TlsCertVerdict::NoAcmeIdentifier;
        out.why = "the certificate has no acmeIdentifier extension (1.3.6.1.5.5.7.1.31): it is not a challenge certificate".into();
        return out;
    };
    if !ext.critical {
        out.verdict = TlsCertVerdict::NotCritical;
        out.why = "the acmeIdentifier extension is not marked critical".into();
        return out;
    }
    // extnValue holds the DER of `Authorization ::= OCTET STRING (SIZE (32))`.
    let value = ext.extn_value.as_bytes();
    let digest = match value {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        _ => {
            out.verdict = TlsCertVerdict::Malformed;
            out.why = "the acmeIdentifier value is not an OCTET STRING of 32 bytes".into();
            return out;
        }
    };
    let hex = super::http01::hex(digest);
    out.digest = Some(hex.clone());
    match key_authorization {
        None => {
            out.verdict = TlsCertVerdict::Unverified;
            out.why = format!(
                "challenge certificate for {name} with a critical acmeIdentifier (digest not compared: give --key-authorization)"
            );
        }
        Some(ka) => {
            let want = Sha256::digest(ka.as_bytes());
            if want.as_slice() == digest {
                out.why = format!(
                    "challenge certificate for {name}; acmeIdentifier is the SHA-256 of the key authorization"
                );
            } else {
                out.verdict = TlsCertVerdict::WrongDigest;
                out.why = format!(
                    "the acmeIdentifier is {hex}, not the SHA-256 of the key authorization ({})",
                    super::http01::hex(&want)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(sans: &[&str], acme: Option<(bool, Vec<u8>)>) -> Vec<u8> {
        let mut p =
            rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        if let Some((critical, value)) = acme {
            let mut e =
                rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 31], value);
            e.set_criticality(critical);
            p.custom_extensions.push(e);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().der().to_vec()
    }

    fn octets(ka: &str) -> Vec<u8> {
        let mut v = vec![0x04, 0x20];
        v.extend_from_slice(&Sha256::digest(ka.as_bytes()));
        v
    }

    #[test]
    fn rfc8737_certificate_rules() {
        let ka = "tok.thumb";
        let name = "www.example.test";
        let cases: Vec<(&str, Vec<u8>, Option<&str>, TlsCertVerdict)> = vec![
            (
                "valid",
                cert(&[name], Some((true, octets(ka)))),
                Some(ka),
                TlsCertVerdict::Valid,
            ),
            (
                "unverified",
                cert(&[name], Some((true, octets(ka)))),
                None,
                TlsCertVerdict::Unverified,
            ),
            (
                "case-insensitive SAN",
                cert(&["WWW.Example.TEST"], Some((true, octets(ka)))),
                Some(ka),
                TlsCertVerdict::Valid,
            ),
            (
                "wrong digest",
                cert(&[name], Some((true, octets("other")))),
                Some(ka),
                TlsCertVerdict::WrongDigest,
            ),
            (
                "not critical",
                cert(&[name], Some((false, octets(ka)))),
                Some(ka),
                TlsCertVerdict::NotCritical,
            ),
            (
                "no extension",
                cert(&[name], None),
                Some(ka),
                TlsCertVerdict::NoAcmeIdentifier,
            ),
            (
                "two SANs",
                cert(&[name, "other.example.test"], Some((true, octets(ka)))),
                Some(ka),
                TlsCertVerdict::WrongSan,
            ),
            (
                "other SAN",
                cert(&["other.example.test"], Some((true, octets(ka)))),
                Some(ka),
                TlsCertVerdict::WrongSan,
            ),
            (
                "malformed",
                cert(&[name], Some((true, vec![0x04, 0x01, 0x00]))),
                Some(ka),
                TlsCertVerdict::Malformed,
            ),
        ];
        for (what, der, ka, want) in cases {
            let e = examine(Want::Name(name), Some(&der), ka);
            assert_eq!(e.verdict, want, "{what}: {}", e.why);
        }
        assert_eq!(
            examine(Want::Name(name), None, None).verdict,
            TlsCertVerdict::Unusable
        );
        assert_eq!(
            examine(Want::Name(name), Some(b"junk"), None).verdict,
            TlsCertVerdict::Unusable
        );
    }

    #[test]
    fn rfc8738_ip_certificate_rules() {
        let ka = "tok.thumb";
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let want = Want::Ip(ip);
        let good = examine(
            want,
            Some(&cert(&["192.0.2.7"], Some((true, octets(ka))))),
            Some(ka),
        );
        assert_eq!(good.verdict, TlsCertVerdict::Valid, "{}", good.why);
        assert_eq!(good.san, vec!["192.0.2.7".to_string()]);
        for (what, sans) in [
            ("a dNSName for the address", vec!["www.example.test"]),
            ("another address", vec!["192.0.2.8"]),
            ("address and name", vec!["192.0.2.7", "www.example.test"]),
        ] {
            let e = examine(want, Some(&cert(&sans, Some((true, octets(ka))))), Some(ka));
            assert_eq!(e.verdict, TlsCertVerdict::WrongSan, "{what}: {}", e.why);
            assert!(e.why.contains("RFC 8738"), "{}", e.why);
        }
        // A DNS name's certificate must not carry an iPAddress SAN.
        let e = examine(
            Want::Name("www.example.test"),
            Some(&cert(
                &["www.example.test", "192.0.2.7"],
                Some((true, octets(ka))),
            )),
            Some(ka),
        );
        assert_eq!(e.verdict, TlsCertVerdict::WrongSan, "{}", e.why);
    }
}
