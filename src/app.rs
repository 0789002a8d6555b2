//! Dispatch: the only module that knows every stage. The main check runs flags → [`plan`] →
//! [`probe`] → analysis and [`report::build`] → a renderer → the exit status; `--replay` starts
//! from a saved run instead of the probes; the other subcommands go to [`crate::commands`] and
//! [`crate::cli::doc`]. What stays here is what belongs to the process rather than to a stage:
//! the progress bar, the colour and width decision, and the signals that must not leave a probe
//! file behind.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::analysis;
use crate::cli::{Cli, ColorArg, Command, Format};
use crate::commands::{explain, wait_txt};
use crate::exit::{self, Exit};
use crate::model::{Report, SCHEMA_VERSION};
use crate::plan::{self, UsageError};
use crate::probe::{self, saved};
use crate::report::{self, Style};

/// The whole program after flag parsing. Writes the report to `out`; returns the exit status.
pub async fn run(cli: Cli, out: &mut impl Write) -> Result<Exit, anyhow::Error> {
    if let Some(cmd) = &cli.command {
        return subcommand(cmd, out).await;
    }
    if let Some(path) = &cli.replay {
        return replay(&cli, path, out);
    }
    let plan = plan::plan(&cli)?;
    if cli.format == Format::Jsonl {
        if plan.probes_webroot() || cli.save.is_some() {
            return Err(UsageError(
                "--format jsonl streams results; it cannot be combined with --webroot or --save"
                    .into(),
            )
            .into());
        }
        return stream(&cli, &plan, out).await;
    }
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let progress = progress_bar(&cli, plan.identifiers.len());
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
        let file = saved::SavedRun {
            schema_version: SCHEMA_VERSION,
            started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_ms: duration.as_millis() as u64,
            run: run.clone(),
        };
        // The report is what the run was for: a file that cannot be written (a full disk) costs
        // a warning, not the report. `write` leaves an old file as it was.
        if let Err(e) = saved::write(path, &file) {
            let _ = writeln!(
                std::io::stderr(),
                "mpic-check: warning: {e}; the file was left as it was"
            );
        }
    }
    let (report, exit) = report::build::build(&run, &plan.policy, started, duration, cli.fail_on);
    render(&cli, &report, &run.engine_problems, out)?;
    Ok(exit)
}

/// `--format jsonl`: one line per name as soon as it is done, then the summary line.
async fn stream(cli: &Cli, plan: &plan::Plan, out: &mut impl Write) -> Result<Exit, anyhow::Error> {
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let mut lines = report::jsonl::Lines::new(&mut *out);
    let end = probe::probe_streaming(plan, |run| {
        let a = analysis::analyze(&run, &plan.policy);
        lines.identifier(a.outcome, a.identifiers.first(), &a.findings)
    })
    .await?;
    let outcome = lines.worst();
    let exit = exit::gated(outcome, cli.fail_on);
    lines.summary(&report::jsonl::End {
        started_at: &started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_ms: clock.elapsed().as_millis() as u64,
        policy: &plan.policy.info(),
        ca: &plan.ca,
        perspectives: &end.perspectives,
        identifiers: plan.identifiers.len(),
        outcome,
        exit_code: exit.code(),
        engine_problems: &end.engine_problems,
    })?;
    Ok(exit)
}

/// `--replay FILE`: the saved observations, analysed again under today's policy flags.
fn replay(cli: &Cli, path: &std::path::Path, out: &mut impl Write) -> Result<Exit, anyhow::Error> {
    let saved = saved::read(path)?;
    let policy = plan::replay_policy(cli)?;
    let started = chrono::DateTime::parse_from_rfc3339(&saved.started_at)
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    let duration = Duration::from_millis(saved.duration_ms);
    let (report, exit) = report::build::build(&saved.run, &policy, started, duration, cli.fail_on);
    render(cli, &report, &saved.run.engine_problems, out)?;
    Ok(exit)
}

/// The subcommands: documentation, `explain`, and the DNS-01 hook helpers.
async fn subcommand(cmd: &Command, out: &mut impl Write) -> Result<Exit, anyhow::Error> {
    match cmd {
        Command::Completions { shell } => crate::cli::doc::completions(*shell, out)?,
        Command::Man { dir: None } => crate::cli::doc::man(out)?,
        Command::Man { dir: Some(dir) } => crate::commands::write_man_pages(dir, out)?,
        Command::Explain {
            text,
            run,
            format,
            config,
        } => {
            let mut err = std::io::stderr();
            return explain::run(text, *run, *format, config.as_deref(), out, &mut err);
        }
        Command::WaitTxt {
            name,
            values,
            hook,
            timeout,
        } => {
            let (set, policy, challenge, step) = wait_txt::hook_setup(name, hook).await?;
            let mut err = std::io::stderr();
            let mut sink = std::io::sink();
            let log: &mut dyn Write = if hook.quiet { &mut sink } else { &mut err };
            let resolvers = set.resolvers();
            let mut log = wait_txt::LogWriter(log);
            return Ok(wait_txt::wait_txt(
                &resolvers, &policy, &challenge, values, *timeout, step, &mut log, out,
            )
            .await?);
        }
        Command::Watch {
            name,
            hook,
            duration,
            interval,
            ..
        } => {
            let (set, _, challenge, step) = wait_txt::hook_setup(name, hook).await?;
            let stop = async {
                Signals::install().recv().await;
            };
            return Ok(wait_txt::watch(
                &set.resolvers(),
                &challenge,
                *duration,
                *interval,
                step,
                stop,
                out,
            )
            .await?);
        }
    }
    Ok(Exit::Ready)
}

/// A spinner with a count on stderr, only for a person watching a table being built: never
/// when stderr is not a terminal, with `--quiet`, or for machine formats.
fn progress_bar(cli: &Cli, len: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || cli.quiet || cli.format != Format::Table {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

fn render(
    cli: &Cli,
    r: &Report,
    engine_problems: &[String],
    out: &mut impl Write,
) -> Result<(), anyhow::Error> {
    match cli.format {
        Format::Json => report::json::render(r, out)?,
        Format::Jsonl => report::jsonl::render(r, engine_problems, out)?,
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

/// The terminal's width; a terminal that reports 0 columns (no window size, as under some
/// `docker exec -t` and CI setups) gets the default instead of a one-character table.
fn terminal_width() -> Option<u16> {
    let t = comfy_table::Table::new();
    t.width().filter(|w| *w >= 40)
}
