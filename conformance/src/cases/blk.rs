//! Blocking (PROTOCOL.md §12, profile block).

use super::util::{
    Tok, User, bcast, expect_registered, parse_msg, parse_sent, quit, register_new, reregister,
    send, token_of,
};
use crate::case::{Case, Ctx, Needs};
use crate::conn::Conn;
use crate::outcome::{CaseResult, Failure, Under, fail};
use crate::profile::Profile::{Block, Direct, Relay};
use crate::requirements::Role::Server;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-BLK-001",
        title: "BLOCK is answered BLOCKED with the nick as given; twice, or unknown, is fine",
        covers: &["BLK-1", "ERR-1"],
        profiles: &[Block],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: block_reply,
    },
    Case {
        id: "SRV-BLK-002",
        title: "BLOCK naming oneself is BAD_TARGET",
        covers: &["BLK-2"],
        profiles: &[Block],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: block_self,
    },
    Case {
        id: "SRV-BLK-003",
        title: "UNBLOCK is answered UNBLOCKED whether or not the nick was blocked",
        covers: &["BLK-3"],
        profiles: &[Block],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: unblock_reply,
    },
    Case {
        id: "SRV-BLK-004",
        title: "BLOCKS lists the blocked nicks in blocking order, as given",
        covers: &["BLK-4"],
        profiles: &[Block],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: blocks_list,
    },
    Case {
        id: "SRV-BLK-005",
        title: "a blocked user's broadcasts do not reach the blocker; the sender still gets its echo",
        covers: &["BLK-5"],
        profiles: &[Block],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: blocked_broadcast,
    },
    Case {
        id: "SRV-BLK-006",
        title: "SEND to a user who blocks the sender: dropped, answered as if accepted",
        covers: &["BLK-6"],
        profiles: &[Block, Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: blocked_send,
    },
    Case {
        id: "SRV-BLK-007",
        title: "TICKET for a user who blocks the requester: answered, no INVITE sent",
        covers: &["BLK-7"],
        profiles: &[Block, Direct],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: blocked_ticket,
    },
    Case {
        id: "SRV-BLK-008",
        title: "blocks outlive the connection",
        covers: &["BLK-8"],
        profiles: &[Block, Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: blocks_persist,
    },
    Case {
        id: "SRV-BLK-009",
        title: "blocks outlive a restart of the server",
        covers: &["BLK-8", "OWN-4"],
        profiles: &[Block, Relay],
        role: Server,
        needs: Needs::Restart,
        slow: false,
        run: blocks_survive_restart,
    },
    Case {
        id: "SRV-BLK-010",
        title: "a BLOCKS reply longer than MAX_LINE is split into BLOCKSPART lines, then BLOCKS",
        covers: &["BLK-4"],
        profiles: &[Block],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: blocks_split,
    },
    Case {
        id: "SRV-BLK-011",
        title: "SEND from a blocked sender to a full mailbox is MAILBOX_FULL, as for anyone",
        covers: &["BLK-6", "RLY-7"],
        profiles: &[Block, Relay],
        role: Server,
        needs: Needs::Dedicated,
        slow: false,
        run: blocked_sender_full_mailbox,
    },
    Case {
        id: "SRV-BLK-012",
        title: "a user keeps at least 100 blocks; a new one beyond the quota is BLOCKS_FULL and \
                changes nothing",
        covers: &["BLK-9"],
        profiles: &[Block, Relay],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: block_quota,
    },
];

/// Registers a fresh owned user (a token is required: block depends on relay).
fn owned(ctx: &mut Ctx<'_>, c: &mut Conn, role: &str) -> Result<User, Failure> {
    let nick = ctx.nick(role);
    let addr = ctx.udp_addr();
    c.send(&format!("REGISTER:{nick}:{addr}"))?;
    let u = expect_registered(ctx, c, &nick, &addr, Tok::Required)?;
    token_of(&u)?;
    Ok(u)
}

fn block(c: &mut Conn, nick: &str) -> Result<(), Failure> {
    c.send(&format!("BLOCK:{nick}"))?;
    c.expect(&format!("BLOCKED:{nick}")).under("BLK-1")
}

fn block_reply(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    register_new(ctx, &mut a, "a")?;
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "b")?;
    let variant = super::util::swap_case(&ub.nick);
    block(&mut a, &variant)?;
    block(&mut a, &variant)?;
    block(&mut a, &ctx.nick("never-seen"))?;
    a.send("BLOCK:no.dots")?;
    a.expect_err("BAD_NICK").under("ERR-1")?;
    a.send("BLOCK")?;
    a.expect_err("MALFORMED").under("ERR-1")?;
    a.barrier()
}

fn block_self(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "self")?;
    a.send(&format!("BLOCK:{}", ua.nick))?;
    a.expect_err("BAD_TARGET")?;
    a.send(&format!("BLOCK:{}", ua.nick.to_ascii_uppercase()))?;
    a.expect_err("BAD_TARGET")?;
    a.barrier()
}

fn unblock_reply(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    register_new(ctx, &mut a, "a")?;
    let x = ctx.nick("x");
    a.send(&format!("UNBLOCK:{x}"))?;
    a.expect(&format!("UNBLOCKED:{x}"))?;
    block(&mut a, &x)?;
    a.send(&format!("UNBLOCK:{x}"))?;
    a.expect(&format!("UNBLOCKED:{x}"))?;
    a.send(&format!("UNBLOCK:{x}"))?;
    a.expect(&format!("UNBLOCKED:{x}"))?;
    // The nick is compared without case.
    block(&mut a, &x)?;
    let other_case = x.to_ascii_uppercase();
    a.send(&format!("UNBLOCK:{other_case}"))?;
    a.expect(&format!("UNBLOCKED:{other_case}"))?;
    a.send("BLOCKS")?;
    a.expect("BLOCKS").under("BLK-4")?;
    a.barrier()
}

fn blocks_list(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    register_new(ctx, &mut a, "a")?;
    a.send("BLOCKS")?;
    a.expect("BLOCKS")?;
    let (x, y, z) = (ctx.nick("Xx"), ctx.nick("yY"), ctx.nick("zz"));
    for n in [&x, &y, &z] {
        block(&mut a, n)?;
    }
    a.send("BLOCKS")?;
    a.expect(&format!("BLOCKS:{x}:{y}:{z}"))?;
    a.send(&format!("UNBLOCK:{y}"))?;
    a.expect(&format!("UNBLOCKED:{y}")).under("BLK-3")?;
    a.send("BLOCKS")?;
    a.expect(&format!("BLOCKS:{x}:{z}"))?;
    block(&mut a, &y)?;
    a.send("BLOCKS")?;
    a.expect(&format!("BLOCKS:{x}:{z}:{y}"))?;
    // Blocked again in another case: keeps its place and its first form.
    let x2 = super::util::swap_case(&x);
    block(&mut a, &x2)?;
    a.send("BLOCKS")?;
    a.expect(&format!("BLOCKS:{x}:{z}:{y}"))?;
    a.send("BLOCKS:x")?;
    a.expect_err("MALFORMED").under("ERR-1")?;
    a.barrier()
}

fn blocked_broadcast(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "alice")?;
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "bob")?;
    let mut c = ctx.connect()?;
    register_new(ctx, &mut c, "carol")?;
    // Bob blocks alice (in another case of her nick).
    block(&mut b, &ua.nick.to_ascii_uppercase())?;
    let l = bcast(&ua.nick, "hey");
    a.send(&l)?;
    a.expect(&l)?;
    c.expect(&l)?;
    b.barrier()?;
    // One way only: bob's broadcasts still reach alice.
    let lb = bcast(&ub.nick, "from bob");
    b.send(&lb)?;
    b.expect(&lb)?;
    a.expect(&lb)?;
    c.expect(&lb)?;
    // Unblocked: relayed again.
    b.send(&format!("UNBLOCK:{}", ua.nick))?;
    b.expect(&format!("UNBLOCKED:{}", ua.nick)).under("BLK-3")?;
    let l2 = bcast(&ua.nick, "again");
    a.send(&l2)?;
    a.expect(&l2)?;
    b.expect(&l2)?;
    c.expect(&l2)?;
    a.barrier()?;
    b.barrier()
}

fn blocked_send(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = owned(ctx, &mut a, "alice")?;
    let mut b = ctx.connect()?;
    let ub = owned(ctx, &mut b, "bob")?;
    let mut c = ctx.connect()?;
    let nc = owned(ctx, &mut c, "carol")?.nick;
    block(&mut b, &ua.nick)?;
    // Live: SENT:<id>:LIVE, exactly as to carol who does not block; bob gets nothing.
    let mut ids = Vec::new();
    for (to, deliver) in [(&nc, true), (&ub.nick, false), (&nc, true)] {
        a.send(&send(to, "psst"))?;
        let id = a
            .expect_with("SENT:<id>:LIVE", |l| parse_sent(l, "LIVE"))
            .under("BLK-6")?;
        ids.push(id);
        if deliver {
            c.expect_with("MSG", |l| parse_msg(l, &ua.nick, "psst"))?;
        }
    }
    if !(ids[0] < ids[1] && ids[1] < ids[2]) {
        return fail(
            "BLK-6",
            format!("ids {ids:?}: the dropped message did not get a normal id"),
        );
    }
    b.barrier()?;
    // Queued: SENT:<id>:QUEUED; never delivered, not even after UNBLOCK.
    quit(ctx, b, Some(&ub.nick))?;
    a.send(&send(&ub.nick, "later"))?;
    a.expect_with("SENT:<id>:QUEUED", |l| parse_sent(l, "QUEUED"))?;
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ub)?;
    b.barrier()?;
    b.send(&format!("UNBLOCK:{}", ua.nick))?;
    b.expect(&format!("UNBLOCKED:{}", ua.nick))?;
    quit(ctx, b, Some(&ub.nick))?;
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ub)?;
    b.barrier()?;
    // Unblocked now: a new message gets through.
    a.send(&send(&ub.nick, "now"))?;
    a.expect_with("SENT:<id>:LIVE", |l| parse_sent(l, "LIVE"))?;
    b.expect_with("MSG", |l| parse_msg(l, &ua.nick, "now"))?;
    b.barrier()
}

fn blocked_ticket(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "alice")?;
    let mut b = ctx.connect()?;
    let ub = register_new(ctx, &mut b, "bob")?;
    block(&mut b, &ua.nick)?;
    a.send(&format!("TICKET:{}", ub.nick))?;
    let prefix = format!("TICKET:{}:{}:", ub.nick, ub.addr);
    a.expect_with(&format!("{prefix}<ticket>"), |l| {
        match l.strip_prefix(&prefix) {
            Some(t) if crate::wire::is_hex32(t) => Ok(()),
            _ => Err("expected the TICKET reply".into()),
        }
    })?;
    b.barrier()?;
    a.barrier()
}

fn blocks_persist(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = owned(ctx, &mut a, "alice")?;
    let mut b = ctx.connect()?;
    let ub = owned(ctx, &mut b, "bob")?;
    block(&mut b, &ua.nick)?;
    quit(ctx, b, Some(&ub.nick))?;
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ub)?;
    b.send("BLOCKS")?;
    b.expect(&format!("BLOCKS:{}", ua.nick))?;
    let l = bcast(&ua.nick, "still blocked?");
    a.send(&l)?;
    a.expect(&l)?;
    b.barrier().under("BLK-5")
}

fn blocks_survive_restart(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = owned(ctx, &mut a, "alice")?;
    let mut b = ctx.connect()?;
    let ub = owned(ctx, &mut b, "bob")?;
    block(&mut b, &ua.nick)?;
    drop(a);
    drop(b);
    ctx.restart()?;
    let mut b = ctx.connect()?;
    reregister(ctx, &mut b, &ub)?;
    b.send("BLOCKS")?;
    b.expect(&format!("BLOCKS:{}", ua.nick))?;
    let mut a = ctx.connect()?;
    reregister(ctx, &mut a, &ua)?;
    let l = bcast(&ua.nick, "after restart");
    a.send(&l)?;
    a.expect(&l)?;
    a.send(&send(&ub.nick, "after restart"))?;
    a.expect_with("SENT:<id>:LIVE", |l| parse_sent(l, "LIVE"))?;
    b.barrier().under("BLK-8")
}

fn blocks_split(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    register_new(ctx, &mut a, "a")?;
    // 70 nicks of 32 characters: 70 × 33 octets do not fit one line of 2048.
    let nicks: Vec<String> = (0..70)
        .map(|i| ctx.nick(&format!("b{i:02}{}", "x".repeat(32))))
        .collect();
    let lines: Vec<String> = nicks.iter().map(|n| format!("BLOCK:{n}")).collect();
    a.set_quiet(true);
    a.send_batch(&lines)?;
    for n in &nicks {
        a.expect(&format!("BLOCKED:{n}")).under("BLK-1")?;
    }
    a.set_quiet(false);
    let (got, parts) = blocks_reply(&mut a)?;
    ctx.note(format!("{parts} BLOCKSPART lines, then BLOCKS"));
    if got != nicks {
        return Err(Failure::violation(
            "the BLOCKSPART... BLOCKS reply does not name every blocked nick once, in the order \
             blocked",
        )
        .req("BLK-4")
        .expected(format!("{} nicks, {}...", nicks.len(), nicks[0]))
        .got(format!("{} nicks", got.len())));
    }
    a.barrier()
}

/// Sends `BLOCKS` and reads the whole reply ([BLK-4]: `BLOCKSPART` lines, then
/// `BLOCKS`): the nicks in order, and how many `BLOCKSPART` lines came.
fn blocks_reply(a: &mut Conn) -> Result<(Vec<String>, usize), Failure> {
    a.send("BLOCKS")?;
    let mut got: Vec<String> = Vec::new();
    let mut parts = 0;
    loop {
        let l = a.line("BLOCKSPART:<nicks> or BLOCKS:<nicks>")?;
        if l.raw.len() > 2048 {
            return fail(
                "BLK-4",
                format!(
                    "a line of the BLOCKS reply has {} octets (MAX_LINE is 2048): a reply that \
                     does not fit is split into BLOCKSPART lines",
                    l.raw.len()
                ),
            );
        }
        let (last, rest) = if let Some(r) = l.text.strip_prefix("BLOCKSPART:") {
            (false, r)
        } else if l.text == "BLOCKS" {
            (true, "")
        } else if let Some(r) = l.text.strip_prefix("BLOCKS:") {
            (true, r)
        } else {
            return Err(Failure::violation("not a line of a BLOCKS reply")
                .req("BLK-4")
                .expected("BLOCKSPART:<nick>... or BLOCKS[:<nick>...]")
                .got(l.text));
        };
        if !rest.is_empty() {
            for n in rest.split(':') {
                if !crate::wire::is_nick(n) {
                    return fail("BLK-4", format!("{n:?} in the BLOCKS reply breaks `nick`"));
                }
                got.push(n.to_owned());
            }
        } else if !last {
            return fail("BLK-4", "an empty BLOCKSPART line".to_owned());
        }
        if last {
            break;
        }
        parts += 1;
    }
    Ok((got, parts))
}

/// Most blocks the case asks one user for before it gives up finding the
/// quota (NOT_RUN).
const BLOCK_PROBE_MAX: usize = 3000;
/// `MIN_BLOCKS` ([BLK-9]).
const MIN_BLOCKS: usize = 100;

/// [BLK-9]: blocks new nicks, 150 per connection (within any burst limit; the
/// blocks belong to the owned nick, so each connection registers it again),
/// until the server answers `BLOCKS_FULL`; then checks that nothing was
/// recorded, that a nick already blocked is still `BLOCKED`, and that an
/// `UNBLOCK` makes room.
fn block_quota(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    let mut a = ctx.connect()?;
    let ua = owned(ctx, &mut a, "quota")?;
    let mut held: Vec<String> = Vec::new();
    let mut refused: Option<String> = None;
    while refused.is_none() && held.len() < BLOCK_PROBE_MAX {
        let batch: Vec<String> = (held.len()..held.len() + 150)
            .map(|i| ctx.nick(&format!("q{i}")))
            .collect();
        let lines: Vec<String> = batch.iter().map(|n| format!("BLOCK:{n}")).collect();
        a.set_quiet(true);
        a.send_batch(&lines)?;
        for n in &batch {
            let l = a.line("BLOCKED:<nick> or ERR:BLOCKS_FULL")?;
            if l.text == format!("BLOCKED:{n}") && refused.is_none() {
                held.push(n.clone());
            } else if crate::wire::parse_err(&l.text).is_ok_and(|e| e.code == "BLOCKS_FULL") {
                if held.len() < MIN_BLOCKS {
                    return fail(
                        "BLK-9",
                        format!(
                            "BLOCKS_FULL after {} blocks: a server keeps at least MIN_BLOCKS \
                             (100)",
                            held.len()
                        ),
                    );
                }
                refused.get_or_insert_with(|| n.clone());
            } else {
                return Err(Failure::violation("unexpected reply to BLOCK")
                    .req("BLK-9")
                    .expected(if refused.is_some() {
                        "ERR:BLOCKS_FULL:<len>:<text> (the quota was reached, nothing unblocked)"
                            .to_owned()
                    } else {
                        format!("BLOCKED:{n} or ERR:BLOCKS_FULL:<len>:<text>")
                    })
                    .got(l.text));
            }
        }
        a.set_quiet(false);
        if refused.is_none() {
            quit(ctx, a, Some(&ua.nick))?;
            a = ctx.connect()?;
            reregister(ctx, &mut a, &ua)?;
        }
    }
    let Some(refused) = refused else {
        return Err(Failure::not_run(format!(
            "{} blocks were kept for one user without BLOCKS_FULL: the quota is above what the \
             case asks for",
            held.len()
        )));
    };
    ctx.note(format!("the quota is {} blocks", held.len()));
    let (listed, _) = blocks_reply(&mut a)?;
    if listed != held {
        return Err(Failure::violation(
            "after BLOCKS_FULL, BLOCKS does not list exactly the blocks that were answered BLOCKED",
        )
        .req("BLK-9")
        .expected(format!(
            "{} nicks, the last {}",
            held.len(),
            held[held.len() - 1]
        ))
        .got(format!("{} nicks", listed.len())));
    }
    // A nick already blocked, in another case: not a new block.
    let again = super::util::swap_case(&held[0]);
    a.send(&format!("BLOCK:{again}"))?;
    a.expect(&format!("BLOCKED:{again}")).under("BLK-9")?;
    // An UNBLOCK makes room.
    a.send(&format!("UNBLOCK:{}", held[0]))?;
    a.expect(&format!("UNBLOCKED:{}", held[0])).under("BLK-3")?;
    block(&mut a, &refused).under("BLK-9")?;
    a.barrier()
}

/// Most messages the case sends to fill a mailbox before it gives up (NOT_RUN).
const FILL_MAX: usize = 3000;

fn blocked_sender_full_mailbox(ctx: &mut Ctx<'_>) -> CaseResult {
    ctx.updates_not_judged = true;
    // The recipient blocks the sender, then goes away.
    let mut r = ctx.connect()?;
    let ur = owned(ctx, &mut r, "full")?;
    let mut s = ctx.connect()?;
    let us = owned(ctx, &mut s, "blocked")?;
    block(&mut r, &us.nick)?;
    quit(ctx, r, Some(&ur.nick))?;
    // Another sender fills the mailbox, 150 lines per connection (within any burst limit).
    let mut sent = 0;
    let mut full = false;
    let mut n = 0;
    while !full && sent < FILL_MAX {
        n += 1;
        let mut f = ctx.connect()?;
        let uf = register_new(ctx, &mut f, &format!("f{n}"))?;
        let batch: Vec<String> = (0..150)
            .map(|i| send(&ur.nick, &format!("m{n}x{i}")))
            .collect();
        f.set_quiet(true);
        f.send_batch(&batch)?;
        for _ in 0..batch.len() {
            let l = f.line("SENT:<id>:QUEUED or ERR:MAILBOX_FULL")?;
            if parse_sent(&l.text, "QUEUED").is_ok() {
                if full {
                    return fail("RLY-7", format!("{} after MAILBOX_FULL", l.text));
                }
                sent += 1;
            } else if crate::wire::parse_err(&l.text).is_ok_and(|e| e.code == "MAILBOX_FULL") {
                full = true;
            } else {
                return Err(Failure::violation("unexpected reply to SEND")
                    .req("RLY-7")
                    .expected("SENT:<id>:QUEUED or ERR:MAILBOX_FULL:<len>:<text>")
                    .got(l.text));
            }
        }
        f.set_quiet(false);
        quit(ctx, f, Some(&uf.nick))?;
    }
    if !full {
        return Err(Failure::not_run(format!(
            "{sent} messages were accepted for one recipient without MAILBOX_FULL: the quota is \
             above what the case sends"
        )));
    }
    ctx.note(format!("the mailbox is full after {sent} messages"));
    // The blocked sender gets MAILBOX_FULL, exactly as anyone else would.
    s.send(&send(&ur.nick, "blocked and full"))?;
    s.expect_err("MAILBOX_FULL").under("BLK-6")?;
    s.barrier()
}
