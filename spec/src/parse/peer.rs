//! The peer-session rules of §3 (`; ---- peer <-> peer ----`).

use nom::Parser;
use nom::combinator::opt;
use nom::sequence::preceded;

use super::client::{ack, broadcast, ping, pong, quit};
use super::field::{nick, sep, ticket};
use super::server::{error, msg};
use super::{PResult, UNKNOWN_VERB, finish, split_verb};
use crate::error::DecodeError;
use crate::message::PeerLine;

/// `peer-line = hello / msg / ack / broadcast / ping / pong / quit / error`
///
/// `line` has passed §2.1 steps 1–3; this is step 4 (the verb) and on.
pub(crate) fn peer_line(line: &str) -> Result<PeerLine, DecodeError> {
    let (verb, rest) = split_verb(line);
    match verb {
        "HELLO" => finish(rest, hello),
        "MSG" => finish(rest, msg).map(|m| PeerLine::Msg(m.into_owned())),
        "ACK" => finish(rest, ack).map(|id| PeerLine::Ack { id }),
        "BROADCAST" => finish(rest, broadcast).map(|(nick, text)| PeerLine::Broadcast {
            nick: nick.into_owned(),
            text: text.into_owned(),
        }),
        "PING" => finish(rest, ping).map(|token| PeerLine::Ping {
            token: token.into_owned(),
        }),
        "PONG" => finish(rest, pong).map(|token| PeerLine::Pong {
            token: token.into_owned(),
        }),
        "QUIT" => finish(rest, quit).map(|()| PeerLine::Quit),
        "ERR" => finish(rest, error).map(|(code, text)| PeerLine::Err {
            code: code.into_owned(),
            text: text.into_owned(),
        }),
        _ => Err(UNKNOWN_VERB),
    }
}

/// `hello = %s"HELLO" ":" nick [":" ticket]`
pub(crate) fn hello(i: &str) -> PResult<'_, PeerLine> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    let (i, ticket) = opt(preceded(sep, ticket)).parse(i)?;
    Ok((
        i,
        PeerLine::Hello {
            nick: nick.into_owned(),
            ticket,
        },
    ))
}
