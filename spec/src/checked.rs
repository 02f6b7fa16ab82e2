//! §2.1 steps 1–3, the checks every line passes before its grammar:
//! [FRM-4] length, [FRM-5] UTF-8, [FRM-6] no NUL and no stray CR.
//!
//! [`CheckedLine`] is a line that passed them; it can only be made here, so a
//! decoder handed one ([`ClientLineRef::decode_checked`]) checks the grammar
//! alone. Lines are checked one at a time by [`CheckedLine::new`], or a whole
//! read at once by [`Framer::feed_checked`], through [`whole_text`]: one UTF-8
//! validation and one NUL search over every complete line of the read costs a
//! fraction of checking each line alone (bench/CODEC.md, session 7), and the
//! framer's own search for line ends finds the stray CRs.
//!
//! [`ClientLineRef::decode_checked`]: crate::borrowed::ClientLineRef::decode_checked
//! [`Framer::feed_checked`]: crate::Framer::feed_checked

use memchr::memchr;

use crate::error::{DecodeError, ErrorCode};
use crate::framer::Frame;
use crate::limits::MAX_LINE;

/// [FRM-4]: the content passes `MAX_LINE` octets.
pub(crate) const TOO_LONG: DecodeError = DecodeError::new(
    ErrorCode::LineTooLong,
    "the line is longer than 2048 octets",
);
/// [FRM-5]: not UTF-8.
pub(crate) const BAD_UTF8: DecodeError =
    DecodeError::new(ErrorCode::BadUtf8, "the line is not valid UTF-8");
/// [FRM-6]: a NUL, or a CR (or LF) before the line's end.
pub(crate) const FORBIDDEN_OCTET: DecodeError = DecodeError::new(
    ErrorCode::Malformed,
    "the line holds a NUL, or a CR or LF before its end",
);

/// A line, without its terminator, that passed §2.1 steps 1–3: at most
/// `MAX_LINE` octets ([FRM-4]), valid UTF-8 ([FRM-5]), and no NUL, CR or LF
/// ([FRM-6]).
///
/// ```
/// use spec::CheckedLine;
/// use spec::borrowed::ClientLineRef;
///
/// let line = CheckedLine::new(b"PING:a")?;
/// assert_eq!(line.as_str(), "PING:a");
/// assert!(ClientLineRef::decode_checked(line).is_ok());
/// assert_eq!(CheckedLine::new(b"PING:\0").unwrap_err().code, spec::ErrorCode::Malformed);
/// # Ok::<(), spec::DecodeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedLine<'a>(&'a str);

impl<'a> CheckedLine<'a> {
    /// Checks one line (§2.1 steps 1–3, in that order): the first failure's
    /// error, or the line as text.
    pub fn new(line: &'a [u8]) -> Result<CheckedLine<'a>, DecodeError> {
        if line.len() > MAX_LINE {
            return Err(TOO_LONG);
        }
        // simdutf8's `basic` API gives the same yes/no as std's `from_utf8` (it
        // only drops the error's position, which §2.1 does not report) in fewer
        // instructions on a typical line (bench/CODEC.md, session 3).
        let Ok(text) = simdutf8::basic::from_utf8(line) else {
            return Err(BAD_UTF8);
        };
        if has_nul_cr_lf(line) {
            return Err(FORBIDDEN_OCTET);
        }
        Ok(CheckedLine(text))
    }

    /// A piece of text already checked in bulk ([`whole_text`]), cut at a
    /// line's end by the framer: the caller has made sure that it holds no CR
    /// or LF and that it is at most `MAX_LINE` octets.
    pub(crate) fn from_checked_text(line: &'a str) -> CheckedLine<'a> {
        debug_assert!(line.len() <= MAX_LINE && !has_nul_cr_lf(line.as_bytes()));
        CheckedLine(line)
    }

    /// The line.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// The line's octets.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0.as_bytes()
    }
}

/// One unit of checked input: what [`Framer::feed_checked`] hands out.
///
/// [`Framer::feed_checked`]: crate::Framer::feed_checked
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckedFrame<'a> {
    /// A line that passed §2.1 steps 1–3.
    Line(CheckedLine<'a>),
    /// A line that failed one of them: the error to answer with.
    Invalid(DecodeError),
    /// A line longer than the framer's limit, discarded whole ([FRM-4]).
    TooLong,
}

impl<'a> From<Frame<'a>> for CheckedFrame<'a> {
    /// Checks a framed line alone.
    fn from(frame: Frame<'a>) -> CheckedFrame<'a> {
        match frame {
            Frame::Line(line) => match CheckedLine::new(line) {
                Ok(line) => CheckedFrame::Line(line),
                Err(e) => CheckedFrame::Invalid(e),
            },
            Frame::TooLong => CheckedFrame::TooLong,
        }
    }
}

/// The complete lines of a read, terminators included, as text, if none of
/// them can fail [FRM-5] and none holds a NUL ([FRM-6]); `None` sends the
/// caller to checking each line alone, which finds which line failed.
///
/// A valid UTF-8 text cut at ASCII octets (the line ends) gives valid UTF-8
/// pieces, so one validation answers for every line. CRs are left to the
/// framer, which looks for them with the LFs.
pub(crate) fn whole_text(lines: &[u8]) -> Option<&str> {
    let text = simdutf8::basic::from_utf8(lines).ok()?;
    memchr(0, lines).is_none().then_some(text)
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

#[cfg(test)]
mod tests {
    use super::*;

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
