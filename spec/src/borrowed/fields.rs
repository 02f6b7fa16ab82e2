//! Borrowed field types: a field's text, validated in place, without a copy.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::address::{Address, Ip, Port};
use crate::error::{DecodeError, ErrorCode};
use crate::id::{MsgId, Timestamp};
use crate::message::{ErrCode, Msg, User};
use crate::nick::Nick;
use crate::text::Text;
use crate::token::PingToken;

/// A borrowed `&str` that passed the rule of an owned field type.
macro_rules! str_view {
    ($(#[$doc:meta])* $name:ident => $owned:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name<'a>(&'a str);

        impl<'a> $name<'a> {
            #[doc = concat!("Validates `s` by the rule of [`", stringify!($owned), "::new`], without copying it.")]
            pub fn new(s: &'a str) -> Result<$name<'a>, DecodeError> {
                $check(s)?;
                Ok($name(s))
            }

            /// Text the decoder has checked against the rule.
            pub(crate) fn from_checked(s: &'a str) -> $name<'a> {
                debug_assert!($check(s).is_ok(), "{s:?} breaks the rule");
                $name(s)
            }

            /// The text, borrowed from the decoded line.
            pub fn as_str(self) -> &'a str {
                self.0
            }

            #[doc = concat!("An owned [`", stringify!($owned), "`] (copies the text).")]
            pub fn into_owned(self) -> $owned {
                $owned::from_valid(self.0)
            }
        }

        impl<'a> From<&'a $owned> for $name<'a> {
            /// The view of an owned value (valid already: nothing is checked again).
            fn from(v: &'a $owned) -> $name<'a> {
                $name(v.as_str())
            }
        }

        impl fmt::Display for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0)
            }
        }
    };
}

str_view!(
    /// A nick (`nick = 1*32nickchar`), borrowed; equality is byte equality, as
    /// for [`Nick`].
    NickRef => Nick, crate::nick::check
);
str_view!(
    /// Message text (1 to `MAX_TEXT` octets of UTF-8 without NUL, CR or LF),
    /// borrowed.
    TextRef => Text, crate::text::check
);
str_view!(
    /// A ping token (`1*32nickchar`), borrowed.
    PingTokenRef => PingToken, crate::token::check_ping_token
);

impl NickRef<'_> {
    /// Whether two nicks are the same without regard to ASCII case ([REG-3]).
    pub fn eq_ignore_case(self, other: NickRef<'_>) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl TextRef<'_> {
    /// Its length in octets (the `<len>` field).
    pub fn len(self) -> usize {
        self.0.len()
    }

    /// Always false: text is never empty. Present for API symmetry.
    pub fn is_empty(self) -> bool {
        self.0.is_empty()
    }
}

/// A valid IP literal as written (no brackets), borrowed, with its parsed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpRef<'a> {
    text: &'a str,
    addr: IpAddr,
}

impl<'a> IpRef<'a> {
    /// Validates an IP literal by the rule of [`Ip::new`], without copying it.
    pub fn new(text: &'a str) -> Result<IpRef<'a>, DecodeError> {
        Ok(IpRef {
            text,
            addr: crate::address::parse_ip(text)?,
        })
    }

    /// A literal the decoder has parsed into `addr`.
    pub(crate) fn from_parts(text: &'a str, addr: IpAddr) -> IpRef<'a> {
        IpRef { text, addr }
    }

    /// The literal as written (no brackets).
    pub fn as_str(self) -> &'a str {
        self.text
    }

    /// The parsed address.
    pub fn addr(self) -> IpAddr {
        self.addr
    }

    /// An owned [`Ip`] (copies the literal).
    pub fn into_owned(self) -> Ip {
        Ip::from_parts(self.text, self.addr)
    }
}

impl<'a> From<&'a Ip> for IpRef<'a> {
    /// The view of an owned [`Ip`] (valid already: nothing is parsed again).
    fn from(ip: &'a Ip) -> IpRef<'a> {
        IpRef {
            text: ip.as_str(),
            addr: ip.addr(),
        }
    }
}

impl<'a> From<&'a Address> for AddressRef<'a> {
    /// The view of an owned [`Address`].
    fn from(a: &'a Address) -> AddressRef<'a> {
        AddressRef {
            ip: (&a.ip).into(),
            port: a.port,
        }
    }
}

/// A usable `<ip>:<port>` pair ([REG-5]), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressRef<'a> {
    /// The IP literal.
    pub ip: IpRef<'a>,
    /// The port.
    pub port: Port,
}

impl AddressRef<'_> {
    /// The socket address to reach.
    pub fn socket_addr(self) -> SocketAddr {
        SocketAddr::new(self.ip.addr(), self.port.get())
    }

    /// An owned [`Address`].
    pub fn into_owned(self) -> Address {
        Address::new(self.ip.into_owned(), self.port)
    }
}

/// A registered user as the server names it, `<nick>:<ip>:<port>`, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserRef<'a> {
    /// The nick, as registered.
    pub nick: NickRef<'a>,
    /// The registered address.
    pub address: AddressRef<'a>,
}

impl UserRef<'_> {
    /// An owned [`User`].
    pub fn into_owned(self) -> User {
        User {
            nick: self.nick.into_owned(),
            address: self.address.into_owned(),
        }
    }
}

/// The code of a received `ERR` line, borrowed: one of §6, or a well-formed
/// code this version does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrCodeRef<'a> {
    /// A code of §6.
    Known(ErrorCode),
    /// Any other `error-code`.
    Other(&'a str),
}

impl ErrCodeRef<'_> {
    /// An owned [`ErrCode`].
    pub fn into_owned(self) -> ErrCode {
        match self {
            ErrCodeRef::Known(c) => ErrCode::Known(c),
            ErrCodeRef::Other(s) => ErrCode::Other(s.to_owned()),
        }
    }
}

/// A private message, `MSG:<id>:<from>:<time>:<len>:<text>`, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MsgRef<'a> {
    /// The message id.
    pub id: MsgId,
    /// The sender's nick.
    pub from: NickRef<'a>,
    /// When the server (or the sending peer) accepted it.
    pub time: Timestamp,
    /// The message.
    pub text: TextRef<'a>,
}

impl MsgRef<'_> {
    /// An owned [`Msg`].
    pub fn into_owned(self) -> Msg {
        Msg {
            id: self.id,
            from: self.from.into_owned(),
            time: self.time,
            text: self.text.into_owned(),
        }
    }
}
