//! The server hub fed arbitrary sequences of commands from several connections
//! (`hub_sequences` target; `reference-server/tests/hub_properties.rs` runs the same
//! harness under proptest).
//!
//! The harness is the reference server's driver without sockets: per connection a
//! [`Framer`], the spec's [`ServerConn`] state machine and an output queue bounded in
//! bytes like the driver's outbox; the shared [`Hub`] over the production SQLite store
//! (in memory) or the memory store. Input bytes become steps: connect, send a
//! well-formed line (whole or split), a mutated line, raw bytes, an overlong line,
//! disconnect abruptly, read a connection's queue, let time pass (timers: keepalive,
//! idle and partial-line timeouts), and bursts of registrations or blocks that make
//! long `LIST` and `BLOCKS` replies.
//!
//! Beside it runs a model written from `PROTOCOL.md` (who is registered, in which
//! order; owners and their tokens; blocks; every mailbox). After every request the
//! lines the hub produced, per connection and in order, must be exactly the ones the
//! model expects; and after every step:
//!
//! - every line sent is CRLF-terminated, at most `MAX_LINE` octets, and decodes as a
//!   `server-line` that re-encodes to the same octets ([FRM-7], [REG-2]);
//! - a nick belongs to at most one connection, and the registry agrees with the model
//!   (same users, same registration order) ([REG-3], [REG-2]);
//! - nothing is delivered from a blocked sender ([BLK-5], [BLK-6], [BLK-7]): checked
//!   on each broadcast, each SEND, each ticket, and on every redelivery (a message
//!   dropped because of a block never shows up later);
//! - the mailbox keeps order: what a user receives at registration is exactly its
//!   unacknowledged messages, in increasing id order, and ids only grow ([RLY-1],
//!   [RLY-3], [RLY-4]); no mailbox passes its quota ([RLY-7]);
//! - no queue passes its bound: the output queue of a connection never holds more
//!   than its bound (a connection that would pass it is closed, [LIM-1]), and no
//!   framer holds more than `MAX_LINE + 1` octets of an unfinished line ([FRM-4]).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use reference_server::entropy::CountingEntropy;
use reference_server::store::{MemoryStore, SqliteStore, Store};
use reference_server::{ConnId, Hub, HubConfig, Now, Outcome};
use spec::limits::{MAX_LINE, MAX_TIME};
use spec::machine::server_conn::{ConnLimits, ServerConn, Step, TimerStep};
use spec::{
    Address, ClientLine, Delivery, ErrCode, ErrorCode, Frame, Framer, Msg, Nick, ServerLine, Text,
    Ticket, Timestamp, Token, UpdateKind, User,
};

use crate::bytes::Bytes;
use crate::wiregen::{self, Known};

/// Most connections open at once.
const MAX_CONNS: usize = 64;
/// Most octets of one raw write.
pub const RAW_MAX: usize = 2100;
/// Most steps per input.
const MAX_STEPS: usize = 400;

/// Steps and lines kept for a failure report.
const LOG_KEEP: usize = 120;

/// One entry of the failure report.
#[derive(Debug)]
enum Note {
    Text(String),
    Out(ConnId, Vec<u8>),
}

/// What one connection holds.
#[derive(Debug)]
struct Conn {
    sm: ServerConn,
    framer: Framer,
    /// Octets in the output queue (the driver's outbox).
    queued: usize,
    /// The bound was passed: closed with `SLOW_READER` after this step.
    overflow: bool,
}

/// A registered user in the model.
#[derive(Debug, Clone)]
struct MUser {
    conn: ConnId,
    nick: Nick,
    address: Address,
}

impl MUser {
    fn user(&self) -> User {
        User {
            nick: self.nick.clone(),
            address: self.address.clone(),
        }
    }
    fn key(&self) -> String {
        self.nick.key().as_str().to_owned()
    }
}

/// The model of `PROTOCOL.md`'s server state.
#[derive(Debug, Default)]
struct Model {
    /// Registered users, in registration order.
    users: Vec<MUser>,
    /// Owned nicks (by key) and their tokens.
    owners: HashMap<String, Token>,
    /// Blocks by owner key: (key, nick as first given), in the order blocked.
    blocks: HashMap<String, Vec<(String, Nick)>>,
    /// Every message stored and not acknowledged: id → (recipient key, message).
    mailbox: BTreeMap<u64, (String, Msg)>,
    /// Ids answered `SENT` but dropped because of a block.
    dropped: HashSet<u64>,
    /// The largest id given so far.
    last_id: u64,
    /// Every ticket issued.
    tickets: HashSet<Ticket>,
}

impl Model {
    fn user_of(&self, conn: ConnId) -> Option<&MUser> {
        self.users.iter().find(|u| u.conn == conn)
    }
    fn online(&self, key: &str) -> Option<&MUser> {
        self.users.iter().find(|u| u.key() == key)
    }
    fn blocks(&self, owner: &str, key: &str) -> bool {
        self.blocks
            .get(owner)
            .is_some_and(|l| l.iter().any(|(k, _)| k == key))
    }
    fn mailbox_len(&self, key: &str) -> usize {
        self.mailbox.values().filter(|(k, _)| k == key).count()
    }
}

/// The harness: hub, connections, clock and model.
pub struct Harness {
    hub: Hub,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: ConnId,
    mono: Duration,
    unix: u64,
    limits: ConnLimits,
    quota: usize,
    /// The hub's block quota ([BLK-9]).
    block_quota: usize,
    bound: usize,
    model: Model,
    known: Known,
    /// The last steps and lines (printed with a failure), formatted only then.
    log: VecDeque<Note>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("conns", &self.conns.len())
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// Lines produced by one hub call, in order.
type Lines = Vec<(ConnId, ServerLine)>;

/// Runs one input through the harness; panics on the first broken property.
pub fn run(data: &[u8]) {
    let mut b = Bytes::new(data);
    let mut h = Harness::new(&mut b);
    let mut steps = 0;
    while !b.is_empty() && steps < MAX_STEPS {
        h.step(&mut b);
        h.check_invariants();
        steps += 1;
    }
}

fn now_text(t: u64) -> Timestamp {
    Timestamp::new(t.min(MAX_TIME)).unwrap_or_else(|_| unreachable!("clamped to MAX_TIME"))
}

/// Merges `LISTPART*` + `LIST` (and `BLOCKSPART*` + `BLOCKS`) into one reply, so that a
/// split reply compares equal to the one-line reply it stands for ([REG-2], [BLK-4]).
fn merge_parts(lines: Vec<ServerLine>) -> Vec<ServerLine> {
    let mut out: Vec<ServerLine> = Vec::new();
    let mut users: Option<Vec<User>> = None;
    let mut nicks: Option<Vec<Nick>> = None;
    for l in lines {
        match l {
            ServerLine::ListPart { users: u } => users.get_or_insert_with(Vec::new).extend(u),
            ServerLine::List { users: u } => {
                let mut all = users.take().unwrap_or_default();
                all.extend(u);
                out.push(ServerLine::List { users: all });
            }
            ServerLine::BlocksPart { nicks: n } => nicks.get_or_insert_with(Vec::new).extend(n),
            ServerLine::Blocks { nicks: n } => {
                let mut all = nicks.take().unwrap_or_default();
                all.extend(n);
                out.push(ServerLine::Blocks { nicks: all });
            }
            other => {
                if let Some(u) = users.take() {
                    out.push(ServerLine::ListPart { users: u });
                }
                if let Some(n) = nicks.take() {
                    out.push(ServerLine::BlocksPart { nicks: n });
                }
                out.push(other);
            }
        }
    }
    if let Some(u) = users.take() {
        out.push(ServerLine::ListPart { users: u });
    }
    if let Some(n) = nicks.take() {
        out.push(ServerLine::BlocksPart { nicks: n });
    }
    out
}

fn per_conn(lines: &Lines) -> BTreeMap<ConnId, Vec<ServerLine>> {
    let mut m: BTreeMap<ConnId, Vec<ServerLine>> = BTreeMap::new();
    for (c, l) in lines {
        m.entry(*c).or_default().push(l.clone());
    }
    m.into_iter().map(|(c, v)| (c, merge_parts(v))).collect()
}

fn err_code(l: &ServerLine) -> Option<ErrorCode> {
    match l {
        ServerLine::Err {
            code: ErrCode::Known(c),
            ..
        } => Some(*c),
        _ => None,
    }
}

/// Writes `line` with its terminator, as the hub would.
fn wire(line: &ClientLine) -> Vec<u8> {
    let mut v = Vec::new();
    line.encode(&mut v);
    v
}

impl Harness {
    /// A harness whose settings come from the first bytes of the input.
    pub fn new(b: &mut Bytes<'_>) -> Harness {
        let sel = b.u8();
        let store: Box<dyn Store> = if sel & 1 == 0 {
            match SqliteStore::open_in_memory() {
                Ok(s) => Box::new(s),
                Err(e) => panic!("cannot open an in-memory SQLite store: {e}"),
            }
        } else {
            Box::new(MemoryStore::new())
        };
        // Small quotas and queue bounds, so that MAILBOX_FULL, BLOCKS_FULL and
        // SLOW_READER happen.
        let quota = 1 + usize::from((sel >> 1) & 7);
        let bound = [256usize, 2048, 8192, 1 << 20][usize::from((sel >> 4) & 3)];
        let block_quota = 1 + usize::from(sel >> 6);
        let config = HubConfig {
            mailbox_quota: quota,
            block_quota,
            ..HubConfig::default()
        };
        let hub = Hub::new(store, Box::new(CountingEntropy::default()), config);
        Harness {
            hub,
            conns: BTreeMap::new(),
            next_conn: 1,
            mono: Duration::from_secs(1000),
            unix: 1_763_713_200,
            limits: ConnLimits::default(),
            quota,
            block_quota,
            bound,
            model: Model::default(),
            known: Known::default(),
            log: VecDeque::from([Note::Text(format!(
                "quota {quota}, block quota {block_quota}, queue bound {bound}, store {}",
                sel & 1
            ))]),
        }
    }

    fn now(&self) -> Now {
        Now {
            mono: self.mono,
            unix_secs: self.unix,
        }
    }

    fn fail(&self, what: &str) -> ! {
        let tail: Vec<String> = self
            .log
            .iter()
            .map(|n| match n {
                Note::Text(t) => t.clone(),
                Note::Out(c, raw) => {
                    format!("  S{c}: {}", abbreviate(&String::from_utf8_lossy(raw)))
                }
            })
            .collect();
        panic!("{what}\n--- the last steps ---\n{}", tail.join("\n"));
    }

    fn note(&mut self, text: String) {
        if self.log.len() >= LOG_KEEP {
            self.log.pop_front();
        }
        self.log.push_back(Note::Text(text));
    }

    fn note_out(&mut self, c: ConnId, raw: &[u8]) {
        if self.log.len() >= LOG_KEEP {
            self.log.pop_front();
        }
        self.log.push_back(Note::Out(c, raw.to_vec()));
    }

    fn pick_conn(&self, b: &mut Bytes<'_>) -> Option<ConnId> {
        if self.conns.is_empty() {
            return None;
        }
        let i = b.below(self.conns.len());
        self.conns.keys().nth(i).copied()
    }

    fn connect(&mut self) -> Option<ConnId> {
        if self.conns.len() >= MAX_CONNS {
            return None;
        }
        let id = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(
            id,
            Conn {
                sm: ServerConn::new(self.limits.clone(), self.mono),
                framer: Framer::new(),
                queued: 0,
                overflow: false,
            },
        );
        self.note(format!("C{id} connects"));
        Some(id)
    }

    /// One step of the script.
    pub fn step(&mut self, b: &mut Bytes<'_>) {
        let op = b.u8() % 16;
        match op {
            0 => {
                self.connect();
            }
            1..=4 => {
                // A well-formed line, whole or split in two writes.
                let Some(c) = self.pick_conn(b) else {
                    self.connect();
                    return;
                };
                let own = self.model.user_of(c).map(|u| u.nick.clone());
                let line = wiregen::client_line(b, &self.known, own.as_ref());
                let bytes = wire(&line);
                if b.bool() {
                    let cut = b.below(bytes.len() + 1);
                    self.input(c, &bytes[..cut]);
                    if self.conns.contains_key(&c) {
                        self.input(c, &bytes[cut..]);
                    }
                } else {
                    self.input(c, &bytes);
                }
            }
            5 => {
                let Some(c) = self.pick_conn(b) else { return };
                let line = wiregen::client_line(b, &self.known, None);
                let mut bytes = wire(&line);
                bytes.truncate(bytes.len() - 2);
                let mut m = wiregen::mutate(b, &bytes);
                m.extend_from_slice(if b.bool() { b"\r\n" } else { b"\n" });
                self.input(c, &m);
            }
            6 => {
                let Some(c) = self.pick_conn(b) else { return };
                let raw = b.chunk(RAW_MAX).to_vec();
                self.input(c, &raw);
            }
            7 => {
                // An overlong line, or one left unfinished.
                let Some(c) = self.pick_conn(b) else { return };
                let n = MAX_LINE - 2 + b.below(8);
                let mut v = vec![b'A'; n];
                if b.bool() {
                    v.extend_from_slice(b"\r\n");
                }
                self.input(c, &v);
            }
            8 => {
                let Some(c) = self.pick_conn(b) else { return };
                self.note(format!("C{c} closes"));
                self.end(c);
            }
            9 => {
                let Some(c) = self.pick_conn(b) else { return };
                if let Some(conn) = self.conns.get_mut(&c) {
                    conn.queued = 0;
                }
            }
            10 | 11 => {
                let adv = match b.u8() % 4 {
                    0 => Duration::from_millis(u64::from(b.u8())),
                    1 => Duration::from_secs(u64::from(b.u8() % 40)),
                    2 => Duration::from_secs(30),
                    _ => Duration::from_secs(u64::from(b.u8())),
                };
                self.tick(adv);
            }
            12 => {
                // Many users with long nicks and long addresses: a long LIST.
                let n = 1 + b.below(32);
                for _ in 0..n {
                    let Some(c) = self.connect() else { break };
                    let nick = long_nick(b);
                    let line = format!(
                        "REGISTER:{nick}:[2001:0db8:0000:0000:0000:ff00:0042:{:04x}]:65535\r\n",
                        b.u16()
                    );
                    self.input(c, line.as_bytes());
                }
            }
            13 => {
                // Many blocks: a long BLOCKS.
                let Some(c) = self.pick_conn(b) else { return };
                let n = 1 + b.below(80);
                let mut data = Vec::new();
                for _ in 0..n {
                    data.extend_from_slice(format!("BLOCK:{}\r\n", long_nick(b)).as_bytes());
                }
                self.input(c, &data);
            }
            _ => {
                // A registration with a known token, for owned nicks.
                let Some(c) = self.pick_conn(b) else { return };
                if let Some((nick, token)) = self.known.tokens.get(b.below(64)).cloned() {
                    let line = ClientLine::Register {
                        nick,
                        address: wiregen::address(b),
                        token: Some(token),
                    };
                    self.input(c, &wire(&line));
                }
            }
        }
        // Connections whose queue passed its bound are closed ([LIM-1]).
        let over: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.overflow)
            .map(|(id, _)| *id)
            .collect();
        for c in over {
            self.note(format!("C{c} closed: SLOW_READER"));
            self.end(c);
        }
    }

    /// Bytes arrive on `c`: framed and handled as the driver does.
    fn input(&mut self, c: ConnId, data: &[u8]) {
        let mono = self.mono;
        let Some(conn) = self.conns.get_mut(&c) else {
            return;
        };
        let mut frames: Vec<Option<Vec<u8>>> = Vec::new();
        conn.framer.feed(data, |f| {
            frames.push(match f {
                Frame::Line(l) => Some(l.to_vec()),
                Frame::TooLong => None,
            });
        });
        conn.sm.on_bytes(mono, conn.framer.in_partial_line());
        if conn.framer.buffered() > MAX_LINE + 1 {
            let n = conn.framer.buffered();
            self.fail(&format!("C{c}: the framer holds {n} octets (FRM-4)"));
        }
        for f in frames {
            match &f {
                None => self.note(format!("C{c}: <line too long>")),
                Some(l) => self.note(format!(
                    "C{c}: {}",
                    String::from_utf8_lossy(&l[..l.len().min(160)])
                )),
            }
            let Some(conn) = self.conns.get_mut(&c) else {
                return;
            };
            let step = match &f {
                None => conn.sm.on_too_long(mono),
                Some(l) => conn.sm.on_line(l, mono),
            };
            self.check_conn_step(c, f.as_deref(), &step);
            match step {
                Step::Nothing => {}
                Step::Reply(line) => self.deliver(vec![(c, line)]),
                Step::Close(line) => {
                    self.deliver(vec![(c, line)]);
                    self.end(c);
                    return;
                }
                Step::Request(cmd) => {
                    if self.request(c, cmd) {
                        self.end(c);
                        return;
                    }
                }
            }
        }
    }

    /// What the connection's own state machine answered must follow §2.1 and §7.
    fn check_conn_step(&self, c: ConnId, line: Option<&[u8]>, step: &Step) {
        let registered = self.model.user_of(c).is_some();
        let (reply, closes) = match step {
            Step::Nothing | Step::Request(_) => (None, false),
            Step::Reply(l) => (Some(l), false),
            Step::Close(l) => (Some(l), true),
        };
        if closes && err_code(reply.unwrap_or(&ServerLine::Bye)) == Some(ErrorCode::Flood) {
            return;
        }
        let Some(line) = line else {
            if err_code(reply.unwrap_or(&ServerLine::Bye)) != Some(ErrorCode::LineTooLong) {
                self.fail(&format!(
                    "C{c}: an overlong line answered {reply:?} (FRM-4)"
                ));
            }
            return;
        };
        match ClientLine::decode(line) {
            Err(e) => {
                if reply.and_then(err_code) != Some(e.code) {
                    self.fail(&format!(
                        "C{c}: a line that does not decode ({}) was answered {reply:?} (ERR-1)",
                        e.code
                    ));
                }
            }
            Ok(cmd) => {
                let ok = match (&cmd, registered) {
                    (ClientLine::Ping { token }, _) => {
                        reply
                            == Some(&ServerLine::Pong {
                                token: token.clone(),
                            })
                    }
                    (ClientLine::Pong { .. }, _) => matches!(step, Step::Nothing),
                    (ClientLine::Quit, _) => closes && reply == Some(&ServerLine::Bye),
                    (ClientLine::Register { .. }, true) => {
                        reply.and_then(err_code) == Some(ErrorCode::AlreadyRegistered)
                    }
                    (ClientLine::Register { .. }, false) | (_, true) => {
                        matches!(step, Step::Request(_))
                    }
                    (_, false) => reply.and_then(err_code) == Some(ErrorCode::NotRegistered),
                };
                if !ok {
                    self.fail(&format!(
                        "C{c}: {cmd} (registered: {registered}) was answered {step:?} (GEN-2, KA-1)"
                    ));
                }
            }
        }
    }

    /// Checks and queues lines; learns the values they carry.
    fn deliver(&mut self, lines: Lines) {
        for (c, line) in lines {
            let mut bytes = Vec::new();
            line.encode(&mut bytes);
            let Some(conn) = self.conns.get_mut(&c) else {
                self.fail(&format!("a line for C{c}, which is gone: {line}"));
            };
            if conn.overflow {
                continue;
            }
            if conn.queued + bytes.len() > self.bound {
                conn.overflow = true;
                conn.queued = 0;
                continue;
            }
            conn.queued += bytes.len();
            self.note_out(c, &bytes);
            self.known.learn(&line);
        }
    }

    /// Checks one raw line the hub wrote: CRLF, length, grammar, canonical form.
    fn check_wire(&self, c: ConnId, raw: &[u8]) -> ServerLine {
        let Some(body) = raw.strip_suffix(b"\r\n") else {
            self.fail(&format!("S{c}: a line without CRLF: {raw:?} (FRM-7)"));
        };
        if body.len() > MAX_LINE {
            self.fail(&format!(
                "S{c}: a line of {} octets, longer than MAX_LINE: {} (REG-2/BLK-4: split it)",
                body.len(),
                abbreviate(&String::from_utf8_lossy(body))
            ));
        }
        match ServerLine::decode(body) {
            Ok(l) => {
                let mut again = Vec::new();
                l.encode(&mut again);
                if again != raw {
                    self.fail(&format!("S{c}: {raw:?} is not in canonical form"));
                }
                l
            }
            Err(e) => self.fail(&format!(
                "S{c}: a line that is not a server-line ({e}): {}",
                String::from_utf8_lossy(body)
            )),
        }
    }

    /// A request that passed the state gate goes to the hub. Returns whether the
    /// connection is to be closed.
    fn request(&mut self, c: ConnId, cmd: ClientLine) -> bool {
        let mut raw: Vec<(ConnId, Vec<u8>)> = Vec::new();
        let now = self.now();
        let outcome = self.hub.handle(c, cmd.clone(), now, &mut raw);
        let got: Lines = raw
            .iter()
            .map(|(to, l)| (*to, self.check_wire(*to, l)))
            .collect();
        let closes = self.check_request(c, &cmd, &got, outcome);
        self.deliver(got);
        if outcome == Outcome::Registered
            && let Some(conn) = self.conns.get_mut(&c)
        {
            conn.sm.set_registered();
        }
        closes
    }

    fn expect(&self, c: ConnId, cmd: &ClientLine, got: &Lines, want: &[(ConnId, ServerLine)]) {
        let g = per_conn(got);
        let w = per_conn(&want.to_vec());
        if g != w {
            self.fail(&format!(
                "C{c}: {cmd}\n  the hub sent:   {}\n  the spec says: {}",
                show(got),
                show(&want.to_vec())
            ));
        }
    }

    /// Compares what the hub sent with what the model says, and updates the model.
    /// Returns whether the connection closes.
    fn check_request(&mut self, c: ConnId, cmd: &ClientLine, got: &Lines, out: Outcome) -> bool {
        let me = self.model.user_of(c).cloned();
        let err = |code: ErrorCode| vec![(c, ServerLine::error(code, "x"))];
        // Error texts are free: compare codes only.
        let got_norm: Lines = got
            .iter()
            .map(|(to, l)| match l {
                ServerLine::Err { code, .. } => (
                    *to,
                    ServerLine::Err {
                        code: code.clone(),
                        text: Text::sanitized("x").unwrap_or_else(|| unreachable!()),
                    },
                ),
                other => (*to, other.clone()),
            })
            .collect();
        let mut want_out = Outcome::Continue;
        let want: Vec<(ConnId, ServerLine)> = match (cmd, &me) {
            (ClientLine::Ping { token }, _) => vec![(
                c,
                ServerLine::Pong {
                    token: token.clone(),
                },
            )],
            (ClientLine::Pong { .. }, _) => vec![],
            (ClientLine::Quit, _) => {
                want_out = Outcome::Close;
                vec![(c, ServerLine::Bye)]
            }
            (ClientLine::Register { .. }, Some(_)) => err(ErrorCode::AlreadyRegistered),
            (
                ClientLine::Register {
                    nick,
                    address,
                    token,
                },
                None,
            ) => {
                let key = nick.key().as_str().to_owned();
                if self.model.online(&key).is_some() {
                    err(ErrorCode::NickInUse)
                } else if let Some(t) = self.model.owners.get(&key)
                    && token.as_ref() != Some(t)
                {
                    err(ErrorCode::NickOwned)
                } else {
                    want_out = Outcome::Registered;
                    let new = MUser {
                        conn: c,
                        nick: nick.clone(),
                        address: address.clone(),
                    };
                    let join = ServerLine::Update {
                        kind: UpdateKind::Join,
                        user: new.user(),
                    };
                    let mut w: Vec<(ConnId, ServerLine)> = self
                        .model
                        .users
                        .iter()
                        .map(|u| (u.conn, join.clone()))
                        .collect();
                    w.push((c, join));
                    if !self.model.owners.contains_key(&key) {
                        // [OWN-1]: the token is new; take it from what was sent.
                        let issued = got.iter().find_map(|(to, l)| match l {
                            ServerLine::Token { nick: n, token } if *to == c && n == nick => {
                                Some(*token)
                            }
                            _ => None,
                        });
                        match issued {
                            Some(t) => {
                                if self.model.owners.values().any(|o| *o == t) {
                                    self.fail(&format!("C{c}: token {t} issued twice (OWN-5)"));
                                }
                                w.push((
                                    c,
                                    ServerLine::Token {
                                        nick: nick.clone(),
                                        token: t,
                                    },
                                ));
                                self.model.owners.insert(key.clone(), t);
                            }
                            None => self.fail(&format!(
                                "C{c}: {cmd}: a first registration without a TOKEN line (OWN-1): {}",
                                show(got)
                            )),
                        }
                    }
                    let mut users: Vec<User> = self.model.users.iter().map(MUser::user).collect();
                    users.push(new.user());
                    w.push((c, ServerLine::List { users }));
                    for (_, (to, m)) in self.model.mailbox.iter() {
                        if *to == key {
                            w.push((c, ServerLine::Msg(m.clone())));
                        }
                    }
                    self.model.users.push(new);
                    w
                }
            }
            (_, None) => err(ErrorCode::NotRegistered),
            (ClientLine::Broadcast { nick, text }, Some(me)) => {
                if *nick != me.nick {
                    err(ErrorCode::NotYourNick)
                } else {
                    let line = ServerLine::Broadcast {
                        nick: nick.clone(),
                        text: text.clone(),
                    };
                    self.model
                        .users
                        .iter()
                        .filter(|u| u.conn == c || !self.model.blocks(&u.key(), &me.key()))
                        .map(|u| (u.conn, line.clone()))
                        .collect()
                }
            }
            (ClientLine::List, Some(_)) => vec![(
                c,
                ServerLine::List {
                    users: self.model.users.iter().map(MUser::user).collect(),
                },
            )],
            (ClientLine::Query { nick }, Some(_)) => match self.model.online(nick.key().as_str()) {
                Some(u) => vec![(c, ServerLine::User { user: u.user() })],
                None => err(ErrorCode::NoSuchNick),
            },
            (ClientLine::Send { nick, text }, Some(me)) => self.check_send(c, me, nick, text, got),
            (ClientLine::Ack { id }, Some(me)) => {
                if self
                    .model
                    .mailbox
                    .get(&id.get())
                    .is_some_and(|(k, _)| *k == me.key())
                {
                    self.model.mailbox.remove(&id.get());
                }
                vec![]
            }
            (ClientLine::Block { nick }, Some(me)) => {
                let key = nick.key().as_str().to_owned();
                if key == me.key() {
                    err(ErrorCode::BadTarget)
                } else {
                    let list = self.model.blocks.entry(me.key()).or_default();
                    let new = !list.iter().any(|(k, _)| *k == key);
                    if new && list.len() >= self.block_quota {
                        // [BLK-9]: nothing recorded.
                        err(ErrorCode::BlocksFull)
                    } else {
                        if new {
                            list.push((key, nick.clone()));
                        }
                        vec![(c, ServerLine::Blocked { nick: nick.clone() })]
                    }
                }
            }
            (ClientLine::Unblock { nick }, Some(me)) => {
                let key = nick.key().as_str().to_owned();
                if let Some(list) = self.model.blocks.get_mut(&me.key()) {
                    list.retain(|(k, _)| *k != key);
                }
                vec![(c, ServerLine::Unblocked { nick: nick.clone() })]
            }
            (ClientLine::Blocks, Some(me)) => vec![(
                c,
                ServerLine::Blocks {
                    nicks: self
                        .model
                        .blocks
                        .get(&me.key())
                        .map(|l| l.iter().map(|(_, n)| n.clone()).collect())
                        .unwrap_or_default(),
                },
            )],
            (ClientLine::Ticket { nick }, Some(me)) => {
                let key = nick.key().as_str().to_owned();
                if key == me.key() {
                    err(ErrorCode::BadTarget)
                } else if let Some(target) = self.model.online(&key).cloned() {
                    let issued = got.iter().find_map(|(to, l)| match l {
                        ServerLine::Ticket { ticket, .. } if *to == c => Some(*ticket),
                        _ => None,
                    });
                    let Some(t) = issued else {
                        self.fail(&format!("C{c}: {cmd}: no TICKET reply: {}", show(got)));
                    };
                    if !self.model.tickets.insert(t) {
                        self.fail(&format!("C{c}: ticket {t} issued twice (TKT-3)"));
                    }
                    let mut w = Vec::new();
                    // [BLK-7] no INVITE to a user who blocks the requester.
                    if !self.model.blocks(&target.key(), &me.key()) {
                        w.push((
                            target.conn,
                            ServerLine::Invite {
                                user: me.user(),
                                ticket: t,
                            },
                        ));
                    }
                    w.push((
                        c,
                        ServerLine::Ticket {
                            user: target.user(),
                            ticket: t,
                        },
                    ));
                    w
                } else {
                    err(ErrorCode::NoSuchNick)
                }
            }
        };
        self.expect(c, cmd, &got_norm, &want);
        if out != want_out {
            self.fail(&format!(
                "C{c}: {cmd}: outcome {out:?}, expected {want_out:?}"
            ));
        }
        out == Outcome::Close
    }

    /// §11 and [BLK-6]: the quota first, then the block, then store and deliver.
    fn check_send(
        &mut self,
        c: ConnId,
        me: &MUser,
        to: &Nick,
        text: &Text,
        got: &Lines,
    ) -> Vec<(ConnId, ServerLine)> {
        let key = to.key().as_str().to_owned();
        let err = |code: ErrorCode| vec![(c, ServerLine::error(code, "x"))];
        if key == me.key() {
            return err(ErrorCode::BadTarget);
        }
        let online = self.model.online(&key).cloned();
        if online.is_none() && !self.model.owners.contains_key(&key) {
            return err(ErrorCode::NoSuchNick);
        }
        // [BLK-6] "The quota of [RLY-7] is checked first, so a blocked sender gets
        // MAILBOX_FULL exactly when anyone else would."
        if self.model.mailbox_len(&key) >= self.quota {
            return err(ErrorCode::MailboxFull);
        }
        let Some(id) = got.iter().find_map(|(to, l)| match l {
            ServerLine::Sent { id, .. } if *to == c => Some(*id),
            _ => None,
        }) else {
            self.fail(&format!("C{c}: SEND:{to}: no SENT reply: {}", show(got)));
        };
        if id.get() <= self.model.last_id {
            self.fail(&format!(
                "C{c}: id {id} is not greater than every earlier id {} (RLY-1)",
                self.model.last_id
            ));
        }
        self.model.last_id = id.get();
        let delivery = if online.is_some() {
            Delivery::Live
        } else {
            Delivery::Queued
        };
        let mut w = vec![(c, ServerLine::Sent { id, delivery })];
        if self.model.blocks(&key, &me.key()) {
            self.model.dropped.insert(id.get());
            return w;
        }
        let msg = Msg {
            id,
            from: me.nick.clone(),
            time: now_text(self.unix),
            text: text.clone(),
        };
        if let Some(u) = &online {
            w.push((u.conn, ServerLine::Msg(msg.clone())));
        }
        self.model.mailbox.insert(id.get(), (key, msg));
        w
    }

    /// The connection ends (any cause): [LEA-1], [LEA-2].
    fn end(&mut self, c: ConnId) {
        if self.conns.remove(&c).is_none() {
            return;
        }
        let was = self.model.user_of(c).cloned();
        self.model.users.retain(|u| u.conn != c);
        let mut raw: Vec<(ConnId, Vec<u8>)> = Vec::new();
        self.hub.disconnect(c, &mut raw);
        let got: Lines = raw
            .iter()
            .map(|(to, l)| (*to, self.check_wire(*to, l)))
            .collect();
        let want: Vec<(ConnId, ServerLine)> = match was {
            Some(u) => {
                let leave = ServerLine::Update {
                    kind: UpdateKind::Leave,
                    user: u.user(),
                };
                self.model
                    .users
                    .iter()
                    .map(|o| (o.conn, leave.clone()))
                    .collect()
            }
            None => vec![],
        };
        self.expect(c, &ClientLine::Quit, &got, &want);
        self.deliver(got);
    }

    /// Time passes; every connection's timers run.
    fn tick(&mut self, adv: Duration) {
        self.mono += adv;
        self.unix += adv.as_secs();
        self.note(format!("time +{adv:?}"));
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in ids {
            for _ in 0..3 {
                let Some(conn) = self.conns.get_mut(&c) else {
                    break;
                };
                match conn.sm.next_deadline() {
                    Some(d) if d <= self.mono => {}
                    _ => break,
                }
                match conn.sm.on_timer(self.mono) {
                    None => break,
                    Some(TimerStep::Ping(line)) => {
                        if !matches!(line, ServerLine::Ping { .. }) {
                            self.fail(&format!("C{c}: keepalive sent {line}"));
                        }
                        self.deliver(vec![(c, line)]);
                    }
                    Some(TimerStep::Close(line)) => {
                        if err_code(&line) != Some(ErrorCode::Timeout) {
                            self.fail(&format!("C{c}: a timer closed with {line}"));
                        }
                        self.deliver(vec![(c, line)]);
                        self.note(format!("C{c} closed: TIMEOUT"));
                        self.end(c);
                        break;
                    }
                }
            }
        }
    }

    /// The invariants that hold between any two steps.
    pub fn check_invariants(&self) {
        // A nick belongs to at most one connection; the registry is the model's.
        let reg = self.hub.registry();
        let mut keys = HashSet::new();
        let mut seen: Vec<(ConnId, Nick, Address)> = Vec::new();
        for (conn, o) in reg.iter() {
            if !keys.insert(o.key.clone()) {
                self.fail(&format!("nick {} is bound to two connections", o.nick));
            }
            if reg.conn_of(&o.key) != Some(conn) {
                self.fail(&format!("nick {} maps to another connection", o.nick));
            }
            if o.key != o.nick.key().as_str() {
                self.fail(&format!("nick {} has key {}", o.nick, o.key));
            }
            if !self.conns.contains_key(&conn) {
                self.fail(&format!("C{conn} is registered but gone"));
            }
            seen.push((conn, o.nick.clone(), o.address.clone()));
        }
        let model: Vec<(ConnId, Nick, Address)> = self
            .model
            .users
            .iter()
            .map(|u| (u.conn, u.nick.clone(), u.address.clone()))
            .collect();
        if seen != model || reg.len() != model.len() {
            self.fail(&format!(
                "registry {seen:?} differs from the model {model:?}"
            ));
        }
        for (id, conn) in &self.conns {
            if conn.sm.is_registered() != self.model.user_of(*id).is_some() {
                self.fail(&format!(
                    "C{id}: the state machine and the registry disagree"
                ));
            }
            if conn.queued > self.bound {
                self.fail(&format!(
                    "C{id}: {} octets queued, bound {}",
                    conn.queued, self.bound
                ));
            }
            if conn.framer.partial_len() > MAX_LINE + 1 {
                self.fail(&format!(
                    "C{id}: framer holds {}",
                    conn.framer.partial_len()
                ));
            }
        }
        // No mailbox passes its quota; dropped messages are never stored.
        let mut per: HashMap<&str, usize> = HashMap::new();
        for (id, (k, _)) in &self.model.mailbox {
            *per.entry(k.as_str()).or_default() += 1;
            if self.model.dropped.contains(id) {
                self.fail(&format!("message {id} was dropped (a block) yet stored"));
            }
        }
        if let Some((k, n)) = per.iter().find(|(_, n)| **n > self.quota) {
            self.fail(&format!("mailbox of {k} holds {n}, quota {}", self.quota));
        }
    }
}

/// A 32-character nick spelled by the input.
fn long_nick(b: &mut Bytes<'_>) -> String {
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut s = String::from("u");
    for _ in 0..31 {
        s.push(char::from(ALPHA[b.below(ALPHA.len())]));
    }
    s
}

fn abbreviate(s: &str) -> String {
    if s.len() <= 160 {
        return s.to_owned();
    }
    let mut end = 150;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} octets)", &s[..end], s.len())
}

fn show(lines: &Lines) -> String {
    if lines.is_empty() {
        return "(nothing)".to_owned();
    }
    lines
        .iter()
        .map(|(c, l)| format!("S{c}: {}", abbreviate(&l.to_string())))
        .collect::<Vec<_>>()
        .join(" | ")
}
