//! The registry's indexes: the blocked-by index stays the exact reverse of the online
//! users' block lists, and the LIST size stays the sum of the entries.

use spec::{Address, Ip, Nick, Port};

use super::Registry;
use crate::hub::ConnId;

fn nick(s: &str) -> Nick {
    Nick::new(s).expect("valid nick")
}

fn addr() -> Address {
    Address::new(
        Ip::new("127.0.0.1").expect("ip"),
        Port::new(5000).expect("port"),
    )
}

fn key(s: &str) -> String {
    nick(s).key().as_str().to_owned()
}

fn insert(r: &mut Registry, conn: ConnId, n: &str, blocks: &[&str]) {
    let blocks = blocks.iter().map(|b| (key(b), nick(b))).collect();
    r.insert(conn, nick(n), key(n), addr(), blocks);
}

/// The connections that block `nick`, sorted.
fn blockers(r: &Registry, nick: &str) -> Vec<ConnId> {
    let mut v: Vec<ConnId> = r
        .blockers_of(&key(nick))
        .map(|s| s.iter().copied().collect())
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// The index holds (k, c) exactly when the user on c lists k, and no empty set; the LIST size is the sum of the entries.
fn check(r: &Registry) {
    let mut from_lists: Vec<(String, ConnId)> = r
        .iter()
        .flat_map(|(c, o)| o.blocks().iter().map(move |(k, _)| (k.clone(), c)))
        .collect();
    let mut from_index: Vec<(String, ConnId)> = r
        .blocked_by
        .iter()
        .flat_map(|(k, cs)| {
            assert!(!cs.is_empty(), "empty blocked-by entry for {k}");
            cs.iter().map(move |c| (k.clone(), *c))
        })
        .collect();
    from_lists.sort();
    from_index.sort();
    assert_eq!(from_lists, from_index);
    let sum: usize = r.iter().map(|(_, o)| o.entry().len()).sum();
    assert_eq!(r.entries_len(), sum);
}

#[test]
fn blk_blocked_by_follows_block_and_unblock() {
    let mut r = Registry::default();
    insert(&mut r, 1, "alice", &[]);
    insert(&mut r, 2, "bob", &[]);
    insert(&mut r, 3, "carol", &[]);
    r.add_block(1, key("bob"), nick("bob"));
    r.add_block(3, key("bob"), nick("bob"));
    r.add_block(3, key("alice"), nick("alice"));
    check(&r);
    assert!(r.blocks(1, &key("bob")) && r.blocks(3, &key("bob")));
    assert!(!r.blocks(2, &key("bob")) && !r.blocks(1, &key("carol")));
    assert_eq!(blockers(&r, "bob"), [1, 3]);
    r.remove_block(1, &key("bob"));
    check(&r);
    assert_eq!(blockers(&r, "bob"), [3]);
    r.remove_block(3, &key("bob"));
    check(&r);
    assert!(r.blockers_of(&key("bob")).is_none());
    // Unblocking what is not blocked, or for a connection not registered: no change.
    r.remove_block(3, &key("bob"));
    r.add_block(9, key("bob"), nick("bob"));
    check(&r);
    assert!(r.blockers_of(&key("bob")).is_none());
}

#[test]
fn blk_blocking_is_case_insensitive() {
    let mut r = Registry::default();
    insert(&mut r, 1, "alice", &[]);
    r.add_block(1, key("BoB"), nick("BoB"));
    // A second block in another case is the same block: listed once, as first given.
    r.add_block(1, key("bOb"), nick("bOb"));
    check(&r);
    assert!(r.blocks(1, &key("bob")) && r.blocks(1, &key("BOB")));
    let listed: Vec<&str> = r
        .get(1)
        .expect("alice")
        .blocks()
        .iter()
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(listed, ["BoB"]);
    // A user who registers as "BOB" is the blocked one.
    insert(&mut r, 2, "BOB", &[]);
    let bob_key = r.get(2).expect("bob").key.clone();
    assert_eq!(blockers(&r, &bob_key), [1]);
    r.remove_block(1, &key("BOB"));
    check(&r);
    assert!(!r.blocks(1, &bob_key));
}

#[test]
fn blk_index_survives_disconnect_and_reregistration() {
    let mut r = Registry::default();
    insert(&mut r, 1, "alice", &["bob", "carol"]);
    insert(&mut r, 2, "dave", &["bob"]);
    check(&r);
    assert_eq!(blockers(&r, "bob"), [1, 2]);
    // Disconnect: alice's blocks leave the index with her.
    let gone = r.remove(1).expect("alice was online");
    check(&r);
    assert_eq!(blockers(&r, "bob"), [2]);
    assert!(r.blockers_of(&key("carol")).is_none());
    // Re-registration on another connection, her list back from the store ([BLK-8]).
    let blocks = gone.blocks().to_vec();
    r.insert(5, gone.nick, gone.key, gone.address, blocks);
    check(&r);
    assert!(r.blocks(5, &key("carol")) && r.blocks(5, &key("bob")));
    assert!(!r.blocks(1, &key("bob")));
    r.remove(2);
    r.remove(5);
    check(&r);
    assert!(r.blocked_by.is_empty());
    assert_eq!(r.entries_len(), 0);
}

#[test]
fn blk_duplicate_stored_blocks_are_indexed_once() {
    let mut r = Registry::default();
    insert(&mut r, 1, "alice", &["bob", "Bob"]);
    check(&r);
    assert_eq!(r.get(1).expect("alice").blocks().len(), 1);
    r.remove_block(1, &key("bob"));
    check(&r);
    assert!(!r.blocks(1, &key("bob")));
}
