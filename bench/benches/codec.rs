//! Parser and framer throughput on a realistic mix of lines, against a plain scan for
//! line ends with `memchr` (the ceiling: no parser can frame faster than it finds LFs).
//!
//! The ceiling finds every line end and hands out every line, as any framer must.
//! It is not `memchr_iter(..).count()`: memchr specialises `count` into a bulk
//! vectorised count of LF octets that never stops at a line, about 3.5× faster
//! than finding them one by one. Sessions 1–3 used that count as the ceiling
//! (bench/CODEC.md, session 5); it is kept as its own row, labelled as what it is.
//!
//! The mix is what a busy server sees: mostly 80-octet BROADCAST and MSG lines, some
//! SEND, ACK, PING/PONG, SENT, UPDATE and REGISTER. Throughput is in bytes per second
//! of wire input.
//!
//! Each side has two decoders: the owned one (`ClientLine::decode`, which copies
//! nicks and texts into `String`s) and the borrowed one (`ClientLineRef::decode`,
//! whose fields point into the line; no allocation). Both rows are kept so that
//! one run compares them with each other and with the memchr ceiling.
//!
//! The "checked" rows frame with `Framer::feed_checked`, which puts a read's
//! lines through §2.1 steps 1–3 together (one UTF-8 validation and one NUL
//! search per read, stray CRs found with the line ends), and decode with
//! `decode_checked`, which then checks only the grammar: what the reference
//! server does. "checked lines, grammar only" decodes lines checked before the
//! timing starts: it leaves out steps 1–3, so it is not a parser's throughput,
//! only the share of it that the grammar takes.
//!
//! The hub benchmark (commands per second through the server's sans-IO hub) will be
//! added here once the reference server's hub API is stable.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spec::borrowed::{ClientLineRef, ServerLineRef};
use spec::{CheckedFrame, CheckedLine, ClientLine, Frame, Framer, ServerLine};

/// About this many octets of lines per corpus.
const CORPUS: usize = 1 << 20;
/// Bytes handed to the framer per call, as one `read` would.
const CHUNK: usize = 64 * 1024;

/// A small deterministic generator (no `rand` needed for a fixed corpus).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn text(r: &mut Lcg) -> String {
    let words = [
        "hello", "world", "p2pchat", "bench", "lorem", "ipsum", "a:b", "ok",
    ];
    let mut t = String::new();
    while t.len() < 80 {
        t.push_str(words[(r.next() % words.len() as u64) as usize]);
        t.push(' ');
    }
    t.truncate(80);
    t
}

fn nick(r: &mut Lcg) -> String {
    format!("user{:04}", r.next() % 1000)
}

/// Client → server lines.
fn client_corpus() -> Vec<u8> {
    let mut r = Lcg(7);
    let mut out = String::new();
    while out.len() < CORPUS {
        let n = nick(&mut r);
        let line = match r.next() % 100 {
            0..70 => format!("BROADCAST:{n}:80:{}", text(&mut r)),
            70..80 => format!("SEND:{}:80:{}", nick(&mut r), text(&mut r)),
            80..88 => format!("ACK:{}", 1 + r.next() % 1_000_000),
            88..95 => format!("PING:t{}", r.next() % 10_000),
            95..98 => format!("PONG:k{}", r.next() % 10_000),
            _ => format!(
                "REGISTER:{n}:192.168.1.{}:{}",
                r.next() % 255,
                1024 + r.next() % 60_000
            ),
        };
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// Server → client lines.
fn server_corpus() -> Vec<u8> {
    let mut r = Lcg(11);
    let mut out = String::new();
    while out.len() < CORPUS {
        let n = nick(&mut r);
        let line = match r.next() % 100 {
            0..60 => format!("BROADCAST:{n}:80:{}", text(&mut r)),
            60..75 => format!(
                "MSG:{}:{n}:{}:80:{}",
                1 + r.next() % 1_000_000,
                1_763_713_300 + r.next() % 1000,
                text(&mut r)
            ),
            75..83 => format!("SENT:{}:LIVE", 1 + r.next() % 1_000_000),
            83..90 => format!("PING:k{}", r.next() % 10_000),
            90..95 => format!("UPDATE:JOIN:{n}:127.0.0.1:{}", 1024 + r.next() % 60_000),
            _ => format!(
                "UPDATE:LEAVE:{n}:10.0.0.{}:{}",
                r.next() % 255,
                1024 + r.next() % 60_000
            ),
        };
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// The ceiling: find each line end with memchr and hand out each line (as
/// `black_box`, like the framer row's lines); counts lines.
fn scan(corpus: &[u8]) -> usize {
    let mut start = 0;
    let mut n = 0;
    for lf in memchr::memchr_iter(b'\n', corpus) {
        black_box(&corpus[start..lf]);
        start = lf + 1;
        n += 1;
    }
    n
}

/// Not a ceiling: memchr's bulk count of LF octets (`Iterator::count`, which
/// memchr specialises; it finds no line end). The "ceiling" of sessions 1–3.
fn count_lfs(corpus: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', corpus).count()
}

/// Frames with [`Framer::feed`], in read-sized chunks; counts lines.
fn frame(corpus: &[u8], mut each: impl FnMut(&[u8])) -> usize {
    let mut f = Framer::new();
    let mut n = 0;
    for chunk in corpus.chunks(CHUNK) {
        f.feed(chunk, |fr| {
            if let Frame::Line(l) = fr {
                n += 1;
                each(l);
            }
        });
    }
    n
}

/// Frames with [`Framer::feed_checked`], in read-sized chunks; counts the lines
/// that passed §2.1 steps 1–3.
fn frame_checked(corpus: &[u8], mut each: impl FnMut(CheckedLine<'_>)) -> usize {
    let mut f = Framer::new();
    let mut n = 0;
    for chunk in corpus.chunks(CHUNK) {
        f.feed_checked(chunk, |fr| {
            if let CheckedFrame::Line(l) = fr {
                n += 1;
                each(l);
            }
        });
    }
    n
}

fn lines_of(corpus: &[u8]) -> Vec<&[u8]> {
    corpus
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// A decoder under test: whether the line decoded (the value itself goes
/// through `black_box`, so that no part of the decode can be optimised away).
type Decode = fn(&[u8]) -> bool;
/// The borrowed decoder of a line that passed §2.1 steps 1–3.
type DecodeChecked = fn(CheckedLine<'_>) -> bool;

/// The decoders of one side.
struct Side {
    decode: Decode,
    borrowed: Decode,
    checked: DecodeChecked,
}

fn bench_side(c: &mut Criterion, name: &str, corpus: &[u8], side: Side) {
    let Side {
        decode,
        borrowed,
        checked,
    } = side;
    let lines = lines_of(corpus);
    assert!(
        lines.iter().all(|l| decode(l) && borrowed(l)),
        "the {name} corpus must decode without errors"
    );
    let checked_lines: Vec<CheckedLine<'_>> = lines
        .iter()
        .filter_map(|l| CheckedLine::new(l).ok())
        .collect();
    assert!(
        checked_lines.len() == lines.len() && checked_lines.iter().all(|l| checked(*l)),
        "the {name} corpus must pass the checks and decode"
    );
    assert_eq!(
        frame_checked(corpus, |l| assert!(checked(l))),
        lines.len(),
        "the {name} corpus: lines framed and checked"
    );
    // Every row does the same work: each line of the corpus (none is empty).
    let scanned = scan(corpus);
    assert_eq!(scanned, count_lfs(corpus), "the {name} corpus: line ends");
    assert_eq!(scanned, lines.len(), "the {name} corpus: scanned lines");
    assert_eq!(
        frame(corpus, |_| ()),
        lines.len(),
        "the {name} corpus: framed lines"
    );
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(corpus.len() as u64));
    g.bench_function("memchr line ends (ceiling)", |b| {
        b.iter(|| scan(black_box(corpus)))
    });
    g.bench_function("memchr LF count (bulk, finds no line)", |b| {
        b.iter(|| count_lfs(black_box(corpus)))
    });
    g.bench_function("framer", |b| {
        b.iter(|| {
            frame(black_box(corpus), |l| {
                black_box(l);
            })
        })
    });
    g.bench_function("decode (pre-split lines)", |b| {
        b.iter(|| lines.iter().filter(|l| decode(black_box(l))).count())
    });
    g.bench_function("framer + decode", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            frame(black_box(corpus), |l| ok += usize::from(decode(l)));
            ok
        })
    });
    g.bench_function("borrowed decode (pre-split lines)", |b| {
        b.iter(|| lines.iter().filter(|l| borrowed(black_box(l))).count())
    });
    g.bench_function("framer + borrowed decode", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            frame(black_box(corpus), |l| ok += usize::from(borrowed(l)));
            ok
        })
    });
    g.bench_function("checked framer", |b| {
        b.iter(|| {
            frame_checked(black_box(corpus), |l| {
                black_box(l);
            })
        })
    });
    g.bench_function("checked framer + borrowed decode", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            frame_checked(black_box(corpus), |l| ok += usize::from(checked(l)));
            ok
        })
    });
    g.bench_function(
        "checked lines, grammar only (pre-split, pre-checked)",
        |b| {
            b.iter(|| {
                checked_lines
                    .iter()
                    .filter(|l| checked(black_box(**l)))
                    .count()
            })
        },
    );
    g.finish();
}

fn codec(c: &mut Criterion) {
    bench_side(
        c,
        "client lines",
        &client_corpus(),
        Side {
            decode: |l| black_box(ClientLine::decode(l)).is_ok(),
            borrowed: |l| black_box(ClientLineRef::decode(l)).is_ok(),
            checked: |l| black_box(ClientLineRef::decode_checked(l)).is_ok(),
        },
    );
    bench_side(
        c,
        "server lines",
        &server_corpus(),
        Side {
            decode: |l| black_box(ServerLine::decode(l)).is_ok(),
            borrowed: |l| black_box(ServerLineRef::decode(l)).is_ok(),
            checked: |l| black_box(ServerLineRef::decode_checked(l)).is_ok(),
        },
    );
}

criterion_group!(benches, codec);
criterion_main!(benches);
