//! The binary: sets up error reporting and file logging, then runs a command.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use color_eyre::config::{HookBuilder, Theme};
use color_eyre::eyre::Report;
use hhdash::cli::{self, Cli};
use hhdash::sanitize;

fn init_logging(cli: &Cli) {
    let path = cli.log_file();
    if let Some(dir) = path.parent() {
        let _ = hhdash::xdg::create_private_dir(dir);
    }
    // The terminal belongs to the dashboard; logs only ever go to the file, which only this
    // user may read (it names objects and quotes server errors).
    let Ok(file) = hhdash::xdg::open_private_append(&path) else {
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

/// Colour only for a person at a terminal who did not ask for none (https://no-color.org).
fn colour_wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The report with every message of its chain passed through the terminal sanitizer: error
/// texts quote Git content and server answers, which must not drive the terminal. A report
/// with nothing to escape is kept as it is (with its own location and backtrace); one that
/// needs escaping is rebuilt from the escaped messages.
fn sanitized(report: Report) -> Report {
    let messages: Vec<String> = report.chain().map(|error| error.to_string()).collect();
    if messages
        .iter()
        .all(|message| matches!(sanitize::terminal(message), Cow::Borrowed(_)))
    {
        return report;
    }
    cli::report_of(
        messages
            .iter()
            .map(|message| sanitize::terminal(message).into_owned())
            .collect(),
    )
}

fn main() -> ExitCode {
    let theme = if colour_wanted() {
        Theme::dark()
    } else {
        Theme::new()
    };
    if let Err(error) = HookBuilder::default().theme(theme).install() {
        eprintln!("{}", sanitize::terminal(&error.to_string()));
    }
    let cli = Cli::parse();
    init_logging(&cli);
    match cli::run(&cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(report) => {
            let report = sanitized(report);
            tracing::error!("{report:#}");
            eprintln!("Error: {report:?}");
            ExitCode::from(2)
        }
    }
}
