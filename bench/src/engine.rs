//! Generator threads, the state they share, and the phases of a run.
//!
//! Each generator thread runs a current-thread tokio runtime and owns a share of the
//! connections (round robin, or as a workload lays them out). Threads share only
//! atomics: sender slots (how many of a sender's messages its designated receiver has
//! seen), counts, and a `watch` channel carrying the phase. Everything hot — line
//! splitting, payload checks, histograms, counters — is per thread and merged at the end.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::{Notify, Semaphore, watch};

use crate::clock;
use crate::histogram::Histogram;
use crate::proto::{Proto, Setup, Target};

/// A connection's part in a workload.
#[derive(Debug, Clone)]
pub enum Role {
    /// Reads and counts deliveries.
    Receiver,
    /// Reads, and keeps a window of messages outstanding.
    Sender(SenderSpec),
    /// Sets up, then never reads again.
    Slow,
}

/// What a sender sends.
#[derive(Debug, Clone)]
pub struct SenderSpec {
    /// Its slot in [`Shared::slots`]; written into every payload.
    pub slot: usize,
    /// Where its messages go.
    pub target: Target,
    /// Messages outstanding at most (sent but not yet seen by the slot's receiver).
    pub window: u64,
    /// Messages per second at most, if limited.
    pub rate: Option<f64>,
    /// Where in its period a rate-limited sender's messages fall, as a fraction of the
    /// period (0 ≤ phase < 1): senders of one group spread over the period instead of
    /// all sending at the same instants.
    pub phase: f64,
    /// Asks for a receipt of each message where the protocol makes it optional (IRC:
    /// `echo-message`); p2pchat and RESP always send one.
    pub receipt: bool,
}

/// One connection to open.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Its index among the run's connections.
    pub idx: usize,
    /// Nick (p2pchat, IRC) or the name its private channel is derived from (RESP).
    pub nick: String,
    /// How it sets itself up.
    pub setup: Setup,
    /// What it does once set up.
    pub role: Role,
}

/// The completion signal of one sender.
#[derive(Debug)]
pub struct Slot {
    /// The connection index of the sender.
    pub sender: usize,
    /// The connection index whose receipt of a message completes it.
    pub receiver: usize,
    /// Messages of this slot the receiver has seen.
    pub completed: AtomicU64,
    /// Wakes the sender when another connection completes one of its messages.
    pub notify: Notify,
}

impl Slot {
    /// A slot for `sender`, completed by `receiver`.
    pub fn new(sender: usize, receiver: usize) -> Slot {
        Slot {
            sender,
            receiver,
            completed: AtomicU64::new(0),
            notify: Notify::new(),
        }
    }
}

/// When a run sends and measures, in ns since [`clock::epoch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Senders start.
    pub go_ns: u64,
    /// Measurement starts (after the warm-up).
    pub from_ns: u64,
    /// Measurement and sending stop.
    pub to_ns: u64,
}

impl Schedule {
    /// Whether `now` is inside the measurement window.
    #[inline]
    pub fn measures(&self, now: u64) -> bool {
        now >= self.from_ns && now < self.to_ns
    }
}

/// The phase of a run, broadcast to every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connecting and registering.
    Setup,
    /// Senders send; receivers count inside the window.
    Run(Schedule),
    /// Everyone closes.
    Stop,
}

/// Options of the connections.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server.
    pub addr: SocketAddr,
    /// Its protocol.
    pub proto: Proto,
    /// Set-ups (connect, then register) in flight at most.
    pub concurrency: usize,
    /// TCP connects in flight at most (some servers listen with a small backlog, and a
    /// SYN dropped from a full backlog costs a second or more before it is retried).
    pub connect_concurrency: usize,
    /// Time one connection may take to connect and set up.
    pub setup_timeout: Duration,
    /// A nick whose departure to time (slow reader).
    pub watch_leave: Option<String>,
}

/// State shared by every thread of a run.
#[derive(Debug)]
pub struct Shared {
    /// Options.
    pub opts: Options,
    /// Sender slots.
    pub slots: Vec<Slot>,
    /// Connections set up.
    pub ready: AtomicUsize,
    /// Connections that failed to connect or set up.
    pub failed: AtomicUsize,
    /// Deliveries seen so far, at any time (for timelines).
    pub delivered: AtomicU64,
    /// When a receiver first saw `watch_leave` leave (0: not yet).
    pub leave_seen_ns: AtomicU64,
    /// Bounds the set-ups in flight.
    pub gate: Semaphore,
    /// Bounds the TCP connects in flight.
    pub connect_gate: Semaphore,
}

/// What happened to the slow reader.
#[derive(Debug, Clone, Default)]
pub struct SlowOutcome {
    /// The server closed the connection.
    pub closed: bool,
    /// An `ERR:SLOW_READER` line came before the close.
    pub err_slow_reader: bool,
    /// Octets that were still in flight to it, read after the run.
    pub drained: u64,
}

/// Per-thread measurements, merged at the end.
#[derive(Debug, Default)]
pub struct Stats {
    /// Deliveries inside the window.
    pub deliveries: u64,
    /// Messages sent inside the window.
    pub sent: u64,
    /// Latency of broadcast deliveries inside the window (ns).
    pub lat_broadcast: Histogram,
    /// Latency of private deliveries inside the window (ns).
    pub lat_private: Histogram,
    /// Receipts that senders of private messages got inside the window (p2pchat
    /// `SENT`, the RESP reply to `PUBLISH`, an IRC `echo-message` echo).
    pub receipts: u64,
    /// Error lines and failures by code.
    pub errors: BTreeMap<String, u64>,
    /// Connections the server closed after set-up.
    pub closed_by_server: u64,
    /// The slow reader's fate, if there was one.
    pub slow: Option<SlowOutcome>,
}

impl Stats {
    /// Counts one error of kind `code`.
    pub fn error(&mut self, code: impl Into<String>) {
        *self.errors.entry(code.into()).or_default() += 1;
    }

    fn merge(&mut self, o: Stats) {
        self.deliveries += o.deliveries;
        self.sent += o.sent;
        self.lat_broadcast.merge(&o.lat_broadcast);
        self.lat_private.merge(&o.lat_private);
        self.receipts += o.receipts;
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.closed_by_server += o.closed_by_server;
        if o.slow.is_some() {
            self.slow = o.slow;
        }
    }
}

/// A running set of generator threads.
#[derive(Debug)]
pub struct Engine {
    /// Shared state (read by the workload for progress).
    pub shared: Arc<Shared>,
    phase: watch::Sender<Phase>,
    threads: Vec<JoinHandle<anyhow::Result<Stats>>>,
    total: usize,
}

impl Engine {
    /// Starts one thread per element of `layout`, each opening its connections.
    pub fn start(
        opts: Options,
        slots: Vec<Slot>,
        layout: Vec<Vec<Spec>>,
    ) -> anyhow::Result<Engine> {
        if !opts.addr.ip().is_loopback() {
            bail!(
                "{} is not a loopback address: the benchmark only runs on loopback",
                opts.addr
            );
        }
        clock::epoch();
        let total = layout.iter().map(Vec::len).sum();
        let shared = Arc::new(Shared {
            gate: Semaphore::new(opts.concurrency.max(1)),
            connect_gate: Semaphore::new(opts.connect_concurrency.max(1)),
            opts,
            slots,
            ready: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            delivered: AtomicU64::new(0),
            leave_seen_ns: AtomicU64::new(0),
        });
        let (phase, rx) = watch::channel(Phase::Setup);
        let mut threads = Vec::new();
        for (i, specs) in layout.into_iter().enumerate() {
            let (sh, rx) = (shared.clone(), rx.clone());
            let t = std::thread::Builder::new()
                .name(format!("gen-{i}"))
                .spawn(move || crate::client::run_thread(specs, sh, rx))
                .context("spawning a generator thread")?;
            threads.push(t);
        }
        Ok(Engine {
            shared,
            phase,
            threads,
            total,
        })
    }

    /// Waits until every connection is set up (or failed), at most `timeout`. Returns
    /// how many are set up.
    pub fn wait_ready(&self, timeout: Duration) -> usize {
        let end = Instant::now() + timeout;
        loop {
            let ready = self.shared.ready.load(Ordering::Acquire);
            let failed = self.shared.failed.load(Ordering::Acquire);
            if ready + failed >= self.total || Instant::now() >= end {
                return ready;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Connections in the run.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Lets the senders go now: warm-up, then the measured window.
    pub fn go(&self, warmup: Duration, duration: Duration) -> Schedule {
        let go_ns = clock::now_ns();
        let from_ns = go_ns + warmup.as_nanos() as u64;
        let s = Schedule {
            go_ns,
            from_ns,
            to_ns: from_ns + duration.as_nanos() as u64,
        };
        self.phase.send_replace(Phase::Run(s));
        s
    }

    /// Tells every connection to close, and collects the threads' measurements.
    pub fn stop(self) -> anyhow::Result<Stats> {
        self.phase.send_replace(Phase::Stop);
        // Connections still queued for a set-up slot give up at once.
        self.shared.gate.close();
        self.shared.connect_gate.close();
        let mut all = Stats::default();
        for t in self.threads {
            let stats = t
                .join()
                .map_err(|_| anyhow::anyhow!("a generator thread panicked"))??;
            all.merge(stats);
        }
        Ok(all)
    }
}

/// Deals `specs` round robin onto `threads` threads.
pub fn deal(specs: Vec<Spec>, threads: usize) -> Vec<Vec<Spec>> {
    let mut layout: Vec<Vec<Spec>> = (0..threads.max(1)).map(|_| Vec::new()).collect();
    let n = layout.len();
    for (i, s) in specs.into_iter().enumerate() {
        layout[i % n].push(s);
    }
    layout
}

/// A nick prefix unique to this run (owned nicks outlive connections on a p2pchat
/// server, so runs against one server must not reuse nicks): three lowercase letters.
pub fn run_tag() -> String {
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..3)
        .map(|_| {
            x = x.rotate_left(17).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            (b'a' + (x % 26) as u8) as char
        })
        .collect()
}

/// The nick of connection `idx` in a run tagged `tag` (8 characters: fits IRC's 9).
pub fn nick(tag: &str, idx: usize) -> String {
    format!("{tag}{idx:05}")
}
