//! One monotonic clock for the whole generator: nanoseconds since the process's epoch.
//!
//! Send times are written into payloads in this unit and read back by whichever thread
//! receives the delivery, so every thread must share the epoch (`CLOCK_MONOTONIC` is
//! system-wide, and `Instant` is built on it).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The instant that `now_ns() == 0` stands for (fixed at first use).
pub fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since [`epoch`].
pub fn now_ns() -> u64 {
    ns_of(Instant::now())
}

/// Nanoseconds from [`epoch`] to `t` (0 for instants before it).
pub fn ns_of(t: Instant) -> u64 {
    // u64 nanoseconds cover 584 years: the cast cannot truncate in a benchmark run.
    t.saturating_duration_since(epoch()).as_nanos() as u64
}

/// The instant `ns` nanoseconds after [`epoch`].
pub fn instant_of(ns: u64) -> Instant {
    epoch() + Duration::from_nanos(ns)
}
