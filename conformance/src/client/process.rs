//! A client under test, running: its standard input (commands), its standard output (JSON
//! events, Appendix A.3), its exit status, and the transcript of all three.
//!
//! A client is started from a command line with the placeholders of Appendix A.1, either
//! as a child process (a command target) or inside the suite's process through an
//! [`InProcessClient`] (the reference client). Both give the suite the same three things:
//! a writer for stdin, a reader for stdout, and an [`ExitHandle`]. Reading stdout with a
//! deadline and closing it early need async I/O, so each case has a small tokio runtime of
//! its own ([`ClientRt`]) that drives these streams only while the case waits on them.

use std::collections::VecDeque;
use std::fmt;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use crate::outcome::Failure;
use crate::transcript::Transcript;
use crate::wire;

/// A client implementation the suite can run inside its own process (the reference).
pub trait InProcessClient: Send + Sync + fmt::Debug {
    /// A short name for reports.
    fn name(&self) -> String;
    /// The command lines it is started with, placeholders and all (Appendix A.1): hybrid,
    /// then serverless.
    fn templates(&self) -> (String, String);
    /// Starts a run from a command line whose placeholders are already replaced, exactly
    /// as the binary would parse it. A command line it refuses is an immediate exit
    /// ([`ClientParts::exited`]).
    fn start(&self, argv: &[String]) -> Result<ClientParts, String>;
}

/// What the suite holds of a started client.
pub struct ClientParts {
    pub stdin: Box<dyn AsyncWrite + Send + Unpin>,
    pub stdout: Box<dyn AsyncRead + Send + Unpin>,
    pub exit: Box<dyn ExitHandle>,
}

impl fmt::Debug for ClientParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientParts").finish_non_exhaustive()
    }
}

impl ClientParts {
    /// A client that exited at once with `code` (e.g. 2 for a command line it refused).
    pub fn exited(code: i32, stderr: impl Into<String>) -> ClientParts {
        ClientParts {
            stdin: Box::new(tokio::io::sink()),
            stdout: Box::new(tokio::io::empty()),
            exit: Box::new(Exited(code, stderr.into())),
        }
    }
}

/// The end of a run: waiting for it, or forcing it.
pub trait ExitHandle: Send + fmt::Debug {
    /// The exit status, if the run ends within `timeout`.
    fn wait(&mut self, rt: &ClientRt, timeout: Duration) -> Option<i32>;
    /// Ends the run at once, without a word to anyone (a crash: SIGKILL for a process).
    fn kill(&mut self, rt: &ClientRt);
    /// The end of the client's own log (stderr), for reports.
    fn log_tail(&self) -> String {
        String::new()
    }
}

#[derive(Debug)]
struct Exited(i32, String);

impl ExitHandle for Exited {
    fn wait(&mut self, _: &ClientRt, _: Duration) -> Option<i32> {
        Some(self.0)
    }
    fn kill(&mut self, _: &ClientRt) {}
    fn log_tail(&self) -> String {
        self.1.clone()
    }
}

/// The small runtime that drives a case's client streams and child processes.
#[derive(Debug, Clone)]
pub struct ClientRt(Arc<tokio::runtime::Runtime>);

impl ClientRt {
    pub fn new() -> Result<ClientRt, String> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| ClientRt(Arc::new(rt)))
            .map_err(|e| format!("cannot start a runtime: {e}"))
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.0.block_on(f)
    }

    pub fn handle(&self) -> &tokio::runtime::Runtime {
        &self.0
    }
}

/// A child process started from a command line.
#[derive(Debug)]
struct ChildExit {
    child: tokio::process::Child,
    stderr_log: std::path::PathBuf,
    status: Option<i32>,
}

impl ExitHandle for ChildExit {
    fn wait(&mut self, rt: &ClientRt, timeout: Duration) -> Option<i32> {
        if self.status.is_some() {
            return self.status;
        }
        let st = rt
            .block_on(async { tokio::time::timeout(timeout, self.child.wait()).await })
            .ok()?
            .ok()?;
        // A process ended by a signal has no code: report 128 + signal, as shells do.
        let code = st.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + st.signal().unwrap_or(0)
        });
        self.status = Some(code);
        self.status
    }

    fn kill(&mut self, rt: &ClientRt) {
        if self.status.is_none() {
            let _ = self.child.start_kill();
            let _ = self.wait(rt, Duration::from_secs(5));
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read(&self.stderr_log).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(20);
        lines[start..].join("\n")
    }
}

impl Drop for ChildExit {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.start_kill();
        }
    }
}

/// Starts `argv` as a child process (in `workdir`), stderr to `stderr_log`.
pub fn spawn_command(
    rt: &ClientRt,
    argv: &[String],
    workdir: Option<&Path>,
    stderr_log: &Path,
) -> Result<ClientParts, String> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| "empty client command".to_owned())?;
    let err = std::fs::File::create(stderr_log)
        .map_err(|e| format!("cannot create {}: {e}", stderr_log.display()))?;
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(err))
        .kill_on_drop(true);
    if let Some(w) = workdir {
        cmd.current_dir(w);
    }
    let _guard = rt.handle().enter();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {prog:?}: {e}"))?;
    let stdin = child.stdin.take().ok_or("no stdin pipe")?;
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    Ok(ClientParts {
        stdin: Box::new(stdin),
        stdout: Box::new(stdout),
        exit: Box::new(ChildExit {
            child,
            stderr_log: stderr_log.to_path_buf(),
            status: None,
        }),
    })
}

/// One event read from the client's standard output.
#[derive(Debug, Clone)]
pub struct Event {
    /// The `"event"` member.
    pub kind: String,
    pub value: serde_json::Value,
    /// The line as written.
    pub raw: String,
}

impl Event {
    /// A string member, or "" when absent.
    pub fn str(&self, member: &str) -> &str {
        self.value
            .get(member)
            .and_then(|v| v.as_str())
            .unwrap_or("")
    }

    pub fn u64(&self, member: &str) -> Option<u64> {
        self.value.get(member).and_then(|v| v.as_u64())
    }
}

/// What the next read of standard output brought.
#[derive(Debug)]
pub enum Out {
    Event(Event),
    /// Standard output was closed (the client exited, or closed it).
    Eof,
    Timeout,
}

/// A client run: commands in, events out.
pub struct ClientRun {
    pub label: String,
    rt: ClientRt,
    stdin: Option<Box<dyn AsyncWrite + Send + Unpin>>,
    stdout: Option<tokio::io::Lines<BufReader<Box<dyn AsyncRead + Send + Unpin>>>>,
    exit: Box<dyn ExitHandle>,
    tr: Transcript,
    timeout: Duration,
    backlog: VecDeque<Event>,
    sync_n: u32,
    eof: bool,
    exited: Option<i32>,
}

impl fmt::Debug for ClientRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRun")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Longest transcript rendering of an event or command.
const SHOW_MAX: usize = 400;

impl ClientRun {
    pub fn new(
        label: String,
        rt: ClientRt,
        parts: ClientParts,
        tr: Transcript,
        timeout: Duration,
    ) -> ClientRun {
        ClientRun {
            label,
            rt,
            stdin: Some(parts.stdin),
            stdout: Some(BufReader::new(parts.stdout).lines()),
            exit: parts.exit,
            tr,
            timeout,
            backlog: VecDeque::new(),
            sync_n: 0,
            eof: false,
            exited: None,
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Writes one command line to standard input.
    pub fn cmd(&mut self, line: &str) -> Result<(), Failure> {
        self.tr.push(format!(
            "{}> {}",
            self.label,
            wire::abbreviate(&wire::escape(line.as_bytes()), SHOW_MAX)
        ));
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(Failure::violation(format!(
                "{}: standard input is already closed",
                self.label
            )));
        };
        let res = self.rt.block_on(async {
            tokio::time::timeout(self.timeout * 5, async {
                stdin.write_all(&bytes).await?;
                stdin.flush().await
            })
            .await
        });
        match res {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.tr
                    .note(format!("{}: writing the command failed: {e}", self.label));
                Err(Failure::violation(format!(
                    "{}: the client does not take commands any more (its standard input is \
                     closed: {e}); did it exit?",
                    self.label
                ))
                .req("AUT-3"))
            }
            Err(_) => Err(Failure::violation(format!(
                "{}: the client stopped reading its standard input",
                self.label
            ))
            .req("AUT-3")),
        }
    }

    /// Closes standard input (end of input: the client should quit, [AUT-4]).
    pub fn close_stdin(&mut self) {
        self.tr.note(format!(
            "{}: standard input closed by the suite",
            self.label
        ));
        if let Some(mut s) = self.stdin.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(self.timeout, s.shutdown()).await });
        }
    }

    /// Closes the suite's end of standard output: every later write of the client fails.
    pub fn close_stdout(&mut self) {
        self.tr.note(format!(
            "{}: the suite closed the read end of standard output (writes now fail)",
            self.label
        ));
        self.stdout = None;
    }

    /// The next event within `d` (the backlog first).
    pub fn next_within(&mut self, d: Duration) -> Result<Out, Failure> {
        if let Some(e) = self.backlog.pop_front() {
            return Ok(Out::Event(e));
        }
        self.read_within(d)
    }

    fn read_within(&mut self, d: Duration) -> Result<Out, Failure> {
        if self.eof {
            return Ok(Out::Eof);
        }
        let Some(lines) = self.stdout.as_mut() else {
            return Ok(Out::Eof);
        };
        let res = self
            .rt
            .block_on(async { tokio::time::timeout(d, lines.next_line()).await });
        let line = match res {
            Err(_) => return Ok(Out::Timeout),
            Ok(Err(e)) => {
                // Not UTF-8, or a read error.
                self.tr
                    .push(format!("{}< (unreadable output: {e})", self.label));
                return Err(Failure::violation(format!(
                    "{}: standard output is not UTF-8 JSON lines ({e})",
                    self.label
                ))
                .req("AUT-1"));
            }
            Ok(Ok(None)) => {
                self.eof = true;
                self.tr
                    .note(format!("{}: standard output closed", self.label));
                return Ok(Out::Eof);
            }
            Ok(Ok(Some(l))) => l,
        };
        self.tr.push(format!(
            "{}< {}",
            self.label,
            wire::abbreviate(&line, SHOW_MAX)
        ));
        parse_event(&line).map(Out::Event).map_err(|why| {
            Failure::violation(format!(
                "{}: a line on standard output is not an event: {why}",
                self.label
            ))
            .req("AUT-1")
            .expected("one JSON object per line with a string member \"event\"")
            .got(wire::abbreviate(&line, SHOW_MAX))
        })
    }

    /// Waits for the first event of `kind` that `pred` accepts; other events are kept for
    /// later calls. `what` says what was expected, for the failure.
    pub fn expect(
        &mut self,
        kind: &str,
        what: &str,
        pred: impl Fn(&Event) -> bool,
    ) -> Result<Event, Failure> {
        self.expect_within(kind, what, self.timeout, pred)
    }

    pub fn expect_within(
        &mut self,
        kind: &str,
        what: &str,
        d: Duration,
        pred: impl Fn(&Event) -> bool,
    ) -> Result<Event, Failure> {
        if let Some(i) = self.backlog.iter().position(|e| e.kind == kind && pred(e))
            && let Some(e) = self.backlog.remove(i)
        {
            return Ok(e);
        }
        let end = Instant::now() + d;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.read_within(left)? {
                Out::Event(e) if e.kind == kind && pred(&e) => return Ok(e),
                Out::Event(e) => self.backlog.push_back(e),
                other => {
                    let seen: Vec<String> = self
                        .backlog
                        .iter()
                        .map(|e| wire::abbreviate(&e.raw, 200))
                        .collect();
                    return Err(Failure::violation(format!(
                        "{}: no {kind} event where one was expected",
                        self.label
                    ))
                    .expected(what.to_owned())
                    .got(format!(
                        "{}{}",
                        match other {
                            Out::Eof => "standard output closed".to_owned(),
                            _ => format!("nothing more within {:.1} s", d.as_secs_f64()),
                        },
                        if seen.is_empty() {
                            String::new()
                        } else {
                            format!("; other events: {}", seen.join(" "))
                        }
                    )));
                }
            }
        }
    }

    /// Sends `sync <token>` and returns every event written before its answer (the
    /// backlog included), [AUT-2].
    pub fn sync(&mut self) -> Result<Vec<Event>, Failure> {
        self.sync_n += 1;
        let token = format!("s{}", self.sync_n);
        self.cmd(&format!("sync {token}"))?;
        let mut out: Vec<Event> = self.backlog.drain(..).collect();
        let end = Instant::now() + self.timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.read_within(left)? {
                Out::Event(e) if e.kind == "sync" && e.str("token") == token => return Ok(out),
                Out::Event(e) => out.push(e),
                other => {
                    return Err(Failure::violation(format!(
                        "{}: no answer to `sync {token}`",
                        self.label
                    ))
                    .req("AUT-2")
                    .expected(format!("{{\"event\":\"sync\",\"token\":\"{token}\"}}"))
                    .got(match other {
                        Out::Eof => "standard output closed".to_owned(),
                        _ => format!("nothing within {:.1} s", self.timeout.as_secs_f64()),
                    }));
                }
            }
        }
    }

    /// Reads every event until standard output closes (or `d`); returns them.
    pub fn drain_until_eof(&mut self, d: Duration) -> Result<Vec<Event>, Failure> {
        let mut out: Vec<Event> = self.backlog.drain(..).collect();
        let end = Instant::now() + d;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.read_within(left)? {
                Out::Event(e) => out.push(e),
                Out::Eof | Out::Timeout => return Ok(out),
            }
        }
    }

    /// Forgets the events read and not yet taken (e.g. the client's own `join` during
    /// registration, which a case does not judge); returns them.
    pub fn take_backlog(&mut self) -> Vec<Event> {
        self.backlog.drain(..).collect()
    }

    /// Puts events back at the front of the backlog (in order).
    pub fn unread(&mut self, events: Vec<Event>) {
        for e in events.into_iter().rev() {
            self.backlog.push_front(e);
        }
    }

    /// Waits for the exit status within `d`.
    pub fn wait_exit(&mut self, d: Duration) -> Option<i32> {
        if self.exited.is_some() {
            return self.exited;
        }
        let code = self.exit.wait(&self.rt, d);
        if let Some(c) = code {
            self.exited = Some(c);
            self.tr
                .note(format!("{}: exited with status {c}", self.label));
        }
        code
    }

    /// Ends the run at once (a crash).
    pub fn kill(&mut self) {
        if self.exited.is_none() {
            self.tr
                .note(format!("{}: killed by the suite (a crash)", self.label));
            self.exit.kill(&self.rt);
            self.exited = Some(-1);
        }
    }

    pub fn log_tail(&self) -> String {
        self.exit.log_tail()
    }
}

impl Drop for ClientRun {
    fn drop(&mut self) {
        if self.exited.is_none() {
            self.exit.kill(&self.rt);
        }
    }
}

/// Checks one line of standard output: a JSON object with a string member `event`.
pub fn parse_event(line: &str) -> Result<Event, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let kind = value
        .as_object()
        .ok_or("not a JSON object")?
        .get("event")
        .and_then(|v| v.as_str())
        .ok_or("no string member \"event\"")?
        .to_owned();
    Ok(Event {
        kind,
        value,
        raw: line.to_owned(),
    })
}
