//! The suite is tested too (DESIGN.md §5): the reference server with one deliberate
//! rule-break each (feature `faults`) must be FAILed by exactly the cases meant to catch
//! it. Each broken server runs the cases of its subject (the groups named below, which also
//! hold cases it must still pass); the set of FAILing case IDs must be exactly the one
//! expected, and no case may be ERROR or NOT_RUN. One test per fault, run in parallel; the
//! cases of one broken server run one at a time.
//!
//! `BROKEN_DISCOVER=1 cargo test -p conformance --test broken_servers` runs every server
//! case against every broken server and prints the failing sets (to update the table).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::ExitCode;

use conformance::case::Case;
use conformance::config::TargetSettings;
use conformance::requirements::Role;
use conformance::run::{self, Invocation, Session};
use conformance::verdict::Verdict;
use libtest_mimic::{Arguments, Failed, Trial};
use reference_server::Fault;

#[path = "common/server.rs"]
mod reference_server_target;

/// (fault, the case groups run against it, the cases that must FAIL).
const TABLE: &[(Fault, &[&str], &[&str])] = &[
    (
        Fault::CaseSensitiveNicks,
        &["SRV-REG-"],
        &["SRV-REG-003", "SRV-REG-008"],
    ),
    (
        Fault::NoSenderCheck,
        &["SRV-BRD-", "SRV-REG-008"],
        &["SRV-BRD-002", "SRV-REG-008"],
    ),
    (
        Fault::NoLengthCheck,
        &["SRV-BRD-004", "SRV-ERR-", "SRV-BRD-001", "SRV-BRD-002"],
        &["SRV-BRD-004", "SRV-ERR-001", "SRV-ERR-002"],
    ),
    (
        Fault::NoEcho,
        &["SRV-BRD-"],
        &["SRV-BRD-001", "SRV-BRD-003", "SRV-BRD-005"],
    ),
    (
        Fault::CrlfOnly,
        &["SRV-FRM-"],
        &[
            "SRV-FRM-001",
            "SRV-FRM-004",
            "SRV-FRM-005",
            "SRV-FRM-006",
            "SRV-FRM-008",
            "SRV-FRM-009",
        ],
    ),
    (Fault::LeaveForUnregistered, &["SRV-LEA-"], &["SRV-LEA-003"]),
    (
        Fault::RelayFromBlocked,
        &["SRV-BLK-"],
        &["SRV-BLK-005", "SRV-BLK-006", "SRV-BLK-008", "SRV-BLK-009"],
    ),
    (
        Fault::BlocksFullRecorded,
        &["SRV-BLK-012", "SRV-BLK-001", "SRV-BLK-004"],
        &["SRV-BLK-012"],
    ),
    (Fault::VolatileMailbox, &["SRV-RLY-"], &["SRV-RLY-008"]),
    (
        Fault::RedeliverReversed,
        &["SRV-RLY-"],
        &["SRV-RLY-004", "SRV-RLY-007", "SRV-RLY-008"],
    ),
    (
        Fault::NoTokenCheck,
        &["SRV-OWN-"],
        &["SRV-OWN-002", "SRV-OWN-004"],
    ),
    (
        Fault::NoInvite,
        &["SRV-TKT-"],
        &["SRV-TKT-001", "SRV-TKT-003"],
    ),
    (
        // Every registration's LIST is wrong: every case of the group fails, on REG-2.
        Fault::ListWithoutSelf,
        &["SRV-LST-", "SRV-REG-001", "SRV-REG-002", "SRV-REG-010"],
        &[
            "SRV-LST-001",
            "SRV-LST-002",
            "SRV-LST-003",
            "SRV-REG-001",
            "SRV-REG-002",
            "SRV-REG-010",
        ],
    ),
    (
        Fault::CloseOnError,
        &["SRV-ERR-", "SRV-GEN-", "SRV-KA-001", "SRV-REG-001"],
        &[
            "SRV-ERR-001",
            "SRV-ERR-002",
            "SRV-GEN-001",
            "SRV-GEN-002",
            "SRV-GEN-003",
            "SRV-GEN-004",
        ],
    ),
    (
        // KA-002's barriers before registration are PINGs too.
        Fault::NoPongBeforeRegister,
        &["SRV-KA-"],
        &["SRV-KA-001", "SRV-KA-002"],
    ),
    (Fault::AckAnyMailbox, &["SRV-RLY-"], &["SRV-RLY-005"]),
    (
        Fault::NoOverlongCheck,
        &["SRV-FRM-", "SRV-ERR-001"],
        &["SRV-ERR-001", "SRV-FRM-005", "SRV-FRM-011"],
    ),
];

fn server_cases() -> Vec<&'static Case> {
    conformance::cases::all()
        .iter()
        .copied()
        .filter(|c| c.role == Role::Server)
        .collect()
}

/// Runs `cases` against the reference server broken by `fault`; returns (FAIL ids, ids
/// with a verdict other than PASS/FAIL/WARN, with the verdict).
fn judge(fault: Fault, cases: &[&'static Case]) -> (BTreeSet<String>, Vec<String>) {
    let settings = TargetSettings {
        server_limits: Some("keepalive=2,idle=5,partial=2,max_connections=200".into()),
        ..TargetSettings::default()
    };
    let target = settings
        .build(
            &format!("broken:{}", fault.name()),
            Some(reference_server_target::broken(fault)),
            None,
        )
        .expect("target");
    let session = Session::new(
        target,
        Invocation::CargoTest {
            test: "broken_servers".into(),
            env: vec![],
        },
    );
    // One case at a time: a broken server can leak one case's bad lines to the connections
    // of another (a bad BROADCAST relayed to everyone), which would make the set depend on
    // timing. The broken servers themselves run in parallel.
    let results = run::run_all(&session, cases, 1);
    let fails = results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.id.clone())
        .collect();
    let odd = results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Fail | Verdict::Warn))
        .map(|r| format!("{} {}: {}", r.id, r.verdict, r.message))
        .collect();
    (fails, odd)
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    if std::env::var_os("BROKEN_DISCOVER").is_some() {
        let all = server_cases();
        for f in Fault::ALL {
            let (fails, odd) = judge(*f, &all);
            println!(
                "{:<22} breaks {:<12} FAIL {:?} {:?}",
                f.name(),
                f.breaks(),
                fails,
                odd
            );
        }
        return ExitCode::SUCCESS;
    }
    let trials = TABLE
        .iter()
        .map(|&(fault, groups, expected)| {
            Trial::test(format!("broken-server::{}", fault.name()), move || {
                let cases: Vec<&'static Case> = server_cases()
                    .into_iter()
                    .filter(|c| groups.iter().any(|g| c.id.starts_with(g)))
                    .collect();
                let (fails, odd) = judge(fault, &cases);
                let want: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
                if !odd.is_empty() {
                    return Err(Failed::from(format!(
                        "{} (breaks {}): cases that could not give a verdict: {odd:#?}",
                        fault.name(),
                        fault.breaks()
                    )));
                }
                if fails != want {
                    return Err(Failed::from(format!(
                        "{} (breaks {}), judged by {} cases of {groups:?}:\n  expected to FAIL \
                         exactly {want:?}\n  FAILed:             {fails:?}",
                        fault.name(),
                        fault.breaks(),
                        cases.len()
                    )));
                }
                Ok(())
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
