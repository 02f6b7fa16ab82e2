//! The decoding properties, for every context (`decode_lines` target):
//!
//! - decoding never panics, whatever the bytes;
//! - the first three steps of §2.1 give their codes in their order (`LINE_TOO_LONG`,
//!   `BAD_UTF8`, `MALFORMED` for NUL/CR/LF), and step 4 gives `UNKNOWN_VERB` exactly
//!   when the verb is not one of the context;
//! - whatever decodes encodes back to exactly the same octets (the vectors' promise),
//!   `Display` writes the same line, and the encoding decodes to the same value.

#![allow(dead_code)]

use spec::limits::MAX_LINE;
use spec::{ClientLine, Datagram, DecodeError, ErrorCode, PeerLine, ServerLine};

/// Verbs of `client-line`.
pub const CLIENT_VERBS: &[&str] = &[
    "REGISTER",
    "BROADCAST",
    "PING",
    "PONG",
    "QUIT",
    "LIST",
    "QUERY",
    "SEND",
    "ACK",
    "BLOCK",
    "UNBLOCK",
    "BLOCKS",
    "TICKET",
];
/// Verbs of `server-line`.
pub const SERVER_VERBS: &[&str] = &[
    "UPDATE",
    "LIST",
    "LISTPART",
    "BROADCAST",
    "PING",
    "PONG",
    "BYE",
    "ERR",
    "USER",
    "TOKEN",
    "SENT",
    "MSG",
    "BLOCKED",
    "UNBLOCKED",
    "BLOCKS",
    "BLOCKSPART",
    "TICKET",
    "INVITE",
];
/// Verbs of `peer-line`.
pub const PEER_VERBS: &[&str] = &[
    "HELLO",
    "MSG",
    "ACK",
    "BROADCAST",
    "PING",
    "PONG",
    "QUIT",
    "ERR",
];
/// Verbs of `datagram`.
pub const DATAGRAM_VERBS: &[&str] = &["OFFER", "DM"];

/// The code §2.1 steps 1–4 give `line`, if one of them fails.
pub fn expected_early_code(line: &[u8], verbs: &[&str]) -> Option<ErrorCode> {
    if line.len() > MAX_LINE {
        return Some(ErrorCode::LineTooLong);
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return Some(ErrorCode::BadUtf8);
    };
    if line.iter().any(|&c| matches!(c, 0 | b'\r' | b'\n')) {
        return Some(ErrorCode::Malformed);
    }
    let verb = text.split(':').next().unwrap_or("");
    if !verbs.contains(&verb) {
        return Some(ErrorCode::UnknownVerb);
    }
    None
}

fn check_err(context: &str, line: &[u8], verbs: &[&str], e: &DecodeError) {
    let want = expected_early_code(line, verbs);
    match want {
        Some(code) => assert_eq!(
            e.code, code,
            "{context}: §2.1 steps 1-4 give {code} for {line:?}, the decoder said {e}"
        ),
        None => assert_ne!(
            e.code,
            ErrorCode::UnknownVerb,
            "{context}: the verb of {line:?} is known, yet UNKNOWN_VERB"
        ),
    }
}

fn check_ok<T: PartialEq + std::fmt::Debug + std::fmt::Display>(
    context: &str,
    line: &[u8],
    value: &T,
    encoded: &[u8],
    redecode: impl Fn(&[u8]) -> Result<T, DecodeError>,
) {
    assert_eq!(
        expected_early_code(line, &[]).filter(|c| *c != ErrorCode::UnknownVerb),
        None,
        "{context}: {line:?} decoded although §2.1 steps 1-3 refuse it"
    );
    assert_eq!(
        encoded,
        line,
        "{context}: {line:?} decoded to {value:?}, which encodes to {:?}",
        String::from_utf8_lossy(encoded)
    );
    assert_eq!(value.to_string().as_bytes(), encoded, "{context}: Display");
    match redecode(encoded) {
        Ok(again) => assert_eq!(&again, value, "{context}: decode(encode(x)) != x"),
        Err(e) => panic!("{context}: the encoding of {value:?} does not decode: {e}"),
    }
}

/// Runs every property on `data` in the four contexts.
pub fn check(data: &[u8]) {
    // Client → server.
    match ClientLine::decode(data) {
        Ok(v) => {
            let mut out = Vec::new();
            v.encode(&mut out);
            let body = out.strip_suffix(b"\r\n").unwrap_or(&out);
            check_ok("client", data, &v, body, ClientLine::decode);
        }
        Err(e) => check_err("client", data, CLIENT_VERBS, &e),
    }
    // Server → client.
    match ServerLine::decode(data) {
        Ok(v) => {
            let mut out = Vec::new();
            v.encode(&mut out);
            let body = out.strip_suffix(b"\r\n").unwrap_or(&out);
            check_ok("server", data, &v, body, ServerLine::decode);
        }
        Err(e) => check_err("server", data, SERVER_VERBS, &e),
    }
    // Peer session.
    match PeerLine::decode(data) {
        Ok(v) => {
            let mut out = Vec::new();
            v.encode(&mut out);
            let body = out.strip_suffix(b"\r\n").unwrap_or(&out);
            check_ok("peer", data, &v, body, PeerLine::decode);
        }
        Err(e) => check_err("peer", data, PEER_VERBS, &e),
    }
    // Datagram: one optional eol.
    let content = match data {
        [c @ .., b'\r', b'\n'] | [c @ .., b'\n'] => c,
        c => c,
    };
    match Datagram::decode(data) {
        Ok(v) => {
            let mut out = Vec::new();
            v.encode(&mut out);
            check_ok("datagram", content, &v, &out, Datagram::decode);
        }
        Err(e) => check_err("datagram", content, DATAGRAM_VERBS, &e),
    }
}
