//! The borrowed form of [`ServerLine`], and the lists of its `LIST` and `BLOCKS`
//! replies.

use super::fields::{ErrCodeRef, MsgRef, NickRef, PingTokenRef, TextRef, UserRef};
use crate::id::MsgId;
use crate::message::{Delivery, ServerLine, UpdateKind};
use crate::parse;
use crate::token::{Ticket, Token};

/// A server → client line (§5.2) whose text fields borrow from the decoded
/// line: the variants and fields of [`ServerLine`], without its copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerLineRef<'a> {
    /// `UPDATE:JOIN|LEAVE:<nick>:<ip>:<port>` (§10).
    Update {
        /// Join or leave.
        kind: UpdateKind,
        /// Who.
        user: UserRef<'a>,
    },
    /// `LIST[:<nick>:<ip>:<port>...]` (§8, §9).
    List {
        /// Every registered user, in registration order.
        users: UserList<'a>,
    },
    /// `LISTPART:<nick>:<ip>:<port>...` (§8, [REG-2]).
    ListPart {
        /// Some of the users, in registration order (at least one).
        users: UserList<'a>,
    },
    /// `BROADCAST:<nick>:<len>:<text>` (§10).
    Broadcast {
        /// The sender.
        nick: NickRef<'a>,
        /// The message.
        text: TextRef<'a>,
    },
    /// `PING:<ping-token>` (§17).
    Ping {
        /// To be echoed.
        token: PingTokenRef<'a>,
    },
    /// `PONG:<ping-token>` (§17).
    Pong {
        /// The client's token.
        token: PingTokenRef<'a>,
    },
    /// `BYE` (§17).
    Bye,
    /// `ERR:<code>:<len>:<text>` (§6).
    Err {
        /// The error code.
        code: ErrCodeRef<'a>,
        /// Explanation for people.
        text: TextRef<'a>,
    },
    /// `USER:<nick>:<ip>:<port>` (§9).
    User {
        /// The user asked about.
        user: UserRef<'a>,
    },
    /// `TOKEN:<nick>:<token>` (§8).
    Token {
        /// The newly owned nick.
        nick: NickRef<'a>,
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
    Msg(MsgRef<'a>),
    /// `BLOCKED:<nick>` (§12).
    Blocked {
        /// The nick now blocked.
        nick: NickRef<'a>,
    },
    /// `UNBLOCKED:<nick>` (§12).
    Unblocked {
        /// The nick no longer blocked.
        nick: NickRef<'a>,
    },
    /// `BLOCKS[:<nick>...]` (§12).
    Blocks {
        /// Blocked nicks in the order they were blocked.
        nicks: NickList<'a>,
    },
    /// `BLOCKSPART:<nick>...` (§12, [BLK-4]).
    BlocksPart {
        /// Some of the blocked nicks, in order (at least one).
        nicks: NickList<'a>,
    },
    /// `TICKET:<nick>:<ip>:<port>:<ticket>` (§13): reply to the initiator.
    Ticket {
        /// The target and its registered address.
        user: UserRef<'a>,
        /// The one-time ticket.
        ticket: Ticket,
    },
    /// `INVITE:<nick>:<ip>:<port>:<ticket>` (§13): event to the target.
    Invite {
        /// The initiator and its registered address.
        user: UserRef<'a>,
        /// The one-time ticket.
        ticket: Ticket,
    },
}

impl ServerLineRef<'_> {
    /// The owned [`ServerLine`] (copies the text fields; collects the lists).
    pub fn into_owned(self) -> ServerLine {
        match self {
            ServerLineRef::Update { kind, user } => ServerLine::Update {
                kind,
                user: user.into_owned(),
            },
            ServerLineRef::List { users } => ServerLine::List {
                users: users.iter().map(UserRef::into_owned).collect(),
            },
            ServerLineRef::ListPart { users } => ServerLine::ListPart {
                users: users.iter().map(UserRef::into_owned).collect(),
            },
            ServerLineRef::Broadcast { nick, text } => ServerLine::Broadcast {
                nick: nick.into_owned(),
                text: text.into_owned(),
            },
            ServerLineRef::Ping { token } => ServerLine::Ping {
                token: token.into_owned(),
            },
            ServerLineRef::Pong { token } => ServerLine::Pong {
                token: token.into_owned(),
            },
            ServerLineRef::Bye => ServerLine::Bye,
            ServerLineRef::Err { code, text } => ServerLine::Err {
                code: code.into_owned(),
                text: text.into_owned(),
            },
            ServerLineRef::User { user } => ServerLine::User {
                user: user.into_owned(),
            },
            ServerLineRef::Token { nick, token } => ServerLine::Token {
                nick: nick.into_owned(),
                token,
            },
            ServerLineRef::Sent { id, delivery } => ServerLine::Sent { id, delivery },
            ServerLineRef::Msg(m) => ServerLine::Msg(m.into_owned()),
            ServerLineRef::Blocked { nick } => ServerLine::Blocked {
                nick: nick.into_owned(),
            },
            ServerLineRef::Unblocked { nick } => ServerLine::Unblocked {
                nick: nick.into_owned(),
            },
            ServerLineRef::Blocks { nicks } => ServerLine::Blocks {
                nicks: nicks.iter().map(NickRef::into_owned).collect(),
            },
            ServerLineRef::BlocksPart { nicks } => ServerLine::BlocksPart {
                nicks: nicks.iter().map(NickRef::into_owned).collect(),
            },
            ServerLineRef::Ticket { user, ticket } => ServerLine::Ticket {
                user: user.into_owned(),
                ticket,
            },
            ServerLineRef::Invite { user, ticket } => ServerLine::Invite {
                user: user.into_owned(),
                ticket,
            },
        }
    }
}

/// The users of a `LIST` or `LISTPART` reply: the validated entries as they
/// stand in the line (`:<nick>:<ip>:<port>` each), read on demand so that
/// decoding the reply allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserList<'a>(&'a str);

impl<'a> UserList<'a> {
    /// Entries the decoder has checked.
    pub(crate) fn from_checked(entries: &'a str) -> UserList<'a> {
        UserList(entries)
    }

    /// The users, in order.
    pub fn iter(self) -> Users<'a> {
        Users(self.0)
    }

    /// Whether there are none (only ever for `LIST`).
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for UserList<'a> {
    type Item = UserRef<'a>;
    type IntoIter = Users<'a>;
    fn into_iter(self) -> Users<'a> {
        self.iter()
    }
}

/// Iterator over a [`UserList`].
#[derive(Debug, Clone)]
pub struct Users<'a>(&'a str);

impl<'a> Iterator for Users<'a> {
    type Item = UserRef<'a>;
    fn next(&mut self) -> Option<UserRef<'a>> {
        // Invariant: the entries passed `list_reply` when the line was decoded,
        // so each one parses again; an error cannot happen and would end the list.
        let (rest, user) = parse::list_entry(self.0).ok()?;
        self.0 = rest;
        Some(user)
    }
}

/// The nicks of a `BLOCKS` or `BLOCKSPART` reply: the validated entries as
/// they stand in the line (`:<nick>` each), read on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NickList<'a>(&'a str);

impl<'a> NickList<'a> {
    /// Entries the decoder has checked.
    pub(crate) fn from_checked(entries: &'a str) -> NickList<'a> {
        NickList(entries)
    }

    /// The nicks, in order.
    pub fn iter(self) -> Nicks<'a> {
        Nicks(self.0)
    }

    /// Whether there are none (only ever for `BLOCKS`).
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for NickList<'a> {
    type Item = NickRef<'a>;
    type IntoIter = Nicks<'a>;
    fn into_iter(self) -> Nicks<'a> {
        self.iter()
    }
}

/// Iterator over a [`NickList`].
#[derive(Debug, Clone)]
pub struct Nicks<'a>(&'a str);

impl<'a> Iterator for Nicks<'a> {
    type Item = NickRef<'a>;
    fn next(&mut self) -> Option<NickRef<'a>> {
        // Invariant: as for `Users`, the entries were checked at decode time.
        let (rest, nick) = parse::blocks_entry(self.0).ok()?;
        self.0 = rest;
        Some(nick)
    }
}
