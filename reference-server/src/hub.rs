//! The hub: the pure, synchronous heart of the server. It takes one decoded request
//! from one connection and writes the lines it causes, for whichever connections,
//! into a [`Sink`]. No sockets, no clock, no async: time comes in as [`Now`].
//!
//! What one connection decides alone (bad lines, the state gate, PING, QUIT, timers,
//! rate limits) is `spec::machine::server_conn`; the hub is everything that needs
//! the registry or the store.

use std::time::Duration;

use sha2::{Digest, Sha256};
use spec::borrowed::{ClientLineRef, NickRef, TextRef};
use spec::{
    Address, ClientLine, Delivery, ErrorCode, Msg, MsgId, Nick, ServerLine, Text, Timestamp, Token,
    UpdateKind, User,
};
use subtle::ConstantTimeEq;

use spec::limits::MAX_LINE;

use crate::entropy::Entropy;
#[cfg(feature = "faults")]
use crate::faults::Faults;
use crate::registry::{Online, Registry};
use crate::store::{Store, StoreError, TokenHash};
use crate::tickets::Tickets;

/// Identifies one connection for the lifetime of the server.
pub type ConnId = u64;

/// The time of an event, as the driver sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time since an origin the driver picks (ticket lifetimes).
    pub mono: Duration,
    /// Wall-clock Unix seconds (the `<time>` of a `MSG`, [RLY-2]).
    pub unix_secs: u64,
}

/// Where the hub writes its output: whole encoded lines, CRLF included, each for one
/// connection, in the order they must be sent ([GEN-4], [BRD-3]).
pub trait Sink {
    /// Queue `line` for `conn`.
    fn send(&mut self, conn: ConnId, line: &[u8]);

    /// Queue the same `line` for each of `to`, in that order (a broadcast). The
    /// default sends it to each in turn; the server's sink holds consecutive
    /// broadcasts to the same recipients back to queue them together.
    fn fan_out(&mut self, line: &[u8], to: impl Iterator<Item = ConnId>) {
        for conn in to {
            self.send(conn, line);
        }
    }
}

/// A sink that records everything (for tests and transcripts).
impl Sink for Vec<(ConnId, Vec<u8>)> {
    fn send(&mut self, conn: ConnId, line: &[u8]) {
        self.push((conn, line.to_vec()));
    }
}

/// What the connection's driver does after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing special.
    Continue,
    /// The connection is now registered.
    Registered,
    /// Close the connection (after the lines already queued for it).
    Close,
}

/// The hub's settings.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Unacknowledged messages one user's mailbox may hold ([RLY-7]).
    pub mailbox_quota: usize,
    /// Blocks one user may hold ([BLK-9]).
    pub block_quota: usize,
    /// Deliberate rule-breaks.
    #[cfg(feature = "faults")]
    pub faults: Faults,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            mailbox_quota: 1000,
            block_quota: 1000,
            #[cfg(feature = "faults")]
            faults: Faults::NONE,
        }
    }
}

/// Whether a fault is switched on; always `false` without the `faults` feature.
macro_rules! fault {
    ($self:expr, $f:ident) => {{
        #[cfg(feature = "faults")]
        let on = $self.config.faults.contains(crate::faults::Fault::$f);
        #[cfg(not(feature = "faults"))]
        let on = false;
        on
    }};
}

/// The registry, the store and the rules that join them.
pub struct Hub {
    registry: Registry,
    store: Box<dyn Store>,
    entropy: Box<dyn Entropy>,
    tickets: Tickets,
    config: HubConfig,
    scratch: Vec<u8>,
    /// The server has begun to stop: every connection ends at once, and no
    /// `UPDATE:LEAVE` is sent for them (PROTOCOL.md §10, after [LEA-1]).
    stopping: bool,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("registry", &self.registry)
            .field("tickets", &self.tickets.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn hash_token(token: &Token) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

fn user_of(o: &Online) -> User {
    User {
        nick: o.nick.clone(),
        address: o.address.clone(),
    }
}

impl Hub {
    /// A hub over `store`, drawing tokens and tickets from `entropy`.
    pub fn new(store: Box<dyn Store>, entropy: Box<dyn Entropy>, config: HubConfig) -> Hub {
        Hub {
            registry: Registry::default(),
            store,
            entropy,
            tickets: Tickets::default(),
            config,
            scratch: Vec::with_capacity(256),
            stopping: false,
        }
    }

    /// The server is stopping (§6 `SHUTDOWN`): every connection it holds ends at
    /// once, so [`Hub::disconnect`] sends no more `UPDATE:LEAVE` (PROTOCOL.md §10,
    /// after [LEA-1]: nobody registered is left to tell, and one per pair would be
    /// N²/2 lines).
    pub fn stop(&mut self) {
        self.stopping = true;
    }

    /// The registry (read-only).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Makes the store durable and closes it (it is replaced by an empty in-memory
    /// store): after this the database file is released.
    pub fn close_store(&mut self) -> Result<(), StoreError> {
        let r = self.store.flush();
        self.store = Box::new(crate::store::MemoryStore::new());
        r
    }

    /// The uniqueness key of a nick ([REG-3]: without regard to ASCII case).
    fn key(&self, nick: &Nick) -> String {
        if fault!(self, CaseSensitiveNicks) {
            return nick.as_str().to_owned();
        }
        nick.key().as_str().to_owned()
    }

    fn emit(&mut self, sink: &mut impl Sink, conn: ConnId, line: &ServerLine) {
        self.scratch.clear();
        line.encode(&mut self.scratch);
        sink.send(conn, &self.scratch);
    }

    fn err(&mut self, sink: &mut impl Sink, conn: ConnId, code: ErrorCode, why: &str) {
        self.emit(sink, conn, &ServerLine::error(code, why));
    }

    /// A storage failure: the request had no effect and may be tried again
    /// (`ERR:UNAVAILABLE`, §6); the connection goes on.
    fn storage_failed(&mut self, sink: &mut impl Sink, conn: ConnId, e: &StoreError) {
        tracing::error!(conn, error = %e, "storage failed");
        self.err(
            sink,
            conn,
            ErrorCode::Unavailable,
            "server storage failed; try again",
        );
    }

    /// Sends a reply made of `entries` (each `":..."`) as `<final_verb><entries>`, or,
    /// when that does not fit in `MAX_LINE` octets, as `<part_verb><entries>` lines
    /// followed by a last `<final_verb><entries>` line, every line within `MAX_LINE`,
    /// the entries in order ([REG-2], [BLK-4]). `total` is the summed length of the
    /// entries (given, so that the entries are walked once).
    fn emit_split<'e>(
        out: &mut Vec<u8>,
        sink: &mut impl Sink,
        conn: ConnId,
        part_verb: &[u8],
        final_verb: &[u8],
        total: usize,
        entries: impl Iterator<Item = &'e [u8]>,
    ) {
        out.clear();
        if final_verb.len() + total <= MAX_LINE {
            out.extend_from_slice(final_verb);
            for e in entries {
                out.extend_from_slice(e);
            }
            out.extend_from_slice(b"\r\n");
            sink.send(conn, out);
            return;
        }
        // Greedy: fill each line up to MAX_LINE with the part verb; what is left at the
        // end (at least one entry, so never more than a part's room) goes out under the
        // final verb, which is shorter.
        debug_assert!(final_verb.len() <= part_verb.len());
        out.extend_from_slice(part_verb);
        let mut filled = false;
        for e in entries {
            if filled && out.len() + e.len() > MAX_LINE {
                out.extend_from_slice(b"\r\n");
                sink.send(conn, out);
                out.clear();
                out.extend_from_slice(part_verb);
            }
            out.extend_from_slice(e);
            filled = true;
        }
        // Turn the last (unsent) part into the final line.
        out.splice(..part_verb.len(), final_verb.iter().copied());
        out.extend_from_slice(b"\r\n");
        sink.send(conn, out);
    }

    /// The `LIST` reply ([REG-2], [LST-1]), split into `LISTPART` lines when long.
    fn emit_list(&mut self, sink: &mut impl Sink, conn: ConnId) {
        let skip_self = fault!(self, ListWithoutSelf);
        let mut total = self.registry.entries_len();
        if skip_self && let Some(o) = self.registry.get(conn) {
            total -= o.entry().len();
        }
        let entries = self
            .registry
            .iter()
            .filter(|(c, _)| !(skip_self && *c == conn))
            .map(|(_, o)| o.entry());
        Hub::emit_split(
            &mut self.scratch,
            sink,
            conn,
            b"LISTPART",
            b"LIST",
            total,
            entries,
        );
    }

    /// Sends `line` to every registered connection, in registration order ([BRD-3]).
    fn send_all(&mut self, sink: &mut impl Sink, line: &ServerLine, except: Option<ConnId>) {
        self.scratch.clear();
        line.encode(&mut self.scratch);
        for (c, _) in self.registry.iter() {
            if Some(c) != except {
                sink.send(c, &self.scratch);
            }
        }
    }

    /// [`Hub::handle`] for a request borrowed from its line: a `BROADCAST`, the hot
    /// path of a relay, is relayed without copying its fields; every other request is
    /// copied and handled by [`Hub::handle`].
    pub fn handle_ref(
        &mut self,
        conn: ConnId,
        cmd: ClientLineRef<'_>,
        now: Now,
        sink: &mut impl Sink,
    ) -> Outcome {
        match cmd {
            ClientLineRef::Broadcast { nick, text } if self.registry.get(conn).is_some() => {
                self.broadcast(conn, nick, text, sink);
                Outcome::Continue
            }
            cmd => self.handle(conn, cmd.into_owned(), now, sink),
        }
    }

    /// One request from `conn`. The driver has already applied the state gate of §7
    /// (`ServerConn`); the hub checks registration again for safety.
    pub fn handle(
        &mut self,
        conn: ConnId,
        cmd: ClientLine,
        now: Now,
        sink: &mut impl Sink,
    ) -> Outcome {
        let registered = self.registry.get(conn).is_some();
        match cmd {
            ClientLine::Ping { token } => {
                self.emit(sink, conn, &ServerLine::Pong { token });
                Outcome::Continue
            }
            ClientLine::Pong { .. } => Outcome::Continue,
            ClientLine::Quit => {
                self.emit(sink, conn, &ServerLine::Bye);
                Outcome::Close
            }
            ClientLine::Register {
                nick,
                address,
                token,
            } => {
                if registered {
                    self.err(
                        sink,
                        conn,
                        ErrorCode::AlreadyRegistered,
                        "this connection is registered already",
                    );
                    return Outcome::Continue;
                }
                self.register(conn, nick, address, token, sink)
            }
            _ if !registered => {
                self.err(sink, conn, ErrorCode::NotRegistered, "register first");
                Outcome::Continue
            }
            ClientLine::Broadcast { nick, text } => {
                self.broadcast(conn, (&nick).into(), (&text).into(), sink);
                Outcome::Continue
            }
            ClientLine::List => {
                self.emit_list(sink, conn);
                Outcome::Continue
            }
            ClientLine::Query { nick } => {
                let key = self.key(&nick);
                match self
                    .registry
                    .conn_of(&key)
                    .and_then(|c| self.registry.get(c))
                {
                    // [LST-2] "the nick and address as that user registered them".
                    Some(o) => {
                        let user = user_of(o);
                        self.emit(sink, conn, &ServerLine::User { user });
                    }
                    // [LST-3]
                    None => self.err(
                        sink,
                        conn,
                        ErrorCode::NoSuchNick,
                        "nobody by that nick is online",
                    ),
                }
                Outcome::Continue
            }
            ClientLine::Send { nick, text } => {
                self.send(conn, nick, text, now, sink);
                Outcome::Continue
            }
            ClientLine::Ack { id } => {
                self.ack(conn, id);
                Outcome::Continue
            }
            ClientLine::Block { nick } => {
                self.block(conn, nick, sink);
                Outcome::Continue
            }
            ClientLine::Unblock { nick } => {
                self.unblock(conn, nick, sink);
                Outcome::Continue
            }
            ClientLine::Blocks => {
                // [BLK-4], split into BLOCKSPART lines when long.
                let entries: Vec<Vec<u8>> = self
                    .registry
                    .get(conn)
                    .map(|o| {
                        o.blocks()
                            .iter()
                            .map(|(_, n)| {
                                let mut e = Vec::with_capacity(n.as_str().len() + 1);
                                e.push(b':');
                                e.extend_from_slice(n.as_str().as_bytes());
                                e
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Hub::emit_split(
                    &mut self.scratch,
                    sink,
                    conn,
                    b"BLOCKSPART",
                    b"BLOCKS",
                    entries.iter().map(Vec::len).sum(),
                    entries.iter().map(Vec::as_slice),
                );
                Outcome::Continue
            }
            ClientLine::Ticket { nick } => {
                self.ticket(conn, nick, now, sink);
                Outcome::Continue
            }
        }
    }

    /// §8: [REG-1] .. [REG-8], [OWN-1] .. [OWN-4], and the redelivery of [RLY-3].
    fn register(
        &mut self,
        conn: ConnId,
        nick: Nick,
        address: Address,
        token: Option<Token>,
        sink: &mut impl Sink,
    ) -> Outcome {
        let key = self.key(&nick);
        // [REG-3] "a REGISTER for a nick that another connection holds, in any mix of
        // case, MUST be answered with ERR:NICK_IN_USE".
        if self.registry.conn_of(&key).is_some() {
            self.err(
                sink,
                conn,
                ErrorCode::NickInUse,
                "that nick is online already",
            );
            return Outcome::Continue;
        }
        let owner = match self.store.owner(&key) {
            Ok(o) => o,
            Err(e) => {
                self.storage_failed(sink, conn, &e);
                return Outcome::Continue;
            }
        };
        // Everything that can fail comes before anything changes, so that a refused
        // or failed REGISTER leaves no trace ([REG-7]).
        let (new_token, blocks, mut mailbox) = match owner {
            // [OWN-1] a new owner, a new token; a token given in the REGISTER is ignored.
            // A nick nobody owned has no blocks and no mail ([BLK-8], [RLY-6]).
            None => {
                let t = Token::from_random(self.entropy.random16());
                if let Err(e) = self.store.add_owner(&key, &nick, &hash_token(&t)) {
                    self.storage_failed(sink, conn, &e);
                    return Outcome::Continue;
                }
                (Some(t), Vec::new(), Vec::new())
            }
            Some(stored) => {
                // [OWN-2] / [OWN-3]: the owner's token, compared in constant time.
                let ok = token.is_some_and(|t| bool::from(hash_token(&t).ct_eq(&stored)));
                if !ok && !fault!(self, NoTokenCheck) {
                    self.err(
                        sink,
                        conn,
                        ErrorCode::NickOwned,
                        "that nick is owned; give its token",
                    );
                    return Outcome::Continue;
                }
                let read = self
                    .store
                    .blocks(&key)
                    .and_then(|b| Ok((b, self.store.pending(&key)?)));
                match read {
                    Ok((blocks, mailbox)) => (None, blocks, mailbox),
                    Err(e) => {
                        self.storage_failed(sink, conn, &e);
                        return Outcome::Continue;
                    }
                }
            }
        };
        self.registry
            .insert(conn, nick.clone(), key, address.clone(), blocks);
        // [REG-1] JOIN to every registered connection, the new one included ...
        let join = ServerLine::Update {
            kind: UpdateKind::Join,
            user: User {
                nick: nick.clone(),
                address,
            },
        };
        self.send_all(sink, &join, None);
        // [OWN-1] ... TOKEN after its JOIN and before its LIST ...
        if let Some(token) = new_token {
            self.emit(sink, conn, &ServerLine::Token { nick, token });
        }
        // ... then the LIST reply ([REG-2]).
        self.emit_list(sink, conn);
        // [RLY-3] "after the LIST reply, ... every message still in the mailbox, in
        // increasing id order".
        if fault!(self, RedeliverReversed) {
            mailbox.reverse();
        }
        for m in mailbox {
            self.emit(sink, conn, &ServerLine::Msg(m));
        }
        Outcome::Registered
    }

    /// §10: [BRD-1], [BRD-2], [BLK-5].
    fn broadcast(
        &mut self,
        conn: ConnId,
        nick: NickRef<'_>,
        text: TextRef<'_>,
        sink: &mut impl Sink,
    ) {
        let Some(sender) = self.registry.get(conn) else {
            return;
        };
        // [BRD-2] "A BROADCAST naming a nick other than the sender's MUST be answered
        // with ERR:NOT_YOUR_NICK and relayed to nobody" (byte-for-byte, [BRD-1]).
        if sender.nick.as_str() != nick.as_str() && !fault!(self, NoSenderCheck) {
            self.err(
                sink,
                conn,
                ErrorCode::NotYourNick,
                "a broadcast must name your own nick",
            );
            return;
        }
        let no_echo = fault!(self, NoEcho);
        // [BLK-5] the recipients that block the sender, from the blocked-by index:
        // usually none, so the walk below tests nothing per recipient but the echo.
        // (Borrowed from the registry beside the scratch buffer: no copy of the key.)
        let blockers = if fault!(self, RelayFromBlocked) {
            None
        } else {
            self.registry.blockers_of(&sender.key)
        };
        self.scratch.clear();
        ServerLine::encode_broadcast(nick, text, &mut self.scratch);
        let to = self.registry.iter().map(|(c, _)| c).filter(|&c| {
            if c == conn {
                !no_echo
            } else {
                blockers.is_none_or(|b| !b.contains(&c))
            }
        });
        sink.fan_out(&self.scratch, to);
    }

    /// Relays a raw, already terminated BROADCAST line to everyone (the
    /// `NoLengthCheck` fault).
    #[cfg(feature = "faults")]
    pub fn relay_raw(&mut self, conn: ConnId, line: &[u8], sink: &mut impl Sink) {
        if self.registry.get(conn).is_none() {
            return;
        }
        for (c, _) in self.registry.iter() {
            sink.send(c, line);
        }
    }

    /// §11: [RLY-1], [RLY-2], [RLY-5] .. [RLY-7], [BLK-6].
    fn send(&mut self, conn: ConnId, to: Nick, text: Text, now: Now, sink: &mut impl Sink) {
        let Some(sender) = self.registry.get(conn) else {
            return;
        };
        let from = sender.nick.clone();
        let from_key = sender.key.clone();
        let to_key = self.key(&to);
        // [RLY-6] "SEND to oneself with ERR:BAD_TARGET".
        if to_key == from_key {
            self.err(
                sink,
                conn,
                ErrorCode::BadTarget,
                "you cannot send to yourself",
            );
            return;
        }
        let online = self.registry.conn_of(&to_key);
        let known = match online {
            Some(_) => Ok(true),
            None => self.store.owner(&to_key).map(|o| o.is_some()),
        };
        match known {
            Ok(true) => {}
            // [RLY-6] "SEND to a nick the server does not know MUST be answered with
            // ERR:NO_SUCH_NICK".
            Ok(false) => return self.err(sink, conn, ErrorCode::NoSuchNick, "no such user"),
            Err(e) => return self.storage_failed(sink, conn, &e),
        }
        let delivery = if online.is_some() {
            Delivery::Live
        } else {
            Delivery::Queued
        };
        // [RLY-7] the quota, checked before the block so that a blocked sender gets
        // MAILBOX_FULL exactly when anyone else would ([BLK-6]).
        match self.store.mailbox_len(&to_key) {
            Ok(n) if n >= self.config.mailbox_quota => {
                return self.err(
                    sink,
                    conn,
                    ErrorCode::MailboxFull,
                    "the recipient's mailbox is full",
                );
            }
            Ok(_) => {}
            Err(e) => return self.storage_failed(sink, conn, &e),
        }
        // [BLK-6] a SEND to a user who blocks the sender is dropped and answered as
        // if it had been accepted; it still uses up an id.
        let blocked = match online.filter(|c| self.registry.get(*c).is_some()) {
            Some(c) => Ok(self.registry.blocks(c, &from_key)),
            None => self.store.is_blocked(&to_key, &from_key),
        };
        let blocked = match blocked {
            Ok(b) => b && !fault!(self, RelayFromBlocked),
            Err(e) => return self.storage_failed(sink, conn, &e),
        };
        if blocked {
            match self.store.allocate_id() {
                Ok(id) => self.emit(sink, conn, &ServerLine::Sent { id, delivery }),
                Err(e) => self.storage_failed(sink, conn, &e),
            }
            return;
        }
        let time = Timestamp::new(now.unix_secs).unwrap_or_else(|_| {
            // Invariant: MAX_TIME is year 5138; a clock beyond it is clamped.
            Timestamp::new(spec::limits::MAX_TIME).unwrap_or_else(|_| unreachable!())
        });
        // [RLY-5] "written to stable storage before the SENT reply is sent".
        let id = match self.store.enqueue(&to_key, &from, time, &text) {
            Ok(id) => id,
            Err(e) => return self.storage_failed(sink, conn, &e),
        };
        self.emit(sink, conn, &ServerLine::Sent { id, delivery });
        if let Some(c) = online {
            self.emit(
                sink,
                c,
                &ServerLine::Msg(Msg {
                    id,
                    from,
                    time,
                    text,
                }),
            );
        }
    }

    /// [RLY-4] "ACK:<id> MUST remove that message only from the acknowledging user's
    /// own mailbox; an ACK for an id that is not in it is ignored, without reply".
    fn ack(&mut self, conn: ConnId, id: MsgId) {
        let Some(o) = self.registry.get(conn) else {
            return;
        };
        let key = o.key.clone();
        let r = if fault!(self, AckAnyMailbox) {
            #[cfg(feature = "faults")]
            let r = self.store.ack_any(id);
            #[cfg(not(feature = "faults"))]
            let r = self.store.ack(&key, id);
            r
        } else {
            self.store.ack(&key, id)
        };
        if let Err(e) = r {
            tracing::error!(conn, error = %e, "cannot acknowledge");
        }
    }

    /// [BLK-1], [BLK-2], [BLK-8], [BLK-9].
    fn block(&mut self, conn: ConnId, nick: Nick, sink: &mut impl Sink) {
        let Some(o) = self.registry.get(conn) else {
            return;
        };
        let owner = o.key.clone();
        let key = self.key(&nick);
        if key == owner {
            return self.err(
                sink,
                conn,
                ErrorCode::BadTarget,
                "you cannot block yourself",
            );
        }
        // [BLK-9]: a new block beyond the quota changes nothing; one already
        // held is answered as ever ([BLK-1]).
        let full = o.blocks().len() >= self.config.block_quota && !self.registry.blocks(conn, &key);
        if full {
            if fault!(self, BlocksFullRecorded) && self.store.block(&owner, &key, &nick).is_ok() {
                self.registry.add_block(conn, key, nick);
            }
            return self.err(
                sink,
                conn,
                ErrorCode::BlocksFull,
                "you hold the server's quota of blocks; UNBLOCK someone first",
            );
        }
        if let Err(e) = self.store.block(&owner, &key, &nick) {
            return self.storage_failed(sink, conn, &e);
        }
        self.registry.add_block(conn, key, nick.clone());
        self.emit(sink, conn, &ServerLine::Blocked { nick });
    }

    /// [BLK-3].
    fn unblock(&mut self, conn: ConnId, nick: Nick, sink: &mut impl Sink) {
        let Some(o) = self.registry.get(conn) else {
            return;
        };
        let owner = o.key.clone();
        let key = self.key(&nick);
        if let Err(e) = self.store.unblock(&owner, &key) {
            return self.storage_failed(sink, conn, &e);
        }
        self.registry.remove_block(conn, &key);
        self.emit(sink, conn, &ServerLine::Unblocked { nick });
    }

    /// §13: [TKT-1] .. [TKT-3], [BLK-7].
    fn ticket(&mut self, conn: ConnId, nick: Nick, now: Now, sink: &mut impl Sink) {
        let Some(me) = self.registry.get(conn) else {
            return;
        };
        let me_user = user_of(me);
        let me_key = me.key.clone();
        let key = self.key(&nick);
        if key == me_key {
            return self.err(
                sink,
                conn,
                ErrorCode::BadTarget,
                "you cannot chat with yourself",
            );
        }
        let Some(target_conn) = self.registry.conn_of(&key) else {
            return self.err(
                sink,
                conn,
                ErrorCode::NoSuchNick,
                "nobody by that nick is online",
            );
        };
        let Some(target) = self.registry.get(target_conn) else {
            return self.err(
                sink,
                conn,
                ErrorCode::NoSuchNick,
                "nobody by that nick is online",
            );
        };
        let target_user = user_of(target);
        let blocks_me = self.registry.blocks(target_conn, &me_key);
        let ticket = self.tickets.issue(self.entropy.as_mut(), now.mono);
        // [TKT-1] INVITE to the target, then the reply; [BLK-7] no INVITE to a user who
        // blocks the requester.
        if !blocks_me && !fault!(self, NoInvite) {
            self.emit(
                sink,
                target_conn,
                &ServerLine::Invite {
                    user: me_user,
                    ticket,
                },
            );
        }
        self.emit(
            sink,
            conn,
            &ServerLine::Ticket {
                user: target_user,
                ticket,
            },
        );
    }

    /// `conn` ended, whatever the cause: [LEA-1] LEAVE to the others, nick freed;
    /// [LEA-2] nothing for a connection that never registered; once the server
    /// is stopping ([`Hub::stop`]), the nick is freed and nothing is sent.
    pub fn disconnect(&mut self, conn: ConnId, sink: &mut impl Sink) {
        match self.registry.remove(conn) {
            Some(_) if self.stopping => {}
            Some(o) => {
                let leave = ServerLine::Update {
                    kind: UpdateKind::Leave,
                    user: User {
                        nick: o.nick,
                        address: o.address,
                    },
                };
                self.send_all(sink, &leave, Some(conn));
            }
            None if fault!(self, LeaveForUnregistered) => {
                #[cfg(feature = "faults")]
                if let (Ok(nick), Ok(ip), Ok(port)) = (
                    Nick::new("ghost"),
                    spec::Ip::new("127.0.0.1"),
                    spec::Port::new(9),
                ) {
                    let leave = ServerLine::Update {
                        kind: UpdateKind::Leave,
                        user: User {
                            nick,
                            address: Address::new(ip, port),
                        },
                    };
                    self.send_all(sink, &leave, Some(conn));
                }
            }
            None => {}
        }
    }
}
