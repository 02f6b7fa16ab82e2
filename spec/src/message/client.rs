//! Client → server requests (§5.1), grammar rule `client-line`.

use crate::{Address, MsgId, Nick, PingToken, Text, Token};

/// A line a client sends to the server.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verb", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClientLine {
    /// `REGISTER:<nick>:<ip>:<port>[:<token>]` (§8).
    Register {
        /// The nick to register.
        nick: Nick,
        /// Where the client receives UDP datagrams.
        #[serde(flatten, with = "crate::message::server::address_fields")]
        address: Address,
        /// The ownership token, when re-registering an owned nick.
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<Token>,
    },
    /// `BROADCAST:<nick>:<len>:<text>` (§10).
    Broadcast {
        /// The sender's own nick.
        nick: Nick,
        /// The message.
        text: Text,
    },
    /// `PING:<ping-token>` (§17).
    Ping {
        /// Echoed in the PONG.
        token: PingToken,
    },
    /// `PONG:<ping-token>` (§17).
    Pong {
        /// The token of the server's PING.
        token: PingToken,
    },
    /// `QUIT` (§17).
    Quit,
    /// `LIST` (§9).
    List,
    /// `QUERY:<nick>` (§9).
    Query {
        /// Whom to look up.
        nick: Nick,
    },
    /// `SEND:<nick>:<len>:<text>` (§11).
    Send {
        /// The recipient.
        nick: Nick,
        /// The message.
        text: Text,
    },
    /// `ACK:<msg-id>` (§11).
    Ack {
        /// The acknowledged message.
        id: MsgId,
    },
    /// `BLOCK:<nick>` (§12).
    Block {
        /// Whom to block.
        nick: Nick,
    },
    /// `UNBLOCK:<nick>` (§12).
    Unblock {
        /// Whom to unblock.
        nick: Nick,
    },
    /// `BLOCKS` (§12).
    Blocks,
    /// `TICKET:<nick>` (§13).
    Ticket {
        /// The peer to chat with.
        nick: Nick,
    },
}
