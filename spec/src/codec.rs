//! The public decode/encode API. The nom parsers in `parse/` and the encoder in
//! `encode.rs` implement it.
//!
//! Contract:
//! - `decode` takes one line WITHOUT its terminator (the framer strips CRLF/LF) and
//!   checks it in the order of §2.1, returning the first failure's code
//!   (steps 1–3 are [`CheckedLine::new`], in `checked.rs`):
//!   1. more than `MAX_LINE` octets → `LINE_TOO_LONG` (the framer normally finds
//!      this first; `decode` checks it too, so that it is total);
//!   2. not UTF-8 → `BAD_UTF8`;
//!   3. a NUL, CR or LF anywhere → `MALFORMED` (the terminator is not part of the
//!      line, so any CR left is stray);
//!   4. the verb (the text up to the first `:`, or the whole line, even empty) not
//!      one of this context → `UNKNOWN_VERB` (case-sensitive);
//!   5. and 6. the fields from left to right, see `parse/mod.rs` for how a line is
//!      cut into fields (missing, empty and extra fields).
//! - `encode` appends the line AND its CRLF terminator to `out` (a datagram: no
//!   terminator).
//! - `Display` writes the line without terminator.
//!
//! Decoding never panics, whatever the bytes.

use crate::borrowed::{ClientLineRef, ServerLineRef};
use crate::checked::CheckedLine;
use crate::error::DecodeError;
use crate::{ClientLine, Datagram, PeerLine, ServerLine, encode, parse};

impl<'a> ClientLineRef<'a> {
    /// Decodes a client → server line (§3 `client-line`), without its terminator,
    /// into a view that borrows its text from `line` (no allocation). Same checks,
    /// same errors as [`ClientLine::decode`].
    pub fn decode(line: &'a [u8]) -> Result<ClientLineRef<'a>, DecodeError> {
        Self::decode_checked(CheckedLine::new(line)?)
    }

    /// [`ClientLineRef::decode`] of a line that already passed §2.1 steps 1–3
    /// (from [`Framer::feed_checked`](crate::Framer::feed_checked), which checks
    /// a whole read at once): only the grammar is left to check.
    pub fn decode_checked(line: CheckedLine<'a>) -> Result<ClientLineRef<'a>, DecodeError> {
        parse::client_line(line.as_str())
    }
}

impl<'a> ServerLineRef<'a> {
    /// Decodes a server → client line (§3 `server-line`), without its terminator,
    /// into a view that borrows its text from `line` (no allocation). Same checks,
    /// same errors as [`ServerLine::decode`].
    pub fn decode(line: &'a [u8]) -> Result<ServerLineRef<'a>, DecodeError> {
        Self::decode_checked(CheckedLine::new(line)?)
    }

    /// [`ServerLineRef::decode`] of a line that already passed §2.1 steps 1–3
    /// (see [`ClientLineRef::decode_checked`]).
    pub fn decode_checked(line: CheckedLine<'a>) -> Result<ServerLineRef<'a>, DecodeError> {
        parse::server_line(line.as_str())
    }
}

impl ClientLine {
    /// Decodes a client → server line (§3 `client-line`), without its terminator.
    ///
    /// The borrowed decode, copied: see [`ClientLineRef::decode`] for a decode
    /// that does not allocate.
    pub fn decode(line: &[u8]) -> Result<ClientLine, DecodeError> {
        ClientLineRef::decode(line).map(ClientLineRef::into_owned)
    }
    /// Appends the wire form and CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode::client_line(self, out);
        out.extend_from_slice(b"\r\n");
    }
}

impl ServerLine {
    /// Decodes a server → client line (§3 `server-line`), without its terminator.
    ///
    /// The borrowed decode, copied: see [`ServerLineRef::decode`] for a decode
    /// that does not allocate.
    pub fn decode(line: &[u8]) -> Result<ServerLine, DecodeError> {
        ServerLineRef::decode(line).map(ServerLineRef::into_owned)
    }
    /// Appends the wire form and CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode::server_line(self, out);
        out.extend_from_slice(b"\r\n");
    }
}

impl PeerLine {
    /// Decodes a peer-session line (§3 `peer-line`), without its terminator.
    pub fn decode(line: &[u8]) -> Result<PeerLine, DecodeError> {
        parse::peer_line(CheckedLine::new(line)?.as_str())
    }
    /// Appends the wire form and CRLF.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode::peer_line(self, out);
        out.extend_from_slice(b"\r\n");
    }
}

impl Datagram {
    /// Decodes a UDP datagram (§3 `datagram`); a trailing CRLF or LF is allowed
    /// (one only: the `eol` of the rule). The content before it is checked as a
    /// line, `MAX_LINE` included.
    pub fn decode(dgram: &[u8]) -> Result<Datagram, DecodeError> {
        let content = match dgram {
            [c @ .., b'\r', b'\n'] | [c @ .., b'\n'] => c,
            c => c,
        };
        parse::datagram(CheckedLine::new(content)?.as_str())
    }
    /// Appends the wire form, WITHOUT a terminator.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode::datagram(self, out);
    }
}
