//! Gives memory freed in a burst back to the system once the server goes quiet.
//!
//! A registration storm queues N²/2 `UPDATE:JOIN` lines while the clients catch up, and
//! frees them again; an allocator that keeps those pages makes every idle connection look
//! several KiB bigger for good (issue 7, reference-server/PERFORMANCE.md §7). jemalloc
//! returns freed pages after `dirty_decay_ms` (1 s here, `.cargo/config.toml`); a much
//! shorter decay would return them sooner but also during a fan-out, where the same pages
//! are freed and taken again within milliseconds: with 300 ms, fan-out to 1,000 clients
//! lost about 20% of its deliveries per CPU-second to page faults. So this thread purges
//! every arena at once when the process has been (almost) idle for one period after some
//! work: a storm's leftovers go within about half a second, and a busy server is never
//! purged under its feet.

use std::time::Duration;

use tikv_jemalloc_ctl::{Access, AsName, arenas};

/// How often the process's CPU time is looked at.
const PERIOD: Duration = Duration::from_millis(250);

/// A period with at most this many clock ticks (1/100 s each on Linux) of CPU is quiet.
const QUIET_TICKS: u64 = 1;

/// Decides when to purge, from the process's CPU time at each period.
#[derive(Debug, Default)]
pub struct Quiet {
    last: Option<u64>,
    /// Ticks of CPU used since the last purge.
    since_purge: u64,
}

impl Quiet {
    /// Takes the process's CPU ticks so far; `true` when it is time to purge: this
    /// period was quiet and there was work since the last purge.
    pub fn tick(&mut self, cpu_ticks: u64) -> bool {
        let delta = self.last.map_or(cpu_ticks, |l| cpu_ticks.saturating_sub(l));
        self.last = Some(cpu_ticks);
        self.since_purge = self.since_purge.saturating_add(delta);
        if delta <= QUIET_TICKS && self.since_purge > QUIET_TICKS {
            self.since_purge = 0;
            true
        } else {
            false
        }
    }
}

/// The process's user + system CPU time in clock ticks (`/proc/self/stat`, fields 14
/// and 15), or `None` where there is no such file.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Hands every arena's dirty pages back to the system now: setting an arena's
/// `dirty_decay_ms` to 0 purges it at once; the setting is then put back. Returns how
/// many arenas were purged (arenas never used answer an error and are skipped).
pub fn purge() -> usize {
    let Ok(n) = arenas::narenas::read() else {
        return 0;
    };
    let mut purged = 0;
    for i in 0..n {
        let name = format!("arena.{i}.dirty_decay_ms\0");
        let key = name.as_bytes().name();
        let Ok(decay) = Access::<isize>::read(key) else {
            continue;
        };
        if key.write(0isize).is_ok() {
            purged += 1;
        }
        // Put the usual decay back; if that fails the arena just purges more eagerly.
        let _ = key.write(decay);
    }
    purged
}

/// Starts the purging thread (where the process's CPU time can be read); `before_purge`
/// runs first each time (it frees what can be freed: idle connections' buffers).
pub fn start(before_purge: impl Fn() + Send + 'static) {
    if cpu_ticks().is_none() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("reclaim".into())
        .spawn(move || {
            let mut quiet = Quiet::default();
            while let Some(t) = cpu_ticks() {
                if quiet.tick(t) {
                    before_purge();
                    let n = purge();
                    tracing::debug!(arenas = n, "quiet: freed memory handed back");
                }
                std::thread::sleep(PERIOD);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the memory reclaim thread");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purges_once_after_work_when_quiet() {
        let mut q = Quiet::default();
        assert!(!q.tick(500), "busy before the first look: no purge");
        assert!(q.tick(500), "quiet after work: purge");
        assert!(!q.tick(500), "nothing done since: no second purge");
        assert!(!q.tick(520), "busy: no purge");
        assert!(!q.tick(540), "busy: no purge");
        assert!(q.tick(541), "quiet after work: purge");
        assert!(!q.tick(542), "a tick of housekeeping is not work");
    }

    #[test]
    fn reads_its_own_cpu_time() {
        assert!(cpu_ticks().is_some());
    }

    #[test]
    fn purge_reaches_the_arenas_and_keeps_their_decay() {
        // The test binary runs on jemalloc too (the global allocator is in main.rs).
        let big: Vec<Vec<u8>> = (0..64).map(|_| vec![1u8; 64 * 1024]).collect();
        drop(big);
        let key = b"arena.0.dirty_decay_ms\0".name();
        let before = Access::<isize>::read(key).ok();
        assert!(purge() >= 1);
        assert_eq!(Access::<isize>::read(key).ok(), before);
    }

    #[test]
    fn the_build_time_malloc_conf_is_in_effect() {
        // .cargo/config.toml's JEMALLOC_SYS_WITH_MALLOC_CONF: a thread caches objects
        // of at most 1 KiB (PERFORMANCE.md §16), pages go back after 1 s (§13).
        let read_usize = |name: &[u8]| Access::<usize>::read(name.name()).ok();
        let read_isize = |name: &[u8]| Access::<isize>::read(name.name()).ok();
        assert_eq!(read_usize(b"opt.tcache_max\0"), Some(1024));
        assert_eq!(read_isize(b"opt.dirty_decay_ms\0"), Some(1000));
        assert_eq!(read_isize(b"opt.muzzy_decay_ms\0"), Some(0));
    }
}
