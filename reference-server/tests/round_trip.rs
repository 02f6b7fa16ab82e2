//! The private round trip in lockstep, as `p2pchat-bench rtt` drives it: A sends one
//! message, B reads it and acknowledges it, A sends the next. A connection whose short
//! read was quiet (an `ACK`, a `SEND`) forgets its read readiness
//! (`connection::Conn::on_readable`); these tests show that no input is left unread
//! by that, whatever comes next and however it is split.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestServer, quick};
use reference_server::Config;

/// The server as the benchmark runs it: no rate limit (300 rounds in lockstep).
async fn server() -> TestServer {
    TestServer::start(Config {
        rate_burst: 0,
        ..quick()
    })
    .await
}

/// The id in `SENT:<id>:LIVE` or `MSG:<id>:...`.
fn id_of(line: &str, verb: &str) -> String {
    let rest = line
        .strip_prefix(verb)
        .unwrap_or_else(|| panic!("{verb} expected, got {line}"));
    rest.split(':').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockstep_send_ack_send_never_stalls() {
    let s = server().await;
    let (mut a, _) = s.registered("alice", 7001).await;
    let (mut b, _) = s.registered("bob", 7002).await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:7002").await;
    for i in 0..300 {
        let text = format!("m{i}");
        a.send(&format!("SEND:bob:{}:{text}", text.len())).await;
        let msg = b.line().await;
        let id = id_of(&msg, "MSG:");
        assert!(msg.ends_with(&format!(":{text}")), "{msg}");
        // The ACK and the next SEND arrive together, as from the benchmark's generator;
        // every third round the ACK is split across two writes, and every fifth it is
        // followed by a PING in a write of its own.
        if i % 3 == 0 {
            b.raw(b"ACK:").await;
            b.raw(format!("{id}\r\n").as_bytes()).await;
        } else {
            b.send(&format!("ACK:{id}")).await;
        }
        if i % 5 == 0 {
            b.send(&format!("PING:p{i}")).await;
            b.expect(&format!("PONG:p{i}")).await;
        }
        let sent = a.line().await;
        assert_eq!(id_of(&sent, "SENT:"), id, "{sent}");
        assert!(sent.ends_with(":LIVE"), "{sent}");
    }
    // Every message was acknowledged: nothing is left in bob's mailbox.
    a.quiet().await;
    b.quiet().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msg_is_queued_for_the_recipient_before_sent_reaches_the_sender() {
    // Once A has SENT, B's MSG is already queued ([GEN-4]: the hub makes both in one
    // step), so a barrier on B finds it before the PONG, and nothing else.
    let s = server().await;
    let (mut a, _) = s.registered("alice", 7001).await;
    let (mut b, _) = s.registered("bob", 7002).await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:7002").await;
    for i in 0..50 {
        a.send("SEND:bob:1:x").await;
        let sent = a.line().await;
        let id = id_of(&sent, "SENT:");
        let before = b.barrier().await;
        assert_eq!(before.len(), 1, "{before:?}");
        assert_eq!(id_of(&before[0], "MSG:"), id, "round {i}: {before:?}");
        b.send(&format!("ACK:{id}")).await;
    }
    s.stop().await;
}
