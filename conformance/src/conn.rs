//! A client connection to the server under test, played by the suite over a raw socket.
//!
//! Every wait has a deadline; nothing sleeps. To show that something did NOT arrive, a case
//! sends `PING:<unique>` and requires `PONG:<unique>` to be the next line ([`Conn::barrier`]):
//! by [GEN-4] anything the server produced before handling that PING comes before the PONG.
//!
//! Cases run in parallel against one server, so a registered connection also receives
//! `UPDATE` and `BROADCAST` lines about the users of other cases. Every case's nicks start
//! with its own prefix; a well-formed `UPDATE:JOIN|LEAVE` or `BROADCAST` line naming a
//! nick without that prefix is about another case and is skipped (and counted). Anything
//! else, including a malformed line, reaches the case. A keepalive `PING` from the server
//! ([KA-3]) is answered with its `PONG` and skipped.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::outcome::Failure;
use crate::transcript::Transcript;
use crate::wire;

/// Longest transcript rendering of one line.
const SHOW_MAX: usize = 400;
/// The suite gives up on a server line longer than this (MAX_LINE is 2048).
const RECV_LINE_CAP: usize = 64 * 1024;

/// One line received, without its terminator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub raw: Vec<u8>,
    /// The line as text (invalid UTF-8 replaced; `raw` is authoritative).
    pub text: String,
    /// Whether it ended in CRLF (else a bare LF).
    pub crlf: bool,
}

/// What the next read brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Line(Line),
    /// The server closed the connection (or reset it); `leftover` are bytes after the last LF.
    Closed {
        reset: bool,
        leftover: Vec<u8>,
    },
    /// Nothing within the deadline.
    Timeout(Duration),
}

impl Incoming {
    /// How a failure message shows it.
    pub fn describe(&self) -> String {
        match self {
            Incoming::Line(l) => wire::abbreviate(&wire::escape(&l.raw), SHOW_MAX),
            Incoming::Closed { reset, leftover } => {
                let mut s = if *reset {
                    "the connection reset by the server".to_owned()
                } else {
                    "the connection closed by the server".to_owned()
                };
                if !leftover.is_empty() {
                    s.push_str(&format!(
                        " (after {} bytes with no line end: {})",
                        leftover.len(),
                        wire::abbreviate(&wire::escape(leftover), 80)
                    ));
                }
                s
            }
            Incoming::Timeout(d) => format!("nothing within {:.1} s", d.as_secs_f64()),
        }
    }
}

/// A connection to the server under test.
#[derive(Debug)]
pub struct Conn {
    n: usize,
    stream: TcpStream,
    buf: Vec<u8>,
    eof: Option<bool>,
    tr: Transcript,
    prefix: String,
    timeout: Duration,
    seq: u32,
    quiet: bool,
    skipped: usize,
    quiet_lines: usize,
    ignore_updates: bool,
    judge_all: bool,
    auto_pong: bool,
    /// Every line received ended in CRLF (checked by the FRM-7 case).
    pub all_crlf: bool,
    pub non_crlf_example: Option<String>,
}

impl Conn {
    /// Connects to `addr` as connection number `n`; failure is a target ERROR.
    pub fn connect(
        addr: SocketAddr,
        n: usize,
        tr: Transcript,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Conn, Failure> {
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
            tr.note(format!("C{n}: could not connect to {addr}: {e}"));
            Failure::target_error(format!(
                "could not connect to the server at {addr} ({e}); did it crash?"
            ))
        })?;
        // Each write goes out at once, so split writes really arrive split.
        let _ = stream.set_nodelay(true);
        // A server that stops reading must not hang the suite: a write that cannot proceed
        // for five line deadlines fails the case.
        let _ = stream.set_write_timeout(Some(timeout * 5));
        tr.note(format!("C{n} connected"));
        Ok(Conn {
            n,
            stream,
            buf: Vec::new(),
            eof: None,
            tr,
            prefix: prefix.to_ascii_lowercase(),
            timeout,
            seq: 0,
            quiet: false,
            skipped: 0,
            quiet_lines: 0,
            ignore_updates: false,
            judge_all: false,
            auto_pong: true,
            all_crlf: true,
            non_crlf_example: None,
        })
    }

    pub fn number(&self) -> usize {
        self.n
    }

    /// The default deadline for one expected line.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Skips every well-formed `UPDATE:JOIN|LEAVE` line (they stay in the transcript), for
    /// connections of cases whose subject is not joins and leaves.
    pub fn set_ignore_updates(&mut self, on: bool) {
        self.ignore_updates = on;
    }

    /// Judges every line, even an `UPDATE` or `BROADCAST` about a nick of no case of this
    /// run (for a case with a server of its own, [`crate::case::Needs::Dedicated`]).
    pub fn set_judge_all(&mut self, on: bool) {
        self.judge_all = on;
    }

    /// Whether a keepalive `PING` from the server is answered and skipped (the default), or
    /// returned to the case.
    pub fn set_auto_pong(&mut self, on: bool) {
        self.auto_pong = on;
    }

    pub fn ignores_updates(&self) -> bool {
        self.ignore_updates
    }

    /// In quiet mode lines received are counted, not written to the transcript.
    pub fn set_quiet(&mut self, quiet: bool) {
        if !quiet && self.quiet_lines > 0 {
            self.tr.push(format!(
                "S{}: … {} lines received and not shown",
                self.n, self.quiet_lines
            ));
            self.quiet_lines = 0;
        }
        self.quiet = quiet;
    }

    /// Sends `line` followed by CRLF, in one write.
    pub fn send(&mut self, line: &str) -> Result<(), Failure> {
        self.tr.push(format!(
            "C{}: {}",
            self.n,
            wire::abbreviate(&wire::escape(line.as_bytes()), SHOW_MAX)
        ));
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.write(&bytes)
    }

    /// Sends several lines, each with CRLF, in one write.
    pub fn send_batch(&mut self, lines: &[String]) -> Result<(), Failure> {
        let mut bytes = Vec::new();
        for l in lines {
            self.tr.push(format!(
                "C{}: {}",
                self.n,
                wire::abbreviate(&wire::escape(l.as_bytes()), SHOW_MAX)
            ));
            bytes.extend_from_slice(l.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        self.tr.note(format!(
            "C{}: the {} lines above went out in one write",
            self.n,
            lines.len()
        ));
        self.write(&bytes)
    }

    /// Writes bytes exactly as given (terminators included), in one write.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.tr.push(format!(
            "C{}> {}",
            self.n,
            wire::abbreviate(&wire::escape(bytes), SHOW_MAX)
        ));
        self.write(bytes)
    }

    /// Writes bytes without a transcript entry (the caller notes what it sent).
    pub fn send_raw_quiet(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.write(bytes)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let res = self
            .stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush());
        res.map_err(|e| {
            self.tr.note(format!("C{}: write failed: {e}", self.n));
            let why = if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                "the server stopped reading what the suite was writing"
            } else {
                "the connection was closed by the server while the suite was writing"
            };
            Failure::violation(format!("C{}: {why} ({e})", self.n))
        })
    }

    /// Closes the sending half (the server sees end of stream; the suite can still read).
    pub fn shutdown_write(&mut self) {
        self.tr
            .note(format!("C{}: shut down its sending half", self.n));
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Closes the connection abruptly (no QUIT).
    pub fn close(self) {
        self.tr.note(format!("C{}: closed the connection", self.n));
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// The next line or event, skipping lines about other cases' users, within `deadline`.
    pub fn next_within(&mut self, deadline: Duration) -> Result<Incoming, Failure> {
        let end = Instant::now() + deadline;
        loop {
            let inc = self.recv_raw(end, deadline)?;
            if let Incoming::Line(l) = &inc {
                if !self.judge_all && self.is_foreign(&l.text) {
                    self.skipped += 1;
                    continue;
                }
                if self.ignore_updates && is_update(&l.text) {
                    continue;
                }
                if let Some(tok) = l.text.strip_prefix("PING:")
                    && self.auto_pong
                    && wire::is_ping_token(tok)
                {
                    let reply = format!("PONG:{tok}");
                    self.tr.note(format!(
                        "C{}: answering the server's keepalive PING",
                        self.n
                    ));
                    self.send(&reply)?;
                    continue;
                }
            }
            return Ok(inc);
        }
    }

    /// The next line or event, within the default deadline.
    pub fn next_event(&mut self) -> Result<Incoming, Failure> {
        self.next_within(self.timeout)
    }

    /// The next line, which must come within the default deadline.
    pub fn line(&mut self, what: &str) -> Result<Line, Failure> {
        let inc = self.next_event()?;
        judge_line(inc, what, &format!("S{}:", self.n), "server")
    }

    /// The next line must be exactly `want`.
    pub fn expect(&mut self, want: &str) -> Result<(), Failure> {
        let inc = self.next_event()?;
        judge_exact(inc, want, &format!("S{}:", self.n), "server")
    }

    /// The next line must satisfy `check` (which says what is wrong otherwise).
    pub fn expect_with<T>(
        &mut self,
        what: &str,
        check: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, Failure> {
        let inc = self.next_event()?;
        judge_with(inc, what, &format!("S{}:", self.n), "server", check)
    }

    /// The next line must be `ERR:<code>:<len>:<text>` with that code and a `<len>` equal
    /// to the octet count of the text (the human text itself is not judged).
    pub fn expect_err(&mut self, code: &str) -> Result<String, Failure> {
        let what = format!("ERR:{code}:<len>:<text>");
        self.expect_with(&what, |line| {
            let e = wire::parse_err(line).map_err(|why| {
                if line.starts_with("ERR:") {
                    format!("the ERR line breaks the grammar: {why}")
                } else {
                    format!("expected an ERR:{code} line")
                }
            })?;
            if e.code == code {
                Ok(e.text)
            } else {
                Err(format!("wrong error code {} (expected {code})", e.code))
            }
        })
    }

    /// The next line must be an ERR with one of `codes`; returns the code.
    pub fn expect_err_one_of(&mut self, codes: &[&str]) -> Result<String, Failure> {
        let what = codes
            .iter()
            .map(|c| format!("ERR:{c}:<len>:<text>"))
            .collect::<Vec<_>>()
            .join(" or ");
        self.expect_with(&what, |line| {
            let e = wire::parse_err(line).map_err(|why| format!("not a valid ERR line: {why}"))?;
            if codes.contains(&e.code.as_str()) {
                Ok(e.code)
            } else {
                Err(format!("wrong error code {}", e.code))
            }
        })
    }

    /// PING/PONG barrier: sends `PING:<unique>` and requires `PONG:<unique>` to be the very
    /// next line. Proves that nothing else was pending for this connection.
    pub fn barrier(&mut self) -> Result<(), Failure> {
        self.seq += 1;
        let tok = format!("bar{}x{}", self.n, self.seq);
        self.send(&format!("PING:{tok}"))?;
        let want = format!("PONG:{tok}");
        let inc = self.next_event()?;
        match &inc {
            Incoming::Line(l) if l.raw == want.as_bytes() => Ok(()),
            _ => Err(Failure::violation(format!(
                "S{}: a line arrived that should not have (PING/PONG barrier)",
                self.n
            ))
            .expected(format!("{want} and nothing before it"))
            .got(inc.describe())),
        }
    }

    /// The server must close the connection next (no further line), within `deadline`.
    pub fn expect_closed_within(&mut self, deadline: Duration) -> Result<(), Failure> {
        let inc = self.next_within(deadline)?;
        match inc {
            Incoming::Closed { .. } => Ok(()),
            other => Err(Failure::violation(format!(
                "S{}: the server did not close the connection",
                self.n
            ))
            .expected("the connection closed by the server".to_owned())
            .got(other.describe())),
        }
    }

    pub fn expect_closed(&mut self) -> Result<(), Failure> {
        self.expect_closed_within(self.timeout)
    }

    /// How many lines about other cases' users were skipped.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Whether a line is an event about another case's user.
    fn is_foreign(&self, text: &str) -> bool {
        let nick = if let Some(rest) = text
            .strip_prefix("UPDATE:JOIN:")
            .or_else(|| text.strip_prefix("UPDATE:LEAVE:"))
        {
            match rest.split_once(':') {
                Some((nick, addr)) => match wire::split_address(addr) {
                    Some((_, _, "")) => nick,
                    _ => return false,
                },
                None => return false,
            }
        } else if let Some(rest) = text.strip_prefix("BROADCAST:") {
            match rest.split_once(':') {
                Some((nick, tf)) if wire::text_field(tf).is_ok() => nick,
                _ => return false,
            }
        } else {
            return false;
        };
        wire::is_nick(nick) && !nick.to_ascii_lowercase().starts_with(&self.prefix)
    }

    /// Reads until a whole line, the end of the stream, or `end`.
    fn recv_raw(&mut self, end: Instant, total: Duration) -> Result<Incoming, Failure> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut raw: Vec<u8> = self.buf.drain(..=pos).collect();
                raw.pop();
                let crlf = raw.last() == Some(&b'\r');
                if crlf {
                    raw.pop();
                }
                let text = String::from_utf8_lossy(&raw).into_owned();
                let line = Line { raw, text, crlf };
                if !line.crlf && self.all_crlf {
                    self.all_crlf = false;
                    self.non_crlf_example = Some(wire::escape(&line.raw));
                }
                if self.quiet {
                    self.quiet_lines += 1;
                } else if self.judge_all || !self.is_foreign(&line.text) {
                    let mark = if line.crlf {
                        ""
                    } else {
                        "   [ended by a bare LF]"
                    };
                    self.tr.push(format!(
                        "S{}: {}{mark}",
                        self.n,
                        wire::abbreviate(&wire::escape(&line.raw), SHOW_MAX)
                    ));
                }
                return Ok(Incoming::Line(line));
            }
            if let Some(reset) = self.eof {
                let leftover = std::mem::take(&mut self.buf);
                if !self.quiet || self.quiet_lines > 0 {
                    self.set_quiet(false);
                }
                self.tr.note(format!(
                    "S{}: {}",
                    self.n,
                    if reset {
                        "the server reset the connection"
                    } else {
                        "the server closed the connection"
                    }
                ));
                // Keep reporting the close if asked again.
                self.eof = Some(reset);
                return Ok(Incoming::Closed { reset, leftover });
            }
            if self.buf.len() > RECV_LINE_CAP {
                return Err(Failure::violation(format!(
                    "S{}: the server sent more than {RECV_LINE_CAP} bytes without a line end \
                     (MAX_LINE is 2048)",
                    self.n
                ))
                .req("FRM-7"));
            }
            let now = Instant::now();
            if now >= end {
                return Ok(Incoming::Timeout(total));
            }
            let _ = self.stream.set_read_timeout(Some(end - now));
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => self.eof = Some(false),
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.eof = Some(true),
            }
        }
    }

    /// Reads and discards everything until the server closes, or `deadline`; returns the
    /// number of bytes and the last complete line (for the slow-reader case).
    pub fn drain(&mut self, deadline: Duration) -> Result<Drained, Failure> {
        let end = Instant::now() + deadline;
        let mut d = Drained::default();
        loop {
            if let Some(pos) = self.buf.iter().rposition(|&b| b == b'\n') {
                let chunk: Vec<u8> = self.buf.drain(..=pos).collect();
                d.bytes += chunk.len();
                for l in chunk.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    let l = l.strip_suffix(b"\r").unwrap_or(l);
                    d.lines += 1;
                    d.penultimate = d.last.take();
                    d.last = Some(String::from_utf8_lossy(l).into_owned());
                }
            }
            if let Some(reset) = self.eof {
                d.closed = true;
                d.reset = reset;
                d.leftover = self.buf.len();
                self.tr.note(format!(
                    "S{}: {} bytes in {} lines drained; last line: {}; then the server {} the \
                     connection",
                    self.n,
                    d.bytes,
                    d.lines,
                    d.last.as_deref().unwrap_or("(none)"),
                    if reset { "reset" } else { "closed" }
                ));
                return Ok(d);
            }
            let now = Instant::now();
            if now >= end {
                self.tr.note(format!(
                    "S{}: {} bytes in {} lines drained; the connection still open after {:.1} s",
                    self.n,
                    d.bytes,
                    d.lines,
                    deadline.as_secs_f64()
                ));
                return Ok(d);
            }
            let _ = self.stream.set_read_timeout(Some(end - now));
            let mut chunk = vec![0u8; 256 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => self.eof = Some(false),
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.eof = Some(true),
            }
        }
    }

    /// The local address of the suite's end (for notes).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.stream.local_addr().ok()
    }
}

/// A well-formed `UPDATE:JOIN|LEAVE:<nick>:<ip>:<port>` line.
fn is_update(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("UPDATE:JOIN:")
        .or_else(|| text.strip_prefix("UPDATE:LEAVE:"))
    else {
        return false;
    };
    match rest.split_once(':') {
        Some((nick, addr)) => {
            wire::is_nick(nick) && matches!(wire::split_address(addr), Some((_, _, "")))
        }
        None => false,
    }
}

/// What [`Conn::drain`] found.
#[derive(Debug, Default, Clone)]
pub struct Drained {
    pub bytes: usize,
    pub lines: usize,
    pub last: Option<String>,
    pub penultimate: Option<String>,
    pub closed: bool,
    pub reset: bool,
    pub leftover: usize,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.skipped > 0 {
            self.tr.note(format!(
                "S{}: {} lines about other cases' users were skipped",
                self.n, self.skipped
            ));
            self.skipped = 0;
        }
    }
}

/// Judging what came next, shared by server connections (here) and client links
/// (`client::link`): `tag` names the receiving end in failures (`S3:`), `sender` the
/// other end (`server`, `client`).
pub(crate) fn judge_line(
    inc: Incoming,
    what: &str,
    tag: &str,
    sender: &str,
) -> Result<Line, Failure> {
    match inc {
        Incoming::Line(l) => Ok(l),
        other => Err(no_line(&other, what, tag, sender)),
    }
}

/// The next line must be exactly `want` (see [`judge_line`]).
pub(crate) fn judge_exact(
    inc: Incoming,
    want: &str,
    tag: &str,
    sender: &str,
) -> Result<(), Failure> {
    match &inc {
        Incoming::Line(l) if l.raw == want.as_bytes() => Ok(()),
        _ => Err(Failure::violation(format!(
            "{tag} the {sender}'s next line is not the one expected"
        ))
        .expected(want.to_owned())
        .got(inc.describe())),
    }
}

/// The next line must satisfy `check`, which says what is wrong otherwise (see
/// [`judge_line`]).
pub(crate) fn judge_with<T>(
    inc: Incoming,
    what: &str,
    tag: &str,
    sender: &str,
    check: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, Failure> {
    match &inc {
        Incoming::Line(l) => check(&l.text).map_err(|why| {
            Failure::violation(format!("{tag} {why}"))
                .expected(what.to_owned())
                .got(inc.describe())
        }),
        _ => Err(no_line(&inc, what, tag, sender)),
    }
}

fn no_line(inc: &Incoming, what: &str, tag: &str, sender: &str) -> Failure {
    Failure::violation(format!(
        "{tag} no line from the {sender} where {what} was expected"
    ))
    .expected(what.to_owned())
    .got(inc.describe())
}
