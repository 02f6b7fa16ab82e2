//! # reference-server
//!
//! The p2pchat/1 reference server (`spec/PROTOCOL.md`): a library plus the
//! `p2pchat-server` binary.
//!
//! - [`hub`]: the pure, synchronous hub (registry, nick ownership, routing, blocks,
//!   mailbox, tickets): one decoded request in, the lines it causes out.
//! - [`store`]: durable state (SQLite, WAL, versioned migrations) behind a trait.
//! - the per-connection state machine is `spec::machine::server_conn`;
//! - [`run`]: the thin tokio layer that owns sockets, framing, queues and timers.
//!
//! ```no_run
//! # async fn demo() -> Result<(), reference_server::ServerError> {
//! let listener = reference_server::listen(([127, 0, 0, 1], 0).into())?;
//! let config = reference_server::Config::default(); // in-memory database
//! reference_server::run(listener, config, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
mod connection;
pub mod entropy;
pub mod error;
mod fanout;
#[cfg(feature = "faults")]
pub mod faults;
pub mod hub;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod hub_tests;
mod idhash;
pub mod listen;
mod outbox;
pub mod registry;
mod server;
pub mod store;
pub mod tickets;
mod trim;

pub use config::{Config, DbPath};
pub use error::ServerError;
#[cfg(feature = "faults")]
pub use faults::{Fault, Faults};
pub use hub::{ConnId, Hub, HubConfig, Now, Outcome, Sink};
pub use listen::listen;
pub use server::{Server, run};
pub use trim::Trimmer;
