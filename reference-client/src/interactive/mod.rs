//! The interactive terminal (placeholder, filled in below).

use crate::cli::Cli;
use crate::config::Exit;

/// Runs the interactive front end.
pub fn run(_cli: &Cli, _rt: &tokio::runtime::Runtime) -> Exit {
    eprintln!("p2pchat-client: interactive mode is not built yet; use --automation");
    Exit::Usage
}
