//! What `/proc` says about a process: resident memory and CPU time.

use std::fs;
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`). It is 100 on every
/// Linux architecture the benchmark runs on; reading it needs `sysconf`, and this crate
/// has no `unsafe` and no libc.
pub const TICKS_PER_SEC: f64 = 100.0;

/// `VmRSS` of `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
}

/// `Threads` of `pid`.
pub fn threads(pid: u32) -> Option<u64> {
    status_field(pid, "Threads:")
}

fn status_field(pid: u32, name: &str) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// User plus system CPU time of `pid` (all its threads), in ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    // After ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
    // cmajflt utime(14) stime(15).
    let utime: u64 = f.nth(11)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Time the threads of `pid` spent runnable but waiting for a CPU, in nanoseconds: the
/// sum of `run_delay` (the second field of `/proc/<pid>/task/<tid>/schedstat`) over its
/// threads. `None` where the kernel keeps no schedstat (no `CONFIG_SCHED_INFO`). A
/// thread that ends between two readings takes its share with it; the benchmark's
/// threads live through the measured window.
pub fn run_queue_wait_ns(pid: u32) -> Option<u64> {
    let mut total = 0u64;
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(task) = task else { continue };
        // A thread may end while the directory is listed: skip it.
        let Ok(s) = fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        total += s.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// Busy time of the whole machine (all CPUs, all processes, interrupts included), in
/// ticks, from the first line of `/proc/stat`.
pub fn machine_busy_ticks() -> Option<u64> {
    let s = fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal [guest guest_nice: inside user].
    let total: u64 = v.iter().take(8).sum();
    Some(total - v.get(3)? - v.get(4).copied().unwrap_or(0))
}

/// The one-minute load average.
pub fn loadavg() -> Option<f64> {
    fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Time waited between two `run_queue_wait_ns` readings, per second of wall time (1.0 =
/// one thread kept off a CPU all the time).
pub fn waiting(ns_before: Option<u64>, ns_after: Option<u64>, wall_s: f64) -> Option<f64> {
    per_second(ns_before, ns_after, 1e9, wall_s)
}

/// CPU use between two samples, in cores (1.0 = one core busy all the time).
pub fn cores(ticks_before: Option<u64>, ticks_after: Option<u64>, wall_s: f64) -> Option<f64> {
    per_second(ticks_before, ticks_after, TICKS_PER_SEC, wall_s)
}

/// Seconds of a counter counting `units_per_s` a second, between two readings, per
/// second of wall time.
fn per_second(
    before: Option<u64>,
    after: Option<u64>,
    units_per_s: f64,
    wall_s: f64,
) -> Option<f64> {
    let d = after?.checked_sub(before?)?;
    (wall_s > 0.0).then(|| d as f64 / units_per_s / wall_s)
}

/// Waits until `pid` has been quiet for one `period` (at most one tick of CPU time in
/// it), looking at most until `limit`; returns the time waited, or `None` if `pid` was
/// never quiet by then (or its CPU time cannot be read).
pub fn wait_quiet(pid: u32, period: Duration, limit: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    let mut last = cpu_ticks(pid)?;
    while t0.elapsed() < limit {
        std::thread::sleep(period);
        let now = cpu_ticks(pid)?;
        if now.saturating_sub(last) <= 1 {
            return Some(t0.elapsed());
        }
        last = now;
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_itself() {
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        assert!(threads(me).unwrap() >= 1);
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(cpu_ticks(me).is_some());
        assert!(machine_busy_ticks().is_some());
        assert!(loadavg().is_some());
        assert_eq!(cores(Some(100), Some(300), 2.0), Some(1.0));
        assert_eq!(cores(None, Some(3), 1.0), None);
        assert_eq!(
            waiting(Some(1_000_000_000), Some(2_000_000_000), 2.0),
            Some(0.5)
        );
        assert_eq!(waiting(Some(5), Some(4), 1.0), None);
    }

    #[test]
    fn run_queue_wait_grows_when_threads_outnumber_the_cpus() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let me = std::process::id();
        let before = run_queue_wait_ns(me).expect("this kernel keeps schedstat");
        // More spinning threads than CPUs: some of them must wait for one.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let stop = Arc::new(AtomicBool::new(false));
        let spinners: Vec<_> = (0..cpus * 2 + 1)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                    }
                    x
                })
            })
            .collect();
        // Read while they spin (a thread's counters leave with it), until the wait shows
        // or a deadline passes.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut during = before;
        while during <= before && Instant::now() < deadline {
            std::thread::yield_now();
            during = run_queue_wait_ns(me).unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        for t in spinners {
            t.join().unwrap();
        }
        assert!(
            during > before,
            "no run-queue wait with {} spinners on {cpus} CPUs",
            cpus * 2 + 1
        );
        assert_eq!(waiting(None, Some(1), 1.0), None);
    }

    #[test]
    fn a_sleeping_process_is_quiet_and_a_zero_limit_gives_up() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let waited = wait_quiet(pid, Duration::from_millis(50), Duration::from_secs(20));
        let none = wait_quiet(pid, Duration::from_millis(50), Duration::ZERO);
        let _ = child.kill();
        let _ = child.wait();
        assert!(waited.is_some(), "sleep(1) never went quiet");
        assert!(none.is_none());
        assert!(wait_quiet(u32::MAX, Duration::from_millis(1), Duration::from_secs(1)).is_none());
    }
}
