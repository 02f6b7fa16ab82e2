//! Relayed private messages and the mailbox (PROTOCOL.md §11, profile relay).

use super::util::{
    Tok, User, expect_registered, now_secs, parse_msg, parse_sent, quit, register_new, reregister,
    send, token_of,
};
use crate::case::{Case, Ctx, Needs};
use crate::conn::Conn;
use crate::outcome::{CaseResult, Failure, Under, fail};
use crate::profile::Profile::Relay;
use crate::requirements::Role::Server;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-RLY-001",
        title: "SEND to a registered user: SENT:<id>:LIVE and MSG to the recipient",
        covers: &["RLY-1", "RLY-2"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: send_live,
    },
    Case {
        id: "SRV-RLY-002",
        title: "SEND to an owned nick that is offline: QUEUED, delivered after the LIST at \
                registration",
        covers: &["RLY-1", "RLY-3"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: send_queued,
    },
    Case {
        id: "SRV-RLY-003",
        title: "message ids increase in the order the server accepts messages",
        covers: &["RLY-1"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: ids_increase,
    },
    Case {
        id: "SRV-RLY-004",
        title: "unacknowledged messages are delivered again, in id order, across disconnects",
        covers: &["RLY-3", "RLY-4"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: redelivery,
    },
    Case {
        id: "SRV-RLY-005",
        title: "ACK removes only from the acknowledging user's mailbox; unknown ids are ignored",
        covers: &["RLY-4", "ERR-1"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: ack_own_mailbox,
    },
    Case {
        id: "SRV-RLY-006",
        title: "SEND to an unknown nick is NO_SUCH_NICK, to oneself BAD_TARGET",
        covers: &["RLY-6"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: send_errors,
    },
    Case {
        id: "SRV-RLY-007",
        title: "a mailbox takes at least 100 messages; beyond the quota MAILBOX_FULL, not stored",
        covers: &["RLY-7", "RLY-3"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: mailbox_quota,
    },
    Case {
        id: "SRV-RLY-008",
        title: "queued and unacknowledged messages survive a crash and restart of the server",
        covers: &["RLY-5", "RLY-3", "OWN-4"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Restart,
        slow: false,
        run: survives_restart,
    },
    Case {
        id: "SRV-RLY-009",
        title: "SEND to another case of an owned nick; MSG names the sender as registered",
        covers: &["RLY-2", "RLY-1"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: case_insensitive_target,
    },
    Case {
        id: "SRV-RLY-010",
        title: "a SEND that fails to decode is not stored nor delivered",
        covers: &["ERR-1", "RLY-1"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: bad_send_not_stored,
    },
];

/// Sends `SEND` and reads `SENT:<id>:<delivery>`.
fn sent(c: &mut Conn, to: &str, text: &str, delivery: &str) -> Result<u64, Failure> {
    c.send(&send(to, text))?;
    c.expect_with(&format!("SENT:<id>:{delivery}"), |l| {
        parse_sent(l, delivery)
    })
    .under("RLY-1")
}

/// Reads a MSG with these fields; returns (id, time, the whole line).
fn msg(c: &mut Conn, from: &str, text: &str) -> Result<(u64, u64, String), Failure> {
    c.expect_with(
        &format!("MSG:<id>:{from}:<time>:{}:{text}", text.len()),
        |l| parse_msg(l, from, text).map(|(id, t)| (id, t, l.to_owned())),
    )
    .under("RLY-2")
}

/// Registers a fresh owned user and quits, leaving an offline owned nick.
fn offline_user(ctx: &mut Ctx<'_>, role: &str) -> Result<User, Failure> {
    let mut c = ctx.connect()?;
    let nick = ctx.nick(role);
    let addr = ctx.udp_addr();
    c.send(&format!("REGISTER:{nick}:{addr}"))?;
    let u = expect_registered(ctx, &mut c, &nick, &addr, Tok::Required)?;
    token_of(&u)?;
    quit(ctx, c, Some(&nick))?;
    Ok(u)
}

fn send_live(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "alice")?;
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "bob")?;
    let t0 = now_secs();
    let text = "hi there: ✓";
    let id = sent(&mut a, &ub.nick, text, "LIVE")?;
    let (mid, time, _) = msg(&mut b, &ua.nick, text)?;
    let t1 = now_secs();
    if mid != id {
        return fail(
            "RLY-2",
            format!("SENT said id {id} but the MSG has id {mid}"),
        );
    }
    if time + 2 < t0 || time > t1 + 2 {
        return fail(
            "RLY-2",
            format!("<time> {time} is not the time of acceptance (between {t0} and {t1})"),
        );
    }
    b.send(&format!("ACK:{id}"))?;
    b.barrier().under("RLY-4")?;
    // The longest text, byte for byte.
    let long = "z".repeat(1024);
    let id2 = sent(&mut a, &ub.nick, &long, "LIVE")?;
    let (mid2, _, _) = msg(&mut b, &ua.nick, &long)?;
    if mid2 != id2 || id2 <= id {
        return fail(
            "RLY-1",
            format!("ids {id} then {id2} (MSG {mid2}): not new and increasing"),
        );
    }
    b.send(&format!("ACK:{id2}"))?;
    a.barrier()?;
    b.barrier()
}

fn send_queued(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let ub = offline_user(ctx, "carol")?;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "alice")?;
    let id = sent(&mut a, &ub.nick, "later", "QUEUED")?;
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ub)?;
    let (mid, _, _) = msg(&mut b, &ua.nick, "later").under("RLY-3")?;
    if mid != id {
        return fail(
            "RLY-3",
            format!("SENT said id {id} but the MSG has id {mid}"),
        );
    }
    b.send(&format!("ACK:{id}"))?;
    b.barrier()?;
    a.barrier()
}

fn ids_increase(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut r = ctx.connect()?;
    let ur = register_new(ctx, &mut r, "r")?;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "a")?;
    let mut c = ctx.connect()?;
    let uc = register_new(ctx, &mut c, "c")?;
    let mut last = 0;
    for i in 0..5 {
        for (conn, who) in [(&mut a, &ua.nick), (&mut c, &uc.nick)] {
            let text = format!("{who} {i}");
            let id = sent(conn, &ur.nick, &text, "LIVE")?;
            if id <= last {
                return fail(
                    "RLY-1",
                    format!("id {id} after id {last}: ids must increase"),
                );
            }
            last = id;
            let (mid, _, _) = msg(&mut r, who, &text)?;
            if mid != id {
                return fail(
                    "RLY-2",
                    format!("SENT said id {id} but the MSG has id {mid}"),
                );
            }
            r.send(&format!("ACK:{id}"))?;
        }
    }
    r.barrier()
}

fn redelivery(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "alice")?;
    let mut b = ctx.connect()?;
    let nick = ctx.nick("bob");
    let addr = ctx.udp_addr();
    b.send(&format!("REGISTER:{nick}:{addr}"))?;
    let ub = expect_registered(ctx, &mut b, &nick, &addr, Tok::Required)?;
    token_of(&ub)?;
    // m1 live, not acknowledged; then B goes.
    let id1 = sent(&mut a, &nick, "m1", "LIVE")?;
    let (_, _, line1) = msg(&mut b, &ua.nick, "m1")?;
    quit(ctx, b, Some(&nick))?;
    let id2 = sent(&mut a, &nick, "m2", "QUEUED")?;
    let id3 = sent(&mut a, &nick, "m3: last", "QUEUED")?;
    // Back: m1 (the same line), m2, m3, after the LIST.
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ub)?;
    b.expect(&line1).under("RLY-3")?;
    let (g2, _, _) = msg(&mut b, &ua.nick, "m2").under("RLY-3")?;
    let (g3, _, _) = msg(&mut b, &ua.nick, "m3: last").under("RLY-3")?;
    if (g2, g3) != (id2, id3) || !(id1 < id2 && id2 < id3) {
        return fail(
            "RLY-3",
            format!("ids {id1}, {id2}, {id3} came back as {id1}, {g2}, {g3}"),
        );
    }
    b.barrier()?;
    // Only m2 acknowledged: m1 and m3 come again.
    b.send(&format!("ACK:{id2}"))?;
    quit(ctx, b, Some(&nick))?;
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ub)?;
    b.expect(&line1).under("RLY-3")?;
    let (g3, _, _) = msg(&mut b, &ua.nick, "m3: last").under("RLY-4")?;
    if g3 != id3 {
        return fail("RLY-4", format!("expected id {id3} again, got {g3}"));
    }
    b.barrier().under("RLY-4")?;
    b.send(&format!("ACK:{id1}"))?;
    b.send(&format!("ACK:{id3}"))?;
    quit(ctx, b, Some(&nick))?;
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ub)?;
    b.barrier().under("RLY-4")?;
    a.barrier()
}

fn ack_own_mailbox(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let uc = offline_user(ctx, "carol")?;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "alice")?;
    let mut b = ctx.connect()?;
    register_new(ctx, &mut b, "bob")?;
    let id = sent(&mut a, &uc.nick, "for carol", "QUEUED")?;
    // B acknowledges C's message: nothing happens.
    b.send(&format!("ACK:{id}"))?;
    b.send("ACK:9007199254740991")?;
    b.barrier()?;
    for bad in [
        "ACK:0",
        "ACK:abc",
        "ACK:01",
        "ACK",
        "ACK:9007199254740992",
        "ACK:1:2",
    ] {
        b.send(bad)?;
        b.expect_err("MALFORMED").under("ERR-1")?;
    }
    b.barrier()?;
    let mut c = ctx.connect()?;
    reregister(ctx, &mut c, &uc)?;
    let (mid, _, _) = msg(&mut c, &ua.nick, "for carol")?;
    if mid != id {
        return fail("RLY-4", format!("expected id {id}, got {mid}"));
    }
    c.send(&format!("ACK:{id}"))?;
    c.barrier()
}

fn send_errors(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "a")?;
    a.send(&send(&ctx.nick("nobody"), "hello?"))?;
    a.expect_err("NO_SUCH_NICK")?;
    a.send(&send(&ua.nick, "me"))?;
    a.expect_err("BAD_TARGET")?;
    a.send(&send(&ua.nick.to_ascii_uppercase(), "me"))?;
    a.expect_err("BAD_TARGET")?;
    a.send(&send("no.dots", "x"))?;
    a.expect_err("BAD_NICK").under("ERR-1")?;
    a.barrier()
}

fn mailbox_quota(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let ur = offline_user(ctx, "full")?;
    const PER_SENDER: usize = 75;
    const SENDERS: usize = 3;
    let mut accepted: Vec<(u64, String, String)> = Vec::new();
    let mut full_seen = false;
    for s in 0..SENDERS {
        let mut c = ctx.connect()?;
        let us = register_new(ctx, &mut c, &format!("s{s}"))?;
        let lines: Vec<String> = (0..PER_SENDER)
            .map(|i| send(&ur.nick, &format!("n{s}x{i}")))
            .collect();
        c.set_quiet(true);
        c.send_batch(&lines)?;
        for i in 0..PER_SENDER {
            let text = format!("n{s}x{i}");
            let l = c.line("SENT:<id>:QUEUED or ERR:MAILBOX_FULL")?;
            if let Ok(id) = parse_sent(&l.text, "QUEUED") {
                if full_seen {
                    return fail(
                        "RLY-7",
                        format!(
                            "a SEND was accepted ({}) after MAILBOX_FULL with nothing acknowledged",
                            l.text
                        ),
                    );
                }
                accepted.push((id, us.nick.clone(), text));
            } else if crate::wire::parse_err(&l.text).is_ok_and(|e| e.code == "MAILBOX_FULL") {
                if accepted.len() < 100 {
                    return fail(
                        "RLY-7",
                        format!(
                            "MAILBOX_FULL after only {} messages (at least 100 must fit)",
                            accepted.len()
                        ),
                    );
                }
                full_seen = true;
            } else {
                return Err(Failure::violation("unexpected reply to SEND")
                    .req("RLY-7")
                    .expected("SENT:<id>:QUEUED or ERR:MAILBOX_FULL:<len>:<text>")
                    .got(l.text));
            }
        }
        c.set_quiet(false);
        quit(ctx, c, Some(&us.nick))?;
    }
    ctx.note(format!(
        "{} messages accepted; MAILBOX_FULL {}",
        accepted.len(),
        if full_seen { "seen" } else { "not reached" }
    ));
    // Exactly the accepted messages come, in id order.
    let mut r = ctx.connect()?;
    reregister(ctx, &mut r, &ur)?;
    r.set_quiet(true);
    for (id, from, text) in &accepted {
        let (mid, _, _) = msg(&mut r, from, text).under("RLY-3")?;
        if mid != *id {
            return fail("RLY-3", format!("expected id {id} in order, got {mid}"));
        }
    }
    r.set_quiet(false);
    r.barrier().under("RLY-7")
}

fn survives_restart(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let nick_a = ctx.nick("alice");
    let addr_a = ctx.udp_addr();
    a.send(&format!("REGISTER:{nick_a}:{addr_a}"))?;
    let ua = expect_registered(ctx, &mut a, &nick_a, &addr_a, Tok::Required)?;
    let mut b = ctx.connect()?;
    let nick_b = ctx.nick("bob");
    let addr_b = ctx.udp_addr();
    b.send(&format!("REGISTER:{nick_b}:{addr_b}"))?;
    let ub = expect_registered(ctx, &mut b, &nick_b, &addr_b, Tok::Required)?;
    let id0 = sent(&mut a, &nick_b, "live, never acknowledged", "LIVE")?;
    let (_, _, line0) = msg(&mut b, &nick_a, "live, never acknowledged")?;
    quit(ctx, b, Some(&nick_b))?;
    let id1 = sent(&mut a, &nick_b, "queued before the crash", "QUEUED")?;
    drop(a);
    ctx.restart()?;
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ub).under("OWN-4")?;
    b.expect(&line0).under("RLY-5")?;
    let (g1, _, _) = msg(&mut b, &nick_a, "queued before the crash").under("RLY-5")?;
    if g1 != id1 || id0 >= id1 {
        return fail("RLY-5", format!("expected id {id1} after {id0}, got {g1}"));
    }
    b.barrier()?;
    // Ids stay new after the restart.
    let mut a = ctx.connect()?;
    reregister(ctx, &mut a, &ua).under("OWN-4")?;
    let id2 = sent(&mut a, &nick_b, "after", "LIVE")?;
    if id2 <= id1 {
        return fail(
            "RLY-1",
            format!("id {id2} after the restart is not greater than {id1}"),
        );
    }
    msg(&mut b, &nick_a, "after")?;
    b.barrier()
}

fn case_insensitive_target(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let ub = offline_user(ctx, "Bob")?;
    let mut a = ctx.connect()?;
    let nick_a = ctx.nick("MiXed");
    let addr_a = ctx.udp_addr();
    super::util::register(ctx, &mut a, &nick_a, &addr_a)?;
    let id = sent(&mut a, &ub.nick.to_ascii_uppercase(), "hey", "QUEUED")?;
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ub)?;
    let (mid, _, _) = msg(&mut b, &nick_a, "hey")?;
    if mid != id {
        return fail("RLY-2", format!("expected id {id}, got {mid}"));
    }
    b.send(&format!("ACK:{id}"))?;
    b.barrier()
}

fn bad_send_not_stored(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut b = ctx.connect()?;
    let nick_b = ctx.nick("bob");
    let addr_b = ctx.udp_addr();
    b.send(&format!("REGISTER:{nick_b}:{addr_b}"))?;
    let ub = expect_registered(ctx, &mut b, &nick_b, &addr_b, Tok::Required)?;
    let mut a = ctx.connect()?;
    register_new(ctx, &mut a, "alice")?;
    for (line, code) in [
        (format!("SEND:{nick_b}:5:abc"), "BAD_LENGTH"),
        (format!("SEND:{nick_b}:05:hello"), "MALFORMED"),
        (
            format!("SEND:{nick_b}:1025:{}", "x".repeat(1025)),
            "TEXT_TOO_LONG",
        ),
        (format!("SEND:{nick_b}"), "MALFORMED"),
    ] {
        a.send(&line)?;
        a.expect_err(code)?;
    }
    b.barrier().under("RLY-1")?;
    quit(ctx, b, Some(&nick_b))?;
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ub)?;
    b.barrier().under("RLY-1")?;
    a.barrier()
}
