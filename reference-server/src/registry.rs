//! Who is online: nicks bound to connections, in registration order (§8, [REG-2]).

use std::collections::{BTreeMap, HashMap};

use spec::{Address, Nick, ServerLine, User};

use crate::hub::ConnId;

/// A registered connection.
#[derive(Debug, Clone)]
pub struct Online {
    /// The nick as registered ([REG-8]).
    pub nick: Nick,
    /// The uniqueness key of the nick (case-folded, [REG-3]).
    pub key: String,
    /// The registered address.
    pub address: Address,
    /// Position in registration order.
    seq: u64,
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
#[derive(Debug, Default)]
pub struct Registry {
    by_conn: HashMap<ConnId, Online>,
    by_key: HashMap<String, ConnId>,
    order: BTreeMap<u64, ConnId>,
    next_seq: u64,
}

impl Registry {
    /// The user bound to `conn`, if any.
    pub fn get(&self, conn: ConnId) -> Option<&Online> {
        self.by_conn.get(&conn)
    }

    /// The user bound to `conn`, mutably.
    pub fn get_mut(&mut self, conn: ConnId) -> Option<&mut Online> {
        self.by_conn.get_mut(&conn)
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
        self.order.insert(seq, conn);
        self.by_conn.insert(
            conn,
            Online {
                nick,
                key,
                address,
                seq,
                entry,
                blocks,
            },
        );
    }

    /// Unbinds a connection, freeing its nick ([LEA-1]).
    pub fn remove(&mut self, conn: ConnId) -> Option<Online> {
        let online = self.by_conn.remove(&conn)?;
        self.order.remove(&online.seq);
        if self.by_key.get(&online.key) == Some(&conn) {
            self.by_key.remove(&online.key);
        }
        Some(online)
    }

    /// Every registered connection, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &Online)> + Clone {
        self.order
            .values()
            .filter_map(|c| self.by_conn.get(c).map(|o| (*c, o)))
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
