//! TLS as one perspective sees it, for TLS-ALPN-01 (RFC 8737): a TCP connection to port 443 made
//! directly or through the perspective's proxy (SOCKS5 to the address this perspective resolved,
//! socks5h to the name, an HTTP proxy by an explicit `CONNECT`), then a TLS handshake with the
//! name as SNI offering only the ALPN protocol `acme-tls/1`, TLS 1.2 or newer, and no certificate
//! verification — as Boulder's va/tlsalpn.go `getChallengeCert` dials (`MinVersion:
//! tls.VersionTLS12`, `NextProtos: []string{"acme-tls/1"}`, `InsecureSkipVerify: true`, because
//! the challenge certificate is self-signed). What the handshake showed comes back as plain data
//! for the check; failures carry their phase so a dead proxy is never blamed on the domain.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;

use crate::config::{HttpSpec, ProxyKind};
use crate::observation::{ConnectFailure, Phase};

/// The ALPN protocol id of TLS-ALPN-01 (RFC 8737 §6.2).
pub const ACME_TLS_1: &[u8] = b"acme-tls/1";

/// What a completed handshake showed.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// Negotiated protocol version, e.g. `TLSv1_3`.
    pub version: Option<String>,
    /// The ALPN protocol the server selected.
    pub alpn: Option<Vec<u8>>,
    /// The leaf certificate (DER), when one was presented.
    pub leaf: Option<Vec<u8>>,
}

/// Why no handshake completed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Where it failed.
    pub phase: Phase,
    /// One line.
    pub message: String,
    /// How the connection failed, when the transport said so.
    pub connect: Option<ConnectFailure>,
    /// The perspective's own proxy failed (coverage, not the domain).
    pub perspective_fault: bool,
    /// The server refused every offered ALPN protocol (alert `no_application_protocol`).
    pub alpn_refused: bool,
}

impl Failure {
    fn new(phase: Phase, message: String) -> Failure {
        Failure {
            phase,
            message,
            connect: None,
            perspective_fault: phase == Phase::Proxy,
            alpn_refused: false,
        }
    }
}

/// Connects to `port` of `addr` (or of `host` when a socks5h/HTTP proxy resolves it and no
/// address is given) from the perspective `spec`, and runs the TLS-ALPN-01 handshake for `host`.
pub async fn handshake(
    spec: &HttpSpec,
    host: &str,
    addr: Option<IpAddr>,
    port: u16,
    timeout: Duration,
) -> Result<Handshake, Failure> {
    handshake_with_sni(spec, host, host, addr, port, timeout).await
}

/// [`handshake`] with an SNI other than the host connected to: for an IP identifier the
/// connection goes to the address and the SNI is its reverse-DNS name (RFC 8738 §6).
pub async fn handshake_with_sni(
    spec: &HttpSpec,
    host: &str,
    sni: &str,
    addr: Option<IpAddr>,
    port: u16,
    timeout: Duration,
) -> Result<Handshake, Failure> {
    let stream = tokio::time::timeout(timeout, connect(spec, host, addr, port, timeout))
        .await
        .map_err(|_| {
            Failure::new(
                Phase::Timeout,
                format!("no TCP connection to port {port} within {timeout:?}"),
            )
        })??;
    let config = client_config();
    let name = ServerName::try_from(sni.trim_end_matches('.').to_string())
        .map_err(|e| Failure::new(Phase::Tls, format!("{sni} is not a usable SNI name: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tls = tokio::time::timeout(timeout, connector.connect(name, stream))
        .await
        .map_err(|_| {
            Failure::new(
                Phase::Timeout,
                format!("TLS handshake on port {port} not finished within {timeout:?}"),
            )
        })?
        .map_err(|e| {
            let rustls_error = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
                .cloned();
            let alpn_refused = matches!(
                rustls_error,
                Some(rustls::Error::AlertReceived(
                    rustls::AlertDescription::NoApplicationProtocol
                ))
            );
            use std::io::ErrorKind as K;
            // A connection reset or closed before the server said anything TLS is a firewall's
            // or a dead port's doing (as a CA sees it: a connection problem), not a TLS one.
            if rustls_error.is_none()
                && matches!(
                    e.kind(),
                    K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe
                )
            {
                let mut f = Failure::new(
                    Phase::Connect,
                    format!("the connection was closed before the TLS handshake finished: {e}"),
                );
                f.connect = Some(ConnectFailure::Reset);
                return f;
            }
            let mut f = Failure::new(Phase::Tls, format!("TLS handshake failed: {e}"));
            f.alpn_refused = alpn_refused;
            f
        })?;
    let (_, conn) = tls.get_ref();
    let out = Handshake {
        version: conn.protocol_version().map(|v| format!("{v:?}")),
        alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
        leaf: conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.as_ref().to_vec()),
    };
    Ok(out)
}

/// TLS 1.2+, ALPN `acme-tls/1` only, any certificate accepted (it is examined afterwards).
fn client_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("aws-lc-rs supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![ACME_TLS_1.to_vec()];
    config
}

/// Accepts any server certificate (the challenge certificate is self-signed by design). The TLS
/// 1.3 handshake signature is still checked against the certificate's public key, taken from the
/// certificate without webpki: webpki refuses a certificate whose critical extension it does not
/// know, and the challenge certificate's acmeIdentifier is exactly that. TLS 1.2 signatures are
/// not checked (rustls offers no raw-key check for them); the certificate is judged afterwards.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let _ = (message, cert, dss);
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        use x509_cert::der::{Decode, Encode};
        let spki = x509_cert::Certificate::from_der(cert.as_ref())
            .ok()
            .and_then(|c| c.tbs_certificate().subject_public_key_info().to_der().ok())
            .ok_or(rustls::Error::InvalidCertificate(
                rustls::CertificateError::BadEncoding,
            ))?;
        rustls::crypto::verify_tls13_signature_with_raw_key(
            message,
            &rustls::pki_types::SubjectPublicKeyInfoDer::from(spki),
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn io_failure(e: &std::io::Error, what: &str) -> Failure {
    use std::io::ErrorKind as K;
    let mut f = Failure::new(Phase::Connect, format!("{what}: {e}"));
    f.connect = match e.kind() {
        K::ConnectionRefused => Some(ConnectFailure::Refused),
        K::ConnectionReset | K::ConnectionAborted => Some(ConnectFailure::Reset),
        K::HostUnreachable | K::NetworkUnreachable => Some(ConnectFailure::Unreachable),
        _ => None,
    };
    f
}

async fn connect(
    spec: &HttpSpec,
    host: &str,
    addr: Option<IpAddr>,
    port: u16,
    timeout: Duration,
) -> Result<TcpStream, Failure> {
    let no_addr = || {
        Failure::new(
            Phase::Dns,
            format!("{host} has no address in this perspective's DNS view"),
        )
    };
    match spec {
        HttpSpec::Direct => {
            let target = SocketAddr::new(addr.ok_or_else(no_addr)?, port);
            TcpStream::connect(target)
                .await
                .map_err(|e| io_failure(&e, &format!("connection to {target} failed")))
        }
        HttpSpec::Proxy {
            kind: kind @ (ProxyKind::Socks5 | ProxyKind::Socks5h),
            ..
        } => {
            let Some(ep) = spec.socks_endpoint() else {
                return Err(Failure::new(
                    Phase::Proxy,
                    "the SOCKS5 proxy URL has no host".into(),
                ));
            };
            let proxy = (ep.host.as_str(), ep.port);
            // socks5h: the proxy resolves the name where it stands, as its region's CA would.
            let literal = host.parse::<IpAddr>().ok();
            let target: tokio_socks::TargetAddr<'_> = match (kind, addr, literal) {
                // An IP identifier (RFC 8738) has nothing to resolve: its address goes as is.
                (_, _, Some(ip)) | (ProxyKind::Socks5, Some(ip), None) => {
                    tokio_socks::TargetAddr::Ip(SocketAddr::new(ip, port))
                }
                _ => tokio_socks::TargetAddr::Domain(host.trim_end_matches('.').into(), port),
            };
            let r = match &ep.auth {
                Some((u, p)) => {
                    tokio_socks::tcp::Socks5Stream::connect_with_password(proxy, target, u, p).await
                }
                None => tokio_socks::tcp::Socks5Stream::connect(proxy, target).await,
            };
            r.map(tokio_socks::tcp::Socks5Stream::into_inner)
                .map_err(|e| socks_failure(&e, port))
        }
        HttpSpec::Proxy { url, .. } => {
            let target = match addr {
                Some(ip) => SocketAddr::new(ip, port).to_string(),
                None => format!("{}:{port}", host.trim_end_matches('.')),
            };
            http_connect(url, &target, timeout).await
        }
    }
}

fn socks_failure(e: &tokio_socks::Error, port: u16) -> Failure {
    use tokio_socks::Error as E;
    match e {
        // The proxy answered but could not reach the target: that is the target's side.
        E::ConnectionRefused => {
            let mut f = Failure::new(
                Phase::Connect,
                format!("port {port} refused the connection (reported by the proxy)"),
            );
            f.connect = Some(ConnectFailure::Refused);
            f
        }
        E::HostUnreachable | E::NetworkUnreachable | E::TtlExpired => {
            let mut f = Failure::new(Phase::Connect, format!("{e} (reported by the proxy)"));
            f.connect = Some(ConnectFailure::Unreachable);
            f
        }
        _ => Failure::new(Phase::Proxy, format!("SOCKS5 proxy: {e}")),
    }
}

/// Opens a tunnel through an HTTP proxy with `CONNECT target` (the same tunnel as HTTP-01's).
async fn http_connect(
    proxy: &url::Url,
    target: &str,
    timeout: Duration,
) -> Result<TcpStream, Failure> {
    super::http::connect_tunnel(proxy, target, timeout)
        .await
        .map_err(|(phase, message)| Failure::new(phase, message))
}
