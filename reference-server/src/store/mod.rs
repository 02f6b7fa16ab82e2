//! Durable state: nick ownership, the mailbox and blocks (§8, §11, §12).
//!
//! Everything is keyed by the nick's uniqueness key (case-folded, [REG-3]); nicks
//! "as given" are kept beside the key where the protocol shows them.

mod memory;
mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::{SCHEMA_VERSION, SqliteStore};

use spec::{Msg, MsgId, Nick, Text, Timestamp};

/// A failure of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused an operation.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database holds something this version cannot read.
    #[error("database holds invalid data: {0}")]
    Corrupt(String),
    /// Message ids are exhausted (`MAX_MSG_ID`).
    #[error("message ids exhausted")]
    IdsExhausted,
}

/// The SHA-256 of a token: what the store keeps instead of the token.
pub type TokenHash = [u8; 32];

/// The server's durable state. Every method that returns `Ok` after a write has made it
/// durable (for [`SqliteStore`]: committed), so a reply sent afterwards can rely on it
/// ([RLY-5]).
pub trait Store: Send {
    /// The token hash of the owner of `key`, if the nick is owned ([OWN-2]).
    fn owner(&mut self, key: &str) -> Result<Option<TokenHash>, StoreError>;
    /// Records a new owner ([OWN-1]).
    fn add_owner(&mut self, key: &str, nick: &Nick, hash: &TokenHash) -> Result<(), StoreError>;
    /// Allocates a new message id without storing a message (a silently dropped SEND,
    /// [BLK-6]): ids never repeat.
    fn allocate_id(&mut self) -> Result<MsgId, StoreError>;
    /// Stores a message for `to` under a new id, greater than every earlier one ([RLY-1]).
    fn enqueue(
        &mut self,
        to: &str,
        from: &Nick,
        time: Timestamp,
        text: &Text,
    ) -> Result<MsgId, StoreError>;
    /// How many messages wait in `to`'s mailbox ([RLY-7]).
    fn mailbox_len(&mut self, to: &str) -> Result<usize, StoreError>;
    /// The messages in `to`'s mailbox, in increasing id order ([RLY-3]).
    fn pending(&mut self, to: &str) -> Result<Vec<Msg>, StoreError>;
    /// Removes message `id` from `to`'s mailbox, if it is there ([RLY-4]).
    fn ack(&mut self, to: &str, id: MsgId) -> Result<(), StoreError>;
    /// Removes message `id` from whichever mailbox holds it (a fault: breaks [RLY-4]).
    #[cfg(feature = "faults")]
    fn ack_any(&mut self, id: MsgId) -> Result<(), StoreError>;
    /// The blocks of `owner`: key and nick as given, in the order blocked ([BLK-4]).
    fn blocks(&mut self, owner: &str) -> Result<Vec<(String, Nick)>, StoreError>;
    /// Records that `owner` blocks `key` ([BLK-1]); blocking twice keeps the first.
    fn block(&mut self, owner: &str, key: &str, nick: &Nick) -> Result<(), StoreError>;
    /// Removes a block, if any ([BLK-3]).
    fn unblock(&mut self, owner: &str, key: &str) -> Result<(), StoreError>;
    /// Whether `owner` blocks `key` (for an offline recipient, [BLK-6]).
    fn is_blocked(&mut self, owner: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self.blocks(owner)?.iter().any(|(k, _)| k == key))
    }
    /// Makes everything durable and releases what can be released (at shutdown).
    fn flush(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

pub(crate) fn next_id(last: u64) -> Result<MsgId, StoreError> {
    MsgId::new(last + 1).map_err(|_| StoreError::IdsExhausted)
}

/// The `VolatileMailbox` fault: ownership and blocks in the real store, the mailbox in
/// memory only (lost at restart; breaks [RLY-5]).
#[cfg(feature = "faults")]
#[derive(Debug)]
pub struct VolatileMailbox<S> {
    real: S,
    mail: MemoryStore,
}

#[cfg(feature = "faults")]
impl<S: Store> VolatileMailbox<S> {
    /// Wraps `real`.
    pub fn new(real: S) -> Self {
        VolatileMailbox {
            real,
            mail: MemoryStore::new(),
        }
    }
}

#[cfg(feature = "faults")]
impl<S: Store> Store for VolatileMailbox<S> {
    fn owner(&mut self, key: &str) -> Result<Option<TokenHash>, StoreError> {
        self.real.owner(key)
    }
    fn add_owner(&mut self, key: &str, nick: &Nick, hash: &TokenHash) -> Result<(), StoreError> {
        self.real.add_owner(key, nick, hash)
    }
    fn allocate_id(&mut self) -> Result<MsgId, StoreError> {
        self.mail.allocate_id()
    }
    fn enqueue(
        &mut self,
        to: &str,
        from: &Nick,
        time: Timestamp,
        text: &Text,
    ) -> Result<MsgId, StoreError> {
        self.mail.enqueue(to, from, time, text)
    }
    fn mailbox_len(&mut self, to: &str) -> Result<usize, StoreError> {
        self.mail.mailbox_len(to)
    }
    fn pending(&mut self, to: &str) -> Result<Vec<Msg>, StoreError> {
        self.mail.pending(to)
    }
    fn ack(&mut self, to: &str, id: MsgId) -> Result<(), StoreError> {
        self.mail.ack(to, id)
    }
    fn ack_any(&mut self, id: MsgId) -> Result<(), StoreError> {
        self.mail.ack_any(id)
    }
    fn blocks(&mut self, owner: &str) -> Result<Vec<(String, Nick)>, StoreError> {
        self.real.blocks(owner)
    }
    fn block(&mut self, owner: &str, key: &str, nick: &Nick) -> Result<(), StoreError> {
        self.real.block(owner, key, nick)
    }
    fn unblock(&mut self, owner: &str, key: &str) -> Result<(), StoreError> {
        self.real.unblock(owner, key)
    }
    fn is_blocked(&mut self, owner: &str, key: &str) -> Result<bool, StoreError> {
        self.real.is_blocked(owner, key)
    }
    fn flush(&mut self) -> Result<(), StoreError> {
        self.real.flush()
    }
}
