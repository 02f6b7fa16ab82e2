//! UDP datagrams (§5.4), grammar rule `datagram`.

use crate::{Nick, Port, Text, Ticket};

/// A UDP datagram between clients.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verb", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Datagram {
    /// `OFFER:<nick>:<port>:<ticket>` (§13): "connect back to my TCP port".
    Offer {
        /// The initiator's nick.
        nick: Nick,
        /// The TCP port it listens on.
        port: Port,
        /// The ticket from the server.
        ticket: Ticket,
    },
    /// `DM:<nick>:<len>:<text>` (§15).
    Dm {
        /// The sender's nick (unauthenticated).
        nick: Nick,
        /// The message.
        text: Text,
    },
}
