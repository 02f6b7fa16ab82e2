//! A broadcast goes from its bytes through the connection's state machine and the hub
//! into the recipients' queues without allocating (issue 7: no per-message allocation
//! on the hot path). A broadcast once copied the sender's key to look up who blocks it: one
//! `String` per broadcast. (A private message is stored until it is acknowledged,
//! [RLY-5], so it allocates by design.)
//!
//! In a test binary of its own, with dhat's counting allocator: it counts every
//! thread's allocations, and nothing else runs here while the test counts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use reference_server::entropy::CountingEntropy;
use reference_server::store::MemoryStore;
use reference_server::{ConnId, Hub, HubConfig, Now, Sink};
use spec::ClientLine;
use spec::machine::server_conn::{ConnLimits, ServerConn, StepRef};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Allocations so far (dhat's count of heap blocks ever allocated).
fn allocations() -> u64 {
    dhat::HeapStats::get().total_blocks
}

/// A sink that counts lines and octets and keeps nothing.
#[derive(Default)]
struct Tally {
    lines: u64,
    octets: u64,
}

impl Sink for Tally {
    fn send(&mut self, _conn: ConnId, line: &[u8]) {
        self.lines += 1;
        self.octets += line.len() as u64;
    }
}

const NOW: Now = Now {
    mono: Duration::from_secs(1),
    unix_secs: 1_763_713_200,
};

fn decode(line: &str) -> ClientLine {
    ClientLine::decode(line.as_bytes()).unwrap()
}

#[test]
fn a_broadcast_allocates_nothing_from_its_bytes_to_the_queues() {
    let mut hub = Hub::new(
        Box::new(MemoryStore::new()),
        Box::new(CountingEntropy::default()),
        HubConfig::default(),
    );
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut sink = Tally::default();
    for i in 0..10u16 {
        let line = format!("REGISTER:u{i}:127.0.0.1:{}", 5000 + i);
        hub.handle(u64::from(i), decode(&line), NOW, &mut sink);
    }
    // Someone blocks somebody else, so that the blocked-by index is not empty.
    hub.handle(9, decode("BLOCK:u8"), NOW, &mut sink);
    let broadcast = "BROADCAST:u0:11:hello there";
    // Warm up the scratch buffer and anything sized on first use.
    for _ in 0..3 {
        hub.handle(0, decode(broadcast), NOW, &mut sink);
    }
    let rounds = 100;
    // The owned request (decoded beforehand, outside the count).
    let lines: Vec<ClientLine> = (0..rounds).map(|_| decode(broadcast)).collect();
    let sink_before = sink.lines;
    let before = allocations();
    for line in lines {
        hub.handle(0, line, NOW, &mut sink);
    }
    let owned_allocations = allocations() - before;
    assert_eq!(
        sink.lines - sink_before,
        rounds * 10,
        "each broadcast reaches all 10"
    );
    assert_eq!(owned_allocations, 0, "allocations in {rounds} broadcasts");

    // The reference server's path: bytes → the connection's state machine → the hub,
    // with the request borrowed from the line; decode included in the count.
    let mut conn = ServerConn::new(ConnLimits::default(), Duration::ZERO);
    conn.set_registered();
    let sink_before = sink.lines;
    let before = allocations();
    for _ in 0..rounds {
        match conn.on_line_ref(broadcast.as_bytes(), Duration::ZERO) {
            StepRef::Request(cmd) => {
                hub.handle_ref(0, cmd, NOW, &mut sink);
            }
            StepRef::Step(step) => panic!("not passed to the hub: {step:?}"),
        }
    }
    let borrowed_allocations = allocations() - before;
    assert_eq!(sink.lines - sink_before, rounds * 10);
    assert_eq!(
        borrowed_allocations, 0,
        "allocations in {rounds} broadcasts, from their bytes"
    );
}
