//! The framer against a plain model of §2 ([FRM-1]–[FRM-4]), under every way of
//! cutting the stream into writes; and its memory bound.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use spec::{Frame, Framer};

#[derive(Debug, Clone, PartialEq, Eq)]
enum F {
    Line(Vec<u8>),
    TooLong,
}

fn own(f: Frame<'_>) -> F {
    match f {
        Frame::Line(l) => F::Line(l.to_vec()),
        Frame::TooLong => F::TooLong,
    }
}

/// The model: split at LF, drop one CR before it, skip empty lines, report a
/// line over the limit; an unfinished line that can no longer fit (more than
/// `limit` octets, not counting one final CR) is reported too.
fn model(stream: &[u8], limit: usize) -> (Vec<F>, bool) {
    let mut out = Vec::new();
    let mut parts: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    let last = parts.pop().unwrap_or_default();
    for p in parts {
        let c = p.strip_suffix(b"\r").unwrap_or(p);
        if c.is_empty() {
            continue;
        }
        out.push(if c.len() > limit {
            F::TooLong
        } else {
            F::Line(c.to_vec())
        });
    }
    let c = last.strip_suffix(b"\r").unwrap_or(last);
    if c.len() > limit {
        out.push(F::TooLong);
    }
    (out, !last.is_empty())
}

/// Streams rich in the octets that matter, with long runs.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => proptest::sample::select(vec![b'\n', b'\r', b'a', b':', 0xff]).prop_map(|b| vec![b]),
        1 => Just(b"\r\n".to_vec()),
        1 => (0usize..40, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

/// Cut points: a sorted list of offsets into the stream.
fn cuts(stream: &[u8], raw: &[prop::sample::Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = raw.iter().map(|i| i.index(stream.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut prev = 0;
    for a in at.into_iter().chain([stream.len()]) {
        out.push(stream[prev..a].to_vec());
        prev = a;
    }
    out
}

fn by_push(chunks: &[Vec<u8>], limit: usize) -> (Vec<F>, bool) {
    let mut f = Framer::with_limit(limit);
    let mut out = Vec::new();
    for c in chunks {
        f.push(c);
        assert!(
            f.partial_len() <= limit + 1,
            "partial {} > limit + 1",
            f.partial_len()
        );
        while let Some(fr) = f.next_frame() {
            out.push(own(fr));
        }
        assert!(f.partial_len() <= limit + 1);
        assert_eq!(f.buffered(), f.partial_len());
        assert!(
            f.heap_capacity() <= 4 * (limit + 2),
            "capacity {} after draining",
            f.heap_capacity()
        );
        if !f.in_partial_line() {
            assert_eq!(f.heap_capacity(), 0, "an idle framer holds no buffer");
        }
    }
    (out, f.in_partial_line())
}

fn by_feed(chunks: &[Vec<u8>], limit: usize) -> (Vec<F>, bool) {
    let mut f = Framer::with_limit(limit);
    let mut out = Vec::new();
    for c in chunks {
        f.feed(c, |fr| out.push(own(fr)));
        assert!(f.partial_len() <= limit + 1);
        if !f.in_partial_line() {
            assert_eq!(f.heap_capacity(), 0);
        }
    }
    (out, f.in_partial_line())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn any_cut_gives_the_model_frames(
        s in stream(),
        raw in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        limit in prop_oneof![1usize..12, Just(spec::limits::MAX_LINE)],
    ) {
        let want = model(&s, limit);
        let chunks = cuts(&s, &raw);
        prop_assert_eq!(by_push(std::slice::from_ref(&s), limit), want.clone());
        prop_assert_eq!(by_push(&chunks, limit), want.clone());
        prop_assert_eq!(by_feed(&chunks, limit), want.clone());
        let octets: Vec<Vec<u8>> = s.iter().map(|b| vec![*b]).collect();
        prop_assert_eq!(by_push(&octets, limit), want.clone());
        prop_assert_eq!(by_feed(&octets, limit), want);
    }

    /// Pushing several chunks before taking any frame gives the same frames.
    #[test]
    fn pushing_ahead_of_reading(
        s in stream(),
        raw in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        limit in 1usize..12,
    ) {
        let mut f = Framer::with_limit(limit);
        for c in cuts(&s, &raw) {
            f.push(&c);
            prop_assert!(f.partial_len() <= limit + 1);
        }
        let mut out = Vec::new();
        while let Some(fr) = f.next_frame() {
            out.push(own(fr));
        }
        prop_assert_eq!((out, f.in_partial_line()), model(&s, limit));
    }
}

#[test]
fn an_endless_line_is_never_buffered() {
    let mut f = Framer::new();
    let chunk = vec![b'x'; 64 * 1024];
    let mut frames = 0;
    for _ in 0..256 {
        f.push(&chunk);
        while f.next_frame().is_some() {
            frames += 1;
        }
        assert_eq!(f.partial_len(), 0);
        assert_eq!(f.heap_capacity(), 0);
        assert!(f.in_partial_line());
    }
    assert_eq!(frames, 1, "one LINE_TOO_LONG for the whole 16 MiB line");
    f.push(b"\nQUIT\r\n");
    assert_eq!(f.next_frame(), Some(Frame::Line(b"QUIT")));
}

#[test]
fn idle_framer_holds_no_heap() {
    let mut f = Framer::new();
    assert_eq!(f.heap_capacity(), 0);
    f.push(b"PING:a\r\n");
    assert!(f.next_frame().is_some());
    assert_eq!(f.next_frame(), None);
    assert_eq!(f.heap_capacity(), 0);
    assert!(std::mem::size_of::<Framer>() <= 64);
}
