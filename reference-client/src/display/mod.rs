//! Showing things to people: local time stamps, events as text, and
//! neutralising text from the network.

pub mod clock;
pub mod format;
pub mod sanitize;
