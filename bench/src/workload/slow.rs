//! Workload (d), slow reader: a fan-out with one more client that sets up and then never
//! reads. The server's memory is sampled over time; afterwards the slow client reads
//! what is left to see whether it was cut off (`ERR:SLOW_READER`, or a close), and the
//! others report when they saw it leave (p2pchat `UPDATE:LEAVE`, IRC `QUIT`).

use super::{Group, Layout, Timing};
use crate::engine::{Engine, Role, Spec, deal, nick, run_tag};
use crate::proto::Setup;
use crate::result::{RunResult, Sample, SlowResult};
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
            stagger: false,
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
    let cut_after_s = (m.leave_seen_ns > 0)
        .then(|| m.leave_seen_ns.saturating_sub(m.schedule.go_ns) as f64 / 1e9);
    let (before, after) = cut_rates(&m.timeline, cut_after_s);
    r.slow = Some(SlowResult {
        cut_off: outcome.closed,
        err_slow_reader: outcome.err_slow_reader,
        cut_after_s,
        drained_bytes: outcome.drained,
        rss_max_kib: m.timeline.iter().filter_map(|s| s.rss_kib).max(),
        others_per_s_before_cut: before,
        others_per_s_after_cut: after,
    });
    r.timeline = m.timeline;
    Ok(r)
}

/// Delivery rates from the timeline before and after the cut: (first sample after the
/// start .. last sample before the cut) and (first sample after the cut .. last sample).
fn cut_rates(timeline: &[Sample], cut_s: Option<f64>) -> (Option<f64>, Option<f64>) {
    let rate = |a: &Sample, b: &Sample| {
        (b.t_s > a.t_s).then(|| b.deliveries.saturating_sub(a.deliveries) as f64 / (b.t_s - a.t_s))
    };
    let Some(cut) = cut_s else {
        let all = match (timeline.get(1), timeline.last()) {
            (Some(a), Some(b)) => rate(a, b),
            _ => None,
        };
        return (all, None);
    };
    let before: Vec<&Sample> = timeline.iter().filter(|s| s.t_s < cut).collect();
    let after: Vec<&Sample> = timeline.iter().filter(|s| s.t_s > cut).collect();
    let pick = |v: &[&Sample]| match (v.first(), v.last()) {
        (Some(a), Some(b)) => rate(a, b),
        _ => None,
    };
    (pick(&before), pick(&after))
}

/// `p2pchat-bench slow`.
pub fn main(a: &SlowArgs) -> anyhow::Result<RunResult> {
    let t = Target::open(&a.target)?;
    run(&t, a)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn s(t_s: f64, deliveries: u64) -> Sample {
        Sample {
            t_s,
            rss_kib: None,
            deliveries,
        }
    }

    #[test]
    fn rates_around_the_cut() {
        let tl = [
            s(0.0, 0),
            s(1.0, 100),
            s(2.0, 200),
            s(3.0, 1200),
            s(4.0, 2200),
        ];
        assert_eq!(cut_rates(&tl, Some(2.5)), (Some(100.0), Some(1000.0)));
        assert_eq!(cut_rates(&tl, None), (Some(700.0), None));
    }
}
