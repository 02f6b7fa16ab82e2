//! The framer under arbitrary chunking (`framer_chunks` target).
//!
//! One byte picks the length limit (small ones, so that the limit is hit often,
//! `MAX_LINE` and twice that), a few more cut the rest of the input into chunks.
//! The same stream is framed five ways: a model written from §2 ([FRM-1], [FRM-3], [FRM-4]), one
//! `push` of everything, `push` + drain per chunk, `feed` per chunk, and every chunk
//! pushed before anything is read. All must give the same lines and the same
//! `TooLong`s ([FRM-2]) and end with the same unfinished line; no line may pass the
//! limit, and the unfinished line held never passes `limit + 1` octets (and the
//! buffer's capacity stays within the documented `4 × (limit + 2)` once drained).
//! `feed_checked` per chunk must give `feed`'s frames each checked alone
//! (`CheckedFrame::from`), and the same unfinished line.

#![allow(dead_code)]

use spec::limits::MAX_LINE;
use spec::{CheckedFrame, Frame, Framer};

use crate::bytes::Bytes;

/// An owned frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum F {
    /// A line's content.
    Line(Vec<u8>),
    /// A line past the limit.
    TooLong,
}

fn own(f: Frame<'_>) -> F {
    match f {
        Frame::Line(l) => F::Line(l.to_vec()),
        Frame::TooLong => F::TooLong,
    }
}

/// The frames of `stream` as §2 defines them, and (partial octets held,
/// whether a line is unfinished) at its end.
pub fn model(stream: &[u8], limit: usize) -> (Vec<F>, usize, bool) {
    let mut frames = Vec::new();
    let mut rest = stream;
    while let Some(p) = rest.iter().position(|&c| c == b'\n') {
        let seg = &rest[..p];
        rest = &rest[p + 1..];
        let content = seg.strip_suffix(b"\r").unwrap_or(seg);
        if content.is_empty() {
            continue;
        }
        if content.len() > limit {
            frames.push(F::TooLong);
        } else {
            frames.push(F::Line(content.to_vec()));
        }
    }
    // The unfinished line: reported as soon as it is certainly too long.
    let over =
        rest.len() > limit.saturating_add(1) || (rest.len() > limit && rest.last() != Some(&b'\r'));
    if over {
        frames.push(F::TooLong);
        (frames, 0, true)
    } else {
        (frames, rest.len(), !rest.is_empty())
    }
}

/// An owned checked frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum C {
    /// A line that passed §2.1 steps 1–3.
    Line(String),
    /// A line that failed one.
    Invalid(spec::DecodeError),
    /// A line past the limit.
    TooLong,
}

trait ToOwnedFrame {
    fn to_owned_frame(self) -> C;
}

impl ToOwnedFrame for CheckedFrame<'_> {
    fn to_owned_frame(self) -> C {
        match self {
            CheckedFrame::Line(l) => C::Line(l.as_str().to_owned()),
            CheckedFrame::Invalid(e) => C::Invalid(e),
            CheckedFrame::TooLong => C::TooLong,
        }
    }
}

fn check_bounds(f: &Framer, how: &str) {
    let limit = f.limit();
    assert!(
        f.partial_len() <= limit + 1,
        "{how}: {} octets of an unfinished line held, limit {limit} (FRM-4)",
        f.partial_len()
    );
}

fn check_drained(f: &Framer, how: &str) {
    let limit = f.limit();
    check_bounds(f, how);
    assert_eq!(
        f.buffered(),
        f.partial_len(),
        "{how}: drained, yet frames held"
    );
    assert!(
        f.heap_capacity() <= 4 * (limit + 2),
        "{how}: capacity {} after draining, limit {limit}",
        f.heap_capacity()
    );
}

fn drain(f: &mut Framer, out: &mut Vec<F>) {
    while let Some(fr) = f.next_frame() {
        out.push(own(fr));
    }
}

/// Runs every property on `data`.
pub fn check(data: &[u8]) {
    let mut b = Bytes::new(data);
    const LIMITS: [usize; 9] = [1, 2, 3, 4, 5, 8, 16, MAX_LINE, 2 * MAX_LINE];
    let limit = LIMITS[b.below(LIMITS.len())];
    let ncuts = b.below(16);
    let raw_cuts: Vec<u16> = (0..ncuts).map(|_| b.u16()).collect();
    let stream = b.rest();
    let mut cuts: Vec<usize> = raw_cuts
        .iter()
        .map(|&c| usize::from(c) % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut prev = 0;
    for c in cuts.into_iter().chain(std::iter::once(stream.len())) {
        chunks.push(&stream[prev..c]);
        prev = c;
    }

    let (want, want_partial, want_in_partial) = model(stream, limit);

    // One push.
    let mut whole = Framer::with_limit(limit);
    whole.push(stream);
    check_bounds(&whole, "one push");
    let mut got_whole = Vec::new();
    drain(&mut whole, &mut got_whole);
    check_drained(&whole, "one push");

    // Push and drain per chunk.
    let mut by_push = Framer::with_limit(limit);
    let mut got_push = Vec::new();
    for c in &chunks {
        by_push.push(c);
        check_bounds(&by_push, "push per chunk");
        drain(&mut by_push, &mut got_push);
        check_drained(&by_push, "push per chunk");
    }

    // Feed per chunk.
    let mut by_feed = Framer::with_limit(limit);
    let mut got_feed = Vec::new();
    for c in &chunks {
        by_feed.feed(c, |fr| got_feed.push(own(fr)));
        check_drained(&by_feed, "feed per chunk");
    }

    // Feed per chunk, checked: the same frames as feed's, each checked alone.
    let mut by_checked = Framer::with_limit(limit);
    let mut got_checked = Vec::new();
    for c in &chunks {
        by_checked.feed_checked(c, |fr| got_checked.push(fr.to_owned_frame()));
        check_drained(&by_checked, "feed_checked per chunk");
    }
    let mut want_checked = Vec::new();
    let mut again = Framer::with_limit(limit);
    for c in &chunks {
        again.feed(c, |fr| {
            want_checked.push(CheckedFrame::from(fr).to_owned_frame());
        });
    }
    assert_eq!(
        got_checked, want_checked,
        "feed_checked differs from feed + CheckedLine::new (limit {limit}, chunks {chunks:?})"
    );

    // Every push before any read.
    let mut ahead = Framer::with_limit(limit);
    for c in &chunks {
        ahead.push(c);
        check_bounds(&ahead, "push ahead");
    }
    let mut got_ahead = Vec::new();
    drain(&mut ahead, &mut got_ahead);
    check_drained(&ahead, "push ahead");

    for (how, got) in [
        ("one push", &got_whole),
        ("push per chunk", &got_push),
        ("feed per chunk", &got_feed),
        ("push ahead", &got_ahead),
    ] {
        assert_eq!(
            got, &want,
            "{how}: frames differ from §2 (limit {limit}, chunks {chunks:?})"
        );
        for f in got {
            if let F::Line(l) = f {
                assert!(
                    !l.is_empty() && l.len() <= limit,
                    "{how}: line of {} octets",
                    l.len()
                );
            }
        }
    }
    for (how, f) in [
        ("one push", &whole),
        ("push per chunk", &by_push),
        ("feed per chunk", &by_feed),
        ("feed_checked per chunk", &by_checked),
        ("push ahead", &ahead),
    ] {
        assert_eq!(f.partial_len(), want_partial, "{how}: partial octets held");
        assert_eq!(
            f.in_partial_line(),
            want_in_partial,
            "{how}: in_partial_line"
        );
    }
}
