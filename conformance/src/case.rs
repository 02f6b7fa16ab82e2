//! A case: a stable ID, the requirements it covers, the profiles it needs, and its body.

use std::collections::BTreeSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::client::{ClientEnv, ClientTarget};
use crate::conn::Conn;
use crate::outcome::{CaseResult, Failure};
use crate::profile::Profile;
use crate::requirements::{self, Level, Role};
use crate::target::Instance;
use crate::transcript::Transcript;

/// The deadline for one expected line, before scaling.
pub const LINE_TIMEOUT: Duration = Duration::from_secs(2);

/// What a case needs of the server beyond a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Needs {
    /// Runs on the server shared by all cases, in parallel with other cases.
    Shared,
    /// Needs a server to itself (it loads it, or fills its connection table): a launched
    /// target gets a fresh instance; a running address is used with no other case running.
    Dedicated,
    /// Restarts the server on the same storage: needs a launchable target (a fresh
    /// instance); against an address it is NOT_RUN.
    Restart,
}

/// One conformance case.
#[derive(Debug)]
pub struct Case {
    /// Stable ID, never renumbered, e.g. `SRV-REG-001`.
    pub id: &'static str,
    /// What it checks, in a few words.
    pub title: &'static str,
    /// The requirement IDs it covers; the first is the primary one (the default for a
    /// failure, and the case's level).
    pub covers: &'static [&'static str],
    /// The profiles the target must claim; the first is the one the case is counted under.
    pub profiles: &'static [Profile],
    /// The role judged.
    pub role: Role,
    pub needs: Needs,
    /// Waits for the server's own timers (tens of seconds): run only when asked.
    pub slow: bool,
    pub run: fn(&mut Ctx<'_>) -> CaseResult,
}

impl Case {
    pub fn profile(&self) -> Profile {
        self.profiles.first().copied().unwrap_or(Profile::Core)
    }

    /// The level of the primary requirement (MUST if it is unknown, which the
    /// traceability test forbids).
    pub fn level(&self) -> Level {
        self.covers
            .first()
            .and_then(|id| requirements::find(id))
            .map_or(Level::Must, |r| r.level)
    }
}

static CASE_SEQ: AtomicU32 = AtomicU32::new(0);

/// A random tag for this process, so that runs against one long-running server (whose
/// nick ownership persists) never reuse a nick.
fn run_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let mut v = RandomState::new().hash_one(std::process::id())
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
        let mut s = String::new();
        for _ in 0..5 {
            s.push(base36((v % 36) as u32));
            v /= 36;
        }
        s
    })
}

fn base36(d: u32) -> char {
    char::from_digit(d, 36).unwrap_or('z')
}

fn to_base36(mut n: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(base36(n % 36));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    s.iter().rev().collect()
}

/// What a case body works with.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub case: &'static Case,
    server: Option<ServerRef<'a>>,
    client_target: Option<ClientTarget>,
    client_env: Option<ClientEnv>,
    pub tr: Transcript,
    prefix: String,
    conns: usize,
    seq: u32,
    scale: f64,
    claims: &'a BTreeSet<Profile>,
    warnings: Vec<Failure>,
    /// New connections skip UPDATE lines (cases whose subject is not joins and leaves).
    pub updates_not_judged: bool,
    /// Our users that are registered now, in registration order: (nick, address).
    pub online: Vec<(String, String)>,
    /// Our users that the server may drop at any moment (a slow reader being cut off):
    /// a `LIST` reply may name them or not.
    pub vanishing: Vec<String>,
    /// The server's timers and limits, as the target declares them.
    pub limits: crate::target::ServerLimits,
}

#[derive(Debug)]
pub enum ServerRef<'a> {
    Shared(&'a dyn Instance),
    Owned(Box<dyn Instance>),
}

impl ServerRef<'_> {
    fn get(&self) -> &dyn Instance {
        match self {
            ServerRef::Shared(i) => *i,
            ServerRef::Owned(b) => b.as_ref(),
        }
    }
}

impl<'a> Ctx<'a> {
    /// `server` is the server under test (server cases); `client` the client under test
    /// (client cases, where the suite plays the server).
    pub fn new(
        case: &'static Case,
        server: Option<ServerRef<'a>>,
        client: Option<ClientTarget>,
        scale: f64,
        claims: &'a BTreeSet<Profile>,
    ) -> Ctx<'a> {
        let n = CASE_SEQ.fetch_add(1, Ordering::Relaxed);
        Ctx {
            case,
            server,
            client_target: client,
            client_env: None,
            tr: Transcript::new(),
            prefix: format!("{}{}_", run_tag(), to_base36(n)),
            conns: 0,
            seq: 0,
            scale,
            claims,
            warnings: Vec::new(),
            updates_not_judged: false,
            online: Vec::new(),
            vanishing: Vec::new(),
            limits: crate::target::ServerLimits::default(),
        }
    }

    /// The address of the server under test (an unusable one in client cases).
    pub fn addr(&self) -> SocketAddr {
        self.server
            .as_ref()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |s| s.get().addr())
    }

    /// The client under test: its target, a runtime and a scratch directory (client cases).
    pub fn client(&mut self) -> Result<&mut ClientEnv, Failure> {
        if self.client_env.is_none() {
            let target = self.client_target.clone().ok_or_else(|| {
                Failure::not_run("no client target (suite bug: a client case without a client)")
            })?;
            let env = ClientEnv::new(target, self.tr.clone(), self.timeout())
                .map_err(Failure::target_error)?;
            self.client_env = Some(env);
        }
        self.client_env
            .as_mut()
            .ok_or_else(|| Failure::target_error("no client environment"))
    }

    /// The deadline for one expected line.
    pub fn timeout(&self) -> Duration {
        self.scaled(LINE_TIMEOUT)
    }

    pub fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.scale.max(0.01))
    }

    /// Opens a new connection (C1, C2, ...).
    pub fn connect(&mut self) -> Result<Conn, Failure> {
        self.conns += 1;
        let mut c = Conn::connect(
            self.addr(),
            self.conns,
            self.tr.clone(),
            &self.prefix,
            self.timeout(),
        )?;
        c.set_ignore_updates(self.updates_not_judged);
        Ok(c)
    }

    /// A fresh nick of this case: the case prefix, then `role` (cut to 32 characters).
    pub fn nick(&mut self, role: &str) -> String {
        let mut n = format!("{}{role}", self.prefix);
        n.truncate(32);
        n
    }

    /// The case's nick prefix (every nick of the case starts with it).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A value unique within the case (for ping tokens and texts).
    pub fn unique(&mut self, what: &str) -> String {
        self.seq += 1;
        format!("{what}{}", self.seq)
    }

    /// A UDP address for a registration: 127.0.0.1 and a port unique within the case.
    pub fn udp_addr(&mut self) -> String {
        self.seq += 1;
        format!("127.0.0.1:{}", 20000 + self.seq)
    }

    pub fn claims(&self, p: Profile) -> bool {
        self.claims.contains(&p)
    }

    /// Records a non-strict finding and goes on (the case ends WARN unless it FAILs).
    pub fn warn(&mut self, f: Failure) {
        self.tr.note(format!("WARN: {}", f.message));
        self.warnings.push(f);
    }

    pub fn take_warnings(&mut self) -> Vec<Failure> {
        std::mem::take(&mut self.warnings)
    }

    pub fn note(&self, s: impl AsRef<str>) {
        self.tr.note(s);
    }

    /// Restarts the server on the same storage (only cases with [`Needs::Restart`]).
    pub fn restart(&mut self) -> Result<(), Failure> {
        let Some(ServerRef::Owned(inst)) = &mut self.server else {
            return Err(Failure::not_run(
                "this case needs a restartable server (suite bug: not marked Needs::Restart)",
            ));
        };
        let note = inst.restart_note();
        self.tr.note(format!("restart: {note}"));
        inst.restart().map_err(|e| {
            Failure::target_error(format!("the server could not be restarted: {e}"))
        })?;
        self.online.clear();
        self.tr.note(format!("server is back at {}", inst.addr()));
        Ok(())
    }

    pub fn log_tail(&self) -> String {
        self.server
            .as_ref()
            .map(|s| s.get().log_tail())
            .unwrap_or_default()
    }
}
