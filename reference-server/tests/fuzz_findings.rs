//! Regression tests for what the fuzz targets found in the reference server, one per
//! finding, named after what broke (see `fuzz/README.md`, "Findings"). F2 and F3 were
//! fixed in ef9b59d while the fuzz work was under way (the conformance cases SRV-BLK-010
//! and SRV-BLK-011 found them too); these tests keep them fixed.

// `..HubConfig::default()` is needed with `--features faults` (the `faults` field).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::needless_update)]

use std::time::Duration;

use reference_server::entropy::CountingEntropy;
use reference_server::store::MemoryStore;
use reference_server::{Hub, HubConfig, Now};
use spec::limits::MAX_LINE;
use spec::{Address, ClientLine, Ip, Nick, Port, ServerLine};

fn hub() -> Hub {
    Hub::new(
        Box::new(MemoryStore::new()),
        Box::new(CountingEntropy::default()),
        HubConfig::default(),
    )
}

fn now() -> Now {
    Now {
        mono: Duration::from_secs(1),
        unix_secs: 1_763_713_200,
    }
}

fn long_nick(i: usize) -> Nick {
    Nick::new(&format!("u{i:031}")).unwrap()
}

/// Every line is within `MAX_LINE` and decodes.
fn assert_lines_fit(out: &[(u64, Vec<u8>)]) {
    for (c, l) in out {
        let body = l.strip_suffix(b"\r\n").unwrap();
        assert!(
            body.len() <= MAX_LINE,
            "a line of {} octets for connection {c}",
            body.len()
        );
        ServerLine::decode(body).unwrap();
    }
}

/// F2 (`hub_sequences`): with 26 users of 32-character nicks and long IPv6 addresses
/// the LIST reply passed MAX_LINE in one line ([REG-2]: split it into LISTPART lines).
#[test]
fn hub_list_reply_longer_than_max_line_is_split() {
    let mut h = hub();
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    for i in 0..30u64 {
        let ip = Ip::new(&format!("2001:0db8:0000:0000:0000:ff00:0042:{i:04x}")).unwrap();
        let register = ClientLine::Register {
            nick: long_nick(i as usize),
            address: Address::new(ip, Port::new(65535).unwrap()),
            token: None,
        };
        h.handle(i + 1, register, now(), &mut out);
    }
    h.handle(1, ClientLine::List, now(), &mut out);
    assert_lines_fit(&out);
}

/// F2 (`hub_sequences`): 70 blocks of 32-character nicks made a BLOCKS reply longer than
/// MAX_LINE ([BLK-4]: split it into BLOCKSPART lines).
#[test]
fn hub_blocks_reply_longer_than_max_line_is_split() {
    let mut h = hub();
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    let register = ClientLine::Register {
        nick: Nick::new("alice").unwrap(),
        address: Address::new(Ip::new("127.0.0.1").unwrap(), Port::new(5000).unwrap()),
        token: None,
    };
    h.handle(1, register, now(), &mut out);
    for i in 0..70 {
        h.handle(1, ClientLine::Block { nick: long_nick(i) }, now(), &mut out);
    }
    h.handle(1, ClientLine::Blocks, now(), &mut out);
    assert_lines_fit(&out);
}

fn register(h: &mut Hub, conn: u64, nick: &str, out: &mut Vec<(u64, Vec<u8>)>) {
    let register = ClientLine::Register {
        nick: Nick::new(nick).unwrap(),
        address: Address::new(Ip::new("127.0.0.1").unwrap(), Port::new(5000).unwrap()),
        token: None,
    };
    h.handle(conn, register, now(), out);
}

/// F3 (`hub_sequences` model): a SEND from a blocked sender to a full mailbox was
/// answered `SENT` instead of `MAILBOX_FULL`. [BLK-6]: "The quota of [RLY-7] is checked
/// first, so a blocked sender gets MAILBOX_FULL exactly when anyone else would."
#[test]
fn hub_send_from_blocked_sender_to_full_mailbox_is_mailbox_full() {
    let mut h = Hub::new(
        Box::new(MemoryStore::new()),
        Box::new(CountingEntropy::default()),
        HubConfig {
            mailbox_quota: 1,
            ..HubConfig::default()
        },
    );
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    register(&mut h, 1, "alice", &mut out);
    register(&mut h, 2, "bob", &mut out);
    let send = || ClientLine::Send {
        nick: Nick::new("alice").unwrap(),
        text: spec::Text::new("hi").unwrap(),
    };
    // bob fills alice's mailbox (quota 1), then alice blocks bob.
    h.handle(2, send(), now(), &mut out);
    h.handle(
        1,
        ClientLine::Block {
            nick: Nick::new("bob").unwrap(),
        },
        now(),
        &mut out,
    );
    out.clear();
    h.handle(2, send(), now(), &mut out);
    assert_eq!(out.len(), 1);
    let reply = String::from_utf8_lossy(&out[0].1).into_owned();
    assert!(
        reply.starts_with("ERR:MAILBOX_FULL:"),
        "a blocked sender to a full mailbox got {reply:?}, anyone else MAILBOX_FULL"
    );
}
