//! `cargo test -p conformance`: every case, one named test each, against the reference
//! server and the reference client (both in-process) by default, or against the implementation named by the P2PCHAT_*
//! environment variables (see conformance/README.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

use conformance::config::TargetSettings;
use conformance::harness::{self, Expect};

#[path = "common/client.rs"]
mod reference_client_target;
#[path = "common/server.rs"]
mod reference_server_target;

fn main() -> ExitCode {
    let settings = match TargetSettings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conformance: {e}");
            return ExitCode::from(2);
        }
    };
    let name = if settings.names_a_target() {
        "env"
    } else {
        "reference"
    };
    let mut target = match settings.build(
        name,
        Some(reference_server_target::server()),
        Some(reference_client_target::client()),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("conformance: {e}");
            return ExitCode::from(2);
        }
    };
    // The reference's known failures are checked in; another target may name its own
    // baseline with P2PCHAT_BASELINE.
    let default_baseline = (!settings.names_a_target()).then_some(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/reference-baseline.txt"
    ));
    let baseline = match harness::baseline(default_baseline) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("conformance: {e}");
            return ExitCode::from(2);
        }
    };
    if !settings.names_a_target() {
        // The in-process reference runs with short timers (common/server.rs): declared, its
        // slow cases take seconds.
        target.limits = conformance::target::ServerLimits::parse(
            "keepalive=2,idle=5,partial=2,max_connections=200",
        )
        .expect("limits");
    }
    // The reference's verdicts are checked in: any change shows up as a diff.
    let expected = (!settings.names_a_target()).then_some(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/expected/reference.txt"
    ));
    harness::main_with_expected(
        target,
        "conformance",
        settings.as_env(),
        Expect::Verdicts,
        baseline,
        expected,
    )
}
