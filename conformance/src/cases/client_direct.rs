//! Client cases of the direct and udp-direct profiles (§13–§15): the client as initiator
//! (TICKET, OFFER, HELLO check), as target (INVITE, OFFER, connect-back), forged offers,
//! tickets used once, peer sessions (MSG/ACK, NOT_YOUR_NICK, PING, QUIT), DM datagrams.

use std::net::SocketAddr;

use super::cutil::{
    Hyb, exactly_one, expect_session, hex32, is_message, none_of, now, other_loopback, parse_msg,
    peer_listener, peer_udp, tf,
};
use crate::case::{Case, Ctx, Needs};
use crate::client::link::{Link, Role};
use crate::client::net::{Listener, Udp};
use crate::outcome::{CaseResult, Failure, Under, fail};
use crate::profile::Profile::{Block, Direct, UdpDirect};
use crate::requirements::Role::Client;
use crate::wire;

macro_rules! case {
    ($id:literal, $title:literal, [$($c:literal),*], [$($p:expr),*], $run:expr) => {
        Case {
            id: $id,
            title: $title,
            covers: &[$($c),*],
            profiles: &[$($p),*],
            role: Client,
            needs: Needs::Shared,
            slow: false,
            run: $run,
        }
    };
}

pub static CASES: &[Case] = &[
    case!(
        "CLI-DIR-001",
        "chat as initiator: TICKET, the OFFER datagram to the TICKET address, HELLO answered",
        ["DIR-1", "DIR-4", "PEER-1"],
        [Direct],
        initiator
    ),
    case!(
        "CLI-DIR-002",
        "as acceptor: a HELLO with a wrong ticket, another nick, no ticket, or no HELLO first \
         is BAD_TICKET and closed",
        ["DIR-4"],
        [Direct],
        bad_hellos
    ),
    case!(
        "CLI-DIR-003",
        "as acceptor: a ticket serves one session; HELLO with it again is BAD_TICKET",
        ["DIR-5", "DIR-4"],
        [Direct],
        ticket_once_acceptor
    ),
    case!(
        "CLI-DIR-004",
        "as target: INVITE then OFFER: connect back to the INVITE's IP at the offered port, \
         HELLO:<nick>:<ticket> first",
        ["DIR-2"],
        [Direct],
        connect_back
    ),
    case!(
        "CLI-DIR-005",
        "no connect-back for an OFFER without an INVITE, or with another nick's ticket",
        ["DIR-3"],
        [Direct],
        forged_offer
    ),
    case!(
        "CLI-DIR-006",
        "no connect-back for an OFFER (and INVITE) from a blocked nick",
        ["DIR-3", "CLI-8"],
        [Direct, Block],
        blocked_offer
    ),
    case!(
        "CLI-DIR-007",
        "no connect-back for an OFFER whose ticket was used already",
        ["DIR-3", "DIR-5"],
        [Direct],
        used_offer
    ),
    case!(
        "CLI-PEER-001",
        "session MSG: own nick, Unix time, ids increasing per peer; ACK gives a direct sent event",
        ["PEER-1", "AUT-1"],
        [Direct],
        peer_msg_format
    ),
    case!(
        "CLI-PEER-002",
        "session MSG shown, then ACKed; a duplicate id ACKed, not shown again",
        ["PEER-2", "AUT-1"],
        [Direct],
        peer_msg_shown_once
    ),
    case!(
        "CLI-PEER-003",
        "a session MSG naming another sender is NOT_YOUR_NICK and not shown",
        ["PEER-3"],
        [Direct],
        peer_not_your_nick
    ),
    case!(
        "CLI-PEER-004",
        "PING on a session is answered PONG",
        ["PEER-4"],
        [Direct],
        peer_ping
    ),
    case!(
        "CLI-PEER-005",
        "close: QUIT, then the client closes; a QUIT received closes the session; session events",
        ["PEER-5", "AUT-1"],
        [Direct],
        peer_quit
    ),
    case!(
        "CLI-UDP-001",
        "dm: the datagram DM:<own nick>:<len>:<text> to the target's registered address",
        ["UDP-1"],
        [UdpDirect],
        dm_sent
    ),
    case!(
        "CLI-UDP-002",
        "a DM datagram is shown (via udp); bad datagrams and DMs from blocked nicks are dropped",
        ["UDP-2"],
        [UdpDirect, Block],
        dm_received
    ),
];

/// The suite as the peer `peer` of a hybrid client that opens a private chat: answers the
/// client's `TICKET:<peer>` with a fresh ticket and `udp`'s address, receives the OFFER
/// ([DIR-1]) and returns (ticket, the offered TCP address).
fn answer_ticket(h: &mut Hyb, udp: &Udp, peer: &str) -> Result<(String, SocketAddr), Failure> {
    h.srv.expect(&format!("TICKET:{peer}")).under("DIR-1")?;
    let ticket = hex32();
    h.srv
        .send(&format!("TICKET:{peer}:{}:{ticket}", udp.addr))?;
    let d = udp.recv_within(h.run.timeout())?.ok_or_else(|| {
        Failure::violation("no OFFER datagram at the address of the TICKET reply")
            .req("DIR-1")
            .expected(format!(
                "OFFER:{}:<tcp port>:{ticket} to {}",
                h.nick, udp.addr
            ))
            .got("nothing".to_owned())
    })?;
    let content = String::from_utf8_lossy(d.content()).into_owned();
    let bad = || {
        Failure::violation("the OFFER datagram is not OFFER:<own nick>:<tcp port>:<ticket>")
            .req("DIR-1")
            .expected(format!("OFFER:{}:<tcp port>:{ticket}", h.nick))
            .got(wire::escape(&d.bytes))
    };
    let rest = content
        .strip_prefix(&format!("OFFER:{}:", h.nick))
        .ok_or_else(bad)?;
    let (port, t) = rest.split_once(':').ok_or_else(bad)?;
    if !wire::is_port(port) || t != ticket {
        return Err(bad());
    }
    let port: u16 = port.parse().map_err(|_| bad())?;
    // The client listens on the IP it registered (127.0.0.1).
    Ok((ticket, SocketAddr::from(([127, 0, 0, 1], port))))
}

/// `chat <peer> <text>` and the set-up as initiator, up to the session open (the suite
/// connects to the offered port and says HELLO). Returns the session and the ticket.
fn open_as_initiator(
    ctx: &mut Ctx<'_>,
    h: &mut Hyb,
    udp: &Udp,
    peer: &str,
    text: &str,
    n: usize,
) -> Result<(Link, String, SocketAddr), Failure> {
    h.run.cmd(&format!("chat {peer} {text}"))?;
    let (ticket, at) = answer_ticket(h, udp, peer)?;
    let mut s = Link::connect(at, n, ctx.tr.clone(), ctx.timeout()).under("DIR-1")?;
    s.send(&format!("HELLO:{peer}:{ticket}"))?;
    s.expect(&format!("HELLO:{}:{ticket}", h.nick))
        .under("DIR-4")?;
    expect_session(&mut h.run, peer, "open").under("AUT-1")?;
    Ok((s, ticket, at))
}

/// The suite as `inviter`: INVITE on the server connection (then a barrier), the OFFER of
/// `listener`'s port to the client's UDP address. Returns the ticket.
fn invite_and_offer(
    h: &mut Hyb,
    udp: &Udp,
    inviter: &str,
    inviter_ip: &str,
    listener: &Listener,
    ticket: Option<&str>,
) -> Result<String, Failure> {
    let ticket = ticket.map_or_else(hex32, str::to_owned);
    h.srv.send(&format!(
        "INVITE:{inviter}:{inviter_ip}:{}:{ticket}",
        udp.port()
    ))?;
    h.srv.barrier().under("KA-2")?;
    offer(h, udp, inviter, listener.port(), &ticket)?;
    Ok(ticket)
}

fn offer(h: &Hyb, udp: &Udp, nick: &str, port: u16, ticket: &str) -> Result<(), Failure> {
    udp.send_to(format!("OFFER:{nick}:{port}:{ticket}").as_bytes(), h.udp())
}

/// Accepts the connect-back on `listener`: `HELLO:<own nick>:<ticket>` first ([DIR-2]),
/// answered with `HELLO:<inviter>:<ticket>`; the session opens.
fn accept_connect_back(
    ctx: &Ctx<'_>,
    h: &mut Hyb,
    listener: &Listener,
    inviter: &str,
    ticket: &str,
    n: usize,
) -> Result<Link, Failure> {
    let mut s = listener
        .accept(
            h.run.timeout(),
            Role::Peer,
            n,
            ctx.timeout(),
            "the client's connect-back to the offered port",
        )
        .under("DIR-2")?;
    s.expect(&format!("HELLO:{}:{ticket}", h.nick))
        .under("DIR-2")?;
    s.send(&format!("HELLO:{inviter}:{ticket}"))?;
    expect_session(&mut h.run, inviter, "open").under("AUT-1")?;
    Ok(s)
}

/// After a barrier, no further connection may be pending on `listener`.
fn no_connection(ctx: &Ctx<'_>, listener: &Listener, why: &str) -> CaseResult {
    let d = ctx.scaled(std::time::Duration::from_millis(300));
    if let Some(l) = listener.accept_within(d, Role::Peer, 99, ctx.timeout())? {
        let _ = l;
        return Err(
            Failure::violation(format!("the client connected back for {why}"))
                .req("DIR-3")
                .expected("no connection".to_owned())
                .got(format!("a connection to {}", listener.addr)),
        );
    }
    Ok(())
}

fn initiator(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let udp = peer_udp(ctx)?;
    let mut h = Hyb::start(ctx, "me", &[(bob.clone(), udp.addr.to_string())], None)?;
    let text = "hi there: ☃";
    let (mut s, _, _) = open_as_initiator(ctx, &mut h, &udp, &bob, text, 1)?;
    let l = s.line("the MSG of the chat command").under("PEER-1")?;
    let (id, _) = parse_msg(&l.text, &h.nick, text)
        .map_err(|why| Failure::violation(why).req("PEER-1").got(l.text.clone()))?;
    s.send(&format!("ACK:{id}"))?;
    h.run
        .expect(
            "sent",
            &format!("{{\"event\":\"sent\",\"to\":\"{bob}\",\"via\":\"direct\",\"id\":{id}}}"),
            |e| e.str("to") == bob && e.str("via") == "direct" && e.u64("id") == Some(id),
        )
        .under("AUT-1")?;
    Ok(())
}

fn bad_hellos(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let carol = ctx.nick("carol");
    let udp = peer_udp(ctx)?;
    let mut h = Hyb::start(ctx, "me", &[(bob.clone(), udp.addr.to_string())], None)?;
    h.run.cmd(&format!("chat {bob} hello"))?;
    let (ticket, at) = answer_ticket(&mut h, &udp, &bob)?;
    let bad = [
        format!("HELLO:{bob}:{}", hex32()),
        format!("HELLO:{carol}:{ticket}"),
        format!("HELLO:{bob}"),
        format!("MSG:1:{bob}:{}:2:hi", now()),
        format!("HELLO:{bob}:{}", ticket.to_uppercase()),
    ];
    for (i, first) in bad.iter().enumerate() {
        let mut s = Link::connect(at, i + 1, ctx.tr.clone(), ctx.timeout()).under("DIR-4")?;
        s.send(first)?;
        s.expect_err("BAD_TICKET").under("DIR-4")?;
        s.expect_closed().under("DIR-4")?;
    }
    ctx.note("the right HELLO still opens the session: the bad ones did not use the ticket");
    let mut s = Link::connect(at, bad.len() + 1, ctx.tr.clone(), ctx.timeout())?;
    s.send(&format!("HELLO:{bob}:{ticket}"))?;
    s.expect(&format!("HELLO:{}:{ticket}", h.nick))
        .under("DIR-4")?;
    Ok(())
}

fn ticket_once_acceptor(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let udp = peer_udp(ctx)?;
    let mut h = Hyb::start(ctx, "me", &[(bob.clone(), udp.addr.to_string())], None)?;
    let (mut s1, ticket, at) = open_as_initiator(ctx, &mut h, &udp, &bob, "one", 1)?;
    let mut s2 = Link::connect(at, 2, ctx.tr.clone(), ctx.timeout()).under("DIR-5")?;
    s2.send(&format!("HELLO:{bob}:{ticket}"))?;
    s2.expect_err("BAD_TICKET").under("DIR-5")?;
    s2.expect_closed().under("DIR-5")?;
    // The first session is unharmed.
    let l = s1.line("the MSG of the chat command").under("PEER-1")?;
    parse_msg(&l.text, &h.nick, "one")
        .map_err(|why| Failure::violation(why).req("PEER-1").got(l.text.clone()))?;
    s1.barrier().under("PEER-4")
}

fn connect_back(ctx: &mut Ctx<'_>) -> CaseResult {
    let alice = ctx.nick("alice");
    let udp = peer_udp(ctx)?;
    let ip = other_loopback();
    ctx.note(format!(
        "alice's registered IP is {ip}; her datagrams come from 127.0.0.1: the client must \
         connect to the INVITE's IP, not to the datagram's source"
    ));
    let listener = peer_listener(ctx, ip, "alice's offered TCP port")?;
    let alice_addr = format!("{ip}:{}", udp.port());
    let mut h = Hyb::start(ctx, "me", &[(alice.clone(), alice_addr)], None)?;
    let ticket = invite_and_offer(&mut h, &udp, &alice, ip, &listener, None)?;
    let mut s = accept_connect_back(ctx, &mut h, &listener, &alice, &ticket, 1)?;
    s.barrier().under("PEER-4")
}

fn forged_offer(ctx: &mut Ctx<'_>) -> CaseResult {
    let alice = ctx.nick("alice");
    let carol = ctx.nick("carol");
    let udp = peer_udp(ctx)?;
    let listener = peer_listener(ctx, "127.0.0.1", "the offered TCP port")?;
    let others = [
        (alice.clone(), udp.addr.to_string()),
        (carol.clone(), udp.addr.to_string()),
    ];
    let mut h = Hyb::start(ctx, "me", &others, None)?;
    ctx.note("an OFFER with a ticket that came in no INVITE");
    offer(&h, &udp, &carol, listener.port(), &hex32())?;
    ctx.note("INVITE from alice; then an OFFER from carol with alice's ticket");
    let t = hex32();
    h.srv
        .send(&format!("INVITE:{alice}:127.0.0.1:{}:{t}", udp.port()))?;
    h.srv.barrier().under("KA-2")?;
    offer(&h, &udp, &carol, listener.port(), &t)?;
    ctx.note("barrier: a valid INVITE and OFFER; its connect-back must be the first and only one");
    let ticket = invite_and_offer(&mut h, &udp, &alice, "127.0.0.1", &listener, None)?;
    let mut s = accept_connect_back(ctx, &mut h, &listener, &alice, &ticket, 1).under("DIR-3")?;
    s.barrier()?;
    no_connection(ctx, &listener, "a forged OFFER")
}

fn blocked_offer(ctx: &mut Ctx<'_>) -> CaseResult {
    let eve = ctx.nick("eve");
    let alice = ctx.nick("alice");
    let udp = peer_udp(ctx)?;
    let listener = peer_listener(ctx, "127.0.0.1", "the offered TCP port")?;
    let others = [
        (eve.clone(), udp.addr.to_string()),
        (alice.clone(), udp.addr.to_string()),
    ];
    let mut h = Hyb::start(ctx, "me", &others, None)?;
    h.run.cmd(&format!("block {eve}"))?;
    h.srv.expect(&format!("BLOCK:{eve}")).under("CLI-8")?;
    h.srv.send(&format!("BLOCKED:{eve}"))?;
    h.run
        .expect("blocked", "the blocked event", |e| e.str("nick") == eve)
        .under("AUT-1")?;
    ctx.note("an INVITE and an OFFER from the blocked nick (a server that did not drop it)");
    invite_and_offer(&mut h, &udp, &eve, "127.0.0.1", &listener, None)?;
    ctx.note("barrier: a valid INVITE and OFFER from alice");
    let ticket = invite_and_offer(&mut h, &udp, &alice, "127.0.0.1", &listener, None)?;
    let mut s = accept_connect_back(ctx, &mut h, &listener, &alice, &ticket, 1).under("DIR-3")?;
    s.barrier()?;
    no_connection(ctx, &listener, "an OFFER from a blocked nick")
}

fn used_offer(ctx: &mut Ctx<'_>) -> CaseResult {
    let alice = ctx.nick("alice");
    let udp = peer_udp(ctx)?;
    let listener = peer_listener(ctx, "127.0.0.1", "the offered TCP port")?;
    let mut h = Hyb::start(ctx, "me", &[(alice.clone(), udp.addr.to_string())], None)?;
    let ticket = invite_and_offer(&mut h, &udp, &alice, "127.0.0.1", &listener, None)?;
    let mut s = accept_connect_back(ctx, &mut h, &listener, &alice, &ticket, 1)?;
    s.barrier()?;
    ctx.note("the same OFFER again: its ticket is used");
    offer(&h, &udp, &alice, listener.port(), &ticket)?;
    let t2 = invite_and_offer(&mut h, &udp, &alice, "127.0.0.1", &listener, None)?;
    let mut s2 = accept_connect_back(ctx, &mut h, &listener, &alice, &t2, 2).under("DIR-3")?;
    s2.barrier()?;
    no_connection(ctx, &listener, "an OFFER whose ticket was used already")
}

/// A hybrid client with an open session to the suite as `alice` (the client connected
/// back).
fn with_session(ctx: &mut Ctx<'_>) -> Result<(Hyb, Link, String), Failure> {
    let alice = ctx.nick("alice");
    let udp = peer_udp(ctx)?;
    let listener = peer_listener(ctx, "127.0.0.1", "alice's offered TCP port")?;
    let mut h = Hyb::start(ctx, "me", &[(alice.clone(), udp.addr.to_string())], None)?;
    let ticket = invite_and_offer(&mut h, &udp, &alice, "127.0.0.1", &listener, None)?;
    let s = accept_connect_back(ctx, &mut h, &listener, &alice, &ticket, 1)?;
    Ok((h, s, alice))
}

fn peer_msg_format(ctx: &mut Ctx<'_>) -> CaseResult {
    let (mut h, mut s, alice) = with_session(ctx)?;
    let mut last = 0;
    for text in ["first", "second: ☃", "third"] {
        h.run.cmd(&format!("chat {alice} {text}"))?;
        let l = s.line("a MSG on the session").under("PEER-1")?;
        let (id, time) = parse_msg(&l.text, &h.nick, text)
            .map_err(|why| Failure::violation(why).req("PEER-1").got(l.text.clone()))?;
        if id <= last {
            return fail(
                "PEER-1",
                format!("ids on the session do not increase: {id} after {last}"),
            );
        }
        if time.abs_diff(now()) > 300 {
            return fail(
                "PEER-1",
                format!(
                    "<time> {time} is not the client's clock in Unix seconds (now {})",
                    now()
                ),
            );
        }
        last = id;
        s.send(&format!("ACK:{id}"))?;
        h.run
            .expect("sent", "a sent event via direct", |e| {
                e.str("via") == "direct" && e.u64("id") == Some(id) && e.str("to") == alice
            })
            .under("AUT-1")?;
    }
    Ok(())
}

fn peer_msg_shown_once(ctx: &mut Ctx<'_>) -> CaseResult {
    let (mut h, mut s, alice) = with_session(ctx)?;
    let t = now();
    s.send(&format!("MSG:5:{alice}:{t}:{}", tf("hello: ☃")))?;
    let before = s.ping_collect().under("PEER-4")?;
    let got: Vec<String> = before.iter().map(|l| l.text.clone()).collect();
    if got != ["ACK:5"] {
        return fail(
            "PEER-2",
            format!("expected ACK:5 before the PONG; got {got:?}"),
        );
    }
    let ev = h.run.sync()?;
    exactly_one(&ev, "message", "the message of id 5, via direct", |e| {
        is_message(e, &alice, "hello: ☃", "direct", Some(5))
    })
    .under("PEER-2")?;
    s.send(&format!("MSG:5:{alice}:{t}:{}", tf("hello: ☃")))?;
    s.send(&format!("MSG:6:{alice}:{t}:{}", tf("six")))?;
    let before = s.ping_collect().under("PEER-4")?;
    let got: Vec<String> = before.iter().map(|l| l.text.clone()).collect();
    if got != ["ACK:5", "ACK:6"] {
        return fail(
            "PEER-2",
            format!("expected ACK:5 (the duplicate) and ACK:6 before the PONG; got {got:?}"),
        );
    }
    let ev = h.run.sync()?;
    exactly_one(&ev, "message", "only the message of id 6", |e| {
        is_message(e, &alice, "six", "direct", Some(6))
    })
    .under("PEER-2")
}

fn peer_not_your_nick(ctx: &mut Ctx<'_>) -> CaseResult {
    let carol = ctx.nick("carol");
    let (mut h, mut s, _alice) = with_session(ctx)?;
    s.send(&format!("MSG:9:{carol}:{}:{}", now(), tf("spoofed")))?;
    s.expect_err("NOT_YOUR_NICK").under("PEER-3")?;
    s.barrier().under("PEER-3")?;
    let ev = h.run.sync()?;
    none_of(&ev, &["message"], "a MSG naming another sender was shown").under("PEER-3")
}

fn peer_ping(ctx: &mut Ctx<'_>) -> CaseResult {
    let (_h, mut s, _) = with_session(ctx)?;
    for tok in ["p1", "Z_9-x", &"a".repeat(32)] {
        s.send(&format!("PING:{tok}"))?;
        s.expect(&format!("PONG:{tok}")).under("PEER-4")?;
    }
    Ok(())
}

fn peer_quit(ctx: &mut Ctx<'_>) -> CaseResult {
    let (mut h, mut s, alice) = with_session(ctx)?;
    h.run.cmd(&format!("close {alice}"))?;
    s.expect("QUIT").under("PEER-5")?;
    s.expect_closed().under("PEER-5")?;
    expect_session(&mut h.run, &alice, "closed").under("AUT-1")?;
    ctx.note("a second session; this time the peer says QUIT");
    let (mut h2, mut s2, alice2) = with_session(ctx)?;
    s2.send("QUIT")?;
    s2.expect_closed().under("PEER-5")?;
    expect_session(&mut h2.run, &alice2, "closed").under("PEER-5")?;
    Ok(())
}

fn dm_sent(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let udp = peer_udp(ctx)?;
    let mut h = Hyb::start(ctx, "me", &[(bob.clone(), udp.addr.to_string())], None)?;
    let text = "quick: ☃ hello";
    h.run.cmd(&format!("dm {bob} {text}"))?;
    let d = udp.recv_within(h.run.timeout())?.ok_or_else(|| {
        Failure::violation("no DM datagram at the target's registered address")
            .req("UDP-1")
            .expected(format!("DM:{}:{} to {}", h.nick, tf(text), udp.addr))
            .got("nothing".to_owned())
    })?;
    let want = format!("DM:{}:{}", h.nick, tf(text));
    if d.content() != want.as_bytes() {
        return Err(
            Failure::violation("the DM datagram is not DM:<own nick>:<len>:<text>")
                .req("UDP-1")
                .expected(want)
                .got(wire::escape(&d.bytes)),
        );
    }
    h.run
        .expect("sent", "a sent event via udp", |e| {
            e.str("to") == bob && e.str("via") == "udp"
        })
        .under("AUT-1")?;
    Ok(())
}

fn dm_received(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let eve = ctx.nick("eve");
    let udp = peer_udp(ctx)?;
    let others = [
        (bob.clone(), udp.addr.to_string()),
        (eve.clone(), udp.addr.to_string()),
    ];
    let mut h = Hyb::start(ctx, "me", &others, None)?;
    h.run.cmd(&format!("block {eve}"))?;
    h.srv.expect(&format!("BLOCK:{eve}")).under("CLI-8")?;
    h.srv.send(&format!("BLOCKED:{eve}"))?;
    h.run
        .expect("blocked", "the blocked event", |e| e.str("nick") == eve)
        .under("AUT-1")?;
    let to = h.udp();
    let send = |b: &[u8]| udp.send_to(b, to);
    send(format!("DM:{bob}:{}", tf("first: ☃")).as_bytes())?;
    send(format!("DM:{bob}:{}\r\n", tf("second")).as_bytes())?;
    send(format!("DM:{eve}:{}", tf("from a blocked nick")).as_bytes())?;
    send(format!("DM:{bob}:99:bad length").as_bytes())?;
    send(b"DM:bad nick!:2:hi")?;
    send(&[b"DM:".as_slice(), bob.as_bytes(), b":2:\xff\xfe"].concat())?;
    send(format!("HELLO:{bob}").as_bytes())?;
    send(format!("MSG:1:{bob}:{}:2:hi", now()).as_bytes())?;
    send(b"")?;
    // Datagrams on one socket arrive in order: the marker's event closes the list.
    send(format!("DM:{bob}:{}", tf("marker")).as_bytes())?;
    h.run
        .expect_within("message", "the marker DM", h.run.timeout() * 2, |e| {
            e.str("text") == "marker"
        })
        .under("UDP-2")?;
    let mut ev = h.run.take_backlog();
    ev.extend(h.run.sync()?);
    let msgs: Vec<(String, String, String)> = ev
        .iter()
        .filter(|e| e.kind == "message")
        .map(|e| {
            (
                e.str("from").to_owned(),
                e.str("text").to_owned(),
                e.str("via").to_owned(),
            )
        })
        .collect();
    let want = vec![
        (bob.clone(), "first: ☃".to_owned(), "udp".to_owned()),
        (bob.clone(), "second".to_owned(), "udp".to_owned()),
    ];
    if msgs != want {
        return Err(Failure::violation(
            "the DMs shown are not exactly the two valid ones from a nick not blocked",
        )
        .req("UDP-2")
        .expected(format!("{want:?}"))
        .got(format!("{msgs:?}")));
    }
    h.quiet().under("UDP-2")?;
    Ok(())
}
