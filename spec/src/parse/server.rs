//! The server → client rules of §3 (`; ---- server -> client ----`).

use nom::Parser;
use nom::multi::many0;
use nom::sequence::preceded;

use super::client::{broadcast, ping, pong};
use super::field::{
    address, delivery, error_code, msg_id, nick, raw_field, sep, text_field, ticket, time, token,
};
use super::{MISSING, PResult, UNKNOWN_VERB, failure, finish, split_verb};
use crate::error::{DecodeError, ErrorCode};
use crate::message::{ErrCode, Msg, ServerLine, UpdateKind, User};
use crate::text::Text;

/// `server-line = update / list-reply / list-part / broadcast / ping / pong / bye
/// / error / user / token-line / sent / msg / blocked / unblocked / blocks-reply
/// / blocks-part / ticket-reply / invite`
///
/// `line` has passed §2.1 steps 1–3; this is step 4 (the verb) and on.
pub(crate) fn server_line(line: &str) -> Result<ServerLine, DecodeError> {
    let (verb, rest) = split_verb(line);
    match verb {
        "UPDATE" => finish(rest, update),
        "LIST" => finish(rest, list_reply),
        "LISTPART" => finish(rest, list_part),
        "BROADCAST" => {
            finish(rest, broadcast).map(|(nick, text)| ServerLine::Broadcast { nick, text })
        }
        "PING" => finish(rest, ping).map(|token| ServerLine::Ping { token }),
        "PONG" => finish(rest, pong).map(|token| ServerLine::Pong { token }),
        "BYE" => finish(rest, bye),
        "ERR" => finish(rest, error).map(|(code, text)| ServerLine::Err { code, text }),
        "USER" => finish(rest, user),
        "TOKEN" => finish(rest, token_line),
        "SENT" => finish(rest, sent),
        "MSG" => finish(rest, msg).map(ServerLine::Msg),
        "BLOCKED" => finish(rest, blocked),
        "UNBLOCKED" => finish(rest, unblocked),
        "BLOCKS" => finish(rest, blocks_reply),
        "BLOCKSPART" => finish(rest, blocks_part),
        "TICKET" => finish(rest, ticket_reply),
        "INVITE" => finish(rest, invite),
        _ => Err(UNKNOWN_VERB),
    }
}

/// `nick ":" address`, the shape of a user in `update`, `list-reply`, `user`,
/// `ticket-reply` and `invite` (no rule of its own in §3).
fn user_fields(i: &str) -> PResult<'_, User> {
    let (i, nick) = nick(i)?;
    let (i, address) = preceded(sep, address).parse(i)?;
    Ok((i, User { nick, address }))
}

/// `update = %s"UPDATE" ":" (%s"JOIN" / %s"LEAVE") ":" nick ":" address`
///
/// A kind other than `JOIN` or `LEAVE` (case-sensitive) is `MALFORMED`.
pub(crate) fn update(i: &str) -> PResult<'_, ServerLine> {
    let (i, kind) = preceded(sep, raw_field).parse(i)?;
    let kind = match kind {
        "JOIN" => UpdateKind::Join,
        "LEAVE" => UpdateKind::Leave,
        _ => {
            return failure(DecodeError::new(
                ErrorCode::Malformed,
                "an UPDATE is JOIN or LEAVE",
            ));
        }
    };
    let (i, user) = preceded(sep, user_fields).parse(i)?;
    Ok((i, ServerLine::Update { kind, user }))
}

/// `list-reply = %s"LIST" *(":" nick ":" address)`
///
/// Each `:` after the verb starts an entry: `LIST:` is an entry with an empty
/// nick (`BAD_NICK`), `LIST:bob` one without an address (`MALFORMED`).
pub(crate) fn list_reply(i: &str) -> PResult<'_, ServerLine> {
    let (i, users) = many0(preceded(sep, user_fields)).parse(i)?;
    Ok((i, ServerLine::List { users }))
}

/// `list-part = %s"LISTPART" 1*(":" nick ":" address)`
pub(crate) fn list_part(i: &str) -> PResult<'_, ServerLine> {
    let (i, users) = many0(preceded(sep, user_fields)).parse(i)?;
    if users.is_empty() {
        return failure(MISSING);
    }
    Ok((i, ServerLine::ListPart { users }))
}

/// `bye = %s"BYE"`
pub(crate) fn bye(i: &str) -> PResult<'_, ServerLine> {
    Ok((i, ServerLine::Bye))
}

/// `error = %s"ERR" ":" error-code ":" text-field`
pub(crate) fn error(i: &str) -> PResult<'_, (ErrCode, Text)> {
    let (i, code) = preceded(sep, error_code).parse(i)?;
    let (i, text) = preceded(sep, text_field).parse(i)?;
    Ok((i, (code, text)))
}

/// `user = %s"USER" ":" nick ":" address`
pub(crate) fn user(i: &str) -> PResult<'_, ServerLine> {
    let (i, user) = preceded(sep, user_fields).parse(i)?;
    Ok((i, ServerLine::User { user }))
}

/// `token-line = %s"TOKEN" ":" nick ":" token`
pub(crate) fn token_line(i: &str) -> PResult<'_, ServerLine> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    let (i, token) = preceded(sep, token).parse(i)?;
    Ok((i, ServerLine::Token { nick, token }))
}

/// `sent = %s"SENT" ":" msg-id ":" delivery`
pub(crate) fn sent(i: &str) -> PResult<'_, ServerLine> {
    let (i, id) = preceded(sep, msg_id).parse(i)?;
    let (i, delivery) = preceded(sep, delivery).parse(i)?;
    Ok((i, ServerLine::Sent { id, delivery }))
}

/// `msg = %s"MSG" ":" msg-id ":" nick ":" time ":" text-field`
pub(crate) fn msg(i: &str) -> PResult<'_, Msg> {
    let (i, id) = preceded(sep, msg_id).parse(i)?;
    let (i, from) = preceded(sep, nick).parse(i)?;
    let (i, time) = preceded(sep, time).parse(i)?;
    let (i, text) = preceded(sep, text_field).parse(i)?;
    Ok((
        i,
        Msg {
            id,
            from,
            time,
            text,
        },
    ))
}

/// `blocked = %s"BLOCKED" ":" nick`
pub(crate) fn blocked(i: &str) -> PResult<'_, ServerLine> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    Ok((i, ServerLine::Blocked { nick }))
}

/// `unblocked = %s"UNBLOCKED" ":" nick`
pub(crate) fn unblocked(i: &str) -> PResult<'_, ServerLine> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    Ok((i, ServerLine::Unblocked { nick }))
}

/// `blocks-reply = %s"BLOCKS" *(":" nick)`
///
/// `BLOCKS:` is an entry with an empty nick (`BAD_NICK`).
pub(crate) fn blocks_reply(i: &str) -> PResult<'_, ServerLine> {
    let (i, nicks) = many0(preceded(sep, nick)).parse(i)?;
    Ok((i, ServerLine::Blocks { nicks }))
}

/// `blocks-part = %s"BLOCKSPART" 1*(":" nick)`
pub(crate) fn blocks_part(i: &str) -> PResult<'_, ServerLine> {
    let (i, nicks) = many0(preceded(sep, nick)).parse(i)?;
    if nicks.is_empty() {
        return failure(MISSING);
    }
    Ok((i, ServerLine::BlocksPart { nicks }))
}

/// `ticket-reply = %s"TICKET" ":" nick ":" address ":" ticket`
pub(crate) fn ticket_reply(i: &str) -> PResult<'_, ServerLine> {
    let (i, user) = preceded(sep, user_fields).parse(i)?;
    let (i, ticket) = preceded(sep, ticket).parse(i)?;
    Ok((i, ServerLine::Ticket { user, ticket }))
}

/// `invite = %s"INVITE" ":" nick ":" address ":" ticket`
pub(crate) fn invite(i: &str) -> PResult<'_, ServerLine> {
    let (i, user) = preceded(sep, user_fields).parse(i)?;
    let (i, ticket) = preceded(sep, ticket).parse(i)?;
    Ok((i, ServerLine::Invite { user, ticket }))
}
