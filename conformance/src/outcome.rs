//! What a case can end with, before it becomes a verdict.

use std::fmt;

/// Why a case did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The target broke a requirement: FAIL for MUST, WARN for SHOULD.
    Violation,
    /// The target could not be run or reached at all: ERROR.
    TargetError,
    /// The case could not be carried out against this target: NOT_RUN.
    NotRun,
}

/// A failed expectation, with what was expected and what came.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailureKind,
    /// The requirement broken; `None` means the case's primary requirement.
    pub req: Option<&'static str>,
    pub message: String,
    pub expected: Option<String>,
    pub got: Option<String>,
    /// A MUST sentence inside a requirement whose level is SHOULD (e.g. LIM-1's "other
    /// connections MUST NOT be delayed"): FAIL whatever the ID's level.
    pub strict: bool,
}

impl Failure {
    pub fn violation(message: impl Into<String>) -> Failure {
        Failure {
            kind: FailureKind::Violation,
            req: None,
            message: message.into(),
            expected: None,
            got: None,
            strict: false,
        }
    }

    pub fn target_error(message: impl Into<String>) -> Failure {
        Failure {
            kind: FailureKind::TargetError,
            ..Failure::violation(message)
        }
    }

    pub fn not_run(message: impl Into<String>) -> Failure {
        Failure {
            kind: FailureKind::NotRun,
            ..Failure::violation(message)
        }
    }

    pub fn expected(mut self, e: impl Into<String>) -> Failure {
        self.expected = Some(e.into());
        self
    }

    pub fn got(mut self, g: impl Into<String>) -> Failure {
        self.got = Some(g.into());
        self
    }

    /// Marks the failure as breaking a MUST sentence (see [`Failure::strict`]).
    pub fn req_strict(mut self) -> Failure {
        self.strict = true;
        self
    }

    /// Names the requirement broken, unless a more specific one is already named.
    pub fn req(mut self, req: &'static str) -> Failure {
        if self.req.is_none() {
            self.req = Some(req);
        }
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(e) = &self.expected {
            write!(f, "; expected {e}")?;
        }
        if let Some(g) = &self.got {
            write!(f, "; got {g}")?;
        }
        Ok(())
    }
}

/// The result of a case body.
pub type CaseResult = Result<(), Failure>;

/// Attaches a requirement ID to the failure of a step.
pub trait Under {
    /// The step checks `req`: a failure names it (unless it already names a more specific one).
    fn under(self, req: &'static str) -> Self;
}

impl<T> Under for Result<T, Failure> {
    fn under(self, req: &'static str) -> Self {
        self.map_err(|f| f.req(req))
    }
}

/// Shorthand: a violation of `req` with a message.
pub fn fail<T>(req: &'static str, message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::violation(message).req(req))
}
