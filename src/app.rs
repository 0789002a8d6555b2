//! The only module that knows every stage: flags → validated plan → vantages → checks fanned out
//! over identifiers × perspectives (bounded concurrency, a deadline per task) → pure analysis →
//! report → renderer → exit code. Everything user-facing that can go wrong before probing is an
//! `AppError` with exit code 3 and a one-line message.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::analysis::{self, Run, quorum::Policy};
use crate::cli::{Cli, ColorArg, Format};
use crate::config::{Config, PolicyName};
use crate::exit::Exit;
use crate::identifier::Identifier;
use crate::model::{Outcome, Report, SCHEMA_VERSION, ToolInfo};
use crate::plan::{UsageError, plan};
use crate::probe::{self, ProbeSet};
use crate::report::{self, Style};

/// Largest `--replay` file (a saved run of 10,000 names is tens of MiB).
pub const MAX_REPLAY_BYTES: u64 = 256 << 20;

async fn helper_command(
    cmd: &crate::cli::Command,
    out: &mut impl Write,
) -> Result<Exit, anyhow::Error> {
    use crate::cli::Command as C;
    use clap::CommandFactory;
    let mut command = Cli::command();
    match cmd {
        C::Completions { shell } => {
            clap_complete::generate(*shell, &mut command, "mpic-check", out);
            Ok(Exit::Ready)
        }
        C::Man => {
            clap_mangen::Man::new(command).render(out)?;
            Ok(Exit::Ready)
        }
        C::WaitTxt {
            name,
            values,
            hook,
            timeout,
        } => {
            let (engine, policy, challenge, step) = hook_setup(name, hook).await?;
            let mut err = std::io::stderr();
            let mut sink = std::io::sink();
            let log: &mut dyn Write = if hook.quiet { &mut sink } else { &mut err };
            let code = crate::commands::wait_txt::wait_txt(
                &engine.resolvers(),
                &policy,
                &challenge,
                values,
                *timeout,
                step,
                &mut LogWriter(log),
                out,
            )
            .await?;
            Ok(code)
        }
        C::Explain {
            text,
            run,
            format,
            config,
        } => explain_command(text, *run, *format, config.as_deref(), out),
        C::Watch {
            name,
            hook,
            duration,
            interval,
            ..
        } => {
            let (engine, _, challenge, step) = hook_setup(name, hook).await?;
            let stop = async {
                shutdown_signal().await;
            };
            Ok(crate::commands::wait_txt::watch(
                &engine.resolvers(),
                &challenge,
                *duration,
                *interval,
                step,
                stop,
                out,
            )
            .await?)
        }
    }
}

fn explain_command(
    text: &[String],
    run: bool,
    format: crate::cli::ExplainFormat,
    config: Option<&std::path::Path>,
    out: &mut impl Write,
) -> Result<Exit, anyhow::Error> {
    use std::io::Read;
    let input = if text.is_empty() || text == ["-"] {
        let mut s = String::new();
        std::io::stdin()
            .take(crate::explain::MAX_INPUT_BYTES as u64)
            .read_to_string(&mut s)
            .map_err(|e| UsageError(format!("explain: cannot read standard input: {e}")))?;
        s
    } else {
        text.join(" ")
    };
    let found = crate::explain::explain(&input);
    match format {
        crate::cli::ExplainFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &found)?;
            writeln!(out)?;
        }
        crate::cli::ExplainFormat::Text => {
            for (i, e) in found.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                let head = if e.recognised {
                    format!(
                        "{} ({} check){}",
                        e.family,
                        e.stage.as_str(),
                        e.identifier
                            .as_deref()
                            .map_or(String::new(), |n| format!(" for {n}"))
                    )
                } else {
                    "not recognised".to_string()
                };
                writeln!(out, "{}", report::clean(&head))?;
                for l in report::wrap(&e.meaning, 100, "  ", "  ") {
                    writeln!(out, "{l}")?;
                }
                if let Some(u) = &e.url {
                    writeln!(out, "  url: {}", report::clean(u))?;
                }
                if let Some(a) = &e.address {
                    writeln!(out, "  address: {}", report::clean(a))?;
                }
                if !e.likely_findings.is_empty() {
                    writeln!(
                        out,
                        "  mpic-check would report: {}",
                        e.likely_findings.join(", ")
                    )?;
                }
                if !e.suggested_args.is_empty() {
                    writeln!(
                        out,
                        "  run: mpic-check {}",
                        report::clean(&e.suggested_args.join(" "))
                    )?;
                }
                for c in &e.checklist {
                    for l in report::wrap(c, 100, "  - ", "    ") {
                        writeln!(out, "{l}")?;
                    }
                }
            }
        }
    }
    out.flush()?;
    if !run {
        return Ok(if found.iter().any(|e| e.recognised) {
            Exit::Ready
        } else {
            Exit::CouldNotAssess
        });
    }
    // --run: the suggested checks, one process each, their worst exit status.
    let exe = std::env::current_exe().map_err(|e| UsageError(format!("explain --run: {e}")))?;
    let mut worst = Exit::Ready;
    let mut seen = Vec::new();
    for e in found.iter().filter(|e| !e.suggested_args.is_empty()) {
        if seen.contains(&e.suggested_args) {
            continue;
        }
        seen.push(e.suggested_args.clone());
        writeln!(
            out,
            "\n$ mpic-check {}",
            report::clean(&e.suggested_args.join(" "))
        )?;
        out.flush()?;
        let mut cmd = std::process::Command::new(&exe);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let status = cmd
            .args(&e.suggested_args)
            .stdin(std::process::Stdio::null())
            .status()
            .map_err(|err| UsageError(format!("explain --run: {err}")))?;
        let code = match status.code() {
            Some(0) => Exit::Ready,
            Some(1) => Exit::AtRisk,
            Some(2) => Exit::WouldFail,
            _ => Exit::CouldNotAssess,
        };
        worst = worst.max(code);
    }
    Ok(worst)
}

/// Adapts a `dyn Write` to `impl Write` for the hook log.
struct LogWriter<'a>(&'a mut dyn Write);

impl Write for LogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The challenge name, the vantages and the policy for a hook subcommand.
async fn hook_setup(
    name: &str,
    hook: &crate::cli::HookArgs,
) -> Result<(ProbeSet, Policy, String, Duration), UsageError> {
    let bare = name.trim().trim_end_matches('.');
    let bare = bare.strip_prefix("_acme-challenge.").unwrap_or(bare);
    let id = Identifier::parse(bare).map_err(|e| UsageError(e.to_string()))?;
    let config = Config::discover(hook.config.as_deref()).map_err(|e| UsageError(e.to_string()))?;
    let step = hook
        .step_timeout
        .or(config.timeout)
        .unwrap_or(crate::config::DEFAULT_TIMEOUT);
    let policy = Policy::named(
        hook.policy.or(config.policy).unwrap_or(PolicyName::Br),
        chrono::Utc::now().date_naive(),
        None,
        None,
    )
    .map_err(UsageError)?;
    let engine = ProbeSet::build(&config, step).await;
    Ok((engine, policy, id.challenge_name(), step))
}

/// The exit status under the gate threshold.
pub fn gated(outcome: Outcome, fail_on: crate::cli::FailOn) -> Exit {
    match (exit_for(outcome), fail_on) {
        (Exit::AtRisk, crate::cli::FailOn::Error) => Exit::Ready,
        (e, _) => e,
    }
}

/// Exit code for an outcome.
pub fn exit_for(o: Outcome) -> Exit {
    match o {
        Outcome::Pass => Exit::Ready,
        Outcome::AtRisk => Exit::AtRisk,
        Outcome::Fail => Exit::WouldFail,
        Outcome::Unknown => Exit::CouldNotAssess,
    }
}

/// Builds the report from a run.
pub fn build_report(
    run: &Run,
    policy: &Policy,
    started: chrono::DateTime<chrono::Utc>,
    duration: Duration,
) -> Report {
    let a = analysis::analyze(run, policy);
    let exit = exit_for(a.outcome);
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "mpic-check".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_ms: duration.as_millis() as u64,
        policy: policy.info(),
        ca: run.ca.clone(),
        outcome: a.outcome,
        exit_code: exit.code(),
        perspectives: run.perspectives.clone(),
        identifiers: a.identifiers,
        findings: a.findings,
        coverage: a.coverage,
    }
}

/// The whole program after flag parsing. Writes the report to `out`; returns the exit status.
pub async fn run(cli: Cli, out: &mut impl Write) -> Result<Exit, anyhow::Error> {
    if let Some(cmd) = &cli.command {
        return helper_command(cmd, out).await;
    }
    if let Some(path) = &cli.replay {
        return replay(&cli, path, out);
    }
    let plan = plan(&cli)?;
    if cli.format == Format::Jsonl {
        if plan.probes_webroot() || cli.save.is_some() {
            return Err(UsageError(
                "--format jsonl streams results; it cannot be combined with --webroot or --save"
                    .into(),
            )
            .into());
        }
        let started = chrono::Utc::now();
        let clock = Instant::now();
        let mut lines = report::jsonl::Lines::new(&mut *out);
        let end = probe::probe_streaming(&plan, |run| {
            let a = analysis::analyze(&run, &plan.policy);
            lines.identifier(a.outcome, a.identifiers.first(), &a.findings)
        })
        .await?;
        let outcome = lines.worst();
        lines.summary(&report::jsonl::End {
            started_at: &started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_ms: clock.elapsed().as_millis() as u64,
            policy: &plan.policy.info(),
            ca: &plan.ca,
            perspectives: &end.perspectives,
            identifiers: plan.identifiers.len(),
            outcome,
            exit_code: exit_for(outcome).code(),
            engine_problems: &end.engine_problems,
        })?;
        return Ok(gated(outcome, cli.fail_on));
    }
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let stderr_tty = std::io::stderr().is_terminal();
    let progress = if stderr_tty && !cli.quiet && cli.format == Format::Table {
        let pb = indicatif::ProgressBar::new(plan.identifiers.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let run = if plan.probes_webroot() {
        // The probe file must not outlive an interrupted run: stop probing on a signal, which
        // drops the probe future and with it the file, then report the interruption.
        let mut signals = Signals::install();
        tokio::select! {
            biased;
            sig = signals.recv() => {
                progress.finish_and_clear();
                return Err(UsageError(format!("interrupted by {sig}; the probe file was removed")).into());
            }
            r = probe::probe(&plan, &progress) => r,
        }
    } else {
        probe::probe(&plan, &progress).await
    };
    progress.finish_and_clear();
    let duration = clock.elapsed();
    if let Some(path) = &cli.save {
        let saved = SavedRun {
            schema_version: SCHEMA_VERSION,
            started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_ms: duration.as_millis() as u64,
            run: run.clone(),
        };
        let text = serde_json::to_string_pretty(&saved)?;
        std::fs::write(path, text + "\n")
            .map_err(|e| UsageError(format!("--save {}: {e}", path.display())))?;
    }
    let mut report = build_report(&run, &plan.policy, started, duration);
    let exit = gated(report.outcome, cli.fail_on);
    report.exit_code = exit.code();
    render(&cli, &report, out)?;
    Ok(exit)
}

/// What `--save` writes and `--replay` reads.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedRun {
    /// Format version (same as the report's).
    pub schema_version: u32,
    /// When the run started.
    pub started_at: String,
    /// How long it took.
    pub duration_ms: u64,
    /// The observations.
    pub run: Run,
}

fn replay(cli: &Cli, path: &std::path::Path, out: &mut impl Write) -> Result<Exit, anyhow::Error> {
    let text = std::fs::File::open(path)
        .and_then(|f| crate::config::read_text_capped(f, MAX_REPLAY_BYTES))
        .map_err(|e| UsageError(format!("--replay {}: {e}", path.display())))?;
    let saved: SavedRun = serde_json::from_str(&text)
        .map_err(|e| UsageError(format!("--replay {}: not a saved run: {e}", path.display())))?;
    if saved.schema_version != SCHEMA_VERSION {
        return Err(UsageError(format!(
            "--replay {}: schema_version {} is not supported",
            path.display(),
            saved.schema_version
        ))
        .into());
    }
    let as_of = cli.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let policy = Policy::named(
        cli.policy.unwrap_or(PolicyName::Br),
        as_of,
        cli.remotes,
        cli.quorum,
    )
    .map_err(UsageError)?;
    let started = chrono::DateTime::parse_from_rfc3339(&saved.started_at)
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    let mut report = build_report(
        &saved.run,
        &policy,
        started,
        Duration::from_millis(saved.duration_ms),
    );
    let exit = gated(report.outcome, cli.fail_on);
    report.exit_code = exit.code();
    render(cli, &report, out)?;
    Ok(exit)
}

fn render(cli: &Cli, r: &Report, out: &mut impl Write) -> Result<(), anyhow::Error> {
    match cli.format {
        Format::Json | Format::Jsonl => report::json::render(r, out)?,
        Format::Nagios => report::nagios::render(r, out)?,
        Format::Prometheus => report::prometheus::render(r, out)?,
        Format::Html => report::html::render(r, out)?,
        Format::Table => {
            let tty = std::io::stdout().is_terminal();
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let color = match cli.color {
                ColorArg::Always => true,
                ColorArg::Never => false,
                ColorArg::Auto => tty && !no_color,
            };
            let width = if tty {
                terminal_width().unwrap_or(100)
            } else {
                100
            };
            report::table::render(
                r,
                Style {
                    color,
                    width,
                    verbose: cli.verbose > 0,
                },
                out,
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// SIGINT, SIGTERM and SIGHUP, caught from the moment this is built. Building it before the
/// webroot probe starts leaves no window in which a signal would kill the process with the
/// default action while a probe file exists.
struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
            hup: signal(SignalKind::hangup()).ok(),
        }
    }

    /// The name of the first signal received.
    async fn recv(&mut self) -> &'static str {
        async fn one(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = one(&mut self.int) => "SIGINT",
            () = one(&mut self.term) => "SIGTERM",
            () = one(&mut self.hup) => "SIGHUP",
        }
    }
}

async fn shutdown_signal() -> &'static str {
    Signals::install().recv().await
}

/// The terminal's width; a terminal that reports 0 columns (no window size, as under some
/// `docker exec -t` and CI setups) gets the default instead of a one-character table.
fn terminal_width() -> Option<u16> {
    let t = comfy_table::Table::new();
    t.width().filter(|w| *w >= 40)
}

#[cfg(test)]
#[path = "app_props.rs"]
mod app_props;
