//! The durable store: one SQLite database (WAL), versioned migrations.
//!
//! Durability choice ([RLY-5]): the database runs in WAL mode with `synchronous=NORMAL`
//! by default. Each `SEND` is one committed transaction, appended to the WAL with a
//! `write()` before `enqueue` returns, so the message survives any crash of the server
//! process (`kill -9`): the bytes are in the operating system's page cache, and SQLite
//! replays the WAL at the next open. It does not survive a power loss or kernel crash
//! between the commit and the next checkpoint; `synchronous=FULL` (`--fsync`) adds an
//! fsync per commit for that, at the cost of latency.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use spec::{Msg, MsgId, Nick, Text, Timestamp};

use super::{Store, StoreError, TokenHash, next_id};

/// Schema migrations: entry `i` takes the database from `user_version` `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: ownership, mailbox, blocks.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
     INSERT INTO meta (key, value) VALUES ('last_msg_id', 0);
     CREATE TABLE owners (
         key TEXT PRIMARY KEY,
         nick TEXT NOT NULL,
         token_sha256 BLOB NOT NULL
     ) STRICT;
     CREATE TABLE messages (
         id INTEGER PRIMARY KEY,
         recipient TEXT NOT NULL,
         sender TEXT NOT NULL,
         time INTEGER NOT NULL,
         body TEXT NOT NULL
     ) STRICT;
     CREATE INDEX messages_by_recipient ON messages (recipient, id);
     CREATE TABLE blocks (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         owner TEXT NOT NULL,
         key TEXT NOT NULL,
         nick TEXT NOT NULL,
         UNIQUE (owner, key)
     ) STRICT;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    last_id: u64,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    /// `fsync` selects `synchronous=FULL` instead of `NORMAL`.
    pub fn open(path: &Path, fsync: bool) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(2))?;
        // One server per database: the exclusive lock is taken at the first access
        // below and held until the store is dropped.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "cannot switch the journal to WAL (got {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" })?;
        SqliteStore::init(conn)
    }

    /// A database in memory: nothing survives the process.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<SqliteStore, StoreError> {
        migrate(&mut conn)?;
        let last_id: i64 = conn.query_row(
            "SELECT value FROM meta WHERE key = 'last_msg_id'",
            [],
            |r| r.get(0),
        )?;
        let last_id = u64::try_from(last_id)
            .map_err(|_| StoreError::Corrupt("negative last_msg_id".into()))?;
        Ok(SqliteStore { conn, last_id })
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let version = usize::try_from(version)
        .map_err(|_| StoreError::Corrupt("negative user_version".into()))?;
    if version > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "schema version {version} is newer than this server's ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn to_i64(n: u64) -> i64 {
    // Invariant: ids and times are at most MAX_MSG_ID / MAX_TIME, far below i64::MAX.
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

impl Store for SqliteStore {
    fn owner(&mut self, key: &str) -> Result<Option<TokenHash>, StoreError> {
        let blob: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT token_sha256 FROM owners WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        blob.map(|b| TokenHash::try_from(b.as_slice()).map_err(|_| corrupt("token hash")))
            .transpose()
    }

    fn add_owner(&mut self, key: &str, nick: &Nick, hash: &TokenHash) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("INSERT INTO owners (key, nick, token_sha256) VALUES (?1, ?2, ?3)")?
            .execute(params![key, nick.as_str(), &hash[..]])?;
        Ok(())
    }

    fn allocate_id(&mut self) -> Result<MsgId, StoreError> {
        let id = next_id(self.last_id)?;
        self.conn
            .prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'last_msg_id'")?
            .execute([to_i64(id.get())])?;
        self.last_id = id.get();
        Ok(id)
    }

    fn enqueue(
        &mut self,
        to: &str,
        from: &Nick,
        time: Timestamp,
        text: &Text,
    ) -> Result<MsgId, StoreError> {
        let id = next_id(self.last_id)?;
        let tx = self.conn.transaction()?;
        tx.prepare_cached(
            "INSERT INTO messages (id, recipient, sender, time, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            to_i64(id.get()),
            to,
            from.as_str(),
            to_i64(time.secs()),
            text.as_str()
        ])?;
        tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'last_msg_id'")?
            .execute([to_i64(id.get())])?;
        // [RLY-5]: committed (appended to the WAL) before SENT is sent.
        tx.commit()?;
        self.last_id = id.get();
        Ok(id)
    }

    fn mailbox_len(&mut self, to: &str) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM messages WHERE recipient = ?1")?
            .query_row([to], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn pending(&mut self, to: &str) -> Result<Vec<Msg>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, sender, time, body FROM messages WHERE recipient = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([to], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, from, time, body) = row?;
            let id = u64::try_from(id)
                .ok()
                .and_then(|i| MsgId::new(i).ok())
                .ok_or_else(|| corrupt("message id"))?;
            let time = u64::try_from(time)
                .ok()
                .and_then(|t| Timestamp::new(t).ok())
                .ok_or_else(|| corrupt("message time"))?;
            out.push(Msg {
                id,
                from: Nick::new(&from).map_err(|_| corrupt("sender nick"))?,
                time,
                text: Text::new(&body).map_err(|_| corrupt("message text"))?,
            });
        }
        Ok(out)
    }

    fn ack(&mut self, to: &str, id: MsgId) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM messages WHERE id = ?1 AND recipient = ?2")?
            .execute(params![to_i64(id.get()), to])?;
        Ok(())
    }

    #[cfg(feature = "faults")]
    fn ack_any(&mut self, id: MsgId) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM messages WHERE id = ?1")?
            .execute([to_i64(id.get())])?;
        Ok(())
    }

    fn blocks(&mut self, owner: &str) -> Result<Vec<(String, Nick)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, nick FROM blocks WHERE owner = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([owner], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, nick) = row?;
            out.push((key, Nick::new(&nick).map_err(|_| corrupt("blocked nick"))?));
        }
        Ok(out)
    }

    fn block(&mut self, owner: &str, key: &str, nick: &Nick) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO blocks (owner, key, nick) VALUES (?1, ?2, ?3)")?
            .execute(params![owner, key, nick.as_str()])?;
        Ok(())
    }

    fn unblock(&mut self, owner: &str, key: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM blocks WHERE owner = ?1 AND key = ?2")?
            .execute([owner, key])?;
        Ok(())
    }

    fn is_blocked(&mut self, owner: &str, key: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = self
            .conn
            .prepare_cached("SELECT 1 FROM blocks WHERE owner = ?1 AND key = ?2")?
            .query_row([owner, key], |r| r.get(0))
            .optional()?;
        Ok(found.is_some())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        // Fold the WAL into the database file so that a clean stop leaves one file.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .optional()?;
        Ok(())
    }
}
