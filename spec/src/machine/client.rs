//! The client state machine (§8, §11, §17, §18, §19).
//!
//! One [`ClientMachine`] drives one connection to a server. It is sans-IO: the
//! driver feeds it decoded server lines ([`ClientMachine::on_line`]) and the user's
//! requests ([`ClientMachine::request`]), and takes out the lines to send
//! ([`ClientMachine::poll_transmit`]) and the events to act on
//! ([`ClientMachine::poll_event`]).
//!
//! What it takes care of:
//! - registration: `REGISTER` is the first line ([CLI-3]), with the token kept for
//!   that nick on that server ([CLI-6]); a `TOKEN` line is reported so that the
//!   driver can persist it; the `LIST` reply ends registration, an `ERR` refuses it;
//! - requests made before registration finished are held and sent after it;
//! - replies are matched to requests by order, with a FIFO of pending requests
//!   ([GEN-1]); events may come in between and are told apart by their verb (and a
//!   `BROADCAST` naming the own nick is the echo of the oldest pending broadcast);
//! - `MSG`: shown once, acknowledged after it was shown ([CLI-5]): the machine emits
//!   [`ClientEvent::Message`] and sends `ACK:<id>` only when the driver calls
//!   [`ClientMachine::shown`]; an id already shown (the driver may preload the ids
//!   it persisted) is acknowledged at once and not reported again;
//! - the server's `PING` is answered with `PONG` ([KA-2]);
//! - lines that are not expected are reported as unsolicited, never a failure
//!   ([CLI-2]).

use std::collections::{HashMap, HashSet, VecDeque};

use crate::{
    Address, ClientLine, Delivery, ErrCode, Msg, MsgId, Nick, PingToken, ServerLine, Text, Ticket,
    Token, UpdateKind, User,
};

/// A request the user (or the driver) makes of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `BROADCAST:<own nick>:<len>:<text>` ([CLI-4]).
    Broadcast(Text),
    /// `SEND:<nick>:<len>:<text>` ([CLI-7]).
    Send {
        /// The recipient.
        to: Nick,
        /// The message.
        text: Text,
    },
    /// `LIST`.
    List,
    /// `QUERY:<nick>`.
    Query(Nick),
    /// `BLOCK:<nick>` ([CLI-8]).
    Block(Nick),
    /// `UNBLOCK:<nick>` ([CLI-8]).
    Unblock(Nick),
    /// `BLOCKS`.
    Blocks,
    /// `TICKET:<nick>` ([DIR-1]).
    Ticket(Nick),
    /// `PING:<token>`: an ordering barrier.
    Ping(PingToken),
    /// `QUIT`.
    Quit,
}

impl Request {
    fn to_line(&self, own: &Nick) -> ClientLine {
        match self {
            Request::Broadcast(text) => ClientLine::Broadcast {
                nick: own.clone(),
                text: text.clone(),
            },
            Request::Send { to, text } => ClientLine::Send {
                nick: to.clone(),
                text: text.clone(),
            },
            Request::List => ClientLine::List,
            Request::Query(nick) => ClientLine::Query { nick: nick.clone() },
            Request::Block(nick) => ClientLine::Block { nick: nick.clone() },
            Request::Unblock(nick) => ClientLine::Unblock { nick: nick.clone() },
            Request::Blocks => ClientLine::Blocks,
            Request::Ticket(nick) => ClientLine::Ticket { nick: nick.clone() },
            Request::Ping(token) => ClientLine::Ping {
                token: token.clone(),
            },
            Request::Quit => ClientLine::Quit,
        }
    }
}

/// Identifies one request made through [`ClientMachine::request`], so that the
/// driver can tell when it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(u64);

impl RequestId {
    /// The number, increasing from 1 in the order requests were made.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// The successful answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The echo of a `BROADCAST` (also reported as [`ClientEvent::Broadcast`]).
    Echo,
    /// `SENT:<id>:LIVE|QUEUED`.
    Sent {
        /// The recipient named in the request.
        to: Nick,
        /// The id the server gave the message.
        id: MsgId,
        /// Live or queued.
        delivery: Delivery,
    },
    /// A `LIST` reply.
    Users(Vec<User>),
    /// A `USER` reply.
    User(User),
    /// `BLOCKED:<nick>`.
    Blocked(Nick),
    /// `UNBLOCKED:<nick>`.
    Unblocked(Nick),
    /// `BLOCKS[:<nick>...]`.
    Blocks(Vec<Nick>),
    /// `TICKET:<nick>:<ip>:<port>:<ticket>`.
    Ticket {
        /// The target and its registered address.
        user: User,
        /// The one-time ticket.
        ticket: Ticket,
    },
    /// `PONG:<token>`.
    Pong(PingToken),
    /// `BYE`.
    Bye,
    /// `ERR:<code>:<len>:<text>`: the request failed.
    Error {
        /// The code.
        code: ErrCode,
        /// The server's explanation.
        text: Text,
    },
}

/// What the machine reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// Registration finished: the `LIST` reply arrived. Mailbox messages follow.
    Registered {
        /// Every registered user, in registration order.
        users: Vec<User>,
    },
    /// The server made this client the owner of its nick: keep the token, per
    /// server and nick, for the next registration ([CLI-6]).
    TokenIssued {
        /// The nick now owned.
        nick: Nick,
        /// The token to keep.
        token: Token,
    },
    /// The server refused the registration; [`ClientMachine::register`] may try
    /// again (with another nick, say).
    RegisterRefused {
        /// The code (`NICK_IN_USE`, `NICK_OWNED`, `BAD_NICK`, ...).
        code: ErrCode,
        /// The server's explanation.
        text: Text,
    },
    /// `UPDATE:JOIN` or `UPDATE:LEAVE`.
    Update {
        /// Join or leave.
        kind: UpdateKind,
        /// Who.
        user: User,
    },
    /// A relayed `BROADCAST`; `echo` names the request when it is the own echo.
    Broadcast {
        /// The sender.
        from: Nick,
        /// The message.
        text: Text,
        /// The broadcast request this line answers, if it is the echo.
        echo: Option<RequestId>,
    },
    /// A private message not shown before: show it, then call
    /// [`ClientMachine::shown`] so that it is acknowledged ([CLI-5]).
    Message(Msg),
    /// `INVITE`: a peer wants a private session and will send an `OFFER` (§13).
    Invite {
        /// The initiator and its registered address.
        user: User,
        /// The ticket it will present.
        ticket: Ticket,
    },
    /// The answer to a request. `request` is `None` for a reply line that
    /// matched no pending request (reported, never a failure, [CLI-2]).
    Reply {
        /// The request answered, if any.
        request: Option<(RequestId, Request)>,
        /// The answer.
        reply: Reply,
    },
}

/// Where a connection to the server stands (§19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Not registered; [`ClientMachine::register`] starts registration.
    Unregistered,
    /// `REGISTER` sent, waiting for the `LIST` reply or an `ERR`.
    Registering,
    /// Registered.
    Registered,
    /// `QUIT` sent or `BYE` received: nothing more is sent.
    Closing,
}

/// What a pending entry waits for.
#[derive(Debug, Clone)]
enum Pending {
    Register,
    Request(RequestId, Request),
}

/// The sans-IO client side of a server connection.
#[derive(Debug)]
pub struct ClientMachine {
    nick: Nick,
    address: Address,
    token: Option<Token>,
    state: ClientState,
    next_request: u64,
    /// Requests sent, waiting for their reply, oldest first.
    pending: VecDeque<Pending>,
    /// Requests made before registration finished.
    held: VecDeque<(RequestId, Request)>,
    /// Message ids already shown.
    shown: HashSet<MsgId>,
    /// Message ids reported but not yet shown, with the number of copies received.
    showing: HashMap<MsgId, u32>,
    /// Users of `LISTPART` lines, waiting for the final `LIST` ([CLI-9]).
    list_parts: Vec<User>,
    /// Nicks of `BLOCKSPART` lines, waiting for the final `BLOCKS` ([CLI-9]).
    blocks_parts: Vec<Nick>,
    transmit: VecDeque<ClientLine>,
    events: VecDeque<ClientEvent>,
}

impl ClientMachine {
    /// A machine for `nick`, registering `address` (where it receives UDP
    /// datagrams, [CLI-3]) and presenting `token` if it holds one for that nick
    /// on that server ([CLI-6]). Nothing is sent until [`ClientMachine::register`].
    pub fn new(nick: Nick, address: Address, token: Option<Token>) -> ClientMachine {
        ClientMachine {
            nick,
            address,
            token,
            state: ClientState::Unregistered,
            next_request: 1,
            pending: VecDeque::new(),
            held: VecDeque::new(),
            shown: HashSet::new(),
            showing: HashMap::new(),
            list_parts: Vec::new(),
            blocks_parts: Vec::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Message ids already shown (persisted by the driver across runs): a `MSG`
    /// with one of them is acknowledged without being reported again.
    pub fn preload_shown(&mut self, ids: impl IntoIterator<Item = MsgId>) {
        self.shown.extend(ids);
    }

    /// The nick this machine registers (or registered).
    pub fn nick(&self) -> &Nick {
        &self.nick
    }

    /// The token held for the nick, if any.
    pub fn token(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    /// The state of the connection.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// Sends `REGISTER` (the first line, [CLI-3]). In state `Unregistered` only,
    /// for instance again after a refusal; `nick` and `token` replace the ones
    /// given before when present. Returns whether a `REGISTER` was queued.
    pub fn register(&mut self, nick: Option<Nick>, token: Option<Token>) -> bool {
        if self.state != ClientState::Unregistered {
            return false;
        }
        if let Some(nick) = nick {
            if !nick.eq_ignore_case(&self.nick) {
                self.token = None;
            }
            self.nick = nick;
        }
        if token.is_some() {
            self.token = token;
        }
        self.transmit.push_back(ClientLine::Register {
            nick: self.nick.clone(),
            address: self.address.clone(),
            token: self.token,
        });
        self.pending.push_back(Pending::Register);
        self.state = ClientState::Registering;
        true
    }

    /// Makes a request. Before registration finished it is held and sent after
    /// it (a `QUIT` or `PING` goes out at once: a server accepts them in any
    /// state, [GEN-2]). After `QUIT` nothing more is sent: the request is
    /// dropped and will never be answered.
    pub fn request(&mut self, request: Request) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        match self.state {
            ClientState::Registered => self.send_request(id, request),
            ClientState::Unregistered | ClientState::Registering => {
                if matches!(request, Request::Quit | Request::Ping(_)) {
                    self.send_request(id, request);
                } else {
                    self.held.push_back((id, request));
                }
            }
            ClientState::Closing => {}
        }
        id
    }

    fn send_request(&mut self, id: RequestId, request: Request) {
        if request == Request::Quit {
            self.state = ClientState::Closing;
            // What was held will never be sent.
            self.held.clear();
        }
        self.transmit.push_back(request.to_line(&self.nick));
        self.pending.push_back(Pending::Request(id, request));
    }

    /// Tells the machine that message `id` (reported by [`ClientEvent::Message`])
    /// has been shown: it is acknowledged, once per copy received ([CLI-5]).
    pub fn shown(&mut self, id: MsgId) {
        let copies = self.showing.remove(&id).unwrap_or(1);
        self.shown.insert(id);
        for _ in 0..copies {
            self.transmit.push_back(ClientLine::Ack { id });
        }
    }

    /// The next line to send to the server, if any.
    pub fn poll_transmit(&mut self) -> Option<ClientLine> {
        self.transmit.pop_front()
    }

    /// The next event for the driver, if any.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Requests sent and not yet answered (registration included).
    pub fn pending_len(&self) -> usize {
        self.pending.len() + self.held.len()
    }

    /// Handles a raw line (without its terminator): a line that does not decode is
    /// ignored ([CLI-2]).
    pub fn on_raw_line(&mut self, line: &[u8]) {
        if let Ok(line) = ServerLine::decode(line) {
            self.on_line(line);
        }
    }

    /// Handles one decoded line from the server.
    pub fn on_line(&mut self, line: ServerLine) {
        match line {
            ServerLine::Ping { token } => self.transmit.push_back(ClientLine::Pong { token }),
            ServerLine::Update { kind, user } => {
                self.events.push_back(ClientEvent::Update { kind, user });
            }
            ServerLine::Msg(msg) => self.on_msg(msg),
            ServerLine::Invite { user, ticket } => {
                self.events.push_back(ClientEvent::Invite { user, ticket });
            }
            ServerLine::Broadcast { nick, text } => {
                let echo = if nick == self.nick {
                    match self.pending.front() {
                        Some(Pending::Request(id, Request::Broadcast(_))) => {
                            let id = *id;
                            if let Some(Pending::Request(id, req)) = self.pending.pop_front() {
                                self.reply(Some((id, req)), Reply::Echo);
                            }
                            Some(id)
                        }
                        _ => None,
                    }
                } else {
                    None
                };
                self.events.push_back(ClientEvent::Broadcast {
                    from: nick,
                    text,
                    echo,
                });
            }
            ServerLine::Token { nick, token } => {
                if matches!(self.pending.front(), Some(Pending::Register))
                    && nick.eq_ignore_case(&self.nick)
                {
                    self.token = Some(token);
                    self.events
                        .push_back(ClientEvent::TokenIssued { nick, token });
                }
            }
            ServerLine::ListPart { users } => self.list_parts.extend(users),
            ServerLine::BlocksPart { nicks } => self.blocks_parts.extend(nicks),
            ServerLine::List { users } => {
                // [CLI-9]: LISTPART lines and the final LIST are one reply.
                let mut all = std::mem::take(&mut self.list_parts);
                all.extend(users);
                let users = all;
                if matches!(self.pending.front(), Some(Pending::Register)) {
                    self.pending.pop_front();
                    self.state = ClientState::Registered;
                    self.events.push_back(ClientEvent::Registered { users });
                    while let Some((id, req)) = self.held.pop_front() {
                        self.send_request(id, req);
                    }
                } else {
                    self.answer(|r| matches!(r, Request::List), Reply::Users(users));
                }
            }
            ServerLine::Err { code, text } => match self.pending.pop_front() {
                Some(Pending::Register) => {
                    self.state = ClientState::Unregistered;
                    self.events
                        .push_back(ClientEvent::RegisterRefused { code, text });
                }
                Some(Pending::Request(id, req)) => {
                    self.reply(Some((id, req)), Reply::Error { code, text });
                }
                None => self.reply(None, Reply::Error { code, text }),
            },
            ServerLine::User { user } => {
                self.answer(|r| matches!(r, Request::Query(_)), Reply::User(user));
            }
            ServerLine::Sent { id, delivery } => {
                if let Some(Pending::Request(_, Request::Send { to, .. })) = self.pending.front() {
                    let to = to.clone();
                    self.answer(|_| true, Reply::Sent { to, id, delivery });
                }
            }
            ServerLine::Blocked { nick } => {
                self.answer(|r| matches!(r, Request::Block(_)), Reply::Blocked(nick));
            }
            ServerLine::Unblocked { nick } => {
                self.answer(|r| matches!(r, Request::Unblock(_)), Reply::Unblocked(nick));
            }
            ServerLine::Blocks { nicks } => {
                let mut all = std::mem::take(&mut self.blocks_parts);
                all.extend(nicks);
                let nicks = all;
                self.answer(|r| matches!(r, Request::Blocks), Reply::Blocks(nicks));
            }
            ServerLine::Ticket { user, ticket } => {
                self.answer(
                    |r| matches!(r, Request::Ticket(_)),
                    Reply::Ticket { user, ticket },
                );
            }
            ServerLine::Pong { token } => {
                self.answer(|r| matches!(r, Request::Ping(_)), Reply::Pong(token));
            }
            ServerLine::Bye => {
                self.state = ClientState::Closing;
                self.answer(|r| matches!(r, Request::Quit), Reply::Bye);
            }
        }
    }

    /// Pops the oldest pending request if `fits` it and reports the reply for it;
    /// otherwise reports the reply as unsolicited.
    fn answer(&mut self, fits: impl Fn(&Request) -> bool, reply: Reply) {
        let matched = match self.pending.front() {
            Some(Pending::Request(_, req)) => fits(req),
            _ => false,
        };
        if matched && let Some(Pending::Request(id, req)) = self.pending.pop_front() {
            self.reply(Some((id, req)), reply);
            return;
        }
        self.reply(None, reply);
    }

    fn reply(&mut self, request: Option<(RequestId, Request)>, reply: Reply) {
        self.events.push_back(ClientEvent::Reply { request, reply });
    }

    fn on_msg(&mut self, msg: Msg) {
        if self.shown.contains(&msg.id) {
            // A duplicate: acknowledged again, never shown again ([CLI-5]).
            self.transmit.push_back(ClientLine::Ack { id: msg.id });
        } else if let Some(copies) = self.showing.get_mut(&msg.id) {
            *copies += 1;
        } else {
            self.showing.insert(msg.id, 1);
            self.events.push_back(ClientEvent::Message(msg));
        }
    }

    /// The connection ended (EOF, reset, or after `BYE`): pending requests will
    /// never be answered. Returns them, oldest first, so that the driver can
    /// report them failed.
    pub fn on_closed(&mut self) -> Vec<(RequestId, Request)> {
        self.state = ClientState::Closing;
        let mut out: Vec<(RequestId, Request)> = self
            .pending
            .drain(..)
            .filter_map(|p| match p {
                Pending::Request(id, req) => Some((id, req)),
                Pending::Register => None,
            })
            .collect();
        out.extend(self.held.drain(..));
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{Ip, Port, Timestamp};

    fn nick(s: &str) -> Nick {
        Nick::new(s).unwrap()
    }
    fn text(s: &str) -> Text {
        Text::new(s).unwrap()
    }
    fn addr(port: u16) -> Address {
        Address::new(Ip::new("127.0.0.1").unwrap(), Port::new(port).unwrap())
    }
    fn user(n: &str, port: u16) -> User {
        User {
            nick: nick(n),
            address: addr(port),
        }
    }
    fn token() -> Token {
        Token::new("4f1c2b0e9a7d3c5b8e6f1a2d4c7b9e03").unwrap()
    }
    fn msg(id: u64, from: &str, t: &str) -> Msg {
        Msg {
            id: MsgId::new(id).unwrap(),
            from: nick(from),
            time: Timestamp::new(1_763_713_200).unwrap(),
            text: text(t),
        }
    }
    fn drain_tx(m: &mut ClientMachine) -> Vec<ClientLine> {
        std::iter::from_fn(|| m.poll_transmit()).collect()
    }
    fn drain_ev(m: &mut ClientMachine) -> Vec<ClientEvent> {
        std::iter::from_fn(|| m.poll_event()).collect()
    }
    fn registered() -> ClientMachine {
        let mut m = ClientMachine::new(nick("alice"), addr(5000), None);
        m.register(None, None);
        m.on_line(ServerLine::List {
            users: vec![user("alice", 5000)],
        });
        drain_tx(&mut m);
        drain_ev(&mut m);
        m
    }

    #[test]
    fn register_is_the_first_line_and_carries_the_kept_token() {
        let mut m = ClientMachine::new(nick("alice"), addr(5000), Some(token()));
        assert!(drain_tx(&mut m).is_empty(), "nothing before register()");
        assert!(m.register(None, None));
        assert_eq!(
            drain_tx(&mut m),
            vec![ClientLine::Register {
                nick: nick("alice"),
                address: addr(5000),
                token: Some(token()),
            }]
        );
        assert_eq!(m.state(), ClientState::Registering);
        assert!(!m.register(None, None), "only once at a time");
    }

    #[test]
    fn registration_reports_token_then_registered() {
        let mut m = ClientMachine::new(nick("alice"), addr(5000), None);
        m.register(None, None);
        m.on_line(ServerLine::Update {
            kind: UpdateKind::Join,
            user: user("alice", 5000),
        });
        m.on_line(ServerLine::Token {
            nick: nick("alice"),
            token: token(),
        });
        m.on_line(ServerLine::List {
            users: vec![user("alice", 5000)],
        });
        assert_eq!(
            drain_ev(&mut m),
            vec![
                ClientEvent::Update {
                    kind: UpdateKind::Join,
                    user: user("alice", 5000)
                },
                ClientEvent::TokenIssued {
                    nick: nick("alice"),
                    token: token()
                },
                ClientEvent::Registered {
                    users: vec![user("alice", 5000)]
                },
            ]
        );
        assert_eq!(m.state(), ClientState::Registered);
        assert_eq!(m.token(), Some(&token()));
    }

    #[test]
    fn refused_registration_can_be_retried_with_another_nick() {
        let mut m = ClientMachine::new(nick("alice"), addr(5000), Some(token()));
        m.register(None, None);
        drain_tx(&mut m);
        m.on_line(ServerLine::Err {
            code: ErrCode::Known(crate::ErrorCode::NickInUse),
            text: text("taken"),
        });
        assert!(matches!(
            drain_ev(&mut m).as_slice(),
            [ClientEvent::RegisterRefused { .. }]
        ));
        assert_eq!(m.state(), ClientState::Unregistered);
        assert!(m.register(Some(nick("alice2")), None));
        assert_eq!(
            drain_tx(&mut m),
            vec![ClientLine::Register {
                nick: nick("alice2"),
                address: addr(5000),
                token: None,
            }],
            "the token of another nick is not sent"
        );
    }

    #[test]
    fn requests_made_while_registering_wait_for_the_list() {
        let mut m = ClientMachine::new(nick("alice"), addr(5000), None);
        m.register(None, None);
        drain_tx(&mut m);
        m.request(Request::List);
        assert!(drain_tx(&mut m).is_empty());
        m.on_line(ServerLine::List { users: vec![] });
        assert_eq!(drain_tx(&mut m), vec![ClientLine::List]);
    }

    #[test]
    fn replies_match_requests_by_order_with_events_in_between() {
        let mut m = registered();
        let q = m.request(Request::Query(nick("bob")));
        let s = m.request(Request::Send {
            to: nick("carol"),
            text: text("later"),
        });
        let b = m.request(Request::Broadcast(text("hi")));
        assert_eq!(drain_tx(&mut m).len(), 3);
        m.on_line(ServerLine::Broadcast {
            nick: nick("bob"),
            text: text("interleaved"),
        });
        m.on_line(ServerLine::User {
            user: user("bob", 5001),
        });
        m.on_line(ServerLine::Err {
            code: ErrCode::Known(crate::ErrorCode::NoSuchNick),
            text: text("who?"),
        });
        m.on_line(ServerLine::Broadcast {
            nick: nick("alice"),
            text: text("hi"),
        });
        let ev = drain_ev(&mut m);
        assert_eq!(ev.len(), 5, "{ev:?}");
        assert!(matches!(&ev[0], ClientEvent::Broadcast { echo: None, .. }));
        assert!(
            matches!(&ev[1], ClientEvent::Reply { request: Some((id, _)), reply: Reply::User(_) } if *id == q)
        );
        assert!(
            matches!(&ev[2], ClientEvent::Reply { request: Some((id, _)), reply: Reply::Error { .. } } if *id == s)
        );
        assert!(
            matches!(&ev[3], ClientEvent::Reply { request: Some((id, _)), reply: Reply::Echo } if *id == b)
        );
        assert!(matches!(&ev[4], ClientEvent::Broadcast { echo: Some(id), .. } if *id == b));
        assert_eq!(m.pending_len(), 0);
    }

    #[test]
    fn sent_reply_names_the_recipient() {
        let mut m = registered();
        m.request(Request::Send {
            to: nick("bob"),
            text: text("hi"),
        });
        m.on_line(ServerLine::Sent {
            id: MsgId::new(17).unwrap(),
            delivery: Delivery::Queued,
        });
        assert!(matches!(
            drain_ev(&mut m).as_slice(),
            [ClientEvent::Reply {
                reply: Reply::Sent { to, delivery: Delivery::Queued, .. },
                ..
            }] if to == &nick("bob")
        ));
    }

    #[test]
    fn unsolicited_reply_lines_are_reported_without_a_request() {
        let mut m = registered();
        m.on_line(ServerLine::List { users: vec![] });
        m.on_line(ServerLine::Err {
            code: ErrCode::Other("NEW_CODE".into()),
            text: text("x"),
        });
        let ev = drain_ev(&mut m);
        assert!(
            ev.iter()
                .all(|e| matches!(e, ClientEvent::Reply { request: None, .. }))
        );
        assert_eq!(ev.len(), 2);
    }

    #[test]
    fn msg_is_acknowledged_only_after_it_is_shown() {
        let mut m = registered();
        m.on_line(ServerLine::Msg(msg(17, "bob", "hi")));
        assert!(drain_tx(&mut m).is_empty(), "no ACK before shown");
        assert_eq!(
            drain_ev(&mut m),
            vec![ClientEvent::Message(msg(17, "bob", "hi"))]
        );
        m.shown(MsgId::new(17).unwrap());
        assert_eq!(
            drain_tx(&mut m),
            vec![ClientLine::Ack {
                id: MsgId::new(17).unwrap()
            }]
        );
    }

    #[test]
    fn duplicates_are_acknowledged_but_not_shown_again() {
        let mut m = registered();
        m.on_line(ServerLine::Msg(msg(17, "bob", "hi")));
        m.on_line(ServerLine::Msg(msg(17, "bob", "hi")));
        assert_eq!(drain_ev(&mut m).len(), 1);
        m.shown(MsgId::new(17).unwrap());
        assert_eq!(drain_tx(&mut m).len(), 2, "one ACK per copy");
        m.on_line(ServerLine::Msg(msg(17, "bob", "hi")));
        assert!(drain_ev(&mut m).is_empty());
        assert_eq!(drain_tx(&mut m).len(), 1);
    }

    #[test]
    fn preloaded_ids_are_not_shown_again() {
        let mut m = registered();
        m.preload_shown([MsgId::new(5).unwrap()]);
        m.on_line(ServerLine::Msg(msg(5, "bob", "old")));
        assert!(drain_ev(&mut m).is_empty());
        assert_eq!(
            drain_tx(&mut m),
            vec![ClientLine::Ack {
                id: MsgId::new(5).unwrap()
            }]
        );
    }

    #[test]
    fn ping_is_answered_in_every_state() {
        let mut m = ClientMachine::new(nick("alice"), addr(5000), None);
        let t = PingToken::new("k42").unwrap();
        m.on_line(ServerLine::Ping { token: t.clone() });
        assert_eq!(drain_tx(&mut m), vec![ClientLine::Pong { token: t }]);
    }

    #[test]
    fn quit_is_answered_by_bye_and_nothing_more_is_sent() {
        let mut m = registered();
        let q = m.request(Request::Quit);
        assert_eq!(drain_tx(&mut m), vec![ClientLine::Quit]);
        m.request(Request::List);
        assert!(drain_tx(&mut m).is_empty());
        m.on_line(ServerLine::Bye);
        assert!(matches!(
            drain_ev(&mut m).as_slice(),
            [ClientEvent::Reply { request: Some((id, Request::Quit)), reply: Reply::Bye }] if *id == q
        ));
    }

    #[test]
    fn closing_returns_unanswered_requests() {
        let mut m = registered();
        m.request(Request::List);
        m.request(Request::Blocks);
        let left = m.on_closed();
        assert_eq!(left.len(), 2);
        assert_eq!(m.state(), ClientState::Closing);
    }

    #[test]
    fn listpart_and_blockspart_lines_join_the_final_reply() {
        let mut m = ClientMachine::new(nick("alice"), addr(5000), None);
        m.register(None, None);
        m.on_line(ServerLine::ListPart {
            users: vec![user("alice", 5000)],
        });
        m.on_line(ServerLine::List {
            users: vec![user("bob", 5001)],
        });
        assert_eq!(
            drain_ev(&mut m),
            vec![ClientEvent::Registered {
                users: vec![user("alice", 5000), user("bob", 5001)]
            }]
        );
        m.request(Request::Blocks);
        m.on_line(ServerLine::BlocksPart {
            nicks: vec![nick("x"), nick("y")],
        });
        m.on_line(ServerLine::Blocks { nicks: vec![] });
        assert!(matches!(
            drain_ev(&mut m).as_slice(),
            [ClientEvent::Reply { request: Some(_), reply: Reply::Blocks(n) }] if n.len() == 2
        ));
    }

    #[test]
    fn ticket_reply_and_invite() {
        let mut m = registered();
        let t = Ticket::new("9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b").unwrap();
        m.request(Request::Ticket(nick("bob")));
        m.on_line(ServerLine::Invite {
            user: user("carol", 5002),
            ticket: t,
        });
        m.on_line(ServerLine::Ticket {
            user: user("bob", 5001),
            ticket: t,
        });
        let ev = drain_ev(&mut m);
        assert!(matches!(&ev[0], ClientEvent::Invite { .. }));
        assert!(matches!(
            &ev[1],
            ClientEvent::Reply {
                request: Some(_),
                reply: Reply::Ticket { .. }
            }
        ));
    }
}
