//! The one JSON line every workload run prints, and what `report` reads back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::histogram::Histogram;

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Samples.
    pub count: u64,
}

impl Latency {
    /// Percentiles of `h` (in ns), or `None` if it is empty.
    pub fn of(h: &Histogram) -> Option<Latency> {
        Some(Latency {
            p50: h.quantile(0.50)? as f64 / 1e3,
            p99: h.quantile(0.99)? as f64 / 1e3,
            max: h.max() as f64 / 1e3,
            count: h.count(),
        })
    }
}

/// One sample of a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since the senders started.
    pub t_s: f64,
    /// Server VmRSS, KiB.
    pub rss_kib: Option<u64>,
    /// Deliveries so far.
    pub deliveries: u64,
}

/// What happened to the slow reader (workload `slow`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowResult {
    /// The server closed its connection.
    pub cut_off: bool,
    /// It received `ERR:SLOW_READER`.
    pub err_slow_reader: bool,
    /// Seconds from the start of sending until the others saw it leave.
    pub cut_after_s: Option<f64>,
    /// Octets still queued to it when the run ended.
    pub drained_bytes: u64,
    /// Largest server VmRSS seen during the run, KiB.
    pub rss_max_kib: Option<u64>,
    /// The others' deliveries per second while the slow reader was still connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub others_per_s_before_cut: Option<f64>,
    /// The others' deliveries per second after it was cut off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub others_per_s_after_cut: Option<f64>,
}

/// The result of one workload run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// `fanout`, `fanout-rate` (fan-out at a fixed offered load), `rtt`, `rtt-receipt`,
    /// `idle`, `slow` or `smoke`.
    pub workload: String,
    /// The server's name.
    pub server: String,
    /// Its protocol.
    pub proto: String,
    /// Connections in the workload (receivers; RESP publishers not counted).
    pub clients: usize,
    /// Connections that were set up.
    pub clients_ready: usize,
    /// Sending connections.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub senders: usize,
    /// Messages outstanding per sender.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub window: u64,
    /// `fanout-rate`: messages per second each sender was paced at (the offered load is
    /// this × senders × clients deliveries per second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Generator threads.
    pub threads: usize,
    /// Seconds of warm-up.
    #[serde(default)]
    pub warmup_s: f64,
    /// Seconds measured.
    #[serde(default)]
    pub duration_s: f64,
    /// Seconds to connect and set up every connection.
    pub setup_s: f64,
    /// `idle`: seconds after the set-up until the server went quiet (its CPU time
    /// stopped growing), before the settle time and the memory reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_s: Option<f64>,
    /// Deliveries (payload lines received by clients) in the window.
    #[serde(default)]
    pub deliveries: u64,
    /// Deliveries per second.
    #[serde(default)]
    pub deliveries_per_s: f64,
    /// Messages sent per second.
    #[serde(default)]
    pub sent_per_s: f64,
    /// Latency of broadcast deliveries (send → receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<Latency>,
    /// Latency of private deliveries (send → receipt) in `rtt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_us: Option<Latency>,
    /// `rtt`: whether the pair was in the broadcast set (`members`) or out of it where
    /// the protocol allows (`outside`). Absent in results made before the option
    /// existed, which were `outside`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
    /// `rtt`: generator threads the pair ran on (A and B on one, or one each). Absent
    /// in results made before the option existed, which ran on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair_threads: Option<u8>,
    /// Round trip: receipts the sender got per private message delivered (p2pchat
    /// `SENT`, the RESP reply to `PUBLISH`, IRC `echo-message`; 0 for IRC without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts_per_msg: Option<f64>,
    /// Generator CPU over the window, in cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gen_cpu: Option<f64>,
    /// Server CPU over the window, in cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cpu: Option<f64>,
    /// CPU of the whole machine over the window, in cores: what is left after the
    /// generator and the server is interference (other processes) or network softirq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_cpu: Option<f64>,
    /// Time the generator's threads were runnable but kept off a CPU, per second of
    /// the window (1.0 = one thread waiting all the time; `/proc/<pid>/task/*/schedstat`).
    /// High when the generator and the server need more CPUs than the machine has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gen_wait: Option<f64>,
    /// The same for the server's threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_wait: Option<f64>,
    /// The one-minute load average when the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadavg: Option<f64>,
    /// Server threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_threads: Option<u64>,
    /// Server VmRSS before connecting, KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_before_kib: Option<u64>,
    /// Server VmRSS with every connection set up, KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_after_kib: Option<u64>,
    /// (after − before) / connections, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_conn: Option<f64>,
    /// Error lines and failures by code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, u64>,
    /// Connections the server closed during the run.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub closed_by_server: u64,
    /// The slow reader's fate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow: Option<SlowResult>,
    /// Server memory and deliveries over time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<Sample>,
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let r = RunResult {
            workload: "fanout".into(),
            server: "p2pchat".into(),
            clients: 100,
            deliveries_per_s: 1.5e6,
            latency_us: Some(Latency {
                p50: 10.0,
                p99: 90.0,
                max: 200.0,
                count: 5,
            }),
            ..RunResult::default()
        };
        let s = serde_json::to_string(&r).unwrap();
        assert!(!s.contains('\n'));
        assert_eq!(serde_json::from_str::<RunResult>(&s).unwrap(), r);
    }
}
