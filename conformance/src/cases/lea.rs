//! Leaves (PROTOCOL.md §10: LEA-1, LEA-2).

use super::util::{forget, join, leave, quit, register, register_new, reregister};
use crate::case::{Case, Ctx, Needs};
use crate::outcome::{CaseResult, Under};
use crate::profile::Profile::Core;
use crate::requirements::Role::Server;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-LEA-001",
        title: "QUIT: BYE, the close, and one LEAVE to every other registered connection",
        covers: &["LEA-1", "QUIT-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: quit_leave,
    },
    Case {
        id: "SRV-LEA-002",
        title: "an abrupt close (or a half-close) of a registered connection gives LEAVE",
        covers: &["LEA-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: abrupt_leave,
    },
    Case {
        id: "SRV-LEA-003",
        title: "a connection that never registered causes no UPDATE when it ends",
        covers: &["LEA-2"],
        profiles: &[Core],
        role: Server,
        // A server of its own: an UPDATE about any nick at all is judged (on a shared
        // server a LEAVE for a made-up nick would pass for another case's user).
        needs: Needs::Dedicated,
        slow: false,
        run: unregistered_no_leave,
    },
    Case {
        id: "SRV-LEA-004",
        title: "the nick of a user who left is free again",
        covers: &["LEA-1", "REG-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: nick_freed,
    },
];

fn quit_leave(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut o1 = ctx.connect()?;
    register_new(ctx, &mut o1, "o1")?;
    let mut o2 = ctx.connect()?;
    let u2 = register_new(ctx, &mut o2, "o2")?;
    o1.expect(&join(&u2.nick, &u2.addr))?;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "a")?;
    o1.expect(&join(&ua.nick, &ua.addr))?;
    o2.expect(&join(&ua.nick, &ua.addr))?;
    quit(ctx, a, Some(&ua.nick)).under("QUIT-1")?;
    o1.expect(&leave(&ua.nick, &ua.addr))?;
    o2.expect(&leave(&ua.nick, &ua.addr))?;
    // Once.
    o1.barrier()?;
    o2.barrier()
}

fn abrupt_leave(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "a")?;
    obs.expect(&join(&ua.nick, &ua.addr))?;
    a.close();
    forget(ctx, &ua.nick);
    obs.expect(&leave(&ua.nick, &ua.addr))?;
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "b")?;
    obs.expect(&join(&ub.nick, &ub.addr))?;
    b.shutdown_write();
    forget(ctx, &ub.nick);
    obs.expect(&leave(&ub.nick, &ub.addr))?;
    obs.barrier()
}

fn unregistered_no_leave(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    let o = register_new(ctx, &mut obs, "obs")?;
    obs.set_judge_all(true);
    // Quiet, with a PING, closed abruptly.
    let mut x = ctx.connect()?;
    x.send("PING:x")?;
    x.expect("PONG:x")?;
    x.close();
    // A refused registration, then QUIT.
    let mut y = ctx.connect()?;
    y.send(&format!("REGISTER:{}.bad:127.0.0.1:5000", ctx.nick("y")))?;
    y.expect_err("BAD_NICK")?;
    y.send("QUIT")?;
    y.expect("BYE")?;
    y.expect_closed()?;
    // A registration refused because the nick is taken, then QUIT.
    let mut z = ctx.connect()?;
    z.send(&format!("REGISTER:{}:127.0.0.1:5000", o.nick))?;
    z.expect_err("NICK_IN_USE")?;
    z.send("QUIT")?;
    z.expect("BYE")?;
    z.expect_closed()?;
    // Nothing but QUIT.
    let mut w = ctx.connect()?;
    w.send("QUIT")?;
    w.expect("BYE")?;
    w.expect_closed()?;
    obs.barrier()
}

fn nick_freed(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut a = ctx.connect()?;
    let nick = ctx.nick("again");
    let addr = ctx.udp_addr();
    let ua = register(ctx, &mut a, &nick, &addr)?;
    obs.expect(&join(&nick, &addr))?;
    quit(ctx, a, Some(&nick))?;
    obs.expect(&leave(&nick, &addr))?;
    // The same nick again (with its token, if the server gave one: relay ownership).
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ua)?;
    obs.expect(&join(&nick, &addr))?;
    obs.barrier()?;
    b.barrier()
}
