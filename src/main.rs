//! The hhdash binary: sets up error reporting and file logging, then runs a command.

use std::process::ExitCode;

use clap::Parser;
use hhdash::cli::{self, Cli, Outcome};

fn init_logging(cli: &Cli) {
    let path = cli.log_file();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // The terminal belongs to the dashboard; logs only ever go to the file.
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HHDASH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

fn main() -> ExitCode {
    if let Err(error) = color_eyre::install() {
        eprintln!("{error}");
    }
    let cli = Cli::parse();
    init_logging(&cli);
    match cli::run(&cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Error) => ExitCode::from(2),
        Err(report) => {
            tracing::error!("{report:#}");
            eprintln!("Error: {report:?}");
            ExitCode::from(2)
        }
    }
}
