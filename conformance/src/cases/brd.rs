//! Broadcast, joins and leaves (PROTOCOL.md §10).

use super::util::{bcast, join, leave, register_new};
use crate::case::{Case, Ctx, Needs};
use crate::conn::Conn;
use crate::outcome::{CaseResult, Failure, Under, fail};
use crate::profile::Profile::Core;
use crate::requirements::Role::Server;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-BRD-001",
        title: "a BROADCAST is relayed as the same line to everyone, the sender included",
        covers: &["BRD-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: relay_and_echo,
    },
    Case {
        id: "SRV-BRD-002",
        title: "a BROADCAST naming another nick is NOT_YOUR_NICK and reaches nobody",
        covers: &["BRD-2"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: not_your_nick,
    },
    Case {
        id: "SRV-BRD-003",
        title: "every connection sees concurrent broadcasts in the same order",
        covers: &["BRD-3"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: same_order,
    },
    Case {
        id: "SRV-BRD-004",
        title: "a BROADCAST that fails to decode reaches nobody",
        covers: &["BRD-4"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: bad_broadcast_nobody,
    },
    Case {
        id: "SRV-BRD-005",
        title: "JOIN, the user's broadcasts and its LEAVE arrive in that order",
        covers: &["BRD-1", "GEN-4", "LEA-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: join_broadcast_leave_order,
    },
];

fn relay_and_echo(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "a")?;
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "b")?;
    let mut c = ctx.connect()?;
    let uc = register_new(ctx, &mut c, "c")?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    a.expect(&join(&uc.nick, &uc.addr))?;
    b.expect(&join(&uc.nick, &uc.addr))?;
    let long = "é".repeat(512);
    for text in [
        "hello: all!",
        "héllo wörld ✓",
        ":::",
        long.as_str(),
        "  spaces  ",
    ] {
        let line = bcast(&ua.nick, text);
        a.send(&line)?;
        a.expect(&line)?;
        b.expect(&line)?;
        c.expect(&line)?;
    }
    let line = bcast(&uc.nick, "from c");
    c.send(&line)?;
    c.expect(&line)?;
    a.expect(&line)?;
    b.expect(&line)?;
    a.barrier()?;
    b.barrier()?;
    c.barrier()
}

fn not_your_nick(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "a")?;
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "b")?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    for n in [
        ub.nick.clone(),
        ua.nick.to_ascii_uppercase(),
        ctx.nick("nobody"),
    ] {
        a.send(&bcast(&n, "spoof"))?;
        a.expect_err("NOT_YOUR_NICK")?;
    }
    a.barrier()?;
    b.barrier()
}

fn same_order(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "a")?;
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "b")?;
    let mut c = ctx.connect()?;
    let uc = register_new(ctx, &mut c, "c")?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    a.expect(&join(&uc.nick, &uc.addr))?;
    b.expect(&join(&uc.nick, &uc.addr))?;
    const N: usize = 20;
    let la: Vec<String> = (0..N).map(|i| bcast(&ua.nick, &format!("a{i}"))).collect();
    let lb: Vec<String> = (0..N).map(|i| bcast(&ub.nick, &format!("b{i}"))).collect();
    a.send_batch(&la)?;
    b.send_batch(&lb)?;
    let mut seqs = Vec::new();
    for conn in [&mut a, &mut b, &mut c] {
        seqs.push(collect(conn, 2 * N)?);
    }
    for (i, s) in seqs.iter().enumerate() {
        let own_a: Vec<&String> = s.iter().filter(|l| la.contains(l)).collect();
        let own_b: Vec<&String> = s.iter().filter(|l| lb.contains(l)).collect();
        if own_a.len() != N || own_b.len() != N {
            return fail(
                "BRD-1",
                format!(
                    "connection C{} did not get each broadcast exactly once",
                    i + 1
                ),
            );
        }
        if own_a.iter().zip(&la).any(|(x, y)| *x != y)
            || own_b.iter().zip(&lb).any(|(x, y)| *x != y)
        {
            return fail(
                "BRD-3",
                format!(
                    "connection C{} got one sender's broadcasts out of their order",
                    i + 1
                ),
            );
        }
    }
    if seqs[0] != seqs[1] || seqs[1] != seqs[2] {
        let show = |s: &Vec<String>| {
            s.iter()
                .map(|l| l.rsplit(':').next().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        return Err(
            Failure::violation("the connections saw the broadcasts in different orders")
                .expected(format!("one order for all; C1 saw {}", show(&seqs[0])))
                .got(format!(
                    "C2 saw {}; C3 saw {}",
                    show(&seqs[1]),
                    show(&seqs[2])
                )),
        );
    }
    a.barrier()?;
    b.barrier()?;
    c.barrier()
}

/// Reads `n` lines, which must all be BROADCASTs.
fn collect(conn: &mut Conn, n: usize) -> Result<Vec<String>, Failure> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let l = conn.expect_with("a BROADCAST line", |l| {
            if l.starts_with("BROADCAST:") {
                Ok(l.to_owned())
            } else {
                Err("expected a BROADCAST".into())
            }
        })?;
        out.push(l);
    }
    Ok(out)
}

fn bad_broadcast_nobody(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "a")?;
    obs.expect(&join(&ua.nick, &ua.addr))?;
    let n = &ua.nick;
    let bad: Vec<(Vec<u8>, &str)> = vec![
        (
            format!("BROADCAST:{n}:3:hello\r\n").into_bytes(),
            "BAD_LENGTH",
        ),
        (
            format!("BROADCAST:{n}:1025:{}\r\n", "x".repeat(1025)).into_bytes(),
            "TEXT_TOO_LONG",
        ),
        (
            format!("BROADCAST:{n}:05:hello\r\n").into_bytes(),
            "MALFORMED",
        ),
        (b"BROADCAST:no.dots:5:hello\r\n".to_vec(), "BAD_NICK"),
        (Vec::new(), "BAD_UTF8"),
        (
            format!("BROADCAST:{n}:3:a\x00b\r\n").into_bytes(),
            "MALFORMED",
        ),
    ];
    for (line, code) in bad {
        let line = if code == "BAD_UTF8" {
            let mut v = format!("BROADCAST:{n}:2:").into_bytes();
            v.extend_from_slice(b"\xc3\x28\r\n");
            v
        } else {
            line
        };
        a.send_raw(&line)?;
        a.expect_err(code).under("ERR-1")?;
    }
    a.barrier()?;
    obs.barrier()
}

fn join_broadcast_leave_order(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "a")?;
    let lines: Vec<String> = vec![
        bcast(&ua.nick, "one"),
        bcast(&ua.nick, "two"),
        "QUIT".into(),
    ];
    a.send_batch(&lines)?;
    a.expect(&lines[0])?;
    a.expect(&lines[1])?;
    a.expect("BYE").under("QUIT-1")?;
    a.expect_closed().under("QUIT-1")?;
    obs.expect(&join(&ua.nick, &ua.addr))?;
    obs.expect(&lines[0])?;
    obs.expect(&lines[1])?;
    obs.expect(&leave(&ua.nick, &ua.addr)).under("LEA-1")?;
    obs.barrier()
}
