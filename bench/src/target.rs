//! The server under test: one already running (`--addr`, `--pid`), or a
//! `p2pchat-server` that the generator starts itself and stops when done.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::proto::Proto;

/// Where the server is, and how to observe it.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Protocol the server speaks.
    #[arg(long, value_enum, default_value = "p2pchat")]
    pub proto: Proto,
    /// Address of a running server (loopback only). Without it, a p2pchat-server is
    /// started on 127.0.0.1 port 0 and stopped at the end.
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// Pid of the running server, for its memory (VmRSS) and CPU time.
    #[arg(long)]
    pub pid: Option<u32>,
    /// The p2pchat-server binary to start (default: `p2pchat-server` beside this program).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// An extra argument for the started server (repeat for several).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// Let the started server's stderr (its logs) through.
    #[arg(long)]
    pub server_stderr: bool,
    /// Name of the server in the results (default: p2pchat, irc or resp).
    #[arg(long)]
    pub label: Option<String>,
    /// Generator threads (each a current-thread runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

/// A server to run a workload against.
#[derive(Debug)]
pub struct Target {
    /// Its protocol.
    pub proto: Proto,
    /// Its address.
    pub addr: SocketAddr,
    /// Its pid, when known.
    pub pid: Option<u32>,
    /// Its name in results.
    pub label: String,
    /// Generator threads to use.
    pub threads: usize,
    child: Option<Child>,
}

/// How long a started server may take to say it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

impl Target {
    /// Connects to the server named by `args`, starting one if needed.
    pub fn open(args: &TargetArgs) -> anyhow::Result<Target> {
        let label = args
            .label
            .clone()
            .unwrap_or_else(|| args.proto.name().to_owned());
        let threads = args.threads.max(1);
        if let Some(addr) = args.addr {
            if !addr.ip().is_loopback() {
                bail!("--addr {addr}: the benchmark only runs against loopback addresses");
            }
            return Ok(Target {
                proto: args.proto,
                addr,
                pid: args.pid,
                label,
                threads,
                child: None,
            });
        }
        if args.proto != Proto::P2pchat {
            bail!("--addr is required for --proto {}", args.proto.name());
        }
        let bin = match &args.server_bin {
            Some(b) => b.clone(),
            None => default_server_bin()?,
        };
        let (child, addr) = spawn_p2pchat(&bin, &args.server_args, args.server_stderr)?;
        Ok(Target {
            proto: args.proto,
            addr,
            pid: Some(child.id()),
            label,
            threads,
            child: Some(child),
        })
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn default_server_bin() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("finding this program")?;
    let bin = me.with_file_name("p2pchat-server");
    if bin.is_file() {
        return Ok(bin);
    }
    bail!(
        "no p2pchat-server beside {} (build it with `cargo build --release -p reference-server`, \
         or pass --server-bin or --addr)",
        me.display()
    )
}

/// Starts `bin --bind 127.0.0.1:0 --memory-db <extra>` and waits for its line
/// `p2pchat-server listening on <ip:port>`.
pub fn spawn_p2pchat(
    bin: &std::path::Path,
    extra: &[String],
    show_stderr: bool,
) -> anyhow::Result<(Child, SocketAddr)> {
    let mut child = Command::new(bin)
        .args(["--bind", "127.0.0.1:0", "--memory-db"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if show_stderr {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let Some(stdout) = child.stdout.take() else {
        bail!("the server's stdout was not captured");
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next();
        let _ = tx.send(first);
        // Keep reading so that the server never blocks on a full pipe.
        for _ in lines {}
    });
    let line = match rx.recv_timeout(START_TIMEOUT) {
        Ok(Some(Ok(l))) => l,
        other => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{} did not say it was listening: {other:?}", bin.display());
        }
    };
    let addr = line
        .strip_prefix("p2pchat-server listening on ")
        .and_then(|a| a.trim().parse::<SocketAddr>().ok());
    match addr {
        Some(a) => Ok((child, a)),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("unexpected first line from the server: {line:?}")
        }
    }
}
