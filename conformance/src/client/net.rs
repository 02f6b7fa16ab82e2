//! The suite's sockets when it plays the server and the peers of a client under test: TCP
//! listeners (the server, the peers' listening ports) and a UDP socket (the peers'
//! registered address, where OFFER and DM datagrams go).

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::link::{Link, Role};
use super::process::ClientRt;
use crate::outcome::Failure;
use crate::transcript::Transcript;
use crate::wire;

/// A TCP listener of the suite (the server, or a peer's listening port).
#[derive(Debug)]
pub struct Listener {
    inner: tokio::net::TcpListener,
    rt: ClientRt,
    pub addr: SocketAddr,
    tr: Transcript,
    what: String,
}

impl Listener {
    /// Listens on `ip:0` (`ip` is 127.0.0.1, or another loopback address).
    pub fn bind(rt: &ClientRt, ip: &str, tr: Transcript, what: &str) -> Result<Listener, Failure> {
        let inner = rt
            .block_on(tokio::net::TcpListener::bind(format!("{ip}:0")))
            .map_err(|e| Failure::target_error(format!("the suite cannot listen on {ip}: {e}")))?;
        let addr = inner
            .local_addr()
            .map_err(|e| Failure::target_error(format!("listener address: {e}")))?;
        tr.note(format!("the suite listens on {addr} ({what})"));
        Ok(Listener {
            inner,
            rt: rt.clone(),
            addr,
            tr,
            what: what.to_owned(),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Accepts the next connection within `d`: `None` if none came.
    pub fn accept_within(
        &self,
        d: Duration,
        role: Role,
        n: usize,
        timeout: Duration,
    ) -> Result<Option<Link>, Failure> {
        let res = self
            .rt
            .block_on(async { tokio::time::timeout(d, self.inner.accept()).await });
        match res {
            Err(_) => Ok(None),
            Ok(Err(e)) => Err(Failure::target_error(format!(
                "accepting on {} failed: {e}",
                self.addr
            ))),
            Ok(Ok((s, from))) => {
                let std = s
                    .into_std()
                    .map_err(|e| Failure::target_error(format!("socket: {e}")))?;
                self.tr.note(format!(
                    "{} the client connected from {from} to {} ({})",
                    match role {
                        Role::Server => format!("C{n}:"),
                        Role::Peer => format!("P{n}<"),
                    },
                    self.addr,
                    self.what
                ));
                Ok(Some(Link::new(std, role, n, self.tr.clone(), timeout)))
            }
        }
    }

    /// Accepts the next connection, which must come within `d`.
    pub fn accept(
        &self,
        d: Duration,
        role: Role,
        n: usize,
        timeout: Duration,
        what: &str,
    ) -> Result<Link, Failure> {
        self.accept_within(d, role, n, timeout)?.ok_or_else(|| {
            Failure::violation(format!(
                "the client did not connect to {} ({}) within {:.1} s",
                self.addr,
                self.what,
                d.as_secs_f64()
            ))
            .expected(what.to_owned())
            .got("no connection".to_owned())
        })
    }
}

/// A UDP socket of the suite: a peer's registered address.
#[derive(Debug)]
pub struct Udp {
    sock: UdpSocket,
    pub addr: SocketAddr,
    tr: Transcript,
}

/// One datagram received.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub bytes: Vec<u8>,
    pub from: SocketAddr,
}

impl Datagram {
    /// The content: the datagram without one optional terminator (CRLF or LF), §2.
    pub fn content(&self) -> &[u8] {
        let b = &self.bytes[..];
        b.strip_suffix(b"\r\n")
            .or_else(|| b.strip_suffix(b"\n"))
            .unwrap_or(b)
    }
}

impl Udp {
    pub fn bind(ip: &str, tr: Transcript) -> Result<Udp, Failure> {
        let sock = UdpSocket::bind(format!("{ip}:0"))
            .map_err(|e| Failure::target_error(format!("the suite cannot bind UDP: {e}")))?;
        let addr = sock
            .local_addr()
            .map_err(|e| Failure::target_error(format!("UDP address: {e}")))?;
        Ok(Udp { sock, addr, tr })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Sends one datagram (the bytes as given) to `to`.
    pub fn send_to(&self, bytes: &[u8], to: SocketAddr) -> Result<(), Failure> {
        self.tr.push(format!(
            "U> {}   ({} -> {to})",
            wire::abbreviate(&wire::escape(bytes), 300),
            self.addr
        ));
        self.sock
            .send_to(bytes, to)
            .map(|_| ())
            .map_err(|e| Failure::target_error(format!("sending a datagram to {to}: {e}")))
    }

    /// The next datagram within `d`, or `None`.
    pub fn recv_within(&self, d: Duration) -> Result<Option<Datagram>, Failure> {
        let end = Instant::now() + d;
        let mut buf = vec![0u8; 65536];
        loop {
            let now = Instant::now();
            if now >= end {
                return Ok(None);
            }
            let _ = self.sock.set_read_timeout(Some(end - now));
            match self.sock.recv_from(&mut buf) {
                Ok((k, from)) => {
                    let d = Datagram {
                        bytes: buf[..k].to_vec(),
                        from,
                    };
                    self.tr.push(format!(
                        "U< {}   ({from} -> {})",
                        wire::abbreviate(&wire::escape(&d.bytes), 300),
                        self.addr
                    ));
                    return Ok(Some(d));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                // An ICMP "port unreachable" from an earlier send: not a datagram.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
                Err(e) => {
                    return Err(Failure::target_error(format!("receiving a datagram: {e}")));
                }
            }
        }
    }
}

/// A UDP port (or TCP port) that was free a moment ago on 127.0.0.1.
pub fn free_udp_port() -> Result<u16, Failure> {
    let s = UdpSocket::bind("127.0.0.1:0")
        .map_err(|e| Failure::target_error(format!("cannot bind a UDP port: {e}")))?;
    s.local_addr()
        .map(|a| a.port())
        .map_err(|e| Failure::target_error(format!("UDP port: {e}")))
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_tcp_port() -> Result<u16, Failure> {
    let s = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Failure::target_error(format!("cannot bind a TCP port: {e}")))?;
    s.local_addr()
        .map(|a| a.port())
        .map_err(|e| Failure::target_error(format!("TCP port: {e}")))
}
