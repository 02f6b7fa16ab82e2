//! The server's configuration: storage and every bound, with the defaults of §17.

use std::path::PathBuf;
use std::time::Duration;

#[cfg(feature = "faults")]
use crate::faults::Faults;

/// Where the durable state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbPath {
    /// In memory: nothing survives the process (tests).
    Memory,
    /// An SQLite database file (created if missing).
    File(PathBuf),
}

impl DbPath {
    /// The default database: `server.db` in the user's data directory
    /// (e.g. `~/.local/share/p2pchat/server.db`), or `./p2pchat-server.db` when there is
    /// no home directory.
    pub fn default_file() -> DbPath {
        match directories::ProjectDirs::from("", "", "p2pchat") {
            Some(dirs) => DbPath::File(dirs.data_dir().join("server.db")),
            None => DbPath::File(PathBuf::from("p2pchat-server.db")),
        }
    }
}

/// Everything `run` needs besides the listener. `Default` gives the reference
/// server's defaults with an in-memory database.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where ownership, mailboxes and blocks are kept.
    pub db: DbPath,
    /// `synchronous=FULL`: an fsync per committed message, to survive power loss too
    /// (default off: WAL with `synchronous=NORMAL` survives any crash of the process).
    pub fsync: bool,
    /// Connections served at once; one more is answered `ERR:SERVER_FULL` and closed
    /// ([LIM-3]; default 16384).
    pub max_connections: usize,
    /// Unsent output held for one connection before it is closed with
    /// `ERR:SLOW_READER` ([LIM-1]; default 1 MiB).
    pub max_outbound_bytes: usize,
    /// Lines a connection may send in a burst ([LIM-2]; default 200; 0 disables the
    /// rate limit).
    pub rate_burst: u32,
    /// Lines per second a connection may send sustained ([LIM-2]; default 100).
    pub rate_per_sec: u32,
    /// A line left unfinished this long closes the connection with `ERR:TIMEOUT`
    /// ([LIM-4]; default 30 s; zero disables).
    pub partial_line_timeout: Duration,
    /// Send `PING` after this long with nothing received ([KA-3]; default 30 s; zero
    /// disables).
    pub keepalive: Duration,
    /// Close with `ERR:TIMEOUT` after this long with nothing received ([KA-3]; default
    /// 90 s; zero disables).
    pub idle_timeout: Duration,
    /// Unacknowledged messages one user's mailbox may hold ([RLY-7]; default 1000, at
    /// least `MIN_MAILBOX`).
    pub mailbox_quota: usize,
    /// Blocks one user may hold ([BLK-9]; default 1000, at least `MIN_BLOCKS`).
    pub block_quota: usize,
    /// After its last line, how long a closing connection is given to take it before
    /// the socket is dropped (default 2 s).
    pub linger: Duration,
    /// Deliberate rule-breaks (feature `faults`; default none).
    #[cfg(feature = "faults")]
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            db: DbPath::Memory,
            fsync: false,
            max_connections: 16384,
            max_outbound_bytes: 1 << 20,
            rate_burst: 200,
            rate_per_sec: 100,
            partial_line_timeout: Duration::from_secs(30),
            keepalive: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            mailbox_quota: 1000,
            block_quota: 1000,
            linger: Duration::from_secs(2),
            #[cfg(feature = "faults")]
            faults: Faults::NONE,
        }
    }
}

impl Config {
    /// The per-connection limits of the state machine.
    pub fn conn_limits(&self) -> spec::machine::server_conn::ConnLimits {
        let opt = |d: Duration| (!d.is_zero()).then_some(d);
        spec::machine::server_conn::ConnLimits {
            keepalive: opt(self.keepalive),
            idle_timeout: opt(self.idle_timeout),
            partial_line_timeout: opt(self.partial_line_timeout),
            rate_burst: self.rate_burst,
            rate_per_sec: self.rate_per_sec,
        }
    }
}
