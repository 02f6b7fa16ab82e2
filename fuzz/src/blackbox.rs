//! A black-box target that drives any server implementation over TCP
//! (`blackbox_server`). This is how an implementer fuzzes their own server.
//!
//! The server is started once per fuzzing process through the conformance suite's
//! launcher (`conformance::target::start_instance`), chosen by the suite's own
//! environment variables:
//!
//! - `P2PCHAT_SERVER_CMD="./my-server --port {port}"`: a launch command (`{port}`, and
//!   optionally `{db}`, are filled in; the suite's readiness check runs first);
//! - `P2PCHAT_SERVER_ADDR=127.0.0.1:1337`: a server already running;
//! - neither: the reference server, run in this process (so a panic in it is a crash
//!   with its stack trace, and its code is coverage-guided);
//! - `P2PCHAT_TIMEOUT_SCALE` multiplies every deadline.
//!
//! Each input becomes a short script (at most [`MAX_OPS`] steps on at most
//! [`MAX_CONNS`] connections): well-formed lines from the grammar, mutated lines, raw
//! bytes, split writes, several lines in one write, overlong lines, reads, half
//! closes and abrupt closes (RST). At the end every connection still open gets a
//! barrier (`PING:fzend`) and is read until its `PONG` or its close, with a
//! deadline; then a fresh connection must get `PONG` for `PING` (the suite's
//! self-check). Findings:
//!
//! - **crash**: the server stops answering on a fresh connection (or, in process,
//!   panics);
//! - **hang**: no `PONG` to the barrier, and no close, within the deadline;
//! - **malformed reply**: a line not ended by CRLF, longer than `MAX_LINE`, or not a
//!   `server-line` of `spec/PROTOCOL.md`.
//!
//! Each finding panics with the script that caused it (and the server's log tail), so
//! libFuzzer keeps the input; `cargo fuzz run blackbox_server <file>` replays it.
//! State on the server carries over between inputs (owned nicks and their tokens,
//! mailboxes): the harness remembers every token it was issued, so that later
//! scripts can register owned nicks too.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use conformance::config::TargetSettings;
use conformance::target::{InProcessServer, Instance, RunningServer, ServerKind};
use spec::limits::MAX_LINE;
use spec::{ClientLine, Nick, ServerLine, Token};

use crate::bytes::Bytes;
use crate::wiregen::{self, Known};

/// Most steps in one script.
pub const MAX_OPS: usize = 24;
/// Most connections in one script.
pub const MAX_CONNS: usize = 4;
/// Most octets of one raw write.
pub const RAW_MAX: usize = 2100;
/// Most octets one script writes.
const MAX_WRITTEN: usize = 64 * 1024;

/// The reference server, run in this process on its own thread.
#[derive(Debug)]
pub struct ReferenceInProcess;

#[derive(Debug)]
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer for Running {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn stop(mut self: Box<Self>) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl InProcessServer for ReferenceInProcess {
    fn name(&self) -> String {
        "reference-server (in-process)".into()
    }

    fn start(&self, db: Option<&Path>) -> Result<Box<dyn RunningServer>, String> {
        let mut config = reference_server::Config::default();
        if let Some(p) = db {
            config.db = reference_server::DbPath::File(p.to_path_buf());
        }
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("reference-server".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = addr_tx.send(Err(format!("tokio runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = addr_tx.send(Err(format!("bind: {e}")));
                            return;
                        }
                    };
                    match listener.local_addr() {
                        Ok(a) => {
                            let _ = addr_tx.send(Ok(a));
                        }
                        Err(e) => {
                            let _ = addr_tx.send(Err(format!("local_addr: {e}")));
                            return;
                        }
                    }
                    if let Err(e) = reference_server::run(listener, config, async {
                        let _ = stop_rx.await;
                    })
                    .await
                    {
                        panic!("the reference server failed: {e}");
                    }
                });
            })
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|e| format!("the reference server did not start: {e}"))??;
        Ok(Box::new(Running {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }))
    }
}

/// The server under test and what the harness learnt from it.
struct Target {
    instance: Option<Box<dyn Instance>>,
    describe: String,
    scale: f64,
    /// Tokens issued to the harness, by nick (case-folded).
    tokens: HashMap<String, (Nick, Token)>,
}

static TARGET: OnceLock<Mutex<Target>> = OnceLock::new();

/// Stops the server at exit (libFuzzer leaves through `exit`, which runs no Rust
/// destructors): a launched command must not outlive the fuzzer.
extern "C" fn stop_at_exit() {
    if let Some(m) = TARGET.get()
        && let Ok(mut t) = m.try_lock()
    {
        t.instance.take();
    }
}

fn target() -> &'static Mutex<Target> {
    TARGET.get_or_init(|| {
        let settings = match TargetSettings::from_env() {
            Ok(s) => s,
            Err(e) => panic!("bad P2PCHAT_* settings: {e}"),
        };
        let scale = settings.timeout_scale.unwrap_or(1.0);
        let kind = if let Some(template) = &settings.server_cmd {
            if !template.contains("{port}") {
                panic!("P2PCHAT_SERVER_CMD has no {{port}} placeholder: {template:?}");
            }
            ServerKind::Command {
                template: template.clone(),
                workdir: settings.workdir.clone(),
            }
        } else if let Some(addr) = &settings.server_addr {
            ServerKind::Address(addr.clone())
        } else {
            ServerKind::InProcess(Arc::new(ReferenceInProcess))
        };
        let describe = kind.describe();
        let instance = match conformance::target::start_instance(&kind, scale) {
            Ok(i) => i,
            Err(e) => panic!("cannot start the server under test ({describe}): {e}"),
        };
        eprintln!("blackbox_server: fuzzing {describe} at {}", instance.addr());
        // SAFETY: `atexit` only records a function pointer; `stop_at_exit` is an
        // `extern "C" fn` that never unwinds (it only takes a lock without blocking
        // and drops the instance).
        #[allow(unsafe_code)]
        unsafe {
            libc::atexit(stop_at_exit);
        }
        Mutex::new(Target {
            instance: Some(instance),
            describe,
            scale,
            tokens: HashMap::new(),
        })
    })
}

/// One connection of a script.
struct Conn {
    n: usize,
    stream: TcpStream,
    /// Everything received.
    got: Vec<u8>,
    /// The server closed (EOF or reset).
    eof: bool,
    /// We shut down our side for writing.
    half: bool,
    own: Option<Nick>,
}

impl Conn {
    /// Reads what arrives until `done(got)` or EOF or `deadline`.
    fn read_until(&mut self, deadline: Instant, done: impl Fn(&[u8]) -> bool) -> bool {
        let mut buf = [0u8; 16 * 1024];
        while !self.eof && !done(&self.got) {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let _ = self
                .stream
                .set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))));
            match self.stream.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(k) => self.got.extend_from_slice(&buf[..k]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.eof = true,
            }
            if self.got.len() > 8 << 20 {
                // Far more than a short script can cause; stop reading.
                return true;
            }
        }
        true
    }

    /// An abortive close (RST): no TIME_WAIT is left behind on our side. What was
    /// received is kept.
    fn abort(self) -> Gone {
        let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        drop(self.stream);
        Gone {
            n: self.n,
            got: self.got,
            eof: self.eof,
            half: self.half,
        }
    }
}

/// What is left of a connection once closed.
struct Gone {
    n: usize,
    got: Vec<u8>,
    eof: bool,
    half: bool,
}

fn has_line(got: &[u8], line: &[u8]) -> bool {
    got.split(|&b| b == b'\n').any(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        l == line
    })
}

/// Checks the bytes a connection received: CRLF-terminated lines, each at most
/// `MAX_LINE` octets and a `server-line`. `complete` says whether the stream
/// ended cleanly (then nothing may follow the last line end).
fn check_replies(c: &Gone, complete: bool) -> Result<Vec<ServerLine>, String> {
    let mut lines = Vec::new();
    let mut rest = &c.got[..];
    while let Some(p) = rest.iter().position(|&b| b == b'\n') {
        let raw = &rest[..p];
        rest = &rest[p + 1..];
        let Some(body) = raw.strip_suffix(b"\r") else {
            return Err(format!(
                "C{}: a line not ended by CRLF (FRM-7): {}",
                c.n,
                conformance::wire::escape(raw)
            ));
        };
        if body.len() > MAX_LINE {
            return Err(format!(
                "C{}: a line of {} octets, longer than MAX_LINE: {}",
                c.n,
                body.len(),
                conformance::wire::abbreviate(&String::from_utf8_lossy(body), 200)
            ));
        }
        match ServerLine::decode(body) {
            Ok(l) => lines.push(l),
            Err(e) => {
                return Err(format!(
                    "C{}: a reply that is not a server-line of PROTOCOL.md ({e}): {}",
                    c.n,
                    conformance::wire::escape(body)
                ));
            }
        }
    }
    if complete && c.eof && !rest.is_empty() {
        return Err(format!(
            "C{}: the connection closed after an unterminated line: {}",
            c.n,
            conformance::wire::escape(rest)
        ));
    }
    Ok(lines)
}

fn write_all(c: &mut Conn, data: &[u8], log: &mut String) {
    if c.half || c.eof {
        return;
    }
    let _ = writeln!(
        log,
        "C{} > {}",
        c.n,
        conformance::wire::abbreviate(&conformance::wire::escape(data), 300)
    );
    let _ = c.stream.set_write_timeout(Some(Duration::from_secs(2)));
    if c.stream.write_all(data).is_err() {
        // The server may have closed already; that is not a finding in itself.
        c.eof = true;
    }
}

fn wire(line: &ClientLine) -> Vec<u8> {
    let mut v = Vec::new();
    line.encode(&mut v);
    v
}

/// Runs one input against the server under test.
pub fn run(data: &[u8]) {
    let mut guard = match target().lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let t = &mut *guard;
    let Some(addr) = t.instance.as_ref().map(|i| i.addr()) else {
        return;
    };
    let scale = t.scale.max(0.01);
    let deadline = Duration::from_secs(5).mul_f64(scale);
    let mut known = Known::default();
    for (nick, tok) in t.tokens.values() {
        known.tokens.push((nick.clone(), *tok));
    }
    let mut b = Bytes::new(data);
    let mut conns: Vec<Conn> = Vec::new();
    let mut closed: Vec<Gone> = Vec::new();
    let mut opened = 0;
    let mut written = 0usize;
    let mut log = String::new();
    let mut finding: Option<String> = None;

    for _ in 0..MAX_OPS {
        if b.is_empty() || written > MAX_WRITTEN {
            break;
        }
        let op = b.u8() % 16;
        if op == 0 || conns.is_empty() {
            if opened < MAX_CONNS {
                opened += 1;
                match TcpStream::connect_timeout(&addr, deadline) {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        let _ = writeln!(log, "C{opened} connects");
                        conns.push(Conn {
                            n: opened,
                            stream: s,
                            got: Vec::new(),
                            eof: false,
                            half: false,
                            own: None,
                        });
                    }
                    Err(e) => {
                        finding = Some(format!("cannot connect to the server: {e}"));
                        break;
                    }
                }
            }
            if op == 0 || conns.is_empty() {
                continue;
            }
        }
        let i = b.below(conns.len());
        let c = &mut conns[i];
        match op {
            1..=4 => {
                let line = wiregen::client_line(&mut b, &known, c.own.as_ref());
                if let ClientLine::Register { nick, .. } = &line {
                    c.own = Some(nick.clone());
                }
                let bytes = wire(&line);
                written += bytes.len();
                write_all(c, &bytes, &mut log);
            }
            5 | 6 => {
                let line = wiregen::client_line(&mut b, &known, c.own.as_ref());
                let mut bytes = wire(&line);
                bytes.truncate(bytes.len() - 2);
                let mut m = wiregen::mutate(&mut b, &bytes);
                m.extend_from_slice(if b.bool() { b"\r\n" } else { b"\n" });
                written += m.len();
                write_all(c, &m, &mut log);
            }
            7 => {
                let raw = b.chunk(RAW_MAX).to_vec();
                written += raw.len();
                write_all(c, &raw, &mut log);
            }
            8 => {
                // One line in several writes.
                let line = wiregen::client_line(&mut b, &known, c.own.as_ref());
                let bytes = wire(&line);
                let pieces = 2 + b.below(4);
                let mut at = 0;
                for k in 0..pieces {
                    let end = if k + 1 == pieces {
                        bytes.len()
                    } else {
                        (at + 1 + b.below(bytes.len())).min(bytes.len())
                    };
                    write_all(c, &bytes[at..end], &mut log);
                    at = end;
                }
                written += bytes.len();
            }
            9 => {
                // Several lines in one write.
                let mut all = Vec::new();
                for _ in 0..2 + b.below(6) {
                    all.extend_from_slice(&wire(&wiregen::client_line(
                        &mut b,
                        &known,
                        c.own.as_ref(),
                    )));
                }
                written += all.len();
                write_all(c, &all, &mut log);
            }
            10 => {
                // An overlong line (or one exactly at the limit).
                let n = MAX_LINE - 1 + b.below(4);
                let mut v = vec![b'A'; n];
                v.extend_from_slice(b"\r\n");
                written += v.len();
                write_all(c, &v, &mut log);
            }
            11 => {
                let _ = writeln!(log, "C{} reads", c.n);
                let end = Instant::now() + Duration::from_millis(5);
                c.read_until(end, |_| false);
            }
            12 => {
                let _ = writeln!(log, "C{} shuts down its side (half close)", c.n);
                let _ = c.stream.shutdown(Shutdown::Write);
                c.half = true;
            }
            13 => {
                let c = conns.remove(i);
                let _ = writeln!(log, "C{} aborts (RST)", c.n);
                closed.push(c.abort());
            }
            14 => {
                let _ = writeln!(log, "C{} closes", c.n);
                let _ = c.stream.shutdown(Shutdown::Both);
                let c = conns.remove(i);
                closed.push(c.abort());
            }
            _ => {
                // A registration with a token the server issued before.
                if let Some((nick, tok)) = known
                    .tokens
                    .get(b.below(known.tokens.len().max(1)))
                    .cloned()
                {
                    let line = ClientLine::Register {
                        nick: nick.clone(),
                        address: wiregen::address(&mut b),
                        token: Some(tok),
                    };
                    c.own = Some(nick);
                    let bytes = wire(&line);
                    written += bytes.len();
                    write_all(c, &bytes, &mut log);
                }
            }
        }
    }

    // The barrier: every connection still open must answer PING:fzend or close.
    if finding.is_none() {
        for c in conns.iter_mut() {
            let end = Instant::now() + deadline;
            if c.half {
                c.read_until(end, |_| false);
                continue;
            }
            // End an unfinished line first, so that the barrier is a line of its own.
            write_all(c, b"\r\nPING:fzend\r\n", &mut log);
            if !c.read_until(end, |g| has_line(g, b"PONG:fzend")) {
                finding = Some(format!(
                    "hang: C{} got neither PONG:fzend nor a close within {deadline:?} of the barrier",
                    c.n
                ));
                break;
            }
        }
    }
    let open: Vec<Gone> = conns.into_iter().map(Conn::abort).collect();
    if finding.is_none() {
        for c in open.iter() {
            let complete = !c.half || c.eof;
            match check_replies(c, complete) {
                Ok(lines) => {
                    for l in &lines {
                        if let ServerLine::Token { nick, token } = l
                            && t.tokens.len() < 4096
                        {
                            t.tokens
                                .insert(nick.key().as_str().to_owned(), (nick.clone(), *token));
                        }
                    }
                }
                Err(e) => {
                    finding = Some(format!("malformed reply: {e}"));
                    break;
                }
            }
        }
    }
    if finding.is_none() {
        for c in closed.iter() {
            if let Err(e) = check_replies(c, false) {
                finding = Some(format!("malformed reply: {e}"));
                break;
            }
        }
    }
    let received: Vec<String> = open
        .iter()
        .chain(closed.iter())
        .map(|c| {
            format!(
                "C{} received{}: {}",
                c.n,
                if c.eof { " (then closed)" } else { "" },
                conformance::wire::abbreviate(&conformance::wire::escape(&c.got), 2000)
            )
        })
        .collect();
    // The server must still answer PING on a fresh connection.
    if finding.is_none()
        && let Err(e) = fresh_ping(addr, deadline)
    {
        finding = Some(format!(
            "crash or hang: after this script the server no longer answers PING on a fresh connection: {e}"
        ));
    }
    if let Some(f) = finding {
        let tail = t
            .instance
            .as_ref()
            .map(|i| i.log_tail())
            .unwrap_or_default();
        let name = t.describe.clone();
        // Stop a launched server before the fuzzer aborts, so that none is left behind.
        t.instance.take();
        drop(guard);
        panic!(
            "black-box finding against {name}\n{f}\n--- the script ---\n{log}--- what came back ---\n{}\n--- the server's output ---\n{tail}",
            received.join("\n")
        );
    }
}

/// The suite's self-check (`conformance::target::self_check`: a fresh connection,
/// `PING:selfcheck`, `PONG:selfcheck` back), retried when a signal interrupts it:
/// libFuzzer's timers interrupt blocking reads with `EINTR`, which the suite's check
/// (written for a process without such timers) takes for a failure.
fn fresh_ping(addr: SocketAddr, deadline: Duration) -> Result<(), String> {
    let end = Instant::now() + deadline;
    loop {
        match conformance::target::self_check(addr, end) {
            Err(e) if e.contains("Interrupted") && Instant::now() < end => continue,
            other => return other,
        }
    }
}
