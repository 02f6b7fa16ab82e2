//! Nicknames: `nick = 1*32nickchar`, `nickchar = ALPHA / DIGIT / "_" / "-"` (§3).

use std::fmt;

use crate::error::{DecodeError, ErrorCode};
use crate::limits::MAX_NICK;

/// A valid nickname. It cannot hold an invalid value.
///
/// Equality is byte equality (the case as registered, [REG-8]); use [`Nick::key`]
/// to compare without case ([REG-3]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Nick(String);

/// A nick folded to lower case: the key under which nicks are unique ([REG-3]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NickKey(String);

/// Whether `b` is a `nickchar`.
pub(crate) fn is_nickchar(b: u8) -> bool {
    NICKCHAR[usize::from(b)]
}

/// `nickchar` as a table: one load per octet instead of four range tests, on the
/// decoder's hot path (every line names a nick).
static NICKCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    t
};

/// Checks `s` against the nick rule without copying it: the rule of
/// [`Nick::new`], shared with the borrowed decoder.
pub(crate) fn check(s: &str) -> Result<(), DecodeError> {
    if s.is_empty() {
        return Err(DecodeError::new(ErrorCode::BadNick, "nick is empty"));
    }
    if s.len() > MAX_NICK {
        return Err(DecodeError::new(
            ErrorCode::BadNick,
            "nick is longer than 32 characters",
        ));
    }
    if !s.bytes().all(is_nickchar) {
        return Err(DecodeError::new(
            ErrorCode::BadNick,
            "nick may hold only A-Z a-z 0-9 _ -",
        ));
    }
    Ok(())
}

impl Nick {
    /// Validates `s` as a nick; the error code is `BAD_NICK`.
    pub fn new(s: &str) -> Result<Nick, DecodeError> {
        check(s)?;
        Ok(Nick(s.to_owned()))
    }

    /// A nick the crate has already checked (a field of a borrowed line).
    pub(crate) fn from_valid(s: &str) -> Nick {
        debug_assert!(check(s).is_ok(), "{s:?} is not a valid nick");
        Nick(s.to_owned())
    }

    /// The nick as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded key ([REG-3]).
    pub fn key(&self) -> NickKey {
        NickKey(self.0.to_ascii_lowercase())
    }

    /// Whether two nicks are the same without regard to ASCII case.
    pub fn eq_ignore_case(&self, other: &Nick) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl NickKey {
    /// The folded nick.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Nick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for NickKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Nick {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Nick::new(s)
    }
}
