//! A tiny reader that turns fuzzer bytes into choices.
//!
//! The stateful harnesses (hub, machines, black box) read their input through this
//! instead of `arbitrary`, so that the very same harness code also runs under
//! `proptest` in the main workspace's `cargo test` (those tests include these files
//! with `#[path]`, and the main workspace has no `arbitrary` for them). Every read is
//! total: past the end of the input it yields zeros, so any byte string is a valid
//! script.

#![allow(dead_code)]

/// Reads choices from a byte string, front to back.
#[derive(Debug, Clone)]
pub struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes { data, at: 0 }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }

    /// Bytes left.
    pub fn left(&self) -> usize {
        self.data.len().saturating_sub(self.at)
    }

    /// One byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at = self.at.saturating_add(1);
        b
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from(self.u8()) | (u16::from(self.u8()) << 8)
    }

    /// Four bytes, little-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from(self.u16()) | (u32::from(self.u16()) << 16)
    }

    /// Eight bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    /// A boolean (the low bit of one byte).
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        if n <= 256 {
            usize::from(self.u8()) % n
        } else {
            usize::from(self.u16()) % n
        }
    }

    /// One element of `items` (`items` must not be empty).
    pub fn pick<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        let i = self.below(items.len());
        &items[i]
    }

    /// Up to `max` raw bytes: a length byte (or two), then that many bytes (fewer
    /// at the end of the input).
    pub fn chunk(&mut self, max: usize) -> &'a [u8] {
        let want = if max > 255 {
            usize::from(self.u16()) % (max + 1)
        } else {
            usize::from(self.u8()) % (max + 1)
        };
        let start = self.at.min(self.data.len());
        let end = start.saturating_add(want).min(self.data.len());
        self.at = start.saturating_add(want);
        &self.data[start..end]
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let start = self.at.min(self.data.len());
        self.at = self.data.len();
        &self.data[start..]
    }
}

/// Writes choices in the form [`Bytes`] reads them back: how seeds are made from
/// the spec's examples.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The bytes written so far.
    pub out: Vec<u8>,
}

impl Script {
    /// One byte.
    pub fn u8(&mut self, b: u8) -> &mut Self {
        self.out.push(b);
        self
    }

    /// Two bytes, little-endian.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A chunk as [`Bytes::chunk`] reads it with this `max`.
    pub fn chunk(&mut self, max: usize, data: &[u8]) -> &mut Self {
        let n = data.len().min(max);
        if max > 255 {
            // n <= max <= u16::MAX for every caller.
            self.u16(u16::try_from(n).unwrap_or(u16::MAX));
        } else {
            self.u8(u8::try_from(n).unwrap_or(u8::MAX));
        }
        self.out.extend_from_slice(&data[..n]);
        self
    }
}
