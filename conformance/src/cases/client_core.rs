//! Client cases of the core profile: framing and robustness on the server connection
//! (§18: CLI-1, CLI-2), REGISTER (CLI-3), broadcast (CLI-4), split replies (CLI-9),
//! keepalive (KA-2), and the automation interface itself (Appendix A: AUT-1..AUT-4).

use std::time::Duration;

use super::cutil::{Hyb, describe_exit, exactly_one, list_line, names_user, none_of, tf};
use crate::case::{Case, Ctx, Needs};
use crate::client::{Launch, Mode};
use crate::conn::Incoming;
use crate::outcome::{CaseResult, Failure, Under, fail};
use crate::profile::Profile::{Block, Core, Query};
use crate::requirements::Role::Client;
use crate::wire;

/// A client case (shared by the client case files).
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
        "CLI-REG-001",
        "REGISTER is the first line, with the nick, 127.0.0.1 and the UDP port {port}",
        ["CLI-3", "AUT-1"],
        [Core],
        register_first
    ),
    case!(
        "CLI-FRM-001",
        "server lines ending in a bare LF are taken like CRLF lines",
        ["CLI-1", "AUT-1"],
        [Core],
        lf_lines
    ),
    case!(
        "CLI-FRM-002",
        "unknown verbs and undecodable server lines are ignored, and the client goes on",
        ["CLI-2"],
        [Core],
        garbage_ignored
    ),
    case!(
        "CLI-BRD-001",
        "broadcast: BROADCAST:<own nick>:<len>:<text>, len in octets (multibyte, colons, 1024)",
        ["CLI-4", "AUT-1"],
        [Core],
        broadcast_format
    ),
    case!(
        "CLI-LST-001",
        "LISTPART lines then LIST at registration are one users event",
        ["CLI-9", "AUT-1"],
        [Core],
        listpart_at_register
    ),
    case!(
        "CLI-LST-002",
        "list: LIST, and a LISTPART... LIST reply is one users event; query: USER is a user event",
        ["CLI-9", "AUT-1"],
        [Query],
        list_command
    ),
    case!(
        "CLI-BLK-002",
        "blocks: BLOCKS, and a BLOCKSPART... BLOCKS reply is one blocks event",
        ["CLI-9", "AUT-1"],
        [Block],
        blockspart
    ),
    case!(
        "CLI-KA-001",
        "the server's PING is answered PONG, token byte for byte, while registering and after",
        ["KA-2"],
        [Core],
        ping_answered
    ),
    case!(
        "CLI-AUT-001",
        "join, leave, broadcast and error events carry the listed members; text unchanged",
        ["AUT-1"],
        [Core],
        events_members
    ),
    case!(
        "CLI-AUT-002",
        "sync is answered only after every earlier command is done",
        ["AUT-2"],
        [Core],
        sync_after_commands
    ),
    case!(
        "CLI-AUT-003",
        "events of server lines are written before the PONG of a later PING",
        ["AUT-2", "AUT-1"],
        [Core],
        events_before_pong
    ),
    case!(
        "CLI-AUT-004",
        "a command it does not understand gets an error event USAGE, and the client goes on",
        ["AUT-3"],
        [Core],
        usage_errors
    ),
    case!(
        "CLI-AUT-005",
        "exit status 0 after quit (QUIT, BYE) and after the end of standard input",
        ["AUT-4"],
        [Core],
        exit_zero
    ),
    case!(
        "CLI-AUT-006",
        "exit status 1 when the server cannot be reached, or the connection is lost",
        ["AUT-4"],
        [Core],
        exit_one
    ),
    case!(
        "CLI-AUT-007",
        "exit status 2 for a bad command line ({port} not a port number)",
        ["AUT-4"],
        [Core],
        exit_two
    ),
    case!(
        "CLI-AUT-008",
        "exit status 3 when the registration is refused",
        ["AUT-4"],
        [Core],
        exit_three
    ),
];

fn register_first(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = (ctx.nick("bob"), "10.0.0.7:5001".to_owned());
    let mut h = Hyb::launch(ctx, "me")?;
    h.expect_register(None)?;
    ctx.note("the REGISTER line is exact: nick, 127.0.0.1 (server on loopback, A.1), {port}");
    h.answer_register(&[bob], None)?;
    h.quiet()?;
    Ok(())
}

fn lf_lines(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let carol = ctx.nick("carol");
    let mut h = Hyb::launch(ctx, "me")?;
    h.expect_register(None)?;
    let me = h.addr();
    // The whole registration reply with bare LFs.
    let reg = format!(
        "UPDATE:JOIN:{n}:{me}\nLIST:{bob}:10.0.0.7:5001:{n}:{me}\n",
        n = h.nick
    );
    h.srv.send_raw(reg.as_bytes())?;
    h.expect_ready(&[
        (bob.clone(), "10.0.0.7:5001".into()),
        (h.nick.clone(), me.clone()),
    ])
    .under("CLI-1")?;
    // LF and CRLF lines mixed in one write.
    let mixed = format!(
        "UPDATE:JOIN:{carol}:10.0.0.8:5002\nBROADCAST:{bob}:{}\r\nBROADCAST:{carol}:{}\nPING:lf1\n",
        tf("one: LF"),
        tf("two")
    );
    h.srv.send_raw(mixed.as_bytes())?;
    h.srv.expect("PONG:lf1").under("CLI-1")?;
    let ev = h.run.sync()?;
    exactly_one(&ev, "join", &format!("a join event for {carol}"), |e| {
        names_user(&e.value, &carol, "10.0.0.8:5002")
    })
    .under("CLI-1")?;
    let bc: Vec<(&str, &str)> = ev
        .iter()
        .filter(|e| e.kind == "broadcast")
        .map(|e| (e.str("from"), e.str("text")))
        .collect();
    if bc != [(bob.as_str(), "one: LF"), (carol.as_str(), "two")] {
        return fail(
            "CLI-1",
            format!("the broadcasts of LF-ended lines were not shown as sent: {bc:?}"),
        );
    }
    Ok(())
}

fn garbage_ignored(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let mut h = Hyb::start(ctx, "me", &[(bob.clone(), "10.0.0.7:5001".into())], None)?;
    let mut raw: Vec<u8> = Vec::new();
    let mut put = |b: &[u8]| {
        raw.extend_from_slice(b);
        raw.extend_from_slice(b"\r\n");
    };
    put(b"FUTURE:VERB:from a later version");
    put(b"NEWS");
    put(b"update:join:carol:10.0.0.9:5003");
    put(b"UPDATE:JOIN:bad nick!:10.0.0.9:5003");
    put(b"UPDATE:JOIN:carol:10.0.0.9:0");
    put(format!("BROADCAST:{bob}:99:too short").as_bytes());
    put(format!("BROADCAST:{bob}:02:hi").as_bytes());
    put(&[format!("BROADCAST:{bob}:2:").as_bytes(), b"\xff\xfe"].concat());
    put(format!("BROADCAST:{bob}:3:a\0b").as_bytes());
    put(format!("BROADCAST:{bob}:5:a\rbcd").as_bytes());
    put(format!("BROADCAST:{bob}:3000:{}", "x".repeat(3000)).as_bytes());
    put(format!("MSG:0:{bob}:1763713200:2:hi").as_bytes());
    put(b"ERR:lower:2:no");
    put(b"");
    h.srv.send_raw(&raw)?;
    ctx.note("the lines above are unknown verbs, or break the grammar of their verb (§3)");
    let ok = "still here";
    h.srv.send(&format!("BROADCAST:{bob}:{}", tf(ok)))?;
    let events = h.quiet().under("CLI-2")?;
    exactly_one(
        &events,
        "broadcast",
        &format!("only the broadcast {ok:?} of {bob}"),
        |e| e.str("from") == bob && e.str("text") == ok,
    )
    .under("CLI-2")?;
    none_of(
        &events,
        &["join", "leave", "message", "users", "user"],
        "an event was written for a line the client must ignore",
    )
    .under("CLI-2")
}

fn broadcast_format(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut h = Hyb::start(ctx, "me", &[], None)?;
    let texts = [
        "héllo: wörld ☃ — ok".to_owned(),
        "a:b::c: ".to_owned() + "end",
        format!("{}x", "☃".repeat(341)),
    ];
    for t in &texts {
        h.run.cmd(&format!("broadcast {t}"))?;
        let want = format!("BROADCAST:{}:{}", h.nick, tf(t));
        h.srv.expect(&want).under("CLI-4")?;
        // The echo, as a server sends it ([BRD-1]).
        h.srv.send(&want)?;
        let nick = h.nick.clone();
        h.run
            .expect(
                "broadcast",
                &format!("{{\"event\":\"broadcast\",\"from\":\"{nick}\",\"text\":{t:?}}}"),
                |e| e.str("from") == nick && e.str("text") == t,
            )
            .under("AUT-1")?;
    }
    Ok(())
}

fn listpart_at_register(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut h = Hyb::launch(ctx, "me")?;
    h.expect_register(None)?;
    let mut others = Vec::new();
    for i in 0..9 {
        others.push((
            ctx.nick(&format!("u{i}")),
            format!("10.0.1.{}:{}", i + 1, 6000 + i),
        ));
    }
    let me = (h.nick.clone(), h.addr());
    let mut lines = vec![format!("UPDATE:JOIN:{}:{}", me.0, me.1)];
    lines.push(list_line("LISTPART", &others[0..4]));
    lines.push(list_line("LISTPART", &others[4..8]));
    let mut last = others[8..].to_vec();
    last.push(me.clone());
    lines.push(list_line("LIST", &last));
    h.srv.send_batch(&lines)?;
    let mut all = others.clone();
    all.push(me);
    h.expect_ready(&all).under("CLI-9")?;
    // And a LIST that is empty after LISTPART lines (REG-2 allows it).
    let evs = h.quiet()?;
    none_of(&evs, &["users"], "a second users event for one reply").under("CLI-9")
}

fn list_command(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut h = Hyb::start(ctx, "me", &[], None)?;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push((
            ctx.nick(&format!("u{i}")),
            format!("[fe80::{:x}]:{}", i + 1, 7000 + i),
        ));
    }
    users.push((h.nick.clone(), h.addr()));
    h.run.cmd("list")?;
    h.srv.expect("LIST").under("AUT-1")?;
    h.srv.send_batch(&[
        list_line("LISTPART", &users[0..3]),
        list_line("LISTPART", &users[3..7]),
        "LIST".to_owned(),
    ])?;
    super::cutil::expect_users(&mut h.run, &users).under("CLI-9")?;
    let evs = h.quiet()?;
    none_of(&evs, &["users"], "a second users event for one reply").under("CLI-9")?;
    // QUERY -> USER -> a user event.
    let (q, qa) = users[2].clone();
    h.run.cmd(&format!("query {q}"))?;
    h.srv.expect(&format!("QUERY:{q}")).under("AUT-1")?;
    h.srv.send(&format!("USER:{q}:{qa}"))?;
    h.run
        .expect("user", &format!("a user event for {q} at {qa}"), |e| {
            names_user(&e.value, &q, &qa)
        })
        .under("AUT-1")?;
    Ok(())
}

fn blockspart(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut h = Hyb::start(ctx, "me", &[], None)?;
    let nicks: Vec<String> = (0..5).map(|i| ctx.nick(&format!("Bl{i}"))).collect();
    h.run.cmd("blocks")?;
    h.srv.expect("BLOCKS").under("AUT-1")?;
    h.srv.send_batch(&[
        format!("BLOCKSPART:{}:{}", nicks[0], nicks[1]),
        format!("BLOCKSPART:{}", nicks[2]),
        format!("BLOCKS:{}:{}", nicks[3], nicks[4]),
    ])?;
    let e = h
        .run
        .expect(
            "blocks",
            &format!("{{\"event\":\"blocks\",\"nicks\":{nicks:?}}}"),
            |_| true,
        )
        .under("AUT-1")?;
    let got: Vec<String> = e
        .value
        .get("nicks")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or("?").to_owned())
                .collect()
        })
        .unwrap_or_default();
    if got != nicks {
        return Err(Failure::violation(
            "the blocks event does not name every nick of the BLOCKSPART... BLOCKS reply, in order",
        )
        .req("CLI-9")
        .expected(format!("\"nicks\":{nicks:?}"))
        .got(e.raw));
    }
    let evs = h.quiet()?;
    none_of(&evs, &["blocks"], "a second blocks event for one reply").under("CLI-9")
}

fn ping_answered(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut h = Hyb::launch(ctx, "me")?;
    h.expect_register(None)?;
    h.srv.send("PING:pre1")?;
    h.srv.expect("PONG:pre1").under("KA-2")?;
    h.answer_register(&[], None)?;
    for tok in ["abc_DEF-123", "k", &"Z9_-".repeat(8)] {
        h.srv.send(&format!("PING:{tok}"))?;
        h.srv.expect(&format!("PONG:{tok}")).under("KA-2")?;
    }
    Ok(())
}

fn events_members(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let carol = ctx.nick("Carol");
    let mut h = Hyb::start(ctx, "me", &[(bob.clone(), "10.0.0.7:5001".into())], None)?;
    let text = "ctl \u{1b}[31m red \u{7} \t tab \u{9b} c1 \"q\" \\ ☃: end";
    h.srv.send_batch(&[
        format!("UPDATE:JOIN:{carol}:[2001:db8::7]:5002"),
        format!("BROADCAST:{carol}:{}", tf(text)),
        format!("UPDATE:LEAVE:{bob}:10.0.0.7:5001"),
    ])?;
    let ev = h.quiet()?;
    let kinds: Vec<&str> = ev.iter().map(|e| e.kind.as_str()).collect();
    if kinds != ["join", "broadcast", "leave"] {
        return fail(
            "AUT-1",
            format!("expected the events join, broadcast, leave in that order; got {kinds:?}"),
        );
    }
    if !names_user(&ev[0].value, &carol, "[2001:db8::7]:5002") {
        return Err(Failure::violation("the join event does not name the user as in UPDATE:JOIN")
            .expected(format!(
                "{{\"event\":\"join\",\"nick\":\"{carol}\",\"ip\":\"2001:db8::7\",\"port\":5002}}"
            ))
            .got(ev[0].raw.clone()));
    }
    if ev[1].str("from") != carol || ev[1].str("text") != text {
        return Err(Failure::violation(
            "the broadcast event does not carry the sender and the text unchanged (control \
             characters included: automation mode passes text on as a JSON string, §20)",
        )
        .expected(format!(
            "{}",
            serde_json::json!({"event": "broadcast", "from": carol, "text": text})
        ))
        .got(ev[1].raw.clone()));
    }
    if !names_user(&ev[2].value, &bob, "10.0.0.7:5001") {
        return Err(Failure::violation(
            "the leave event does not name the user as in UPDATE:LEAVE",
        )
        .expected(format!(
            "{{\"event\":\"leave\",\"nick\":\"{bob}\",\"ip\":\"10.0.0.7\",\"port\":5001}}"
        ))
        .got(ev[2].raw.clone()));
    }
    // An ERR answering a request: an error event with its code and text.
    h.run.cmd("broadcast x")?;
    h.srv.expect(&format!("BROADCAST:{}:1:x", h.nick))?;
    let why = "refused: colons: ok";
    h.srv.send(&format!("ERR:NOT_YOUR_NICK:{}", tf(why)))?;
    h.run
        .expect(
            "error",
            &format!("{{\"event\":\"error\",\"code\":\"NOT_YOUR_NICK\",\"text\":{why:?}}}"),
            |e| e.str("code") == "NOT_YOUR_NICK" && e.str("text") == why,
        )
        .under("AUT-1")?;
    Ok(())
}

fn sync_after_commands(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut h = Hyb::start(ctx, "me", &[], None)?;
    let n = h.nick.clone();
    h.run.cmd("broadcast one")?;
    h.srv.expect(&format!("BROADCAST:{n}:3:one"))?;
    h.run.cmd("sync early")?;
    h.run.cmd("broadcast two")?;
    // The client has read `sync early` once it sends the second broadcast; only now does
    // the first get its reply (the echo).
    h.srv.expect(&format!("BROADCAST:{n}:3:two"))?;
    ctx.note("the client has read `sync early`; the reply to `broadcast one` comes only now");
    h.srv.send(&format!("BROADCAST:{n}:3:one"))?;
    h.srv.send(&format!("BROADCAST:{n}:3:two"))?;
    let mut order = Vec::new();
    let end = std::time::Instant::now() + h.run.timeout() * 2;
    while order.len() < 3 {
        let left = end.saturating_duration_since(std::time::Instant::now());
        match h.run.next_within(left)? {
            crate::client::process::Out::Event(e) => match e.kind.as_str() {
                "sync" if e.str("token") == "early" => order.push("sync early".to_owned()),
                "broadcast" if e.str("from") == n => {
                    order.push(format!("broadcast {}", e.str("text")))
                }
                _ => {}
            },
            _ => break,
        }
    }
    let sync_at = order.iter().position(|s| s == "sync early");
    let one_at = order.iter().position(|s| s == "broadcast one");
    match (sync_at, one_at) {
        (Some(s), Some(o)) if o < s => Ok(()),
        (None, _) => fail("AUT-2", "`sync early` was never answered".to_owned()),
        _ => Err(Failure::violation(
            "`sync early` was answered before the command written before it (broadcast one) \
             was done (its echo had not even been sent)",
        )
        .req("AUT-2")
        .expected("broadcast one, then sync early".to_owned())
        .got(order.join(", "))),
    }
}

fn events_before_pong(ctx: &mut Ctx<'_>) -> CaseResult {
    let bob = ctx.nick("bob");
    let carol = ctx.nick("carol");
    let mut h = Hyb::start(ctx, "me", &[(bob.clone(), "10.0.0.7:5001".into())], None)?;
    h.srv.send_batch(&[
        format!("BROADCAST:{bob}:{}", tf("before the ping")),
        format!("UPDATE:JOIN:{carol}:10.0.0.8:5002"),
        format!("UPDATE:LEAVE:{bob}:10.0.0.7:5001"),
        "PING:order1".to_owned(),
    ])?;
    h.srv.expect("PONG:order1").under("KA-2")?;
    ctx.note("PONG received: the client is killed at once; what it wrote before stays readable");
    h.run.kill();
    let ev = h.run.drain_until_eof(h.run.timeout() * 2)?;
    let have = |k: &str| ev.iter().any(|e| e.kind == k);
    if !(have("broadcast") && have("join") && have("leave")) {
        let got: Vec<&str> = ev.iter().map(|e| e.kind.as_str()).collect();
        return Err(Failure::violation(
            "the events of lines received before a PING were not all written before its PONG",
        )
        .req("AUT-2")
        .expected("broadcast, join and leave events on standard output before PONG:order1")
        .got(format!("events written by then: {got:?}")));
    }
    Ok(())
}

fn usage_errors(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut h = Hyb::start(ctx, "me", &[], None)?;
    let bad = [
        "frobnicate now",
        "BROADCAST upper case",
        "broadcast",
        "sync",
    ];
    for b in bad {
        h.run.cmd(b)?;
    }
    let ev = h.quiet().under("AUT-3")?;
    let usage = ev
        .iter()
        .filter(|e| e.kind == "error" && e.str("code") == "USAGE")
        .count();
    if usage != bad.len() {
        return Err(Failure::violation(format!(
            "{usage} error events with code USAGE for {} commands the client cannot understand",
            bad.len()
        ))
        .req("AUT-3")
        .expected(format!(
            "{} × {{\"event\":\"error\",\"code\":\"USAGE\",...}}",
            bad.len()
        ))
        .got(
            ev.iter()
                .map(|e| e.raw.clone())
                .collect::<Vec<_>>()
                .join(" "),
        ));
    }
    // It goes on.
    h.run.cmd("broadcast still here")?;
    h.srv
        .expect(&format!("BROADCAST:{}:{}", h.nick, tf("still here")))
        .under("AUT-3")
}

fn exit_zero(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut h = Hyb::start(ctx, "me", &[], None)?;
    h.quit()?;
    ctx.note("again, ending standard input instead of `quit`");
    h.relaunch(ctx)?;
    h.expect_register(None)?;
    h.answer_register(&[], None)?;
    h.run.close_stdin();
    super::cutil::expect_line_skipping(&mut h.srv, "QUIT", &[]).under("AUT-4")?;
    h.srv.bye()?;
    let d = h.run.timeout() * 3;
    match h.run.wait_exit(d) {
        Some(0) => Ok(()),
        other => fail(
            "AUT-4",
            format!(
                "after the end of standard input (QUIT, BYE) the exit status is not 0 ({})",
                describe_exit(other, d)
            ),
        ),
    }
}

fn exit_one(ctx: &mut Ctx<'_>) -> CaseResult {
    // The connection lost after registration.
    let mut h = Hyb::start(ctx, "me", &[], None)?;
    let link = std::mem::replace(&mut h.srv, placeholder(ctx)?);
    link.close();
    let d = h.run.timeout() * 3;
    let code = h.run.wait_exit(d);
    if code != Some(1) {
        return fail(
            "AUT-4",
            format!(
                "the server closed the connection; the exit status is not 1 ({})",
                describe_exit(code, d)
            ),
        );
    }
    // A server that cannot be reached.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Failure::target_error(format!("cannot bind: {e}")))?;
    ctx.note(format!("{closed}: a port where nothing listens (refused)"));
    let nick = ctx.nick("me2");
    let env = ctx.client()?;
    let datadir = env.datadir("unreachable")?;
    let mut run = env.launch(&Launch {
        mode: Mode::Hybrid {
            server: closed.to_string(),
        },
        nick,
        port: super::super::client::net::free_udp_port()?.to_string(),
        datadir,
    })?;
    let d = run.timeout() * 5;
    let code = run.wait_exit(d);
    if code != Some(1) {
        return fail(
            "AUT-4",
            format!(
                "the server cannot be reached; the exit status is not 1 ({})",
                describe_exit(code, d)
            ),
        );
    }
    Ok(())
}

/// A connected link to stand in for one given away.
fn placeholder(ctx: &Ctx<'_>) -> Result<crate::client::link::Link, Failure> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Failure::target_error(e.to_string()))?;
    let s = std::net::TcpStream::connect(
        l.local_addr()
            .map_err(|e| Failure::target_error(e.to_string()))?,
    )
    .map_err(|e| Failure::target_error(e.to_string()))?;
    Ok(crate::client::link::Link::new(
        s,
        crate::client::link::Role::Server,
        0,
        crate::transcript::Transcript::new(),
        ctx.timeout(),
    ))
}

fn exit_two(ctx: &mut Ctx<'_>) -> CaseResult {
    let server = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Failure::target_error(format!("cannot bind: {e}")))?;
    let nick = ctx.nick("me");
    let env = ctx.client()?;
    let datadir = env.datadir("bad")?;
    let mut run = env.launch(&Launch {
        mode: Mode::Hybrid {
            server: server.to_string(),
        },
        nick,
        port: "notaport".to_owned(),
        datadir,
    })?;
    let d = run.timeout() * 5;
    let code = run.wait_exit(d);
    if code == Some(2) {
        return Ok(());
    }
    fail(
        "AUT-4",
        format!(
            "launched with {{port}} = \"notaport\" (a bad command line), the exit status is not 2 \
             ({})",
            describe_exit(code, d)
        ),
    )
}

fn exit_three(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut h = Hyb::launch(ctx, "me")?;
    h.expect_register(None)?;
    let why = "nick in use";
    h.srv.send(&format!("ERR:NICK_IN_USE:{}", tf(why)))?;
    h.run
        .expect(
            "error",
            "{\"event\":\"error\",\"code\":\"NICK_IN_USE\",...}",
            |e| e.str("code") == "NICK_IN_USE",
        )
        .under("AUT-1")?;
    // The client may QUIT or close; either way it must exit with 3.
    let d = h.run.timeout() * 3;
    loop {
        match h.srv.next_within(d)? {
            Incoming::Line(l) if l.text == "QUIT" => h.srv.bye()?,
            Incoming::Line(_) => {}
            _ => break,
        }
        if h.run.wait_exit(Duration::ZERO).is_some() {
            break;
        }
    }
    let code = h.run.wait_exit(d);
    if code == Some(3) {
        return Ok(());
    }
    fail(
        "AUT-4",
        format!(
            "the registration was refused (ERR:NICK_IN_USE); the exit status is not 3 ({})",
            describe_exit(code, d)
        ),
    )
}

#[allow(dead_code)]
fn show(b: &[u8]) -> String {
    wire::escape(b)
}
