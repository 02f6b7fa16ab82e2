//! Test harness: an in-process server on 127.0.0.1:0 and raw-byte clients that read
//! with deadlines (never sleeping to wait).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use reference_server::{Config, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any single expected line may take.
pub const DEADLINE: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), reference_server::ServerError>>>,
}

impl TestServer {
    pub async fn start(config: Config) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(run(listener, config, async {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    pub async fn default() -> TestServer {
        TestServer::start(quick()).await
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Registers `nick` on a new connection, returns the client (JOIN, TOKEN, LIST read)
    /// and its token (if one was issued).
    pub async fn registered(&self, nick: &str, port: u16) -> (Client, Option<String>) {
        let mut c = self.client().await;
        let token = c.register(nick, port, None).await;
        (c, token)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            tokio::time::timeout(DEADLINE, h)
                .await
                .expect("server stops in time")
                .unwrap()
                .unwrap();
        }
    }
}

pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
    ping: u32,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client::from_stream(TcpStream::connect(addr).await.unwrap())
    }

    pub fn from_stream(stream: TcpStream) -> Client {
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
            ping: 0,
        }
    }

    /// Sends raw bytes.
    pub async fn raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Sends a line with CRLF.
    pub async fn send(&mut self, line: &str) {
        let mut b = line.as_bytes().to_vec();
        b.extend_from_slice(b"\r\n");
        self.raw(&b).await;
    }

    /// The next line (without its CRLF); it MUST end in CRLF ([FRM-7]).
    /// `None` at end of stream.
    pub async fn try_line(&mut self) -> Option<String> {
        self.try_line_within(DEADLINE).await
    }

    /// The next line, waiting at most `deadline`.
    pub async fn line_within(&mut self, deadline: Duration) -> String {
        self.try_line_within(deadline)
            .await
            .expect("a line, not the end of the stream")
    }

    pub async fn try_line_within(&mut self, deadline: Duration) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=pos).collect();
                assert!(
                    raw.len() >= 2 && raw[raw.len() - 2] == b'\r',
                    "FRM-7: a server line must end in CRLF: {raw:?}"
                );
                return Some(String::from_utf8(raw[..raw.len() - 2].to_vec()).unwrap());
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(deadline, self.stream.read(&mut chunk))
                .await
                .expect("a line arrives before the deadline")
                .unwrap_or(0);
            if n == 0 {
                assert!(
                    self.buf.is_empty(),
                    "bytes after the last line: {:?}",
                    self.buf
                );
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn line(&mut self) -> String {
        self.try_line()
            .await
            .expect("a line, not the end of the stream")
    }

    pub async fn expect(&mut self, want: &str) {
        let got = self.line().await;
        assert_eq!(got, want);
    }

    /// Expects `ERR:<code>:<len>:<text>` with a valid len; returns the text.
    pub async fn expect_err(&mut self, code: &str) -> String {
        let got = self.line().await;
        check_err(&got, code)
    }

    /// PING/PONG barrier: every line before the PONG is returned (usually asserted
    /// empty, to show that something did NOT arrive).
    pub async fn barrier(&mut self) -> Vec<String> {
        self.ping += 1;
        let token = format!("barrier{}", self.ping);
        self.send(&format!("PING:{token}")).await;
        let pong = format!("PONG:{token}");
        let mut before = Vec::new();
        loop {
            let l = self.line().await;
            if l == pong {
                return before;
            }
            before.push(l);
        }
    }

    /// Asserts nothing arrives before a PING barrier.
    pub async fn quiet(&mut self) {
        let extra = self.barrier().await;
        assert!(extra.is_empty(), "unexpected lines: {extra:?}");
    }

    /// Expects the end of the stream.
    pub async fn expect_closed(&mut self) {
        let got = self.try_line().await;
        assert_eq!(got, None, "expected the connection to close");
    }

    /// REGISTER and read JOIN, optional TOKEN, LIST; returns the token.
    pub async fn register(&mut self, nick: &str, port: u16, token: Option<&str>) -> Option<String> {
        match token {
            Some(t) => {
                self.send(&format!("REGISTER:{nick}:127.0.0.1:{port}:{t}"))
                    .await
            }
            None => {
                self.send(&format!("REGISTER:{nick}:127.0.0.1:{port}"))
                    .await
            }
        }
        self.expect(&format!("UPDATE:JOIN:{nick}:127.0.0.1:{port}"))
            .await;
        let mut l = self.line().await;
        let mut tok = None;
        if let Some(rest) = l.strip_prefix(&format!("TOKEN:{nick}:")) {
            tok = Some(rest.to_owned());
            l = self.line().await;
        }
        assert!(l.starts_with("LIST"), "expected LIST, got {l}");
        tok
    }
}

/// Checks `ERR:<code>:<len>:<text>`; returns the text.
pub fn check_err(line: &str, code: &str) -> String {
    let rest = line
        .strip_prefix("ERR:")
        .unwrap_or_else(|| panic!("expected ERR:{code}, got {line}"));
    let (c, rest) = rest.split_once(':').unwrap();
    assert_eq!(c, code, "in {line}");
    let (len, text) = rest.split_once(':').unwrap();
    assert_eq!(
        len.parse::<usize>().unwrap(),
        text.len(),
        "ERR len in {line}"
    );
    assert!(!len.starts_with('0'));
    text.to_owned()
}

/// A config with short timers and no rate limit worth noticing.
pub fn quick() -> Config {
    Config {
        linger: Duration::from_millis(200),
        ..Config::default()
    }
}
