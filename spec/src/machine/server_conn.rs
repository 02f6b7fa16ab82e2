//! The per-connection state machine of a server (§7, §17, §19).
