//! Reports: the readable summary, JUnit XML, versioned JSON, the requirement matrix, and
//! the baseline of known failures.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::profile::Profile;
use crate::requirements::{self, Role};
use crate::target::Target;
use crate::verdict::{BaselineMark, CaseReport, Verdict};

/// The JSON report's schema version.
pub const JSON_SCHEMA: u32 = 1;

/// Counts of verdicts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub non_strict: usize,
    pub unsupported: usize,
    pub not_run: usize,
    pub error: usize,
}

impl Counts {
    pub fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail => self.failed += 1,
            Verdict::Warn => self.non_strict += 1,
            Verdict::Unsupported => self.unsupported += 1,
            Verdict::NotRun => self.not_run += 1,
            Verdict::Error => self.error += 1,
        }
    }

    pub fn of(results: &[CaseReport]) -> Counts {
        let mut c = Counts::default();
        for r in results {
            c.add(r.verdict);
        }
        c
    }
}

/// Per-profile counts, in profile order.
pub fn per_profile(results: &[CaseReport]) -> BTreeMap<Profile, Counts> {
    let mut m: BTreeMap<Profile, Counts> = BTreeMap::new();
    for r in results {
        m.entry(r.profile).or_default().add(r.verdict);
    }
    m
}

/// Applies a baseline (IDs of known failures) to the results.
pub fn apply_baseline(results: &mut [CaseReport], known: &BTreeSet<String>) {
    for r in results.iter_mut() {
        r.baseline = match (r.verdict, known.contains(&r.id)) {
            (Verdict::Fail, true) => Some(BaselineMark::KnownFailure),
            (Verdict::Fail, false) => Some(BaselineMark::NewFailure),
            (Verdict::Pass | Verdict::Warn, true) => Some(BaselineMark::UnexpectedPass),
            _ => None,
        };
    }
}

/// Reads a baseline file: one case ID per line; `#` starts a comment.
pub fn parse_baseline(text: &str) -> Result<BTreeSet<String>, String> {
    let known: Vec<&str> = crate::cases::all().iter().map(|c| c.id).collect();
    let mut set = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let id = line.split('#').next().unwrap_or("").trim();
        if id.is_empty() {
            continue;
        }
        if !known.contains(&id) {
            return Err(format!("baseline line {}: unknown case ID {id:?}", i + 1));
        }
        set.insert(id.to_owned());
    }
    Ok(set)
}

/// A baseline file listing the current failures.
pub fn baseline_text(results: &[CaseReport]) -> String {
    let mut s = String::from(
        "# p2pchat conformance baseline: known failures, one case ID per line.\n\
         # With --baseline, only new failures and unexpected passes fail the run.\n",
    );
    for r in results.iter().filter(|r| r.verdict == Verdict::Fail) {
        let _ = writeln!(s, "{}  # {}", r.id, r.title);
    }
    s
}

/// The exit status of a run: 0 all passed (non-strict allowed), 1 failures (or, with a
/// baseline, new failures or unexpected passes), 2 the target could not be run.
pub fn exit_code(results: &[CaseReport], with_baseline: bool) -> i32 {
    let failing = results.iter().any(|r| {
        if with_baseline {
            matches!(
                r.baseline,
                Some(BaselineMark::NewFailure | BaselineMark::UnexpectedPass)
            )
        } else {
            r.verdict == Verdict::Fail
        }
    });
    if failing {
        1
    } else if results.iter().any(|r| r.verdict == Verdict::Error) {
        2
    } else {
        0
    }
}

/// The readable summary: header, table per profile, then every case that did not pass
/// with its details.
pub fn summary(target: &Target, results: &[CaseReport], verbose: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "p2pchat/1 conformance — {}", target.describe());
    let _ = writeln!(
        s,
        "{:<12} {:>7} {:>7} {:>11} {:>12} {:>8} {:>6}",
        "profile", "passed", "failed", "non-strict", "unsupported", "not-run", "error"
    );
    let mut total = Counts::default();
    for (p, c) in per_profile(results) {
        let _ = writeln!(
            s,
            "{:<12} {:>7} {:>7} {:>11} {:>12} {:>8} {:>6}",
            p.as_str(),
            c.passed,
            c.failed,
            c.non_strict,
            c.unsupported,
            c.not_run,
            c.error
        );
        total.passed += c.passed;
        total.failed += c.failed;
        total.non_strict += c.non_strict;
        total.unsupported += c.unsupported;
        total.not_run += c.not_run;
        total.error += c.error;
    }
    let _ = writeln!(
        s,
        "{:<12} {:>7} {:>7} {:>11} {:>12} {:>8} {:>6}",
        "total",
        total.passed,
        total.failed,
        total.non_strict,
        total.unsupported,
        total.not_run,
        total.error
    );
    let bad: Vec<&CaseReport> = results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::Error | Verdict::Warn))
        .collect();
    for kind in [Verdict::Fail, Verdict::Error, Verdict::Warn] {
        let of: Vec<&&CaseReport> = bad.iter().filter(|r| r.verdict == kind).collect();
        if of.is_empty() {
            continue;
        }
        let title = match kind {
            Verdict::Fail => "FAILURES",
            Verdict::Error => "ERRORS",
            _ => "NON-STRICT (SHOULD not met)",
        };
        let _ = writeln!(s, "\n{title}");
        // Many identical ERRORs (a target that never started) are shown once.
        if kind == Verdict::Error && of.len() > 3 && of.iter().all(|r| r.message == of[0].message) {
            let _ = writeln!(
                s,
                "{} cases: {}\n  {}",
                of.len(),
                of.iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                of[0].message.replace('\n', "\n  ")
            );
            continue;
        }
        for r in of {
            let mark = match r.baseline {
                Some(BaselineMark::KnownFailure) => "  (known failure: in the baseline)\n",
                Some(BaselineMark::NewFailure) => "  (new failure: not in the baseline)\n",
                _ => "",
            };
            let _ = write!(s, "{}{mark}", r.details());
        }
    }
    let unexpected: Vec<&CaseReport> = results
        .iter()
        .filter(|r| r.baseline == Some(BaselineMark::UnexpectedPass))
        .collect();
    if !unexpected.is_empty() {
        let _ = writeln!(
            s,
            "\nUNEXPECTED PASSES (listed in the baseline; remove them)"
        );
        for r in unexpected {
            let _ = writeln!(s, "{} [{}] {}", r.id, r.verdict, r.title);
        }
    }
    if verbose {
        let _ = writeln!(s, "\nALL CASES");
        for r in results {
            let why = if r.message.is_empty() {
                String::new()
            } else {
                format!(" — {}", r.message.lines().next().unwrap_or(""))
            };
            let _ = writeln!(
                s,
                "{:<12} {:<11} {} ({} ms){why}",
                r.id,
                r.verdict.as_str(),
                r.title,
                r.duration.as_millis()
            );
        }
    }
    s
}

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    schema: u32,
    suite: &'static str,
    suite_version: &'static str,
    protocol: &'static str,
    target: JsonTarget,
    summary: JsonSummary,
    cases: &'a [CaseReport],
}

#[derive(serde::Serialize)]
struct JsonTarget {
    name: String,
    description: String,
    kind: String,
    server_profiles: Vec<Profile>,
    timeout_scale: f64,
    slow: bool,
}

#[derive(serde::Serialize)]
struct JsonSummary {
    total: Counts,
    per_profile: BTreeMap<Profile, Counts>,
    exit_code: i32,
}

/// The JSON report (`"schema": 1`).
pub fn json(target: &Target, results: &[CaseReport], with_baseline: bool) -> String {
    let report = JsonReport {
        schema: JSON_SCHEMA,
        suite: "p2pchat-conformance",
        suite_version: env!("CARGO_PKG_VERSION"),
        protocol: "p2pchat/1",
        target: JsonTarget {
            name: target.name.clone(),
            description: target.describe(),
            kind: target
                .server
                .as_ref()
                .map_or("none", |s| s.kind.kind_name())
                .to_owned(),
            server_profiles: target.server_profiles().into_iter().collect(),
            timeout_scale: target.timeout_scale,
            slow: target.slow,
        },
        summary: JsonSummary {
            total: Counts::of(results),
            per_profile: per_profile(results),
            exit_code: exit_code(results, with_baseline),
        },
        cases: results,
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {
                let _ = write!(o, "\\x{:02X}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

/// The JUnit XML report: one testsuite per profile, one testcase per case.
pub fn junit(target: &Target, results: &[CaseReport]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = Counts::of(results);
    let secs: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let _ = writeln!(
        s,
        "<testsuites name=\"p2pchat-conformance: {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" \
         skipped=\"{}\" time=\"{secs:.3}\">",
        xml_escape(&target.name),
        results.len(),
        total.failed,
        total.error,
        total.unsupported + total.not_run
    );
    for (profile, counts) in per_profile(results) {
        let of: Vec<&CaseReport> = results.iter().filter(|r| r.profile == profile).collect();
        let t: f64 = of.iter().map(|r| r.duration.as_secs_f64()).sum();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" \
             time=\"{t:.3}\">",
            profile.as_str(),
            of.len(),
            counts.failed,
            counts.error,
            counts.unsupported + counts.not_run
        );
        for r in of {
            let _ = write!(
                s,
                "    <testcase classname=\"p2pchat.{}\" name=\"{} {}\" time=\"{:.3}\"",
                profile.as_str(),
                xml_escape(&r.id),
                xml_escape(&r.title),
                r.duration.as_secs_f64()
            );
            let body = xml_escape(&r.details());
            match r.verdict {
                Verdict::Pass => s.push_str("/>\n"),
                Verdict::Fail => {
                    let _ = write!(
                        s,
                        ">\n      <failure message=\"{}\" type=\"FAIL\">{body}</failure>\n    \
                         </testcase>\n",
                        xml_escape(&r.message)
                    );
                }
                Verdict::Error => {
                    let _ = write!(
                        s,
                        ">\n      <error message=\"{}\" type=\"ERROR\">{body}</error>\n    \
                         </testcase>\n",
                        xml_escape(&r.message)
                    );
                }
                Verdict::Unsupported | Verdict::NotRun => {
                    let _ = write!(
                        s,
                        ">\n      <skipped message=\"{}: {}\"/>\n    </testcase>\n",
                        r.verdict,
                        xml_escape(&r.message)
                    );
                }
                Verdict::Warn => {
                    let _ = write!(
                        s,
                        ">\n      <system-out>WARN (non-strict: a SHOULD not met)\n{body}\
                         </system-out>\n    </testcase>\n"
                    );
                }
            }
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

/// The requirement → cases → verdict matrix, in PROTOCOL.md order.
pub fn matrix(results: &[CaseReport]) -> String {
    let pending = crate::cases::pending_client_coverage();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<8} {:<10} {:<11} {:<7} cases (verdict)",
        "req", "level", "profile", "role"
    );
    for r in requirements::all() {
        let cases: Vec<String> = crate::cases::all()
            .iter()
            .filter(|c| c.covers.contains(&r.id.as_str()))
            .map(|c| {
                let v = results
                    .iter()
                    .find(|x| x.id == c.id)
                    .map_or("-".to_owned(), |x| x.verdict.to_string());
                format!("{} ({v})", c.id)
            })
            .collect();
        let cell = if cases.is_empty() {
            if r.role == Role::Client && pending.contains(&r.id) {
                "(client case pending)".to_owned()
            } else {
                "NO CASE".to_owned()
            }
        } else {
            cases.join(", ")
        };
        let _ = writeln!(
            s,
            "{:<8} {:<10} {:<11} {:<7} {cell}",
            r.id,
            r.level.as_str(),
            r.profile_name,
            r.role.to_string()
        );
    }
    s
}
