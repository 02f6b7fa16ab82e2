//! The client and peer-session state machines fed arbitrary server and peer lines
//! (`client_machine` and `peer_session` targets; `spec/tests/machine_properties.rs`
//! runs the same harnesses under proptest).
//!
//! Input bytes become calls a driver could make — lines from the other side
//! (well-formed, mutated, raw), the user's requests, "shown", closes, time — and
//! after every call the harness drains what the machine wants sent and reports, and
//! checks it against what `PROTOCOL.md` allows.

#![allow(dead_code)]
// Nested `if`s keep each check and its message on its own line.
#![allow(clippy::collapsible_match)]

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

use spec::limits::MAX_LINE;
use spec::machine::client::{ClientEvent, ClientMachine, ClientState, Request, RequestId};
use spec::machine::peer::{
    CloseReason, HELLO_TIMEOUT, PeerEvent, PeerSession, PeerState, TICKET_TTL, TicketBook,
};
use spec::{
    ClientLine, ErrCode, ErrorCode, Msg, MsgId, Nick, NickKey, PeerLine, ServerLine, Ticket,
    Timestamp,
};

use crate::bytes::Bytes;
use crate::wiregen::{self, Known};

const MAX_STEPS: usize = 400;

/// Most octets of one raw line.
pub const RAW_MAX: usize = 2100;

fn fail(log: &str, what: &str) -> ! {
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(60)..].join("\n");
    panic!("{what}\n--- the last steps ---\n{tail}");
}

/// A line must encode to at most `MAX_LINE` octets and decode to itself.
fn check_client_line(log: &str, l: &ClientLine) {
    let mut v = Vec::new();
    l.encode(&mut v);
    let body = &v[..v.len() - 2];
    if body.len() > MAX_LINE {
        fail(
            log,
            &format!("the client sends a line of {} octets", body.len()),
        );
    }
    match ClientLine::decode(body) {
        Ok(d) if d == *l => {}
        other => fail(
            log,
            &format!("the client sends {l}, which decodes to {other:?}"),
        ),
    }
}

fn check_peer_line(log: &str, l: &PeerLine) {
    let mut v = Vec::new();
    l.encode(&mut v);
    let body = &v[..v.len() - 2];
    if body.len() > MAX_LINE {
        fail(
            log,
            &format!("the peer sends a line of {} octets", body.len()),
        );
    }
    match PeerLine::decode(body) {
        Ok(d) if d == *l => {}
        other => fail(
            log,
            &format!("the peer sends {l}, which decodes to {other:?}"),
        ),
    }
}

fn gen_request(b: &mut Bytes<'_>, known: &Known) -> Request {
    match b.u8() % 10 {
        0 => Request::Broadcast(wiregen::text(b)),
        1 => Request::Send {
            to: wiregen::nick(b),
            text: wiregen::text(b),
        },
        2 => Request::List,
        3 => Request::Query(wiregen::nick(b)),
        4 => Request::Block(wiregen::nick(b)),
        5 => Request::Unblock(wiregen::nick(b)),
        6 => Request::Blocks,
        7 => Request::Ticket(wiregen::nick(b)),
        8 => Request::Ping(wiregen::ping_token(b)),
        _ => {
            let _ = known;
            Request::Quit
        }
    }
}

/// The client machine ([CLI-2], [CLI-5], [KA-2], [GEN-1], [GEN-2], §19.2).
pub fn run_client(data: &[u8]) {
    let mut b = Bytes::new(data);
    let own = wiregen::nick(&mut b);
    let token = if b.bool() {
        Some(wiregen::token(&mut b))
    } else {
        None
    };
    let mut m = ClientMachine::new(own.clone(), wiregen::address(&mut b), token);
    let mut known = Known::default();
    let mut log = format!("client {own}\n");
    // Ids the driver has shown (or preloaded): the only ones that may be acknowledged.
    let mut may_ack: HashSet<MsgId> = HashSet::new();
    // Ids reported as Message events.
    let mut reported: HashSet<MsgId> = HashSet::new();
    let mut made: Vec<RequestId> = Vec::new();
    let mut answered: HashSet<RequestId> = HashSet::new();
    let mut last_answered: Option<RequestId> = None;
    let mut immediate: HashSet<RequestId> = HashSet::new();
    let mut pings_in: Vec<String> = Vec::new();
    let mut pongs_out: Vec<String> = Vec::new();
    let mut steps = 0;
    while !b.is_empty() && steps < MAX_STEPS {
        steps += 1;
        let mut ping_token: Option<String> = None;
        match b.u8() % 12 {
            0 => {
                let nick = if b.bool() {
                    Some(wiregen::nick(&mut b))
                } else {
                    None
                };
                let tok = if b.bool() {
                    Some(wiregen::token(&mut b))
                } else {
                    None
                };
                let _ = writeln!(log, "register({nick:?}, {tok:?})");
                m.register(nick, tok);
            }
            1 | 2 => {
                let r = gen_request(&mut b, &known);
                let _ = writeln!(log, "request({r:?})");
                let at_once = m.state() == ClientState::Registered;
                let id = m.request(r);
                if made.last().is_some_and(|l| *l >= id) {
                    fail(&log, "request ids do not increase");
                }
                made.push(id);
                if at_once {
                    immediate.insert(id);
                }
            }
            3..=6 => {
                let line = wiregen::server_line(&mut b, &known, Some(m.nick()));
                let _ = writeln!(log, "S: {line}");
                if let ServerLine::Ping { token } = &line {
                    ping_token = Some(token.to_string());
                }
                known.learn(&line);
                m.on_line(line);
            }
            7 => {
                let line = wiregen::server_line(&mut b, &known, Some(m.nick()));
                let mut v = Vec::new();
                line.encode(&mut v);
                v.truncate(v.len() - 2);
                let bad = wiregen::mutate(&mut b, &v);
                let _ = writeln!(log, "S (mutated): {}", String::from_utf8_lossy(&bad));
                if let Ok(ServerLine::Ping { token }) = ServerLine::decode(&bad) {
                    ping_token = Some(token.to_string());
                }
                m.on_raw_line(&bad);
            }
            8 => {
                let raw = b.chunk(RAW_MAX);
                let _ = writeln!(log, "S (raw): {raw:?}");
                if let Ok(ServerLine::Ping { token }) = ServerLine::decode(raw) {
                    ping_token = Some(token.to_string());
                }
                m.on_raw_line(raw);
            }
            9 => {
                let id = if !reported.is_empty() && b.u8() < 220 {
                    let v: Vec<MsgId> = reported.iter().copied().collect();
                    let mut v = v;
                    v.sort();
                    v[b.below(v.len())]
                } else {
                    wiregen::msg_id(&mut b, &known)
                };
                let _ = writeln!(log, "shown({id})");
                may_ack.insert(id);
                m.shown(id);
            }
            10 => {
                let _ = writeln!(log, "closed");
                let pending = m.on_closed();
                for (id, _) in &pending {
                    if answered.contains(id) || !made.contains(id) {
                        fail(
                            &log,
                            &format!("on_closed returned request {id:?}, answered or never made"),
                        );
                    }
                }
                if m.pending_len() != 0 {
                    fail(&log, "requests still pending after on_closed");
                }
                if m.state() != ClientState::Closing {
                    fail(&log, "not Closing after on_closed");
                }
            }
            _ => {
                let id = wiregen::msg_id(&mut b, &known);
                let _ = writeln!(log, "preload_shown({id})");
                may_ack.insert(id);
                m.preload_shown([id]);
            }
        }
        if let Some(t) = ping_token {
            pings_in.push(t);
        }
        let registered = m.state() == ClientState::Registered;
        while let Some(l) = m.poll_transmit() {
            let _ = writeln!(log, "  C: {l}");
            check_client_line(&log, &l);
            match &l {
                // [CLI-5] "A client MUST show each MSG before acknowledging it".
                ClientLine::Ack { id } if !may_ack.contains(id) => {
                    fail(
                        &log,
                        &format!("ACK:{id} sent for a message never shown (CLI-5)"),
                    );
                }
                ClientLine::Pong { token } => pongs_out.push(token.to_string()),
                // §7 [GEN-2]: before registration only REGISTER, PING, PONG, QUIT (and
                // ACKs of shown messages, which the server refuses harmlessly).
                ClientLine::Register { .. }
                | ClientLine::Ping { .. }
                | ClientLine::Quit
                | ClientLine::Ack { .. } => {}
                other if !registered => {
                    fail(&log, &format!("{other} sent before registration (GEN-2)"));
                }
                _ => {}
            }
        }
        // [KA-2] every PING is answered with a PONG of the same token.
        if pings_in != pongs_out {
            fail(
                &log,
                &format!("PINGs received {pings_in:?}, PONGs sent {pongs_out:?} (KA-2)"),
            );
        }
        while let Some(e) = m.poll_event() {
            let _ = writeln!(log, "  event: {e:?}");
            match &e {
                ClientEvent::Message(msg) => {
                    // [CLI-5] "MUST NOT show a message whose id it has already shown".
                    if may_ack.contains(&msg.id) || !reported.insert(msg.id) {
                        fail(&log, &format!("message {} reported twice (CLI-5)", msg.id));
                    }
                }
                ClientEvent::Reply {
                    request: Some((id, _)),
                    ..
                } => {
                    if !made.contains(id) || !answered.insert(*id) {
                        fail(
                            &log,
                            &format!("request {id:?} answered twice or never made"),
                        );
                    }
                    // [GEN-1] replies come in the order the requests were sent: among
                    // requests made once registered (sent at once, in order), the
                    // order they were made. (Requests made earlier are held, except
                    // PING and QUIT, which go out at once and may overtake them.)
                    if immediate.contains(id) {
                        if last_answered.is_some_and(|l| l > *id) {
                            fail(
                                &log,
                                &format!("request {id:?} answered after a later one (GEN-1)"),
                            );
                        }
                        last_answered = Some(*id);
                    }
                }
                ClientEvent::Broadcast { echo: Some(id), .. } => {
                    if !answered.contains(id) {
                        fail(&log, "a broadcast echo for a request not answered");
                    }
                }
                ClientEvent::Registered { .. } => {
                    if m.state() != ClientState::Registered && m.state() != ClientState::Closing {
                        fail(&log, "Registered reported, yet the state is not Registered");
                    }
                }
                _ => {}
            }
        }
    }
}

/// Model of one ticket-book entry.
#[derive(Debug, Clone)]
struct Entry {
    nick: NickKey,
    ticket: Ticket,
    issued: Duration,
    used: bool,
}

/// The peer-session machine, both roles and both modes ([DIR-4], [DIR-5], [PEER-1]
/// .. [PEER-5], [MESH-1], [MESH-6], §19.3).
pub fn run_peer(data: &[u8]) {
    let mut b = Bytes::new(data);
    let own = wiregen::nick(&mut b);
    let mut now = Duration::from_secs(100);
    let mut book = TicketBook::new();
    let mut model_book: Vec<Entry> = Vec::new();
    let mut blocked: HashSet<NickKey> = HashSet::new();
    let mut known = Known::default();
    let mut log = format!("peer {own}\n");
    let mut sessions = 0;
    let mut steps = 0;
    while !b.is_empty() && steps < MAX_STEPS && sessions < 4 {
        sessions += 1;
        let role = b.u8() % 4;
        let inviter = wiregen::nick(&mut b);
        let ticket = wiregen::ticket(&mut b, &known);
        let mut s = match role {
            0 => PeerSession::accept_hybrid(own.clone(), now),
            1 => PeerSession::connect_hybrid(own.clone(), inviter.clone(), ticket, now),
            2 => PeerSession::connect_serverless(own.clone(), now),
            _ => PeerSession::accept_serverless(own.clone(), now),
        };
        let _ = writeln!(
            log,
            "session {sessions}: role {role}, inviter {inviter}, ticket {ticket}"
        );
        let started = now;
        let mut sent_lines = 0usize;
        // The connector's HELLO is queued at construction: its first line ([DIR-2],
        // [MESH-1]).
        while let Some(l) = s.poll_transmit() {
            let _ = writeln!(log, "  >: {l}");
            check_peer_line(&log, &l);
            if sent_lines == 0 && !matches!(l, PeerLine::Hello { .. }) {
                fail(&log, &format!("a connector's first line is {l}, not HELLO"));
            }
            sent_lines += 1;
        }
        let mut opened: Option<Nick> = None;
        let mut closed = false;
        let mut may_ack: HashSet<MsgId> = HashSet::new();
        let mut reported: HashSet<MsgId> = HashSet::new();
        let mut outstanding: BTreeMap<MsgId, Msg> = BTreeMap::new();
        let mut next_id: u64 = 1 + u64::from(b.u8());
        let mut pending_hello: Option<(Nick, Option<Ticket>)>;
        while !b.is_empty() && steps < MAX_STEPS {
            steps += 1;
            let op = b.u8() % 18;
            pending_hello = None;
            let mut expect_pong: Option<spec::PingToken> = None;
            let mut expect_not_your_nick = false;
            let before_state = s.state();
            let blocked_fn = |n: &Nick| blocked.contains(&n.key());
            match op {
                0 => {
                    let nick = wiregen::nick(&mut b);
                    let t = wiregen::ticket(&mut b, &known);
                    let _ = writeln!(log, "book.insert({nick}, {t})");
                    book.insert(&nick, t, wiregen::address(&mut b), now);
                    model_book.retain(|e| now.saturating_sub(e.issued) < TICKET_TTL);
                    model_book.push(Entry {
                        nick: nick.key(),
                        ticket: t,
                        issued: now,
                        used: false,
                    });
                    known.tickets.push(t);
                }
                1..=5 => {
                    let line =
                        wiregen::peer_line(&mut b, &known, opened.as_ref().or(Some(&inviter)));
                    let _ = writeln!(log, "P: {line}");
                    match &line {
                        PeerLine::Hello { nick, ticket } => {
                            pending_hello = Some((nick.clone(), *ticket));
                        }
                        PeerLine::Ping { token } if before_state == PeerState::Open => {
                            expect_pong = Some(token.clone());
                        }
                        PeerLine::Msg(m) if before_state == PeerState::Open => {
                            expect_not_your_nick = Some(&m.from) != opened.as_ref();
                        }
                        _ => {}
                    }
                    s.on_line(line, now, &mut book, &blocked_fn);
                }
                6 | 7 => {
                    let raw: Vec<u8> = if op == 6 {
                        b.chunk(RAW_MAX).to_vec()
                    } else {
                        let line = wiregen::peer_line(&mut b, &known, opened.as_ref());
                        let mut v = Vec::new();
                        line.encode(&mut v);
                        v.truncate(v.len() - 2);
                        wiregen::mutate(&mut b, &v)
                    };
                    let _ = writeln!(log, "P (raw): {}", String::from_utf8_lossy(&raw));
                    match PeerLine::decode(&raw) {
                        Ok(line) => {
                            if let PeerLine::Hello { nick, ticket } = &line {
                                pending_hello = Some((nick.clone(), *ticket));
                            }
                            s.on_line(line, now, &mut book, &blocked_fn);
                        }
                        Err(e) => s.on_bad_line(e.code, e.reason),
                    }
                }
                8 => {
                    let text = wiregen::text(&mut b);
                    let msg = Msg {
                        id: MsgId::new(next_id).unwrap_or_else(|_| unreachable!("small ids")),
                        from: wiregen::nick(&mut b),
                        time: Timestamp::new(1_763_713_300).unwrap_or_else(|_| unreachable!()),
                        text,
                    };
                    next_id += 1 + u64::from(b.u8() % 3);
                    let _ = writeln!(log, "send_msg({})", msg.id);
                    let id = msg.id;
                    match s.send_msg(msg) {
                        Ok(()) => {
                            outstanding.insert(id, dummy(id));
                        }
                        Err(_) if s.state() == PeerState::Closed => {}
                        Err(_) => fail(&log, "send_msg refused on a session that is not closed"),
                    }
                }
                9 => {
                    let _ = writeln!(log, "send_broadcast");
                    s.send_broadcast(wiregen::text(&mut b));
                }
                10 => {
                    let t = wiregen::ping_token(&mut b);
                    // F1 (fixed): `ping` during the handshake must not make PING the
                    // first line; the first-line check below holds it to that.
                    let _ = writeln!(log, "ping({t})");
                    s.ping(t);
                }
                11 => {
                    let _ = writeln!(log, "close()");
                    s.close();
                }
                12 => {
                    let _ = writeln!(log, "eof");
                    s.on_eof();
                }
                13 => {
                    let id = if !reported.is_empty() && b.u8() < 220 {
                        let mut v: Vec<MsgId> = reported.iter().copied().collect();
                        v.sort();
                        v[b.below(v.len())]
                    } else {
                        wiregen::msg_id(&mut b, &known)
                    };
                    let _ = writeln!(log, "shown({id})");
                    may_ack.insert(id);
                    s.shown(id);
                }
                14 => {
                    let adv = match b.u8() % 3 {
                        0 => Duration::from_millis(u64::from(b.u16())),
                        1 => HELLO_TIMEOUT,
                        _ => TICKET_TTL,
                    };
                    now += adv;
                    let _ = writeln!(log, "time +{adv:?}; on_timeout");
                    if s.poll_timeout().is_some_and(|t| t <= now) {
                        s.on_timeout(now);
                    }
                }
                15 => {
                    let got = s.take_unacked();
                    let _ = writeln!(log, "take_unacked -> {}", got.len());
                    let ids: Vec<MsgId> = got.iter().map(|m| m.id).collect();
                    let want: Vec<MsgId> = outstanding.keys().copied().collect();
                    let mut sorted = ids.clone();
                    sorted.sort();
                    if sorted != want {
                        fail(
                            &log,
                            &format!("take_unacked gave {ids:?}, not acknowledged: {want:?}"),
                        );
                    }
                    outstanding.clear();
                }
                16 => {
                    let n = wiregen::nick(&mut b);
                    let _ = writeln!(log, "block {n}");
                    if !blocked.insert(n.key()) {
                        blocked.remove(&n.key());
                    }
                }
                _ => {
                    let _ = writeln!(log, "next session");
                    break;
                }
            }
            // Drain and check.
            let mut lines = Vec::new();
            while let Some(l) = s.poll_transmit() {
                let _ = writeln!(log, "  >: {l}");
                check_peer_line(&log, &l);
                lines.push(l);
            }
            let mut events = Vec::new();
            while let Some(e) = s.poll_event() {
                let _ = writeln!(log, "  event: {e:?}");
                events.push(e);
            }
            if closed && !lines.is_empty() {
                fail(&log, "lines sent after the session closed");
            }
            for l in &lines {
                // §14: the first line of each side is a HELLO (or the refusal).
                if sent_lines == 0
                    && !matches!(
                        l,
                        PeerLine::Hello { .. } | PeerLine::Err { .. } | PeerLine::Quit
                    )
                {
                    fail(
                        &log,
                        &format!("the first line sent is {l}, not HELLO (§14)"),
                    );
                }
                sent_lines += 1;
                if let PeerLine::Ack { id } = l
                    && !may_ack.contains(id)
                {
                    fail(
                        &log,
                        &format!("ACK:{id} for a message never shown (PEER-2)"),
                    );
                }
            }
            if let Some(t) = &expect_pong
                && !lines.contains(&PeerLine::Pong { token: t.clone() })
            {
                fail(&log, "PING on an open session not answered (PEER-4)");
            }
            if expect_not_your_nick {
                let refused = lines.iter().any(|l| {
                    matches!(
                        l,
                        PeerLine::Err {
                            code: ErrCode::Known(ErrorCode::NotYourNick),
                            ..
                        }
                    )
                });
                if !refused || events.iter().any(|e| matches!(e, PeerEvent::Message(_))) {
                    fail(&log, "a MSG naming another sender was not refused (PEER-3)");
                }
            }
            for e in &events {
                match e {
                    PeerEvent::Opened { nick } => {
                        if opened.is_some() {
                            fail(&log, "opened twice");
                        }
                        let Some((hn, ht)) = &pending_hello else {
                            fail(&log, "opened without a HELLO");
                        };
                        if hn != nick {
                            fail(&log, "opened with a nick other than the HELLO's");
                        }
                        if blocked.contains(&nick.key()) {
                            fail(&log, "opened with a blocked nick (MESH-6)");
                        }
                        match role {
                            0 => {
                                // [DIR-4], [DIR-5]: a ticket of the book, for that
                                // nick, unused and younger than TICKET_TTL.
                                let Some(t) = ht else {
                                    fail(&log, "hybrid session opened without a ticket (DIR-4)");
                                };
                                let ok = model_book.iter_mut().find(|e| {
                                    e.nick == nick.key()
                                        && e.ticket == *t
                                        && !e.used
                                        && now.saturating_sub(e.issued) < TICKET_TTL
                                });
                                match ok {
                                    Some(e) => e.used = true,
                                    None => fail(
                                        &log,
                                        "opened on a ticket that is unknown, used or expired (DIR-4, DIR-5)",
                                    ),
                                }
                            }
                            1 => {
                                if !nick.eq_ignore_case(&inviter) || *ht != Some(ticket) {
                                    fail(
                                        &log,
                                        "connector accepted a HELLO that is not the inviter's with the ticket",
                                    );
                                }
                            }
                            _ => {}
                        }
                        if s.state() != PeerState::Open && !closed {
                            // It may have closed in the same call only on a later line.
                            if !events.iter().any(|e| matches!(e, PeerEvent::Closed(_))) {
                                fail(&log, "Opened reported, yet the session is not open");
                            }
                        }
                        opened = Some(nick.clone());
                    }
                    PeerEvent::Message(m) => {
                        if !reported.insert(m.id) || may_ack.contains(&m.id) {
                            fail(&log, &format!("message {} reported twice (PEER-2)", m.id));
                        }
                        if Some(&m.from) != opened.as_ref() {
                            fail(&log, "a message from another nick shown (PEER-3)");
                        }
                    }
                    PeerEvent::Acked(m) => {
                        if outstanding.remove(&m.id).is_none() {
                            fail(&log, &format!("Acked {} which was not outstanding", m.id));
                        }
                    }
                    PeerEvent::Closed(reason) => {
                        if closed {
                            fail(&log, "closed twice");
                        }
                        closed = true;
                        if *reason == CloseReason::Blocked && !lines.is_empty() {
                            fail(&log, "a blocked HELLO was answered (MESH-6)");
                        }
                        if *reason == CloseReason::Timeout && now < started + HELLO_TIMEOUT {
                            fail(&log, "timed out before HELLO_TIMEOUT");
                        }
                    }
                    _ => {}
                }
            }
            if closed != (s.state() == PeerState::Closed) {
                fail(&log, "the Closed event and the state disagree");
            }
        }
    }
}

fn dummy(id: MsgId) -> Msg {
    Msg {
        id,
        from: wiregen::fallback_nick(),
        time: Timestamp::new(0).unwrap_or_else(|_| unreachable!("0 is a valid time")),
        text: spec::Text::sanitized("x").unwrap_or_else(|| unreachable!("valid text")),
    }
}
