//! Sockets. Every socket is served by a small task that only moves bytes: readers
//! frame lines (with the spec's [`spec::Framer`]) and send them to the engine on one
//! channel, writers take encoded lines from a channel and write them. All protocol
//! logic stays in the engine, on one task.

pub mod pumps;

use std::net::SocketAddr;

use tokio::net::TcpStream;

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
