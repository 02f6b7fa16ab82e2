//! One generator thread and the connections it drives.
//!
//! A connection is one task: it connects, sets up, then loops on socket readiness, the
//! phase channel, its slot's wake-ups and (for rate-limited senders) a tick. Reads land
//! in the thread's scratch buffer; lines are split with `memchr`; a delivery is
//! recognised by the payload at the end of its line, counted, and its latency recorded,
//! all without allocating. Output (messages, PONG, ACK) is queued and written with one
//! `write` per wake-up.

use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;

use crate::clock;
use crate::engine::{Phase, Role, Schedule, Shared, SlowOutcome, Spec, Stats};
use crate::lines::Splitter;
use crate::payload::{self, Kind};
use crate::proto::{Event, RegState, Target};

/// Octets read at most per `read` call.
const SCRATCH: usize = 256 * 1024;
/// Reads per wake-up at most, so that one busy connection cannot starve the others.
const READS_PER_WAKE: usize = 8;
/// Receive buffer of the slow reader: small, so the server's own queue has to grow.
const SLOW_RCVBUF: u32 = 4096;

/// Runs one generator thread until the phase becomes `Stop` and every task has ended.
pub fn run_thread(
    specs: Vec<Spec>,
    sh: Arc<Shared>,
    phase: watch::Receiver<Phase>,
) -> anyhow::Result<Stats> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let stats = Rc::new(RefCell::new(Stats::default()));
    let scratch = Rc::new(RefCell::new(vec![0u8; SCRATCH]));
    local.block_on(&rt, async {
        let mut tasks = Vec::with_capacity(specs.len());
        for spec in specs {
            let c = Conn {
                sh: sh.clone(),
                stats: stats.clone(),
                scratch: scratch.clone(),
                phase: phase.clone(),
                spec,
            };
            tasks.push(tokio::task::spawn_local(c.run()));
        }
        for t in tasks {
            // A task that panicked is a bug in this crate; its connection just stops
            // counting, and the run's numbers say so.
            if t.await.is_err() {
                stats.borrow_mut().error("generator task panicked");
            }
        }
    });
    drop(local);
    Ok(Rc::try_unwrap(stats)
        .map(RefCell::into_inner)
        .unwrap_or_else(|rc| std::mem::take(&mut *rc.borrow_mut())))
}

/// Why a connection's loop woke up.
enum Wake {
    /// The phase changed (`false`: the channel is gone).
    Phase(bool),
    SetupTimeout,
    /// A slot wake-up or a rate tick.
    Other,
    Io(io::Result<tokio::io::Ready>),
}

/// Messages a sender paced at `rate` per second may have sent `elapsed_ns` after the
/// start: its k-th message (from 0) is due at (k + `phase`) periods.
fn paced_allowance(elapsed_ns: u64, rate: f64, phase: f64) -> u64 {
    let periods = elapsed_ns as f64 * rate / 1e9 - phase;
    if periods < 0.0 { 0 } else { periods as u64 + 1 }
}

async fn notified(slot: Option<&crate::engine::Slot>) {
    match slot {
        Some(s) => s.notify.notified().await,
        None => std::future::pending().await,
    }
}

async fn tick(ticker: Option<&mut tokio::time::Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

struct Conn {
    sh: Arc<Shared>,
    stats: Rc<RefCell<Stats>>,
    scratch: Rc<RefCell<Vec<u8>>>,
    phase: watch::Receiver<Phase>,
    spec: Spec,
}

/// Per-connection state touched for every line.
struct Lines {
    idx: usize,
    state: RegState,
    splitter: Splitter,
    out: Vec<u8>,
    became_ready: bool,
    refused: Option<String>,
    /// Sends private messages: its receipts are counted.
    private_sender: bool,
}

impl Conn {
    async fn run(mut self) {
        let sh = self.sh.clone();
        let permit = match sh.gate.acquire().await {
            Ok(p) => p,
            Err(_) => return,
        };
        let setup_deadline = tokio::time::Instant::now() + sh.opts.setup_timeout;
        let stream = match tokio::time::timeout_at(setup_deadline, self.connect()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return self.fail(format!("connect: {}", e.kind())),
            Err(_) => return self.fail("connect: timeout"),
        };
        let mut l = Lines {
            idx: self.spec.idx,
            state: RegState::Started,
            splitter: Splitter::new(),
            out: Vec::new(),
            became_ready: false,
            refused: None,
            private_sender: matches!(
                &self.spec.role,
                Role::Sender(s) if matches!(s.target, Target::Private(_))
            ),
        };
        let receipt = matches!(&self.spec.role, Role::Sender(s) if s.receipt);
        // Ports 10000..59999: any valid UDP port will do, nobody sends datagrams.
        let port = 10_000 + (self.spec.idx % 50_000) as u16;
        l.state = sh
            .opts
            .proto
            .open(&self.spec.nick, port, self.spec.setup, receipt, &mut l.out);
        let mut permit = Some(permit);
        if l.state == RegState::Ready {
            self.ready(&mut permit);
        }

        let sender = match &self.spec.role {
            Role::Sender(s) => Some(s.clone()),
            _ => None,
        };
        // Wake-ups from another connection only matter when someone else completes us.
        let slot = sender.as_ref().map(|s| &sh.slots[s.slot]);
        let woken_by_others = slot.is_some_and(|s| s.receiver != s.sender);
        let mut ticker = sender.as_ref().and_then(|s| s.rate).map(|_| {
            let mut t = tokio::time::interval(Duration::from_millis(1));
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            t
        });
        let slow = matches!(self.spec.role, Role::Slow);
        let mut schedule: Option<Schedule> = None;
        let mut sent: u64 = 0;
        let mut out_pos = 0;
        let setup_sleep = tokio::time::sleep_until(setup_deadline);
        tokio::pin!(setup_sleep);

        loop {
            // Write what is queued; remember what the socket did not take.
            if out_pos < l.out.len() {
                match stream.try_write(&l.out[out_pos..]) {
                    Ok(n) => out_pos += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => return self.closed(&l),
                }
                if out_pos == l.out.len() {
                    l.out.clear();
                    out_pos = 0;
                }
            }
            let reading = !(slow && l.state == RegState::Ready);
            let interest = match (reading, out_pos < l.out.len()) {
                (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
                (true, false) => Some(Interest::READABLE),
                (false, true) => Some(Interest::WRITABLE),
                (false, false) => None,
            };
            let ready_for_io = async {
                match interest {
                    Some(i) => stream.ready(i).await,
                    None => std::future::pending().await,
                }
            };
            let wake = tokio::select! {
                biased;
                changed = self.phase.changed() => Wake::Phase(changed.is_ok()),
                () = &mut setup_sleep, if l.state != RegState::Ready => Wake::SetupTimeout,
                () = notified(slot), if woken_by_others => Wake::Other,
                () = tick(ticker.as_mut()), if ticker.is_some() => Wake::Other,
                r = ready_for_io => Wake::Io(r),
            };
            match wake {
                Wake::Phase(false) => break,
                Wake::Phase(true) => match *self.phase.borrow_and_update() {
                    Phase::Stop => break,
                    Phase::Run(s) => schedule = Some(s),
                    Phase::Setup => {}
                },
                Wake::SetupTimeout => return self.fail("setup: timeout"),
                Wake::Other => {}
                Wake::Io(Err(_)) => return self.closed(&l),
                Wake::Io(Ok(r)) => {
                    if r.is_readable() && reading {
                        match self.read(&stream, &mut l, schedule.as_ref()) {
                            Ok(true) => {}
                            Ok(false) | Err(_) => return self.closed(&l),
                        }
                        if let Some(code) = l.refused.take() {
                            return self.fail(code);
                        }
                        if l.became_ready {
                            l.became_ready = false;
                            self.ready(&mut permit);
                        }
                    }
                }
            }
            if let (Some(s), Some(sched), Some(slot)) = (&sender, &schedule, slot) {
                let now = clock::now_ns();
                if now >= sched.go_ns && now < sched.to_ns && l.state == RegState::Ready {
                    let outstanding = sent - slot.completed.load(Ordering::Acquire);
                    let mut budget = s.window.saturating_sub(outstanding);
                    if let Some(rate) = s.rate {
                        let allowed = paced_allowance(now - sched.go_ns, rate, s.phase);
                        budget = budget.min(allowed.saturating_sub(sent));
                    }
                    for _ in 0..budget {
                        sh.opts
                            .proto
                            .message(&self.spec.nick, &s.target, s.slot, now, &mut l.out);
                    }
                    sent += budget;
                    if sched.measures(now) {
                        self.stats.borrow_mut().sent += budget;
                    }
                }
            }
        }
        if slow {
            self.drain_slow(stream).await;
        }
    }

    async fn connect(&self) -> io::Result<TcpStream> {
        let sock = TcpSocket::new_v4()?;
        // Close with RST: thousands of connections per run must not sit in TIME_WAIT
        // and exhaust the loopback's ephemeral ports across runs.
        sock.set_zero_linger()?;
        if matches!(self.spec.role, Role::Slow) {
            sock.set_recv_buffer_size(SLOW_RCVBUF)?;
        }
        let _connecting = self
            .sh
            .connect_gate
            .acquire()
            .await
            .map_err(|_| io::Error::other("the run is over"))?;
        let stream = sock.connect(self.sh.opts.addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    /// Reads what is there; `Ok(false)` at end of stream.
    fn read(
        &self,
        stream: &TcpStream,
        l: &mut Lines,
        sched: Option<&Schedule>,
    ) -> io::Result<bool> {
        let mut scratch = self.scratch.borrow_mut();
        let mut stats = self.stats.borrow_mut();
        let proto = self.sh.opts.proto;
        let mut delivered = 0u64;
        let mut open = true;
        for _ in 0..READS_PER_WAKE {
            let n = match stream.try_read(&mut scratch) {
                Ok(0) => {
                    open = false;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            };
            let now = clock::now_ns();
            let measuring = sched.is_some_and(|s| s.measures(now));
            let Lines {
                idx,
                state,
                splitter,
                out,
                became_ready,
                refused,
                private_sender,
            } = l;
            splitter.feed(&scratch[..n], |line| {
                if let Some(p) = payload::read(line) {
                    // A private message back at its sender is an IRC `echo-message`
                    // echo: a receipt, not a delivery.
                    if *private_sender
                        && p.kind == Kind::Private
                        && self
                            .sh
                            .slots
                            .get(p.sender)
                            .is_some_and(|s| s.sender == *idx)
                    {
                        if measuring {
                            stats.receipts += 1;
                        }
                        return;
                    }
                    delivered += 1;
                    if measuring {
                        stats.deliveries += 1;
                        let lat = now.saturating_sub(p.sent_ns);
                        match p.kind {
                            Kind::Broadcast => stats.lat_broadcast.record(lat),
                            Kind::Private => stats.lat_private.record(lat),
                        }
                    }
                    if let Some(slot) = self.sh.slots.get(p.sender)
                        && slot.receiver == *idx
                    {
                        slot.completed.fetch_add(1, Ordering::Release);
                        if slot.sender != *idx {
                            slot.notify.notify_one();
                        }
                    }
                    proto.on_delivery(line, p.kind, out);
                    return;
                }
                match proto.on_line(line, state, self.spec.setup, out) {
                    Event::Nothing => {}
                    Event::Receipt => {
                        if measuring && *private_sender {
                            stats.receipts += 1;
                        }
                    }
                    Event::Ready => *became_ready = true,
                    Event::Refused(code) => {
                        *refused = Some(format!("refused: {}", String::from_utf8_lossy(code)));
                    }
                    Event::Error(code) => stats.error(String::from_utf8_lossy(code)),
                    Event::Leave(nick) => {
                        if self.sh.opts.watch_leave.as_deref().map(str::as_bytes) == Some(nick) {
                            let _ = self.sh.leave_seen_ns.compare_exchange(
                                0,
                                now,
                                Ordering::AcqRel,
                                Ordering::Relaxed,
                            );
                        }
                    }
                }
            });
            if n < scratch.len() {
                break;
            }
        }
        if delivered > 0 {
            self.sh.delivered.fetch_add(delivered, Ordering::Relaxed);
        }
        Ok(open)
    }

    fn ready(&self, permit: &mut Option<tokio::sync::SemaphorePermit<'_>>) {
        permit.take();
        self.sh.ready.fetch_add(1, Ordering::AcqRel);
    }

    fn fail(&self, why: impl Into<String>) {
        self.stats.borrow_mut().error(why);
        self.sh.failed.fetch_add(1, Ordering::AcqRel);
    }

    fn closed(&self, l: &Lines) {
        if l.state == RegState::Ready {
            self.stats.borrow_mut().closed_by_server += 1;
        } else {
            self.fail("setup: connection closed");
        }
    }

    /// After the run: read what the server still had queued for the slow reader, and
    /// see whether it was cut off (bounded: 5 s, or 1 s of silence).
    async fn drain_slow(&self, stream: TcpStream) {
        let mut o = SlowOutcome::default();
        let mut tail: Vec<u8> = Vec::new();
        let end = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let wait = tokio::time::Instant::now() + Duration::from_secs(1);
            match tokio::time::timeout_at(wait.min(end), stream.readable()).await {
                Err(_) | Ok(Err(_)) => break,
                Ok(Ok(())) => {}
            }
            match stream.try_read(&mut buf) {
                Ok(0) => {
                    o.closed = true;
                    break;
                }
                Ok(n) => {
                    o.drained += n as u64;
                    tail.extend_from_slice(&buf[..n]);
                    if memchr::memmem::find(&tail, b"ERR:SLOW_READER").is_some() {
                        o.err_slow_reader = true;
                    }
                    let keep = tail.len().saturating_sub(32);
                    tail.drain(..keep);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => {
                    o.closed = true;
                    break;
                }
            }
        }
        self.stats.borrow_mut().slow = Some(o);
    }
}

#[cfg(test)]
mod tests {
    use super::paced_allowance;

    #[test]
    fn a_paced_sender_sends_at_its_phase_of_each_period() {
        // 100 per second: a period of 10 ms.
        assert_eq!(
            paced_allowance(0, 100.0, 0.0),
            1,
            "the first message at once"
        );
        assert_eq!(paced_allowance(9_999_999, 100.0, 0.0), 1);
        assert_eq!(paced_allowance(10_000_000, 100.0, 0.0), 2);
        // Half a period late: nothing before 5 ms, then one every 10 ms.
        assert_eq!(paced_allowance(0, 100.0, 0.5), 0);
        assert_eq!(paced_allowance(4_999_999, 100.0, 0.5), 0);
        assert_eq!(paced_allowance(5_000_000, 100.0, 0.5), 1);
        assert_eq!(paced_allowance(15_000_000, 100.0, 0.5), 2);
        // Over a long run the rate is the same whatever the phase.
        let a = paced_allowance(10_000_000_000, 100.0, 0.0);
        let b = paced_allowance(10_000_000_000, 100.0, 0.75);
        assert_eq!((a, b), (1001, 1000));
    }
}
