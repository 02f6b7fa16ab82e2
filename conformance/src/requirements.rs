//! The requirements of `spec/PROTOCOL.md`, read from the text itself.
//!
//! The suite quotes the sentence of every requirement it reports on, and the traceability
//! test checks every ID against the cases, so both read the one normative text, compiled in.
//! The extraction follows the regular expression given in PROTOCOL.md §1:
//!
//! ```text
//! \*\*\[([A-Z]+-[0-9]+)\] \((MUST NOT|MUST|SHOULD NOT|SHOULD); ([a-z-]+); (server|client)\)\*\*
//! ```

use std::fmt;
use std::sync::OnceLock;

use crate::profile::Profile;

/// The normative specification, as compiled into the suite.
pub const PROTOCOL_MD: &str = include_str!("../../spec/PROTOCOL.md");

/// A requirement level (PROTOCOL.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Level {
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "MUST NOT")]
    MustNot,
    #[serde(rename = "SHOULD")]
    Should,
    #[serde(rename = "SHOULD NOT")]
    ShouldNot,
}

impl Level {
    /// MUST and MUST NOT are strict: breaking them is a FAIL. SHOULD (NOT) gives WARN.
    pub fn is_strict(self) -> bool {
        matches!(self, Level::Must | Level::MustNot)
    }

    fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "MUST" => Level::Must,
            "MUST NOT" => Level::MustNot,
            "SHOULD" => Level::Should,
            "SHOULD NOT" => Level::ShouldNot,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::MustNot => "MUST NOT",
            Level::Should => "SHOULD",
            Level::ShouldNot => "SHOULD NOT",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role a requirement binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Server,
    Client,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Server => "server",
            Role::Client => "client",
        })
    }
}

/// One requirement of PROTOCOL.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub id: String,
    pub level: Level,
    /// The profile as written; `profile()` parses it.
    pub profile_name: String,
    pub role: Role,
    /// The paragraph that holds the requirement, whitespace collapsed, markup kept.
    pub sentence: String,
    /// 1-based line of PROTOCOL.md where the requirement's marker is.
    pub line: usize,
}

impl Requirement {
    pub fn profile(&self) -> Option<Profile> {
        Profile::parse(&self.profile_name)
    }

    /// `[REG-3] (MUST; core; server)`.
    pub fn header(&self) -> String {
        format!(
            "[{}] ({}; {}; {})",
            self.id, self.level, self.profile_name, self.role
        )
    }
}

/// Every requirement of the compiled-in PROTOCOL.md, in document order.
pub fn all() -> &'static [Requirement] {
    static ALL: OnceLock<Vec<Requirement>> = OnceLock::new();
    ALL.get_or_init(|| extract(PROTOCOL_MD))
}

/// The requirement with this ID, if PROTOCOL.md has it.
pub fn find(id: &str) -> Option<&'static Requirement> {
    all().iter().find(|r| r.id == id)
}

/// Extracts the requirements of a PROTOCOL.md text (see the module doc for the pattern).
pub fn extract(text: &str) -> Vec<Requirement> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(rel) = text[from..].find("**[") {
        let start = from + rel;
        from = start + 3;
        let Some(m) = match_marker(&text[start..]) else {
            continue;
        };
        let line = bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1;
        out.push(Requirement {
            id: m.id,
            level: m.level,
            profile_name: m.profile,
            role: m.role,
            sentence: paragraph_around(text, start),
            line,
        });
        from = start + m.len;
    }
    out
}

struct Marker {
    id: String,
    level: Level,
    profile: String,
    role: Role,
    len: usize,
}

/// Matches `**[ID] (LEVEL; profile; role)**` at the start of `s`.
fn match_marker(s: &str) -> Option<Marker> {
    let rest = s.strip_prefix("**[")?;
    let close = rest.find(']')?;
    let id = &rest[..close];
    let (letters, digits) = id.split_once('-')?;
    if letters.is_empty()
        || !letters.bytes().all(|b| b.is_ascii_uppercase())
        || digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let rest = rest[close..].strip_prefix("] (")?;
    let end = rest.find(")**")?;
    let inner = &rest[..end];
    let mut parts = inner.split("; ");
    let level = Level::parse(parts.next()?)?;
    let profile = parts.next()?;
    if profile.is_empty() || !profile.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
        return None;
    }
    let role = match parts.next()? {
        "server" => Role::Server,
        "client" => Role::Client,
        _ => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    let len = 3 + close + 3 + end + 3;
    Some(Marker {
        id: id.to_owned(),
        level,
        profile: profile.to_owned(),
        role,
        len,
    })
}

/// The paragraph (text between blank lines) that contains byte `at`, whitespace collapsed.
fn paragraph_around(text: &str, at: usize) -> String {
    let start = text[..at].rfind("\n\n").map_or(0, |i| i + 2);
    let end = text[at..].find("\n\n").map_or(text.len(), |i| at + i);
    text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn extracts_markers_and_paragraphs() {
        let text = "intro\n\n**[AB-1] (MUST; core; server)** A server MUST\nanswer.\n\nEvery \
                    sender (**[AB-2] (SHOULD NOT; relay; client)** for x) does.\n\n**[bad-1] \
                    (MUST; core; server)** no\n";
        let reqs = extract(text);
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].id, "AB-1");
        assert_eq!(reqs[0].level, Level::Must);
        assert_eq!(reqs[0].line, 3);
        assert_eq!(
            reqs[0].sentence,
            "**[AB-1] (MUST; core; server)** A server MUST answer."
        );
        assert_eq!(reqs[1].level, Level::ShouldNot);
        assert_eq!(reqs[1].role, Role::Client);
        assert!(reqs[1].sentence.starts_with("Every sender"));
    }

    #[test]
    fn protocol_has_requirements() {
        assert!(find("REG-3").is_some());
        assert!(all().len() > 50);
    }
}
