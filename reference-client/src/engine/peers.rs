//! Peer sessions: accepted and dialled connections, their events, private
//! messages over them, and the serverless outbox.

use std::net::SocketAddr;

use spec::machine::client::Request;
use spec::machine::peer::{CloseReason, PeerEvent, PeerSession, PeerState};
use spec::{ErrorCode, Msg, Nick, PeerLine, Text, Ticket, Timestamp};
use tokio::net::TcpStream;

use super::{
    CmdSeq, Confirm, Dial, DialKind, Engine, OnFail, Outgoing, PendingDirect, Slot, addr_string,
};
use crate::events::{Event, MessageVia, PeerInfo, SentVia, SessionState};
use crate::net::pumps::{self, Link};
use crate::net::{Incoming, NetInput, SessionId};
use crate::store::outbox::OutboxEntry;
use crate::store::seen::SeenLog;

impl Engine {
    fn new_sid(&mut self) -> SessionId {
        let sid = self.next_sid;
        self.next_sid += 1;
        sid
    }

    fn add_slot(
        &mut self,
        sid: SessionId,
        stream: TcpStream,
        session: PeerSession,
        addr: String,
        connect_cmd: Option<CmdSeq>,
    ) {
        let link = Link::start(stream, self.net_tx.clone(), move |inc| {
            NetInput::Peer(sid, inc)
        });
        self.sessions.insert(
            sid,
            Slot {
                session,
                link,
                addr,
                opened: false,
                outgoing: Default::default(),
                connect_cmd,
            },
        );
    }

    pub(super) fn on_accepted(&mut self, stream: TcpStream, from: SocketAddr) {
        let waiting = self
            .sessions
            .values()
            .filter(|s| !s.session.is_connector() && s.session.state() == PeerState::Handshake)
            .count();
        if waiting >= self.cfg.max_handshakes {
            tracing::warn!(
                %from,
                waiting,
                max_handshakes = self.cfg.max_handshakes,
                "peer connection closed: too many connections waiting for HELLO"
            );
            drop(stream);
            return;
        }
        let now = self.now();
        let session = if self.is_hybrid() {
            PeerSession::accept_hybrid(self.own.clone(), now)
        } else {
            PeerSession::accept_serverless(self.own.clone(), now)
        };
        let sid = self.new_sid();
        self.add_slot(sid, stream, session, addr_string(from), None);
    }

    /// Opens a serverless session to `addr` ([MESH-1], [MESH-3]).
    pub(super) fn dial_serverless(&mut self, addr: String, cmd: Option<CmdSeq>) {
        let sid = self.new_sid();
        self.dials.insert(
            sid,
            Dial {
                addr: addr.clone(),
                kind: DialKind::Serverless,
                cmd,
            },
        );
        let h = pumps::spawn_connect(sid, addr, self.cfg.connect_timeout, self.net_tx.clone());
        self.background.push(h);
    }

    /// Connects back to an inviter after a valid OFFER ([DIR-2]).
    pub(super) fn dial_hybrid(&mut self, to: SocketAddr, inviter: Nick, ticket: Ticket) {
        let sid = self.new_sid();
        let addr = addr_string(to);
        self.dials.insert(
            sid,
            Dial {
                addr: addr.clone(),
                kind: DialKind::Hybrid { inviter, ticket },
                cmd: None,
            },
        );
        let h = pumps::spawn_connect(sid, addr, self.cfg.connect_timeout, self.net_tx.clone());
        self.background.push(h);
    }

    pub(super) fn on_connected(&mut self, sid: SessionId, result: Result<TcpStream, String>) {
        let Some(dial) = self.dials.remove(&sid) else {
            return;
        };
        match result {
            Err(reason) => {
                if dial.cmd.is_some() {
                    self.emit(Event::error("UNREACHABLE", reason));
                    self.done(dial.cmd);
                } else {
                    self.notice(reason);
                }
            }
            Ok(stream) => {
                let now = self.now();
                let session = match dial.kind {
                    DialKind::Serverless => PeerSession::connect_serverless(self.own.clone(), now),
                    DialKind::Hybrid { inviter, ticket } => {
                        PeerSession::connect_hybrid(self.own.clone(), inviter, ticket, now)
                    }
                };
                self.add_slot(sid, stream, session, dial.addr, dial.cmd);
            }
        }
    }

    pub(super) fn on_peer_input(&mut self, sid: SessionId, inc: Incoming) {
        let now = self.now();
        let Engine {
            sessions,
            tickets,
            blocks,
            ..
        } = self;
        let Some(slot) = sessions.get_mut(&sid) else {
            return;
        };
        match inc {
            Incoming::Line(bytes) => match PeerLine::decode(&bytes) {
                Ok(line) => {
                    let blocked = |n: &Nick| blocks.contains(n);
                    slot.session.on_line(line, now, tickets, &blocked);
                }
                Err(e) => slot.session.on_bad_line(e.code, e.reason),
            },
            Incoming::TooLong => slot
                .session
                .on_bad_line(ErrorCode::LineTooLong, "line too long"),
            Incoming::End(_) => slot.session.on_eof(),
        }
    }

    /// Sends what session `sid` has queued and handles its events; removes it
    /// once it is closed.
    pub(super) fn pump_session(&mut self, sid: SessionId) -> bool {
        let mut progressed = false;
        loop {
            let Some(slot) = self.sessions.get_mut(&sid) else {
                return progressed;
            };
            if let Some(line) = slot.session.poll_transmit() {
                progressed = true;
                let mut buf = Vec::new();
                line.encode(&mut buf);
                slot.link.send(buf);
                continue;
            }
            if let Some(ev) = slot.session.poll_event() {
                progressed = true;
                self.on_peer_event(sid, ev);
                continue;
            }
            return progressed;
        }
    }

    fn on_peer_event(&mut self, sid: SessionId, ev: PeerEvent) {
        match ev {
            PeerEvent::Opened { nick } => self.on_opened(sid, nick),
            PeerEvent::Message(msg) => self.on_peer_message(sid, msg),
            PeerEvent::Broadcast { from, text } => {
                if !self.is_blocked(&from) {
                    self.emit(Event::Broadcast {
                        from: from.to_string(),
                        text: text.to_string(),
                    });
                }
            }
            PeerEvent::Acked(msg) => {
                let Some(slot) = self.sessions.get_mut(&sid) else {
                    return;
                };
                let Some(o) = slot.outgoing.remove(&msg.id) else {
                    return;
                };
                if o.on_fail == OnFail::Outbox
                    && let Err(e) = self.outbox.remove(&o.to, o.msg.id.get())
                {
                    tracing::error!("outbox: {e}");
                }
                self.emit(Event::Sent {
                    to: o.to.to_string(),
                    via: SentVia::Direct,
                    id: Some(o.msg.id.get()),
                    text: o.msg.text.to_string(),
                });
                self.done(o.cmd);
            }
            PeerEvent::Pong(_) => {}
            PeerEvent::Error { code, text } => {
                self.emit(Event::error(code.as_str(), text.as_str()))
            }
            PeerEvent::Closed(reason) => self.on_session_closed(sid, reason),
        }
    }

    fn on_opened(&mut self, sid: SessionId, nick: Nick) {
        let Some(slot) = self.sessions.get_mut(&sid) else {
            return;
        };
        slot.opened = true;
        let addr = slot.addr.clone();
        let cmd = slot.connect_cmd.take();
        self.emit(Event::Session {
            nick: nick.to_string(),
            state: SessionState::Open,
            addr,
        });
        self.done(cmd);
        if let Some(p) = self.pending_direct.remove(&nick.key()) {
            self.done(p.start_cmd);
            for o in p.msgs {
                self.send_on(sid, o);
            }
        }
        // [MESH-5]: what waited in the outbox goes out now.
        for e in self.outbox.for_nick(&nick) {
            let (Ok(id), Ok(time), Ok(text)) = (
                spec::MsgId::new(e.id),
                Timestamp::new(e.time),
                Text::new(&e.text),
            ) else {
                continue;
            };
            let already = self.sessions.values().any(|s| s.outgoing.contains_key(&id));
            if already {
                continue;
            }
            let o = Outgoing {
                cmd: None,
                to: nick.clone(),
                msg: Msg {
                    id,
                    from: self.own.clone(),
                    time,
                    text,
                },
                on_fail: OnFail::Outbox,
            };
            self.send_on(sid, o);
        }
    }

    fn send_on(&mut self, sid: SessionId, o: Outgoing) {
        let Some(slot) = self.sessions.get_mut(&sid) else {
            let (code, text) = ("UNREACHABLE", "the session ended");
            self.fail_outgoing(o, code, text);
            return;
        };
        match slot.session.send_msg(o.msg.clone()) {
            Ok(()) => {
                slot.outgoing.insert(o.msg.id, o);
            }
            Err(_) => self.fail_outgoing(o, "UNREACHABLE", "the session ended"),
        }
    }

    fn on_peer_message(&mut self, sid: SessionId, msg: Msg) {
        let key = msg.from.key();
        if !self.peer_seen.contains_key(&key) {
            let name = format!("peer {} {}", self.own.key(), key);
            match SeenLog::open(&self.cfg.data_dir, &name) {
                Ok(log) => {
                    self.peer_seen.insert(key.clone(), log);
                }
                Err(e) => tracing::error!("shown ids for {}: {e}", msg.from),
            }
        }
        // Shown before (in this run or an earlier one, on this session or
        // another): acknowledged, not shown again. Otherwise shown, then recorded
        // and acknowledged by `confirm_shown`.
        let showing = (key.clone(), msg.id);
        let shown_before = self.peer_seen.get(&key).is_some_and(|l| l.contains(msg.id))
            || self.peer_showing.contains(&showing);
        if shown_before {
            self.confirms.push(Confirm::Peer {
                sid,
                id: msg.id,
                record: None,
            });
            return;
        }
        self.emit(Event::Message {
            from: msg.from.to_string(),
            text: msg.text.to_string(),
            via: MessageVia::Direct,
            id: Some(msg.id.get()),
            time: Some(msg.time.secs()),
        });
        self.peer_showing.insert(showing);
        self.confirms.push(Confirm::Peer {
            sid,
            id: msg.id,
            record: Some(key),
        });
    }

    fn on_session_closed(&mut self, sid: SessionId, reason: CloseReason) {
        // Lines still queued (QUIT, ERR) go out before the socket closes.
        let _ = self.pump_transmits(sid);
        let Some(mut slot) = self.sessions.remove(&sid) else {
            return;
        };
        if reason == CloseReason::Blocked {
            slot.link.abort();
        } else if let Some(w) = slot.link.finish() {
            self.writers.push(w);
        }
        let nick = slot.session.peer().cloned();
        if slot.opened
            && let Some(n) = &nick
        {
            self.emit(Event::Session {
                nick: n.to_string(),
                state: SessionState::Closed,
                addr: slot.addr.clone(),
            });
        }
        if let Some(c) = slot.connect_cmd.take() {
            let why = match &reason {
                CloseReason::Refused(code) => format!("refused: {code}"),
                CloseReason::PeerError(code) => format!("the peer answered {}", code.as_str()),
                CloseReason::Blocked => "the peer is blocked".to_owned(),
                other => format!("the session ended: {other:?}"),
            };
            self.emit(Event::error("UNREACHABLE", why));
            self.done(Some(c));
        }
        // §14: a message not acknowledged was not delivered.
        for msg in slot.session.take_unacked() {
            let o = slot.outgoing.remove(&msg.id);
            if let Some(o) = o {
                self.fail_outgoing(
                    o,
                    "UNREACHABLE",
                    "the session ended before the message was acknowledged",
                );
            }
        }
    }

    fn pump_transmits(&mut self, sid: SessionId) -> Option<()> {
        let slot = self.sessions.get_mut(&sid)?;
        while let Some(line) = slot.session.poll_transmit() {
            let mut buf = Vec::new();
            line.encode(&mut buf);
            slot.link.send(buf);
        }
        Some(())
    }

    /// The open session with `nick`, if any.
    pub(super) fn session_with(&self, nick: &Nick) -> Option<SessionId> {
        self.sessions
            .iter()
            .find(|(_, s)| {
                s.session.state() == PeerState::Open
                    && s.session.peer().is_some_and(|p| p.eq_ignore_case(nick))
            })
            .map(|(sid, _)| *sid)
    }

    /// Sends a private message on a peer session with `to`, opening one first in
    /// hybrid mode (§13); serverless, with no session, it waits in the outbox.
    pub(super) fn send_private(
        &mut self,
        to: Nick,
        text: Text,
        cmd: Option<CmdSeq>,
        on_fail: OnFail,
    ) {
        let id = self.next_peer_id(&to);
        let time = Timestamp::new(Self::unix_now()).unwrap_or_else(|_| zero_time());
        let o = Outgoing {
            cmd,
            to: to.clone(),
            msg: Msg {
                id,
                from: self.own.clone(),
                time,
                text,
            },
            on_fail,
        };
        if let Some(sid) = self.session_with(&to) {
            self.send_on(sid, o);
        } else if self.is_hybrid() {
            self.open_direct(to, Some(o), None);
        } else {
            self.put_in_outbox(&o);
            self.done(o.cmd);
        }
    }

    /// Starts (or joins) the set-up of a private chat with `to`: TICKET, then
    /// OFFER, then the target connects back ([DIR-1]).
    pub(super) fn open_direct(
        &mut self,
        to: Nick,
        msg: Option<Outgoing>,
        start_cmd: Option<CmdSeq>,
    ) {
        let key = to.key();
        if let Some(p) = self.pending_direct.get_mut(&key) {
            p.msgs.extend(msg);
            if start_cmd.is_some() {
                p.start_cmd = start_cmd;
            }
            return;
        }
        let rid = self.request(Request::Ticket(to.clone()), None);
        let pending = PendingDirect {
            nick: to,
            deadline: None,
            msgs: msg.into_iter().collect(),
            start_cmd,
        };
        match rid {
            Some(rid) => {
                self.ticket_requests.insert(rid, key.clone());
                self.pending_direct.insert(key, pending);
            }
            None => self.fail_pending_direct(pending, "UNREACHABLE", "not connected to a server"),
        }
    }

    /// Keeps a message in the outbox ([MESH-5]).
    pub(super) fn put_in_outbox(&mut self, o: &Outgoing) {
        let entry = OutboxEntry {
            to: o.to.to_string(),
            id: o.msg.id.get(),
            time: o.msg.time.secs(),
            text: o.msg.text.to_string(),
        };
        if let Err(e) = self.outbox.push(entry) {
            self.emit(Event::error("UNREACHABLE", format!("outbox: {e}")));
            return;
        }
        if o.cmd.is_some() {
            self.emit(Event::Sent {
                to: o.to.to_string(),
                via: SentVia::Queued,
                id: Some(o.msg.id.get()),
                text: o.msg.text.to_string(),
            });
        }
    }

    /// A mesh broadcast on every open session, one per peer nick ([MESH-2]).
    pub(super) fn mesh_broadcast(&mut self, text: Text) {
        let mut done: Vec<spec::NickKey> = Vec::new();
        for slot in self.sessions.values_mut() {
            let Some(peer) = slot.session.peer() else {
                continue;
            };
            let key = peer.key();
            if done.contains(&key) {
                continue;
            }
            if slot.session.send_broadcast(text.clone()) {
                done.push(key);
            }
        }
        self.emit(Event::Broadcast {
            from: self.own.to_string(),
            text: text.to_string(),
        });
    }

    /// Ends the sessions matching `pred` with QUIT; returns how many.
    pub(super) fn close_sessions(&mut self, pred: impl Fn(&Slot) -> bool) -> usize {
        let mut n = 0;
        for slot in self.sessions.values_mut() {
            if slot.session.state() != PeerState::Closed && pred(slot) {
                slot.session.close();
                n += 1;
            }
        }
        n
    }

    /// Drops every session with a nick at once, without a word (blocking):
    /// nothing more is read or sent on it, but lines sent before the block are
    /// still written.
    pub(super) fn drop_sessions_with(&mut self, nick: &Nick) {
        let sids: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.session.peer().is_some_and(|p| p.eq_ignore_case(nick)))
            .map(|(sid, _)| *sid)
            .collect();
        for sid in sids {
            if let Some(mut slot) = self.sessions.remove(&sid) {
                if let Some(w) = slot.link.finish() {
                    self.writers.push(w);
                }
                if slot.opened {
                    self.emit(Event::Session {
                        nick: nick.to_string(),
                        state: SessionState::Closed,
                        addr: slot.addr.clone(),
                    });
                }
                for msg in slot.session.take_unacked() {
                    if let Some(o) = slot.outgoing.remove(&msg.id) {
                        self.fail_outgoing(o, "UNREACHABLE", "blocked");
                    }
                }
            }
        }
    }

    /// The open sessions, for `peers`.
    pub(super) fn peer_list(&self) -> Vec<PeerInfo> {
        self.sessions
            .values()
            .filter(|s| s.session.state() == PeerState::Open)
            .filter_map(|s| {
                s.session.peer().map(|n| PeerInfo {
                    nick: n.to_string(),
                    addr: s.addr.clone(),
                })
            })
            .collect()
    }
}

#[allow(clippy::expect_used)]
fn zero_time() -> Timestamp {
    // Invariant: 0 is a valid time.
    Timestamp::new(0).expect("0 is a valid time")
}
