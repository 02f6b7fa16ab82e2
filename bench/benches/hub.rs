//! Commands per second through the server's sans-IO hub (`reference_server::Hub`): no
//! sockets, no framing, no tokio, only the registry, the routing rules and the
//! in-memory store (`MemoryStore`). Issue 7: "criterion benchmarks ... for the hub
//! (commands per second)".
//!
//! Cases (each from an already registered connection unless said):
//! - `register/N`: one REGISTER of a new nick while N users are online, i.e. the JOIN
//!   fan-out to N + 1 connections ([REG-1]), the TOKEN ([OWN-1]) and the LIST reply of
//!   N + 1 entries ([REG-2]). Only the REGISTER is timed; the connection is then
//!   disconnected untimed, so N stays N.
//! - `broadcast/N`: one BROADCAST to N registered users, the sender's echo included
//!   ([BRD-1], [BRD-3]); throughput in deliveries (N per command).
//! - `broadcast blocked/N`: the same, but every recipient blocks 8 other users and every
//!   other recipient blocks the sender too ([BLK-5]): the cost of recipient filtering.
//! - `send+ack`: SEND A→B (SENT to A, MSG to B, [RLY-1], [RLY-5]) and then B's ACK of
//!   that id ([RLY-4]), memory store; two commands per iteration.
//! - `list/1000`: one LIST with 1,000 users online (split into LISTPART lines).
//! - `ping`: PING → PONG, the floor (no registry work).
//!
//! Commands are built before the timed part and handed over by value as `handle`
//! takes them (`iter_batched`): the allocations a decoder makes for a `ClientLine`
//! are the parser's cost, measured in `codec.rs`, not the hub's.
//!
//! Only the hub's public API as it is on main is used (`Hub::new`, `handle`,
//! `disconnect`, `Sink`), so that the bench survives changes inside the server.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use reference_server::entropy::CountingEntropy;
use reference_server::store::MemoryStore;
use reference_server::{ConnId, Hub, HubConfig, Now, Outcome, Sink};
use spec::{Address, ClientLine, Ip, MsgId, Nick, PingToken, Port, Text};

/// The hub's output goes here. It does what the cheapest real sink must do and no more:
/// it counts lines and bytes, and keeps a copy of the last line sent to one watched
/// connection (in a buffer reused across calls, no allocation once warm) so that the
/// SEND case can read the MSG id to ACK. The server's own sink (`connection.rs`
/// `Deliver`) also looks the connection up in a map and copies the line into its
/// outbox; that per-delivery cost is deliberately not measured here: this measures the
/// hub.
#[derive(Debug, Default)]
struct CountingSink {
    lines: u64,
    bytes: u64,
    watch: Option<ConnId>,
    last: Vec<u8>,
}

impl Sink for CountingSink {
    fn send(&mut self, conn: ConnId, line: &[u8]) {
        self.lines += 1;
        self.bytes += line.len() as u64;
        if self.watch == Some(conn) {
            self.last.clear();
            self.last.extend_from_slice(line);
        }
    }
}

fn hub() -> Hub {
    Hub::new(
        Box::new(MemoryStore::new()),
        Box::new(CountingEntropy::default()),
        HubConfig::default(),
    )
}

fn now() -> Now {
    Now {
        mono: Duration::from_secs(1),
        unix_secs: 1_763_713_200,
    }
}

fn nick(s: &str) -> Nick {
    // Invariant: the bench only builds nicks of `nickchar`s within 32 octets.
    Nick::new(s).unwrap_or_else(|e| panic!("bench nick {s:?}: {e:?}"))
}

fn nick_of(i: u64) -> Nick {
    nick(&format!("user{i:06}"))
}

/// A plausible registered address: an IPv4 address and port that vary per user.
fn address_of(i: u64) -> Address {
    let ip = format!("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
    // Invariant: dotted quads of bytes and ports in 1024..=65535 are valid.
    let ip = Ip::new(&ip).unwrap_or_else(|e| panic!("bench ip {ip}: {e:?}"));
    let port = Port::new(1024 + (i % 60_000) as u16).unwrap_or_else(|e| panic!("{e:?}"));
    Address::new(ip, port)
}

fn register_line(i: u64) -> ClientLine {
    ClientLine::Register {
        nick: nick_of(i),
        address: address_of(i),
        token: None,
    }
}

/// An 80-octet text, as in the load generator and `codec.rs`.
fn text() -> Text {
    let t = "hello world p2pchat bench lorem ipsum a:b ok hello world p2pchat bench lorem ips";
    // Invariant: printable ASCII without CR/LF, 80 octets.
    Text::new(t).unwrap_or_else(|e| panic!("bench text: {e:?}"))
}

/// A hub with users 0..n registered on connections 0..n (conn i is user i).
fn hub_with(n: u64) -> Hub {
    let mut h = hub();
    let mut sink = CountingSink::default();
    for i in 0..n {
        let o = h.handle(i, register_line(i), now(), &mut sink);
        assert_eq!(o, Outcome::Registered, "user {i} must register");
    }
    h
}

/// Runs `cmd` from `conn` once, untimed, and returns (lines, bytes) it emitted:
/// printed beside the figures so that deliveries per command are known exactly.
fn shape(h: &mut Hub, conn: ConnId, cmd: ClientLine) -> (u64, u64) {
    let mut sink = CountingSink::default();
    h.handle(conn, cmd, now(), &mut sink);
    (sink.lines, sink.bytes)
}

fn report_shape(case: &str, (lines, bytes): (u64, u64)) {
    eprintln!("hub bench {case}: {lines} lines, {bytes} bytes emitted per command");
}

fn register(c: &mut Criterion) {
    let mut g = c.benchmark_group("register");
    for n in [100u64, 1000] {
        let mut h = hub_with(n);
        // New nicks come from a counter past the online ones; each is owned after its
        // REGISTER, so the store's owner table grows during the run (as a real one does).
        let mut next = 1_000_000u64;
        {
            let mut sink = CountingSink::default();
            h.handle(n, register_line(next), now(), &mut sink);
            report_shape(&format!("register/{n}"), (sink.lines, sink.bytes));
            h.disconnect(n, &mut sink);
            next += 1;
        }
        g.throughput(Throughput::Elements(1));
        g.bench_function(n.to_string(), |b| {
            b.iter_custom(|iters| {
                let mut sink = CountingSink::default();
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let cmd = register_line(next);
                    next += 1;
                    let t = Instant::now();
                    let o = h.handle(n, cmd, now(), &mut sink);
                    total += t.elapsed();
                    black_box(o);
                    // Untimed: the LEAVE fan-out, so that every REGISTER sees n online.
                    h.disconnect(n, &mut sink);
                }
                black_box(sink.lines);
                total
            })
        });
    }
    g.finish();
}

/// `blocked`: whether recipients carry block lists (see the module comment).
fn broadcast_case(c: &mut Criterion, group: &str, n: u64, blocked: bool) {
    let mut h = hub_with(n);
    let mut sink = CountingSink::default();
    if blocked {
        // Users 1..n each block 8 others that are not the sender (user 0); every
        // other one blocks the sender as well, at the end of its list (the worst
        // place for a linear scan).
        for i in 1..n {
            for k in 1..=8u64 {
                let other = 1 + (i + k) % (n - 1);
                h.handle(
                    i,
                    ClientLine::Block {
                        nick: nick_of(other),
                    },
                    now(),
                    &mut sink,
                );
            }
            if i % 2 == 0 {
                h.handle(i, ClientLine::Block { nick: nick_of(0) }, now(), &mut sink);
            }
        }
    }
    let cmd = ClientLine::Broadcast {
        nick: nick_of(0),
        text: text(),
    };
    let (lines, bytes) = shape(&mut h, 0, cmd.clone());
    report_shape(&format!("{group}/{n}"), (lines, bytes));
    let mut g = c.benchmark_group(group);
    // Deliveries per second; commands per second = this ÷ deliveries per command.
    g.throughput(Throughput::Elements(lines));
    g.bench_function(n.to_string(), |b| {
        b.iter_batched(
            || cmd.clone(),
            |cmd| h.handle(0, cmd, now(), &mut sink),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn broadcast(c: &mut Criterion) {
    for n in [100u64, 1000] {
        broadcast_case(c, "broadcast", n, false);
    }
    broadcast_case(c, "broadcast blocked", 1000, true);
}

/// The id in `MSG:<id>:...`, without decoding the rest of the line.
fn msg_id(line: &[u8]) -> MsgId {
    let digits = line
        .strip_prefix(b"MSG:")
        .unwrap_or_else(|| panic!("expected a MSG, got {:?}", String::from_utf8_lossy(line)));
    let id = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    // Invariant: the hub allocates ids from 1 upwards ([RLY-2]).
    MsgId::new(id).unwrap_or_else(|e| panic!("MSG id {id}: {e:?}"))
}

fn send_ack(c: &mut Criterion) {
    // 100 online, A = user 0 sends to B = user 1, who acknowledges at once, so the
    // mailbox never fills (quota, [RLY-7]).
    let mut h = hub_with(100);
    let (a, b_conn) = (0, 1);
    let send = ClientLine::Send {
        nick: nick_of(1),
        text: text(),
    };
    let mut sink = CountingSink {
        watch: Some(b_conn),
        ..CountingSink::default()
    };
    h.handle(a, send.clone(), now(), &mut sink);
    assert_eq!(sink.lines, 2, "SEND must give one SENT and one MSG");
    eprintln!(
        "hub bench send+ack: {} lines, {} bytes emitted per SEND (the ACK emits none)",
        sink.lines, sink.bytes
    );
    let id = msg_id(&sink.last);
    h.handle(b_conn, ClientLine::Ack { id }, now(), &mut sink);
    let mut g = c.benchmark_group("send+ack");
    g.throughput(Throughput::Elements(2));
    g.bench_function("100 online", |b| {
        b.iter_batched(
            || send.clone(),
            |send| {
                h.handle(a, send, now(), &mut sink);
                let id = msg_id(&sink.last);
                h.handle(b_conn, ClientLine::Ack { id }, now(), &mut sink)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn list(c: &mut Criterion) {
    let n = 1000u64;
    let mut h = hub_with(n);
    report_shape("list/1000", shape(&mut h, 0, ClientLine::List));
    let mut sink = CountingSink::default();
    let mut g = c.benchmark_group("list");
    g.throughput(Throughput::Elements(1));
    g.bench_function(n.to_string(), |b| {
        b.iter(|| h.handle(0, ClientLine::List, now(), &mut sink))
    });
    g.finish();
}

fn ping(c: &mut Criterion) {
    let mut h = hub_with(100);
    // Invariant: a short token of letters and digits is a valid PING token.
    let token = PingToken::new("t12345").unwrap_or_else(|e| panic!("{e:?}"));
    let cmd = ClientLine::Ping { token };
    let mut sink = CountingSink::default();
    let mut g = c.benchmark_group("ping");
    g.throughput(Throughput::Elements(1));
    g.bench_function("registered", |b| {
        b.iter_batched(
            || cmd.clone(),
            |cmd| h.handle(0, cmd, now(), &mut sink),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, register, broadcast, send_ack, list, ping);
criterion_main!(benches);
