//! IRC, the client subset the workloads need (RFC 2812 §3.1, §3.2.1, §3.3.1, §3.7.2),
//! and IRCv3 `echo-message` (capability negotiation, `CAP REQ` … `CAP END`) for a
//! sender that wants a receipt of each message.

use super::{Event, RegState, Setup};

/// With `receipt`, the capability is asked for before registering: the server holds
/// the registration until `CAP END`, so the welcome (`001`) comes after its answer.
pub fn open(nick: &str, receipt: bool, out: &mut Vec<u8>) {
    if receipt {
        out.extend_from_slice(b"CAP REQ :echo-message\r\n");
    }
    for part in ["NICK ", nick, "\r\nUSER ", nick, " 0 * :bench\r\n"] {
        out.extend_from_slice(part.as_bytes());
    }
    if receipt {
        out.extend_from_slice(b"CAP END\r\n");
    }
}

/// `PRIVMSG <to> :` — the payload follows.
pub fn prefix(to: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"PRIVMSG ");
    out.extend_from_slice(to.as_bytes());
    out.extend_from_slice(b" :");
}

pub fn on_line<'a>(
    line: &'a [u8],
    state: &mut RegState,
    setup: Setup,
    out: &mut Vec<u8>,
) -> Event<'a> {
    let (source, rest) = match line.strip_prefix(b":") {
        Some(l) => match memchr::memchr(b' ', l) {
            Some(i) => (&l[..i], &l[i + 1..]),
            None => return Event::Nothing,
        },
        None => (&b""[..], line),
    };
    let (cmd, args) = match memchr::memchr(b' ', rest) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b""[..]),
    };
    match cmd {
        b"PING" => {
            out.extend_from_slice(b"PONG ");
            out.extend_from_slice(args);
            out.extend_from_slice(b"\r\n");
            Event::Nothing
        }
        b"001" if *state == RegState::Started => {
            if matches!(setup, Setup::Member | Setup::Both) {
                out.extend_from_slice(b"JOIN #bench\r\n");
                *state = RegState::Joining;
                Event::Nothing
            } else {
                *state = RegState::Ready;
                Event::Ready
            }
        }
        b"366" if *state == RegState::Joining => {
            *state = RegState::Ready;
            Event::Ready
        }
        // Nick errors, bans, channel refusals, and the server closing the link.
        b"432" | b"433" | b"436" | b"465" | b"471" | b"473" | b"474" | b"ERROR" => {
            if *state == RegState::Ready {
                Event::Error(cmd)
            } else {
                Event::Refused(cmd)
            }
        }
        // `CAP <nick> NAK :echo-message`: the server cannot send receipts, and the
        // workload asked for them.
        b"CAP" if args.split(|&b| b == b' ').nth(1) == Some(b"NAK") => {
            Event::Refused(b"CAP NAK echo-message")
        }
        b"QUIT" => Event::Leave(&source[..memchr::memchr(b'!', source).unwrap_or(source.len())]),
        _ => Event::Nothing,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn welcome_join_names() {
        let mut out = Vec::new();
        open("abc00001", false, &mut out);
        assert_eq!(out, b"NICK abc00001\r\nUSER abc00001 0 * :bench\r\n");
        out.clear();
        let mut st = RegState::Started;
        let m = Setup::Member;
        assert_eq!(
            on_line(b":irc.local 001 abc00001 :Welcome", &mut st, m, &mut out),
            Event::Nothing
        );
        assert_eq!(out, b"JOIN #bench\r\n");
        assert_eq!(
            on_line(b"PING :irc.local", &mut st, m, &mut out),
            Event::Nothing
        );
        assert!(out.ends_with(b"PONG :irc.local\r\n"));
        assert_eq!(
            on_line(b":irc.local 366 abc00001 #bench :End", &mut st, m, &mut out),
            Event::Ready
        );
        assert_eq!(
            on_line(b":bob!~bob@127.0.0.1 QUIT :gone", &mut st, m, &mut out),
            Event::Leave(b"bob")
        );
        let mut st = RegState::Started;
        assert_eq!(
            on_line(b":s 001 x :hi", &mut st, Setup::Solo, &mut out),
            Event::Ready
        );
        // The round-trip pair in the broadcast set joins like a member.
        out.clear();
        let mut st = RegState::Started;
        assert_eq!(
            on_line(b":s 001 x :hi", &mut st, Setup::Both, &mut out),
            Event::Nothing
        );
        assert_eq!(out, b"JOIN #bench\r\n");
        let mut st = RegState::Started;
        assert_eq!(
            on_line(b":s 433 * x :in use", &mut st, m, &mut out),
            Event::Refused(b"433")
        );
    }

    #[test]
    fn receipt_asks_for_echo_message_and_a_nak_refuses() {
        let mut out = Vec::new();
        open("abc00001", true, &mut out);
        assert_eq!(
            out,
            b"CAP REQ :echo-message\r\nNICK abc00001\r\nUSER abc00001 0 * :bench\r\nCAP END\r\n"
        );
        let mut st = RegState::Started;
        let s = Setup::Solo;
        assert_eq!(
            on_line(b":irc.local CAP * ACK :echo-message", &mut st, s, &mut out),
            Event::Nothing
        );
        assert_eq!(
            on_line(b":irc.local CAP * NAK :echo-message", &mut st, s, &mut out),
            Event::Refused(b"CAP NAK echo-message")
        );
    }
}
