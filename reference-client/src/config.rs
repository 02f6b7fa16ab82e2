//! What a client run needs to know, however it was started.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use spec::Nick;

/// With a server, or without.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Hybrid: register with the server at `host:port`.
    Hybrid {
        /// The server's address as given (also the key of kept tokens).
        server: String,
    },
    /// Serverless: bootstrap peers (`host:port`) to connect to at start.
    Serverless {
        /// The bootstrap peers.
        peers: Vec<String>,
    },
}

/// The default of [`ClientConfig::max_handshakes`]: far more than honest peers open
/// at once (each `HELLO` is due within `HELLO_TIMEOUT`).
pub const DEFAULT_MAX_HANDSHAKES: usize = 64;

/// Everything a client run needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The nick to register (hybrid) or to say in HELLO (serverless).
    pub nick: Nick,
    /// Hybrid or serverless.
    pub mode: Mode,
    /// Hybrid: the UDP port to register (0: any free port).
    pub udp_port: u16,
    /// Where to listen for peer sessions. Hybrid default: the IP the server
    /// connection uses, any free port. Serverless default: `0.0.0.0:0`.
    pub listen: Option<SocketAddr>,
    /// The data directory (tokens, shown ids, outbox, blocks).
    pub data_dir: PathBuf,
    /// How long to wait for a peer to connect back after an OFFER, and for an
    /// outgoing TCP connection.
    pub connect_timeout: Duration,
    /// How long to wait for the server's BYE after QUIT.
    pub quit_timeout: Duration,
    /// How many accepted peer connections may wait for their `HELLO` at once; one
    /// more is closed at once, so that a stranger opening connections and never
    /// speaking cannot make the client hold sockets without bound.
    pub max_handshakes: usize,
}

impl ClientConfig {
    /// A configuration with the default timeouts.
    pub fn new(nick: Nick, mode: Mode, data_dir: PathBuf) -> ClientConfig {
        ClientConfig {
            nick,
            mode,
            udp_port: 0,
            listen: None,
            data_dir,
            connect_timeout: Duration::from_secs(5),
            quit_timeout: Duration::from_secs(2),
            max_handshakes: DEFAULT_MAX_HANDSHAKES,
        }
    }
}

/// How a run ended ([AUT-4]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `quit`, or the end of standard input: 0.
    Ok,
    /// The server cannot be reached or the connection to it was lost: 1.
    Network,
    /// A bad command line: 2.
    Usage,
    /// Registration was refused: 3.
    Refused,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Network => 1,
            Exit::Usage => 2,
            Exit::Refused => 3,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(e.code())
    }
}
