//! Restarts are clean: a graceful stop while clients are connected and messages are in
//! flight loses nothing the server promised ([RLY-5], [ERR-2], §6 `SHUTDOWN`).
//!
//! The stop comes while a sender's pipelined SENDs are being answered: every `SENT`
//! the sender received is delivered after the restart exactly once, in order (live
//! ones never acknowledged included); the lines after the last reply are a whole
//! `ERR:SHUTDOWN`; a SEND that got no reply may or may not have been taken, but never
//! twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use common::{Client, check_err};
use reference_server::{Config, DbPath, run};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The server in process, stoppable without waiting.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), reference_server::ServerError>>,
}

async fn start(config: Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, config, async {
        let _ = rx.await;
    }));
    Running { addr, stop, task }
}

/// Reads every line until the connection closes; the last must be `ERR:SHUTDOWN`.
/// No `UPDATE` line may come: the stop ends every connection at once, and no
/// `UPDATE:LEAVE` is sent for them (PROTOCOL.md §10, after [LEA-1]).
async fn until_shutdown(c: &mut Client) -> Vec<String> {
    let mut lines = Vec::new();
    while let Some(l) = c.try_line().await {
        assert!(!l.starts_with("UPDATE:"), "after the stop: {l}");
        lines.push(l);
    }
    let last = lines.pop().expect("at least the SHUTDOWN line");
    check_err(&last, "SHUTDOWN");
    lines
}

/// `MSG:<id>:<from>:<time>:<len>:<text>` → (id, text).
fn msg(l: &str) -> (u64, String) {
    let f: Vec<&str> = l.splitn(6, ':').collect();
    assert_eq!(f[0], "MSG", "{l}");
    (f[1].parse().unwrap(), f[5].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_with_clients_connected_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        db: DbPath::File(dir.path().join("graceful.db")),
        rate_burst: 0,
        ..common::quick()
    };
    let s = start(config.clone()).await;
    let mut bob = Client::connect(s.addr).await;
    let btok = bob.register("bob", 5001, None).await.unwrap();
    let mut carol = Client::connect(s.addr).await;
    let ctok = carol.register("carol", 5002, None).await.unwrap();
    carol.send("QUIT").await;
    carol.expect("BYE").await;
    let mut alice = Client::connect(s.addr).await;
    alice.register("alice", 5000, None).await;
    bob.expect("UPDATE:JOIN:carol:127.0.0.1:5002").await;
    bob.expect("UPDATE:LEAVE:carol:127.0.0.1:5002").await;
    bob.expect("UPDATE:JOIN:alice:127.0.0.1:5000").await;

    // 400 SENDs in one write, to bob (online, never acknowledging) and carol (away).
    let mut burst = String::new();
    let mut texts = Vec::new();
    for i in 0..400 {
        let to = if i % 2 == 0 { "bob" } else { "carol" };
        let text = format!("m{i:03} for {to}");
        burst.push_str(&format!("SEND:{to}:{}:{text}\r\n", text.len()));
        texts.push((to, text));
    }
    // The first 100 are answered; then the stop, while the other 300 are being written
    // (in pieces: some may be read and answered before the stop is seen, some not).
    let lines: Vec<&str> = burst.split_inclusive("\r\n").collect();
    alice.raw(lines[..100].concat().as_bytes()).await;
    let mut replies = Vec::new();
    for _ in 0..100 {
        replies.push(alice.line().await);
    }
    s.stop.send(()).unwrap();
    for piece in lines[100..].chunks(30) {
        use tokio::io::AsyncWriteExt;
        if alice
            .stream
            .write_all(piece.concat().as_bytes())
            .await
            .is_err()
        {
            break;
        }
    }
    replies.extend(until_shutdown(&mut alice).await);
    let live_at_bob: Vec<(u64, String)> = until_shutdown(&mut bob)
        .await
        .iter()
        .map(|l| msg(l))
        .collect();
    let mut carol_was = carol; // closed already; nothing to read
    carol_was.expect_closed().await;
    tokio::time::timeout(common::DEADLINE, s.task)
        .await
        .expect("run returns after the stop")
        .unwrap()
        .unwrap();

    // What alice was promised: the first replies, in request order.
    let mut promised: BTreeMap<&str, Vec<(u64, String)>> = BTreeMap::new();
    for (reply, (to, text)) in replies.iter().zip(&texts) {
        let id: u64 = reply
            .strip_prefix("SENT:")
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not a SENT: {reply}"));
        promised.entry(to).or_default().push((id, text.clone()));
    }
    assert!(replies.len() >= 100, "{} replies", replies.len());
    eprintln!(
        "{} of 400 SENDs answered before the stop; {} delivered live",
        replies.len(),
        live_at_bob.len()
    );
    // Live deliveries are a prefix of what bob was promised.
    assert!(live_at_bob.len() <= promised["bob"].len());
    assert_eq!(live_at_bob[..], promised["bob"][..live_at_bob.len()]);

    // After the restart, each gets everything promised, once, in order; anything more
    // can only be a SEND whose reply the stop cut off, in order after the rest.
    let s = start(config.clone()).await;
    for (nick, token, port) in [("bob", &btok, 5001), ("carol", &ctok, 5002)] {
        let mut c = Client::connect(s.addr).await;
        c.register(nick, port, Some(token)).await;
        // bob's connection from the previous turn may end while carol registers: its
        // UPDATE:LEAVE can come among carol's lines ([LEA-1]).
        let got: Vec<(u64, String)> = c
            .barrier()
            .await
            .iter()
            .filter(|l| !l.starts_with("UPDATE:"))
            .map(|l| msg(l))
            .collect();
        let want = &promised[nick];
        assert!(got.len() >= want.len(), "{nick}: lost messages");
        assert_eq!(&got[..want.len()], &want[..], "{nick}");
        let sent_texts: Vec<&String> = texts
            .iter()
            .filter(|(to, _)| *to == nick)
            .map(|(_, t)| t)
            .collect();
        let extra = &got[want.len()..];
        let start = want.len();
        for (k, (_, text)) in extra.iter().enumerate() {
            assert_eq!(text, sent_texts[start + k], "{nick}: unannounced extra");
        }
        assert!(
            got.windows(2).all(|w| w[0].0 < w[1].0),
            "{nick}: ids in order"
        );
    }
    s.stop.send(()).unwrap();
    s.task.await.unwrap().unwrap();
}

/// A stop used to send every client an `UPDATE:LEAVE` for each connection that
/// ended before its own: about N²/2 lines, 8 million and half a gigabyte of
/// queues for 4,000 clients. Now each client gets its `ERR:SHUTDOWN` and nothing
/// else (PROTOCOL.md §10, after [LEA-1]).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_with_many_clients_sends_each_only_err_shutdown() {
    let s = start(common::quick()).await;
    let mut clients = Vec::new();
    for i in 0..40u16 {
        let mut c = Client::connect(s.addr).await;
        c.register(&format!("u{i}"), 6000 + i, None).await;
        clients.push(c);
    }
    // Every JOIN has arrived: after this, only the stop speaks.
    for c in &mut clients {
        c.barrier().await;
    }
    s.stop.send(()).unwrap();
    for c in &mut clients {
        assert_eq!(until_shutdown(c).await, Vec::<String>::new());
    }
    tokio::time::timeout(common::DEADLINE, s.task)
        .await
        .expect("run returns after the stop")
        .unwrap()
        .unwrap();
}

#[test]
fn sigterm_with_clients_connected_tells_them_exits_0_and_keeps_the_mailbox() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("term.db");
    let spawn = || {
        let mut child = Command::cargo_bin("p2pchat-server")
            .unwrap()
            .args(["--bind", "127.0.0.1:0", "--linger", "0.5", "--db"])
            .arg(&db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr: SocketAddr = line
            .trim_end()
            .strip_prefix("p2pchat-server listening on ")
            .unwrap()
            .parse()
            .unwrap();
        (child, addr)
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (child, addr) = spawn();
    let (btok, id) = rt.block_on(async {
        let mut bob = Client::connect(addr).await;
        let btok = bob.register("bob", 5001, None).await.unwrap();
        let mut alice = Client::connect(addr).await;
        alice.register("alice", 5000, None).await;
        alice.send("SEND:bob:14:before SIGTERM").await;
        let sent = alice.line().await;
        assert!(sent.ends_with(":LIVE"), "{sent}");
        let id = sent.split(':').nth(1).unwrap().to_owned();
        bob.expect("UPDATE:JOIN:alice:127.0.0.1:5000").await;
        assert!(bob.line().await.starts_with(&format!("MSG:{id}:alice:")));
        // Not acknowledged. Now SIGTERM, with both connected.
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        for c in [&mut alice, &mut bob] {
            // No UPDATE:LEAVE for the other (PROTOCOL.md §10, after [LEA-1]).
            check_err(&c.line().await, "SHUTDOWN");
            c.expect_closed().await;
        }
        (btok, id)
    });
    let mut child = child;
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let (mut child, addr) = spawn();
    rt.block_on(async {
        let mut bob = Client::connect(addr).await;
        bob.register("bob", 5001, Some(&btok)).await;
        let m = bob.line().await;
        assert!(
            m.starts_with(&format!("MSG:{id}:alice:")) && m.ends_with(":before SIGTERM"),
            "{m}"
        );
        bob.quiet().await;
    });
    child.kill().unwrap();
    child.wait().unwrap();
}
