//! `report`: reads the JSON lines of many runs and writes `RESULTS.md` (medians, ratios
//! against p2pchat, the machine, the date) and a hand-made SVG chart.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::result::RunResult;

/// Options of `report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Files of JSON lines (other lines are skipped).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where to write the Markdown.
    #[arg(long, default_value = "bench/RESULTS.md")]
    pub markdown: PathBuf,
    /// Where to write the SVG chart.
    #[arg(long, default_value = "bench/results.svg")]
    pub svg: PathBuf,
    /// The date to print (default: today, UTC).
    #[arg(long)]
    pub date: Option<String>,
    /// A Markdown file placed right after the header, before the tables (findings).
    #[arg(long)]
    pub preface: Option<PathBuf>,
    /// Markdown files appended, in order, as the "Notes" section (repeat for several).
    #[arg(long)]
    pub notes: Vec<PathBuf>,
    /// The server the others are compared with.
    #[arg(long, default_value = "p2pchat")]
    pub baseline: String,
}

/// A metric of the summary table.
struct Column {
    title: String,
    workload: &'static str,
    clients: Option<usize>,
    get: fn(&RunResult) -> Option<f64>,
    fmt: fn(f64) -> String,
    higher_is_better: bool,
}

/// Runs of one (workload, clients, server).
type Runs<'a> = BTreeMap<(String, usize, String), Vec<&'a RunResult>>;

/// `p2pchat-bench report`.
pub fn main(a: &ReportArgs) -> anyhow::Result<()> {
    let mut results = Vec::new();
    for path in &a.inputs {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for line in text.lines().filter(|l| l.trim_start().starts_with('{')) {
            match serde_json::from_str::<RunResult>(line) {
                Ok(r) => results.push(r),
                Err(e) => tracing::warn!(file = %path.display(), "skipping a line: {e}"),
            }
        }
    }
    anyhow::ensure!(!results.is_empty(), "no results in {:?}", a.inputs);
    check_one_pair(&results)?;
    check_one_load(&results)?;
    let date = a.date.clone().unwrap_or_else(today);
    let mut notes = String::new();
    for p in &a.notes {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        notes.push_str(text.trim_end());
        notes.push('\n');
    }
    let notes = (!notes.is_empty()).then_some(notes);
    let preface = match &a.preface {
        Some(p) => {
            Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
        }
        None => None,
    };
    let svg_name = relative_name(&a.svg, &a.markdown);
    let md = markdown(
        &results,
        &a.baseline,
        &date,
        &machine(),
        notes.as_deref(),
        preface.as_deref(),
        &svg_name,
    );
    std::fs::write(&a.markdown, md).with_context(|| format!("writing {}", a.markdown.display()))?;
    std::fs::write(&a.svg, svg(&results, &a.baseline))
        .with_context(|| format!("writing {}", a.svg.display()))?;
    tracing::info!(markdown = %a.markdown.display(), svg = %a.svg.display(), runs = results.len(), "report written");
    Ok(())
}

/// The round-trip rows are medians over runs, so they must all be of one workload:
/// runs with the pair in the broadcast set and out of it, or on one generator thread
/// and on two, are not mixed.
fn check_one_pair(results: &[RunResult]) -> anyhow::Result<()> {
    // Results made before `--pair` existed were `outside`; before `--pair-threads`,
    // on one thread.
    let pairs: std::collections::BTreeSet<(&str, u8)> = results
        .iter()
        .filter(|r| r.workload == "rtt" || r.workload == "rtt-receipt")
        .map(|r| {
            (
                r.pair.as_deref().unwrap_or("outside"),
                r.pair_threads.unwrap_or(1),
            )
        })
        .collect();
    anyhow::ensure!(
        pairs.len() <= 1,
        "the round-trip runs mix `--pair`/`--pair-threads` settings ({pairs:?}); report them separately"
    );
    Ok(())
}

/// The offered load of a `fanout-rate` run, in deliveries per second: each sender paced
/// at `rate` messages per second, each message delivered to every client.
fn offered_load(r: &RunResult) -> Option<f64> {
    Some(r.rate? * r.senders as f64 * r.clients as f64)
}

/// The fixed-load fan-out rows compare latency at one load: runs of one size at
/// different loads are not mixed.
fn check_one_load(results: &[RunResult]) -> anyhow::Result<()> {
    let mut loads: BTreeMap<usize, std::collections::BTreeSet<u64>> = BTreeMap::new();
    for r in results.iter().filter(|r| r.workload == "fanout-rate") {
        let load = offered_load(r).context("a fanout-rate run without its rate")?;
        loads
            .entry(r.clients)
            .or_default()
            .insert(load.round() as u64);
    }
    for (clients, l) in &loads {
        anyhow::ensure!(
            l.len() <= 1,
            "the fanout-rate runs with {clients} clients mix offered loads ({l:?} deliveries/s); report them separately"
        );
    }
    Ok(())
}

fn relative_name(svg: &Path, md: &Path) -> String {
    match (svg.parent(), md.parent()) {
        (Some(a), Some(b)) if a == b => svg
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        _ => svg.display().to_string(),
    }
}

fn group(results: &[RunResult]) -> Runs<'_> {
    let mut g: Runs<'_> = BTreeMap::new();
    for r in results {
        g.entry((r.workload.clone(), r.clients, r.server.clone()))
            .or_default()
            .push(r);
    }
    g
}

/// The median of the values `get` finds (the mean of the middle two for an even count).
pub fn median(runs: &[&RunResult], get: fn(&RunResult) -> Option<f64>) -> Option<f64> {
    let mut v: Vec<f64> = runs
        .iter()
        .filter_map(|r| get(r))
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn servers(results: &[RunResult], baseline: &str) -> Vec<String> {
    let mut s: Vec<String> = Vec::new();
    if results.iter().any(|r| r.server == baseline) {
        s.push(baseline.to_owned());
    }
    for r in results {
        if !s.contains(&r.server) {
            s.push(r.server.clone());
        }
    }
    s
}

fn columns(results: &[RunResult]) -> Vec<Column> {
    let mut fan: Vec<usize> = results
        .iter()
        .filter(|r| r.workload == "fanout")
        .map(|r| r.clients)
        .collect();
    fan.sort_unstable();
    fan.dedup();
    let mut cols = Vec::new();
    for &n in &fan {
        cols.push(Column {
            title: format!("fan-out deliveries/s, {} clients", thousands(n)),
            workload: "fanout",
            clients: Some(n),
            get: |r| Some(r.deliveries_per_s),
            fmt: rate,
            higher_is_better: true,
        });
    }
    for &n in &fan {
        cols.push(Column {
            title: format!("fan-out latency p50 / p99, {} clients", thousands(n)),
            workload: "fanout",
            clients: Some(n),
            get: |r| r.latency_us.map(|l| l.p50),
            fmt: micros,
            higher_is_better: false,
        });
    }
    let mut paced: Vec<(usize, f64)> = results
        .iter()
        .filter(|r| r.workload == "fanout-rate")
        .filter_map(|r| Some((r.clients, offered_load(r)?)))
        .collect();
    paced.sort_by_key(|&(n, _)| n);
    paced.dedup_by_key(|&mut (n, _)| n);
    for (n, load) in paced {
        cols.push(Column {
            title: format!(
                "fan-out latency p50 / p99 at a fixed load of {} deliveries/s, {} clients",
                rate(load),
                thousands(n)
            ),
            workload: "fanout-rate",
            clients: Some(n),
            get: |r| r.latency_us.map(|l| l.p50),
            fmt: micros,
            higher_is_better: false,
        });
    }
    if results.iter().any(|r| r.workload == "rtt") {
        cols.push(Column {
            title: "round trip p50".into(),
            workload: "rtt",
            clients: None,
            get: |r| r.rtt_us.map(|l| l.p50),
            fmt: micros,
            higher_is_better: false,
        });
        cols.push(Column {
            title: "round trip p99".into(),
            workload: "rtt",
            clients: None,
            get: |r| r.rtt_us.map(|l| l.p99),
            fmt: micros,
            higher_is_better: false,
        });
    }
    if results.iter().any(|r| r.workload == "rtt-receipt") {
        cols.push(Column {
            title: "round trip p50, with a receipt to the sender".into(),
            workload: "rtt-receipt",
            clients: None,
            get: |r| r.rtt_us.map(|l| l.p50),
            fmt: micros,
            higher_is_better: false,
        });
        cols.push(Column {
            title: "round trip p99, with a receipt to the sender".into(),
            workload: "rtt-receipt",
            clients: None,
            get: |r| r.rtt_us.map(|l| l.p99),
            fmt: micros,
            higher_is_better: false,
        });
        cols.push(Column {
            title: "receipts per message, with a receipt to the sender".into(),
            workload: "rtt-receipt",
            clients: None,
            get: |r| r.receipts_per_msg,
            fmt: |x| format!("{x:.2}"),
            higher_is_better: true,
        });
    }
    let mut idle: Vec<usize> = results
        .iter()
        .filter(|r| r.workload == "idle")
        .map(|r| r.clients)
        .collect();
    idle.sort_unstable();
    idle.dedup();
    for n in idle {
        cols.push(Column {
            title: format!("memory per idle connection ({} clients)", thousands(n)),
            workload: "idle",
            clients: Some(n),
            get: |r| r.bytes_per_conn,
            fmt: kib,
            higher_is_better: false,
        });
    }
    cols
}

fn lookup<'a>(g: &'a Runs<'a>, c: &Column, server: &str) -> Vec<&'a RunResult> {
    g.iter()
        .filter(|((w, n, s), _)| {
            w == c.workload && s == server && c.clients.is_none_or(|k| k == *n)
        })
        .flat_map(|(_, v)| v.iter().copied())
        .collect()
}

fn markdown(
    results: &[RunResult],
    baseline: &str,
    date: &str,
    machine: &str,
    notes: Option<&str>,
    preface: Option<&str>,
    svg_name: &str,
) -> String {
    let g = group(results);
    let servers = servers(results, baseline);
    let cols = columns(results);
    let mut md = String::new();
    let _ = writeln!(md, "# p2pchat-bench results\n");
    let _ = writeln!(md, "Measured on {date}. Machine: {machine}.\n");
    let _ = writeln!(
        md,
        "Generated by `p2pchat-bench report` from the JSON lines of `bench/compare.sh`; every \
         figure is the median of the runs listed below it. A ratio is the server's value \
         divided by {baseline}'s: above 1 is better for deliveries/s, below 1 is better for \
         latency and memory. CPU figures are cores used during the measured window; \
         \"rest of machine\" is what neither the generator nor the server used (other \
         processes, network softirq): when it is high, the run shared the machine. \
         \"Waiting for a CPU\" is the time the generator's and the server's threads were \
         ready to run but had no CPU, per second: when it is high, the two needed more \
         CPUs than the machine has.\n"
    );
    if let Some(p) = preface {
        let _ = writeln!(md, "{}\n", p.trim_end());
    }
    let _ = writeln!(md, "![results]({svg_name})\n");
    let _ = writeln!(md, "## Summary (medians)\n");
    let _ = write!(md, "| server |");
    for c in &cols {
        let _ = write!(md, " {} |", c.title);
    }
    let _ = write!(md, "\n|---|");
    for _ in &cols {
        let _ = write!(md, "---|");
    }
    md.push('\n');
    for s in &servers {
        let _ = write!(md, "| {s} |");
        for c in &cols {
            let runs = lookup(&g, c, s);
            let base = median(&lookup(&g, c, baseline), c.get);
            let cell = if c.title.starts_with("fan-out latency") {
                let p50 = median(&runs, |r| r.latency_us.map(|l| l.p50));
                let p99 = median(&runs, |r| r.latency_us.map(|l| l.p99));
                // A server that did not keep up with a fixed load was measured at another
                // load than the others: say so next to its latency.
                let behind = match (
                    median(&runs, |r| Some(r.deliveries_per_s)),
                    median(&runs, offered_load),
                ) {
                    (Some(got), Some(load)) if got < 0.95 * load => {
                        format!(" (fell behind: {} delivered)", rate(got))
                    }
                    _ => String::new(),
                };
                match (p50, p99) {
                    (Some(a), Some(b)) => format!("{} / {}{behind}", micros(a), micros(b)),
                    _ => "—".into(),
                }
            } else {
                match median(&runs, c.get) {
                    Some(v) => {
                        let ratio = match base {
                            Some(b) if b > 0.0 && s != baseline => format!(" ({:.2}×)", v / b),
                            _ => String::new(),
                        };
                        format!("{}{ratio}", (c.fmt)(v))
                    }
                    None => "—".into(),
                }
            };
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    let _ = writeln!(md, "\n## Every run\n");
    let _ = writeln!(
        md,
        "| workload | clients | server | runs | deliveries/s | latency p50 / p99 (µs) | round trip p50 / p99 (µs) | bytes per conn | generator CPU | server CPU | rest of machine | waiting for a CPU: generator / server | errors |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for ((w, n, s), runs) in &g {
        let list = |get: fn(&RunResult) -> Option<f64>, f: fn(f64) -> String| {
            let v: Vec<String> = runs.iter().filter_map(|r| get(r)).map(f).collect();
            if v.is_empty() {
                "—".to_owned()
            } else {
                v.join(", ")
            }
        };
        let mut errors: BTreeMap<&str, u64> = BTreeMap::new();
        for r in runs {
            for (k, v) in &r.errors {
                *errors.entry(k).or_default() += v;
            }
        }
        let errors = if errors.is_empty() {
            "—".to_owned()
        } else {
            errors
                .iter()
                .map(|(k, v)| format!("{k}×{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            md,
            "| {w} | {} | {s} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {errors} |",
            thousands(*n),
            runs.len(),
            if w == "idle" {
                "—".into()
            } else {
                list(|r| Some(r.deliveries_per_s), rate)
            },
            pair_with(
                runs,
                |r| r.latency_us.map(|l| l.p50),
                |r| r.latency_us.map(|l| l.p99),
                |x| format!("{x:.0}")
            ),
            pair_with(
                runs,
                |r| r.rtt_us.map(|l| l.p50),
                |r| r.rtt_us.map(|l| l.p99),
                |x| format!("{x:.0}")
            ),
            list(|r| r.bytes_per_conn, kib),
            list(|r| r.gen_cpu, cores),
            list(|r| r.server_cpu, cores),
            list(rest_of_machine, cores),
            pair_with(
                runs,
                |r| r.gen_wait,
                |r| r.server_wait,
                |x| format!("{x:.2}")
            ),
        );
    }
    let slow: Vec<&RunResult> = results.iter().filter(|r| r.slow.is_some()).collect();
    if !slow.is_empty() {
        let _ = writeln!(md, "\n## Slow reader\n");
        let _ = writeln!(
            md,
            "One client sets up and then never reads (4 KiB receive buffer) while the others \
             take a fan-out. Is it cut off, when, does the server's memory stay bounded, and what \
             do the others get before and after?\n"
        );
        let _ = writeln!(
            md,
            "| server | clients | cut off | ERR:SLOW_READER | cut after | server RSS max | others' deliveries/s before / after the cut | bytes still queued to it |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
        for r in slow {
            let Some(s) = &r.slow else { continue };
            let opt = |v: Option<f64>, f: fn(f64) -> String| v.map_or("—".to_owned(), f);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} / {} | {} |",
                r.server,
                thousands(r.clients),
                if s.cut_off { "yes" } else { "no" },
                if s.err_slow_reader { "yes" } else { "no" },
                opt(s.cut_after_s, |v| format!("{v:.1} s")),
                s.rss_max_kib.map_or("—".to_owned(), |k| format!(
                    "{:.1} MiB",
                    k as f64 / 1024.0
                )),
                opt(s.others_per_s_before_cut, rate),
                opt(s.others_per_s_after_cut, rate),
                thousands(s.drained_bytes as usize),
            );
        }
    }
    if let Some(n) = notes {
        let _ = writeln!(md, "\n## Notes\n\n{}", n.trim_end());
    }
    md
}

fn svg(results: &[RunResult], baseline: &str) -> String {
    let g = group(results);
    let servers = servers(results, baseline);
    let cols: Vec<Column> = columns(results)
        .into_iter()
        .filter(|c| {
            !c.title.starts_with("fan-out latency")
                && !c.title.starts_with("round trip p99")
                && !c.title.starts_with("receipts")
        })
        .collect();
    const W: f64 = 760.0;
    const LABEL: f64 = 110.0;
    const ROW: f64 = 22.0;
    const HEAD: f64 = 34.0;
    let panel_h = HEAD + ROW * servers.len() as f64 + 14.0;
    let height = 40.0 + panel_h * cols.len() as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r#"<text x="10" y="24" font-size="16" font-weight="bold">p2pchat-bench: medians per server</text>"#
    );
    for (i, c) in cols.iter().enumerate() {
        let y0 = 40.0 + panel_h * i as f64;
        let values: Vec<(String, Option<f64>)> = servers
            .iter()
            .map(|srv| (srv.clone(), median(&lookup(&g, c, srv), c.get)))
            .collect();
        let max = values.iter().filter_map(|(_, v)| *v).fold(0.0, f64::max);
        let better = if c.higher_is_better {
            "higher is better"
        } else {
            "lower is better"
        };
        let _ = writeln!(
            s,
            r##"<text x="10" y="{}" font-weight="bold">{} <tspan font-weight="normal" fill="#666">({better})</tspan></text>"##,
            y0 + 20.0,
            escape(&c.title)
        );
        for (j, (srv, v)) in values.iter().enumerate() {
            let y = y0 + HEAD + ROW * j as f64;
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
                LABEL - 6.0,
                y + 14.0,
                escape(srv)
            );
            let Some(v) = v else {
                let _ = writeln!(
                    s,
                    r##"<text x="{LABEL}" y="{}" fill="#999">no data</text>"##,
                    y + 14.0
                );
                continue;
            };
            let span = W - LABEL - 120.0;
            let w = if max > 0.0 {
                (v / max * span).max(1.0)
            } else {
                1.0
            };
            let color = if srv == baseline {
                "#2a7ab9"
            } else {
                "#9aa5b1"
            };
            let _ = writeln!(
                s,
                r#"<rect x="{LABEL}" y="{}" width="{w:.1}" height="{}" fill="{color}"/>"#,
                y + 2.0,
                ROW - 6.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{}">{}</text>"#,
                LABEL + w + 6.0,
                y + 14.0,
                escape(&(c.fmt)(*v))
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

/// Machine CPU not used by the generator or the server (other processes, softirq).
/// Two figures of each run as `a/b`, the runs separated by commas.
fn pair_with(
    runs: &[&RunResult],
    a: fn(&RunResult) -> Option<f64>,
    b: fn(&RunResult) -> Option<f64>,
    f: fn(f64) -> String,
) -> String {
    let v: Vec<String> = runs
        .iter()
        .filter_map(|r| Some(format!("{}/{}", f(a(r)?), f(b(r)?))))
        .collect();
    if v.is_empty() {
        "—".to_owned()
    } else {
        v.join(", ")
    }
}

fn rest_of_machine(r: &RunResult) -> Option<f64> {
    Some((r.machine_cpu? - r.gen_cpu.unwrap_or(0.0) - r.server_cpu.unwrap_or(0.0)).max(0.0))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn rate(v: f64) -> String {
    // Thresholds at the rounding edges, so that 999,800 reads "1.00 M", not "1000 k".
    if v >= 999_500.0 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 999.5 {
        format!("{:.0} k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn micros(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1} ms", v / 1000.0)
    } else {
        format!("{v:.0} µs")
    }
}

fn kib(v: f64) -> String {
    format!("{:.1} KiB", v / 1024.0)
}

fn cores(v: f64) -> String {
    format!("{v:.2}")
}

/// The machine, as `lscpu` would name it: CPU model, cores, memory, kernel.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or_else(String::new, |k| format!(", {:.0} GiB", k / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores{mem}, Linux {kernel}")
}

/// Today's date (UTC), `YYYY-MM-DD`.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::result::Latency;

    fn run(w: &str, server: &str, clients: usize, dps: f64) -> RunResult {
        RunResult {
            workload: w.into(),
            server: server.into(),
            clients,
            deliveries_per_s: dps,
            latency_us: Some(Latency {
                p50: 10.0,
                p99: 50.0,
                max: 90.0,
                count: 3,
            }),
            rtt_us: w.starts_with("rtt").then_some(Latency {
                p50: 30.0,
                p99: 60.0,
                max: 70.0,
                count: 3,
            }),
            bytes_per_conn: (w == "idle").then_some(4096.0),
            ..RunResult::default()
        }
    }

    #[test]
    fn round_trips_of_both_pair_settings_are_not_mixed() {
        let old = run("rtt", "x", 2, 1.0);
        let mut members = run("rtt", "x", 2, 1.0);
        members.pair = Some("members".into());
        let mut outside = run("rtt", "x", 2, 1.0);
        outside.pair = Some("outside".into());
        assert!(check_one_pair(&[old.clone(), outside.clone()]).is_ok());
        assert!(check_one_pair(&[members.clone(), members.clone()]).is_ok());
        assert!(check_one_pair(&[old, members.clone()]).is_err());
        assert!(check_one_pair(&[outside, members.clone()]).is_err());
        let mut apart = members.clone();
        apart.pair_threads = Some(2);
        let mut one = members.clone();
        one.pair_threads = Some(1);
        assert!(check_one_pair(&[members.clone(), one]).is_ok());
        assert!(check_one_pair(&[members, apart]).is_err());
    }

    #[test]
    fn medians_and_dates() {
        let (a, b, c) = (
            run("fanout", "x", 1, 1.0),
            run("fanout", "x", 1, 5.0),
            run("fanout", "x", 1, 3.0),
        );
        assert_eq!(
            median(&[&a, &b, &c], |r| Some(r.deliveries_per_s)),
            Some(3.0)
        );
        assert_eq!(median(&[&a, &b], |r| Some(r.deliveries_per_s)), Some(3.0));
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_409), (2025, 11, 17));
        assert_eq!(thousands(10000), "10,000");
        assert_eq!(rate(999_800.0), "1.00 M");
        assert_eq!(rate(999_400.0), "999 k");
        assert_eq!(rate(999.7), "1 k");
        assert_eq!(rate(12.0), "12");
    }

    #[test]
    fn table_and_chart() {
        let rs = vec![
            run("fanout", "p2pchat", 100, 2e6),
            run("fanout", "redis", 100, 1e6),
            run("rtt", "p2pchat", 102, 1e5),
            run("idle", "redis", 1000, 0.0),
        ];
        let md = markdown(
            &rs,
            "p2pchat",
            "2026-01-01",
            "m",
            Some("n"),
            Some("p"),
            "results.svg",
        );
        assert!(md.contains("| p2pchat | 2.00 M |"), "{md}");
        assert!(md.contains("| redis | 1.00 M (0.50×) |"), "{md}");
        assert!(md.contains("4.0 KiB"));
        let svg = svg(&rs, "p2pchat");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 1 + 2 + 1 + 1);
    }

    #[test]
    fn round_trips_with_a_receipt_have_columns_of_their_own() {
        let mut plain = run("rtt", "inspircd", 102, 1e5);
        plain.rtt_us = plain.rtt_us.map(|l| Latency { p50: 28.0, ..l });
        let mut echo = run("rtt-receipt", "inspircd", 102, 1e5);
        echo.receipts_per_msg = Some(1.0);
        echo.rtt_us = echo.rtt_us.map(|l| Latency { p50: 41.0, ..l });
        let mut sent = run("rtt-receipt", "p2pchat", 102, 1e5);
        sent.receipts_per_msg = Some(0.998);
        let rs = vec![plain, echo, sent];
        let md = markdown(&rs, "p2pchat", "2026-01-01", "m", None, None, "r.svg");
        assert!(
            md.contains(
                "| server | round trip p50 | round trip p99 | round trip p50, with a receipt to \
                 the sender | round trip p99, with a receipt to the sender | receipts per \
                 message, with a receipt to the sender |"
            ),
            "{md}"
        );
        // The plain round trip is not mixed with the one with a receipt.
        assert!(
            md.contains("| p2pchat | — | — | 30 µs | 60 µs | 1.00 |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| inspircd | 28 µs | 60 µs | 41 µs (1.37×) | 60 µs (1.00×) | 1.00 (1.00×) |"
            ),
            "{md}"
        );
    }

    fn paced(server: &str, clients: usize, rate: f64, dps: f64) -> RunResult {
        let mut r = run("fanout-rate", server, clients, dps);
        r.senders = 8;
        r.rate = Some(rate);
        r
    }

    #[test]
    fn fixed_load_fan_out_has_columns_of_its_own_and_says_who_fell_behind() {
        let mut fast = paced("p2pchat", 100, 1250.0, 1e6);
        fast.latency_us = fast.latency_us.map(|l| Latency {
            p50: 900.0,
            p99: 4000.0,
            ..l
        });
        fast.gen_wait = Some(0.29);
        fast.server_wait = Some(0.69);
        let mut slow = paced("ngircd", 100, 1250.0, 0.6e6);
        slow.latency_us = slow.latency_us.map(|l| Latency {
            p50: 8000.0,
            p99: 48000.0,
            ..l
        });
        let rs = vec![run("fanout", "p2pchat", 100, 7e6), fast, slow];
        assert!(check_one_load(&rs).is_ok());
        let md = markdown(&rs, "p2pchat", "2026-01-01", "m", None, None, "r.svg");
        assert!(
            md.contains(
                "| fan-out latency p50 / p99, 100 clients | fan-out latency p50 / p99 at a fixed \
                 load of 1.00 M deliveries/s, 100 clients |"
            ),
            "{md}"
        );
        // The saturated run's latency is not mixed into the paced column.
        assert!(
            md.contains("| p2pchat | 7.00 M | 10 µs / 50 µs | 900 µs / 4.0 ms |"),
            "{md}"
        );
        assert!(
            md.contains("| ngircd | — | — | 8.0 ms / 48.0 ms (fell behind: 600 k delivered) |"),
            "{md}"
        );
        assert!(md.contains("| 0.29/0.69 |"), "{md}");
    }

    #[test]
    fn fixed_load_runs_at_two_loads_are_not_mixed() {
        let a = paced("p2pchat", 100, 1250.0, 1e6);
        let b = paced("redis", 100, 2500.0, 2e6);
        let c = paced("redis", 1000, 125.0, 1e6);
        assert!(check_one_load(&[a.clone(), c.clone()]).is_ok());
        assert!(check_one_load(&[a.clone(), b]).is_err());
        let mut no_rate = a;
        no_rate.rate = None;
        assert!(check_one_load(&[no_rate, c]).is_err());
    }
}
