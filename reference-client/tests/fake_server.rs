//! The client against a hand-written server: exact lines, and what a reference
//! server never does (redelivering an acknowledged message, unknown verbs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, DEADLINE, hybrid_config, tmp};
use reference_client::Exit;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

struct Conn {
    r: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Conn {
    async fn accept(l: &TcpListener) -> Conn {
        let (s, _) = tokio::time::timeout(DEADLINE, l.accept())
            .await
            .unwrap()
            .unwrap();
        let (r, w) = s.into_split();
        Conn {
            r: BufReader::new(r).lines(),
            w,
        }
    }
    async fn line(&mut self) -> String {
        tokio::time::timeout(DEADLINE, self.r.next_line())
            .await
            .expect("a line in time")
            .unwrap()
            .expect("not closed")
    }
    async fn send(&mut self, s: &str) {
        self.w.write_all(s.as_bytes()).await.unwrap();
    }
}

/// One run of a client against the fake server: registration, then `script`.
async fn register(l: &TcpListener, c: &mut Client) -> (Conn, String) {
    let mut conn = Conn::accept(l).await;
    let reg = conn.line().await;
    assert!(reg.starts_with("REGISTER:bob:127.0.0.1:"), "{reg}");
    let port = reg.split(':').nth(3).unwrap().to_owned();
    let _ = c;
    (conn, reg.clone() + "|" + &port)
}

#[tokio::test]
async fn a_redelivered_message_is_acked_but_shown_once_across_restarts() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let dir = tmp();

    // First run: the nick becomes owned, a message is shown, then acknowledged.
    let mut bob = Client::spawn(hybrid_config(addr, "bob", dir.path().into()));
    let (mut conn, reg) = register(&l, &mut bob).await;
    assert_eq!(
        reg.split('|').next().unwrap().split(':').count(),
        4,
        "no token the first time"
    );
    let port = reg.split('|').nth(1).unwrap().to_owned();
    conn.send(&format!(
        "UPDATE:JOIN:bob:127.0.0.1:{port}\nTOKEN:bob:4f1c2b0e9a7d3c5b8e6f1a2d4c7b9e03\r\nLISTPART:alice:127.0.0.1:5000\r\nLIST:bob:127.0.0.1:{port}\r\nFUTURE:VERB:x\r\nMSG:7:alice:1763713200:5:hi \x1b!\r\nPING:k42\r\n"
    ))
    .await;
    bob.expect("ready", |_| true).await;
    let users = bob.expect("users", |_| true).await;
    assert_eq!(
        users["users"].as_array().unwrap().len(),
        2,
        "LISTPART + LIST are one reply"
    );
    let m = bob.expect("message", |_| true).await;
    assert_eq!(
        m["text"], "hi \u{1b}!",
        "automation events carry the text as received"
    );
    assert_eq!(
        conn.line().await,
        "ACK:7",
        "acknowledged after it was shown"
    );
    assert_eq!(conn.line().await, "PONG:k42");
    // The same id again (a server may redeliver): ACK again, not shown.
    conn.send("MSG:7:alice:1763713200:5:hi \x1b!\r\n").await;
    assert_eq!(conn.line().await, "ACK:7");
    bob.send("quit").await;
    assert_eq!(conn.line().await, "QUIT");
    conn.send("BYE\r\n").await;
    drop(conn);
    assert_eq!(bob.wait().await, Exit::Ok);

    // Second run (as after a crash before the ACK reached the server): the
    // token is sent, the message comes again and is acknowledged, not shown.
    let mut bob = Client::spawn(hybrid_config(addr, "bob", dir.path().into()));
    let (mut conn, reg) = register(&l, &mut bob).await;
    assert!(
        reg.split('|')
            .next()
            .unwrap()
            .ends_with(":4f1c2b0e9a7d3c5b8e6f1a2d4c7b9e03"),
        "the kept token: {reg}"
    );
    let port = reg.split('|').nth(1).unwrap().to_owned();
    conn.send(&format!(
        "UPDATE:JOIN:bob:127.0.0.1:{port}\r\nLIST:bob:127.0.0.1:{port}\r\nMSG:7:alice:1763713200:5:hi \x1b!\r\nMSG:8:alice:1763713201:3:new\r\n"
    ))
    .await;
    assert_eq!(conn.line().await, "ACK:7");
    assert_eq!(conn.line().await, "ACK:8");
    let events = bob.sync().await;
    let shown: Vec<_> = events.iter().filter(|e| e["event"] == "message").collect();
    assert_eq!(shown.len(), 1, "{events:?}");
    assert_eq!(shown[0]["id"], 8);
    drop(conn);
    bob.expect("closed", |_| true).await;
    assert_eq!(bob.wait().await, Exit::Network);
}

#[tokio::test]
async fn requests_are_sent_in_order_and_replies_matched_by_order() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let dir = tmp();
    let mut bob = Client::spawn(hybrid_config(addr, "bob", dir.path().into()));
    // Commands typed before registration finished wait for it.
    bob.send("broadcast hi all").await;
    bob.send("msg alice later").await;
    let (mut conn, reg) = register(&l, &mut bob).await;
    let port = reg.split('|').nth(1).unwrap().to_owned();
    conn.send(&format!("LIST:bob:127.0.0.1:{port}\r\n")).await;
    assert_eq!(conn.line().await, "BROADCAST:bob:6:hi all");
    assert_eq!(conn.line().await, "SEND:alice:5:later");
    // An event between the replies; then the echo and SENT.
    conn.send("BROADCAST:carol:2:yo\r\nBROADCAST:bob:6:hi all\r\nSENT:18:QUEUED\r\n")
        .await;
    let s = bob.expect("sent", |_| true).await;
    assert_eq!(
        s,
        serde_json::json!({"event":"sent","to":"alice","via":"queued","id":18})
    );
    bob.send("sync s").await;
    bob.expect("sync", |_| true).await;
    drop(conn);
    assert_eq!(bob.wait().await, Exit::Network);
}

/// Standard output that breaks when a `message` event is written to it.
struct BreaksOnMessage;

impl tokio::io::AsyncWrite for BreaksOnMessage {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let needle = br#""event":"message""#;
        if buf.windows(needle.len()).any(|w| w == needle) {
            return std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
        }
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_message_that_could_not_be_shown_is_neither_recorded_nor_acked() {
    // Appendix A.2: show, then record, then ACK. A client whose output breaks
    // before the message is written must not record it as shown (it would be
    // lost): the next run shows it.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let dir = tmp();
    let (_keep_open, commands) = tokio::io::duplex(64);
    let run = tokio::spawn(reference_client::run_automation(
        hybrid_config(addr, "bob", dir.path().into()),
        BufReader::new(commands),
        BreaksOnMessage,
    ));
    let mut conn = Conn::accept(&l).await;
    let reg = conn.line().await;
    let port = reg.split(':').nth(3).unwrap().to_owned();
    conn.send(&format!(
        "UPDATE:JOIN:bob:127.0.0.1:{port}\r\nLIST:bob:127.0.0.1:{port}\r\nMSG:7:alice:1763713200:2:hi\r\n"
    ))
    .await;
    assert_eq!(conn.line().await, "QUIT", "no ACK for a message not shown");
    conn.send("BYE\r\n").await;
    drop(conn);
    tokio::time::timeout(DEADLINE, run).await.unwrap().unwrap();

    let mut bob = Client::spawn(hybrid_config(addr, "bob", dir.path().into()));
    let (mut conn, reg) = register(&l, &mut bob).await;
    let port = reg.split('|').nth(1).unwrap().to_owned();
    conn.send(&format!(
        "UPDATE:JOIN:bob:127.0.0.1:{port}\r\nLIST:bob:127.0.0.1:{port}\r\nMSG:7:alice:1763713200:2:hi\r\n"
    ))
    .await;
    let m = bob.expect("message", |_| true).await;
    assert_eq!(m["id"], 7);
    assert_eq!(conn.line().await, "ACK:7");
    drop(conn);
    assert_eq!(bob.wait().await, Exit::Network);
}
