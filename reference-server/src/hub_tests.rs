//! Hub unit tests: deterministic (counting entropy, in-memory store), no sockets.

use std::time::Duration;

use spec::ClientLine;

use crate::entropy::CountingEntropy;
use crate::hub::{ConnId, Hub, HubConfig, Now, Outcome};
use crate::store::MemoryStore;

fn hub() -> Hub {
    Hub::new(
        Box::new(MemoryStore::new()),
        Box::new(CountingEntropy::default()),
        HubConfig::default(),
    )
}

const NOW: Now = Now {
    mono: Duration::from_secs(1),
    unix_secs: 1_763_713_200,
};

/// Sends one line from `conn`; returns the outcome and the lines produced.
fn send(h: &mut Hub, conn: ConnId, line: &str) -> (Outcome, Vec<(ConnId, String)>) {
    let cmd = ClientLine::decode(line.as_bytes()).expect("valid line");
    let mut out: Vec<(ConnId, Vec<u8>)> = Vec::new();
    let o = h.handle(conn, cmd, NOW, &mut out);
    (o, text(out))
}

fn text(out: Vec<(ConnId, Vec<u8>)>) -> Vec<(ConnId, String)> {
    out.into_iter()
        .map(|(c, b)| {
            let s = String::from_utf8(b).expect("utf-8");
            (c, s.strip_suffix("\r\n").expect("CRLF").to_owned())
        })
        .collect()
}

fn lines(v: &[(ConnId, String)]) -> Vec<String> {
    v.iter().map(|(c, l)| format!("S{c}: {l}")).collect()
}

#[test]
fn reg_1_own_1_register_transcript() {
    let mut h = hub();
    let (o, out) = send(&mut h, 1, "REGISTER:alice:192.168.1.10:5000");
    assert_eq!(o, Outcome::Registered);
    assert_eq!(
        lines(&out),
        [
            "S1: UPDATE:JOIN:alice:192.168.1.10:5000",
            "S1: TOKEN:alice:00000000000000000000000000000001",
            "S1: LIST:alice:192.168.1.10:5000",
        ]
    );
    let (_, out) = send(&mut h, 2, "REGISTER:bob:[fe80::1]:5001");
    assert_eq!(
        lines(&out),
        [
            "S1: UPDATE:JOIN:bob:[fe80::1]:5001",
            "S2: UPDATE:JOIN:bob:[fe80::1]:5001",
            "S2: TOKEN:bob:00000000000000000000000000000002",
            "S2: LIST:alice:192.168.1.10:5000:bob:[fe80::1]:5001",
        ]
    );
}

#[test]
fn rly_1_rly_3_send_queue_and_redeliver() {
    let mut h = hub();
    send(&mut h, 1, "REGISTER:alice:10.0.0.1:1");
    send(&mut h, 2, "REGISTER:bob:10.0.0.2:2");
    let (_, out) = send(&mut h, 1, "SEND:bob:2:hi");
    assert_eq!(
        lines(&out),
        ["S1: SENT:1:LIVE", "S2: MSG:1:alice:1763713200:2:hi"]
    );
    let mut sink: Vec<(ConnId, Vec<u8>)> = Vec::new();
    h.disconnect(2, &mut sink);
    assert_eq!(lines(&text(sink)), ["S1: UPDATE:LEAVE:bob:10.0.0.2:2"]);
    let (_, out) = send(&mut h, 1, "SEND:BOB:3:two");
    assert_eq!(lines(&out), ["S1: SENT:2:QUEUED"]);
    let (_, out) = send(
        &mut h,
        3,
        "REGISTER:bob:10.0.0.2:2:00000000000000000000000000000002",
    );
    assert_eq!(
        lines(&out),
        [
            "S1: UPDATE:JOIN:bob:10.0.0.2:2",
            "S3: UPDATE:JOIN:bob:10.0.0.2:2",
            "S3: LIST:alice:10.0.0.1:1:bob:10.0.0.2:2",
            "S3: MSG:1:alice:1763713200:2:hi",
            "S3: MSG:2:alice:1763713200:3:two",
        ]
    );
}

#[test]
fn blk_6_dropped_send_consumes_an_id() {
    let mut h = hub();
    send(&mut h, 1, "REGISTER:alice:10.0.0.1:1");
    send(&mut h, 2, "REGISTER:bob:10.0.0.2:2");
    send(&mut h, 2, "BLOCK:alice");
    let (_, out) = send(&mut h, 1, "SEND:bob:2:hi");
    assert_eq!(lines(&out), ["S1: SENT:1:LIVE"]);
    let (_, out) = send(&mut h, 1, "BROADCAST:alice:2:hi");
    assert_eq!(lines(&out), ["S1: BROADCAST:alice:2:hi"]);
}

#[test]
fn tkt_1_invite_before_ticket() {
    let mut h = hub();
    send(&mut h, 1, "REGISTER:alice:10.0.0.1:1");
    send(&mut h, 2, "REGISTER:bob:10.0.0.2:2");
    let (_, out) = send(&mut h, 1, "TICKET:bob");
    assert_eq!(
        lines(&out),
        [
            "S2: INVITE:alice:10.0.0.1:1:00000000000000000000000000000003",
            "S1: TICKET:bob:10.0.0.2:2:00000000000000000000000000000003",
        ]
    );
}

#[test]
fn lea_2_unregistered_disconnect_is_silent() {
    let mut h = hub();
    send(&mut h, 1, "REGISTER:alice:10.0.0.1:1");
    let mut sink: Vec<(ConnId, Vec<u8>)> = Vec::new();
    h.disconnect(7, &mut sink);
    assert!(sink.is_empty());
}
