//! Clients judged through the launch-command path (Appendix A.1), with the suite playing
//! the server: the Python example client (examples/core_client.py, profiles core, query,
//! relay, block; it shares no code with this project) must PASS every client case of its
//! profiles and be UNSUPPORTED on the others; and each broken client of
//! examples/broken_clients/ (the example with one rule broken) must be FAILed by exactly
//! the cases meant to catch it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::ExitCode;

use conformance::case::Case;
use conformance::config::TargetSettings;
use conformance::requirements::Role;
use conformance::run::{self, Invocation, Session};
use conformance::target::shell_quote;
use conformance::verdict::{CaseReport, Verdict};
use libtest_mimic::{Arguments, Failed, Trial};

const PROFILES: &str = "core,query,relay,block";

/// (script under examples/, the case groups run, the cases that must FAIL).
const BROKEN: &[(&str, &[&str], &[&str])] = &[
    (
        "broken_clients/ack_before_show.py",
        &["CLI-RLY-"],
        &["CLI-RLY-004"],
    ),
    (
        "broken_clients/shows_duplicates.py",
        &["CLI-RLY-"],
        &["CLI-RLY-002", "CLI-RLY-003"],
    ),
    (
        "broken_clients/char_len.py",
        &["CLI-BRD-", "CLI-AUT-001", "CLI-AUT-004"],
        &["CLI-BRD-001"],
    ),
    (
        "broken_clients/forgets_token.py",
        &["CLI-REG-", "CLI-RLY-"],
        &["CLI-REG-002", "CLI-RLY-003"],
    ),
    (
        "broken_clients/crlf_only.py",
        &["CLI-FRM-", "CLI-REG-001", "CLI-KA-001"],
        &["CLI-FRM-001"],
    ),
];

fn command(script: &str) -> String {
    let path = format!("{}/examples/{script}", env!("CARGO_MANIFEST_DIR"));
    format!(
        "python3 {} --server {{server}} --nick {{nick}} --udp-port {{port}} --data-dir {{datadir}}",
        shell_quote(&path)
    )
}

fn judge(script: &str, cases: &[&'static Case]) -> Vec<CaseReport> {
    let settings = TargetSettings {
        client_cmd: Some(command(script)),
        client_profiles: Some(PROFILES.into()),
        timeout_scale: TargetSettings::from_env()
            .ok()
            .and_then(|s| s.timeout_scale),
        ..TargetSettings::default()
    };
    let target = settings.build(script, None, None).expect("target");
    let session = Session::new(
        target,
        Invocation::CargoTest {
            test: "python_clients".into(),
            env: settings.as_env(),
        },
    );
    run::run_all(&session, cases, 4)
}

fn client_cases() -> Vec<&'static Case> {
    conformance::cases::all()
        .iter()
        .copied()
        .filter(|c| c.role == Role::Client)
        .collect()
}

fn example_client() -> Result<(), Failed> {
    let claims: BTreeSet<&str> = PROFILES.split(',').collect();
    let mut wrong = Vec::new();
    for r in judge("core_client.py", &client_cases()) {
        let claimed = r.profiles.iter().all(|p| claims.contains(p.as_str()));
        let want = if claimed {
            Verdict::Pass
        } else {
            Verdict::Unsupported
        };
        if r.verdict != want {
            wrong.push(format!("{} must be {want}:\n{}", r.id, r.details()));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(Failed::from(wrong.join("\n")))
    }
}

fn broken(script: &str, groups: &[&str], expected: &[&str]) -> Result<(), Failed> {
    let cases: Vec<&'static Case> = client_cases()
        .into_iter()
        .filter(|c| groups.iter().any(|g| c.id.starts_with(g)))
        .collect();
    let results = judge(script, &cases);
    let fails: BTreeSet<String> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.id.clone())
        .collect();
    let odd: Vec<String> = results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Fail | Verdict::Warn))
        .map(|r| r.details())
        .collect();
    let want: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    if odd.is_empty() && fails == want {
        return Ok(());
    }
    let details: Vec<String> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.details())
        .collect();
    Err(Failed::from(format!(
        "{script}, judged by {} cases of {groups:?}:\n  expected to FAIL exactly {want:?}\n  \
         FAILed:             {fails:?}\n{}\n{}",
        cases.len(),
        odd.join("\n"),
        details.join("\n")
    )))
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let mut trials = vec![Trial::test("python-client::core_client", example_client)];
    for &(script, groups, expected) in BROKEN {
        let name = script
            .trim_start_matches("broken_clients/")
            .trim_end_matches(".py");
        trials.push(Trial::test(format!("broken-client::{name}"), move || {
            broken(script, groups, expected)
        }));
    }
    libtest_mimic::run(&args, trials).exit_code()
}
