//! Who is online: nicks bound to connections, in registration order (§8, [REG-2]).

use std::collections::{BTreeMap, HashMap};

use spec::{Address, Nick, ServerLine, User};

use crate::hub::ConnId;
use crate::idhash::IdMap;

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
    /// (a cache of the store, [BLK-4]).
    pub blocks: Vec<(String, Nick)>,
}

impl Online {
    /// The user's `LIST` entry, `":" nick ":" ip ":" port` ([REG-2]).
    pub fn entry(&self) -> &[u8] {
        &self.entry
    }

    /// Whether this user blocks the user with key `key`.
    pub fn blocks_key(&self, key: &str) -> bool {
        self.blocks.iter().any(|(k, _)| k == key)
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
        let entry = line
            .get(b"USER".len()..line.len().saturating_sub(2))
            .unwrap_or_default()
            .into();
        self.by_key.insert(key.clone(), conn);
        if let Some(old) = self.by_conn.insert(conn, seq) {
            // A connection registers once ([REG-6]); never reached.
            self.order.remove(&old);
        }
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
