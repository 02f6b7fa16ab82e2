//! The server → client rules of §3 (`; ---- server -> client ----`).

use nom::Parser;
use nom::multi::fold_many0;
use nom::sequence::preceded;

use super::client::{broadcast, ping, pong};
use super::field::{
    address, delivery, error_code, msg_id, nick, raw_field, sep, text_field, ticket, time, token,
};
use super::{MISSING, PResult, UNKNOWN_VERB, after_verb, failure, finish};
use crate::borrowed::{
    ErrCodeRef, MsgRef, NickList, NickRef, ServerLineRef, TextRef, UserList, UserRef,
};
use crate::error::{DecodeError, ErrorCode};
use crate::message::UpdateKind;

/// `server-line = update / list-reply / list-part / broadcast / ping / pong / bye
/// / error / user / token-line / sent / msg / blocked / unblocked / blocks-reply
/// / blocks-part / ticket-reply / invite`
///
/// `line` has passed §2.1 steps 1–3; this is step 4 (the verb) and on.
pub(crate) fn server_line(line: &str) -> Result<ServerLineRef<'_>, DecodeError> {
    // As in `client_line`: the first octet picks the candidates, `after_verb`
    // compares each whole ([§2.1 step 4]).
    let v = |verb| after_verb(line, verb);
    match line.as_bytes().first() {
        Some(b'B') => {
            if let Some(rest) = v("BROADCAST") {
                return finish(rest, broadcast)
                    .map(|(nick, text)| ServerLineRef::Broadcast { nick, text });
            }
            if let Some(rest) = v("BYE") {
                return finish(rest, bye);
            }
            if let Some(rest) = v("BLOCKED") {
                return finish(rest, blocked);
            }
            if let Some(rest) = v("BLOCKS") {
                return finish(rest, blocks_reply);
            }
            if let Some(rest) = v("BLOCKSPART") {
                return finish(rest, blocks_part);
            }
        }
        Some(b'M') => {
            if let Some(rest) = v("MSG") {
                return finish(rest, msg).map(ServerLineRef::Msg);
            }
        }
        Some(b'S') => {
            if let Some(rest) = v("SENT") {
                return finish(rest, sent);
            }
        }
        Some(b'P') => {
            if let Some(rest) = v("PING") {
                return finish(rest, ping).map(|token| ServerLineRef::Ping { token });
            }
            if let Some(rest) = v("PONG") {
                return finish(rest, pong).map(|token| ServerLineRef::Pong { token });
            }
        }
        Some(b'U') => {
            if let Some(rest) = v("UPDATE") {
                return finish(rest, update);
            }
            if let Some(rest) = v("USER") {
                return finish(rest, user);
            }
            if let Some(rest) = v("UNBLOCKED") {
                return finish(rest, unblocked);
            }
        }
        Some(b'L') => {
            if let Some(rest) = v("LIST") {
                return finish(rest, list_reply);
            }
            if let Some(rest) = v("LISTPART") {
                return finish(rest, list_part);
            }
        }
        Some(b'E') => {
            if let Some(rest) = v("ERR") {
                return finish(rest, error).map(|(code, text)| ServerLineRef::Err { code, text });
            }
        }
        Some(b'T') => {
            if let Some(rest) = v("TOKEN") {
                return finish(rest, token_line);
            }
            if let Some(rest) = v("TICKET") {
                return finish(rest, ticket_reply);
            }
        }
        Some(b'I') => {
            if let Some(rest) = v("INVITE") {
                return finish(rest, invite);
            }
        }
        _ => {}
    }
    Err(UNKNOWN_VERB)
}

/// `nick ":" address`, the shape of a user in `update`, `list-reply`, `user`,
/// `ticket-reply` and `invite` (no rule of its own in §3).
///
/// Inlined, like `update`, for the reason given at [`finish`]: `UPDATE`
/// lines decode about 20 % faster (bench/CODEC.md, session 6).
#[inline(always)]
fn user_fields(i: &str) -> PResult<'_, UserRef<'_>> {
    let (i, nick) = nick(i)?;
    let (i, _) = sep(i)?;
    let (i, address) = address(i)?;
    Ok((i, UserRef { nick, address }))
}

/// `update = %s"UPDATE" ":" (%s"JOIN" / %s"LEAVE") ":" nick ":" address`
///
/// A kind other than `JOIN` or `LEAVE` (case-sensitive) is `MALFORMED`.
#[inline(always)]
pub(crate) fn update(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (i, _) = sep(i)?;
    let (i, kind) = raw_field(i)?;
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
    let (i, _) = sep(i)?;
    let (i, user) = user_fields(i)?;
    Ok((i, ServerLineRef::Update { kind, user }))
}

/// `list-reply = %s"LIST" *(":" nick ":" address)`
///
/// Each `:` after the verb starts an entry: `LIST:` is an entry with an empty
/// nick (`BAD_NICK`), `LIST:bob` one without an address (`MALFORMED`). The
/// entries are checked here and kept as text (no allocation); [`list_entry`]
/// reads them again when the list is iterated.
pub(crate) fn list_reply(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (rest, users) = user_list(i)?;
    Ok((rest, ServerLineRef::List { users }))
}

/// `list-part = %s"LISTPART" 1*(":" nick ":" address)`
pub(crate) fn list_part(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (rest, users) = user_list(i)?;
    if users.is_empty() {
        return failure(MISSING);
    }
    Ok((rest, ServerLineRef::ListPart { users }))
}

/// `*(":" nick ":" address)`: checks every entry, keeps their text.
fn user_list(i: &str) -> PResult<'_, UserList<'_>> {
    let (rest, ()) = fold_many0(list_entry, || (), |(), _| ()).parse(i)?;
    let entries = &i[..i.len() - rest.len()];
    Ok((rest, UserList::from_checked(entries)))
}

/// One entry of a user list, `":" nick ":" address`.
pub(crate) fn list_entry(i: &str) -> PResult<'_, UserRef<'_>> {
    preceded(sep, user_fields).parse(i)
}

/// `bye = %s"BYE"`
pub(crate) fn bye(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    Ok((i, ServerLineRef::Bye))
}

/// `error = %s"ERR" ":" error-code ":" text-field`
pub(crate) fn error(i: &str) -> PResult<'_, (ErrCodeRef<'_>, TextRef<'_>)> {
    let (i, code) = preceded(sep, error_code).parse(i)?;
    let (i, text) = preceded(sep, text_field).parse(i)?;
    Ok((i, (code, text)))
}

/// `user = %s"USER" ":" nick ":" address`
pub(crate) fn user(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (i, user) = preceded(sep, user_fields).parse(i)?;
    Ok((i, ServerLineRef::User { user }))
}

/// `token-line = %s"TOKEN" ":" nick ":" token`
pub(crate) fn token_line(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    let (i, token) = preceded(sep, token).parse(i)?;
    Ok((i, ServerLineRef::Token { nick, token }))
}

/// `sent = %s"SENT" ":" msg-id ":" delivery`
#[inline(always)]
pub(crate) fn sent(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (i, _) = sep(i)?;
    let (i, id) = msg_id(i)?;
    let (i, _) = sep(i)?;
    let (i, delivery) = delivery(i)?;
    Ok((i, ServerLineRef::Sent { id, delivery }))
}

/// `msg = %s"MSG" ":" msg-id ":" nick ":" time ":" text-field`
#[inline(always)]
pub(crate) fn msg(i: &str) -> PResult<'_, MsgRef<'_>> {
    let (i, _) = sep(i)?;
    let (i, id) = msg_id(i)?;
    let (i, _) = sep(i)?;
    let (i, from) = nick(i)?;
    let (i, _) = sep(i)?;
    let (i, time) = time(i)?;
    let (i, _) = sep(i)?;
    let (i, text) = text_field(i)?;
    Ok((
        i,
        MsgRef {
            id,
            from,
            time,
            text,
        },
    ))
}

/// `blocked = %s"BLOCKED" ":" nick`
pub(crate) fn blocked(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    Ok((i, ServerLineRef::Blocked { nick }))
}

/// `unblocked = %s"UNBLOCKED" ":" nick`
pub(crate) fn unblocked(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    Ok((i, ServerLineRef::Unblocked { nick }))
}

/// `blocks-reply = %s"BLOCKS" *(":" nick)`
///
/// `BLOCKS:` is an entry with an empty nick (`BAD_NICK`).
pub(crate) fn blocks_reply(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (rest, nicks) = nick_list(i)?;
    Ok((rest, ServerLineRef::Blocks { nicks }))
}

/// `blocks-part = %s"BLOCKSPART" 1*(":" nick)`
pub(crate) fn blocks_part(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (rest, nicks) = nick_list(i)?;
    if nicks.is_empty() {
        return failure(MISSING);
    }
    Ok((rest, ServerLineRef::BlocksPart { nicks }))
}

/// `*(":" nick)`: checks every entry, keeps their text.
fn nick_list(i: &str) -> PResult<'_, NickList<'_>> {
    let (rest, ()) = fold_many0(blocks_entry, || (), |(), _| ()).parse(i)?;
    let entries = &i[..i.len() - rest.len()];
    Ok((rest, NickList::from_checked(entries)))
}

/// One entry of a nick list, `":" nick`.
pub(crate) fn blocks_entry(i: &str) -> PResult<'_, NickRef<'_>> {
    preceded(sep, nick).parse(i)
}

/// `ticket-reply = %s"TICKET" ":" nick ":" address ":" ticket`
pub(crate) fn ticket_reply(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (i, user) = preceded(sep, user_fields).parse(i)?;
    let (i, ticket) = preceded(sep, ticket).parse(i)?;
    Ok((i, ServerLineRef::Ticket { user, ticket }))
}

/// `invite = %s"INVITE" ":" nick ":" address ":" ticket`
pub(crate) fn invite(i: &str) -> PResult<'_, ServerLineRef<'_>> {
    let (i, user) = preceded(sep, user_fields).parse(i)?;
    let (i, ticket) = preceded(sep, ticket).parse(i)?;
    Ok((i, ServerLineRef::Invite { user, ticket }))
}
