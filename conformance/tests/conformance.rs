//! `cargo test -p conformance`: every case, one named test each, against the reference
//! server (in-process) by default, or against the implementation named by the P2PCHAT_*
//! environment variables (see conformance/README.md).

use std::process::ExitCode;

use conformance::config::TargetSettings;
use conformance::harness::{self, Expect};

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
    let target = match settings.build(name, Some(reference::server())) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("conformance: {e}");
            return ExitCode::from(2);
        }
    };
    harness::main(target, "conformance", settings.as_env(), Expect::Verdicts)
}

/// The reference server as the default target. Wiring it is this one module.
mod reference {
    use std::collections::BTreeSet;

    use conformance::profile::Profile;
    use conformance::target::ServerKind;

    /// The reference server and the profiles it claims (all of the server's).
    pub fn server() -> (ServerKind, BTreeSet<Profile>) {
        (
            ServerKind::Unavailable(
                "the reference server is not available yet: reference_server::run does not \
                 exist in reference-server/src (set P2PCHAT_SERVER_CMD to judge another server)"
                    .into(),
            ),
            Profile::SERVER.into_iter().collect(),
        )
    }
}
