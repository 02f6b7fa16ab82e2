//! One-time private-chat tickets (§13): issued with a TTL measured in passed-in time.

use std::collections::HashMap;
use std::time::Duration;

use spec::Ticket;
use spec::limits::TICKET_TTL_SECS;

use crate::entropy::Entropy;

/// The tickets issued in the last `TICKET_TTL`, so that none repeats ([TKT-3]).
///
/// The server does not check tickets itself (the peers do, [DIR-4]); it keeps the live
/// ones only to guarantee uniqueness and to bound memory.
#[derive(Debug, Default)]
pub struct Tickets {
    live: HashMap<Ticket, Duration>,
}

impl Tickets {
    /// A new ticket that is not among the live ones, valid until `now + TICKET_TTL`.
    pub fn issue(&mut self, entropy: &mut dyn Entropy, now: Duration) -> Ticket {
        self.live.retain(|_, expiry| *expiry > now);
        loop {
            let t = Ticket::from_random(entropy.random16());
            if let std::collections::hash_map::Entry::Vacant(e) = self.live.entry(t) {
                e.insert(now + Duration::from_secs(TICKET_TTL_SECS));
                return t;
            }
        }
    }

    /// How many tickets are live.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether no ticket is live.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}
