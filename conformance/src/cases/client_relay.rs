//! Client cases of the relay and block profiles: MSG shown, then ACKed, never shown twice,
//! also across a restart (CLI-5); the token kept and sent again (CLI-6); SEND (CLI-7);
//! BLOCK and UNBLOCK (CLI-8).

use super::cutil::{Hyb, hex32, is_message, now, tf};
use crate::case::{Case, Ctx, Needs};
use crate::conn::Incoming;
use crate::outcome::{CaseResult, Failure, Under, fail};
use crate::profile::Profile::{Block, Relay};
use crate::requirements::Role::Client;

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

/// CLI-RLY-004 closes the client's standard output and requires its writes to fail: no
/// other case may be forking a child process meanwhile (a child between fork and exec holds
/// a copy of every pipe, the read end included), so it runs alone.
const ALONE: Case = Case {
    id: "CLI-RLY-004",
    title: "a MSG that cannot be shown (standard output closed) is not ACKed",
    covers: &["CLI-5"],
    profiles: &[Relay],
    role: Client,
    needs: Needs::Dedicated,
    slow: false,
    run: no_ack_unshown,
};

pub static CASES: &[Case] = &[
    case!(
        "CLI-RLY-001",
        "msg: SEND:<nick>:<len>:<text> (len in octets); SENT LIVE / QUEUED are sent events",
        ["CLI-7", "AUT-1"],
        [Relay],
        send_format
    ),
    case!(
        "CLI-RLY-002",
        "a MSG is shown (message event) and ACKed; a duplicate id is ACKed, not shown again",
        ["CLI-5", "AUT-1"],
        [Relay],
        msg_shown_acked_once
    ),
    case!(
        "CLI-RLY-003",
        "ids shown before a restart (same {datadir}) are ACKed and not shown again",
        ["CLI-5"],
        [Relay],
        dedup_across_restart
    ),
    ALONE,
    case!(
        "CLI-REG-002",
        "the TOKEN is kept and sent in the next REGISTER after a restart (same {datadir})",
        ["CLI-6"],
        [Relay],
        token_kept
    ),
    case!(
        "CLI-BLK-001",
        "block / unblock: BLOCK:<nick> and UNBLOCK:<nick>; BLOCKED / UNBLOCKED are events",
        ["CLI-8", "AUT-1"],
        [Block],
        block_lines
    ),
];

fn send_format(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let carol = ctx.nick("carol");
    let mut h = Hyb::start(ctx, "me", &[(bob.clone(), "10.0.0.7:5001".into())], None)?;
    let t1 = "hi: ☃ über";
    h.run.cmd(&format!("msg {bob} {t1}"))?;
    h.srv
        .expect(&format!("SEND:{bob}:{}", tf(t1)))
        .under("CLI-7")?;
    h.srv.send("SENT:41:LIVE")?;
    h.run
        .expect(
            "sent",
            &format!("{{\"event\":\"sent\",\"to\":\"{bob}\",\"via\":\"live\",\"id\":41}}"),
            |e| e.str("to") == bob && e.str("via") == "live" && e.u64("id") == Some(41),
        )
        .under("AUT-1")?;
    let t2 = "later, when you are back";
    h.run.cmd(&format!("msg {carol} {t2}"))?;
    h.srv
        .expect(&format!("SEND:{carol}:{}", tf(t2)))
        .under("CLI-7")?;
    h.srv.send("SENT:42:QUEUED")?;
    h.run
        .expect(
            "sent",
            &format!("{{\"event\":\"sent\",\"to\":\"{carol}\",\"via\":\"queued\",\"id\":42}}"),
            |e| e.str("to") == carol && e.str("via") == "queued" && e.u64("id") == Some(42),
        )
        .under("AUT-1")?;
    Ok(())
}

/// Sends `MSG:<id>:<from>:<time>:<len>:<text>`.
fn msg(h: &mut Hyb, id: u64, from: &str, text: &str) -> Result<(), Failure> {
    h.srv
        .send(&format!("MSG:{id}:{from}:{}:{}", now() - 5, tf(text)))
}

/// The client's lines before the PONG must be exactly these ACKs, in order.
fn expect_acks(lines: &[crate::conn::Line], ids: &[u64]) -> Result<(), Failure> {
    let got: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
    let want: Vec<String> = ids.iter().map(|i| format!("ACK:{i}")).collect();
    if got == want {
        return Ok(());
    }
    Err(Failure::violation(
        "the client did not acknowledge exactly the messages received, in order",
    )
    .req("CLI-5")
    .expected(format!("{} then the PONG", want.join(", ")))
    .got(if got.is_empty() {
        "nothing before the PONG".to_owned()
    } else {
        got.join(", ")
    }))
}

fn msg_shown_acked_once(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let mut h = Hyb::start(ctx, "me", &[(bob.clone(), "10.0.0.7:5001".into())], None)?;
    let text = "hi: there ☃";
    msg(&mut h, 7, &bob, text)?;
    let (lines, ev) = h.settle()?;
    expect_acks(&lines, &[7])?;
    let shown: Vec<_> = ev.iter().filter(|e| e.kind == "message").collect();
    if shown.len() != 1 || !is_message(shown[0], &bob, text, "relay", Some(7)) {
        return Err(Failure::violation("the MSG was not shown as one message event")
            .req("AUT-1")
            .expected(format!(
                "{{\"event\":\"message\",\"from\":\"{bob}\",\"text\":{text:?},\"via\":\"relay\",\
                 \"id\":7}}"
            ))
            .got(
                shown
                    .iter()
                    .map(|e| e.raw.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            ));
    }
    ctx.note("the same id again (a redelivery): ACKed, not shown");
    msg(&mut h, 7, &bob, text)?;
    msg(&mut h, 8, &bob, "second")?;
    msg(&mut h, 7, &bob, text)?;
    let (lines, ev) = h.settle()?;
    expect_acks(&lines, &[7, 8, 7])?;
    let shown: Vec<_> = ev.iter().filter(|e| e.kind == "message").collect();
    if shown.len() != 1 || !is_message(shown[0], &bob, "second", "relay", Some(8)) {
        return Err(Failure::violation(
            "a message whose id was shown already was shown again (or the new one was not shown)",
        )
        .req("CLI-5")
        .expected(format!(
            "only {{\"event\":\"message\",\"from\":\"{bob}\",\"text\":\"second\",\"via\":\"relay\",\
             \"id\":8}}"
        ))
        .got(
            shown
                .iter()
                .map(|e| e.raw.clone())
                .collect::<Vec<_>>()
                .join(" "),
        ));
    }
    Ok(())
}

fn dedup_across_restart(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let token = hex32();
    let others = [(bob.clone(), "10.0.0.7:5001".to_owned())];
    let mut h = Hyb::start(ctx, "me", &others, Some(&token))?;
    msg(&mut h, 7, &bob, "before the restart")?;
    let (lines, ev) = h.settle()?;
    expect_acks(&lines, &[7])?;
    if !ev
        .iter()
        .any(|e| is_message(e, &bob, "before the restart", "relay", Some(7)))
    {
        return fail("CLI-5", "the MSG was not shown".to_owned());
    }
    h.quit()?;
    ctx.note("the client runs again with the same {datadir}; the server redelivers id 7");
    h.relaunch(ctx)?;
    h.expect_register(Some(&token))?;
    h.answer_register(&others, None)?;
    msg(&mut h, 7, &bob, "before the restart")?;
    msg(&mut h, 9, &bob, "after the restart")?;
    let (lines, ev) = h.settle()?;
    expect_acks(&lines, &[7, 9])?;
    let shown: Vec<_> = ev.iter().filter(|e| e.kind == "message").collect();
    if shown.len() == 1 && is_message(shown[0], &bob, "after the restart", "relay", Some(9)) {
        return Ok(());
    }
    Err(Failure::violation(
        "after a restart with the same {datadir}, a message shown in the earlier run was shown \
         again (or the new one was not shown)",
    )
    .req("CLI-5")
    .expected("only the message of id 9".to_owned())
    .got(
        shown
            .iter()
            .map(|e| e.raw.clone())
            .collect::<Vec<_>>()
            .join(" "),
    ))
}

fn no_ack_unshown(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let mut h = Hyb::start(ctx, "me", &[(bob.clone(), "10.0.0.7:5001".into())], None)?;
    h.quiet()?;
    h.run.close_stdout();
    msg(&mut h, 11, &bob, "nobody can see this")?;
    h.srv.send("PING:after11")?;
    // Whatever the client does now (answer the PING, QUIT, close, exit), it must not ACK
    // a message it could not show.
    let d = h.run.timeout();
    loop {
        match h.srv.next_within(d)? {
            Incoming::Line(l) if l.text == "ACK:11" => {
                return Err(Failure::violation(
                    "the client acknowledged a MSG that it could not show: its standard output \
                     was closed, so writing the message event failed",
                )
                .req("CLI-5")
                .expected("no ACK:11 (show, then ACK; Appendix A.2)".to_owned())
                .got("ACK:11".to_owned()));
            }
            Incoming::Line(l) if l.text == "PONG:after11" => return Ok(()),
            Incoming::Line(l) if l.text == "QUIT" => {
                h.srv.bye()?;
            }
            Incoming::Line(_) => {}
            Incoming::Closed { .. } | Incoming::Timeout(_) => return Ok(()),
        }
    }
}

fn token_kept(ctx: &mut Ctx<'_>) -> CaseResult {
    let token = hex32();
    let mut h = Hyb::start(ctx, "me", &[], Some(&token))?;
    h.quiet()?;
    h.quit()?;
    ctx.note("the client runs again with the same {datadir} and {server}");
    h.relaunch(ctx)?;
    h.expect_register(Some(&token)).under("CLI-6")?;
    h.answer_register(&[], None)?;
    // Killed this time (a crash): the token was kept on stable storage at once.
    h.run.kill();
    h.relaunch(ctx)?;
    h.expect_register(Some(&token)).under("CLI-6")?;
    Ok(())
}

fn block_lines(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("Bob");
    let mut h = Hyb::start(ctx, "me", &[(bob.clone(), "10.0.0.7:5001".into())], None)?;
    h.run.cmd(&format!("block {bob}"))?;
    h.srv.expect(&format!("BLOCK:{bob}")).under("CLI-8")?;
    h.srv.send(&format!("BLOCKED:{bob}"))?;
    h.run
        .expect(
            "blocked",
            &format!("{{\"event\":\"blocked\",\"nick\":\"{bob}\"}}"),
            |e| e.str("nick") == bob,
        )
        .under("AUT-1")?;
    h.run.cmd(&format!("unblock {bob}"))?;
    h.srv.expect(&format!("UNBLOCK:{bob}")).under("CLI-8")?;
    h.srv.send(&format!("UNBLOCKED:{bob}"))?;
    h.run
        .expect(
            "unblocked",
            &format!("{{\"event\":\"unblocked\",\"nick\":\"{bob}\"}}"),
            |e| e.str("nick") == bob,
        )
        .under("AUT-1")?;
    Ok(())
}
