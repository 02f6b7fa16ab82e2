//! Nobody let in, on the client's side (§13, §14, §20): what an attacker on the same
//! network cannot do to a user of the reference client.
//!
//! - open a direct session posing as another user: a ticket opens one session, for the
//!   nick it was issued for, and nothing else does ([DIR-4], [DIR-5]); failed attempts
//!   do not burn the ticket of the real peer;
//! - make the client connect somewhere: forged OFFERs (no INVITE, another ticket,
//!   another nick, a used ticket) are dropped, and a good one is answered by connecting
//!   to the inviter's registered IP, never the datagram's source ([DIR-2], [DIR-3]);
//!   an acceptor that answers HELLO with another nick or ticket is left at once;
//! - flood the client with forged OFFERs or half-open peer connections until it stops
//!   answering;
//! - drive the user's terminal: whatever a network string holds, the text shown has
//!   no control character but the client's own colour codes (§18, §20).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Client, DEADLINE, Server, hybrid_config, serverless_config, tmp};
use reference_client::Exit;
use reference_client::display::clock::Zone;
use reference_client::display::format::Formatter;
use reference_client::events::{Event, MessageVia, PeerInfo, SentVia, SessionState, UserInfo};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// One TCP connection played by the test: the server, a peer, an attacker.
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
    async fn connect(addr: SocketAddr) -> Wire {
        Wire::new(TcpStream::connect(addr).await.unwrap())
    }
    async fn accept(l: &TcpListener) -> Wire {
        let (s, _) = tokio::time::timeout(DEADLINE, l.accept())
            .await
            .expect("a connection in time")
            .unwrap();
        Wire::new(s)
    }
    async fn line(&mut self) -> Option<String> {
        tokio::time::timeout(DEADLINE, self.lines.next_line())
            .await
            .expect("a line in time")
            .unwrap()
    }
    async fn send(&mut self, s: &str) {
        self.w
            .write_all(format!("{s}\r\n").as_bytes())
            .await
            .unwrap();
    }
    /// The next line starting with `prefix` (others skipped).
    async fn expect(&mut self, prefix: &str) -> String {
        loop {
            let l = self
                .line()
                .await
                .unwrap_or_else(|| panic!("closed waiting for {prefix}"));
            if l.starts_with(prefix) {
                return l;
            }
        }
    }
    /// Lines before the answer to a new `PING`.
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

/// `chat <nick>` from alice makes her wait for a connect-back: returns her TCP port
/// and the ticket the server gave to both ends.
async fn offer_from(alice: &mut Client, target: &mut Wire, udp: &UdpSocket) -> (u16, String) {
    alice.send("chat mallory hi").await;
    let invite = target.expect("INVITE:alice:").await;
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
    let f: Vec<&str> = offer.split(':').collect();
    assert_eq!((f[0], f[1], f[3]), ("OFFER", "alice", ticket.as_str()));
    (f[2].parse().unwrap(), ticket)
}

#[tokio::test]
async fn dir_4_dir_5_a_ticket_opens_one_session_for_its_own_nick_only() {
    let server = Server::start().await;
    let da = tmp();
    let mut alice = Client::hybrid(&server, "alice", da.path().into()).await;
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let uport = udp.local_addr().unwrap().port();
    let mut mallory = Wire::connect(server.addr).await;
    mallory
        .send(&format!("REGISTER:mallory:127.0.0.1:{uport}"))
        .await;
    mallory.expect("LIST").await;
    let (port, ticket) = offer_from(&mut alice, &mut mallory, &udp).await;
    let at = SocketAddr::from(([127, 0, 0, 1], port));

    // Eve saw the ticket go by (nothing is encrypted, §20) and tries it under her own
    // nick, then without a ticket, in upper case, and with the ticket as her nick.
    let upper = ticket.to_ascii_uppercase();
    for hello in [
        format!("HELLO:eve:{ticket}"),
        "HELLO:mallory".to_owned(),
        format!("HELLO:mallory:{upper}"),
        format!("HELLO:mallory:{ticket}:{ticket}"),
        "MSG:1:mallory:1763713300:2:hi".to_owned(),
        format!("HELLO:mallory:{}", "0".repeat(32)),
    ] {
        let mut eve = Wire::connect(at).await;
        eve.send(&hello).await;
        let l = eve.line().await.unwrap();
        assert!(l.starts_with("ERR:BAD_TICKET:"), "{hello}: {l}");
        assert_eq!(eve.line().await, None, "{hello}: closed after the refusal");
    }
    // None of that used the ticket up: the real peer gets in, once.
    let mut real = Wire::connect(at).await;
    real.send(&format!("HELLO:mallory:{ticket}")).await;
    assert_eq!(real.line().await.unwrap(), format!("HELLO:alice:{ticket}"));
    let msg = real.expect("MSG:").await;
    assert!(msg.ends_with(":2:hi"), "{msg}");
    real.send(&format!("ACK:{}", msg.split(':').nth(1).unwrap()))
        .await;
    let mut again = Wire::connect(at).await;
    again.send(&format!("HELLO:mallory:{ticket}")).await;
    assert!(again.line().await.unwrap().starts_with("ERR:BAD_TICKET:"));
    // Inside the session, mallory cannot speak as someone else ([PEER-3]).
    real.send("MSG:9:alice:1763713300:4:oops").await;
    assert!(real.expect("ERR:").await.starts_with("ERR:NOT_YOUR_NICK:"));
    let events = alice.sync().await;
    assert!(
        !events.iter().any(|e| e["event"] == "message"),
        "{events:?}"
    );
    let opened: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "session" && e["state"] == "open")
        .collect();
    assert_eq!(opened.len(), 1, "{events:?}");
    assert_eq!(opened[0]["nick"], "mallory");
    assert_eq!(alice.quit().await, Exit::Ok);
    server.stop().await;
}

/// The scripted server for the connector tests: bob registered, his UDP port known.
struct Scripted {
    srv: Wire,
    udp_port: u16,
}

async fn scripted_bob(l: &TcpListener, dir: std::path::PathBuf) -> (Client, Scripted) {
    let bob = Client::spawn(hybrid_config(l.local_addr().unwrap(), "bob", dir));
    let mut srv = Wire::accept(l).await;
    let reg = srv.line().await.unwrap();
    let udp_port: u16 = reg.split(':').nth(3).unwrap().parse().unwrap();
    srv.send(&format!(
        "UPDATE:JOIN:bob:127.0.0.1:{udp_port}\r\nLIST:bob:127.0.0.1:{udp_port}"
    ))
    .await;
    (bob, Scripted { srv, udp_port })
}

/// The connector closes the session (after an `ERR:BAD_TICKET`, or without a word).
async fn left_at_once(w: &mut Wire) {
    let mut l = w.line().await;
    if l.as_deref()
        .is_some_and(|l| l.starts_with("ERR:BAD_TICKET:"))
    {
        l = w.line().await;
    }
    assert_eq!(l, None);
}

fn ticket(c: char) -> String {
    std::iter::repeat_n(c, 32).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dir_2_dir_3_the_client_connects_back_only_for_an_invited_offer_to_the_inviters_ip() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dir = tmp();
    let (mut bob, mut s) = scripted_bob(&l, dir.path().into()).await;
    bob.expect("ready", |_| true).await;
    let bob_udp = SocketAddr::from(([127, 0, 0, 1], s.udp_port));
    // Datagrams come from another address than the inviter's, as a forger's would.
    let forger = UdpSocket::bind("127.0.0.2:0")
        .await
        .or(UdpSocket::bind("127.0.0.1:0").await)
        .unwrap();
    let offer = async |nick: &str, port: u16, t: &str| {
        forger
            .send_to(format!("OFFER:{nick}:{port}:{t}").as_bytes(), bob_udp)
            .await
            .unwrap();
    };
    // Where forged offers point: nobody must ever connect here.
    let bait = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bait_port = bait.local_addr().unwrap().port();

    // No INVITE at all.
    offer("alice", bait_port, &ticket('1')).await;
    // An INVITE from alice (her registered IP is 127.0.0.1) with ticket 2 ...
    s.srv
        .send(&format!("INVITE:alice:127.0.0.1:5000:{}", ticket('2')))
        .await;
    assert_eq!(s.srv.barrier().await, Vec::<String>::new());
    // ... then offers with another ticket, another nick, and a blocked... no: an
    // unknown nick with the right ticket.
    offer("alice", bait_port, &ticket('3')).await;
    offer("carol", bait_port, &ticket('2')).await;
    offer("ALICE", bait_port, &ticket('1')).await;
    // The good offer: bob connects to 127.0.0.1 (the INVITE's IP), whatever address
    // the datagram came from.
    let acceptor = TcpListener::bind("127.0.0.1:0").await.unwrap();
    offer("alice", acceptor.local_addr().unwrap().port(), &ticket('2')).await;
    let mut a = Wire::accept(&acceptor).await;
    assert_eq!(
        a.line().await.unwrap(),
        format!("HELLO:bob:{}", ticket('2'))
    );
    // This acceptor answers as someone else: bob leaves at once.
    a.send(&format!("HELLO:mallory:{}", ticket('2'))).await;
    left_at_once(&mut a).await;
    // The used ticket is refused now, even from the right nick.
    offer("alice", acceptor.local_addr().unwrap().port(), &ticket('2')).await;
    // A new invitation whose acceptor answers with another ticket: left at once too.
    s.srv
        .send(&format!("INVITE:alice:127.0.0.1:5000:{}", ticket('4')))
        .await;
    assert_eq!(s.srv.barrier().await, Vec::<String>::new());
    let acceptor2 = TcpListener::bind("127.0.0.1:0").await.unwrap();
    offer(
        "alice",
        acceptor2.local_addr().unwrap().port(),
        &ticket('4'),
    )
    .await;
    let mut b = Wire::accept(&acceptor2).await;
    assert_eq!(
        b.line().await.unwrap(),
        format!("HELLO:bob:{}", ticket('4'))
    );
    b.send(&format!("HELLO:alice:{}", ticket('5'))).await;
    left_at_once(&mut b).await;
    // And the real thing opens a session.
    s.srv
        .send(&format!("INVITE:alice:127.0.0.1:5000:{}", ticket('6')))
        .await;
    assert_eq!(s.srv.barrier().await, Vec::<String>::new());
    let acceptor3 = TcpListener::bind("127.0.0.1:0").await.unwrap();
    offer(
        "alice",
        acceptor3.local_addr().unwrap().port(),
        &ticket('6'),
    )
    .await;
    let mut c = Wire::accept(&acceptor3).await;
    assert_eq!(
        c.line().await.unwrap(),
        format!("HELLO:bob:{}", ticket('6'))
    );
    c.send(&format!("HELLO:alice:{}", ticket('6'))).await;
    bob.expect("session", |e| e["state"] == "open" && e["nick"] == "alice")
        .await;
    c.send("MSG:1:alice:1763713300:2:hi").await;
    assert_eq!(c.barrier().await, ["ACK:1"]);
    let events = bob.sync().await;
    let opened = events
        .iter()
        .filter(|e| e["event"] == "session" && e["state"] == "open")
        .count();
    assert_eq!(opened, 0, "only the real session opened: {events:?}");
    // Every offer has been handled (datagrams in order) and every dial made by now:
    // the bait and the first acceptor got no (further) connection.
    for (what, l) in [("bait", &bait), ("used ticket", &acceptor)] {
        let got = tokio::time::timeout(Duration::ZERO, l.accept()).await;
        assert!(got.is_err(), "{what}: the client connected");
    }
    drop(s);
    bob.expect("closed", |_| true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_forged_offers_does_not_stop_the_client() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dir = tmp();
    let (mut bob, mut s) = scripted_bob(&l, dir.path().into()).await;
    bob.expect("ready", |_| true).await;
    let bob_udp = SocketAddr::from(([127, 0, 0, 1], s.udp_port));
    let forger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // 200,000 offers for tickets no INVITE named (each would be held for a while, in
    // case its INVITE is on its way, §13), as fast as the socket takes them.
    let started = Instant::now();
    for i in 0..200_000u32 {
        let d = format!("OFFER:n{}:4000:{:032x}", i % 1000, i);
        let _ = forger.send_to(d.as_bytes(), bob_udp).await;
    }
    // The client still answers at once, and still connects for a real invitation.
    s.srv
        .send(&format!("INVITE:alice:127.0.0.1:5000:{}", ticket('7')))
        .await;
    assert_eq!(s.srv.barrier().await, Vec::<String>::new());
    bob.sync().await;
    let acceptor = TcpListener::bind("127.0.0.1:0").await.unwrap();
    forger
        .send_to(
            format!(
                "OFFER:alice:{}:{}",
                acceptor.local_addr().unwrap().port(),
                ticket('7')
            )
            .as_bytes(),
            bob_udp,
        )
        .await
        .unwrap();
    let mut a = Wire::accept(&acceptor).await;
    assert_eq!(
        a.line().await.unwrap(),
        format!("HELLO:bob:{}", ticket('7'))
    );
    eprintln!("flood and recovery in {:?}", started.elapsed());
    assert!(started.elapsed() < DEADLINE);
    drop(s);
    bob.expect("closed", |_| true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_say_hello_do_not_stop_the_client() {
    let dir = tmp();
    let mut ann = Client::spawn(serverless_config("ann", vec![], dir.path().into()));
    let ready = ann.expect("ready", |_| true).await;
    let at = SocketAddr::from(([127, 0, 0, 1], ready["port"].as_u64().unwrap() as u16));
    // A friend first, then 1,000 connections that say nothing (both ends are in this
    // process: fewer under a low descriptor limit).
    let limit: usize = std::process::Command::new("sh")
        .args(["-c", "ulimit -n"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024);
    let n = 1000.min(limit.saturating_sub(200) / 2);
    let mut fred = Wire::connect(at).await;
    fred.send("HELLO:fred").await;
    assert_eq!(fred.line().await.unwrap(), "HELLO:ann");
    let mut silent = Vec::new();
    for _ in 0..n {
        match TcpStream::connect(at).await {
            Ok(s) => silent.push(s),
            Err(_) => break,
        }
    }
    // The client still serves its friend and its user.
    fred.send("MSG:1:fred:1763713300:5:hello").await;
    assert_eq!(fred.barrier().await, ["ACK:1"]);
    ann.send("peers").await;
    let p = ann.expect("peers", |_| true).await;
    assert_eq!(p["peers"].as_array().unwrap().len(), 1, "{p}");
    drop(silent);
    assert_eq!(ann.quit().await, Exit::Ok);
}

/// Every string the network controls, filled with what could drive a terminal.
fn hostile_strings() -> Vec<String> {
    let mut all: String = (0u32..0x100).filter_map(char::from_u32).collect();
    all.push_str("\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}\u{2066}\u{2067}\u{2068}\u{2069}");
    vec![
        all,
        "\u{1b}]0;pwned\u{7}".into(),
        "\u{1b}]8;;http://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\".into(),
        "\u{1b}]52;c;cm0gLXJmIH4=\u{7}".into(),
        "\u{1b}[2J\u{1b}[H\u{1b}[31m".into(),
        "\u{9b}31m\u{9d}0;x\u{9c}".into(),
        "\u{1b}P+q\u{1b}\\".into(),
        "a\rb\nc\u{8}\u{8}".into(),
    ]
}

/// The events that carry network strings, each string in every slot.
fn hostile_events(s: &str) -> Vec<Event> {
    let user = UserInfo {
        nick: s.into(),
        ip: s.into(),
        port: 1,
    };
    vec![
        Event::Users {
            users: vec![user.clone()],
        },
        Event::Join {
            nick: s.into(),
            ip: s.into(),
            port: 1,
        },
        Event::Leave {
            nick: s.into(),
            ip: s.into(),
            port: 1,
        },
        Event::User {
            nick: s.into(),
            ip: s.into(),
            port: 1,
        },
        Event::Broadcast {
            from: s.into(),
            text: s.into(),
        },
        Event::Message {
            from: s.into(),
            text: s.into(),
            via: MessageVia::Relay,
            id: Some(1),
            time: Some(1),
        },
        Event::Message {
            from: s.into(),
            text: s.into(),
            via: MessageVia::Udp,
            id: None,
            time: None,
        },
        Event::Sent {
            to: s.into(),
            via: SentVia::Queued,
            id: Some(1),
            text: s.into(),
        },
        Event::Blocked { nick: s.into() },
        Event::Unblocked { nick: s.into() },
        Event::Blocks {
            nicks: vec![s.into(), s.into()],
        },
        Event::Session {
            nick: s.into(),
            state: SessionState::Open,
            addr: s.into(),
        },
        Event::Peers {
            peers: vec![PeerInfo {
                nick: s.into(),
                addr: s.into(),
            }],
        },
        Event::Error {
            code: s.into(),
            text: s.into(),
        },
        Event::Closed { reason: s.into() },
        Event::Notice(s.into()),
    ]
}

/// Removes the formatter's own colour codes (`ESC [ <digits and ;> m`).
fn strip_own_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('\u{1b}') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after
            .strip_prefix('[')
            .and_then(|a| a.find('m').map(|m| (a, m)))
            .filter(|(a, m)| a[..*m].chars().all(|c| c.is_ascii_digit() || c == ';'));
        match end {
            Some((_, m)) => rest = &after[1 + m + 1..],
            None => {
                out.push('\u{1b}');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn terminal_escapes_from_the_network_never_reach_the_screen() {
    static UTC: Zone = Zone::utc();
    let mut checked = 0;
    for color in [false, true] {
        for serverless in [false, true] {
            let f = Formatter::with_zone("me", serverless, color, &UTC);
            for s in hostile_strings() {
                for e in hostile_events(&s) {
                    let Some(shown) = f.event(&e, 1_763_713_300) else {
                        continue;
                    };
                    let visible = strip_own_sgr(&shown);
                    // Lines are separated by LF; nothing else that controls a terminal.
                    let bad: Vec<char> = visible
                        .chars()
                        .filter(|c| *c != '\n' && (c.is_control() || is_bidi(*c)))
                        .collect();
                    assert!(bad.is_empty(), "{e:?} shown as {shown:?}: {bad:?}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 300, "{checked}");
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}
