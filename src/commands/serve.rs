//! `mpic-check serve`: a long-running Prometheus exporter in the blackbox_exporter style. A scrape
//! of `/probe?target=NAME[&module=M]` runs the normal pipeline (plan → probe → analysis → report)
//! for one name with the settings of one `[modules.NAME]` table and answers with the report's
//! metrics; `/metrics` describes the exporter itself; `/` is a short help page.
//!
//! The exporter must never become a load generator for whoever can reach it, so: a target is
//! checked at most once per `--min-interval` (later scrapes get the cached report, and scrapes
//! that arrive while a check runs wait for it instead of starting another), at most
//! `--max-concurrent` checks run at once (one more is answered 503 at once rather than queued),
//! a target must be a DNS name under the tool's identifier rules (no URL, no IP literal), and the
//! address policy of a normal run still decides what may be contacted. SIGTERM or SIGINT stops
//! accepting, lets the running checks finish, and exits 0.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::cli::ServeArgs;
use crate::config::{Config, DEFAULT_MODULE};
use crate::exit::{Exit, FailOn};
use crate::model::Report;
use crate::perspective::NetSettings;
use crate::plan::{self, UsageError};
use crate::probe;
use crate::report::{self, prometheus::Family};

/// Distinct (module, target) results kept; beyond this, expired ones are dropped first and then
/// new targets are refused, so a scan of random names cannot grow the cache without bound.
const MAX_CACHED_TARGETS: usize = 10_000;
/// Connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 256;
/// A client must send its request head within this time (slow-loris protection).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// On shutdown, running checks get this long to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The Prometheus text format's content type.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A result of one target under one module, and when it was made.
#[derive(Debug)]
struct Cached {
    at: Instant,
    report: Arc<Report>,
}

/// One cache slot. The async mutex is held for the whole check, so scrapes of the same target
/// queue behind the running check and then find its fresh result.
type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// The exporter's own counters, exposed on `/metrics`.
#[derive(Debug, Default)]
struct Stats {
    /// Responses by endpoint and status code.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Checks actually run.
    probes: AtomicU64,
    /// Scrapes answered from the cache.
    cache_hits: AtomicU64,
    /// Scrapes refused because `--max-concurrent` checks were running.
    rejected: AtomicU64,
    /// Checks that ended without a report (a panic in the pipeline).
    errors: AtomicU64,
}

/// Everything a request handler needs, shared by every connection.
#[derive(Debug)]
struct Exporter {
    config: Config,
    net: NetSettings,
    min_interval: Duration,
    max_concurrent: usize,
    permits: Arc<tokio::sync::Semaphore>,
    cache: Mutex<HashMap<(String, String), Slot>>,
    stats: Stats,
}

/// A one-line text answer (errors, help).
fn text(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.into())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn metrics(body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(EXPOSITION),
    );
    r
}

/// Why a `/probe` request cannot be served; each is one line for the scraper's error log.
#[derive(Debug, thiserror::Error)]
enum ProbeRefusal {
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "{0} checks are already running (--max-concurrent); try again later or raise the limit"
    )]
    Busy(usize),
    #[error("too many distinct targets cached ({0}); try again after --min-interval")]
    Full(usize),
    #[error("the check failed: {0}")]
    Failed(String),
}

impl ProbeRefusal {
    fn status(&self) -> StatusCode {
        match self {
            ProbeRefusal::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProbeRefusal::Busy(_) | ProbeRefusal::Full(_) => StatusCode::SERVICE_UNAVAILABLE,
            ProbeRefusal::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl Exporter {
    async fn handle(
        self: &Arc<Self>,
        req: Request<hyper::body::Incoming>,
    ) -> Response<Full<Bytes>> {
        let path = req.uri().path();
        let endpoint: &'static str = match path {
            "/" => "/",
            "/probe" => "/probe",
            "/metrics" => "/metrics",
            _ => "other",
        };
        let response = if !matches!(*req.method(), Method::GET | Method::HEAD) {
            text(
                StatusCode::METHOD_NOT_ALLOWED,
                "only GET and HEAD are served\n",
            )
        } else {
            match endpoint {
                "/" => text(StatusCode::OK, self.help()),
                "/metrics" => metrics(self.own_metrics()),
                "/probe" => match self.probe(req.uri().query().unwrap_or("")).await {
                    Ok((report, cached)) => {
                        let mut body = Vec::new();
                        match report::prometheus::render_probe(&report, cached, &mut body) {
                            Ok(()) => metrics(body),
                            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
                        }
                    }
                    Err(e) => text(e.status(), format!("{e}\n")),
                },
                _ => text(
                    StatusCode::NOT_FOUND,
                    "not found: use /probe?target=NAME, /metrics or /\n",
                ),
            }
        };
        let mut requests = self
            .stats
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *requests
            .entry((endpoint, response.status().as_u16()))
            .or_insert(0) += 1;
        response
    }

    /// Checks `target=` with `module=`, or answers from the cache.
    async fn probe(self: &Arc<Self>, query: &str) -> Result<(Arc<Report>, bool), ProbeRefusal> {
        let bad = |m: String| ProbeRefusal::BadRequest(m);
        let mut target = None;
        let mut module = None;
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "target" => &mut target,
                "module" => &mut module,
                other => {
                    return Err(bad(format!(
                        "unknown parameter {:?}: use target= and module=",
                        crate::text::one_line(other, 60)
                    )));
                }
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(bad(format!("{k}= given more than once")));
            }
        }
        let target =
            target.ok_or_else(|| bad("missing target=: use /probe?target=example.com".into()))?;
        let module = module.unwrap_or_else(|| DEFAULT_MODULE.into());
        let Some((config, settings)) = self.config.for_module(&module) else {
            return Err(bad(format!(
                "unknown module {:?}: this exporter has {}",
                crate::text::one_line(&module, 60),
                self.config.module_names().join(", ")
            )));
        };
        // The same rules as a name on the command line: the plan refuses a URL, an IP literal
        // or a malformed name before anything is sent.
        let plan = plan::for_probe(config, &settings, &target, self.net.clone())
            .map_err(|e| bad(crate::text::one_line(&e.to_string(), 300)))?;
        let key = (module, plan.identifiers[0].id.name.clone());

        let slot = self.slot(&key)?;
        let mut guard = slot.lock_owned().await;
        if let Some(c) = guard.as_ref()
            && c.at.elapsed() < self.min_interval
        {
            self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok((c.report.clone(), true));
        }
        let permit = self.permits.clone().try_acquire_owned().map_err(|_| {
            self.stats.rejected.fetch_add(1, Ordering::Relaxed);
            ProbeRefusal::Busy(self.max_concurrent)
        })?;
        self.stats.probes.fetch_add(1, Ordering::Relaxed);
        // The check runs in its own task holding the slot and the permit: a scraper that gives up
        // (its scrape_timeout) does not cancel it, so the result is still cached and the next
        // scrape does not start the same check again. `tokio::spawn` cannot take the probe
        // future (rustc cannot prove its stream closures over borrowed targets general enough:
        // "implementation of FnOnce is not general enough"), so the task is a blocking-pool
        // thread that drives it on this runtime; `--max-concurrent` bounds those threads.
        let runtime = tokio::runtime::Handle::current();
        let task = tokio::task::spawn_blocking(move || {
            let started = chrono::Utc::now();
            let clock = Instant::now();
            let run = runtime.block_on(probe::probe(&plan, &indicatif::ProgressBar::hidden()));
            let (report, _) = report::build::build(
                &run,
                &plan.policy,
                started,
                clock.elapsed(),
                FailOn::Warning,
            );
            let report = Arc::new(report);
            *guard = Some(Cached {
                at: Instant::now(),
                report: report.clone(),
            });
            drop(permit);
            report
        });
        task.await.map(|r| (r, false)).map_err(|e| {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            ProbeRefusal::Failed(e.to_string())
        })
    }

    /// The cache slot of a key, made on first use. When the cache is full, slots whose result
    /// has expired and that no check holds are dropped; if none can be, the target is refused.
    fn slot(&self, key: &(String, String)) -> Result<Slot, ProbeRefusal> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = cache.get(key) {
            return Ok(s.clone());
        }
        if cache.len() >= MAX_CACHED_TARGETS {
            let min = self.min_interval;
            cache.retain(|_, s| match s.try_lock() {
                Ok(c) => c.as_ref().is_some_and(|c| c.at.elapsed() < min),
                Err(_) => true,
            });
            if cache.len() >= MAX_CACHED_TARGETS {
                return Err(ProbeRefusal::Full(MAX_CACHED_TARGETS));
            }
        }
        let s: Slot = Arc::default();
        cache.insert(key.clone(), s.clone());
        Ok(s)
    }

    fn help(&self) -> String {
        format!(
            "mpic-check {} Prometheus exporter\n\n\
             /probe?target=NAME[&module=M]  check one name; answers mpic_check_probe_success and the run's metrics\n\
             /metrics                       the exporter's own metrics\n\n\
             modules: {}\n\
             a target is checked at most once per {} (later scrapes get the cached result); \
             at most {} checks run at once\n",
            env!("CARGO_PKG_VERSION"),
            self.config.module_names().join(", "),
            humantime::format_duration(self.min_interval),
            self.max_concurrent,
        )
    }

    fn own_metrics(&self) -> Vec<u8> {
        let mut requests = Family::counter(
            "mpic_check_exporter_requests_total",
            "HTTP requests answered, by endpoint and status code.",
        );
        for ((path, code), n) in self
            .stats
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            requests.push(&[("path", path), ("code", &code.to_string())], n);
        }
        let counter = |name, help, v: &AtomicU64| {
            let mut f = Family::counter(name, help);
            f.push(&[], v.load(Ordering::Relaxed));
            f
        };
        let probes = counter(
            "mpic_check_exporter_probes_total",
            "Checks run (scrapes answered from the cache not counted).",
            &self.stats.probes,
        );
        let hits = counter(
            "mpic_check_exporter_cache_hits_total",
            "Scrapes answered with a result younger than --min-interval.",
            &self.stats.cache_hits,
        );
        let rejected = counter(
            "mpic_check_exporter_rejected_total",
            "Scrapes answered 503 because --max-concurrent checks were running.",
            &self.stats.rejected,
        );
        let errors = counter(
            "mpic_check_exporter_probe_errors_total",
            "Checks that ended without a report (answered 500).",
            &self.stats.errors,
        );
        let mut in_flight = Family::new(
            "mpic_check_exporter_probes_in_flight",
            "Checks running now.",
        );
        in_flight.push(
            &[],
            self.max_concurrent - self.permits.available_permits().min(self.max_concurrent),
        );
        let mut limit = Family::new(
            "mpic_check_exporter_max_concurrent",
            "Checks allowed at once (--max-concurrent).",
        );
        limit.push(&[], self.max_concurrent);
        let mut cached = Family::new(
            "mpic_check_exporter_cached_targets",
            "Distinct module and target pairs in the result cache.",
        );
        cached.push(
            &[],
            self.cache.lock().unwrap_or_else(|e| e.into_inner()).len(),
        );
        let mut out = Vec::new();
        for f in [
            &requests, &probes, &hits, &rejected, &errors, &in_flight, &limit, &cached,
        ] {
            // Writing to a Vec cannot fail.
            let _ = f.write(&mut out);
        }
        out
    }
}

/// Checks every module once (a custom policy without its numbers, say) so a mistake is found at
/// start, not at the first scrape.
fn validate_modules(config: &Config, net: &NetSettings) -> Result<(), UsageError> {
    for name in config.module_names() {
        let (c, m) = config
            .for_module(&name)
            .ok_or_else(|| UsageError(format!("module {name:?} is missing")))?;
        plan::for_probe(c, &m, "example.com", net.clone())
            .map_err(|e| UsageError(format!("modules.{name}: {e}")))?;
    }
    Ok(())
}

/// Runs the exporter until `stop` resolves, then drains: no new connections, running checks
/// finish (up to a minute), and the result is `Exit::Ready`. `log` gets the listening address
/// (the actual one, useful with port 0) and the shutdown line.
pub async fn serve(
    args: &ServeArgs,
    stop: impl Future<Output = ()>,
    log: &mut impl Write,
) -> Result<Exit, anyhow::Error> {
    let config = Config::discover(args.config.as_deref()).map_err(|e| UsageError(e.to_string()))?;
    let net = NetSettings::from_env().map_err(UsageError)?;
    validate_modules(&config, &net)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| UsageError(format!("--listen {}: {e}", args.listen)))?;
    let local: SocketAddr = listener.local_addr()?;
    let max_concurrent = usize::from(args.max_concurrent);
    let exporter = Arc::new(Exporter {
        config,
        net,
        min_interval: args.min_interval,
        max_concurrent,
        permits: Arc::new(tokio::sync::Semaphore::new(max_concurrent)),
        cache: Mutex::new(HashMap::new()),
        stats: Stats::default(),
    });
    writeln!(
        log,
        "mpic-check: listening on http://{local}/ (modules: {}; --min-interval {}, --max-concurrent {})",
        exporter.config.module_names().join(", "),
        humantime::format_duration(args.min_interval),
        max_concurrent
    )?;
    log.flush()?;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            () = &mut stop => break,
            p = connections.clone().acquire_owned() => p?,
        };
        let (stream, _) = tokio::select! {
            () = &mut stop => break,
            a = listener.accept() => match a {
                Ok(a) => a,
                // A transient accept error (out of file descriptors) must not end the exporter.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let ex = exporter.clone();
        let service = hyper::service::service_fn(move |req| {
            let ex = ex.clone();
            async move { Ok::<_, Infallible>(ex.handle(req).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    writeln!(
        log,
        "mpic-check: stopping; waiting for running checks to finish"
    )?;
    log.flush()?;
    // Connections finish their current request; checks whose scraper already left still hold a
    // permit, so waiting for every permit waits for them too.
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        graceful.shutdown().await;
        let _ = exporter
            .permits
            .acquire_many(u32::try_from(max_concurrent).unwrap_or(u32::MAX))
            .await;
    })
    .await;
    if drained.is_err() {
        writeln!(
            log,
            "mpic-check: warning: checks still running after {}; stopped them",
            humantime::format_duration(DRAIN_TIMEOUT)
        )?;
    }
    Ok(Exit::Ready)
}
