//! End-to-end tests in hybrid mode: the reference server and two or three
//! clients in automation mode.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, Server, tmp};
use reference_client::Exit;

#[tokio::test]
async fn register_list_broadcast_join_leave() {
    let server = Server::start().await;
    let (da, db) = (tmp(), tmp());
    let mut alice = Client::hybrid(&server, "alice", da.path().into()).await;
    let users = alice.expect("users", |_| true).await;
    assert_eq!(users["users"][0]["nick"], "alice");
    assert_eq!(users["users"][0]["ip"], "127.0.0.1");

    let mut bob = Client::hybrid(&server, "bob", db.path().into()).await;
    alice.expect("join", |e| e["nick"] == "bob").await;

    alice.send("list").await;
    let list = alice.expect("users", |_| true).await;
    let nicks: Vec<&str> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["nick"].as_str().unwrap())
        .collect();
    assert_eq!(nicks, ["alice", "bob"]);

    alice.send("query BOB").await;
    let u = alice.expect("user", |_| true).await;
    assert_eq!(u["nick"], "bob");

    alice.send("broadcast hello: all!").await;
    alice
        .expect("broadcast", |e| {
            e["from"] == "alice" && e["text"] == "hello: all!"
        })
        .await;
    bob.expect("broadcast", |e| {
        e["from"] == "alice" && e["text"] == "hello: all!"
    })
    .await;

    assert_eq!(bob.quit().await, Exit::Ok);
    alice.expect("leave", |e| e["nick"] == "bob").await;
    assert_eq!(alice.quit().await, Exit::Ok);
    server.stop().await;
}

#[tokio::test]
async fn unknown_command_is_usage_and_sync_answers() {
    let server = Server::start().await;
    let d = tmp();
    let mut alice = Client::hybrid(&server, "alice", d.path().into()).await;
    alice.send("frobnicate now").await;
    alice.send("LIST").await;
    let before = alice.sync().await;
    let usage: Vec<_> = before
        .iter()
        .filter(|e| e["event"] == "error" && e["code"] == "USAGE")
        .collect();
    assert_eq!(usage.len(), 2, "{before:?}");
    alice.send("query nobody").await;
    let before = alice.sync().await;
    assert!(
        before
            .iter()
            .any(|e| e["event"] == "error" && e["code"] == "NO_SUCH_NICK"),
        "sync comes after the reply: {before:?}"
    );
    assert_eq!(alice.quit().await, Exit::Ok);
    server.stop().await;
}

#[tokio::test]
async fn mailbox_delivery_after_the_target_comes_back_is_shown_once() {
    let server = Server::start().await;
    let (da, db) = (tmp(), tmp());
    let mut alice = Client::hybrid(&server, "alice", da.path().into()).await;
    // bob registers once to own his nick, then leaves.
    let bob = Client::hybrid(&server, "bob", db.path().into()).await;
    assert_eq!(bob.quit().await, Exit::Ok);
    alice.expect("leave", |e| e["nick"] == "bob").await;

    alice.send("msg bob see you").await;
    let sent = alice.expect("sent", |_| true).await;
    assert_eq!(sent["to"], "bob");
    assert_eq!(sent["via"], "queued");
    let id = sent["id"].as_u64().unwrap();

    // bob comes back with his kept token and gets the message.
    let mut bob = Client::hybrid(&server, "bob", db.path().into()).await;
    let m = bob.expect("message", |_| true).await;
    assert_eq!(m["from"], "alice");
    assert_eq!(m["text"], "see you");
    assert_eq!(m["via"], "relay");
    assert_eq!(m["id"].as_u64(), Some(id));
    assert_eq!(bob.quit().await, Exit::Ok);

    // Acknowledged: not delivered again.
    let mut bob = Client::hybrid(&server, "bob", db.path().into()).await;
    let after = bob.sync().await;
    assert!(!after.iter().any(|e| e["event"] == "message"), "{after:?}");
    bob.send("send alice live one").await;
    let s = bob.expect("sent", |_| true).await;
    assert!(s["via"] == "direct" || s["via"] == "live", "{s}");
    alice.expect("message", |e| e["text"] == "live one").await;
    assert_eq!(bob.quit().await, Exit::Ok);
    assert_eq!(alice.quit().await, Exit::Ok);
    server.stop().await;
}

#[tokio::test]
async fn a_taken_nick_is_refused_with_exit_status_3() {
    let server = Server::start().await;
    let (da, db) = (tmp(), tmp());
    let alice = Client::hybrid(&server, "alice", da.path().into()).await;
    let mut other = Client::spawn(common::hybrid_config(
        server.addr,
        "ALICE",
        db.path().into(),
    ));
    let e = other.expect("error", |_| true).await;
    assert_eq!(e["code"], "NICK_IN_USE");
    assert_eq!(other.wait().await, Exit::Refused);
    assert_eq!(alice.quit().await, Exit::Ok);
    server.stop().await;
}

#[tokio::test]
async fn an_unreachable_server_exits_1() {
    // A port that was free a moment ago: nothing listens there.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    let d = tmp();
    let mut c = Client::spawn(common::hybrid_config(addr, "alice", d.path().into()));
    let e = c.expect("error", |_| true).await;
    assert_eq!(e["code"], "UNREACHABLE");
    assert_eq!(c.wait().await, Exit::Network);
}

#[tokio::test]
async fn losing_the_server_exits_1() {
    let server = Server::start().await;
    let d = tmp();
    let mut alice = Client::hybrid(&server, "alice", d.path().into()).await;
    server.stop().await;
    alice.expect("closed", |_| true).await;
    assert_eq!(alice.wait().await, Exit::Network);
}

#[tokio::test]
async fn end_of_input_exits_0() {
    let server = Server::start().await;
    let d = tmp();
    let mut alice = Client::hybrid(&server, "alice", d.path().into()).await;
    alice.close_input().await;
    assert_eq!(alice.wait().await, Exit::Ok);
    server.stop().await;
}
