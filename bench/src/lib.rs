//! # p2pchat-bench
//!
//! A load generator for p2pchat servers, and for IRC and RESP (redis pub/sub) servers
//! so that they can be compared under the same workloads: fan-out, private round trip,
//! idle connections, and a slow reader. See `bench/README.md`.
//!
//! The generator is built to cost less per delivery than the servers it measures: one
//! `read` per wake-up into a shared scratch buffer, `memchr` to split lines, and a
//! fixed-position payload check at the end of each line ([`payload`]).

pub mod client;
pub mod clock;
pub mod engine;
pub mod histogram;
pub mod lines;
pub mod payload;
pub mod procfs;
pub mod proto;
pub mod report;
pub mod result;
pub mod soak;
pub mod target;
pub mod workload;
