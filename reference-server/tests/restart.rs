//! Durability across restarts of `run` on the same database file, in process, over
//! real sockets: [OWN-4], [BLK-8], [RLY-5].

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestServer;
use reference_server::{Config, DbPath};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_4_blk_8_rly_5_ownership_blocks_and_mailbox_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        db: DbPath::File(dir.path().join("restart.db")),
        ..common::quick()
    };

    // Before: bob blocks carol and leaves; alice queues a message for him.
    let s = TestServer::start(config.clone()).await;
    let (mut bob, btok) = s.registered("bob", 5001).await;
    let btok = btok.expect("a token for a new nick");
    bob.send("BLOCK:Carol").await;
    bob.expect("BLOCKED:Carol").await;
    bob.send("QUIT").await;
    bob.expect("BYE").await;
    let (mut alice, atok) = s.registered("alice", 5000).await;
    let atok = atok.unwrap();
    alice.send("SEND:bob:14:before restart").await;
    let sent = alice.line().await;
    let id1 = sent
        .strip_prefix("SENT:")
        .and_then(|r| r.strip_suffix(":QUEUED"))
        .unwrap_or_else(|| panic!("{sent}"))
        .to_owned();
    drop(alice);
    s.stop().await;

    // After a restart.
    let s = TestServer::start(config.clone()).await;
    let mut bob = s.client().await;
    // [OWN-4] nobody registers the nick without its token ...
    bob.send("REGISTER:BOB:127.0.0.1:5001").await;
    bob.expect_err("NICK_OWNED").await;
    bob.send("REGISTER:bob:127.0.0.1:5001:ffffffffffffffffffffffffffffffff")
        .await;
    bob.expect_err("NICK_OWNED").await;
    // ... and the token keeps working, with no new TOKEN line.
    bob.send(&format!("REGISTER:bob:127.0.0.1:5001:{btok}"))
        .await;
    bob.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    bob.expect("LIST:bob:127.0.0.1:5001").await;
    // [RLY-5] the queued message survived.
    let msg = bob.line().await;
    assert!(
        msg.starts_with(&format!("MSG:{id1}:alice:")) && msg.ends_with(":14:before restart"),
        "{msg}"
    );
    // [BLK-8] the block survived, as given.
    bob.send("BLOCKS").await;
    bob.expect("BLOCKS:Carol").await;
    let (mut carol, _) = s.registered("carol", 5002).await;
    bob.expect("UPDATE:JOIN:carol:127.0.0.1:5002").await;
    carol.send("BROADCAST:carol:2:hi").await;
    carol.expect("BROADCAST:carol:2:hi").await;
    carol.send("SEND:bob:4:psst").await;
    let sent = carol.line().await;
    assert!(sent.ends_with(":LIVE"), "{sent}");
    bob.quiet().await;
    // alice's ownership survived too.
    let mut alice = s.client().await;
    alice.send("REGISTER:alice:127.0.0.1:5000").await;
    alice.expect_err("NICK_OWNED").await;
    alice
        .send(&format!("REGISTER:alice:127.0.0.1:5000:{atok}"))
        .await;
    alice.expect("UPDATE:JOIN:alice:127.0.0.1:5000").await;
    alice
        .expect("LIST:bob:127.0.0.1:5001:carol:127.0.0.1:5002:alice:127.0.0.1:5000")
        .await;
    alice.quiet().await;
    drop((alice, carol));
    // bob never acknowledged: the message waits through another restart.
    drop(bob);
    s.stop().await;

    let s = TestServer::start(config.clone()).await;
    let mut bob = s.client().await;
    bob.send(&format!("REGISTER:bob:127.0.0.1:5001:{btok}"))
        .await;
    bob.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    bob.expect("LIST:bob:127.0.0.1:5001").await;
    let again = bob.line().await;
    assert_eq!(again, msg, "the same message, unchanged");
    bob.send(&format!("ACK:{id1}")).await;
    bob.send("BLOCKS").await;
    bob.expect("BLOCKS:Carol").await;
    drop(bob);
    s.stop().await;

    // Acknowledged: gone after the next restart.
    let s = TestServer::start(config).await;
    let mut bob = s.client().await;
    bob.send(&format!("REGISTER:bob:127.0.0.1:5001:{btok}"))
        .await;
    bob.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    bob.expect("LIST:bob:127.0.0.1:5001").await;
    bob.quiet().await;
    drop(bob);
    s.stop().await;
}

#[tokio::test]
async fn lim_2_every_line_counts_except_empty_ones() {
    // A burst of 5 and one line a second: everything below goes in one write, far
    // faster than the refill.
    let s = TestServer::start(Config {
        rate_burst: 5,
        rate_per_sec: 1,
        ..common::quick()
    })
    .await;
    let mut c = s.client().await;
    let mut burst = Vec::new();
    // 200 empty lines do not count ([FRM-3]).
    for _ in 0..100 {
        burst.extend_from_slice(b"\r\n\n");
    }
    burst.extend_from_slice(b"PING:1\r\n");
    // An overlong line counts.
    burst.extend_from_slice(&[b'x'; 3000]);
    burst.extend_from_slice(b"\r\n");
    // A line that does not decode counts.
    burst.extend_from_slice(b"FOO\r\n");
    burst.extend_from_slice(b"PING:2\r\nPING:3\r\n");
    // The sixth line floods.
    burst.extend_from_slice(b"PING:4\r\n");
    c.raw(&burst).await;
    c.expect("PONG:1").await;
    c.expect_err("LINE_TOO_LONG").await;
    c.expect_err("UNKNOWN_VERB").await;
    c.expect("PONG:2").await;
    c.expect("PONG:3").await;
    c.expect_err("FLOOD").await;
    c.expect_closed().await;
    s.stop().await;
}
