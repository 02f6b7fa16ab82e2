//! Events as lines for people: a `HH:MM` stamp, then what happened, coloured
//! when the output is a terminal that wants colour. Every piece of text that
//! comes from the network (or from the system: error texts, reasons) goes
//! through [`sanitize`]; only this module's own literals and colour codes do not.

use crate::display::clock::{self, Zone};
use crate::display::sanitize::sanitize;
use crate::events::{Event, MessageVia, SentVia, SessionState, UserInfo};

/// Whether to colour the output: only a terminal, and `NO_COLOR` unset or
/// empty (<https://no-color.org>), and a `TERM` other than `dumb`.
pub fn want_color(stdout_is_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    stdout_is_terminal && !no_color && !dumb
}

const TIME: &str = "2";
const OWN: &str = "1;32";
const NICK: &str = "1";
const PRIVATE: &str = "1;35";
const INFO: &str = "36";
const ERROR: &str = "1;31";

/// Turns events into text.
#[derive(Debug, Clone)]
pub struct Formatter {
    color: bool,
    serverless: bool,
    own: String,
    zone: &'static Zone,
}

/// One piece of output being built.
struct Out {
    color: bool,
    s: String,
}

impl Out {
    /// A trusted literal of this module.
    fn lit(&mut self, s: &str) -> &mut Self {
        self.s.push_str(s);
        self
    }
    /// Text from outside: sanitized.
    fn text(&mut self, s: &str) -> &mut Self {
        self.s.push_str(&sanitize(s));
        self
    }
    /// Text from outside, in a colour.
    fn paint(&mut self, code: &str, s: &str) -> &mut Self {
        if self.color {
            self.s.push_str("\x1b[");
            self.s.push_str(code);
            self.s.push('m');
            self.text(s);
            self.s.push_str("\x1b[0m");
        } else {
            self.text(s);
        }
        self
    }
}

fn addr(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

impl Formatter {
    /// A formatter for the user `own`, in the local time zone.
    pub fn new(own: &str, serverless: bool, color: bool) -> Formatter {
        Formatter::with_zone(own, serverless, color, Zone::local())
    }

    /// As [`Formatter::new`], in a given zone (tests).
    pub fn with_zone(own: &str, serverless: bool, color: bool, zone: &'static Zone) -> Formatter {
        Formatter {
            color,
            serverless,
            own: own.to_owned(),
            zone,
        }
    }

    /// Whether lines carry colour codes.
    pub fn color(&self) -> bool {
        self.color
    }

    fn line(&self, now: i64) -> Out {
        let mut o = Out {
            color: self.color,
            s: String::new(),
        };
        let t = clock::hhmm(self.zone, now);
        o.paint(TIME, &t).lit(" ");
        o
    }

    fn info(&self, now: i64) -> Out {
        let mut o = self.line(now);
        o.paint(INFO, "--").lit(" ");
        o
    }

    fn nick<'a>(&self, o: &'a mut Out, nick: &str) -> &'a mut Out {
        let code = if nick.eq_ignore_ascii_case(&self.own) {
            OWN
        } else {
            NICK
        };
        o.paint(code, nick)
    }

    fn users(&self, o: &mut Out, users: &[UserInfo]) {
        for u in users {
            o.lit("\n      ");
            self.nick(o, &u.nick);
            o.lit("  ").text(&addr(&u.ip, u.port));
            if u.nick.eq_ignore_ascii_case(&self.own) {
                o.lit(" (you)");
            }
        }
    }

    /// A line (or a few) for a message typed locally: a prompt answer, a
    /// note of the front end.
    pub fn note(&self, text: &str, now: i64) -> String {
        let mut o = self.info(now);
        o.text(text);
        o.s
    }

    /// The text of an event for people; `None` for events people do not see.
    pub fn event(&self, e: &Event, now: i64) -> Option<String> {
        let mut o;
        match e {
            Event::Ready { nick, port } => {
                o = self.info(now);
                if self.serverless {
                    o.lit("you are ");
                    self.nick(&mut o, nick);
                    o.lit(&format!(", listening for peers on TCP port {port}"));
                } else {
                    o.lit("registered as ");
                    self.nick(&mut o, nick);
                }
            }
            Event::Users { users } => {
                o = self.info(now);
                match users.len() {
                    0 => o.lit("nobody is online"),
                    1 => o.lit("1 user online:"),
                    n => o.lit(&format!("{n} users online:")),
                };
                self.users(&mut o, users);
            }
            Event::Join { nick, ip, port } => {
                o = self.info(now);
                self.nick(&mut o, nick);
                o.lit(" joined (").text(&addr(ip, *port)).lit(")");
            }
            Event::Leave { nick, .. } => {
                o = self.info(now);
                self.nick(&mut o, nick);
                o.lit(" left");
            }
            Event::User { nick, ip, port } => {
                o = self.info(now);
                self.nick(&mut o, nick);
                o.lit(" is at ").text(&addr(ip, *port));
            }
            Event::Broadcast { from, text } => {
                o = self.line(now);
                o.lit("<");
                self.nick(&mut o, from);
                o.lit("> ").text(text);
            }
            Event::Message {
                from,
                text,
                via,
                time,
                ..
            } => {
                o = self.line(now);
                o.paint(PRIVATE, from).lit(" → you (");
                match via {
                    MessageVia::Direct => o.lit("direct session"),
                    MessageVia::Udp => o.lit("UDP datagram"),
                    MessageVia::Relay => o.lit("via the server"),
                };
                if let Some(t) = time.and_then(|t| i64::try_from(t).ok())
                    && *via == MessageVia::Relay
                    && now - t > 120
                {
                    let when = if clock::date(self.zone, t) == clock::date(self.zone, now) {
                        clock::hhmm(self.zone, t)
                    } else {
                        format!(
                            "{} {}",
                            clock::date(self.zone, t),
                            clock::hhmm(self.zone, t)
                        )
                    };
                    o.lit(", sent ").text(&when);
                }
                o.lit("): ").text(text);
            }
            Event::Sent { to, via, text, .. } => {
                o = self.line(now);
                o.lit("you → ").paint(PRIVATE, to).lit(" (");
                match via {
                    SentVia::Direct => o.lit("direct session"),
                    SentVia::Live => o.lit("live via the server"),
                    SentVia::Queued if self.serverless => {
                        o.lit("kept in the outbox until ").text(to).lit(" connects")
                    }
                    SentVia::Queued => o.lit("queued in ").text(to).lit("'s mailbox on the server"),
                    SentVia::Udp => o.lit("UDP datagram, unacknowledged"),
                };
                o.lit(")");
                if !text.is_empty() {
                    o.lit(": ").text(text);
                }
            }
            Event::Blocked { nick } => {
                o = self.info(now);
                o.lit("blocked ").text(nick);
            }
            Event::Unblocked { nick } => {
                o = self.info(now);
                o.lit("unblocked ").text(nick);
            }
            Event::Blocks { nicks } => {
                o = self.info(now);
                if nicks.is_empty() {
                    o.lit("you block nobody");
                } else {
                    o.lit("you block: ").text(&nicks.join(", "));
                }
            }
            Event::Session { nick, state, addr } => {
                o = self.info(now);
                o.lit("direct session with ");
                self.nick(&mut o, nick);
                match state {
                    SessionState::Open => o.lit(" open (").text(addr).lit(")"),
                    SessionState::Closed => o.lit(" closed"),
                };
            }
            Event::Peers { peers } => {
                o = self.info(now);
                if peers.is_empty() {
                    o.lit("no peer sessions are open");
                } else {
                    o.lit("peer sessions:");
                    for p in peers {
                        o.lit("\n      ");
                        self.nick(&mut o, &p.nick);
                        o.lit("  ").text(&p.addr);
                    }
                }
            }
            Event::Error { code, text } => {
                o = self.line(now);
                o.paint(ERROR, "!!").lit(" ").text(text);
                if code != "USAGE" {
                    o.lit(" (").text(code).lit(")");
                }
            }
            Event::Sync { .. } => return None,
            Event::Closed { reason } => {
                o = self.info(now);
                if reason == "quit" {
                    o.lit("disconnected from the server");
                } else {
                    o.lit("lost the server: ").text(reason);
                }
            }
            Event::Notice(text) => {
                o = self.info(now);
                o.text(text);
            }
        }
        Some(o.s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    static UTC: Zone = Zone::utc();

    fn f(color: bool) -> Formatter {
        Formatter::with_zone("alice", false, color, &UTC)
    }

    const NOW: i64 = 1_763_713_200; // 08:20 UTC

    #[test]
    fn lines_without_colour_are_plain_text() {
        let e = Event::Broadcast {
            from: "bob".into(),
            text: "hello: all".into(),
        };
        assert_eq!(f(false).event(&e, NOW).unwrap(), "08:20 <bob> hello: all");
        let e = Event::Sent {
            to: "bob".into(),
            via: SentVia::Queued,
            id: Some(3),
            text: "later".into(),
        };
        assert_eq!(
            f(false).event(&e, NOW).unwrap(),
            "08:20 you → bob (queued in bob's mailbox on the server): later"
        );
        let e = Event::Message {
            from: "bob".into(),
            text: "old".into(),
            via: MessageVia::Relay,
            id: Some(1),
            time: Some((NOW - 3600) as u64),
        };
        assert_eq!(
            f(false).event(&e, NOW).unwrap(),
            "08:20 bob → you (via the server, sent 07:20): old"
        );
        let e = Event::error("USAGE", "unknown command \"frob\"; try /help");
        assert_eq!(
            f(false).event(&e, NOW).unwrap(),
            "08:20 !! unknown command \"frob\"; try /help"
        );
        assert_eq!(
            f(false).event(&Event::Sync { token: "x".into() }, NOW),
            None
        );
    }

    #[test]
    fn network_text_cannot_drive_the_terminal() {
        let evil = "\x1b[2J\x1b]0;owned\x07\u{9b}31m\r\n";
        for e in [
            Event::Broadcast {
                from: "bob".into(),
                text: evil.into(),
            },
            Event::Message {
                from: "bob".into(),
                text: evil.into(),
                via: MessageVia::Direct,
                id: Some(1),
                time: None,
            },
            Event::error("BAD_LINE", evil),
            Event::Closed {
                reason: evil.into(),
            },
            Event::Notice(evil.into()),
            Event::Session {
                nick: "bob".into(),
                state: SessionState::Open,
                addr: evil.into(),
            },
        ] {
            for color in [false, true] {
                let s = f(color).event(&e, NOW).unwrap();
                let stripped = s.replace("\x1b[0m", "").replace("\x1b[2m", "");
                let stripped = ["1;32", "1;35", "36", "1;31", "1"]
                    .iter()
                    .fold(stripped, |s, c| s.replace(&format!("\x1b[{c}m"), ""));
                assert!(!stripped.chars().any(char::is_control), "{e:?} gave {s:?}");
                assert!(s.contains("^[[2J"), "{s:?}");
            }
        }
    }

    #[test]
    fn colour_only_when_asked() {
        let e = Event::Join {
            nick: "bob".into(),
            ip: "::1".into(),
            port: 5,
        };
        let plain = f(false).event(&e, NOW).unwrap();
        assert_eq!(plain, "08:20 -- bob joined ([::1]:5)");
        let coloured = f(true).event(&e, NOW).unwrap();
        assert!(coloured.contains("\x1b["), "{coloured:?}");
    }
}
