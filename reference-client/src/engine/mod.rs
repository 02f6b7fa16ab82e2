//! The engine: one task that owns every state machine (the server connection's
//! [`ClientMachine`], one [`PeerSession`] per peer connection), the stores, and the
//! bookkeeping of commands. Front ends (automation, interactive) feed it commands
//! and network input and take out [`Event`]s.
//!
//! The engine never blocks on the network: lines to send go to writer tasks through
//! channels, input comes from reader tasks through one channel ([`NetInput`]).
//!
//! Show, then record, then acknowledge ([CLI-5], [PEER-2], Appendix A.2): a new
//! message's event is queued; the front end writes (shows) the events and only
//! then calls [`Engine::confirm_shown`], which records each shown id in the data
//! directory and then sends its ACK. A crash between showing and recording can
//! show a message twice; recording first could lose it, which is worse.

mod commands;
mod peers;
mod server;
mod start;
mod udp;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use spec::machine::client::{ClientMachine, RequestId};
use spec::machine::peer::{PeerSession, TicketBook};
use spec::{Msg, MsgId, Nick, NickKey, Port, Ticket, User};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::config::{ClientConfig, Exit, Mode};
use crate::events::Event;
use crate::net::pumps::Link;
use crate::net::{NetInput, NetSender, SessionId};
use crate::store::blocks::Blocks;
use crate::store::outbox::Outbox;
use crate::store::seen::SeenLog;
use crate::store::tokens::Tokens;

pub use start::StartError;

/// Sequence number of a command, for `sync` ([AUT-2]).
type CmdSeq = u64;

/// What to do with a private message that could not be delivered directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnFail {
    /// Send it through the server mailbox (`send` in hybrid mode).
    Mailbox,
    /// Report the failure (`chat` in hybrid mode).
    Report,
    /// Keep it in the local outbox (serverless).
    Outbox,
}

/// A private message on its way over a peer session.
#[derive(Debug, Clone)]
struct Outgoing {
    cmd: Option<CmdSeq>,
    to: Nick,
    msg: Msg,
    on_fail: OnFail,
}

/// A private chat being set up in hybrid mode: TICKET sent, or OFFER sent and
/// waiting for the target to connect back.
#[derive(Debug)]
struct PendingDirect {
    nick: Nick,
    /// When to give up waiting for the connect-back (set once the OFFER is sent).
    deadline: Option<Duration>,
    /// Messages to send once the session opens.
    msgs: Vec<Outgoing>,
    /// A `/start` command waiting for the session.
    start_cmd: Option<CmdSeq>,
}

/// An OFFER that arrived before its INVITE (§13: keep it a few seconds).
#[derive(Debug)]
struct HeldOffer {
    nick: Nick,
    port: Port,
    ticket: Ticket,
    expires: Duration,
}

/// How an outgoing connection authenticates once connected.
#[derive(Debug, Clone)]
enum DialKind {
    /// Serverless HELLO.
    Serverless,
    /// Connect-back after an OFFER from `inviter`.
    Hybrid { inviter: Nick, ticket: Ticket },
}

/// An outgoing connection in progress.
#[derive(Debug)]
struct Dial {
    addr: String,
    kind: DialKind,
    cmd: Option<CmdSeq>,
}

/// One peer connection.
#[derive(Debug)]
struct Slot {
    session: PeerSession,
    link: Link,
    /// The address shown for it: as dialled, or the remote address.
    addr: String,
    /// Whether `session open` was reported.
    opened: bool,
    /// Messages sent on it and not yet acknowledged.
    outgoing: HashMap<MsgId, Outgoing>,
    /// A `connect` command waiting for the session to open.
    connect_cmd: Option<CmdSeq>,
}

/// The server connection (hybrid mode).
#[derive(Debug)]
struct ServerLink {
    machine: ClientMachine,
    link: Link,
    /// The server's address as given: the key of tokens and shown ids.
    key: String,
    open: bool,
}

/// Acknowledgements to send once the events before them are shown.
#[derive(Debug)]
enum Confirm {
    /// A relayed message (recorded as shown in `relay_seen`, then acknowledged).
    Relay(MsgId),
    /// A message on a peer session; `record` names the peer whose log gets the
    /// id (`None` for a copy of a message shown before: only acknowledged).
    Peer {
        sid: SessionId,
        id: MsgId,
        record: Option<NickKey>,
    },
}

/// The client engine. See the module documentation.
#[derive(Debug)]
pub struct Engine {
    cfg: ClientConfig,
    own: Nick,
    origin: Instant,
    net_tx: NetSender,
    events: Vec<Event>,
    confirms: Vec<Confirm>,

    server: Option<ServerLink>,
    relay_seen: Option<SeenLog>,
    tokens: Tokens,
    users: BTreeMap<NickKey, User>,
    registered: bool,

    udp: Option<Arc<UdpSocket>>,
    udp_port: u16,
    listen_port: u16,
    background: Vec<JoinHandle<()>>,

    /// Tickets of our TICKET replies (checked on connect-back, [DIR-4]).
    tickets: TicketBook,
    /// Tickets of INVITEs received (checked on OFFER, [DIR-2]).
    invites: TicketBook,
    held_offers: Vec<HeldOffer>,
    pending_direct: HashMap<NickKey, PendingDirect>,
    ticket_requests: HashMap<RequestId, NickKey>,

    next_sid: SessionId,
    sessions: BTreeMap<SessionId, Slot>,
    dials: HashMap<SessionId, Dial>,
    peer_seen: HashMap<NickKey, SeenLog>,
    /// Peer messages shown (or being shown) and not yet recorded.
    peer_showing: BTreeSet<(NickKey, MsgId)>,
    last_peer_id: HashMap<NickKey, u64>,
    outbox: Outbox,
    blocks: Blocks,

    next_cmd: CmdSeq,
    undone: BTreeSet<CmdSeq>,
    syncs: VecDeque<(CmdSeq, String)>,
    request_cmds: HashMap<RequestId, CmdSeq>,

    quit_deadline: Option<Duration>,
    exit: Option<Exit>,
    writers: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Time since the engine started: the clock of the state machines.
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn unix_now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    fn emit(&mut self, e: Event) {
        self.events.push(e);
    }

    fn notice(&mut self, s: impl Into<String>) {
        self.events.push(Event::Notice(s.into()));
    }

    /// The own nick.
    pub fn nick(&self) -> &Nick {
        &self.own
    }

    /// Whether this run has a server.
    pub fn is_hybrid(&self) -> bool {
        matches!(self.cfg.mode, Mode::Hybrid { .. })
    }

    /// Nicks known to be online (and of open sessions), for completion.
    pub fn known_nicks(&self) -> Vec<String> {
        let mut v: Vec<String> = self.users.values().map(|u| u.nick.to_string()).collect();
        for s in self.sessions.values() {
            if let Some(n) = s.session.peer() {
                v.push(n.to_string());
            }
        }
        v.sort();
        v.dedup();
        v
    }

    /// Takes the events produced so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The events taken before were shown (written and flushed): record their
    /// ids as shown, then send their acknowledgements.
    pub fn confirm_shown(&mut self) {
        for c in std::mem::take(&mut self.confirms) {
            match c {
                Confirm::Relay(id) => {
                    if let Some(Err(e)) = self.relay_seen.as_mut().map(|s| s.record(id)) {
                        // Not durable: not acknowledged either, so that the server
                        // keeps it; it may be shown again at the next run.
                        tracing::error!("recording a shown id: {e}");
                        continue;
                    }
                    if let Some(s) = self.server.as_mut() {
                        s.machine.shown(id);
                    }
                }
                Confirm::Peer { sid, id, record } => {
                    if let Some(key) = record {
                        let recorded = self.peer_seen.get_mut(&key).map(|l| l.record(id));
                        self.peer_showing.remove(&(key, id));
                        if let Some(Err(e)) = recorded {
                            // As above: unacknowledged, the peer keeps it.
                            tracing::error!("recording a shown id: {e}");
                            continue;
                        }
                    }
                    if let Some(slot) = self.sessions.get_mut(&sid) {
                        slot.session.shown(id);
                    }
                }
            }
        }
        self.pump();
    }

    /// The events taken before could not be shown (the output failed): their
    /// messages are neither recorded nor acknowledged, so the server or the peer
    /// keeps them and delivers them again.
    pub fn not_shown(&mut self) {
        for c in std::mem::take(&mut self.confirms) {
            if let Confirm::Peer {
                id,
                record: Some(key),
                ..
            } = c
            {
                self.peer_showing.remove(&(key, id));
            }
        }
    }

    /// The server connection was lost (exit status 1 pending): go on without
    /// it, as the interactive terminal does (peer sessions still work; commands
    /// that need the server say so). `quit` then ends the run with status 0.
    pub fn go_on_without_server(&mut self) {
        if self.exit == Some(Exit::Network) {
            self.exit = None;
        }
    }

    /// Set once the run is over.
    pub fn exit(&self) -> Option<Exit> {
        self.exit
    }

    /// The next time [`Engine::on_timer`] must run.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut d: Option<Duration> = self.quit_deadline;
        let mut consider = |t: Duration| d = Some(d.map_or(t, |d| d.min(t)));
        for s in self.sessions.values() {
            if let Some(t) = s.session.poll_timeout() {
                consider(t);
            }
        }
        for p in self.pending_direct.values() {
            if let Some(t) = p.deadline {
                consider(t);
            }
        }
        for o in &self.held_offers {
            consider(o.expires);
        }
        d.map(|d| self.origin + d)
    }

    /// Handles deadlines that passed.
    pub fn on_timer(&mut self) {
        let now = self.now();
        if self.quit_deadline.is_some_and(|d| now >= d) {
            // No BYE in time: the run ends anyway ([AUT-4]: quit exits 0).
            self.finish_server_quit("quit".to_owned());
        }
        for s in self.sessions.values_mut() {
            s.session.on_timeout(now);
        }
        self.held_offers.retain(|o| o.expires > now);
        let expired: Vec<NickKey> = self
            .pending_direct
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| now >= d))
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            if let Some(p) = self.pending_direct.remove(&k) {
                let text = format!("{} did not connect back", p.nick);
                self.fail_pending_direct(p, "UNREACHABLE", &text);
            }
        }
        self.pump();
    }

    /// Handles one piece of network input.
    pub fn on_net(&mut self, input: NetInput) {
        match input {
            NetInput::Server(inc) => self.on_server_input(inc),
            NetInput::Peer(sid, inc) => self.on_peer_input(sid, inc),
            NetInput::Accepted(stream, addr) => self.on_accepted(stream, addr),
            NetInput::Connected { sid, result } => self.on_connected(sid, result),
            NetInput::Datagram(bytes, from) => self.on_datagram(&bytes, from),
        }
        self.pump();
    }

    /// Moves lines and events out of every state machine until none is left.
    fn pump(&mut self) {
        loop {
            let mut progressed = self.pump_server();
            let sids: Vec<SessionId> = self.sessions.keys().copied().collect();
            for sid in sids {
                progressed |= self.pump_session(sid);
            }
            if !progressed {
                break;
            }
        }
        self.check_syncs();
    }

    // ---- command bookkeeping ([AUT-2]) -------------------------------------

    fn begin_cmd(&mut self) -> CmdSeq {
        let seq = self.next_cmd;
        self.next_cmd += 1;
        self.undone.insert(seq);
        seq
    }

    fn done(&mut self, cmd: Option<CmdSeq>) {
        if let Some(c) = cmd {
            self.undone.remove(&c);
        }
    }

    fn check_syncs(&mut self) {
        while let Some((seq, _)) = self.syncs.front() {
            let oldest_undone = self.undone.first().copied();
            if oldest_undone.is_some_and(|u| u < *seq) {
                break;
            }
            if let Some((_, token)) = self.syncs.pop_front() {
                self.emit(Event::Sync { token });
            }
        }
    }

    /// Whether a nick is blocked locally.
    fn is_blocked(&self, nick: &Nick) -> bool {
        self.blocks.contains(nick)
    }

    /// A new id for a message to `nick` on a peer session: increasing per peer,
    /// also across runs (it starts from the clock in milliseconds), [PEER-1].
    fn next_peer_id(&mut self, nick: &Nick) -> MsgId {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let last = self.last_peer_id.entry(nick.key()).or_insert(0);
        let next = (*last + 1).max(millis).min(spec::limits::MAX_MSG_ID);
        *last = next;
        // Invariant: 1 <= next <= MAX_MSG_ID by construction.
        MsgId::new(next).unwrap_or_else(|_| unreachable_id())
    }

    /// Waits (briefly) for the lines still queued to be written.
    pub async fn shutdown(mut self) {
        let mut writers = std::mem::take(&mut self.writers);
        if let Some(s) = self.server.as_mut()
            && let Some(w) = s.link.finish()
        {
            writers.push(w);
        }
        for slot in self.sessions.values_mut() {
            if let Some(w) = slot.link.finish() {
                writers.push(w);
            }
        }
        for b in self.background.drain(..) {
            b.abort();
        }
        let all = async {
            for w in writers {
                let _ = w.await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(500), all).await;
    }
}

#[allow(clippy::expect_used)]
fn unreachable_id() -> MsgId {
    // Invariant: 1 is a valid message id.
    MsgId::new(1).expect("1 is a valid id")
}

/// The address of a socket as shown in events.
fn addr_string(a: SocketAddr) -> String {
    a.to_string()
}
