//! The events a client reports: exactly the events of `PROTOCOL.md` Appendix A.3
//! (serialised as one JSON object per line in automation mode), plus notices for
//! people that automation mode leaves out.

use serde::Serialize;

/// A user as the server names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    /// The nick, as registered.
    pub nick: String,
    /// The IP literal (no brackets).
    pub ip: String,
    /// The port.
    pub port: u16,
}

impl From<&spec::User> for UserInfo {
    fn from(u: &spec::User) -> UserInfo {
        UserInfo {
            nick: u.nick.to_string(),
            ip: u.address.ip.as_str().to_owned(),
            port: u.address.port.get(),
        }
    }
}

/// An open peer session, for the `peers` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerInfo {
    /// The other side's nick.
    pub nick: String,
    /// Its address, `ip:port`.
    pub addr: String,
}

/// How a private message was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageVia {
    /// Through the server (`MSG`).
    Relay,
    /// On a peer session.
    Direct,
    /// As a `DM` datagram.
    Udp,
}

/// How a private message went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SentVia {
    /// Accepted by the server, recipient online.
    Live,
    /// Accepted by the server (or the local outbox), recipient away.
    Queued,
    /// Acknowledged by the peer on a session.
    Direct,
    /// Sent as a datagram.
    Udp,
}

/// Whether a session opened or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// Both HELLOs exchanged.
    Open,
    /// Ended.
    Closed,
}

/// One event (Appendix A.3). Members beyond the listed ones are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Registration finished, or the serverless listener is up.
    Ready {
        /// The own nick.
        nick: String,
        /// The UDP port (hybrid) or the TCP port (serverless).
        port: u16,
    },
    /// A `LIST` reply.
    Users {
        /// The users in registration order.
        users: Vec<UserInfo>,
    },
    /// `UPDATE:JOIN`.
    Join {
        /// Nick.
        nick: String,
        /// IP.
        ip: String,
        /// Port.
        port: u16,
    },
    /// `UPDATE:LEAVE`.
    Leave {
        /// Nick.
        nick: String,
        /// IP.
        ip: String,
        /// Port.
        port: u16,
    },
    /// A `USER` reply.
    User {
        /// Nick.
        nick: String,
        /// IP.
        ip: String,
        /// Port.
        port: u16,
    },
    /// A relayed or mesh broadcast (the own echo included).
    Broadcast {
        /// The sender.
        from: String,
        /// The text, as received.
        text: String,
    },
    /// A private message is shown.
    Message {
        /// The sender.
        from: String,
        /// The text, as received.
        text: String,
        /// How it came.
        via: MessageVia,
        /// The message id (absent for udp).
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// The sender's (or server's) time, Unix seconds (absent for udp).
        #[serde(skip_serializing_if = "Option::is_none")]
        time: Option<u64>,
    },
    /// A private message went out.
    Sent {
        /// The recipient.
        to: String,
        /// How.
        via: SentVia,
        /// The id (absent for udp).
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// The text sent, for people (not written in automation mode).
        #[serde(skip)]
        text: String,
    },
    /// The server confirmed a block (or, serverless, the local block).
    Blocked {
        /// Nick.
        nick: String,
    },
    /// The server confirmed an unblock.
    Unblocked {
        /// Nick.
        nick: String,
    },
    /// A `BLOCKS` reply.
    Blocks {
        /// Blocked nicks.
        nicks: Vec<String>,
    },
    /// A peer session opened or ended.
    Session {
        /// The other side.
        nick: String,
        /// Open or closed.
        state: SessionState,
        /// Its address.
        addr: String,
    },
    /// The open peer sessions.
    Peers {
        /// One per session.
        peers: Vec<PeerInfo>,
    },
    /// An `ERR`, or a local failure (`USAGE`, `UNREACHABLE`).
    Error {
        /// The code.
        code: String,
        /// The explanation.
        text: String,
    },
    /// The `sync` command's answer.
    Sync {
        /// The token given.
        token: String,
    },
    /// The server connection ended.
    Closed {
        /// Why.
        reason: String,
    },
    /// A note for people (interactive mode only; never written in automation mode).
    #[serde(skip)]
    Notice(String),
}

impl Event {
    /// A local failure.
    pub fn error(code: &str, text: impl Into<String>) -> Event {
        Event::Error {
            code: code.to_owned(),
            text: text.into(),
        }
    }

    /// The JSON line of an automation event (without newline), or `None` for a
    /// notice, which automation mode does not write.
    pub fn to_json(&self) -> Option<String> {
        if matches!(self, Event::Notice(_)) {
            return None;
        }
        serde_json::to_string(self).ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_as_in_appendix_a() {
        let e = Event::Sent {
            to: "bob".into(),
            via: SentVia::Queued,
            id: Some(18),
            text: "see you".into(),
        };
        assert_eq!(
            e.to_json().unwrap(),
            r#"{"event":"sent","to":"bob","via":"queued","id":18}"#
        );
        let e = Event::Message {
            from: "bob".into(),
            text: "hi".into(),
            via: MessageVia::Udp,
            id: None,
            time: None,
        };
        assert_eq!(
            e.to_json().unwrap(),
            r#"{"event":"message","from":"bob","text":"hi","via":"udp"}"#
        );
        assert_eq!(
            Event::Sync { token: "s1".into() }.to_json().unwrap(),
            r#"{"event":"sync","token":"s1"}"#
        );
        assert_eq!(Event::Notice("x".into()).to_json(), None);
    }
}
