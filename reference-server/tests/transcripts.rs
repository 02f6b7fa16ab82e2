//! Replays every `spec/examples/*.txt` transcript against the server, byte for byte
//! (format: `spec/examples/README.md`).
//!
//! The server here is the reference server's driver without sockets: per connection
//! the spec's [`Framer`] and [`ServerConn`] state machine, in front of one [`Hub`] over
//! a file-backed SQLite store in a temporary directory. `C<n>` lines (with CRLF) and
//! `! raw C<n>` bytes go through the framer and the state machine exactly as socket
//! input would; the lines produced are queued per connection and each `S<n>` line
//! takes the next one of connection `n`. `${name}` binds on first use and must match
//! after; `ERR` lines are compared by code and a valid `<len>` (their texts are free).
//! `! close C<n>` ends a connection abruptly; `! restart` drops the hub with every
//! connection (a crash: nobody is told) and builds a new one on the same database
//! file. `P`/`U` lines are a client's and are skipped. After the last step nothing may
//! be left unread.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reference_server::entropy::OsEntropy;
use reference_server::store::SqliteStore;
use reference_server::{ConnId, Hub, HubConfig, Now, Outcome};
use spec::machine::server_conn::{ConnLimits, ServerConn, Step};
use spec::{Frame, Framer};

const NOW: Now = Now {
    mono: Duration::from_secs(1),
    unix_secs: 1_763_713_200,
};

struct Conn {
    sm: ServerConn,
    framer: Framer,
    closed: bool,
}

struct Replay {
    name: String,
    db: PathBuf,
    hub: Option<Hub>,
    conns: HashMap<ConnId, Conn>,
    queues: BTreeMap<ConnId, VecDeque<Vec<u8>>>,
    vars: HashMap<String, String>,
    lineno: usize,
}

fn open_hub(db: &Path) -> Hub {
    Hub::new(
        Box::new(SqliteStore::open(db, false).unwrap()),
        Box::new(OsEntropy::new()),
        HubConfig::default(),
    )
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

impl Replay {
    fn hub(&mut self) -> &mut Hub {
        self.hub.as_mut().unwrap()
    }

    fn at(&self) -> String {
        format!("{}:{}", self.name, self.lineno)
    }

    fn deliver(&mut self, out: Vec<(ConnId, Vec<u8>)>) {
        for (c, line) in out {
            assert!(line.ends_with(b"\r\n"), "{}: FRM-7: {line:?}", self.at());
            assert!(
                line.len() - 2 <= spec::limits::MAX_LINE,
                "{}: a line of {} octets",
                self.at(),
                line.len() - 2
            );
            self.queues.entry(c).or_default().push_back(line);
        }
    }

    /// Input bytes on connection `n`, as if read from its socket.
    fn input(&mut self, n: ConnId, bytes: &[u8]) {
        let conn = self.conns.entry(n).or_insert_with(|| Conn {
            sm: ServerConn::new(ConnLimits::default(), NOW.mono),
            framer: Framer::new(),
            closed: false,
        });
        assert!(!conn.closed, "{}: C{n} is closed", self.name);
        let mut frames: Vec<Option<Vec<u8>>> = Vec::new();
        conn.framer.feed(bytes, |f| {
            frames.push(match f {
                Frame::Line(l) => Some(l.to_vec()),
                Frame::TooLong => None,
            })
        });
        conn.sm.on_bytes(NOW.mono, conn.framer.in_partial_line());
        for frame in frames {
            let conn = self.conns.get_mut(&n).unwrap();
            if conn.closed {
                break;
            }
            let step = match frame {
                Some(line) => conn.sm.on_line(&line, NOW.mono),
                None => conn.sm.on_too_long(NOW.mono),
            };
            let mut out: Vec<(ConnId, Vec<u8>)> = Vec::new();
            match step {
                Step::Nothing => {}
                Step::Reply(line) => {
                    let mut b = Vec::new();
                    line.encode(&mut b);
                    out.push((n, b));
                }
                Step::Close(line) => {
                    let mut b = Vec::new();
                    line.encode(&mut b);
                    out.push((n, b));
                    conn.closed = true;
                    self.hub().disconnect(n, &mut out);
                }
                Step::Request(cmd) => match self.hub().handle(n, cmd, NOW, &mut out) {
                    Outcome::Continue => {}
                    Outcome::Registered => self.conns.get_mut(&n).unwrap().sm.set_registered(),
                    Outcome::Close => {
                        let conn = self.conns.get_mut(&n).unwrap();
                        conn.sm.set_closed();
                        conn.closed = true;
                        self.hub().disconnect(n, &mut out);
                    }
                },
            }
            self.deliver(out);
        }
    }

    fn close(&mut self, n: ConnId) {
        let left = self.queues.get(&n).map_or(0, VecDeque::len);
        assert_eq!(left, 0, "{}: C{n} closed with lines unread", self.at());
        if let Some(c) = self.conns.get_mut(&n)
            && !c.closed
        {
            c.closed = true;
            let mut out = Vec::new();
            self.hub().disconnect(n, &mut out);
            self.deliver(out);
        }
    }

    fn restart(&mut self) {
        self.assert_drained();
        // A crash: no connection is told anything; the store is simply reopened.
        self.conns.clear();
        self.hub = None;
        self.hub = Some(open_hub(&self.db));
    }

    fn assert_drained(&self) {
        for (c, q) in &self.queues {
            assert!(
                q.is_empty(),
                "{}: lines left for S{c}: {:?}",
                self.at(),
                q.iter()
                    .map(|l| String::from_utf8_lossy(l))
                    .collect::<Vec<_>>()
            );
        }
    }

    /// Matches one `S<n>` line against the next line queued for connection `n`.
    fn expect(&mut self, n: ConnId, want: &str) {
        let at = self.at();
        let got = self
            .queues
            .get_mut(&n)
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(|| panic!("{at}: S{n}: {want}\n  but nothing was sent to C{n}"));
        let got = String::from_utf8(got[..got.len() - 2].to_vec())
            .unwrap_or_else(|e| panic!("{at}: not UTF-8: {e}"));
        if let Some(rest) = want.strip_prefix("ERR:") {
            let code = rest.split(':').next().unwrap();
            let line = spec::ServerLine::decode(got.as_bytes())
                .unwrap_or_else(|e| panic!("{at}: {got:?} does not decode: {e:?}"));
            match line {
                spec::ServerLine::Err { code: c, .. } => {
                    assert_eq!(c.as_str(), code, "{at}: {got}")
                }
                _ => panic!("{at}: want ERR:{code}, got {got}"),
            }
            return;
        }
        self.match_placeholders(&at, want, &got);
    }

    fn match_placeholders(&mut self, at: &str, want: &str, got: &str) {
        let mut w = want;
        let mut g = got;
        loop {
            match w.find("${") {
                None => {
                    assert_eq!(w, g, "{at}: want {want}\n  got  {got}");
                    return;
                }
                Some(i) => {
                    assert_eq!(
                        &w[..i],
                        g.get(..i).unwrap_or(g),
                        "{at}: want {want}\n  got  {got}"
                    );
                    g = &g[i..];
                    let end = w[i..].find('}').unwrap() + i;
                    let name = &w[i + 2..end];
                    w = &w[end + 1..];
                    // A value is one field: it never holds ':'.
                    let len = g.find(':').unwrap_or(g.len());
                    let value = &g[..len];
                    assert!(!value.is_empty(), "{at}: empty ${{{name}}} in {got}");
                    match self.vars.get(name) {
                        Some(v) => {
                            assert_eq!(v, value, "{at}: ${{{name}}} was {v}, now {value}: {got}")
                        }
                        None => {
                            self.vars.insert(name.to_owned(), value.to_owned());
                        }
                    }
                    g = &g[len..];
                }
            }
        }
    }

    /// A `C<n>: <line>` with placeholders replaced by their bound values.
    fn substitute(&self, line: &str) -> String {
        let mut out = String::new();
        let mut rest = line;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find('}').unwrap() + i;
            let name = &rest[i + 2..end];
            let v = self
                .vars
                .get(name)
                .unwrap_or_else(|| panic!("{}: ${{{name}}} used before bound", self.at()));
            out.push_str(v);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

fn conn_no(s: &str) -> Option<ConnId> {
    s.parse().ok()
}

/// Replays one transcript; returns how many `S` lines it checked.
fn replay(path: &Path) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let mut r = Replay {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        hub: Some(open_hub(&db)),
        db,
        conns: HashMap::new(),
        queues: BTreeMap::new(),
        vars: HashMap::new(),
        lineno: 0,
    };
    let text = std::fs::read_to_string(path).unwrap();
    let mut checked = 0;
    for (i, line) in text.lines().enumerate() {
        r.lineno = i + 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(d) = line.strip_prefix("! ") {
            let words: Vec<&str> = d.split_whitespace().collect();
            match words.as_slice() {
                ["close", c] if c.starts_with('C') => r.close(conn_no(&c[1..]).unwrap()),
                ["close", c] if c.starts_with('P') => {}
                ["restart"] => r.restart(),
                ["raw", c, bytes] if c.starts_with('C') => {
                    r.input(conn_no(&c[1..]).unwrap(), &hex(bytes))
                }
                _ => panic!("{}: unknown directive {line}", r.at()),
            }
            continue;
        }
        let (tag, rest) = line.split_at(line.find([':', '>', '<']).unwrap());
        match (&tag[..1], conn_no(&tag[1..])) {
            ("C", Some(n)) => {
                let body = rest.strip_prefix(": ").unwrap();
                let mut bytes = r.substitute(body).into_bytes();
                bytes.extend_from_slice(b"\r\n");
                r.input(n, &bytes);
            }
            ("S", Some(n)) => {
                let body = rest.strip_prefix(": ").unwrap();
                r.expect(n, body);
                checked += 1;
            }
            ("P" | "U", _) => {}
            _ => panic!("{}: cannot read {line:?}", r.at()),
        }
    }
    r.assert_drained();
    checked
}

#[test]
fn every_example_transcript_replays_byte_for_byte() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "transcripts in {}", dir.display());
    let mut total = 0;
    for f in &files {
        let n = replay(f);
        eprintln!("{}: {n} server lines", f.display());
        total += n;
    }
    assert!(total > 300, "only {total} server lines checked");
}

/// The replayer itself: a wrong line, a rebound placeholder and an unread line fail.
#[test]
fn the_replayer_catches_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        "C1: PING:a\nS1: PONG:b\n",
        "C1: REGISTER:alice:127.0.0.1:5001\nS1: UPDATE:JOIN:alice:127.0.0.1:5001\n\
         S1: TOKEN:alice:${t}\nS1: LIST:alice:127.0.0.1:${t}\n",
        "C1: PING:a\n",
        "C1: LIST\nS1: ERR:BAD_NICK:3:bad\n",
    ];
    for (i, case) in cases.iter().enumerate() {
        let p = dir.path().join(format!("bad{i}.txt"));
        std::fs::write(&p, format!("# bad {i}\n{case}")).unwrap();
        let r = std::panic::catch_unwind(|| replay(&p));
        assert!(r.is_err(), "case {i} was not caught: {case}");
    }
}
