//! Regression tests for what the fuzz targets found in the spec crate, one per finding,
//! named after what broke (see `fuzz/README.md`, "Findings").

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use spec::machine::peer::PeerSession;
use spec::{Nick, PeerLine, PingToken};

/// F1 (`peer_session`): on the accepting side, `ping` during the handshake queued
/// `PING` as the session's first line; §14 wants each side's first line to be its
/// `HELLO` (the other side answers anything else with `ERR:BAD_TICKET` and closes).
#[test]
fn peer_ping_during_handshake_is_not_the_first_line() {
    for mut s in [
        PeerSession::accept_hybrid(Nick::new("alice").unwrap(), Duration::from_secs(100)),
        PeerSession::accept_serverless(Nick::new("alice").unwrap(), Duration::from_secs(100)),
    ] {
        s.ping(PingToken::new("a").unwrap());
        if let Some(first) = s.poll_transmit() {
            assert!(
                matches!(first, PeerLine::Hello { .. }),
                "the first line sent is {first}, not HELLO"
            );
        }
    }
}
