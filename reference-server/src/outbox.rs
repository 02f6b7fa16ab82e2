//! A connection's outbound queue, bounded in bytes ([LIM-1]).
//!
//! Producers (the hub, under its lock) copy whole lines into one contiguous buffer;
//! the connection's task swaps the buffer out and writes it with one `write()` per
//! wake-up, so everything queued for a client between two wake-ups shares a system
//! call. An idle connection holds no buffer.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Inner {
    /// Lines queued and not yet taken by the writer.
    pending: Vec<u8>,
    /// Bytes taken by the writer and not yet written to the socket.
    in_flight: usize,
    /// The bound was passed: the connection is to be closed with `ERR:SLOW_READER`.
    overflow: bool,
    /// The connection is gone: drop everything.
    closed: bool,
}

/// What the writer found when it took the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Normal operation (possibly nothing was queued).
    Ok,
    /// The bound was passed; the queue was dropped.
    Overflow,
}

/// A buffer bigger than this is not recycled as the next queue.
const KEEP_CAPACITY: usize = 64 * 1024;

/// A connection's outbound queue.
#[derive(Debug)]
pub struct Outbox {
    inner: Mutex<Inner>,
    notify: Notify,
    limit: usize,
}

impl Outbox {
    /// An empty queue that holds at most `limit` unsent bytes.
    pub fn new(limit: usize) -> Outbox {
        Outbox {
            inner: Mutex::new(Inner::default()),
            notify: Notify::new(),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave `Inner` inconsistent (every
        // update is a plain field write), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one whole line. Past the bound the queue is dropped and the writer is
    /// told to close the connection ([LIM-1]: "other connections MUST NOT be delayed").
    pub fn push(&self, line: &[u8]) {
        let mut g = self.lock();
        if g.overflow || g.closed {
            return;
        }
        if g.pending.len() + g.in_flight + line.len() > self.limit {
            g.overflow = true;
            g.pending = Vec::new();
            drop(g);
            self.notify.notify_one();
            return;
        }
        let was_empty = g.pending.is_empty();
        g.pending.extend_from_slice(line);
        drop(g);
        if was_empty {
            self.notify.notify_one();
        }
    }

    /// Waits until something was queued (or the bound was passed).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Swaps the queued bytes into `buf` (which the writer has fully written and
    /// cleared), and records them as in flight.
    ///
    /// Under load the two buffers alternate (the writer's emptied one becomes the new
    /// queue, so nothing is allocated per wake-up); when nothing is queued, the queue
    /// gives its buffer up, so an idle connection holds none ([LIM-1]'s cost bound,
    /// and memory per idle connection).
    pub fn take(&self, buf: &mut Vec<u8>) -> Taken {
        let mut g = self.lock();
        if g.overflow {
            return Taken::Overflow;
        }
        if g.pending.is_empty() {
            g.pending = Vec::new();
            g.in_flight = buf.len();
            return Taken::Ok;
        }
        if buf.capacity() > KEEP_CAPACITY {
            // Do not keep a burst's large buffer as the next queue.
            *buf = Vec::new();
        }
        std::mem::swap(&mut g.pending, buf);
        g.in_flight = buf.len();
        Taken::Ok
    }

    /// Whether the bound was passed.
    pub fn overflowed(&self) -> bool {
        self.lock().overflow
    }

    /// The writer wrote some bytes; `left` remain in flight.
    pub fn set_in_flight(&self, left: usize) {
        self.lock().in_flight = left;
    }

    /// Marks the connection gone and returns what was still queued (empty after an
    /// overflow).
    pub fn close(&self) -> (Vec<u8>, Taken) {
        let mut g = self.lock();
        g.closed = true;
        let taken = if g.overflow {
            Taken::Overflow
        } else {
            Taken::Ok
        };
        (std::mem::take(&mut g.pending), taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_queue_holds_no_buffer() {
        let o = Outbox::new(1 << 20);
        let mut w = Vec::new();
        o.push(&[b'x'; 5000]);
        assert_eq!(o.take(&mut w), Taken::Ok);
        assert_eq!(w.len(), 5000);
        // The writer wrote it all; more arrives and is taken: the buffers alternate.
        w.clear();
        o.push(b"line\r\n");
        assert_eq!(o.take(&mut w), Taken::Ok);
        assert_eq!(w, b"line\r\n");
        assert!(o.lock().pending.capacity() >= 5000, "recycled under load");
        // Nothing more: the queue lets its buffer go.
        w.clear();
        assert_eq!(o.take(&mut w), Taken::Ok);
        assert!(w.is_empty());
        assert_eq!(o.lock().pending.capacity(), 0);
    }
}
