//! The accept loop: `run(listener, config, shutdown)`.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use spec::{ErrorCode, ServerLine};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::config::{Config, DbPath};
use crate::connection::{self, Ctx, Shared};
use crate::entropy::OsEntropy;
use crate::error::ServerError;
use crate::hub::{Hub, HubConfig};
use crate::outbox::Outbox;
use crate::store::{MemoryStore, SqliteStore, Store};
use crate::trim::{self, Trimmer};

/// Opens the store that `config` names.
fn open_store(config: &Config) -> Result<Box<dyn Store>, ServerError> {
    let (store, path) = match &config.db {
        // Nothing survives the process either way: maps, not an SQLite database in
        // memory (a SEND's INSERT, UPDATE and COMMIT cost about 7 µs of its round
        // trip, PERFORMANCE.md §3).
        DbPath::Memory => {
            #[cfg(feature = "faults")]
            if config
                .faults
                .contains(crate::faults::Fault::VolatileMailbox)
            {
                return Ok(Box::new(crate::store::VolatileMailbox::new(
                    MemoryStore::new(),
                )));
            }
            return Ok(Box::new(MemoryStore::new()));
        }
        DbPath::File(p) => (SqliteStore::open(p, config.fsync), p.clone()),
    };
    let store = store.map_err(|source| ServerError::Database { path, source })?;
    #[cfg(feature = "faults")]
    if config
        .faults
        .contains(crate::faults::Fault::VolatileMailbox)
    {
        return Ok(Box::new(crate::store::VolatileMailbox::new(store)));
    }
    Ok(Box::new(store))
}

/// A server whose database is open, ready to serve a listener.
#[derive(Debug)]
pub struct Server {
    config: Config,
    hub: Hub,
    trimmer: Trimmer,
}

impl Server {
    /// Opens the database (creating and migrating it as needed). This is where a bad
    /// `--db` path fails, before anything is announced.
    pub fn open(config: Config) -> Result<Server, ServerError> {
        let store = open_store(&config)?;
        let hub = Hub::new(
            store,
            Box::new(OsEntropy::new()),
            HubConfig {
                mailbox_quota: config.mailbox_quota,
                block_quota: config.block_quota,
                #[cfg(feature = "faults")]
                faults: config.faults,
            },
        );
        Ok(Server {
            config,
            hub,
            trimmer: Trimmer::default(),
        })
    }

    /// A handle that frees idle connections' kept write buffers, for a caller that
    /// knows when the process has gone quiet (the binary's memory reclaim).
    pub fn trimmer(&self) -> Trimmer {
        self.trimmer.clone()
    }

    /// Serves `listener` until `shutdown` completes; then stops accepting, tells every
    /// client (`ERR:SHUTDOWN`), waits for the connections to end (each at most the
    /// linger time), flushes and closes the database.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let config = self.config;
        let ctx = Arc::new(Ctx {
            shared: Mutex::new(Shared::new(self.hub)),
            limits: config.conn_limits(),
            origin: Instant::now(),
            linger: config.linger,
            max_outbound: config.max_outbound_bytes,
            #[cfg(feature = "faults")]
            faults: config.faults,
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        self.trimmer.attach(&ctx);
        tokio::spawn(trim::sweep(Arc::downgrade(&ctx), stop_rx.clone()));
        // Every task holds a clone of `done_tx`; `done_rx` ends when all are gone.
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
        let active = Arc::new(AtomicUsize::new(0));
        let mut next_id: u64 = 1;
        tokio::pin!(shutdown);
        let result = loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => break Ok(()),
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) if is_transient(&e) => {
                    // Out of file descriptors and the like: wait a little, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
                Err(e) => break Err(ServerError::Io(e)),
            };
            let _ = stream.set_nodelay(true);
            let now_active = active.load(Ordering::Relaxed);
            if now_active >= config.max_connections {
                // [LIM-3] "answer a connection beyond it with ERR:SERVER_FULL and close it".
                tracing::warn!(
                    %peer,
                    active = now_active,
                    max_connections = config.max_connections,
                    "refused: server full (ERR:SERVER_FULL)"
                );
                let done = done_tx.clone();
                let linger = config.linger;
                tokio::spawn(async move {
                    refuse(stream, linger).await;
                    drop(done);
                });
                continue;
            }
            let id = next_id;
            next_id += 1;
            let outbox = Arc::new(Outbox::new(stream, ctx.max_outbound));
            ctx.lock().outboxes.0.insert(id, Arc::clone(&outbox));
            active.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(conn = id, %peer, "connected");
            let (ctx2, active2, done, stop) = (
                Arc::clone(&ctx),
                Arc::clone(&active),
                done_tx.clone(),
                stop_rx.clone(),
            );
            tokio::spawn(async move {
                connection::serve(id, ctx2, outbox, stop).await;
                active2.fetch_sub(1, Ordering::Relaxed);
                tracing::debug!(conn = id, "closed");
                drop(done);
            });
        };
        drop(listener);
        tracing::info!("stopping");
        // Before any connection hears of the stop, so that none of them sends
        // UPDATE:LEAVE for another (PROTOCOL.md §10, after [LEA-1]).
        ctx.lock().hub.stop();
        let _ = stop_tx.send(true);
        drop(done_tx);
        let _ = done_rx.recv().await;
        let mut shared = ctx.lock();
        if let Err(e) = shared.hub.close_store() {
            tracing::error!(error = %e, "flushing the database failed");
        }
        drop(shared);
        result
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock | OutOfMemory
    ) || e.raw_os_error().is_some_and(|c| c == 24 || c == 23) // EMFILE, ENFILE
}

async fn refuse(stream: TcpStream, linger: std::time::Duration) {
    let mut line = Vec::new();
    ServerLine::error(ErrorCode::ServerFull, "the server is full; try later").encode(&mut line);
    connection::close_gracefully(&stream, &line, linger).await;
}

/// Runs the server on `listener` with `config` until `shutdown` completes.
///
/// The database is opened first (an error is returned at once if it cannot be), and
/// closed before `run` returns, so the same `DbPath::File` can be served again.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    Server::open(config)?.serve(listener, shutdown).await
}
