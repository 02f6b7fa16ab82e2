//! RESP2 pub/sub (redis `SUBSCRIBE`, `PUBLISH`), line by line.
//!
//! A pushed message is `*3`, `$7`, `message`, `$<n>`, `<channel>`, `$80`, `<payload>`:
//! seven lines, of which only the payload line is looked at (it is found by its
//! payload, like every other delivery). Bulk strings never hold CR or LF here.

use super::{Event, RegState, Setup};

pub fn private_channel(nick: &str) -> String {
    format!("p.{nick}")
}

fn bulk(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'$');
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

pub fn open(nick: &str, setup: Setup, out: &mut Vec<u8>) -> RegState {
    let channels = match setup {
        Setup::Member => vec!["bench".to_owned()],
        Setup::Solo => vec![private_channel(nick)],
        // One command: redis subscribes to both before it sends the first reply, so
        // the first reply (which ends the set-up) means both are in place.
        Setup::Both => vec!["bench".to_owned(), private_channel(nick)],
        Setup::Publisher | Setup::Bare => return RegState::Ready,
    };
    out.push(b'*');
    out.extend_from_slice((channels.len() + 1).to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    bulk(b"SUBSCRIBE", out);
    for c in &channels {
        bulk(c.as_bytes(), out);
    }
    RegState::Started
}

/// `PUBLISH <channel>` as a RESP array; the `$80` header and payload follow.
pub fn prefix(channel: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"*3\r\n");
    bulk(b"PUBLISH", out);
    bulk(channel.as_bytes(), out);
    out.extend_from_slice(b"$80\r\n");
}

pub fn on_line<'a>(line: &'a [u8], state: &mut RegState) -> Event<'a> {
    match line.first() {
        // The subscription count closes the SUBSCRIBE reply.
        Some(b':') if *state == RegState::Started => {
            *state = RegState::Ready;
            Event::Ready
        }
        // Once set up, an integer is the reply to a `PUBLISH` (how many received it).
        Some(b':') => Event::Receipt,
        Some(b'-') if *state == RegState::Ready => Event::Error(&line[1..]),
        Some(b'-') => Event::Refused(&line[1..]),
        _ => Event::Nothing,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_reply_ends_setup() {
        let mut out = Vec::new();
        assert_eq!(open("n", Setup::Member, &mut out), RegState::Started);
        assert_eq!(out, b"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n");
        let mut st = RegState::Started;
        for l in [&b"*3"[..], b"$9", b"subscribe", b"$5", b"bench"] {
            assert_eq!(on_line(l, &mut st), Event::Nothing);
        }
        assert_eq!(on_line(b":1", &mut st), Event::Ready);
        // Once set up, an integer is the reply to a PUBLISH: a receipt.
        assert_eq!(on_line(b":1000", &mut st), Event::Receipt);
        out.clear();
        assert_eq!(open("n", Setup::Both, &mut out), RegState::Started);
        assert_eq!(
            out,
            b"*3\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n$3\r\np.n\r\n"
        );
        out.clear();
        assert_eq!(open("n", Setup::Publisher, &mut out), RegState::Ready);
        assert!(out.is_empty());
    }
}
