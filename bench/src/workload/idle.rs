//! Workload (c), connection scale: N idle clients set up (registered; IRC: joined to
//! `#bench`; RESP: subscribed), and the server's memory per connection from its VmRSS
//! before and after.

use std::time::Duration;

use super::{Group, Layout, Timing, secs};
use crate::engine::{Engine, deal, run_tag};
use crate::procfs;
use crate::proto::Setup;
use crate::result::RunResult;
use crate::target::{Target, TargetArgs};

/// Options of `idle`.
#[derive(Debug, Clone, clap::Args)]
pub struct IdleArgs {
    /// The server.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Idle clients.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Only connect: do not register (what a bare connection costs the server).
    #[arg(long)]
    pub connect_only: bool,
    /// Seconds to wait after the last set-up before reading the server's memory.
    #[arg(long, default_value_t = 1.0)]
    pub settle: f64,
    /// Timing (warm-up and duration: how long the idle clients are then held).
    #[command(flatten)]
    pub timing: Timing,
}

/// Runs the idle-connections workload against `t`.
pub fn run(t: &Target, a: &IdleArgs) -> anyhow::Result<RunResult> {
    let rss_before = t.pid.and_then(procfs::rss_kib);
    let mut layout = Layout::default();
    layout.add_group(
        t.proto,
        &run_tag(),
        Group {
            clients: a.clients,
            senders: 0,
            window: 1,
            rate: None,
        },
    )?;
    if a.connect_only {
        for s in &mut layout.specs {
            s.setup = Setup::Bare;
        }
    }
    let engine = Engine::start(
        a.timing.engine_options(t),
        layout.slots,
        deal(layout.specs, t.threads),
    )?;
    // Measure memory once everything is set up, before the (idle) hold.
    let t0 = std::time::Instant::now();
    let ready = engine.wait_ready(secs(a.timing.setup_timeout) + Duration::from_secs(1));
    let setup_s = t0.elapsed().as_secs_f64();
    std::thread::sleep(secs(a.settle));
    let rss_after = t.pid.and_then(procfs::rss_kib);
    let m = super::run(engine, t.pid, &a.timing, false)?;
    let mut r = m.result(
        if a.connect_only { "idle-bare" } else { "idle" },
        t,
        a.clients,
    );
    r.clients_ready = ready;
    r.setup_s = setup_s;
    r.rss_before_kib = rss_before;
    r.rss_after_kib = rss_after;
    if let (Some(b), Some(a)) = (rss_before, rss_after)
        && ready > 0
    {
        r.bytes_per_conn = Some((a as f64 - b as f64) * 1024.0 / ready as f64);
    }
    Ok(r)
}

/// `p2pchat-bench idle`.
pub fn main(a: &IdleArgs) -> anyhow::Result<RunResult> {
    let t = Target::open(&a.target)?;
    run(&t, a)
}
