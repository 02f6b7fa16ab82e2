//! The p2pchat/1 conformance suite.
//!
//! A library of cases that judge an implementation over the wire, byte for byte, from the
//! text of `spec/PROTOCOL.md` alone; the `cargo test -p conformance` harness (one test per
//! case, against the reference by default); and the `p2pchat-conformance` runner (the same
//! cases, with reports). See `conformance/README.md`.
//!
//! Layout: [`requirements`] reads PROTOCOL.md; [`case`] defines a case and its context;
//! [`cases`] holds every case; [`conn`] is the suite's client connection; [`target`]
//! launches or reaches the implementation; [`run`] turns outcomes into verdicts; [`report`]
//! writes the summary, JUnit XML and JSON.

pub mod case;
pub mod cases;
pub mod client;
pub mod config;
pub mod conn;
pub mod harness;
pub mod outcome;
pub mod profile;
pub mod report;
pub mod requirements;
pub mod run;
pub mod target;
pub mod transcript;
pub mod verdict;
pub mod wire;
