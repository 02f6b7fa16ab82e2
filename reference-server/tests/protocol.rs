//! Socket integration tests, raw bytes in and out, one or more per server requirement
//! of `spec/PROTOCOL.md` (the ID is in each test's name).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, TestServer, check_err};

// ---- §2 framing -------------------------------------------------------------

#[tokio::test]
async fn frm_1_lf_only_and_crlf_end_lines() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    c.raw(b"PING:a\nPING:b\r\n").await;
    c.expect("PONG:a").await;
    c.expect("PONG:b").await;
    s.stop().await;
}

#[tokio::test]
async fn frm_2_split_writes_and_many_lines_in_one_write() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    for b in b"REGISTER:alice:127.0.0.1:5000\r\n" {
        c.raw(&[*b]).await;
    }
    c.expect("UPDATE:JOIN:alice:127.0.0.1:5000").await;
    assert!(c.line().await.starts_with("TOKEN:alice:"));
    c.expect("LIST:alice:127.0.0.1:5000").await;
    c.raw(b"PING:1\r\nPING:2\nLIST\r\nBROADCAST:alice:2:hi\r\nPI")
        .await;
    c.raw(b"NG:3\r").await;
    c.raw(b"\n").await;
    c.expect("PONG:1").await;
    c.expect("PONG:2").await;
    c.expect("LIST:alice:127.0.0.1:5000").await;
    c.expect("BROADCAST:alice:2:hi").await;
    c.expect("PONG:3").await;
    s.stop().await;
}

#[tokio::test]
async fn frm_3_empty_lines_ignored() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    c.raw(b"\r\n\n\r\n\n").await;
    c.quiet().await;
    s.stop().await;
}

#[tokio::test]
async fn frm_4_overlong_line_discarded_connection_goes_on() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    // Exactly MAX_LINE is fine (an unknown verb), one more is too long.
    let ok = vec![b'A'; 2048];
    c.raw(&ok).await;
    c.raw(b"\r\n").await;
    c.expect_err("UNKNOWN_VERB").await;
    let mut long = b"PING:".to_vec();
    long.extend(std::iter::repeat_n(b'x', 5000));
    long.extend_from_slice(b"\r\nPING:after\r\n");
    c.raw(&long).await;
    c.expect_err("LINE_TOO_LONG").await;
    c.expect("PONG:after").await;
    // Split across writes, CR-only terminator still LF-ended.
    c.raw(&vec![b'B'; 3000]).await;
    c.raw(&vec![b'B'; 3000]).await;
    c.raw(b"\nPING:z\r\n").await;
    c.expect_err("LINE_TOO_LONG").await;
    c.expect("PONG:z").await;
    s.stop().await;
}

#[tokio::test]
async fn frm_5_bad_utf8_answered_connection_goes_on() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    c.raw(b"PING:\xff\xfe\r\nBROADCAST:x:2:\xc3\x28\r\nPING:ok\r\n")
        .await;
    c.expect_err("BAD_UTF8").await;
    c.expect_err("BAD_UTF8").await;
    c.expect("PONG:ok").await;
    s.stop().await;
}

#[tokio::test]
async fn frm_6_nul_or_stray_cr_malformed() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    c.raw(b"PING:a\x00b\r\nPING:a\rb\r\nPING:a\r\r\nPING:ok\r\n")
        .await;
    c.expect_err("MALFORMED").await;
    c.expect_err("MALFORMED").await;
    c.expect_err("MALFORMED").await;
    c.expect("PONG:ok").await;
    s.stop().await;
}

/// A read with no NUL and valid UTF-8 is checked as a whole (`Framer::feed_checked`):
/// its stray CRs are found by the search for line ends, not by a per-line check.
#[tokio::test]
async fn frm_6_stray_cr_in_a_read_checked_as_a_whole() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    c.raw("PING:a\r\nPING:\u{e9}\rb\r\nPING:a\r\r\n\r\nPI\rNG:b\nPING:ok\n".as_bytes())
        .await;
    c.expect("PONG:a").await;
    c.expect_err("MALFORMED").await;
    c.expect_err("MALFORMED").await;
    c.expect_err("MALFORMED").await;
    c.expect("PONG:ok").await;
    s.stop().await;
}

#[tokio::test]
async fn frm_7_every_server_line_ends_in_crlf() {
    // Client::line asserts CRLF on every line read by every test; here explicitly.
    let s = TestServer::default().await;
    let mut c = s.client().await;
    c.raw(b"PING:x\n").await;
    c.expect("PONG:x").await;
    s.stop().await;
}

// ---- §6 errors ---------------------------------------------------------------

#[tokio::test]
async fn err_1_every_code_for_bad_lines_and_connection_survives() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    let cases: &[(&str, &str)] = &[
        ("register:a:127.0.0.1:1", "UNKNOWN_VERB"),
        ("FOO", "UNKNOWN_VERB"),
        ("REGISTER:a", "MALFORMED"),
        ("REGISTER:a:127.0.0.1:1:zz", "MALFORMED"),
        ("REGISTER:bad!nick:127.0.0.1:1", "BAD_NICK"),
        ("REGISTER:a:1.2.3:1", "BAD_ADDRESS"),
        ("REGISTER:a:127.0.0.1:0", "BAD_ADDRESS"),
        ("REGISTER:a:127.0.0.1:65536", "BAD_ADDRESS"),
        ("LIST", "NOT_REGISTERED"),
        ("PING:", "MALFORMED"),
    ];
    for (line, code) in cases {
        c.send(line).await;
        c.expect_err(code).await;
    }
    c.register("alice", 5000, None).await;
    let cases: &[(&str, &str)] = &[
        ("BROADCAST:alice:05:hello", "MALFORMED"),
        ("BROADCAST:alice:1025:x", "TEXT_TOO_LONG"),
        ("BROADCAST:alice:99999999999999999999:x", "TEXT_TOO_LONG"),
        ("BROADCAST:alice:4:hello", "BAD_LENGTH"),
        ("BROADCAST:bob:5:hello", "NOT_YOUR_NICK"),
        ("REGISTER:bob:127.0.0.1:1", "ALREADY_REGISTERED"),
        ("QUERY:nobody", "NO_SUCH_NICK"),
        ("SEND:alice:1:x", "BAD_TARGET"),
        ("SEND:nobody:1:x", "NO_SUCH_NICK"),
        ("BLOCK:ALICE", "BAD_TARGET"),
        ("TICKET:alice", "BAD_TARGET"),
        ("TICKET:nobody", "NO_SUCH_NICK"),
        ("ACK:0", "MALFORMED"),
        ("LIST:x", "MALFORMED"),
    ];
    for (line, code) in cases {
        c.send(line).await;
        c.expect_err(code).await;
    }
    c.quiet().await;
    s.stop().await;
}

#[tokio::test]
async fn err_2_closing_error_is_the_last_line() {
    // FLOOD is one closing code: the ERR is the last line, then EOF.
    let s = TestServer::start(reference_server::Config {
        rate_burst: 5,
        rate_per_sec: 1,
        ..common::quick()
    })
    .await;
    let mut c = s.client().await;
    c.raw(b"PING:1\r\nPING:2\r\nPING:3\r\nPING:4\r\nPING:5\r\nPING:6\r\nPING:7\r\n")
        .await;
    for i in 1..=5 {
        c.expect(&format!("PONG:{i}")).await;
    }
    c.expect_err("FLOOD").await;
    c.expect_closed().await;
    s.stop().await;
}

// ---- §7 general ---------------------------------------------------------------

#[tokio::test]
async fn gen_1_one_reply_per_request_in_order_pong_and_ack_get_none() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    a.send("PONG:whatever").await;
    a.send("ACK:12345").await;
    a.send("LIST").await;
    a.send("QUERY:alice").await;
    a.send("BLOCKS").await;
    a.send("QUERY:zed").await;
    a.expect("LIST:alice:127.0.0.1:5000").await;
    a.expect("USER:alice:127.0.0.1:5000").await;
    a.expect("BLOCKS").await;
    a.expect_err("NO_SUCH_NICK").await;
    a.quiet().await;
    s.stop().await;
}

#[tokio::test]
async fn gen_2_only_register_ping_pong_quit_before_registration() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    for line in [
        "BROADCAST:a:1:x",
        "LIST",
        "QUERY:a",
        "SEND:a:1:x",
        "ACK:1",
        "BLOCK:a",
        "UNBLOCK:a",
        "BLOCKS",
        "TICKET:a",
    ] {
        c.send(line).await;
        c.expect_err("NOT_REGISTERED").await;
    }
    c.send("PONG:x").await;
    c.quiet().await;
    c.send("QUIT").await;
    c.expect("BYE").await;
    c.expect_closed().await;
    s.stop().await;
}

#[tokio::test]
async fn gen_3_unknown_verb_connection_goes_on() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    c.send("HELLO:alice").await;
    c.expect_err("UNKNOWN_VERB").await;
    c.send("ping:x").await;
    c.expect_err("UNKNOWN_VERB").await;
    c.send("PING:x").await;
    c.expect("PONG:x").await;
    s.stop().await;
}

#[tokio::test]
async fn gen_4_lines_for_one_connection_in_production_order() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let (mut b, _) = s.registered("bob", 5001).await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    // bob's broadcast is produced before the reply to alice's later PING.
    b.send("BROADCAST:bob:3:one").await;
    b.expect("BROADCAST:bob:3:one").await;
    a.send("PING:after").await;
    a.expect("BROADCAST:bob:3:one").await;
    a.expect("PONG:after").await;
    s.stop().await;
}

// ---- §8 registration ----------------------------------------------------------

#[tokio::test]
async fn reg_1_join_to_all_then_list() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let mut b = s.client().await;
    b.send("REGISTER:bob:[fe80::1]:5001").await;
    b.expect("UPDATE:JOIN:bob:[fe80::1]:5001").await;
    assert!(b.line().await.starts_with("TOKEN:bob:"));
    b.expect("LIST:alice:127.0.0.1:5000:bob:[fe80::1]:5001")
        .await;
    a.expect("UPDATE:JOIN:bob:[fe80::1]:5001").await;
    a.quiet().await;
    s.stop().await;
}

#[tokio::test]
async fn reg_2_list_in_registration_order_with_requester() {
    let s = TestServer::default().await;
    let (mut c, _) = s.registered("carol", 7).await;
    let (_a, _) = s.registered("Alice", 9).await;
    let (mut b, _) = s.registered("bob", 8).await;
    b.send("LIST").await;
    b.expect("LIST:carol:127.0.0.1:7:Alice:127.0.0.1:9:bob:127.0.0.1:8")
        .await;
    c.barrier().await;
    c.send("LIST").await;
    c.expect("LIST:carol:127.0.0.1:7:Alice:127.0.0.1:9:bob:127.0.0.1:8")
        .await;
    s.stop().await;
}

#[tokio::test]
async fn reg_3_duplicate_nick_in_other_case_refused() {
    let s = TestServer::default().await;
    let (_a, _) = s.registered("alice", 5000).await;
    let mut b = s.client().await;
    for n in ["alice", "ALICE", "aLiCe"] {
        b.send(&format!("REGISTER:{n}:127.0.0.1:5001")).await;
        b.expect_err("NICK_IN_USE").await;
    }
    s.stop().await;
}

#[tokio::test]
async fn reg_4_bad_nick() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    let long = "a".repeat(33);
    for n in ["", long.as_str(), "al ice", "al.ice", "é"] {
        c.send(&format!("REGISTER:{n}:127.0.0.1:5000")).await;
        c.expect_err("BAD_NICK").await;
    }
    let ok = "a".repeat(32);
    c.register(&ok, 5000, None).await;
    s.stop().await;
}

#[tokio::test]
async fn reg_5_bad_address() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    for a in [
        "0.0.0.0:5000",
        "[::]:5000",
        "127.0.0.01:5000",
        "256.1.1.1:5000",
        "::1:5000",
        "127.0.0.1:05000",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "[fe80::1:5000",
        "host:5000",
    ] {
        c.send(&format!("REGISTER:alice:{a}")).await;
        c.expect_err("BAD_ADDRESS").await;
    }
    c.send("REGISTER:alice:[::1]:65535").await;
    c.expect("UPDATE:JOIN:alice:[::1]:65535").await;
    s.stop().await;
}

#[tokio::test]
async fn reg_6_register_twice_refused_registration_unchanged() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    a.send("REGISTER:other:127.0.0.1:6000").await;
    a.expect_err("ALREADY_REGISTERED").await;
    a.send("LIST").await;
    a.expect("LIST:alice:127.0.0.1:5000").await;
    s.stop().await;
}

#[tokio::test]
async fn reg_7_refused_register_leaves_no_trace() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let mut b = s.client().await;
    b.send("REGISTER:ALICE:127.0.0.1:1").await;
    b.expect_err("NICK_IN_USE").await;
    b.send("REGISTER:bad!:127.0.0.1:1").await;
    b.expect_err("BAD_NICK").await;
    a.quiet().await;
    // Still unregistered, may try again.
    b.send("LIST").await;
    b.expect_err("NOT_REGISTERED").await;
    b.register("bob", 5001, None).await;
    s.stop().await;
}

#[tokio::test]
async fn reg_8_nick_kept_in_given_case() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("AlIcE", 5000).await;
    let (_b, _) = s.registered("bob", 5001).await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    a.send("QUERY:alice").await;
    a.expect("USER:AlIcE:127.0.0.1:5000").await;
    a.send("BROADCAST:AlIcE:1:x").await;
    a.expect("BROADCAST:AlIcE:1:x").await;
    s.stop().await;
}

#[tokio::test]
async fn own_1_first_registration_gets_a_token_between_join_and_list() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    // A token given for an unowned nick is ignored.
    c.send("REGISTER:alice:127.0.0.1:5000:0123456789abcdef0123456789abcdef")
        .await;
    c.expect("UPDATE:JOIN:alice:127.0.0.1:5000").await;
    let tok = c.line().await;
    let t = tok.strip_prefix("TOKEN:alice:").expect("TOKEN line");
    assert_eq!(t.len(), 32);
    assert!(
        t.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_ne!(t, "0123456789abcdef0123456789abcdef");
    c.expect("LIST:alice:127.0.0.1:5000").await;
    s.stop().await;
}

#[tokio::test]
async fn own_2_owned_nick_needs_the_token() {
    let s = TestServer::default().await;
    let (mut a, tok) = s.registered("alice", 5000).await;
    let tok = tok.unwrap();
    a.send("QUIT").await;
    a.expect("BYE").await;
    let mut b = s.client().await;
    b.send("REGISTER:Alice:127.0.0.1:5001").await;
    b.expect_err("NICK_OWNED").await;
    b.send("REGISTER:alice:127.0.0.1:5001:ffffffffffffffffffffffffffffffff")
        .await;
    b.expect_err("NICK_OWNED").await;
    let _ = tok;
    s.stop().await;
}

#[tokio::test]
async fn own_3_token_reregisters_without_new_token() {
    let s = TestServer::default().await;
    let (mut a, tok) = s.registered("alice", 5000).await;
    let tok = tok.unwrap();
    a.send("QUIT").await;
    a.expect("BYE").await;
    let mut b = s.client().await;
    b.send(&format!("REGISTER:ALICE:127.0.0.1:5001:{tok}"))
        .await;
    b.expect("UPDATE:JOIN:ALICE:127.0.0.1:5001").await;
    b.expect("LIST:ALICE:127.0.0.1:5001").await;
    s.stop().await;
}

#[tokio::test]
async fn own_5_tokens_are_random_and_distinct() {
    let s = TestServer::default().await;
    let mut seen = std::collections::HashSet::new();
    for i in 0..20 {
        let (_c, t) = s.registered(&format!("u{i}"), 5000).await;
        assert!(seen.insert(t.unwrap()));
    }
    s.stop().await;
}

// ---- §9 list and query ---------------------------------------------------------

#[tokio::test]
async fn lst_1_list_on_request() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let (_b, _) = s.registered("bob", 5001).await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    a.send("LIST").await;
    a.expect("LIST:alice:127.0.0.1:5000:bob:127.0.0.1:5001")
        .await;
    s.stop().await;
}

#[tokio::test]
async fn lst_2_lst_3_query() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let mut b = s.client().await;
    b.send("REGISTER:bob:[fe80::1]:5001").await;
    a.expect("UPDATE:JOIN:bob:[fe80::1]:5001").await;
    a.send("QUERY:BOB").await;
    a.expect("USER:bob:[fe80::1]:5001").await;
    a.send("QUERY:carol").await;
    a.expect_err("NO_SUCH_NICK").await;
    a.send("QUERY:bad!").await;
    a.expect_err("BAD_NICK").await;
    s.stop().await;
}

// ---- §10 broadcast, joins and leaves ---------------------------------------------

#[tokio::test]
async fn brd_1_relayed_to_all_with_echo() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let (mut b, _) = s.registered("bob", 5001).await;
    let mut unreg = s.client().await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    a.send("BROADCAST:alice:11:hello: all!").await;
    a.expect("BROADCAST:alice:11:hello: all!").await;
    b.expect("BROADCAST:alice:11:hello: all!").await;
    // Unregistered connections get nothing.
    unreg.quiet().await;
    // Multi-byte text: len counts octets.
    a.send("BROADCAST:alice:6:héllo").await;
    a.expect("BROADCAST:alice:6:héllo").await;
    s.stop().await;
}

/// Clients `u0` .. `u7`, registered, each read up to its barrier's PONG (past the
/// JOINs of the others): more recipients than a sender's thread writes itself.
async fn eight_registered(s: &TestServer) -> Vec<Client> {
    let mut clients = Vec::new();
    for i in 0..8u16 {
        let (c, _) = s.registered(&format!("u{i}"), 5000 + i).await;
        clients.push(c);
    }
    for c in &mut clients {
        c.barrier().await;
    }
    clients
}

/// Regression guard for the echo that waits: a broadcast reaching more connections
/// than the sender's thread writes itself has its echo left to the sender's own
/// wake-up (PERFORMANCE.md §14); it must still arrive, behind the reply queued ahead
/// of it, when the sender sends nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brd_1_echo_reaches_a_silent_sender_among_many_recipients() {
    let s = TestServer::default().await;
    let mut clients = eight_registered(&s).await;
    clients[0].send("PING:before").await;
    clients[0].send("BROADCAST:u0:5:hello").await;
    clients[0].expect("PONG:before").await;
    for c in &mut clients {
        c.expect("BROADCAST:u0:5:hello").await;
    }
    for c in &mut clients {
        c.quiet().await;
    }
    s.stop().await;
}

/// Regression guard for the broadcasts held back within one read (PERFORMANCE.md
/// §19): a read that mixes broadcasts with a reply from the hub (PONG), a private
/// message (SENT to the sender, MSG to one recipient) and a reply from the state
/// machine (ERR for an unknown verb) must still deliver every connection's lines in
/// the order they were made ([GEN-4], [BRD-3]). Enough recipients that the
/// broadcasts wake their tasks rather than being written by the sender's thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen_4_broadcasts_held_within_a_read_keep_their_place() {
    let s = TestServer::default().await;
    let mut clients = eight_registered(&s).await;
    let mut burst = String::new();
    for line in [
        "BROADCAST:u0:2:b1",
        "BROADCAST:u0:2:b2",
        "PING:mid",
        "BROADCAST:u0:2:b3",
        "SEND:u1:2:pm",
        "BROADCAST:u0:2:b4",
        "NOPE",
        "BROADCAST:u0:2:b5",
    ] {
        burst.push_str(line);
        burst.push_str("\r\n");
    }
    clients[0].raw(burst.as_bytes()).await;
    let (sender, others) = clients.split_at_mut(1);
    let sender = &mut sender[0];
    sender.expect("BROADCAST:u0:2:b1").await;
    sender.expect("BROADCAST:u0:2:b2").await;
    sender.expect("PONG:mid").await;
    sender.expect("BROADCAST:u0:2:b3").await;
    let sent = sender.line().await;
    assert!(
        sent.starts_with("SENT:") && sent.ends_with(":LIVE"),
        "{sent}"
    );
    sender.expect("BROADCAST:u0:2:b4").await;
    sender.expect_err("UNKNOWN_VERB").await;
    sender.expect("BROADCAST:u0:2:b5").await;
    for (i, c) in others.iter_mut().enumerate() {
        c.expect("BROADCAST:u0:2:b1").await;
        c.expect("BROADCAST:u0:2:b2").await;
        c.expect("BROADCAST:u0:2:b3").await;
        if i == 0 {
            let msg = c.line().await;
            assert!(msg.starts_with("MSG:") && msg.ends_with(":2:pm"), "{msg}");
        }
        c.expect("BROADCAST:u0:2:b4").await;
        c.expect("BROADCAST:u0:2:b5").await;
    }
    for c in &mut clients {
        c.quiet().await;
    }
    s.stop().await;
}

#[tokio::test]
async fn brd_2_other_nick_refused_and_not_relayed() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let (mut b, _) = s.registered("bob", 5001).await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    b.send("BROADCAST:alice:2:hi").await;
    b.expect_err("NOT_YOUR_NICK").await;
    b.send("BROADCAST:BOB:2:hi").await;
    b.expect_err("NOT_YOUR_NICK").await;
    a.quiet().await;
    s.stop().await;
}

#[tokio::test]
async fn brd_3_same_order_everywhere() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let (mut b, _) = s.registered("bob", 5001).await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    let mut wa = String::new();
    let mut wb = String::new();
    for i in 0..50 {
        wa.push_str(&format!("BROADCAST:alice:3:a{i:02}\r\n"));
        wb.push_str(&format!("BROADCAST:bob:3:b{i:02}\r\n"));
    }
    let (ra, rb) = tokio::join!(a.raw(wa.as_bytes()), b.raw(wb.as_bytes()));
    let _ = (ra, rb);
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for _ in 0..100 {
        seen_a.push(a.line().await);
        seen_b.push(b.line().await);
    }
    assert_eq!(seen_a, seen_b);
    s.stop().await;
}

#[tokio::test]
async fn brd_4_undecodable_broadcast_relayed_to_nobody() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let (mut b, _) = s.registered("bob", 5001).await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    for (line, code) in [
        ("BROADCAST:alice:4:hello", "BAD_LENGTH"),
        ("BROADCAST:alice:2000:x", "TEXT_TOO_LONG"),
        ("BROADCAST:alice:5", "MALFORMED"),
        ("BROADCAST:alice::", "MALFORMED"),
    ] {
        a.send(line).await;
        a.expect_err(code).await;
    }
    b.quiet().await;
    s.stop().await;
}

#[tokio::test]
async fn lea_1_leave_once_on_quit_close_and_error() {
    let s = TestServer::start(reference_server::Config {
        rate_burst: 3,
        rate_per_sec: 1,
        ..common::quick()
    })
    .await;
    let (mut w, _) = s.registered("watcher", 5000).await;
    // QUIT
    let (mut a, _) = s.registered("alice", 5001).await;
    w.expect("UPDATE:JOIN:alice:127.0.0.1:5001").await;
    a.send("QUIT").await;
    a.expect("BYE").await;
    a.expect_closed().await;
    w.expect("UPDATE:LEAVE:alice:127.0.0.1:5001").await;
    // close by the peer; the nick is free again afterwards
    let mut b = s.client().await;
    b.send("REGISTER:bob:127.0.0.1:5002").await;
    w.expect("UPDATE:JOIN:bob:127.0.0.1:5002").await;
    drop(b);
    w.expect("UPDATE:LEAVE:bob:127.0.0.1:5002").await;
    // an error that closes (FLOOD)
    let mut f = s.client().await;
    f.send("REGISTER:flood:127.0.0.1:5003").await;
    w.expect("UPDATE:JOIN:flood:127.0.0.1:5003").await;
    f.raw(b"PING:1\r\nPING:2\r\nPING:3\r\nPING:4\r\n").await;
    w.expect("UPDATE:LEAVE:flood:127.0.0.1:5003").await;
    // barrier: exactly once
    w.send("PING:x").await;
    w.expect("PONG:x").await;
    s.stop().await;
}

#[tokio::test]
async fn lea_2_unregistered_connection_leaves_no_trace() {
    let s = TestServer::default().await;
    let (mut w, _) = s.registered("watcher", 5000).await;
    let mut c = s.client().await;
    c.send("PING:x").await;
    c.expect("PONG:x").await;
    drop(c);
    let mut d = s.client().await;
    d.send("QUIT").await;
    d.expect("BYE").await;
    d.expect_closed().await;
    w.quiet().await;
    s.stop().await;
}

// ---- §11 relay ------------------------------------------------------------------

#[tokio::test]
async fn rly_1_rly_2_live_and_queued_with_increasing_ids() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let (mut b, _) = s.registered("bob", 5001).await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    a.send("SEND:bob:9:hi there!").await;
    let sent = a.line().await;
    let id: u64 = sent
        .strip_prefix("SENT:")
        .and_then(|r| r.strip_suffix(":LIVE"))
        .unwrap()
        .parse()
        .unwrap();
    let msg = b.line().await;
    let parts: Vec<&str> = msg.splitn(6, ':').collect();
    assert_eq!(parts[0], "MSG");
    assert_eq!(parts[1], id.to_string());
    assert_eq!(parts[2], "alice");
    let t: u64 = parts[3].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(t <= now && t + 60 > now);
    assert_eq!(&parts[4..], &["9", "hi there!"]);
    // carol is owned but offline: QUEUED, with a greater id
    let (mut c, _) = s.registered("carol", 5002).await;
    c.send("QUIT").await;
    c.expect("BYE").await;
    a.expect("UPDATE:JOIN:carol:127.0.0.1:5002").await;
    a.expect("UPDATE:LEAVE:carol:127.0.0.1:5002").await;
    a.send("SEND:CAROL:5:later").await;
    let sent = a.line().await;
    let rest = sent.strip_prefix("SENT:").unwrap();
    let (id2, d) = rest.split_once(':').unwrap();
    assert_eq!(d, "QUEUED");
    assert!(id2.parse::<u64>().unwrap() > id);
    s.stop().await;
}

#[tokio::test]
async fn rly_3_redelivery_in_order_after_list_including_unacked_live() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let (mut b, btok) = s.registered("bob", 5001).await;
    let btok = btok.unwrap();
    a.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    a.send("SEND:bob:5:live1").await;
    assert!(a.line().await.ends_with(":LIVE"));
    let m1 = b.line().await;
    assert!(m1.ends_with(":5:live1"));
    drop(b); // never acknowledged
    a.expect("UPDATE:LEAVE:bob:127.0.0.1:5001").await;
    for i in 0..5 {
        a.send(&format!("SEND:bob:2:q{i}")).await;
        assert!(a.line().await.ends_with(":QUEUED"));
    }
    let mut b = s.client().await;
    b.send(&format!("REGISTER:bob:127.0.0.1:5001:{btok}")).await;
    b.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    b.expect("LIST:alice:127.0.0.1:5000:bob:127.0.0.1:5001")
        .await;
    assert_eq!(b.line().await, m1);
    let mut last = 0;
    for i in 0..5 {
        let m = b.line().await;
        assert!(m.ends_with(&format!(":2:q{i}")), "{m}");
        let id: u64 = m.split(':').nth(1).unwrap().parse().unwrap();
        assert!(id > last);
        last = id;
    }
    b.quiet().await;
    s.stop().await;
}

#[tokio::test]
async fn rly_4_ack_removes_only_from_own_mailbox() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let (mut b, btok) = s.registered("bob", 5001).await;
    let (mut c, ctok) = s.registered("carol", 5002).await;
    b.expect("UPDATE:JOIN:carol:127.0.0.1:5002").await;
    a.send("SEND:bob:3:for").await;
    let mb = b.line().await;
    let id_b = mb.split(':').nth(1).unwrap().to_owned();
    let _ = a.line().await;
    a.send("SEND:carol:3:two").await;
    let mc = c.line().await;
    let id_c = c_id(&mc);
    // carol acknowledges bob's id: ignored, no reply; bob acks his own.
    c.send(&format!("ACK:{id_b}")).await;
    c.quiet().await;
    b.send(&format!("ACK:{id_b}")).await;
    b.quiet().await;
    drop(b);
    drop(c);
    let mut b = s.client().await;
    b.register("bob", 5001, btok.as_deref()).await;
    b.quiet().await; // acknowledged: not redelivered
    let mut c = s.client().await;
    c.register("carol", 5002, ctok.as_deref()).await;
    let again = c.line().await;
    assert_eq!(c_id(&again), id_c);
    s.stop().await;
}

fn c_id(msg: &str) -> String {
    msg.split(':').nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn rly_6_unknown_or_self_target() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    a.send("SEND:nobody:1:x").await;
    a.expect_err("NO_SUCH_NICK").await;
    a.send("SEND:ALICE:1:x").await;
    a.expect_err("BAD_TARGET").await;
    s.stop().await;
}

#[tokio::test]
async fn rly_7_mailbox_quota() {
    let s = TestServer::start(reference_server::Config {
        mailbox_quota: 100,
        rate_burst: 0,
        ..common::quick()
    })
    .await;
    let (mut b, _) = s.registered("bob", 5001).await;
    b.send("QUIT").await;
    b.expect("BYE").await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let mut batch = String::new();
    for _ in 0..100 {
        batch.push_str("SEND:bob:1:x\r\n");
    }
    a.raw(batch.as_bytes()).await;
    for _ in 0..100 {
        assert!(a.line().await.ends_with(":QUEUED"));
    }
    a.send("SEND:bob:1:x").await;
    a.expect_err("MAILBOX_FULL").await;
    s.stop().await;
}

// ---- §12 blocking ------------------------------------------------------------------

#[tokio::test]
async fn blk_1_blk_3_blk_4_block_unblock_list() {
    let s = TestServer::default().await;
    let (mut b, _) = s.registered("bob", 5001).await;
    b.send("BLOCK:Alice").await;
    b.expect("BLOCKED:Alice").await;
    b.send("BLOCK:zed").await;
    b.expect("BLOCKED:zed").await;
    b.send("BLOCK:alice").await; // twice: not an error
    b.expect("BLOCKED:alice").await;
    b.send("BLOCKS").await;
    b.expect("BLOCKS:Alice:zed").await;
    b.send("UNBLOCK:ALICE").await;
    b.expect("UNBLOCKED:ALICE").await;
    b.send("UNBLOCK:never").await;
    b.expect("UNBLOCKED:never").await;
    b.send("BLOCKS").await;
    b.expect("BLOCKS:zed").await;
    s.stop().await;
}

#[tokio::test]
async fn blk_2_block_self() {
    let s = TestServer::default().await;
    let (mut b, _) = s.registered("bob", 5001).await;
    b.send("BLOCK:BOB").await;
    b.expect_err("BAD_TARGET").await;
    s.stop().await;
}

#[tokio::test]
async fn blk_5_blk_6_blocked_sender_silently_dropped() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let (mut b, btok) = s.registered("bob", 5001).await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    b.send("BLOCK:ALICE").await;
    b.expect("BLOCKED:ALICE").await;
    a.send("BROADCAST:alice:3:hey").await;
    a.expect("BROADCAST:alice:3:hey").await;
    a.send("SEND:bob:3:hey").await;
    assert!(a.line().await.ends_with(":LIVE"));
    b.quiet().await;
    // offline: answered QUEUED, never stored, not even after UNBLOCK
    b.send("QUIT").await;
    b.expect("BYE").await;
    a.expect("UPDATE:LEAVE:bob:127.0.0.1:5001").await;
    a.send("SEND:bob:3:hey").await;
    assert!(a.line().await.ends_with(":QUEUED"));
    let mut b = s.client().await;
    b.register("bob", 5001, btok.as_deref()).await;
    b.send("UNBLOCK:alice").await;
    b.expect("UNBLOCKED:alice").await;
    b.quiet().await;
    s.stop().await;
}

#[tokio::test]
async fn blk_7_ticket_to_blocker_answered_without_invite() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let (mut b, _) = s.registered("bob", 5001).await;
    a.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    b.send("BLOCK:alice").await;
    b.expect("BLOCKED:alice").await;
    a.send("TICKET:bob").await;
    let t = a.line().await;
    assert!(t.starts_with("TICKET:bob:127.0.0.1:5001:"), "{t}");
    b.quiet().await;
    s.stop().await;
}

// ---- §13 tickets ----------------------------------------------------------------------

#[tokio::test]
async fn tkt_1_tkt_3_invite_then_ticket_same_random_ticket() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let mut b = s.client().await;
    b.send("REGISTER:bob:[fe80::1]:5001").await;
    a.expect("UPDATE:JOIN:bob:[fe80::1]:5001").await;
    let _ = (b.line().await, b.line().await, b.line().await);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..5 {
        a.send("TICKET:BOB").await;
        let inv = b.line().await;
        let ticket = inv
            .strip_prefix("INVITE:alice:127.0.0.1:5000:")
            .unwrap()
            .to_owned();
        assert_eq!(ticket.len(), 32);
        assert!(
            ticket
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
        a.expect(&format!("TICKET:bob:[fe80::1]:5001:{ticket}"))
            .await;
        assert!(seen.insert(ticket));
    }
    s.stop().await;
}

#[tokio::test]
async fn tkt_2_unknown_or_self() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    a.send("TICKET:nobody").await;
    a.expect_err("NO_SUCH_NICK").await;
    a.send("TICKET:alice").await;
    a.expect_err("BAD_TARGET").await;
    s.stop().await;
}

// ---- §17 keepalive, quit, bounds -------------------------------------------------------

#[tokio::test]
async fn ka_1_ping_answered_in_every_state() {
    let s = TestServer::default().await;
    let mut c = s.client().await;
    c.send("PING:before").await;
    c.expect("PONG:before").await;
    c.register("alice", 5000, None).await;
    c.send("PING:Ab-_9").await;
    c.expect("PONG:Ab-_9").await;
    s.stop().await;
}

#[tokio::test]
async fn ka_3_keepalive_ping_then_idle_timeout() {
    let s = TestServer::start(reference_server::Config {
        keepalive: std::time::Duration::from_millis(300),
        idle_timeout: std::time::Duration::from_millis(1200),
        ..common::quick()
    })
    .await;
    let mut c = s.client().await;
    c.send("REGISTER:idle:127.0.0.1:5001").await;
    let _ = (c.line().await, c.line().await, c.line().await);
    let ping = c.line().await;
    let token = ping.strip_prefix("PING:").expect("a keepalive PING");
    c.send(&format!("PONG:{token}")).await;
    // silent from now on: PING again, then TIMEOUT and close
    assert!(c.line().await.starts_with("PING:"));
    c.expect_err("TIMEOUT").await;
    c.expect_closed().await;
    s.stop().await;
}

#[tokio::test]
async fn quit_1_bye_then_close() {
    let s = TestServer::default().await;
    let (mut c, _) = s.registered("alice", 5000).await;
    c.raw(b"QUIT\r\nPING:never\r\n").await;
    c.expect("BYE").await;
    c.expect_closed().await;
    s.stop().await;
}

#[tokio::test]
async fn lim_3_server_full_refused_with_clear_error() {
    let s = TestServer::start(reference_server::Config {
        max_connections: 2,
        ..common::quick()
    })
    .await;
    let mut a = s.client().await;
    let mut b = s.client().await;
    a.quiet().await;
    b.quiet().await;
    let mut c = s.client().await;
    c.expect_err("SERVER_FULL").await;
    c.expect_closed().await;
    drop(a);
    // a slot frees up once a's task is gone
    let deadline = std::time::Instant::now() + common::DEADLINE;
    loop {
        let mut d = s.client().await;
        d.send("PING:in").await;
        let l = d.line().await;
        if l == "PONG:in" {
            break;
        }
        check_err(&l, "SERVER_FULL");
        assert!(std::time::Instant::now() < deadline);
        tokio::task::yield_now().await;
    }
    b.quiet().await;
    s.stop().await;
}

#[tokio::test]
async fn lim_4_partial_line_timeout() {
    let s = TestServer::start(reference_server::Config {
        partial_line_timeout: std::time::Duration::from_millis(300),
        ..common::quick()
    })
    .await;
    let mut c = s.client().await;
    c.raw(b"PING:fine\r\nPING:unfini").await;
    c.expect("PONG:fine").await;
    c.expect_err("TIMEOUT").await;
    c.expect_closed().await;
    s.stop().await;
}

#[tokio::test]
async fn shutdown_tells_clients_and_run_returns() {
    let s = TestServer::default().await;
    let (mut a, _) = s.registered("alice", 5000).await;
    let stop = tokio::spawn(s.stop());
    a.expect_err("SHUTDOWN").await;
    a.expect_closed().await;
    stop.await.unwrap();
}
