//! Hostile input replayed against the client, in automation mode, over real sockets:
//!
//! - on its server connection (the test plays the server): the invalid server lines
//!   of `spec/vectors/invalid/server.json` and more (overlong lines, NUL, invalid
//!   UTF-8, huge and negative lengths, ids out of range, look-alike nicks, malformed
//!   closing errors). Each is ignored — no event, no reply ([CLI-2]) — and the client
//!   goes on: it answers the next `PING`, takes commands, shows valid lines;
//! - on a peer session (the test plays the peer): the invalid peer lines of
//!   `spec/vectors/invalid/peer.json` and more; each is answered with `ERR` and its
//!   code (§14), the session goes on, and another session is unaffected;
//! - texts carrying terminal escapes and other controls: the events carry them as
//!   received, but standard output never holds a raw control character: every one
//!   (C0, DEL, C1) is a JSON escape (§20).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use common::{DEADLINE, hybrid_config, serverless_config, tmp};
use reference_client::{ClientConfig, Exit};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A client in automation mode whose standard output is read as raw lines.
struct Raw {
    commands: DuplexStream,
    out: tokio::io::Lines<BufReader<DuplexStream>>,
    task: JoinHandle<Exit>,
    n: u32,
}

impl Raw {
    fn spawn(cfg: ClientConfig) -> Raw {
        let (commands, cmd_rx) = tokio::io::duplex(1 << 16);
        let (ev_tx, out) = tokio::io::duplex(1 << 22);
        let task = tokio::spawn(reference_client::run_automation(
            cfg,
            BufReader::new(cmd_rx),
            ev_tx,
        ));
        Raw {
            commands,
            out: BufReader::new(out).lines(),
            task,
            n: 0,
        }
    }

    async fn send(&mut self, line: &str) {
        self.commands
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }

    async fn raw_line(&mut self) -> String {
        tokio::time::timeout(DEADLINE, self.out.next_line())
            .await
            .expect("an event in time")
            .unwrap()
            .expect("standard output ended")
    }

    /// The next event named `name` (earlier ones are dropped).
    async fn until(&mut self, name: &str) -> Value {
        loop {
            let e: Value = serde_json::from_str(&self.raw_line().await).unwrap();
            if e["event"] == name {
                return e;
            }
        }
    }

    /// The raw lines of every event before the answer to a new `sync`.
    async fn sync(&mut self) -> Vec<String> {
        self.n += 1;
        let token = format!("s{}", self.n);
        self.send(&format!("sync {token}")).await;
        let mut before = Vec::new();
        loop {
            let l = self.raw_line().await;
            let e: Value = serde_json::from_str(&l).unwrap();
            if e["event"] == "sync" && e["token"] == token.as_str() {
                return before;
            }
            before.push(l);
        }
    }
}

/// One TCP connection played by the test (the server, or a peer).
struct Wire {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    w: tokio::net::tcp::OwnedWriteHalf,
    n: u32,
}

impl Wire {
    fn new(s: TcpStream) -> Wire {
        let (r, w) = s.into_split();
        Wire {
            lines: BufReader::new(r).lines(),
            w,
            n: 0,
        }
    }

    async fn line(&mut self) -> Option<String> {
        tokio::time::timeout(DEADLINE, self.lines.next_line())
            .await
            .expect("a line in time")
            .unwrap()
    }

    async fn bytes(&mut self, b: &[u8]) {
        self.w.write_all(b).await.unwrap();
    }

    async fn send(&mut self, s: &str) {
        self.bytes(format!("{s}\r\n").as_bytes()).await;
    }

    /// Lines received before the answer to a new `PING`.
    async fn barrier(&mut self) -> Vec<String> {
        self.n += 1;
        let t = format!("b{}", self.n);
        self.send(&format!("PING:{t}")).await;
        let mut before = Vec::new();
        loop {
            let l = self.line().await.expect("open");
            if l == format!("PONG:{t}") {
                return before;
            }
            before.push(l);
        }
    }
}

/// The invalid lines of a vector file (`server` or `peer`), as octets.
fn vectors(file: &str) -> Vec<(String, String, Vec<u8>)> {
    let path = format!(
        "{}/../spec/vectors/invalid/{file}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let all: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all.iter()
        .map(|v| {
            let bytes = match (v["line"].as_str(), v["line_hex"].as_str()) {
                (Some(l), _) => l.as_bytes().to_vec(),
                (None, Some(h)) => (0..h.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                    .collect(),
                _ => panic!("{v}"),
            };
            (
                v["id"].as_str().unwrap().to_owned(),
                v["error"].as_str().unwrap().to_owned(),
                bytes,
            )
        })
        .filter(|(_, _, b)| !b.is_empty())
        .collect()
}

/// Standard output holds no raw control character: C0, DEL, C1 (§20).
fn assert_no_raw_controls(lines: &[String]) {
    for l in lines {
        assert!(
            !l.chars().any(|c| c.is_control()),
            "a raw control character on standard output: {l:?}"
        );
    }
}

/// Lines no server sends: overlong, NUL, bad UTF-8, out-of-range numbers, look-alikes.
fn more_bad_server_lines() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![
        format!("MSG:9:alice:1763713200:5:{}", "x".repeat(100_000)).into_bytes(),
        format!("LIST{}", ":a:1.2.3.4:1".repeat(300)).into_bytes(),
        b"MSG:9:alice:1763713200:5:hel\x00o".to_vec(),
        b"MSG:9:alice:1763713200:2:\xc3\x28".to_vec(),
        b"MSG:9:alice:1763713200:99999999999999999999:x".to_vec(),
        b"MSG:9:alice:1763713200:-1:x".to_vec(),
        b"MSG:9:alice:1763713200:1025:x".to_vec(),
        b"MSG:0:alice:1763713200:2:hi".to_vec(),
        b"MSG:9007199254740992:alice:1763713200:2:hi".to_vec(),
        b"MSG:-9:alice:1763713200:2:hi".to_vec(),
        b"MSG:9:alice:-1:2:hi".to_vec(),
        "MSG:9:al\u{456}ce:1763713200:2:hi".as_bytes().to_vec(),
        "BROADCAST:\u{430}lice:2:hi".as_bytes().to_vec(),
        "UPDATE:JOIN:m\u{435}:127.0.0.1:1".as_bytes().to_vec(),
        b"UPDATE:JOIN:x:[fe80::1%eth0]:1".to_vec(),
        b"UPDATE:JOIN:x:::1:5000".to_vec(),
        b"UPDATE:JOIN:x:[::1]:65536".to_vec(),
        b"INVITE:alice:127.0.0.1:5000:0123456789ABCDEF0123456789ABCDEF".to_vec(),
        b"\x1b[2J\x1b[H".to_vec(),
        b"\x1b]0;owned\x07".to_vec(),
        b"ERR:SHUTDOWN".to_vec(),
        b"ERR:SHUTDOWN:99:short".to_vec(),
        b"ERR:FLOOD:".to_vec(),
        b"BYE:".to_vec(),
        b"PING:".to_vec(),
        b"PING:a:b".to_vec(),
        b"FUTURE:VERB:with:fields".to_vec(),
        format!("UPDATE{}", ":JOIN".repeat(400)).into_bytes(),
        vec![b'\r'; 10],
        vec![0xff; 3000],
    ];
    v.push(format!("TOKEN:bob:{}", "a".repeat(31)).into_bytes());
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_2_hostile_server_lines_are_ignored_and_the_client_goes_on() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let dir = tmp();
    let mut bob = Raw::spawn(hybrid_config(addr, "bob", dir.path().into()));
    let (s, _) = tokio::time::timeout(DEADLINE, l.accept())
        .await
        .unwrap()
        .unwrap();
    let mut srv = Wire::new(s);
    let reg = srv.line().await.unwrap();
    let port = reg.split(':').nth(3).unwrap().to_owned();
    srv.send(&format!(
        "UPDATE:JOIN:bob:127.0.0.1:{port}\r\nLIST:bob:127.0.0.1:{port}"
    ))
    .await;
    bob.until("users").await;

    let mut lines: Vec<Vec<u8>> = vectors("server").into_iter().map(|(_, _, b)| b).collect();
    assert!(lines.len() > 80);
    lines.extend(more_bad_server_lines());
    let mut burst = Vec::new();
    for line in &lines {
        burst.extend_from_slice(line);
        burst.extend_from_slice(b"\r\n");
    }
    srv.bytes(&burst).await;
    // No reply to any of them (no ACK for a MSG that does not decode, no PONG for a
    // bad PING), and the next PING is answered ([KA-2]).
    assert_eq!(srv.barrier().await, Vec::<String>::new());
    // No event either ([CLI-2]); the events of lines before the PONG are out already.
    let events = bob.sync().await;
    assert!(events.is_empty(), "events for bad lines: {events:#?}");

    // Valid lines that carry hostile texts are shown, as received, JSON-escaped.
    let texts = [
        "\u{1b}]0;pwned\u{7}\u{1b}[2J",
        "bell\u{7}del\u{7f}csi\u{9b}31m\u{9d}osc",
        "\u{202e}evil\u{2066}",
    ];
    for (i, t) in texts.iter().enumerate() {
        srv.send(&format!("MSG:{}:alice:1763713200:{}:{t}", 20 + i, t.len()))
            .await;
        srv.send(&format!("BROADCAST:alice:{}:{t}", t.len())).await;
    }
    srv.send("UPDATE:JOIN:v6:[2001:DB8::1]:5000").await;
    assert_eq!(srv.barrier().await, ["ACK:20", "ACK:21", "ACK:22"]);
    let raw = bob.sync().await;
    assert_no_raw_controls(&raw);
    let events: Vec<Value> = raw
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for t in texts {
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "message" && e["text"] == t),
            "{t:?} in {events:#?}"
        );
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "broadcast" && e["text"] == t)
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "join" && e["ip"] == "2001:DB8::1")
    );
    // Datagrams that do not decode are dropped without a word (§2, [UDP-2]); they are
    // handled in order, so once a good DM sent after them is shown, they are done.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = SocketAddr::from(([127, 0, 0, 1], port.parse::<u16>().unwrap()));
    let mut grams: Vec<Vec<u8>> = vectors("datagram").into_iter().map(|(_, _, b)| b).collect();
    assert!(grams.len() > 20);
    grams.push(vec![0xff; 4000]);
    grams.push(format!("DM:alice:5:{}", "x".repeat(4000)).into_bytes());
    grams.push(b"DM:alice:99999999999999999999:x".to_vec());
    grams.push(b"OFFER:alice:5000:0123456789abcdef0123456789abcdef:x".to_vec());
    for g in &grams {
        udp.send_to(g, to).await.unwrap();
    }
    udp.send_to(b"DM:alice:6:\x1b[5mhi\r\n", to).await.unwrap();
    let m = bob.until("message").await;
    assert_eq!(
        (m["via"].as_str(), m["text"].as_str()),
        (Some("udp"), Some("\u{1b}[5mhi"))
    );
    let raw = bob.sync().await;
    assert!(raw.is_empty(), "events for bad datagrams: {raw:#?}");
    // Commands still work.
    bob.send("broadcast still here").await;
    assert_eq!(srv.line().await.unwrap(), "BROADCAST:bob:10:still here");
    // A line that never ends, then the close: the client reports it and exits 1.
    srv.bytes(&vec![b'x'; 4 << 20]).await;
    drop(srv);
    bob.until("closed").await;
    let exit = tokio::time::timeout(DEADLINE, bob.task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit, Exit::Network);
}

/// Opens a serverless session to `port` as `nick`; returns the wire after both HELLOs.
async fn peer(port: u16, nick: &str, own: &str) -> Wire {
    let s = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    let mut w = Wire::new(s);
    w.send(&format!("HELLO:{nick}")).await;
    assert_eq!(w.line().await.unwrap(), format!("HELLO:{own}"));
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_sessions_answer_hostile_lines_with_their_codes_and_go_on() {
    let dir = tmp();
    let mut ann = Raw::spawn(serverless_config("ann", vec![], dir.path().into()));
    let ready = ann.until("ready").await;
    let port = ready["port"].as_u64().unwrap() as u16;
    let mut fred = peer(port, "fred", "ann").await;
    let mut eve = peer(port, "eve", "ann").await;

    let mut cases = vectors("peer");
    assert!(cases.len() > 20);
    let rep = |s: &str, n: usize| s.repeat(n);
    cases.extend([
        (
            "overlong".to_owned(),
            "LINE_TOO_LONG".to_owned(),
            rep("x", 100_000).into_bytes(),
        ),
        (
            "nul".into(),
            "MALFORMED".into(),
            b"MSG:1:eve:0:2:h\x00".to_vec(),
        ),
        (
            "bad utf-8".into(),
            "BAD_UTF8".into(),
            b"MSG:1:eve:0:1:\xff".to_vec(),
        ),
        (
            "huge length".into(),
            "TEXT_TOO_LONG".into(),
            b"MSG:1:eve:0:99999999999999999999999:x".to_vec(),
        ),
        (
            "negative length".into(),
            "MALFORMED".into(),
            b"MSG:1:eve:0:-1:x".to_vec(),
        ),
        (
            "thousands of fields".into(),
            "MALFORMED".into(),
            format!("PING{}", rep(":a", 1000)).into_bytes(),
        ),
        (
            "look-alike nick".into(),
            "BAD_NICK".into(),
            "MSG:1:\u{435}ve:0:2:hi".as_bytes().to_vec(),
        ),
        (
            "escape as verb".into(),
            "UNKNOWN_VERB".into(),
            b"\x1b[2J\x1b[3J".to_vec(),
        ),
        (
            "another sender".into(),
            "NOT_YOUR_NICK".into(),
            b"MSG:1:fred:1763713300:2:hi".to_vec(),
        ),
    ]);
    let mut failures = Vec::new();
    for (id, code, bytes) in &cases {
        let mut b = bytes.clone();
        b.extend_from_slice(b"\r\n");
        eve.bytes(&b).await;
        let got = eve.barrier().await;
        let ok = got.len() == 1 && got[0].starts_with(&format!("ERR:{code}:"));
        if !ok {
            failures.push(format!("{id}: expected ERR:{code}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing was shown; both sessions are open; both still deliver.
    let raw = ann.sync().await;
    assert!(
        !raw.iter().any(|l| l.contains(r#""event":"message""#)),
        "{raw:#?}"
    );
    eve.send("MSG:7:eve:1763713300:8:\u{1b}[31mred").await;
    fred.send("MSG:7:fred:1763713300:5:hello").await;
    assert_eq!(eve.barrier().await, ["ACK:7"]);
    assert_eq!(fred.barrier().await, ["ACK:7"]);
    let raw = ann.sync().await;
    assert_no_raw_controls(&raw);
    let events: Vec<Value> = raw
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut shown: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| (e["from"].as_str().unwrap(), e["text"].as_str().unwrap()))
        .collect();
    shown.sort(); // two sessions: no order between them
    assert_eq!(shown, [("eve", "\u{1b}[31mred"), ("fred", "hello")]);

    // A first line that is not HELLO: ERR and the session is closed (§14).
    let s = TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    let mut stranger = Wire::new(s);
    stranger.bytes(b"\xff\xfe\r\n").await;
    let first = stranger.line().await.unwrap();
    assert!(first.starts_with("ERR:"), "{first}");
    assert_eq!(stranger.line().await, None);
    // Still fine.
    assert_eq!(fred.barrier().await, Vec::<String>::new());
    ann.send("quit").await;
    let exit = tokio::time::timeout(DEADLINE, ann.task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit, Exit::Ok);
}

/// Connections that never send HELLO hold at most `max_handshakes` sockets: one more is
/// closed at once, a session that says HELLO frees its place, and open sessions do not
/// count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_peer_connections_beyond_max_handshakes_are_closed() {
    use tokio::io::AsyncReadExt;
    let dir = tmp();
    let mut cfg = serverless_config("ann", vec![], dir.path().into());
    cfg.max_handshakes = 2;
    let mut ann = Raw::spawn(cfg);
    let ready = ann.until("ready").await;
    let port = ready["port"].as_u64().unwrap() as u16;
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    let mut silent1 = TcpStream::connect(to).await.unwrap();
    let _silent2 = TcpStream::connect(to).await.unwrap();
    // The third waits for HELLO beside two others: closed without a line.
    let mut third = TcpStream::connect(to).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(DEADLINE, third.read(&mut buf))
        .await
        .expect("the third silent connection was not closed")
        .unwrap_or(0);
    assert_eq!(n, 0, "the third connection got {:?}", &buf[..n]);
    // The first two are still held: one of them opens a session.
    silent1.write_all(b"HELLO:fred\r\n").await.unwrap();
    let mut w = Wire::new(silent1);
    assert_eq!(w.line().await.unwrap(), "HELLO:ann");
    // Its place is free again: a newcomer is answered.
    let mut eve = peer(port, "eve", "ann").await;
    eve.send("PING:x").await;
    assert_eq!(eve.line().await.unwrap(), "PONG:x");
    w.send("PING:y").await;
    assert_eq!(w.line().await.unwrap(), "PONG:y");
}

/// A peer that sends and never reads what it is answered: once the client holds more
/// than `MAX_UNSENT` bytes for it, the session is dropped, and other peers go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_that_never_reads_is_dropped_past_the_unsent_bound() {
    use tokio::io::AsyncReadExt;
    let dir = tmp();
    let mut ann = Raw::spawn(serverless_config("ann", vec![], dir.path().into()));
    let ready = ann.until("ready").await;
    let port = ready["port"].as_u64().unwrap() as u16;
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut mal = sock.connect(to).await.unwrap();
    mal.write_all(b"HELLO:mal\r\n").await.unwrap();
    let mut hello = [0u8; 11];
    mal.read_exact(&mut hello).await.unwrap();
    assert_eq!(&hello, b"HELLO:ann\r\n");
    let open = ann.until("session").await;
    assert_eq!(
        (open["nick"].as_str(), open["state"].as_str()),
        (Some("mal"), Some("open"))
    );
    // Each PING is answered by a PONG of the same size that mal never reads. Bounded:
    // at most 2,000 writes of 1,000 lines (78 MB), far past the bound plus the kernel's
    // buffers.
    let chunk = "PING:abcdefghijklmnopqrstuvwxyz012345\r\n".repeat(1000);
    let mut cut = false;
    for _ in 0..2000 {
        match tokio::time::timeout(DEADLINE, mal.write_all(chunk.as_bytes())).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                cut = true;
                break;
            }
            Err(_) => panic!("a write to the client blocked for {DEADLINE:?}"),
        }
    }
    assert!(
        cut,
        "the client kept the session of a peer that never reads"
    );
    let closed = ann.until("session").await;
    assert_eq!(
        (closed["nick"].as_str(), closed["state"].as_str()),
        (Some("mal"), Some("closed"))
    );
    // Others are unaffected.
    let mut eve = peer(port, "eve", "ann").await;
    eve.send("PING:x").await;
    assert_eq!(eve.line().await.unwrap(), "PONG:x");
}
