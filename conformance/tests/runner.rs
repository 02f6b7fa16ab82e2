//! The runner binary end to end, against the Python example server: exit codes, reports,
//! the manifest, the baseline, and the NOT_RUN verdict for an address target.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use predicates::prelude::*;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/core_server.py");

fn py_cmd() -> String {
    format!("python3 {SCRIPT} --port {{port}}")
}

fn runner() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("p2pchat-conformance").expect("the runner binary");
    for k in conformance::config::ENV_VARS {
        c.env_remove(k);
    }
    c
}

#[test]
fn lists_every_case() {
    let out = runner().arg("--list").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for c in conformance::cases::all() {
        assert!(text.contains(c.id), "{} missing from --list", c.id);
    }
}

#[test]
fn python_server_passes_selected_cases_with_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junit = dir.path().join("r.xml");
    let json = dir.path().join("r.json");
    runner()
        .args(["--server-cmd", &py_cmd(), "--server-profiles", "core"])
        .args([
            "--case",
            "SRV-REG-001",
            "--case",
            "SRV-BRD-001",
            "--case",
            "SRV-OWN-001",
        ])
        .arg("--junit")
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .arg("--matrix")
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("core").and(predicate::str::contains("REQUIREMENT MATRIX")),
        );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written")).expect("json");
    assert_eq!(j["schema"], 1);
    let cases = j["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    let verdict = |id: &str| {
        cases
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["verdict"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(verdict("SRV-REG-001").as_deref(), Some("PASS"));
    assert_eq!(verdict("SRV-OWN-001").as_deref(), Some("UNSUPPORTED"));
    let x = std::fs::read_to_string(&junit).expect("junit written");
    assert!(x.contains("<testsuites") && x.contains("SRV-BRD-001") && x.contains("<skipped"));
}

#[test]
fn a_server_that_cannot_start_is_error_exit_2() {
    runner()
        .args([
            "--server-cmd",
            "python3 -c 'raise SystemExit(3)' {port}",
            "--case",
            "SRV-KA-001",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("ERROR"));
}

#[test]
fn claiming_a_profile_the_server_lacks_fails_exit_1_with_transcript_and_replay() {
    runner()
        .args(["--server-cmd", &py_cmd(), "--server-profiles", "core,query"])
        .args(["--case", "SRV-LST-002"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("[FAIL]")
                .and(predicate::str::contains("C1: QUERY:"))
                .and(predicate::str::contains("S1: ERR:UNKNOWN_VERB"))
                .and(predicate::str::contains(
                    "requirement: [LST-2] (MUST; query; server)",
                ))
                .and(predicate::str::contains(
                    "replay: p2pchat-conformance --server-cmd",
                )),
        );
}

#[test]
fn baseline_accepts_known_failures_and_rejects_unexpected_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("baseline.txt");
    std::fs::write(&base, "SRV-LST-002  # python has no QUERY\n").expect("write");
    let args = ["--server-cmd", &py_cmd(), "--server-profiles", "core,query"];
    runner()
        .args(args)
        .args(["--case", "SRV-LST-002", "--baseline"])
        .arg(&base)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("known failure"));
    std::fs::write(&base, "SRV-KA-001\n").expect("write");
    runner()
        .args(args)
        .args(["--case", "SRV-KA-001", "--baseline"])
        .arg(&base)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("UNEXPECTED PASSES"));
}

#[test]
fn manifest_selects_implementations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = dir.path().join("impls.toml");
    std::fs::write(
        &m,
        format!(
            "[implementations.pycore]\nserver_cmd = \"{}\"\nserver_profiles = [\"core\"]\n",
            py_cmd()
        ),
    )
    .expect("write");
    runner()
        .arg("--manifest")
        .arg(&m)
        .args(["--case", "SRV-KA-001"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("target pycore"));
}

/// Starts the Python server on a free port and waits for its "listening" line.
fn start_python() -> (Child, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new("python3")
        .args([SCRIPT, "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the listening line");
    assert!(line.contains("listening"), "{line}");
    (child, port)
}

#[test]
fn an_address_target_cannot_restart_so_restart_cases_are_not_run() {
    let (mut child, port) = start_python();
    let addr = format!("127.0.0.1:{port}");
    let result = runner()
        .args(["--server-addr", &addr, "--server-profiles", "core,relay"])
        .args(["--case", "SRV-OWN-004", "--case", "SRV-KA-001", "--verbose"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("NOT_RUN").and(predicate::str::contains("restart")));
    let _ = result;
    let _ = child.kill();
    let _ = child.wait();
}
