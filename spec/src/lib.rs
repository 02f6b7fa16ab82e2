//! # p2pchat/1, as code
//!
//! The crate beside `spec/PROTOCOL.md`: wire types for every message, validated
//! field types that cannot hold an invalid value, the decoder (nom parsers, one per
//! grammar rule; nom never appears in a public signature), the encoder, a sans-IO line
//! framer, and sans-IO state machines for a server connection, a client and a peer
//! session. No sockets, no async runtime, no clock: bytes and time go in, lines to send
//! come out.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
#[cfg(feature = "arbitrary")]
mod arbitrary_impls;
pub mod borrowed;
mod checked;
mod codec;
mod dotted_quad;
mod encode;
pub mod error;
pub mod framer;
pub mod id;
pub mod limits;
pub mod machine;
pub mod message;
pub mod nick;
mod parse;
pub mod text;
pub mod token;

pub use address::{Address, Ip, Port};
pub use checked::{CheckedFrame, CheckedLine};
pub use error::{DecodeError, ErrorCode};
pub use framer::{Frame, Framer};
pub use id::{MsgId, Timestamp};
pub use message::{
    ClientLine, Datagram, Delivery, ErrCode, Msg, PeerLine, ServerLine, UpdateKind, User,
};
pub use nick::{Nick, NickKey};
pub use text::Text;
pub use token::{PingToken, Ticket, Token};
