//! Nick ownership (PROTOCOL.md §8, profile relay).

use super::util::{
    Tok, expect_registered, join, quit, register, register_with_token, swap_case, token_of,
};
use crate::case::{Case, Ctx, Needs};
use crate::outcome::{CaseResult, Under, fail};
use crate::profile::Profile::Relay;
use crate::requirements::Role::Server;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-OWN-001",
        title: "the first registration of a nick gets TOKEN after JOIN and before LIST",
        covers: &["OWN-1", "OWN-5"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: token_issued,
    },
    Case {
        id: "SRV-OWN-002",
        title: "an owned nick without the owner's token is NICK_OWNED, in any case",
        covers: &["OWN-2", "REG-7", "OWN-4"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: nick_owned,
    },
    Case {
        id: "SRV-OWN-003",
        title: "the owner's token registers the nick again, without a TOKEN line",
        covers: &["OWN-3", "REG-8"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: token_reregisters,
    },
    Case {
        id: "SRV-OWN-004",
        title: "ownership survives a restart of the server",
        covers: &["OWN-4"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Restart,
        slow: false,
        run: ownership_across_restart,
    },
    Case {
        id: "SRV-OWN-005",
        title: "tokens are 32 lowercase hex digits and never repeat",
        covers: &["OWN-5"],
        profiles: &[Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: tokens_unique,
    },
];

const FAKE_TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn token_issued(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    let nick = ctx.nick("tok");
    let addr = ctx.udp_addr();
    c.send(&format!("REGISTER:{nick}:{addr}"))?;
    let u = expect_registered(ctx, &mut c, &nick, &addr, Tok::Required)?;
    // A token given with the first registration is ignored: a new one is issued.
    let mut d = ctx.connect()?;
    let nick2 = ctx.nick("tok2");
    let addr2 = ctx.udp_addr();
    d.send(&format!("REGISTER:{nick2}:{addr2}:{FAKE_TOKEN}"))?;
    let u2 = expect_registered(ctx, &mut d, &nick2, &addr2, Tok::Required)?;
    c.expect(&join(&nick2, &addr2))?;
    let (t1, t2) = (token_of(&u)?, token_of(&u2)?);
    if t2 == FAKE_TOKEN {
        return fail(
            "OWN-1",
            "the server took the token given in the first REGISTER",
        );
    }
    if t1 == t2 {
        return fail("OWN-5", "two registrations got the same token");
    }
    c.barrier()?;
    d.barrier()
}

fn nick_owned(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    let nobs = ctx.nick("obs");
    let aobs = ctx.udp_addr();
    register(ctx, &mut obs, &nobs, &aobs)?;
    let mut a = ctx.connect()?;
    let nick = ctx.nick("Owned");
    let addr = ctx.udp_addr();
    a.send(&format!("REGISTER:{nick}:{addr}"))?;
    let u = expect_registered(ctx, &mut a, &nick, &addr, Tok::Required)?;
    let token = token_of(&u)?;
    obs.expect(&join(&nick, &addr))?;
    quit(ctx, a, Some(&nick))?;
    obs.expect(&super::util::leave(&nick, &addr))?;
    // The owner is gone; the nick is still owned.
    let mut b = ctx.connect()?;
    let mut wrong = token.clone().into_bytes();
    wrong[31] = if wrong[31] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8_lossy(&wrong).into_owned();
    for line in [
        format!("REGISTER:{nick}:{addr}"),
        format!("REGISTER:{nick}:{addr}:{wrong}"),
        format!("REGISTER:{}:{addr}", nick.to_ascii_uppercase()),
        format!("REGISTER:{}:{addr}", swap_case(&nick)),
        format!("REGISTER:{}:127.0.0.9:9:{wrong}", nick.to_ascii_lowercase()),
    ] {
        b.send(&line)?;
        b.expect_err("NICK_OWNED")?;
    }
    // A token that breaks the token rule is MALFORMED.
    b.send(&format!(
        "REGISTER:{nick}:{addr}:{}",
        token.to_ascii_uppercase()
    ))?;
    b.expect_err("MALFORMED").under("ERR-1")?;
    b.send(&format!("REGISTER:{nick}:{addr}:abc"))?;
    b.expect_err("MALFORMED").under("ERR-1")?;
    obs.barrier().under("REG-7")?;
    b.barrier().under("REG-7")?;
    register_with_token(ctx, &mut b, &nick, &addr, &token).under("OWN-3")?;
    obs.expect(&join(&nick, &addr))?;
    obs.barrier()
}

fn token_reregisters(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    let nick = ctx.nick("Owner");
    let addr = ctx.udp_addr();
    a.send(&format!("REGISTER:{nick}:{addr}"))?;
    let u = expect_registered(ctx, &mut a, &nick, &addr, Tok::Required)?;
    let token = token_of(&u)?;
    quit(ctx, a, Some(&nick))?;
    // The same owner, another case of the nick and another address.
    let upper = nick.to_ascii_uppercase();
    let mut b = ctx.connect()?;
    register_with_token(ctx, &mut b, &upper, "127.0.0.3:3333", &token).under("OWN-3")?;
    b.send(&super::util::bcast(&upper, "as given"))?;
    b.expect(&super::util::bcast(&upper, "as given"))
        .under("REG-8")?;
    quit(ctx, b, Some(&upper))?;
    // The token did not change.
    let mut c = ctx.connect()?;
    register_with_token(ctx, &mut c, &nick, &addr, &token).under("OWN-3")?;
    c.barrier()
}

fn ownership_across_restart(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    let nick = ctx.nick("durable");
    let addr = ctx.udp_addr();
    a.send(&format!("REGISTER:{nick}:{addr}"))?;
    let u = expect_registered(ctx, &mut a, &nick, &addr, Tok::Required)?;
    let token = token_of(&u)?;
    quit(ctx, a, Some(&nick))?;
    ctx.restart()?;
    let mut b = ctx.connect()?;
    b.send(&format!("REGISTER:{nick}:{addr}"))?;
    b.expect_err("NICK_OWNED")?;
    b.send(&format!(
        "REGISTER:{}:{addr}:{FAKE_TOKEN}",
        nick.to_ascii_uppercase()
    ))?;
    b.expect_err("NICK_OWNED")?;
    register_with_token(ctx, &mut b, &nick, &addr, &token)?;
    b.barrier()
}

fn tokens_unique(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..16 {
        let mut c = ctx.connect()?;
        let nick = ctx.nick(&format!("u{i}"));
        let addr = ctx.udp_addr();
        c.send(&format!("REGISTER:{nick}:{addr}"))?;
        let u = expect_registered(ctx, &mut c, &nick, &addr, Tok::Required)?;
        let t = token_of(&u)?;
        if !seen.insert(t.clone()) {
            return fail("OWN-5", format!("token {t} was issued twice"));
        }
        quit(ctx, c, Some(&nick))?;
    }
    Ok(())
}
