//! Profiles (PROTOCOL.md §4): what an implementation claims, and what a case needs.

use std::collections::BTreeSet;
use std::fmt;

/// One profile of PROTOCOL.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    Core,
    Query,
    Relay,
    Block,
    Direct,
    UdpDirect,
    Serverless,
}

impl Profile {
    pub const ALL: [Profile; 7] = [
        Profile::Core,
        Profile::Query,
        Profile::Relay,
        Profile::Block,
        Profile::Direct,
        Profile::UdpDirect,
        Profile::Serverless,
    ];

    /// The profiles a server can claim (`serverless` is a client profile).
    pub const SERVER: [Profile; 6] = [
        Profile::Core,
        Profile::Query,
        Profile::Relay,
        Profile::Block,
        Profile::Direct,
        Profile::UdpDirect,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Core => "core",
            Profile::Query => "query",
            Profile::Relay => "relay",
            Profile::Block => "block",
            Profile::Direct => "direct",
            Profile::UdpDirect => "udp-direct",
            Profile::Serverless => "serverless",
        }
    }

    pub fn parse(s: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a comma-separated list such as `core,query,relay`; `all` means every profile.
pub fn parse_list(s: &str, all: &[Profile]) -> Result<BTreeSet<Profile>, String> {
    let mut set = BTreeSet::new();
    for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if word == "all" {
            set.extend(all.iter().copied());
            continue;
        }
        match Profile::parse(word) {
            Some(p) => {
                set.insert(p);
            }
            None => {
                return Err(format!(
                    "unknown profile {word:?} (known: all, {})",
                    Profile::ALL.map(Profile::as_str).join(", ")
                ));
            }
        }
    }
    if set.is_empty() {
        return Err("empty profile list".to_owned());
    }
    Ok(set)
}

/// `core,query` — the canonical text of a set.
pub fn list_string(set: &BTreeSet<Profile>) -> String {
    set.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
}
