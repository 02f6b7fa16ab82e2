//! The `cargo test` face of the suite: every case is one libtest-mimic trial, named by its
//! ID, so `cargo test -p conformance -- REG` runs a subset and `-- --exact SRV-REG-001`
//! one case.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use crate::profile::Profile;
use crate::report;
use crate::run::{Invocation, Session};
use crate::target::Target;
use crate::verdict::Verdict;

/// What a harness requires of the verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// FAIL and ERROR fail the trial; PASS and WARN pass it; UNSUPPORTED and NOT_RUN are
    /// reported as ignored.
    Verdicts,
    /// Every case of a claimed profile must PASS exactly (no WARN, no NOT_RUN), and every
    /// other case must be UNSUPPORTED (used for the example server the suite ships).
    ExactlyClaimed,
}

/// Runs the harness for `target`; `test` is the cargo test target's name (for replays).
/// `baseline` lists known failures: such a FAIL is reported as ignored ("KNOWN FAILURE")
/// and its details printed after the run; a listed case that passes fails its test.
pub fn main(
    target: Target,
    test: &str,
    env: Vec<(String, String)>,
    expect: Expect,
    baseline: Option<(String, BTreeSet<String>)>,
) -> ExitCode {
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        // Cases mostly wait on the network: more threads than cores is right.
        args.test_threads = Some(8);
    }
    let session = Arc::new(Session::new(
        target,
        Invocation::CargoTest {
            test: test.to_owned(),
            env,
        },
    ));
    let trials: Vec<Trial> = crate::cases::all()
        .iter()
        .map(|&case| {
            let session = session.clone();
            let known = baseline
                .as_ref()
                .filter(|(_, ids)| ids.contains(case.id))
                .map(|(file, _)| file.clone());
            Trial::ignorable_test(case.id, move || {
                let r = session.run_case(case);
                if let Some(file) = known {
                    return match r.verdict {
                        Verdict::Fail => Ok(Completion::ignored_with(format!(
                            "KNOWN FAILURE (listed in {file}): {}",
                            r.message
                        ))),
                        Verdict::Pass | Verdict::Warn => Err(Failed::from(format!(
                            "UNEXPECTED PASS: {} is listed in {file} as a known failure but \
                             passed; remove it from the file",
                            case.id
                        ))),
                        _ => Err(Failed::from(r.details())),
                    };
                }
                let claims = match case.role {
                    crate::requirements::Role::Server => session.target.server_profiles(),
                    crate::requirements::Role::Client => session
                        .target
                        .client
                        .as_ref()
                        .map(|c| c.profiles.clone())
                        .unwrap_or_default(),
                };
                let claimed = case.profiles.iter().all(|p: &Profile| claims.contains(p));
                let no_target = match case.role {
                    crate::requirements::Role::Server => session.target.server.is_none(),
                    crate::requirements::Role::Client => session.target.client.is_none(),
                };
                match (expect, r.verdict) {
                    (Expect::ExactlyClaimed, Verdict::NotRun) if no_target => {
                        Ok(Completion::ignored_with(format!("NOT_RUN: {}", r.message)))
                    }
                    (Expect::ExactlyClaimed, Verdict::Pass) if claimed => Ok(Completion::Completed),
                    (Expect::ExactlyClaimed, Verdict::Unsupported) if !claimed => Ok(
                        Completion::ignored_with(format!("UNSUPPORTED: {}", r.message)),
                    ),
                    (Expect::ExactlyClaimed, v) => Err(Failed::from(format!(
                        "{v}, but this target must {}:\n{}",
                        if claimed {
                            "PASS this case"
                        } else {
                            "be UNSUPPORTED here"
                        },
                        r.details()
                    ))),
                    (Expect::Verdicts, Verdict::Pass | Verdict::Warn) => Ok(Completion::Completed),
                    (Expect::Verdicts, Verdict::Unsupported | Verdict::NotRun) => Ok(
                        Completion::ignored_with(format!("{}: {}", r.verdict, r.message)),
                    ),
                    (Expect::Verdicts, Verdict::Fail | Verdict::Error) => {
                        Err(Failed::from(r.details()))
                    }
                }
            })
            .with_kind(case.profile().as_str())
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    let mut results = session.results();
    if let Some((_, ids)) = &baseline {
        report::apply_baseline(&mut results, ids);
    }
    let known_failures = results
        .iter()
        .any(|r| r.baseline == Some(crate::verdict::BaselineMark::KnownFailure));
    if !results.is_empty() && !args.list {
        // The table, and the non-strict findings (which pass as tests).
        let mut text = report::summary(&session.target, &results, false);
        if let Some(i) = text.find("\nFAILURES").filter(|_| !known_failures) {
            // Failures were printed in full by the test runner already.
            let warn = text.find("\nNON-STRICT").map(|w| text[w..].to_owned());
            text.truncate(i);
            text.push('\n');
            if let Some(w) = warn {
                text.push_str(&w);
            }
        }
        println!("\n{text}");
        if let Some(dir) = std::env::var_os("P2PCHAT_REPORT_DIR") {
            let dir = std::path::PathBuf::from(dir);
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(
                dir.join(format!("{test}.json")),
                report::json(&session.target, &results, false),
            );
            let _ = std::fs::write(
                dir.join(format!("{test}.junit.xml")),
                report::junit(&session.target, &results),
            );
            let _ = std::fs::write(
                dir.join(format!("{test}.txt")),
                report::summary(&session.target, &results, true),
            );
            println!("reports written to {}", dir.display());
        }
    }
    conclusion.exit_code()
}

/// Reads a baseline file for a harness: `P2PCHAT_BASELINE` if set, else `default` (a path
/// that may not exist). Returns the file name and the IDs.
pub fn baseline(default: Option<&str>) -> Result<Option<(String, BTreeSet<String>)>, String> {
    let path = match std::env::var("P2PCHAT_BASELINE") {
        Ok(p) if !p.trim().is_empty() => p,
        _ => match default {
            Some(d) => d.to_owned(),
            None => return Ok(None),
        },
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some((path, report::parse_baseline(&text)?))),
        Err(e) if default == Some(path.as_str()) && e.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(format!("cannot read baseline {path}: {e}")),
    }
}
