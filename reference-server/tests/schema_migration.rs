//! The database schema across versions (`PRAGMA user_version`, `src/store/sqlite.rs`).
//!
//! What exists: one schema version so far (`SCHEMA_VERSION` = 1); the migration
//! mechanism applies every step from the database's `user_version` up to the current
//! one, each in a transaction that also sets `user_version`. So the "older schema"
//! a server can meet today is version 0 (a new or empty file); `fixtures/schema-v1.sql`
//! keeps version 1 as written, independently of the server's code, so that when a
//! version 2 comes these tests open a genuine version 1 database with it.
//!
//! - an empty file, and a database at version 0, are migrated to the current version;
//! - a version 1 database written without the server (rollback journal, hand-made
//!   rows) opens, is migrated to the current version, and is served: ownership,
//!   mailbox, blocks, the id counter;
//! - a migration that fails leaves the database as it was (version and contents);
//! - a database from a newer server is refused, its version and contents untouched.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::TestServer;
use reference_server::store::SCHEMA_VERSION;
use reference_server::{Config, DbPath, Server};
use sha2::{Digest, Sha256};

const V1: &str = include_str!("fixtures/schema-v1.sql");
const BOB_TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn user_version(path: &Path) -> i64 {
    let db = rusqlite::Connection::open(path).unwrap();
    db.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn config(path: &Path) -> Config {
    Config {
        db: DbPath::File(path.to_path_buf()),
        ..common::quick()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_file_and_a_version_0_database_are_migrated() {
    let dir = tempfile::tempdir().unwrap();
    // A zero-length file, as `touch` leaves it.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    // A database at version 0 that already holds something of its owner's.
    let v0 = dir.path().join("v0.db");
    {
        let db = rusqlite::Connection::open(&v0).unwrap();
        db.execute_batch("CREATE TABLE notes (n TEXT); INSERT INTO notes VALUES ('keep me');")
            .unwrap();
        assert_eq!(user_version(&v0), 0);
    }
    for path in [&empty, &v0] {
        let s = TestServer::start(config(path)).await;
        let (mut c, token) = s.registered("alice", 5000).await;
        assert!(token.is_some());
        c.send("QUIT").await;
        c.expect("BYE").await;
        s.stop().await;
        assert_eq!(user_version(path), SCHEMA_VERSION as i64, "{path:?}");
    }
    let db = rusqlite::Connection::open(&v0).unwrap();
    let kept: String = db
        .query_row("SELECT n FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "keep me");
}

/// Writes a version 1 database the way a version 1 server left it: rollback journal
/// (the server switches to WAL when it opens it), an owner, mail, blocks.
fn write_v1(path: &Path, last_id: i64) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(V1).unwrap();
    db.pragma_update(None, "user_version", 1).unwrap();
    let hash = Sha256::digest(BOB_TOKEN.as_bytes()).to_vec();
    db.execute(
        "INSERT INTO owners (key, nick, token_sha256) VALUES ('bob', 'Bob', ?1)",
        [hash],
    )
    .unwrap();
    db.execute(
        "INSERT INTO owners (key, nick, token_sha256) VALUES ('alice', 'alice', ?1)",
        [Sha256::digest(b"ffffffffffffffffffffffffffffffff").to_vec()],
    )
    .unwrap();
    for (id, body) in [(last_id - 1, "written by v1"), (last_id, "and: this, too")] {
        db.execute(
            "INSERT INTO messages (id, recipient, sender, time, body) \
             VALUES (?1, 'bob', 'alice', 1763713200, ?2)",
            rusqlite::params![id, body],
        )
        .unwrap();
    }
    db.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'last_msg_id'",
        [last_id],
    )
    .unwrap();
    db.execute_batch(
        "INSERT INTO blocks (owner, key, nick) VALUES ('bob', 'mallory', 'Mallory');
         INSERT INTO blocks (owner, key, nick) VALUES ('bob', 'eve', 'eve');",
    )
    .unwrap();
    let mode: String = db
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_database_written_without_the_server_is_migrated_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    write_v1(&path, 41);
    let s = TestServer::start(config(&path)).await;
    // Ownership: the nick needs its token, in any case.
    let mut thief = s.client().await;
    thief.send("REGISTER:BOB:127.0.0.1:6666").await;
    thief.expect_err("NICK_OWNED").await;
    let mut bob = s.client().await;
    bob.send(&format!("REGISTER:bob:127.0.0.1:5001:{BOB_TOKEN}"))
        .await;
    bob.expect("UPDATE:JOIN:bob:127.0.0.1:5001").await;
    bob.expect("LIST:bob:127.0.0.1:5001").await; // no TOKEN: the nick was owned
    // The mailbox, in id order.
    bob.expect("MSG:40:alice:1763713200:13:written by v1").await;
    bob.expect("MSG:41:alice:1763713200:14:and: this, too")
        .await;
    // Blocks, in the order and form they were written.
    bob.send("BLOCKS").await;
    bob.expect("BLOCKS:Mallory:eve").await;
    // Ids go on from the stored counter.
    let mut carol = s.client().await;
    carol.register("carol", 5002, None).await;
    carol.send("SEND:bob:2:hi").await;
    carol.expect("SENT:42:LIVE").await;
    bob.expect("UPDATE:JOIN:carol:127.0.0.1:5002").await;
    assert!(bob.line().await.starts_with("MSG:42:carol:"));
    for id in [40, 41, 42] {
        bob.send(&format!("ACK:{id}")).await;
    }
    bob.quiet().await;
    drop((bob, carol, thief));
    s.stop().await;
    assert_eq!(user_version(&path), SCHEMA_VERSION as i64);
    // What was acknowledged is gone; the rest is still there.
    let db = rusqlite::Connection::open(&path).unwrap();
    let left: i64 = db
        .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    let owners: i64 = db
        .query_row("SELECT COUNT(*) FROM owners", [], |r| r.get(0))
        .unwrap();
    assert_eq!(owners, 3);
}

#[test]
fn a_failed_migration_leaves_the_database_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clash.db");
    {
        // Version 0, but with a table the first migration means to create.
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch("CREATE TABLE owners (x INTEGER); INSERT INTO owners VALUES (7);")
            .unwrap();
    }
    let err = Server::open(config(&path)).unwrap_err().to_string();
    assert!(err.contains("cannot open the database"), "{err}");
    assert_eq!(user_version(&path), 0);
    let db = rusqlite::Connection::open(&path).unwrap();
    let x: i64 = db
        .query_row("SELECT x FROM owners", [], |r| r.get(0))
        .unwrap();
    assert_eq!(x, 7);
    let meta: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'meta'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(meta, 0, "half a migration was left behind");
}

#[test]
fn a_database_from_a_newer_server_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    write_v1(&path, 2);
    let newer = SCHEMA_VERSION as i64 + 1;
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.pragma_update(None, "user_version", newer).unwrap();
    }
    let err = Server::open(config(&path)).unwrap_err().to_string();
    assert!(err.contains("newer"), "{err}");
    assert_eq!(user_version(&path), newer);
    let db = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = db
        .query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
}
