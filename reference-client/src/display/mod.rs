//! Showing things to people: neutralising text from the network.

pub mod sanitize;
