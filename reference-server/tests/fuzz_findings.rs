//! Regression tests for what the fuzz targets found in the reference server, one per
//! finding, named after what broke (see `fuzz/README.md`, "Findings"). A finding
//! reported and not fixed yet is `#[ignore]`d with its number; un-ignore it with the fix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

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
#[ignore = "F2: reported, not fixed yet"]
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
#[ignore = "F2: reported, not fixed yet"]
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
