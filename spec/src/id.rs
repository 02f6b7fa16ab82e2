//! Numbers on the wire: `msg-id` and `time` (§3).

use std::fmt;

use crate::error::{DecodeError, ErrorCode};
use crate::limits::{MAX_MSG_ID, MAX_TIME};

/// A message id, 1 to `MAX_MSG_ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct MsgId(u64);

impl MsgId {
    /// Validates a message id.
    pub fn new(n: u64) -> Result<MsgId, DecodeError> {
        if n == 0 || n > MAX_MSG_ID {
            return Err(DecodeError::new(
                ErrorCode::Malformed,
                "a message id is 1 to 9007199254740991",
            ));
        }
        Ok(MsgId(n))
    }

    /// The id.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A time in seconds since 1970-01-01T00:00:00Z, at most `MAX_TIME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// Validates a time.
    pub fn new(secs: u64) -> Result<Timestamp, DecodeError> {
        if secs > MAX_TIME {
            return Err(DecodeError::new(ErrorCode::Malformed, "time is too large"));
        }
        Ok(Timestamp(secs))
    }

    /// Seconds since the epoch.
    pub fn secs(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
