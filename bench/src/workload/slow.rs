//! Workload (d), slow reader: a fan-out with one more client that sets up and then never
//! reads. The server's memory is sampled over time; afterwards the slow client reads
//! what is left to see whether it was cut off (`ERR:SLOW_READER`, or a close), and the
//! others report when they saw it leave (p2pchat `UPDATE:LEAVE`, IRC `QUIT`).

use super::{Group, Layout, Timing};
use crate::engine::{Engine, Role, Spec, deal, nick, run_tag};
use crate::proto::Setup;
use crate::result::{RunResult, SlowResult};
use crate::target::{Target, TargetArgs};

/// Options of `slow`.
#[derive(Debug, Clone, clap::Args)]
pub struct SlowArgs {
    /// The server.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Clients that keep reading.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Senders among them.
    #[arg(long, default_value_t = 4)]
    pub senders: usize,
    /// Messages outstanding per sender.
    #[arg(long, default_value_t = 16)]
    pub window: u64,
    /// Messages per second per sender at most.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Timing.
    #[command(flatten)]
    pub timing: Timing,
}

/// Runs the slow-reader workload against `t`.
pub fn run(t: &Target, a: &SlowArgs) -> anyhow::Result<RunResult> {
    let tag = run_tag();
    let mut layout = Layout::default();
    layout.add_group(
        t.proto,
        &tag,
        Group {
            clients: a.clients,
            senders: a.senders,
            window: a.window,
            rate: a.rate,
        },
    )?;
    let idx = layout.specs.len();
    let slow_nick = nick(&tag, idx);
    layout.specs.push(Spec {
        idx,
        nick: slow_nick.clone(),
        setup: Setup::Member,
        role: Role::Slow,
    });
    let mut opts = a.timing.engine_options(t);
    opts.watch_leave = Some(slow_nick);
    let engine = Engine::start(opts, layout.slots, deal(layout.specs, t.threads))?;
    let m = super::run(engine, t.pid, &a.timing, true)?;
    let mut r = m.result("slow", t, a.clients + 1);
    r.senders = a.senders;
    r.window = a.window;
    let outcome = m.stats.slow.clone().unwrap_or_default();
    r.slow = Some(SlowResult {
        cut_off: outcome.closed,
        err_slow_reader: outcome.err_slow_reader,
        cut_after_s: (m.leave_seen_ns > 0)
            .then(|| m.leave_seen_ns.saturating_sub(m.schedule.go_ns) as f64 / 1e9),
        drained_bytes: outcome.drained,
        rss_max_kib: m.timeline.iter().filter_map(|s| s.rss_kib).max(),
    });
    r.timeline = m.timeline;
    Ok(r)
}

/// `p2pchat-bench slow`.
pub fn main(a: &SlowArgs) -> anyhow::Result<RunResult> {
    let t = Target::open(&a.target)?;
    run(&t, a)
}
