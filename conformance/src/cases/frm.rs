//! Framing and encoding (PROTOCOL.md §2, §2.1).

use super::util::{Tok, bcast, expect_registered, join, leave, register_new};
use crate::case::{Case, Ctx, Needs};
use crate::outcome::{CaseResult, Under, fail};
use crate::profile::Profile::Core;
use crate::requirements::Role::Server;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-FRM-001",
        title: "CRLF and a bare LF both end a line",
        covers: &["FRM-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: crlf_and_lf,
    },
    Case {
        id: "SRV-FRM-002",
        title: "a line split across several writes is one line",
        covers: &["FRM-2"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: split_writes,
    },
    Case {
        id: "SRV-FRM-003",
        title: "several lines in one write are processed one by one, in order",
        covers: &["FRM-2", "GEN-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: many_lines_one_write,
    },
    Case {
        id: "SRV-FRM-004",
        title: "empty lines are ignored without a reply",
        covers: &["FRM-3"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: empty_lines,
    },
    Case {
        id: "SRV-FRM-005",
        title: "a 2049-octet line is answered LINE_TOO_LONG and the connection goes on",
        covers: &["FRM-4", "ERR-1", "BRD-4"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: overlong_line,
    },
    Case {
        id: "SRV-FRM-006",
        title: "a line of exactly 2048 octets is not too long",
        covers: &["FRM-4"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: max_line_accepted,
    },
    Case {
        id: "SRV-FRM-007",
        title: "a huge line (256 KiB, many writes) is one LINE_TOO_LONG",
        covers: &["FRM-4", "ERR-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: huge_line,
    },
    Case {
        id: "SRV-FRM-008",
        title: "invalid UTF-8 is answered BAD_UTF8 and the connection goes on",
        covers: &["FRM-5", "ERR-1", "BRD-4"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: bad_utf8,
    },
    Case {
        id: "SRV-FRM-009",
        title: "NUL and a stray CR are MALFORMED",
        covers: &["FRM-6", "ERR-1", "BRD-4"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: nul_and_stray_cr,
    },
    Case {
        id: "SRV-FRM-010",
        title: "every line the server sends ends with CRLF",
        covers: &["FRM-7"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: server_sends_crlf,
    },
    Case {
        id: "SRV-FRM-011",
        title: "decoding order: the first failure of §2.1 is reported",
        covers: &["ERR-1", "FRM-4", "FRM-5", "FRM-6", "GEN-3"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: decoding_order,
    },
    Case {
        id: "SRV-FRM-012",
        title: "bytes after the last LF when a connection closes are not a line",
        covers: &["FRM-1", "LEA-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: unterminated_tail,
    },
];

fn crlf_and_lf(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    c.send_raw(b"PING:crlf1\r\n")?;
    c.expect("PONG:crlf1")?;
    c.send_raw(b"PING:lf1\n")?;
    c.expect("PONG:lf1")?;
    c.send_raw(b"PING:a1\r\nPING:b2\nPING:c3\r\n")?;
    c.expect("PONG:a1")?;
    c.expect("PONG:b2")?;
    c.expect("PONG:c3")?;
    // A registration and a broadcast ended by bare LFs.
    let nick = ctx.nick("lf");
    let addr = ctx.udp_addr();
    c.send_raw(format!("REGISTER:{nick}:{addr}\n").as_bytes())?;
    expect_registered(ctx, &mut c, &nick, &addr, Tok::Optional)?;
    c.send_raw(format!("{}\n", bcast(&nick, "bare LF")).as_bytes())?;
    c.expect(&bcast(&nick, "bare LF"))?;
    c.barrier()
}

fn split_writes(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    for piece in [&b"PI"[..], b"NG:sp", b"lit1\r", b"\n"] {
        c.send_raw(piece)?;
    }
    c.expect("PONG:split1")?;
    let nick = ctx.nick("split");
    let addr = ctx.udp_addr();
    let reg = format!("REGISTER:{nick}:{addr}\r\n");
    let (a, b) = reg.split_at(9);
    let (b, d) = b.split_at(b.len() - 1);
    c.send_raw(a.as_bytes())?;
    c.send_raw(b.as_bytes())?;
    c.send_raw(d.as_bytes())?;
    expect_registered(ctx, &mut c, &nick, &addr, Tok::Optional)?;
    // One byte per write.
    let line = bcast(&nick, "byte by byte: ok");
    ctx.note(format!("C1: sends {line}\\r\\n one byte per write"));
    for b in line.as_bytes().iter().chain(b"\r\n") {
        c.send_raw_quiet(std::slice::from_ref(b))?;
    }
    c.expect(&line)?;
    c.barrier()
}

fn many_lines_one_write(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    let nick = ctx.nick("batch");
    let addr = ctx.udp_addr();
    let lines = vec![
        "PING:first".to_owned(),
        format!("REGISTER:{nick}:{addr}"),
        bcast(&nick, "one"),
        "PING:mid".to_owned(),
        bcast(&nick, "two: with a colon"),
        "PING:last".to_owned(),
    ];
    c.send_batch(&lines)?;
    c.expect("PONG:first")?;
    expect_registered(ctx, &mut c, &nick, &addr, Tok::Optional)?;
    c.expect(&bcast(&nick, "one"))?;
    c.expect("PONG:mid")?;
    c.expect(&bcast(&nick, "two: with a colon"))?;
    c.expect("PONG:last")?;
    c.barrier()
}

fn empty_lines(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    c.send_raw(b"\r\n\n\r\n\r\n")?;
    c.barrier()?;
    register_new(ctx, &mut c, "empty")?;
    c.send_raw(b"\n\r\n")?;
    c.barrier()?;
    c.send_raw(b"\r\nPING:x1\r\n\r\n")?;
    c.expect("PONG:x1")?;
    c.barrier()
}

fn overlong_line(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    // 2049 octets of content, CRLF.
    let line = format!("PING:{}", "a".repeat(2044));
    debug_assert_eq!(line.len(), 2049);
    c.send(&line)?;
    c.expect_err("LINE_TOO_LONG")?;
    c.barrier().under("ERR-1")?;
    // 2049 octets, bare LF.
    let mut raw = line.clone().into_bytes();
    raw.push(b'\n');
    c.send_raw(&raw)?;
    c.expect_err("LINE_TOO_LONG")?;
    c.barrier().under("ERR-1")?;
    // 2048 octets then a CR that is not before the LF: the content is 2050 octets.
    let mut raw = format!("PING:{}", "a".repeat(2043)).into_bytes();
    raw.extend_from_slice(b"\rx\n");
    c.send_raw(&raw)?;
    c.expect_err("LINE_TOO_LONG")?;
    c.barrier().under("ERR-1")?;
    // A registered sender's overlong BROADCAST reaches nobody.
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let me = register_new(ctx, &mut c, "long")?;
    obs.expect(&join(&me.nick, &me.addr))?;
    let text = "b".repeat(2049 - 16 - me.nick.len());
    let long = format!("BROADCAST:{}:{}:{text}", me.nick, text.len());
    debug_assert_eq!(long.len(), 2049);
    c.send(&long)?;
    c.expect_err("LINE_TOO_LONG")?;
    c.barrier().under("ERR-1")?;
    obs.barrier().under("BRD-4")?;
    Ok(())
}

fn max_line_accepted(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    let verb = "X".repeat(2048);
    c.send(&verb)?;
    c.expect_err("UNKNOWN_VERB")?;
    let mut raw = verb.into_bytes();
    raw.push(b'\n');
    c.send_raw(&raw)?;
    c.expect_err("UNKNOWN_VERB")?;
    let ping = format!("PING:{}", "a".repeat(2043));
    debug_assert_eq!(ping.len(), 2048);
    c.send(&ping)?;
    c.expect_err("MALFORMED").under("ERR-1")?;
    c.barrier()
}

fn huge_line(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    let chunk = vec![b'z'; 8192];
    c.send_raw(b"PING:")?;
    ctx.note("C1: sends 32 writes of 8192 octets of 'z' (no line end)");
    for _ in 0..32 {
        c.send_raw_quiet(&chunk)?;
    }
    c.send_raw(b"zzz\r\nPING:after\r\n")?;
    c.expect_err("LINE_TOO_LONG")?;
    c.expect("PONG:after").under("ERR-1")?;
    c.barrier()
}

fn bad_utf8(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    let samples: [&[u8]; 8] = [
        b"PING:\xff\r\n",
        b"\xfePING:x\r\n",
        b"PING:ab\xc0\x80\r\n",            // overlong encoding of NUL
        b"PING:\xed\xa0\x80\r\n",          // a UTF-16 surrogate
        b"PING:\xe2\x82\r\n",              // truncated sequence at the end of the line
        b"PING:\xf4\x90\x80\x80\r\n",      // above U+10FFFF
        b"FOO:\x80bar\n",                  // lone continuation byte
        b"REGISTER:caf\xc3:1.2.3.4:5\r\n", // truncated, in a nick
    ];
    for s in samples {
        c.send_raw(s)?;
        c.expect_err("BAD_UTF8")?;
    }
    c.barrier().under("ERR-1")?;
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let me = register_new(ctx, &mut c, "utf")?;
    obs.expect(&join(&me.nick, &me.addr))?;
    let mut raw = format!("BROADCAST:{}:2:", me.nick).into_bytes();
    raw.extend_from_slice(b"\xc3\x28\r\n");
    c.send_raw(&raw)?;
    c.expect_err("BAD_UTF8")?;
    // Valid UTF-8 is relayed byte for byte.
    c.send(&bcast(&me.nick, "héllo ✓"))?;
    c.expect(&bcast(&me.nick, "héllo ✓"))?;
    obs.expect(&bcast(&me.nick, "héllo ✓")).under("BRD-1")?;
    obs.barrier().under("BRD-4")?;
    c.barrier()
}

fn nul_and_stray_cr(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    let samples: [&[u8]; 6] = [
        b"PING:a\x00b\r\n",
        b"PING:ab\rc\r\n",
        b"PING:ab\r\r\n",
        b"\rPING:a\n",
        b"\x00\r\n",
        b"PING:x\r",
    ];
    for s in samples {
        c.send_raw(s)?;
        if s.ends_with(b"\r") {
            // The line goes on in the next write: the CR is not before the LF.
            c.send_raw(b"y\r\n")?;
        }
        c.expect_err("MALFORMED")?;
    }
    c.barrier().under("ERR-1")?;
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let me = register_new(ctx, &mut c, "nul")?;
    obs.expect(&join(&me.nick, &me.addr))?;
    c.send_raw(format!("BROADCAST:{}:3:a\x00b\r\n", me.nick).as_bytes())?;
    c.expect_err("MALFORMED")?;
    c.send_raw(format!("BROADCAST:{}:3:a\rb\r\n", me.nick).as_bytes())?;
    c.expect_err("MALFORMED")?;
    obs.barrier().under("BRD-4")?;
    c.barrier().under("ERR-1")
}

fn server_sends_crlf(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut a = ctx.connect()?;
    let mut b = ctx.connect()?;
    let ua = register_new(ctx, &mut a, "a")?;
    let ub = register_new(ctx, &mut b, "b")?;
    a.expect(&join(&ub.nick, &ub.addr))?;
    a.send(&bcast(&ua.nick, "crlf?"))?;
    a.expect(&bcast(&ua.nick, "crlf?"))?;
    b.expect(&bcast(&ua.nick, "crlf?"))?;
    a.send("NOSUCHVERB")?;
    a.expect_err("UNKNOWN_VERB")?;
    a.barrier()?;
    b.send("QUIT")?;
    b.expect("BYE")?;
    b.expect_closed()?;
    a.expect(&leave(&ub.nick, &ub.addr))?;
    for (conn, name) in [(&a, "C1"), (&b, "C2")] {
        if !conn.all_crlf {
            return fail(
                "FRM-7",
                format!(
                    "the server ended a line sent on {name} with a bare LF: {}",
                    conn.non_crlf_example.clone().unwrap_or_default()
                ),
            );
        }
    }
    Ok(())
}

fn decoding_order(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut c = ctx.connect()?;
    // 1. length beats everything.
    let mut raw = b"\xff\x00".to_vec();
    raw.extend(std::iter::repeat_n(b'q', 2047));
    raw.extend_from_slice(b"\r\n");
    c.send_raw(&raw)?;
    c.expect_err("LINE_TOO_LONG").under("FRM-4")?;
    // 2. UTF-8 beats NUL.
    c.send_raw(b"PING:\xff\x00\r\n")?;
    c.expect_err("BAD_UTF8").under("FRM-5")?;
    // 3. NUL / stray CR beat the verb.
    c.send_raw(b"FOO\x00:x\r\n")?;
    c.expect_err("MALFORMED").under("FRM-6")?;
    c.send_raw(b"FOO\r:x\r\n")?;
    c.expect_err("MALFORMED").under("FRM-6")?;
    // 4. the verb beats the fields.
    c.send("FOO:::")?;
    c.expect_err("UNKNOWN_VERB").under("GEN-3")?;
    c.send("register:a.b:0.0.0.0:0")?;
    c.expect_err("UNKNOWN_VERB").under("GEN-3")?;
    // 5. fields left to right.
    c.send("REGISTER:a.b:0.0.0.0:0")?;
    c.expect_err("BAD_NICK")?;
    let nick = ctx.nick("order");
    c.send(&format!("REGISTER:{nick}:0.0.0.0:5000:XYZ"))?;
    c.expect_err("BAD_ADDRESS")?;
    let me = register_new(ctx, &mut c, "me")?;
    c.send("BROADCAST:a.b:05:xx")?;
    c.expect_err("BAD_NICK")?;
    // 6. len: a leading zero before BAD_LENGTH; the value before the count.
    c.send(&format!("BROADCAST:{}:05:abc", me.nick))?;
    c.expect_err("MALFORMED")?;
    c.send(&format!("BROADCAST:{}:2000:abc", me.nick))?;
    c.expect_err("TEXT_TOO_LONG")?;
    c.barrier()
}

fn unterminated_tail(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut c = ctx.connect()?;
    let me = register_new(ctx, &mut c, "tail")?;
    obs.expect(&join(&me.nick, &me.addr))?;
    c.send_raw(format!("BROADCAST:{}:4:lost", me.nick).as_bytes())?;
    c.close();
    obs.expect(&leave(&me.nick, &me.addr))?;
    obs.barrier()
}
