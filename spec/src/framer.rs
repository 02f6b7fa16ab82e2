//! A sans-IO line framer (§2): bytes in, lines out.
//!
//! - A line ends at LF; one CR directly before the LF belongs to the terminator
//!   ([FRM-1]). Frames never include the terminator.
//! - Empty lines, and lines that are only `"\r"`, are skipped ([FRM-3]).
//! - A line whose content passes the limit (`MAX_LINE` by default) is reported
//!   once as [`Frame::TooLong`] as soon as the limit is passed, and the rest of it,
//!   up to its LF, is dropped without being buffered ([FRM-4]): the unfinished line
//!   held never exceeds `limit + 1` octets (content plus a CR that may yet be the
//!   terminator's).
//! - How the bytes are split into pushes never changes the frames ([FRM-2]).
//! - Bytes after the last LF are an unfinished line ([`Framer::partial_len`]); when
//!   the connection closes they are not a line and are simply dropped with the
//!   framer.
//!
//! Three ways to drive it:
//!
//! ```
//! use spec::{Frame, Framer};
//!
//! // 1. push bytes, then take frames out (they borrow the framer).
//! let mut f = Framer::new();
//! f.push(b"PING:a\r\nPI");
//! assert_eq!(f.next_frame(), Some(Frame::Line(b"PING:a")));
//! assert_eq!(f.next_frame(), None);
//! assert_eq!(f.partial_len(), 2);
//! f.push(b"NG:b\n");
//! assert_eq!(f.next_frame(), Some(Frame::Line(b"PING:b")));
//!
//! // 2. feed a chunk with a callback: complete lines inside the chunk are handed
//! //    out straight from it, without being copied (only a line split across
//! //    chunks is assembled in the framer's buffer).
//! let mut lines = Vec::new();
//! f.feed(b"QUIT\r\nLI", |fr| lines.push(format!("{fr:?}")));
//! f.feed(b"ST\n", |fr| lines.push(format!("{fr:?}")));
//! assert_eq!(lines, ["Line(\"QUIT\")", "Line(\"LIST\")"]);
//!
//! // 3. feed a chunk and get each line checked (§2.1 steps 1–3), ready for
//! //    `decode_checked`: the lines inside the chunk are checked together.
//! use spec::CheckedFrame;
//! use spec::borrowed::ClientLineRef;
//! let mut verbs = Vec::new();
//! f.feed_checked(b"PING:a\r\nPING:\xff\r\n", |fr| match fr {
//!     CheckedFrame::Line(l) => verbs.push(format!("{:?}", ClientLineRef::decode_checked(l).is_ok())),
//!     CheckedFrame::Invalid(e) => verbs.push(e.code.to_string()),
//!     CheckedFrame::TooLong => verbs.push("LINE_TOO_LONG".into()),
//! });
//! assert_eq!(verbs, ["true", "BAD_UTF8"]);
//! ```
//!
//! Memory: the buffer holds the frames pushed and not yet taken, plus at most
//! `limit + 1` octets of the unfinished line. It is taken from the front without
//! copying what follows each frame; what remains is moved to the front at the next
//! push (at most the unread part). When everything has been taken and no line is
//! unfinished, the buffer is freed, so an idle framer holds no heap memory; when
//! only an unfinished line is left, a buffer that a large push grew is shrunk
//! back to what one line needs (so after draining, the capacity is at most
//! `4 × (limit + 2)`). [`Framer::feed`] copies only lines split across chunks,
//! so its buffer never grows past what one line needs: prefer it on a hot path.

use std::fmt;

use memchr::{memchr, memchr2, memrchr};

use crate::checked::{CheckedFrame, CheckedLine, FORBIDDEN_OCTET, TOO_LONG, whole_text};
use crate::limits::MAX_LINE;

const LF: u8 = b'\n';
const CR: u8 = b'\r';
/// A drained buffer holding only an unfinished line is shrunk back to
/// `limit + 2` once its capacity passes this many times that.
const SHRINK_FACTOR: usize = 4;

/// Hands each frame to `f` checked alone ([`CheckedFrame::from`]).
fn checking<F: FnMut(CheckedFrame<'_>)>(f: &mut F) -> impl FnMut(Frame<'_>) + '_ {
    move |fr| f(CheckedFrame::from(fr))
}

/// One unit of framed input.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A line's content, without its terminator (never empty).
    Line(&'a [u8]),
    /// A line whose content passed the limit; it is discarded whole. The receiver
    /// answers `ERR:LINE_TOO_LONG` ([FRM-4]).
    TooLong,
}

impl fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Line(l) => write!(f, "Line({:?})", String::from_utf8_lossy(l)),
            Frame::TooLong => f.write_str("TooLong"),
        }
    }
}

/// Splits a byte stream into lines, with a length limit. See the module docs.
///
/// Internally the buffer holds records, each ending in LF: a complete line as
/// received (its CR, if any, still there), or a lone LF that stands for
/// [`Frame::TooLong`] (empty lines are never stored, so a lone LF is
/// unambiguous); after the last record comes the unfinished line.
#[derive(Clone)]
pub struct Framer {
    buf: Vec<u8>,
    /// Start of the next record to hand out.
    read: usize,
    /// Start of the unfinished line (just after the last LF in `buf`).
    tail: usize,
    /// Most octets of content a line may have.
    limit: usize,
    /// The unfinished line passed the limit and was reported: drop up to its LF.
    discarding: bool,
}

impl fmt::Debug for Framer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Framer")
            .field("limit", &self.limit)
            .field("unread", &(self.tail - self.read))
            .field("partial", &self.partial_len())
            .field("discarding", &self.discarding)
            .field("capacity", &self.buf.capacity())
            .finish()
    }
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new()
    }
}

impl Framer {
    /// A framer with the protocol's limit, `MAX_LINE` octets of content.
    pub const fn new() -> Framer {
        Framer::with_limit(MAX_LINE)
    }

    /// A framer whose lines may hold at most `limit` octets of content.
    pub const fn with_limit(limit: usize) -> Framer {
        Framer {
            buf: Vec::new(),
            read: 0,
            tail: 0,
            limit,
            discarding: false,
        }
    }

    /// The most octets of content a line may have.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Appends received bytes. Frames are then taken with [`Framer::next_frame`].
    pub fn push(&mut self, mut data: &[u8]) {
        if self.read > 0 {
            // Only what was not taken yet moves: never more than once per byte
            // when the caller drains between pushes.
            self.buf.drain(..self.read);
            self.tail -= self.read;
            self.read = 0;
        }
        while !data.is_empty() {
            if self.discarding {
                match memchr(LF, data) {
                    Some(n) => {
                        self.discarding = false;
                        data = &data[n + 1..];
                        continue;
                    }
                    None => return,
                }
            }
            match memchr(LF, data) {
                Some(n) => {
                    let seg = &data[..n];
                    data = &data[n + 1..];
                    let held = self.buf.len() - self.tail;
                    let last = seg.last().or_else(|| self.buf[self.tail..].last());
                    let content = held + seg.len() - usize::from(last == Some(&CR));
                    if content == 0 {
                        // An empty line, or one that is only "\r": skipped.
                        self.buf.truncate(self.tail);
                    } else if content > self.limit {
                        self.mark_too_long();
                    } else {
                        self.buf.extend_from_slice(seg);
                        self.buf.push(LF);
                        self.tail = self.buf.len();
                    }
                }
                None => {
                    let held = self.buf.len() - self.tail + data.len();
                    // `limit + 1` octets may still be `limit` of content plus the
                    // CR of the terminator; anything else past the limit is over.
                    let over = held > self.limit.saturating_add(1)
                        || (held > self.limit && data.last() != Some(&CR));
                    if over {
                        self.mark_too_long();
                        self.discarding = true;
                    } else {
                        self.buf.extend_from_slice(data);
                    }
                    return;
                }
            }
        }
    }

    /// Replaces the unfinished line with a `TooLong` record.
    fn mark_too_long(&mut self) {
        self.buf.truncate(self.tail);
        self.buf.push(LF);
        self.tail = self.buf.len();
    }

    /// The next complete frame, if any. Frames come out in the order of the
    /// stream.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        if self.read == self.tail {
            if self.tail == self.buf.len() {
                if self.buf.capacity() > 0 {
                    // Nothing unread and no unfinished line: free the buffer.
                    self.buf = Vec::new();
                    self.read = 0;
                    self.tail = 0;
                }
            } else if self.buf.capacity()
                > SHRINK_FACTOR.saturating_mul(self.limit.saturating_add(2))
            {
                // Only an unfinished line (at most `limit + 1` octets) is left,
                // in a buffer a large push grew: keep what a line needs.
                self.buf.drain(..self.read);
                self.read = 0;
                self.tail = 0;
                self.buf.shrink_to(self.limit.saturating_add(2));
            }
            return None;
        }
        let start = self.read;
        // Invariant: every record before `tail` ends in LF.
        let n = memchr(LF, &self.buf[start..self.tail]).unwrap_or(self.tail - start - 1);
        self.read = start + n + 1;
        if n == 0 {
            return Some(Frame::TooLong);
        }
        let end = if self.buf[start + n - 1] == CR {
            start + n - 1
        } else {
            start + n
        };
        Some(Frame::Line(&self.buf[start..end]))
    }

    /// Pushes `data` and hands every frame now complete to `f`, in order. Lines
    /// that lie whole inside `data` are handed out straight from it, without being
    /// copied. Equivalent to `push` followed by `next_frame` until `None`.
    pub fn feed(&mut self, data: &[u8], mut f: impl FnMut(Frame<'_>)) {
        let Some((lines, rest)) = self.split_read(data, &mut f) else {
            return;
        };
        self.feed_lines(lines, &mut f);
        self.push(rest);
        self.drain_to(&mut f);
    }

    /// The start of [`Framer::feed`] and [`Framer::feed_checked`]: hands out the
    /// frames taken in before, finishes a line in progress through the buffer, and
    /// splits the rest of `data` into its complete lines and the unfinished tail.
    /// `None` when `data` ends inside the line in progress (all of it is pushed).
    fn split_read<'d>(
        &mut self,
        data: &'d [u8],
        f: &mut impl FnMut(Frame<'_>),
    ) -> Option<(&'d [u8], &'d [u8])> {
        self.drain_to(f);
        let mut data = data;
        if self.discarding || self.partial_len() > 0 {
            let Some(n) = memchr(LF, data) else {
                self.push(data);
                self.drain_to(f);
                return None;
            };
            self.push(&data[..=n]);
            self.drain_to(f);
            data = &data[n + 1..];
        }
        let whole = memrchr(LF, data).map_or(0, |n| n + 1);
        Some(data.split_at(whole))
    }

    /// [`Framer::feed`], with every line checked (§2.1 steps 1–3): each frame
    /// is what [`CheckedFrame::from`] makes of the frame `feed` hands out, in
    /// the same order.
    ///
    /// The lines that lie whole inside `data` are checked together: one UTF-8
    /// validation and one NUL search over all of them, and stray CRs found by
    /// the search for line ends itself (it looks for CR and LF at once),
    /// instead of one validation and one scan per line. When a read holds a
    /// line that fails, its lines are checked one by one.
    pub fn feed_checked(&mut self, data: &[u8], mut f: impl FnMut(CheckedFrame<'_>)) {
        let Some((lines, rest)) = self.split_read(data, &mut checking(&mut f)) else {
            return;
        };
        match whole_text(lines) {
            Some(text) => self.checked_lines(text, &mut f),
            None => self.feed_lines(lines, &mut checking(&mut f)),
        }
        self.push(rest);
        self.drain_to(&mut checking(&mut f));
    }

    /// The frames of `text`, complete lines that passed [`whole_text`]: only
    /// the lengths ([FRM-4]) and stray CRs ([FRM-6]) are left to check.
    fn checked_lines(&self, text: &str, f: &mut impl FnMut(CheckedFrame<'_>)) {
        let b = text.as_bytes();
        // Start of the current line (just after the last line end).
        let mut start = 0;
        while let Some(k) = memchr2(CR, LF, &b[start..]) {
            let end = start + k;
            let (stray, next) = match (b[end], b.get(end + 1)) {
                (LF, _) => (false, end + 1),
                (_, Some(&LF)) => (false, end + 2),
                // A CR anywhere else: the line is malformed, and ends at the next LF.
                _ => (true, memchr(LF, &b[end..]).map_or(b.len(), |n| end + n + 1)),
            };
            let len = if stray {
                // The content: up to the LF, less a CR before it.
                let lf = next - 1;
                lf - start - usize::from(lf > start && b[lf - 1] == CR)
            } else {
                end - start
            };
            let frame = if len == 0 {
                None
            } else if len > self.limit {
                Some(CheckedFrame::TooLong)
            } else if len > MAX_LINE {
                // Only with a limit above the protocol's.
                Some(CheckedFrame::Invalid(TOO_LONG))
            } else if stray {
                Some(CheckedFrame::Invalid(FORBIDDEN_OCTET))
            } else {
                // A cut at a CR or LF is a char boundary: `get` always succeeds.
                text.get(start..end)
                    .map(|l| CheckedFrame::Line(CheckedLine::from_checked_text(l)))
            };
            if let Some(frame) = frame {
                f(frame);
            }
            start = next;
        }
    }

    /// The frames of `lines`, complete lines, each as [`Framer::feed`] frames it.
    fn feed_lines(&self, lines: &[u8], f: &mut impl FnMut(Frame<'_>)) {
        let mut start = 0;
        for lf in memchr::memchr_iter(LF, lines) {
            let mut line = &lines[start..lf];
            start = lf + 1;
            if let [head @ .., CR] = line {
                line = head;
            }
            if line.is_empty() {
                continue;
            }
            if line.len() > self.limit {
                f(Frame::TooLong);
            } else {
                f(Frame::Line(line));
            }
        }
    }

    fn drain_to(&mut self, f: &mut impl FnMut(Frame<'_>)) {
        while let Some(fr) = self.next_frame() {
            f(fr);
        }
    }

    /// Octets of an unfinished line held (received after the last LF). Together
    /// with [`Framer::in_partial_line`] this drives the partial-line timeout
    /// ([LIM-4]).
    pub fn partial_len(&self) -> usize {
        self.buf.len() - self.tail
    }

    /// Whether a line has begun and not ended: octets are held after the last
    /// LF, or an overlong line is being discarded up to its LF.
    pub fn in_partial_line(&self) -> bool {
        self.discarding || self.partial_len() > 0
    }

    /// Octets received and not yet handed out as frames (complete lines not taken
    /// plus the unfinished line held).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.read
    }

    /// Heap octets the framer holds now (its buffer's capacity).
    pub fn heap_capacity(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(f: &mut Framer) -> Vec<String> {
        let mut v = Vec::new();
        while let Some(fr) = f.next_frame() {
            v.push(format!("{fr:?}"));
        }
        v
    }

    #[test]
    fn basics() {
        let mut f = Framer::with_limit(4);
        f.push(b"ab\r\n\n\r\ncd\nabcd\r\nabcde\r\nxyz");
        assert_eq!(
            frames(&mut f),
            ["Line(\"ab\")", "Line(\"cd\")", "Line(\"abcd\")", "TooLong"]
        );
        assert_eq!(f.partial_len(), 3);
        f.push(b"\n");
        assert_eq!(frames(&mut f), ["Line(\"xyz\")"]);
        assert_eq!(f.heap_capacity(), 0);
        assert!(!f.in_partial_line());
    }

    #[test]
    fn too_long_reported_early_and_once() {
        let mut f = Framer::with_limit(4);
        f.push(b"abcd\r");
        assert_eq!(frames(&mut f), Vec::<String>::new());
        f.push(b"x");
        assert_eq!(frames(&mut f), ["TooLong"]);
        assert!(f.in_partial_line());
        f.push(&[b'y'; 10_000]);
        assert_eq!(frames(&mut f), Vec::<String>::new());
        assert_eq!(f.heap_capacity(), 0);
        f.push(b"yy\nok\n");
        assert_eq!(frames(&mut f), ["Line(\"ok\")"]);
    }

    #[test]
    fn exact_limit_with_crlf_is_a_line() {
        let mut f = Framer::new();
        let mut line = vec![b'a'; MAX_LINE];
        line.extend_from_slice(b"\r\n");
        for b in &line {
            f.push(std::slice::from_ref(b));
        }
        assert_eq!(f.next_frame(), Some(Frame::Line(&line[..MAX_LINE])));
        let mut f = Framer::new();
        line.insert(0, b'a');
        f.push(&line);
        assert_eq!(f.next_frame(), Some(Frame::TooLong));
        assert_eq!(f.next_frame(), None);
    }
}
