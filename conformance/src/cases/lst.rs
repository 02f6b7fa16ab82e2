//! Listing and query (PROTOCOL.md §9, profile query).

use super::util::{check_list, join, leave, quit, register, register_new};
use crate::case::{Case, Ctx, Needs};
use crate::outcome::{CaseResult, Under};
use crate::profile::Profile::Query;
use crate::requirements::Role::Server;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-LST-001",
        title: "LIST on request names every registered user in order",
        covers: &["LST-1", "REG-2", "GEN-2"],
        profiles: &[Query],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: list_request,
    },
    Case {
        id: "SRV-LST-002",
        title: "QUERY, in any case, answers USER with the nick and address as registered",
        covers: &["LST-2"],
        profiles: &[Query],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: query_found,
    },
    Case {
        id: "SRV-LST-003",
        title: "QUERY for a nick that is not registered is NO_SUCH_NICK",
        covers: &["LST-3", "ERR-1"],
        profiles: &[Query],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: query_missing,
    },
];

fn list_request(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut pre = ctx.connect()?;
    pre.send("LIST")?;
    pre.expect_err("NOT_REGISTERED").under("GEN-2")?;
    let mut a = ctx.connect()?;
    register_new(ctx, &mut a, "a")?;
    let mut b = ctx.connect()?;
    let nb = ctx.nick("b");
    let ub = register(ctx, &mut b, &nb, "[2001:db8::7]:4242")?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    a.send("LIST")?;
    let entries = super::util::read_list(&mut a, None)?;
    let want = ctx.online.clone();
    check_list(ctx, &entries, &want)?;
    quit(ctx, b, Some(&ub.nick))?;
    a.expect(&leave(&ub.nick, &ub.addr))?;
    a.send("LIST")?;
    let entries = super::util::read_list(&mut a, None)?;
    let want = ctx.online.clone();
    check_list(ctx, &entries, &want)?;
    a.send("LIST:extra")?;
    a.expect_err("MALFORMED").under("ERR-1")?;
    a.barrier()
}

fn query_found(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    register_new(ctx, &mut a, "a")?;
    let mut b = ctx.connect()?;
    let nick = ctx.nick("MiXed");
    let ub = register(ctx, &mut b, &nick, "[FE80::1]:5001")?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    for q in [
        nick.clone(),
        nick.to_ascii_lowercase(),
        nick.to_ascii_uppercase(),
    ] {
        a.send(&format!("QUERY:{q}"))?;
        a.expect(&format!("USER:{nick}:[FE80::1]:5001"))?;
    }
    // Oneself too.
    b.send(&format!("QUERY:{nick}"))?;
    b.expect(&format!("USER:{nick}:[FE80::1]:5001"))?;
    a.barrier()
}

fn query_missing(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    register_new(ctx, &mut a, "a")?;
    a.send(&format!("QUERY:{}", ctx.nick("nobody")))?;
    a.expect_err("NO_SUCH_NICK")?;
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "gone")?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    quit(ctx, b, Some(&ub.nick))?;
    a.expect(&leave(&ub.nick, &ub.addr))?;
    a.send(&format!("QUERY:{}", ub.nick))?;
    a.expect_err("NO_SUCH_NICK")?;
    a.send("QUERY:a.b")?;
    a.expect_err("BAD_NICK").under("ERR-1")?;
    a.send("QUERY")?;
    a.expect_err("MALFORMED").under("ERR-1")?;
    a.send(&format!("QUERY:{}:x", ub.nick))?;
    a.expect_err("MALFORMED").under("ERR-1")?;
    a.barrier()
}
