//! Extraction of the requirements of `PROTOCOL.md` with the expression of its §1,
//! implemented by hand (the workspace has no regex crate):
//!
//! ```text
//! \*\*\[([A-Z]+-[0-9]+)\] \((MUST NOT|MUST|SHOULD NOT|SHOULD); ([a-z-]+); (server|client)\)\*\*
//! ```

/// The expression, exactly as §1 writes it (the test checks that it still does).
pub const REQUIREMENT_REGEX: &str = r"\*\*\[([A-Z]+-[0-9]+)\] \((MUST NOT|MUST|SHOULD NOT|SHOULD); ([a-z-]+); (server|client)\)\*\*";

/// Profiles of §4.
pub const PROFILES: [&str; 7] = [
    "core",
    "query",
    "relay",
    "block",
    "direct",
    "udp-direct",
    "serverless",
];
/// Roles of §1.
pub const ROLES: [&str; 2] = ["server", "client"];

/// One requirement as the expression captures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// `REG-3`
    pub id: String,
    /// `MUST`, `MUST NOT`, `SHOULD`, `SHOULD NOT`
    pub level: String,
    /// A profile (checked against [`PROFILES`] by the caller).
    pub profile: String,
    /// `server` or `client`
    pub role: String,
    /// 1-based line number in the document.
    pub line: usize,
}

/// Matches the expression at the start of `s` (which starts with `**[`).
fn match_at(s: &str) -> Option<(String, String, String, String)> {
    let s = s.strip_prefix("**[")?;
    let letters = s.bytes().take_while(u8::is_ascii_uppercase).count();
    if letters == 0 {
        return None;
    }
    let s2 = s[letters..].strip_prefix('-')?;
    let digits = s2.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let id = s[..letters + 1 + digits].to_owned();
    let s = s2[digits..].strip_prefix("] (")?;
    let level = ["MUST NOT", "MUST", "SHOULD NOT", "SHOULD"]
        .into_iter()
        .find(|l| s.starts_with(l))?;
    let s = s[level.len()..].strip_prefix("; ")?;
    let plen = s
        .bytes()
        .take_while(|b| b.is_ascii_lowercase() || *b == b'-')
        .count();
    if plen == 0 {
        return None;
    }
    let profile = s[..plen].to_owned();
    let s = s[plen..].strip_prefix("; ")?;
    let role = ROLES.into_iter().find(|r| s.starts_with(r))?;
    s[role.len()..].strip_prefix(")**")?;
    Some((id, level.to_owned(), profile, role.to_owned()))
}

/// Every `**[` of the document: the requirements, and the lines where a `**[`
/// does not match the expression (malformed requirements).
pub fn extract(doc: &str) -> (Vec<Requirement>, Vec<(usize, String)>) {
    let mut reqs = Vec::new();
    let mut bad = Vec::new();
    for (n, line) in doc.lines().enumerate() {
        let mut from = 0;
        while let Some(at) = line[from..].find("**[") {
            let start = from + at;
            match match_at(&line[start..]) {
                Some((id, level, profile, role)) => reqs.push(Requirement {
                    id,
                    level,
                    profile,
                    role,
                    line: n + 1,
                }),
                None => bad.push((n + 1, line.to_owned())),
            }
            from = start + 3;
        }
    }
    (reqs, bad)
}

/// The IDs of the requirements of `spec/PROTOCOL.md`.
pub fn protocol_ids() -> std::collections::BTreeSet<String> {
    let doc = std::fs::read_to_string(super::spec_dir().join("PROTOCOL.md")).unwrap();
    extract(&doc).0.into_iter().map(|r| r.id).collect()
}
