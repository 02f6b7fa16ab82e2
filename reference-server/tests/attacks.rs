//! Connection-level attacks on the real `p2pchat-server` binary, each with bounds set
//! small on its command line: thousands of connections that never register, a sender
//! of one byte at a time that never finishes its line, a reader that never reads, a
//! flood of broadcasts. Each is cut off by its bound ([LIM-1] .. [LIM-4], [KA-3]),
//! other clients are unaffected, and the server's log (stderr) names the cut-off with
//! the figure that triggered it.
//!
//! No sleeping: every wait is for a line, a close or a log line, with a deadline. The
//! only paced writes are the slow sender's, whose slowness is the thing under test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use common::{Client, DEADLINE, check_err};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

/// The binary, with its log lines as they come.
struct Proc {
    child: Child,
    addr: SocketAddr,
    log: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Proc {
    /// Starts `p2pchat-server --bind 127.0.0.1:0 --memory-db <args>` with logs on.
    fn spawn(args: &[&str]) -> Proc {
        let mut child = Command::cargo_bin("p2pchat-server")
            .unwrap()
            .args(["--bind", "127.0.0.1:0", "--memory-db", "--linger", "0.5"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, log) = mpsc::unbounded_channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                let _ = tx.send(line);
            }
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let addr = line
            .trim_end()
            .strip_prefix("p2pchat-server listening on ")
            .unwrap_or_else(|| panic!("readiness line: {line:?}"))
            .parse()
            .unwrap();
        Proc {
            child,
            addr,
            log,
            seen: Vec::new(),
        }
    }

    async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Waits for a log line holding every one of `parts`; returns it.
    async fn expect_log(&mut self, parts: &[&str]) -> String {
        let matches = |l: &str| parts.iter().all(|p| l.contains(p));
        if let Some(l) = self.seen.iter().find(|l| matches(l)) {
            return l.clone();
        }
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            match tokio::time::timeout_at(deadline, self.log.recv()).await {
                Ok(Some(l)) => {
                    let hit = matches(&l);
                    self.seen.push(l.clone());
                    if hit {
                        return l;
                    }
                }
                _ => panic!(
                    "no log line with {parts:?}; the log so far: {:#?}",
                    self.seen
                ),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads until the end of the stream; returns the last line (which must be a whole
/// line) within the deadline.
async fn last_line_before_close(c: &mut Client) -> String {
    let mut last = String::new();
    while let Some(l) = c.try_line().await {
        last = l;
    }
    last
}

/// The soft limit on open files (this process and the server, its child, share it).
fn fd_limit() -> usize {
    std::process::Command::new("sh")
        .args(["-c", "ulimit -n"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lim_3_thousands_of_connections_that_never_register_hit_the_connection_limit() {
    // 2,000 where the descriptor limit allows (here 20,000); fewer under a 1,024 limit.
    let max: usize = 2000.min(fd_limit().saturating_sub(400));
    assert!(max >= 500, "descriptor limit too low: {}", fd_limit());
    let mut p = Proc::spawn(&["--max-connections", &max.to_string()]);
    let mut alice = p.client().await;
    alice.register("alice", 5000, None).await;
    // max - 1 more connections that never send a byte: all accepted.
    let mut idle = Vec::with_capacity(max);
    for _ in 1..max {
        idle.push(tokio::net::TcpStream::connect(p.addr).await.unwrap());
    }
    // A barrier on alice's connection: every connection above has been accepted by now
    // (accepts are handled in order) — and her service is not degraded.
    alice.quiet().await;
    // Beyond the limit: each is told and closed.
    for _ in 0..300 {
        let mut c = p.client().await;
        let last = last_line_before_close(&mut c).await;
        check_err(&last, "SERVER_FULL");
    }
    let line = p
        .expect_log(&["SERVER_FULL", &format!("max_connections={max}"), "active="])
        .await;
    assert!(line.contains(&format!("active={max}")), "{line}");
    // The idle ones cost nothing visible to others: alice still works.
    alice.send("BROADCAST:alice:5:still").await;
    alice.expect("BROADCAST:alice:5:still").await;
    // Freed places are taken again.
    drop(idle.pop());
    let deadline = Instant::now() + DEADLINE;
    let mut bob = loop {
        let mut c = p.client().await;
        c.send("PING:in").await;
        match c.try_line().await.as_deref() {
            Some("PONG:in") => break c,
            Some(l) => {
                check_err(l, "SERVER_FULL");
            }
            None => {}
        };
        assert!(
            Instant::now() < deadline,
            "the freed place was never reused"
        );
        drop(c);
    };
    bob.register("bob", 5001, None).await;
    alice.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ka_3_silent_unregistered_connections_are_pinged_then_timed_out() {
    let mut p = Proc::spawn(&["--keepalive", "0.3", "--idle-timeout", "0.8"]);
    let mut silent = Vec::new();
    for _ in 0..500 {
        silent.push(p.client().await);
    }
    let started = Instant::now();
    for c in &mut silent {
        assert!(c.line().await.starts_with("PING:"));
        let last = last_line_before_close(c).await;
        check_err(&last, "TIMEOUT");
    }
    assert!(started.elapsed() >= Duration::from_millis(500));
    p.expect_log(&["ERR:TIMEOUT", "idle_timeout_s=0.8"]).await;
    // The server is fine afterwards.
    let mut c = p.client().await;
    c.register("late", 5000, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lim_4_a_byte_at_a_time_sender_is_cut_off_by_the_partial_line_timeout() {
    // Bytes keep arriving (so the idle timeout never fires), but the line never ends.
    let mut p = Proc::spawn(&[
        "--partial-line-timeout",
        "1",
        "--idle-timeout",
        "60",
        "--keepalive",
        "0",
    ]);
    let mut bystander = p.client().await;
    bystander.register("bystander", 5000, None).await;
    let mut slow = p.client().await;
    let started = Instant::now();
    let tick = Duration::from_millis(150);
    let mut sent = 0usize;
    let mut got = Vec::new();
    // One byte per tick, up to 60 (9 s): the cut-off must come long before.
    let closed = loop {
        assert!(sent < 60, "never cut off after {sent} bytes");
        slow.raw(&[b"PING:slowloris"[sent % 14]]).await;
        sent += 1;
        let mut buf = [0u8; 256];
        match tokio::time::timeout(tick, slow.stream.read(&mut buf)).await {
            Err(_) => {}
            Ok(Ok(0)) | Ok(Err(_)) => break started.elapsed(),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    };
    let text = String::from_utf8(got).unwrap();
    check_err(text.trim_end(), "TIMEOUT");
    assert!(
        closed >= Duration::from_millis(900),
        "cut off after {closed:?}, before the timeout"
    );
    p.expect_log(&[
        "ERR:TIMEOUT",
        "partial_line_timeout_s=1",
        "partial_bytes_held=",
    ])
    .await;
    bystander.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lim_1_a_reader_that_never_reads_is_cut_off_at_its_output_bound() {
    let mut p = Proc::spawn(&["--max-outbound-bytes", "65536", "--rate-burst", "0"]);
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut deaf = Client::from_stream(sock.connect(p.addr).await.unwrap());
    deaf.register("deaf", 5000, None).await;
    let mut listener = p.client().await;
    listener.register("listener", 5001, None).await;
    let mut talker = p.client().await;
    talker.register("talker", 5002, None).await;
    listener.expect("UPDATE:JOIN:talker:127.0.0.1:5002").await;
    let text = "y".repeat(1000);
    let line = format!("BROADCAST:talker:1000:{text}\r\n");
    let mut cut = false;
    // The kernel holds a few MiB in the socket buffers before the server queues
    // anything: up to 12 MiB in all.
    for _round in 0..600 {
        talker.raw(line.repeat(20).as_bytes()).await;
        for _ in 0..20 {
            let mut echo = talker.line().await;
            if echo.starts_with("UPDATE:LEAVE:deaf:") {
                echo = talker.line().await;
            }
            assert!(echo.starts_with("BROADCAST:talker:1000:"));
            loop {
                let l = listener.line().await;
                if l.starts_with("UPDATE:LEAVE:deaf:") {
                    cut = true;
                    continue;
                }
                assert!(l.starts_with("BROADCAST:talker:1000:"), "{l}");
                break;
            }
        }
        if cut {
            break;
        }
    }
    assert!(cut, "the reader that never reads was never cut off");
    let figure = p
        .expect_log(&["SLOW_READER", "queued_bytes=", "max_outbound_bytes=65536"])
        .await;
    let queued: usize = figure
        .split("queued_bytes=")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(queued <= 65536, "{figure}");
    p.expect_log(&["cut off: ERR:SLOW_READER", "max_outbound_bytes=65536"])
        .await;
    // Its stream ends with the reason, after whole lines only.
    let last = last_line_before_close(&mut deaf).await;
    check_err(&last, "SLOW_READER");
    listener.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lim_2_a_flood_of_broadcasts_is_cut_off_at_the_rate_limit() {
    let mut p = Proc::spawn(&["--rate-burst", "50", "--rate-per-sec", "10"]);
    let mut calm = p.client().await;
    calm.register("calm", 5000, None).await;
    let mut flood = p.client().await;
    flood.register("flood", 5001, None).await;
    calm.expect("UPDATE:JOIN:flood:127.0.0.1:5001").await;
    // Registration used one line of the burst.
    flood
        .raw("BROADCAST:flood:5:spam!\r\n".repeat(1000).as_bytes())
        .await;
    let mut echoes = 0;
    let last = loop {
        let l = flood.line().await;
        if l == "BROADCAST:flood:5:spam!" {
            echoes += 1;
        } else {
            break l;
        }
    };
    check_err(&last, "FLOOD");
    flood.expect_closed().await;
    assert!((40..=51).contains(&echoes), "{echoes} echoes");
    let mut relayed = 0;
    loop {
        let l = calm.line().await;
        if l == "BROADCAST:flood:5:spam!" {
            relayed += 1;
        } else {
            assert_eq!(l, "UPDATE:LEAVE:flood:127.0.0.1:5001");
            break;
        }
    }
    assert_eq!(
        relayed, echoes,
        "the others got what the flooder was echoed, no more"
    );
    p.expect_log(&["ERR:FLOOD", "rate_burst=50", "rate_per_sec=10"])
        .await;
    calm.send("BROADCAST:calm:2:ok").await;
    calm.expect("BROADCAST:calm:2:ok").await;
}

/// A flood of TICKET requests, within every bound (each connection under its rate
/// limit, tickets for a user who is online) leaves up to `TICKET_TTL` worth of live
/// tickets; issuing one more must not cost time in proportion to how many are live
/// (the hub holds its lock meanwhile: every client would wait). 30,000 tickets within
/// one TTL, about what 5 connections at the default rate make in a minute.
#[test]
fn tkt_3_issuing_a_ticket_costs_the_same_however_many_are_live() {
    use reference_server::entropy::OsEntropy;
    use reference_server::tickets::Tickets;
    let mut t = Tickets::default();
    let mut e = OsEntropy::new();
    let started = Instant::now();
    for i in 0..30_000u64 {
        // All within one TTL: none has expired yet.
        t.issue(&mut e, Duration::from_millis(i));
    }
    let took = started.elapsed();
    assert_eq!(t.len(), 30_000);
    // Linear: well under a second even unoptimised on a busy machine; the quadratic
    // version took over ten.
    assert!(
        took < Duration::from_secs(3),
        "30,000 tickets took {took:?}"
    );
    // Expired ones are still dropped.
    t.issue(&mut e, Duration::from_secs(3600));
    assert_eq!(t.len(), 1);
}
