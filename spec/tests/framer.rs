//! The framer against a plain model of §2 ([FRM-1]–[FRM-4]), under every way of
//! cutting the stream into writes; its memory bound; and `feed_checked`, which
//! checks a read's lines together, against checking each line alone
//! ([FRM-4]–[FRM-6]).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use spec::{CheckedFrame, CheckedLine, DecodeError, ErrorCode, Frame, Framer};

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

/// An owned checked frame.
#[derive(Debug, Clone, PartialEq, Eq)]
enum C {
    Line(String),
    Invalid(DecodeError),
    TooLong,
}

fn own_checked(f: CheckedFrame<'_>) -> C {
    match f {
        CheckedFrame::Line(l) => C::Line(l.as_str().to_owned()),
        CheckedFrame::Invalid(e) => C::Invalid(e),
        CheckedFrame::TooLong => C::TooLong,
    }
}

/// What `feed_checked` must give: `feed`'s frames, each checked alone.
fn by_feed_then_check(chunks: &[Vec<u8>], limit: usize) -> (Vec<C>, usize, bool) {
    let mut f = Framer::with_limit(limit);
    let mut out = Vec::new();
    for c in chunks {
        f.feed(c, |fr| out.push(own_checked(CheckedFrame::from(fr))));
    }
    (out, f.partial_len(), f.in_partial_line())
}

fn by_feed_checked(chunks: &[Vec<u8>], limit: usize) -> (Vec<C>, usize, bool) {
    let mut f = Framer::with_limit(limit);
    let mut out = Vec::new();
    for c in chunks {
        f.feed_checked(c, |fr| out.push(own_checked(fr)));
        assert!(f.partial_len() <= limit + 1);
        if !f.in_partial_line() {
            assert_eq!(f.heap_capacity(), 0);
        }
    }
    (out, f.partial_len(), f.in_partial_line())
}

/// Streams rich in what §2.1 steps 1–3 look at: NUL, CR, LF, a two-octet
/// character and its halves, octets that are never UTF-8, long runs, and
/// now and then a run past `MAX_LINE`.
fn checked_stream() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        6 => proptest::sample::select(vec![
            b"\n".to_vec(), b"\r".to_vec(), b"\r\n".to_vec(), b"\0".to_vec(),
            b"a".to_vec(), b":".to_vec(), "\u{e9}".as_bytes().to_vec(), vec![0xc3],
            vec![0xa9], vec![0xff], b"\t".to_vec(),
        ]),
        2 => (0usize..40, proptest::sample::select(vec![b'a', b'\r', 0, 0xc3, 0xa9])).prop_map(|(n, b)| vec![b; n]),
        1 => (0usize..40).prop_map(|n| "\u{e9}".repeat(n).into_bytes()),
        1 => Just(vec![b'x'; spec::limits::MAX_LINE - 1]),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// [FRM-2] for the checks: however a stream is cut, and whatever its lines
    /// hold, checking a read's lines together gives what checking each alone
    /// gives, in the same order, and leaves the same unfinished line.
    #[test]
    fn feed_checked_is_each_line_checked_alone(
        s in checked_stream(),
        raw in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
        limit in prop_oneof![1usize..12, Just(spec::limits::MAX_LINE), Just(2 * spec::limits::MAX_LINE)],
    ) {
        let chunks = cuts(&s, &raw);
        let want = by_feed_then_check(std::slice::from_ref(&s), limit);
        prop_assert_eq!(by_feed_checked(std::slice::from_ref(&s), limit), want.clone());
        prop_assert_eq!(by_feed_then_check(&chunks, limit), want.clone());
        prop_assert_eq!(by_feed_checked(&chunks, limit), want);
    }

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

/// Checks `stream` fed whole, with the protocol's limit.
fn checked(stream: &[u8]) -> Vec<C> {
    by_feed_checked(&[stream.to_vec()], spec::limits::MAX_LINE).0
}

fn line(s: &str) -> C {
    C::Line(s.to_owned())
}

fn invalid(code: ErrorCode) -> impl Fn(&C) -> bool {
    move |c| matches!(c, C::Invalid(e) if e.code == code)
}

#[test]
fn feed_checked_answers_each_bad_line_and_keeps_its_neighbours() {
    let got = checked(b"PING:a\r\nPI\rNG:b\r\n\r\r\nPING:\0\nPING:c\n\r\n\nPING:d\r\n");
    assert_eq!(got.len(), 6, "{got:?}");
    assert_eq!(got[0], line("PING:a"));
    assert!(invalid(ErrorCode::Malformed)(&got[1]), "stray CR: {got:?}");
    assert!(
        invalid(ErrorCode::Malformed)(&got[2]),
        "CR CR LF is one stray CR (FRM-3)"
    );
    assert!(invalid(ErrorCode::Malformed)(&got[3]), "NUL: {got:?}");
    assert_eq!(got[4..], [line("PING:c"), line("PING:d")]);
    // Invalid UTF-8 in one line: its neighbours still come out, checked.
    let got = checked(b"PING:a\nPING:\xff\nPING:\xc3\xa9\n");
    assert_eq!(got[0], line("PING:a"));
    assert!(invalid(ErrorCode::BadUtf8)(&got[1]), "{got:?}");
    assert_eq!(got[2], line("PING:\u{e9}"));
}

#[test]
fn feed_checked_joins_a_character_split_across_reads() {
    let mut f = Framer::new();
    let mut out = Vec::new();
    f.feed_checked(b"PING:\xc3", |fr| out.push(own_checked(fr)));
    assert!(out.is_empty());
    f.feed_checked(b"\xa9\r\nPING:b\r", |fr| out.push(own_checked(fr)));
    f.feed_checked(b"\nPING:c\r\n", |fr| out.push(own_checked(fr)));
    assert_eq!(out, [line("PING:\u{e9}"), line("PING:b"), line("PING:c")]);
    assert!(!f.in_partial_line());
}

#[test]
fn feed_checked_past_max_line_with_a_larger_limit_is_line_too_long() {
    let long = vec![b'x'; spec::limits::MAX_LINE + 1];
    let mut stream = long.clone();
    stream.extend_from_slice(b"\r\nPING:a\n");
    let (got, _, _) = by_feed_checked(&[stream], 2 * spec::limits::MAX_LINE);
    assert_eq!(got.len(), 2);
    assert!(invalid(ErrorCode::LineTooLong)(&got[0]), "{:?}", got[0]);
    assert_eq!(got[1], line("PING:a"));
    assert_eq!(
        CheckedLine::new(&long).unwrap_err().code,
        ErrorCode::LineTooLong
    );
}
