//! decode(encode(x)) == x for every message type, over generated values; the
//! encoded form is the `Display` form plus CRLF; and decoding never panics, on
//! any bytes and on mutations of valid lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::strategies;
use proptest::prelude::*;
use spec::limits::MAX_LINE;
use spec::{ClientLine, Datagram, PeerLine, ServerLine};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        ..ProptestConfig::default()
    }
}

/// Checks the encoding of one line: Display + CRLF, within MAX_LINE, no stray
/// CR/LF/NUL inside.
fn check_line(encoded: &[u8], display: &str) {
    let (content, eol) = encoded.split_at(encoded.len() - 2);
    assert_eq!(eol, b"\r\n");
    assert_eq!(content, display.as_bytes());
    assert!(content.len() <= MAX_LINE, "{} octets", content.len());
    assert!(!content.iter().any(|b| matches!(b, 0 | b'\r' | b'\n')));
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn client_lines(m in strategies::client_line()) {
        let mut out = Vec::new();
        m.encode(&mut out);
        check_line(&out, &m.to_string());
        prop_assert_eq!(ClientLine::decode(&out[..out.len() - 2]), Ok(m));
    }

    #[test]
    fn server_lines(m in strategies::server_line()) {
        let mut out = Vec::new();
        m.encode(&mut out);
        check_line(&out, &m.to_string());
        prop_assert_eq!(ServerLine::decode(&out[..out.len() - 2]), Ok(m));
    }

    #[test]
    fn peer_lines(m in strategies::peer_line()) {
        let mut out = Vec::new();
        m.encode(&mut out);
        check_line(&out, &m.to_string());
        prop_assert_eq!(PeerLine::decode(&out[..out.len() - 2]), Ok(m));
    }

    #[test]
    fn datagrams(m in strategies::datagram()) {
        let mut out = Vec::new();
        m.encode(&mut out);
        prop_assert_eq!(std::str::from_utf8(&out).unwrap(), m.to_string());
        prop_assert_eq!(Datagram::decode(&out), Ok(m.clone()));
        out.extend_from_slice(b"\r\n");
        prop_assert_eq!(Datagram::decode(&out), Ok(m.clone()));
        out.remove(out.len() - 2);
        prop_assert_eq!(Datagram::decode(&out), Ok(m));
    }

    #[test]
    fn encode_appends(a in strategies::client_line(), b in strategies::client_line()) {
        let mut out = Vec::new();
        a.encode(&mut out);
        b.encode(&mut out);
        prop_assert_eq!(out, format!("{a}\r\n{b}\r\n").into_bytes());
    }

    #[test]
    fn error_constructor_always_valid(reason in any::<String>(), i in 0usize..22) {
        let code = spec::ErrorCode::ALL[i];
        let line = ServerLine::error(code, &reason).to_string();
        prop_assert!(ServerLine::decode(line.as_bytes()).is_ok());
        let line = PeerLine::error(code, &reason).to_string();
        prop_assert!(PeerLine::decode(line.as_bytes()).is_ok());
    }
}

fn decode_all(bytes: &[u8]) {
    let _ = ClientLine::decode(bytes);
    let _ = ServerLine::decode(bytes);
    let _ = PeerLine::decode(bytes);
    let _ = Datagram::decode(bytes);
}

/// Bytes that look like lines: verbs, separators, digits, brackets, hex.
fn line_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        proptest::sample::select(vec![
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
            "UPDATE",
            "JOIN",
            "LEAVE",
            "BYE",
            "ERR",
            "USER",
            "TOKEN",
            "SENT",
            "LIVE",
            "QUEUED",
            "MSG",
            "BLOCKED",
            "UNBLOCKED",
            "INVITE",
            "HELLO",
            "OFFER",
            "DM",
            ":",
            "::",
            "[",
            "]",
            "[::1]",
            "1.2.3.4",
            "5000",
            "0",
            "1024",
            "1025",
            "99999999999999999999999",
            "alice",
            "\u{e9}",
            "\r",
            "\n",
            "\0",
            "9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 0..4),
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decode_never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        decode_all(&bytes);
    }

    #[test]
    fn decode_never_panics_on_line_like_bytes(bytes in line_like()) {
        decode_all(&bytes);
    }

    #[test]
    fn decode_never_panics_on_mutated_lines(
        m in strategies::server_line(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        decode_all(&strategies::mutate(m.to_string().into_bytes(), edits));
    }

    /// A decoded line re-encodes to the same octets, whatever it was.
    #[test]
    fn whatever_decodes_reencodes_identically(bytes in line_like()) {
        if let Ok(m) = ClientLine::decode(&bytes) {
            prop_assert_eq!(m.to_string().into_bytes(), bytes.clone());
        }
        if let Ok(m) = ServerLine::decode(&bytes) {
            prop_assert_eq!(m.to_string().into_bytes(), bytes.clone());
        }
        if let Ok(m) = PeerLine::decode(&bytes) {
            prop_assert_eq!(m.to_string().into_bytes(), bytes.clone());
        }
    }
}
