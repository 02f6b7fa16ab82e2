//! The peer-session state machine, both ends (§13, §14, §16, §19).
//!
//! A [`PeerSession`] drives one TCP connection between two clients. It is sans-IO:
//! the driver feeds it decoded peer lines and the time (a `Duration` since an
//! origin of its choosing), and takes out lines to send and events.
//!
//! Four ways to start one:
//! - [`PeerSession::accept_hybrid`]: the initiator of a private chat, on the TCP
//!   port it offered; the first line must be `HELLO:<nick>:<ticket>` with a ticket
//!   of a `TICKET` reply for that nick, unused and younger than `TICKET_TTL`
//!   ([DIR-4], [DIR-5]), checked against a [`TicketBook`]; anything else is
//!   answered with `ERR:BAD_TICKET` and the session closed;
//! - [`PeerSession::connect_hybrid`]: the target connecting back after an `OFFER`,
//!   sending `HELLO:<own nick>:<ticket>` first ([DIR-2]) and expecting the same
//!   ticket back from the inviter;
//! - [`PeerSession::connect_serverless`] / [`PeerSession::accept_serverless`]:
//!   `HELLO:<nick>` without a ticket ([MESH-1]); unauthenticated.
//!
//! A `HELLO` naming a blocked nick closes the session without a reply ([MESH-6]).
//! Once open: `MSG` is shown once per id and acknowledged after it was shown
//! ([PEER-2]); a `MSG` naming another sender is refused with `ERR:NOT_YOUR_NICK`
//! ([PEER-3]); `PING` is answered ([PEER-4]); `QUIT` ends it ([PEER-5]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use crate::limits::TICKET_TTL_SECS;
use crate::{Address, ErrCode, ErrorCode, Msg, MsgId, Nick, NickKey, PeerLine, Text, Ticket};

/// Lifetime of an unused ticket (`TICKET_TTL`).
pub const TICKET_TTL: Duration = Duration::from_secs(TICKET_TTL_SECS);

/// How long a session may stay without the other side's `HELLO`.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a ticket was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// No such ticket for that nick.
    #[error("no such ticket for that nick")]
    Unknown,
    /// The ticket is older than `TICKET_TTL`.
    #[error("the ticket expired")]
    Expired,
    /// The ticket opened a session already ([DIR-5]).
    #[error("the ticket was used already")]
    Used,
}

#[derive(Debug, Clone)]
struct TicketEntry {
    nick: NickKey,
    ticket: Ticket,
    issued: Duration,
    used: bool,
    address: Address,
}

/// One-time tickets, each bound to a nick and an address, valid for
/// `TICKET_TTL` and for one use.
///
/// A client keeps two: the tickets of its `TICKET` replies (checked when the
/// target connects back, [DIR-4]), and the tickets of `INVITE`s it received
/// (checked when the matching `OFFER` arrives, [DIR-2], [DIR-3]).
#[derive(Debug, Clone, Default)]
pub struct TicketBook {
    entries: Vec<TicketEntry>,
}

fn same_ticket(a: &Ticket, b: &Ticket) -> bool {
    // Constant time: a stranger probing tickets learns nothing from timing.
    a.as_bytes()
        .iter()
        .zip(b.as_bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

impl TicketBook {
    /// An empty book.
    pub fn new() -> TicketBook {
        TicketBook::default()
    }

    /// Records `ticket` for `nick` (compared without case) at `address`, issued
    /// at `now`. Expired entries are dropped on the way.
    pub fn insert(&mut self, nick: &Nick, ticket: Ticket, address: Address, now: Duration) {
        self.purge(now);
        self.entries.push(TicketEntry {
            nick: nick.key(),
            ticket,
            issued: now,
            used: false,
            address,
        });
    }

    /// Checks `ticket` for `nick` at `now` and, when it is valid, marks it used
    /// and returns the address it was recorded with.
    pub fn redeem(
        &mut self,
        nick: &Nick,
        ticket: &Ticket,
        now: Duration,
    ) -> Result<Address, TicketError> {
        let key = nick.key();
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.nick == key && same_ticket(&e.ticket, ticket))
            .ok_or(TicketError::Unknown)?;
        if entry.used {
            return Err(TicketError::Used);
        }
        if now.saturating_sub(entry.issued) >= TICKET_TTL {
            return Err(TicketError::Expired);
        }
        entry.used = true;
        Ok(entry.address.clone())
    }

    /// Whether a valid (unused, unexpired) ticket is held for `nick`.
    pub fn has_valid(&self, nick: &Nick, now: Duration) -> bool {
        let key = nick.key();
        self.entries
            .iter()
            .any(|e| e.nick == key && !e.used && now.saturating_sub(e.issued) < TICKET_TTL)
    }

    /// Drops entries older than `TICKET_TTL`. Used entries are kept until then,
    /// so that a second use is told apart from an unknown ticket.
    pub fn purge(&mut self, now: Duration) {
        self.entries
            .retain(|e| now.saturating_sub(e.issued) < TICKET_TTL);
    }

    /// The number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the book is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Which side of the session this is, and how the other side is authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    /// Hybrid, accepting on the offered port: the HELLO's ticket is redeemed.
    AcceptHybrid,
    /// Hybrid, connecting back: the other side must be `inviter` with `ticket`.
    ConnectHybrid { inviter: Nick, ticket: Ticket },
    /// Serverless, accepting.
    AcceptServerless,
    /// Serverless, connecting.
    ConnectServerless,
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The other side sent `QUIT`.
    Quit,
    /// This side ended it ([`PeerSession::close`]).
    Local,
    /// This side refused the other side with this code (and told it).
    Refused(ErrorCode),
    /// The other side's `HELLO` named a blocked nick: closed without a reply.
    Blocked,
    /// The other side sent an `ERR` that ends the session.
    PeerError(ErrCode),
    /// The connection closed without `QUIT`.
    Eof,
    /// No `HELLO` within [`HELLO_TIMEOUT`].
    Timeout,
}

/// What a session reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// Both `HELLO`s were exchanged: the session with `nick` is open.
    Opened {
        /// The other side's nick.
        nick: Nick,
    },
    /// A message not shown before on this session: show it (unless the driver
    /// knows it was shown before), then call [`PeerSession::shown`] ([PEER-2]).
    Message(Msg),
    /// A mesh broadcast (serverless, [MESH-2]): show it, never forward it.
    Broadcast {
        /// The sender.
        from: Nick,
        /// The message.
        text: Text,
    },
    /// The other side acknowledged message `id`: it is delivered.
    Acked(Msg),
    /// `PONG:<t>`.
    Pong(crate::PingToken),
    /// An `ERR` from the other side.
    Error {
        /// The code.
        code: ErrCode,
        /// The explanation.
        text: Text,
    },
    /// The session ended; the driver closes the socket once the lines still
    /// queued are sent. Messages not acknowledged are in
    /// [`PeerSession::take_unacked`].
    Closed(CloseReason),
}

/// Where a session stands (§19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    /// Waiting for the other side's `HELLO`.
    Handshake,
    /// Both `HELLO`s exchanged.
    Open,
    /// Ended; nothing more is accepted.
    Closed,
}

/// The sans-IO state of one peer session.
#[derive(Debug)]
pub struct PeerSession {
    own: Nick,
    role: Role,
    state: PeerState,
    peer: Option<Nick>,
    /// The ticket that opened the session (hybrid), echoed in the acceptor's HELLO.
    ticket: Option<Ticket>,
    deadline: Duration,
    /// Messages queued before the session opened.
    outgoing: VecDeque<Msg>,
    /// Messages sent and not yet acknowledged, by id.
    unacked: BTreeMap<MsgId, Msg>,
    /// Ids shown on this session.
    shown: HashSet<MsgId>,
    /// Ids reported and not yet shown, with the number of copies received.
    showing: HashMap<MsgId, u32>,
    transmit: VecDeque<PeerLine>,
    events: VecDeque<PeerEvent>,
}

impl PeerSession {
    fn new(own: Nick, role: Role, now: Duration) -> PeerSession {
        PeerSession {
            own,
            role,
            state: PeerState::Handshake,
            peer: None,
            ticket: None,
            deadline: now + HELLO_TIMEOUT,
            outgoing: VecDeque::new(),
            unacked: BTreeMap::new(),
            shown: HashSet::new(),
            showing: HashMap::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The initiator's side of a private chat, on the TCP port it offered: waits
    /// for `HELLO:<nick>:<ticket>` ([DIR-4]).
    pub fn accept_hybrid(own: Nick, now: Duration) -> PeerSession {
        PeerSession::new(own, Role::AcceptHybrid, now)
    }

    /// The target's side, connecting back after a valid `OFFER` from `inviter`:
    /// sends `HELLO:<own>:<ticket>` first ([DIR-2]).
    pub fn connect_hybrid(own: Nick, inviter: Nick, ticket: Ticket, now: Duration) -> PeerSession {
        let mut s = PeerSession::new(own, Role::ConnectHybrid { inviter, ticket }, now);
        s.ticket = Some(ticket);
        s.transmit.push_back(PeerLine::Hello {
            nick: s.own.clone(),
            ticket: Some(ticket),
        });
        s
    }

    /// Serverless, the side that connected: sends `HELLO:<own>` first ([MESH-1]).
    pub fn connect_serverless(own: Nick, now: Duration) -> PeerSession {
        let mut s = PeerSession::new(own, Role::ConnectServerless, now);
        s.transmit.push_back(PeerLine::Hello {
            nick: s.own.clone(),
            ticket: None,
        });
        s
    }

    /// Serverless, the side that accepted: answers the `HELLO` with its own
    /// ([MESH-1]).
    pub fn accept_serverless(own: Nick, now: Duration) -> PeerSession {
        PeerSession::new(own, Role::AcceptServerless, now)
    }

    /// The state of the session.
    pub fn state(&self) -> PeerState {
        self.state
    }

    /// The other side's nick, once its `HELLO` was accepted.
    pub fn peer(&self) -> Option<&Nick> {
        self.peer.as_ref()
    }

    /// Whether this side connected (as opposed to accepted).
    pub fn is_connector(&self) -> bool {
        matches!(
            self.role,
            Role::ConnectHybrid { .. } | Role::ConnectServerless
        )
    }

    /// The next line to send, if any.
    pub fn poll_transmit(&mut self) -> Option<PeerLine> {
        self.transmit.pop_front()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<PeerEvent> {
        self.events.pop_front()
    }

    /// When [`PeerSession::on_timeout`] should be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Duration> {
        (self.state == PeerState::Handshake).then_some(self.deadline)
    }

    /// Ends a session still waiting for `HELLO` once its deadline passed.
    pub fn on_timeout(&mut self, now: Duration) {
        if self.state == PeerState::Handshake && now >= self.deadline {
            self.finish(CloseReason::Timeout);
        }
    }

    /// Queues a private message ([PEER-1]); the driver chooses `msg.id` (increasing
    /// per peer) and `msg.time`, and `msg.from` is replaced by the own nick. Before
    /// the session opens it waits; after it closed it is returned.
    pub fn send_msg(&mut self, mut msg: Msg) -> Result<(), Msg> {
        msg.from = self.own.clone();
        match self.state {
            PeerState::Handshake => self.outgoing.push_back(msg),
            PeerState::Open => {
                self.unacked.insert(msg.id, msg.clone());
                self.transmit.push_back(PeerLine::Msg(msg));
            }
            PeerState::Closed => return Err(msg),
        }
        Ok(())
    }

    /// Sends a mesh broadcast `BROADCAST:<own>:<len>:<text>` ([MESH-2]); only on
    /// an open session. Returns whether it was queued.
    pub fn send_broadcast(&mut self, text: Text) -> bool {
        if self.state != PeerState::Open {
            return false;
        }
        self.transmit.push_back(PeerLine::Broadcast {
            nick: self.own.clone(),
            text,
        });
        true
    }

    /// Sends `PING:<token>` (a barrier: the `PONG` comes after every earlier line) on
    /// an open session; `false` before both `HELLO`s (each side's first line is its
    /// `HELLO`, §14) and after the close.
    pub fn ping(&mut self, token: crate::PingToken) -> bool {
        if self.state != PeerState::Open {
            return false;
        }
        self.transmit.push_back(PeerLine::Ping { token });
        true
    }

    /// Ends the session: `QUIT`, then the driver closes ([PEER-5]).
    pub fn close(&mut self) {
        if self.state != PeerState::Closed {
            self.transmit.push_back(PeerLine::Quit);
            self.finish(CloseReason::Local);
        }
    }

    /// The connection closed under the session (EOF or an I/O error).
    pub fn on_eof(&mut self) {
        if self.state != PeerState::Closed {
            self.finish(CloseReason::Eof);
        }
    }

    /// Messages sent (or queued) and never acknowledged: not delivered, the
    /// driver keeps them to send again later (§14). Oldest first.
    pub fn take_unacked(&mut self) -> Vec<Msg> {
        let mut out: Vec<Msg> = std::mem::take(&mut self.unacked).into_values().collect();
        out.extend(self.outgoing.drain(..));
        out
    }

    /// Tells the session that message `id` has been shown: it is acknowledged,
    /// once per copy received ([PEER-2]).
    pub fn shown(&mut self, id: MsgId) {
        let copies = self.showing.remove(&id).unwrap_or(1);
        self.shown.insert(id);
        if self.state == PeerState::Open {
            for _ in 0..copies {
                self.transmit.push_back(PeerLine::Ack { id });
            }
        }
    }

    /// A line that did not decode: before the session is open on the accepting
    /// hybrid side it is refused with `ERR:BAD_TICKET` ([DIR-4]); otherwise it is
    /// answered with its error code and the session goes on.
    pub fn on_bad_line(&mut self, code: ErrorCode, reason: &'static str) {
        match (self.state, &self.role) {
            (PeerState::Closed, _) => {}
            (PeerState::Handshake, Role::AcceptHybrid) => self.refuse(ErrorCode::BadTicket),
            (PeerState::Handshake, _) => self.refuse(code),
            (PeerState::Open, _) => self.transmit.push_back(err_line(code, reason)),
        }
    }

    /// Handles one decoded line. `tickets` holds the tickets of this client's
    /// `TICKET` replies (only the accepting hybrid side uses it); `blocked` says
    /// whether a nick is blocked.
    pub fn on_line(
        &mut self,
        line: PeerLine,
        now: Duration,
        tickets: &mut TicketBook,
        blocked: &dyn Fn(&Nick) -> bool,
    ) {
        match self.state {
            PeerState::Closed => {}
            PeerState::Handshake => self.on_handshake_line(line, now, tickets, blocked),
            PeerState::Open => self.on_open_line(line),
        }
    }

    fn on_handshake_line(
        &mut self,
        line: PeerLine,
        now: Duration,
        tickets: &mut TicketBook,
        blocked: &dyn Fn(&Nick) -> bool,
    ) {
        let (nick, ticket) = match line {
            PeerLine::Hello { nick, ticket } => (nick, ticket),
            PeerLine::Err { code, .. } => {
                self.finish(CloseReason::PeerError(code));
                return;
            }
            PeerLine::Quit => {
                self.finish(CloseReason::Quit);
                return;
            }
            _ => {
                let code = match self.role {
                    Role::AcceptHybrid | Role::ConnectHybrid { .. } => ErrorCode::BadTicket,
                    Role::AcceptServerless | Role::ConnectServerless => ErrorCode::Malformed,
                };
                self.refuse(code);
                return;
            }
        };
        if blocked(&nick) {
            // [MESH-6], [DIR-3]: no reply at all.
            self.finish(CloseReason::Blocked);
            return;
        }
        match self.role.clone() {
            Role::AcceptHybrid => {
                let Some(ticket) = ticket else {
                    self.refuse(ErrorCode::BadTicket);
                    return;
                };
                if tickets.redeem(&nick, &ticket, now).is_err() {
                    self.refuse(ErrorCode::BadTicket);
                    return;
                }
                self.ticket = Some(ticket);
                self.transmit.push_back(PeerLine::Hello {
                    nick: self.own.clone(),
                    ticket: Some(ticket),
                });
            }
            Role::ConnectHybrid {
                inviter,
                ticket: ours,
            } => {
                let ok =
                    nick.eq_ignore_case(&inviter) && ticket.is_some_and(|t| same_ticket(&t, &ours));
                if !ok {
                    self.refuse(ErrorCode::BadTicket);
                    return;
                }
            }
            Role::AcceptServerless => {
                self.transmit.push_back(PeerLine::Hello {
                    nick: self.own.clone(),
                    ticket: None,
                });
            }
            Role::ConnectServerless => {}
        }
        self.state = PeerState::Open;
        self.peer = Some(nick.clone());
        self.events.push_back(PeerEvent::Opened { nick });
        while let Some(msg) = self.outgoing.pop_front() {
            self.unacked.insert(msg.id, msg.clone());
            self.transmit.push_back(PeerLine::Msg(msg));
        }
    }

    fn on_open_line(&mut self, line: PeerLine) {
        let Some(peer) = self.peer.clone() else {
            return;
        };
        match line {
            PeerLine::Msg(msg) => {
                if msg.from != peer {
                    // [PEER-3]
                    self.transmit.push_back(err_line(
                        ErrorCode::NotYourNick,
                        "MSG must name the nick of this session's HELLO",
                    ));
                } else if self.shown.contains(&msg.id) {
                    self.transmit.push_back(PeerLine::Ack { id: msg.id });
                } else if let Some(copies) = self.showing.get_mut(&msg.id) {
                    *copies += 1;
                } else {
                    self.showing.insert(msg.id, 1);
                    self.events.push_back(PeerEvent::Message(msg));
                }
            }
            PeerLine::Ack { id } => {
                if let Some(msg) = self.unacked.remove(&id) {
                    self.events.push_back(PeerEvent::Acked(msg));
                }
            }
            PeerLine::Broadcast { nick, text } => {
                if nick != peer {
                    self.transmit.push_back(err_line(
                        ErrorCode::NotYourNick,
                        "BROADCAST must name the nick of this session's HELLO",
                    ));
                } else {
                    self.events
                        .push_back(PeerEvent::Broadcast { from: nick, text });
                }
            }
            PeerLine::Ping { token } => self.transmit.push_back(PeerLine::Pong { token }),
            PeerLine::Pong { token } => self.events.push_back(PeerEvent::Pong(token)),
            PeerLine::Quit => self.finish(CloseReason::Quit),
            PeerLine::Err { code, text } => {
                let closes = matches!(&code, ErrCode::Known(c) if c.closes_connection());
                self.events.push_back(PeerEvent::Error {
                    code: code.clone(),
                    text,
                });
                if closes {
                    self.finish(CloseReason::PeerError(code));
                }
            }
            PeerLine::Hello { .. } => {
                self.transmit.push_back(err_line(
                    ErrorCode::Malformed,
                    "HELLO is only the first line",
                ));
            }
        }
    }

    /// Answers with `ERR:<code>` and closes.
    fn refuse(&mut self, code: ErrorCode) {
        let reason = match code {
            ErrorCode::BadTicket => "the ticket is missing, wrong, expired or used",
            _ => "expected HELLO",
        };
        self.transmit.push_back(err_line(code, reason));
        self.finish(CloseReason::Refused(code));
    }

    fn finish(&mut self, reason: CloseReason) {
        self.state = PeerState::Closed;
        self.events.push_back(PeerEvent::Closed(reason));
    }
}

#[allow(clippy::expect_used)]
fn err_line(code: ErrorCode, reason: &'static str) -> PeerLine {
    // Invariant: every reason is a short non-empty literal (or a DecodeError's
    // reason literal) without CR, LF or NUL.
    let text = Text::new(reason).expect("reason literals are valid text");
    PeerLine::Err {
        code: ErrCode::Known(code),
        text,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{Ip, PingToken, Port, Timestamp};

    const T0: Duration = Duration::from_secs(100);

    fn nick(s: &str) -> Nick {
        Nick::new(s).unwrap()
    }
    fn text(s: &str) -> Text {
        Text::new(s).unwrap()
    }
    fn ticket(c: char) -> Ticket {
        Ticket::new(&c.to_string().repeat(32)).unwrap()
    }
    fn addr() -> Address {
        Address::new(Ip::new("127.0.0.1").unwrap(), Port::new(5001).unwrap())
    }
    fn msg(id: u64, from: &str, t: &str) -> Msg {
        Msg {
            id: MsgId::new(id).unwrap(),
            from: nick(from),
            time: Timestamp::new(1_763_713_300).unwrap(),
            text: text(t),
        }
    }
    fn tx(s: &mut PeerSession) -> Vec<PeerLine> {
        std::iter::from_fn(|| s.poll_transmit()).collect()
    }
    fn ev(s: &mut PeerSession) -> Vec<PeerEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }
    fn none(_: &Nick) -> bool {
        false
    }
    fn hello(n: &str, t: Option<Ticket>) -> PeerLine {
        PeerLine::Hello {
            nick: nick(n),
            ticket: t,
        }
    }
    fn bad_ticket() -> PeerLine {
        err_line(ErrorCode::BadTicket, "x")
    }
    fn is_bad_ticket(lines: &[PeerLine]) -> bool {
        matches!(
            lines,
            [PeerLine::Err {
                code: ErrCode::Known(ErrorCode::BadTicket),
                ..
            }]
        )
    }

    /// An open hybrid session: alice accepted bob with ticket 'a'.
    fn open_acceptor() -> PeerSession {
        let mut book = TicketBook::new();
        book.insert(&nick("bob"), ticket('a'), addr(), T0);
        let mut s = PeerSession::accept_hybrid(nick("alice"), T0);
        s.on_line(hello("bob", Some(ticket('a'))), T0, &mut book, &none);
        tx(&mut s);
        ev(&mut s);
        s
    }

    #[test]
    fn ticket_book_single_use_and_ttl() {
        let mut b = TicketBook::new();
        b.insert(&nick("Bob"), ticket('a'), addr(), T0);
        assert!(b.has_valid(&nick("bob"), T0));
        assert_eq!(
            b.redeem(&nick("bob"), &ticket('b'), T0),
            Err(TicketError::Unknown)
        );
        assert_eq!(
            b.redeem(&nick("carol"), &ticket('a'), T0),
            Err(TicketError::Unknown)
        );
        assert_eq!(b.redeem(&nick("BOB"), &ticket('a'), T0), Ok(addr()));
        assert_eq!(
            b.redeem(&nick("bob"), &ticket('a'), T0),
            Err(TicketError::Used)
        );
        b.insert(&nick("bob"), ticket('c'), addr(), T0);
        assert_eq!(
            b.redeem(&nick("bob"), &ticket('c'), T0 + TICKET_TTL),
            Err(TicketError::Expired)
        );
        b.purge(T0 + TICKET_TTL);
        assert!(b.is_empty(), "purged once expired");
        b.insert(&nick("bob"), ticket('d'), addr(), T0);
        assert_eq!(
            b.redeem(
                &nick("bob"),
                &ticket('d'),
                T0 + TICKET_TTL - Duration::from_millis(1)
            ),
            Ok(addr())
        );
    }

    #[test]
    fn ticket_expires_exactly_at_ttl() {
        let mut b = TicketBook::new();
        b.insert(&nick("bob"), ticket('a'), addr(), T0);
        assert_eq!(
            b.redeem(&nick("bob"), &ticket('a'), T0 + TICKET_TTL),
            Err(TicketError::Expired)
        );
    }

    #[test]
    fn acceptor_opens_on_a_valid_ticket_and_echoes_it() {
        let mut book = TicketBook::new();
        book.insert(&nick("bob"), ticket('a'), addr(), T0);
        let mut s = PeerSession::accept_hybrid(nick("alice"), T0);
        assert!(tx(&mut s).is_empty(), "the acceptor waits for HELLO");
        s.on_line(hello("bob", Some(ticket('a'))), T0, &mut book, &none);
        assert_eq!(tx(&mut s), vec![hello("alice", Some(ticket('a')))]);
        assert_eq!(ev(&mut s), vec![PeerEvent::Opened { nick: nick("bob") }]);
        assert_eq!(s.state(), PeerState::Open);
        assert_eq!(s.peer(), Some(&nick("bob")));
    }

    #[test]
    fn acceptor_refuses_wrong_missing_used_or_expired_tickets() {
        let cases: Vec<(PeerLine, Duration, bool)> = vec![
            (hello("bob", Some(ticket('b'))), T0, false),
            (hello("bob", None), T0, false),
            (hello("carol", Some(ticket('a'))), T0, false),
            (hello("bob", Some(ticket('a'))), T0 + TICKET_TTL, false),
            (hello("bob", Some(ticket('a'))), T0, true),
            (
                PeerLine::Ping {
                    token: PingToken::new("x").unwrap(),
                },
                T0,
                false,
            ),
        ];
        for (line, now, used_before) in cases {
            let mut book = TicketBook::new();
            book.insert(&nick("bob"), ticket('a'), addr(), T0);
            if used_before {
                book.redeem(&nick("bob"), &ticket('a'), T0).unwrap();
            }
            let mut s = PeerSession::accept_hybrid(nick("alice"), T0);
            s.on_line(line.clone(), now, &mut book, &none);
            assert!(is_bad_ticket(&tx(&mut s)), "{line:?}");
            assert_eq!(
                ev(&mut s),
                vec![PeerEvent::Closed(CloseReason::Refused(
                    ErrorCode::BadTicket
                ))]
            );
            assert_eq!(s.state(), PeerState::Closed);
        }
    }

    #[test]
    fn a_bad_first_line_on_the_acceptor_is_bad_ticket() {
        let mut s = PeerSession::accept_hybrid(nick("alice"), T0);
        s.on_bad_line(ErrorCode::Malformed, "nope");
        assert!(is_bad_ticket(&tx(&mut s)));
        assert_eq!(s.state(), PeerState::Closed);
    }

    #[test]
    fn connector_sends_hello_first_and_checks_the_answer() {
        let mut s = PeerSession::connect_hybrid(nick("bob"), nick("alice"), ticket('a'), T0);
        assert_eq!(tx(&mut s), vec![hello("bob", Some(ticket('a')))]);
        s.on_line(
            hello("alice", Some(ticket('a'))),
            T0,
            &mut TicketBook::new(),
            &none,
        );
        assert_eq!(
            ev(&mut s),
            vec![PeerEvent::Opened {
                nick: nick("alice")
            }]
        );
        assert!(tx(&mut s).is_empty());

        let mut s = PeerSession::connect_hybrid(nick("bob"), nick("alice"), ticket('a'), T0);
        tx(&mut s);
        s.on_line(
            hello("alice", Some(ticket('b'))),
            T0,
            &mut TicketBook::new(),
            &none,
        );
        assert!(is_bad_ticket(&tx(&mut s)));

        let mut s = PeerSession::connect_hybrid(nick("bob"), nick("alice"), ticket('a'), T0);
        tx(&mut s);
        s.on_line(
            hello("mallory", Some(ticket('a'))),
            T0,
            &mut TicketBook::new(),
            &none,
        );
        assert!(is_bad_ticket(&tx(&mut s)));
    }

    #[test]
    fn connector_reports_the_peers_refusal() {
        let mut s = PeerSession::connect_hybrid(nick("bob"), nick("alice"), ticket('a'), T0);
        tx(&mut s);
        s.on_line(bad_ticket(), T0, &mut TicketBook::new(), &none);
        assert_eq!(
            ev(&mut s),
            vec![PeerEvent::Closed(CloseReason::PeerError(ErrCode::Known(
                ErrorCode::BadTicket
            )))]
        );
    }

    #[test]
    fn serverless_handshake_both_sides() {
        let mut a = PeerSession::connect_serverless(nick("alice"), T0);
        let mut b = PeerSession::accept_serverless(nick("bob"), T0);
        let mut book = TicketBook::new();
        for l in tx(&mut a) {
            b.on_line(l, T0, &mut book, &none);
        }
        for l in tx(&mut b) {
            a.on_line(l, T0, &mut book, &none);
        }
        assert_eq!(ev(&mut a), vec![PeerEvent::Opened { nick: nick("bob") }]);
        assert_eq!(
            ev(&mut b),
            vec![PeerEvent::Opened {
                nick: nick("alice")
            }]
        );
        assert!(a.send_broadcast(text("hello all")));
        for l in tx(&mut a) {
            b.on_line(l, T0, &mut book, &none);
        }
        assert_eq!(
            ev(&mut b),
            vec![PeerEvent::Broadcast {
                from: nick("alice"),
                text: text("hello all")
            }]
        );
    }

    #[test]
    fn blocked_hello_closes_without_a_reply() {
        let blocked = |n: &Nick| n.eq_ignore_case(&nick("mallory"));
        let mut s = PeerSession::accept_serverless(nick("bob"), T0);
        s.on_line(hello("Mallory", None), T0, &mut TicketBook::new(), &blocked);
        assert!(tx(&mut s).is_empty());
        assert_eq!(ev(&mut s), vec![PeerEvent::Closed(CloseReason::Blocked)]);
        let mut s = PeerSession::connect_serverless(nick("bob"), T0);
        tx(&mut s);
        s.on_line(hello("mallory", None), T0, &mut TicketBook::new(), &blocked);
        assert!(tx(&mut s).is_empty());
        assert_eq!(s.state(), PeerState::Closed);
    }

    #[test]
    fn messages_shown_once_and_acked_after_shown() {
        let mut s = open_acceptor();
        let (mut book, n) = (TicketBook::new(), &none);
        s.on_line(PeerLine::Msg(msg(1, "bob", "hi")), T0, &mut book, n);
        assert!(tx(&mut s).is_empty());
        assert_eq!(ev(&mut s), vec![PeerEvent::Message(msg(1, "bob", "hi"))]);
        s.on_line(PeerLine::Msg(msg(1, "bob", "hi")), T0, &mut book, n);
        assert!(ev(&mut s).is_empty());
        s.shown(MsgId::new(1).unwrap());
        let ack = PeerLine::Ack {
            id: MsgId::new(1).unwrap(),
        };
        assert_eq!(tx(&mut s), vec![ack.clone(), ack.clone()]);
        s.on_line(PeerLine::Msg(msg(1, "bob", "hi")), T0, &mut book, n);
        assert_eq!(tx(&mut s), vec![ack]);
        assert!(ev(&mut s).is_empty());
    }

    #[test]
    fn msg_from_another_nick_is_refused() {
        let mut s = open_acceptor();
        s.on_line(
            PeerLine::Msg(msg(1, "carol", "hi")),
            T0,
            &mut TicketBook::new(),
            &none,
        );
        assert!(matches!(
            tx(&mut s).as_slice(),
            [PeerLine::Err {
                code: ErrCode::Known(ErrorCode::NotYourNick),
                ..
            }]
        ));
        assert!(ev(&mut s).is_empty());
        assert_eq!(s.state(), PeerState::Open);
    }

    #[test]
    fn sending_queues_until_open_and_tracks_acks() {
        let mut book = TicketBook::new();
        book.insert(&nick("bob"), ticket('a'), addr(), T0);
        let mut s = PeerSession::accept_hybrid(nick("alice"), T0);
        s.send_msg(msg(7, "whoever", "early")).unwrap();
        assert!(tx(&mut s).is_empty());
        s.on_line(hello("bob", Some(ticket('a'))), T0, &mut book, &none);
        let lines = tx(&mut s);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1], PeerLine::Msg(msg(7, "alice", "early")));
        ev(&mut s);
        s.send_msg(msg(8, "alice", "second")).unwrap();
        s.on_line(
            PeerLine::Ack {
                id: MsgId::new(7).unwrap(),
            },
            T0,
            &mut book,
            &none,
        );
        assert_eq!(ev(&mut s), vec![PeerEvent::Acked(msg(7, "alice", "early"))]);
        s.on_line(PeerLine::Quit, T0, &mut book, &none);
        assert_eq!(ev(&mut s), vec![PeerEvent::Closed(CloseReason::Quit)]);
        assert_eq!(s.take_unacked(), vec![msg(8, "alice", "second")]);
        assert!(s.send_msg(msg(9, "alice", "late")).is_err());
    }

    #[test]
    fn ping_pong_and_close() {
        let mut s = open_acceptor();
        let t = PingToken::new("p1").unwrap();
        s.on_line(
            PeerLine::Ping { token: t.clone() },
            T0,
            &mut TicketBook::new(),
            &none,
        );
        assert_eq!(tx(&mut s), vec![PeerLine::Pong { token: t }]);
        s.close();
        assert_eq!(tx(&mut s), vec![PeerLine::Quit]);
        assert_eq!(ev(&mut s), vec![PeerEvent::Closed(CloseReason::Local)]);
        s.close();
        assert!(tx(&mut s).is_empty(), "QUIT once");
    }

    #[test]
    fn handshake_times_out() {
        let mut s = PeerSession::accept_serverless(nick("bob"), T0);
        assert_eq!(s.poll_timeout(), Some(T0 + HELLO_TIMEOUT));
        s.on_timeout(T0 + Duration::from_secs(1));
        assert_eq!(s.state(), PeerState::Handshake);
        s.on_timeout(T0 + HELLO_TIMEOUT);
        assert_eq!(ev(&mut s), vec![PeerEvent::Closed(CloseReason::Timeout)]);
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn eof_reports_closed_once() {
        let mut s = open_acceptor();
        s.on_eof();
        s.on_eof();
        assert_eq!(ev(&mut s), vec![PeerEvent::Closed(CloseReason::Eof)]);
    }
}
