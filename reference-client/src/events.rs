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
        serde_json::to_string(self).ok().map(escape_controls)
    }
}

/// serde_json escapes the C0 controls (RFC 8259 requires it) but writes DEL and the
/// C1 controls (U+0080 to U+009F, which some terminals obey as 8-bit escapes) as they
/// are. §20 wants every control character escaped, so that a terminal showing the
/// events obeys none of them. They can only occur inside strings (the rest of the JSON
/// is ASCII below DEL), where `\u00XX` stands for the same character.
fn escape_controls(json: String) -> String {
    let is_raw = |c: char| ('\u{7f}'..='\u{9f}').contains(&c);
    if !json.chars().any(is_raw) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_raw(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_control_character_is_escaped() {
        let text: String = (0u32..0x250).filter_map(char::from_u32).collect();
        let e = Event::Broadcast {
            from: "eve".into(),
            text: text.clone(),
        };
        let json = e.to_json().unwrap();
        assert!(!json.chars().any(char::is_control), "{json:?}");
        assert!(json.contains(r"\u001b") && json.contains(r"\u007f") && json.contains(r"\u009b"));
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["text"], text.as_str(), "the same text, escaped");
    }

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
