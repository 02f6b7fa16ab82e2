//! Sans-IO state machines (§19): bytes, decoded lines and time go in; lines to send
//! and events come out. No sockets, no clock: time is passed in as a `Duration`
//! since an origin the driver chooses.

pub mod client;
pub mod peer;
pub mod server_conn;
