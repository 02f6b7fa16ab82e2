//! Deliberate rule-breaks (cargo feature `faults`), selectable at run time. Each breaks
//! exactly one rule of `PROTOCOL.md`; the conformance suite uses them to prove that its
//! cases catch broken servers. With the feature off none of this exists.

use std::fmt;
use std::str::FromStr;

macro_rules! faults {
    ($($(#[$doc:meta])* $name:ident => $rule:literal,)*) => {
        /// One deliberate rule-break.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Fault {
            $($(#[$doc])* $name,)*
        }

        impl Fault {
            /// Every fault.
            pub const ALL: &'static [Fault] = &[$(Fault::$name,)*];

            /// The fault's name (the variant's name).
            pub fn name(self) -> &'static str {
                match self { $(Fault::$name => stringify!($name),)* }
            }

            /// The requirement ID(s) it breaks.
            pub fn breaks(self) -> &'static str {
                match self { $(Fault::$name => $rule,)* }
            }
        }
    };
}

faults! {
    /// A nick held by another connection in another case is accepted (REG-3).
    CaseSensitiveNicks => "REG-3",
    /// A BROADCAST naming another nick is relayed (BRD-2).
    NoSenderCheck => "BRD-2",
    /// A BROADCAST whose len differs from its text is relayed as-is (ERR-1, BRD-4).
    NoLengthCheck => "ERR-1 BRD-4",
    /// The sender of a BROADCAST gets no echo (BRD-1).
    NoEcho => "BRD-1",
    /// A bare LF does not end a line (FRM-1).
    CrlfOnly => "FRM-1",
    /// A connection that never registered causes an UPDATE:LEAVE (LEA-2).
    LeaveForUnregistered => "LEA-2",
    /// Broadcasts and SENDs from a blocked user are relayed (BLK-5, BLK-6).
    RelayFromBlocked => "BLK-5 BLK-6",
    /// The mailbox lives in memory only and is lost at restart (RLY-5).
    VolatileMailbox => "RLY-5",
    /// Redelivery goes in decreasing id order (RLY-3).
    RedeliverReversed => "RLY-3",
    /// An owned nick registers without its token (OWN-2).
    NoTokenCheck => "OWN-2",
    /// TICKET is answered but the target gets no INVITE (TKT-1).
    NoInvite => "TKT-1",
    /// The LIST reply omits the requester (REG-2).
    ListWithoutSelf => "REG-2",
    /// The connection is closed after any ERR (ERR-1).
    CloseOnError => "ERR-1",
    /// PING before registration is ignored (KA-1).
    NoPongBeforeRegister => "KA-1",
    /// ACK removes the id from whichever mailbox holds it (RLY-4).
    AckAnyMailbox => "RLY-4",
    /// Overlong lines are truncated and processed instead of LINE_TOO_LONG (FRM-4).
    NoOverlongCheck => "FRM-4",
    /// A BLOCK beyond the quota is answered BLOCKS_FULL but recorded all the same (BLK-9).
    BlocksFullRecorded => "BLK-9",
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown fault name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {0:?}")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;
    fn from_str(s: &str) -> Result<Fault, UnknownFault> {
        Fault::ALL
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFault(s.to_owned()))
    }
}

/// A set of faults; empty by default (a correct server).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Faults(u32);

impl Faults {
    /// No fault.
    pub const NONE: Faults = Faults(0);

    fn bit(f: Fault) -> u32 {
        1 << (f as u32)
    }

    /// Whether `f` is in the set.
    pub fn contains(self, f: Fault) -> bool {
        self.0 & Faults::bit(f) != 0
    }

    /// Adds `f`.
    pub fn insert(&mut self, f: Fault) {
        self.0 |= Faults::bit(f);
    }

    /// The set with `f` added.
    pub fn with(mut self, f: Fault) -> Faults {
        self.insert(f);
        self
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The faults in the set.
    pub fn iter(self) -> impl Iterator<Item = Fault> {
        Fault::ALL
            .iter()
            .copied()
            .filter(move |f| self.contains(*f))
    }
}

impl From<Fault> for Faults {
    fn from(f: Fault) -> Faults {
        Faults::NONE.with(f)
    }
}

impl FromIterator<Fault> for Faults {
    fn from_iter<I: IntoIterator<Item = Fault>>(iter: I) -> Faults {
        let mut s = Faults::NONE;
        for f in iter {
            s.insert(f);
        }
        s
    }
}
