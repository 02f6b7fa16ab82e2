//! The fast path of the `ipv4` rule (§3):
//!
//! ```text
//! ipv4      = dec-octet "." dec-octet "." dec-octet "." dec-octet
//! dec-octet = DIGIT / %x31-39 DIGIT / "1" 2DIGIT / "2" %x30-34 DIGIT / "25" %x30-35
//! ```
//!
//! `Ipv4Addr::from_str` costs about 560 instructions per address (bench/CODEC.md),
//! more than the rest of an `UPDATE` line. This reads the common, valid case in
//! one pass. It accepts exactly what the rule (and std's parser, which also
//! refuses leading zeros) accepts; anything else is `None`, and the caller then
//! runs std's parser, so that a bad address gets the same error as before.

use std::net::Ipv4Addr;

/// `b` as a dotted quad when all of it matches `ipv4`, else `None`.
pub(crate) fn parse(b: &[u8]) -> Option<Ipv4Addr> {
    match prefix(b) {
        Some((a, n)) if n == b.len() => Some(a),
        _ => None,
    }
}

/// The dotted quad at the front of `b` and its length in octets, when `b`
/// starts with one that matches `ipv4` (what follows is the caller's to
/// check: a `dec-octet` is never followed by a digit here, so a match cannot
/// be the front of a longer one).
///
/// Inlined with [`dec_octet`], so that the four octets' results stay in
/// registers (bench/CODEC.md, session 6).
#[inline]
pub(crate) fn prefix(b: &[u8]) -> Option<(Ipv4Addr, usize)> {
    let (o0, n0) = dec_octet(b, 0)?;
    let (o1, n1) = dec_octet(b, dot(b, n0)?)?;
    let (o2, n2) = dec_octet(b, dot(b, n1)?)?;
    let (o3, n3) = dec_octet(b, dot(b, n2)?)?;
    Some((Ipv4Addr::new(o0, o1, o2, o3), n3))
}

/// The index after the `.` at `at`.
fn dot(b: &[u8], at: usize) -> Option<usize> {
    (b.get(at) == Some(&b'.')).then_some(at + 1)
}

/// The `dec-octet` at `b[at..]`: its value and the index after it. A leading
/// zero is allowed only as the whole `dec-octet` ("0"); a fourth digit ends
/// the match (no `dec-octet` has one).
#[inline(always)]
fn dec_octet(b: &[u8], at: usize) -> Option<(u8, usize)> {
    let digit = |k: usize| match b.get(at + k) {
        Some(c @ b'0'..=b'9') => Some(u16::from(c - b'0')),
        _ => None,
    };
    let d0 = digit(0)?;
    let Some(d1) = digit(1) else {
        return Some((u8::try_from(d0).ok()?, at + 1));
    };
    if d0 == 0 {
        return None;
    }
    let Some(d2) = digit(2) else {
        return Some((u8::try_from(d0 * 10 + d1).ok()?, at + 2));
    };
    if digit(3).is_some() {
        return None;
    }
    // At most 999: no overflow in u16; above 255 is not a `dec-octet`.
    Some((u8::try_from(d0 * 100 + d1 * 10 + d2).ok()?, at + 3))
}

#[cfg(test)]
mod tests {
    use super::parse;

    /// Agrees with std's parser (which the rule's slow path uses) on every
    /// string of digits and dots up to 8 octets long, and on chosen longer ones.
    #[test]
    fn same_as_std() {
        let alphabet = [b'0', b'1', b'2', b'5', b'6', b'9', b'.'];
        let mut buf = Vec::new();
        fn walk(buf: &mut Vec<u8>, alphabet: &[u8], depth: usize) {
            let s = std::str::from_utf8(buf).unwrap_or_default();
            assert_eq!(parse(buf), s.parse().ok(), "{s:?}");
            if depth == 0 {
                return;
            }
            for &c in alphabet {
                buf.push(c);
                walk(buf, alphabet, depth - 1);
                buf.pop();
            }
        }
        walk(&mut buf, &alphabet, 8);
        for s in [
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3.256",
            "249.250.251.252",
            "199.200.0.9",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3.4.",
            "1.2.3.4.5",
            "1.2.3",
            "1..2.3",
            "1000.1.1.1",
            "0.0.0.0",
            "127.0.0.1",
            "10.0.0.255",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.٣",
            "",
        ] {
            assert_eq!(parse(s.as_bytes()), s.parse().ok(), "{s:?}");
        }
    }
}
