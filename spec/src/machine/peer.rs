//! The peer-session state machine, both ends (§13, §14, §16, §19).
