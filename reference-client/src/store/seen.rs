//! Ids of messages already shown ([CLI-5], [PEER-2]), one append-only log per
//! namespace (a server and nick for relayed messages, a peer for direct ones).
//!
//! An id is written and synced to disk right *after* the message is shown and
//! *before* it is acknowledged (Appendix A.2): a client killed between recording
//! and acknowledging gets the message again at its next start and does not show
//! it twice; one killed between showing and recording may show it twice, but
//! never loses it.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use spec::MsgId;

/// One namespace of shown ids.
#[derive(Debug)]
pub struct SeenLog {
    path: PathBuf,
    ids: HashSet<MsgId>,
    file: Option<File>,
}

impl SeenLog {
    /// Opens (or starts) `<dir>/seen/<name>.log`.
    pub fn open(dir: &Path, name: &str) -> io::Result<SeenLog> {
        let path = dir
            .join("seen")
            .join(format!("{}.log", super::file_component(name)));
        let mut ids = HashSet::new();
        match File::open(&path) {
            Ok(f) => {
                for line in BufReader::new(f).lines() {
                    // A torn last line (a crash mid-write) is skipped.
                    if let Some(id) = line?
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .and_then(|n| MsgId::new(n).ok())
                    {
                        ids.insert(id);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(SeenLog {
            path,
            ids,
            file: None,
        })
    }

    /// Whether `id` was shown.
    pub fn contains(&self, id: MsgId) -> bool {
        self.ids.contains(&id)
    }

    /// Every id shown.
    pub fn ids(&self) -> impl Iterator<Item = MsgId> + '_ {
        self.ids.iter().copied()
    }

    /// Records `id` as shown, durably. Returns whether it is new.
    pub fn record(&mut self, id: MsgId) -> io::Result<bool> {
        if !self.ids.insert(id) {
            return Ok(false);
        }
        if self.file.is_none() {
            if let Some(parent) = self.path.parent() {
                fs::create_dir_all(parent)?;
            }
            self.file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        if let Some(f) = self.file.as_mut() {
            writeln!(f, "{id}")?;
            f.sync_data()?;
        }
        Ok(true)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_persist_and_namespaces_are_separate() {
        let dir = tempfile::tempdir().unwrap();
        let id = MsgId::new(17).unwrap();
        let mut log = SeenLog::open(dir.path(), "relay 127.0.0.1:1337 bob").unwrap();
        assert!(log.record(id).unwrap());
        assert!(!log.record(id).unwrap());
        drop(log);
        let log = SeenLog::open(dir.path(), "relay 127.0.0.1:1337 bob").unwrap();
        assert!(log.contains(id));
        let other = SeenLog::open(dir.path(), "peer alice").unwrap();
        assert!(!other.contains(id));
    }

    #[test]
    fn a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("seen")).unwrap();
        fs::write(dir.path().join("seen").join("x.log"), "5\n1").unwrap();
        let log = SeenLog::open(dir.path(), "x").unwrap();
        assert!(log.contains(MsgId::new(5).unwrap()));
    }
}
