//! The public decode/encode API. The nom parsers in `parse/` and the encoder in
//! `encode.rs` implement it.
//!
//! Contract:
//! - `decode` takes one line WITHOUT its terminator (the framer strips CRLF/LF) and
//!   checks it in the order of §2.1, returning the first failure's code:
//!   1. more than `MAX_LINE` octets → `LINE_TOO_LONG` (the framer normally finds
//!      this first; `decode` checks it too, so that it is total);
//!   2. not UTF-8 → `BAD_UTF8`;
//!   3. a NUL, CR or LF anywhere → `MALFORMED` (the terminator is not part of the
//!      line, so any CR left is stray);
//!   4. the verb (the text up to the first `:`, or the whole line, even empty) not
//!      one of this context → `UNKNOWN_VERB` (case-sensitive);
//!   5. and 6. the fields from left to right, see `parse/mod.rs` for how a line is
//!      cut into fields (missing, empty and extra fields).
//! - `encode` appends the line AND its CRLF terminator to `out` (a datagram: no
//!   terminator).
//! - `Display` writes the line without terminator.
//!
//! Decoding never panics, whatever the bytes.

use crate::borrowed::{ClientLineRef, ServerLineRef};
use crate::error::{DecodeError, ErrorCode};
use crate::limits::MAX_LINE;
use crate::{ClientLine, Datagram, PeerLine, ServerLine, encode, parse};

/// §2.1 steps 1–3, common to every context: the line as text, or the first failure.
fn checked_text(line: &[u8]) -> Result<&str, DecodeError> {
    if line.len() > MAX_LINE {
        return Err(DecodeError::new(
            ErrorCode::LineTooLong,
            "the line is longer than 2048 octets",
        ));
    }
    // simdutf8's `basic` API gives the same yes/no as std's `from_utf8` (it
    // only drops the error's position, which §2.1 does not report) in fewer
    // instructions on a typical line (bench/CODEC.md, session 3).
    let Ok(text) = simdutf8::basic::from_utf8(line) else {
        return Err(DecodeError::new(
            ErrorCode::BadUtf8,
            "the line is not valid UTF-8",
        ));
    };
    let forbidden = has_nul_cr_lf(line);
    if forbidden {
        return Err(DecodeError::new(
            ErrorCode::Malformed,
            "the line holds a NUL, or a CR or LF before its end",
        ));
    }
    Ok(text)
}

/// Whether `line` holds a NUL, CR or LF (§2.1 step 3).
///
/// The three are the only forbidden octets and all are below 14, so a line
/// with no octet below 14 holds none: one branch-free pass over the line
/// (vectorised, see [`any_below_14`]) answers for nearly every line, and only
/// a line with a control octet is scanned exactly. Cheaper on short lines than
/// `memchr3`, whose set-up costs more than the scan.
fn has_nul_cr_lf(line: &[u8]) -> bool {
    any_below_14(line) && line.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'))
}

/// Whether some octet of `b` is below 14.
///
/// Lines of 16 octets or more: the per-lane minimum of 16-octet blocks (SIMD
/// minimums; the last, partial block is taken as the last 16 octets,
/// overlapping, which does not change a minimum), then one word-wide test of
/// the 16 minimums instead of 16 scalar ones. Shorter lines: the same test on
/// the first and the last 8 octets (overlapping), or octet by octet below 8.
fn any_below_14(b: &[u8]) -> bool {
    const BLOCK: usize = 16;
    if b.len() < 8 {
        return b.iter().any(|&c| c < 14);
    }
    if b.len() < BLOCK {
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(w)
        };
        return below_14_u64(word(0)) || below_14_u64(word(b.len() - 8));
    }
    let mut acc = [u8::MAX; BLOCK];
    let mut fold = |block: &[u8]| {
        for (a, x) in acc.iter_mut().zip(block) {
            *a = (*a).min(*x);
        }
    };
    let blocks = b.chunks_exact(BLOCK);
    let partial = !blocks.remainder().is_empty();
    blocks.for_each(&mut fold);
    if partial {
        fold(&b[b.len() - BLOCK..]);
    }
    below_14_u128(u128::from_le_bytes(acc))
}

/// Whether a byte of `x` is below 14: the "has less than n" word trick (exact
/// as a yes/no for n <= 128: a borrow only starts at a byte that is below n).
fn below_14_u64(x: u64) -> bool {
    const ONES: u64 = u64::MAX / 255;
    x.wrapping_sub(ONES * 14) & !x & (ONES * 0x80) != 0
}

/// [`below_14_u64`] on 16 bytes.
fn below_14_u128(x: u128) -> bool {
    const ONES: u128 = u128::MAX / 255;
    x.wrapping_sub(ONES * 14) & !x & (ONES * 0x80) != 0
}

impl<'a> ClientLineRef<'a> {
    /// Decodes a client → server line (§3 `client-line`), without its terminator,
    /// into a view that borrows its text from `line` (no allocation). Same checks,
    /// same errors as [`ClientLine::decode`].
    pub fn decode(line: &'a [u8]) -> Result<ClientLineRef<'a>, DecodeError> {
        parse::client_line(checked_text(line)?)
    }
}

impl<'a> ServerLineRef<'a> {
    /// Decodes a server → client line (§3 `server-line`), without its terminator,
    /// into a view that borrows its text from `line` (no allocation). Same checks,
    /// same errors as [`ServerLine::decode`].
    pub fn decode(line: &'a [u8]) -> Result<ServerLineRef<'a>, DecodeError> {
        parse::server_line(checked_text(line)?)
    }
}

impl ClientLine {
    /// Decodes a client → server line (§3 `client-line`), without its terminator.
    ///
    /// The borrowed decode, copied: see [`ClientLineRef::decode`] for a decode
    /// that does not allocate.
    pub fn decode(line: &[u8]) -> Result<ClientLine, DecodeError> {
        ClientLineRef::decode(line).map(ClientLineRef::into_owned)
    }
    /// Appends the wire form and CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode::client_line(self, out);
        out.extend_from_slice(b"\r\n");
    }
}

impl ServerLine {
    /// Decodes a server → client line (§3 `server-line`), without its terminator.
    ///
    /// The borrowed decode, copied: see [`ServerLineRef::decode`] for a decode
    /// that does not allocate.
    pub fn decode(line: &[u8]) -> Result<ServerLine, DecodeError> {
        ServerLineRef::decode(line).map(ServerLineRef::into_owned)
    }
    /// Appends the wire form and CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode::server_line(self, out);
        out.extend_from_slice(b"\r\n");
    }
}

impl PeerLine {
    /// Decodes a peer-session line (§3 `peer-line`), without its terminator.
    pub fn decode(line: &[u8]) -> Result<PeerLine, DecodeError> {
        parse::peer_line(checked_text(line)?)
    }
    /// Appends the wire form and CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode::peer_line(self, out);
        out.extend_from_slice(b"\r\n");
    }
}

impl Datagram {
    /// Decodes a UDP datagram (§3 `datagram`); a trailing CRLF or LF is allowed
    /// (one only: the `eol` of the rule). The content before it is checked as a
    /// line, `MAX_LINE` included.
    pub fn decode(dgram: &[u8]) -> Result<Datagram, DecodeError> {
        let content = match dgram {
            [c @ .., b'\r', b'\n'] | [c @ .., b'\n'] => c,
            c => c,
        };
        parse::datagram(checked_text(content)?)
    }
    /// Appends the wire form, WITHOUT a terminator.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode::datagram(self, out);
    }
}

#[cfg(test)]
mod tests {
    use super::any_below_14;

    /// The word-wide test agrees with a plain scan at every length up to 40
    /// octets (both code paths and the overlapping last block), whichever
    /// octet is low and whatever the others hold (values near 14 and 128).
    #[test]
    fn any_below_14_is_exact() {
        for len in 0..40 {
            for fill in [14u8, 15, 127, 128, 141, 142, 255] {
                let mut b = vec![fill; len];
                assert!(!any_below_14(&b), "{len} {fill}");
                for at in 0..len {
                    for low in [0u8, 10, 13] {
                        b[at] = low;
                        assert!(any_below_14(&b), "{len} {fill} {at} {low}");
                        b[at] = fill;
                    }
                }
            }
        }
    }
}
