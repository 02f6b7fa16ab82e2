//! The edge cases of decoding that `parse/mod.rs` documents, one assertion each,
//! and a round trip of every example line of `PROTOCOL.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use spec::{ClientLine, Datagram, ErrCode, ErrorCode, PeerLine, ServerLine};

fn client(line: &str) -> Result<ClientLine, ErrorCode> {
    ClientLine::decode(line.as_bytes()).map_err(|e| e.code)
}
fn server(line: &str) -> Result<ServerLine, ErrorCode> {
    ServerLine::decode(line.as_bytes()).map_err(|e| e.code)
}
fn peer(line: &str) -> Result<PeerLine, ErrorCode> {
    PeerLine::decode(line.as_bytes()).map_err(|e| e.code)
}
fn dgram(line: &str) -> Result<Datagram, ErrorCode> {
    Datagram::decode(line.as_bytes()).map_err(|e| e.code)
}

#[test]
fn brief_edge_cases() {
    use ErrorCode::*;
    assert_eq!(client("QUIT:"), Err(Malformed));
    assert_eq!(client("LIST:"), Err(Malformed));
    assert_eq!(client("REGISTER:bob:1.2.3.4:5000:"), Err(Malformed));
    assert_eq!(client("REGISTER::1.2.3.4:5000"), Err(BadNick));
    assert_eq!(client("REGISTER:bob"), Err(Malformed));
    assert_eq!(client("REGISTER:bob:"), Err(BadAddress));
    assert_eq!(client("REGISTER:bob:1.2.3.4"), Err(BadAddress));
    assert_eq!(client("register:bob:1.2.3.4:5"), Err(UnknownVerb));
    assert_eq!(client(""), Err(UnknownVerb));
    assert_eq!(server("UPDATE:FOO:bob:1.2.3.4:5000"), Err(Malformed));
    assert_eq!(server("LIST:"), Err(BadNick));
    assert_eq!(server("LIST:bob"), Err(Malformed));
    assert_eq!(server("BLOCKS:"), Err(BadNick));
    assert_eq!(
        server("ERR:SOMETHING_NEW:2:hi"),
        Ok(ServerLine::Err {
            code: ErrCode::Other("SOMETHING_NEW".into()),
            text: spec::Text::new("hi").unwrap()
        })
    );
    assert_eq!(
        client("BROADCAST:bob:99999999999999999999999:x"),
        Err(TextTooLong)
    );
    assert_eq!(client("BROADCAST:bob:1025:x"), Err(TextTooLong));
    assert_eq!(client("BROADCAST:bob:05:hello"), Err(Malformed));
    assert_eq!(client("BROADCAST:bob:5"), Err(Malformed));
    assert_eq!(client("BROADCAST:bob:5:"), Err(BadLength));
    assert_eq!(client("BROADCAST:bob:4:hello"), Err(BadLength));
    assert_eq!(client("BROADCAST:b!b:4:hello"), Err(BadNick));
    assert_eq!(
        client("BROADCAST:bob:6:h\u{e9}llo"),
        client("BROADCAST:bob:6:h\u{e9}llo")
    );
    assert!(client("BROADCAST:bob:6:h\u{e9}llo").is_ok());
    assert_eq!(client("BROADCAST:bob:5:a\0cde"), Err(Malformed));
    assert_eq!(
        ClientLine::decode(b"BROADCAST:bob:1:\xff").map_err(|e| e.code),
        Err(BadUtf8)
    );
    assert_eq!(peer("HELLO:bob:"), Err(Malformed));
    assert!(peer("HELLO:bob").is_ok());
    assert_eq!(
        dgram("OFFER:bob:0:9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b"),
        Err(BadAddress)
    );
    assert!(dgram("OFFER:bob:1:9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b\r\n").is_ok());
    assert_eq!(dgram("DM:bob:2:hi\n\n"), Err(Malformed));
}

#[test]
fn protocol_examples_round_trip() {
    let client_lines = [
        "REGISTER:alice:192.168.1.10:5000",
        "REGISTER:bob:[fe80::1]:5001",
        "REGISTER:bob:[fe80::1]:5001:0d9e8c7b6a5f4e3d2c1b0a9f8e7d6c5b",
        "BROADCAST:alice:11:hello: all!",
        "SEND:bob:9:hi there!",
        "ACK:17",
        "QUERY:BOB",
        "LIST",
        "QUIT",
        "BLOCKS",
        "PING:abc123",
        "TICKET:bob",
    ];
    for l in client_lines {
        let d = client(l).unwrap();
        assert_eq!(d.to_string(), l);
        let mut v = Vec::new();
        d.encode(&mut v);
        assert_eq!(v, format!("{l}\r\n").into_bytes());
    }
    let server_lines = [
        "UPDATE:JOIN:alice:192.168.1.10:5000",
        "TOKEN:alice:4f1c2b0e9a7d3c5b8e6f1a2d4c7b9e03",
        "LIST:alice:192.168.1.10:5000:bob:[fe80::1]:5001",
        "LIST",
        "ERR:NO_SUCH_NICK:13:carol is away", // PROTOCOL.md §9 says 14: a defect
        "SENT:17:LIVE",
        "MSG:17:alice:1763713200:9:hi there!",
        "BLOCKS:alice",
        "INVITE:alice:192.168.1.10:5000:9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b",
        "TICKET:bob:[fe80::1]:5001:9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b",
        "USER:bob:[fe80::1]:5001",
        "BYE",
    ];
    for l in server_lines {
        assert_eq!(server(l).unwrap().to_string(), l);
    }
    for l in [
        "HELLO:bob:9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b",
        "MSG:1:alice:1763713300:5:hello",
        "QUIT",
    ] {
        assert_eq!(peer(l).unwrap().to_string(), l);
    }
    for l in [
        "OFFER:alice:40123:9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b",
        "DM:alice:12:quick hello!",
    ] {
        assert_eq!(dgram(l).unwrap().to_string(), l);
    }
}

#[test]
fn error_constructor() {
    let e = ServerLine::error(ErrorCode::BadNick, "");
    assert_eq!(e.to_string(), "ERR:BAD_NICK:8:BAD_NICK");
    let e = ServerLine::error(ErrorCode::Malformed, "a\r\nb");
    assert_eq!(e.to_string(), "ERR:MALFORMED:4:a  b");
    let long = "\u{e9}".repeat(600);
    let e = ServerLine::error(ErrorCode::Malformed, &long);
    let s = e.to_string();
    assert!(ServerLine::decode(s.as_bytes()).is_ok());
    assert_eq!(s, format!("ERR:MALFORMED:1024:{}", "\u{e9}".repeat(512)));
}
