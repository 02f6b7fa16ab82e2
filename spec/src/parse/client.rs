//! The client → server rules of §3 (`; ---- client -> server ----`).
//!
//! Each rule takes the line after its verb (`""` or `":..."`); the verb was
//! matched by [`client_line`]. Rules that other contexts share (`broadcast`,
//! `ping`, `pong`, `quit`, `ack`) return their fields, so each context wraps them
//! in its own type.

use nom::Parser;
use nom::combinator::opt;
use nom::sequence::preceded;

use super::field::{address, msg_id, nick, ping_token, sep, text_field, token};
use super::{PResult, UNKNOWN_VERB, after_verb, finish};
use crate::borrowed::{ClientLineRef, NickRef, PingTokenRef, TextRef};
use crate::error::DecodeError;
use crate::id::MsgId;

/// `client-line = register / broadcast / ping / pong / quit / list-req / query /
/// send / ack / block / unblock / blocks-req / ticket-req`
///
/// `line` has passed §2.1 steps 1–3; this is step 4 (the verb) and on.
pub(crate) fn client_line(line: &str) -> Result<ClientLineRef<'_>, DecodeError> {
    // The first octet picks the candidate verbs, each compared whole by
    // `after_verb`: the same verbs as a `match` on `split_verb`'s verb
    // (case-sensitive, [§2.1 step 4]), without scanning for the `:` first.
    let v = |verb| after_verb(line, verb);
    match line.as_bytes().first() {
        Some(b'B') => {
            if let Some(rest) = v("BROADCAST") {
                return finish(rest, broadcast)
                    .map(|(nick, text)| ClientLineRef::Broadcast { nick, text });
            }
            if let Some(rest) = v("BLOCK") {
                return finish(rest, block);
            }
            if let Some(rest) = v("BLOCKS") {
                return finish(rest, blocks_req);
            }
        }
        Some(b'S') => {
            if let Some(rest) = v("SEND") {
                return finish(rest, send);
            }
        }
        Some(b'A') => {
            if let Some(rest) = v("ACK") {
                return finish(rest, ack).map(|id| ClientLineRef::Ack { id });
            }
        }
        Some(b'P') => {
            if let Some(rest) = v("PING") {
                return finish(rest, ping).map(|token| ClientLineRef::Ping { token });
            }
            if let Some(rest) = v("PONG") {
                return finish(rest, pong).map(|token| ClientLineRef::Pong { token });
            }
        }
        Some(b'R') => {
            if let Some(rest) = v("REGISTER") {
                return finish(rest, register);
            }
        }
        Some(b'Q') => {
            if let Some(rest) = v("QUIT") {
                return finish(rest, quit).map(|()| ClientLineRef::Quit);
            }
            if let Some(rest) = v("QUERY") {
                return finish(rest, query);
            }
        }
        Some(b'L') => {
            if let Some(rest) = v("LIST") {
                return finish(rest, list_req);
            }
        }
        Some(b'U') => {
            if let Some(rest) = v("UNBLOCK") {
                return finish(rest, unblock);
            }
        }
        Some(b'T') => {
            if let Some(rest) = v("TICKET") {
                return finish(rest, ticket_req);
            }
        }
        _ => {}
    }
    Err(UNKNOWN_VERB)
}

/// `register = %s"REGISTER" ":" nick ":" address [":" token]`
pub(crate) fn register(i: &str) -> PResult<'_, ClientLineRef<'_>> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    let (i, address) = preceded(sep, address).parse(i)?;
    let (i, token) = opt(preceded(sep, token)).parse(i)?;
    Ok((
        i,
        ClientLineRef::Register {
            nick,
            address,
            token,
        },
    ))
}

/// `broadcast = %s"BROADCAST" ":" nick ":" text-field`
///
/// The hot rules (this one, `send`, `ping`, `pong`, `ack`, and `msg`, `sent`,
/// `update` of the server) chain their nom parsers with `?` instead of
/// `preceded(sep, f).parse(i)`: the same parsers, in the same order, with the
/// same results and errors (`preceded` returns the error of `sep` or of `f`),
/// but the inlined field parsers do not move their `IResult`s through nom's
/// generic `Parser::process` (bench/CODEC.md, session 3).
#[inline(always)]
pub(crate) fn broadcast(i: &str) -> PResult<'_, (NickRef<'_>, TextRef<'_>)> {
    let (i, _) = sep(i)?;
    let (i, nick) = nick(i)?;
    let (i, _) = sep(i)?;
    let (i, text) = text_field(i)?;
    Ok((i, (nick, text)))
}

/// `ping = %s"PING" ":" ping-token`
#[inline(always)]
pub(crate) fn ping(i: &str) -> PResult<'_, PingTokenRef<'_>> {
    let (i, _) = sep(i)?;
    ping_token(i)
}

/// `pong = %s"PONG" ":" ping-token`
#[inline(always)]
pub(crate) fn pong(i: &str) -> PResult<'_, PingTokenRef<'_>> {
    let (i, _) = sep(i)?;
    ping_token(i)
}

/// `quit = %s"QUIT"`
pub(crate) fn quit(i: &str) -> PResult<'_, ()> {
    Ok((i, ()))
}

/// `list-req = %s"LIST"`
pub(crate) fn list_req(i: &str) -> PResult<'_, ClientLineRef<'_>> {
    Ok((i, ClientLineRef::List))
}

/// `query = %s"QUERY" ":" nick`
pub(crate) fn query(i: &str) -> PResult<'_, ClientLineRef<'_>> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    Ok((i, ClientLineRef::Query { nick }))
}

/// `send = %s"SEND" ":" nick ":" text-field`
#[inline(always)]
pub(crate) fn send(i: &str) -> PResult<'_, ClientLineRef<'_>> {
    let (i, _) = sep(i)?;
    let (i, nick) = nick(i)?;
    let (i, _) = sep(i)?;
    let (i, text) = text_field(i)?;
    Ok((i, ClientLineRef::Send { nick, text }))
}

/// `ack = %s"ACK" ":" msg-id`
#[inline(always)]
pub(crate) fn ack(i: &str) -> PResult<'_, MsgId> {
    let (i, _) = sep(i)?;
    msg_id(i)
}

/// `block = %s"BLOCK" ":" nick`
pub(crate) fn block(i: &str) -> PResult<'_, ClientLineRef<'_>> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    Ok((i, ClientLineRef::Block { nick }))
}

/// `unblock = %s"UNBLOCK" ":" nick`
pub(crate) fn unblock(i: &str) -> PResult<'_, ClientLineRef<'_>> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    Ok((i, ClientLineRef::Unblock { nick }))
}

/// `blocks-req = %s"BLOCKS"`
pub(crate) fn blocks_req(i: &str) -> PResult<'_, ClientLineRef<'_>> {
    Ok((i, ClientLineRef::Blocks))
}

/// `ticket-req = %s"TICKET" ":" nick`
pub(crate) fn ticket_req(i: &str) -> PResult<'_, ClientLineRef<'_>> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    Ok((i, ClientLineRef::Ticket { nick }))
}
