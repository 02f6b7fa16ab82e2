//! Workload (a), fan-out: N clients in the broadcast set, a few of them sending
//! 80-byte messages with a steady window each; deliveries per second across all
//! clients, and delivery latency.

use super::{Group, Layout, Timing};
use crate::engine::{Engine, deal, run_tag};
use crate::result::RunResult;
use crate::target::{Target, TargetArgs};

/// Options of `fanout`.
#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    /// The server.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Clients in the broadcast set.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Senders (p2pchat, IRC: among the clients; RESP: extra publisher connections).
    #[arg(long, default_value_t = 4)]
    pub senders: usize,
    /// Messages outstanding per sender.
    #[arg(long, default_value_t = 16)]
    pub window: u64,
    /// Messages per second per sender at most (default: as fast as the window allows).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Timing.
    #[command(flatten)]
    pub timing: Timing,
}

/// Runs the fan-out workload against `t`.
pub fn run(t: &Target, a: &FanoutArgs) -> anyhow::Result<RunResult> {
    let mut layout = Layout::default();
    layout.add_group(
        t.proto,
        &run_tag(),
        Group {
            clients: a.clients,
            senders: a.senders,
            window: a.window,
            rate: a.rate,
            // A fixed load is steady: the senders take turns within each period.
            stagger: true,
        },
    )?;
    let engine = Engine::start(
        a.timing.engine_options(t),
        layout.slots,
        deal(layout.specs, t.threads),
    )?;
    let m = super::run(engine, t.pid, &a.timing, true)?;
    // Paced senders measure latency at a load chosen in advance, the same for every
    // server; unpaced ones measure how much a server takes. Their figures never mix.
    let workload = if a.rate.is_some() {
        "fanout-rate"
    } else {
        "fanout"
    };
    let mut r = m.result(workload, t, a.clients);
    r.senders = a.senders;
    r.window = a.window;
    r.rate = a.rate;
    Ok(r)
}

/// `p2pchat-bench fanout`.
pub fn main(a: &FanoutArgs) -> anyhow::Result<RunResult> {
    let t = Target::open(&a.target)?;
    run(&t, a)
}
