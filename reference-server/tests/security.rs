//! Nobody let in (§20): what an attacker on the same network, with a raw socket, cannot
//! do to the server's users.
//!
//! - register an owned nick without its token, whatever they try ([OWN-2], [REG-3]);
//! - read or delete another user's mailbox ([RLY-3], [RLY-4]);
//! - broadcast or send as another nick, or smuggle a forged line into a text ([BRD-2],
//!   [RLY-2], [FRM-6]);
//! - learn that they are blocked: a blocked and an unblocked user running the same
//!   script see the same lines ([BLK-5] .. [BLK-7]);
//! - find tokens in the database: they are stored as SHA-256 hashes ([OWN-5], §20);
//! - guess tokens or tickets: they are distinct and their bits balanced ([OWN-5],
//!   [TKT-3]).
//!
//! (Opening a direct session as someone else is refused by the peer, not the server:
//! see the client's tests. Terminal escapes are relayed as sent, §20, and neutralised
//! by the client before display: also the client's tests.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, TestServer};
use reference_server::{Config, DbPath};
use sha2::{Digest, Sha256};

fn id_of_sent(line: &str) -> u64 {
    line.strip_prefix("SENT:")
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not SENT: {line}"))
}

#[tokio::test]
async fn own_2_an_owned_nick_cannot_be_taken_without_its_token() {
    let s = TestServer::default().await;
    let (mut bob, btok) = s.registered("bob", 5001).await;
    let btok = btok.unwrap();
    let (mut carol, ctok) = s.registered("carol", 5002).await;
    let ctok = ctok.unwrap();
    bob.expect("UPDATE:JOIN:carol:127.0.0.1:5002").await;
    bob.send("QUIT").await;
    bob.expect("BYE").await;
    carol.expect("UPDATE:LEAVE:bob:127.0.0.1:5001").await;
    let (mut alice, _) = s.registered("alice", 5000).await;
    alice.send("SEND:bob:6:secret").await;
    assert!(alice.line().await.ends_with(":QUEUED"));

    let mut mallory = s.client().await;
    // Every guess: none, another owner's real token, a near miss, all zeros and all
    // f's, the right token in upper case (not even a token), in every case of the nick.
    let mut near = btok.clone().into_bytes();
    near[31] = if near[31] == b'0' { b'1' } else { b'0' };
    let near = String::from_utf8(near).unwrap();
    let attempts = [
        ("bob", None, "NICK_OWNED"),
        ("BOB", None, "NICK_OWNED"),
        ("Bob", Some(ctok.as_str()), "NICK_OWNED"),
        ("bob", Some(near.as_str()), "NICK_OWNED"),
        (
            "bob",
            Some("00000000000000000000000000000000"),
            "NICK_OWNED",
        ),
        (
            "bOb",
            Some("ffffffffffffffffffffffffffffffff"),
            "NICK_OWNED",
        ),
        ("bob", Some(&btok[..31]), "MALFORMED"),
    ];
    for (nick, token, code) in attempts {
        let line = match token {
            Some(t) => format!("REGISTER:{nick}:10.6.6.6:6666:{t}"),
            None => format!("REGISTER:{nick}:10.6.6.6:6666"),
        };
        mallory.send(&line).await;
        mallory.expect_err(code).await;
    }
    let upper = btok.to_ascii_uppercase();
    if upper != btok {
        mallory
            .send(&format!("REGISTER:bob:10.6.6.6:6666:{upper}"))
            .await;
        mallory.expect_err("MALFORMED").await;
    }
    // Still unregistered: nothing else works, nothing was announced, no mail leaked.
    mallory.send("SEND:alice:2:hi").await;
    mallory.expect_err("NOT_REGISTERED").await;
    mallory.quiet().await;
    carol.expect("UPDATE:JOIN:alice:127.0.0.1:5000").await;
    carol.quiet().await;
    alice.quiet().await;
    // The owner's token still works, and the mail is there.
    bob = s.client().await;
    bob.register("bob", 5001, Some(&btok)).await;
    let m = bob.line().await;
    let f: Vec<&str> = m.splitn(6, ':').collect();
    assert_eq!((f[0], f[2], f[5]), ("MSG", "alice", "secret"), "{m}");
    // Online, the nick is in use whatever the token ([REG-3]).
    mallory
        .send(&format!("REGISTER:bob:10.6.6.6:6666:{btok}"))
        .await;
    mallory.expect_err("NICK_IN_USE").await;
    s.stop().await;
}

#[tokio::test]
async fn rly_3_rly_4_another_users_mailbox_can_be_neither_read_nor_emptied() {
    let s = TestServer::start(Config {
        rate_burst: 0,
        ..common::quick()
    })
    .await;
    let (mut bob, btok) = s.registered("bob", 5001).await;
    let btok = btok.unwrap();
    bob.send("QUIT").await;
    bob.expect("BYE").await;
    let (mut alice, _) = s.registered("alice", 5000).await;
    let mut ids = Vec::new();
    for text in ["one", "two", "three"] {
        alice.send(&format!("SEND:bob:{}:{text}", text.len())).await;
        ids.push(id_of_sent(&alice.line().await));
    }
    // Mallory registers a nick of her own and acknowledges every id she can guess.
    let (mut mallory, _) = s.registered("mallory", 6666).await;
    alice.expect("UPDATE:JOIN:mallory:127.0.0.1:6666").await;
    let mut acks = String::new();
    for id in 1..=500u64 {
        acks.push_str(&format!("ACK:{id}\r\n"));
    }
    mallory.raw(acks.as_bytes()).await;
    mallory.quiet().await; // ACK gets no reply, and no MSG of bob's came her way
    // She cannot register as bob either (that is the other test); bob gets all three.
    bob = s.client().await;
    bob.register("bob", 5001, Some(&btok)).await;
    for (id, text) in ids.iter().zip(["one", "two", "three"]) {
        let m = bob.line().await;
        assert!(
            m.starts_with(&format!("MSG:{id}:alice:")) && m.ends_with(&format!(":{text}")),
            "{m}"
        );
    }
    bob.quiet().await;
    s.stop().await;
}

#[tokio::test]
async fn brd_2_rly_2_nobody_speaks_as_another_nick() {
    let s = TestServer::default().await;
    let (mut alice, _) = s.registered("alice", 5000).await;
    let (mut bob, _) = s.registered("bob", 5001).await;
    let (mut mallory, _) = s.registered("mallory", 6666).await;
    alice.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    alice.expect("UPDATE:JOIN:mallory:127.0.0.1:6666").await;
    bob.expect("UPDATE:JOIN:mallory:127.0.0.1:6666").await;
    for forged in [
        "BROADCAST:alice:4:hey!",
        "BROADCAST:ALICE:4:hey!",
        "BROADCAST:Mallory:4:hey!",
    ] {
        mallory.send(forged).await;
        mallory.expect_err("NOT_YOUR_NICK").await;
    }
    // A second line smuggled after a text is just another line from mallory (MSG is
    // not a request); a CR inside the text is refused.
    mallory
        .raw(b"SEND:bob:5:hello\nMSG:1:alice:1763713200:3:pwn\r\n")
        .await;
    let sent = mallory.line().await;
    assert!(sent.ends_with(":LIVE"), "{sent}");
    mallory.expect_err("UNKNOWN_VERB").await;
    mallory
        .raw(b"SEND:bob:30:x\rMSG:1:alice:1763713200:3:pwn\r\n")
        .await;
    mallory.expect_err("MALFORMED").await;
    mallory
        .raw(b"BROADCAST:mallory:30:x\rBROADCAST:alice:3:pwn\r\n")
        .await;
    mallory.expect_err("MALFORMED").await;
    // Bob got one MSG, from mallory as the server wrote it, and nothing from "alice".
    let m = bob.line().await;
    let f: Vec<&str> = m.splitn(6, ':').collect();
    assert_eq!((f[0], f[2], f[5]), ("MSG", "mallory", "hello"), "{m}");
    bob.send(&format!("ACK:{}", f[1])).await;
    bob.quiet().await;
    alice.quiet().await;
    s.stop().await;
}

/// Replaces what differs between two users' transcripts by nature (their own nick,
/// ids, tickets) with placeholders.
fn normalise(lines: &[String], me: &str) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let mut l = l.replace(me, "<me>");
            if let Some(rest) = l.strip_prefix("SENT:") {
                l = format!("SENT:<id>:{}", rest.split(':').nth(1).unwrap());
            }
            if l.starts_with("TICKET:") {
                let cut = l.rfind(':').unwrap();
                l = format!("{}:<ticket>", &l[..cut]);
            }
            l
        })
        .collect()
}

async fn ask(c: &mut Client, line: &str, got: &mut Vec<String>) {
    c.send(line).await;
    got.push(c.line().await);
}

/// The script both suspects run, with bob online and then gone; returns every line
/// the suspect received, and what bob received meanwhile.
async fn script(c: &mut Client, me: &str, bob: &mut Client) -> (Vec<String>, Vec<String>) {
    let mut got = Vec::new();
    ask(c, &format!("BROADCAST:{me}:5:hello"), &mut got).await;
    ask(c, "SEND:bob:8:psst bob", &mut got).await;
    ask(c, "TICKET:bob", &mut got).await;
    ask(c, "QUERY:bob", &mut got).await;
    ask(c, "BLOCKS", &mut got).await;
    ask(c, "LIST", &mut got).await;
    // Bob goes away: now SENDs are queued, for both alike.
    bob.send("QUIT").await;
    let mut heard = Vec::new();
    loop {
        let l = bob.line().await;
        if l == "BYE" {
            break;
        }
        heard.push(l);
    }
    got.push(c.line().await); // UPDATE:LEAVE:bob
    ask(c, "SEND:bob:5:later", &mut got).await;
    ask(c, "TICKET:bob", &mut got).await;
    ask(c, "PING:end", &mut got).await;
    (got, heard)
}

#[tokio::test]
async fn blk_5_blk_6_blk_7_a_blocked_user_cannot_tell() {
    let s = TestServer::start(Config {
        mailbox_quota: 100,
        ..common::quick()
    })
    .await;
    let (mut bob, btok) = s.registered("bob", 5001).await;
    let btok = btok.unwrap();
    bob.send("BLOCK:mallory").await;
    bob.expect("BLOCKED:mallory").await;
    let mut transcripts = Vec::new();
    let mut tokens = Vec::new();
    for suspect in ["mallory", "eve"] {
        let (mut c, t) = s.registered(suspect, 6000).await;
        tokens.push(t.unwrap());
        bob.expect(&format!("UPDATE:JOIN:{suspect}:127.0.0.1:6000"))
            .await;
        let (got, heard) = script(&mut c, suspect, &mut bob).await;
        transcripts.push(normalise(&got, suspect));
        c.send("QUIT").await;
        c.expect("BYE").await;
        bob = s.client().await;
        bob.register("bob", 5001, Some(&btok)).await;
        let mailbox = bob.barrier().await;
        if suspect == "eve" {
            // The broadcast, the live message and the invitation came through; the
            // unacknowledged live message and the queued one wait in the mailbox.
            assert_eq!(heard.len(), 3, "{heard:?}");
            assert!(heard[0].starts_with("BROADCAST:eve:"));
            assert!(heard[1].starts_with("MSG:") && heard[1].ends_with(":8:psst bob"));
            assert!(heard[2].starts_with("INVITE:eve:"));
            assert_eq!(mailbox.len(), 2, "{mailbox:?}");
            for m in &mailbox {
                assert_eq!(m.split(':').nth(2), Some("eve"), "{m}");
                bob.send(&format!("ACK:{}", m.split(':').nth(1).unwrap()))
                    .await;
            }
        } else {
            // [BLK-5] .. [BLK-7]: nothing of mallory's reached bob, then or later.
            assert!(heard.is_empty(), "bob heard from mallory: {heard:?}");
            assert!(mailbox.is_empty(), "mallory's mail was kept: {mailbox:?}");
        }
    }
    assert_eq!(
        transcripts[0], transcripts[1],
        "mallory's and eve's lines differ"
    );
    // A full mailbox says MAILBOX_FULL to both alike ([BLK-6]: the quota comes first).
    bob.send("QUIT").await;
    bob.expect("BYE").await;
    let (mut filler, _) = s.registered("filler", 6100).await;
    for i in 0..100 {
        let t = format!("fill {i:03}");
        filler.send(&format!("SEND:bob:{}:{t}", t.len())).await;
        assert!(filler.line().await.ends_with(":QUEUED"));
    }
    for (suspect, token) in ["mallory", "eve"].into_iter().zip(&tokens) {
        let mut c = s.client().await;
        c.register(suspect, 6000, Some(token)).await;
        c.send("SEND:bob:4:full").await;
        c.expect_err("MAILBOX_FULL").await;
        c.send("QUIT").await;
        c.expect("BYE").await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_5_tokens_are_stored_hashed_never_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.db");
    let s = TestServer::start(Config {
        db: DbPath::File(path.clone()),
        ..common::quick()
    })
    .await;
    let mut tokens = Vec::new();
    let mut clients = Vec::new();
    for (i, nick) in ["alice", "bob", "carol"].iter().enumerate() {
        let (c, t) = s.registered(nick, 5000 + i as u16).await;
        tokens.push((nick.to_string(), t.unwrap()));
        clients.push(c);
    }
    // While the server runs (the WAL holds the latest writes) and after it stops (the
    // WAL checkpointed into the file): no token, in hex or in any case, anywhere.
    let scan = |when: &str| {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            if let Ok(b) = std::fs::read(std::path::PathBuf::from(p)) {
                bytes.extend_from_slice(&b);
            }
        }
        assert!(!bytes.is_empty());
        let lower = bytes.to_ascii_lowercase();
        for (nick, t) in &tokens {
            assert!(
                !lower.windows(32).any(|w| w == t.as_bytes()),
                "{when}: {nick}'s token is in the database in clear"
            );
        }
    };
    scan("running");
    drop(clients);
    s.stop().await;
    scan("stopped");
    // What is kept is the SHA-256 of the token.
    let db = rusqlite::Connection::open(&path).unwrap();
    for (nick, t) in &tokens {
        let stored: Vec<u8> = db
            .query_row(
                "SELECT token_sha256 FROM owners WHERE key = ?1",
                [nick.as_str()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, Sha256::digest(t.as_bytes()).to_vec(), "{nick}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_5_tkt_3_tokens_and_tickets_are_distinct_and_look_random() {
    let s = TestServer::start(Config {
        rate_burst: 0,
        ..common::quick()
    })
    .await;
    let mut values = Vec::new();
    let mut hub = s.client().await;
    hub.register("hub", 4000, None).await;
    let (mut target, _) = s.registered("target", 4001).await;
    for i in 0..200 {
        let mut c = s.client().await;
        let nick = format!("n{i}");
        c.send(&format!("REGISTER:{nick}:127.0.0.1:5000")).await;
        c.expect(&format!("UPDATE:JOIN:{nick}:127.0.0.1:5000"))
            .await;
        let t = c.line().await;
        values.push(
            t.strip_prefix(&format!("TOKEN:{nick}:"))
                .unwrap()
                .to_owned(),
        );
        // Leave at once: the next registration is not announced to hundreds.
        drop(c);
    }
    for _ in 0..200 {
        hub.send("TICKET:target").await;
        let l = loop {
            let l = hub.line().await;
            if l.starts_with("TICKET:") {
                break l;
            }
        };
        values.push(l.rsplit(':').next().unwrap().to_owned());
    }
    drop(target.barrier().await);
    let mut sorted = values.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), values.len(), "a token or ticket repeated");
    let mut ones = 0u32;
    for v in &values {
        assert_eq!(v.len(), 32);
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        let n = u128::from_str_radix(v, 16).unwrap();
        ones += n.count_ones();
    }
    // 400 × 128 bits: a fair source gives 50 % ones, σ ≈ 0.18 %; allow ±2 %.
    let share = f64::from(ones) / (values.len() as f64 * 128.0);
    assert!((0.48..0.52).contains(&share), "share of one bits {share}");
    // And no counter: consecutive values are far apart.
    for w in values.windows(2) {
        let a = u128::from_str_radix(&w[0], 16).unwrap();
        let b = u128::from_str_radix(&w[1], 16).unwrap();
        assert!((a ^ b).count_ones() > 20, "{} then {}", w[0], w[1]);
    }
    s.stop().await;
}
