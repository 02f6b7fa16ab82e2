//! Where tokens and tickets come from ([OWN-5], [TKT-3]).

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

/// A source of 128-bit random values. The server uses [`OsEntropy`]; tests use a
/// deterministic source so that transcripts are reproducible.
pub trait Entropy: Send {
    /// 16 fresh random bytes.
    fn random16(&mut self) -> [u8; 16];
}

/// A cryptographically secure generator (ChaCha, seeded from the operating system).
#[derive(Debug)]
pub struct OsEntropy(StdRng);

impl OsEntropy {
    /// A generator seeded from the operating system's random source.
    pub fn new() -> OsEntropy {
        OsEntropy(StdRng::from_os_rng())
    }
}

impl Default for OsEntropy {
    fn default() -> Self {
        OsEntropy::new()
    }
}

impl Entropy for OsEntropy {
    fn random16(&mut self) -> [u8; 16] {
        let mut b = [0u8; 16];
        self.0.fill_bytes(&mut b);
        b
    }
}

/// A deterministic counter, for tests only: NOT random.
#[derive(Debug, Default)]
pub struct CountingEntropy(pub u128);

impl Entropy for CountingEntropy {
    fn random16(&mut self) -> [u8; 16] {
        self.0 += 1;
        self.0.to_be_bytes()
    }
}
