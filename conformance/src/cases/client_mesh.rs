//! Client cases of the serverless profile (§16): the client launched with `{peer}` (the
//! suite's listener, a bootstrap peer) and `{port}` (where it listens).

use super::cutil::{Mesh, exactly_one, expect_session, parse_msg, tf};
use crate::case::{Case, Ctx, Needs};
use crate::outcome::{CaseResult, Failure, Under, fail};
use crate::profile::Profile::Serverless;
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

pub static CASES: &[Case] = &[
    case!(
        "CLI-MESH-001",
        "at start: listen on {port}, connect to the bootstrap peer {peer}, HELLO:<nick> first",
        ["MESH-3", "MESH-1", "AUT-1"],
        [Serverless],
        bootstrap
    ),
    case!(
        "CLI-MESH-002",
        "a peer that connects and says HELLO:<nick> is answered HELLO:<own nick>",
        ["MESH-1", "AUT-1"],
        [Serverless],
        accept_hello
    ),
    case!(
        "CLI-MESH-003",
        "broadcast goes on every open session; a received BROADCAST is shown, not forwarded",
        ["MESH-2", "AUT-1"],
        [Serverless],
        mesh_broadcast
    ),
    case!(
        "CLI-MESH-004",
        "a peer whose session ended (QUIT or close) is no longer among the peers",
        ["MESH-4", "AUT-1"],
        [Serverless],
        peer_removed
    ),
    case!(
        "CLI-MESH-005",
        "chat to an absent peer: queued in the outbox, kept across a restart, sent when it connects",
        ["MESH-5"],
        [Serverless],
        outbox
    ),
    case!(
        "CLI-MESH-006",
        "a session whose HELLO names a blocked nick is closed without a reply",
        ["MESH-6"],
        [Serverless],
        blocked_hello
    ),
];

fn bootstrap(ctx: &mut Ctx<'_>) -> CaseResult {
    let boot = ctx.nick("boot");
    let mut m = Mesh::launch(ctx, "me")?;
    m.expect_ready()?;
    let mut b = m.accept_boot(ctx, &boot)?;
    b.barrier().under("PEER-4")?;
    // It listens on {port}.
    let carol = ctx.nick("carol");
    let _c = m.connect_as(ctx, &carol)?;
    Ok(())
}

fn accept_hello(ctx: &mut Ctx<'_>) -> CaseResult {
    let boot = ctx.nick("boot");
    let mut m = Mesh::launch(ctx, "me")?;
    let _b = m.accept_boot(ctx, &boot)?;
    let carol = ctx.nick("carol");
    let mut c = m.connect_as(ctx, &carol)?;
    c.barrier()?;
    m.run.cmd("peers")?;
    let e = m
        .run
        .expect("peers", "a peers event naming boot and carol", |_| true)
        .under("AUT-1")?;
    let nicks: Vec<String> = e
        .value
        .get("peers")
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("nick").and_then(|n| n.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut sorted = nicks.clone();
    sorted.sort();
    let mut want = vec![boot, carol];
    want.sort();
    if sorted != want {
        return Err(
            Failure::violation("the peers event does not name the open sessions")
                .req("AUT-1")
                .expected(format!("{want:?}"))
                .got(e.raw),
        );
    }
    Ok(())
}

fn mesh_broadcast(ctx: &mut Ctx<'_>) -> CaseResult {
    let boot = ctx.nick("boot");
    let carol = ctx.nick("carol");
    let mut m = Mesh::launch(ctx, "me")?;
    let mut b = m.accept_boot(ctx, &boot)?;
    let mut c = m.connect_as(ctx, &carol)?;
    let text = "hello all: ☃";
    m.run.cmd(&format!("broadcast {text}"))?;
    let want = format!("BROADCAST:{}:{}", m.nick, tf(text));
    b.expect(&want).under("MESH-2")?;
    c.expect(&want).under("MESH-2")?;
    let nick = m.nick.clone();
    m.run
        .expect("broadcast", "the client's own broadcast event", |e| {
            e.str("from") == nick && e.str("text") == text
        })
        .under("AUT-1")?;
    ctx.note("carol broadcasts: shown, and never forwarded to boot");
    c.send(&format!("BROADCAST:{carol}:{}", tf("from carol")))?;
    c.barrier()?;
    b.barrier().under("MESH-2")?;
    let ev = m.run.sync()?;
    exactly_one(&ev, "broadcast", "carol's broadcast", |e| {
        e.str("from") == carol && e.str("text") == "from carol"
    })
    .under("MESH-2")
}

fn peers_named(m: &mut Mesh) -> Result<Vec<String>, Failure> {
    m.run.cmd("peers")?;
    let e = m
        .run
        .expect("peers", "a peers event", |_| true)
        .under("AUT-1")?;
    Ok(e.value
        .get("peers")
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("nick").and_then(|n| n.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

fn peer_removed(ctx: &mut Ctx<'_>) -> CaseResult {
    let boot = ctx.nick("boot");
    let carol = ctx.nick("carol");
    let dave = ctx.nick("dave");
    let mut m = Mesh::launch(ctx, "me")?;
    let _b = m.accept_boot(ctx, &boot)?;
    let mut c = m.connect_as(ctx, &carol)?;
    let d = m.connect_as(ctx, &dave)?;
    ctx.note("carol says QUIT; dave's connection just closes");
    c.send("QUIT")?;
    c.expect_closed().under("PEER-5")?;
    d.close();
    expect_session(&mut m.run, &carol, "closed").under("MESH-4")?;
    expect_session(&mut m.run, &dave, "closed").under("MESH-4")?;
    let names = peers_named(&mut m)?;
    if names != [boot.clone()] {
        return fail(
            "MESH-4",
            format!(
                "after carol's and dave's sessions ended, peers names {names:?} (expected only {boot})"
            ),
        );
    }
    Ok(())
}

fn outbox(ctx: &mut Ctx<'_>) -> CaseResult {
    let boot = ctx.nick("boot");
    let dave = ctx.nick("dave");
    let mut m = Mesh::launch(ctx, "me")?;
    let _b = m.accept_boot(ctx, &boot)?;
    let text = "while you were away";
    m.run.cmd(&format!("chat {dave} {text}"))?;
    m.run
        .expect("sent", "{\"event\":\"sent\",\"via\":\"queued\",...}", |e| {
            e.str("to") == dave && e.str("via") == "queued"
        })
        .under("MESH-5")?;
    m.run.cmd("quit")?;
    let d = m.run.timeout() * 3;
    if m.run.wait_exit(d) != Some(0) {
        return fail(
            "AUT-4",
            "after `quit` the client did not exit with status 0".to_owned(),
        );
    }
    ctx.note("the client runs again with the same {datadir}; then dave connects");
    m.relaunch(ctx)?;
    let _b2 = m.accept_boot(ctx, &boot)?;
    let mut s = m.connect_as(ctx, &dave).under("MESH-5")?;
    let l = s.line("the queued MSG").under("MESH-5")?;
    let (id, _) = parse_msg(&l.text, &m.nick, text)
        .map_err(|why| Failure::violation(why).req("MESH-5").got(l.text.clone()))?;
    s.send(&format!("ACK:{id}"))?;
    s.barrier()?;
    Ok(())
}

fn blocked_hello(ctx: &mut Ctx<'_>) -> CaseResult {
    let boot = ctx.nick("boot");
    let eve = ctx.nick("Eve");
    let mut m = Mesh::launch(ctx, "me")?;
    let _b = m.accept_boot(ctx, &boot)?;
    m.run.cmd(&format!("block {eve}"))?;
    m.run
        .expect("blocked", "the local blocked event", |e| {
            e.str("nick").eq_ignore_ascii_case(&eve)
        })
        .under("AUT-1")?;
    m.sessions += 1;
    let mut s =
        crate::client::link::Link::connect(m.addr(), m.sessions, ctx.tr.clone(), ctx.timeout())?;
    s.send(&format!("HELLO:{}", eve.to_lowercase()))?;
    s.expect_closed().under("MESH-6")?;
    let ev = m.run.sync()?;
    if ev
        .iter()
        .any(|e| e.kind == "session" && e.str("state") == "open")
    {
        return fail(
            "MESH-6",
            "a session with a blocked nick was reported open".to_owned(),
        );
    }
    Ok(())
}
