//! Serverless mode (§16): a mesh with bootstrap peers, broadcast to every peer,
//! and the persistent outbox.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, serverless_config, tmp};
use reference_client::Exit;

async fn peer(nick: &str, peers: Vec<String>, dir: std::path::PathBuf) -> (Client, u16) {
    let mut c = Client::spawn(serverless_config(nick, peers, dir));
    let ready = c.expect("ready", |_| true).await;
    let port = ready["port"].as_u64().unwrap() as u16;
    (c, port)
}

#[tokio::test]
async fn mesh_with_a_bootstrap_peer_and_broadcast_to_all() {
    let (da, db, dc) = (tmp(), tmp(), tmp());
    let (mut alice, aport) = peer("alice", vec![], da.path().into()).await;
    let boot = format!("127.0.0.1:{aport}");
    let (mut bob, _) = peer("bob", vec![boot.clone()], db.path().into()).await;
    let (mut carol, _) = peer("carol", vec![boot.clone()], dc.path().into()).await;
    bob.expect("session", |e| {
        e["nick"] == "alice" && e["state"] == "open" && e["addr"] == boot.as_str()
    })
    .await;
    carol
        .expect("session", |e| e["nick"] == "alice" && e["state"] == "open")
        .await;
    alice
        .expect("session", |e| e["nick"] == "bob" && e["state"] == "open")
        .await;
    alice
        .expect("session", |e| e["nick"] == "carol" && e["state"] == "open")
        .await;

    alice.send("peers").await;
    let p = alice.expect("peers", |_| true).await;
    let mut nicks: Vec<&str> = p["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["nick"].as_str().unwrap())
        .collect();
    nicks.sort();
    assert_eq!(nicks, ["bob", "carol"]);

    alice.send("broadcast hello all").await;
    bob.expect("broadcast", |e| {
        e["from"] == "alice" && e["text"] == "hello all"
    })
    .await;
    carol
        .expect("broadcast", |e| {
            e["from"] == "alice" && e["text"] == "hello all"
        })
        .await;
    // Not forwarded: bob's broadcast reaches alice only (carol is not his peer).
    bob.send("broadcast from bob").await;
    alice.expect("broadcast", |e| e["from"] == "bob").await;

    // A private message on the session.
    bob.send("chat alice hi alice").await;
    bob.expect("sent", |e| e["via"] == "direct").await;
    alice
        .expect("message", |e| {
            e["from"] == "bob" && e["text"] == "hi alice" && e["via"] == "direct"
        })
        .await;

    // A peer that vanishes is cleaned up.
    assert_eq!(carol.quit().await, Exit::Ok);
    alice
        .expect("session", |e| {
            e["nick"] == "carol" && e["state"] == "closed"
        })
        .await;
    alice.send("peers").await;
    let p = alice.expect("peers", |_| true).await;
    assert_eq!(p["peers"].as_array().unwrap().len(), 1);

    // disconnect by address.
    bob.send(&format!("disconnect {boot}")).await;
    bob.expect("session", |e| e["state"] == "closed").await;
    alice
        .expect("session", |e| e["nick"] == "bob" && e["state"] == "closed")
        .await;
    for c in [alice, bob] {
        assert_eq!(c.quit().await, Exit::Ok);
    }
}

#[tokio::test]
async fn outbox_is_delivered_when_the_peer_returns() {
    let (da, db) = (tmp(), tmp());
    let (mut alice, aport) = peer("alice", vec![], da.path().into()).await;
    let boot = format!("127.0.0.1:{aport}");
    let (bob, _) = peer("bob", vec![boot.clone()], db.path().into()).await;
    alice
        .expect("session", |e| e["nick"] == "bob" && e["state"] == "open")
        .await;
    assert_eq!(bob.quit().await, Exit::Ok);
    alice
        .expect("session", |e| e["nick"] == "bob" && e["state"] == "closed")
        .await;

    alice.send("send bob while you were away").await;
    let s = alice.expect("sent", |_| true).await;
    assert_eq!(s["via"], "queued");
    let id = s["id"].as_u64().unwrap();

    // The outbox is on disk: it survives a restart of alice too.
    assert_eq!(alice.quit().await, Exit::Ok);
    let mut cfg = serverless_config("alice", vec![], da.path().into());
    cfg.listen = Some(format!("127.0.0.1:{aport}").parse().unwrap());
    let mut alice = Client::spawn(cfg);
    alice.expect("ready", |_| true).await;

    let (mut bob, _) = peer("bob", vec![boot], db.path().into()).await;
    let m = bob.expect("message", |_| true).await;
    assert_eq!(m["text"], "while you were away");
    assert_eq!(m["id"].as_u64(), Some(id));
    let d = alice.expect("sent", |_| true).await;
    assert_eq!(d["via"], "direct");
    assert_eq!(d["id"].as_u64(), Some(id));
    for c in [alice, bob] {
        assert_eq!(c.quit().await, Exit::Ok);
    }
}

#[tokio::test]
async fn connect_to_nobody_is_unreachable() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let d = tmp();
    let (mut alice, _) = peer("alice", vec![], d.path().into()).await;
    alice.send(&format!("connect {addr}")).await;
    let e = alice.expect("error", |_| true).await;
    assert_eq!(e["code"], "UNREACHABLE");
    alice.send("msg bob x").await;
    alice.expect("error", |e| e["code"] == "USAGE").await;
    assert_eq!(alice.quit().await, Exit::Ok);
}

#[tokio::test]
async fn what_was_sent_before_a_block_still_goes_out() {
    // BLOCK drops the sessions with that nick without a word, but lines sent
    // on them before the block are not taken back.
    let (da, db) = (tmp(), tmp());
    let (mut alice, aport) = peer("alice", vec![], da.path().into()).await;
    let boot = format!("127.0.0.1:{aport}");
    let (mut bob, _) = peer("bob", vec![boot], db.path().into()).await;
    bob.expect("session", |e| e["nick"] == "alice" && e["state"] == "open")
        .await;
    alice
        .expect("session", |e| e["nick"] == "bob" && e["state"] == "open")
        .await;
    bob.send("broadcast last words\nblock alice").await;
    alice
        .expect("broadcast", |e| {
            e["from"] == "bob" && e["text"] == "last words"
        })
        .await;
    alice
        .expect("session", |e| e["nick"] == "bob" && e["state"] == "closed")
        .await;
    assert_eq!(bob.quit().await, Exit::Ok);
    assert_eq!(alice.quit().await, Exit::Ok);
}
