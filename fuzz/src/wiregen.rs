//! Generators of protocol lines from fuzzer bytes: well-formed lines built through the
//! spec crate's validating constructors (so they are valid by construction), lines
//! mutated from them, and raw bytes. Shared by the hub, machine and black-box
//! harnesses (and, through `#[path]`, by their property tests).
//!
//! Values come from small pools (a handful of nicks in several cases, a few ids and
//! tickets), so that scripts hit the interesting collisions — the same nick twice,
//! an ACK for an id that was really sent — far more often than uniform bytes would.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use spec::limits::{MAX_MSG_ID, MAX_TEXT, MAX_TIME};
use spec::{
    Address, ClientLine, Datagram, Delivery, ErrCode, ErrorCode, Ip, Msg, MsgId, Nick, PeerLine,
    PingToken, Port, ServerLine, Text, Ticket, Timestamp, Token, UpdateKind, User,
};

use crate::bytes::Bytes;

/// The nick pool: short, long (32 characters), with `_` and `-`.
pub const NICKS: [&str; 8] = [
    "alice",
    "bob",
    "carol",
    "Dave",
    "e",
    "x_y-z",
    "n0123456789abcdefghijklmnopqrstu",
    "Zed99",
];

/// The verbs of every context, for the dictionary and the mutators.
pub const VERBS: [&str; 26] = [
    "REGISTER",
    "BROADCAST",
    "PING",
    "PONG",
    "QUIT",
    "LIST",
    "QUERY",
    "SEND",
    "ACK",
    "BLOCK",
    "UNBLOCK",
    "BLOCKS",
    "TICKET",
    "UPDATE",
    "LISTPART",
    "BYE",
    "ERR",
    "USER",
    "TOKEN",
    "SENT",
    "MSG",
    "BLOCKED",
    "UNBLOCKED",
    "BLOCKSPART",
    "INVITE",
    "HELLO",
];

/// Values seen on the wire that later lines may reuse (tokens from `TOKEN` lines,
/// ids from `SENT`/`MSG`, tickets from `TICKET`/`INVITE`).
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Tokens by nick (as issued).
    pub tokens: Vec<(Nick, Token)>,
    /// Message ids seen.
    pub ids: Vec<MsgId>,
    /// Tickets seen.
    pub tickets: Vec<Ticket>,
}

impl Known {
    /// Remembers what a server line carries.
    pub fn learn(&mut self, line: &ServerLine) {
        const KEEP: usize = 64;
        match line {
            ServerLine::Token { nick, token } if self.tokens.len() < KEEP => {
                self.tokens.push((nick.clone(), *token));
            }
            ServerLine::Sent { id, .. } | ServerLine::Msg(Msg { id, .. })
                if self.ids.len() < KEEP =>
            {
                self.ids.push(*id);
            }
            ServerLine::Ticket { ticket, .. } | ServerLine::Invite { ticket, .. }
                if self.tickets.len() < KEEP =>
            {
                self.tickets.push(*ticket);
            }
            _ => {}
        }
    }

    /// The token issued for `nick` (without case), if one was seen.
    pub fn token_for(&self, nick: &Nick) -> Option<Token> {
        self.tokens
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_case(nick))
            .map(|(_, t)| *t)
    }
}

/// Makes a nick from the pool, in some mix of case, or one spelled by the input.
pub fn nick(b: &mut Bytes<'_>) -> Nick {
    let sel = b.u8();
    let s: String = if sel < 200 {
        let base = NICKS[usize::from(sel) % NICKS.len()];
        match b.u8() % 4 {
            0 => base.to_ascii_uppercase(),
            1 => base
                .chars()
                .enumerate()
                .map(|(i, c)| if i == 0 { c.to_ascii_uppercase() } else { c })
                .collect(),
            _ => base.to_owned(),
        }
    } else {
        const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        let len = 1 + b.below(32);
        (0..len)
            .map(|_| char::from(ALPHA[b.below(ALPHA.len())]))
            .collect()
    };
    Nick::new(&s).unwrap_or_else(|_| fallback_nick())
}

/// A nick that is valid by construction.
#[allow(clippy::expect_used)]
pub fn fallback_nick() -> Nick {
    // Invariant: "alice" is a valid nick.
    Nick::new("alice").expect("a valid nick")
}

/// A ping token.
pub fn ping_token(b: &mut Bytes<'_>) -> PingToken {
    const POOL: [&str; 4] = ["a", "k1", "t0123456789abcdefghijklmnopqrstu", "Z-_9"];
    let s = POOL[b.below(POOL.len())];
    PingToken::new(s).unwrap_or_else(|_| fallback_ping())
}

#[allow(clippy::expect_used)]
fn fallback_ping() -> PingToken {
    // Invariant: "a" is a valid ping token.
    PingToken::new("a").expect("a valid ping token")
}

/// An IP literal in each form the grammar allows.
pub fn ip(b: &mut Bytes<'_>) -> Ip {
    let form = b.u8() % 8;
    let text = match form {
        0 => "127.0.0.1".to_owned(),
        1 => "::1".to_owned(),
        2 => Ipv4Addr::from(b.u32().max(1)).to_string(),
        3..=5 => {
            let mut o = [0u8; 16];
            for x in &mut o {
                *x = b.u8();
            }
            o[15] |= 1;
            let a = Ipv6Addr::from(o);
            match form {
                3 => a.to_string(),
                4 => a.to_string().to_uppercase(),
                _ => a
                    .segments()
                    .iter()
                    .map(|s| format!("{s:04x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
            }
        }
        6 => format!("::ffff:{}", Ipv4Addr::from(b.u32())),
        _ => "192.168.1.10".to_owned(),
    };
    Ip::new(&text).unwrap_or_else(|_| Ip::from(IpAddr::V4(Ipv4Addr::LOCALHOST)))
}

/// A port.
pub fn port(b: &mut Bytes<'_>) -> Port {
    let n = match b.u8() % 4 {
        0 => 1,
        1 => 65535,
        _ => b.u16(),
    };
    Port::new(n.max(1)).unwrap_or_else(|_| fallback_port())
}

#[allow(clippy::expect_used)]
fn fallback_port() -> Port {
    // Invariant: 1 is a valid port.
    Port::new(1).expect("a valid port")
}

/// An address.
pub fn address(b: &mut Bytes<'_>) -> Address {
    Address::new(ip(b), port(b))
}

/// Message text: short ASCII with many `:`, any Unicode, or long runs up to
/// `MAX_TEXT` octets.
pub fn text(b: &mut Bytes<'_>) -> Text {
    let s: String = match b.u8() % 6 {
        0 => "hi".to_owned(),
        1 => "hello: all!".to_owned(),
        2 => {
            let raw = b.chunk(64);
            String::from_utf8_lossy(raw).into_owned()
        }
        3 => {
            let n = 1 + b.below(MAX_TEXT);
            ":".repeat(n)
        }
        4 => "\u{e9}\u{1f600}:x".repeat(1 + b.below(4)),
        _ => {
            let n = 1 + b.below(MAX_TEXT);
            "y".repeat(n)
        }
    };
    Text::sanitized(&s).unwrap_or_else(|| Text::sanitized("x").unwrap_or_else(fallback_text))
}

#[allow(clippy::expect_used)]
fn fallback_text() -> Text {
    // Invariant: "x" is valid text.
    Text::new("x").expect("valid text")
}

/// A token: one seen for `nick`, or a fresh one.
pub fn token(b: &mut Bytes<'_>) -> Token {
    let mut r = [0u8; 16];
    r[0] = b.u8();
    r[15] = b.u8();
    Token::from_random(r)
}

/// A ticket: one seen, or a fresh one.
pub fn ticket(b: &mut Bytes<'_>, known: &Known) -> Ticket {
    if !known.tickets.is_empty() && b.bool() {
        return *b.pick(&known.tickets);
    }
    let mut r = [0u8; 16];
    r[0] = b.u8();
    r[15] = b.u8();
    Ticket::from_random(r)
}

/// A message id: one seen, a small one, or one near the top.
pub fn msg_id(b: &mut Bytes<'_>, known: &Known) -> MsgId {
    let n = match b.u8() % 4 {
        0 | 1 if !known.ids.is_empty() => b.pick(&known.ids).get(),
        0..=2 => 1 + u64::from(b.u8() % 8),
        _ => MAX_MSG_ID - u64::from(b.u8() % 2),
    };
    MsgId::new(n).unwrap_or_else(|_| fallback_id())
}

#[allow(clippy::expect_used)]
fn fallback_id() -> MsgId {
    // Invariant: 1 is a valid id.
    MsgId::new(1).expect("a valid id")
}

/// A time.
pub fn time(b: &mut Bytes<'_>) -> Timestamp {
    let n = match b.u8() % 3 {
        0 => 0,
        1 => MAX_TIME,
        _ => 1_763_713_200 + u64::from(b.u16()),
    };
    Timestamp::new(n).unwrap_or_else(|_| fallback_time())
}

#[allow(clippy::expect_used)]
fn fallback_time() -> Timestamp {
    // Invariant: 0 is a valid time.
    Timestamp::new(0).expect("a valid time")
}

/// An error code: one of §6 or an unknown one.
pub fn err_code(b: &mut Bytes<'_>) -> ErrCode {
    if b.u8() < 230 {
        ErrCode::Known(*b.pick(&ErrorCode::ALL))
    } else {
        ErrCode::Other("SOMETHING_NEW_2".to_owned())
    }
}

/// A user.
pub fn user(b: &mut Bytes<'_>) -> User {
    User {
        nick: nick(b),
        address: address(b),
    }
}

/// A message.
pub fn msg(b: &mut Bytes<'_>, known: &Known, from: Option<&Nick>) -> Msg {
    let id = msg_id(b, known);
    let from = match from {
        Some(n) if b.u8() < 200 => n.clone(),
        _ => nick(b),
    };
    Msg {
        id,
        from,
        time: time(b),
        text: text(b),
    }
}

/// A well-formed client → server line. `own` is the nick this connection uses
/// (BROADCAST names it most of the time).
pub fn client_line(b: &mut Bytes<'_>, known: &Known, own: Option<&Nick>) -> ClientLine {
    match b.u8() % 14 {
        0 | 13 => {
            let nick = match own {
                Some(n) if b.bool() => n.clone(),
                _ => nick(b),
            };
            let token = match b.u8() % 4 {
                0 | 1 => known.token_for(&nick),
                2 => Some(token(b)),
                _ => None,
            };
            ClientLine::Register {
                nick,
                address: address(b),
                token,
            }
        }
        1 => ClientLine::Broadcast {
            nick: match own {
                Some(n) if b.u8() < 220 => n.clone(),
                _ => nick(b),
            },
            text: text(b),
        },
        2 => ClientLine::Ping {
            token: ping_token(b),
        },
        3 => ClientLine::Pong {
            token: ping_token(b),
        },
        4 => ClientLine::Quit,
        5 => ClientLine::List,
        6 => ClientLine::Query { nick: nick(b) },
        7 => ClientLine::Send {
            nick: nick(b),
            text: text(b),
        },
        8 => ClientLine::Ack {
            id: msg_id(b, known),
        },
        9 => ClientLine::Block { nick: nick(b) },
        10 => ClientLine::Unblock { nick: nick(b) },
        11 => ClientLine::Blocks,
        _ => ClientLine::Ticket { nick: nick(b) },
    }
}

/// A well-formed server → client line; `own` is the receiving client's nick (so
/// that echoes and own tokens come up).
pub fn server_line(b: &mut Bytes<'_>, known: &Known, own: Option<&Nick>) -> ServerLine {
    let some_nick = |b: &mut Bytes<'_>| match own {
        Some(n) if b.bool() => n.clone(),
        _ => nick(b),
    };
    let users = |b: &mut Bytes<'_>| -> Vec<User> { (0..b.below(4)).map(|_| user(b)).collect() };
    match b.u8() % 19 {
        0 => ServerLine::Update {
            kind: if b.bool() {
                UpdateKind::Join
            } else {
                UpdateKind::Leave
            },
            user: user(b),
        },
        1 => ServerLine::List { users: users(b) },
        2 => {
            let mut u = users(b);
            if u.is_empty() {
                u.push(user(b));
            }
            ServerLine::ListPart { users: u }
        }
        3 => ServerLine::Broadcast {
            nick: some_nick(b),
            text: text(b),
        },
        4 => ServerLine::Ping {
            token: ping_token(b),
        },
        5 => ServerLine::Pong {
            token: ping_token(b),
        },
        6 => ServerLine::Bye,
        7 => ServerLine::Err {
            code: err_code(b),
            text: text(b),
        },
        8 => ServerLine::User { user: user(b) },
        9 => ServerLine::Token {
            nick: some_nick(b),
            token: token(b),
        },
        10 => ServerLine::Sent {
            id: msg_id(b, known),
            delivery: if b.bool() {
                Delivery::Live
            } else {
                Delivery::Queued
            },
        },
        11 | 18 => ServerLine::Msg(msg(b, known, None)),
        12 => ServerLine::Blocked { nick: nick(b) },
        13 => ServerLine::Unblocked { nick: nick(b) },
        14 => ServerLine::Blocks {
            nicks: (0..b.below(4)).map(|_| nick(b)).collect(),
        },
        15 => ServerLine::BlocksPart {
            nicks: (0..1 + b.below(3)).map(|_| nick(b)).collect(),
        },
        16 => ServerLine::Ticket {
            user: user(b),
            ticket: ticket(b, known),
        },
        _ => ServerLine::Invite {
            user: user(b),
            ticket: ticket(b, known),
        },
    }
}

/// A well-formed peer-session line; `peer` is the nick the other side claims.
pub fn peer_line(b: &mut Bytes<'_>, known: &Known, peer: Option<&Nick>) -> PeerLine {
    let some_nick = |b: &mut Bytes<'_>| match peer {
        Some(n) if b.u8() < 200 => n.clone(),
        _ => nick(b),
    };
    match b.u8() % 9 {
        0 | 8 => PeerLine::Hello {
            nick: some_nick(b),
            ticket: if b.u8() < 200 {
                Some(ticket(b, known))
            } else {
                None
            },
        },
        1 | 7 => PeerLine::Msg(msg(b, known, peer)),
        2 => PeerLine::Ack {
            id: msg_id(b, known),
        },
        3 => PeerLine::Broadcast {
            nick: some_nick(b),
            text: text(b),
        },
        4 => PeerLine::Ping {
            token: ping_token(b),
        },
        5 => PeerLine::Pong {
            token: ping_token(b),
        },
        6 => PeerLine::Quit,
        _ => PeerLine::Err {
            code: err_code(b),
            text: text(b),
        },
    }
}

/// A well-formed datagram.
pub fn datagram(b: &mut Bytes<'_>, known: &Known) -> Datagram {
    if b.bool() {
        Datagram::Offer {
            nick: nick(b),
            port: port(b),
            ticket: ticket(b, known),
        }
    } else {
        Datagram::Dm {
            nick: nick(b),
            text: text(b),
        }
    }
}

/// Bytes the mutator likes to put in.
const INTERESTING: [&[u8]; 16] = [
    b":",
    b"\r",
    b"\n",
    b"\0",
    b"\xff",
    b"\xc3",
    b"0",
    b"9",
    b"::",
    b"[",
    b"]",
    b"1025",
    b"00",
    b"\r\n",
    b"\xe2\x80\xa8",
    b"99999999999999999999",
];

/// Mutates an encoded line (without its terminator) a few times: a byte replaced,
/// inserted or removed, a cut, a verb swapped, a field repeated, a length off by one.
pub fn mutate(b: &mut Bytes<'_>, line: &[u8]) -> Vec<u8> {
    let mut v = line.to_vec();
    let rounds = 1 + b.below(3);
    for _ in 0..rounds {
        let at = if v.is_empty() {
            0
        } else {
            b.below(v.len() + 1)
        };
        match b.u8() % 9 {
            0 if at < v.len() => v[at] = b.u8(),
            1 => {
                let ins = *b.pick(&INTERESTING);
                v.splice(at..at, ins.iter().copied());
            }
            2 if at < v.len() => {
                v.remove(at);
            }
            3 => v.truncate(at),
            4 => {
                // Swap the verb for another one.
                let end = v.iter().position(|&c| c == b':').unwrap_or(v.len());
                let verb = b.pick(&VERBS).as_bytes();
                v.splice(..end, verb.iter().copied());
            }
            5 => {
                // Repeat the last field.
                let start = v.iter().rposition(|&c| c == b':').unwrap_or(0);
                let tail = v[start..].to_vec();
                v.extend_from_slice(&tail);
            }
            6 => {
                // A length one off, or the verb in lower case.
                if let Some(p) = v.iter().position(|c| c.is_ascii_digit()) {
                    v[p] = if v[p] == b'9' { b'0' } else { v[p] + 1 };
                } else {
                    v.make_ascii_lowercase();
                }
            }
            7 => {
                // Grow past MAX_LINE.
                let n = 2048 + b.below(8) - 3;
                v.resize(v.len().max(n), b'a');
            }
            _ => {
                let ins = b.chunk(8);
                v.splice(at..at, ins.iter().copied());
            }
        }
    }
    v
}
