//! A minimal HTTP forward proxy for the tests, like tinyproxy: `CONNECT host:port` tunnels, and
//! absolute-form `GET http://name:port/path` requests are forwarded after resolving the name from
//! a static map (never the system resolver, so nothing leaves 127/8). Outgoing connections leave
//! from a chosen egress address, so the proxy plays a region. Every request line is logged.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::{ServerThread, assert_loopback, is_loopback_v4, wire};

/// A running proxy. Stops when dropped.
#[derive(Debug)]
pub struct HttpProxy {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    _thread: ServerThread,
}

impl HttpProxy {
    /// Starts on `listen` (ephemeral port); connections leave from `egress`; names resolve from
    /// `hosts` only.
    pub fn start(listen: IpAddr, egress: IpAddr, hosts: HashMap<String, IpAddr>) -> HttpProxy {
        assert_loopback(listen);
        assert_loopback(egress);
        let std_listener = std::net::TcpListener::bind((listen, 0)).expect("bind proxy");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (log2, hosts) = (log.clone(), Arc::new(hosts));
        let thread = ServerThread::spawn(&format!("httpproxy-{addr}"), move || async move {
            let listener = TcpListener::from_std(std_listener).expect("register");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve(stream, egress, hosts.clone(), log2.clone()));
            }
        });
        HttpProxy {
            addr,
            log,
            _thread: thread,
        }
    }

    /// `http://ip:port`, for a perspective's `http =`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Request lines received, e.g. `CONNECT 127.0.20.1:8080 HTTP/1.1`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

async fn dial(egress: IpAddr, target: SocketAddr) -> std::io::Result<TcpStream> {
    if !is_loopback_v4(target.ip()) {
        return Err(std::io::Error::other("target outside 127/8 refused"));
    }
    let sock = TcpSocket::new_v4()?;
    sock.bind(SocketAddr::new(egress, 0))?;
    sock.connect(target).await
}

async fn serve(
    mut client: TcpStream,
    egress: IpAddr,
    hosts: Arc<HashMap<String, IpAddr>>,
    log: Arc<Mutex<Vec<String>>>,
) {
    let mut buf = Vec::new();
    let Ok(req) = wire::read_request(&mut client, &mut buf, wire::DEFAULT_LIMITS).await else {
        return;
    };
    let text = req.head;
    let line = text.lines().next().unwrap_or_default().to_string();
    log.lock().unwrap().push(line.clone());
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let resolve = |hostport: &str, default: u16| -> Option<SocketAddr> {
        if let Ok(sa) = hostport.parse::<SocketAddr>() {
            return Some(sa);
        }
        let (h, p) = hostport
            .rsplit_once(':')
            .map_or((hostport, default), |(h, p)| {
                (h, p.parse().unwrap_or(default))
            });
        hosts
            .get(&h.to_ascii_lowercase())
            .map(|ip| SocketAddr::new(*ip, p))
    };
    if method == "CONNECT" {
        let Some(dst) = resolve(target, 443) else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
            return;
        };
        match dial(egress, dst).await {
            Ok(mut up) => {
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                if !buf.is_empty() && up.write_all(&buf).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
            }
            Err(_) => {
                let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
            }
        }
        return;
    }
    // Absolute-form forward: http://host[:port]/path
    let Some(rest) = target.strip_prefix("http://") else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        return;
    };
    let (hostport, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let Some(dst) = resolve(hostport, 80) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    let Ok(mut up) = dial(egress, dst).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    let mut out = format!("{method} {path} HTTP/1.1\r\n");
    for l in text.lines().skip(1).filter(|l| !l.is_empty()) {
        if !l.to_ascii_lowercase().starts_with("proxy-") {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(&req.body);
    out.extend_from_slice(&buf);
    if up.write_all(&out).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
    }
}
