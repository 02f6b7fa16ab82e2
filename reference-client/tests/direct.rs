//! Direct peer sessions (§13, §14) and blocking, end to end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, DEADLINE, Server, tmp};
use reference_client::Exit;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UdpSocket};

/// A client written by hand, line by line.
struct Raw {
    r: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Raw {
    async fn connect(addr: std::net::SocketAddr) -> Raw {
        let s = TcpStream::connect(addr).await.unwrap();
        let (r, w) = s.into_split();
        Raw {
            r: BufReader::new(r).lines(),
            w,
        }
    }
    async fn send(&mut self, line: &str) {
        self.w
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    }
    /// The next line starting with `prefix` (others skipped).
    async fn expect(&mut self, prefix: &str) -> String {
        loop {
            let line = tokio::time::timeout(DEADLINE, self.r.next_line())
                .await
                .expect("a line in time")
                .unwrap()
                .unwrap_or_else(|| panic!("closed waiting for {prefix}"));
            if line.starts_with(prefix) {
                return line;
            }
        }
    }
    /// The next line, or None at EOF.
    async fn next(&mut self) -> Option<String> {
        tokio::time::timeout(DEADLINE, self.r.next_line())
            .await
            .expect("a line in time")
            .unwrap()
    }
}

#[tokio::test]
async fn chat_opens_a_direct_session_and_is_acknowledged() {
    let server = Server::start().await;
    let (da, db) = (tmp(), tmp());
    let mut alice = Client::hybrid(&server, "alice", da.path().into()).await;
    let mut bob = Client::hybrid(&server, "bob", db.path().into()).await;
    alice.send("chat bob hello over there").await;
    let s = alice.expect("sent", |_| true).await;
    assert_eq!(s["via"], "direct");
    assert_eq!(s["to"], "bob");
    let m = bob.expect("message", |_| true).await;
    assert_eq!(m["via"], "direct");
    assert_eq!(m["from"], "alice");
    assert_eq!(m["text"], "hello over there");
    let open = bob.expect("session", |e| e["state"] == "open").await;
    assert_eq!(open["nick"], "alice");
    alice
        .expect("session", |e| e["state"] == "open" && e["nick"] == "bob")
        .await;

    // The other way, on the same session.
    bob.send("chat alice and back").await;
    bob.expect("sent", |e| e["via"] == "direct").await;
    alice
        .expect("message", |e| {
            e["text"] == "and back" && e["via"] == "direct"
        })
        .await;

    alice.send("peers").await;
    let p = alice.expect("peers", |_| true).await;
    assert_eq!(p["peers"][0]["nick"], "bob");

    alice.send("close bob").await;
    alice.expect("session", |e| e["state"] == "closed").await;
    bob.expect("session", |e| e["state"] == "closed").await;
    assert_eq!(alice.quit().await, Exit::Ok);
    assert_eq!(bob.quit().await, Exit::Ok);
    server.stop().await;
}

/// The suite's view: a hand-written target checks the OFFER, then a HELLO with a
/// wrong ticket is refused, the right one accepted once.
#[tokio::test]
async fn hello_with_a_wrong_ticket_is_refused_and_a_ticket_works_once() {
    let server = Server::start().await;
    let da = tmp();
    let mut alice = Client::hybrid(&server, "alice", da.path().into()).await;

    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let uport = udp.local_addr().unwrap().port();
    let mut mallory = Raw::connect(server.addr).await;
    mallory
        .send(&format!("REGISTER:mallory:127.0.0.1:{uport}"))
        .await;
    mallory.expect("LIST").await;

    alice.send("chat mallory hi").await;
    let invite = mallory.expect("INVITE:alice:").await;
    let ticket = invite.rsplit(':').next().unwrap().to_owned();
    let mut buf = [0u8; 2048];
    let (n, _) = tokio::time::timeout(DEADLINE, udp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let offer = std::str::from_utf8(&buf[..n])
        .unwrap()
        .trim_end()
        .to_owned();
    let parts: Vec<&str> = offer.split(':').collect();
    assert_eq!(parts[0], "OFFER");
    assert_eq!(parts[1], "alice");
    assert_eq!(parts[3], ticket, "the OFFER carries the server's ticket");
    let port: u16 = parts[2].parse().unwrap();
    let alice_tcp = std::net::SocketAddr::from(([127, 0, 0, 1], port));

    // A wrong ticket: ERR:BAD_TICKET, then alice closes.
    let mut bad = Raw::connect(alice_tcp).await;
    bad.send("HELLO:mallory:0123456789abcdef0123456789abcdef")
        .await;
    assert!(bad.next().await.unwrap().starts_with("ERR:BAD_TICKET:"));
    assert_eq!(bad.next().await, None);

    // Not HELLO first: refused too.
    let mut bad = Raw::connect(alice_tcp).await;
    bad.send("PING:x").await;
    assert!(bad.next().await.unwrap().starts_with("ERR:BAD_TICKET:"));

    // The right ticket: HELLO back with it, then the message, acknowledged.
    let mut good = Raw::connect(alice_tcp).await;
    good.send(&format!("HELLO:mallory:{ticket}")).await;
    assert_eq!(good.next().await.unwrap(), format!("HELLO:alice:{ticket}"));
    let msg = good.expect("MSG:").await;
    assert!(msg.ends_with(":2:hi"), "{msg}");
    let id = msg.split(':').nth(1).unwrap().to_owned();
    good.send(&format!("ACK:{id}")).await;
    alice.expect("sent", |e| e["via"] == "direct").await;
    // A message from mallory, shown once although sent twice; each copy ACKed.
    good.send("MSG:5:mallory:1763713300:3:hey").await;
    good.send("MSG:5:mallory:1763713300:3:hey").await;
    assert_eq!(good.expect("ACK:").await, "ACK:5");
    assert_eq!(good.expect("ACK:").await, "ACK:5");
    // A message naming someone else is refused.
    good.send("MSG:6:bob:1763713300:3:hey").await;
    assert!(good.expect("ERR:").await.starts_with("ERR:NOT_YOUR_NICK:"));
    good.send("PING:b1").await;
    assert_eq!(good.expect("PONG:").await, "PONG:b1");
    let events = alice.sync().await;
    let shown: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "message" && e["from"] == "mallory")
        .collect();
    assert_eq!(shown.len(), 1, "{events:?}");

    // The ticket is used: a second session with it is refused ([DIR-5]).
    let mut again = Raw::connect(alice_tcp).await;
    again.send(&format!("HELLO:mallory:{ticket}")).await;
    assert!(again.next().await.unwrap().starts_with("ERR:BAD_TICKET:"));

    // Quitting ends the session with QUIT ([PEER-5]).
    assert_eq!(alice.quit().await, Exit::Ok);
    assert_eq!(good.expect("QUIT").await, "QUIT");
    server.stop().await;
}

#[tokio::test]
async fn blocking_drops_broadcasts_mailbox_messages_and_direct_sessions() {
    let server = Server::start().await;
    let (da, db) = (tmp(), tmp());
    let mut alice = Client::hybrid(&server, "alice", da.path().into()).await;
    let mut bob = Client::hybrid(&server, "bob", db.path().into()).await;
    bob.send("block alice").await;
    bob.expect("blocked", |e| e["nick"] == "alice").await;
    bob.send("blocks").await;
    let b = bob.expect("blocks", |_| true).await;
    assert_eq!(b["nicks"][0], "alice");

    alice.send("broadcast can you hear me").await;
    alice.expect("broadcast", |e| e["from"] == "alice").await;
    alice.send("msg bob psst").await;
    let s = alice.expect("sent", |_| true).await;
    assert_eq!(s["via"], "live", "the sender cannot tell");
    // The direct route: no INVITE reaches bob, so nobody connects back.
    alice.send("chat bob hello?").await;
    let e = alice.expect("error", |_| true).await;
    assert_eq!(e["code"], "UNREACHABLE");

    // A broadcast from carol after all that is a barrier of sorts: the server
    // relays in order, so anything from alice would have come first.
    let dc = tmp();
    let mut carol = Client::hybrid(&server, "carol", dc.path().into()).await;
    carol.send("broadcast from carol").await;
    bob.expect("broadcast", |e| e["from"] == "carol").await;
    let seen = bob.sync().await;
    assert!(
        !seen
            .iter()
            .any(|e| e["from"] == "alice" && (e["event"] == "broadcast" || e["event"] == "message")),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|e| e["event"] == "session"), "{seen:?}");

    bob.send("unblock alice").await;
    bob.expect("unblocked", |e| e["nick"] == "alice").await;
    alice.send("broadcast now?").await;
    bob.expect("broadcast", |e| e["from"] == "alice" && e["text"] == "now?")
        .await;
    for c in [alice, bob, carol] {
        assert_eq!(c.quit().await, Exit::Ok);
    }
    server.stop().await;
}

#[tokio::test]
async fn send_to_an_offline_user_goes_to_the_mailbox() {
    let server = Server::start().await;
    let (da, db) = (tmp(), tmp());
    let mut alice = Client::hybrid(&server, "alice", da.path().into()).await;
    let bob = Client::hybrid(&server, "bob", db.path().into()).await;
    assert_eq!(bob.quit().await, Exit::Ok);
    alice.expect("leave", |e| e["nick"] == "bob").await;
    alice.send("send bob are you there").await;
    let s = alice.expect("sent", |_| true).await;
    assert_eq!(s["via"], "queued");
    let mut bob = Client::hybrid(&server, "bob", db.path().into()).await;
    bob.expect("message", |e| {
        e["text"] == "are you there" && e["via"] == "relay"
    })
    .await;
    for c in [alice, bob] {
        assert_eq!(c.quit().await, Exit::Ok);
    }
    server.stop().await;
}

#[tokio::test]
async fn dm_datagrams_are_shown_unless_blocked() {
    let server = Server::start().await;
    let (da, db) = (tmp(), tmp());
    let mut alice = Client::hybrid(&server, "alice", da.path().into()).await;
    let mut bob = Client::hybrid(&server, "bob", db.path().into()).await;
    alice.expect("join", |e| e["nick"] == "bob").await;
    alice.send("dm bob quick hello!").await;
    alice.expect("sent", |e| e["via"] == "udp").await;
    let m = bob.expect("message", |e| e["via"] == "udp").await;
    assert_eq!(m["text"], "quick hello!");
    assert!(m.get("id").is_none());
    for c in [alice, bob] {
        assert_eq!(c.quit().await, Exit::Ok);
    }
    server.stop().await;
}
