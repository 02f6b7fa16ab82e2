//! Secrets and tokens: `token`, `ticket` (32 lowercase hex digits) and `ping-token` (§3).

use std::fmt;

use crate::error::{DecodeError, ErrorCode};
use crate::limits::MAX_PING_TOKEN;
use crate::nick::is_nickchar;

fn hex32(s: &str, what: &'static str) -> Result<[u8; 32], DecodeError> {
    let b = s.as_bytes();
    if b.len() != 32
        || !b
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
    {
        return Err(DecodeError::new(ErrorCode::Malformed, what));
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(b);
    Ok(out)
}

fn hex_of(bytes: [u8; 16]) -> [u8; 32] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
    out
}

macro_rules! secret {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Validates 32 lowercase hex digits.
            pub fn new(s: &str) -> Result<$name, DecodeError> {
                hex32(s, $what).map($name)
            }

            /// Writes 128 random bits (from the caller's CSPRNG) as hex.
            pub fn from_random(bytes: [u8; 16]) -> $name {
                $name(hex_of(bytes))
            }

            /// The 32 hex digits.
            pub fn as_str(&self) -> &str {
                // Invariant: the array only ever holds ASCII hex digits.
                std::str::from_utf8(&self.0).unwrap_or_default()
            }

            /// The 32 hex digits as bytes (for constant-time comparison).
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

secret!(
    /// A nick-ownership token ([OWN-1]).
    Token,
    "a token is 32 lowercase hex digits"
);
secret!(
    /// A one-time private-chat ticket ([TKT-1]).
    Ticket,
    "a ticket is 32 lowercase hex digits"
);

/// Checks `s` against `ping-token = 1*32nickchar` without copying it: the rule
/// of [`PingToken::new`], shared with the borrowed decoder.
pub(crate) fn check_ping_token(s: &str) -> Result<(), DecodeError> {
    if s.is_empty() || s.len() > MAX_PING_TOKEN || !s.bytes().all(is_nickchar) {
        return Err(DecodeError::new(
            ErrorCode::Malformed,
            "a ping token is 1 to 32 of A-Z a-z 0-9 _ -",
        ));
    }
    Ok(())
}

/// The token of a PING/PONG pair: 1 to 32 `nickchar`s.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct PingToken(String);

impl PingToken {
    /// Validates a ping token.
    pub fn new(s: &str) -> Result<PingToken, DecodeError> {
        check_ping_token(s)?;
        Ok(PingToken(s.to_owned()))
    }

    /// A ping token the crate has already checked (a field of a borrowed line).
    pub(crate) fn from_valid(s: &str) -> PingToken {
        debug_assert!(check_ping_token(s).is_ok(), "{s:?} is not a ping token");
        PingToken(s.to_owned())
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
