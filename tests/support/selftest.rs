//! Self-tests of the harness itself, so a failing integration test points at
//! the CLI and not at a fake server. They exercise each server through raw
//! clients (hand-built DNS messages, a raw HTTP/1.1 client, tokio-socks)
//! bound to chosen 127.0.0.x source addresses.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_server::proto::op::{Message, ResponseCode};
use hickory_server::proto::rr::{RData, RecordType};
use tokio::io::AsyncWriteExt;

use super::dns::{
    Behaviour, DnsServer, Transport, Zone, ecs_of, query, query_no_edns, tcp_exchange,
    udp_exchange, with_ecs,
};
use super::http::{self, Block, HttpOrigin, Resp, Site, read_raw_response};
use super::lo;
use super::socks::{Socks5Proxy, SocksTarget};

const WAIT: Duration = Duration::from_secs(5);

fn a_records(msg: &Message) -> Vec<String> {
    msg.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

fn base_zone() -> Zone {
    Zone::new("example.test")
        .a("www", "127.0.10.1")
        .a("www.example.test.", "127.0.10.2")
        .txt("_acme-challenge.www", "token-1")
        .txt("_acme-challenge.www", "token-2")
        .cname("alias", "www")
        .cname("loop1", "loop2")
        .cname("loop2", "loop1")
        .cname("outside", "cdn.other.test")
        .a("deep.empty.example.test", "127.0.10.9")
        .caa("@", 0, "issue", "letsencrypt.org")
        .caa("@", 128, "tbs", "unknown-critical")
        .ttl(60)
        .aaaa("v6", "2001:db8::1")
        .soa_minimum(120)
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_views_by_source_and_header_flags() {
    let zone = base_zone().view_for_source(
        lo(0, 0, 3),
        Zone::new("example.test").a("www", "127.0.30.3"),
    );
    let server = DnsServer::start(lo(0, 0, 1), zone);

    let q = query("WwW.Example.Test", "A");
    let from2 = udp_exchange(server.addr, lo(0, 0, 2), &q, WAIT)
        .await
        .unwrap();
    assert_eq!(from2.metadata.id, q.metadata.id);
    assert_eq!(from2.queries, q.queries, "question echoed");
    assert!(from2.metadata.authoritative && from2.metadata.recursion_available);
    assert!(from2.metadata.recursion_desired);
    assert!(from2.edns.is_some(), "EDNS in, EDNS out");
    assert_eq!(from2.metadata.response_code, ResponseCode::NoError);
    assert_eq!(a_records(&from2), ["127.0.10.1", "127.0.10.2"]);
    assert_eq!(
        from2.answers[0].name.to_ascii(),
        "WwW.Example.Test.",
        "0x20 case kept"
    );

    let from3 = udp_exchange(server.addr, lo(0, 0, 3), &q, WAIT)
        .await
        .unwrap();
    assert_eq!(a_records(&from3), ["127.0.30.3"]);
    // The view inherits the SOA; the TXT records of the base are gone.
    let txt = udp_exchange(
        server.addr,
        lo(0, 0, 3),
        &query("_acme-challenge.www.example.test", "TXT"),
        WAIT,
    )
    .await
    .unwrap();
    assert_eq!(txt.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(txt.authorities[0].record_type(), RecordType::SOA);

    let no_edns = udp_exchange(
        server.addr,
        lo(0, 0, 2),
        &query_no_edns("www.example.test", "A"),
        WAIT,
    )
    .await
    .unwrap();
    assert!(no_edns.edns.is_none());

    let log = server.queries();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].src, lo(0, 0, 2));
    assert_eq!(log[0].qname, "www.example.test.");
    assert_eq!(log[0].qtype, "A");
    assert_eq!(log[0].transport, Transport::Udp);
    assert!(log[0].recursion_desired && log[0].edns && log[0].ecs.is_none());
    assert_eq!(log[1].src, lo(0, 0, 3));
    assert!(!log[3].edns);
    assert_eq!(server.queries_for("WWW.example.test").len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_ecs_view_with_scope() {
    let zone = base_zone().view_for_ecs(
        "198.51.100.0/24",
        Zone::new("example.test").a("www", "127.0.51.100"),
    );
    let server = DnsServer::start(lo(0, 0, 1), zone);
    let src = lo(0, 0, 2);

    let q = with_ecs(query("www.example.test", "A"), "198.51.100.0/24");
    let r = udp_exchange(server.addr, src, &q, WAIT).await.unwrap();
    assert_eq!(a_records(&r), ["127.0.51.100"]);
    let ecs = ecs_of(&r).expect("ECS echoed");
    assert_eq!(ecs.addr().to_string(), "198.51.100.0");
    assert_eq!((ecs.source_prefix(), ecs.scope_prefix()), (24, 24));

    let q = with_ecs(query("www.example.test", "A"), "203.0.113.0/24");
    let r = udp_exchange(server.addr, src, &q, WAIT).await.unwrap();
    assert_eq!(a_records(&r), ["127.0.10.1", "127.0.10.2"]);
    assert_eq!(ecs_of(&r).expect("ECS echoed").scope_prefix(), 0);

    let log = server.queries();
    assert_eq!(log[0].ecs.as_deref(), Some("198.51.100.0/24"));
    assert_eq!(log[1].ecs.as_deref(), Some("203.0.113.0/24"));
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_tcp_and_answer_logic() {
    let server = DnsServer::start(lo(0, 0, 1), base_zone());
    let src = lo(0, 0, 4);
    let ask = |name: &'static str, qtype: &'static str| {
        let addr = server.addr;
        async move {
            tcp_exchange(addr, src, &query(name, qtype), WAIT)
                .await
                .unwrap()
        }
    };

    let www = ask("www.example.test", "A").await;
    assert_eq!(a_records(&www), ["127.0.10.1", "127.0.10.2"]);
    assert_eq!(server.queries()[0].transport, Transport::Tcp);

    let txt = ask("_acme-challenge.www.example.test", "TXT").await;
    assert_eq!(txt.answers.len(), 2, "several calls, several RRs");

    // CNAME followed inside the zone.
    let alias = ask("alias.example.test", "A").await;
    assert_eq!(alias.answers[0].record_type(), RecordType::CNAME);
    assert_eq!(a_records(&alias), ["127.0.10.1", "127.0.10.2"]);
    // Asking for the CNAME itself returns just it.
    assert_eq!(ask("alias.example.test", "CNAME").await.answers.len(), 1);
    // A loop is bounded.
    let looped = ask("loop1.example.test", "A").await;
    assert_eq!(looped.metadata.response_code, ResponseCode::NoError);
    assert!(looped.answers.len() <= 17);
    // Out-of-zone target: the CNAME alone.
    let outside = ask("outside.example.test", "A").await;
    assert_eq!(outside.answers.len(), 1);

    // NODATA: the name exists with other types.
    let nodata = ask("www.example.test", "AAAA").await;
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert_eq!(nodata.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(nodata.authorities[0].ttl, 120, "negative TTL = SOA minimum");
    // Empty non-terminal: NODATA too.
    let ent = ask("empty.example.test", "A").await;
    assert_eq!(ent.metadata.response_code, ResponseCode::NoError);
    // NXDOMAIN with the SOA.
    let nx = ask("nope.example.test", "A").await;
    assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(nx.authorities[0].record_type(), RecordType::SOA);
    // Out of zone.
    let refused = ask("example.org", "A").await;
    assert_eq!(refused.metadata.response_code, ResponseCode::Refused);
    // SOA at the apex; TTL set by .ttl() applies to later records only.
    let soa = ask("example.test", "SOA").await;
    match &soa.answers[0].data {
        RData::SOA(soa) => {
            assert_eq!(soa.mname.to_ascii(), "ns1.example.test.");
            assert_eq!((soa.serial, soa.minimum), (1, 120));
        }
        other => panic!("not a SOA: {other:?}"),
    }
    assert_eq!(ask("v6.example.test", "AAAA").await.answers[0].ttl, 60);

    // CAA from raw wire bytes, including an unknown critical tag.
    let caa = ask("example.test", "CAA").await;
    let caas: Vec<_> = caa
        .answers
        .iter()
        .map(|r| match &r.data {
            RData::CAA(c) => (c.flags(), c.tag.clone(), c.value.clone()),
            other => panic!("not a CAA: {other:?}"),
        })
        .collect();
    assert_eq!(
        caas,
        [
            (0, "issue".to_owned(), b"letsencrypt.org".to_vec()),
            (128, "tbs".to_owned(), b"unknown-critical".to_vec()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_behaviours() {
    let zone = base_zone()
        .behaviour_for_source(lo(0, 0, 5), Behaviour::Refused)
        .behaviour_for_source(lo(0, 0, 6), Behaviour::Silent)
        .behaviour_for_source(lo(0, 0, 7), Behaviour::TruncateUdp)
        .behaviour_for_source(lo(0, 0, 8), Behaviour::NotImp)
        .behaviour_for_source(lo(0, 0, 9), Behaviour::Delay(Duration::from_millis(300)))
        .behaviour_for_type("caa", Behaviour::ServFail);
    let server = DnsServer::start(lo(0, 0, 1), zone);
    let q = query("www.example.test", "A");
    let rcode = |m: Message| m.metadata.response_code;

    let r = udp_exchange(server.addr, lo(0, 0, 5), &q, WAIT)
        .await
        .unwrap();
    assert_eq!(rcode(r), ResponseCode::Refused);
    let r = udp_exchange(server.addr, lo(0, 0, 8), &q, WAIT)
        .await
        .unwrap();
    assert_eq!(rcode(r), ResponseCode::NotImp);
    let r = udp_exchange(
        server.addr,
        lo(0, 0, 2),
        &query("example.test", "CAA"),
        WAIT,
    )
    .await
    .unwrap();
    assert_eq!(rcode(r), ResponseCode::ServFail);

    let err = udp_exchange(server.addr, lo(0, 0, 6), &q, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    let err = tcp_exchange(server.addr, lo(0, 0, 6), &q, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);

    let tc = udp_exchange(server.addr, lo(0, 0, 7), &q, WAIT)
        .await
        .unwrap();
    assert!(tc.metadata.truncation && tc.answers.is_empty());
    let full = tcp_exchange(server.addr, lo(0, 0, 7), &q, WAIT)
        .await
        .unwrap();
    assert!(!full.metadata.truncation);
    assert_eq!(a_records(&full).len(), 2);

    let started = Instant::now();
    let slow = udp_exchange(server.addr, lo(0, 0, 9), &q, WAIT)
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(a_records(&slow).len(), 2);

    // Silent queries are logged too.
    assert!(server.queries().iter().any(|l| l.src == lo(0, 0, 6)));
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_start_many_shares_one_port_and_stops_on_drop() {
    let ips = [lo(0, 1, 1), lo(0, 1, 2), lo(0, 1, 3)];
    let servers = DnsServer::start_many(&ips, |ip| {
        Zone::new("example.test").a("www", &ip.to_string())
    });
    let port = servers[0].port();
    for (server, ip) in servers.iter().zip(ips) {
        assert_eq!(server.addr, SocketAddr::new(ip, port));
        let r = udp_exchange(
            server.addr,
            lo(0, 0, 2),
            &query("www.example.test", "A"),
            WAIT,
        )
        .await
        .unwrap();
        assert_eq!(a_records(&r), [ip.to_string()]);
        assert_eq!(server.queries().len(), 1);
    }
    let addr = servers[0].addr;
    drop(servers);
    // Dropped: the TCP port is closed.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// The servers run on their own threads, so they also work from a plain
/// synchronous test (like one that blocks on the CLI binary).
#[test]
fn servers_work_from_a_sync_test() {
    let dns = DnsServer::start(lo(0, 0, 1), base_zone());
    let origin = HttpOrigin::start(lo(0, 0, 1), Site::new().file("/x", "hi"));
    let sock = std::net::UdpSocket::bind((lo(0, 0, 2), 0)).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let q = query("www.example.test", "A");
    sock.send_to(&q.to_vec().unwrap(), dns.addr).unwrap();
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).unwrap();
    assert_eq!(a_records(&Message::from_vec(&buf[..n]).unwrap()).len(), 2);

    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(origin.addr()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nhi"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_serves_files_webroot_redirects_and_headers() {
    let webroot = tempfile::tempdir().unwrap();
    let site = Site::new()
        .file("/hello", "world")
        .response(
            "/moved",
            Resp::redirect(301, "http://www.example.test/hello"),
        )
        .response(
            "/teapot",
            Resp::status(418, "short and stout").with_header("X-Pot", "1"),
        )
        .webroot(webroot.path().to_path_buf())
        .header("X-Cache", "HIT")
        .header("Age", "42");
    let origin = HttpOrigin::start(lo(0, 0, 1), site);
    let get = |path: &'static str| {
        let addr = origin.addr();
        async move {
            http::get(
                addr,
                lo(0, 0, 2),
                "www.example.test",
                path,
                "test-agent",
                WAIT,
            )
            .await
            .unwrap()
        }
    };

    let r = get("/hello").await;
    assert_eq!((r.status, r.text().as_str()), (200, "world"));
    assert_eq!(r.header("x-cache"), Some("HIT"));
    assert_eq!(r.header("Age"), Some("42"));
    assert_eq!(r.header("Connection"), Some("close"));
    assert_eq!(get("/hello?x=1").await.status, 200);

    let r = get("/moved").await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("http://www.example.test/hello"));
    let r = get("/teapot").await;
    assert_eq!((r.status, r.header("X-Pot")), (418, Some("1")));

    let r = get("/missing").await;
    assert_eq!((r.status, r.text().as_str()), (404, "not found"));

    // Webroot files are read at request time.
    let challenge = "/.well-known/acme-challenge/tok123";
    assert_eq!(get(challenge).await.status, 404);
    let dir = webroot.path().join(".well-known/acme-challenge");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tok123"), "tok123.thumbprint").unwrap();
    let r = get(challenge).await;
    assert_eq!((r.status, r.text().as_str()), (200, "tok123.thumbprint"));
    assert_eq!(get("/.well-known/acme-challenge/..").await.status, 404);

    let log = origin.requests();
    assert_eq!(log.len(), 8);
    assert_eq!(log[0].src, lo(0, 0, 2));
    assert_eq!(log[0].local, lo(0, 0, 1));
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/hello");
    assert_eq!(log[0].host.as_deref(), Some("www.example.test"));
    assert_eq!(log[0].user_agent.as_deref(), Some("test-agent"));
}

#[tokio::test(flavor = "multi_thread")]
async fn http_blocks_by_source_and_user_agent() {
    let site = Site::new()
        .file("/f", "ok")
        .block_source(lo(0, 0, 3), Block::Status(403))
        .block_source(lo(0, 0, 4), Block::Drop)
        .block_source(lo(0, 0, 5), Block::Close)
        .block_user_agent("LetsEncrypt-Validation", Block::Status(403));
    let origin = HttpOrigin::start(lo(0, 0, 1), site);
    let addr = origin.addr();
    let get = |src, ua| http::get(addr, src, "h", "/f", ua, WAIT);

    assert_eq!(get(lo(0, 0, 2), "curl").await.unwrap().status, 200);
    let blocked = get(lo(0, 0, 3), "curl").await.unwrap();
    assert_eq!(blocked.status, 403);
    assert!(blocked.text().contains("<html>"));
    assert_eq!(blocked.header("Content-Type"), Some("text/html"));
    let ua = get(
        lo(0, 0, 2),
        "Mozilla/5.0 (compatible; letsencrypt-validation/2.0)",
    )
    .await;
    assert_eq!(ua.unwrap().status, 403, "UA match is case-insensitive");

    let started = Instant::now();
    let err = http::get(
        addr,
        lo(0, 0, 4),
        "h",
        "/f",
        "curl",
        Duration::from_millis(400),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(3));

    let err = get(lo(0, 0, 5), "curl").await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);

    let blocks: Vec<_> = origin.requests().into_iter().map(|r| r.blocked).collect();
    assert_eq!(
        blocks,
        [
            None,
            Some(Block::Status(403)),
            Some(Block::Status(403)),
            Some(Block::Drop),
            Some(Block::Close)
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_geo_origins_share_a_port() {
    let ips = [lo(0, 2, 1), lo(0, 2, 2)];
    let origin = HttpOrigin::start_many(&ips, |ip| Site::new().file("/who", &ip.to_string()));
    assert_eq!(origin.addrs.len(), 2);
    assert!(origin.addrs.iter().all(|a| a.port() == origin.port()));
    for (addr, ip) in origin.addrs.iter().zip(ips) {
        let r = http::get(*addr, lo(0, 0, 2), "h", "/who", "t", WAIT)
            .await
            .unwrap();
        assert_eq!(r.text(), ip.to_string());
    }
    // A third address joins on the same port.
    let extra = HttpOrigin::start_on_port(&[lo(0, 2, 3)], origin.port(), |_| {
        Site::new().file("/who", "extra")
    })
    .unwrap();
    assert_eq!(extra.port(), origin.port());
    let r = http::get(extra.addr(), lo(0, 0, 2), "h", "/who", "t", WAIT)
        .await
        .unwrap();
    assert_eq!(r.text(), "extra");
    // The taken port cannot be bound twice on the same address.
    assert!(HttpOrigin::start_on_port(&[lo(0, 2, 1)], origin.port(), |_| Site::new()).is_err());
}

async fn get_through(
    stream: &mut (impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin),
) -> http::RawResponse {
    stream
        .write_all(b"GET /egress HTTP/1.1\r\nHost: www.example.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    read_raw_response(stream).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn socks_proxy_egress_hosts_and_refusals() {
    let origin = HttpOrigin::start(lo(0, 3, 1), Site::new().file("/egress", "seen"));
    let proxy = Socks5Proxy::start(lo(0, 3, 2), lo(0, 3, 3)).with_hosts(HashMap::from([(
        "www.example.test".to_owned(),
        lo(0, 3, 1),
    )]));

    // socks5: the client sends an IP.
    let mut s = tokio_socks::tcp::Socks5Stream::connect(proxy.addr, origin.addr())
        .await
        .unwrap();
    assert_eq!(get_through(&mut s).await.text(), "seen");
    // socks5h: the client sends the name; the proxy maps it.
    let mut s =
        tokio_socks::tcp::Socks5Stream::connect(proxy.addr, ("WWW.example.test.", origin.port()))
            .await
            .unwrap();
    assert_eq!(get_through(&mut s).await.status, 200);

    let reqs = origin.requests();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs.iter().all(|r| r.src == lo(0, 3, 3)),
        "egress address: {reqs:?}"
    );

    let unknown = tokio_socks::tcp::Socks5Stream::connect(proxy.addr, ("unknown.test", 80)).await;
    assert!(
        matches!(unknown, Err(tokio_socks::Error::HostUnreachable)),
        "{unknown:?}"
    );
    // Never contacted: refused by the proxy before any connect.
    let outside = tokio_socks::tcp::Socks5Stream::connect(proxy.addr, "192.0.2.1:80").await;
    assert!(
        matches!(
            outside,
            Err(tokio_socks::Error::ConnectionNotAllowedByRuleset)
        ),
        "{outside:?}"
    );

    let log = proxy.connections();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].target, SocksTarget::Ip(origin.addr()));
    assert!(log[0].succeeded);
    assert_eq!(log[0].egress.map(|a| a.ip()), Some(lo(0, 3, 3)));
    assert_eq!(
        log[1].target,
        SocksTarget::Domain("WWW.example.test.".to_owned(), origin.port())
    );
    assert!(!log[2].succeeded && !log[3].succeeded);
    assert_eq!(log[3].command, "connect");
}

#[tokio::test(flavor = "multi_thread")]
async fn socks_proxy_with_auth() {
    let origin = HttpOrigin::start(lo(0, 4, 1), Site::new().file("/egress", "seen"));
    let proxy = Socks5Proxy::start_with_auth(lo(0, 4, 2), lo(0, 4, 3), "alice", "s3cret");

    let mut s = tokio_socks::tcp::Socks5Stream::connect_with_password(
        proxy.addr,
        origin.addr(),
        "alice",
        "s3cret",
    )
    .await
    .unwrap();
    assert_eq!(get_through(&mut s).await.text(), "seen");
    assert_eq!(origin.requests()[0].src, lo(0, 4, 3));

    let wrong = tokio_socks::tcp::Socks5Stream::connect_with_password(
        proxy.addr,
        origin.addr(),
        "alice",
        "nope",
    )
    .await;
    assert!(wrong.is_err());
    let no_auth = tokio_socks::tcp::Socks5Stream::connect(proxy.addr, origin.addr()).await;
    assert!(no_auth.is_err());

    let log = proxy.connections();
    assert_eq!(log.len(), 1, "failed auth never reaches the command");
    assert_eq!(log[0].user.as_deref(), Some("alice"));
}

/// The real resolver library the CLI uses talks to the fake server: source
/// views via `bind_addr`, 0x20 case randomisation, and the UDP→TCP retry on
/// a truncated answer.
#[tokio::test(flavor = "multi_thread")]
async fn dns_works_with_hickory_resolver() {
    use hickory_resolver::config::{
        ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
    };
    use hickory_resolver::net::runtime::TokioRuntimeProvider;

    let zone = base_zone()
        .view_for_source(
            lo(0, 5, 3),
            Zone::new("example.test").a("www", "127.0.30.3"),
        )
        .behaviour_for_source(lo(0, 5, 4), Behaviour::TruncateUdp);
    let server = DnsServer::start(lo(0, 5, 1), zone);
    let resolver_from = |src| {
        let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
            .into_iter()
            .map(|mut c| {
                c.port = server.port();
                c.bind_addr = Some(SocketAddr::new(src, 0));
                c
            })
            .collect();
        let ns = NameServerConfig::new(server.ip(), true, connections);
        let mut opts = ResolverOpts::default();
        opts.case_randomization = true;
        opts.cache_size = 0;
        hickory_resolver::Resolver::builder_with_config(
            ResolverConfig::from_name_servers(vec![ns]),
            TokioRuntimeProvider::default(),
        )
        .with_options(opts)
        .build()
        .unwrap()
    };
    let ips = |lookup: hickory_resolver::lookup::Lookup| {
        lookup
            .answers()
            .iter()
            .filter_map(|r| r.data.ip_addr())
            .map(|ip| ip.to_string())
            .collect::<Vec<_>>()
    };

    let base = resolver_from(lo(0, 5, 2));
    let got = base
        .lookup("www.example.test.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(ips(got), ["127.0.10.1", "127.0.10.2"]);
    let alias = base
        .lookup("alias.example.test.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(ips(alias).len(), 2);
    assert!(
        base.lookup("nope.example.test.", RecordType::A)
            .await
            .is_err()
    );

    let viewed = resolver_from(lo(0, 5, 3));
    let got = viewed
        .lookup("www.example.test.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(ips(got), ["127.0.30.3"]);

    let truncated = resolver_from(lo(0, 5, 4));
    let got = truncated
        .lookup("www.example.test.", RecordType::A)
        .await
        .unwrap();
    assert_eq!(ips(got).len(), 2);
    let transports: Vec<_> = server
        .queries()
        .into_iter()
        .filter(|q| q.src == lo(0, 5, 4))
        .map(|q| q.transport)
        .collect();
    assert_eq!(transports, [Transport::Udp, Transport::Tcp]);
}

/// reqwest (the CLI's HTTP client) through the proxy, with remote DNS.
#[tokio::test(flavor = "multi_thread")]
async fn socks_proxy_works_with_reqwest() {
    let origin = HttpOrigin::start(lo(0, 6, 1), Site::new().file("/egress", "seen"));
    let proxy = Socks5Proxy::start(lo(0, 6, 2), lo(0, 6, 3));
    proxy.add_host("www.example.test", lo(0, 6, 1));
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(proxy.url(true)).unwrap())
        .user_agent("harness-selftest")
        .timeout(WAIT)
        .build()
        .unwrap();
    let url = format!("http://www.example.test:{}/egress", origin.port());
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "seen");

    let req = &origin.requests()[0];
    assert_eq!(req.src, lo(0, 6, 3));
    assert_eq!(req.user_agent.as_deref(), Some("harness-selftest"));
    assert_eq!(
        req.host.as_deref(),
        Some(&*format!("www.example.test:{}", origin.port()))
    );
    assert!(
        matches!(proxy.connections()[0].target, SocksTarget::Domain(ref d, _) if d == "www.example.test")
    );
}
