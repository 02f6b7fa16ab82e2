//! The interactive terminal, through a real pseudo-terminal (expectrl's pty
//! process), against an in-process reference server on 127.0.0.1:0, with a
//! second client in automation mode. Waiting is always for output with a
//! deadline: a reader thread hands the pty's bytes over a channel, and the test
//! blocks on it (no sleeps, no busy polling).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Instant;

use common::{Client, DEADLINE, Server, tmp};
use expectrl::process::Process;
use expectrl::process::unix::{UnixProcess, WaitStatus};
use reference_client::Exit;

const BIN: &str = env!("CARGO_BIN_EXE_p2pchat-client");

/// The client in a pseudo-terminal.
struct Pty {
    proc: UnixProcess,
    input: File,
    rx: Receiver<Vec<u8>>,
    /// Everything the client wrote so far.
    out: Vec<u8>,
    /// Where the next `expect` starts looking.
    pos: usize,
    closed: bool,
    /// The prompt of the input line, and what was typed on it.
    prompt: String,
    typed: String,
}

impl Pty {
    fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Pty {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .env("TERM", "xterm-256color")
            .env("TZ", "UTC");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let proc = UnixProcess::spawn_command(cmd).unwrap();
        let mut reader = proc.get_raw_handle().unwrap();
        let input = proc.get_raw_handle().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends at EOF, or EIO once the child is gone.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Pty {
            proc,
            input,
            rx,
            out: Vec::new(),
            pos: 0,
            closed: false,
            prompt: String::new(),
            typed: String::new(),
        }
    }

    /// Types `keys` as a person does: one key at a time, each shown on the
    /// input line before the next is typed. (Keys that arrive in one read are
    /// not all handled by rustyline 17 while an external printer is in use: its
    /// select ignores bytes it already buffered, rustyline issue #976, fixed in
    /// 19.)
    fn keys(&mut self, keys: &str) {
        for c in keys.chars() {
            self.typed.push(c);
            self.write(&c.to_string());
            let want = format!("{}{}", self.prompt, self.typed);
            self.wait_line(&want);
        }
    }

    /// Presses Tab; the input line must then read `completed`.
    fn tab(&mut self, completed: &str) {
        self.write("\t");
        self.typed = completed.to_owned();
        let want = format!("{}{}", self.prompt, self.typed);
        self.wait_line(&want);
    }

    /// Presses Enter, and waits for the next input line with `next_prompt`.
    fn enter(&mut self, next_prompt: &str) {
        self.write("\r");
        self.prompt = next_prompt.to_owned();
        self.typed.clear();
        let want = self.prompt.clone();
        self.wait_line(&want);
    }

    /// Presses Enter on a line that ends the run.
    fn enter_last(&mut self) {
        self.write("\r");
    }

    fn write(&mut self, s: &str) {
        self.input.write_all(s.as_bytes()).unwrap();
        self.input.flush().unwrap();
    }

    /// The last line of the screen (after the last newline), as a terminal
    /// shows it: carriage returns, cursor moves forward and back, and erase to
    /// the end of the line applied; other escape sequences ignored.
    fn screen_line(&self) -> String {
        let tail = match self.out.iter().rposition(|&b| b == b'\n') {
            Some(i) => &self.out[i + 1..],
            None => &self.out[..],
        };
        Self::render(tail)
    }

    /// A line as a terminal shows it (see `screen_line`).
    fn render(bytes: &[u8]) -> String {
        let text = String::from_utf8_lossy(bytes);
        let mut line: Vec<char> = Vec::new();
        let mut col = 0usize;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => col = 0,
                '\x1b' => {
                    if chars.peek() != Some(&'[') {
                        chars.next();
                        continue;
                    }
                    chars.next();
                    let mut params = String::new();
                    let mut fin = None;
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            fin = Some(c);
                            break;
                        }
                        params.push(c);
                    }
                    let n = params.parse::<usize>().unwrap_or(1);
                    match fin {
                        Some('C') => col += n,
                        Some('D') => col = col.saturating_sub(n),
                        Some('K') if params.is_empty() || params == "0" => line.truncate(col),
                        _ => {}
                    }
                }
                c if c.is_control() => {}
                c => {
                    while line.len() < col {
                        line.push(' ');
                    }
                    if col < line.len() {
                        line[col] = c;
                    } else {
                        line.push(c);
                    }
                    col += 1;
                }
            }
        }
        line.into_iter().collect()
    }

    /// Waits until the last line of the screen reads `want`.
    fn wait_line(&mut self, want: &str) {
        let deadline = Instant::now() + DEADLINE;
        while self.screen_line() != want {
            if !self.more(deadline) {
                panic!(
                    "the client ended; the line reads {:?}, not {want:?}",
                    self.screen_line()
                );
            }
        }
    }

    /// Waits for more output until `deadline`; false when there will be none.
    fn more(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(bytes) => {
                self.out.extend_from_slice(&bytes);
                true
            }
            Err(RecvTimeoutError::Timeout) => panic!(
                "no expected output within {DEADLINE:?}; so far:\n{}",
                self.text()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                false
            }
        }
    }

    /// Waits until `needle` appears after the previous match; returns the
    /// offset where it starts.
    fn expect(&mut self, needle: &str) -> usize {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(i) = find(&self.out[self.pos..], needle.as_bytes()) {
                let at = self.pos + i;
                self.pos = at + needle.len();
                return at;
            }
            if !self.more(deadline) {
                panic!(
                    "the client ended before {needle:?} appeared; output:\n{}",
                    self.text()
                );
            }
        }
    }

    /// Waits for the client to end; its exit status.
    fn exit_status(&mut self) -> i32 {
        let deadline = Instant::now() + DEADLINE;
        while !self.closed {
            self.more(deadline);
        }
        match self.proc.wait().unwrap() {
            WaitStatus::Exited(_, code) => code,
            other => panic!("{other:?}"),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether `out` holds an SGR (colour) sequence: ESC [ digits/; m.
fn has_sgr(out: &[u8]) -> bool {
    out.windows(2).enumerate().any(|(i, w)| {
        w == b"\x1b["
            && out[i + 2..]
                .iter()
                .find(|b| !(b.is_ascii_digit() || **b == b';'))
                .is_some_and(|b| *b == b'm')
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn alice_args<'a>(server: &'a str, dir: &'a Path) -> Vec<&'a str> {
    vec![
        "--server",
        server,
        "--nick",
        "alice",
        "--data-dir",
        dir.to_str().unwrap(),
    ]
}

#[test]
fn incoming_lines_do_not_garble_what_is_being_typed() {
    let rt = runtime();
    let server = rt.block_on(Server::start());
    let addr = server.addr.to_string();
    let (da, db) = (tmp(), tmp());
    let mut bob = rt.block_on(Client::hybrid(&server, "bob", db.path().into()));

    let mut alice = Pty::spawn(&alice_args(&addr, da.path()), &[("NO_COLOR", "1")]);
    alice.expect("registered as alice");
    alice.prompt = "alice> ".into();
    alice.wait_line("alice> ");
    rt.block_on(bob.expect("join", |e| e["nick"] == "alice"));

    // Half a command typed, not sent.
    alice.keys("/broadcast hel");
    // Meanwhile bob says something.
    rt.block_on(bob.send("broadcast incoming!"));
    let at = alice.expect("<bob> incoming!");
    // Stamped HH:MM.
    let stamp = String::from_utf8_lossy(&alice.out[at - 6..at]).into_owned();
    assert!(
        stamp.len() == 6
            && stamp.as_bytes()[2] == b':'
            && stamp[..2]
                .bytes()
                .chain(stamp[3..5].bytes())
                .all(|b| b.is_ascii_digit())
            && stamp.ends_with(' '),
        "{stamp:?}"
    );
    // The message is on a line of its own, above the input line, which is
    // redrawn below it intact.
    let line_start = alice.out[..at].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let line_end = at + find(&alice.out[at..], b"\n").unwrap();
    assert_eq!(
        Pty::render(&alice.out[line_start..line_end]),
        format!("{stamp}<bob> incoming!"),
        "the message line as the terminal shows it"
    );
    alice.wait_line("alice> /broadcast hel");
    // Finish typing.
    alice.keys("lo");
    alice.enter("alice> ");
    let b = rt.block_on(bob.expect("broadcast", |e| e["from"] == "alice"));
    assert_eq!(b["text"], "hello", "the broadcast went out intact");
    alice.expect("<alice> hello");

    alice.keys("/quit");
    alice.enter_last();
    assert_eq!(alice.exit_status(), 0);
    assert!(!has_sgr(&alice.out), "NO_COLOR: {:?}", alice.text());
    // The history is kept in the data directory.
    let history = std::fs::read_to_string(da.path().join("history.txt")).unwrap();
    assert!(history.contains("/broadcast hello"), "{history}");
    assert_eq!(rt.block_on(bob.quit()), Exit::Ok);
    rt.block_on(server.stop());
}

#[test]
fn escape_sequences_from_the_network_are_shown_not_obeyed() {
    let rt = runtime();
    let server = rt.block_on(Server::start());
    let addr = server.addr.to_string();
    let (da, db) = (tmp(), tmp());
    let mut bob = rt.block_on(Client::hybrid(&server, "bob", db.path().into()));
    // Colours on: they must not let escapes through either.
    let mut alice = Pty::spawn(&alice_args(&addr, da.path()), &[]);
    alice.prompt = "alice> ".into();
    alice.wait_line("alice> ");
    rt.block_on(bob.expect("join", |e| e["nick"] == "alice"));

    rt.block_on(bob.send("broadcast wipe\x1b[2Jdone"));
    alice.expect("wipe^[[2Jdone");
    rt.block_on(bob.send("msg alice title\x1b]0;owned\x07bell"));
    alice.expect("title^[]0;owned^Gbell");
    rt.block_on(bob.send("msg alice csi\u{9b}31mred"));
    alice.expect("csi\\u{9b}31mred");
    let raw = alice.out.clone();
    assert!(find(&raw, b"\x1b[2J").is_none(), "{:?}", alice.text());
    assert!(find(&raw, b"\x1b]0;").is_none(), "{:?}", alice.text());
    assert!(find(&raw, b"\x07").is_none(), "{:?}", alice.text());
    assert!(
        find(&raw, "\u{9b}".as_bytes()).is_none(),
        "{:?}",
        alice.text()
    );
    // In a terminal, without NO_COLOR, there is colour.
    assert!(has_sgr(&raw), "{:?}", alice.text());

    alice.keys("EXIT");
    alice.enter_last();
    assert_eq!(alice.exit_status(), 0);
    assert_eq!(rt.block_on(bob.quit()), Exit::Ok);
    rt.block_on(server.stop());
}

#[test]
fn seed_words_hints_completion_and_routes() {
    let rt = runtime();
    let server = rt.block_on(Server::start());
    let addr = server.addr.to_string();
    let (da, db) = (tmp(), tmp());
    let mut bob = rt.block_on(Client::hybrid(&server, "bob", db.path().into()));
    let mut alice = Pty::spawn(&alice_args(&addr, da.path()), &[("NO_COLOR", "1")]);
    alice.prompt = "alice> ".into();
    alice.wait_line("alice> ");
    rt.block_on(bob.expect("join", |e| e["nick"] == "alice"));
    let p = "alice> ";

    // A wrong command: a one-line hint, and the client goes on.
    alice.keys("/frobnicate now");
    alice.enter(p);
    let at = alice.expect("!! unknown command \"frobnicate\"; try /help");
    let rest = &alice.out[at..];
    let line = String::from_utf8_lossy(&rest[..find(rest, b"\n").unwrap()]).into_owned();
    assert_eq!(
        line.trim_end_matches('\r'),
        "!! unknown command \"frobnicate\"; try /help",
        "one line"
    );
    alice.keys("SEND bob");
    alice.enter(p);
    alice.expect("!! usage: send <nick> <text>");

    // Seed 000: SEND (the client's route: a direct session with bob online).
    alice.keys("SEND bob hi there");
    alice.enter(p);
    let m = rt.block_on(bob.expect("message", |_| true));
    assert_eq!(m["from"], "alice");
    assert_eq!(m["text"], "hi there");
    alice.expect("you → bob (direct session): hi there");
    alice.keys("list");
    alice.enter(p);
    alice.expect("2 users online:");

    // Tab completes commands and the nicks known.
    alice.keys("/bro");
    alice.tab("/broadcast ");
    alice.keys("tabbed");
    alice.enter(p);
    rt.block_on(bob.expect("broadcast", |e| e["text"] == "tabbed"));
    alice.keys("/msg b");
    alice.tab("/msg bob ");
    alice.keys("by mailbox");
    alice.enter(p);
    alice.expect("you → bob (live via the server): by mailbox");
    rt.block_on(bob.expect("message", |e| e["text"] == "by mailbox"));

    // BLOCK / UNBLOCK, in any case.
    alice.keys("block bob");
    alice.enter(p);
    alice.expect("-- blocked bob");
    alice.keys("Unblock bob");
    alice.enter(p);
    alice.expect("-- unblocked bob");

    // A message for someone away is queued, and says so.
    rt.block_on(bob.send("quit"));
    alice.expect("-- bob left");
    alice.keys("/send bob later");
    alice.enter(p);
    alice.expect("you → bob (queued in bob's mailbox on the server): later");

    alice.keys("EXIT");
    alice.enter_last();
    assert_eq!(alice.exit_status(), 0);
    rt.block_on(server.stop());
}

#[test]
fn missing_server_and_nick_are_asked_for_and_a_taken_nick_again() {
    let rt = runtime();
    let server = rt.block_on(Server::start());
    let addr = server.addr.to_string();
    let (da, db) = (tmp(), tmp());
    let bob = rt.block_on(Client::hybrid(&server, "bob", db.path().into()));

    let mut p = Pty::spawn(&["--data-dir", da.path().to_str().unwrap()], &[]);
    p.prompt = "server [127.0.0.1:1337]: ".into();
    p.wait_line("server [127.0.0.1:1337]: ");
    p.keys(&addr);
    p.enter("nick: ");
    p.keys("no good");
    p.enter("nick: ");
    p.expect("a nick is 1 to 32 of A-Z a-z 0-9 _ -");
    p.keys("BOB");
    p.enter("nick: ");
    p.expect("NICK_IN_USE");
    p.keys("carol");
    p.enter("carol> ");
    p.expect("registered as");
    p.write("\x04"); // Ctrl-D: leave.
    assert_eq!(p.exit_status(), 0);
    assert_eq!(rt.block_on(bob.quit()), Exit::Ok);
    rt.block_on(server.stop());
}

#[test]
fn without_a_terminal_output_is_plain_text() {
    let rt = runtime();
    let server = rt.block_on(Server::start());
    let addr = server.addr.to_string();
    let (da, db) = (tmp(), tmp());
    let mut bob = rt.block_on(Client::hybrid(&server, "bob", db.path().into()));

    let mut child = Command::new(BIN)
        .args(alice_args(&addr, da.path()))
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .env("TERM", "xterm-256color")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    rt.block_on(bob.expect("join", |e| e["nick"] == "alice"));
    rt.block_on(bob.send("msg alice \x1b[31mred"));
    rt.block_on(bob.expect("sent", |_| true));
    stdin
        .write_all(b"hello from a pipe\n/frob\nsend bob hi\n")
        .unwrap();
    rt.block_on(bob.expect("broadcast", |e| e["text"] == "hello from a pipe"));
    rt.block_on(bob.expect("message", |e| e["text"] == "hi"));
    drop(stdin); // end of input: quit
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains('\x1b'), "{stdout:?}");
    assert!(
        stdout.contains("bob → you (via the server): ^[[31mred"),
        "{stdout}"
    );
    assert!(stdout.contains("<alice> hello from a pipe"), "{stdout}");
    let hints: Vec<&str> = stdout.lines().filter(|l| l.contains("!!")).collect();
    assert_eq!(hints.len(), 1, "{stdout}");
    assert!(
        hints[0].ends_with("!! unknown command \"frob\"; try /help"),
        "{stdout}"
    );
    assert_eq!(rt.block_on(bob.quit()), Exit::Ok);
    rt.block_on(server.stop());
}

#[test]
fn without_a_terminal_a_taken_nick_is_exit_3() {
    let rt = runtime();
    let server = rt.block_on(Server::start());
    let addr = server.addr.to_string();
    let (da, db) = (tmp(), tmp());
    let bob = rt.block_on(Client::hybrid(&server, "bob", db.path().into()));
    let out = Command::new(BIN)
        .args(["--server", &addr, "--nick", "BOB", "--data-dir"])
        .arg(da.path())
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("registration refused (NICK_IN_USE)"),
        "{stderr}"
    );
    assert_eq!(rt.block_on(bob.quit()), Exit::Ok);
    rt.block_on(server.stop());
}

#[test]
fn in_a_terminal_losing_the_server_is_not_the_end() {
    let rt = runtime();
    let server = rt.block_on(Server::start());
    let addr = server.addr.to_string();
    let da = tmp();
    let mut alice = Pty::spawn(&alice_args(&addr, da.path()), &[("NO_COLOR", "1")]);
    alice.prompt = "alice> ".into();
    alice.wait_line("alice> ");
    alice.keys("half typed");
    rt.block_on(server.stop());
    alice.expect("-- lost the server");
    alice.expect("without a server now: direct sessions go on; /quit to leave");
    alice.wait_line("alice> half typed");
    // Commands that need the server say so, in one line.
    alice.keys(" more");
    alice.enter("alice> ");
    alice.expect("!! not connected to a server (UNREACHABLE)");
    alice.keys("/list");
    alice.enter("alice> ");
    alice.expect("!! not connected to a server (UNREACHABLE)");
    alice.keys("/quit");
    alice.enter_last();
    assert_eq!(alice.exit_status(), 0);
}
