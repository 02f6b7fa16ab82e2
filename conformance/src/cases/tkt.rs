//! Tickets (PROTOCOL.md §13, profile direct: the server's part).

use super::util::{quit, register_new};
use crate::case::{Case, Ctx, Needs};
use crate::conn::Conn;
use crate::outcome::{CaseResult, Failure, Under, fail};
use crate::profile::Profile::Direct;
use crate::requirements::Role::Server;
use crate::wire;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-TKT-001",
        title: "TICKET: INVITE to the target (requester's address), then the TICKET reply",
        covers: &["TKT-1"],
        profiles: &[Direct],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: ticket_invite,
    },
    Case {
        id: "SRV-TKT-002",
        title: "TICKET for an unregistered nick is NO_SUCH_NICK, for oneself BAD_TARGET",
        covers: &["TKT-2", "ERR-1"],
        profiles: &[Direct],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: ticket_errors,
    },
    Case {
        id: "SRV-TKT-003",
        title: "tickets are 32 lowercase hex digits and never repeat",
        covers: &["TKT-3"],
        profiles: &[Direct],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: tickets_unique,
    },
];

/// Reads `<verb>:<nick>:<addr>:<ticket>`; returns the ticket.
fn ticket_line(c: &mut Conn, verb: &str, nick: &str, addr: &str) -> Result<String, Failure> {
    let prefix = format!("{verb}:{nick}:{addr}:");
    c.expect_with(&format!("{prefix}<ticket>"), |l| {
        match l.strip_prefix(&prefix) {
            Some(t) if wire::is_hex32(t) => Ok(t.to_owned()),
            Some(t) => Err(format!("the ticket {t:?} is not 32 lowercase hex digits")),
            None => Err(format!("expected a {verb} line for {nick} at {addr}")),
        }
    })
}

/// A → TICKET:B; returns the ticket after checking B's INVITE came first.
fn ticket(
    a: &mut Conn,
    ua: &super::util::User,
    b: &mut Conn,
    ub: &super::util::User,
) -> Result<String, Failure> {
    a.send(&format!("TICKET:{}", ub.nick))?;
    let t = ticket_line(a, "TICKET", &ub.nick, &ub.addr).under("TKT-1")?;
    // The INVITE was produced before the reply to A: it precedes the reply to B's next PING.
    b.send("PING:afterticket")?;
    let ti = ticket_line(b, "INVITE", &ua.nick, &ua.addr).under("TKT-1")?;
    b.expect("PONG:afterticket").under("TKT-1")?;
    if t != ti {
        return fail(
            "TKT-1",
            format!("the TICKET reply has {t} but the INVITE has {ti}"),
        );
    }
    Ok(t)
}

fn ticket_invite(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "alice")?;
    let mut b = ctx.connect()?;
    let nb = ctx.nick("bob");
    let ub = super::util::register(ctx, &mut b, &nb, "[fe80::1]:5001")?;
    ticket(&mut a, &ua, &mut b, &ub)?;
    ticket(&mut b, &ub, &mut a, &ua)?;
    a.barrier()?;
    b.barrier()
}

fn ticket_errors(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "alice")?;
    a.send(&format!("TICKET:{}", ctx.nick("nobody")))?;
    a.expect_err("NO_SUCH_NICK")?;
    a.send(&format!("TICKET:{}", ua.nick))?;
    a.expect_err("BAD_TARGET")?;
    a.send(&format!("TICKET:{}", ua.nick.to_ascii_uppercase()))?;
    a.expect_err("BAD_TARGET")?;
    // Registered once, gone now: not registered.
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "gone")?;
    quit(ctx, b, Some(&ub.nick))?;
    a.send(&format!("TICKET:{}", ub.nick))?;
    a.expect_err("NO_SUCH_NICK")?;
    a.send("TICKET:no.dots")?;
    a.expect_err("BAD_NICK").under("ERR-1")?;
    a.send("TICKET")?;
    a.expect_err("MALFORMED").under("ERR-1")?;
    a.barrier()
}

fn tickets_unique(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "alice")?;
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "bob")?;
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..20 {
        let t = if i % 2 == 0 {
            ticket(&mut a, &ua, &mut b, &ub)?
        } else {
            ticket(&mut b, &ub, &mut a, &ua)?
        };
        if ua.token.as_deref() == Some(t.as_str()) || ub.token.as_deref() == Some(t.as_str()) {
            return fail("TKT-3", "a ticket equals a nick-ownership token");
        }
        if !seen.insert(t.clone()) {
            return fail("TKT-3", format!("ticket {t} was issued twice"));
        }
    }
    a.barrier()?;
    b.barrier()
}
