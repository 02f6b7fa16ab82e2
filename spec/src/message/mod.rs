//! Wire types for every message of `PROTOCOL.md` §5, one module per context.

mod client;
mod datagram;
mod peer;
mod server;

pub use client::ClientLine;
pub use datagram::Datagram;
pub use peer::PeerLine;
pub use server::{Delivery, ErrCode, Msg, ServerLine, UpdateKind, User};
