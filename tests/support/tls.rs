//! A fake TLS-ALPN-01 responder on 127/8 for the integration tests: a real rustls server that
//! presents a certificate made with rcgen (a correct RFC 8737 challenge certificate, or a wrong
//! one), negotiates the ALPN protocols it is given (`acme-tls/1`, or a web server's `h2` /
//! `http/1.1` standing in for a TLS-terminating proxy), and can close connections from chosen
//! source addresses (a region's SOCKS egress) like a geo-blocking firewall (closed before any TLS byte). It completes the
//! handshake, then closes: TLS-ALPN-01 sends no application data.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

use super::{ServerThread, assert_loopback, bind_same_port};

/// What the challenge certificate carries.
#[derive(Debug, Clone)]
pub enum AcmeId {
    /// A critical acmeIdentifier with the SHA-256 of this key authorization.
    For(String),
    /// The same, but not marked critical.
    NotCritical(String),
    /// No acmeIdentifier extension (an ordinary certificate).
    Missing,
}

/// A self-signed certificate for `sans` with `id`.
pub fn challenge_cert(
    sans: &[&str],
    id: &AcmeId,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut p =
        rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("certificate params");
    let ext = |ka: &str, critical: bool| {
        let mut v = vec![0x04, 0x20];
        v.extend_from_slice(&Sha256::digest(ka.as_bytes()));
        let mut e = rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 31], v);
        e.set_criticality(critical);
        e
    };
    match id {
        AcmeId::For(ka) => p.custom_extensions.push(ext(ka, true)),
        AcmeId::NotCritical(ka) => p.custom_extensions.push(ext(ka, false)),
        AcmeId::Missing => {}
    }
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = p.self_signed(&key).expect("self-signed certificate");
    (
        cert.der().clone(),
        PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    )
}

/// Presents one certificate whatever the client asks for, and notes the SNI it asked with.
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>, Arc<std::sync::Mutex<Vec<String>>>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sni = hello.server_name().unwrap_or("").to_string();
        self.1.lock().unwrap_or_else(|e| e.into_inner()).push(sni);
        Some(self.0.clone())
    }
}

/// A running responder; stops when dropped.
#[derive(Debug)]
pub struct TlsAlpnServer {
    /// Where it listens (the same port on every address given).
    pub port: u16,
    snis: Arc<std::sync::Mutex<Vec<String>>>,
    _thread: ServerThread,
}

impl TlsAlpnServer {
    /// Serves on `ips` (127/8, one shared port) with `cert`, offering `alpn`, and closes every
    /// connection whose source address is in `blocked`.
    pub fn start(
        ips: &[IpAddr],
        cert: (CertificateDer<'static>, PrivateKeyDer<'static>),
        alpn: &[&str],
        blocked: Vec<IpAddr>,
    ) -> TlsAlpnServer {
        for ip in ips {
            assert_loopback(*ip);
        }
        let listeners = bind_same_port(ips, |ip, port| {
            let l = std::net::TcpListener::bind((ip, port))?;
            l.set_nonblocking(true)?;
            let port = l.local_addr()?.port();
            Ok((l, port))
        })
        .expect("bind TLS listeners on 127/8");
        let port = listeners[0].local_addr().expect("local addr").port();
        let provider = Arc::new(aws_lc_rs::default_provider());
        // Not `with_single_cert`: it parses the certificate with webpki, which refuses the
        // critical acmeIdentifier extension it does not know. A challenge responder (like a
        // real ACME client's) presents it as is.
        let key = provider
            .key_provider
            .load_private_key(cert.1)
            .expect("signing key");
        let certified = Arc::new(CertifiedKey::new(vec![cert.0], key));
        let snis = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Fixed(certified, snis.clone())));
        config.alpn_protocols = alpn.iter().map(|a| a.as_bytes().to_vec()).collect();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let thread = ServerThread::spawn(&format!("tls-alpn-{port}"), move || async move {
            let mut tasks = Vec::new();
            for l in listeners {
                let acceptor = acceptor.clone();
                let blocked = blocked.clone();
                tasks.push(tokio::spawn(async move {
                    let listener = TcpListener::from_std(l).expect("register listener");
                    loop {
                        let Ok((stream, peer)) = listener.accept().await else {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        };
                        if blocked.contains(&peer.ip()) {
                            // A firewall that drops the connection before any TLS byte.
                            drop(stream);
                            continue;
                        }
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            let _ = tokio::time::timeout(
                                Duration::from_secs(10),
                                acceptor.accept(stream),
                            )
                            .await;
                        });
                    }
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        });
        TlsAlpnServer {
            port,
            snis,
            _thread: thread,
        }
    }

    /// The SNI of every ClientHello received, in order ("" when none was sent).
    pub fn snis(&self) -> Vec<String> {
        self.snis.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
