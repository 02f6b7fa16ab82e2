//! The byte-moving tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use spec::{Frame, Framer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use super::{Incoming, NetInput, SessionId};

/// Reads lines from `r` and hands each to the engine as `wrap(incoming)`, until
/// the end of the stream (reported once as [`Incoming::End`]).
pub fn spawn_reader<R>(
    mut r: R,
    tx: UnboundedSender<NetInput>,
    wrap: impl Fn(Incoming) -> NetInput + Send + 'static,
) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut framer = Framer::new();
        let mut buf = vec![0u8; 8192];
        let reason = loop {
            match r.read(&mut buf).await {
                Ok(0) => break "closed by the other side".to_owned(),
                Ok(n) => {
                    let mut gone = false;
                    framer.feed(&buf[..n], |frame| {
                        let inc = match frame {
                            Frame::Line(l) => Incoming::Line(l.to_vec()),
                            Frame::TooLong => Incoming::TooLong,
                        };
                        gone |= tx.send(wrap(inc)).is_err();
                    });
                    if gone {
                        return;
                    }
                }
                Err(e) => break e.to_string(),
            }
        };
        let _ = tx.send(wrap(Incoming::End(reason)));
    })
}

/// Writes what arrives on `rx` (already encoded lines) to `w`, several lines per
/// write when they queue up; shuts the stream down when the channel closes.
pub fn spawn_writer<W>(mut w: W, mut rx: UnboundedReceiver<Vec<u8>>) -> JoinHandle<()>
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
        }
        let _ = w.shutdown().await;
    })
}

/// Accepts peer connections.
pub fn spawn_acceptor(listener: TcpListener, tx: UnboundedSender<NetInput>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    if tx.send(NetInput::Accepted(stream, addr)).is_err() {
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
pub fn spawn_udp(socket: Arc<UdpSocket>, tx: UnboundedSender<NetInput>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            match socket.recv_from(&mut buf).await {
                Ok((n, from)) => {
                    if tx
                        .send(NetInput::Datagram(buf[..n].to_vec(), from))
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
    tx: UnboundedSender<NetInput>,
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
        let _ = tx.send(NetInput::Connected { sid, result });
    })
}

/// A sender of encoded lines to one connection, and the tasks serving it.
#[derive(Debug)]
pub struct Link {
    /// Encoded lines to write.
    tx: Option<UnboundedSender<Vec<u8>>>,
    /// The reader task (aborted when the link is finished).
    reader: JoinHandle<()>,
    /// The writer task (ends once the lines queued are written).
    writer: Option<JoinHandle<()>>,
    /// The remote address.
    pub remote: SocketAddr,
}

impl Link {
    /// Splits `stream` and starts its reader and writer.
    pub fn start(
        stream: TcpStream,
        tx: UnboundedSender<NetInput>,
        wrap: impl Fn(Incoming) -> NetInput + Send + 'static,
    ) -> Link {
        let remote = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (r, w) = stream.into_split();
        let (wtx, wrx) = tokio::sync::mpsc::unbounded_channel();
        Link {
            tx: Some(wtx),
            reader: spawn_reader(r, tx, wrap),
            writer: Some(spawn_writer(w, wrx)),
            remote,
        }
    }

    /// Queues encoded bytes.
    pub fn send(&self, bytes: Vec<u8>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(bytes);
        }
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
