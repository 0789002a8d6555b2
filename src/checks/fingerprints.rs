//! The HTTP fingerprint table: which software answered the challenge URL, recognised from
//! response headers and the first bytes of the body. One table, one row per pattern, each with
//! the source it comes from, so a new router or WAF is one line. The check layer turns matches
//! into typed `Fingerprint` facts; the analysis never reads bodies or header prose itself.
//!
//! Let's Debug (letsdebug/letsdebug `http01.go`: `likelyModemRouters`, `isLikelyNginxTestcookie`,
//! `isHTTP497`, `isLikelyPaloAltoFirewall`; `generic.go`: `cloudflareChecker`) is the origin of
//! most patterns; the rest name the vendor page or documentation they were read from.

use crate::observation::{Fingerprint, FingerprintKind};
use crate::text::escape_bytes;

/// Where a pattern looks.
#[derive(Debug, Clone, Copy)]
enum Field {
    /// The `Server` header starts with the text (case-insensitive).
    Server,
    /// Any header with this name is present (the text is the lower-case name, or a prefix
    /// ending in `*`).
    HeaderName,
    /// The named header (`name: needle`) contains the needle (case-insensitive).
    HeaderValue(&'static str),
    /// The HTML `<title>` contains the text (case-insensitive).
    Title,
    /// The body's first bytes contain the text (exact bytes).
    Body,
}

/// One row: what to look for, where, and what it means.
struct Pattern {
    kind: FingerprintKind,
    product: &'static str,
    field: Field,
    needle: &'static str,
}

const fn p(
    kind: FingerprintKind,
    product: &'static str,
    field: Field,
    needle: &'static str,
) -> Pattern {
    Pattern {
        kind,
        product,
        field,
        needle,
    }
}

use FingerprintKind::{BotChallenge, Cdn, FirewallBlock, HttpOnHttpsPort, RouterPage};

/// The table. Keep the source of each row in its comment.
const TABLE: &[Pattern] = &[
    // Let's Debug http01.go `likelyModemRouters`: Server headers of modem/router web UIs.
    p(
        RouterPage,
        "micro_httpd (modem/router)",
        Field::Server,
        "micro_httpd",
    ),
    p(RouterPage, "Cisco IOS", Field::Server, "cisco-IOS"),
    p(RouterPage, "LANCOM router", Field::Server, "LANCOM"),
    p(
        RouterPage,
        "ZTE modem",
        Field::Server,
        "Mini web server 1.0 ZTE corp",
    ),
    // Allegro RomPager, the embedded server of many DSL modems (its Server header).
    p(RouterPage, "RomPager (modem)", Field::Server, "RomPager"),
    // AVM FRITZ!Box login page: <title>FRITZ!Box</title>.
    p(RouterPage, "FRITZ!Box", Field::Title, "FRITZ!Box"),
    // TP-Link firmware: Server "TP-LINK HTTPD", titles "TP-LINK ..." / "Opening...".
    p(RouterPage, "TP-Link", Field::Server, "TP-LINK"),
    p(RouterPage, "TP-Link", Field::Title, "TP-LINK"),
    // MikroTik RouterOS WebFig: <title>RouterOS router configuration page</title>.
    p(RouterPage, "MikroTik RouterOS", Field::Title, "RouterOS"),
    // DD-WRT web UI: <title>DD-WRT (build ...)</title>, Server "httpd" is too generic.
    p(RouterPage, "DD-WRT", Field::Title, "DD-WRT"),
    // OpenWrt LuCI: the landing page redirects to /cgi-bin/luci; title "<host> - LuCI".
    p(RouterPage, "OpenWrt LuCI", Field::Body, "/cgi-bin/luci"),
    p(RouterPage, "OpenWrt LuCI", Field::Title, "LuCI"),
    // Synology DSM login: <title>Synology DiskStation</title> / "Synology Router".
    p(RouterPage, "Synology DSM", Field::Title, "Synology"),
    // QNAP QTS login: <title>QTS</title> is short; "QNAP" appears in its title.
    p(RouterPage, "QNAP", Field::Title, "QNAP"),
    // Ubiquiti UniFi OS / EdgeOS login titles.
    p(RouterPage, "Ubiquiti", Field::Title, "UniFi OS"),
    p(RouterPage, "Ubiquiti", Field::Title, "EdgeOS"),
    // Let's Debug http01.go `isLikelyNginxTestcookiePayloads` (kyprizel/testcookie-nginx-module).
    p(
        BotChallenge,
        "nginx testcookie",
        Field::Body,
        "src=\"/aes.js\"",
    ),
    p(
        BotChallenge,
        "nginx testcookie",
        Field::Body,
        "src=\"/aes.min.js\"",
    ),
    p(
        BotChallenge,
        "nginx testcookie",
        Field::Body,
        "var a=toNumbers",
    ),
    // Cloudflare challenge pages: header `cf-mitigated: challenge` (Cloudflare docs, "Challenge
    // pages > Detect a challenge page response") and the "Just a moment..." interstitial title.
    p(
        BotChallenge,
        "Cloudflare challenge",
        Field::HeaderValue("cf-mitigated"),
        "challenge",
    ),
    p(
        BotChallenge,
        "Cloudflare challenge",
        Field::Title,
        "Just a moment...",
    ),
    // Sucuri WebSite Firewall block page title.
    p(
        BotChallenge,
        "Sucuri firewall",
        Field::Title,
        "Sucuri WebSite Firewall",
    ),
    // Let's Debug http01.go `isLikelyPaloAltoFirewall`: Palo Alto's block page names the
    // App-ID `acme-protocol` (community.letsencrypt.org/t/177600).
    p(
        FirewallBlock,
        "Palo Alto firewall (App-ID acme-protocol)",
        Field::Body,
        "acme-protocol",
    ),
    // Let's Debug http01.go `isHTTP497Payloads`: Apache mod_ssl and nginx answering plain HTTP on
    // a TLS port (httpd ssl_engine_kernel.c, nginx ngx_http_special_response.c).
    p(
        HttpOnHttpsPort,
        "Apache (TLS port)",
        Field::Body,
        "You're speaking plain HTTP to an SSL-enabled server port",
    ),
    p(
        HttpOnHttpsPort,
        "nginx (TLS port)",
        Field::Body,
        "The plain HTTP request was sent to HTTPS port",
    ),
    // CDNs. Cloudflare: `cf-ray` / `server: cloudflare` (Let's Debug generic.go
    // `hasCloudflareHeader`; Cloudflare docs "Cloudflare HTTP headers").
    p(Cdn, "Cloudflare", Field::HeaderName, "cf-ray"),
    p(Cdn, "Cloudflare", Field::Server, "cloudflare"),
    // Fastly: `x-served-by: cache-...` and `fastly-*`/`x-fastly-*` headers (Fastly docs,
    // "Understanding cache HIT and MISS headers").
    p(Cdn, "Fastly", Field::HeaderValue("x-served-by"), "cache-"),
    p(Cdn, "Fastly", Field::HeaderName, "x-fastly-*"),
    p(Cdn, "Fastly", Field::HeaderName, "fastly-*"),
    // Akamai: `server: AkamaiGHost`, `akamai-*`/`x-akamai-*` headers (Akamai TechDocs, "Pragma
    // headers" / "Akamai response headers").
    p(Cdn, "Akamai", Field::Server, "AkamaiGHost"),
    p(Cdn, "Akamai", Field::HeaderName, "akamai-*"),
    p(Cdn, "Akamai", Field::HeaderName, "x-akamai-*"),
    // Amazon CloudFront: `x-amz-cf-id`, `via: ... (CloudFront)` (AWS docs, "Headers that
    // CloudFront adds").
    p(Cdn, "Amazon CloudFront", Field::HeaderName, "x-amz-cf-id"),
    p(
        Cdn,
        "Amazon CloudFront",
        Field::HeaderValue("via"),
        "cloudfront",
    ),
];

/// One HTTP response as the table sees it.
#[derive(Debug)]
pub struct Response<'a> {
    /// Headers of the response (names lower case).
    pub headers: &'a [(String, Vec<u8>)],
    /// Final status.
    pub status: Option<u16>,
    /// The first bytes of the body (the final response only).
    pub body: Option<&'a [u8]>,
    /// The URL this response came from.
    pub url: &'a url::Url,
}

fn contains_ci(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    !n.is_empty() && hay.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn title(body: &[u8]) -> Option<&[u8]> {
    let start = find_ci(body, b"<title")?;
    let open_end = body[start..].iter().position(|&b| b == b'>')? + start + 1;
    let close = find_ci(&body[open_end..], b"</title").map_or(body.len(), |c| c + open_end);
    Some(&body[open_end..close])
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether a body is an HTML document (what a WAF, an error page or a catch-all serves), as
/// opposed to the plain-text key authorization.
pub fn is_html(body: &[u8]) -> bool {
    let t = body.trim_ascii_start();
    [
        "<!doctype html",
        "<html",
        "<head",
        "<body",
        "<script",
        "<!--",
    ]
    .iter()
    .any(|m| t.len() >= m.len() && t[..m.len()].eq_ignore_ascii_case(m.as_bytes()))
}

const MATCHED_MAX: usize = 80;

fn short(b: &[u8]) -> String {
    escape_bytes(&b[..b.len().min(MATCHED_MAX)])
}

/// Every fingerprint one response shows (at most one per kind and product).
pub fn classify(r: &Response<'_>) -> Vec<Fingerprint> {
    let mut out: Vec<Fingerprint> = Vec::new();
    let header = |name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    };
    let t = r.body.and_then(title);
    for row in TABLE {
        let matched = match row.field {
            Field::Server => header("server")
                .filter(|v| {
                    v.len() >= row.needle.len()
                        && v[..row.needle.len()].eq_ignore_ascii_case(row.needle.as_bytes())
                })
                .map(|v| format!("Server: {}", short(v))),
            Field::HeaderName => {
                let hit = match row.needle.strip_suffix('*') {
                    Some(prefix) => r.headers.iter().find(|(k, _)| k.starts_with(prefix)),
                    None => r.headers.iter().find(|(k, _)| k == row.needle),
                };
                hit.map(|(k, v)| format!("{k}: {}", short(v)))
            }
            Field::HeaderValue(name) => header(name)
                .filter(|v| contains_ci(v, row.needle))
                .map(|v| format!("{name}: {}", short(v))),
            Field::Title => t
                .filter(|t| contains_ci(t, row.needle))
                .map(|t| format!("<title>{}</title>", short(t.trim_ascii()))),
            Field::Body => r
                .body
                .filter(|b| contains_ci(b, row.needle))
                .map(|_| row.needle.to_string()),
        };
        if let Some(matched) = matched
            && !out
                .iter()
                .any(|f| f.kind == row.kind && f.product == row.product)
        {
            out.push(Fingerprint {
                kind: row.kind,
                product: row.product.into(),
                matched,
            });
        }
    }
    // A plain http:// URL on port 443 that answered: the HTTPS port speaks plain HTTP (Let's
    // Debug `HttpOnHttpsPort`, e.g. a redirect to http://example.com:443/).
    if r.url.scheme() == "http"
        && r.url.port() == Some(443)
        && r.status.is_some()
        && !out.iter().any(|f| f.kind == HttpOnHttpsPort)
    {
        out.push(Fingerprint {
            kind: HttpOnHttpsPort,
            product: "plain HTTP on port 443".into(),
            matched: r.url.to_string(),
        });
    }
    if r.status == Some(200)
        && let Some(b) = r.body
        && is_html(b)
    {
        out.push(Fingerprint {
            kind: FingerprintKind::HtmlBody,
            product: "HTML".into(),
            matched: short(b.trim_ascii_start()),
        });
    }
    out
}

/// A TLS failure on an `https://` hop whose message shows the port answered in plain HTTP (the
/// server sent "HTTP/1.1 ..." where a TLS record belongs). The transport's words are read here,
/// once, and become a typed fact.
pub fn plain_http_on_tls(url: &url::Url, error: &str) -> Option<Fingerprint> {
    let e = error.to_ascii_lowercase();
    let plain = e.contains("invalidcontenttype")
        || e.contains("corrupt message")
        || e.contains("wrong version number")
        || e.contains("http request to an https server")
        || e.contains("gave http response");
    (url.scheme() == "https" && plain).then(|| Fingerprint {
        kind: HttpOnHttpsPort,
        product: "plain HTTP on an https:// port".into(),
        matched: format!("{url}: {}", &error[..error.len().min(MATCHED_MAX)]),
    })
}

/// The CDN's own way to let `/.well-known/acme-challenge/` through to the origin uncached and
/// unchallenged, for fix texts.
pub fn cdn_bypass_advice(product: &str) -> Option<&'static str> {
    Some(match product {
        // developers.cloudflare.com: cache/how-to/cache-rules (Bypass cache), waf/custom-rules/skip,
        // ssl/edge-certificates/additional-options/always-use-https (exempt with a config rule).
        "Cloudflare" => {
            "Cloudflare: add a Cache Rule \"URI Path starts with /.well-known/acme-challenge/\" → Bypass cache, \
             and a WAF custom rule with the Skip action (skip managed rules, Bot Fight Mode and rate limiting) \
             for the same path; if \"Always Use HTTPS\" is on, exempt that path with a Configuration Rule"
        }
        // docs.fastly.com: "Bypassing the cache" (return(pass) in vcl_recv) / a Request setting
        // with Action "Pass".
        "Fastly" => {
            "Fastly: add a request condition req.url ~ \"^/.well-known/acme-challenge/\" with a Request setting \
             whose action is Pass (or return(pass) in vcl_recv), so the challenge path is never cached"
        }
        // techdocs.akamai.com Property Manager: Caching behavior "No store" / "Bypass cache".
        "Akamai" => {
            "Akamai: in Property Manager add a rule matching path /.well-known/acme-challenge/* with the \
             Caching behavior set to No Store (or Bypass Cache) and no redirect or bot-manager action on it"
        }
        // docs.aws.amazon.com CloudFront: cache behaviors by path pattern, managed policy
        // "CachingDisabled".
        "Amazon CloudFront" => {
            "CloudFront: add a cache behavior for the path pattern /.well-known/acme-challenge/* pointing at \
             the origin, with the managed cache policy CachingDisabled and HTTP allowed (not \"Redirect HTTP to HTTPS\")"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(headers: &[(&str, &str)], status: u16, body: &str, url: &str) -> Vec<FingerprintKind> {
        let h: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        let u = url::Url::parse(url).unwrap();
        classify(&Response {
            headers: &h,
            status: Some(status),
            body: Some(body.as_bytes()),
            url: &u,
        })
        .into_iter()
        .map(|f| f.kind)
        .collect()
    }

    const U: &str = "http://example.com/.well-known/acme-challenge/x";

    #[test]
    fn routers_by_title_and_server() {
        let fritz = "<!DOCTYPE html><html><head><title>FRITZ!Box</title></head></html>";
        assert!(run(&[], 200, fritz, U).contains(&RouterPage));
        assert!(run(&[("server", "micro_httpd")], 404, "", U).contains(&RouterPage));
        assert!(
            run(
                &[],
                200,
                "<title>RouterOS router configuration page</title>",
                U
            )
            .contains(&RouterPage)
        );
        assert!(
            !run(
                &[("server", "nginx")],
                404,
                "<title>404 Not Found</title>",
                U
            )
            .contains(&RouterPage)
        );
    }

    #[test]
    fn challenge_pages_firewalls_and_tls_ports() {
        assert!(
            run(&[], 200, "<html><script src=\"/aes.min.js\"></script>", U).contains(&BotChallenge)
        );
        assert!(
            run(&[], 503, "blocked: application acme-protocol denied", U).contains(&FirewallBlock)
        );
        assert!(
            run(
                &[],
                400,
                "<html><center>The plain HTTP request was sent to HTTPS port</center>",
                U
            )
            .contains(&HttpOnHttpsPort)
        );
        assert!(run(&[], 404, "", "http://example.com:443/x").contains(&HttpOnHttpsPort));
        let u = url::Url::parse("https://example.com/x").unwrap();
        assert!(
            plain_http_on_tls(&u, "received corrupt message of type InvalidContentType").is_some()
        );
        assert!(plain_http_on_tls(&u, "certificate expired").is_none());
    }

    #[test]
    fn html_only_on_200_and_cdns_by_header() {
        assert!(run(&[], 200, "  <!doctype html><p>hi", U).contains(&FingerprintKind::HtmlBody));
        assert!(!run(&[], 200, "token.thumbprint", U).contains(&FingerprintKind::HtmlBody));
        assert!(!run(&[], 404, "<html>", U).contains(&FingerprintKind::HtmlBody));
        assert!(run(&[("cf-ray", "8f-AMS")], 404, "", U).contains(&Cdn));
        assert!(run(&[("x-amz-cf-id", "abc")], 404, "", U).contains(&Cdn));
        assert!(run(&[("server", "AkamaiGHost")], 404, "", U).contains(&Cdn));
        assert!(run(&[("x-served-by", "cache-ams21")], 404, "", U).contains(&Cdn));
        assert!(run(&[("server", "nginx")], 404, "", U).is_empty());
        for v in ["Cloudflare", "Fastly", "Akamai", "Amazon CloudFront"] {
            assert!(cdn_bypass_advice(v).is_some());
        }
    }
}
