//! Hub unit tests: deterministic (counting entropy, in-memory store), no sockets.

use std::time::Duration;

use spec::ClientLine;

use crate::entropy::CountingEntropy;
use crate::hub::{ConnId, Hub, HubConfig, Now, Outcome};
use crate::store::MemoryStore;

fn hub() -> Hub {
    hub_with(HubConfig::default())
}

/// A hub with `config` over an in-memory store and counting entropy.
fn hub_with(config: HubConfig) -> Hub {
    Hub::new(
        Box::new(MemoryStore::new()),
        Box::new(CountingEntropy::default()),
        config,
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

/// PROTOCOL.md §10 after [LEA-1]: once the server is stopping, a connection
/// that ends frees its nick and sends nothing; before the stop it tells the
/// others.
#[test]
fn lea_1_a_stopping_server_sends_no_leave() {
    let mut h = hub();
    for (c, nick) in [(1, "alice"), (2, "bob"), (3, "carol")] {
        send(&mut h, c, &format!("REGISTER:{nick}:10.0.0.{c}:1"));
    }
    let mut sink: Vec<(ConnId, Vec<u8>)> = Vec::new();
    h.disconnect(3, &mut sink);
    assert_eq!(
        lines(&text(sink)),
        [
            "S1: UPDATE:LEAVE:carol:10.0.0.3:1",
            "S2: UPDATE:LEAVE:carol:10.0.0.3:1"
        ]
    );
    h.stop();
    let mut sink: Vec<(ConnId, Vec<u8>)> = Vec::new();
    h.disconnect(1, &mut sink);
    h.disconnect(2, &mut sink);
    assert!(sink.is_empty(), "{:?}", text(sink));
    assert_eq!(h.registry().len(), 0, "the nicks are free");
}

// ---- storage failures: ERR:UNAVAILABLE (§6) -----------------------------------

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use spec::{Msg, MsgId, Nick, Text, Timestamp};

use crate::store::{Store, StoreError, TokenHash};

/// A memory store that fails every call while its switch is on.
struct FailingStore {
    inner: MemoryStore,
    fail: Arc<AtomicBool>,
}

impl FailingStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.fail.load(Ordering::Relaxed) {
            Err(StoreError::Corrupt("injected failure".into()))
        } else {
            Ok(())
        }
    }
}

impl Store for FailingStore {
    fn owner(&mut self, key: &str) -> Result<Option<TokenHash>, StoreError> {
        self.check()?;
        self.inner.owner(key)
    }
    fn add_owner(&mut self, key: &str, nick: &Nick, hash: &TokenHash) -> Result<(), StoreError> {
        self.check()?;
        self.inner.add_owner(key, nick, hash)
    }
    fn allocate_id(&mut self) -> Result<MsgId, StoreError> {
        self.check()?;
        self.inner.allocate_id()
    }
    fn enqueue(
        &mut self,
        to: &str,
        from: &Nick,
        time: Timestamp,
        text: &Text,
    ) -> Result<MsgId, StoreError> {
        self.check()?;
        self.inner.enqueue(to, from, time, text)
    }
    fn mailbox_len(&mut self, to: &str) -> Result<usize, StoreError> {
        self.check()?;
        self.inner.mailbox_len(to)
    }
    fn pending(&mut self, to: &str) -> Result<Vec<Msg>, StoreError> {
        self.check()?;
        self.inner.pending(to)
    }
    fn ack(&mut self, to: &str, id: MsgId) -> Result<(), StoreError> {
        self.check()?;
        self.inner.ack(to, id)
    }
    #[cfg(feature = "faults")]
    fn ack_any(&mut self, id: MsgId) -> Result<(), StoreError> {
        self.check()?;
        self.inner.ack_any(id)
    }
    fn blocks(&mut self, owner: &str) -> Result<Vec<(String, Nick)>, StoreError> {
        self.check()?;
        self.inner.blocks(owner)
    }
    fn block(&mut self, owner: &str, key: &str, nick: &Nick) -> Result<(), StoreError> {
        self.check()?;
        self.inner.block(owner, key, nick)
    }
    fn unblock(&mut self, owner: &str, key: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.unblock(owner, key)
    }
}

fn failing_hub() -> (Hub, Arc<AtomicBool>) {
    let fail = Arc::new(AtomicBool::new(false));
    let store = FailingStore {
        inner: MemoryStore::new(),
        fail: Arc::clone(&fail),
    };
    let h = Hub::new(
        Box::new(store),
        Box::new(CountingEntropy::default()),
        HubConfig::default(),
    );
    (h, fail)
}

fn codes(v: &[(ConnId, String)]) -> Vec<String> {
    v.iter()
        .map(|(c, l)| {
            let code = l
                .strip_prefix("ERR:")
                .map_or(l.as_str(), |r| r.split(':').next().unwrap_or_default());
            format!("S{c}: {code}")
        })
        .collect()
}

#[test]
fn err_1_unavailable_for_every_storage_failure_and_no_trace() {
    let (mut h, fail) = failing_hub();
    send(&mut h, 1, "REGISTER:alice:10.0.0.1:1");
    send(&mut h, 2, "REGISTER:bob:10.0.0.2:2");
    let (_, out) = send(&mut h, 2, "QUIT");
    assert_eq!(lines(&out), ["S2: BYE"]);
    let mut sink: Vec<(ConnId, Vec<u8>)> = Vec::new();
    h.disconnect(2, &mut sink);
    fail.store(true, Ordering::Relaxed);
    // A new nick (owner lookup fails), and an owned one: UNAVAILABLE, and nothing goes
    // to anyone else ([REG-7]); the connection stays unregistered.
    for line in [
        "REGISTER:carol:10.0.0.3:3",
        "REGISTER:bob:10.0.0.2:2:00000000000000000000000000000002",
    ] {
        let (o, out) = send(&mut h, 3, line);
        assert_eq!(o, Outcome::Continue, "{line}");
        assert_eq!(codes(&out), ["S3: UNAVAILABLE"], "{line}");
    }
    assert!(h.registry().get(3).is_none());
    for line in ["SEND:bob:2:hi", "BLOCK:mallory", "UNBLOCK:mallory"] {
        let (o, out) = send(&mut h, 1, line);
        assert_eq!(o, Outcome::Continue, "{line}");
        assert_eq!(codes(&out), ["S1: UNAVAILABLE"], "{line}");
    }
    // ACK is not a request ([GEN-1]): a failed ACK is not answered (the message stays
    // and comes again).
    let (_, out) = send(&mut h, 1, "ACK:1");
    assert!(out.is_empty());
    // Whatever needs no storage still works.
    let (_, out) = send(&mut h, 1, "LIST");
    assert_eq!(lines(&out), ["S1: LIST:alice:10.0.0.1:1"]);
    // The storage comes back: the requests had no effect and may be tried again.
    fail.store(false, Ordering::Relaxed);
    let (_, out) = send(&mut h, 1, "BLOCKS");
    assert_eq!(lines(&out), ["S1: BLOCKS"]);
    let (o, out) = send(
        &mut h,
        3,
        "REGISTER:bob:10.0.0.2:2:00000000000000000000000000000002",
    );
    assert_eq!(o, Outcome::Registered);
    assert_eq!(out.len(), 3, "{out:?}");
    let (_, out) = send(&mut h, 1, "SEND:bob:2:hi");
    assert_eq!(
        lines(&out),
        ["S1: SENT:1:LIVE", "S3: MSG:1:alice:1763713200:2:hi"]
    );
}

// ---- long replies: LISTPART / BLOCKSPART ([REG-2], [BLK-4]) -------------------

/// Joins a split reply; checks every line is within MAX_LINE, every part but the last
/// uses `part`, and the last `last`.
fn join_split(out: &[(ConnId, String)], conn: ConnId, part: &str, last: &str) -> (usize, String) {
    let mine: Vec<&String> = out
        .iter()
        .filter(|(c, _)| *c == conn)
        .map(|(_, l)| l)
        .collect();
    let mut joined = String::new();
    for (i, l) in mine.iter().enumerate() {
        assert!(
            l.len() <= spec::limits::MAX_LINE,
            "line of {} octets",
            l.len()
        );
        let verb = if i + 1 == mine.len() { last } else { part };
        let rest = l
            .strip_prefix(verb)
            .unwrap_or_else(|| panic!("line {i} is not {verb}: {l}"));
        assert!(rest.is_empty() || rest.starts_with(':'));
        if i + 1 < mine.len() {
            assert!(!rest.is_empty(), "a part line holds an entry");
        }
        joined.push_str(rest);
    }
    (mine.len(), joined)
}

#[test]
fn reg_2_lst_1_long_list_split_into_listpart_lines() {
    let mut h = hub();
    let mut want = String::new();
    for i in 0..200 {
        let nick = format!("user{i:03}_with_a_long_nick_xxxxxx");
        let ip = format!("[2001:db8::{i:x}]");
        send(&mut h, i + 1, &format!("REGISTER:{nick}:{ip}:65000"));
        want.push_str(&format!(":{nick}:{ip}:65000"));
    }
    let (_, out) = send(&mut h, 1, "LIST");
    let (n, joined) = join_split(&out, 1, "LISTPART", "LIST");
    assert!(n > 1, "200 users do not fit one line");
    assert_eq!(joined, want);
    // The registration reply of the 201st user is split the same way, after its JOIN.
    let (_, out) = send(&mut h, 500, "REGISTER:last:10.0.0.9:9");
    let mine: Vec<_> = out.iter().filter(|(c, _)| *c == 500).cloned().collect();
    assert_eq!(mine[0].1, "UPDATE:JOIN:last:10.0.0.9:9");
    assert!(mine[1].1.starts_with("TOKEN:last:"));
    let (_, joined) = join_split(&mine[2..], 500, "LISTPART", "LIST");
    assert_eq!(joined, format!("{want}:last:10.0.0.9:9"));
}

#[test]
fn reg_2_a_list_that_fits_is_one_line() {
    let mut h = hub();
    // 2048 octets exactly: "LIST" + 61 entries of 33 octets + one of 31.
    let mut want = String::from("LIST");
    for i in 0..62 {
        let nick = if i < 61 {
            format!("n{i:02}_{}", "x".repeat(14))
        } else {
            format!("n{i:02}_{}", "x".repeat(12))
        };
        let line = format!("REGISTER:{nick}:10.0.0.1:1000");
        send(&mut h, i + 1, &line);
        want.push_str(&format!(":{nick}:10.0.0.1:1000"));
    }
    assert_eq!(want.len(), spec::limits::MAX_LINE);
    let (_, out) = send(&mut h, 1, "LIST");
    assert_eq!(lines(&out), [format!("S1: {want}")]);
    // One more octet of entries splits it.
    send(&mut h, 100, "REGISTER:z:10.0.0.1:1000");
    let (_, out) = send(&mut h, 1, "LIST");
    let (n, joined) = join_split(&out, 1, "LISTPART", "LIST");
    assert_eq!(n, 2);
    assert_eq!(format!("LIST{joined}"), format!("{want}:z:10.0.0.1:1000"));
}

#[test]
fn blk_4_long_blocks_split_into_blockspart_lines() {
    let mut h = hub();
    send(&mut h, 1, "REGISTER:alice:10.0.0.1:1");
    let mut want = String::new();
    for i in 0..200 {
        let nick = format!("Blocked{i:03}_{}", "y".repeat(20));
        let (_, out) = send(&mut h, 1, &format!("BLOCK:{nick}"));
        assert_eq!(lines(&out), [format!("S1: BLOCKED:{nick}")]);
        want.push_str(&format!(":{nick}"));
    }
    let (_, out) = send(&mut h, 1, "BLOCKS");
    let (n, joined) = join_split(&out, 1, "BLOCKSPART", "BLOCKS");
    assert!(n > 1);
    assert_eq!(joined, want);
}

// ---- order of checks ----------------------------------------------------------

#[test]
fn reg_3_nick_in_use_comes_before_nick_owned() {
    let mut h = hub();
    send(&mut h, 1, "REGISTER:alice:10.0.0.1:1");
    // Online and owned: NICK_IN_USE whatever the token, right or wrong.
    for line in [
        "REGISTER:ALICE:10.0.0.2:2",
        "REGISTER:alice:10.0.0.2:2:ffffffffffffffffffffffffffffffff",
        "REGISTER:Alice:10.0.0.2:2:00000000000000000000000000000001",
    ] {
        let (_, out) = send(&mut h, 2, line);
        assert_eq!(codes(&out), ["S2: NICK_IN_USE"], "{line}");
    }
}

#[test]
fn blk_6_rly_7_quota_checked_before_the_block() {
    let mut h = hub_with(HubConfig {
        mailbox_quota: 100,
        ..HubConfig::default()
    });
    send(&mut h, 1, "REGISTER:alice:10.0.0.1:1");
    send(&mut h, 2, "REGISTER:bob:10.0.0.2:2");
    send(&mut h, 3, "REGISTER:carol:10.0.0.3:3");
    send(&mut h, 2, "BLOCK:alice");
    // A blocked sender below the quota: SENT (dropped).
    let (_, out) = send(&mut h, 1, "SEND:bob:2:hi");
    assert_eq!(lines(&out), ["S1: SENT:1:LIVE"]);
    for i in 0..100 {
        let (_, out) = send(&mut h, 3, "SEND:bob:1:x");
        assert_eq!(out.len(), 2, "{i}: {out:?}");
    }
    // bob's mailbox is full: carol and the blocked alice both get MAILBOX_FULL.
    let (_, out) = send(&mut h, 3, "SEND:bob:1:x");
    assert_eq!(codes(&out), ["S3: MAILBOX_FULL"]);
    let (_, out) = send(&mut h, 1, "SEND:bob:2:hi");
    assert_eq!(codes(&out), ["S1: MAILBOX_FULL"]);
    // The same while bob is offline.
    let mut sink: Vec<(ConnId, Vec<u8>)> = Vec::new();
    h.disconnect(2, &mut sink);
    let (_, out) = send(&mut h, 1, "SEND:bob:2:hi");
    assert_eq!(codes(&out), ["S1: MAILBOX_FULL"]);
}

#[test]
fn blk_9_a_new_block_beyond_the_quota_is_blocks_full() {
    let mut h = hub_with(HubConfig {
        block_quota: 100,
        ..HubConfig::default()
    });
    send(&mut h, 1, "REGISTER:alice:10.0.0.1:1");
    for i in 0..100 {
        let (_, out) = send(&mut h, 1, &format!("BLOCK:u{i}"));
        assert_eq!(lines(&out), [format!("S1: BLOCKED:u{i}")]);
    }
    let held = |h: &Hub| h.registry().get(1).map(|o| o.blocks().len());
    let (_, out) = send(&mut h, 1, "BLOCK:u100");
    assert_eq!(codes(&out), ["S1: BLOCKS_FULL"]);
    assert_eq!(held(&h), Some(100), "nothing recorded");
    // Blocking a nick already blocked (any case) is not a new block.
    let (_, out) = send(&mut h, 1, "BLOCK:U5");
    assert_eq!(lines(&out), ["S1: BLOCKED:U5"]);
    // Room again after an UNBLOCK.
    send(&mut h, 1, "UNBLOCK:u0");
    let (_, out) = send(&mut h, 1, "BLOCK:u100");
    assert_eq!(lines(&out), ["S1: BLOCKED:u100"]);
    assert_eq!(held(&h), Some(100));
}

#[test]
fn blk_6_a_dropped_send_uses_up_an_id() {
    let mut h = hub();
    send(&mut h, 1, "REGISTER:alice:10.0.0.1:1");
    send(&mut h, 2, "REGISTER:bob:10.0.0.2:2");
    send(&mut h, 3, "REGISTER:carol:10.0.0.3:3");
    send(&mut h, 2, "BLOCK:alice");
    let (_, out) = send(&mut h, 1, "SEND:bob:2:hi");
    assert_eq!(lines(&out), ["S1: SENT:1:LIVE"]);
    let (_, out) = send(&mut h, 3, "SEND:bob:2:yo");
    assert_eq!(
        lines(&out),
        ["S3: SENT:2:LIVE", "S2: MSG:2:carol:1763713200:2:yo"]
    );
}

#[test]
fn brd_2_own_nick_in_another_case_is_not_your_nick() {
    let mut h = hub();
    send(&mut h, 1, "REGISTER:alice:10.0.0.1:1");
    send(&mut h, 2, "REGISTER:bob:10.0.0.2:2");
    for line in [
        "BROADCAST:Alice:2:hi",
        "BROADCAST:ALICE:2:hi",
        "BROADCAST:bob:2:hi",
    ] {
        let (_, out) = send(&mut h, 1, line);
        assert_eq!(codes(&out), ["S1: NOT_YOUR_NICK"], "{line}");
    }
}

// ---- the blocked-by index through the hub ([BLK-5], [BLK-8]) -----------------

/// Who receives a broadcast from `from` (the echo included), in order.
fn broadcast_recipients(h: &mut Hub, from: ConnId, nick: &str) -> Vec<ConnId> {
    let (_, out) = send(h, from, &format!("BROADCAST:{nick}:2:hi"));
    out.iter().map(|(c, _)| *c).collect()
}

#[test]
fn blk_5_broadcast_skips_blockers_in_any_case_across_reregistration() {
    let mut h = hub();
    send(&mut h, 1, "REGISTER:alice:127.0.0.1:5000");
    send(&mut h, 2, "REGISTER:bob:127.0.0.1:5001");
    let (_, out) = send(&mut h, 3, "REGISTER:carol:127.0.0.1:5002");
    let carol_token = out
        .iter()
        .find_map(|(_, l)| l.strip_prefix("TOKEN:carol:"))
        .expect("carol's token")
        .to_owned();
    assert_eq!(broadcast_recipients(&mut h, 2, "bob"), [1, 2, 3]);
    // carol blocks "BOB": bob's broadcasts skip her, whatever the case.
    send(&mut h, 3, "BLOCK:BOB");
    assert_eq!(broadcast_recipients(&mut h, 2, "bob"), [1, 2]);
    assert_eq!(broadcast_recipients(&mut h, 1, "alice"), [1, 2, 3]);
    // carol leaves: nothing to skip; she comes back on another connection with her
    // token, and her block with her ([BLK-8]).
    h.disconnect(3, &mut Vec::<(ConnId, Vec<u8>)>::new());
    assert_eq!(broadcast_recipients(&mut h, 2, "bob"), [1, 2]);
    send(
        &mut h,
        7,
        &format!("REGISTER:Carol:127.0.0.1:5002:{carol_token}"),
    );
    assert_eq!(broadcast_recipients(&mut h, 2, "bob"), [1, 2]);
    send(&mut h, 7, "UNBLOCK:bOb");
    assert_eq!(broadcast_recipients(&mut h, 2, "bob"), [1, 2, 7]);
}
