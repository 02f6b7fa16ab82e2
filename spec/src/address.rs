//! Addresses: `address = ip ":" port`, `ip = ipv4 / "[" ipv6 "]"` (§3).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU16;

use crate::error::{DecodeError, ErrorCode};

/// A valid IP literal, kept exactly as written (servers relay addresses as given,
/// [REG-2]) together with its parsed value. The text never includes brackets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ip {
    text: String,
    addr: IpAddr,
}

/// A port, 1–65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Port(NonZeroU16);

/// A usable `<ip>:<port>` pair ([REG-5]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// The IP literal.
    pub ip: Ip,
    /// The port.
    pub port: Port,
}

const BAD_IP: DecodeError = DecodeError::new(ErrorCode::BadAddress, "not a valid IP address");

/// Parses an IP literal as [`Ip::new`] does, without copying its text: shared
/// with the borrowed decoder.
pub(crate) fn parse_ip(text: &str) -> Result<IpAddr, DecodeError> {
    let addr: IpAddr = if text.contains(':') {
        IpAddr::V6(text.parse().map_err(|_| BAD_IP)?)
    } else {
        // The fast path reads the valid case; `Ipv4Addr::from_str` (which
        // already refuses leading zeros and other forms that `dec-octet` does
        // not allow) decides the rest, so errors stay what they were.
        match crate::dotted_quad::parse(text.as_bytes()) {
            Some(a) => IpAddr::V4(a),
            None => IpAddr::V4(text.parse().map_err(|_| BAD_IP)?),
        }
    };
    if addr.is_unspecified() {
        return Err(DecodeError::new(
            ErrorCode::BadAddress,
            "the unspecified address cannot be reached",
        ));
    }
    Ok(addr)
}

impl Ip {
    /// Validates a dotted IPv4 literal (no leading zeros) or an IPv6 literal
    /// (without brackets). The unspecified addresses are refused ([REG-5]).
    pub fn new(text: &str) -> Result<Ip, DecodeError> {
        let addr = parse_ip(text)?;
        Ok(Ip::from_parts(text, addr))
    }

    /// An IP whose literal `text` the crate has already parsed into `addr` (a
    /// field of a borrowed line).
    pub(crate) fn from_parts(text: &str, addr: IpAddr) -> Ip {
        Ip {
            text: text.to_owned(),
            addr,
        }
    }

    /// The literal as written (no brackets).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// Whether this is an IPv6 literal (written in brackets on the wire).
    pub fn is_v6(&self) -> bool {
        self.addr.is_ipv6()
    }
}

impl From<IpAddr> for Ip {
    fn from(addr: IpAddr) -> Ip {
        Ip {
            text: addr.to_string(),
            addr,
        }
    }
}

impl fmt::Display for Ip {
    /// The wire form: IPv6 in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_v6() {
            write!(f, "[{}]", self.text)
        } else {
            f.write_str(&self.text)
        }
    }
}

impl serde::Serialize for Ip {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Port {
    /// A port from its number; 0 is refused.
    pub fn new(n: u16) -> Result<Port, DecodeError> {
        NonZeroU16::new(n).map(Port).ok_or(DecodeError::new(
            ErrorCode::BadAddress,
            "port 0 is not usable",
        ))
    }

    /// The port number.
    pub fn get(self) -> u16 {
        self.0.get()
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Address {
    /// An address from its parts.
    pub fn new(ip: Ip, port: Port) -> Address {
        Address { ip, port }
    }

    /// The socket address to reach.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.ip.addr(), self.port.get())
    }
}

impl TryFrom<SocketAddr> for Address {
    type Error = DecodeError;
    fn try_from(sa: SocketAddr) -> Result<Address, DecodeError> {
        let ip = Ip::new(&sa.ip().to_string())?;
        Ok(Address::new(ip, Port::new(sa.port())?))
    }
}

impl fmt::Display for Address {
    /// The wire form `<ip>:<port>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ip, self.port)
    }
}
