//! A store that keeps everything in memory: `--memory-db` (`DbPath::Memory`), tests,
//! and the `VolatileMailbox` fault. Nothing survives a restart. Every operation is a
//! map look-up (a `SEND` costs no SQL statement and no transaction).

use std::collections::{BTreeMap, HashMap};

use spec::{Msg, MsgId, Nick, Text, Timestamp};

use super::{Store, StoreError, TokenHash, next_id};

/// Everything in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    owners: HashMap<String, TokenHash>,
    last_id: u64,
    /// recipient key → id → message (a recipient with an empty mailbox is removed).
    mailboxes: HashMap<String, BTreeMap<u64, Msg>>,
    blocks: HashMap<String, Vec<(String, Nick)>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn owner(&mut self, key: &str) -> Result<Option<TokenHash>, StoreError> {
        Ok(self.owners.get(key).copied())
    }

    fn add_owner(&mut self, key: &str, _nick: &Nick, hash: &TokenHash) -> Result<(), StoreError> {
        self.owners.insert(key.to_owned(), *hash);
        Ok(())
    }

    fn allocate_id(&mut self) -> Result<MsgId, StoreError> {
        let id = next_id(self.last_id)?;
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
        let id = self.allocate_id()?;
        let msg = Msg {
            id,
            from: from.clone(),
            time,
            text: text.clone(),
        };
        match self.mailboxes.get_mut(to) {
            Some(m) => {
                m.insert(id.get(), msg);
            }
            None => {
                self.mailboxes
                    .insert(to.to_owned(), BTreeMap::from([(id.get(), msg)]));
            }
        }
        Ok(id)
    }

    fn mailbox_len(&mut self, to: &str) -> Result<usize, StoreError> {
        Ok(self.mailboxes.get(to).map_or(0, BTreeMap::len))
    }

    fn pending(&mut self, to: &str) -> Result<Vec<Msg>, StoreError> {
        Ok(self
            .mailboxes
            .get(to)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default())
    }

    fn ack(&mut self, to: &str, id: MsgId) -> Result<(), StoreError> {
        if let Some(m) = self.mailboxes.get_mut(to) {
            m.remove(&id.get());
            if m.is_empty() {
                self.mailboxes.remove(to);
            }
        }
        Ok(())
    }

    #[cfg(feature = "faults")]
    fn ack_any(&mut self, id: MsgId) -> Result<(), StoreError> {
        for m in self.mailboxes.values_mut() {
            m.remove(&id.get());
        }
        self.mailboxes.retain(|_, m| !m.is_empty());
        Ok(())
    }

    fn blocks(&mut self, owner: &str) -> Result<Vec<(String, Nick)>, StoreError> {
        Ok(self.blocks.get(owner).cloned().unwrap_or_default())
    }

    fn block(&mut self, owner: &str, key: &str, nick: &Nick) -> Result<(), StoreError> {
        let list = self.blocks.entry(owner.to_owned()).or_default();
        if !list.iter().any(|(k, _)| k == key) {
            list.push((key.to_owned(), nick.clone()));
        }
        Ok(())
    }

    fn unblock(&mut self, owner: &str, key: &str) -> Result<(), StoreError> {
        if let Some(list) = self.blocks.get_mut(owner) {
            list.retain(|(k, _)| k != key);
        }
        Ok(())
    }
}
