//! The byte-moving tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use spec::{Frame, Framer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use tokio::task::JoinHandle;

use super::{Incoming, MAX_UNSENT, NetInput, NetSender, SessionId};

/// Wraps what a connection's reader framed into the engine's input.
type Wrap = Arc<dyn Fn(Incoming) -> NetInput + Send + Sync>;

/// Reads lines from `r` and hands each to the engine as `wrap(incoming)`, until
/// the end of the stream (reported once as [`Incoming::End`]). It waits while the
/// engine's queue is full, so the socket is not read faster than the engine works.
fn spawn_reader<R>(mut r: R, tx: NetSender, wrap: Wrap) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut framer = Framer::new();
        let mut buf = vec![0u8; 8192];
        let mut framed = Vec::new();
        let reason = loop {
            match r.read(&mut buf).await {
                Ok(0) => break "closed by the other side".to_owned(),
                Ok(n) => {
                    framer.feed(&buf[..n], |frame| {
                        framed.push(match frame {
                            Frame::Line(l) => Incoming::Line(l.to_vec()),
                            Frame::TooLong => Incoming::TooLong,
                        });
                    });
                    for inc in framed.drain(..) {
                        if tx.send(wrap(inc)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => break e.to_string(),
            }
        };
        let _ = tx.send(wrap(Incoming::End(reason))).await;
    })
}

/// Writes what arrives on `rx` (already encoded lines) to `w`, several lines per
/// write when they queue up, and counts down `unsent` as they leave; shuts the
/// stream down when the channel closes.
fn spawn_writer<W>(
    mut w: W,
    mut rx: UnboundedReceiver<Vec<u8>>,
    unsent: Arc<AtomicUsize>,
) -> JoinHandle<()>
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        while let Some(mut buf) = rx.recv().await {
            while let Ok(more) = rx.try_recv() {
                buf.extend_from_slice(&more);
            }
            if w.write_all(&buf).await.is_err() || w.flush().await.is_err() {
                return;
            }
            unsent.fetch_sub(buf.len(), Ordering::Relaxed);
        }
        let _ = w.shutdown().await;
    })
}

/// Accepts peer connections.
pub fn spawn_acceptor(listener: TcpListener, tx: NetSender) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    if tx.send(NetInput::Accepted(stream, addr)).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    // Out of descriptors, say: do not spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}

/// Receives datagrams.
pub fn spawn_udp(socket: Arc<UdpSocket>, tx: NetSender) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            match socket.recv_from(&mut buf).await {
                Ok((n, from)) => {
                    if tx
                        .send(NetInput::Datagram(buf[..n].to_vec(), from))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!("udp receive: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    })
}

/// Connects to `addr` (a `host:port`) within `timeout`, for session `sid`.
pub fn spawn_connect(
    sid: SessionId,
    addr: String,
    timeout: Duration,
    tx: NetSender,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let result = match tokio::time::timeout(timeout, TcpStream::connect(addr.as_str())).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                Ok(s)
            }
            Ok(Err(e)) => Err(format!("cannot connect to {addr}: {e}")),
            Err(_) => Err(format!("cannot connect to {addr}: timed out")),
        };
        let _ = tx.send(NetInput::Connected { sid, result }).await;
    })
}

/// A sender of encoded lines to one connection, and the tasks serving it.
pub struct Link {
    /// Encoded lines to write.
    tx: Option<UnboundedSender<Vec<u8>>>,
    /// Bytes handed to `send` and not yet written.
    unsent: Arc<AtomicUsize>,
    /// The reader task (aborted when the link is finished).
    reader: JoinHandle<()>,
    /// The writer task (ends once the lines queued are written).
    writer: Option<JoinHandle<()>>,
    /// Where to report the end of a link cut for [`MAX_UNSENT`].
    net: NetSender,
    wrap: Wrap,
    /// The remote address.
    pub remote: SocketAddr,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("remote", &self.remote)
            .field("unsent", &self.unsent.load(Ordering::Relaxed))
            .field("open", &self.tx.is_some())
            .finish_non_exhaustive()
    }
}

impl Link {
    /// Splits `stream` and starts its reader and writer.
    pub fn start(
        stream: TcpStream,
        tx: NetSender,
        wrap: impl Fn(Incoming) -> NetInput + Send + Sync + 'static,
    ) -> Link {
        let remote = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (r, w) = stream.into_split();
        let (wtx, wrx) = tokio::sync::mpsc::unbounded_channel();
        let wrap: Wrap = Arc::new(wrap);
        let unsent = Arc::new(AtomicUsize::new(0));
        Link {
            tx: Some(wtx),
            reader: spawn_reader(r, tx.clone(), wrap.clone()),
            writer: Some(spawn_writer(w, wrx, unsent.clone())),
            unsent,
            net: tx,
            wrap,
            remote,
        }
    }

    /// Queues encoded bytes. Past [`MAX_UNSENT`] unwritten bytes the other side is
    /// not reading: the link is dropped and the engine told it ended.
    pub fn send(&mut self, bytes: Vec<u8>) {
        let Some(tx) = &self.tx else {
            return;
        };
        let unsent = self.unsent.fetch_add(bytes.len(), Ordering::Relaxed) + bytes.len();
        if unsent > MAX_UNSENT {
            tracing::warn!(
                remote = %self.remote,
                unsent,
                max_unsent = MAX_UNSENT,
                "connection dropped: the other side does not read what it is sent"
            );
            self.abort();
            let end = (self.wrap)(Incoming::End(format!(
                "the other side stopped reading ({unsent} bytes unsent)"
            )));
            let net = self.net.clone();
            tokio::spawn(async move {
                let _ = net.send(end).await;
            });
            return;
        }
        let _ = tx.send(bytes);
    }

    /// Stops reading; what is queued is still written, then the stream is shut
    /// down. Returns the writer task, to wait for it at exit.
    pub fn finish(&mut self) -> Option<JoinHandle<()>> {
        self.reader.abort();
        self.tx = None;
        self.writer.take()
    }

    /// Drops the connection at once, without writing what is queued.
    pub fn abort(&mut self) {
        self.reader.abort();
        self.tx = None;
        if let Some(w) = self.writer.take() {
            w.abort();
        }
    }
}
