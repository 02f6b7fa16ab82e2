//! `p2pchat-client`: the reference client.

use std::process::ExitCode;

use clap::Parser;
use reference_client::cli::{self, Cli};

fn main() -> ExitCode {
    let args = Cli::parse();
    cli::init_tracing(&args);
    cli::run(args).into()
}
