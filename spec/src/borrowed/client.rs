//! The borrowed form of [`ClientLine`].

use super::fields::{AddressRef, NickRef, PingTokenRef, TextRef};
use crate::id::MsgId;
use crate::message::ClientLine;
use crate::token::Token;

/// A client → server line (§5.1) whose text fields borrow from the decoded
/// line: the variants and fields of [`ClientLine`], without its copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientLineRef<'a> {
    /// `REGISTER:<nick>:<ip>:<port>[:<token>]` (§8).
    Register {
        /// The nick to register.
        nick: NickRef<'a>,
        /// Where the client receives UDP datagrams.
        address: AddressRef<'a>,
        /// The ownership token, when re-registering an owned nick.
        token: Option<Token>,
    },
    /// `BROADCAST:<nick>:<len>:<text>` (§10).
    Broadcast {
        /// The sender's own nick.
        nick: NickRef<'a>,
        /// The message.
        text: TextRef<'a>,
    },
    /// `PING:<ping-token>` (§17).
    Ping {
        /// Echoed in the PONG.
        token: PingTokenRef<'a>,
    },
    /// `PONG:<ping-token>` (§17).
    Pong {
        /// The token of the server's PING.
        token: PingTokenRef<'a>,
    },
    /// `QUIT` (§17).
    Quit,
    /// `LIST` (§9).
    List,
    /// `QUERY:<nick>` (§9).
    Query {
        /// Whom to look up.
        nick: NickRef<'a>,
    },
    /// `SEND:<nick>:<len>:<text>` (§11).
    Send {
        /// The recipient.
        nick: NickRef<'a>,
        /// The message.
        text: TextRef<'a>,
    },
    /// `ACK:<msg-id>` (§11).
    Ack {
        /// The acknowledged message.
        id: MsgId,
    },
    /// `BLOCK:<nick>` (§12).
    Block {
        /// Whom to block.
        nick: NickRef<'a>,
    },
    /// `UNBLOCK:<nick>` (§12).
    Unblock {
        /// Whom to unblock.
        nick: NickRef<'a>,
    },
    /// `BLOCKS` (§12).
    Blocks,
    /// `TICKET:<nick>` (§13).
    Ticket {
        /// The peer to chat with.
        nick: NickRef<'a>,
    },
}

impl ClientLine {
    /// The borrowed view of this line (nothing is copied or checked again).
    pub fn as_ref(&self) -> ClientLineRef<'_> {
        match self {
            ClientLine::Register {
                nick,
                address,
                token,
            } => ClientLineRef::Register {
                nick: nick.into(),
                address: address.into(),
                token: *token,
            },
            ClientLine::Broadcast { nick, text } => ClientLineRef::Broadcast {
                nick: nick.into(),
                text: text.into(),
            },
            ClientLine::Ping { token } => ClientLineRef::Ping {
                token: token.into(),
            },
            ClientLine::Pong { token } => ClientLineRef::Pong {
                token: token.into(),
            },
            ClientLine::Quit => ClientLineRef::Quit,
            ClientLine::List => ClientLineRef::List,
            ClientLine::Query { nick } => ClientLineRef::Query { nick: nick.into() },
            ClientLine::Send { nick, text } => ClientLineRef::Send {
                nick: nick.into(),
                text: text.into(),
            },
            ClientLine::Ack { id } => ClientLineRef::Ack { id: *id },
            ClientLine::Block { nick } => ClientLineRef::Block { nick: nick.into() },
            ClientLine::Unblock { nick } => ClientLineRef::Unblock { nick: nick.into() },
            ClientLine::Blocks => ClientLineRef::Blocks,
            ClientLine::Ticket { nick } => ClientLineRef::Ticket { nick: nick.into() },
        }
    }
}

impl ClientLineRef<'_> {
    /// The owned [`ClientLine`] (copies the text fields).
    pub fn into_owned(self) -> ClientLine {
        match self {
            ClientLineRef::Register {
                nick,
                address,
                token,
            } => ClientLine::Register {
                nick: nick.into_owned(),
                address: address.into_owned(),
                token,
            },
            ClientLineRef::Broadcast { nick, text } => ClientLine::Broadcast {
                nick: nick.into_owned(),
                text: text.into_owned(),
            },
            ClientLineRef::Ping { token } => ClientLine::Ping {
                token: token.into_owned(),
            },
            ClientLineRef::Pong { token } => ClientLine::Pong {
                token: token.into_owned(),
            },
            ClientLineRef::Quit => ClientLine::Quit,
            ClientLineRef::List => ClientLine::List,
            ClientLineRef::Query { nick } => ClientLine::Query {
                nick: nick.into_owned(),
            },
            ClientLineRef::Send { nick, text } => ClientLine::Send {
                nick: nick.into_owned(),
                text: text.into_owned(),
            },
            ClientLineRef::Ack { id } => ClientLine::Ack { id },
            ClientLineRef::Block { nick } => ClientLine::Block {
                nick: nick.into_owned(),
            },
            ClientLineRef::Unblock { nick } => ClientLine::Unblock {
                nick: nick.into_owned(),
            },
            ClientLineRef::Blocks => ClientLine::Blocks,
            ClientLineRef::Ticket { nick } => ClientLine::Ticket {
                nick: nick.into_owned(),
            },
        }
    }
}
