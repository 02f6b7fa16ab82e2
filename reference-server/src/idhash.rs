//! A fast hasher for keys the server itself assigns (connection ids): one
//! multiplication instead of SipHash. Not for keys a client chooses (nicks keep the
//! standard, DoS-resistant hasher).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Fibonacci hashing of a `u64`: the multiplication spreads the bits of a counter
/// over the whole word, the top bits included (which the map's probing uses).
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only integer keys are hashed with this; fold anything else in anyway.
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by server-assigned ids.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A set of server-assigned ids.
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;
