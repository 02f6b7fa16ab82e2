//! Sockets. Every socket is served by a small task that only moves bytes: readers
//! frame lines (with the spec's [`spec::Framer`]) and send them to the engine on one
//! channel, writers take encoded lines from a channel and write them. All protocol
//! logic stays in the engine, on one task.

pub mod pumps;

use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// How many inputs may wait for the engine. A reader that finds the queue full waits,
/// and so stops reading its socket: a peer or server that sends faster than the engine
/// handles meets TCP back-pressure instead of growing the client's memory.
pub const NET_QUEUE: usize = 1024;

/// The most encoded output one connection may have waiting to be written. A peer (or
/// server) that sends but never reads what it is answered would otherwise grow the
/// queue without bound; past it the connection ends as if closed (as the server does
/// with `SLOW_READER`, [LIM-1]).
pub const MAX_UNSENT: usize = 1 << 20;

/// The sending end of the engine's input queue.
pub type NetSender = mpsc::Sender<NetInput>;
/// The engine's input queue.
pub type NetReceiver = mpsc::Receiver<NetInput>;

/// A new input queue of [`NET_QUEUE`] places.
pub fn channel() -> (NetSender, NetReceiver) {
    mpsc::channel(NET_QUEUE)
}

/// Identifies one peer session (one TCP connection).
pub type SessionId = u64;

/// What a reader framed.
#[derive(Debug)]
pub enum Incoming {
    /// A line, without terminator.
    Line(Vec<u8>),
    /// A line longer than `MAX_LINE`, discarded.
    TooLong,
    /// The connection ended (EOF or error), with a reason for people.
    End(String),
}

/// Everything the network hands to the engine.
#[derive(Debug)]
pub enum NetInput {
    /// From the server connection.
    Server(Incoming),
    /// From peer session `SessionId`.
    Peer(SessionId, Incoming),
    /// A connection accepted on the peer listener.
    Accepted(TcpStream, SocketAddr),
    /// An outgoing connection finished connecting (or failed).
    Connected {
        /// The session it is for.
        sid: SessionId,
        /// The stream, or why not.
        result: Result<TcpStream, String>,
    },
    /// A UDP datagram and its source.
    Datagram(Vec<u8>, SocketAddr),
}
