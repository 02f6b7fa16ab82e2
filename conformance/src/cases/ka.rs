//! Keepalive and QUIT (PROTOCOL.md §17: KA-1, KA-3, QUIT-1).

use std::time::{Duration, Instant};

use super::util::{join, leave, register_new};
use crate::case::{Case, Ctx, Needs};
use crate::conn::{Conn, Incoming};
use crate::outcome::{CaseResult, Failure, Under};
use crate::profile::Profile::Core;
use crate::requirements::Role::Server;
use crate::wire;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-KA-001",
        title: "PING is answered PONG with the token byte for byte, before and after registration",
        covers: &["KA-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: ping_pong,
    },
    Case {
        id: "SRV-KA-002",
        title: "a PING whose token breaks the ping-token rule is MALFORMED",
        covers: &["ERR-1", "KA-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: bad_ping,
    },
    Case {
        id: "SRV-KA-003",
        title: "an idle connection gets a keepalive PING, and a silent one ERR:TIMEOUT",
        covers: &["KA-3", "ERR-2", "LEA-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: true,
        run: keepalive,
    },
    Case {
        id: "SRV-QUIT-001",
        title: "QUIT is answered BYE and the server closes, registered or not",
        covers: &["QUIT-1", "ERR-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: quit_bye,
    },
];

fn ping_pong(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    let t32 = "Aa0_-".repeat(7)[..32].to_owned();
    for t in ["a", "Z", "A-b_9", "PONG", t32.as_str()] {
        c.send(&format!("PING:{t}"))?;
        c.expect(&format!("PONG:{t}"))?;
    }
    register_new(ctx, &mut c, "ka")?;
    for t in ["b", "after-registration", t32.as_str()] {
        c.send(&format!("PING:{t}"))?;
        c.expect(&format!("PONG:{t}"))?;
    }
    c.barrier()
}

fn bad_ping(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    for bad in [
        "PING".to_owned(),
        "PING:".to_owned(),
        format!("PING:{}", "p".repeat(33)),
        "PING:a.b".to_owned(),
        "PING:a:b".to_owned(),
        "PING:a b".to_owned(),
    ] {
        c.send(&bad)?;
        c.expect_err("MALFORMED")?;
    }
    c.barrier()
}

/// Keeps `c` alive with a PING barrier that tolerates `allowed` (once) before the PONG;
/// returns whether `allowed` came.
fn keep_alive(c: &mut Conn, allowed: &str) -> Result<bool, Failure> {
    c.send("PING:alive")?;
    let mut seen = false;
    loop {
        let l = c.line("PONG:alive")?;
        if l.text == "PONG:alive" {
            return Ok(seen);
        }
        if l.text == allowed && !seen {
            seen = true;
            continue;
        }
        return Err(
            Failure::violation(format!("S{}: unexpected line", c.number()))
                .expected("PONG:alive".to_owned())
                .got(l.text),
        );
    }
}

fn keepalive(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    // C2 answers the server's keepalive PING by hand; C3 sends nothing after registering.
    let mut live = ctx.connect()?;
    let ul = register_new(ctx, &mut live, "live")?;
    let mut silent = ctx.connect()?;
    let us = register_new(ctx, &mut silent, "silent")?;
    obs.expect(&join(&ul.nick, &ul.addr))?;
    obs.expect(&join(&us.nick, &us.addr))?;
    live.expect(&join(&us.nick, &us.addr))?;
    live.set_auto_pong(false);
    silent.set_auto_pong(false);
    let gone = leave(&us.nick, &us.addr);
    let mut obs_saw_leave = false;
    let mut live_saw_leave = false;
    // While waiting on one connection, the others are kept alive every half second.
    let slice = ctx.scaled(Duration::from_millis(500));
    let start = Instant::now();
    // KA-3: a PING within the keepalive interval (default 30 s).
    let ping_wait = ctx.limits.keepalive() + Duration::from_secs(5);
    let ping_by = start + ctx.scaled(ping_wait);
    loop {
        let left = ping_by.saturating_duration_since(Instant::now());
        match live.next_within(left.min(slice))? {
            Incoming::Line(l)
                if l.text
                    .strip_prefix("PING:")
                    .is_some_and(wire::is_ping_token) =>
            {
                live.send(&format!("PONG:{}", &l.text[5..]))?;
                break;
            }
            Incoming::Timeout(_) if !left.is_zero() => {
                obs_saw_leave |= keep_alive(&mut obs, &gone)?;
            }
            other => {
                ctx.warn(
                    Failure::violation(format!(
                        "no keepalive PING on an idle connection within {:.0} s (keepalive {:.0} \
                         s, as declared or §17's default)",
                        ping_wait.as_secs_f64(),
                        ctx.limits.keepalive().as_secs_f64()
                    ))
                    .req("KA-3")
                    .expected("PING:<token>")
                    .got(other.describe()),
                );
                break;
            }
        }
    }
    live.set_auto_pong(true);
    // KA-3: the silent connection is closed with ERR:TIMEOUT (default idle timeout 90 s).
    let close_wait = ctx.limits.idle() + Duration::from_secs(10);
    let close_by = start + ctx.scaled(close_wait);
    loop {
        let left = close_by.saturating_duration_since(Instant::now());
        match silent.next_within(left.min(slice))? {
            // Keepalive PINGs are left unanswered on purpose.
            Incoming::Line(l) if l.text.starts_with("PING:") => {}
            Incoming::Line(l) if wire::parse_err(&l.text).is_ok_and(|e| e.code == "TIMEOUT") => {
                silent.expect_closed().under("ERR-2")?;
                break;
            }
            Incoming::Line(l) => {
                ctx.warn(
                    Failure::violation("unexpected line on the silent connection")
                        .req("KA-3")
                        .expected("ERR:TIMEOUT:<len>:<text>, then the close")
                        .got(l.text),
                );
                return Ok(());
            }
            Incoming::Closed { .. } => {
                ctx.warn(
                    Failure::violation("the silent connection was closed without ERR:TIMEOUT")
                        .req("KA-3"),
                );
                break;
            }
            Incoming::Timeout(_) if !left.is_zero() => {
                obs_saw_leave |= keep_alive(&mut obs, &gone)?;
                live_saw_leave |= keep_alive(&mut live, &gone).under("KA-3")?;
            }
            Incoming::Timeout(_) => {
                ctx.warn(
                    Failure::violation(format!(
                        "the silent connection was still open after {:.0} s (idle timeout {:.0} \
                         s, as declared or §17's default)",
                        close_wait.as_secs_f64(),
                        ctx.limits.idle().as_secs_f64()
                    ))
                    .req("KA-3"),
                );
                return Ok(());
            }
        }
    }
    // The timed-out user left (LEA-1), once; the one that answered is still served.
    if !obs_saw_leave {
        obs.expect(&gone).under("LEA-1")?;
    }
    if !live_saw_leave {
        live.expect(&gone).under("LEA-1")?;
    }
    obs.barrier()?;
    live.barrier().under("KA-3")
}

fn quit_bye(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    c.send("QUIT")?;
    c.expect("BYE")?;
    c.expect_closed()?;
    let mut d = ctx.connect()?;
    register_new(ctx, &mut d, "quitter")?;
    d.send("QUIT:now")?;
    d.expect_err("MALFORMED").under("ERR-1")?;
    d.send("QUIT:")?;
    d.expect_err("MALFORMED").under("ERR-1")?;
    d.barrier()?;
    d.send("QUIT")?;
    d.expect("BYE")?;
    d.expect_closed()
}
