//! The borrowed decode (`ClientLineRef`, `ServerLineRef`) agrees with the owned
//! decode on every input, valid or not: the same error for the same bad line,
//! and for a good line a view whose fields, checked again by the public field
//! constructors, are the owned value's.
//!
//! The owned decode is the borrowed one copied (`into_owned`), so agreement on
//! the outcome holds by construction today; the field checks are the part that
//! could catch a view holding text its owned type would refuse, and the whole
//! test keeps the two in step if the owned decode ever gets its own parser again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::strategies;
use proptest::prelude::*;
use spec::borrowed::{ClientLineRef, NickRef, ServerLineRef, TextRef, UserRef};
use spec::{ClientLine, Nick, PingToken, ServerLine, Text, User};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        ..ProptestConfig::default()
    }
}

fn nick_ok(n: NickRef<'_>, owned: &Nick) {
    assert_eq!(Nick::new(n.as_str()).as_ref(), Ok(owned));
}

fn text_ok(t: TextRef<'_>, owned: &Text) {
    assert_eq!(Text::new(t.as_str()).as_ref(), Ok(owned));
}

fn user_ok(u: UserRef<'_>, owned: &User) {
    nick_ok(u.nick, &owned.nick);
    assert_eq!(u.address.ip.as_str(), owned.address.ip.as_str());
    assert_eq!(u.address.socket_addr(), owned.address.socket_addr());
}

/// Both client decodes of `bytes` agree.
fn client_agree(bytes: &[u8]) {
    let owned = ClientLine::decode(bytes);
    let view = ClientLineRef::decode(bytes);
    match (view, &owned) {
        (Err(a), Err(b)) => assert_eq!(&a, b),
        (Ok(v), Ok(o)) => {
            assert_eq!(&v.into_owned(), o);
            match (v, o) {
                (
                    ClientLineRef::Broadcast { nick, text } | ClientLineRef::Send { nick, text },
                    ClientLine::Broadcast { nick: n, text: t }
                    | ClientLine::Send { nick: n, text: t },
                ) => {
                    nick_ok(nick, n);
                    text_ok(text, t);
                }
                (
                    ClientLineRef::Query { nick }
                    | ClientLineRef::Block { nick }
                    | ClientLineRef::Unblock { nick }
                    | ClientLineRef::Ticket { nick }
                    | ClientLineRef::Register { nick, .. },
                    ClientLine::Query { nick: n }
                    | ClientLine::Block { nick: n }
                    | ClientLine::Unblock { nick: n }
                    | ClientLine::Ticket { nick: n }
                    | ClientLine::Register { nick: n, .. },
                ) => nick_ok(nick, n),
                (
                    ClientLineRef::Ping { token } | ClientLineRef::Pong { token },
                    ClientLine::Ping { token: t } | ClientLine::Pong { token: t },
                ) => assert_eq!(PingToken::new(token.as_str()).as_ref(), Ok(t)),
                _ => {}
            }
        }
        (v, o) => panic!("{bytes:?}: borrowed {v:?}, owned {o:?}"),
    }
}

/// Both server decodes of `bytes` agree.
fn server_agree(bytes: &[u8]) {
    let owned = ServerLine::decode(bytes);
    let view = ServerLineRef::decode(bytes);
    match (view, &owned) {
        (Err(a), Err(b)) => assert_eq!(&a, b),
        (Ok(v), Ok(o)) => {
            assert_eq!(&v.into_owned(), o);
            match (v, o) {
                (
                    ServerLineRef::Broadcast { nick, text },
                    ServerLine::Broadcast { nick: n, text: t },
                ) => {
                    nick_ok(nick, n);
                    text_ok(text, t);
                }
                (ServerLineRef::Msg(m), ServerLine::Msg(mo)) => {
                    nick_ok(m.from, &mo.from);
                    text_ok(m.text, &mo.text);
                }
                (ServerLineRef::Err { text, .. }, ServerLine::Err { text: t, .. }) => {
                    text_ok(text, t);
                }
                (
                    ServerLineRef::Update { user, .. }
                    | ServerLineRef::User { user }
                    | ServerLineRef::Ticket { user, .. }
                    | ServerLineRef::Invite { user, .. },
                    ServerLine::Update { user: u, .. }
                    | ServerLine::User { user: u }
                    | ServerLine::Ticket { user: u, .. }
                    | ServerLine::Invite { user: u, .. },
                ) => user_ok(user, u),
                (
                    ServerLineRef::List { users } | ServerLineRef::ListPart { users },
                    ServerLine::List { users: us } | ServerLine::ListPart { users: us },
                ) => {
                    assert_eq!(users.iter().count(), us.len());
                    users.iter().zip(us).for_each(|(u, uo)| user_ok(u, uo));
                }
                (
                    ServerLineRef::Blocks { nicks } | ServerLineRef::BlocksPart { nicks },
                    ServerLine::Blocks { nicks: ns } | ServerLine::BlocksPart { nicks: ns },
                ) => {
                    assert_eq!(nicks.iter().count(), ns.len());
                    nicks.iter().zip(ns).for_each(|(n, no)| nick_ok(n, no));
                }
                _ => {}
            }
        }
        (v, o) => panic!("{bytes:?}: borrowed {v:?}, owned {o:?}"),
    }
}

fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, u8)>> {
    proptest::collection::vec(
        (
            any::<prop::sample::Index>(),
            prop_oneof![Just(b':'), Just(b'0'), Just(b'\r'), any::<u8>()],
            0u8..3,
        ),
        0..4,
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn client_decodes_agree_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        client_agree(&bytes);
    }

    #[test]
    fn server_decodes_agree_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        server_agree(&bytes);
    }

    #[test]
    fn client_decodes_agree_on_mutated_lines(m in strategies::client_line(), e in edits()) {
        let bytes = strategies::mutate(m.to_string().into_bytes(), e);
        client_agree(&bytes);
        server_agree(&bytes);
    }

    #[test]
    fn server_decodes_agree_on_mutated_lines(m in strategies::server_line(), e in edits()) {
        let bytes = strategies::mutate(m.to_string().into_bytes(), e);
        server_agree(&bytes);
        client_agree(&bytes);
    }
}

/// What the server's state machine answers to `bytes`, both ways: the owned decode and
/// [`ServerConn::on_request`], and [`ServerConn::on_line_ref`] (the reference server's
/// path), on a connection registered or not.
fn server_conn_paths_agree(bytes: &[u8], registered: bool) {
    use spec::machine::server_conn::{ConnLimits, ServerConn, Step, StepRef};
    use std::time::Duration;
    let limits = ConnLimits {
        rate_burst: 0,
        ..ConnLimits::default()
    };
    let t0 = Duration::ZERO;
    let mut owned = ServerConn::new(limits.clone(), t0);
    let mut borrowed = ServerConn::new(limits, t0);
    if registered {
        owned.set_registered();
        borrowed.set_registered();
    }
    let want = match ClientLine::decode(bytes) {
        Err(e) => Step::Reply(ServerLine::error(e.code, e.reason)),
        Ok(cmd) => owned.on_request(cmd),
    };
    let got = match borrowed.on_line_ref(bytes, t0) {
        StepRef::Request(cmd) => Step::Request(cmd.into_owned()),
        StepRef::Step(step) => step,
    };
    assert_eq!(got, want, "{:?}", String::from_utf8_lossy(bytes));
    assert_eq!(borrowed.is_registered(), owned.is_registered());
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn as_ref_is_a_view_of_the_same_line(m in strategies::client_line()) {
        prop_assert_eq!(m.as_ref().into_owned(), m.clone());
        let wire = m.to_string();
        prop_assert_eq!(ClientLineRef::decode(wire.as_bytes()).unwrap(), m.as_ref());
    }

    #[test]
    fn encode_broadcast_writes_what_the_owned_line_encodes(
        nick in strategies::nick(),
        text in strategies::text(),
    ) {
        let mut want = Vec::new();
        ServerLine::Broadcast { nick: nick.clone(), text: text.clone() }.encode(&mut want);
        let mut got = Vec::new();
        ServerLine::encode_broadcast((&nick).into(), (&text).into(), &mut got);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn server_conn_paths_agree_on_mutated_lines(
        m in strategies::client_line(),
        e in edits(),
        registered in any::<bool>(),
    ) {
        let bytes = strategies::mutate(m.to_string().into_bytes(), e);
        server_conn_paths_agree(&bytes, registered);
    }
}
