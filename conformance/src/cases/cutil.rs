//! Helpers of the client cases: the suite as the server of a hybrid client, as its peers,
//! and as the bootstrap peer of a serverless client. Expectations are written from
//! PROTOCOL.md (§13–§18, Appendix A), never through the `spec` crate.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::case::Ctx;
use crate::client::link::{Link, Role};
use crate::client::net::{Listener, Udp, free_tcp_port, free_udp_port};
use crate::client::process::{ClientRun, Event};
use crate::client::{Launch, Mode};
use crate::conn::{Incoming, Line};
use crate::outcome::{Failure, Under, fail};
use crate::wire;

/// How long a freshly launched client may take to connect (scaled).
pub const START: Duration = Duration::from_secs(10);

/// `<len>:<text>` with the octet count.
pub fn tf(text: &str) -> String {
    format!("{}:{text}", text.len())
}

/// A fresh 32-lowercase-hex token or ticket.
pub fn hex32() -> String {
    let a = RandomState::new().hash_one(std::time::Instant::now());
    let b = RandomState::new().hash_one(a ^ 0x9e37_79b9_7f4a_7c15);
    format!("{a:016x}{b:016x}")
}

/// Unix time now.
pub fn now() -> u64 {
    super::util::now_secs()
}

/// A hybrid client under test, with the suite as its server.
#[derive(Debug)]
pub struct Hyb {
    pub run: ClientRun,
    /// The server connection (`S1:` the suite, `C1:` the client).
    pub srv: Link,
    /// The suite's server listener, kept for restarts (tokens and shown ids are kept per
    /// server address, [CLI-6]).
    pub server: Listener,
    pub nick: String,
    /// `{port}`: the UDP port the client registers.
    pub port: u16,
    pub datadir: PathBuf,
    conns: usize,
}

impl Hyb {
    /// `127.0.0.1:<port>`, the address the client registers (Appendix A.1).
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The client's UDP address.
    pub fn udp(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Launches a client and accepts its server connection (nothing read yet).
    pub fn launch(ctx: &mut Ctx<'_>, role: &str) -> Result<Hyb, Failure> {
        let nick = ctx.nick(role);
        let port = free_udp_port()?;
        let timeout = ctx.timeout();
        let start = ctx.scaled(START);
        let tr = ctx.tr.clone();
        let env = ctx.client()?;
        let datadir = env.datadir(role)?;
        let server = Listener::bind(&env.rt, "127.0.0.1", tr.clone(), "the suite as server")?;
        let run = env.launch(&Launch {
            mode: Mode::Hybrid {
                server: server.addr.to_string(),
            },
            nick: nick.clone(),
            port: port.to_string(),
            datadir: datadir.clone(),
        })?;
        let mut run = run;
        let srv = accept_client(&server, &mut 0, &mut run, start, timeout)?;
        Ok(Hyb {
            run,
            srv,
            server,
            nick,
            port,
            datadir,
            conns: 1,
        })
    }

    /// Reads the REGISTER line, which must be the client's first line ([CLI-3]):
    /// `REGISTER:<nick>:127.0.0.1:<port>`, with `:<token>` when `token` is given
    /// ([CLI-6]).
    pub fn expect_register(&mut self, token: Option<&str>) -> Result<(), Failure> {
        let mut want = format!("REGISTER:{}:{}", self.nick, self.addr());
        if let Some(t) = token {
            want.push(':');
            want.push_str(t);
        }
        let l = self
            .srv
            .line("REGISTER as the client's first line")
            .under("CLI-3")?;
        if l.raw == want.as_bytes() {
            return Ok(());
        }
        let base = format!("REGISTER:{}:{}", self.nick, self.addr());
        let req = if l.text.starts_with(&base) && token.is_some()
            || l.text.starts_with(&format!("{base}:"))
        {
            "CLI-6"
        } else {
            "CLI-3"
        };
        Err(Failure::violation(format!(
            "{} the client's first line is not the REGISTER expected",
            self.srv.recv_tag
        ))
        .req(req)
        .expected(want)
        .got(wire::escape(&l.raw)))
    }

    /// Answers a REGISTER: `UPDATE:JOIN` for the client, an optional `TOKEN`, then the
    /// `LIST` reply of `others` and the client last; then expects the `ready` and `users`
    /// events ([AUT-1]).
    pub fn answer_register(
        &mut self,
        others: &[(String, String)],
        token: Option<&str>,
    ) -> Result<(), Failure> {
        let me = (self.nick.clone(), self.addr());
        let mut lines = vec![format!("UPDATE:JOIN:{}:{}", me.0, me.1)];
        if let Some(t) = token {
            lines.push(format!("TOKEN:{}:{t}", self.nick));
        }
        let mut all = others.to_vec();
        all.push(me);
        lines.push(list_line("LIST", &all));
        self.srv.send_batch(&lines)?;
        self.expect_ready(&all)
    }

    /// The `ready` event (own nick and `{port}`), then a `users` event naming `all`.
    pub fn expect_ready(&mut self, all: &[(String, String)]) -> Result<(), Failure> {
        let (nick, port) = (self.nick.clone(), u64::from(self.port));
        self.run
            .expect(
                "ready",
                &format!("{{\"event\":\"ready\",\"nick\":\"{nick}\",\"port\":{port}}}"),
                |e| e.str("nick") == nick && e.u64("port") == Some(port),
            )
            .under("AUT-1")?;
        expect_users(&mut self.run, all).under("AUT-1")?;
        // Events of the registration before `ready` (the own `join`) are not judged here.
        self.run.take_backlog();
        Ok(())
    }

    /// Launches a client and registers it with the suite: REGISTER checked ([CLI-3]),
    /// answered with JOIN, `TOKEN` if `token`, and LIST (`others`, then the client).
    pub fn start(
        ctx: &mut Ctx<'_>,
        role: &str,
        others: &[(String, String)],
        token: Option<&str>,
    ) -> Result<Hyb, Failure> {
        let mut h = Hyb::launch(ctx, role)?;
        h.expect_register(None)?;
        h.answer_register(others, token)?;
        Ok(h)
    }

    /// Ends the run with `quit`: QUIT on the wire, BYE from the suite, exit status 0
    /// ([AUT-4]).
    pub fn quit(&mut self) -> Result<(), Failure> {
        self.run.cmd("quit")?;
        expect_line_skipping(&mut self.srv, "QUIT", &["ACK:"]).under("AUT-4")?;
        self.srv.bye()?;
        let d = self.run.timeout() * 3;
        match self.run.wait_exit(d) {
            Some(0) => Ok(()),
            other => fail(
                "AUT-4",
                format!(
                    "after `quit`, QUIT and BYE, the client did not exit with status 0 ({})",
                    describe_exit(other, d)
                ),
            ),
        }
    }

    /// Launches the client again with the same `{datadir}`, `{port}` and `{server}`
    /// (after [`Hyb::quit`] or a kill), and accepts its connection.
    pub fn relaunch(&mut self, ctx: &mut Ctx<'_>) -> Result<(), Failure> {
        let timeout = ctx.timeout();
        let start = ctx.scaled(START);
        let l = Launch {
            mode: Mode::Hybrid {
                server: self.server.addr.to_string(),
            },
            nick: self.nick.clone(),
            port: self.port.to_string(),
            datadir: self.datadir.clone(),
        };
        self.run = ctx.client()?.launch(&l)?;
        self.srv = accept_client(&self.server, &mut self.conns, &mut self.run, start, timeout)?;
        Ok(())
    }

    /// PING/PONG on the server connection, then `sync`: the lines the client sent before
    /// the PONG, and the events written before the sync answer ([AUT-2]: the events of
    /// every server line before the PING are written before its PONG).
    pub fn settle(&mut self) -> Result<(Vec<Line>, Vec<Event>), Failure> {
        let lines = self.srv.ping_collect().under("KA-2")?;
        let events = self.run.sync()?;
        Ok((lines, events))
    }

    /// [`Hyb::settle`] where the client must have sent nothing.
    pub fn quiet(&mut self) -> Result<Vec<Event>, Failure> {
        let (lines, events) = self.settle()?;
        if let Some(l) = lines.first() {
            return Err(Failure::violation(format!(
                "{} the client sent a line where none was expected",
                self.srv.recv_tag
            ))
            .expected("nothing before the PONG to the suite's PING".to_owned())
            .got(wire::escape(&l.raw)));
        }
        Ok(events)
    }
}

/// Accepts the client's server connection (`C<n>:`); a client that does not connect in
/// time, or exits first, is an ERROR (it could not be run), with its exit status and stderr.
fn accept_client(
    server: &Listener,
    conns: &mut usize,
    run: &mut ClientRun,
    start: Duration,
    timeout: Duration,
) -> Result<Link, Failure> {
    *conns += 1;
    let end = std::time::Instant::now() + start;
    loop {
        let left = end.saturating_duration_since(std::time::Instant::now());
        // In slices, so that a client that exits at once is reported at once.
        let slice = left.min(Duration::from_millis(200));
        if let Some(l) = server.accept_within(slice, Role::Server, *conns, timeout)? {
            return Ok(l);
        }
        let exited = run.wait_exit(Duration::ZERO);
        if exited.is_some() || left.is_zero() {
            let tail = run.log_tail();
            return Err(Failure::target_error(format!(
                "the client did not connect to the suite's server at {} ({}){}",
                server.addr,
                describe_exit(exited, start),
                if tail.is_empty() {
                    String::new()
                } else {
                    format!("\nits stderr:\n{tail}")
                }
            )));
        }
    }
}

/// `LIST:<nick>:<addr>...` (or `LISTPART`).
pub fn list_line(verb: &str, entries: &[(String, String)]) -> String {
    let mut s = verb.to_owned();
    for (n, a) in entries {
        s.push(':');
        s.push_str(n);
        s.push(':');
        s.push_str(a);
    }
    s
}

/// Splits `ip:port` as written in a line (brackets kept) into the IP without brackets and
/// the port.
pub fn ip_port(addr: &str) -> (String, u64) {
    let (ip, port) = addr.rsplit_once(':').unwrap_or((addr, "0"));
    (
        ip.trim_start_matches('[').trim_end_matches(']').to_owned(),
        port.parse().unwrap_or(0),
    )
}

/// Whether an event's `ip` member names `ip` (with or without brackets: Appendix A.3 does
/// not say).
fn same_ip(got: &str, want: &str) -> bool {
    got.trim_start_matches('[').trim_end_matches(']') == want
}

/// Whether an event names this user (`nick`, `ip`, `port`).
pub fn names_user(v: &serde_json::Value, nick: &str, addr: &str) -> bool {
    let (ip, port) = ip_port(addr);
    v.get("nick").and_then(|x| x.as_str()) == Some(nick)
        && v.get("ip")
            .and_then(|x| x.as_str())
            .is_some_and(|g| same_ip(g, &ip))
        && v.get("port").and_then(|x| x.as_u64()) == Some(port)
}

/// The next `users` event must name exactly `all`, in order.
pub fn expect_users(run: &mut ClientRun, all: &[(String, String)]) -> Result<Event, Failure> {
    let want: Vec<String> = all
        .iter()
        .map(|(n, a)| {
            let (ip, port) = ip_port(a);
            format!("{{\"nick\":\"{n}\",\"ip\":\"{ip}\",\"port\":{port}}}")
        })
        .collect();
    let e = run.expect("users", "{\"event\":\"users\",\"users\":[...]}", |_| true)?;
    let got = e
        .value
        .get("users")
        .and_then(|u| u.as_array())
        .cloned()
        .unwrap_or_default();
    let ok = got.len() == all.len() && got.iter().zip(all).all(|(g, (n, a))| names_user(g, n, a));
    if ok {
        Ok(e)
    } else {
        Err(Failure::violation(
            "the users event does not name exactly the users of the LIST reply, in order",
        )
        .expected(format!("\"users\":[{}]", want.join(",")))
        .got(e.raw.clone()))
    }
}

/// Reads the client's lines until one equal to `want`, skipping lines that start with one
/// of `skip` (e.g. ACKs still on their way); anything else fails.
pub fn expect_line_skipping(link: &mut Link, want: &str, skip: &[&str]) -> Result<(), Failure> {
    loop {
        let inc = link.next_event()?;
        match &inc {
            Incoming::Line(l) if l.raw == want.as_bytes() => return Ok(()),
            Incoming::Line(l) if skip.iter().any(|s| l.text.starts_with(s)) => continue,
            _ => {
                return Err(Failure::violation(format!(
                    "{} the client's next line is not the one expected",
                    link.recv_tag
                ))
                .expected(want.to_owned())
                .got(inc.describe()));
            }
        }
    }
}

/// How an exit wait ended, for messages.
pub fn describe_exit(code: Option<i32>, d: Duration) -> String {
    match code {
        Some(c) => format!("it exited with status {c}"),
        None => format!("it had not exited after {:.1} s", d.as_secs_f64()),
    }
}

/// The events of a list that are of one of `kinds`.
pub fn only<'e>(events: &'e [Event], kinds: &[&str]) -> Vec<&'e Event> {
    events
        .iter()
        .filter(|e| kinds.contains(&e.kind.as_str()))
        .collect()
}

/// A `message` event with these members.
pub fn is_message(e: &Event, from: &str, text: &str, via: &str, id: Option<u64>) -> bool {
    e.kind == "message"
        && e.str("from") == from
        && e.str("text") == text
        && e.str("via") == via
        && (id.is_none() || e.u64("id") == id)
}

/// Fails unless exactly one event of `events` satisfies `pred` (and `kind` events other
/// than it are absent); `what` describes it.
pub fn exactly_one(
    events: &[Event],
    kind: &str,
    what: &str,
    pred: impl Fn(&Event) -> bool,
) -> Result<(), Failure> {
    let of_kind: Vec<&Event> = events.iter().filter(|e| e.kind == kind).collect();
    let hits = of_kind.iter().filter(|e| pred(e)).count();
    if hits == 1 && of_kind.len() == 1 {
        return Ok(());
    }
    Err(Failure::violation(if hits == 0 {
        format!("no {kind} event where one was expected")
    } else {
        format!(
            "{} {kind} events where exactly one was expected",
            of_kind.len()
        )
    })
    .expected(what.to_owned())
    .got(if of_kind.is_empty() {
        "none".to_owned()
    } else {
        of_kind
            .iter()
            .map(|e| e.raw.clone())
            .collect::<Vec<_>>()
            .join(" ")
    }))
}

/// Fails if any event of `events` is of one of `kinds` (what must not have been shown).
pub fn none_of(events: &[Event], kinds: &[&str], why: &str) -> Result<(), Failure> {
    match events.iter().find(|e| kinds.contains(&e.kind.as_str())) {
        None => Ok(()),
        Some(e) => Err(Failure::violation(why.to_owned())
            .expected(format!("no {} event", kinds.join("/")))
            .got(e.raw.clone())),
    }
}

/// `MSG:<id>:<from>:<time>:<len>:<text>` as the client sent it: checked against the
/// grammar, the nick and the text; returns (id, time).
pub fn parse_msg(line: &str, from: &str, text: &str) -> Result<(u64, u64), String> {
    super::util::parse_msg(line, from, text)
}

/// The suite as a peer that listens: a TCP listener (on `ip`).
pub fn peer_listener(ctx: &mut Ctx<'_>, ip: &str, what: &str) -> Result<Listener, Failure> {
    let tr = ctx.tr.clone();
    let env = ctx.client()?;
    Listener::bind(&env.rt, ip, tr, what)
}

/// The suite's UDP socket (a peer's registered address).
pub fn peer_udp(ctx: &Ctx<'_>) -> Result<Udp, Failure> {
    Udp::bind("127.0.0.1", ctx.tr.clone())
}

/// A second loopback address (127.0.0.2) when the system has it, else 127.0.0.1: lets a
/// case tell the inviter's registered IP from a datagram's source ([DIR-2]).
pub fn other_loopback() -> &'static str {
    static IP: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    IP.get_or_init(|| {
        if std::net::TcpListener::bind("127.0.0.2:0").is_ok() {
            "127.0.0.2"
        } else {
            "127.0.0.1"
        }
    })
}

/// A serverless client under test, with the suite as its bootstrap peer.
#[derive(Debug)]
pub struct Mesh {
    pub run: ClientRun,
    pub nick: String,
    /// `{port}`: the TCP port it listens on.
    pub port: u16,
    pub datadir: PathBuf,
    /// The bootstrap listener (`{peer}`).
    pub boot: Listener,
    pub sessions: usize,
}

impl Mesh {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Launches a serverless client whose `{peer}` is a listener of the suite.
    pub fn launch(ctx: &mut Ctx<'_>, role: &str) -> Result<Mesh, Failure> {
        let nick = ctx.nick(role);
        let port = free_tcp_port()?;
        let boot = peer_listener(ctx, "127.0.0.1", "the suite as bootstrap peer {peer}")?;
        let env = ctx.client()?;
        let datadir = env.datadir(role)?;
        let run = env.launch(&Launch {
            mode: Mode::Serverless {
                peer: boot.addr.to_string(),
            },
            nick: nick.clone(),
            port: port.to_string(),
            datadir: datadir.clone(),
        })?;
        Ok(Mesh {
            run,
            nick,
            port,
            datadir,
            boot,
            sessions: 0,
        })
    }

    /// Launches again with the same placeholders.
    pub fn relaunch(&mut self, ctx: &mut Ctx<'_>) -> Result<(), Failure> {
        let l = Launch {
            mode: Mode::Serverless {
                peer: self.boot.addr.to_string(),
            },
            nick: self.nick.clone(),
            port: self.port.to_string(),
            datadir: self.datadir.clone(),
        };
        self.run = ctx.client()?.launch(&l)?;
        Ok(())
    }

    /// The `ready` event with `{port}`.
    pub fn expect_ready(&mut self) -> Result<(), Failure> {
        let (nick, port) = (self.nick.clone(), u64::from(self.port));
        self.run
            .expect_within(
                "ready",
                &format!("{{\"event\":\"ready\",\"nick\":\"{nick}\",\"port\":{port}}}"),
                self.run.timeout() * 5,
                |e| e.str("nick") == nick && e.u64("port") == Some(port),
            )
            .under("AUT-1")
            .map(|_| ())
    }

    /// Accepts the client's connection to the bootstrap peer ([MESH-3]); its first line
    /// must be `HELLO:<nick>` ([MESH-1]); answers `HELLO:<boot>` and expects the session
    /// to open.
    pub fn accept_boot(&mut self, ctx: &Ctx<'_>, boot: &str) -> Result<Link, Failure> {
        self.sessions += 1;
        let mut l = self
            .boot
            .accept(
                ctx.scaled(START),
                Role::Peer,
                self.sessions,
                ctx.timeout(),
                "a connection to the bootstrap peer {peer} at start",
            )
            .under("MESH-3")?;
        l.expect(&format!("HELLO:{}", self.nick)).under("MESH-1")?;
        l.send(&format!("HELLO:{boot}"))?;
        self.expect_session(boot, "open").under("MESH-1")?;
        Ok(l)
    }

    /// The suite connects to the client's `{port}` as `nick`: `HELLO:<nick>` first, the
    /// client must answer `HELLO:<own nick>` ([MESH-1]).
    pub fn connect_as(&mut self, ctx: &Ctx<'_>, nick: &str) -> Result<Link, Failure> {
        self.sessions += 1;
        let mut l = Link::connect(self.addr(), self.sessions, ctx.tr.clone(), ctx.timeout())
            .under("MESH-1")?;
        l.send(&format!("HELLO:{nick}"))?;
        l.expect(&format!("HELLO:{}", self.nick)).under("MESH-1")?;
        self.expect_session(nick, "open").under("MESH-1")?;
        Ok(l)
    }

    pub fn expect_session(&mut self, nick: &str, state: &str) -> Result<Event, Failure> {
        expect_session(&mut self.run, nick, state)
    }
}

/// A `session` event for `nick` in `state` (`open` / `closed`).
pub fn expect_session(run: &mut ClientRun, nick: &str, state: &str) -> Result<Event, Failure> {
    run.expect(
        "session",
        &format!(
            "{{\"event\":\"session\",\"nick\":\"{nick}\",\"state\":\"{state}\",\"addr\":...}}"
        ),
        |e| e.str("nick") == nick && e.str("state") == state,
    )
}
