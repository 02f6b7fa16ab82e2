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

/// A period in which the server used at most one tick of CPU time is quiet.
const QUIET_PERIOD: Duration = Duration::from_millis(250);
/// How long to wait for a quiet period at most before reading the memory anyway.
const QUIET_LIMIT: Duration = Duration::from_secs(60);

/// Starts setting up `clients` idle clients with nicks tagged `tag` (only connecting
/// them with `--connect-only`).
fn start_clients(t: &Target, a: &IdleArgs, tag: &str, clients: usize) -> anyhow::Result<Engine> {
    let mut layout = Layout::default();
    layout.add_group(
        t.proto,
        tag,
        Group {
            clients,
            senders: 0,
            window: 1,
            rate: None,
            stagger: false,
        },
    )?;
    if a.connect_only {
        for s in &mut layout.specs {
            s.setup = Setup::Bare;
        }
    }
    Engine::start(
        a.timing.engine_options(t),
        layout.slots,
        deal(layout.specs, t.threads),
    )
}

/// Sets up `a.warm_clients` clients the way the measured ones will be, closes them, and
/// waits until the server is quiet again. A server that has just started has not yet
/// touched the code and the allocator's structures that its first connections use;
/// read before any connection, its VmRSS counted those pages as memory of the measured
/// connections, by a different amount in each run (p2pchat-server: 5.2–5.9 MiB before
/// any connection, 5.9–6.2 MiB after 32 warm-up clients; up to 0.7 KiB per connection
/// at 1,000 clients).
fn warm_up(t: &Target, a: &IdleArgs, tag: &str) -> anyhow::Result<()> {
    let engine = start_clients(t, a, &warm_tag(tag), a.warm_clients)?;
    let ready = engine.wait_ready(secs(a.timing.setup_timeout) + Duration::from_secs(1));
    let stats = engine.stop()?;
    if ready < a.warm_clients {
        anyhow::bail!(
            "warm-up: only {ready} of {} connections were set up; failures: {:?}",
            a.warm_clients,
            stats.errors
        );
    }
    if let Some(pid) = t.pid {
        procfs::wait_quiet(pid, QUIET_PERIOD, QUIET_LIMIT);
    }
    Ok(())
}

/// The warm-up's nick prefix: `tag` with its first letter moved 13 places, so that it
/// never equals `tag` (a p2pchat server keeps the warm-up's nicks owned).
fn warm_tag(tag: &str) -> String {
    tag.bytes()
        .enumerate()
        .map(|(i, b)| {
            if i == 0 && b.is_ascii_lowercase() {
                (b'a' + (b - b'a' + 13) % 26) as char
            } else {
                b as char
            }
        })
        .collect()
}

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
    /// Seconds to wait, once the server is quiet after the last set-up, before reading
    /// its memory.
    #[arg(long, default_value_t = 1.0)]
    pub settle: f64,
    /// Clients set up and closed again before the baseline VmRSS is read (0: none).
    #[arg(long, default_value_t = 32)]
    pub warm_clients: usize,
    /// Timing (warm-up and duration: how long the idle clients are then held).
    #[command(flatten)]
    pub timing: Timing,
}

/// Runs the idle-connections workload against `t`.
pub fn run(t: &Target, a: &IdleArgs) -> anyhow::Result<RunResult> {
    let tag = run_tag();
    if a.warm_clients > 0 {
        warm_up(t, a, &tag)?;
    }
    let rss_before = t.pid.and_then(procfs::rss_kib);
    let engine = start_clients(t, a, &tag, a.clients)?;
    // Measure memory once everything is set up, before the (idle) hold.
    let t0 = std::time::Instant::now();
    let ready = engine.wait_ready(secs(a.timing.setup_timeout) + Duration::from_secs(1));
    let setup_s = t0.elapsed().as_secs_f64();
    // Every client has its own registration reply, but the server may still be
    // delivering the storm's `UPDATE:JOIN`s (N²/2 lines) to the others: what is
    // measured is an idle server, so wait until its CPU time stops growing first.
    let quiet = t
        .pid
        .and_then(|pid| procfs::wait_quiet(pid, QUIET_PERIOD, QUIET_LIMIT));
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
    r.quiet_s = quiet.map(|d| d.as_secs_f64());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_tag_differs_from_every_tag() {
        for a in b'a'..=b'z' {
            let tag = format!("{}xy", a as char);
            let w = warm_tag(&tag);
            assert_ne!(w, tag);
            assert_eq!(w.len(), 3);
            assert!(w.bytes().all(|b| b.is_ascii_lowercase()));
        }
    }
}
