//! The encoder: the wire form of every message (§3), `Display` for each message
//! type, and the convenience constructors a server or a peer uses most.
//!
//! Encoding writes straight into the caller's buffer, one `extend_from_slice` per
//! field, with no intermediate `String` and no `fmt` machinery; `Display` reuses
//! the same code through a `String`.

use std::fmt;

use crate::address::Address;
use crate::borrowed::{NickRef, TextRef};
use crate::error::{DecodeError, ErrorCode};
use crate::message::{ClientLine, Datagram, Delivery, ErrCode, Msg, PeerLine, ServerLine};
use crate::message::{UpdateKind, User};
use crate::text::Text;

/// Where encoded text goes: the caller's byte buffer, or a `String` for `Display`.
pub(crate) trait Sink {
    /// Appends `s`.
    fn put(&mut self, s: &str);
}

impl Sink for Vec<u8> {
    fn put(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
}

impl Sink for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

/// Appends a decimal number.
fn put_u64<S: Sink>(out: &mut S, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        // `n % 10` is below 10: the cast keeps the value.
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Invariant: `buf[at..]` holds only ASCII digits.
    out.put(std::str::from_utf8(&buf[at..]).unwrap_or("0"));
}

/// `":" <field>`
fn field<S: Sink>(out: &mut S, s: &str) {
    out.put(":");
    out.put(s);
}

/// `":" ip ":" port`, IPv6 in brackets.
fn address<S: Sink>(out: &mut S, a: &Address) {
    if a.ip.is_v6() {
        out.put(":[");
        out.put(a.ip.as_str());
        out.put("]:");
    } else {
        field(out, a.ip.as_str());
        out.put(":");
    }
    put_u64(out, u64::from(a.port.get()));
}

/// `":" nick ":" address`
fn user<S: Sink>(out: &mut S, u: &User) {
    field(out, u.nick.as_str());
    address(out, &u.address);
}

/// `":" len ":" text`
fn text_field<S: Sink>(out: &mut S, t: &str) {
    out.put(":");
    // The length counts octets (§3 `text-field`).
    put_u64(out, t.len() as u64);
    field(out, t);
}

/// `BROADCAST:<nick>:<len>:<text>` (§10), the relayed form.
fn broadcast<S: Sink>(out: &mut S, nick: &str, text: &str) {
    out.put("BROADCAST");
    field(out, nick);
    text_field(out, text);
}

/// `":" msg-id ":" nick ":" time ":" text-field` (after `MSG`).
fn msg<S: Sink>(out: &mut S, m: &Msg) {
    out.put("MSG:");
    put_u64(out, m.id.get());
    field(out, m.from.as_str());
    out.put(":");
    put_u64(out, m.time.secs());
    text_field(out, m.text.as_str());
}

fn err<S: Sink>(out: &mut S, code: &ErrCode, text: &Text) {
    out.put("ERR");
    field(out, code.as_str());
    text_field(out, text.as_str());
}

pub(crate) fn client_line<S: Sink>(l: &ClientLine, out: &mut S) {
    match l {
        ClientLine::Register {
            nick,
            address: a,
            token,
        } => {
            out.put("REGISTER");
            field(out, nick.as_str());
            address(out, a);
            if let Some(t) = token {
                field(out, t.as_str());
            }
        }
        ClientLine::Broadcast { nick, text } => {
            out.put("BROADCAST");
            field(out, nick.as_str());
            text_field(out, text.as_str());
        }
        ClientLine::Ping { token } => {
            out.put("PING");
            field(out, token.as_str());
        }
        ClientLine::Pong { token } => {
            out.put("PONG");
            field(out, token.as_str());
        }
        ClientLine::Quit => out.put("QUIT"),
        ClientLine::List => out.put("LIST"),
        ClientLine::Query { nick } => {
            out.put("QUERY");
            field(out, nick.as_str());
        }
        ClientLine::Send { nick, text } => {
            out.put("SEND");
            field(out, nick.as_str());
            text_field(out, text.as_str());
        }
        ClientLine::Ack { id } => {
            out.put("ACK:");
            put_u64(out, id.get());
        }
        ClientLine::Block { nick } => {
            out.put("BLOCK");
            field(out, nick.as_str());
        }
        ClientLine::Unblock { nick } => {
            out.put("UNBLOCK");
            field(out, nick.as_str());
        }
        ClientLine::Blocks => out.put("BLOCKS"),
        ClientLine::Ticket { nick } => {
            out.put("TICKET");
            field(out, nick.as_str());
        }
    }
}

pub(crate) fn server_line<S: Sink>(l: &ServerLine, out: &mut S) {
    match l {
        ServerLine::Update { kind, user: u } => {
            out.put(match kind {
                UpdateKind::Join => "UPDATE:JOIN",
                UpdateKind::Leave => "UPDATE:LEAVE",
            });
            user(out, u);
        }
        ServerLine::List { users } => {
            out.put("LIST");
            for u in users {
                user(out, u);
            }
        }
        ServerLine::ListPart { users } => {
            out.put("LISTPART");
            for u in users {
                user(out, u);
            }
        }
        ServerLine::Broadcast { nick, text } => broadcast(out, nick.as_str(), text.as_str()),
        ServerLine::Ping { token } => {
            out.put("PING");
            field(out, token.as_str());
        }
        ServerLine::Pong { token } => {
            out.put("PONG");
            field(out, token.as_str());
        }
        ServerLine::Bye => out.put("BYE"),
        ServerLine::Err { code, text } => err(out, code, text),
        ServerLine::User { user: u } => {
            out.put("USER");
            user(out, u);
        }
        ServerLine::Token { nick, token } => {
            out.put("TOKEN");
            field(out, nick.as_str());
            field(out, token.as_str());
        }
        ServerLine::Sent { id, delivery } => {
            out.put("SENT:");
            put_u64(out, id.get());
            field(out, delivery.as_str());
        }
        ServerLine::Msg(m) => msg(out, m),
        ServerLine::Blocked { nick } => {
            out.put("BLOCKED");
            field(out, nick.as_str());
        }
        ServerLine::Unblocked { nick } => {
            out.put("UNBLOCKED");
            field(out, nick.as_str());
        }
        ServerLine::Blocks { nicks } => {
            out.put("BLOCKS");
            for n in nicks {
                field(out, n.as_str());
            }
        }
        ServerLine::BlocksPart { nicks } => {
            out.put("BLOCKSPART");
            for n in nicks {
                field(out, n.as_str());
            }
        }
        ServerLine::Ticket { user: u, ticket } => {
            out.put("TICKET");
            user(out, u);
            field(out, ticket.as_str());
        }
        ServerLine::Invite { user: u, ticket } => {
            out.put("INVITE");
            user(out, u);
            field(out, ticket.as_str());
        }
    }
}

pub(crate) fn peer_line<S: Sink>(l: &PeerLine, out: &mut S) {
    match l {
        PeerLine::Hello { nick, ticket } => {
            out.put("HELLO");
            field(out, nick.as_str());
            if let Some(t) = ticket {
                field(out, t.as_str());
            }
        }
        PeerLine::Msg(m) => msg(out, m),
        PeerLine::Ack { id } => {
            out.put("ACK:");
            put_u64(out, id.get());
        }
        PeerLine::Broadcast { nick, text } => {
            out.put("BROADCAST");
            field(out, nick.as_str());
            text_field(out, text.as_str());
        }
        PeerLine::Ping { token } => {
            out.put("PING");
            field(out, token.as_str());
        }
        PeerLine::Pong { token } => {
            out.put("PONG");
            field(out, token.as_str());
        }
        PeerLine::Quit => out.put("QUIT"),
        PeerLine::Err { code, text } => err(out, code, text),
    }
}

pub(crate) fn datagram<S: Sink>(d: &Datagram, out: &mut S) {
    match d {
        Datagram::Offer { nick, port, ticket } => {
            out.put("OFFER");
            field(out, nick.as_str());
            out.put(":");
            put_u64(out, u64::from(port.get()));
            field(out, ticket.as_str());
        }
        Datagram::Dm { nick, text } => {
            out.put("DM");
            field(out, nick.as_str());
            text_field(out, text.as_str());
        }
    }
}

macro_rules! display_via_sink {
    ($ty:ty, $f:path) => {
        impl fmt::Display for $ty {
            /// The line without its terminator.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut s = String::with_capacity(64);
                $f(self, &mut s);
                f.write_str(&s)
            }
        }
    };
}

display_via_sink!(ClientLine, client_line);
display_via_sink!(ServerLine, server_line);
display_via_sink!(PeerLine, peer_line);
display_via_sink!(Datagram, datagram);

impl Delivery {
    /// The wire form, `LIVE` or `QUEUED`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Delivery::Live => "LIVE",
            Delivery::Queued => "QUEUED",
        }
    }
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl UpdateKind {
    /// The wire form, `JOIN` or `LEAVE`.
    pub const fn as_str(self) -> &'static str {
        match self {
            UpdateKind::Join => "JOIN",
            UpdateKind::Leave => "LEAVE",
        }
    }
}

impl fmt::Display for UpdateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ErrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for User {
    /// The wire form `<nick>:<ip>:<port>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.nick, self.address)
    }
}

/// The text of an `ERR` line: `reason` made valid ([`Text::sanitized`]), or the
/// code's name when nothing is left of it.
fn error_text(code: ErrorCode, reason: &str) -> Text {
    Text::sanitized(reason).unwrap_or_else(|| Text::from_valid(code.as_str()))
}

impl ServerLine {
    /// `ERR:<code>:<len>:<reason>` (§6). The reason is made valid text: NUL, CR
    /// and LF become spaces and it is cut to `MAX_TEXT` octets at a character
    /// boundary; an empty reason is replaced by the code's name.
    pub fn error(code: ErrorCode, reason: &str) -> ServerLine {
        ServerLine::Err {
            code: ErrCode::Known(code),
            text: error_text(code, reason),
        }
    }

    /// Appends `BROADCAST:<nick>:<len>:<text>` and CRLF from borrowed fields: the
    /// bytes [`ServerLine::Broadcast`] encodes, without copying the fields into one
    /// first (a relay's hot path, [BRD-1]).
    pub fn encode_broadcast(nick: NickRef<'_>, text: TextRef<'_>, out: &mut Vec<u8>) {
        broadcast(out, nick.as_str(), text.as_str());
        out.extend_from_slice(b"\r\n");
    }

    /// The `ERR` line that answers a line that did not decode: its code and reason.
    pub fn decode_error(e: &DecodeError) -> ServerLine {
        ServerLine::error(e.code, e.reason)
    }
}

impl PeerLine {
    /// `ERR:<code>:<len>:<reason>` on a peer session, the reason made valid as in
    /// [`ServerLine::error`].
    pub fn error(code: ErrorCode, reason: &str) -> PeerLine {
        PeerLine::Err {
            code: ErrCode::Known(code),
            text: error_text(code, reason),
        }
    }
}
