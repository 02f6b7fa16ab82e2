//! Verdicts and the report of one case.

use std::fmt;
use std::time::Duration;

use crate::profile::Profile;
use crate::requirements::Level;

/// The verdict of one case against one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// Every expectation met.
    Pass,
    /// A MUST / MUST NOT broken.
    Fail,
    /// Non-strict: only a SHOULD / SHOULD NOT unmet.
    Warn,
    /// The case's profile is not claimed by the target.
    Unsupported,
    /// The case could not be carried out against this kind of target (e.g. it needs a
    /// restart and the target is an address), or it is a slow case not asked for.
    NotRun,
    /// The target could not be run or reached.
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Warn => "WARN",
            Verdict::Unsupported => "UNSUPPORTED",
            Verdict::NotRun => "NOT_RUN",
            Verdict::Error => "ERROR",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a baseline file says about a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineMark {
    /// A FAIL listed in the baseline: does not fail the run.
    KnownFailure,
    /// A FAIL not listed: fails the run.
    NewFailure,
    /// Listed in the baseline but passed: fails the run (update the baseline).
    UnexpectedPass,
}

/// Everything reported about one case.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseReport {
    pub id: String,
    pub title: String,
    pub profile: Profile,
    pub profiles: Vec<Profile>,
    pub level: Level,
    pub covers: Vec<String>,
    pub verdict: Verdict,
    /// Why it did not pass (empty on PASS).
    pub message: String,
    /// The requirement broken (FAIL / WARN).
    pub requirement_id: Option<String>,
    /// Its header and sentence, quoted from PROTOCOL.md.
    pub requirement: Option<String>,
    pub expected: Option<String>,
    pub got: Option<String>,
    /// Both directions, per connection (kept for every verdict).
    pub transcript: Vec<String>,
    /// Further non-strict findings.
    pub warnings: Vec<String>,
    #[serde(serialize_with = "ser_ms", rename = "duration_ms")]
    pub duration: Duration,
    /// The command that runs this one case again.
    pub replay: String,
    pub baseline: Option<BaselineMark>,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl CaseReport {
    /// The full text shown for a case that did not pass.
    pub fn details(&self) -> String {
        let mut s = format!(
            "{} [{}] {} ({}; {}; covers {})\n",
            self.id,
            self.verdict,
            self.title,
            self.level,
            self.profile,
            self.covers.join(", ")
        );
        if !self.message.is_empty() {
            for l in self.message.lines() {
                s.push_str(&format!("  {l}\n"));
            }
        }
        if let Some(r) = &self.requirement {
            s.push_str(&format!("  requirement: {r}\n"));
        }
        if let Some(e) = &self.expected {
            s.push_str(&format!("  expected: {e}\n"));
        }
        if let Some(g) = &self.got {
            s.push_str(&format!("  got:      {g}\n"));
        }
        for w in &self.warnings {
            s.push_str(&format!("  also: {w}\n"));
        }
        if !self.transcript.is_empty()
            && matches!(self.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error)
        {
            s.push_str("  transcript:\n");
            for l in &self.transcript {
                s.push_str(&format!("    {l}\n"));
            }
        }
        s.push_str(&format!("  replay: {}\n", self.replay));
        s
    }
}
