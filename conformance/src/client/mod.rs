//! Judging clients (PROTOCOL.md Appendix A): the suite plays the server and the peers,
//! launches the client with the placeholders of A.1, writes commands to its standard
//! input and reads JSON events from its standard output.
//!
//! - [`process`]: a running client (commands, events, exit status), as a child process or
//!   in-process;
//! - [`link`]: the suite's end of a TCP connection with the client (server or peer role);
//! - [`net`]: the suite's listeners and UDP socket.

pub mod link;
pub mod net;
pub mod process;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::outcome::Failure;
use crate::target::split_command;
use crate::transcript::Transcript;
use process::{ClientParts, ClientRt, ClientRun, InProcessClient};

/// How a client under test is started.
#[derive(Debug, Clone)]
pub enum ClientKind {
    /// A command line (the target's `client_cmd` / `client_serverless_cmd`), run in
    /// `workdir`.
    Command { workdir: Option<PathBuf> },
    /// Inside the suite's process (the reference client).
    InProcess(Arc<dyn InProcessClient>),
}

impl Default for ClientKind {
    fn default() -> Self {
        ClientKind::Command { workdir: None }
    }
}

impl ClientKind {
    pub fn kind_name(&self) -> &'static str {
        match self {
            ClientKind::Command { .. } => "command",
            ClientKind::InProcess(_) => "in-process",
        }
    }
}

/// Where a client is pointed.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Hybrid: `{server}` is the suite's listener.
    Hybrid { server: String },
    /// Serverless: `{peer}` is a listener of the suite (a bootstrap peer).
    Serverless { peer: String },
}

/// The placeholders of one launch (Appendix A.1).
#[derive(Debug, Clone)]
pub struct Launch {
    pub mode: Mode,
    pub nick: String,
    /// `{port}`: the UDP port to register (hybrid), the TCP port to listen on (serverless).
    /// A string, so that a case can give a bad one.
    pub port: String,
    pub datadir: PathBuf,
}

impl Launch {
    /// The command line with its placeholders replaced, word by word.
    pub fn argv(&self, template: &str) -> Result<Vec<String>, String> {
        let words = split_command(template)?;
        let (server, peer) = match &self.mode {
            Mode::Hybrid { server } => (server.as_str(), ""),
            Mode::Serverless { peer } => ("", peer.as_str()),
        };
        let datadir = self.datadir.to_string_lossy();
        Ok(words
            .iter()
            .map(|w| {
                w.replace("{server}", server)
                    .replace("{nick}", &self.nick)
                    .replace("{port}", &self.port)
                    .replace("{peer}", peer)
                    .replace("{datadir}", &datadir)
            })
            .collect())
    }
}

/// A client under test and the profiles it claims.
#[derive(Debug, Clone, Default)]
pub struct ClientTarget {
    /// `{server} {nick} {port} {datadir}`.
    pub cmd: Option<String>,
    /// `{nick} {port} {peer} {datadir}`.
    pub serverless_cmd: Option<String>,
    pub profiles: std::collections::BTreeSet<crate::profile::Profile>,
    pub kind: ClientKind,
}

impl ClientTarget {
    pub fn describe(&self) -> String {
        match &self.kind {
            ClientKind::InProcess(c) => c.name(),
            ClientKind::Command { .. } => {
                let mut s = String::new();
                if let Some(c) = &self.cmd {
                    s.push_str(c);
                }
                if let Some(c) = &self.serverless_cmd {
                    if !s.is_empty() {
                        s.push_str(" | serverless: ");
                    }
                    s.push_str(c);
                }
                s
            }
        }
    }
}

/// What a client case works with: the target, a runtime, a scratch directory, and the
/// launches made so far.
pub struct ClientEnv {
    pub target: ClientTarget,
    pub rt: ClientRt,
    dir: tempfile::TempDir,
    tr: Transcript,
    timeout: Duration,
    launches: usize,
    dirs: usize,
}

impl fmt::Debug for ClientEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientEnv")
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl ClientEnv {
    pub fn new(target: ClientTarget, tr: Transcript, timeout: Duration) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("p2pchat-conformance-client-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        Ok(ClientEnv {
            target,
            rt: ClientRt::new()?,
            dir,
            tr,
            timeout,
            launches: 0,
            dirs: 0,
        })
    }

    /// A fresh, empty data directory (`name` and a number).
    pub fn datadir(&mut self, name: &str) -> Result<PathBuf, Failure> {
        self.dirs += 1;
        let p = self.dir.path().join(format!("data-{name}-{}", self.dirs));
        std::fs::create_dir_all(&p)
            .map_err(|e| Failure::target_error(format!("cannot create {}: {e}", p.display())))?;
        Ok(p)
    }

    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// Launches the client (`A>` / `A<` in the transcript; `B`, `C`... for later launches).
    pub fn launch(&mut self, l: &Launch) -> Result<ClientRun, Failure> {
        let template = match (&l.mode, &self.target.kind) {
            (Mode::Hybrid { .. }, _) => self.target.cmd.clone(),
            (Mode::Serverless { .. }, _) => self.target.serverless_cmd.clone(),
        };
        let Some(template) = template else {
            return Err(Failure::target_error(match l.mode {
                Mode::Hybrid { .. } => "no client command (P2PCHAT_CLIENT_CMD) for hybrid mode",
                Mode::Serverless { .. } => {
                    "the client claims serverless but no serverless command was given \
                     (P2PCHAT_CLIENT_SERVERLESS_CMD)"
                }
            }));
        };
        let argv = l.argv(&template).map_err(Failure::target_error)?;
        let label = ((b'A' + (self.launches % 26) as u8) as char).to_string();
        self.launches += 1;
        self.tr.note(format!(
            "{label}: client launched: {}",
            argv.iter()
                .map(|a| crate::target::shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        ));
        let parts: ClientParts = match &self.target.kind {
            ClientKind::InProcess(c) => c.start(&argv).map_err(Failure::target_error)?,
            ClientKind::Command { workdir } => process::spawn_command(
                &self.rt,
                &argv,
                workdir.as_deref(),
                &self.dir.path().join(format!("stderr-{label}.log")),
            )
            .map_err(Failure::target_error)?,
        };
        Ok(ClientRun::new(
            label,
            self.rt.clone(),
            parts,
            self.tr.clone(),
            self.timeout,
        ))
    }
}
