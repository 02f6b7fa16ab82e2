//! Targets: the implementation under test, and how the suite starts and reaches it.
//!
//! A server target is (a) a launch command with a `{port}` placeholder (and optionally
//! `{db}`, a path the suite chooses so it can restart the server on the same storage),
//! (b) the address of a server that is already running, or (c) a server run in-process
//! (the reference server, through [`InProcessServer`]). A client target is a launch
//! command for the automation interface of PROTOCOL.md Appendix A, or a client run
//! in-process (see [`crate::client`]).

use std::collections::BTreeSet;
use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::profile::{self, Profile};

/// How long a launched server may take to become ready (scaled).
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How many launches are tried, each on a new port, when the server exits at start.
const LAUNCH_ATTEMPTS: usize = 3;

/// A server implementation the suite can run inside its own process (the reference).
pub trait InProcessServer: Send + Sync + fmt::Debug {
    /// A short name for reports, e.g. `reference-server (in-process)`.
    fn name(&self) -> String;
    /// Starts one server on a fresh `127.0.0.1:0` listener, with its storage at `db`
    /// (`None`: in memory). Returns once it accepts connections.
    fn start(&self, db: Option<&Path>) -> Result<Box<dyn RunningServer>, String>;
}

/// One server started by an [`InProcessServer`]; dropping or stopping it shuts it down.
pub trait RunningServer: Send + Sync + fmt::Debug {
    fn addr(&self) -> SocketAddr;
    /// Stops the server and waits until it has released its storage.
    fn stop(self: Box<Self>);
}

/// How the server under test is reached.
#[derive(Debug, Clone)]
pub enum ServerKind {
    /// A command line with `{port}` and optionally `{db}`, run in `workdir`.
    Command {
        template: String,
        workdir: Option<PathBuf>,
    },
    /// `host:port` of a server already running (not restartable).
    Address(String),
    /// A server run in the suite's process.
    InProcess(Arc<dyn InProcessServer>),
    /// No server can be run: every case is ERROR with this reason.
    Unavailable(String),
}

impl ServerKind {
    pub fn kind_name(&self) -> &'static str {
        match self {
            ServerKind::Command { .. } => "command",
            ServerKind::Address(_) => "address",
            ServerKind::InProcess(_) => "in-process",
            ServerKind::Unavailable(_) => "unavailable",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ServerKind::Command { template, .. } => template.clone(),
            ServerKind::Address(a) => a.clone(),
            ServerKind::InProcess(s) => s.name(),
            ServerKind::Unavailable(why) => format!("unavailable: {why}"),
        }
    }

    /// Whether the suite can start (and so restart, and start more of) this server.
    pub fn launchable(&self) -> bool {
        matches!(self, ServerKind::Command { .. } | ServerKind::InProcess(_))
    }
}

/// A server under test and the profiles it claims.
#[derive(Debug, Clone)]
pub struct ServerTarget {
    pub kind: ServerKind,
    pub profiles: BTreeSet<Profile>,
}

pub use crate::client::ClientTarget;

/// Everything that says what is judged and how.
#[derive(Debug, Clone)]
pub struct Target {
    /// A name for reports (`reference`, a manifest key, ...).
    pub name: String,
    pub server: Option<ServerTarget>,
    pub client: Option<ClientTarget>,
    /// Multiplies every deadline.
    pub timeout_scale: f64,
    /// Run the slow cases (which wait for the server's own timers).
    pub slow: bool,
    /// The server's timers and limits, as declared (PROTOCOL.md §17 defaults otherwise).
    pub limits: ServerLimits,
}

/// A server's timers and limits as its implementer declares them, so that the cases that
/// wait for them ([KA-3], [LIM-3], [LIM-4]) can be run in seconds against a server with
/// short settings instead of being slow or NOT_RUN. Unset values are §17's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServerLimits {
    /// Silence before the keepalive PING (default 30 s).
    pub keepalive: Option<Duration>,
    /// Silence before ERR:TIMEOUT (default 90 s).
    pub idle: Option<Duration>,
    /// An unfinished line before ERR:TIMEOUT (default 30 s).
    pub partial: Option<Duration>,
    /// Connections served at once (default 16384).
    pub max_connections: Option<usize>,
}

impl ServerLimits {
    /// Parses `keepalive=2,idle=5,partial=2,max_connections=200` (seconds; any subset).
    pub fn parse(s: &str) -> Result<ServerLimits, String> {
        let mut l = ServerLimits::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| format!("server limits: {item:?} is not key=value"))?;
            let secs = || {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && *f > 0.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| format!("server limits: {k}={v} is not a number of seconds"))
            };
            match k.trim() {
                "keepalive" => l.keepalive = Some(secs()?),
                "idle" | "idle_timeout" => l.idle = Some(secs()?),
                "partial" | "partial_timeout" => l.partial = Some(secs()?),
                "max_connections" => {
                    l.max_connections = Some(v.trim().parse().map_err(|_| {
                        format!("server limits: max_connections={v} is not a number")
                    })?)
                }
                other => {
                    return Err(format!(
                        "server limits: unknown key {other:?} (keepalive, idle, partial, \
                         max_connections)"
                    ));
                }
            }
        }
        Ok(l)
    }

    pub fn keepalive(&self) -> Duration {
        self.keepalive.unwrap_or(Duration::from_secs(30))
    }

    pub fn idle(&self) -> Duration {
        self.idle.unwrap_or(Duration::from_secs(90))
    }

    pub fn partial(&self) -> Duration {
        self.partial.unwrap_or(Duration::from_secs(30))
    }

    /// Whether the timers a case waits for are short enough (10 s) to run it without
    /// `--slow`.
    pub fn timers_short(&self) -> bool {
        let short = |d: Option<Duration>| d.is_some_and(|d| d <= Duration::from_secs(10));
        short(self.keepalive) && short(self.idle) && short(self.partial)
    }
}

impl Target {
    /// The profiles the server claims (empty without a server).
    pub fn server_profiles(&self) -> BTreeSet<Profile> {
        self.server
            .as_ref()
            .map(|s| s.profiles.clone())
            .unwrap_or_default()
    }

    /// A line for the report header.
    pub fn describe(&self) -> String {
        let mut s = format!("target {}", self.name);
        if let Some(srv) = &self.server {
            s.push_str(&format!(
                "; server ({}): {}; profiles claimed: {}",
                srv.kind.kind_name(),
                srv.kind.describe(),
                profile::list_string(&srv.profiles)
            ));
        }
        if let Some(cl) = &self.client {
            s.push_str(&format!(
                "; client ({}): {}; profiles claimed: {}",
                cl.kind.kind_name(),
                cl.describe(),
                profile::list_string(&cl.profiles)
            ));
        }
        s
    }

    pub fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.timeout_scale.max(0.01))
    }
}

/// A running server the cases talk to.
pub trait Instance: Send + Sync + fmt::Debug {
    fn addr(&self) -> SocketAddr;
    /// Stops the server (a crash for a launched command: SIGKILL) and starts it again on the
    /// same storage. The address may change.
    fn restart(&mut self) -> Result<(), String>;
    /// How a restart is done, for the transcript.
    fn restart_note(&self) -> String;
    /// The end of the server's own output, for ERROR reports.
    fn log_tail(&self) -> String {
        String::new()
    }
}

/// Starts an instance of a launchable server kind (with its own storage).
pub fn start_instance(kind: &ServerKind, scale: f64) -> Result<Box<dyn Instance>, String> {
    match kind {
        ServerKind::Command { template, workdir } => Ok(Box::new(CommandInstance::start(
            template,
            workdir.as_deref(),
            scale,
        )?)),
        ServerKind::InProcess(srv) => Ok(Box::new(InProcessInstance::start(srv.clone(), scale)?)),
        ServerKind::Address(a) => Ok(Box::new(AddressInstance::connect(a, scale)?)),
        ServerKind::Unavailable(why) => Err(why.clone()),
    }
}

/// An already-running server.
#[derive(Debug)]
pub struct AddressInstance {
    addr: SocketAddr,
}

impl AddressInstance {
    pub fn connect(addr: &str, scale: f64) -> Result<AddressInstance, String> {
        let sa = addr
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve server address {addr:?}: {e}"))?
            .next()
            .ok_or_else(|| format!("server address {addr:?} resolves to nothing"))?;
        self_check(sa, Instant::now() + READY_TIMEOUT.mul_f64(scale))
            .map_err(|e| format!("self-check of the server at {sa} failed: {e}"))?;
        Ok(AddressInstance { addr: sa })
    }
}

impl Instance for AddressInstance {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn restart(&mut self) -> Result<(), String> {
        Err("a server given by its address cannot be restarted by the suite".into())
    }

    fn restart_note(&self) -> String {
        String::new()
    }
}

/// A server the suite launched from a command line.
#[derive(Debug)]
pub struct CommandInstance {
    argv: Vec<String>,
    workdir: Option<PathBuf>,
    dir: tempfile::TempDir,
    child: Child,
    addr: SocketAddr,
    launches: usize,
    scale: f64,
}

impl CommandInstance {
    pub fn start(
        template: &str,
        workdir: Option<&Path>,
        scale: f64,
    ) -> Result<CommandInstance, String> {
        let argv = split_command(template)?;
        if !argv.iter().any(|a| a.contains("{port}")) {
            return Err(format!(
                "the server command has no {{port}} placeholder: {template:?}"
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("p2pchat-conformance-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let mut launches = 0;
        let (child, addr) = launch(&argv, workdir, dir.path(), &mut launches, scale)?;
        Ok(CommandInstance {
            argv,
            workdir: workdir.map(Path::to_path_buf),
            dir,
            child,
            addr,
            launches,
            scale,
        })
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance for CommandInstance {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let (child, addr) = launch(
            &self.argv,
            self.workdir.as_deref(),
            self.dir.path(),
            &mut self.launches,
            self.scale,
        )?;
        self.child = child;
        self.addr = addr;
        Ok(())
    }

    fn restart_note(&self) -> String {
        "server killed (SIGKILL, a crash) and launched again on the same {db}".into()
    }

    fn log_tail(&self) -> String {
        log_tail(self.dir.path(), self.launches)
    }
}

impl Drop for CommandInstance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A server run in-process.
#[derive(Debug)]
pub struct InProcessInstance {
    server: Arc<dyn InProcessServer>,
    dir: tempfile::TempDir,
    running: Option<Box<dyn RunningServer>>,
    addr: SocketAddr,
    scale: f64,
}

impl InProcessInstance {
    pub fn start(server: Arc<dyn InProcessServer>, scale: f64) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("p2pchat-conformance-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let running = server.start(Some(&dir.path().join("server.db")))?;
        let addr = running.addr();
        self_check(addr, Instant::now() + READY_TIMEOUT.mul_f64(scale))
            .map_err(|e| format!("self-check of {} at {addr} failed: {e}", server.name()))?;
        Ok(InProcessInstance {
            server,
            dir,
            running: Some(running),
            addr,
            scale,
        })
    }
}

impl Instance for InProcessInstance {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn restart(&mut self) -> Result<(), String> {
        if let Some(r) = self.running.take() {
            r.stop();
        }
        let running = self
            .server
            .start(Some(&self.dir.path().join("server.db")))?;
        self.addr = running.addr();
        self.running = Some(running);
        self_check(
            self.addr,
            Instant::now() + READY_TIMEOUT.mul_f64(self.scale),
        )
        .map_err(|e| format!("self-check after restart failed: {e}"))
    }

    fn restart_note(&self) -> String {
        "server stopped and started again on the same storage".into()
    }
}

impl Drop for InProcessInstance {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop();
        }
    }
}

/// Splits a command line into words: whitespace separates, single quotes keep everything,
/// double quotes keep everything but `\"` and `\\`, a backslash outside quotes escapes the
/// next character. No other shell feature: the program is run directly.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("unclosed ' in command {s:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err(format!("unclosed \" in command {s:?}")),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(format!("unclosed \" in command {s:?}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err("empty command".into());
    }
    Ok(words)
}

/// Quotes a word for a POSIX shell (for replay commands).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+{}".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A port that was free a moment ago (bind 127.0.0.1:0, read it, close).
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot bind a port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot read a bound port: {e}"))
}

/// Launches the command on a free port until it passes the self-check (a few attempts:
/// the port may have been taken between choosing it and the server binding it).
fn launch(
    argv: &[String],
    workdir: Option<&Path>,
    dir: &Path,
    launches: &mut usize,
    scale: f64,
) -> Result<(Child, SocketAddr), String> {
    let db = dir.join("server.db");
    let mut last_err = String::new();
    for _ in 0..LAUNCH_ATTEMPTS {
        *launches += 1;
        let port = free_port()?;
        let args: Vec<String> = argv
            .iter()
            .map(|a| {
                a.replace("{port}", &port.to_string())
                    .replace("{db}", &db.to_string_lossy())
            })
            .collect();
        let out = File::create(dir.join(format!("stdout.{launches}.log")))
            .map_err(|e| format!("cannot create a log file: {e}"))?;
        let err = File::create(dir.join(format!("stderr.{launches}.log")))
            .map_err(|e| format!("cannot create a log file: {e}"))?;
        let mut cmd = Command::new(&args[0]);
        cmd.args(&args[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        if let Some(w) = workdir {
            cmd.current_dir(w);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", args[0]))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        match wait_ready(
            &mut child,
            addr,
            Instant::now() + READY_TIMEOUT.mul_f64(scale),
        ) {
            Ok(()) => return Ok((child, addr)),
            Err(Ready::Exited(why)) => {
                last_err = format!(
                    "the server exited before it was ready ({why}); command: {}; its output:\n{}",
                    args.join(" "),
                    log_tail(dir, *launches)
                );
            }
            Err(Ready::Failed(why)) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the server did not pass the self-check: {why}; command: {}; its output:\n{}",
                    args.join(" "),
                    log_tail(dir, *launches)
                ));
            }
        }
    }
    Err(last_err)
}

enum Ready {
    Exited(String),
    Failed(String),
}

/// Waits until the child accepts TCP on `addr` and answers PING with PONG.
///
/// This is the one place the suite polls with a pause: a program that was just started
/// gives no event to wait on before it listens. The pause grows from 5 ms to 50 ms.
fn wait_ready(child: &mut Child, addr: SocketAddr, end: Instant) -> Result<(), Ready> {
    let mut pause = Duration::from_millis(5);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Ready::Exited(status.to_string()));
        }
        let now = Instant::now();
        if now >= end {
            return Err(Ready::Failed(format!(
                "nothing accepted TCP on {addr} in time"
            )));
        }
        match TcpStream::connect_timeout(&addr, (end - now).min(Duration::from_millis(500))) {
            Ok(_) => {
                self_check(addr, end).map_err(Ready::Failed)?;
                // The port might belong to someone else if our child failed to bind it.
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(Ready::Exited(status.to_string()));
                }
                return Ok(());
            }
            Err(_) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        }
    }
}

/// The self-check: a fresh connection, `PING:selfcheck`, and `PONG:selfcheck` back.
pub fn self_check(addr: SocketAddr, end: Instant) -> Result<(), String> {
    let now = Instant::now();
    let left = end
        .saturating_duration_since(now)
        .max(Duration::from_millis(100));
    let mut s = TcpStream::connect_timeout(&addr, left)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    s.write_all(b"PING:selfcheck\r\n")
        .map_err(|e| format!("cannot write to {addr}: {e}"))?;
    let mut buf = Vec::new();
    loop {
        if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let line = &buf[..pos];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            return if line == b"PONG:selfcheck" || line.starts_with(b"PING:") {
                // A keepalive PING instead of the PONG: the server is up and speaks the
                // protocol; that it does not answer PING before registration is for the
                // cases to judge ([KA-1]), not a failed launch.
                Ok(())
            } else {
                Err(format!(
                    "it answered {} to PING:selfcheck (expected PONG:selfcheck)",
                    crate::wire::escape(line)
                ))
            };
        }
        let now = Instant::now();
        if now >= end {
            return Err("no PONG:selfcheck in time".into());
        }
        let _ = s.set_read_timeout(Some(end - now));
        let mut chunk = [0u8; 4096];
        match s.read(&mut chunk) {
            Ok(0) => return Err("it closed the connection instead of answering PING".into()),
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            // A signal (a fuzzer's timer, a debugger) interrupts a blocking read
            // without anything being wrong with the server (fuzz finding F4).
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(format!("read error: {e}")),
        }
        if buf.len() > 64 * 1024 {
            return Err("it sent 64 KiB without a line end".into());
        }
    }
}

/// The last lines of a launched server's stderr and stdout.
fn log_tail(dir: &Path, launch: usize) -> String {
    let mut out = String::new();
    for which in ["stderr", "stdout"] {
        let p = dir.join(format!("{which}.{launch}.log"));
        let text = std::fs::read(&p).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(20);
        if !lines.is_empty() {
            out.push_str(&format!("  [{which}]\n"));
            for l in &lines[start..] {
                out.push_str(&format!("  {l}\n"));
            }
        }
    }
    if out.is_empty() {
        out.push_str("  (no output)\n");
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_commands() {
        assert_eq!(
            split_command(r#"python3 "a b/s.py" --port {port} --x 'c d' e\ f"#).unwrap(),
            vec![
                "python3", "a b/s.py", "--port", "{port}", "--x", "c d", "e f"
            ]
        );
        assert!(split_command("  ").is_err());
        assert!(split_command("a 'b").is_err());
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("--port"), "--port");
    }

    #[test]
    fn parses_server_limits() {
        let l = ServerLimits::parse("keepalive=2, idle=5,partial=0.5,max_connections=200").unwrap();
        assert_eq!(l.keepalive(), Duration::from_secs(2));
        assert_eq!(l.partial(), Duration::from_millis(500));
        assert_eq!(l.max_connections, Some(200));
        assert!(l.timers_short());
        let d = ServerLimits::parse("").unwrap();
        assert_eq!(d.idle(), Duration::from_secs(90));
        assert!(!d.timers_short());
        assert!(ServerLimits::parse("keepalive=x").is_err());
        assert!(ServerLimits::parse("speed=3").is_err());
    }
}
