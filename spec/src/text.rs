//! Free text: `text = 1*lchar`, at most `MAX_TEXT` octets, never CR, LF or NUL (§2, §3).

use std::fmt;

use crate::error::{DecodeError, ErrorCode};
use crate::limits::MAX_TEXT;

/// Valid message text: 1 to `MAX_TEXT` octets of UTF-8 without NUL, CR or LF.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Text(String);

/// Checks `s` against the text rule without copying it: the rule of
/// [`Text::new`], shared with the borrowed field type.
pub(crate) fn check(s: &str) -> Result<(), DecodeError> {
    if s.is_empty() {
        return Err(DecodeError::new(ErrorCode::Malformed, "text is empty"));
    }
    if s.len() > MAX_TEXT {
        return Err(DecodeError::new(
            ErrorCode::TextTooLong,
            "text is longer than 1024 octets",
        ));
    }
    if s.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
        return Err(DecodeError::new(
            ErrorCode::Malformed,
            "text may not hold NUL, CR or LF",
        ));
    }
    Ok(())
}

impl Text {
    /// Validates `s` as message text.
    pub fn new(s: &str) -> Result<Text, DecodeError> {
        check(s)?;
        Ok(Text(s.to_owned()))
    }

    /// Makes `s` valid text, for text a program writes itself (an error
    /// reason, say): NUL, CR and LF become spaces, and it is cut to at most
    /// `MAX_TEXT` octets at a character boundary. `None` if `s` is empty.
    pub fn sanitized(s: &str) -> Option<Text> {
        let mut end = s.len().min(MAX_TEXT);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let cut = &s[..end];
        if cut.is_empty() {
            return None;
        }
        let text = if cut.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
            cut.replace(['\0', '\r', '\n'], " ")
        } else {
            cut.to_owned()
        };
        Some(Text(text))
    }

    /// Text the crate knows to be valid (a non-empty constant without NUL, CR or
    /// LF, at most `MAX_TEXT` octets).
    pub(crate) fn from_valid(s: &str) -> Text {
        debug_assert!(check(s).is_ok(), "{s:?} is not valid text");
        Text(s.to_owned())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its length in octets (the `<len>` field).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: text is never empty. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
