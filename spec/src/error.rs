//! The error codes of `PROTOCOL.md` §6, and the error a decoder returns.

use std::fmt;

/// A stable error code of `PROTOCOL.md` §6.
///
/// The wire form is the upper-case name, e.g. `BAD_NICK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// A line's content exceeds `MAX_LINE` octets.
    LineTooLong,
    /// A line is not valid UTF-8.
    BadUtf8,
    /// A line breaks the grammar of its verb.
    Malformed,
    /// The verb is not one the receiver knows.
    UnknownVerb,
    /// A nick field breaks the nick rule.
    BadNick,
    /// An `<ip>:<port>` field is not a valid, usable address.
    BadAddress,
    /// `<len>` differs from the octet count of `<text>`.
    BadLength,
    /// `<len>` exceeds `MAX_TEXT`.
    TextTooLong,
    /// The request needs a registered connection.
    NotRegistered,
    /// REGISTER on a registered connection.
    AlreadyRegistered,
    /// The nick is held by another connection.
    NickInUse,
    /// The nick is owned and the token is missing or wrong.
    NickOwned,
    /// A line names a sender other than the connection's own nick.
    NotYourNick,
    /// The named nick is not online (or not known, for SEND).
    NoSuchNick,
    /// SEND, BLOCK or TICKET names the sender itself.
    BadTarget,
    /// The recipient's mailbox is full.
    MailboxFull,
    /// BLOCK of a new nick by a user who holds the server's quota of blocks.
    BlocksFull,
    /// A HELLO's ticket is missing, wrong, expired or used (closes).
    BadTicket,
    /// The connection exceeded the rate limit (closes).
    Flood,
    /// The connection's unsent output exceeded the bound (closes).
    SlowReader,
    /// Idle or partial-line timeout (closes).
    Timeout,
    /// The server is at its connection limit (closes).
    ServerFull,
    /// The server is stopping (closes).
    Shutdown,
    /// The server cannot do it now (storage failed); nothing happened (survives).
    Unavailable,
}

impl ErrorCode {
    /// Every code, in the order of the table in §6.
    pub const ALL: [ErrorCode; 24] = [
        ErrorCode::LineTooLong,
        ErrorCode::BadUtf8,
        ErrorCode::Malformed,
        ErrorCode::UnknownVerb,
        ErrorCode::BadNick,
        ErrorCode::BadAddress,
        ErrorCode::BadLength,
        ErrorCode::TextTooLong,
        ErrorCode::NotRegistered,
        ErrorCode::AlreadyRegistered,
        ErrorCode::NickInUse,
        ErrorCode::NickOwned,
        ErrorCode::NotYourNick,
        ErrorCode::NoSuchNick,
        ErrorCode::BadTarget,
        ErrorCode::MailboxFull,
        ErrorCode::BlocksFull,
        ErrorCode::BadTicket,
        ErrorCode::Flood,
        ErrorCode::SlowReader,
        ErrorCode::Timeout,
        ErrorCode::ServerFull,
        ErrorCode::Shutdown,
        ErrorCode::Unavailable,
    ];

    /// The wire form of the code.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::LineTooLong => "LINE_TOO_LONG",
            ErrorCode::BadUtf8 => "BAD_UTF8",
            ErrorCode::Malformed => "MALFORMED",
            ErrorCode::UnknownVerb => "UNKNOWN_VERB",
            ErrorCode::BadNick => "BAD_NICK",
            ErrorCode::BadAddress => "BAD_ADDRESS",
            ErrorCode::BadLength => "BAD_LENGTH",
            ErrorCode::TextTooLong => "TEXT_TOO_LONG",
            ErrorCode::NotRegistered => "NOT_REGISTERED",
            ErrorCode::AlreadyRegistered => "ALREADY_REGISTERED",
            ErrorCode::NickInUse => "NICK_IN_USE",
            ErrorCode::NickOwned => "NICK_OWNED",
            ErrorCode::NotYourNick => "NOT_YOUR_NICK",
            ErrorCode::NoSuchNick => "NO_SUCH_NICK",
            ErrorCode::BadTarget => "BAD_TARGET",
            ErrorCode::MailboxFull => "MAILBOX_FULL",
            ErrorCode::BlocksFull => "BLOCKS_FULL",
            ErrorCode::BadTicket => "BAD_TICKET",
            ErrorCode::Flood => "FLOOD",
            ErrorCode::SlowReader => "SLOW_READER",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::ServerFull => "SERVER_FULL",
            ErrorCode::Shutdown => "SHUTDOWN",
            ErrorCode::Unavailable => "UNAVAILABLE",
        }
    }

    /// The code with this wire form, if it is one of §6.
    pub fn from_wire(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether a server closes the connection after sending this code (§6).
    pub const fn closes_connection(self) -> bool {
        matches!(
            self,
            ErrorCode::BadTicket
                | ErrorCode::Flood
                | ErrorCode::SlowReader
                | ErrorCode::Timeout
                | ErrorCode::ServerFull
                | ErrorCode::Shutdown
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a line or a field did not decode: the error code of §6 to answer with,
/// and a short human explanation (suitable as the `<text>` of the `ERR` line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct DecodeError {
    /// The code the receiver answers with.
    pub code: ErrorCode,
    /// A short explanation for people.
    pub reason: &'static str,
}

impl DecodeError {
    /// A decode error with this code and explanation.
    pub const fn new(code: ErrorCode, reason: &'static str) -> Self {
        DecodeError { code, reason }
    }
}
