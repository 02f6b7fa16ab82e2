//! The serverless outbox ([MESH-5]): messages for peers that are away, kept on
//! disk (`outbox.json`) and sent when a session with that nick opens again.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use spec::Nick;

/// One waiting message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The recipient's nick.
    pub to: String,
    /// The message id it will carry (kept, so that a resend is recognised).
    pub id: u64,
    /// When it was written, Unix seconds.
    pub time: u64,
    /// The text.
    pub text: String,
}

/// The outbox file.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    entries: Vec<OutboxEntry>,
}

impl Outbox {
    /// Loads `<dir>/outbox.json`.
    pub fn load(dir: &Path) -> io::Result<Outbox> {
        let path = dir.join("outbox.json");
        let entries = super::read_json(&path)?;
        Ok(Outbox { path, entries })
    }

    /// Adds a message (unless one with that recipient and id is there already).
    pub fn push(&mut self, entry: OutboxEntry) -> io::Result<()> {
        if !self
            .entries
            .iter()
            .any(|e| e.id == entry.id && e.to.eq_ignore_ascii_case(&entry.to))
        {
            self.entries.push(entry);
            self.save()?;
        }
        Ok(())
    }

    /// The messages waiting for `nick`, oldest first.
    pub fn for_nick(&self, nick: &Nick) -> Vec<OutboxEntry> {
        self.entries
            .iter()
            .filter(|e| e.to.eq_ignore_ascii_case(nick.as_str()))
            .cloned()
            .collect()
    }

    /// Removes a delivered message.
    pub fn remove(&mut self, nick: &Nick, id: u64) -> io::Result<()> {
        let before = self.entries.len();
        self.entries
            .retain(|e| !(e.id == id && e.to.eq_ignore_ascii_case(nick.as_str())));
        if self.entries.len() != before {
            self.save()?;
        }
        Ok(())
    }

    /// The number of waiting messages.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn save(&self) -> io::Result<()> {
        super::write_json(&self.path, &self.entries)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn outbox_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let bob = Nick::new("bob").unwrap();
        let mut o = Outbox::load(dir.path()).unwrap();
        let e = OutboxEntry {
            to: "Bob".into(),
            id: 7,
            time: 1,
            text: "later".into(),
        };
        o.push(e.clone()).unwrap();
        o.push(e.clone()).unwrap();
        let mut o = Outbox::load(dir.path()).unwrap();
        assert_eq!(o.for_nick(&bob), vec![e]);
        o.remove(&bob, 7).unwrap();
        assert!(Outbox::load(dir.path()).unwrap().is_empty());
    }
}
