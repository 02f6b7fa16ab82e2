//! Splitting a byte stream into lines with `memchr`, copying as little as possible.
//!
//! Reads land in a scratch buffer shared by every connection of a thread; only the
//! unfinished tail of a read is copied into the connection's own (usually empty) buffer.
//! Lines end at LF; a CR before it is dropped. A line longer than [`KEEP`] is handed over
//! truncated to its first [`KEEP`] octets (a p2pchat `LIST` of 10,000 users is 250 KB:
//! the generator only needs its verb).

use memchr::memchr;

/// Octets of a line kept at most.
pub const KEEP: usize = 4096;

/// The unfinished line of one connection.
#[derive(Debug, Default)]
pub struct Splitter {
    partial: Vec<u8>,
}

impl Splitter {
    /// A splitter with nothing buffered.
    pub fn new() -> Splitter {
        Splitter::default()
    }

    /// Feeds bytes read from the connection; calls `f` for each complete line, without
    /// its terminator.
    #[inline]
    pub fn feed(&mut self, data: &[u8], mut f: impl FnMut(&[u8])) {
        let mut rest = data;
        if !self.partial.is_empty() {
            match memchr(b'\n', rest) {
                None => {
                    self.keep(rest);
                    return;
                }
                Some(i) => {
                    self.keep(&rest[..i]);
                    f(trim_cr(&self.partial));
                    self.partial.clear();
                    rest = &rest[i + 1..];
                }
            }
        }
        while let Some(i) = memchr(b'\n', rest) {
            f(trim_cr(&rest[..i]));
            rest = &rest[i + 1..];
        }
        if !rest.is_empty() {
            self.keep(rest);
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = KEEP.saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

#[inline]
fn trim_cr(line: &[u8]) -> &[u8] {
    match line.split_last() {
        Some((b'\r', head)) => head,
        _ => line,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |l| out.push(l.to_vec()));
        }
        out
    }

    #[test]
    fn crlf_and_lf_and_splits() {
        let got = lines(&[b"PING:a\r\nPO", b"NG:b\n", b"\r\n", b"X", b"\r", b"\nY"]);
        assert_eq!(
            got,
            vec![
                b"PING:a".to_vec(),
                b"PONG:b".to_vec(),
                b"".to_vec(),
                b"X".to_vec()
            ]
        );
    }

    #[test]
    fn long_lines_are_truncated_not_lost() {
        let long = vec![b'a'; KEEP * 3];
        let got = lines(&[b"LIST:", &long, &long, b"\r\nNEXT\r\n"]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), KEEP);
        assert!(got[0].starts_with(b"LIST:"));
        assert_eq!(got[1], b"NEXT");
    }
}
