//! The workloads, and what they share: laying out connections, timing a run, sampling
//! the server, and turning measurements into a [`RunResult`].

pub mod fanout;
pub mod idle;
pub mod rtt;
pub mod slow;
pub mod smoke;

use std::time::{Duration, Instant};

use crate::clock;
use crate::engine::{Engine, Role, Schedule, SenderSpec, Slot, Spec, Stats, nick};
use crate::procfs;
use crate::proto::{Proto, Setup, Target};
use crate::result::{Latency, RunResult, Sample};
use crate::target;

/// Timing options shared by the workloads.
#[derive(Debug, Clone, clap::Args)]
pub struct Timing {
    /// Seconds of sending before measuring.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Seconds allowed for connecting and setting up every connection.
    #[arg(long, default_value_t = 120.0)]
    pub setup_timeout: f64,
    /// Connection set-ups (connect and register) in flight at most.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// TCP connects in flight at most (within the set-ups).
    #[arg(long, default_value_t = 8)]
    pub connect_concurrency: usize,
    /// Milliseconds between samples of the server's memory and the deliveries.
    #[arg(long, default_value_t = 250)]
    pub sample_ms: u64,
}

impl Timing {
    fn engine_options(&self, t: &target::Target) -> crate::engine::Options {
        crate::engine::Options {
            addr: t.addr,
            proto: t.proto,
            concurrency: self.concurrency,
            connect_concurrency: self.connect_concurrency,
            setup_timeout: secs(self.setup_timeout),
            watch_leave: None,
        }
    }
}

/// Converts seconds given on the command line, clamping nonsense to zero.
pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(if s.is_finite() && s > 0.0 { s } else { 0.0 })
}

/// Connections and sender slots of a fan-out group.
#[derive(Debug, Default)]
pub struct Layout {
    /// Connections.
    pub specs: Vec<Spec>,
    /// Sender slots.
    pub slots: Vec<Slot>,
}

/// Fan-out parameters.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    /// Connections in the broadcast set.
    pub clients: usize,
    /// Of which (p2pchat, IRC) or besides which (RESP publishers) this many send.
    pub senders: usize,
    /// Messages outstanding per sender.
    pub window: u64,
    /// Messages per second per sender, if limited.
    pub rate: Option<f64>,
    /// Spread rate-limited senders evenly over their period (sender k of n at phase
    /// k/n), so that the load is steady rather than n messages at the same instants.
    pub stagger: bool,
}

impl Layout {
    /// Adds a fan-out group. The completion signal of a sender's window is one
    /// designated receiver seeing the message: p2pchat — the sender's own echo; IRC
    /// (no echo) — the first client that does not send; RESP — the first subscriber
    /// (publishers are separate connections: a subscribed RESP connection cannot
    /// publish).
    pub fn add_group(&mut self, proto: Proto, tag: &str, g: Group) -> anyhow::Result<()> {
        let base = self.specs.len();
        if proto == Proto::Irc && g.senders >= g.clients {
            anyhow::bail!("IRC needs at least one client that does not send (senders < clients)");
        }
        if g.clients == 0 {
            anyhow::bail!("a fan-out needs at least one client");
        }
        let in_set_senders = if proto == Proto::Resp { 0 } else { g.senders };
        let phase = |k: usize| {
            if g.stagger {
                k as f64 / g.senders.max(1) as f64
            } else {
                0.0
            }
        };
        for i in 0..g.clients {
            let idx = base + i;
            let role = if i < in_set_senders {
                Role::Sender(self.sender(
                    idx,
                    g,
                    match proto {
                        Proto::P2pchat => idx,
                        _ => base + g.senders,
                    },
                    phase(i),
                ))
            } else {
                Role::Receiver
            };
            self.specs.push(Spec {
                idx,
                nick: nick(tag, idx),
                setup: Setup::Member,
                role,
            });
        }
        if proto == Proto::Resp {
            for k in 0..g.senders {
                let idx = self.specs.len();
                let role = Role::Sender(self.sender(idx, g, base, phase(k)));
                self.specs.push(Spec {
                    idx,
                    nick: nick(tag, idx),
                    setup: Setup::Publisher,
                    role,
                });
            }
        }
        Ok(())
    }

    fn sender(&mut self, idx: usize, g: Group, receiver: usize, phase: f64) -> SenderSpec {
        let slot = self.slots.len();
        self.slots.push(Slot::new(idx, receiver));
        SenderSpec {
            slot,
            target: Target::Broadcast,
            window: g.window.max(1),
            rate: g.rate,
            phase,
            receipt: false,
        }
    }
}

/// What [`run`] measured.
#[derive(Debug)]
pub struct Measured {
    /// Merged per-thread counts.
    pub stats: Stats,
    /// The schedule that ran.
    pub schedule: Schedule,
    /// Connections set up.
    pub ready: usize,
    /// Connections in the run.
    pub total: usize,
    /// Seconds to set everything up.
    pub setup_s: f64,
    /// Generator CPU in the window, cores.
    pub gen_cpu: Option<f64>,
    /// Server CPU in the window, cores.
    pub server_cpu: Option<f64>,
    /// Machine CPU in the window, cores.
    pub machine_cpu: Option<f64>,
    /// Time the generator's threads waited for a CPU, per second of the window.
    pub gen_wait: Option<f64>,
    /// Time the server's threads waited for a CPU, per second of the window.
    pub server_wait: Option<f64>,
    /// Load average at the start.
    pub loadavg: Option<f64>,
    /// Server memory and deliveries over time.
    pub timeline: Vec<Sample>,
    /// `leave_seen_ns` of the run.
    pub leave_seen_ns: u64,
}

/// Sets up every connection, runs the schedule while sampling, and stops.
pub fn run(
    engine: Engine,
    pid: Option<u32>,
    timing: &Timing,
    require_all: bool,
) -> anyhow::Result<Measured> {
    let loadavg = procfs::loadavg();
    let t0 = Instant::now();
    let ready = engine.wait_ready(secs(timing.setup_timeout) + Duration::from_secs(1));
    let setup_s = t0.elapsed().as_secs_f64();
    let total = engine.total();
    tracing::info!(ready, total, setup_s, "connections set up");
    if require_all && ready < total {
        let stats = engine.stop()?;
        anyhow::bail!(
            "only {ready} of {total} connections were set up in {setup_s:.1} s; failures: {:?}",
            stats.errors
        );
    }
    let schedule = engine.go(secs(timing.warmup), secs(timing.duration));
    let me = std::process::id();
    let sample_every = Duration::from_millis(timing.sample_ms.max(10));
    let mut timeline = Vec::new();
    let mut next_sample = clock::now_ns();
    let mut cpu_from = None;
    let cpu_to;
    loop {
        let now = clock::now_ns();
        if cpu_from.is_none() && now >= schedule.from_ns {
            cpu_from = Some(cpu_sample(me, pid, now));
        }
        if now >= schedule.to_ns {
            cpu_to = cpu_sample(me, pid, now);
            break;
        }
        if now >= next_sample {
            timeline.push(Sample {
                t_s: (now - schedule.go_ns) as f64 / 1e9,
                rss_kib: pid.and_then(procfs::rss_kib),
                deliveries: engine
                    .shared
                    .delivered
                    .load(std::sync::atomic::Ordering::Relaxed),
            });
            next_sample = now + sample_every.as_nanos() as u64;
        }
        let mut wake = next_sample.min(schedule.to_ns);
        if cpu_from.is_none() {
            wake = wake.min(schedule.from_ns);
        }
        std::thread::sleep(clock::instant_of(wake).saturating_duration_since(Instant::now()));
    }
    let (mut gen_cpu, mut server_cpu, mut machine_cpu) = (None, None, None);
    let (mut gen_wait, mut server_wait) = (None, None);
    if let Some(from) = cpu_from {
        let wall = (cpu_to.at - from.at) as f64 / 1e9;
        gen_cpu = procfs::cores(from.generator, cpu_to.generator, wall);
        server_cpu = procfs::cores(from.server, cpu_to.server, wall);
        machine_cpu = procfs::cores(from.machine, cpu_to.machine, wall);
        gen_wait = procfs::waiting(from.generator_wait, cpu_to.generator_wait, wall);
        server_wait = procfs::waiting(from.server_wait, cpu_to.server_wait, wall);
    }
    let leave_seen_ns = engine
        .shared
        .leave_seen_ns
        .load(std::sync::atomic::Ordering::Acquire);
    let stats = engine.stop()?;
    Ok(Measured {
        stats,
        schedule,
        ready,
        total,
        setup_s,
        gen_cpu,
        server_cpu,
        machine_cpu,
        gen_wait,
        server_wait,
        loadavg,
        timeline,
        leave_seen_ns,
    })
}

/// CPU counters at one instant.
#[derive(Debug, Clone, Copy)]
struct CpuSample {
    generator: Option<u64>,
    server: Option<u64>,
    machine: Option<u64>,
    generator_wait: Option<u64>,
    server_wait: Option<u64>,
    at: u64,
}

fn cpu_sample(me: u32, pid: Option<u32>, now: u64) -> CpuSample {
    CpuSample {
        generator: procfs::cpu_ticks(me),
        server: pid.and_then(procfs::cpu_ticks),
        machine: procfs::machine_busy_ticks(),
        generator_wait: procfs::run_queue_wait_ns(me),
        server_wait: pid.and_then(procfs::run_queue_wait_ns),
        at: now,
    }
}

impl Measured {
    /// The fields every workload reports.
    pub fn result(&self, workload: &str, t: &target::Target, clients: usize) -> RunResult {
        let window_s = (self.schedule.to_ns - self.schedule.from_ns) as f64 / 1e9;
        let per_s = |n: u64| {
            if window_s > 0.0 {
                n as f64 / window_s
            } else {
                0.0
            }
        };
        RunResult {
            workload: workload.to_owned(),
            server: t.label.clone(),
            proto: t.proto.name().to_owned(),
            clients,
            clients_ready: self.ready,
            threads: t.threads,
            warmup_s: (self.schedule.from_ns - self.schedule.go_ns) as f64 / 1e9,
            duration_s: window_s,
            setup_s: self.setup_s,
            quiet_s: None,
            deliveries: self.stats.deliveries,
            deliveries_per_s: per_s(self.stats.deliveries),
            sent_per_s: per_s(self.stats.sent),
            latency_us: Latency::of(&self.stats.lat_broadcast),
            gen_cpu: self.gen_cpu,
            server_cpu: self.server_cpu,
            machine_cpu: self.machine_cpu,
            gen_wait: self.gen_wait,
            server_wait: self.server_wait,
            loadavg: self.loadavg,
            server_threads: t.pid.and_then(procfs::threads),
            errors: self.stats.errors.clone(),
            closed_by_server: self.stats.closed_by_server,
            ..RunResult::default()
        }
    }
}

/// Prints a result as one JSON line on stdout, and a summary on stderr.
pub fn emit(r: &RunResult) -> anyhow::Result<()> {
    tracing::info!(
        workload = %r.workload,
        server = %r.server,
        clients = r.clients,
        deliveries_per_s = format!("{:.0}", r.deliveries_per_s),
        p50_us = r.rtt_us.or(r.latency_us).map(|l| l.p50),
        p99_us = r.rtt_us.or(r.latency_us).map(|l| l.p99),
        gen_cpu = r.gen_cpu,
        server_cpu = r.server_cpu,
        machine_cpu = r.machine_cpu,
        "result"
    );
    println!("{}", serde_json::to_string(r)?);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn phases(proto: Proto, stagger: bool) -> Vec<f64> {
        let mut l = Layout::default();
        let g = Group {
            clients: 10,
            senders: 4,
            window: 2,
            rate: Some(100.0),
            stagger,
        };
        l.add_group(proto, "t", g).unwrap();
        l.specs
            .iter()
            .filter_map(|s| match &s.role {
                Role::Sender(x) => Some(x.phase),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn staggered_senders_take_turns_within_a_period() {
        for proto in [Proto::P2pchat, Proto::Irc, Proto::Resp] {
            assert_eq!(phases(proto, true), [0.0, 0.25, 0.5, 0.75], "{proto:?}");
            assert_eq!(phases(proto, false), [0.0; 4], "{proto:?}");
        }
    }
}
