//! `smoke`: a tiny run of the fan-out, round-trip and idle workloads, for CI, so that the
//! generator cannot rot. It asserts no timing, only that deliveries were measured.
//! Its senders stay under the reference server's default flood limit (100 lines/s).

use super::Timing;
use super::fanout::{self, FanoutArgs};
use super::idle::{self, IdleArgs};
use super::rtt::{self, RttArgs};
use crate::target::{Target, TargetArgs};

/// Options of `smoke`.
#[derive(Debug, Clone, clap::Args)]
pub struct SmokeArgs {
    /// The server (default: start `p2pchat-server` beside this program).
    #[command(flatten)]
    pub target: TargetArgs,
    /// Clients of the fan-out.
    #[arg(long, default_value_t = 20)]
    pub clients: usize,
    /// Seconds measured per workload.
    #[arg(long, default_value_t = 2.0)]
    pub duration: f64,
}

/// Runs the three workloads; fails if the first two measured no delivery or the idle
/// clients were not all set up.
pub fn main(a: &SmokeArgs) -> anyhow::Result<()> {
    let t = Target::open(&a.target)?;
    let timing = Timing {
        warmup: 0.25,
        duration: a.duration,
        setup_timeout: 30.0,
        concurrency: 16,
        connect_concurrency: 8,
        sample_ms: 250,
    };
    let f = fanout::run(
        &t,
        &FanoutArgs {
            target: a.target.clone(),
            clients: a.clients,
            senders: 2,
            window: 4,
            rate: Some(20.0),
            timing: timing.clone(),
        },
    )?;
    super::emit(&f)?;
    let r = rtt::run(
        &t,
        &RttArgs {
            target: a.target.clone(),
            bg_clients: 5,
            bg_senders: 1,
            bg_window: 2,
            bg_rate: 10.0,
            pair: super::rtt::Pair::Members,
            rate: Some(20.0),
            receipt: false,
            pair_threads: 1,
            timing: timing.clone(),
        },
    )?;
    super::emit(&r)?;
    let idle_clients = a.clients;
    let i = idle::run(
        &t,
        &IdleArgs {
            target: a.target.clone(),
            clients: idle_clients,
            connect_only: false,
            settle: 0.0,
            warm_clients: 4,
            timing: Timing {
                warmup: 0.0,
                duration: 0.25,
                ..timing
            },
        },
    )?;
    super::emit(&i)?;
    if i.clients_ready != idle_clients {
        anyhow::bail!(
            "smoke: {} of {idle_clients} idle clients set up; errors: {:?}",
            i.clients_ready,
            i.errors
        );
    }
    let private = r.rtt_us.map_or(0, |l| l.count);
    if f.deliveries == 0 || private == 0 {
        anyhow::bail!(
            "smoke: no deliveries measured (fan-out {}, private {private}); errors: {:?} {:?}",
            f.deliveries,
            f.errors,
            r.errors
        );
    }
    // Every p2pchat `SEND` gets a `SENT` ([RLY-1]): the receipts must be counted.
    if t.proto == crate::proto::Proto::P2pchat && r.receipts_per_msg.is_none_or(|x| x < 0.5) {
        anyhow::bail!(
            "smoke: {:?} receipts per private message, expected a SENT for each",
            r.receipts_per_msg
        );
    }
    Ok(())
}
