//! `arbitrary::Arbitrary` for every field and wire type (feature `arbitrary`), for
//! the fuzz targets. Every value generated is valid: encoding it gives a line that
//! decodes back to it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::{Arbitrary, Result, Unstructured};

use crate::limits::{MAX_MSG_ID, MAX_NICK, MAX_PING_TOKEN, MAX_TIME};
use crate::{
    Address, ErrCode, ErrorCode, Ip, MsgId, Nick, PingToken, Port, Text, Ticket, Timestamp, Token,
};

const NICKCHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const CODECHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";

/// 1 to `max` characters of `alphabet`.
fn word(u: &mut Unstructured<'_>, alphabet: &[u8], max: usize) -> Result<String> {
    let len = u.int_in_range(1..=max)?;
    let mut s = String::with_capacity(len);
    for _ in 0..len {
        s.push(char::from(*u.choose(alphabet)?));
    }
    Ok(s)
}

impl<'a> Arbitrary<'a> for Nick {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Nick::new(&word(u, NICKCHARS, MAX_NICK)?).map_err(|_| arbitrary::Error::IncorrectFormat)
    }
}

impl<'a> Arbitrary<'a> for PingToken {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        PingToken::new(&word(u, NICKCHARS, MAX_PING_TOKEN)?)
            .map_err(|_| arbitrary::Error::IncorrectFormat)
    }
}

impl<'a> Arbitrary<'a> for Text {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let s: &str = u.arbitrary()?;
        Ok(Text::sanitized(s).unwrap_or_else(|| Text::from_valid("x")))
    }
}

impl<'a> Arbitrary<'a> for Token {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Token::from_random(u.arbitrary()?))
    }
}

impl<'a> Arbitrary<'a> for Ticket {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Ticket::from_random(u.arbitrary()?))
    }
}

impl<'a> Arbitrary<'a> for MsgId {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        MsgId::new(u.int_in_range(1..=MAX_MSG_ID)?).map_err(|_| arbitrary::Error::IncorrectFormat)
    }
}

impl<'a> Arbitrary<'a> for Timestamp {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Timestamp::new(u.int_in_range(0..=MAX_TIME)?).map_err(|_| arbitrary::Error::IncorrectFormat)
    }
}

impl<'a> Arbitrary<'a> for Port {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Port::new(u.int_in_range(1..=u16::MAX)?).map_err(|_| arbitrary::Error::IncorrectFormat)
    }
}

impl<'a> Arbitrary<'a> for Ip {
    /// IPv4, or IPv6 written compressed, in upper case, in full with leading
    /// zeros, or with an embedded IPv4; never the unspecified address.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        if u.arbitrary()? {
            let mut b: [u8; 16] = u.arbitrary()?;
            if b == [0; 16] {
                b[15] = 1;
            }
            let a = Ipv6Addr::from(b);
            let text = match u.int_in_range(0..=3u8)? {
                0 => a.to_string(),
                1 => a.to_string().to_uppercase(),
                2 => a
                    .segments()
                    .iter()
                    .map(|s| format!("{s:04x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
                _ => format!("::ffff:{}", Ipv4Addr::from([b[12], b[13], b[14], b[15]])),
            };
            Ip::new(&text).map_err(|_| arbitrary::Error::IncorrectFormat)
        } else {
            let mut b: [u8; 4] = u.arbitrary()?;
            if b == [0; 4] {
                b[3] = 1;
            }
            Ok(Ip::from(IpAddr::V4(Ipv4Addr::from(b))))
        }
    }
}

impl<'a> Arbitrary<'a> for Address {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Address::new(u.arbitrary()?, u.arbitrary()?))
    }
}

impl<'a> Arbitrary<'a> for ErrorCode {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(*u.choose(&ErrorCode::ALL)?)
    }
}

impl<'a> Arbitrary<'a> for ErrCode {
    /// A code of §6, or another well-formed code.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        if u.arbitrary()? {
            return Ok(ErrCode::Known(u.arbitrary()?));
        }
        let s = word(u, CODECHARS, 32)?;
        Ok(match ErrorCode::from_wire(&s) {
            Some(c) => ErrCode::Known(c),
            None => ErrCode::Other(s),
        })
    }
}

/// Entries in a generated `LIST`/`LISTPART` (at most about 81 octets each).
const MAX_USERS: usize = 20;
/// Entries in a generated `BLOCKS`/`BLOCKSPART` (at most 33 octets each).
const MAX_NICKS: usize = 40;

fn some<'a, T: Arbitrary<'a>>(u: &mut Unstructured<'a>, min: usize, max: usize) -> Result<Vec<T>> {
    let n = u.int_in_range(min..=max)?;
    (0..n).map(|_| u.arbitrary()).collect()
}

impl<'a> Arbitrary<'a> for crate::ServerLine {
    /// Written by hand so that every value is a valid line: `LISTPART` and
    /// `BLOCKSPART` have at least one entry, and lists stay within `MAX_LINE`.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        use crate::ServerLine as S;
        Ok(match u.int_in_range(0..=17u8)? {
            0 => S::Update {
                kind: u.arbitrary()?,
                user: u.arbitrary()?,
            },
            1 => S::List {
                users: some(u, 0, MAX_USERS)?,
            },
            2 => S::ListPart {
                users: some(u, 1, MAX_USERS)?,
            },
            3 => S::Broadcast {
                nick: u.arbitrary()?,
                text: u.arbitrary()?,
            },
            4 => S::Ping {
                token: u.arbitrary()?,
            },
            5 => S::Pong {
                token: u.arbitrary()?,
            },
            6 => S::Bye,
            7 => S::Err {
                code: u.arbitrary()?,
                text: u.arbitrary()?,
            },
            8 => S::User {
                user: u.arbitrary()?,
            },
            9 => S::Token {
                nick: u.arbitrary()?,
                token: u.arbitrary()?,
            },
            10 => S::Sent {
                id: u.arbitrary()?,
                delivery: u.arbitrary()?,
            },
            11 => S::Msg(u.arbitrary()?),
            12 => S::Blocked {
                nick: u.arbitrary()?,
            },
            13 => S::Unblocked {
                nick: u.arbitrary()?,
            },
            14 => S::Blocks {
                nicks: some(u, 0, MAX_NICKS)?,
            },
            15 => S::BlocksPart {
                nicks: some(u, 1, MAX_NICKS)?,
            },
            16 => S::Ticket {
                user: u.arbitrary()?,
                ticket: u.arbitrary()?,
            },
            _ => S::Invite {
                user: u.arbitrary()?,
                ticket: u.arbitrary()?,
            },
        })
    }
}
