//! p2pchat/1, the client side the workloads need (`spec/PROTOCOL.md` §8, §10, §11, §17).

use super::{Event, RegState};

/// `REGISTER:<nick>:127.0.0.1:<port>` ([REG-1]); the port is where the client would
/// receive UDP datagrams, which the benchmark never sends.
pub fn open(nick: &str, port: u16, out: &mut Vec<u8>) {
    out.extend_from_slice(b"REGISTER:");
    out.extend_from_slice(nick.as_bytes());
    out.extend_from_slice(b":127.0.0.1:");
    out.extend_from_slice(port.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `<verb><nick>:80:` — the payload follows.
pub fn prefix(verb: &[u8], nick: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(verb);
    out.extend_from_slice(nick.as_bytes());
    out.extend_from_slice(b":80:");
}

/// Answers `MSG:<id>:...` with `ACK:<id>` ([CLI-5]), so the mailbox never redelivers.
pub fn ack(line: &[u8], out: &mut Vec<u8>) {
    if let Some(rest) = line.strip_prefix(b"MSG:")
        && let Some(end) = memchr::memchr(b':', rest)
    {
        out.extend_from_slice(b"ACK:");
        out.extend_from_slice(&rest[..end]);
        out.extend_from_slice(b"\r\n");
    }
}

pub fn on_line<'a>(line: &'a [u8], state: &mut RegState, out: &mut Vec<u8>) -> Event<'a> {
    if let Some(t) = line.strip_prefix(b"PING:") {
        // [KA-2]: a client answers the server's PING.
        out.extend_from_slice(b"PONG:");
        out.extend_from_slice(t);
        out.extend_from_slice(b"\r\n");
        return Event::Nothing;
    }
    if let Some(rest) = line.strip_prefix(b"ERR:") {
        let code = field(rest);
        return if *state == RegState::Ready {
            Event::Error(code)
        } else {
            Event::Refused(code)
        };
    }
    if *state != RegState::Ready && (line == b"LIST" || line.starts_with(b"LIST:")) {
        *state = RegState::Ready;
        return Event::Ready;
    }
    if line.starts_with(b"SENT:") {
        return Event::Receipt;
    }
    if let Some(rest) = line.strip_prefix(b"UPDATE:LEAVE:") {
        return Event::Leave(field(rest));
    }
    Event::Nothing
}

fn field(s: &[u8]) -> &[u8] {
    &s[..memchr::memchr(b':', s).unwrap_or(s.len())]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn registration_and_keepalive() {
        let mut out = Vec::new();
        open("abc00001", 10001, &mut out);
        assert_eq!(out, b"REGISTER:abc00001:127.0.0.1:10001\r\n");
        let mut st = RegState::Started;
        out.clear();
        assert_eq!(
            on_line(b"UPDATE:JOIN:abc00001:127.0.0.1:10001", &mut st, &mut out),
            Event::Nothing
        );
        assert_eq!(on_line(b"PING:k1", &mut st, &mut out), Event::Nothing);
        assert_eq!(out, b"PONG:k1\r\n");
        assert_eq!(
            on_line(b"LIST:abc00001:127.0.0.1:10001", &mut st, &mut out),
            Event::Ready
        );
        assert_eq!(
            on_line(b"ERR:SLOW_READER:4:slow", &mut st, &mut out),
            Event::Error(b"SLOW_READER")
        );
        assert_eq!(on_line(b"SENT:17:LIVE", &mut st, &mut out), Event::Receipt);
        assert_eq!(
            on_line(b"UPDATE:LEAVE:bob:127.0.0.1:5", &mut st, &mut out),
            Event::Leave(b"bob")
        );
        let mut st = RegState::Started;
        assert_eq!(
            on_line(b"ERR:NICK_IN_USE:2:no", &mut st, &mut out),
            Event::Refused(b"NICK_IN_USE")
        );
    }

    #[test]
    fn msg_is_acknowledged() {
        let mut out = Vec::new();
        ack(b"MSG:17:abc:1763713300:80:pcbx...", &mut out);
        assert_eq!(out, b"ACK:17\r\n");
    }
}
