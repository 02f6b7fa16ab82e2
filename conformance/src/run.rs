//! Running cases against a target: instances, isolation, verdicts.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::Instant;

use crate::case::{Case, Ctx, Needs, ServerRef};
use crate::outcome::{Failure, FailureKind};
use crate::profile::{self, Profile};
use crate::requirements::{self, Role};
use crate::target::{self, Instance, ServerKind, Target, shell_quote};
use crate::verdict::{CaseReport, Verdict};

/// How a run was started, so that a report can give the command that replays one case.
#[derive(Debug, Clone)]
pub enum Invocation {
    /// `cargo test -p conformance --test <test>`, with these environment variables.
    CargoTest {
        test: String,
        env: Vec<(String, String)>,
    },
    /// The runner binary with these arguments (which select the target).
    Runner { args: Vec<String> },
}

impl Invocation {
    /// The shell command that runs exactly this case again against the same target.
    pub fn replay(&self, case_id: &str) -> String {
        match self {
            Invocation::CargoTest { test, env } => {
                let mut s = String::new();
                for (k, v) in env {
                    s.push_str(&format!("{k}={} ", shell_quote(v)));
                }
                s.push_str(&format!(
                    "cargo test -p conformance --test {test} -- --exact {case_id}"
                ));
                s
            }
            Invocation::Runner { args } => {
                let mut s = String::from("p2pchat-conformance");
                for a in args {
                    s.push(' ');
                    s.push_str(&shell_quote(a));
                }
                s.push_str(&format!(" --case {case_id}"));
                s
            }
        }
    }
}

/// A target being judged: the shared server (started on first use) and the lock that keeps
/// dedicated cases alone when the server cannot be launched again.
#[derive(Debug)]
pub struct Session {
    pub target: Target,
    pub invocation: Invocation,
    shared: OnceLock<Result<Box<dyn Instance>, String>>,
    exclusive: RwLock<()>,
    results: Mutex<Vec<CaseReport>>,
}

impl Session {
    pub fn new(target: Target, invocation: Invocation) -> Session {
        Session {
            target,
            invocation,
            shared: OnceLock::new(),
            exclusive: RwLock::new(()),
            results: Mutex::new(Vec::new()),
        }
    }

    fn scale(&self) -> f64 {
        self.target.timeout_scale
    }

    /// The server shared by the cases, started (and self-checked) on first use.
    fn shared(&self, kind: &ServerKind) -> Result<&dyn Instance, String> {
        self.shared
            .get_or_init(|| target::start_instance(kind, self.scale()))
            .as_ref()
            .map(|b| b.as_ref())
            .map_err(Clone::clone)
    }

    /// Why a case cannot give a real verdict against this target, decided without running
    /// anything (UNSUPPORTED, NOT_RUN, ERROR), or `None`.
    pub fn precheck(&self, case: &Case) -> Option<(Verdict, String)> {
        if case.role == Role::Client {
            return self.precheck_client(case);
        }
        let Some(server) = &self.target.server else {
            if self.target.client.is_some() {
                return Some((
                    Verdict::NotRun,
                    "server case, and no server target given (only a client)".into(),
                ));
            }
            return Some((
                Verdict::Error,
                "no server target given (set P2PCHAT_SERVER_CMD or P2PCHAT_SERVER_ADDR)".into(),
            ));
        };
        let missing: Vec<&str> = case
            .profiles
            .iter()
            .filter(|p| !server.profiles.contains(p))
            .map(|p| p.as_str())
            .collect();
        if !missing.is_empty() {
            return Some((
                Verdict::Unsupported,
                format!(
                    "the target does not claim profile {} (claims {})",
                    missing.join(", "),
                    profile::list_string(&server.profiles)
                ),
            ));
        }
        if let ServerKind::Unavailable(why) = &server.kind {
            return Some((Verdict::Error, why.clone()));
        }
        if case.slow && !self.target.slow && !self.target.limits.timers_short() {
            return Some((
                Verdict::NotRun,
                "slow case (it waits for the server's own timers, up to ~2 minutes); run it with \
                 P2PCHAT_SLOW=1 or the runner's --slow, or declare short timers with \
                 P2PCHAT_SERVER_LIMITS (e.g. keepalive=2,idle=5,partial=2)"
                    .into(),
            ));
        }
        if case.needs == Needs::Restart && !server.kind.launchable() {
            return Some((
                Verdict::NotRun,
                "needs a target the suite can restart (a launch command, ideally with {db}); \
                 a server given by its address cannot be restarted"
                    .into(),
            ));
        }
        None
    }

    fn precheck_client(&self, case: &Case) -> Option<(Verdict, String)> {
        let Some(client) = &self.target.client else {
            return Some((
                Verdict::NotRun,
                "client case, and no client target given (set P2PCHAT_CLIENT_CMD, \
                 P2PCHAT_CLIENT_SERVERLESS_CMD and P2PCHAT_CLIENT_PROFILES)"
                    .into(),
            ));
        };
        let missing: Vec<&str> = case
            .profiles
            .iter()
            .filter(|p| !client.profiles.contains(p))
            .map(|p| p.as_str())
            .collect();
        if !missing.is_empty() {
            return Some((
                Verdict::Unsupported,
                format!(
                    "the client does not claim profile {} (claims {})",
                    missing.join(", "),
                    profile::list_string(&client.profiles)
                ),
            ));
        }
        let serverless = case.profiles.contains(&Profile::Serverless);
        if serverless && client.serverless_cmd.is_none() {
            return Some((
                Verdict::Error,
                "the client claims serverless but no serverless command was given \
                 (P2PCHAT_CLIENT_SERVERLESS_CMD / --client-serverless-cmd)"
                    .into(),
            ));
        }
        if !serverless && client.cmd.is_none() {
            return Some((
                Verdict::Error,
                "no hybrid client command was given (P2PCHAT_CLIENT_CMD / --client-cmd)".into(),
            ));
        }
        if case.slow && !self.target.slow {
            return Some((
                Verdict::NotRun,
                "slow case; run it with P2PCHAT_SLOW=1 or the runner's --slow".into(),
            ));
        }
        None
    }

    /// Runs one case and records its report.
    pub fn run_case(&self, case: &'static Case) -> CaseReport {
        let started = Instant::now();
        let report = match self.precheck(case) {
            Some((verdict, why)) => self.report(case, verdict, Some(why), None, vec![], started),
            None => self.execute(case, started),
        };
        self.results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(report.clone());
        report
    }

    /// Every report recorded so far, in case order.
    pub fn results(&self) -> Vec<CaseReport> {
        let mut r = self
            .results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let order: Vec<&str> = crate::cases::all().iter().map(|c| c.id).collect();
        r.sort_by_key(|c| order.iter().position(|id| *id == c.id));
        r
    }

    fn execute(&self, case: &'static Case, started: Instant) -> CaseReport {
        if case.role == Role::Client {
            // A dedicated client case runs with no other client case of this process
            // running (in any session): no other child process is being forked meanwhile,
            // which could hold a copy of its pipes until it execs.
            static CLIENTS: RwLock<()> = RwLock::new(());
            let _exclusive;
            let _shared;
            if case.needs == Needs::Dedicated {
                _exclusive = Some(CLIENTS.write().unwrap_or_else(|e| e.into_inner()));
            } else {
                _shared = Some(CLIENTS.read().unwrap_or_else(|e| e.into_inner()));
            }
            let client = self.target.client.clone();
            let claims: BTreeSet<Profile> = client
                .as_ref()
                .map(|c| c.profiles.clone())
                .unwrap_or_default();
            let ctx = Ctx::new(case, None, client, self.scale(), &claims);
            return self.finish(case, ctx, started);
        }
        let Some(server) = &self.target.server else {
            return self.report(
                case,
                Verdict::Error,
                Some("no server".into()),
                None,
                vec![],
                started,
            );
        };
        let claims: BTreeSet<Profile> = server.profiles.clone();
        // Isolation: a dedicated case gets its own instance if the suite can launch one,
        // else the shared server with no other case running.
        let own_instance = case.needs != Needs::Shared && server.kind.launchable();
        let _guard_w;
        let _guard_r;
        let server_ref = if own_instance {
            match target::start_instance(&server.kind, self.scale()) {
                Ok(inst) => ServerRef::Owned(inst),
                Err(e) => {
                    return self.report(
                        case,
                        Verdict::Error,
                        Some(format!("could not start a server for this case: {e}")),
                        None,
                        vec![],
                        started,
                    );
                }
            }
        } else {
            if case.needs == Needs::Dedicated {
                _guard_w = Some(self.exclusive.write().unwrap_or_else(|e| e.into_inner()));
            } else {
                _guard_r = Some(self.exclusive.read().unwrap_or_else(|e| e.into_inner()));
            }
            match self.shared(&server.kind) {
                Ok(inst) => ServerRef::Shared(inst),
                Err(e) => {
                    return self.report(
                        case,
                        Verdict::Error,
                        Some(format!("the target could not be run: {e}")),
                        None,
                        vec![],
                        started,
                    );
                }
            }
        };
        let mut ctx = Ctx::new(case, Some(server_ref), None, self.scale(), &claims);
        ctx.limits = self.target.limits;
        self.finish(case, ctx, started)
    }

    /// Runs the body of a case in its context and makes its report.
    fn finish(&self, case: &'static Case, mut ctx: Ctx<'_>, started: Instant) -> CaseReport {
        let outcome = catch_unwind(AssertUnwindSafe(|| (case.run)(&mut ctx)));
        let warnings = ctx.take_warnings();
        let transcript = ctx.tr.lines();
        let log_tail = ctx.log_tail();
        drop(ctx);
        let (verdict, failure) = match outcome {
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                (
                    Verdict::Error,
                    Some(Failure::target_error(format!(
                        "suite bug: the case panicked: {msg}"
                    ))),
                )
            }
            Ok(Ok(())) => match warnings.first() {
                None => (Verdict::Pass, None),
                Some(w) => (Verdict::Warn, Some(w.clone())),
            },
            Ok(Err(f)) => {
                let v = match f.kind {
                    FailureKind::TargetError => Verdict::Error,
                    FailureKind::NotRun => Verdict::NotRun,
                    FailureKind::Violation => {
                        let req = f.req.or(case.covers.first().copied());
                        let strict = f.strict
                            || req
                                .and_then(requirements::find)
                                .is_none_or(|r| r.level.is_strict());
                        if strict { Verdict::Fail } else { Verdict::Warn }
                    }
                };
                (v, Some(f))
            }
        };
        let mut report = self.report(case, verdict, None, failure, transcript, started);
        if verdict == Verdict::Error && !log_tail.is_empty() {
            report.message = format!("{}\nthe server's output:\n{log_tail}", report.message);
        }
        if verdict != Verdict::Pass {
            report.warnings = warnings
                .iter()
                .skip(usize::from(verdict == Verdict::Warn))
                .map(|w| w.to_string())
                .collect();
        }
        report
    }

    fn report(
        &self,
        case: &'static Case,
        verdict: Verdict,
        reason: Option<String>,
        failure: Option<Failure>,
        transcript: Vec<String>,
        started: Instant,
    ) -> CaseReport {
        let req_id = failure
            .as_ref()
            .and_then(|f| f.req)
            .or(case.covers.first().copied());
        let requirement = match verdict {
            Verdict::Fail | Verdict::Warn => req_id.and_then(requirements::find).map(|r| {
                format!(
                    "{} (PROTOCOL.md line {}): {}",
                    r.header(),
                    r.line,
                    strip_marker(r)
                )
            }),
            _ => None,
        };
        let message = match (&reason, &failure) {
            (Some(r), _) => r.clone(),
            (None, Some(f)) => f.message.clone(),
            (None, None) => String::new(),
        };
        CaseReport {
            id: case.id.to_owned(),
            title: case.title.to_owned(),
            profile: case.profile(),
            profiles: case.profiles.to_vec(),
            level: case.level(),
            covers: case.covers.iter().map(|s| (*s).to_owned()).collect(),
            verdict,
            message,
            requirement_id: if matches!(verdict, Verdict::Fail | Verdict::Warn) {
                req_id.map(str::to_owned)
            } else {
                None
            },
            requirement,
            expected: failure.as_ref().and_then(|f| f.expected.clone()),
            got: failure.as_ref().and_then(|f| f.got.clone()),
            transcript,
            warnings: Vec::new(),
            duration: started.elapsed(),
            replay: self.invocation.replay(case.id),
            baseline: None,
        }
    }
}

fn strip_marker(r: &requirements::Requirement) -> String {
    r.sentence
        .replace(&format!("**{}**", r.header()), "")
        .trim()
        .to_owned()
}

/// Runs `cases` on `jobs` threads; returns the reports in case order.
pub fn run_all(session: &Session, cases: &[&'static Case], jobs: usize) -> Vec<CaseReport> {
    let next = Mutex::new(0usize);
    let jobs = jobs.clamp(1, 64);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(case) = cases.get(i) else { break };
                    session.run_case(case);
                }
            });
        }
    });
    let mut all = session.results();
    all.retain(|r| cases.iter().any(|c| c.id == r.id));
    all
}
