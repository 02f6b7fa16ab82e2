//! A connection's socket and its outbound queue, bounded in bytes ([LIM-1]).
//!
//! Producers (the hub, under its lock) copy whole lines into one contiguous buffer.
//! Whoever produced them then writes the queue to the socket itself, after the hub
//! step, with one `write()` for everything queued since the last one
//! ([`Outbox::flush`]): the connection's own task is only woken when that could not
//! be done (the socket is full, another thread was writing it, the bound was passed).
//! So a private message goes from the sender's read to the recipient's socket without
//! a task switch, and a broadcast costs no wake-up per recipient.
//!
//! Two locks: `queue` (what producers append to) and `head` (the bytes taken from the
//! queue and not yet written; whoever holds it is *the* writer, so bytes leave in
//! order). `head` is only ever taken with `try_lock` by producers, never waited for, and
//! is always taken before `queue`.
//!
//! A queue that was written out keeps one buffer (at most [`RETAIN_MAX`]) for its next
//! lines: a busy connection empties its queue hundreds of times a second, and growing a
//! fresh buffer each time (and freeing it on another thread) cost a fan-out about as much
//! as copying the lines themselves. [`Outbox::trim`] frees the buffer of a queue that has
//! not been used since the previous trim, so an idle connection holds no buffer
//! (`server.rs` trims every connection twice a second, and at once when the process goes
//! quiet).

use std::io;
use std::sync::{Mutex, MutexGuard, TryLockError};

use tokio::net::TcpStream;
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Queue {
    /// Lines queued and not yet taken by a writer.
    pending: Vec<u8>,
    /// Bytes taken by a writer and not yet written to the socket.
    in_flight: usize,
    /// The bound was passed: the connection is to be closed with `ERR:SLOW_READER`.
    overflow: bool,
    /// The connection is gone: drop everything.
    closed: bool,
    /// Lines were queued since the last [`Outbox::trim`].
    used: bool,
}

/// The writer's side: bytes taken from the queue, written up to `off`.
#[derive(Debug, Default)]
struct Head {
    buf: Vec<u8>,
    off: usize,
}

/// What the writer found when it took the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Normal operation (possibly nothing was queued).
    Ok,
    /// The bound was passed; the queue was dropped.
    Overflow,
}

/// What [`Outbox::flush`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flushed {
    /// Everything queued is written.
    Idle,
    /// The socket is full: bytes are left; wait until it is writable.
    Blocked,
    /// Another thread is writing this socket (it finishes, or wakes the owner).
    Busy,
    /// The write budget was used up with more to write: flush again.
    More,
    /// The bound was passed ([LIM-1]).
    Overflow,
    /// The socket failed, or the connection is closing.
    Gone,
}

/// A buffer bigger than this is not recycled as the next queue.
const KEEP_CAPACITY: usize = 64 * 1024;

/// A queue that was written out keeps a buffer of at most this capacity (a burst's larger
/// one is freed at once).
pub const RETAIN_MAX: usize = 16 * 1024;

/// Writes per flush before giving the rest to the owner (a reader that keeps up with a
/// flood must not keep a producer writing for ever).
const WRITES_PER_FLUSH: usize = 4;

/// A connection's socket and outbound queue.
#[derive(Debug)]
pub struct Outbox {
    stream: TcpStream,
    queue: Mutex<Queue>,
    head: Mutex<Head>,
    notify: Notify,
    limit: usize,
}

fn relock<'a, T>(r: std::sync::LockResult<MutexGuard<'a, T>>) -> MutexGuard<'a, T> {
    // A panic while holding either lock cannot leave it inconsistent (every update
    // is a plain field write or a whole-buffer swap), so a poisoned lock is usable.
    r.unwrap_or_else(|e| e.into_inner())
}

impl Outbox {
    /// An empty queue for `stream` that holds at most `limit` unsent bytes.
    pub fn new(stream: TcpStream, limit: usize) -> Outbox {
        Outbox {
            stream,
            queue: Mutex::new(Queue::default()),
            head: Mutex::new(Head::default()),
            notify: Notify::new(),
            limit,
        }
    }

    /// The connection's socket.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        relock(self.queue.lock())
    }

    /// Queues one whole line; `true` when the queue was empty before (the producer
    /// is to [`flush`](Outbox::flush) it, or [`wake`](Outbox::wake) the owner). Past
    /// the bound the queue is dropped and the owner is woken to close the connection
    /// ([LIM-1]: "other connections MUST NOT be delayed").
    pub fn push(&self, line: &[u8]) -> bool {
        let mut g = self.queue();
        if g.overflow || g.closed {
            return false;
        }
        if g.pending.len() + g.in_flight + line.len() > self.limit {
            tracing::warn!(
                queued_bytes = g.pending.len() + g.in_flight,
                line_bytes = line.len(),
                max_outbound_bytes = self.limit,
                "unsent output would pass its bound: ERR:SLOW_READER"
            );
            g.overflow = true;
            g.pending = Vec::new();
            drop(g);
            self.notify.notify_one();
            return false;
        }
        g.used = true;
        let was_empty = g.pending.is_empty();
        if was_empty && g.pending.capacity() == 0 {
            g.pending.reserve(line.len().max(1024));
        }
        g.pending.extend_from_slice(line);
        was_empty
    }

    /// Wakes the connection's own task, to flush or to notice an overflow.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Waits until the owner is woken.
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Writes what is queued, without waiting, if no other thread is writing.
    pub fn flush(&self) -> Flushed {
        for _ in 0..WRITES_PER_FLUSH {
            let r = self.flush_once();
            // A thread that queued while this one still held `head` got `Busy` and left
            // its bytes to this writer; now that `head` is released, look again, or those
            // bytes wait for a wake-up that never comes (seen as a stalled connection
            // among 1,000 clients).
            if r != Flushed::Idle || self.queue().pending.is_empty() {
                return r;
            }
        }
        Flushed::More
    }

    fn flush_once(&self) -> Flushed {
        let mut h = match self.head.try_lock() {
            Ok(h) => h,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return Flushed::Busy,
        };
        for _ in 0..WRITES_PER_FLUSH {
            if h.off == h.buf.len() {
                h.buf.clear();
                h.off = 0;
                let mut q = self.queue();
                if q.overflow {
                    return Flushed::Overflow;
                }
                if q.closed {
                    return Flushed::Gone;
                }
                if q.pending.is_empty() {
                    // Written out: keep the larger buffer for the next lines (`trim`
                    // frees it if none come).
                    q.in_flight = 0;
                    let spare = if h.buf.capacity() > q.pending.capacity() {
                        std::mem::take(&mut h.buf)
                    } else {
                        std::mem::take(&mut q.pending)
                    };
                    if spare.capacity() <= RETAIN_MAX {
                        q.pending = spare;
                    }
                    drop(q);
                    h.buf = Vec::new();
                    return Flushed::Idle;
                }
                if h.buf.capacity() > KEEP_CAPACITY {
                    // Do not keep a burst's large buffer as the next queue.
                    h.buf = Vec::new();
                }
                std::mem::swap(&mut q.pending, &mut h.buf);
                q.in_flight = h.buf.len();
            }
            let Head { buf, off } = &mut *h;
            match self.stream.try_write(&buf[*off..]) {
                Ok(n) => {
                    *off += n;
                    if *off < buf.len() {
                        self.queue().in_flight = buf.len() - *off;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flushed::Blocked,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Flushed::Gone,
            }
        }
        if h.off == h.buf.len() && self.queue().pending.is_empty() {
            Flushed::Idle
        } else {
            Flushed::More
        }
    }

    /// Bytes queued and not yet taken by a writer.
    pub fn queued(&self) -> usize {
        self.queue().pending.len()
    }

    /// Frees the buffer a written-out queue kept, unless lines were queued since the
    /// last trim (`force`: even then); `true` when a buffer was freed. A queue with
    /// lines still to write keeps them, of course.
    pub fn trim(&self, force: bool) -> bool {
        let mut q = self.queue();
        let used = std::mem::take(&mut q.used);
        if (used && !force) || !q.pending.is_empty() || q.pending.capacity() == 0 {
            return false;
        }
        q.pending = Vec::new();
        true
    }

    /// Whether the bound was passed.
    pub fn overflowed(&self) -> bool {
        self.queue().overflow
    }

    /// Marks the connection gone (waiting for a writer on another thread to finish),
    /// and returns the unwritten bytes: what was taken, the offset written in it, and
    /// what was still queued (empty after an overflow).
    pub fn close(&self) -> (Vec<u8>, usize, Vec<u8>, Taken) {
        let mut h = relock(self.head.lock());
        let mut g = self.queue();
        g.closed = true;
        let taken = if g.overflow {
            Taken::Overflow
        } else {
            Taken::Ok
        };
        let off = h.off;
        h.off = 0;
        (
            std::mem::take(&mut h.buf),
            off,
            std::mem::take(&mut g.pending),
            taken,
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn pair() -> (TcpStream, TcpStream) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        let (c, s) = tokio::join!(TcpStream::connect(a), l.accept());
        (c.unwrap(), s.unwrap().0)
    }

    #[tokio::test]
    async fn an_idle_queue_holds_no_buffer() {
        let (c, s) = pair().await;
        let o = Outbox::new(s, 1 << 20);
        assert!(o.push(&[b'x'; 5000]));
        assert!(!o.push(b"line\r\n"), "not empty any more");
        assert_eq!(o.flush(), Flushed::Idle);
        assert_eq!(
            o.head.lock().unwrap().buf.capacity(),
            0,
            "one buffer at most"
        );
        let kept = o.queue().pending.capacity();
        assert!(kept > 0 && kept <= RETAIN_MAX, "the buffer is kept: {kept}");
        assert!(!o.trim(false), "used since the last trim: kept");
        assert!(o.trim(false), "not used since: freed");
        assert_eq!(o.queue().pending.capacity(), 0);
        let mut got = vec![0u8; 5006];
        let mut n = 0;
        while n < got.len() {
            c.readable().await.unwrap();
            match c.try_read(&mut got[n..]) {
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(got.ends_with(b"xline\r\n"));
    }

    #[tokio::test]
    async fn trim_frees_only_an_unused_written_out_buffer() {
        let (_c, s) = pair().await;
        let o = Outbox::new(s, 1 << 20);
        o.push(b"queued\r\n");
        assert!(!o.trim(true), "lines to write are never dropped");
        assert_eq!(o.queue().pending.len(), 8);
        assert_eq!(o.flush(), Flushed::Idle);
        assert!(o.trim(true), "forced: freed although used");
        assert!(!o.trim(true), "nothing left to free");
        // A burst's buffer past the bound is not kept at all.
        o.push(&vec![b'x'; RETAIN_MAX + 1]);
        assert_eq!(o.flush(), Flushed::Idle);
        assert_eq!(o.queue().pending.capacity(), 0);
    }

    #[tokio::test]
    async fn a_second_writer_is_busy_and_bytes_stay_in_order() {
        let (_c, s) = pair().await;
        let o = Outbox::new(s, 1 << 20);
        o.push(b"one\r\n");
        let held = o.head.lock().unwrap();
        assert_eq!(o.flush(), Flushed::Busy);
        drop(held);
        o.push(b"two\r\n");
        let (head, off, rest, taken) = o.close();
        assert_eq!((head.len(), off, taken), (0, 0, Taken::Ok));
        assert_eq!(rest, b"one\r\ntwo\r\n");
        assert!(!o.push(b"three\r\n"));
        assert_eq!(o.flush(), Flushed::Gone);
    }

    #[tokio::test]
    async fn past_the_bound_the_queue_is_dropped() {
        let (_c, s) = pair().await;
        let o = Outbox::new(s, 10);
        assert!(o.push(b"12345\r\n"));
        assert!(!o.push(b"12345\r\n"));
        assert!(o.overflowed());
        assert_eq!(o.flush(), Flushed::Overflow);
        assert_eq!(o.close().3, Taken::Overflow);
    }
}
