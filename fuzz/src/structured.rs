//! Round trips from structured input (`round_trip` target).
//!
//! The spec crate has no `Arbitrary` impls of its own, so these recipes derive
//! `Arbitrary` and build each message through the spec crate's validating
//! constructors (`Nick::new`, `Ip::new`, `Text::sanitized`, ...): every value built
//! is well-formed by construction. Every well-formed message that fits in a line must
//! encode to bytes that decode to the same message (and `Display` must write the
//! same bytes); one that does not fit must be refused with `LINE_TOO_LONG`.

use std::net::{Ipv4Addr, Ipv6Addr};

use arbitrary::Arbitrary;
use spec::limits::{MAX_LINE, MAX_MSG_ID, MAX_TEXT, MAX_TIME};
use spec::{
    Address, ClientLine, Datagram, Delivery, ErrCode, ErrorCode, Ip, Msg, MsgId, Nick, PeerLine,
    PingToken, Port, ServerLine, Text, Ticket, Timestamp, Token, UpdateKind, User,
};

const NICKCHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

/// A nick: bytes mapped into the nick alphabet, 1 to 32 of them.
#[derive(Debug, Arbitrary)]
pub struct NickR(Vec<u8>);

impl NickR {
    fn build(&self) -> Option<Nick> {
        let s: String = self
            .0
            .iter()
            .take(32)
            .map(|b| char::from(NICKCHARS[usize::from(*b) % NICKCHARS.len()]))
            .collect();
        Nick::new(if s.is_empty() { "a" } else { &s }).ok()
    }
    fn ping(&self) -> Option<PingToken> {
        self.build().and_then(|n| PingToken::new(n.as_str()).ok())
    }
}

/// Free text: any string made valid, or a long run of one character.
#[derive(Debug, Arbitrary)]
pub enum TextR {
    /// Any string (NUL, CR, LF become spaces).
    Any(String),
    /// `n` octets of one character (cut to `MAX_TEXT` at a character boundary).
    Run(char, u16),
}

impl TextR {
    fn build(&self) -> Option<Text> {
        match self {
            TextR::Any(s) => Text::sanitized(s),
            TextR::Run(c, n) => {
                let per = c.len_utf8();
                let count = (usize::from(*n) % (MAX_TEXT + 1)) / per;
                Text::sanitized(&c.to_string().repeat(count.max(1)))
            }
        }
    }
}

/// An IP literal in each written form.
#[derive(Debug, Arbitrary)]
pub enum IpR {
    /// Dotted IPv4.
    V4([u8; 4]),
    /// IPv6: 0 compressed, 1 upper case, 2 every group in four digits, 3 groups
    /// without leading zeros and no `::`.
    V6([u8; 16], u8),
    /// IPv6 with an embedded IPv4 (`::ffff:a.b.c.d`).
    Mapped([u8; 4]),
}

impl IpR {
    fn build(&self) -> Option<Ip> {
        let text = match self {
            IpR::V4(o) => Ipv4Addr::from(*o).to_string(),
            IpR::V6(o, form) => {
                let a = Ipv6Addr::from(*o);
                let groups = a.segments();
                match form % 4 {
                    0 => a.to_string(),
                    1 => a.to_string().to_uppercase(),
                    2 => groups
                        .iter()
                        .map(|g| format!("{g:04x}"))
                        .collect::<Vec<_>>()
                        .join(":"),
                    _ => groups
                        .iter()
                        .map(|g| format!("{g:x}"))
                        .collect::<Vec<_>>()
                        .join(":"),
                }
            }
            IpR::Mapped(o) => format!("::ffff:{}", Ipv4Addr::from(*o)),
        };
        Ip::new(&text).ok()
    }
}

/// An address.
#[derive(Debug, Arbitrary)]
pub struct AddressR(IpR, u16);

impl AddressR {
    fn build(&self) -> Option<Address> {
        Some(Address::new(self.0.build()?, Port::new(self.1).ok()?))
    }
}

/// A user.
#[derive(Debug, Arbitrary)]
pub struct UserR(NickR, AddressR);

impl UserR {
    fn build(&self) -> Option<User> {
        Some(User {
            nick: self.0.build()?,
            address: self.1.build()?,
        })
    }
}

fn users(v: &[UserR]) -> Option<Vec<User>> {
    v.iter().map(UserR::build).collect()
}

fn nicks(v: &[NickR]) -> Option<Vec<Nick>> {
    v.iter().map(NickR::build).collect()
}

fn id(n: u64) -> Option<MsgId> {
    MsgId::new(n % MAX_MSG_ID + 1).ok()
}

fn time(n: u64) -> Option<Timestamp> {
    Timestamp::new(n % (MAX_TIME + 1)).ok()
}

/// A message.
#[derive(Debug, Arbitrary)]
pub struct MsgR(u64, NickR, u64, TextR);

impl MsgR {
    fn build(&self) -> Option<Msg> {
        Some(Msg {
            id: id(self.0)?,
            from: self.1.build()?,
            time: time(self.2)?,
            text: self.3.build()?,
        })
    }
}

/// An error code: one of §6, or any other well-formed one.
#[derive(Debug, Arbitrary)]
pub enum CodeR {
    /// A code of §6.
    Known(u8),
    /// `1*32(%x41-5A / DIGIT / "_")`.
    Other(Vec<u8>),
}

impl CodeR {
    fn build(&self) -> Option<ErrCode> {
        match self {
            CodeR::Known(i) => Some(ErrCode::Known(
                ErrorCode::ALL[usize::from(*i) % ErrorCode::ALL.len()],
            )),
            CodeR::Other(v) => {
                const CH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
                let s: String = v
                    .iter()
                    .take(32)
                    .map(|b| char::from(CH[usize::from(*b) % CH.len()]))
                    .collect();
                if s.is_empty() {
                    return None;
                }
                Some(match ErrorCode::from_wire(&s) {
                    Some(c) => ErrCode::Known(c),
                    None => ErrCode::Other(s),
                })
            }
        }
    }
}

/// Any client → server line.
#[derive(Debug, Arbitrary)]
pub enum ClientR {
    Register(NickR, AddressR, Option<[u8; 16]>),
    Broadcast(NickR, TextR),
    Ping(NickR),
    Pong(NickR),
    Quit,
    List,
    Query(NickR),
    Send(NickR, TextR),
    Ack(u64),
    Block(NickR),
    Unblock(NickR),
    Blocks,
    Ticket(NickR),
}

impl ClientR {
    fn build(&self) -> Option<ClientLine> {
        Some(match self {
            ClientR::Register(n, a, t) => ClientLine::Register {
                nick: n.build()?,
                address: a.build()?,
                token: t.map(Token::from_random),
            },
            ClientR::Broadcast(n, t) => ClientLine::Broadcast {
                nick: n.build()?,
                text: t.build()?,
            },
            ClientR::Ping(t) => ClientLine::Ping { token: t.ping()? },
            ClientR::Pong(t) => ClientLine::Pong { token: t.ping()? },
            ClientR::Quit => ClientLine::Quit,
            ClientR::List => ClientLine::List,
            ClientR::Query(n) => ClientLine::Query { nick: n.build()? },
            ClientR::Send(n, t) => ClientLine::Send {
                nick: n.build()?,
                text: t.build()?,
            },
            ClientR::Ack(i) => ClientLine::Ack { id: id(*i)? },
            ClientR::Block(n) => ClientLine::Block { nick: n.build()? },
            ClientR::Unblock(n) => ClientLine::Unblock { nick: n.build()? },
            ClientR::Blocks => ClientLine::Blocks,
            ClientR::Ticket(n) => ClientLine::Ticket { nick: n.build()? },
        })
    }
}

/// Any server → client line.
#[derive(Debug, Arbitrary)]
pub enum ServerR {
    Update(bool, UserR),
    List(Vec<UserR>),
    ListPart(UserR, Vec<UserR>),
    Broadcast(NickR, TextR),
    Ping(NickR),
    Pong(NickR),
    Bye,
    Err(CodeR, TextR),
    User(UserR),
    Token(NickR, [u8; 16]),
    Sent(u64, bool),
    Msg(MsgR),
    Blocked(NickR),
    Unblocked(NickR),
    Blocks(Vec<NickR>),
    BlocksPart(NickR, Vec<NickR>),
    Ticket(UserR, [u8; 16]),
    Invite(UserR, [u8; 16]),
}

impl ServerR {
    fn build(&self) -> Option<ServerLine> {
        Some(match self {
            ServerR::Update(j, u) => ServerLine::Update {
                kind: if *j {
                    UpdateKind::Join
                } else {
                    UpdateKind::Leave
                },
                user: u.build()?,
            },
            ServerR::List(v) => ServerLine::List { users: users(v)? },
            ServerR::ListPart(first, v) => {
                let mut all = vec![first.build()?];
                all.extend(users(v)?);
                ServerLine::ListPart { users: all }
            }
            ServerR::Broadcast(n, t) => ServerLine::Broadcast {
                nick: n.build()?,
                text: t.build()?,
            },
            ServerR::Ping(t) => ServerLine::Ping { token: t.ping()? },
            ServerR::Pong(t) => ServerLine::Pong { token: t.ping()? },
            ServerR::Bye => ServerLine::Bye,
            ServerR::Err(c, t) => ServerLine::Err {
                code: c.build()?,
                text: t.build()?,
            },
            ServerR::User(u) => ServerLine::User { user: u.build()? },
            ServerR::Token(n, t) => ServerLine::Token {
                nick: n.build()?,
                token: Token::from_random(*t),
            },
            ServerR::Sent(i, live) => ServerLine::Sent {
                id: id(*i)?,
                delivery: if *live {
                    Delivery::Live
                } else {
                    Delivery::Queued
                },
            },
            ServerR::Msg(m) => ServerLine::Msg(m.build()?),
            ServerR::Blocked(n) => ServerLine::Blocked { nick: n.build()? },
            ServerR::Unblocked(n) => ServerLine::Unblocked { nick: n.build()? },
            ServerR::Blocks(v) => ServerLine::Blocks { nicks: nicks(v)? },
            ServerR::BlocksPart(first, v) => {
                let mut all = vec![first.build()?];
                all.extend(nicks(v)?);
                ServerLine::BlocksPart { nicks: all }
            }
            ServerR::Ticket(u, t) => ServerLine::Ticket {
                user: u.build()?,
                ticket: Ticket::from_random(*t),
            },
            ServerR::Invite(u, t) => ServerLine::Invite {
                user: u.build()?,
                ticket: Ticket::from_random(*t),
            },
        })
    }
}

/// Any peer-session line.
#[derive(Debug, Arbitrary)]
pub enum PeerR {
    Hello(NickR, Option<[u8; 16]>),
    Msg(MsgR),
    Ack(u64),
    Broadcast(NickR, TextR),
    Ping(NickR),
    Pong(NickR),
    Quit,
    Err(CodeR, TextR),
}

impl PeerR {
    fn build(&self) -> Option<PeerLine> {
        Some(match self {
            PeerR::Hello(n, t) => PeerLine::Hello {
                nick: n.build()?,
                ticket: t.map(Ticket::from_random),
            },
            PeerR::Msg(m) => PeerLine::Msg(m.build()?),
            PeerR::Ack(i) => PeerLine::Ack { id: id(*i)? },
            PeerR::Broadcast(n, t) => PeerLine::Broadcast {
                nick: n.build()?,
                text: t.build()?,
            },
            PeerR::Ping(t) => PeerLine::Ping { token: t.ping()? },
            PeerR::Pong(t) => PeerLine::Pong { token: t.ping()? },
            PeerR::Quit => PeerLine::Quit,
            PeerR::Err(c, t) => PeerLine::Err {
                code: c.build()?,
                text: t.build()?,
            },
        })
    }
}

/// Any datagram.
#[derive(Debug, Arbitrary)]
pub enum DatagramR {
    Offer(NickR, u16, [u8; 16]),
    Dm(NickR, TextR),
}

impl DatagramR {
    fn build(&self) -> Option<Datagram> {
        Some(match self {
            DatagramR::Offer(n, p, t) => Datagram::Offer {
                nick: n.build()?,
                port: Port::new(*p).ok()?,
                ticket: Ticket::from_random(*t),
            },
            DatagramR::Dm(n, t) => Datagram::Dm {
                nick: n.build()?,
                text: t.build()?,
            },
        })
    }
}

/// One message of any context.
#[derive(Debug, Arbitrary)]
pub enum AnyR {
    Client(ClientR),
    Server(ServerR),
    Peer(PeerR),
    Datagram(DatagramR),
}

fn round<T>(value: &T, terminated: bool, decode: impl Fn(&[u8]) -> Result<T, spec::DecodeError>)
where
    T: PartialEq + std::fmt::Debug + std::fmt::Display,
{
    let _ = terminated;
    let shown = value.to_string();
    let bytes = shown.as_bytes();
    match decode(bytes) {
        Ok(back) if bytes.len() <= MAX_LINE => assert_eq!(&back, value, "decode(encode(x)) != x"),
        Ok(back) => panic!("{} octets decoded (to {back:?}) past MAX_LINE", bytes.len()),
        Err(e) if bytes.len() > MAX_LINE => assert_eq!(e.code, ErrorCode::LineTooLong),
        Err(e) => panic!("{value:?} encodes to {shown:?}, which does not decode: {e}"),
    }
}

/// Checks one structured message.
pub fn check(m: &AnyR) {
    match m {
        AnyR::Client(r) => {
            if let Some(v) = r.build() {
                let mut out = Vec::new();
                v.encode(&mut out);
                assert_eq!(out, [v.to_string().as_bytes(), b"\r\n"].concat());
                round(&v, true, ClientLine::decode);
            }
        }
        AnyR::Server(r) => {
            if let Some(v) = r.build() {
                let mut out = Vec::new();
                v.encode(&mut out);
                assert_eq!(out, [v.to_string().as_bytes(), b"\r\n"].concat());
                round(&v, true, ServerLine::decode);
            }
        }
        AnyR::Peer(r) => {
            if let Some(v) = r.build() {
                let mut out = Vec::new();
                v.encode(&mut out);
                assert_eq!(out, [v.to_string().as_bytes(), b"\r\n"].concat());
                round(&v, true, PeerLine::decode);
            }
        }
        AnyR::Datagram(r) => {
            if let Some(v) = r.build() {
                let mut out = Vec::new();
                v.encode(&mut out);
                assert_eq!(out, v.to_string().as_bytes());
                round(&v, false, Datagram::decode);
                // The optional eol of the `datagram` rule.
                for eol in [&b"\r\n"[..], b"\n"] {
                    let mut t = out.clone();
                    t.extend_from_slice(eol);
                    if out.len() <= MAX_LINE {
                        assert_eq!(Datagram::decode(&t).as_ref(), Ok(&v), "with eol {eol:?}");
                    }
                }
            }
        }
    }
}
