//! Limits and bounds (PROTOCOL.md §17: LIM-1..4). These are SHOULDs: an unmet one is a
//! non-strict verdict (WARN). The MUST parts they carry (other connections not delayed by a
//! slow reader; a closing ERR is the last line, [ERR-2]; the LEAVE, [LEA-1]) FAIL.

use std::time::{Duration, Instant};

use super::util::{bcast, join, leave, register_new};
use crate::case::{Case, Ctx, Needs};
use crate::conn::{Conn, Incoming};
use crate::outcome::{CaseResult, Failure, Under, fail};
use crate::profile::Profile::Core;
use crate::requirements::Role::Server;
use crate::wire;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-LIM-001",
        title: "a reader that never reads is cut off with SLOW_READER; others are not delayed",
        covers: &["LIM-1", "ERR-2", "LEA-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Dedicated,
        slow: false,
        run: slow_reader,
    },
    Case {
        id: "SRV-LIM-002",
        title: "a burst of 2000 PINGs is cut off with ERR:FLOOD",
        covers: &["LIM-2", "ERR-2", "LEA-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Dedicated,
        slow: false,
        run: flood,
    },
    Case {
        id: "SRV-LIM-003",
        title: "connections beyond the server's limit get ERR:SERVER_FULL and are closed",
        covers: &["LIM-3", "ERR-2"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Dedicated,
        slow: false,
        run: connection_limit,
    },
    Case {
        id: "SRV-LIM-004",
        title: "a line left unfinished is cut off with ERR:TIMEOUT",
        covers: &["LIM-4", "ERR-2"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: true,
        run: partial_line_timeout,
    },
];

/// The most the slow-reader case broadcasts before it concludes the server has no bound.
const SLOW_READER_BUDGET: usize = 8 * 1024 * 1024;
/// Broadcasts per source connection: within any sane burst limit ([LIM-2] default 200).
const PER_SOURCE: usize = 150;

/// Reads `n` copies of `line` on `conn`, allowing JOIN/LEAVE lines of this case's users;
/// returns whether `cut` (the slow reader's LEAVE) came.
fn read_copies(
    conn: &mut Conn,
    line: &str,
    n: usize,
    cut: &str,
    prefix: &str,
) -> Result<bool, Failure> {
    let mut got = 0;
    let mut saw_cut = false;
    while got < n {
        let t0 = Instant::now();
        match conn.next_event()? {
            Incoming::Line(l) if l.text == line => got += 1,
            Incoming::Line(l) if l.text == cut && !saw_cut => saw_cut = true,
            Incoming::Line(l)
                if (l.text.starts_with("UPDATE:JOIN:") || l.text.starts_with("UPDATE:LEAVE:"))
                    && l.text
                        .split(':')
                        .nth(2)
                        .is_some_and(|nick| nick.to_ascii_lowercase().starts_with(prefix)) => {}
            other => {
                conn.set_quiet(false);
                return Err(Failure::violation(format!(
                    "connection C{} was delayed or disturbed while another connection did not read",
                    conn.number()
                ))
                .req("LIM-1")
                .expected(format!(
                    "the broadcast within {:.1} s",
                    conn.timeout().as_secs_f64()
                ))
                .got(format!(
                    "{} after {:.1} s",
                    other.describe(),
                    t0.elapsed().as_secs_f64()
                )));
            }
        }
    }
    Ok(saw_cut)
}

fn slow_reader(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut slow = ctx.connect()?;
    let us = register_new(ctx, &mut slow, "slow")?;
    let mut fast = ctx.connect()?;
    register_new(ctx, &mut fast, "fast")?;
    let prefix = ctx.prefix().to_ascii_lowercase();
    let cut = leave(&us.nick, &us.addr);
    ctx.note(format!(
        "C1 never reads. Source connections, one at a time, register, broadcast {PER_SOURCE} \
         lines of 1000 octets of text in one write, read their echoes and QUIT; C2 reads every \
         broadcast. Until C1 is cut off, or {} MiB were broadcast.",
        SLOW_READER_BUDGET >> 20
    ));
    fast.set_quiet(true);
    // From now on the server may cut C1 off at any moment, so a source's LIST reply may
    // or may not still name it.
    ctx.vanishing.push(us.nick.clone());
    let text = "s".repeat(1000);
    let mut sent = 0usize;
    let mut fast_saw_cut = false;
    let mut k = 0;
    while sent < SLOW_READER_BUDGET && !fast_saw_cut {
        k += 1;
        let mut src = ctx.connect()?;
        src.set_quiet(true);
        let u = register_new(ctx, &mut src, &format!("src{k}"))?;
        let line = bcast(&u.nick, &text);
        let batch: Vec<u8> = (0..PER_SOURCE)
            .flat_map(|_| line.bytes().chain(*b"\r\n"))
            .collect();
        src.send_raw_quiet(&batch)?;
        sent += batch.len();
        let src_saw_cut = read_copies(&mut src, &line, PER_SOURCE, &cut, &prefix)?;
        fast_saw_cut = read_copies(&mut fast, &line, PER_SOURCE, &cut, &prefix)?;
        if src_saw_cut && !fast_saw_cut {
            fast.expect(&cut).under("LEA-1")?;
            fast_saw_cut = true;
        }
        src.send("QUIT")?;
        // The cut-off can land between the echoes and the reply: its LEAVE is an event,
        // and events may come before a reply (§7).
        let first = src.line("BYE")?;
        if first.raw == cut.as_bytes() {
            src.expect("BYE")?;
        } else if first.raw != b"BYE" {
            return Err(Failure::violation(format!(
                "S{}: the next line is not the one expected",
                src.number()
            ))
            .expected("BYE".to_owned())
            .got(first.text));
        }
        src.expect_closed()?;
        super::util::forget(ctx, &u.nick);
    }
    fast.set_quiet(false);
    if !fast_saw_cut {
        ctx.warn(
            Failure::violation(format!(
                "the server held {} MiB of output for a connection that never read, without \
                 closing it",
                sent >> 20
            ))
            .req("LIM-1"),
        );
        return Ok(());
    }
    ctx.note(format!(
        "C1 was cut off after {} KiB were broadcast",
        sent >> 10
    ));
    // Now read what the slow reader was sent: whole lines, ERR:SLOW_READER last, then close.
    let d = slow.drain(ctx.scaled(Duration::from_secs(20)))?;
    if !d.closed {
        return fail(
            "ERR-2",
            "the server sent UPDATE:LEAVE for C1 but kept its connection open",
        );
    }
    if d.leftover > 0 {
        return fail(
            "ERR-2",
            format!(
                "the connection ended with {} octets of an unfinished line",
                d.leftover
            ),
        );
    }
    match d.last.as_deref().map(wire::parse_err) {
        Some(Ok(e)) if e.code == "SLOW_READER" => {}
        Some(Ok(e)) if is_closing_code(&e.code) => {
            ctx.warn(
                Failure::violation(format!(
                    "C1 was closed with ERR:{} instead of SLOW_READER",
                    e.code
                ))
                .req("LIM-1"),
            );
        }
        _ => {
            if let Some(pen) = d.penultimate.as_deref()
                && wire::parse_err(pen).is_ok_and(|e| is_closing_code(&e.code))
            {
                return fail(
                    "ERR-2",
                    format!("a line came after {pen}: the closing ERR must be the last line"),
                );
            }
            // [ERR-2]: SLOW_READER goes out only if the connection can still take it.
            ctx.note("C1 was closed without ERR:SLOW_READER (allowed when it could not take it)");
        }
    }
    // The others are still served (the last source's LEAVE may still be on its way).
    fast.set_ignore_updates(true);
    fast.barrier()
}

fn is_closing_code(code: &str) -> bool {
    matches!(
        code,
        "FLOOD" | "SLOW_READER" | "TIMEOUT" | "SERVER_FULL" | "SHUTDOWN"
    )
}

/// Reads until the close: PONGs, then (maybe) ERR:FLOOD as the last line.
fn flood(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut c = ctx.connect()?;
    let uc = register_new(ctx, &mut c, "flood")?;
    obs.expect(&join(&uc.nick, &uc.addr))?;
    const N: usize = 2000;
    let burst: Vec<u8> = (0..N)
        .flat_map(|i| format!("PING:f{i}\r\n").into_bytes())
        .collect();
    ctx.note(format!("C2 sends PING:f0 .. PING:f{} in one write", N - 1));
    c.send_raw_quiet(&burst)?;
    c.set_quiet(true);
    let mut pongs = 0;
    let outcome = loop {
        match c.next_event()? {
            Incoming::Line(l) if l.text == format!("PONG:f{pongs}") => {
                pongs += 1;
                if pongs == N {
                    break None;
                }
            }
            Incoming::Line(l) => break Some(Ok(l.text)),
            other => break Some(Err(other)),
        }
    };
    c.set_quiet(false);
    ctx.note(format!("{pongs} PONGs came in order"));
    match outcome {
        None => {
            c.barrier()?;
            ctx.warn(
                Failure::violation(format!(
                    "{N} PINGs in one burst were all answered: no line-rate limit"
                ))
                .req("LIM-2"),
            );
            Ok(())
        }
        Some(Ok(line)) => {
            let e = wire::parse_err(&line).map_err(|why| {
                Failure::violation(format!("unexpected line during the flood: {why}"))
                    .req("GEN-1")
                    .expected(format!("PONG:f{pongs} or ERR:FLOOD"))
                    .got(line.clone())
            })?;
            if e.code != "FLOOD" {
                ctx.warn(
                    Failure::violation(format!("the flood was answered ERR:{}, not FLOOD", e.code))
                        .req("LIM-2"),
                );
            }
            if is_closing_code(&e.code) {
                c.expect_closed().under("ERR-2")?;
                obs.expect(&leave(&uc.nick, &uc.addr)).under("LEA-1")?;
            }
            obs.barrier()
        }
        Some(Err(Incoming::Closed { .. })) => {
            ctx.warn(
                Failure::violation(format!(
                    "the connection was closed after {pongs} PONGs without ERR:FLOOD"
                ))
                .req("LIM-2"),
            );
            obs.expect(&leave(&uc.nick, &uc.addr)).under("LEA-1")?;
            obs.barrier()
        }
        Some(Err(other)) => Err(Failure::violation("the server stopped answering the burst")
            .req("GEN-1")
            .expected(format!("PONG:f{pongs}, or ERR:FLOOD and the close"))
            .got(other.describe())),
    }
}

/// Connections the limit case opens at most, unless the target declares its limit.
const DEFAULT_MAX_CONNECTIONS: usize = 300;

fn connection_limit(ctx: &mut Ctx<'_>) -> CaseResult {
    // A declared limit is tried (and a few more); else up to 300.
    let max_connections = ctx
        .limits
        .max_connections
        .map_or(DEFAULT_MAX_CONNECTIONS, |m| (m + 5).min(5000));
    let mut open: Vec<Conn> = Vec::new();
    ctx.note(format!(
        "opening up to {max_connections} connections, each checked with PING (lines not shown)"
    ));
    for i in 0..max_connections {
        let mut c = ctx.connect()?;
        c.set_quiet(true);
        c.send_raw_quiet(format!("PING:n{i}\r\n").as_bytes())?;
        match c.next_event()? {
            Incoming::Line(l) if l.text == format!("PONG:n{i}") => open.push(c),
            Incoming::Line(l) => {
                c.set_quiet(false);
                let e = wire::parse_err(&l.text).map_err(|_| {
                    Failure::violation("unexpected answer to PING on a new connection")
                        .req("KA-1")
                        .expected(format!("PONG:n{i} or ERR:SERVER_FULL"))
                        .got(l.text.clone())
                })?;
                ctx.note(format!("connection {} got {}", i + 1, l.text));
                if e.code != "SERVER_FULL" {
                    ctx.warn(
                        Failure::violation(format!(
                            "a connection beyond the limit got ERR:{}",
                            e.code
                        ))
                        .req("LIM-3"),
                    );
                }
                c.expect_closed().under("ERR-2")?;
                // The ones already open are still served.
                if let Some(first) = open.first_mut() {
                    first.set_quiet(false);
                    first.barrier().under("LIM-3")?;
                }
                return Ok(());
            }
            other => {
                ctx.warn(
                    Failure::violation(format!(
                        "connection {} was not served: {}",
                        i + 1,
                        other.describe()
                    ))
                    .req("LIM-3"),
                );
                return Ok(());
            }
        }
    }
    Err(Failure::not_run(format!(
        "the server served all {max_connections} connections the suite opens: its connection \
         limit (if any) is higher, so LIM-3 could not be observed"
    )))
}

fn partial_line_timeout(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    c.set_auto_pong(false);
    c.send_raw(b"PING:unfinished")?;
    let wait = ctx.limits.partial() + Duration::from_secs(10);
    let end = Instant::now() + ctx.scaled(wait);
    loop {
        match c.next_within(end.saturating_duration_since(Instant::now()))? {
            Incoming::Line(l) if l.text.starts_with("PING:") => continue,
            Incoming::Line(l) => {
                if wire::parse_err(&l.text).is_ok_and(|e| e.code == "TIMEOUT") {
                    return c.expect_closed().under("ERR-2");
                }
                return Err(
                    Failure::violation("unexpected line while a line was unfinished")
                        .expected("ERR:TIMEOUT:<len>:<text>")
                        .got(l.text),
                );
            }
            Incoming::Closed { .. } => {
                return Err(Failure::violation(
                    "the connection was closed without ERR:TIMEOUT",
                ));
            }
            Incoming::Timeout(_) => {
                return Err(Failure::violation(format!(
                    "a line left unfinished for {:.0} s was not cut off (partial-line \
                         timeout {:.0} s, as declared or §17's default)",
                    wait.as_secs_f64(),
                    ctx.limits.partial().as_secs_f64()
                )));
            }
        }
    }
}
