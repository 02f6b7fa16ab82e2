//! The UDP datagram rules of §3 (`; ---- UDP datagrams ----`).

use nom::Parser;
use nom::sequence::preceded;

use super::client::broadcast;
use super::field::{nick, port, sep, ticket};
use super::{PResult, UNKNOWN_VERB, finish, split_verb};
use crate::error::DecodeError;
use crate::message::Datagram;

/// `datagram = (offer / dm) [eol]`
///
/// `content` is the datagram with its optional `eol` already removed and §2.1
/// steps 1–3 passed; this is step 4 (the verb) and on.
pub(crate) fn datagram(content: &str) -> Result<Datagram, DecodeError> {
    let (verb, rest) = split_verb(content);
    match verb {
        "OFFER" => finish(rest, offer),
        "DM" => finish(rest, dm),
        _ => Err(UNKNOWN_VERB),
    }
}

/// `offer = %s"OFFER" ":" nick ":" port ":" ticket`
///
/// A bad port is `BAD_ADDRESS` (the port is of the `ip, port` field kind).
pub(crate) fn offer(i: &str) -> PResult<'_, Datagram> {
    let (i, nick) = preceded(sep, nick).parse(i)?;
    let (i, port) = preceded(sep, port).parse(i)?;
    let (i, ticket) = preceded(sep, ticket).parse(i)?;
    Ok((
        i,
        Datagram::Offer {
            nick: nick.into_owned(),
            port,
            ticket,
        },
    ))
}

/// `dm = %s"DM" ":" nick ":" text-field`
///
/// The same shape as `broadcast`.
pub(crate) fn dm(i: &str) -> PResult<'_, Datagram> {
    let (i, (nick, text)) = broadcast(i)?;
    Ok((
        i,
        Datagram::Dm {
            nick: nick.into_owned(),
            text: text.into_owned(),
        },
    ))
}
