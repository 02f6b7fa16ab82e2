//! The fuzz targets' properties, run by `cargo test` under proptest: the same harness
//! code as `fuzz/` (included from there), fed random bytes instead of libFuzzer's.
//!
//! - `client_machine` / `peer_session`: the client and peer-session state machines
//!   fed arbitrary server and peer lines (`fuzz/src/machine_harness.rs`);
//! - `decode_lines`: decoding never panics, §2.1 steps 1–4, exact re-encoding
//!   (`fuzz/src/lines.rs`);
//! - `framer_chunks`: the framer under arbitrary chunking against a model, and its
//!   length limit (`fuzz/src/framer_check.rs`);
//! - and the inputs kept in `fuzz/seeds/` for these targets (the seeds made from the
//!   vectors and examples, and the minimized inputs of past findings) are replayed.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../fuzz/src/bytes.rs"]
mod bytes;
#[path = "../../fuzz/src/framer_check.rs"]
mod framer_check;
#[path = "../../fuzz/src/lines.rs"]
mod lines;
#[path = "../../fuzz/src/machine_harness.rs"]
mod machine_harness;
#[path = "../../fuzz/src/wiregen.rs"]
mod wiregen;

use std::path::PathBuf;

use proptest::collection::vec;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn client_machine_properties(data in vec(any::<u8>(), 0..3000)) {
        machine_harness::run_client(&data);
    }

    #[test]
    fn peer_session_properties(data in vec(any::<u8>(), 0..3000)) {
        machine_harness::run_peer(&data);
    }

    #[test]
    fn decode_properties(data in vec(any::<u8>(), 0..300)) {
        lines::check(&data);
    }

    #[test]
    fn decode_properties_on_line_like_bytes(
        verb in proptest::sample::select(wiregen::VERBS.to_vec()),
        rest in "(:[a-zA-Z0-9_.\\[\\]-]{0,12}){0,6}(:[0-9]{1,3}:[ -~]{0,12})?",
    ) {
        lines::check(format!("{verb}{rest}").as_bytes());
    }

    #[test]
    fn framer_chunk_properties(data in vec(any::<u8>(), 0..600)) {
        framer_check::check(&data);
    }
}

fn replay(target: &str, run: impl Fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut n = 0;
    for e in entries {
        let p = e.unwrap().path();
        // The seeds and the inputs of findings; the `min-*` corpus of the long runs is
        // replayed by `fuzz/ci.sh` instead (it is large for a debug build).
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("seed-") || name.starts_with("finding-")) {
            continue;
        }
        let data = std::fs::read(&p).unwrap();
        eprintln!("replaying {}", p.display());
        run(&data);
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}

#[test]
fn fuzz_corpus_client_machine() {
    replay("client_machine", machine_harness::run_client);
}

#[test]
fn fuzz_corpus_peer_session() {
    replay("peer_session", machine_harness::run_peer);
}

#[test]
fn fuzz_corpus_decode_lines() {
    replay("decode_lines", lines::check);
}

#[test]
fn fuzz_corpus_framer_chunks() {
    replay("framer_chunks", framer_check::check);
}
