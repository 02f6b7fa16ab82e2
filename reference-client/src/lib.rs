//! # p2pchat reference client
//!
//! A library and the `p2pchat-client` binary, covering what the five seed systems
//! let a user do: hybrid mode (register, peer list, broadcast, private messages
//! over direct peer sessions or the server mailbox, blocking, direct UDP messages)
//! and serverless mode (a mesh of peer sessions with bootstrap peers and a
//! persistent outbox). Two front ends share one [`engine::Engine`]: the
//! automation mode of `PROTOCOL.md` Appendix A ([`automation::run_automation`]),
//! and an interactive terminal.

#![forbid(unsafe_code)]

pub mod automation;
pub mod cli;
pub mod commands;
pub mod config;
pub mod display;
pub mod engine;
pub mod events;
pub mod interactive;
pub mod net;
pub mod store;

pub use automation::run_automation;
pub use config::{ClientConfig, Exit, Mode};
