//! The suite's end of a TCP connection with a client under test: the suite playing the
//! server (the client connected to the suite's listener) or a peer (a peer session, in
//! either direction). Lines, deadlines, barriers and the transcript.
//!
//! Transcript tags: on the server connection `S1:` is a line the suite (as the server)
//! sent and `C1:` a line the client sent; on peer session 1, `P1>` is a line the suite
//! (as the peer) sent and `P1<` one the client sent.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::conn::{Incoming, Line, judge_exact, judge_line, judge_with};
use crate::outcome::Failure;
use crate::transcript::Transcript;
use crate::wire;

const SHOW_MAX: usize = 400;
/// A client line longer than this without an LF is given up on.
const RECV_LINE_CAP: usize = 64 * 1024;

/// Which side the suite plays on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The suite is the server; the client connected to it.
    Server,
    /// The suite is a peer; a peer session.
    Peer,
}

/// One TCP connection between the suite and the client under test.
#[derive(Debug)]
pub struct Link {
    stream: TcpStream,
    buf: Vec<u8>,
    eof: Option<bool>,
    tr: Transcript,
    /// How the suite's lines are shown (`S1:` / `P1>`).
    pub sent_tag: String,
    /// How the client's lines are shown (`C1:` / `P1<`).
    pub recv_tag: String,
    timeout: Duration,
    seq: u32,
    /// Answer the client's `PING` with `PONG` and skip it (default on).
    pub auto_pong: bool,
    /// Lines the barrier found before its PONG.
    pub peer: Option<SocketAddr>,
}

impl Link {
    pub fn new(stream: TcpStream, role: Role, n: usize, tr: Transcript, timeout: Duration) -> Link {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_write_timeout(Some(timeout * 5));
        let (sent_tag, recv_tag) = match role {
            Role::Server => (format!("S{n}:"), format!("C{n}:")),
            Role::Peer => (format!("P{n}>"), format!("P{n}<")),
        };
        let peer = stream.peer_addr().ok();
        Link {
            stream,
            buf: Vec::new(),
            eof: None,
            tr,
            sent_tag,
            recv_tag,
            timeout,
            seq: 0,
            auto_pong: true,
            peer,
        }
    }

    /// Connects to the client under test (a peer session the suite opens).
    pub fn connect(
        addr: SocketAddr,
        n: usize,
        tr: Transcript,
        timeout: Duration,
    ) -> Result<Link, Failure> {
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
            tr.note(format!("P{n}: could not connect to {addr}: {e}"));
            Failure::violation(format!(
                "could not connect to the client at {addr} ({e}): it does not listen there"
            ))
        })?;
        tr.note(format!("P{n}: the suite connected to the client at {addr}"));
        Ok(Link::new(stream, Role::Peer, n, tr, timeout))
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.stream.local_addr().ok()
    }

    pub fn note(&self, s: impl AsRef<str>) {
        self.tr.note(s);
    }

    /// Sends `line` with CRLF.
    pub fn send(&mut self, line: &str) -> Result<(), Failure> {
        self.tr.push(format!(
            "{} {}",
            self.sent_tag,
            wire::abbreviate(&wire::escape(line.as_bytes()), SHOW_MAX)
        ));
        let mut b = line.as_bytes().to_vec();
        b.extend_from_slice(b"\r\n");
        self.write(&b)
    }

    /// Sends bytes exactly as given (terminators included), in one write; shown byte for
    /// byte.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.tr.push(format!(
            "{} {}   [raw bytes]",
            self.sent_tag,
            wire::abbreviate(&wire::escape(bytes), SHOW_MAX)
        ));
        self.write(bytes)
    }

    /// Sends several lines with CRLF in one write.
    pub fn send_batch(&mut self, lines: &[String]) -> Result<(), Failure> {
        let mut b = Vec::new();
        for l in lines {
            self.tr.push(format!(
                "{} {}",
                self.sent_tag,
                wire::abbreviate(&wire::escape(l.as_bytes()), SHOW_MAX)
            ));
            b.extend_from_slice(l.as_bytes());
            b.extend_from_slice(b"\r\n");
        }
        self.write(&b)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let res = self
            .stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush());
        res.map_err(|e| {
            self.tr.note(format!("{} write failed: {e}", self.sent_tag));
            Failure::violation(format!(
                "{} the client closed the connection (or stopped reading) while the suite was \
                 writing ({e})",
                self.sent_tag
            ))
        })
    }

    /// Answers a QUIT as a server does ([QUIT-1]): `BYE`, then the close.
    pub fn bye(&mut self) -> Result<(), Failure> {
        self.send("BYE")?;
        self.tr
            .note(format!("{} the suite closed the connection", self.sent_tag));
        let _ = self.stream.shutdown(Shutdown::Both);
        Ok(())
    }

    /// Closes the connection (no goodbye).
    pub fn close(self) {
        self.tr
            .note(format!("{} the suite closed the connection", self.sent_tag));
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// The next line from the client (a `PING` is answered and skipped when
    /// [`Link::auto_pong`]), the close, or a timeout.
    pub fn next_within(&mut self, d: Duration) -> Result<Incoming, Failure> {
        let end = Instant::now() + d;
        loop {
            let inc = self.recv_raw(end, d)?;
            if let Incoming::Line(l) = &inc
                && self.auto_pong
                && let Some(tok) = l.text.strip_prefix("PING:")
                && wire::is_ping_token(tok)
            {
                self.tr
                    .note(format!("{} answering the client's PING", self.sent_tag));
                self.send(&format!("PONG:{tok}"))?;
                continue;
            }
            return Ok(inc);
        }
    }

    pub fn next_event(&mut self) -> Result<Incoming, Failure> {
        self.next_within(self.timeout)
    }

    /// The next line, which must come within the deadline.
    pub fn line(&mut self, what: &str) -> Result<Line, Failure> {
        let inc = self.next_event()?;
        judge_line(inc, what, &self.recv_tag, "client")
    }

    /// The next line must be exactly `want`.
    pub fn expect(&mut self, want: &str) -> Result<(), Failure> {
        let inc = self.next_event()?;
        judge_exact(inc, want, &self.recv_tag, "client")
    }

    /// The next line must satisfy `check` (which says what is wrong otherwise).
    pub fn expect_with<T>(
        &mut self,
        what: &str,
        check: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, Failure> {
        let inc = self.next_event()?;
        judge_with(inc, what, &self.recv_tag, "client", check)
    }

    /// The next line must be `ERR:<code>:<len>:<text>` with that code.
    pub fn expect_err(&mut self, code: &str) -> Result<(), Failure> {
        self.expect_with(&format!("ERR:{code}:<len>:<text>"), |line| {
            let e = wire::parse_err(line).map_err(|why| {
                if line.starts_with("ERR:") {
                    format!("the ERR line breaks the grammar: {why}")
                } else {
                    format!("expected an ERR:{code} line")
                }
            })?;
            if e.code == code {
                Ok(())
            } else {
                Err(format!("wrong error code {} (expected {code})", e.code))
            }
        })
    }

    /// Sends `PING:<unique>` and returns every line the client sent before `PONG:<unique>`
    /// ([KA-2], [PEER-4]); lines that are the client's own PINGs are answered and skipped.
    pub fn ping_collect(&mut self) -> Result<Vec<Line>, Failure> {
        self.seq += 1;
        let tok = format!(
            "b{}x{}",
            self.sent_tag
                .trim_end_matches([':', '>'])
                .trim_start_matches(['S', 'P']),
            self.seq
        );
        self.send(&format!("PING:{tok}"))?;
        let want = format!("PONG:{tok}");
        let mut before = Vec::new();
        let end = Instant::now() + self.timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.next_within(left)? {
                Incoming::Line(l) if l.raw == want.as_bytes() => return Ok(before),
                Incoming::Line(l) => before.push(l),
                other => {
                    return Err(Failure::violation(format!(
                        "{} no PONG for the suite's PING (the barrier)",
                        self.recv_tag
                    ))
                    .expected(want)
                    .got(other.describe()));
                }
            }
        }
    }

    /// PING/PONG barrier: `PONG:<unique>` must be the client's very next line.
    pub fn barrier(&mut self) -> Result<(), Failure> {
        let before = self.ping_collect()?;
        match before.first() {
            None => Ok(()),
            Some(l) => Err(Failure::violation(format!(
                "{} the client sent a line where none was expected (PING/PONG barrier)",
                self.recv_tag
            ))
            .expected("the PONG to the suite's PING, and nothing before it".to_owned())
            .got(wire::escape(&l.raw))),
        }
    }

    /// The client must close the connection next (no further line).
    pub fn expect_closed(&mut self) -> Result<(), Failure> {
        match self.next_event()? {
            Incoming::Closed { .. } => Ok(()),
            other => Err(Failure::violation(format!(
                "{} the client did not close the connection",
                self.recv_tag
            ))
            .expected("the connection closed by the client".to_owned())
            .got(other.describe())),
        }
    }

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
                self.tr.push(format!(
                    "{} {}{}",
                    self.recv_tag,
                    wire::abbreviate(&wire::escape(&raw), SHOW_MAX),
                    if crlf { "" } else { "   [ended by a bare LF]" }
                ));
                return Ok(Incoming::Line(Line { raw, text, crlf }));
            }
            if let Some(reset) = self.eof {
                let leftover = std::mem::take(&mut self.buf);
                self.tr.note(format!(
                    "{} the client {} the connection",
                    self.recv_tag,
                    if reset { "reset" } else { "closed" }
                ));
                self.eof = Some(reset);
                return Ok(Incoming::Closed { reset, leftover });
            }
            if self.buf.len() > RECV_LINE_CAP {
                return Err(Failure::violation(format!(
                    "{} the client sent more than {RECV_LINE_CAP} bytes without a line end \
                     (MAX_LINE is 2048)",
                    self.recv_tag
                )));
            }
            let now = Instant::now();
            if now >= end {
                return Ok(Incoming::Timeout(total));
            }
            let _ = self.stream.set_read_timeout(Some(end - now));
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => self.eof = Some(false),
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.eof = Some(true),
            }
        }
    }
}
