//! Local blocks: what this client drops on its own (peer sessions, OFFER and DM
//! datagrams, and, as a second line of defence, relayed lines). Kept per own nick
//! and server (or serverless) in `blocks.json`.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use spec::Nick;

/// The local block list of one scope.
#[derive(Debug)]
pub struct Blocks {
    path: PathBuf,
    scope: String,
    all: BTreeMap<String, Vec<String>>,
}

impl Blocks {
    /// Loads `<dir>/blocks.json`, scope `scope` (e.g. `"<server> <nick>"`).
    pub fn load(dir: &Path, scope: String) -> io::Result<Blocks> {
        let path = dir.join("blocks.json");
        let all = super::read_json(&path)?;
        Ok(Blocks { path, scope, all })
    }

    fn list(&self) -> &[String] {
        self.all.get(&self.scope).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `nick` is blocked (without regard to case).
    pub fn contains(&self, nick: &Nick) -> bool {
        self.list()
            .iter()
            .any(|n| n.eq_ignore_ascii_case(nick.as_str()))
    }

    /// The blocked nicks, in the order they were blocked.
    pub fn nicks(&self) -> Vec<String> {
        self.list().to_vec()
    }

    /// Blocks `nick`.
    pub fn add(&mut self, nick: &Nick) -> io::Result<()> {
        if self.contains(nick) {
            return Ok(());
        }
        self.all
            .entry(self.scope.clone())
            .or_default()
            .push(nick.to_string());
        super::write_json(&self.path, &self.all)
    }

    /// Unblocks `nick`.
    pub fn remove(&mut self, nick: &Nick) -> io::Result<()> {
        if let Some(list) = self.all.get_mut(&self.scope) {
            list.retain(|n| !n.eq_ignore_ascii_case(nick.as_str()));
        }
        super::write_json(&self.path, &self.all)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_per_scope_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let m = Nick::new("Mallory").unwrap();
        let mut b = Blocks::load(dir.path(), "s alice".into()).unwrap();
        b.add(&m).unwrap();
        let b2 = Blocks::load(dir.path(), "s alice".into()).unwrap();
        assert!(b2.contains(&Nick::new("mallory").unwrap()));
        assert_eq!(b2.nicks(), vec!["Mallory".to_owned()]);
        let other = Blocks::load(dir.path(), "s bob".into()).unwrap();
        assert!(!other.contains(&m));
        b.remove(&m).unwrap();
        assert!(
            !Blocks::load(dir.path(), "s alice".into())
                .unwrap()
                .contains(&m)
        );
    }
}
