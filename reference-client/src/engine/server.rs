//! The server connection: lines in, events out, requests made for commands.

use spec::machine::client::{ClientEvent, Reply, Request, RequestId};
use spec::{Datagram, Delivery, ServerLine, UpdateKind};

use super::{CmdSeq, Confirm, Engine, OnFail};
use crate::config::Exit;
use crate::events::{Event, MessageVia, SentVia, UserInfo};
use crate::net::Incoming;

impl Engine {
    pub(super) fn on_server_input(&mut self, inc: Incoming) {
        match inc {
            Incoming::Line(line) => match ServerLine::decode(&line) {
                Ok(l) => {
                    if let Some(s) = self.server.as_mut() {
                        s.machine.on_line(l);
                    }
                }
                // [CLI-2]: unknown verbs and undecodable lines are ignored.
                Err(e) => tracing::debug!("ignoring a server line: {e}"),
            },
            Incoming::TooLong => tracing::debug!("ignoring an overlong server line"),
            Incoming::End(reason) => self.on_server_closed(reason),
        }
    }

    fn on_server_closed(&mut self, reason: String) {
        if !self.server.as_ref().is_some_and(|s| s.open) {
            return;
        }
        let quitting = self.quit_deadline.is_some();
        self.finish_server_quit(if quitting { "quit".to_owned() } else { reason });
        if !quitting && self.exit.is_none() {
            // [AUT-4]: the connection to the server was lost.
            self.exit = Some(Exit::Network);
        }
    }

    /// The server connection is over: closed by the server, or after QUIT (BYE
    /// and close, or the wait for them timed out).
    pub(super) fn finish_server_quit(&mut self, reason: String) {
        let was_quitting = self.quit_deadline.take().is_some();
        let mut left = Vec::new();
        if let Some(s) = self.server.as_mut() {
            if let Some(w) = s.link.finish() {
                self.writers.push(w);
            }
            s.open = false;
            left = s.machine.on_closed();
        }
        for (rid, _) in left {
            self.ticket_requests.remove(&rid);
        }
        self.emit(Event::Closed { reason });
        // Everything still waiting for the server is done, unanswered.
        let pending: Vec<CmdSeq> = self.request_cmds.drain().map(|(_, c)| c).collect();
        for c in pending {
            self.done(Some(c));
        }
        let waiting: Vec<_> = self.pending_direct.drain().map(|(_, p)| p).collect();
        for p in waiting {
            self.fail_pending_direct(p, "UNREACHABLE", "the server connection ended");
        }
        if was_quitting && self.exit.is_none() {
            self.exit = Some(Exit::Ok);
        }
    }

    /// Makes a request for command `cmd` (done when its reply arrives).
    pub(super) fn request(&mut self, req: Request, cmd: Option<CmdSeq>) -> Option<RequestId> {
        let s = self.server.as_mut().filter(|s| s.open)?;
        let rid = s.machine.request(req);
        if let Some(c) = cmd {
            self.request_cmds.insert(rid, c);
        }
        Some(rid)
    }

    /// Sends what the server machine has queued and handles its events.
    pub(super) fn pump_server(&mut self) -> bool {
        let mut progressed = false;
        loop {
            let Some(s) = self.server.as_mut() else {
                return progressed;
            };
            if let Some(line) = s.machine.poll_transmit() {
                progressed = true;
                if s.open {
                    let mut buf = Vec::new();
                    line.encode(&mut buf);
                    s.link.send(buf);
                }
                continue;
            }
            let Some(ev) = s.machine.poll_event() else {
                return progressed;
            };
            progressed = true;
            self.on_client_event(ev);
        }
    }

    fn on_client_event(&mut self, ev: ClientEvent) {
        match ev {
            ClientEvent::Registered { users } => {
                self.registered = true;
                self.users = users.iter().map(|u| (u.nick.key(), u.clone())).collect();
                self.emit(Event::Ready {
                    nick: self.own.to_string(),
                    port: self.udp_port,
                });
                self.emit(Event::Users {
                    users: users.iter().map(UserInfo::from).collect(),
                });
            }
            ClientEvent::TokenIssued { nick, token } => {
                let key = self
                    .server
                    .as_ref()
                    .map(|s| s.key.clone())
                    .unwrap_or_default();
                if let Err(e) = self.tokens.set(&key, &nick, &token) {
                    self.notice(format!("could not keep the token for {nick}: {e}"));
                    tracing::error!("keeping the token: {e}");
                }
            }
            ClientEvent::RegisterRefused { code, text } => {
                self.emit(Event::error(code.as_str(), text.as_str()));
                self.exit = Some(Exit::Refused);
            }
            ClientEvent::Update { kind, user } => {
                let info = UserInfo::from(&user);
                match kind {
                    UpdateKind::Join => {
                        self.users.insert(user.nick.key(), user);
                        self.emit(Event::Join {
                            nick: info.nick,
                            ip: info.ip,
                            port: info.port,
                        });
                    }
                    UpdateKind::Leave => {
                        self.users.remove(&user.nick.key());
                        self.emit(Event::Leave {
                            nick: info.nick,
                            ip: info.ip,
                            port: info.port,
                        });
                    }
                }
            }
            ClientEvent::Broadcast { from, text, echo } => {
                if echo.is_none() && self.is_blocked(&from) {
                    return;
                }
                self.emit(Event::Broadcast {
                    from: from.to_string(),
                    text: text.to_string(),
                });
            }
            ClientEvent::Message(msg) => {
                // Show (the front end writes the event), then record, then
                // acknowledge: both in `confirm_shown`. The machine reports an id
                // once (ids shown in earlier runs are preloaded into it); a
                // blocked sender's message is recorded and acknowledged unshown.
                if !self.is_blocked(&msg.from) {
                    self.emit_relay_message(&msg);
                }
                self.confirms.push(Confirm::Relay(msg.id));
            }
            ClientEvent::Invite { user, ticket } => {
                if self.is_blocked(&user.nick) {
                    return;
                }
                let now = self.now();
                self.invites
                    .insert(&user.nick, ticket, user.address.clone(), now);
                self.notice(format!("{} invites you to a private chat", user.nick));
                self.retry_held_offers();
            }
            ClientEvent::Reply { request, reply } => self.on_reply(request, reply),
        }
    }

    fn emit_relay_message(&mut self, msg: &spec::Msg) {
        self.emit(Event::Message {
            from: msg.from.to_string(),
            text: msg.text.to_string(),
            via: MessageVia::Relay,
            id: Some(msg.id.get()),
            time: Some(msg.time.secs()),
        });
    }

    fn on_reply(&mut self, request: Option<(RequestId, Request)>, reply: Reply) {
        let rid = request.as_ref().map(|(r, _)| *r);
        let cmd = rid.and_then(|r| self.request_cmds.remove(&r));
        if let Some(r) = rid
            && let Some(key) = self.ticket_requests.remove(&r)
        {
            self.on_ticket_reply(key, reply);
            self.done(cmd);
            return;
        }
        let sent_text = match &request {
            Some((_, Request::Send { text, .. })) => text.to_string(),
            _ => String::new(),
        };
        match reply {
            Reply::Echo | Reply::Pong(_) => {}
            Reply::Sent { to, id, delivery } => self.emit(Event::Sent {
                to: to.to_string(),
                via: match delivery {
                    Delivery::Live => SentVia::Live,
                    Delivery::Queued => SentVia::Queued,
                },
                id: Some(id.get()),
                text: sent_text,
            }),
            Reply::Users(users) => {
                self.users = users.iter().map(|u| (u.nick.key(), u.clone())).collect();
                self.emit(Event::Users {
                    users: users.iter().map(UserInfo::from).collect(),
                });
            }
            Reply::User(user) => {
                let info = UserInfo::from(&user);
                self.users.insert(user.nick.key(), user);
                self.emit(Event::User {
                    nick: info.nick,
                    ip: info.ip,
                    port: info.port,
                });
            }
            Reply::Blocked(nick) => self.emit(Event::Blocked {
                nick: nick.to_string(),
            }),
            Reply::Unblocked(nick) => self.emit(Event::Unblocked {
                nick: nick.to_string(),
            }),
            Reply::Blocks(nicks) => self.emit(Event::Blocks {
                nicks: nicks.iter().map(ToString::to_string).collect(),
            }),
            Reply::Ticket { .. } => {}
            Reply::Bye => {}
            Reply::Error { code, text } => self.emit(Event::error(code.as_str(), text.as_str())),
        }
        self.done(cmd);
    }

    /// The answer to a TICKET made for a private chat ([DIR-1]).
    fn on_ticket_reply(&mut self, key: spec::NickKey, reply: Reply) {
        let Some(mut pending) = self.pending_direct.remove(&key) else {
            return;
        };
        match reply {
            Reply::Ticket { user, ticket } => {
                let now = self.now();
                self.tickets
                    .insert(&user.nick, ticket, user.address.clone(), now);
                let offer = Datagram::Offer {
                    nick: self.own.clone(),
                    port: match spec::Port::new(self.listen_port) {
                        Ok(p) => p,
                        Err(_) => return,
                    },
                    ticket,
                };
                let mut buf = Vec::new();
                offer.encode(&mut buf);
                let to = user.address.socket_addr();
                if let Some(udp) = self.udp.clone() {
                    // A datagram send on an unconnected socket does not block for
                    // long; a failure is the same as a lost datagram.
                    if let Err(e) = udp.try_send_to(&buf, to) {
                        tracing::debug!("OFFER to {to}: {e}");
                    }
                }
                pending.deadline = Some(now + self.cfg.connect_timeout);
                self.pending_direct.insert(key, pending);
            }
            Reply::Error { code, text } => {
                self.fail_pending_direct(pending, code.as_str(), text.as_str());
            }
            _ => self.fail_pending_direct(pending, "UNREACHABLE", "unexpected reply to TICKET"),
        }
    }

    /// Sends `text` to `to` through the server mailbox for command `cmd`.
    pub(super) fn send_via_mailbox(
        &mut self,
        to: spec::Nick,
        text: spec::Text,
        cmd: Option<CmdSeq>,
    ) {
        if self.request(Request::Send { to, text }, cmd).is_none() {
            self.emit(Event::error("UNREACHABLE", "not connected to a server"));
            self.done(cmd);
        }
    }

    /// Gives up on a private chat set-up: each message goes its fallback way.
    pub(super) fn fail_pending_direct(&mut self, p: super::PendingDirect, code: &str, text: &str) {
        if let Some(c) = p.start_cmd {
            self.emit(Event::error(code, text));
            self.done(Some(c));
        }
        for o in p.msgs {
            self.fail_outgoing(o, code, text);
        }
    }

    /// A message that could not be delivered on a session.
    pub(super) fn fail_outgoing(&mut self, o: super::Outgoing, code: &str, text: &str) {
        match o.on_fail {
            OnFail::Mailbox => {
                self.notice(format!(
                    "{} cannot be reached directly; sending through the server",
                    o.to
                ));
                self.send_via_mailbox(o.to, o.msg.text, o.cmd);
            }
            OnFail::Report => {
                self.emit(Event::error(code, text));
                self.done(o.cmd);
            }
            OnFail::Outbox => {
                self.put_in_outbox(&o);
                self.done(o.cmd);
            }
        }
    }

    /// Sends a DM datagram ([UDP-1]).
    pub(super) fn send_dm(&mut self, to: spec::Nick, text: spec::Text) {
        let Some(user) = self.users.get(&to.key()).cloned() else {
            self.emit(Event::error(
                "NO_SUCH_NICK",
                format!("no known address for {to}; try list or query"),
            ));
            return;
        };
        let Some(udp) = self.udp.clone() else {
            self.emit(Event::error("USAGE", "dm needs a server"));
            return;
        };
        let mut buf = Vec::new();
        let shown = text.to_string();
        Datagram::Dm {
            nick: self.own.clone(),
            text,
        }
        .encode(&mut buf);
        match udp.try_send_to(&buf, user.address.socket_addr()) {
            Ok(_) => self.emit(Event::Sent {
                to: user.nick.to_string(),
                via: SentVia::Udp,
                id: None,
                text: shown,
            }),
            Err(e) => self.emit(Event::error("UNREACHABLE", format!("DM to {to}: {e}"))),
        }
    }

    /// Sends QUIT to the server; the run ends at BYE (or after the wait).
    pub(super) fn quit_server(&mut self) {
        let open = self.server.as_ref().is_some_and(|s| s.open);
        if open {
            let _ = self.request(Request::Quit, None);
            self.quit_deadline = Some(self.now() + self.cfg.quit_timeout);
        } else if self.exit.is_none() {
            self.exit = Some(Exit::Ok);
        }
    }
}
