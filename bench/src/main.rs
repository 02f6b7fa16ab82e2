//! `p2pchat-bench`: the load generator. See `bench/README.md`.

use std::process::ExitCode;

use bench::report::{self, ReportArgs};
use bench::soak::{self, SoakArgs};
use bench::workload::emit;
use bench::workload::fanout::{self, FanoutArgs};
use bench::workload::idle::{self, IdleArgs};
use bench::workload::rtt::{self, RttArgs};
use bench::workload::slow::{self, SlowArgs};
use bench::workload::smoke::{self, SmokeArgs};
use clap::{Parser, Subcommand};

/// Load generator for p2pchat servers, and for IRC and RESP (redis pub/sub) servers
/// under the same workloads. Each run prints one JSON line on stdout; logs go to stderr.
#[derive(Debug, Parser)]
#[command(name = "p2pchat-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// (a) Fan-out: N clients, a few senders with a window each; deliveries/s, latency.
    Fanout(FanoutArgs),
    /// (b) Private round trip (send → receipt) under a background fan-out.
    Rtt(RttArgs),
    /// (c) N idle clients; the server's memory per connection.
    Idle(IdleArgs),
    /// (d) A client that stops reading during a fan-out; is it cut off, does memory stay bounded?
    Slow(SlowArgs),
    /// A tiny fan-out and round trip for CI; fails if nothing was delivered.
    Smoke(SmokeArgs),
    /// Crash safety: private messages under load while the server is SIGKILLed and restarted.
    Soak(SoakArgs),
    /// Reads JSON results and writes the Markdown report and the SVG chart.
    Report(ReportArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Fanout(a) => fanout::main(a).and_then(|r| emit(&r)),
        Command::Rtt(a) => rtt::main(a).and_then(|r| emit(&r)),
        Command::Idle(a) => idle::main(a).and_then(|r| emit(&r)),
        Command::Slow(a) => slow::main(a).and_then(|r| emit(&r)),
        Command::Smoke(a) => smoke::main(a),
        Command::Soak(a) => soak::main(a),
        Command::Report(a) => report::main(a),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("p2pchat-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
