//! Hostile input replayed against the server over real sockets: the invalid client
//! lines of `spec/vectors/invalid/client.json`, the corpus of
//! `tests/fixtures/hostile-lines.txt` (huge, negative and non-numeric lengths, NUL,
//! invalid UTF-8, look-alike nicks, IPv6 in its bad forms, terminal escapes in texts),
//! generated lines (overlong, thousands of fields), byte streams (no line end ever,
//! megabytes without LF, random octets), and IPv6 in every valid form.
//!
//! Each line gets the documented answer (§2.1, §6: `ERR:<code>` and the connection goes
//! on), nothing crashes or hangs (every wait has a deadline), and a bystander sees
//! exactly the valid broadcasts and nothing else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Client, TestServer, check_err};
use reference_server::Config;

/// What a hostile line must be answered with.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// `ERR:<code>:<len>:<text>`.
    Err(String),
    /// The line itself, relayed to everyone (a valid BROADCAST).
    Echo,
    /// Exactly this line.
    Exact(String),
    /// Nothing.
    None,
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    expect: Expect,
    input: Vec<u8>,
}

fn case(name: impl Into<String>, expect: Expect, input: impl Into<Vec<u8>>) -> Case {
    Case {
        name: name.into(),
        expect,
        input: input.into(),
    }
}

fn err(code: &str) -> Expect {
    Expect::Err(code.to_owned())
}

/// Decodes the escapes of the fixture file: `\xHH`, `\r`, `\t`, `\\`, `\u{HEX}`.
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        match chars.next() {
            Some('x') => {
                let h: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&h, 16).unwrap());
            }
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some('u') => {
                assert_eq!(chars.next(), Some('{'));
                let h: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let c = char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap();
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
            other => panic!("bad escape \\{other:?} in {s:?}"),
        }
    }
    out
}

/// The fixture file.
fn fixture() -> Vec<Case> {
    let text = include_str!("fixtures/hostile-lines.txt");
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (expect, input) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("line {}: no tab", n + 1));
        let expect = match expect {
            "ECHO" => Expect::Echo,
            "NONE" => Expect::None,
            e if e.starts_with('=') => Expect::Exact(e[1..].to_owned()),
            code => err(code),
        };
        cases.push(case(
            format!("hostile-lines.txt:{}", n + 1),
            expect,
            unescape(input),
        ));
    }
    assert!(cases.len() > 120, "{} cases", cases.len());
    cases
}

/// Lines too big to write by hand: overlong ones, thousands of fields, endless digits.
fn generated() -> Vec<Case> {
    let rep = |s: &str, n: usize| s.repeat(n);
    vec![
        case(
            "2048 octets: not too long",
            err("UNKNOWN_VERB"),
            rep("A", 2048),
        ),
        case("2049 octets", err("LINE_TOO_LONG"), rep("A", 2049)),
        case(
            "100 kB broadcast",
            err("LINE_TOO_LONG"),
            format!("BROADCAST:me:100000:{}", rep("x", 100_000)),
        ),
        case(
            "the longest text",
            Expect::Echo,
            format!("BROADCAST:me:1024:{}", rep("x", 1024)),
        ),
        case(
            "a text of a thousand colons",
            Expect::Echo,
            format!("BROADCAST:me:1000:{}", rep(":", 1000)),
        ),
        case(
            "BLOCKS and 2000 empty fields",
            err("MALFORMED"),
            format!("BLOCKS{}", rep(":", 2000)),
        ),
        case(
            "PING and 1000 fields",
            err("MALFORMED"),
            format!("PING{}", rep(":a", 1000)),
        ),
        case(
            "LIST and 1020 fields",
            err("MALFORMED"),
            format!("LIST{}", rep(":x", 1020)),
        ),
        case(
            "LIST and 5000 fields",
            err("LINE_TOO_LONG"),
            format!("LIST{}", rep(":x", 5000)),
        ),
        case(
            "REGISTER and 60 tokens",
            err("MALFORMED"),
            format!(
                "REGISTER:x:1.2.3.4:5{}",
                rep(":0123456789abcdef0123456789abcdef", 60)
            ),
        ),
        case(
            "2000 digits of length",
            err("TEXT_TOO_LONG"),
            format!("BROADCAST:me:{}:x", rep("9", 2000)),
        ),
        case(
            "1500 leading zeros",
            err("MALFORMED"),
            format!("BROADCAST:me:{}5:hello", rep("0", 1500)),
        ),
        case(
            "2040 digits of id",
            err("MALFORMED"),
            format!("ACK:{}", rep("1", 2040)),
        ),
        case("a thousand NULs", err("MALFORMED"), vec![0u8; 1000]),
        case("2000 stray CRs", err("MALFORMED"), vec![b'\r'; 2000]),
        case("3000 stray CRs", err("LINE_TOO_LONG"), vec![b'\r'; 3000]),
        case("2000 octets of 0xff", err("BAD_UTF8"), vec![0xffu8; 2000]),
        case(
            "a nick of 1000 letters",
            err("BAD_NICK"),
            format!("QUERY:{}", rep("a", 1000)),
        ),
    ]
}

/// The invalid client lines of `spec/vectors/invalid/client.json`.
fn vectors() -> Vec<Case> {
    let text = include_str!("../../spec/vectors/invalid/client.json");
    let entries = json::parse_array_of_string_objects(text);
    assert!(entries.len() > 100, "{} vectors", entries.len());
    entries
        .into_iter()
        .map(|e| {
            let get = |k: &str| e.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let input = match (get("line"), get("line_hex")) {
                (Some(l), _) => l.into_bytes(),
                (None, Some(h)) => (0..h.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                    .collect(),
                _ => panic!("a vector without a line: {e:?}"),
            };
            assert!(!input.contains(&b'\n'), "{e:?}");
            // An empty line on a stream is no line at all ([FRM-3]): no answer.
            let expect = if input.is_empty() {
                Expect::None
            } else {
                err(&get("error").unwrap())
            };
            case(get("id").unwrap(), expect, input)
        })
        .collect()
}

/// A server without a rate limit (the corpus is one burst), `me` and a bystander.
async fn setup() -> (TestServer, Client, Client) {
    let s = TestServer::start(Config {
        rate_burst: 0,
        ..common::quick()
    })
    .await;
    let mut other = s.client().await;
    other.register("other", 4001, None).await;
    let mut me = s.client().await;
    me.register("me", 4000, None).await;
    other.expect("UPDATE:JOIN:me:127.0.0.1:4000").await;
    (s, me, other)
}

/// Sends each case, then a PING barrier, and checks what came before the PONG.
/// Returns the lines the bystander must have received (the echoes), and every failure.
async fn replay(c: &mut Client, cases: &[Case]) -> (Vec<String>, Vec<String>) {
    let mut relayed = Vec::new();
    let mut failures = Vec::new();
    for case in cases {
        let mut bytes = case.input.clone();
        bytes.extend_from_slice(b"\r\n");
        c.raw(&bytes).await;
        let got = c.barrier().await;
        let ok = match &case.expect {
            Expect::Err(code) => {
                got.len() == 1
                    && got[0].starts_with(&format!("ERR:{code}:"))
                    && std::panic::catch_unwind(|| check_err(&got[0], code)).is_ok()
            }
            Expect::Echo => {
                let line = String::from_utf8(case.input.clone()).unwrap();
                relayed.push(line.clone());
                got == [line]
            }
            Expect::Exact(l) => got == [l.clone()],
            Expect::None => got.is_empty(),
        };
        if !ok {
            let shown = String::from_utf8_lossy(&case.input);
            let shown: String = shown.chars().take(120).collect();
            failures.push(format!(
                "{}: {shown:?}: expected {:?}, got {got:?}",
                case.name, case.expect
            ));
        }
    }
    (relayed, failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn err_1_every_hostile_line_gets_its_documented_answer_and_others_are_unaffected() {
    let (s, mut me, mut other) = setup().await;
    let mut cases = fixture();
    cases.extend(generated());
    let (relayed, failures) = replay(&mut me, &cases).await;
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The bystander got the valid broadcasts, byte for byte, and nothing else.
    assert_eq!(other.barrier().await, relayed);
    // Both connections still work.
    me.send("BROADCAST:me:3:end").await;
    me.expect("BROADCAST:me:3:end").await;
    other.expect("BROADCAST:me:3:end").await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn err_1_spec_invalid_client_vectors_over_the_wire_before_and_after_registration() {
    let s = TestServer::start(Config {
        rate_burst: 0,
        ..common::quick()
    })
    .await;
    let cases = vectors();
    // Before registration: the decoding order of §2.1 comes before the state gate.
    let mut fresh = s.client().await;
    let (_, failures) = replay(&mut fresh, &cases).await;
    assert!(
        failures.is_empty(),
        "unregistered:\n{}",
        failures.join("\n")
    );
    let (_, mut me, mut other) = {
        let mut other = s.client().await;
        other.register("other", 4001, None).await;
        let mut me = s.client().await;
        me.register("me", 4000, None).await;
        other.expect("UPDATE:JOIN:me:127.0.0.1:4000").await;
        ((), me, other)
    };
    let (_, failures) = replay(&mut me, &cases).await;
    assert!(failures.is_empty(), "registered:\n{}", failures.join("\n"));
    // The unregistered connection may still register, and nobody heard a thing.
    fresh.register("fresh", 4002, None).await;
    other.expect("UPDATE:JOIN:fresh:127.0.0.1:4002").await;
    other.quiet().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frm_4_lim_4_streams_without_line_ends() {
    let s = TestServer::start(Config {
        rate_burst: 0,
        partial_line_timeout: Duration::from_millis(500),
        ..common::quick()
    })
    .await;
    let mut other = s.client().await;
    other.register("other", 4001, None).await;

    // 16 MiB in one line, then a line end: one LINE_TOO_LONG, and the connection goes on.
    let mut c = s.client().await;
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..16 {
        c.raw(&chunk).await;
    }
    c.raw(b"\nPING:after\r\n").await;
    c.expect_err("LINE_TOO_LONG").await;
    c.expect("PONG:after").await;

    // 100,000 empty lines: no answer at all ([FRM-3]).
    c.raw(&b"\r\n\n".repeat(50_000)).await;
    c.quiet().await;

    // 1 MiB and never a line end: LINE_TOO_LONG at once, then ERR:TIMEOUT after the
    // partial-line timeout, then the close ([FRM-4], [LIM-4]).
    c.raw(&chunk).await;
    c.expect_err("LINE_TOO_LONG").await;
    let last = c.line().await;
    check_err(&last, "TIMEOUT");
    c.expect_closed().await;

    // A few octets and never a line end.
    let mut d = s.client().await;
    d.raw(b"REGISTER:half:127.0.0.1:5").await;
    let last = d.line().await;
    check_err(&last, "TIMEOUT");
    d.expect_closed().await;

    other.quiet().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn err_1_random_octets_each_frame_answered_with_the_code_the_spec_gives() {
    let (s, mut me, mut other) = setup().await;
    // A deterministic stream of random octets with line ends sprinkled in, so that
    // frames of every length (overlong ones included) occur.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut stream = Vec::new();
    while stream.len() < 256 * 1024 {
        let r = next();
        let b = (r & 0xff) as u8;
        if r >> 56 < 3 {
            stream.push(b'\n');
        } else if b != b'\n' {
            stream.push(b);
        }
    }
    stream.push(b'\n');
    // What the spec says each frame gets (the framer and decoder of the spec crate).
    let mut expected = Vec::new();
    let mut f = spec::Framer::new();
    f.feed(&stream, |frame| {
        expected.push(match frame {
            spec::Frame::TooLong => Some("LINE_TOO_LONG".to_owned()),
            spec::Frame::Line(l) => match spec::ClientLine::decode(l) {
                Err(e) => Some(e.code.as_str().to_owned()),
                Ok(_) => None,
            },
        });
    });
    assert!(expected.len() > 100, "{} frames", expected.len());
    assert!(
        expected.iter().all(Option::is_some),
        "a random frame decoded; pick another seed"
    );
    for piece in stream.chunks(4096) {
        me.raw(piece).await;
    }
    let got = me.barrier().await;
    let codes: Vec<String> = got
        .iter()
        .map(|l| {
            let code = l.strip_prefix("ERR:").unwrap().split(':').next().unwrap();
            check_err(l, code);
            code.to_owned()
        })
        .collect();
    let want: Vec<String> = expected.into_iter().flatten().collect();
    assert_eq!(codes, want);
    other.quiet().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reg_5_reg_8_ipv6_in_every_valid_form_registers_exactly_as_written() {
    let s = TestServer::default().await;
    let forms = [
        "[::1]",
        "[0:0:0:0:0:0:0:1]",
        "[0000:0000:0000:0000:0000:0000:0000:0001]",
        "[fe80::1]",
        "[FE80::1]",
        "[Fe80::aBcD]",
        "[2001:db8::1]",
        "[2001:0db8:0000:0000:0000:ff00:0042:8329]",
        "[2001:db8:0:0:0:ff00:42:8329]",
        "[2001:db8::ff00:42:8329]",
        "[::ffff:192.0.2.128]",
        "[::192.0.2.128]",
        "[64:ff9b::192.0.2.33]",
        "[1:2:3:4:5:6:192.0.2.1]",
        "[1::]",
        "[1:2:3:4:5:6:7::]",
        "[::2:3:4:5:6:7:8]",
        "[1:2:3:4:5:6:7:8]",
        "[1::8]",
        "[1:2::7:8]",
        "[ff02::1]",
        "[::ffff:0:0]",
    ];
    let mut watcher = s.client().await;
    watcher.register("watcher", 4000, None).await;
    let mut clients = Vec::new();
    for (i, ip) in forms.iter().enumerate() {
        let mut c = s.client().await;
        let nick = format!("v6n{i}");
        let port = 5000 + i;
        c.send(&format!("REGISTER:{nick}:{ip}:{port}")).await;
        c.expect(&format!("UPDATE:JOIN:{nick}:{ip}:{port}")).await;
        assert!(c.line().await.starts_with(&format!("TOKEN:{nick}:")));
        let list = c.line().await;
        assert!(list.ends_with(&format!(":{nick}:{ip}:{port}")), "{list}");
        watcher
            .expect(&format!("UPDATE:JOIN:{nick}:{ip}:{port}"))
            .await;
        watcher.send(&format!("QUERY:{nick}")).await;
        watcher.expect(&format!("USER:{nick}:{ip}:{port}")).await;
        clients.push(c);
    }
    watcher.quiet().await;
    drop(clients);
    s.stop().await;
}

/// Just enough JSON for the vector files: an array of objects whose values are strings.
mod json {
    pub fn parse_array_of_string_objects(s: &str) -> Vec<Vec<(String, String)>> {
        let mut p = P {
            b: s.as_bytes(),
            i: 0,
        };
        let mut out = Vec::new();
        p.ws();
        p.eat(b'[');
        loop {
            p.ws();
            if p.peek() == b']' {
                break;
            }
            p.eat(b'{');
            let mut obj = Vec::new();
            loop {
                p.ws();
                if p.peek() == b'}' {
                    p.i += 1;
                    break;
                }
                let k = p.string();
                p.ws();
                p.eat(b':');
                p.ws();
                let v = p.string();
                obj.push((k, v));
                p.ws();
                if p.peek() == b',' {
                    p.i += 1;
                }
            }
            out.push(obj);
            p.ws();
            if p.peek() == b',' {
                p.i += 1;
            }
        }
        out
    }

    struct P<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl P<'_> {
        fn peek(&self) -> u8 {
            self.b[self.i]
        }
        fn ws(&mut self) {
            while self.b[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) {
            assert_eq!(self.b[self.i], c, "at {}", self.i);
            self.i += 1;
        }
        fn hex4(&mut self) -> u32 {
            let h = std::str::from_utf8(&self.b[self.i..self.i + 4]).unwrap();
            self.i += 4;
            u32::from_str_radix(h, 16).unwrap()
        }
        fn string(&mut self) -> String {
            self.eat(b'"');
            let mut out = String::new();
            loop {
                let c = self.b[self.i];
                self.i += 1;
                match c {
                    b'"' => return out,
                    b'\\' => {
                        let e = self.b[self.i];
                        self.i += 1;
                        match e {
                            b'n' => out.push('\n'),
                            b'r' => out.push('\r'),
                            b't' => out.push('\t'),
                            b'b' => out.push('\u{8}'),
                            b'f' => out.push('\u{c}'),
                            b'/' => out.push('/'),
                            b'\\' => out.push('\\'),
                            b'"' => out.push('"'),
                            b'u' => {
                                let mut u = self.hex4();
                                if (0xd800..0xdc00).contains(&u) {
                                    self.eat(b'\\');
                                    self.eat(b'u');
                                    let lo = self.hex4();
                                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                                }
                                out.push(char::from_u32(u).unwrap());
                            }
                            other => panic!("bad escape {other}"),
                        }
                    }
                    _ => {
                        // A UTF-8 sequence: copy it whole.
                        let start = self.i - 1;
                        let len = match c {
                            0x00..=0x7f => 1,
                            0xc0..=0xdf => 2,
                            0xe0..=0xef => 3,
                            _ => 4,
                        };
                        self.i = start + len;
                        out.push_str(std::str::from_utf8(&self.b[start..self.i]).unwrap());
                    }
                }
            }
        }
    }
}
