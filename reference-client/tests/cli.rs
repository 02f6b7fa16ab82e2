//! The command line: help, bad flags, an unreachable server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::*;

fn client() -> Command {
    let mut c = Command::cargo_bin("p2pchat-client").unwrap();
    c.env_remove("RUST_LOG").env("NO_COLOR", "1");
    c
}

#[test]
fn help() {
    let out = client().arg("--help").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    insta::assert_snapshot!(text);
}

#[test]
fn bad_flags_exit_2() {
    client()
        .arg("--frobnicate")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--frobnicate"));
    client()
        .args(["--nick", "not a nick!", "--automation"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nick"));
    client()
        .args(["--no-server", "--server", "127.0.0.1:1"])
        .assert()
        .code(2);
    client()
        .args(["--peer", "127.0.0.1:5000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--no-server"));
}

#[test]
fn automation_needs_a_nick() {
    client().arg("--automation").assert().code(2);
}

#[test]
fn unreachable_server_is_a_clear_error_and_exit_1() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    let dir = tempfile::tempdir().unwrap();
    let out = client()
        .args([
            "--automation",
            "--server",
            &addr,
            "--nick",
            "alice",
            "--data-dir",
        ])
        .arg(dir.path())
        .write_stdin("")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot reach the server"));
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let e: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(e["event"], "error");
    assert_eq!(e["code"], "UNREACHABLE");
}

#[test]
fn empty_peer_placeholder_is_accepted() {
    // Appendix A.1: `{peer}` is "absent if none"; `--peer` with no value (or an
    // empty one) must not be a usage error. stdin closed: exits 0 at once.
    let dir = tempfile::tempdir().unwrap();
    let out = client()
        .args([
            "--automation",
            "--no-server",
            "--nick",
            "alice",
            "--listen",
            "127.0.0.1:0",
            "--peer",
            "--data-dir",
        ])
        .arg(dir.path())
        .write_stdin("peers\n")
        .assert()
        .code(0);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.starts_with(r#"{"event":"ready","nick":"alice","port":"#),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#"{"event":"peers","peers":[]}"#),
        "{stdout}"
    );
}

#[test]
fn no_nick_and_no_terminal_to_ask_is_exit_2() {
    // stdin is not a terminal: the nick cannot be asked for.
    let out = client().write_stdin("").assert().code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    insta::assert_snapshot!(stderr);
    assert!(out.get_output().stdout.is_empty());
}

#[test]
fn interactive_unreachable_server_is_exit_1_on_stderr() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    let dir = tempfile::tempdir().unwrap();
    let out = client()
        .args(["--server", &addr, "--nick", "alice", "--data-dir"])
        .arg(dir.path())
        .write_stdin("hello\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot reach the server"));
    assert!(
        out.get_output().stdout.is_empty(),
        "stdout stays clean: {:?}",
        String::from_utf8_lossy(&out.get_output().stdout)
    );
}
