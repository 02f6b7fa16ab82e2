//! One soak user: a nick it owns (its token from the set-up), and a loop of sessions:
//! connect to whichever server is up, register with the token, send private messages
//! to random other users (a window of SENDs in flight, at a bounded rate), show and
//! acknowledge every `MSG`, and now and then go offline (QUIT, or just drop the
//! connection) so that messages for it queue in its mailbox. A connection that ends
//! (the server was killed) is opened again as soon as a server is up.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::watch;
use tokio::time::Instant;

use super::ledger::{self, Key, Ledger};
use super::rng::Rng;

/// What the users are asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Send, go offline and come back.
    Run,
    /// Stay online, send nothing new; once nothing is in flight, answer barrier round
    /// `n` with a `PING` whose `PONG` proves that everything queued before it arrived.
    Drain(u32),
    /// As `Drain`, on a restarted server: any `MSG` now is one that was acknowledged
    /// and yet came back.
    Verify(u32),
    /// QUIT and end.
    Stop,
}

/// The behaviour of every user.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Messages per second per user, at most.
    pub rate: f64,
    /// SENDs in flight per user.
    pub window: usize,
    /// Mean time online before going offline.
    pub online: Duration,
    /// Mean time offline.
    pub offline: Duration,
    /// Octets of text per message.
    pub text_len: usize,
}

/// What the users share with the driver.
#[derive(Debug)]
pub struct Shared {
    /// Every message and copy.
    pub ledger: Mutex<Ledger>,
    /// The server's address while one is up.
    pub server: watch::Receiver<Option<SocketAddr>>,
    /// What to do.
    pub phase: watch::Receiver<Phase>,
    /// Nicks, by user index.
    pub nicks: Vec<String>,
    /// Ownership tokens, by user index.
    pub tokens: Vec<String>,
    /// The nick prefix (everything before the index).
    pub prefix: String,
    /// Per user, the last barrier round answered.
    pub done: Vec<AtomicU32>,
    /// The behaviour.
    pub behaviour: Behaviour,
    /// Connections opened (registrations tried).
    pub connects: AtomicU64,
    /// `NICK_IN_USE` at registration (the previous connection not yet gone); retried.
    pub nick_in_use: AtomicU64,
    /// A `TOKEN` line for a nick that was owned: the server forgot an owner ([OWN-4]).
    pub tokens_reissued: AtomicU64,
    /// `MSG` lines received in the verify phase (acknowledged, yet delivered again).
    pub after_ack: AtomicU64,
    /// Lines that broke the protocol (a reply that matches no request, ...).
    pub protocol_errors: AtomicU64,
    /// Error codes: closing ones (no request) and refusals of SEND.
    pub errors: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    fn index_of(&self, nick: &str) -> Option<u32> {
        nick.strip_prefix(&self.prefix)?.parse().ok()
    }

    fn count_error(&self, what: String) {
        if let Ok(mut m) = self.errors.lock() {
            *m.entry(what).or_insert(0) += 1;
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A reply the user waits for, in request order.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Register,
    Send(Key),
    Ping(u32),
    Quit,
}

/// How a session ended.
enum Ended {
    /// Went offline on purpose.
    Offline,
    /// The connection was lost (a kill) or refused.
    Lost,
    /// The nick was still held by the previous connection.
    NickInUse,
    /// The run is over.
    Stopped,
}

/// Runs user `me` until the phase is [`Phase::Stop`].
pub async fn run(me: u32, shared: Arc<Shared>, seed: u64) {
    let mut rng = Rng::new(seed ^ (u64::from(me) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut seq: u64 = 0;
    let mut phase_rx = shared.phase.clone();
    let mut server_rx = shared.server.clone();
    loop {
        if *phase_rx.borrow() == Phase::Stop {
            return;
        }
        let addr = *server_rx.borrow_and_update();
        let Some(addr) = addr else {
            let _ = tokio::time::timeout(Duration::from_millis(200), server_rx.changed()).await;
            continue;
        };
        let stream = match tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr))
            .await
        {
            Ok(Ok(s)) => s,
            _ => {
                // The server is down: wait for the next one (or retry shortly).
                let _ = tokio::time::timeout(Duration::from_millis(50), server_rx.changed()).await;
                continue;
            }
        };
        shared.connects.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let ended = session(me, &shared, stream, &mut rng, &mut seq, &mut phase_rx).await;
        match ended {
            Ended::Stopped => return,
            Ended::Lost => {}
            Ended::NickInUse => {
                shared.nick_in_use.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ended::Offline if *phase_rx.borrow() == Phase::Run => {
                let d = rng.around(shared.behaviour.offline);
                // Come back early if the phase changes (the drain wants everyone).
                let _ = tokio::time::timeout(d, phase_rx.changed()).await;
            }
            Ended::Offline => {}
        }
    }
}

async fn write(w: &mut OwnedWriteHalf, line: &str) -> bool {
    let mut b = Vec::with_capacity(line.len() + 2);
    b.extend_from_slice(line.as_bytes());
    b.extend_from_slice(b"\r\n");
    w.write_all(&b).await.is_ok()
}

/// Everything in flight is unconfirmed: the connection ended before its reply.
fn lose_pending(shared: &Shared, expect: &VecDeque<Expect>) {
    let mut l = shared.ledger();
    for e in expect {
        if let Expect::Send(key) = e {
            l.unconfirmed(*key);
        }
    }
}

async fn session(
    me: u32,
    shared: &Shared,
    stream: TcpStream,
    rng: &mut Rng,
    seq: &mut u64,
    phase_rx: &mut watch::Receiver<Phase>,
) -> Ended {
    let b = &shared.behaviour;
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    let nick = &shared.nicks[me as usize];
    let reg = format!(
        "REGISTER:{nick}:127.0.0.1:{}:{}",
        20000 + me,
        shared.tokens[me as usize]
    );
    let mut expect: VecDeque<Expect> = VecDeque::new();
    if !write(&mut w, &reg).await {
        return Ended::Lost;
    }
    expect.push_back(Expect::Register);
    let mut registered = false;
    let mut in_flight = 0usize;
    let mut pinged: Option<u32> = None;
    let mut quitting = false;
    let online_until = Instant::now() + rng.around(b.online);
    let gap = Duration::from_secs_f64(1.0 / b.rate.max(0.001));
    let mut next_send = Instant::now();
    let others = shared.nicks.len() as u64 - 1;
    loop {
        let phase = *phase_rx.borrow_and_update();
        let now = Instant::now();
        let mut wake: Option<Instant> = None;
        if registered && !quitting {
            match phase {
                Phase::Stop => {
                    if !write(&mut w, "QUIT").await {
                        return Ended::Stopped;
                    }
                    expect.push_back(Expect::Quit);
                    quitting = true;
                }
                Phase::Run if now >= online_until && in_flight == 0 => {
                    if rng.below(10) < 3 {
                        // Vanish without a word: the server sees the connection close.
                        return Ended::Offline;
                    }
                    if !write(&mut w, "QUIT").await {
                        lose_pending(shared, &expect);
                        return Ended::Lost;
                    }
                    expect.push_back(Expect::Quit);
                    quitting = true;
                }
                Phase::Run => {
                    if in_flight < b.window && now >= next_send && others > 0 {
                        let mut to = rng.below(others) as u32;
                        if to >= me {
                            to += 1;
                        }
                        *seq += 1;
                        let key = (me, *seq);
                        let text = ledger::text(me, to, *seq, b.text_len);
                        let line =
                            format!("SEND:{}:{}:{text}", shared.nicks[to as usize], text.len());
                        shared.ledger().sent(key, to);
                        expect.push_back(Expect::Send(key));
                        in_flight += 1;
                        next_send = next_send.max(now.checked_sub(gap).unwrap_or(now)) + gap;
                        if !write(&mut w, &line).await {
                            lose_pending(shared, &expect);
                            return Ended::Lost;
                        }
                        continue;
                    }
                    wake = Some(if in_flight < b.window {
                        next_send.min(online_until)
                    } else {
                        online_until
                    });
                }
                Phase::Drain(r) | Phase::Verify(r) => {
                    if in_flight == 0 && pinged != Some(r) {
                        pinged = Some(r);
                        if !write(&mut w, &format!("PING:b{r}")).await {
                            lose_pending(shared, &expect);
                            return Ended::Lost;
                        }
                        expect.push_back(Expect::Ping(r));
                    }
                }
            }
        }
        let sleep = async {
            match wake {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            line = lines.next_line() => {
                let line = match line {
                    Ok(Some(l)) => l,
                    _ => {
                        lose_pending(shared, &expect);
                        return if quitting && matches!(phase, Phase::Stop) {
                            Ended::Stopped
                        } else if quitting {
                            Ended::Offline
                        } else {
                            Ended::Lost
                        };
                    }
                };
                match on_line(me, shared, &line, &mut expect, &mut w, phase).await {
                    Step::Go => {}
                    Step::Registered => registered = true,
                    Step::Sent => in_flight = in_flight.saturating_sub(1),
                    Step::Bye => {
                        return if matches!(phase, Phase::Stop) {
                            Ended::Stopped
                        } else {
                            Ended::Offline
                        };
                    }
                    Step::NickInUse => return Ended::NickInUse,
                    Step::Broken => {
                        lose_pending(shared, &expect);
                        return Ended::Lost;
                    }
                }
            }
            () = sleep => {}
            r = phase_rx.changed() => {
                if r.is_err() {
                    return Ended::Stopped;
                }
            }
        }
    }
}

/// What a line did.
enum Step {
    Go,
    Registered,
    Sent,
    Bye,
    NickInUse,
    Broken,
}

/// Codes after which the server closes the connection (§6): they answer no request.
const CLOSING: &[&str] = &["SHUTDOWN", "FLOOD", "SLOW_READER", "TIMEOUT", "SERVER_FULL"];

async fn on_line(
    me: u32,
    shared: &Shared,
    line: &str,
    expect: &mut VecDeque<Expect>,
    w: &mut OwnedWriteHalf,
    phase: Phase,
) -> Step {
    let (verb, rest) = line.split_once(':').unwrap_or((line, ""));
    match verb {
        "MSG" => {
            // MSG:<id>:<from>:<time>:<len>:<text>
            let f: Vec<&str> = rest.splitn(5, ':').collect();
            let Some(id) = f.first().and_then(|i| i.parse::<u64>().ok()) else {
                shared.protocol_errors.fetch_add(1, Ordering::Relaxed);
                return Step::Go;
            };
            if f.len() < 5 {
                shared.protocol_errors.fetch_add(1, Ordering::Relaxed);
                return Step::Go;
            }
            let from = shared.index_of(f[1]);
            if matches!(phase, Phase::Verify(_)) {
                shared.after_ack.fetch_add(1, Ordering::Relaxed);
            }
            shared.ledger().received(me, id, from, f[4]);
            // Shown (recorded in the ledger), then acknowledged ([CLI-5]).
            if !write(w, &format!("ACK:{id}")).await {
                return Step::Broken;
            }
            Step::Go
        }
        "SENT" => {
            // SENT:<id>:LIVE|QUEUED
            let (id, how) = rest.split_once(':').unwrap_or((rest, ""));
            match (expect.pop_front(), id.parse::<u64>()) {
                (Some(Expect::Send(key)), Ok(id)) => {
                    shared.ledger().acked(key, id, how == "LIVE");
                    Step::Sent
                }
                _ => {
                    shared.protocol_errors.fetch_add(1, Ordering::Relaxed);
                    Step::Broken
                }
            }
        }
        "ERR" => {
            let code = rest.split(':').next().unwrap_or("");
            if CLOSING.contains(&code) {
                shared.count_error(format!("closing {code}"));
                return Step::Go;
            }
            match expect.pop_front() {
                Some(Expect::Register) if code == "NICK_IN_USE" => Step::NickInUse,
                Some(Expect::Send(key)) => {
                    shared.ledger().refused(key);
                    shared.count_error(format!("SEND refused {code}"));
                    Step::Sent
                }
                other => {
                    shared.count_error(format!("unexpected {code} for {other:?}"));
                    shared.protocol_errors.fetch_add(1, Ordering::Relaxed);
                    Step::Broken
                }
            }
        }
        "LIST" => match expect.pop_front() {
            Some(Expect::Register) => Step::Registered,
            _ => {
                shared.protocol_errors.fetch_add(1, Ordering::Relaxed);
                Step::Broken
            }
        },
        "TOKEN" => {
            // Every nick was owned at set-up: a new token means the owner was forgotten.
            shared.tokens_reissued.fetch_add(1, Ordering::Relaxed);
            Step::Go
        }
        "PING" => {
            if write(w, &format!("PONG:{rest}")).await {
                Step::Go
            } else {
                Step::Broken
            }
        }
        "PONG" => match expect.pop_front() {
            Some(Expect::Ping(r)) if rest == format!("b{r}") => {
                // A stale round does no harm: the loop pings again for the current one.
                shared.done[me as usize].fetch_max(r, Ordering::Relaxed);
                Step::Go
            }
            _ => {
                shared.protocol_errors.fetch_add(1, Ordering::Relaxed);
                Step::Broken
            }
        },
        "BYE" => match expect.pop_front() {
            Some(Expect::Quit) => Step::Bye,
            _ => {
                shared.protocol_errors.fetch_add(1, Ordering::Relaxed);
                Step::Broken
            }
        },
        // Events: JOIN/LEAVE, the parts of a LIST reply, broadcasts.
        _ => Step::Go,
    }
}
