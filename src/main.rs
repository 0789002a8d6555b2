//! The `mpic-check` binary: parse flags, run, map the result to an exit code. It prints at most
//! one error line; everything else is the library's.

use std::process::ExitCode;

use clap::Parser;
use mpic_check::{
    app,
    cli::{Cli, Command},
    exit::Exit,
};

// Small, short-lived allocations dominate a bulk run (a query, a reply, an observation per
// question); glibc's malloc spent an eighth of the CPU per name on its free lists
// (BENCHMARKS.md, issue 22).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Read before parsing: a flag error must still give a Nagios check its UNKNOWN line.
    let nagios = app::nagios_requested(std::env::args_os());
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let usage_error = e.use_stderr();
            let args: Vec<String> = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            if let Some(line) = mpic_check::cli::misplaced_subcommand(&args).filter(|_| usage_error)
            {
                eprintln!("mpic-check: error: {line}");
                app::unknown_for_nagios(nagios, &line, &mut std::io::stdout());
                return Exit::CouldNotAssess.into();
            }
            let _ = e.print();
            // --help and --version are not errors; bad flags are bad input (exit 3).
            return if usage_error {
                app::unknown_for_nagios(nagios, &e.to_string(), &mut std::io::stdout());
                Exit::CouldNotAssess.into()
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // A check is one future (every name, every perspective, joined under one semaphore) that
    // `block_on` polls on this thread: worker threads would only read sockets and hand each
    // reply across with a futex wake-up, which cost a fifth of the CPU per name in the bulk
    // benchmark (BENCHMARKS.md, issue 22) for no parallelism. The exporter serves scrapes side by
    // side, each check on its own blocking-pool thread, so it keeps the worker pool.
    let exporter = matches!(cli.command, Some(Command::Serve(_)));
    let built = if exporter {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match built {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mpic-check: error: cannot start the async runtime: {e}");
            let reason = format!("cannot start the async runtime: {e}");
            app::unknown_for_nagios(nagios, &reason, &mut std::io::stdout());
            return Exit::CouldNotAssess.into();
        }
    };
    let mut stdout = std::io::stdout().lock();
    match runtime.block_on(app::run(cli, &mut stdout)) {
        Ok(code) => code.into(),
        Err(e) => {
            if closed_stdout(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("mpic-check: error: {e:#}");
            app::unknown_for_nagios(nagios, &format!("{e:#}"), &mut stdout);
            Exit::CouldNotAssess.into()
        }
    }
}

/// Whether the error is a reader that went away (`| head`): not a failure of the run, so it exits
/// 0 and prints nothing. The io::Error may sit anywhere in the chain, or inside a serde_json error,
/// whose `source()` skips it.
fn closed_stdout(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
    })
}
