//! The numbers fixed by `PROTOCOL.md` §1.

/// Octets in a line, not counting its terminator (`MAX_LINE`).
pub const MAX_LINE: usize = 2048;
/// Octets of free text in one message (`MAX_TEXT`).
pub const MAX_TEXT: usize = 1024;
/// Characters in a nickname (`MAX_NICK`).
pub const MAX_NICK: usize = 32;
/// Characters in a ping token.
pub const MAX_PING_TOKEN: usize = 32;
/// The server's TCP port unless configured otherwise (`DEFAULT_PORT`).
pub const DEFAULT_PORT: u16 = 1337;
/// Lifetime of an unused ticket, in seconds (`TICKET_TTL`).
pub const TICKET_TTL_SECS: u64 = 60;
/// Messages a server must be willing to queue per user (`MIN_MAILBOX`).
pub const MIN_MAILBOX: usize = 100;
/// Blocks a server must be willing to keep per user (`MIN_BLOCKS`, [BLK-9]).
pub const MIN_BLOCKS: usize = 100;
/// Largest message id, 2^53 − 1 (`MAX_MSG_ID`).
pub const MAX_MSG_ID: u64 = 9_007_199_254_740_991;
/// Largest time value the grammar allows (`time = "0" / %x31-39 *10DIGIT`).
pub const MAX_TIME: u64 = 99_999_999_999;
