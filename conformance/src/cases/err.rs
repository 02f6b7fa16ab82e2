//! Error codes (PROTOCOL.md §6) and the text-field rules of §2.1 step 6.

use super::util::{bcast, join, register, register_new};
use crate::case::{Case, Ctx, Needs};
use crate::outcome::{CaseResult, Under};
use crate::profile::Profile::Core;
use crate::requirements::Role::Server;

pub static CASES: &[Case] = &[
    Case {
        id: "SRV-ERR-001",
        title: "every core error code, and the connection survives each",
        covers: &["ERR-1", "GEN-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: every_core_code,
    },
    Case {
        id: "SRV-ERR-002",
        title: "text fields: leading zero, non-digit, wrong length, too long, huge length",
        covers: &["ERR-1", "BRD-4", "BRD-1"],
        profiles: &[Core],
        role: Server,
        needs: Needs::Shared,
        slow: false,
        run: text_fields,
    },
];

fn every_core_code(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut other = ctx.connect()?;
    let o = register_new(ctx, &mut other, "other")?;
    let mut c = ctx.connect()?;
    // Before registration.
    c.send(&bcast(&ctx.nick("x"), "hi"))?;
    c.expect_err("NOT_REGISTERED").under("GEN-2")?;
    let free = ctx.nick("bad");
    c.send(&format!("REGISTER:{free}:0.0.0.0:5000"))?;
    c.expect_err("BAD_ADDRESS").under("REG-5")?;
    c.send(&format!("REGISTER:{}:127.0.0.1:5000", o.nick))?;
    c.expect_err("NICK_IN_USE").under("REG-3")?;
    c.barrier()?;
    let me = register_new(ctx, &mut c, "me")?;
    other.expect(&join(&me.nick, &me.addr))?;
    let long = format!("PING:{}", "l".repeat(2100));
    let mut utf = b"PING:\xff".to_vec();
    utf.extend_from_slice(b"\r\n");
    let checks: Vec<(Vec<u8>, &str)> = vec![
        (format!("{long}\r\n").into_bytes(), "LINE_TOO_LONG"),
        (utf, "BAD_UTF8"),
        (b"PING\r\n".to_vec(), "MALFORMED"),
        (b"NOSUCH:verb\r\n".to_vec(), "UNKNOWN_VERB"),
        (b"BROADCAST:no.dots:1:x\r\n".to_vec(), "BAD_NICK"),
        (
            format!("BROADCAST:{}:9:short\r\n", me.nick).into_bytes(),
            "BAD_LENGTH",
        ),
        (
            format!("BROADCAST:{}:1025:{}\r\n", me.nick, "t".repeat(1025)).into_bytes(),
            "TEXT_TOO_LONG",
        ),
        (
            format!("REGISTER:{}:127.0.0.1:5000\r\n", ctx.nick("again")).into_bytes(),
            "ALREADY_REGISTERED",
        ),
        (
            format!("BROADCAST:{}:2:hi\r\n", o.nick).into_bytes(),
            "NOT_YOUR_NICK",
        ),
    ];
    for (line, code) in checks {
        c.send_raw(&line)?;
        c.expect_err(code)?;
    }
    // Still registered and served.
    c.barrier()?;
    c.send(&bcast(&me.nick, "still here"))?;
    c.expect(&bcast(&me.nick, "still here"))?;
    other.expect(&bcast(&me.nick, "still here"))?;
    other.barrier()
}

fn text_fields(ctx: &mut Ctx<'_>) -> CaseResult {
    let mut obs = ctx.connect()?;
    register_new(ctx, &mut obs, "obs")?;
    let mut c = ctx.connect()?;
    let nick = ctx.nick("txt");
    let addr = ctx.udp_addr();
    let me = register(ctx, &mut c, &nick, &addr)?;
    obs.expect(&join(&me.nick, &me.addr))?;
    let n = &me.nick;
    let bad: Vec<(String, &str)> = vec![
        (format!("BROADCAST:{n}:05:hello"), "MALFORMED"),
        (format!("BROADCAST:{n}:0:"), "MALFORMED"),
        (format!("BROADCAST:{n}:x:hello"), "MALFORMED"),
        (format!("BROADCAST:{n}:-5:hello"), "MALFORMED"),
        (format!("BROADCAST:{n}:+5:hello"), "MALFORMED"),
        (format!("BROADCAST:{n}: 5:hello"), "MALFORMED"),
        (format!("BROADCAST:{n}:5"), "MALFORMED"),
        (format!("BROADCAST:{n}"), "MALFORMED"),
        ("BROADCAST".to_owned(), "MALFORMED"),
        (format!("BROADCAST:{n}:4:hello"), "BAD_LENGTH"),
        (format!("BROADCAST:{n}:6:hello"), "BAD_LENGTH"),
        (format!("BROADCAST:{n}:5:héllo"), "BAD_LENGTH"),
        (
            format!("BROADCAST:{n}:1025:{}", "t".repeat(1025)),
            "TEXT_TOO_LONG",
        ),
        (format!("BROADCAST:{n}:1025:abc"), "TEXT_TOO_LONG"),
        (format!("BROADCAST:{n}:9999:abc"), "TEXT_TOO_LONG"),
        (
            format!("BROADCAST:{n}:99999999999999999999999999999999:abc"),
            "TEXT_TOO_LONG",
        ),
    ];
    for (line, code) in bad {
        c.send(&line)?;
        c.expect_err(code)?;
    }
    c.barrier().under("ERR-1")?;
    obs.barrier().under("BRD-4")?;
    // The edges that are valid.
    let max = "m".repeat(1024);
    for text in ["héllo", ":", "a:b:c:d", &max, "x"] {
        let line = bcast(n, text);
        c.send(&line)?;
        c.expect(&line).under("BRD-1")?;
        obs.expect(&line).under("BRD-1")?;
    }
    obs.barrier()?;
    c.barrier()
}
