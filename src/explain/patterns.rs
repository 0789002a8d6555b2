//! The one table of failure messages `explain` knows: each entry is a set of lower-case phrases
//! from a CA's validation error (Let's Encrypt's Boulder, Pebble, Go's own network errors that
//! Pebble passes through) or from an ACME client's refusal, with the failure family it means and
//! the source file and function the wording comes from. Entries are tried in order and the first
//! match wins, so the specific shapes come before the generic ones they contain. The wrappers
//! that only say *where* a failure happened (`During secondary validation: …`, `While processing
//! CAA for …`) are listed here too, beside the table.
//!
//! Sources read for the wording: letsencrypt/boulder `va/va.go`, `va/http.go`, `va/dns.go`,
//! `va/caa.go`, `bdns/problem.go`, `ratelimits/limiter.go`; letsencrypt/pebble 2.4.0
//! `va/va.go` (the Debian package; texts confirmed by running it with certbot 2.1 on loopback,
//! see `tests/fixtures/explain/pebble/`); go-acme/lego `acme/errors.go`; certbot 2.x
//! `certbot/_internal/auth_handler.py`.

/// Further reading a matched shape needs beyond its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Read {
    /// The family and cause are the entry's own.
    Nothing,
    /// Which limit: [`super::classify::rate_limit_cause`].
    RateLimit,
    /// Boulder's `DNS problem: <what> looking up <TYPE> for <name>`: family from the RCODE.
    BoulderLookup,
    /// Pebble's `DNS lookup for "<name>" returned an unsuccessful response: '\x03'`: the RCODE is
    /// printed as a Go `%q` rune.
    PebbleRcode,
    /// Go's resolver error `lookup <name> on <server>: no such host` (Pebble without
    /// `-dnsserver`, lego).
    GoLookup,
    /// Boulder's `Invalid port in redirect target … not <port>`.
    RedirectPort,
    /// Boulder's `Invalid response from <url>: <status>` (or a quoted body).
    InvalidResponse,
    /// Pebble's `Non-200 status code from HTTP: <url> returned <status>`.
    PebbleStatus,
    /// lego's own propagation check: `NS <ns> did not return the expected TXT record [fqdn: <fqdn>,
    /// value: <v>]: <found>` — missing, or wrong when other values were found.
    LegoPropagation,
    /// lego's own propagation check: `NS <ns> returned <RCODE> for <fqdn>`.
    LegoRcode,
}

/// One known message shape.
#[derive(Debug)]
pub(super) struct Pattern {
    /// Lower-case phrases; the entry matches when the text contains any of them …
    pub(super) any: &'static [&'static str],
    /// … and every one of these.
    pub(super) also: &'static [&'static str],
    pub(super) family: &'static str,
    pub(super) cause: &'static str,
    pub(super) read: Read,
    /// Phrases too generic to make a bare log line a problem record on their own (Go network
    /// errors also appear when a client cannot reach its CA); they still classify the detail of
    /// a record found by its structure (a certbot block, a lego line, a JSON problem).
    pub(super) weak: bool,
}

const fn p(
    any: &'static [&'static str],
    family: &'static str,
    cause: &'static str,
    read: Read,
) -> Pattern {
    Pattern {
        any,
        also: &[],
        family,
        cause,
        read,
        weak: false,
    }
}

const fn weak(
    any: &'static [&'static str],
    also: &'static [&'static str],
    family: &'static str,
    cause: &'static str,
) -> Pattern {
    Pattern {
        any,
        also,
        family,
        cause,
        read: Read::Nothing,
        weak: true,
    }
}

/// Prefixes that place a failure at the CA's remote perspectives (MPIC).
pub(super) const REMOTE_WRAPPERS: &[&str] = &[
    // boulder va/va.go doRemoteOperation: `During secondary validation: %s`.
    "during secondary validation",
];

/// Prefixes that place a failure in the CAA check (at validation or the recheck at finalization).
pub(super) const CAA_WRAPPERS: &[&str] = &[
    // boulder va/caa.go DoCAA: `While processing CAA for %s: %s`.
    "while processing caa for",
    // boulder ra/ra.go recheckCAA: `rechecking caa: %s`.
    "rechecking caa",
];

/// Every message shape, most specific first.
pub(super) const PATTERNS: &[Pattern] = &[
    // boulder va/va.go doRemoteOperation: the CA's own RPCs to its remote perspectives failed
    // (`Secondary validation RPC failed`, `… validation failed but the problem is unavailable`),
    // and older Boulder's `Remote PerformValidation RPC failed` / `insufficient remote
    // perspectives`.
    p(
        &[
            "secondary validation rpc",
            "remote performvalidation rpc",
            "problem is unavailable",
            "insufficient remote perspectives",
            "too few remote performvalidation",
        ],
        "ca-internal",
        "rpc",
        Read::Nothing,
    ),
    // boulder ratelimits/limiter.go (`too many failed authorizations (%d) for %q in the last %s,
    // retry after %s`, `too many certificates (%d) already issued for …`, `too many new orders`,
    // `too many new registrations`), the paused-account notice (`/unpause`), and the ACME
    // `rateLimited` wording of other CAs.
    p(
        &[
            "temporarily prevented from requesting",
            "too many failed authorizations",
            "too many certificates",
            "too many new orders",
            "too many registrations",
            "too many new registrations",
        ],
        "rate-limit",
        "",
        Read::RateLimit,
    ),
    // Generic rate-limit words: a DNS provider's API limit in a lego or acme.sh log says the
    // same, so they classify a CA's problem record but do not make a bare line one.
    Pattern {
        weak: true,
        ..p(
            &[
                "/unpause",
                "too many new accounts",
                "too many currently pending",
                "ratelimited",
                "rate limit",
            ],
            "rate-limit",
            "",
            Read::RateLimit,
        )
    },
    // certbot certbot/_internal/auth_handler.py _report_no_chall_path ("Client with the
    // currently selected authenticator does not support any combination of challenges …", and
    // for wildcards "… plugin that can do challenges over DNS."); lego
    // challenge/resolver/prober.go ("prober: could not determine solvers").
    p(
        &[
            "does not support any combination of challenges",
            "can do challenges over dns",
            "could not determine solvers",
        ],
        "wildcard-needs-dns01",
        "",
        Read::Nothing,
    ),
    // boulder va/caa.go checkCAA: `CAA record for %s prevents issuance`.
    Pattern {
        also: &["prevents issuance"],
        ..p(&["caa record for"], "caa-forbids", "", Read::Nothing)
    },
    // boulder va/dns.go getAddrs: `no valid A records found for %s; no valid AAAA records found
    // for %s`, and the older `No valid IP addresses found for %s`.
    p(
        &[
            "no valid a records found",
            "no valid aaaa records found",
            "no valid ip addresses found",
        ],
        "dns-no-address",
        "",
        Read::Nothing,
    ),
    // pebble va/va.go fetchHTTP (DialContext) and validateTLSALPN01: `could not resolve URL %q`
    // — the name has no A/AAAA record at Pebble's resolver. It is DNS, not a firewall.
    p(
        &["could not resolve url"],
        "dns-no-address",
        "",
        Read::Nothing,
    ),
    // boulder bdns/problem.go Error: `DNS problem: %s looking up %s for %s%s` and the
    // Extended-DNS-Error form `DNS problem: looking up %s for %s: %s`; the CAA lookup inside it
    // makes it a CAA failure (va/caa.go).
    Pattern {
        also: &["looking up "],
        ..p(&["dns problem:"], "dns-error", "", Read::BoulderLookup)
    },
    // pebble va/va.go getTXTEntry: `DNS lookup for %q returned an unsuccessful response: %q`,
    // wrapped by validateDNS01 in `Error retrieving TXT records for DNS challenge (%q)`.
    p(
        &["returned an unsuccessful response"],
        "dns-error",
        "",
        Read::PebbleRcode,
    ),
    // Go net.DNSError as Pebble passes it through without `-dnsserver` (va/va.go getTXTEntry,
    // resolveIP): `lookup %s on %s: no such host` / `server misbehaving`. Weak: a Go client
    // that cannot resolve its CA prints the same.
    Pattern {
        also: &["lookup "],
        weak: true,
        ..p(
            &["no such host", "server misbehaving"],
            "dns-error",
            "",
            Read::GoLookup,
        )
    },
    // pebble va/va.go fetchHTTP and validateTLSALPN01: `error occurred while resolving URL %q:
    // %q`; validateDNS01: `Error retrieving TXT records for DNS challenge (%q)`.
    p(
        &[
            "error occurred while resolving url",
            "error retrieving txt records for dns challenge",
        ],
        "dns-error",
        "",
        Read::Nothing,
    ),
    // lego challenge/dns01/client_nameservers.go checkNameserversPropagationCustom: lego asks
    // the authoritative nameservers itself before it asks the CA, and gives up with `… time
    // limit exceeded: last error: NS %s did not return the expected TXT record [fqdn: %s, value:
    // %s]: %s` or `NS %s returned %s for %s` (the CA was never asked).
    p(
        &["did not return the expected txt record"],
        "txt-missing",
        "client",
        Read::LegoPropagation,
    ),
    Pattern {
        also: &["ns "],
        ..p(
            &[
                " returned nxdomain for ",
                " returned servfail for ",
                " returned refused for ",
                " returned notimp for ",
            ],
            "dns-error",
            "client",
            Read::LegoRcode,
        )
    },
    // boulder va/dns.go validateTXT: `No TXT record found at %s`; pebble va/va.go
    // validateDNS01: `No TXT records found for DNS challenge` (2.4.0; later `… :%q`).
    p(
        &[
            "no txt record found at",
            "no txt records found for dns challenge",
        ],
        "txt-missing",
        "",
        Read::Nothing,
    ),
    // boulder va/dns.go validateTXT: `Incorrect TXT record %q%s found at %s`; pebble va/va.go
    // validateDNS01: `Correct value not found for DNS challenge` (2.4.0; later `… :%q`).
    p(
        &[
            "incorrect txt record",
            "correct value not found for dns challenge",
        ],
        "txt-incorrect",
        "",
        Read::Nothing,
    ),
    // boulder va/http.go validateHTTP01 (`… did not match this challenge. Expected %q (got
    // %q)`); pebble va/va.go validateHTTP01 (`… did not match this challenge %q != %q`).
    p(
        &["key authorization file from the server did not match"],
        "wrong-body",
        "keyauth",
        Read::Nothing,
    ),
    // boulder va/http.go processHTTPValidation's CheckRedirect: `Too many redirects`,
    // `Redirect loop detected`, `received disallowed redirect status code`, `Redirect target
    // too long`; extractRequestTarget: `Invalid port in redirect target. Only ports %d and %d
    // are supported, not %d`, `Invalid host in redirect target …`, `Invalid empty host in
    // redirect target`, and the protocol-scheme variant.
    p(
        &["too many redirects"],
        "redirect",
        "too-many",
        Read::Nothing,
    ),
    p(&["redirect loop"], "redirect", "loop", Read::Nothing),
    p(
        &["invalid port in redirect target"],
        "redirect",
        "port",
        Read::RedirectPort,
    ),
    p(
        &["disallowed redirect status"],
        "redirect",
        "status",
        Read::Nothing,
    ),
    p(
        &["in redirect target", "redirect target too long"],
        "redirect",
        "target",
        Read::Nothing,
    ),
    // boulder va/va.go detailedError: `Server is speaking HTTP/2 over HTTP`, `Server only speaks
    // HTTP, not TLS`, and tls.alert errors passed through (`remote error: tls: …`).
    p(
        &["speaking http/2 over http"],
        "protocol-error",
        "h2c",
        Read::Nothing,
    ),
    p(
        &["only speaks http, not tls"],
        "protocol-error",
        "no-tls",
        Read::Nothing,
    ),
    p(
        &[
            "remote error: tls",
            "doesn't support tlsv1.2",
            "tls handshake",
        ],
        "protocol-error",
        "tls",
        Read::Nothing,
    ),
    // boulder va/va.go detailedError: `Timeout during connect (likely firewall problem)` (a
    // net.OpError timeout on dial).
    p(
        &["timeout during connect"],
        "connect-timeout",
        "timeout",
        Read::Nothing,
    ),
    // Go net/http through pebble va/va.go fetchHTTP (ConnectionProblem(err.Error())): a dial
    // that timed out, `dial tcp 192.0.2.1:80: i/o timeout` or `dial tcp …: connect: connection
    // timed out`.
    weak(
        &["dial tcp", "dial udp"],
        &["timeout"],
        "connect-timeout",
        "timeout",
    ),
    weak(&["dial tcp"], &["timed out"], "connect-timeout", "timeout"),
    // boulder va/va.go detailedError: `Timeout after connect (your server may be slow or
    // overloaded)`, `Timeout during read (…)`, `Timeout during write (…)`.
    p(
        &[
            "timeout after connect",
            "timeout during read",
            "timeout during write",
        ],
        "http-timeout",
        "",
        Read::Nothing,
    ),
    // Go net/http through pebble va/va.go fetchHTTP: connected, but no answer within Pebble's
    // 15 s (`context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, or
    // `read tcp …: i/o timeout`).
    weak(
        &[
            "client.timeout exceeded",
            "context deadline exceeded",
            "i/o timeout",
        ],
        &[],
        "http-timeout",
        "",
    ),
    // boulder va/va.go detailedError: `Connection refused` (ECONNREFUSED); Go through pebble
    // va/va.go fetchHTTP: `dial tcp 192.0.2.1:80: connect: connection refused`.
    p(
        &["connection refused"],
        "connection-refused",
        "refused",
        Read::Nothing,
    ),
    // boulder va/va.go detailedError: `Connection reset by peer` (ECONNRESET); Go through pebble:
    // `read tcp a:p->b:p: read: connection reset by peer`.
    p(
        &["connection reset by peer"],
        "connection-reset",
        "reset",
        Read::Nothing,
    ),
    // boulder va/va.go detailedError: `Network unreachable` (ENETUNREACH); Go through pebble:
    // `connect: network is unreachable`, `connect: no route to host`.
    p(
        &[
            "network unreachable",
            "network is unreachable",
            "no route to host",
        ],
        "network-unreachable",
        "unreachable",
        Read::Nothing,
    ),
    // boulder va/http.go processHTTPValidation: `Invalid response from %s: %d`, and `Invalid
    // response from %s: %q` for a body of maxResponseSize (older Boulder: `Invalid response
    // from %s [%s]: %q` for any body).
    p(
        &["invalid response from"],
        "http-status",
        "",
        Read::InvalidResponse,
    ),
    // pebble va/va.go fetchHTTP: `Non-200 status code from HTTP: %s returned %d`.
    p(
        &["non-200 status code from http"],
        "http-status",
        "",
        Read::PebbleStatus,
    ),
    // boulder va/va.go detailedError's fallback: `Error getting validation data`; Go's
    // `cannot connect to host` of some clients.
    p(
        &["error getting validation data", "cannot connect to host"],
        "connection-error",
        "connect",
        Read::Nothing,
    ),
    // Other CAs' MPIC quorum wording (mpic-rules.md §4–5: no verbatim messages published).
    p(&["too few rirs"], "quorum-rirs", "", Read::Nothing),
    Pattern {
        weak: true,
        ..p(&["quorum"], "quorum-rirs", "", Read::Nothing)
    },
    Pattern {
        also: &["rir"],
        weak: true,
        ..p(
            &["too few", "insufficient", "distinct"],
            "quorum-rirs",
            "",
            Read::Nothing,
        )
    },
];

impl Pattern {
    pub(super) fn matches(&self, lower: &str) -> bool {
        self.any.iter().any(|k| lower.contains(k)) && self.also.iter().all(|k| lower.contains(k))
    }
}

/// The first entry of [`PATTERNS`] the lower-cased text matches.
pub(super) fn find(lower: &str) -> Option<&'static Pattern> {
    PATTERNS.iter().find(|p| p.matches(lower))
}

/// Whether a bare log line says enough to be read as a problem: a strong pattern, a wrapper, or
/// a weak pattern on a line that also names the challenge.
pub(super) fn line_has_pattern(lower: &str) -> bool {
    REMOTE_WRAPPERS
        .iter()
        .chain(CAA_WRAPPERS)
        .any(|w| lower.contains(w))
        || PATTERNS.iter().any(|p| {
            p.matches(lower)
                && (!p.weak
                    || lower.contains("/.well-known/acme-challenge/")
                    || lower.contains("_acme-challenge."))
        })
}
