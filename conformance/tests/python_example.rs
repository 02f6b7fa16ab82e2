//! The Python example server (conformance/examples/core_server.py), which shares no code
//! with this project, judged through the launch-command plug-in path: it must PASS every
//! case of the core profile (slow ones included, thanks to its short timers) and be
//! UNSUPPORTED on every case of another profile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::ExitCode;

use conformance::config::TargetSettings;
use conformance::harness::{self, Expect};
use conformance::profile::Profile;

fn main() -> ExitCode {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/core_server.py");
    // Short timers so that the slow cases (keepalive, idle and partial-line timeouts) run
    // in seconds; a connection limit the suite can reach (LIM-3).
    let cmd = format!(
        "python3 {} --port {{port}} --keepalive 2 --idle-timeout 5 --partial-timeout 2 \
         --max-connections 200",
        conformance::target::shell_quote(script)
    );
    let settings = TargetSettings {
        server_cmd: Some(cmd),
        server_profiles: Some("core".into()),
        // Its timers and limits, declared: the slow cases run in seconds.
        server_limits: Some("keepalive=2,idle=5,partial=2,max_connections=200".into()),
        timeout_scale: TargetSettings::from_env()
            .ok()
            .and_then(|s| s.timeout_scale),
        ..TargetSettings::default()
    };
    let target = match settings.build("core_server.py", None, None) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("python_example: {e}");
            return ExitCode::from(2);
        }
    };
    debug_assert_eq!(target.server_profiles(), BTreeSet::from([Profile::Core]));
    harness::main_with_expected(
        target,
        "python_example",
        Vec::new(),
        Expect::ExactlyClaimed,
        None,
        Some(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/expected/python-core-server.txt"
        )),
    )
}
