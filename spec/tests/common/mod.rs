//! Shared by the integration tests: loading the vectors, decoding in a context,
//! and proptest strategies for every field and message type.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod requirements;
pub mod strategies;

use std::path::{Path, PathBuf};

use serde_json::Value;
use spec::{ClientLine, Datagram, DecodeError, PeerLine, ServerLine};

/// The crate's directory (`spec/`).
pub fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The four decoding contexts of §3.
pub const CONTEXTS: [&str; 4] = ["client", "server", "peer", "datagram"];

/// Decodes `line` in `context`, as the JSON form of the decoded value.
pub fn decode_in(context: &str, line: &[u8]) -> Result<Value, DecodeError> {
    let to_json = |v: Result<Value, serde_json::Error>| v.expect("wire types serialise");
    match context {
        "client" => ClientLine::decode(line).map(|m| to_json(serde_json::to_value(m))),
        "server" => ServerLine::decode(line).map(|m| to_json(serde_json::to_value(m))),
        "peer" => PeerLine::decode(line).map(|m| to_json(serde_json::to_value(m))),
        "datagram" => Datagram::decode(line).map(|m| to_json(serde_json::to_value(m))),
        other => panic!("unknown context {other}"),
    }
}

/// Decodes `line` in `context` and encodes it again (Display: no terminator).
pub fn reencode_in(context: &str, line: &[u8]) -> Result<String, DecodeError> {
    match context {
        "client" => ClientLine::decode(line).map(|m| m.to_string()),
        "server" => ServerLine::decode(line).map(|m| m.to_string()),
        "peer" => PeerLine::decode(line).map(|m| m.to_string()),
        "datagram" => Datagram::decode(line).map(|m| m.to_string()),
        other => panic!("unknown context {other}"),
    }
}

/// Reads a JSON array of vectors.
pub fn load(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    v.as_array()
        .unwrap_or_else(|| panic!("{}: not an array", path.display()))
        .clone()
}

/// The octets of an entry given as `"<key>"` (a string) or `"<key>_hex"`.
pub fn octets(entry: &Value, key: &str) -> Vec<u8> {
    if let Some(s) = entry.get(key).and_then(Value::as_str) {
        return s.as_bytes().to_vec();
    }
    let hex = entry
        .get(format!("{key}_hex"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("entry {entry} has neither {key} nor {key}_hex"));
    unhex(hex)
}

/// Decodes lower-case hex.
pub fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex length");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The verb of a line (the text up to the first `:`), for coverage checks.
pub fn verb_of(line: &[u8]) -> String {
    let end = line.iter().position(|&b| b == b':').unwrap_or(line.len());
    String::from_utf8_lossy(&line[..end]).into_owned()
}

/// Every verb of each context (§3).
pub fn verbs(context: &str) -> &'static [&'static str] {
    match context {
        "client" => &[
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
        ],
        "server" => &[
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
        ],
        "peer" => &[
            "HELLO",
            "MSG",
            "ACK",
            "BROADCAST",
            "PING",
            "PONG",
            "QUIT",
            "ERR",
        ],
        "datagram" => &["OFFER", "DM"],
        other => panic!("unknown context {other}"),
    }
}
