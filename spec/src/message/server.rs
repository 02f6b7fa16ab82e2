//! Server → client replies and events (§5.2), grammar rule `server-line`.

use crate::{Address, ErrorCode, MsgId, Nick, PingToken, Text, Ticket, Timestamp, Token};

/// A registered user as the server names it: `<nick>:<ip>:<port>`.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// The nick, as registered.
    pub nick: Nick,
    /// The registered address.
    #[serde(flatten, with = "address_fields")]
    pub address: Address,
}

/// Whether an `UPDATE` is a join or a leave.
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UpdateKind {
    /// `UPDATE:JOIN:...`
    Join,
    /// `UPDATE:LEAVE:...`
    Leave,
}

/// The `<delivery>` of a `SENT` reply (§11).
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Delivery {
    /// The recipient was online; the message went out at once.
    Live,
    /// The recipient was offline; the message waits in the mailbox.
    Queued,
}

/// A private message, `MSG:<id>:<from>:<time>:<len>:<text>` (§11, §14).
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Msg {
    /// The message id.
    pub id: MsgId,
    /// The sender's nick.
    pub from: Nick,
    /// When the server (or the sending peer) accepted it.
    pub time: Timestamp,
    /// The message.
    pub text: Text,
}

/// The code of a received `ERR` line: one of §6, or a code this version does
/// not know (receivers must accept those, §6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrCode {
    /// A code of §6.
    Known(ErrorCode),
    /// Any other `error-code` (`1*32(%x41-5A / "_")`).
    Other(String),
}

impl ErrCode {
    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            ErrCode::Known(c) => c.as_str(),
            ErrCode::Other(s) => s,
        }
    }
}

impl From<ErrorCode> for ErrCode {
    fn from(c: ErrorCode) -> ErrCode {
        ErrCode::Known(c)
    }
}

impl serde::Serialize for ErrCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A line the server sends to a client.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verb", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServerLine {
    /// `UPDATE:JOIN|LEAVE:<nick>:<ip>:<port>` (§10).
    Update {
        /// Join or leave.
        kind: UpdateKind,
        /// Who.
        #[serde(flatten)]
        user: User,
    },
    /// `LIST[:<nick>:<ip>:<port>...]` (§8, §9).
    List {
        /// Every registered user, in registration order.
        users: Vec<User>,
    },
    /// `LISTPART:<nick>:<ip>:<port>...` (§8, [REG-2]): the first lines of a
    /// `LIST` reply too long for one line.
    #[serde(rename = "LISTPART")]
    ListPart {
        /// Some of the users, in registration order (at least one).
        users: Vec<User>,
    },
    /// `BROADCAST:<nick>:<len>:<text>` (§10).
    Broadcast {
        /// The sender.
        nick: Nick,
        /// The message.
        text: Text,
    },
    /// `PING:<ping-token>` (§17).
    Ping {
        /// To be echoed.
        token: PingToken,
    },
    /// `PONG:<ping-token>` (§17).
    Pong {
        /// The client's token.
        token: PingToken,
    },
    /// `BYE` (§17).
    Bye,
    /// `ERR:<code>:<len>:<text>` (§6).
    Err {
        /// The error code.
        code: ErrCode,
        /// Explanation for people.
        text: Text,
    },
    /// `USER:<nick>:<ip>:<port>` (§9).
    User {
        /// The user asked about.
        #[serde(flatten)]
        user: User,
    },
    /// `TOKEN:<nick>:<token>` (§8).
    Token {
        /// The newly owned nick.
        nick: Nick,
        /// Its token.
        token: Token,
    },
    /// `SENT:<id>:LIVE|QUEUED` (§11).
    Sent {
        /// The id given to the message.
        id: MsgId,
        /// Live or queued.
        delivery: Delivery,
    },
    /// `MSG:<id>:<from>:<time>:<len>:<text>` (§11).
    Msg(Msg),
    /// `BLOCKED:<nick>` (§12).
    Blocked {
        /// The nick now blocked.
        nick: Nick,
    },
    /// `UNBLOCKED:<nick>` (§12).
    Unblocked {
        /// The nick no longer blocked.
        nick: Nick,
    },
    /// `BLOCKS[:<nick>...]` (§12).
    Blocks {
        /// Blocked nicks in the order they were blocked.
        nicks: Vec<Nick>,
    },
    /// `BLOCKSPART:<nick>...` (§12, [BLK-4]): the first lines of a `BLOCKS`
    /// reply too long for one line.
    #[serde(rename = "BLOCKSPART")]
    BlocksPart {
        /// Some of the blocked nicks, in order (at least one).
        nicks: Vec<Nick>,
    },
    /// `TICKET:<nick>:<ip>:<port>:<ticket>` (§13): reply to the initiator.
    Ticket {
        /// The target and its registered address.
        #[serde(flatten)]
        user: User,
        /// The one-time ticket.
        ticket: Ticket,
    },
    /// `INVITE:<nick>:<ip>:<port>:<ticket>` (§13): event to the target.
    Invite {
        /// The initiator and its registered address.
        #[serde(flatten)]
        user: User,
        /// The one-time ticket.
        ticket: Ticket,
    },
}

/// Serialises an [`Address`] as the two members `ip` and `port`, the form the
/// test vectors use.
pub(crate) mod address_fields {
    use serde::ser::SerializeStruct;

    use crate::Address;

    pub fn serialize<S: serde::Serializer>(a: &Address, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Address", 2)?;
        st.serialize_field("ip", &a.ip)?;
        st.serialize_field("port", &a.port)?;
        st.end()
    }
}
