//! The client state machine (§18, §19).
