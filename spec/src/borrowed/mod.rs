//! Zero-copy views of decoded lines: the hot-path form of the decoder.
//!
//! [`ClientLineRef::decode`] and [`ServerLineRef::decode`] run the same nom rules
//! and the same checks, in the same order, as [`ClientLine::decode`] and
//! [`ServerLine::decode`] (which are these views turned into owned values with
//! `into_owned`), so a line gets the same error from both. The views borrow their
//! text from the decoded line instead of copying it: decoding a line allocates
//! nothing (a `LIST` or `BLOCKS` reply keeps its entries as validated text and
//! yields them through an iterator).
//!
//! Like the owned field types, the borrowed ones ([`NickRef`], [`TextRef`],
//! [`PingTokenRef`], [`IpRef`]) can only hold a value that passed their rule.
//!
//! ```
//! use spec::borrowed::ClientLineRef;
//!
//! let line = b"BROADCAST:bob:5:hello";
//! let ClientLineRef::Broadcast { nick, text } = ClientLineRef::decode(line)? else {
//!     unreachable!()
//! };
//! assert_eq!((nick.as_str(), text.as_str()), ("bob", "hello"));
//! # Ok::<(), spec::DecodeError>(())
//! ```
//!
//! [`ClientLine::decode`]: crate::ClientLine::decode
//! [`ServerLine::decode`]: crate::ServerLine::decode

mod client;
mod fields;
mod server;

pub use client::ClientLineRef;
pub use fields::{AddressRef, ErrCodeRef, IpRef, MsgRef, NickRef, PingTokenRef, TextRef, UserRef};
pub use server::{NickList, Nicks, ServerLineRef, UserList, Users};
