//! The transcript of a case: every line both ways, per connection, plus the suite's notes.
//!
//! `C1: ...` is a line the suite (playing client 1) sent, `S1: ...` a line the server sent
//! on connection 1 (PROTOCOL.md §1's notation). `C1> ...` is a raw write, shown byte for
//! byte with the terminator. `-- ...` is a note of the suite (a connect, a close, a restart).

use std::sync::{Arc, Mutex, MutexGuard};

/// Lines kept per transcript; past this, the middle is dropped (a slow-reader case can
/// move megabytes).
const MAX_ENTRIES: usize = 2000;

/// A shared, append-only transcript.
#[derive(Debug, Clone, Default)]
pub struct Transcript(Arc<Mutex<Inner>>);

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<String>,
    dropped: usize,
}

impl Transcript {
    pub fn new() -> Transcript {
        Transcript::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the Vec inconsistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, entry: impl Into<String>) {
        let mut inner = self.lock();
        if inner.entries.len() >= MAX_ENTRIES {
            inner.dropped += 1;
            return;
        }
        inner.entries.push(entry.into());
    }

    pub fn note(&self, note: impl AsRef<str>) {
        self.push(format!("-- {}", note.as_ref()));
    }

    /// The entries, with a last line saying how many were left out.
    pub fn lines(&self) -> Vec<String> {
        let inner = self.lock();
        let mut out = inner.entries.clone();
        if inner.dropped > 0 {
            out.push(format!(
                "-- ({} more transcript lines not kept)",
                inner.dropped
            ));
        }
        out
    }
}
