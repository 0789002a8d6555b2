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
use crate::commands::{explain, gate, wait_txt};
use crate::exit::{self, Exit};
use crate::model::{Report, SCHEMA_VERSION};
use crate::plan::{self, UsageError};
use crate::probe::{self, saved};
use crate::report::{self, Style};

mod fatal;
mod limits;
mod progress;
mod signals;
pub use fatal::{nagios_requested, unknown_for_nagios};
use signals::Signals;

/// The whole program after flag parsing. Writes the report to `out`; returns the exit status.
pub async fn run(cli: Cli, out: &mut impl Write) -> Result<Exit, anyhow::Error> {
    if let Some(cmd) = &cli.command {
        return subcommand(cmd, out).await;
    }
    if let Some(path) = &cli.replay {
        return replay(&cli, path, out);
    }
    let mut plan = plan::plan(&cli)?;
    fit_open_files(&mut plan);
    // Before the first measurement leaves, once per run: the names go to a third party.
    if let Some(line) = plan::globalping_notice(&plan)
        && !cli.quiet
    {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
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
    // Checked before anything is contacted; the notice is the first line on stderr.
    let dry_run = probe::acme_dry_run::Settings::from_cli(&cli)?;
    if let Some(d) = &dry_run {
        let _ = writeln!(std::io::stderr(), "{}", d.notice(plan.identifiers.len()));
    }
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let progress = progress::bar(&cli, plan.identifiers.len());
    // A signal stops the probing (dropping a webroot probe, which removes its file) and the run
    // reports what finished, then exits 130.
    let mut signals = Signals::install();
    let mut caught = None;
    let stop = async { caught = Some(signals.recv().await) };
    let probe::Probe {
        run,
        unchecked,
        stopped,
    } = probe::probe_until(&plan, &progress, stop).await;
    progress.finish_and_clear();
    // The CA's own validation, after the prediction (whose probe file is gone by then). A signal
    // drops it, which takes back the challenge answers.
    let mut verdicts = None;
    if let (Some(d), None) = (&dry_run, caught) {
        tokio::select! {
            r = probe::acme_dry_run::run(d, &plan) => verdicts = Some(r),
            sig = signals.recv() => caught = Some(sig),
        }
    }
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
    let (mut report, mut exit) =
        report::build::build(&run, &plan.policy, started, duration, cli.fail_on);
    if let Some(v) = verdicts {
        if let Some(problem) = &v.problem {
            let _ = writeln!(std::io::stderr(), "mpic-check: --acme-dry-run: {problem}");
        }
        exit = report::dry_run::combine(&mut report, v.results, cli.fail_on);
    }
    if caught.is_some() {
        exit = Exit::Interrupted;
        report.exit_code = exit.code();
    }
    if cli.online_context && caught.is_none() {
        // Third-party context: info findings only, so the outcome and exit code stay the domain's.
        let names: Vec<String> = report.identifiers.iter().map(|i| i.name.clone()).collect();
        let ctx = probe::online::gather(&names, chrono::Utc::now()).await;
        for note in &ctx.notes {
            let _ = writeln!(std::io::stderr(), "mpic-check: note: {note}");
        }
        report.findings.extend(ctx.findings);
    }
    render(&cli, &report, &run.engine_problems, out)?;
    if let Some(sig) = caught {
        let total = plan.identifiers.len();
        if cli.format == Format::Table {
            report::table::render_unchecked(sig, &unchecked, total, stopped.as_deref(), out)?;
        } else {
            let mut err = std::io::stderr();
            report::table::render_unchecked(sig, &unchecked, total, stopped.as_deref(), &mut err)?;
        }
    }
    Ok(exit)
}

/// Raises the open-file limit and caps the names in flight to what it allows, saying so once on
/// stderr: a run that outgrows the limit would otherwise blame its own EMFILE on the domains.
fn fit_open_files(plan: &mut plan::Plan) {
    let limit = limits::raise_open_files();
    // Only the names there are can be in flight: `--concurrency 2000` for one name needs no cap.
    let asked = plan.concurrency.min(plan.identifiers.len().max(1));
    let (fits, line) = limits::cap(asked, limit, plan.open_files_per_name());
    plan.concurrency = fits;
    if let Some(line) = line {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// `--format jsonl`: one line per name as soon as it is done, then the summary line.
async fn stream(cli: &Cli, plan: &plan::Plan, out: &mut impl Write) -> Result<Exit, anyhow::Error> {
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let mut lines = report::jsonl::Lines::new(&mut *out);
    let mut signals = Signals::install();
    let stop = async {
        signals.recv().await;
    };
    let end = probe::probe_streaming_until(
        plan,
        |run| {
            let a = analysis::analyze(&run, &plan.policy);
            lines.identifier(a.outcome, a.identifiers.first(), &a.findings)
        },
        stop,
    )
    .await?;
    let outcome = lines.worst();
    // The summary line is written also when a signal stopped the run, saying so.
    let exit = if end.interrupted {
        Exit::Interrupted
    } else {
        exit::gated(outcome, cli.fail_on)
    };
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
        interrupted: end.interrupted,
    })?;
    Ok(exit)
}

/// `--replay FILE`: the saved observations, analysed again under today's policy flags.
fn replay(cli: &Cli, path: &std::path::Path, out: &mut impl Write) -> Result<Exit, anyhow::Error> {
    let policy = plan::replay_policy(cli)?;
    let saved = saved::read(path)?;
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
        Command::Gate(args) => {
            let mut signals = Signals::install();
            let mut err = std::io::stderr();
            return gate::run(args, signals.recv(), out, &mut err).await;
        }
        Command::WaitTxt {
            name,
            values,
            records,
            hook,
            timeout,
        } => {
            let wanted = wait_txt::wanted(name.as_deref(), values, records.as_deref())?;
            let (set, policy, _, step) = wait_txt::hook_setup(&wanted[0].challenge, hook).await?;
            let mut err = std::io::stderr();
            let mut sink = std::io::sink();
            let log: &mut dyn Write = if hook.quiet { &mut sink } else { &mut err };
            let resolvers = set.resolvers();
            let mut log = wait_txt::LogWriter(log);
            return Ok(wait_txt::wait_txt(
                &resolvers, &policy, &wanted, *timeout, step, &mut log, out,
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
        Command::Config(c) => {
            use crate::cli::ConfigCommand;
            use crate::commands::config;
            return match c {
                ConfigCommand::Init { output, force } => {
                    config::init(output.as_deref(), *force, out)
                }
                ConfigCommand::Check { file, adhoc } => {
                    config::check(file.as_deref(), &adhoc.perspectives, &adhoc.resolvers, out)
                }
                ConfigCommand::Show {
                    config: file,
                    adhoc,
                } => config::show(file.as_deref(), &adhoc.perspectives, &adhoc.resolvers, out),
            };
        }
        Command::Serve(args) => {
            // Installed before the socket is bound, so a SIGTERM right after the "listening" line
            // is a clean shutdown, not the default action.
            let mut signals = Signals::install();
            let stop = async move {
                signals.recv().await;
            };
            return crate::commands::serve::serve(args, stop, &mut std::io::stderr()).await;
        }
    }
    Ok(Exit::Ready)
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
        Format::Markdown => report::markdown::render(r, out)?,
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

/// The terminal's width; a terminal that reports 0 columns (no window size, as under some
/// `docker exec -t` and CI setups) gets the default instead of a one-character table.
fn terminal_width() -> Option<u16> {
    let t = comfy_table::Table::new();
    t.width().filter(|w| *w >= 40)
}
