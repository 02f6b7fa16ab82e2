//! `soak`: crash safety under load. Many users send private messages to each other
//! (online and offline recipients) while the server is killed with SIGKILL at random
//! moments and started again on the same database; at the end every message whose
//! sender was told `SENT` ("delivered" or "queued") must have reached its recipient
//! exactly once, in the order its sender sent it ([RLY-3], [RLY-5], [CLI-5]).
//!
//! Phases:
//!
//! 1. set-up: the server starts on a fresh database; each user registers once and keeps
//!    its token (no kill can land here, so no token is ever lost in flight);
//! 2. kills: users run ([`user`]); the driver sends SIGKILL after a random delay, starts
//!    the server again on the same file, and repeats until `--kills` or `--duration`;
//! 3. drain: no more kills and no new messages; every user comes online and answers
//!    two rounds of `PING` barriers (the first once nothing of its own is in flight,
//!    the second after everyone's first: by then every queued or live message has
//!    arrived and every `ACK` has been processed);
//! 4. verify: SIGTERM (a graceful stop), start again, every user registers: a `MSG`
//!    now is an acknowledged message that came back (`left_after_ack`, must be 0);
//!    a `TOKEN` at any time means an owner was forgotten (`tokens_reissued`, must be 0).
//!
//! Bounded: `--kills` and `--duration` bound the kill phase, `--time-limit` the whole
//! run; loopback only (the server is started on 127.0.0.1 port 0).

mod ledger;
mod rng;
mod server;
mod user;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

pub use ledger::{Counts, Ledger};
use rng::Rng;
use server::ServerSpec;
use user::{Behaviour, Phase, Shared};

/// Options of `soak`.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// SIGKILLs to deliver (the kill phase ends after the last one).
    #[arg(long, default_value_t = 50)]
    pub kills: u32,
    /// Seconds the kill phase may last at most; the kills are spread over it.
    #[arg(long, default_value_t = 120.0)]
    pub duration: f64,
    /// Users, each owning its nick, one connection at a time.
    #[arg(long, default_value_t = 24)]
    pub clients: usize,
    /// Private messages per second per user, at most.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// SENDs in flight per user.
    #[arg(long, default_value_t = 4)]
    pub window: usize,
    /// Mean milliseconds a user stays online before going offline.
    #[arg(long, default_value_t = 2000)]
    pub online_ms: u64,
    /// Mean milliseconds a user stays offline.
    #[arg(long, default_value_t = 700)]
    pub offline_ms: u64,
    /// Random seed (default: from the clock); printed, so that a run can be repeated.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seconds the whole run (set-up, kills, drain, verify) may take before it fails.
    #[arg(long, default_value_t = 600.0)]
    pub time_limit: f64,
    /// The p2pchat-server binary (default: `p2pchat-server` beside this program).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// An extra argument for the server (repeat for several).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// Let the server's stderr (its logs) through.
    #[arg(long)]
    pub server_stderr: bool,
    /// Directory for the database (default: a new temporary directory, removed after a
    /// successful run).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// What a soak run prints (one JSON line on stdout).
#[derive(Debug, Clone, Serialize)]
pub struct SoakResult {
    /// Always `"soak"`.
    pub workload: &'static str,
    /// SIGKILLs delivered.
    pub kills: u32,
    /// Of which the process was seen to die of signal 9.
    pub killed_by_sigkill: u32,
    /// Starts of the server on the database (the first included).
    pub starts: u32,
    /// Graceful stops (SIGTERM) that exited 0 in time, of `graceful_stops_tried`.
    pub graceful_stops_ok: u32,
    /// Graceful stops tried.
    pub graceful_stops_tried: u32,
    /// Users.
    pub clients: usize,
    /// The seed of the random choices.
    pub seed: u64,
    /// Seconds of the kill phase.
    pub kill_phase_s: f64,
    /// Seconds of the whole run.
    pub total_s: f64,
    /// Longest time from starting the server to its readiness line, ms.
    pub start_ms_max: f64,
    /// Connections opened by the users.
    pub connects: u64,
    /// Registrations retried because the previous connection still held the nick.
    pub nick_in_use_retries: u64,
    /// Owners forgotten (a `TOKEN` for a nick owned since the set-up). Must be 0.
    pub tokens_reissued: u64,
    /// Messages delivered again after the drain had acknowledged everything. Must be 0.
    pub left_after_ack: u64,
    /// Lines that broke the protocol. Must be 0.
    pub protocol_errors: u64,
    /// Error codes seen: closing ones, SEND refusals.
    pub errors: BTreeMap<String, u64>,
    /// The message counts.
    #[serde(flatten)]
    pub counts: Counts,
    /// Every check passed.
    pub ok: bool,
}

impl SoakResult {
    fn check(&mut self, wanted_kills: u32) {
        self.ok = self.counts.ok()
            && self.tokens_reissued == 0
            && self.left_after_ack == 0
            && self.protocol_errors == 0
            && self.kills >= wanted_kills
            && self.killed_by_sigkill == self.kills
            && self.graceful_stops_ok == self.graceful_stops_tried
            && self.counts.acknowledged > 0;
    }
}

/// Runs the soak; prints the result; fails if any check failed.
pub fn main(a: &SoakArgs) -> anyhow::Result<()> {
    if a.clients < 2 {
        bail!("--clients must be at least 2");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let limit = Duration::from_secs_f64(a.time_limit.max(1.0));
    let r = rt.block_on(async {
        match tokio::time::timeout(limit, run(a)).await {
            Ok(r) => r,
            Err(_) => bail!("soak: the time limit of {:.0} s passed", a.time_limit),
        }
    })?;
    println!("{}", serde_json::to_string(&r)?);
    let c = &r.counts;
    eprintln!(
        "soak: {} kills (SIGKILL), {} starts, {} users, {:.0} s; messages sent {}, acknowledged {} \
         ({} delivered live, {} queued), delivered {}, lost {}, duplicated {}, out of order {}; \
         unconfirmed {} ({} of them delivered), redelivered by id {}, left after ack {}: {}",
        r.kills,
        r.starts,
        r.clients,
        r.total_s,
        c.sent,
        c.acknowledged,
        c.acknowledged_live,
        c.acknowledged_queued,
        c.delivered,
        c.lost,
        c.duplicated,
        c.out_of_order,
        c.unconfirmed,
        c.delivered_unconfirmed,
        c.redelivered_same_id,
        r.left_after_ack,
        if r.ok { "OK" } else { "FAILED" }
    );
    if !r.ok {
        bail!("soak: a check failed (see the counts above)");
    }
    Ok(())
}

/// Registers every nick once, on the fresh database, and returns their tokens.
async fn set_up(addr: std::net::SocketAddr, nicks: &[String]) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::with_capacity(nicks.len());
    for (i, nick) in nicks.iter().enumerate() {
        let s = TcpStream::connect(addr)
            .await
            .context("set-up connection")?;
        let (r, mut w) = s.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(format!("REGISTER:{nick}:127.0.0.1:{}\r\n", 20000 + i).as_bytes())
            .await?;
        let mut token = None;
        loop {
            let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
                .await
                .context("set-up: no reply")??
                .context("set-up: connection closed")?;
            if let Some(t) = line.strip_prefix(&format!("TOKEN:{nick}:")) {
                token = Some(t.to_owned());
            } else if line.starts_with("LIST:") {
                break;
            } else if line.starts_with("ERR:") {
                bail!("set-up: REGISTER {nick}: {line}");
            }
        }
        w.write_all(b"QUIT\r\n").await?;
        tokens.push(token.with_context(|| format!("set-up: no TOKEN for {nick}"))?);
    }
    Ok(tokens)
}

async fn run(a: &SoakArgs) -> anyhow::Result<SoakResult> {
    let t0 = Instant::now();
    let seed = a.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let mut rng = Rng::new(seed);
    let (dir, own_dir) = match &a.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            (d.clone(), false)
        }
        None => (server::temp_dir()?, true),
    };
    let db = dir.join("soak.db");
    let bin = match &a.server_bin {
        Some(b) => b.clone(),
        None => server::default_bin()?,
    };
    let mut extra = vec![
        // Users pipeline messages; the mailbox holds what piles up while they are away.
        "--rate-burst=0".to_owned(),
        "--mailbox-quota=1000000".to_owned(),
        "--linger=0.5".to_owned(),
    ];
    extra.extend(a.server_args.iter().cloned());
    let spec = ServerSpec {
        bin,
        db: db.clone(),
        extra,
        show_stderr: a.server_stderr,
    };
    tracing::info!(seed, db = %db.display(), "soak: starting");

    let mut starts = 0u32;
    let mut start_max = Duration::ZERO;
    let mut running = spec.start().await?;
    starts += 1;
    start_max = start_max.max(running.start_time);

    // Nicks: a tag unique to the run, so that a reused --dir never clashes.
    let tag: String = (0..4)
        .map(|_| char::from(b'a' + rng.below(26) as u8))
        .collect();
    let prefix = format!("soak{tag}u");
    let nicks: Vec<String> = (0..a.clients).map(|i| format!("{prefix}{i}")).collect();
    let tokens = set_up(running.addr, &nicks).await?;

    let (server_tx, server_rx) = watch::channel(Some(running.addr));
    let (phase_tx, phase_rx) = watch::channel(Phase::Run);
    let shared = Arc::new(Shared {
        ledger: Mutex::new(Ledger::default()),
        server: server_rx,
        phase: phase_rx,
        nicks,
        tokens,
        prefix,
        done: (0..a.clients).map(|_| AtomicU32::new(0)).collect(),
        behaviour: Behaviour {
            rate: a.rate,
            window: a.window.max(1),
            online: Duration::from_millis(a.online_ms),
            offline: Duration::from_millis(a.offline_ms),
            text_len: 64,
        },
        connects: AtomicU64::new(0),
        nick_in_use: AtomicU64::new(0),
        tokens_reissued: AtomicU64::new(0),
        after_ack: AtomicU64::new(0),
        protocol_errors: AtomicU64::new(0),
        errors: Mutex::new(BTreeMap::new()),
    });
    let users: Vec<_> = (0..a.clients as u32)
        .map(|i| tokio::spawn(user::run(i, Arc::clone(&shared), seed)))
        .collect();

    // The kill phase.
    let kill_start = Instant::now();
    let budget = Duration::from_secs_f64(a.duration.max(0.0));
    let mut kills = 0u32;
    let mut by_sigkill = 0u32;
    while kills < a.kills {
        let elapsed = kill_start.elapsed();
        if elapsed >= budget {
            break;
        }
        let remaining = budget - elapsed;
        // Spread what is left evenly on average; each delay is random around that.
        let mean = remaining.div_f64(f64::from(a.kills - kills) + 0.5);
        let delay = rng.around(mean).min(remaining);
        tokio::time::sleep(delay).await;
        if running.kill9().await? {
            by_sigkill += 1;
        }
        kills += 1;
        let _ = server_tx.send(None);
        running = spec.start().await?;
        starts += 1;
        start_max = start_max.max(running.start_time);
        let _ = server_tx.send(Some(running.addr));
        if kills.is_multiple_of(10) || kills == a.kills {
            let c = shared.ledger.lock().map(|l| l.counts()).unwrap_or_default();
            tracing::info!(
                kills,
                sent = c.sent,
                acknowledged = c.acknowledged,
                delivered = c.delivered,
                "soak: progress"
            );
        }
    }
    let kill_phase = kill_start.elapsed();

    // Drain: two barrier rounds.
    for round in 1..=2 {
        let _ = phase_tx.send(Phase::Drain(round));
        wait_round(&shared, round, Duration::from_secs(120)).await?;
    }
    let counts = shared.ledger.lock().map(|l| l.counts()).unwrap_or_default();

    // Verify: a graceful stop and a start; nothing may come back.
    let mut graceful_tried = 1;
    let mut graceful_ok = 0;
    let _ = server_tx.send(None);
    if running.stop_gracefully().await? {
        graceful_ok += 1;
    }
    running = spec.start().await?;
    starts += 1;
    start_max = start_max.max(running.start_time);
    // The phase first: every MSG on the new server counts.
    let _ = phase_tx.send(Phase::Verify(3));
    let _ = server_tx.send(Some(running.addr));
    wait_round(&shared, 3, Duration::from_secs(120)).await?;
    let _ = phase_tx.send(Phase::Stop);
    for u in users {
        let _ = tokio::time::timeout(Duration::from_secs(10), u).await;
    }
    graceful_tried += 1;
    if running.stop_gracefully().await? {
        graceful_ok += 1;
    }

    let errors = shared.errors.lock().map(|m| m.clone()).unwrap_or_default();
    let mut r = SoakResult {
        workload: "soak",
        kills,
        killed_by_sigkill: by_sigkill,
        starts,
        graceful_stops_ok: graceful_ok,
        graceful_stops_tried: graceful_tried,
        clients: a.clients,
        seed,
        kill_phase_s: kill_phase.as_secs_f64(),
        total_s: t0.elapsed().as_secs_f64(),
        start_ms_max: start_max.as_secs_f64() * 1e3,
        connects: shared.connects.load(Ordering::Relaxed),
        nick_in_use_retries: shared.nick_in_use.load(Ordering::Relaxed),
        tokens_reissued: shared.tokens_reissued.load(Ordering::Relaxed),
        left_after_ack: shared.after_ack.load(Ordering::Relaxed),
        protocol_errors: shared.protocol_errors.load(Ordering::Relaxed),
        errors,
        counts,
        ok: false,
    };
    r.check(a.kills);
    if r.ok && own_dir {
        server::remove_db(&dir, &db);
    } else if !r.ok {
        eprintln!("soak: the database is kept in {}", dir.display());
    }
    Ok(r)
}

/// Waits until every user has answered barrier `round`.
async fn wait_round(shared: &Shared, round: u32, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let behind = shared
            .done
            .iter()
            .filter(|d| d.load(Ordering::Relaxed) < round)
            .count();
        if behind == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("soak: {behind} users did not answer barrier round {round} in time");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
