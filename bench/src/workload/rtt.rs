//! Workload (b), private relay round trip under background load: client A sends
//! private messages to client B one at a time (a window of one: the next leaves when
//! B has received the last); the latency is send → receipt at B. p2pchat: `SEND` →
//! `MSG` (B answers `ACK`); IRC: `PRIVMSG B`; RESP: `PUBLISH p.B` to B's own channel.
//! A background fan-out group runs meanwhile on the other generator threads.
//!
//! Every registered p2pchat client receives every broadcast, so a p2pchat pair always
//! gets the background's lines as well. By default (`--pair members`) the pair is put
//! in the broadcast set on the other protocols too (IRC: both join `#bench`; RESP: B
//! subscribes to `bench` besides `p.B`; A, a RESP publisher, cannot subscribe), so
//! that every server delivers the same lines. `--pair outside` keeps the pair out of
//! it where the protocol allows, the workload of sessions 1–8.
//!
//! A p2pchat sender gets a receipt of each message (`SENT`), and so does a RESP one
//! (the reply to `PUBLISH`); an IRC sender gets none unless it asks for IRCv3
//! `echo-message`. `--receipt` asks for it, so that every server writes the same
//! lines per message: one to B and one back to A. Such runs are the workload
//! `rtt-receipt`, reported apart from `rtt`; every run reports the receipts its
//! sender got per message.

use super::{Group, Layout, Timing};
use crate::engine::{Engine, Role, SenderSpec, Slot, Spec, deal, nick, run_tag};
use crate::proto::{Proto, Setup, Target as To};
use crate::result::{Latency, RunResult};
use crate::target::{Target, TargetArgs};

/// Options of `rtt`.
#[derive(Debug, Clone, clap::Args)]
pub struct RttArgs {
    /// The server.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Clients of the background fan-out (0: none).
    #[arg(long, default_value_t = 100)]
    pub bg_clients: usize,
    /// Senders of the background fan-out.
    #[arg(long, default_value_t = 2)]
    pub bg_senders: usize,
    /// Window of each background sender.
    #[arg(long, default_value_t = 8)]
    pub bg_window: u64,
    /// Messages per second per background sender.
    #[arg(long, default_value_t = 500.0)]
    pub bg_rate: f64,
    /// Whether the pair is in the background's broadcast set (see the module docs).
    #[arg(long, value_enum, default_value_t = Pair::Members)]
    pub pair: Pair,
    /// Private messages per second at most (default: one as soon as the last arrived).
    #[arg(long)]
    pub rate: Option<f64>,
    /// The sender asks for a receipt of each message where the protocol makes it
    /// optional (IRC: `echo-message`; a server without it refuses the run); the run is
    /// the workload `rtt-receipt`.
    #[arg(long)]
    pub receipt: bool,
    /// Generator threads the pair runs on: 1 (A and B share one, the workload of
    /// sessions 1–11) or 2 (each its own, as two separate clients would be).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub pair_threads: u8,
    /// Timing.
    #[command(flatten)]
    pub timing: Timing,
}

/// Where the round-trip pair stands toward the background's broadcasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Pair {
    /// In the broadcast set, as p2pchat's clients always are.
    Members,
    /// Outside it where the protocol allows (IRC, RESP); p2pchat's pair still receives
    /// every broadcast.
    Outside,
}

impl Pair {
    /// Its name in results (as on the command line).
    pub fn name(self) -> &'static str {
        match self {
            Pair::Members => "members",
            Pair::Outside => "outside",
        }
    }

    /// The set-up of the pair's receiver, and of its sender unless it is a RESP
    /// publisher.
    fn setup(self) -> Setup {
        match self {
            Pair::Members => Setup::Both,
            Pair::Outside => Setup::Solo,
        }
    }
}

/// Runs the round-trip workload against `t`.
pub fn run(t: &Target, a: &RttArgs) -> anyhow::Result<RunResult> {
    let tag = run_tag();
    let (nick_a, nick_b) = (nick(&tag, 0), nick(&tag, 1));
    let mut layout = Layout {
        specs: vec![
            Spec {
                idx: 0,
                nick: nick_a,
                setup: if t.proto == Proto::Resp {
                    Setup::Publisher
                } else {
                    a.pair.setup()
                },
                role: Role::Sender(SenderSpec {
                    slot: 0,
                    target: To::Private(nick_b.clone()),
                    window: 1,
                    rate: a.rate,
                    phase: 0.0,
                    receipt: a.receipt,
                }),
            },
            Spec {
                idx: 1,
                nick: nick_b,
                setup: a.pair.setup(),
                role: Role::Receiver,
            },
        ],
        slots: vec![Slot::new(0, 1)],
    };
    if a.bg_clients > 0 {
        layout.add_group(
            t.proto,
            &tag,
            Group {
                clients: a.bg_clients,
                senders: a.bg_senders,
                window: a.bg_window,
                rate: Some(a.bg_rate),
                // As every round trip measured so far: the background's senders in step.
                stagger: false,
            },
        )?;
    }
    // The pair gets a thread of its own (or one each); the background shares the
    // others.
    let mut specs = layout.specs;
    let bg = specs.split_off(2);
    let mut threads = if a.pair_threads == 2 {
        specs.into_iter().map(|s| vec![s]).collect()
    } else {
        vec![specs]
    };
    if !bg.is_empty() {
        threads.extend(deal(bg, t.threads));
    }
    let engine = Engine::start(a.timing.engine_options(t), layout.slots, threads)?;
    let m = super::run(engine, t.pid, &a.timing, true)?;
    let workload = if a.receipt { "rtt-receipt" } else { "rtt" };
    let mut r = m.result(workload, t, a.bg_clients + 2);
    r.senders = a.bg_senders;
    r.window = a.bg_window;
    r.threads = t.threads + usize::from(a.pair_threads);
    r.rtt_us = Latency::of(&m.stats.lat_private);
    r.pair = Some(a.pair.name().to_owned());
    r.pair_threads = Some(a.pair_threads);
    // Report the background's deliveries only.
    let private = m.stats.lat_private.count();
    r.receipts_per_msg = (private > 0).then(|| m.stats.receipts as f64 / private as f64);
    r.deliveries = m.stats.deliveries.saturating_sub(private);
    r.deliveries_per_s = r.deliveries as f64 / r.duration_s.max(1e-9);
    Ok(r)
}

/// `p2pchat-bench rtt`.
pub fn main(a: &RttArgs) -> anyhow::Result<RunResult> {
    let t = Target::open(&a.target)?;
    run(&t, a)
}
