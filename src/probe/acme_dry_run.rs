//! `--acme-dry-run`: the CA's own validation as ground truth, issuing nothing. For each name an
//! order is created on a real RFC 8555 server (Let's Encrypt staging by default), the challenge is
//! answered the way the renewal would answer it — HTTP-01 through the webroot probe file of
//! [`super::webroot`] (directory descriptors, `O_EXCL`, never overwriting, removed on drop), DNS-01
//! through certbot-style manual hooks — the authorization is polled until the CA decides, and then
//! deactivated. The order is never finalized: no CSR is ever sent, so no certificate exists.
//!
//! The ACME protocol (JWS, nonces, account keys) is `instant-acme`'s. It runs over our own
//! hyper-rustls client, [`Recorder`], for two reasons: `--acme-ca-file` adds a private root to the
//! public ones, and the raw authorization documents are kept, because instant-acme's typed
//! `Challenge` has neither the problem document as sent nor Boulder's `validationRecord`.
//! Everything the server echoes back is scrubbed of the token, the key authorization, the account
//! key's thumbprint and the account URL before it reaches the report.
//!
//! The account is created once per directory URL and kept under `$XDG_STATE_HOME/mpic-check/`
//! (`~/.local/state/mpic-check/`), directory 0700, file 0600, written through a new file and
//! `rename`, so a crash never leaves half a key. Nothing here prints: failures are data.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType,
    HttpClient, NewAccount, NewOrder,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use tokio::time::Instant;

use super::webroot::ProbeFile;
use crate::cli::{Cli, Format};
use crate::model::{AcmeDryRun, DryRunStatus};
use crate::plan::{Plan, Target, UsageError};

/// The whole dry run's bound when `--deadline` is not given: ordering, answering, the CA's
/// validation from all its perspectives, polling and cleanup for every name.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(180);
/// Each request to the ACME server (and each hook) when `--timeout` is not given.
pub const DEFAULT_STEP: Duration = Duration::from_secs(30);
/// Larger bodies are not ACME documents.
const MAX_BODY: usize = 1 << 20;
/// Polling bounds when the server sends no usable `Retry-After`.
const FIRST_POLL: Duration = Duration::from_secs(1);
const MAX_POLL: Duration = Duration::from_secs(10);
/// What a stuck cleanup hook may take when it runs from a drop (signal, deadline).
const CLEANUP_GRACE: Duration = Duration::from_secs(30);

/// What `--acme-dry-run` was asked to do, checked before anything is contacted.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The directory URL as given.
    pub directory: String,
    /// Extra roots from `--acme-ca-file`.
    roots: Vec<CertificateDer<'static>>,
    /// `--dns-hook`.
    pub dns_hook: Option<String>,
    /// `--dns-cleanup-hook`.
    pub dns_cleanup_hook: Option<String>,
    /// Bound of each request.
    pub step: Duration,
    /// Bound of the whole dry run.
    pub deadline: Duration,
    /// Where accounts are kept.
    pub state_dir: PathBuf,
}

impl Settings {
    /// The settings of `--acme-dry-run`, or `None` without it. Bad input is a usage error (exit 3)
    /// before any network traffic.
    pub fn from_cli(cli: &Cli) -> Result<Option<Settings>, UsageError> {
        let Some(directory) = &cli.acme_dry_run else {
            return Ok(None);
        };
        let url = url::Url::parse(directory)
            .ok()
            .filter(|u| u.scheme() == "https");
        if url.is_none() {
            return Err(UsageError(format!(
                "--acme-dry-run: {directory:?} is not an https:// ACME directory URL (put the \
                 names before the flag, or write --acme-dry-run=URL)"
            )));
        }
        if cli.format == Format::Jsonl || cli.replay.is_some() {
            return Err(UsageError(
                "--acme-dry-run adds the CA's verdict to a whole report; it cannot be combined \
                 with --format jsonl or --replay"
                    .into(),
            ));
        }
        let roots = match &cli.acme_ca_file {
            Some(path) => read_roots(path)?,
            None => Vec::new(),
        };
        let state_dir = state_dir(
            std::env::var_os("XDG_STATE_HOME").map(PathBuf::from),
            std::env::var_os("HOME").map(PathBuf::from),
        )
        .ok_or_else(|| {
            UsageError(
                "--acme-dry-run keeps its ACME account under $XDG_STATE_HOME or $HOME, and \
                 neither is set"
                    .into(),
            )
        })?;
        Ok(Some(Settings {
            directory: directory.clone(),
            roots,
            dns_hook: cli.dns_hook.clone(),
            dns_cleanup_hook: cli.dns_cleanup_hook.clone(),
            step: cli.timeout.unwrap_or(DEFAULT_STEP),
            deadline: cli.deadline.unwrap_or(DEFAULT_DEADLINE),
            state_dir,
        }))
    }

    /// The directory URL for output: a `user:password@` part is dropped.
    pub fn server(&self) -> String {
        shown_url(&self.directory)
    }

    /// The line that goes first on stderr: the user opted into contacting a third party.
    pub fn notice(&self, names: usize) -> String {
        format!(
            "mpic-check: --acme-dry-run contacts {} and creates an account (if needed) and an order \
             there for {names} name(s); it answers the challenges, then deactivates the \
             authorizations and never finalizes: nothing is issued",
            self.server()
        )
    }
}

/// `$XDG_STATE_HOME/mpic-check`, or `~/.local/state/mpic-check`. A relative XDG value is ignored,
/// as the XDG base directory specification says.
fn state_dir(xdg: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    let base = xdg.filter(|p| p.is_absolute()).or_else(|| {
        home.filter(|h| h.is_absolute())
            .map(|h| h.join(".local/state"))
    })?;
    Some(base.join("mpic-check"))
}

fn read_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, UsageError> {
    let shown = path.display();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| UsageError(format!("--acme-ca-file {shown}: {e}")))?;
    if certs.is_empty() {
        return Err(UsageError(format!(
            "--acme-ca-file {shown}: no PEM certificate in it"
        )));
    }
    let mut store = rustls::RootCertStore::empty();
    for c in &certs {
        store
            .add(c.clone())
            .map_err(|e| UsageError(format!("--acme-ca-file {shown}: {e}")))?;
    }
    Ok(certs)
}

fn shown_url(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => u.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Account storage

/// One stored account: the directory it belongs to and instant-acme's credentials (key + URL).
#[derive(Serialize, Deserialize)]
struct Stored {
    directory: String,
    credentials: AccountCredentials,
}

/// One file per directory URL, named by a hash of it (URLs do not make good file names).
pub fn account_path(state_dir: &Path, directory: &str) -> PathBuf {
    let h = sha2::Sha256::digest(directory.as_bytes());
    let hex: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
    state_dir.join(format!("acme-account-{hex}.json"))
}

/// Writes `bytes` to `path` atomically with mode 0600, creating the directory 0700.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

// ---------------------------------------------------------------------------------------------
// HTTP

type Hyper = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    BodyWrapper<Bytes>,
>;

/// A response kept for what instant-acme does not expose.
#[derive(Debug, Clone)]
struct Kept {
    body: Bytes,
    retry_after: Option<String>,
}

#[derive(Debug, Default)]
struct Seen {
    /// The last response per URL.
    by_url: HashMap<String, Kept>,
    /// The last problem document (an error status), for failures instant-acme only types.
    last_problem: Option<Bytes>,
}

/// The HTTP client under instant-acme: bounded requests and bodies, and the raw documents kept.
struct Recorder {
    inner: Hyper,
    seen: Arc<Mutex<Seen>>,
    step: Duration,
}

fn other(msg: String) -> instant_acme::Error {
    instant_acme::Error::Other(msg.into())
}

impl HttpClient for Recorder {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let url = req.uri().to_string();
        let fut = self.inner.request(req);
        let seen = Arc::clone(&self.seen);
        let step = self.step;
        Box::pin(async move {
            let within = humantime::format_duration(step);
            let rsp = tokio::time::timeout(step, fut)
                .await
                .map_err(|_| other(format!("no answer within {within}")))?
                .map_err(|e| other(error_chain(&e)))?;
            let (parts, body) = rsp.into_parts();
            let body =
                tokio::time::timeout(step, http_body_util::Limited::new(body, MAX_BODY).collect())
                    .await
                    .map_err(|_| other(format!("body not received within {within}")))?
                    .map_err(instant_acme::Error::Other)?
                    .to_bytes();
            let retry_after = parts
                .headers
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Ok(mut s) = seen.lock() {
                if !parts.status.is_success() {
                    s.last_problem = Some(body.clone());
                }
                s.by_url.insert(
                    url,
                    Kept {
                        body: body.clone(),
                        retry_after,
                    },
                );
            }
            Ok(BytesResponse {
                parts,
                body: Box::new(body),
            })
        })
    }
}

/// An error with its causes, on one line (hyper's own Display says only "client error").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn client(roots: &[CertificateDer<'static>]) -> Result<Hyper, String> {
    let mut store = rustls::RootCertStore::empty();
    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for r in roots {
        store.add(r.clone()).map_err(|e| e.to_string())?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(store)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

// ---------------------------------------------------------------------------------------------
// The run

/// The dry run's result: one entry per name, and the one-line reason when the server could not
/// be used at all (then every name is `error` with that reason).
#[derive(Debug)]
pub struct DryRun {
    /// Name → the CA's verdict, in plan order.
    pub results: Vec<(String, AcmeDryRun)>,
    /// Why the server could not be used, for one line on stderr.
    pub problem: Option<String>,
}

/// Orders every name of the plan from the server and reports the CA's verdicts. Never fails:
/// problems are data. Dropping the future (a signal) removes challenge files and runs the cleanup
/// hook through their guards.
pub async fn run(s: &Settings, plan: &Plan) -> DryRun {
    // Nothing to order when no CA issues for any of the names: the server is not contacted.
    if plan.identifiers.iter().all(|t| t.refused().is_some()) {
        return DryRun {
            results: plan
                .identifiers
                .iter()
                .map(|t| (t.id.name.clone(), not_ordered(s, t)))
                .collect(),
            problem: None,
        };
    }
    let until = Instant::now() + s.deadline;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let account = match tokio::time::timeout_at(until, account(s, &seen)).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return all_error(s, plan, e),
        Err(_) => {
            let e = format!(
                "{}: no account within the dry run's {}",
                s.server(),
                humantime::format_duration(s.deadline)
            );
            return all_error(s, plan, e);
        }
    };
    let mut results = Vec::new();
    for t in &plan.identifiers {
        // A name no CA issues for is not ordered: the order would only be rejected, and it
        // would count against the account's rate limits (`name-not-issuable` says why).
        if t.refused().is_some() {
            results.push((t.id.name.clone(), not_ordered(s, t)));
            continue;
        }
        let r = one(s, &account, &seen, t, until).await;
        results.push((t.id.name.clone(), r));
    }
    DryRun {
        results,
        problem: None,
    }
}

fn all_error(s: &Settings, plan: &Plan, e: String) -> DryRun {
    let results = plan
        .identifiers
        .iter()
        .map(|t| {
            let r = match t.refused() {
                Some(_) => not_ordered(s, t),
                None => error(s, None, e.clone()),
            };
            (t.id.name.clone(), r)
        })
        .collect();
    DryRun {
        results,
        problem: Some(e),
    }
}

/// The dry run's result for a name no CA issues for: never ordered (the order would only be
/// rejected and count against the account's rate limits; `name-not-issuable` says why).
fn not_ordered(s: &Settings, t: &Target) -> AcmeDryRun {
    let why = t.refused().unwrap_or_default();
    error(s, None, format!("not ordered: {why}"))
}

fn error(s: &Settings, challenge: Option<&str>, e: String) -> AcmeDryRun {
    AcmeDryRun {
        server: s.server(),
        status: DryRunStatus::Error,
        challenge: challenge.map(str::to_owned),
        problem: None,
        validation_records: Vec::new(),
        error: Some(e),
        summary: String::new(),
        agrees: None,
    }
}

/// The stored account for this directory, or a new one (stored before it is used).
async fn account(s: &Settings, seen: &Arc<Mutex<Seen>>) -> Result<Account, String> {
    let server = s.server();
    let builder = || -> Result<instant_acme::AccountBuilder, String> {
        let inner = client(&s.roots).map_err(|e| format!("{server}: TLS setup: {e}"))?;
        Ok(Account::builder_with_http(Box::new(Recorder {
            inner,
            seen: Arc::clone(seen),
            step: s.step,
        })))
    };
    let path = account_path(&s.state_dir, &s.directory);
    let stored = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Stored>(&b).ok())
        .filter(|st| st.directory == s.directory);
    if let Some(st) = stored {
        // A stored account whose directory cannot be read now is the server's problem; a
        // restored account the server no longer knows shows up at the first order.
        return builder()?
            .from_credentials(st.credentials)
            .await
            .map_err(|e| format!("{server}: {}", error_chain(&e)));
    }
    let (account, credentials) = builder()?
        .create(
            &NewAccount {
                contact: &[],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            s.directory.clone(),
            None,
        )
        .await
        .map_err(|e| format!("{server}: {}", scrub_str(&error_chain(&e), &[])))?;
    let file = serde_json::to_vec(&Stored {
        directory: s.directory.clone(),
        credentials,
    })
    .map_err(|e| e.to_string())?;
    write_private(&path, &file)
        .map_err(|e| format!("cannot store the ACME account in {}: {e}", path.display()))?;
    Ok(account)
}

/// What answers a challenge; dropping it takes the answer back.
enum Answer {
    File(ProbeFile),
    Hook(HookGuard),
}

impl Answer {
    async fn remove(self) -> Result<(), String> {
        match self {
            Answer::File(mut f) => f.remove().map_err(|e| e.to_string()),
            Answer::Hook(mut h) => h.cleanup().await,
        }
    }
}

/// Secrets of one name's order: replaced wherever the server echoes them.
struct Secrets(Vec<(String, &'static str)>);

impl Secrets {
    fn scrub(&self, s: &str) -> String {
        let pairs: Vec<(&str, &str)> = self.0.iter().map(|(a, b)| (a.as_str(), *b)).collect();
        scrub_str(s, &pairs)
    }

    fn scrub_value(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = self.scrub(s),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| self.scrub_value(x)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|x| self.scrub_value(x)),
            _ => {}
        }
    }
}

/// Replaces every secret (longest first, so a key authorization goes before its token) by its
/// placeholder.
fn scrub_str(s: &str, secrets: &[(&str, &str)]) -> String {
    let mut pairs: Vec<&(&str, &str)> = secrets.iter().filter(|(a, _)| a.len() >= 4).collect();
    pairs.sort_by_key(|(a, _)| std::cmp::Reverse(a.len()));
    let mut out = s.to_string();
    for (secret, placeholder) in pairs {
        out = out.replace(secret, placeholder);
    }
    out
}

fn problem_type_is_the_names(problem: &serde_json::Value) -> bool {
    let t = problem.get("type").and_then(|t| t.as_str()).unwrap_or("");
    [
        "rejectedIdentifier",
        "unsupportedIdentifier",
        "caa",
        "dns",
        "connection",
        "unauthorized",
        "incorrectResponse",
        "tls",
    ]
    .iter()
    .any(|k| t.ends_with(&format!(":{k}")))
}

/// One name: order, answer, poll, take back, deactivate.
async fn one(
    s: &Settings,
    account: &Account,
    seen: &Arc<Mutex<Seen>>,
    t: &Target,
    until: Instant,
) -> AcmeDryRun {
    let name = t.id.name.clone();
    let kind = if s.dns_hook.is_some() {
        ChallengeType::Dns01
    } else if t.id.is_wildcard() {
        return error(
            s,
            None,
            "a wildcard is validated only with dns-01: give --dns-hook CMD".into(),
        );
    } else if t.webroot.is_some() {
        ChallengeType::Http01
    } else {
        return error(
            s,
            None,
            "nothing to answer the challenge with: give --webroot DIR (http-01) or --dns-hook CMD \
             (dns-01)"
                .into(),
        );
    };
    let kind_str = match kind {
        ChallengeType::Dns01 => "dns-01",
        _ => "http-01",
    };
    let mut secrets = Secrets(vec![
        (account.id().to_string(), "<account-url>"),
        (
            account.key_thumbprint().to_string(),
            "<account-key-thumbprint>",
        ),
    ]);
    let last_problem = || -> Option<serde_json::Value> {
        let b = seen.lock().ok()?.last_problem.clone()?;
        serde_json::from_slice(&b).ok()
    };
    // An order whose authorization is already valid (the account's earlier, cached one) proves
    // nothing about today: it is deactivated and a fresh order made, once.
    let mut order = None;
    for _ in 0..2 {
        let ids = [instant_acme::Identifier::Dns(name.clone())];
        let mut o =
            match tokio::time::timeout_at(until, account.new_order(&NewOrder::new(&ids))).await {
                Err(_) => return error(s, Some(kind_str), "the dry run's deadline passed".into()),
                Ok(Err(instant_acme::Error::Api(p))) => {
                    let mut doc = last_problem();
                    let text = secrets.scrub(&p.to_string());
                    if let Some(d) = doc.as_mut() {
                        secrets.scrub_value(d);
                        if problem_type_is_the_names(d) {
                            return AcmeDryRun {
                                status: DryRunStatus::Invalid,
                                problem: doc,
                                ..error(s, Some(kind_str), text)
                            };
                        }
                    }
                    return AcmeDryRun {
                        problem: doc,
                        ..error(s, Some(kind_str), format!("the order was refused: {text}"))
                    };
                }
                Ok(Err(e)) => {
                    let e = secrets.scrub(&error_chain(&e));
                    return error(s, Some(kind_str), format!("new order: {e}"));
                }
                Ok(Ok(o)) => o,
            };
        let status = {
            let mut auths = o.authorizations();
            match auths.next().await {
                Some(Ok(mut h)) => {
                    if h.status == AuthorizationStatus::Valid {
                        let _ = h.deactivate().await;
                        None
                    } else {
                        Some(h.status)
                    }
                }
                Some(Err(e)) => {
                    let e = secrets.scrub(&error_chain(&e));
                    return error(s, Some(kind_str), format!("authorization: {e}"));
                }
                None => return error(s, Some(kind_str), "the order has no authorization".into()),
            }
        };
        if status.is_some() {
            order = Some(o);
            break;
        }
    }
    let Some(mut order) = order else {
        return error(
            s,
            Some(kind_str),
            "the server keeps reusing an already valid authorization".into(),
        );
    };
    // Answer and poll, bounded by the deadline; the answer is taken back and the authorization
    // deactivated whatever happened.
    let (authz_url, token, key_auth, dns_value) = {
        let mut auths = order.authorizations();
        let Some(Ok(mut h)) = auths.next().await else {
            return error(s, Some(kind_str), "the authorization went away".into());
        };
        let url = h.url().to_string();
        let Some(ch) = h.challenge(kind.clone()) else {
            return error(
                s,
                Some(kind_str),
                format!("the server offers no {kind_str} challenge for {name}"),
            );
        };
        let ka = ch.key_authorization();
        (
            url,
            ch.token.clone(),
            ka.as_str().to_string(),
            ka.dns_value(),
        )
    };
    secrets.0.push((key_auth.clone(), "<key-authorization>"));
    secrets.0.push((token.clone(), "<token>"));
    secrets.0.push((dns_value.clone(), "<dns-01-value>"));
    let answer = match &kind {
        ChallengeType::Dns01 => {
            let hook = s.dns_hook.clone().unwrap_or_default();
            let env = vec![
                ("CERTBOT_DOMAIN".to_string(), t.id.base().to_string()),
                ("CERTBOT_VALIDATION".to_string(), dns_value.clone()),
                ("CERTBOT_REMAINING_CHALLENGES".to_string(), "0".to_string()),
                ("CERTBOT_ALL_DOMAINS".to_string(), t.id.base().to_string()),
            ];
            // The guard exists before the hook runs: a hook stopped halfway (signal, deadline)
            // may have published the value already, and its cleanup must run then too.
            let mut guard = HookGuard {
                cleanup: s.dns_cleanup_hook.clone(),
                env: env.clone(),
                auth_output: String::new(),
                done: false,
            };
            let failed = match tokio::time::timeout_at(until, run_hook(&hook, &env, None)).await {
                Ok(Ok(output)) => {
                    guard.auth_output = output;
                    None
                }
                Ok(Err(e)) => Some(format!("--dns-hook: {}", secrets.scrub(&e))),
                Err(_) => Some("--dns-hook did not finish before the dry run's deadline".into()),
            };
            if let Some(e) = failed {
                let _ = guard.cleanup().await;
                deactivate(&mut order).await;
                return error(s, Some(kind_str), e);
            }
            Answer::Hook(guard)
        }
        _ => {
            let webroot = t.webroot.clone().unwrap_or_default();
            match ProbeFile::create(&webroot, &token, &key_auth) {
                Ok(f) => Answer::File(f),
                Err(e) => {
                    let e = secrets.scrub(&e.to_string());
                    deactivate(&mut order).await;
                    return error(s, Some(kind_str), format!("--webroot: {e}"));
                }
            }
        }
    };
    let polled =
        tokio::time::timeout_at(until, ready_and_poll(&mut order, &kind, seen, &authz_url)).await;
    let removed = answer.remove().await;
    deactivate(&mut order).await;
    let status = match polled {
        Err(_) => {
            return error(
                s,
                Some(kind_str),
                "the CA had not decided before the dry run's deadline".into(),
            );
        }
        Ok(Err(e)) => {
            let mut doc = last_problem();
            if let Some(d) = doc.as_mut() {
                secrets.scrub_value(d);
            }
            let e = secrets.scrub(&e);
            return AcmeDryRun {
                problem: doc,
                ..error(s, Some(kind_str), e)
            };
        }
        Ok(Ok(st)) => st,
    };
    // The challenge object as the server sent it: only its `error` and `validationRecord` are
    // kept. Boulder's challenge (core/objects.go, `Challenge`) also echoes the key authorization
    // (`keyAuthorization`, ProvidedKeyAuthorization) and the token: neither is copied, and any
    // echo of them inside the kept parts is scrubbed. `validationRecord` is Boulder's
    // (`[]ValidationRecord`: url, hostname, port, addressesResolved, addressUsed); Pebble may
    // send none.
    let raw = seen
        .lock()
        .ok()
        .and_then(|s| s.by_url.get(&authz_url).map(|k| k.body.clone()));
    let challenge = raw
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            v.get("challenges")?
                .as_array()?
                .iter()
                .find(|c| c.get("type").and_then(|t| t.as_str()) == Some(kind_str))
                .cloned()
        });
    let mut problem = challenge.as_ref().and_then(|c| c.get("error").cloned());
    if let Some(p) = problem.as_mut() {
        secrets.scrub_value(p);
    }
    let mut records: Vec<serde_json::Value> = challenge
        .as_ref()
        .and_then(|c| c.get("validationRecord")?.as_array().cloned())
        .unwrap_or_default();
    records.iter_mut().for_each(|r| secrets.scrub_value(r));
    let cleanup_note = removed
        .err()
        .map(|e| format!("; taking the answer back failed: {}", secrets.scrub(&e)));
    match status {
        AuthorizationStatus::Valid => AcmeDryRun {
            status: DryRunStatus::Valid,
            problem,
            validation_records: records,
            error: cleanup_note,
            ..error(s, Some(kind_str), String::new())
        },
        AuthorizationStatus::Invalid => AcmeDryRun {
            status: DryRunStatus::Invalid,
            problem,
            validation_records: records,
            error: cleanup_note,
            ..error(s, Some(kind_str), String::new())
        },
        other => AcmeDryRun {
            problem,
            validation_records: records,
            ..error(
                s,
                Some(kind_str),
                format!(
                    "the authorization became {other:?} without a verdict{}",
                    cleanup_note.unwrap_or_default()
                ),
            )
        },
    }
}

/// Tells the server the challenge is ready and polls the authorization until it leaves
/// `pending`, waiting as long as the server's `Retry-After` (delay-seconds) asks, else backing off
/// from 1 s to 10 s.
async fn ready_and_poll(
    order: &mut instant_acme::Order,
    kind: &ChallengeType,
    seen: &Arc<Mutex<Seen>>,
    authz_url: &str,
) -> Result<AuthorizationStatus, String> {
    {
        let mut auths = order.authorizations();
        let Some(Ok(mut h)) = auths.next().await else {
            return Err("the authorization went away".into());
        };
        let Some(mut ch) = h.challenge(kind.clone()) else {
            return Err("the challenge went away".into());
        };
        ch.set_ready()
            .await
            .map_err(|e| format!("the server refused the challenge: {}", error_chain(&e)))?;
    }
    let mut wait = FIRST_POLL;
    loop {
        let status = {
            let mut auths = order.authorizations();
            let Some(Ok(mut h)) = auths.next().await else {
                return Err("the authorization went away".into());
            };
            h.refresh()
                .await
                .map_err(|e| format!("polling the authorization: {}", error_chain(&e)))?
                .status
        };
        if status != AuthorizationStatus::Pending {
            return Ok(status);
        }
        let asked = seen
            .lock()
            .ok()
            .and_then(|s| s.by_url.get(authz_url)?.retry_after.clone())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        tokio::time::sleep(
            asked
                .unwrap_or(wait)
                .clamp(FIRST_POLL, Duration::from_secs(60)),
        )
        .await;
        wait = (wait * 2).min(MAX_POLL);
    }
}

/// Deactivates the order's authorization if it is still pending or valid, so the account holds
/// no authorization a later real order could reuse (a reused one would hide a new problem).
/// Failures are ignored: the authorization expires on its own, and nothing can be issued from it
/// without a finalization this tool never sends.
async fn deactivate(order: &mut instant_acme::Order) {
    let mut auths = order.authorizations();
    if let Some(Ok(mut h)) = auths.next().await
        && matches!(
            h.status,
            AuthorizationStatus::Pending | AuthorizationStatus::Valid
        )
    {
        let _ = h.deactivate().await;
    }
}

// ---------------------------------------------------------------------------------------------
// certbot-style manual hooks

/// Runs `cmd` through `sh -c` as certbot runs `--manual-auth-hook`/`--manual-cleanup-hook`
/// (certbot `plugins/manual.py`: `CERTBOT_DOMAIN`, `CERTBOT_VALIDATION`,
/// `CERTBOT_REMAINING_CHALLENGES`, `CERTBOT_ALL_DOMAINS`, and `CERTBOT_AUTH_OUTPUT` for cleanup).
/// Returns its standard output; the child is killed if the future is dropped.
async fn run_hook(
    cmd: &str,
    env: &[(String, String)],
    auth_output: Option<&str>,
) -> Result<String, String> {
    let mut c = tokio::process::Command::new("sh");
    c.arg("-c")
        .arg(cmd)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(o) = auth_output {
        c.env("CERTBOT_AUTH_OUTPUT", o);
    }
    let out = c
        .output()
        .await
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    if out.status.success() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        Err(format!(
            "exited with {}{}",
            out.status,
            last.map(|l| format!(": {}", l.trim())).unwrap_or_default()
        ))
    }
}

/// The published dns-01 answer; the cleanup hook runs on [`HookGuard::cleanup`] or, if the run is
/// stopped (signal, deadline), from `Drop`, bounded by [`CLEANUP_GRACE`].
struct HookGuard {
    cleanup: Option<String>,
    env: Vec<(String, String)>,
    auth_output: String,
    done: bool,
}

impl HookGuard {
    async fn cleanup(&mut self) -> Result<(), String> {
        self.done = true;
        let Some(cmd) = self.cleanup.clone() else {
            return Ok(());
        };
        match tokio::time::timeout(
            CLEANUP_GRACE,
            run_hook(&cmd, &self.env, Some(&self.auth_output)),
        )
        .await
        {
            Ok(r) => r.map(|_| ()).map_err(|e| format!("--dns-cleanup-hook {e}")),
            Err(_) => Err("--dns-cleanup-hook did not finish in time".into()),
        }
    }
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Some(cmd) = &self.cleanup else { return };
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("CERTBOT_AUTH_OUTPUT", &self.auth_output)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Ok(mut child) = child {
            let start = std::time::Instant::now();
            while start.elapsed() < CLEANUP_GRACE {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_dir_follows_xdg_then_home() {
        assert_eq!(
            state_dir(Some("/x/state".into()), Some("/home/u".into())),
            Some(PathBuf::from("/x/state/mpic-check"))
        );
        assert_eq!(
            state_dir(Some("relative".into()), Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.local/state/mpic-check"))
        );
        assert_eq!(state_dir(None, None), None);
    }

    #[test]
    fn account_file_is_0600_in_a_0700_dir_and_replaced_atomically() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state/mpic-check");
        let path = account_path(&dir, "https://ca.test/dir");
        assert_ne!(path, account_path(&dir, "https://other.test/dir"));
        write_private(&path, b"one").unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn secrets_are_scrubbed_longest_first_and_everywhere() {
        let s = Secrets(vec![
            ("tok123".into(), "<token>"),
            ("tok123.thumbXYZ".into(), "<key-authorization>"),
            ("https://ca.test/acct/42".into(), "<account-url>"),
        ]);
        let mut v = serde_json::json!({
            "detail": "Invalid response from http://a.test/.well-known/acme-challenge/tok123: 403",
            "sub": [{"detail": "expected tok123.thumbXYZ for https://ca.test/acct/42"}],
            "status": 403
        });
        s.scrub_value(&mut v);
        let text = v.to_string();
        assert!(
            !text.contains("tok123") && !text.contains("acct/42"),
            "{text}"
        );
        assert!(text.contains("acme-challenge/<token>: 403"), "{text}");
        assert!(
            text.contains("expected <key-authorization> for <account-url>"),
            "{text}"
        );
    }

    #[test]
    fn shown_url_drops_credentials() {
        assert_eq!(
            shown_url("https://user:pw@ca.test/dir"),
            "https://ca.test/dir"
        );
    }
}
