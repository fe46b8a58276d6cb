//! The `kfp-iam` binary: parses the command line, sets up logging, runs, and maps the result
//! to an exit code.

use clap::Parser;
use std::io::IsTerminal;

use kfp_iam::cli::{Cli, ColorChoice, Exit, run};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    // Usage errors exit 1 like every other failure: 2 and 3 carry meaning (see `Exit`).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Success
            };
            return std::process::ExitCode::from(code as u8);
        }
    };
    // Other crates stay quiet unless asked: their errors reach the user through kfp-iam's.
    let (level, others) = match cli.verbose {
        0 => ("warn", "off"),
        1 => ("info", "off"),
        2 => ("debug", "warn"),
        _ => ("trace", "debug"),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // Waiting on IAM's eventual consistency is always worth saying.
        EnvFilter::new(format!("{others},kfp_iam={level},kfp_iam::wait=info"))
    });
    let ansi = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    // At the default verbosity the only lines are notices for people: no timestamps.
    match cli.verbose {
        0 => logs
            .without_time()
            .with_target(false)
            .with_level(false)
            .init(),
        _ => logs.init(),
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("kfp-iam: error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(Exit::Error as u8);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(exit) => std::process::ExitCode::from(exit as u8),
        Err(e) => {
            eprintln!("kfp-iam: error: {e:#}");
            std::process::ExitCode::from(Exit::Error as u8)
        }
    }
}
