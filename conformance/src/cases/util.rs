//! Helpers shared by the cases: line builders and checked registration.

use crate::case::Ctx;
use crate::conn::{Conn, Line};
use crate::outcome::{Failure, Under, fail};
use crate::profile::Profile;
use crate::wire;

pub fn join(nick: &str, addr: &str) -> String {
    format!("UPDATE:JOIN:{nick}:{addr}")
}

pub fn leave(nick: &str, addr: &str) -> String {
    format!("UPDATE:LEAVE:{nick}:{addr}")
}

/// `BROADCAST:<nick>:<len>:<text>` with the right length.
pub fn bcast(nick: &str, text: &str) -> String {
    format!("BROADCAST:{nick}:{}:{text}", text.len())
}

/// `SEND:<nick>:<len>:<text>` with the right length.
pub fn send(nick: &str, text: &str) -> String {
    format!("SEND:{nick}:{}:{text}", text.len())
}

/// A registered user of a case.
#[derive(Debug, Clone)]
pub struct User {
    pub nick: String,
    pub addr: String,
    pub token: Option<String>,
}

/// Whether a TOKEN line must, may or must not come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// Core cases: a TOKEN line may come (a relay server sends one); its shape is checked.
    Optional,
    /// [OWN-1]: a first registration on a relay server.
    Required,
    /// [OWN-3]: a registration with the owner's token.
    Forbidden,
}

/// Registers a fresh nick with `REGISTER:<nick>:<addr>` and checks the reply.
pub fn register(ctx: &mut Ctx<'_>, c: &mut Conn, nick: &str, addr: &str) -> Result<User, Failure> {
    c.send(&format!("REGISTER:{nick}:{addr}"))?;
    expect_registered(ctx, c, nick, addr, Tok::Optional)
}

/// Registers `nick` with a fresh name from the case and a fresh address.
pub fn register_new(ctx: &mut Ctx<'_>, c: &mut Conn, role: &str) -> Result<User, Failure> {
    let nick = ctx.nick(role);
    let addr = ctx.udp_addr();
    register(ctx, c, &nick, &addr)
}

/// Registers again an owned nick with its token (relay), expecting no TOKEN line.
pub fn register_with_token(
    ctx: &mut Ctx<'_>,
    c: &mut Conn,
    nick: &str,
    addr: &str,
    token: &str,
) -> Result<User, Failure> {
    c.send(&format!("REGISTER:{nick}:{addr}:{token}"))?;
    let mut u = expect_registered(ctx, c, nick, addr, Tok::Forbidden)?;
    u.token = Some(token.to_owned());
    Ok(u)
}

/// Registers again a user that registered before: with its token if it got one.
pub fn reregister(ctx: &mut Ctx<'_>, c: &mut Conn, u: &User) -> Result<User, Failure> {
    match &u.token {
        Some(t) => register_with_token(ctx, c, &u.nick, &u.addr, t),
        None => register(ctx, c, &u.nick, &u.addr),
    }
}

/// After a REGISTER was sent: `UPDATE:JOIN` for it, an optional `TOKEN`, and a `LIST`
/// whose entries of this case are exactly the case's registered users in order, the new
/// one last ([REG-1], [REG-2], [OWN-1]).
pub fn expect_registered(
    ctx: &mut Ctx<'_>,
    c: &mut Conn,
    nick: &str,
    addr: &str,
    tok: Tok,
) -> Result<User, Failure> {
    let ignoring = c.ignores_updates();
    c.set_ignore_updates(false);
    let r = expect_registered_inner(ctx, c, nick, addr, tok);
    c.set_ignore_updates(ignoring);
    r
}

fn expect_registered_inner(
    ctx: &mut Ctx<'_>,
    c: &mut Conn,
    nick: &str,
    addr: &str,
    tok: Tok,
) -> Result<User, Failure> {
    c.expect(&join(nick, addr)).under("REG-1")?;
    let l = c.line("TOKEN or LIST reply").under("REG-1")?;
    let mut token = None;
    let first = if let Some(rest) = l.text.strip_prefix("TOKEN:") {
        if tok == Tok::Forbidden {
            return Err(Failure::violation(
                "a TOKEN line came for a registration made with the owner's token",
            )
            .req("OWN-3")
            .expected(format!("LIST... right after {}", join(nick, addr)))
            .got(l.text.clone()));
        }
        match rest.split_once(':') {
            Some((n, t)) if n == nick && wire::is_hex32(t) => token = Some(t.to_owned()),
            _ => {
                return fail(
                    "OWN-1",
                    format!(
                        "the TOKEN line breaks `TOKEN:<nick>:<32 lowercase hex>`: {}",
                        l.text
                    ),
                );
            }
        }
        None
    } else {
        if tok == Tok::Required {
            return Err(Failure::violation(
                "no TOKEN line between UPDATE:JOIN and LIST for the first registration of a nick",
            )
            .req("OWN-1")
            .expected(format!("TOKEN:{nick}:<token>"))
            .got(l.text.clone()));
        }
        Some(l)
    };
    let entries = read_list(c, first).under("REG-2")?;
    let mut want = ctx.online.clone();
    want.push((nick.to_owned(), addr.to_owned()));
    check_list(ctx, &entries, &want).under("REG-2")?;
    ctx.online.push((nick.to_owned(), addr.to_owned()));
    Ok(User {
        nick: nick.to_owned(),
        addr: addr.to_owned(),
        token,
    })
}

/// Reads a whole `LIST` reply: `LISTPART:<entries>` lines, then the `LIST` line ([REG-2]);
/// every line within MAX_LINE. `first` is its first line if already read.
pub fn read_list(c: &mut Conn, first: Option<Line>) -> Result<Vec<wire::Entry>, Failure> {
    let mut entries = Vec::new();
    let mut next = first;
    loop {
        let l = match next.take() {
            Some(l) => l,
            None => c.line("the LIST reply")?,
        };
        if l.raw.len() > 2048 {
            return Err(Failure::violation(format!(
                "a line of the LIST reply has {} octets (MAX_LINE is 2048): long replies are \
                 split into LISTPART lines",
                l.raw.len()
            )));
        }
        if let Some(rest) = l.text.strip_prefix("LISTPART:") {
            let part = wire::parse_list(&format!("LIST:{rest}")).map_err(|why| {
                Failure::violation(format!("a LISTPART line breaks the grammar: {why}"))
                    .expected("LISTPART:<nick>:<ip>:<port>...".to_owned())
                    .got(l.text.clone())
            })?;
            entries.extend(part);
            continue;
        }
        let part = wire::parse_list(&l.text).map_err(|why| {
            Failure::violation(format!("expected the LIST reply: {why}"))
                .expected("LIST[:<nick>:<ip>:<port>...]".to_owned())
                .got(l.text.clone())
        })?;
        entries.extend(part);
        return Ok(entries);
    }
}

/// Checks the entries of a `LIST` reply: those of this case are exactly `want`, in order
/// (entries of other cases' users are ignored).
pub fn check_list(
    ctx: &Ctx<'_>,
    entries: &[wire::Entry],
    want: &[(String, String)],
) -> Result<(), Failure> {
    let prefix = ctx.prefix().to_ascii_lowercase();
    let vanishing = |n: &str| ctx.vanishing.iter().any(|v| v == n);
    let ours: Vec<(String, String)> = entries
        .iter()
        .filter(|(n, _)| n.to_ascii_lowercase().starts_with(&prefix) && !vanishing(n))
        .cloned()
        .collect();
    let want: Vec<(String, String)> = want
        .iter()
        .filter(|(n, _)| !vanishing(n))
        .cloned()
        .collect();
    let want = &want[..];
    if ours != want {
        let show = |v: &[(String, String)]| {
            v.iter()
                .map(|(n, a)| format!("{n}:{a}"))
                .collect::<Vec<_>>()
                .join(":")
        };
        return Err(Failure::violation(
            "the LIST reply does not name exactly this case's registered users, in registration \
             order (entries of other cases' users are ignored)",
        )
        .expected(format!("LIST…:{}…", show(want)))
        .got(format!("LIST…:{}…", show(&ours))));
    }
    Ok(())
}

/// Sends QUIT and expects BYE then the close ([QUIT-1]); forgets the user.
pub fn quit(ctx: &mut Ctx<'_>, mut c: Conn, nick: Option<&str>) -> Result<(), Failure> {
    c.send("QUIT")?;
    c.expect("BYE").under("QUIT-1")?;
    c.expect_closed().under("QUIT-1")?;
    if let Some(n) = nick {
        ctx.online.retain(|(x, _)| x != n);
    }
    Ok(())
}

/// Forgets a user that left some other way.
pub fn forget(ctx: &mut Ctx<'_>, nick: &str) {
    ctx.online.retain(|(x, _)| x != nick);
}

/// A registration on a relay server gives a token: returns it, or NOT_RUN-style failure
/// when the target does not claim relay (the caller's profile list should prevent that).
pub fn token_of(u: &User) -> Result<String, Failure> {
    u.token.clone().ok_or_else(|| {
        Failure::violation(format!(
            "no TOKEN line was sent for the registration of {}",
            u.nick
        ))
        .req("OWN-1")
    })
}

/// Whether the target claims `relay` (so that a fresh registration gives a token).
pub fn relay(ctx: &Ctx<'_>) -> bool {
    ctx.claims(Profile::Relay)
}

/// The nick with its ASCII case changed (upper ↔ lower), e.g. for case-insensitive checks.
pub fn swap_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// A `MSG:<id>:<from>:<time>:<len>:<text>` line, checked; returns (id, time).
pub fn parse_msg(line: &str, from: &str, text: &str) -> Result<(u64, u64), String> {
    let rest = line
        .strip_prefix("MSG:")
        .ok_or_else(|| "expected a MSG line".to_owned())?;
    let (id, rest) = rest.split_once(':').ok_or("MSG line too short")?;
    let id = wire::msg_id(id).ok_or_else(|| format!("<id> {id:?} breaks `msg-id`"))?;
    let (f, rest) = rest.split_once(':').ok_or("MSG line too short")?;
    if f != from {
        return Err(format!("<from> is {f:?}, expected {from:?}"));
    }
    let (t, tf) = rest.split_once(':').ok_or("MSG line too short")?;
    let t = wire::time(t).ok_or_else(|| format!("<time> {t:?} breaks `time`"))?;
    let got = wire::text_field(tf)?;
    if got != text {
        return Err(format!("<text> is {got:?}, expected {text:?}"));
    }
    Ok((id, t))
}

/// A `SENT:<id>:<LIVE|QUEUED>` line, checked; returns the id.
pub fn parse_sent(line: &str, delivery: &str) -> Result<u64, String> {
    let rest = line
        .strip_prefix("SENT:")
        .ok_or_else(|| format!("expected SENT:<id>:{delivery}"))?;
    let (id, d) = rest.split_once(':').ok_or("SENT line too short")?;
    let id = wire::msg_id(id).ok_or_else(|| format!("<id> {id:?} breaks `msg-id`"))?;
    if d != delivery {
        return Err(format!("delivery is {d:?}, expected {delivery}"));
    }
    Ok(id)
}

/// Unix time now, in seconds.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
