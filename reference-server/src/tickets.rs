//! One-time private-chat tickets (§13): issued with a TTL measured in passed-in time.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use spec::Ticket;
use spec::limits::TICKET_TTL_SECS;

use crate::entropy::Entropy;

/// The tickets issued in the last `TICKET_TTL`, so that none repeats ([TKT-3]).
///
/// The server does not check tickets itself (the peers do, [DIR-4]); it keeps the live
/// ones only to guarantee uniqueness and to bound memory.
///
/// Expired tickets leave from the front of a queue in the order they were issued (time
/// only goes forward and the TTL is fixed, so that is also the order they expire in):
/// issuing costs the same however many are live. (Scanning every live ticket at each
/// issue made a flood of TICKET requests, each within the rate limit, cost time in
/// proportion to their number under the hub's lock.)
#[derive(Debug, Default)]
pub struct Tickets {
    live: HashSet<Ticket>,
    by_expiry: VecDeque<(Duration, Ticket)>,
}

impl Tickets {
    /// A new ticket that is not among the live ones, valid until `now + TICKET_TTL`.
    pub fn issue(&mut self, entropy: &mut dyn Entropy, now: Duration) -> Ticket {
        while let Some(&(expiry, old)) = self.by_expiry.front() {
            if expiry > now {
                break;
            }
            self.live.remove(&old);
            self.by_expiry.pop_front();
        }
        loop {
            let t = Ticket::from_random(entropy.random16());
            if self.live.insert(t) {
                self.by_expiry
                    .push_back((now + Duration::from_secs(TICKET_TTL_SECS), t));
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
