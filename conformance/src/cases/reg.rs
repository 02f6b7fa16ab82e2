//! Registration (PROTOCOL.md §8, core part).

use super::util::{bcast, check_list, join, leave, register, register_new, swap_case};
use crate::case::{Case, Ctx, Needs};
use crate::outcome::{CaseResult, Under};
use crate::profile::Profile::{Core, Query};
use crate::requirements::Role::Server;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-REG-001",
        title: "a valid REGISTER: JOIN to everyone, the new one included, then LIST",
        covers: &["REG-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: valid_register,
    },
    Case {
        id: "SRV-REG-002",
        title: "the LIST reply names every registered user in registration order, as given",
        covers: &["REG-2"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: list_order,
    },
    Case {
        id: "SRV-REG-003",
        title: "a nick held by another connection, in any case, is NICK_IN_USE",
        covers: &["REG-3", "REG-7"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: nick_in_use,
    },
    Case {
        id: "SRV-REG-004",
        title: "bad nicks (empty, 33 characters, characters outside the alphabet) are BAD_NICK",
        covers: &["REG-4", "REG-7"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: bad_nicks,
    },
    Case {
        id: "SRV-REG-005",
        title: "bad addresses (port 0/65536/leading zero, unspecified, unbracketed IPv6...) are \
                BAD_ADDRESS",
        covers: &["REG-5", "REG-7"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: bad_addresses,
    },
    Case {
        id: "SRV-REG-006",
        title: "REGISTER on a registered connection is ALREADY_REGISTERED and changes nothing",
        covers: &["REG-6", "REG-7"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: already_registered,
    },
    Case {
        id: "SRV-REG-007",
        title: "a refused REGISTER leaves no trace and the connection may try again",
        covers: &["REG-7", "LEA-2"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: refused_no_trace,
    },
    Case {
        id: "SRV-REG-008",
        title: "the nick keeps the case given in REGISTER in every line about the user",
        covers: &["REG-8", "BRD-2"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: case_kept,
    },
    Case {
        id: "SRV-REG-009",
        title: "bracketed IPv6 addresses are accepted and repeated exactly as given",
        covers: &["REG-2", "REG-1", "REG-5"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: ipv6_exact,
    },
    Case {
        id: "SRV-REG-010",
        title: "a LIST reply longer than MAX_LINE is split into LISTPART lines, then LIST",
        covers: &["REG-2"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Dedicated,
        slow: false,
        run: long_list_split,
    },
];

fn valid_register(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    register_new(ctx, &mut a, "alice")?;
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "bob")?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    a.barrier()?;
    b.barrier()?;
    Ok(())
}

fn list_order(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    let na = ctx.nick("first");
    let ua = register(ctx, &mut a, &na, "192.168.1.10:5000")?;
    let mut b = ctx.connect()?;
    let nb = ctx.nick("second");
    let ub = register(ctx, &mut b, &nb, "[fe80::1]:5001")?;
    let mut c = ctx.connect()?;
    let nc = ctx.nick("third");
    let uc = register(ctx, &mut c, &nc, "10.0.0.7:65535")?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    a.expect(&join(&uc.nick, &uc.addr))?;
    b.expect(&join(&uc.nick, &uc.addr))?;
    // The first leaves; the next LIST no longer has it, and keeps the order of the rest.
    a.send("QUIT")?;
    a.expect("BYE")?;
    a.expect_closed()?;
    super::util::forget(ctx, &ua.nick);
    b.expect(&leave(&ua.nick, &ua.addr))?;
    c.expect(&leave(&ua.nick, &ua.addr))?;
    let mut d = ctx.connect()?;
    let nd = ctx.nick("fourth");
    let ud = register(ctx, &mut d, &nd, "1.2.3.4:1")?;
    b.expect(&join(&ud.nick, &ud.addr))?;
    c.expect(&join(&ud.nick, &ud.addr))?;
    if ctx.claims(Query) {
        c.send("LIST")?;
        let entries = super::util::read_list(&mut c, None)?;
        let want = ctx.online.clone();
        check_list(ctx, &entries, &want).under("LST-1")?;
    }
    b.barrier()?;
    c.barrier()
}

fn nick_in_use(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    let nick = ctx.nick("MiXed");
    let addr = ctx.udp_addr();
    let ua = register(ctx, &mut a, &nick, &addr)?;
    let mut b = ctx.connect()?;
    let variants = [
        nick.clone(),
        nick.to_ascii_lowercase(),
        nick.to_ascii_uppercase(),
        swap_case(&nick),
    ];
    for v in &variants {
        // On a relay server the nick is also owned: the in-use check comes first ([REG-3]).
        b.send(&format!("REGISTER:{v}:127.0.0.1:6000"))?;
        b.expect_err("NICK_IN_USE")?;
        // With the owner's token too: it is held.
        if let Some(t) = &ua.token {
            b.send(&format!("REGISTER:{v}:127.0.0.1:6000:{t}"))?;
            b.expect_err("NICK_IN_USE")?;
        }
    }
    a.barrier().under("REG-7")?;
    b.barrier().under("REG-7")?;
    let ub = register_new(ctx, &mut b, "retry").under("REG-7")?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    a.barrier()
}

fn bad_nicks(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut c = ctx.connect()?;
    let p = ctx.prefix().to_owned();
    let long = format!("{p}{}", "n".repeat(33 - p.len()));
    let bad = [
        String::new(),
        long,
        format!("{p}a.b"),
        format!("{p}a b"),
        format!("{p}é"),
        format!("{p}a+b"),
        format!("{p}a!"),
        format!("{p}a@b"),
        format!("{p}a/b"),
        format!("{p}[a]"),
        format!("{p}a\tb"),
    ];
    for n in &bad {
        c.send(&format!("REGISTER:{n}:127.0.0.1:5000"))?;
        c.expect_err("BAD_NICK")?;
    }
    obs.barrier().under("REG-7")?;
    c.barrier().under("REG-7")?;
    // 32 characters is the longest valid nick.
    let max = format!("{p}{}", "M".repeat(32 - p.len()));
    let addr = ctx.udp_addr();
    let u = register(ctx, &mut c, &max, &addr).under("REG-4")?;
    obs.expect(&join(&u.nick, &u.addr))?;
    obs.barrier()
}

fn bad_addresses(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut c = ctx.connect()?;
    let nick = ctx.nick("addr");
    let bad = [
        "0.0.0.0:5000",
        "[::]:5000",
        "[0:0:0:0:0:0:0:0]:5000",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:99999",
        "127.0.0.1:05000",
        "127.0.0.1:+500",
        "127.0.0.1:50a",
        "127.0.0.1:",
        "127.0.0.1",
        "[::1]",
        "::1:5000",
        "fe80::1:5000",
        "256.1.1.1:5000",
        "1.2.3:5000",
        "01.2.3.4:5000",
        "1.2.3.4.5:5000",
        "localhost:5000",
        "[fe80::1:5000",
        "[1.2.3.4]:5000",
        "[fe80::1%eth0]:5000",
        "[::g]:5000",
    ];
    for a in bad {
        c.send(&format!("REGISTER:{nick}:{a}"))?;
        c.expect_err("BAD_ADDRESS")?;
    }
    obs.barrier().under("REG-7")?;
    c.barrier().under("REG-7")?;
    let u = register(ctx, &mut c, &nick, "[::1]:65535").under("REG-5")?;
    obs.expect(&join(&u.nick, &u.addr))?;
    obs.barrier()
}

fn already_registered(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "a")?;
    obs.expect(&join(&ua.nick, &ua.addr))?;
    a.send(&format!("REGISTER:{}:{}", ua.nick, ua.addr))?;
    a.expect_err("ALREADY_REGISTERED")?;
    let other = ctx.nick("other");
    a.send(&format!("REGISTER:{other}:127.0.0.2:7000"))?;
    a.expect_err("ALREADY_REGISTERED")?;
    // A line that does not decode is answered by its decoding error, whatever the state
    // (PROTOCOL.md §2.1 step 7).
    a.send("REGISTER:no.dots:127.0.0.2:7000")?;
    a.expect_err("BAD_NICK").under("ERR-1")?;
    a.send(&format!("REGISTER:{other}:0.0.0.0:7000"))?;
    a.expect_err("BAD_ADDRESS").under("ERR-1")?;
    obs.barrier().under("REG-7")?;
    a.barrier()?;
    // Unchanged: the old nick still broadcasts, the attempted one is nobody's.
    a.send(&bcast(&ua.nick, "same me"))?;
    a.expect(&bcast(&ua.nick, "same me"))?;
    obs.expect(&bcast(&ua.nick, "same me"))?;
    a.send(&bcast(&other, "not me"))?;
    a.expect_err("NOT_YOUR_NICK")?;
    let mut b = ctx.connect()?;
    let ub = register(ctx, &mut b, &other, "127.0.0.2:7000")?;
    obs.expect(&join(&ub.nick, &ub.addr))?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    obs.barrier()
}

fn refused_no_trace(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    let o = register_new(ctx, &mut obs, "obs")?;
    let mut c = ctx.connect()?;
    let nick = ctx.nick("retry");
    c.send(&format!("REGISTER:{nick}.bad:127.0.0.1:5000"))?;
    c.expect_err("BAD_NICK")?;
    c.send(&format!("REGISTER:{nick}:0.0.0.0:5000"))?;
    c.expect_err("BAD_ADDRESS")?;
    c.send(&format!("REGISTER:{}:127.0.0.1:5000", o.nick))?;
    c.expect_err("NICK_IN_USE")?;
    c.send(&format!("REGISTER:{nick}"))?;
    c.expect_err("MALFORMED")?;
    // The connection is still unregistered.
    c.send(&bcast(&nick, "not yet"))?;
    c.expect_err("NOT_REGISTERED")?;
    let addr = ctx.udp_addr();
    let u = register(ctx, &mut c, &nick, &addr)?;
    // The observer's next line is the JOIN: nothing came of the refusals.
    obs.expect(&join(&u.nick, &u.addr))?;
    // A connection refused and closed leaves no trace either.
    let mut d = ctx.connect()?;
    d.send(&format!("REGISTER:{}:127.0.0.1:5000", u.nick))?;
    d.expect_err("NICK_IN_USE")?;
    d.close();
    let mut e = ctx.connect()?;
    e.send("REGISTER::127.0.0.1:5000")?;
    e.expect_err("BAD_NICK")?;
    e.send("QUIT")?;
    e.expect("BYE")?;
    e.expect_closed()?;
    // E's close was seen (the server closed it). D's abrupt close is seen whenever the
    // server gets to it: a wrong UPDATE for it is caught if it comes before the barrier.
    obs.barrier().under("LEA-2")?;
    c.barrier()
}

fn case_kept(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut c = ctx.connect()?;
    let nick = ctx.nick("MiXeD-CaSe");
    let addr = ctx.udp_addr();
    let u = register(ctx, &mut c, &nick, &addr)?;
    obs.expect(&join(&nick, &addr))?;
    c.send(&bcast(&nick, "case"))?;
    c.expect(&bcast(&nick, "case"))?;
    obs.expect(&bcast(&nick, "case"))?;
    // Byte for byte: the nick in another case is not the sender's.
    c.send(&bcast(&nick.to_ascii_lowercase(), "lower"))?;
    c.expect_err("NOT_YOUR_NICK").under("BRD-2")?;
    if ctx.claims(Query) {
        obs.send(&format!("QUERY:{}", nick.to_ascii_uppercase()))?;
        obs.expect(&format!("USER:{nick}:{addr}")).under("LST-2")?;
    }
    c.send("QUIT")?;
    c.expect("BYE")?;
    c.expect_closed()?;
    obs.expect(&leave(&u.nick, &u.addr))?;
    obs.barrier()
}

fn ipv6_exact(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut conns = Vec::new();
    for (i, addr) in [
        "[FE80::A:1]:5001",
        "[2001:db8::42]:65535",
        "[::1]:1",
        "[::ffff:10.0.0.1]:7",
        "[2001:0db8:0000:0000:0000:0000:0000:0001]:9",
    ]
    .iter()
    .enumerate()
    {
        let mut c = ctx.connect()?;
        let nick = ctx.nick(&format!("v6n{i}"));
        register(ctx, &mut c, &nick, addr)?;
        obs.expect(&join(&nick, addr)).under("REG-1")?;
        conns.push(c);
    }
    obs.barrier()
}

fn long_list_split(ctx: &mut Ctx<'_>) -> CaseResult {
    // 45 users with 32-character nicks: their LIST entries take well over 2048 octets.
    // (A server of its own: a server that does not split would disturb other cases.)
    ctx.updates_not_judged = true;
    let mut conns = Vec::new();
    for i in 0..45 {
        let mut c = ctx.connect()?;
        c.set_quiet(i < 44);
        let p = ctx.prefix().to_owned();
        let nick = format!(
            "{p}{}",
            format!("long{i:02}{}", "x".repeat(32))
                .get(..32 - p.len())
                .unwrap_or("x")
        );
        let addr = format!("[2001:db8::{i:x}]:{}", 40000 + i);
        register(ctx, &mut c, &nick, &addr)?;
        conns.push(c);
    }
    let last = conns
        .last_mut()
        .ok_or_else(|| crate::outcome::Failure::violation("no connection"))?;
    last.barrier()
}
