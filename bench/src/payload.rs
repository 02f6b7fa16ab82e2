//! The 80-byte benchmark payload, identical for every protocol.
//!
//! ```text
//! pcbx b 00003 . 0000001234567890 . xxxxxxxx…
//! 0    4 5     10 11              27 28      80
//! magic kind sender  send time (ns since the generator's epoch)  padding
//! ```
//!
//! The payload is always the last thing on a delivered line (p2pchat `BROADCAST`/`MSG`
//! text, IRC trailing parameter, RESP bulk string on its own line), so a receiver finds
//! it by looking at the last 80 bytes of a line: one comparison per line, no parsing of
//! the protocol around it. That keeps the generator cheaper per delivery than any server.

/// Octets in a payload (the brief's "80-byte messages").
pub const LEN: usize = 80;
/// The first four octets of every payload.
pub const MAGIC: &[u8; 4] = b"pcbx";
/// Largest sender index that fits the five-digit field.
pub const MAX_SENDER: usize = 99_999;

/// What a payload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A fan-out message (broadcast, channel message, publish).
    Broadcast,
    /// A private message of the round-trip workload.
    Private,
}

/// A payload read back from a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// What it was sent as.
    pub kind: Kind,
    /// The sending slot.
    pub sender: usize,
    /// When it was written to the socket, ns since the epoch.
    pub sent_ns: u64,
}

/// Appends a payload to `out`.
pub fn write(out: &mut Vec<u8>, kind: Kind, sender: usize, sent_ns: u64) {
    let start = out.len();
    out.extend_from_slice(MAGIC);
    out.push(match kind {
        Kind::Broadcast => b'b',
        Kind::Private => b'p',
    });
    push_digits(out, (sender % (MAX_SENDER + 1)) as u64, 5);
    out.push(b'.');
    push_digits(out, sent_ns % 10_000_000_000_000_000, 16);
    out.push(b'.');
    out.resize(start + LEN, b'x');
}

/// Finds a payload at the end of `line` (without its terminator).
#[inline]
pub fn read(line: &[u8]) -> Option<Stamp> {
    let p = line.get(line.len().checked_sub(LEN)?..)?;
    if &p[..4] != MAGIC {
        return None;
    }
    let kind = match p[4] {
        b'b' => Kind::Broadcast,
        b'p' => Kind::Private,
        _ => return None,
    };
    let sender = parse_digits(&p[5..10])? as usize;
    let sent_ns = parse_digits(&p[11..27])?;
    Some(Stamp {
        kind,
        sender,
        sent_ns,
    })
}

fn push_digits(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[inline]
fn parse_digits(s: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_at_the_end_of_a_line() {
        let mut line = b"BROADCAST:abc00001:80:".to_vec();
        write(&mut line, Kind::Broadcast, 42, 1_234_567_890);
        assert_eq!(line.len(), 22 + LEN);
        let s = read(&line).unwrap();
        assert_eq!(
            s,
            Stamp {
                kind: Kind::Broadcast,
                sender: 42,
                sent_ns: 1_234_567_890
            }
        );
    }

    #[test]
    fn other_lines_are_not_payloads() {
        assert_eq!(read(b"LIST:a:127.0.0.1:5"), None);
        let mut line = Vec::new();
        write(&mut line, Kind::Private, 1, 2);
        line[0] = b'q';
        assert_eq!(read(&line), None);
    }

    #[test]
    fn payload_is_plain_text_without_separators_that_matter() {
        let mut p = Vec::new();
        write(&mut p, Kind::Private, 7, 99);
        assert!(p.iter().all(|b| b.is_ascii_graphic() && *b != b':'));
    }
}
