//! Parsers for the field rules of §3 (`; ---- fields ----`), and the separators
//! between fields.
//!
//! Each field parser takes the input positioned at the first octet of the field
//! (after its `:`), consumes the field, and leaves the input at the next `:` or at
//! the end of the line. A field that breaks its rule is a `Failure` with the code
//! that §2.1's table gives its field kind.

use nom::error::{ErrorKind, ParseError};

use std::net::IpAddr;

use super::{Fail, PResult, failure};
use crate::address::{Port, parse_ip};
use crate::borrowed::{AddressRef, ErrCodeRef, IpRef, NickRef, PingTokenRef, TextRef};
use crate::error::{DecodeError, ErrorCode};
use crate::id::{MsgId, Timestamp};
use crate::limits::{MAX_MSG_ID, MAX_NICK, MAX_PING_TOKEN, MAX_TEXT, MAX_TIME};
use crate::message::Delivery;
use crate::nick::is_nickchar;
use crate::token::{Ticket, Token};

const fn malformed(reason: &'static str) -> DecodeError {
    DecodeError::new(ErrorCode::Malformed, reason)
}
const fn bad_address(reason: &'static str) -> DecodeError {
    DecodeError::new(ErrorCode::BadAddress, reason)
}

/// The `":"` that introduces the next field. Its absence is a recoverable
/// `Error` (an optional field is absent; a required one is missing, `MALFORMED`).
///
/// The same as nom's `char(':')` (same result, same error), without decoding a
/// character: `:` is one ASCII octet.
#[inline(always)]
pub(crate) fn sep(i: &str) -> PResult<'_, char> {
    match i.strip_prefix(':') {
        Some(rest) => Ok((rest, ':')),
        None => Err(nom::Err::Error(Fail::from_error_kind(i, ErrorKind::Char))),
    }
}

/// The fast path of the field rules: the field at the front of `i` when every
/// octet of it is one that `ok` accepts (a run of them, ended by `:` or by the
/// end of the line), with the rest of the line; `None` when some other octet
/// comes first. One pass finds the field's end and checks its octets; a field
/// that fails here goes the slow way (`raw_field` and the full rule), which
/// picks the error, so that errors stay those of the rule.
#[inline]
fn run_of(i: &str, ok: impl Fn(u8) -> bool) -> Option<(&str, &str)> {
    let b = i.as_bytes();
    let n = b.iter().position(|&c| !ok(c)).unwrap_or(b.len());
    match b.get(n) {
        None | Some(b':') => Some(i.split_at(n)),
        Some(_) => None,
    }
}

/// [`run_of`] for `nickchar`, with the first 16 octets classified at once when the
/// line has them (SSE2 through `wide`'s safe API). The nick's octet loop was a third
/// of the client grammar's time; this takes 23 instructions off a line on average
/// (bench/CODEC.md, session 11). A nick of 16 octets or more, or a line with fewer
/// left, goes the plain way.
#[inline(always)]
fn nick_run(i: &str) -> Option<(&str, &str)> {
    use wide::u8x16;
    let b = i.as_bytes();
    let Some(head) = b.first_chunk::<16>() else {
        return run_of(i, is_nickchar);
    };
    let v = u8x16::new(*head);
    // `lo <= x <= hi` as `x - lo <= hi - lo` (wrapping, unsigned): min, then equal.
    let in_range = |lo: u8, hi: u8, x: u8x16| {
        let d = x - u8x16::splat(lo);
        d.min(u8x16::splat(hi - lo)).simd_eq(d)
    };
    // `| 0x20` maps A-Z onto a-z and nothing else onto a-z.
    let ok = in_range(b'0', b'9', v)
        | in_range(b'a', b'z', v | u8x16::splat(0x20))
        | v.simd_eq(u8x16::splat(b'_'))
        | v.simd_eq(u8x16::splat(b'-'));
    // Bit 16 set: 16 when all sixteen octets are nickchars.
    let n = (!ok.to_bitmask() | 0x1_0000).trailing_zeros() as usize;
    if n == 16 {
        return run_of(i, is_nickchar);
    }
    match b[n] {
        b':' => Some(i.split_at(n)),
        _ => None,
    }
}

/// The raw text of one field: everything up to the next `:` or the end of the
/// line (possibly empty). Never fails.
///
/// Equivalent to `take_till(|c| c == ':')`, but scans octets instead of
/// decoding characters (`:` is ASCII, so the split is always on a character
/// boundary). A plain loop, not `memchr`: fields before the text are short (a
/// nick, a number), and `memchr`'s dispatch and set-up cost more than the scan.
pub(crate) fn raw_field(i: &str) -> PResult<'_, &str> {
    let at = i.bytes().position(|b| b == b':').unwrap_or(i.len());
    let (field, rest) = i.split_at(at);
    Ok((rest, field))
}

/// `nick = 1*32nickchar` ; `nickchar = ALPHA / DIGIT / "_" / "-"`
///
/// Breaking the rule (including an empty field) is `BAD_NICK`.
#[inline(always)]
pub(crate) fn nick(i: &str) -> PResult<'_, NickRef<'_>> {
    if let Some((s, rest)) = nick_run(i)
        && (1..=MAX_NICK).contains(&s.len())
    {
        return Ok((rest, NickRef::from_checked(s)));
    }
    nick_slow(i)
}

/// [`nick`] when the fast path did not accept the field: the full rule, which
/// picks the error. Kept out of line (`cold`), so that the fast path inlines
/// into the rules without its bulk (bench/CODEC.md, session 3).
#[cold]
#[inline(never)]
fn nick_slow(i: &str) -> PResult<'_, NickRef<'_>> {
    let (rest, s) = raw_field(i)?;
    match crate::nick::check(s) {
        Ok(()) => Ok((rest, NickRef::from_checked(s))),
        Err(e) => failure(e),
    }
}

/// `ping-token = 1*32nickchar`
///
/// Breaking the rule is `MALFORMED`.
#[inline(always)]
pub(crate) fn ping_token(i: &str) -> PResult<'_, PingTokenRef<'_>> {
    if let Some((s, rest)) = run_of(i, is_nickchar)
        && (1..=MAX_PING_TOKEN).contains(&s.len())
    {
        return Ok((rest, PingTokenRef::from_checked(s)));
    }
    ping_token_slow(i)
}

/// [`ping_token`]'s full rule, out of line (see [`nick_slow`]).
#[cold]
#[inline(never)]
fn ping_token_slow(i: &str) -> PResult<'_, PingTokenRef<'_>> {
    let (rest, s) = raw_field(i)?;
    match crate::token::check_ping_token(s) {
        Ok(()) => Ok((rest, PingTokenRef::from_checked(s))),
        Err(e) => failure(e),
    }
}

/// `address = ip ":" port`
///
/// The whole pair is one field kind: anything wrong with it, including a missing
/// `:` or port after the IP, is `BAD_ADDRESS`.
#[inline(always)]
pub(crate) fn address(i: &str) -> PResult<'_, AddressRef<'_>> {
    // Fast path: a usable dotted quad, its `:` and a port, in one pass. When
    // the quad is followed by `:`, it is exactly the field `ip` would take
    // (it holds no `:`), so the result is the rule's; anything else (IPv6
    // included) goes the full way, which picks the error.
    let b = i.as_bytes();
    if let Some((a, n)) = crate::dotted_quad::prefix(b)
        && b.get(n) == Some(&b':')
        && !a.is_unspecified()
        && let Some((port, rest)) = port_fast(&i[n + 1..])
    {
        let ip = IpRef::from_parts(&i[..n], IpAddr::V4(a));
        return Ok((rest, AddressRef { ip, port }));
    }
    address_slow(i)
}

/// [`address`]'s full rule, out of line (see [`nick_slow`]).
#[cold]
#[inline(never)]
fn address_slow(i: &str) -> PResult<'_, AddressRef<'_>> {
    let (i, ip) = ip(i)?;
    let Ok((i, _)) = sep(i) else {
        return failure(bad_address("an address is <ip>:<port>"));
    };
    let (i, port) = port(i)?;
    Ok((i, AddressRef { ip, port }))
}

/// `ip = ipv4 / "[" ipv6 "]"`
///
/// An IPv6 address must be in brackets; an IPv4 address must not. The
/// unspecified addresses (`0.0.0.0`, `[::]`) are refused ([REG-5]).
pub(crate) fn ip(i: &str) -> PResult<'_, IpRef<'_>> {
    match i.strip_prefix('[') {
        Some(inner) => {
            let Some((v6, rest)) = inner.split_once(']') else {
                return failure(bad_address("an IPv6 address needs its closing ']'"));
            };
            Ok((rest, IpRef::from_parts(v6, ipv6(v6)?)))
        }
        None => {
            let (rest, s) = raw_field(i)?;
            Ok((rest, IpRef::from_parts(s, ipv4(s)?)))
        }
    }
}

/// `ipv4 = dec-octet "." dec-octet "." dec-octet "." dec-octet` ;
/// `dec-octet = DIGIT / %x31-39 DIGIT / "1" 2DIGIT / "2" %x30-34 DIGIT / "25" %x30-35`
///
/// `s` is the whole field. Leading zeros are refused, as `dec-octet` says.
pub(crate) fn ipv4(s: &str) -> Result<IpAddr, nom::Err<Fail>> {
    let b = s.as_bytes();
    // Fast path: a valid, usable dotted quad in one pass. Anything else (an
    // unspecified address included) goes the full way below, which picks the
    // error as before.
    if let Some(a) = crate::dotted_quad::parse(b)
        && !a.is_unspecified()
    {
        return Ok(IpAddr::V4(a));
    }
    // `parse_ip` would also take an IPv6 literal: only dots and digits belong here.
    if b.is_empty() || !b.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
        return Err(nom::Err::Failure(Fail(bad_address(
            "not a valid IPv4 address (IPv6 goes in brackets)",
        ))));
    }
    parse_ip(s).map_err(|e| nom::Err::Failure(Fail(e)))
}

/// `ipv6 = <IPv6address, RFC 3986 section 3.2.2>` (the text between the brackets).
///
/// No zone identifier; hex digits in either case.
pub(crate) fn ipv6(s: &str) -> Result<IpAddr, nom::Err<Fail>> {
    // Every IPv6 literal holds a ':'; without one, `parse_ip` would read IPv4, which
    // may not stand in brackets.
    if !s.contains(':') {
        return Err(nom::Err::Failure(Fail(bad_address(
            "only an IPv6 address goes in brackets",
        ))));
    }
    parse_ip(s).map_err(|e| nom::Err::Failure(Fail(e)))
}

/// `port = %x31-39 *4DIGIT` ; value 1..65535
///
/// Breaking the rule (empty, a leading zero, a non-digit, too large) is
/// `BAD_ADDRESS`, as part of the `<ip>:<port>` pair (also in `OFFER`).
pub(crate) fn port(i: &str) -> PResult<'_, Port> {
    if let Some((p, rest)) = port_fast(i) {
        return Ok((rest, p));
    }
    port_slow(i)
}

/// [`port`]'s full rule, out of line (see [`nick_slow`]).
#[cold]
#[inline(never)]
fn port_slow(i: &str) -> PResult<'_, Port> {
    let (rest, s) = raw_field(i)?;
    let b = s.as_bytes();
    let ok =
        matches!(b.first(), Some(b'1'..=b'9')) && b.len() <= 5 && b.iter().all(u8::is_ascii_digit);
    if !ok {
        return failure(bad_address("a port is 1 to 65535 without leading zeros"));
    }
    let n = digits_value(b);
    match u16::try_from(n).ok().map(Port::new) {
        Some(Ok(p)) => Ok((rest, p)),
        _ => failure(bad_address("a port is 1 to 65535")),
    }
}

/// The fast path of [`port`]: a valid port and the rest of the line, or
/// `None` (the full rule then picks the error).
#[inline(always)]
fn port_fast(i: &str) -> Option<(Port, &str)> {
    let (n, rest) = digit_run(i, 5)?;
    if i.starts_with('0') {
        return None;
    }
    let p = Port::new(u16::try_from(n).ok()?).ok()?;
    Some((p, rest))
}

/// The fast path of the number fields: the value of the run of digits at the
/// front of `i` and the rest of the line, when the run is 1 to `max` digits
/// (`max` <= 19: no overflow) ended by `:` or by the end of the line; else
/// `None`. One pass finds the run's end and computes its value, where a scan
/// and then a second loop for the value ran before (with the inlinings of the
/// same change, `MSG` lines, which carry an id and a 10-digit time, went from
/// 47 to 35 ns: bench/CODEC.md, session 6).
#[inline(always)]
fn digit_run(i: &str, max: usize) -> Option<(u64, &str)> {
    let b = i.as_bytes();
    let mut n = 0u64;
    let mut k = 0;
    while let Some(&c) = b.get(k) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if k == max {
            return None;
        }
        n = n * 10 + u64::from(d);
        k += 1;
    }
    match b.get(k) {
        None | Some(b':') if k > 0 => Some((n, &i[k..])),
        _ => None,
    }
}

/// The value of a run of at most 19 ASCII digits (the caller checks both).
fn digits_value(b: &[u8]) -> u64 {
    b.iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d.wrapping_sub(b'0')))
}

/// `text-field = len ":" text`
///
/// Checked in the order of §2.1 step 6: the `<len>` rule (`MALFORMED`), its value
/// (`TEXT_TOO_LONG`), the `:` and the text being present (`MALFORMED` if the line
/// ends after `<len>`), then `<len>` against the octets of the text
/// (`BAD_LENGTH`). The text runs to the end of the line.
#[inline(always)]
pub(crate) fn text_field(i: &str) -> PResult<'_, TextRef<'_>> {
    let (i, n) = len(i)?;
    let (i, _) = sep(i)?;
    text(i, n)
}

/// `len = %x31-39 *3DIGIT` ; value 1..MAX_TEXT, equal to the octets of text
///
/// A leading zero, a non-digit or an empty field is `MALFORMED`; a value above
/// `MAX_TEXT` is `TEXT_TOO_LONG` however many digits it has (no overflow: any
/// run of digits longer than four is above `MAX_TEXT`).
#[inline(always)]
pub(crate) fn len(i: &str) -> PResult<'_, usize> {
    if let Some((n, rest)) = digit_run(i, 4)
        && !i.starts_with('0')
        && let Ok(n) = usize::try_from(n)
        && n <= MAX_TEXT
    {
        return Ok((rest, n));
    }
    len_slow(i)
}

/// [`len`]'s full rule, out of line (see [`nick_slow`]).
#[cold]
#[inline(never)]
fn len_slow(i: &str) -> PResult<'_, usize> {
    let (rest, s) = raw_field(i)?;
    let b = s.as_bytes();
    if !matches!(b.first(), Some(b'1'..=b'9')) || !b.iter().all(u8::is_ascii_digit) {
        return failure(malformed("<len> is a decimal number without leading zeros"));
    }
    if b.len() > 4 {
        return failure(DecodeError::new(
            ErrorCode::TextTooLong,
            "<len> exceeds 1024",
        ));
    }
    // At most four digits: at most 9999, no overflow.
    let n = usize::try_from(digits_value(b)).unwrap_or(usize::MAX);
    if n > MAX_TEXT {
        return failure(DecodeError::new(
            ErrorCode::TextTooLong,
            "<len> exceeds 1024",
        ));
    }
    Ok((rest, n))
}

/// `text = 1*lchar` ; text may contain ":"
///
/// Takes the rest of the line, which must be exactly `len` octets (`BAD_LENGTH`).
/// NUL, CR and LF were refused for the whole line before any field was read.
#[inline(always)]
pub(crate) fn text(i: &str, len: usize) -> PResult<'_, TextRef<'_>> {
    if i.len() != len {
        return failure(DecodeError::new(
            ErrorCode::BadLength,
            "<len> differs from the octet count of <text>",
        ));
    }
    // Valid by now: 1 to MAX_TEXT octets (`len` said so and matches), and the
    // whole line was checked for NUL, CR and LF before any field was read.
    Ok(("", TextRef::from_checked(i)))
}

/// `token = 32hexlower` ; `hexlower = DIGIT / %x61-66`
///
/// Breaking the rule is `MALFORMED`.
pub(crate) fn token(i: &str) -> PResult<'_, Token> {
    let (rest, s) = raw_field(i)?;
    match Token::new(s) {
        Ok(t) => Ok((rest, t)),
        Err(e) => failure(e),
    }
}

/// `ticket = 32hexlower` ; `hexlower = DIGIT / %x61-66`
///
/// Breaking the rule is `MALFORMED`.
pub(crate) fn ticket(i: &str) -> PResult<'_, Ticket> {
    let (rest, s) = raw_field(i)?;
    match Ticket::new(s) {
        Ok(t) => Ok((rest, t)),
        Err(e) => failure(e),
    }
}

/// `msg-id = %x31-39 *15DIGIT` ; value 1..9007199254740991
///
/// Breaking the rule is `MALFORMED`.
#[inline(always)]
pub(crate) fn msg_id(i: &str) -> PResult<'_, MsgId> {
    if let Some((n, rest)) = digit_run(i, 16)
        && !i.starts_with('0')
        && let Ok(id) = MsgId::new(n)
    {
        return Ok((rest, id));
    }
    msg_id_slow(i)
}

/// [`msg_id`]'s full rule, out of line (see [`nick_slow`]).
#[cold]
#[inline(never)]
fn msg_id_slow(i: &str) -> PResult<'_, MsgId> {
    let (rest, s) = raw_field(i)?;
    let b = s.as_bytes();
    if !matches!(b.first(), Some(b'1'..=b'9')) || b.len() > 16 || !b.iter().all(u8::is_ascii_digit)
    {
        return failure(malformed(
            "a message id is 1 to 9007199254740991 without leading zeros",
        ));
    }
    let n = digits_value(b);
    if n > MAX_MSG_ID {
        return failure(malformed("a message id is at most 9007199254740991"));
    }
    match MsgId::new(n) {
        Ok(id) => Ok((rest, id)),
        Err(e) => failure(e),
    }
}

/// `time = "0" / %x31-39 *10DIGIT` ; seconds since 1970-01-01T00:00:00Z
///
/// Breaking the rule is `MALFORMED`.
#[inline(always)]
pub(crate) fn time(i: &str) -> PResult<'_, Timestamp> {
    if let Some((n, rest)) = digit_run(i, 11)
        && (!i.starts_with('0') || i.len() - rest.len() == 1)
        && let Ok(t) = Timestamp::new(n)
    {
        return Ok((rest, t));
    }
    time_slow(i)
}

/// [`time`]'s full rule, out of line (see [`nick_slow`]).
#[cold]
#[inline(never)]
fn time_slow(i: &str) -> PResult<'_, Timestamp> {
    let (rest, s) = raw_field(i)?;
    let b = s.as_bytes();
    let ok = match b {
        [b'0'] => true,
        [b'1'..=b'9', tail @ ..] => tail.len() <= 10 && tail.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !ok {
        return failure(malformed(
            "a time is decimal seconds without leading zeros, at most 11 digits",
        ));
    }
    let n = digits_value(b);
    debug_assert!(n <= MAX_TIME);
    match Timestamp::new(n) {
        Ok(t) => Ok((rest, t)),
        Err(e) => failure(e),
    }
}

/// `error-code = 1*32(%x41-5A / DIGIT / "_")`
///
/// A code of §6 decodes as [`ErrCodeRef::Known`], any other well-formed code as
/// [`ErrCodeRef::Other`] (receivers must accept codes they do not know, §6).
/// Breaking the rule is `MALFORMED`.
pub(crate) fn error_code(i: &str) -> PResult<'_, ErrCodeRef<'_>> {
    let (rest, s) = raw_field(i)?;
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_';
    if b.is_empty() || b.len() > 32 || !b.iter().all(ok) {
        return failure(malformed("an error code is 1 to 32 of A-Z, 0-9 and _"));
    }
    let code = match ErrorCode::from_wire(s) {
        Some(c) => ErrCodeRef::Known(c),
        None => ErrCodeRef::Other(s),
    };
    Ok((rest, code))
}

/// `delivery = %s"LIVE" / %s"QUEUED"`
///
/// Any other value (including other cases) is `MALFORMED`.
pub(crate) fn delivery(i: &str) -> PResult<'_, Delivery> {
    let (rest, s) = raw_field(i)?;
    match s {
        "LIVE" => Ok((rest, Delivery::Live)),
        "QUEUED" => Ok((rest, Delivery::Queued)),
        _ => failure(malformed("the delivery is LIVE or QUEUED")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ASCII octet, and characters of two and three octets, at every place of
    /// the first 17, in fields of every length up to 40: the 16-octet path answers
    /// as the plain loop does.
    #[test]
    fn nick_run_is_run_of_nickchar() {
        let odd: Vec<String> = (0..=0x7Fu8)
            .map(|b| char::from(b).to_string())
            .chain(["é".to_owned(), "€".to_owned()])
            .collect();
        for len in 1..40 {
            for at in 0..len.min(17) {
                for c in &odd {
                    let s = format!("{}{c}{}", "a".repeat(at), "a".repeat(len - at - 1));
                    assert_eq!(nick_run(&s), run_of(&s, is_nickchar), "{s:?}");
                }
            }
        }
    }

    fn code<T: std::fmt::Debug>(r: PResult<'_, T>) -> ErrorCode {
        match r {
            Err(nom::Err::Failure(Fail(e)) | nom::Err::Error(Fail(e))) => e.code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// Every string of up to 6 octets over digits, `:`, `x`, and a few
    /// longer ones.
    fn number_like() -> Vec<String> {
        let alphabet = ['0', '1', '5', '9', ':', 'x'];
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..6 {
            last = last
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        for long in [
            "1024",
            "1025",
            "65535",
            "65536",
            "9007199254740991",
            "9007199254740992",
            "99999999999",
            "100000000000",
            "12345678901234567890123",
            "0000000000000000",
        ] {
            all.push(long.to_owned());
            all.push(format!("{long}:x"));
        }
        all
    }

    /// The one-pass fast paths of the number fields (`digit_run`) give what
    /// the full rules give, value, rest and error alike, on every input of
    /// [`number_like`]: a fast path may only ever decline, never differ.
    #[test]
    fn number_fast_paths_agree_with_the_full_rules() {
        for s in number_like() {
            let s = s.as_str();
            assert_eq!(len(s), len_slow(s), "len {s:?}");
            assert_eq!(msg_id(s), msg_id_slow(s), "msg_id {s:?}");
            assert_eq!(time(s), time_slow(s), "time {s:?}");
            assert_eq!(port(s), port_slow(s), "port {s:?}");
        }
    }

    #[test]
    fn len_boundaries() {
        assert_eq!(len("1024"), Ok(("", 1024)));
        assert_eq!(len("1:x"), Ok((":x", 1)));
        assert_eq!(code(len("1025")), ErrorCode::TextTooLong);
        assert_eq!(code(len("99999999999999999999999")), ErrorCode::TextTooLong);
        assert_eq!(code(len("0")), ErrorCode::Malformed);
        assert_eq!(code(len("05")), ErrorCode::Malformed);
        assert_eq!(code(len("")), ErrorCode::Malformed);
        assert_eq!(code(len("1a")), ErrorCode::Malformed);
        assert_eq!(code(len("99999999999999999999999a")), ErrorCode::Malformed);
    }

    #[test]
    fn port_boundaries() {
        assert_eq!(port("65535").map(|(r, p)| (r, p.get())), Ok(("", 65535)));
        assert_eq!(port("1:").map(|(r, p)| (r, p.get())), Ok((":", 1)));
        for bad in ["0", "65536", "05000", "", "123456", "+1", "1e3"] {
            assert_eq!(code(port(bad)), ErrorCode::BadAddress, "{bad}");
        }
    }

    #[test]
    fn numbers() {
        assert!(msg_id("9007199254740991").is_ok());
        assert_eq!(code(msg_id("9007199254740992")), ErrorCode::Malformed);
        assert_eq!(code(msg_id("99999999999999999")), ErrorCode::Malformed);
        assert_eq!(code(msg_id("0")), ErrorCode::Malformed);
        assert!(time("0").is_ok());
        assert!(time("99999999999").is_ok());
        assert_eq!(code(time("100000000000")), ErrorCode::Malformed);
        assert_eq!(code(time("00")), ErrorCode::Malformed);
    }

    #[test]
    fn addresses() {
        for ok in [
            "1.2.3.4:5",
            "[::1]:5",
            "[FE80::ABCD]:5",
            "[::ffff:192.0.2.1]:5",
            "[2001:db8:0:0:0:0:0:1]:5",
        ] {
            assert!(address(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1.2.3.4",
            "1.2.3.4:",
            "::1:5",
            "[::1]5",
            "[::1]",
            "[1.2.3.4]:5",
            "[::]:5",
            "0.0.0.0:5",
            "01.2.3.4:5",
            "256.1.1.1:5",
            "[fe80::1%eth0]:5",
            "[::1:5",
        ] {
            assert_eq!(code(address(bad)), ErrorCode::BadAddress, "{bad}");
        }
    }
}
