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
    let mut octets = [0u8; 4];
    let mut at = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let (value, len) = dec_octet(b.get(at..)?)?;
        *octet = value;
        at += len;
    }
    (at == b.len()).then_some(Ipv4Addr::from(octets))
}

/// One `dec-octet` at the front of `b`: its value and its length in octets
/// (1 to 3). A leading zero is allowed only as the whole `dec-octet` ("0").
fn dec_octet(b: &[u8]) -> Option<(u8, usize)> {
    let digit = |i: usize| b.get(i).filter(|c| c.is_ascii_digit()).map(|c| c - b'0');
    let d0 = digit(0)?;
    let Some(d1) = digit(1) else {
        return Some((d0, 1));
    };
    if d0 == 0 {
        return None;
    }
    let Some(d2) = digit(2) else {
        return Some((d0 * 10 + d1, 2));
    };
    if digit(3).is_some() {
        return None;
    }
    // At most 999: no overflow in u16.
    let v = u16::from(d0) * 100 + u16::from(d1) * 10 + u16::from(d2);
    Some((u8::try_from(v).ok()?, 3))
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
