//! Peer ↔ peer lines on a peer session (§5.3), grammar rule `peer-line`.

use crate::{ErrCode, Msg, MsgId, Nick, PingToken, Text, Ticket};

/// A line on a peer session.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verb", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PeerLine {
    /// `HELLO:<nick>[:<ticket>]` (§13, §16).
    Hello {
        /// The sender's nick.
        nick: Nick,
        /// The ticket (hybrid mode); none in serverless mode.
        #[serde(skip_serializing_if = "Option::is_none")]
        ticket: Option<Ticket>,
    },
    /// `MSG:<id>:<from>:<time>:<len>:<text>` (§14).
    Msg(Msg),
    /// `ACK:<msg-id>` (§14).
    Ack {
        /// The acknowledged message.
        id: MsgId,
    },
    /// `BROADCAST:<nick>:<len>:<text>` (§16).
    Broadcast {
        /// The sender.
        nick: Nick,
        /// The message.
        text: Text,
    },
    /// `PING:<ping-token>`.
    Ping {
        /// To be echoed.
        token: PingToken,
    },
    /// `PONG:<ping-token>`.
    Pong {
        /// The echoed token.
        token: PingToken,
    },
    /// `QUIT`: goodbye (§14).
    Quit,
    /// `ERR:<code>:<len>:<text>`.
    Err {
        /// The error code.
        code: ErrCode,
        /// Explanation for people.
        text: Text,
    },
}
