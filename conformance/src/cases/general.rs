//! Connections to the server: states and general rules (PROTOCOL.md §7).

use super::util::{bcast, join, leave, register_new, send};
use crate::case::{Case, Ctx, Needs};
use crate::outcome::{CaseResult, Under};
use crate::profile::Profile::{self, Block, Core, Direct, Query, Relay};
use crate::requirements::Role::Server;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-GEN-001",
        title: "exactly one reply per request, in the order of the requests",
        covers: &["GEN-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: one_reply_in_order,
    },
    Case {
        id: "SRV-GEN-002",
        title: "PONG gets no reply; a malformed PONG gets MALFORMED",
        covers: &["GEN-1", "ERR-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: pong_no_reply,
    },
    Case {
        id: "SRV-GEN-003",
        title: "before registration only REGISTER, PING, PONG and QUIT are accepted",
        covers: &["GEN-2"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: not_registered,
    },
    Case {
        id: "SRV-GEN-004",
        title: "unknown verbs, lower-case verbs and server-only verbs are UNKNOWN_VERB",
        covers: &["GEN-3", "ERR-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: unknown_verbs,
    },
    Case {
        id: "SRV-GEN-005",
        title: "an event produced before a reply arrives before it",
        covers: &["GEN-4"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: events_before_later_replies,
    },
];

fn one_reply_in_order(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    let me = register_new(ctx, &mut c, "order")?;
    let other = ctx.nick("other");
    let mut lines = vec![
        "PING:g1".to_owned(),
        bcast(&me.nick, "a"),
        "FOO".to_owned(),
        bcast(&other, "b"),
        format!("REGISTER:{}:127.0.0.1:4000", ctx.nick("second")),
        "PONG:zz".to_owned(),
        "PING:g2".to_owned(),
        format!("BROADCAST:{}:2:a", me.nick),
    ];
    let mut want: Vec<(bool, String)> = vec![
        (true, "PONG:g1".into()),
        (true, bcast(&me.nick, "a")),
        (false, "UNKNOWN_VERB".into()),
        (false, "NOT_YOUR_NICK".into()),
        (false, "ALREADY_REGISTERED".into()),
        (true, "PONG:g2".into()),
        (false, "BAD_LENGTH".into()),
    ];
    if ctx.claims(Relay) {
        lines.push(send(&me.nick, "self"));
        want.push((false, "BAD_TARGET".into()));
        lines.push("ACK:9007199254740991".into());
    }
    if ctx.claims(Query) {
        lines.push(format!("QUERY:{}", ctx.nick("nobody")));
        want.push((false, "NO_SUCH_NICK".into()));
    }
    lines.push("PING:g3".into());
    want.push((true, "PONG:g3".into()));
    c.send_batch(&lines)?;
    for (exact, w) in want {
        if exact {
            c.expect(&w)?;
        } else {
            c.expect_err(&w)?;
        }
    }
    c.barrier()
}

fn pong_no_reply(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    c.send("PONG:nothing")?;
    c.barrier()?;
    register_new(ctx, &mut c, "pong")?;
    c.send("PONG:nothing2")?;
    c.barrier()?;
    for bad in [
        "PONG".to_owned(),
        "PONG:".to_owned(),
        "PONG:a:b".to_owned(),
        "PONG:a.b".to_owned(),
        format!("PONG:{}", "p".repeat(33)),
    ] {
        c.send(&bad)?;
        c.expect_err("MALFORMED").under("ERR-1")?;
    }
    c.barrier()
}

fn not_registered(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    let target = ctx.nick("t");
    c.send(&bcast(&target, "hi"))?;
    c.expect_err("NOT_REGISTERED")?;
    // Only a line that decodes is judged against the state (§2.1 step 7).
    c.send(&format!("BROADCAST:{target}:05:hello"))?;
    c.expect_err("MALFORMED").under("ERR-1")?;
    c.send("PING:pre")?;
    c.expect("PONG:pre").under("KA-1")?;
    c.send("PONG:pre")?;
    c.barrier()?;
    // The verbs of other profiles: NOT_REGISTERED when the profile is claimed, and
    // UNKNOWN_VERB is also allowed when it is not (PROTOCOL.md §4).
    let others: Vec<(String, Profile)> = vec![
        ("LIST".into(), Query),
        (format!("QUERY:{target}"), Query),
        (send(&target, "hi"), Relay),
        (format!("BLOCK:{target}"), Block),
        (format!("UNBLOCK:{target}"), Block),
        ("BLOCKS".into(), Block),
        (format!("TICKET:{target}"), Direct),
        ("ACK:1".into(), Relay),
    ];
    for (line, p) in others {
        c.send(&line)?;
        if ctx.claims(p) {
            c.expect_err("NOT_REGISTERED")?;
        } else {
            c.expect_err_one_of(&["NOT_REGISTERED", "UNKNOWN_VERB"])?;
        }
    }
    c.barrier()?;
    c.send("QUIT")?;
    c.expect("BYE").under("QUIT-1")?;
    c.expect_closed().under("QUIT-1")
}

fn unknown_verbs(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    let n = ctx.nick("u");
    let verbs = [
        "HELLO".to_owned(),
        "FOO:bar".to_owned(),
        format!("register:{n}:127.0.0.1:5000"),
        "ping:x".to_owned(),
        "Ping:x".to_owned(),
        "PINGX:x".to_owned(),
        " PING:x".to_owned(),
        "PING :x".to_owned(),
        ":x".to_owned(),
        format!("UPDATE:JOIN:{n}:127.0.0.1:5000"),
        "BYE".to_owned(),
        format!("USER:{n}:127.0.0.1:5000"),
        format!("TOKEN:{n}:0123456789abcdef0123456789abcdef"),
        format!("MSG:1:{n}:0:1:a"),
        format!("HELLO:{n}"),
        "ERR:MALFORMED:1:x".to_owned(),
        "SENT:1:LIVE".to_owned(),
        format!("OFFER:{n}:5000:0123456789abcdef0123456789abcdef"),
        format!("DM:{n}:1:a"),
    ];
    for v in &verbs {
        c.send(v)?;
        c.expect_err("UNKNOWN_VERB")?;
    }
    c.barrier().under("ERR-1")?;
    let me = register_new(ctx, &mut c, "reg")?;
    for v in ["broadcast:x", "Quit", "NOSUCHVERB:1:2:3"] {
        c.send(v)?;
        c.expect_err("UNKNOWN_VERB")?;
    }
    c.send(&format!("bROADCAST:{}:1:x", me.nick))?;
    c.expect_err("UNKNOWN_VERB")?;
    c.barrier().under("ERR-1")
}

fn events_before_later_replies(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    let mut b = ctx.connect()?;
    register_new(ctx, &mut a, "a")?;
    let ub = register_new(ctx, &mut b, "b")?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    for i in 0..5 {
        let text = format!("round {i}");
        b.send(&bcast(&ub.nick, &text))?;
        b.expect(&bcast(&ub.nick, &text))?;
        // B's broadcast was accepted before A's PING: it must come first.
        a.send(&format!("PING:r{i}"))?;
        a.expect(&bcast(&ub.nick, &text))?;
        a.expect(&format!("PONG:r{i}"))?;
    }
    let mut c = ctx.connect()?;
    let uc = register_new(ctx, &mut c, "c")?;
    a.send("PING:afterjoin")?;
    a.expect(&join(&uc.nick, &uc.addr))?;
    a.expect("PONG:afterjoin")?;
    b.expect(&join(&uc.nick, &uc.addr))?;
    b.send("QUIT")?;
    b.expect("BYE")?;
    b.expect_closed()?;
    super::util::forget(ctx, &ub.nick);
    // B's BYE was sent: its LEAVE was produced before A's next PING is handled... only
    // once the server has seen the close, so wait for the LEAVE on C first.
    c.expect(&leave(&ub.nick, &ub.addr))?;
    a.send("PING:afterleave")?;
    a.expect(&leave(&ub.nick, &ub.addr))?;
    a.expect("PONG:afterleave")?;
    a.barrier()
}
