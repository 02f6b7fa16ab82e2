//! Frees the buffers that written-out queues keep for their next lines
//! ([`Outbox::trim`](crate::outbox::Outbox::trim)) once their connections stop using
//! them, so that an idle connection holds no buffer.
//!
//! Every [`PERIOD`] the server frees the kept buffer of each connection that queued
//! nothing since the last look (so a buffer outlives its last use by one to two periods);
//! and the binary, when the process goes quiet, frees every kept buffer at once through a
//! [`Trimmer`], just before it hands freed memory back to the system (`reclaim.rs`).

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::connection::Ctx;

/// How often the kept buffers are looked at.
pub(crate) const PERIOD: Duration = Duration::from_millis(500);

/// Frees the kept buffers of the connections that queued nothing since the last trim
/// (`force`: of every connection with nothing left to write); returns how many.
pub(crate) fn trim(ctx: &Ctx, force: bool) -> usize {
    let mut shared = ctx.lock();
    if force {
        // Quiet: the buffers of held-back broadcasts go too (`fanout.rs`).
        shared.fan.release();
    }
    shared.outboxes.0.values().filter(|o| o.trim(force)).count()
}

/// Trims every [`PERIOD`] until the server stops.
pub(crate) async fn sweep(ctx: Weak<Ctx>, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(PERIOD);
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = every.tick() => {}
        }
        let Some(ctx) = ctx.upgrade() else {
            return;
        };
        let freed = trim(&ctx, false);
        if freed > 0 {
            tracing::trace!(freed, "idle connections' buffers freed");
        }
    }
}

/// Frees idle connections' kept buffers from outside the server (see the module's
/// documentation). Does nothing before the server serves, or after it stopped.
#[derive(Debug, Clone, Default)]
pub struct Trimmer(Arc<OnceLock<Weak<Ctx>>>);

impl Trimmer {
    pub(crate) fn attach(&self, ctx: &Arc<Ctx>) {
        // A server serves once (`serve` takes it by value): the cell is empty here.
        let _ = self.0.set(Arc::downgrade(ctx));
    }

    /// Frees the kept buffer of every connection with nothing left to write; returns
    /// how many were freed.
    pub fn trim_idle(&self) -> usize {
        self.0
            .get()
            .and_then(Weak::upgrade)
            .map_or(0, |ctx| trim(&ctx, true))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::outbox::Outbox;
    use tokio::net::{TcpListener, TcpStream};

    /// An outbox whose queue was written out once, so that it keeps a buffer.
    async fn written_out(ctx: &Ctx, id: u64) -> (Arc<Outbox>, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        let (c, s) = tokio::join!(TcpStream::connect(a), l.accept());
        let o = Arc::new(Outbox::new(s.unwrap().0, 1 << 20));
        o.push(b"hello\r\n");
        o.flush();
        ctx.lock().outboxes.0.insert(id, Arc::clone(&o));
        (o, c.unwrap())
    }

    #[tokio::test]
    async fn an_unused_buffer_is_freed_at_the_second_look() {
        let ctx = Ctx::for_tests();
        let (busy, _c1) = written_out(&ctx, 1).await;
        let (_idle, _c2) = written_out(&ctx, 2).await;
        assert_eq!(trim(&ctx, false), 0, "both were used since the last look");
        busy.push(b"more\r\n");
        busy.flush();
        assert_eq!(trim(&ctx, false), 1, "only the idle one is freed");
        assert_eq!(trim(&ctx, false), 1, "then the other");
        assert_eq!(trim(&ctx, false), 0);
    }

    #[tokio::test]
    async fn the_trimmer_frees_every_written_out_buffer_once_attached() {
        let ctx = Ctx::for_tests();
        let (_a, _c1) = written_out(&ctx, 1).await;
        let (b, _c2) = written_out(&ctx, 2).await;
        b.push(b"not yet written\r\n");
        let t = Trimmer::default();
        assert_eq!(t.trim_idle(), 0, "not attached: nothing to reach");
        t.attach(&ctx);
        assert_eq!(t.trim_idle(), 1, "the queue with lines to write keeps them");
        drop(ctx);
        assert_eq!(t.trim_idle(), 0, "the server is gone");
        assert_eq!(b.close().2, b"not yet written\r\n");
    }
}
