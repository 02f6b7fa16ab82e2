//! Who is online: nicks bound to connections, in registration order (§8, [REG-2]).

use std::collections::{BTreeMap, HashMap};

use spec::{Address, Nick, ServerLine, User};

use crate::hub::ConnId;
use crate::idhash::{IdMap, IdSet};

/// A registered connection.
#[derive(Debug, Clone)]
pub struct Online {
    /// The nick as registered ([REG-8]).
    pub nick: Nick,
    /// The uniqueness key of the nick (case-folded, [REG-3]).
    pub key: String,
    /// The registered address.
    pub address: Address,
    /// `":" nick ":" ip ":" port`, as a `LIST` entry is written ([REG-2]).
    entry: Box<[u8]>,
    /// The keys this user blocks, with the nick as given, in the order blocked
    /// (a cache of the store, [BLK-4]). Changed only through the registry, which
    /// keeps its blocked-by index in step.
    blocks: Vec<(String, Nick)>,
}

impl Online {
    /// The user's `LIST` entry, `":" nick ":" ip ":" port` ([REG-2]).
    pub fn entry(&self) -> &[u8] {
        &self.entry
    }

    /// The keys this user blocks, with the nick as given, in the order blocked
    /// ([BLK-4]).
    pub fn blocks(&self) -> &[(String, Nick)] {
        &self.blocks
    }
}

/// The registry of online users.
///
/// Users are kept in registration order, so that a broadcast walks them without a
/// look-up per recipient; connection ids find their position through a map with a
/// cheap hasher (the ids are the server's own).
#[derive(Debug, Default)]
pub struct Registry {
    /// Registration sequence number → user.
    order: BTreeMap<u64, (ConnId, Online)>,
    by_conn: IdMap<ConnId, u64>,
    by_key: HashMap<String, ConnId>,
    /// Blocked key → the online connections whose users block it ([BLK-5]..[BLK-7]).
    /// The reverse of every online user's `blocks`: a broadcast skips exactly these
    /// recipients instead of scanning every recipient's block list, and "does X block
    /// Y" is one hash look-up. Keys are case-folded ([REG-3]), so blocking is
    /// case-insensitive; no entry is ever an empty set. A set, not a list: a sender blocked by half of
    /// 1,000 users would otherwise cost a 500-entry scan per recipient.
    blocked_by: HashMap<String, IdSet<ConnId>>,
    /// The summed length of every `entry`, so that a LIST reply knows its size
    /// without walking the registry twice.
    entries_len: usize,
    next_seq: u64,
}

impl Registry {
    /// The user bound to `conn`, if any.
    pub fn get(&self, conn: ConnId) -> Option<&Online> {
        let seq = self.by_conn.get(&conn)?;
        self.order.get(seq).map(|(_, o)| o)
    }

    /// The user bound to `conn`, mutably.
    pub fn get_mut(&mut self, conn: ConnId) -> Option<&mut Online> {
        let seq = self.by_conn.get(&conn)?;
        self.order.get_mut(seq).map(|(_, o)| o)
    }

    /// The online connections whose users block the user with key `key`; `None`
    /// when nobody does (the common case).
    pub fn blockers_of(&self, key: &str) -> Option<&IdSet<ConnId>> {
        self.blocked_by.get(key)
    }

    /// Whether the user on `conn` blocks the user with key `key` ([BLK-5]..[BLK-7]).
    pub fn blocks(&self, conn: ConnId, key: &str) -> bool {
        self.blocked_by.get(key).is_some_and(|s| s.contains(&conn))
    }

    /// Records that the user on `conn` blocks `key` (given as `nick`), last in its
    /// list; nothing if it is already blocked or `conn` is not registered.
    pub fn add_block(&mut self, conn: ConnId, key: String, nick: Nick) {
        if self.blocks(conn, &key) {
            return;
        }
        let Some(o) = self.get_mut(conn) else {
            return;
        };
        o.blocks.push((key.clone(), nick));
        self.blocked_by.entry(key).or_default().insert(conn);
    }

    /// Forgets that the user on `conn` blocks `key` ([BLK-3]).
    pub fn remove_block(&mut self, conn: ConnId, key: &str) {
        let Some(o) = self.get_mut(conn) else {
            return;
        };
        o.blocks.retain(|(k, _)| k != key);
        self.unindex_block(conn, key);
    }

    fn unindex_block(&mut self, conn: ConnId, key: &str) {
        if let Some(v) = self.blocked_by.get_mut(key) {
            v.remove(&conn);
            if v.is_empty() {
                self.blocked_by.remove(key);
            }
        }
    }

    /// The summed length of every user's LIST entry.
    pub fn entries_len(&self) -> usize {
        self.entries_len
    }

    /// The connection holding the nick with key `key`.
    pub fn conn_of(&self, key: &str) -> Option<ConnId> {
        self.by_key.get(key).copied()
    }

    /// Binds a nick to a connection, last in registration order.
    pub fn insert(
        &mut self,
        conn: ConnId,
        nick: Nick,
        key: String,
        address: Address,
        blocks: Vec<(String, Nick)>,
    ) {
        let seq = self.next_seq;
        self.next_seq += 1;
        // The spec's encoder writes `USER:<nick>:<ip>:<port>\r\n`: the entry is that
        // line without its verb and terminator.
        let mut line = Vec::with_capacity(64);
        ServerLine::User {
            user: User {
                nick: nick.clone(),
                address: address.clone(),
            },
        }
        .encode(&mut line);
        let entry: Box<[u8]> = line
            .get(b"USER".len()..line.len().saturating_sub(2))
            .unwrap_or_default()
            .into();
        if self.by_conn.contains_key(&conn) {
            // A connection registers once ([REG-6]); never reached, but keep the
            // indexes whole if it were.
            self.remove(conn);
        }
        self.by_key.insert(key.clone(), conn);
        self.by_conn.insert(conn, seq);
        self.entries_len += entry.len();
        // A user's blocks come from the store without duplicates ([BLK-1]); the
        // check keeps the index a set even if they did not.
        let mut unique: Vec<(String, Nick)> = Vec::with_capacity(blocks.len());
        for (k, n) in blocks {
            if !self.blocks(conn, &k) {
                self.blocked_by.entry(k.clone()).or_default().insert(conn);
                unique.push((k, n));
            }
        }
        let blocks = unique;
        self.order.insert(
            seq,
            (
                conn,
                Online {
                    nick,
                    key,
                    address,
                    entry,
                    blocks,
                },
            ),
        );
    }

    /// Unbinds a connection, freeing its nick ([LEA-1]).
    pub fn remove(&mut self, conn: ConnId) -> Option<Online> {
        let seq = self.by_conn.remove(&conn)?;
        let (_, online) = self.order.remove(&seq)?;
        if self.by_key.get(&online.key) == Some(&conn) {
            self.by_key.remove(&online.key);
        }
        self.entries_len -= online.entry.len();
        for (k, _) in &online.blocks {
            self.unindex_block(conn, k);
        }
        Some(online)
    }

    /// Every registered connection, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &Online)> + Clone {
        self.order.values().map(|(c, o)| (*c, o))
    }

    /// How many users are registered.
    pub fn len(&self) -> usize {
        self.by_conn.len()
    }

    /// Whether nobody is registered.
    pub fn is_empty(&self) -> bool {
        self.by_conn.is_empty()
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
