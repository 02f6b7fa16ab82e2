//! Proptest strategies for every field type and every wire type. Every value they
//! generate is valid; the encoder's output must decode back to it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;
use spec::limits::{MAX_MSG_ID, MAX_TIME};
use spec::{
    Address, ClientLine, Datagram, Delivery, ErrCode, ErrorCode, Ip, Msg, MsgId, Nick, PeerLine,
    PingToken, Port, ServerLine, Text, Ticket, Timestamp, Token, UpdateKind, User,
};

/// `nick = 1*32nickchar`
pub fn nick() -> impl Strategy<Value = Nick> {
    "[A-Za-z0-9_-]{1,32}".prop_map(|s| Nick::new(&s).unwrap())
}

/// `ping-token = 1*32nickchar`
pub fn ping_token() -> impl Strategy<Value = PingToken> {
    "[A-Za-z0-9_-]{1,32}".prop_map(|s| PingToken::new(&s).unwrap())
}

/// `text = 1*lchar`, at most `MAX_TEXT` octets: ASCII with many `:`, any Unicode,
/// and long runs up to the limit.
pub fn text() -> impl Strategy<Value = Text> {
    prop_oneof![
        "[ -~]{1,64}",
        "[a-z0-9:]{1,16}",
        vec(
            any::<char>().prop_filter("lchar", |c| !matches!(c, '\0' | '\r' | '\n')),
            1..64
        )
        .prop_map(String::from_iter),
        (1usize..=1024).prop_map(|n| ":".repeat(n)),
        (1usize..=600).prop_map(|n| "\u{e9}".repeat(n)),
    ]
    .prop_map(|s| Text::sanitized(&s).unwrap())
}

/// 32 lower-case hex digits.
pub fn token() -> impl Strategy<Value = Token> {
    any::<[u8; 16]>().prop_map(Token::from_random)
}

/// 32 lower-case hex digits.
pub fn ticket() -> impl Strategy<Value = Ticket> {
    any::<[u8; 16]>().prop_map(Ticket::from_random)
}

/// `msg-id`, 1 to 2^53 − 1, biased to the ends.
pub fn msg_id() -> impl Strategy<Value = MsgId> {
    prop_oneof![1u64..=100, 1u64..=MAX_MSG_ID, Just(MAX_MSG_ID)]
        .prop_map(|n| MsgId::new(n).unwrap())
}

/// `time`, 0 to 99999999999.
pub fn time() -> impl Strategy<Value = Timestamp> {
    prop_oneof![Just(0u64), 0u64..=MAX_TIME, Just(MAX_TIME)]
        .prop_map(|n| Timestamp::new(n).unwrap())
}

/// `port`, 1 to 65535.
pub fn port() -> impl Strategy<Value = Port> {
    prop_oneof![Just(1u16), 1u16..=65535, Just(65535u16)].prop_map(|n| Port::new(n).unwrap())
}

/// An IP literal in every form the grammar allows: IPv4; IPv6 compressed,
/// upper-case, fully written out with leading zeros, and with an embedded IPv4.
pub fn ip() -> impl Strategy<Value = Ip> {
    let v4 = any::<[u8; 4]>()
        .prop_filter("specified", |b| *b != [0; 4])
        .prop_map(|b| Ip::from(IpAddr::V4(Ipv4Addr::from(b))));
    let v6 = (
        any::<[u8; 16]>().prop_filter("specified", |b| *b != [0; 16]),
        0u8..4,
    )
        .prop_map(|(b, form)| {
            let a = Ipv6Addr::from(b);
            let text = match form {
                0 => a.to_string(),
                1 => a.to_string().to_uppercase(),
                2 => a
                    .segments()
                    .iter()
                    .map(|s| format!("{s:04x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
                _ => {
                    let v4 = Ipv4Addr::from([b[12], b[13], b[14], b[15]]);
                    format!("::ffff:{v4}")
                }
            };
            Ip::new(&text).unwrap()
        });
    prop_oneof![v4, v6, Just(Ip::new("::1").unwrap())]
}

/// `address = ip ":" port`
pub fn address() -> impl Strategy<Value = Address> {
    (ip(), port()).prop_map(|(ip, port)| Address::new(ip, port))
}

/// `nick ":" address`
pub fn user() -> impl Strategy<Value = User> {
    (nick(), address()).prop_map(|(nick, address)| User { nick, address })
}

/// A code of §6, or an unknown well-formed one.
pub fn err_code() -> impl Strategy<Value = ErrCode> {
    prop_oneof![
        proptest::sample::select(ErrorCode::ALL.to_vec()).prop_map(ErrCode::Known),
        "[A-Z_]{1,32}"
            .prop_filter("not a known code", |s| ErrorCode::from_wire(s).is_none())
            .prop_map(ErrCode::Other),
    ]
}

/// `msg`'s fields.
pub fn msg() -> impl Strategy<Value = Msg> {
    (msg_id(), nick(), time(), text()).prop_map(|(id, from, time, text)| Msg {
        id,
        from,
        time,
        text,
    })
}

/// Every `client-line`.
pub fn client_line() -> impl Strategy<Value = ClientLine> {
    prop_oneof![
        (nick(), address(), proptest::option::of(token())).prop_map(|(nick, address, token)| {
            ClientLine::Register {
                nick,
                address,
                token,
            }
        }),
        (nick(), text()).prop_map(|(nick, text)| ClientLine::Broadcast { nick, text }),
        ping_token().prop_map(|token| ClientLine::Ping { token }),
        ping_token().prop_map(|token| ClientLine::Pong { token }),
        Just(ClientLine::Quit),
        Just(ClientLine::List),
        nick().prop_map(|nick| ClientLine::Query { nick }),
        (nick(), text()).prop_map(|(nick, text)| ClientLine::Send { nick, text }),
        msg_id().prop_map(|id| ClientLine::Ack { id }),
        nick().prop_map(|nick| ClientLine::Block { nick }),
        nick().prop_map(|nick| ClientLine::Unblock { nick }),
        Just(ClientLine::Blocks),
        nick().prop_map(|nick| ClientLine::Ticket { nick }),
    ]
}

/// Every `server-line`. Lists stay short enough for one line (`MAX_LINE`).
pub fn server_line() -> impl Strategy<Value = ServerLine> {
    prop_oneof![
        (
            prop_oneof![Just(UpdateKind::Join), Just(UpdateKind::Leave)],
            user()
        )
            .prop_map(|(kind, user)| ServerLine::Update { kind, user }),
        vec(user(), 0..20).prop_map(|users| ServerLine::List { users }),
        vec(user(), 1..20).prop_map(|users| ServerLine::ListPart { users }),
        (nick(), text()).prop_map(|(nick, text)| ServerLine::Broadcast { nick, text }),
        ping_token().prop_map(|token| ServerLine::Ping { token }),
        ping_token().prop_map(|token| ServerLine::Pong { token }),
        Just(ServerLine::Bye),
        (err_code(), text()).prop_map(|(code, text)| ServerLine::Err { code, text }),
        user().prop_map(|user| ServerLine::User { user }),
        (nick(), token()).prop_map(|(nick, token)| ServerLine::Token { nick, token }),
        (
            msg_id(),
            prop_oneof![Just(Delivery::Live), Just(Delivery::Queued)]
        )
            .prop_map(|(id, delivery)| ServerLine::Sent { id, delivery }),
        msg().prop_map(ServerLine::Msg),
        nick().prop_map(|nick| ServerLine::Blocked { nick }),
        nick().prop_map(|nick| ServerLine::Unblocked { nick }),
        vec(nick(), 0..40).prop_map(|nicks| ServerLine::Blocks { nicks }),
        vec(nick(), 1..40).prop_map(|nicks| ServerLine::BlocksPart { nicks }),
        (user(), ticket()).prop_map(|(user, ticket)| ServerLine::Ticket { user, ticket }),
        (user(), ticket()).prop_map(|(user, ticket)| ServerLine::Invite { user, ticket }),
    ]
}

/// Every `peer-line`.
pub fn peer_line() -> impl Strategy<Value = PeerLine> {
    prop_oneof![
        (nick(), proptest::option::of(ticket()))
            .prop_map(|(nick, ticket)| PeerLine::Hello { nick, ticket }),
        msg().prop_map(PeerLine::Msg),
        msg_id().prop_map(|id| PeerLine::Ack { id }),
        (nick(), text()).prop_map(|(nick, text)| PeerLine::Broadcast { nick, text }),
        ping_token().prop_map(|token| PeerLine::Ping { token }),
        ping_token().prop_map(|token| PeerLine::Pong { token }),
        Just(PeerLine::Quit),
        (err_code(), text()).prop_map(|(code, text)| PeerLine::Err { code, text }),
    ]
}

/// Every `datagram`.
pub fn datagram() -> impl Strategy<Value = Datagram> {
    prop_oneof![
        (nick(), port(), ticket()).prop_map(|(nick, port, ticket)| Datagram::Offer {
            nick,
            port,
            ticket
        }),
        (nick(), text()).prop_map(|(nick, text)| Datagram::Dm { nick, text }),
    ]
}

/// `bytes` after a few random replacements, insertions and removals.
pub fn mutate(mut bytes: Vec<u8>, edits: Vec<(prop::sample::Index, u8, u8)>) -> Vec<u8> {
    for (at, byte, op) in edits {
        if bytes.is_empty() {
            bytes.push(byte);
            continue;
        }
        let i = at.index(bytes.len());
        match op {
            0 => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            _ => {
                bytes.remove(i);
            }
        }
    }
    bytes
}
