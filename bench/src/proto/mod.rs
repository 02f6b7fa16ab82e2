//! The three protocols the generator speaks, each reduced to what the workloads need:
//! register, join the broadcast set, send a broadcast or a private message, answer
//! keepalives, and recognise the few lines that matter (ready, refused, error, leave).
//!
//! Deliveries are recognised before any of this, by the payload at the end of a line
//! ([`crate::payload`]); the protocol code only sees the other lines, which are rare
//! once a workload runs.

mod irc;
mod p2pchat;
mod resp;

use crate::payload::{self, Kind};

/// A wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// p2pchat/1 (`spec/PROTOCOL.md`).
    P2pchat,
    /// IRC (RFC 1459/2812 client subset), one channel `#bench`.
    Irc,
    /// RESP pub/sub (redis), one channel `bench`.
    Resp,
}

/// How a connection sets itself up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// Registered and in the broadcast set (p2pchat: registered; IRC: registered and
    /// joined to `#bench`; RESP: subscribed to `bench`).
    Member,
    /// Registered but outside the broadcast set, reachable by private message
    /// (p2pchat: registered, and so still receives broadcasts; IRC: registered, no JOIN;
    /// RESP: subscribed to its own channel `p.<nick>`).
    Solo,
    /// Registered, in the broadcast set, and reachable by private message (p2pchat:
    /// registered; IRC: registered and joined to `#bench`; RESP: subscribed to both
    /// `bench` and `p.<nick>`): the round-trip pair when it gets the background's
    /// broadcasts too, as every p2pchat client does.
    Both,
    /// Sends only (RESP publishers: a subscribed RESP connection cannot PUBLISH).
    /// p2pchat and IRC treat it as `Solo`.
    Publisher,
    /// Connected and nothing else: no registration (to tell what a bare connection
    /// costs a server from what registration adds).
    Bare,
}

/// Where a sender's messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// To everyone in the broadcast set.
    Broadcast,
    /// To one nick.
    Private(String),
}

/// Where a connection is in its set-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegState {
    /// Waiting for the reply that ends the first step.
    Started,
    /// IRC: welcomed, JOIN sent, waiting for the end of NAMES.
    Joining,
    /// Set up.
    Ready,
}

/// What a non-payload line meant.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// Nothing the workload cares about.
    Nothing,
    /// Set-up finished.
    Ready,
    /// Set-up refused; the code or reason.
    Refused(&'a [u8]),
    /// An error line after set-up; its code.
    Error(&'a [u8]),
    /// Someone left; their nick.
    Leave(&'a [u8]),
    /// The server's receipt for a message this connection sent (p2pchat `SENT`, the
    /// RESP reply to `PUBLISH`; an IRC echo is a payload line, counted where payloads
    /// are).
    Receipt,
}

impl Proto {
    /// Its name in results.
    pub fn name(self) -> &'static str {
        match self {
            Proto::P2pchat => "p2pchat",
            Proto::Irc => "irc",
            Proto::Resp => "resp",
        }
    }

    /// Appends the opening lines of a connection; returns its state (a RESP publisher
    /// is ready at once). With `receipt`, an IRC connection asks for IRCv3
    /// `echo-message`, so that it gets each message it sends back as a receipt; the
    /// other protocols always send one (p2pchat `SENT`, RESP's reply to `PUBLISH`).
    pub fn open(
        self,
        nick: &str,
        port: u16,
        setup: Setup,
        receipt: bool,
        out: &mut Vec<u8>,
    ) -> RegState {
        if setup == Setup::Bare {
            return RegState::Ready;
        }
        match self {
            Proto::P2pchat => p2pchat::open(nick, port, out),
            Proto::Irc => irc::open(nick, receipt, out),
            Proto::Resp => return resp::open(nick, setup, out),
        }
        RegState::Started
    }

    /// Handles a line that carries no payload: answers keepalives, advances set-up.
    pub fn on_line<'a>(
        self,
        line: &'a [u8],
        state: &mut RegState,
        setup: Setup,
        out: &mut Vec<u8>,
    ) -> Event<'a> {
        match self {
            Proto::P2pchat => p2pchat::on_line(line, state, out),
            Proto::Irc => irc::on_line(line, state, setup, out),
            Proto::Resp => resp::on_line(line, state),
        }
    }

    /// Handles a line that carries a payload of kind `kind` (p2pchat acknowledges `MSG`).
    #[inline]
    pub fn on_delivery(self, line: &[u8], kind: Kind, out: &mut Vec<u8>) {
        if self == Proto::P2pchat && kind == Kind::Private {
            p2pchat::ack(line, out);
        }
    }

    /// Appends one message from `nick` (sender slot `slot`) to `target`, stamped `now_ns`.
    #[inline]
    pub fn message(self, nick: &str, target: &Target, slot: usize, now_ns: u64, out: &mut Vec<u8>) {
        let kind = match target {
            Target::Broadcast => Kind::Broadcast,
            Target::Private(_) => Kind::Private,
        };
        match (self, target) {
            (Proto::P2pchat, Target::Broadcast) => {
                p2pchat::prefix(b"BROADCAST:", nick, out);
            }
            (Proto::P2pchat, Target::Private(to)) => p2pchat::prefix(b"SEND:", to, out),
            (Proto::Irc, Target::Broadcast) => irc::prefix("#bench", out),
            (Proto::Irc, Target::Private(to)) => irc::prefix(to, out),
            (Proto::Resp, Target::Broadcast) => resp::prefix("bench", out),
            (Proto::Resp, Target::Private(to)) => resp::prefix(&resp::private_channel(to), out),
        }
        payload::write(out, kind, slot, now_ns);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn msg(p: Proto, t: &Target) -> String {
        let mut out = Vec::new();
        p.message("abc00001", t, 3, 5, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn messages_end_in_the_payload() {
        let b = Target::Broadcast;
        let p = Target::Private("abc00002".into());
        assert!(msg(Proto::P2pchat, &b).starts_with("BROADCAST:abc00001:80:pcbxb00003."));
        assert!(msg(Proto::P2pchat, &p).starts_with("SEND:abc00002:80:pcbxp00003."));
        assert!(msg(Proto::Irc, &b).starts_with("PRIVMSG #bench :pcbxb"));
        assert!(msg(Proto::Irc, &p).starts_with("PRIVMSG abc00002 :pcbxp"));
        assert!(
            msg(Proto::Resp, &b).starts_with("*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$80\r\npcbxb")
        );
        assert!(msg(Proto::Resp, &p).contains("$10\r\np.abc00002\r\n$80\r\npcbxp"));
        for p in [Proto::P2pchat, Proto::Irc, Proto::Resp] {
            let s = msg(p, &b);
            assert!(s.ends_with("x\r\n"));
            let last = s.trim_end().rsplit(['\n', ' ', ':']).next().unwrap();
            assert_eq!(last.len(), payload::LEN, "{s}");
        }
    }
}
