//! The harnesses behind the cargo-fuzz targets of `fuzz_targets/` (see `README.md`).
//!
//! `bytes`, `wiregen`, `lines`, `framer_check`, `hub_harness` and `machine_harness` use
//! no fuzzing crate: the main workspace's property tests include them with
//! `#[path]` and run them under proptest, so `cargo test` alone exercises the same
//! properties. `structured` (arbitrary) and `blackbox` (a server over TCP) are only
//! built here.

pub mod blackbox;
pub mod bytes;
pub mod framer_check;

pub mod hub_harness;
pub mod lines;
pub mod machine_harness;
pub mod seeds;
pub mod structured;
pub mod wiregen;
