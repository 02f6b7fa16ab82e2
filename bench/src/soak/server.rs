//! The server under the soak: a `p2pchat-server` process on one database file, started,
//! killed with SIGKILL, started again on the same file, and at the end stopped with
//! SIGTERM. Only the process started here is ever signalled, by its pid.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a started server may take to say it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful stop may take (the server's linger is short).
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The binary.
    pub bin: PathBuf,
    /// The database file, the same for every start.
    pub db: PathBuf,
    /// Extra arguments.
    pub extra: Vec<String>,
    /// Let its logs through to our stderr.
    pub show_stderr: bool,
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// How long it took from spawn to its readiness line.
    pub start_time: Duration,
}

/// The `p2pchat-server` beside this program.
pub fn default_bin() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("finding this program")?;
    let bin = me.with_file_name("p2pchat-server");
    if bin.is_file() {
        return Ok(bin);
    }
    bail!(
        "no p2pchat-server beside {} (build it with `cargo build -p reference-server`, \
         or pass --server-bin)",
        me.display()
    )
}

impl ServerSpec {
    /// Starts the server on a free loopback port and waits for its readiness line.
    pub async fn start(&self) -> anyhow::Result<Running> {
        let started = Instant::now();
        let mut child = Command::new(&self.bin)
            .args(["--bind", "127.0.0.1:0", "--db"])
            .arg(&self.db)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if self.show_stderr {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        let Some(stdout) = child.stdout.take() else {
            bail!("the server's stdout was not captured");
        };
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(START_TIMEOUT, lines.next_line()).await;
        let line = match first {
            Ok(Ok(Some(l))) => l,
            other => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                bail!(
                    "{} did not say it was listening: {other:?}",
                    self.bin.display()
                );
            }
        };
        // Keep reading so that the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let Some(addr) = line
            .strip_prefix("p2pchat-server listening on ")
            .and_then(|a| a.trim().parse::<SocketAddr>().ok())
        else {
            let _ = child.start_kill();
            let _ = child.wait().await;
            bail!("unexpected first line from the server: {line:?}");
        };
        Ok(Running {
            child,
            addr,
            start_time: started.elapsed(),
        })
    }
}

impl Running {
    /// SIGKILL, and wait for the process to be gone. Returns whether it died of the
    /// signal (and not, say, of its own accord before).
    pub async fn kill9(mut self) -> anyhow::Result<bool> {
        self.child.start_kill().context("SIGKILL")?;
        let status = self.child.wait().await.context("waiting for the server")?;
        Ok(killed_by(status, 9))
    }

    /// SIGTERM (the server's graceful stop), and wait at most [`STOP_TIMEOUT`]; returns
    /// whether it exited with status 0 in time (if not, it is killed).
    pub async fn stop_gracefully(mut self) -> anyhow::Result<bool> {
        let Some(pid) = self.child.id() else {
            return Ok(false);
        };
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .context("running kill -TERM")?;
        if !status.success() {
            bail!("kill -TERM {pid} failed");
        }
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(s)) => Ok(s.success()),
            _ => {
                let _ = self.child.start_kill();
                let _ = self.child.wait().await;
                Ok(false)
            }
        }
    }
}

#[cfg(unix)]
fn killed_by(status: ExitStatus, signal: i32) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(signal)
}

#[cfg(not(unix))]
fn killed_by(status: ExitStatus, _signal: i32) -> bool {
    !status.success()
}

/// A fresh directory for the database, under the system's temporary directory.
pub fn temp_dir() -> anyhow::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("p2pchat-soak-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Removes the soak's own files from `dir` (the database and its WAL), then `dir` if empty.
pub fn remove_db(dir: &Path, db: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    let _ = std::fs::remove_dir(dir);
}
