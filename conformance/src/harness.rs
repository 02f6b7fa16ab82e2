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
    /// other case must be UNSUPPORTED (used for the example server the suite ships). Both
    /// are asserted outcomes, so both complete as passed tests; cases of a role the target
    /// does not have (client cases against a server alone) are not trials at all.
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
    main_with_expected(target, test, env, expect, baseline, None)
}

/// [`main`], and then the verdicts are diffed against a checked-in expected-results file
/// (`<case ID> <VERDICT>` per line, `#` comments), as tungstenite diffs its Autobahn
/// results: any change of a verdict fails the run, with the diff. With
/// `P2PCHAT_BLESS=1` the file is rewritten from this run instead (review the diff).
pub fn main_with_expected(
    target: Target,
    test: &str,
    env: Vec<(String, String)>,
    expect: Expect,
    baseline: Option<(String, BTreeSet<String>)>,
    expected: Option<&str>,
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
    let has_role = |role: crate::requirements::Role| match role {
        crate::requirements::Role::Server => session.target.server.is_some(),
        crate::requirements::Role::Client => session.target.client.is_some(),
    };
    let trials: Vec<Trial> = crate::cases::all()
        .iter()
        .filter(|case| expect != Expect::ExactlyClaimed || has_role(case.role))
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
                match (expect, r.verdict) {
                    (Expect::ExactlyClaimed, Verdict::Pass) if claimed => Ok(Completion::Completed),
                    (Expect::ExactlyClaimed, Verdict::Unsupported) if !claimed => {
                        Ok(Completion::Completed)
                    }
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
    let mut code = conclusion.exit_code();
    if let Some(path) = expected.filter(|_| !args.list && !results.is_empty()) {
        match diff_expected(
            path,
            &results,
            args.filter.is_none() && args.skip.is_empty(),
        ) {
            Ok(None) => println!("verdicts match {path}"),
            Ok(Some(diff)) => {
                println!("\nVERDICTS DIFFER FROM {path}:\n{diff}");
                code = ExitCode::FAILURE;
            }
            Err(e) => {
                println!("\n{e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    code
}

/// Compares the verdicts of a run with an expected-results file; `Ok(None)` when they
/// match, `Ok(Some(diff))` when not. `complete`: every case was run (so a case listed in
/// the file and not run is a difference too).
pub fn diff_expected(
    path: &str,
    results: &[crate::verdict::CaseReport],
    complete: bool,
) -> Result<Option<String>, String> {
    let bless = std::env::var("P2PCHAT_BLESS").is_ok_and(|v| !v.is_empty() && v != "0");
    if bless && complete {
        let mut text = String::from(
            "# Expected verdict of every case against this target, diffed by `cargo test -p \
             conformance`.\n# Regenerate with P2PCHAT_BLESS=1 and review the diff.\n",
        );
        for r in results {
            text.push_str(&format!("{} {}\n", r.id, r.verdict));
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {path}: {e}"))?;
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut want = std::collections::BTreeMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some((id, v)) = line.split_once(' ') {
            want.insert(id.to_owned(), v.trim().to_owned());
        }
    }
    let mut diff = Vec::new();
    for r in results {
        match want.remove(&r.id) {
            Some(v) if v == r.verdict.as_str() => {}
            Some(v) => diff.push(format!("  {}: expected {v}, got {}", r.id, r.verdict)),
            None => diff.push(format!(
                "  {}: not in the file (a new case?), got {}",
                r.id, r.verdict
            )),
        }
    }
    if complete {
        for id in want.keys() {
            diff.push(format!("  {id}: in the file, but no such case was run"));
        }
    }
    Ok((!diff.is_empty()).then(|| {
        diff.push("  (if the change is right: P2PCHAT_BLESS=1 and review the diff)".into());
        diff.join("\n")
    }))
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
