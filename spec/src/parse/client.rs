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
use super::{PResult, UNKNOWN_VERB, finish, split_verb};
use crate::borrowed::{ClientLineRef, NickRef, PingTokenRef, TextRef};
use crate::error::DecodeError;
use crate::id::MsgId;

/// `client-line = register / broadcast / ping / pong / quit / list-req / query /
/// send / ack / block / unblock / blocks-req / ticket-req`
///
/// `line` has passed §2.1 steps 1–3; this is step 4 (the verb) and on.
pub(crate) fn client_line(line: &str) -> Result<ClientLineRef<'_>, DecodeError> {
    let (verb, rest) = split_verb(line);
    match verb {
        "REGISTER" => finish(rest, register),
        "BROADCAST" => {
            finish(rest, broadcast).map(|(nick, text)| ClientLineRef::Broadcast { nick, text })
        }
        "PING" => finish(rest, ping).map(|token| ClientLineRef::Ping { token }),
        "PONG" => finish(rest, pong).map(|token| ClientLineRef::Pong { token }),
        "QUIT" => finish(rest, quit).map(|()| ClientLineRef::Quit),
        "LIST" => finish(rest, list_req),
        "QUERY" => finish(rest, query),
        "SEND" => finish(rest, send),
        "ACK" => finish(rest, ack).map(|id| ClientLineRef::Ack { id }),
        "BLOCK" => finish(rest, block),
        "UNBLOCK" => finish(rest, unblock),
        "BLOCKS" => finish(rest, blocks_req),
        "TICKET" => finish(rest, ticket_req),
        _ => Err(UNKNOWN_VERB),
    }
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
pub(crate) fn broadcast(i: &str) -> PResult<'_, (NickRef<'_>, TextRef<'_>)> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    let (i, text) = preceded(sep, text_field).parse(i)?;
    Ok((i, (nick, text)))
}

/// `ping = %s"PING" ":" ping-token`
pub(crate) fn ping(i: &str) -> PResult<'_, PingTokenRef<'_>> {
    preceded(sep, ping_token).parse(i)
}

/// `pong = %s"PONG" ":" ping-token`
pub(crate) fn pong(i: &str) -> PResult<'_, PingTokenRef<'_>> {
    preceded(sep, ping_token).parse(i)
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
pub(crate) fn send(i: &str) -> PResult<'_, ClientLineRef<'_>> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    let (i, text) = preceded(sep, text_field).parse(i)?;
    Ok((i, ClientLineRef::Send { nick, text }))
}

/// `ack = %s"ACK" ":" msg-id`
pub(crate) fn ack(i: &str) -> PResult<'_, MsgId> {
    preceded(sep, msg_id).parse(i)
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
