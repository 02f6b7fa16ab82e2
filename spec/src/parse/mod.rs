//! The decoder: nom parsers, one function per grammar rule of `PROTOCOL.md` §3, each
//! with its ABNF rule quoted in its doc comment. Everything here is crate-private:
//! nom never appears in a public signature. The public entry points are the
//! `decode` functions of `codec.rs`, which run the checks of §2.1 steps 1–4 and then
//! hand the rest of the line to the rule of its verb here (step 5 and 6).
//!
//! # How a line is cut into fields
//!
//! Every rule works on the text after the verb (`""` or `":..."`). Fields are the
//! text between two `:` (the address and the text field are the two exceptions,
//! see [`field::address`] and [`field::text_field`]). The conventions, applied
//! uniformly so that every implementation can reproduce them:
//!
//! - A field is **missing** when the line ends where its `:` should be
//!   (`REGISTER:bob`): `MALFORMED`.
//! - A field that is present but empty (`REGISTER::1.2.3.4:5000`) is present and
//!   breaks its rule: the code of its field kind (`BAD_NICK` here, as [REG-4] says
//!   of an empty nick).
//! - Anything after the last field of the rule, even a lone `:`, is an **extra
//!   field**: `MALFORMED` (`QUIT:`, `LIST:` as a request,
//!   `REGISTER:bob:1.2.3.4:5000:` whose optional token is then present and empty).
//! - Literals (`JOIN`, `LEAVE`, `LIVE`, `QUEUED`) are case-sensitive fields; any
//!   other value is `MALFORMED`.
//!
//! Hot-path notes (figures in `bench/CODEC.md`): the UTF-8 check is
//! `simdutf8`'s, once per line, and the NUL/CR/LF check one vectorised minimum
//! over the line (`codec.rs`); the client and server verbs are picked by their
//! first octet and compared whole ([`after_verb`]); each short field is found
//! and checked in one pass over its octets (`field::run_of`, a plain loop:
//! `memchr`'s set-up costs more than a nick; a nick's first 16 octets are
//! classified at once, `field::nick_run`; a number's value is computed in
//! the same pass, `field::digit_run`), with the full rule out of line for the
//! errors; the hot rules chain their parsers with `?` rather than
//! through nom's combinators; the text field is never scanned, `<len>` says
//! where it ends. The rules build the borrowed views of `crate::borrowed` (the
//! text fields point into the line), so decoding allocates nothing; the owned
//! types are those views copied (`into_owned`).

mod client;
mod datagram;
pub(crate) mod field;
mod peer;
mod server;

use nom::IResult;
use nom::error::{ErrorKind, ParseError};

use crate::error::{DecodeError, ErrorCode};

pub(crate) use client::client_line;
pub(crate) use datagram::datagram;
pub(crate) use peer::peer_line;
pub(crate) use server::{blocks_entry, list_entry, server_line};

/// The error of every parser here: the §6 code and reason to report.
///
/// A field that breaks its rule returns `nom::Err::Failure` (nothing may
/// backtrack past it: the first failure is the one §2.1 reports); a missing
/// separator returns `nom::Err::Error`, so that an optional field can be absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail(pub(crate) DecodeError);

/// What nom's own combinators report: a field that is missing.
pub(crate) const MISSING: DecodeError =
    DecodeError::new(ErrorCode::Malformed, "a field is missing");
/// Text after the last field of the rule.
pub(crate) const EXTRA: DecodeError =
    DecodeError::new(ErrorCode::Malformed, "extra fields after the last one");

impl<I> ParseError<I> for Fail {
    fn from_error_kind(_input: I, _kind: ErrorKind) -> Self {
        Fail(MISSING)
    }

    fn append(_input: I, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result type of every rule.
pub(crate) type PResult<'a, T> = IResult<&'a str, T, Fail>;

/// Fails the whole line with `e` (no backtracking).
pub(crate) fn failure<'a, T>(e: DecodeError) -> PResult<'a, T> {
    Err(nom::Err::Failure(Fail(e)))
}

/// Runs a message rule on the text after the verb, requiring it to consume
/// everything (else: extra fields, `MALFORMED`).
///
/// Always inlined: out of line, each rule's result went back through the
/// stack and was copied again, and the wider load of that copy waited on
/// narrower stores (a store-forwarding stall, the hottest instruction of
/// `client_line` in a profile; bench/CODEC.md, session 6).
#[inline(always)]
pub(crate) fn finish<'a, T>(
    rest: &'a str,
    rule: impl FnOnce(&'a str) -> PResult<'a, T>,
) -> Result<T, DecodeError> {
    match rule(rest) {
        Ok(("", v)) => Ok(v),
        Ok((_, _)) => Err(EXTRA),
        Err(nom::Err::Error(Fail(e)) | nom::Err::Failure(Fail(e))) => Err(e),
        // Only the `complete` parsers are used; they never ask for more input.
        Err(nom::Err::Incomplete(_)) => Err(MISSING),
    }
}

/// Splits a line into its verb (the text up to the first `:`, or the whole line)
/// and the rest (`""` or starting with `:`), §2.
pub(crate) fn split_verb(line: &str) -> (&str, &str) {
    match line.as_bytes().iter().position(|&b| b == b':') {
        Some(n) => line.split_at(n),
        None => (line, ""),
    }
}

/// The rest of `line` after its verb (`""` or starting with `:`) when its verb
/// is exactly `verb`, else `None`. The same answer as comparing `verb` with the
/// first part of [`split_verb`] (the verb is the whole text up to the first
/// `:`, so `verb` must be followed by `:` or by the end of the line), without
/// first scanning for the `:`: the hot decoders pick their candidates by the
/// first octet and compare each whole (bench/CODEC.md, session 3).
#[inline(always)]
pub(crate) fn after_verb<'a>(line: &'a str, verb: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(verb)?;
    matches!(rest.as_bytes().first(), None | Some(b':')).then_some(rest)
}

/// §2.1 step 4: the error for a verb not known in this context.
pub(crate) const UNKNOWN_VERB: DecodeError = DecodeError::new(
    ErrorCode::UnknownVerb,
    "unknown verb (verbs are case-sensitive)",
);
