//! The `hub_sequences` fuzz target's properties, run by `cargo test` under proptest:
//! the same harness as `fuzz/src/hub_harness.rs` (included from there) — the hub fed
//! arbitrary sequences of commands from several connections, with disconnects and
//! time passing, checked after every step against a model of `spec/PROTOCOL.md` (a
//! nick belongs to at most one connection, nothing is delivered from a blocked
//! sender, the mailbox keeps order, no queue passes its bound). Every input kept in
//! `fuzz/seeds/hub_sequences/` (the seed corpus and the minimized inputs of past
//! findings) is replayed too.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::needless_update
)]

#[path = "../../fuzz/src/bytes.rs"]
mod bytes;
#[path = "../../fuzz/src/hub_harness.rs"]
mod hub_harness;
#[path = "../../fuzz/src/wiregen.rs"]
mod wiregen;

use std::path::PathBuf;

use proptest::collection::vec;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn hub_sequence_properties(data in vec(any::<u8>(), 0..4000)) {
        hub_harness::run(&data);
    }
}

#[test]
fn fuzz_corpus_hub_sequences() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/hub_sequences");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        // The seeds and the inputs of findings; the `min-*` corpus of the long runs is
        // replayed by `fuzz/ci.sh` instead (it is large for a debug build).
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("seed-") || name.starts_with("finding-")) {
            continue;
        }
        eprintln!("replaying {}", p.display());
        hub_harness::run(&std::fs::read(&p).unwrap());
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}
