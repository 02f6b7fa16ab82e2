//! The interactive front end: the default mode.
//!
//! In a terminal (standard input and output both terminals) the input line is
//! rustyline's, with history kept in the data directory and completion of
//! commands and nicks; incoming messages and events are printed through
//! rustyline's [`ExternalPrinter`], above the input line, so that what the user
//! is typing is redrawn intact below them. Otherwise lines are read from
//! standard input and events written to standard output as plain text (no
//! colour, no escape sequences), for pipes and scripts.
//!
//! Every event is shown through [`Formatter`], which passes all text from the
//! network through the sanitizer. A private message is shown, then recorded,
//! then acknowledged, as in automation mode.
//!
//! At start, what is missing is asked for when standard input is a terminal:
//! the server's address (default shown) and the nick; a nick the server refuses
//! (`NICK_IN_USE`, `NICK_OWNED`, `BAD_NICK`) is asked for again.

mod complete;
mod ui;

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use spec::Nick;
use spec::limits::DEFAULT_PORT;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::cli::{self, Cli};
use crate::commands::{self, Command};
use crate::config::{Exit, Mode};
use crate::display::clock;
use crate::display::format::{Formatter, want_color};
use crate::engine::{Engine, StartError};
use crate::events::Event;
use crate::net::NetReceiver;

pub use complete::{ChatHelper, KnownNicks, complete};
use ui::{Input, Ui};

/// Refusals of a nick that are worth asking for another one.
const NICK_REFUSALS: &[&str] = &["NICK_IN_USE", "NICK_OWNED", "BAD_NICK"];

/// Runs the interactive front end.
pub fn run(cli: &Cli, rt: &tokio::runtime::Runtime) -> Exit {
    let stdin_tty = std::io::stdin().is_terminal();
    let stdout_tty = std::io::stdout().is_terminal();
    let known: KnownNicks = Arc::new(Mutex::new(Vec::new()));
    let mut ui = Ui::new(stdin_tty, stdout_tty, known.clone());
    let color = want_color(stdout_tty) && ui.is_terminal();
    let serverless = cli.no_server;

    // What is missing, asked for while standard input is a terminal.
    let mut server_asked = false;
    let mut server = cli.server.clone();
    if !serverless && server.is_none() && ui.can_ask() {
        match ask_server(&mut ui) {
            Some(s) => server = Some(s),
            None => return Exit::Ok,
        }
        server_asked = true;
    }
    let mut nick = match cli.nick.clone() {
        Some(n) => n,
        None if ui.can_ask() => match ask_nick(&mut ui) {
            Some(n) => n,
            None => return Exit::Ok,
        },
        None => {
            eprintln!(
                "p2pchat-client: no nick: give one with --nick NICK (standard input is not a \
                 terminal, so it cannot be asked for)"
            );
            return Exit::Usage;
        }
    };

    // Start, register; ask again for what the server refused.
    let (mut engine, mut net_rx, fmt) = loop {
        let mut cfg = cli::config(cli, nick.clone());
        if let (Mode::Hybrid { server: s }, Some(given)) = (&mut cfg.mode, &server) {
            s.clone_from(given);
        }
        let fmt = Formatter::new(nick.as_str(), serverless, color);
        let (net_tx, mut net_rx) = crate::net::channel();
        let mut engine = match rt.block_on(Engine::start(cfg, net_tx)) {
            Ok(e) => e,
            Err(e) => {
                let unreachable = matches!(e, StartError::Unreachable { .. });
                if ui.is_terminal() {
                    let error = Event::error("UNREACHABLE", e.to_string());
                    let _ = ui.show(&fmt.event(&error, clock::now()).unwrap_or_default());
                } else {
                    eprintln!("p2pchat-client: {e}");
                }
                if unreachable && server_asked {
                    match ask_server(&mut ui) {
                        Some(s) => {
                            server = Some(s);
                            continue;
                        }
                        None => return Exit::Ok,
                    }
                }
                return Exit::Network;
            }
        };
        match rt.block_on(registration(&mut engine, &mut net_rx, &mut ui, &fmt)) {
            Registration::Done => break (engine, net_rx, fmt),
            Registration::Ended(Exit::Refused, code)
                if ui.can_ask() && NICK_REFUSALS.contains(&code.as_str()) =>
            {
                rt.block_on(engine.shutdown());
                match ask_nick(&mut ui) {
                    Some(n) => nick = n,
                    None => return Exit::Ok,
                }
            }
            Registration::Ended(exit, code) => {
                rt.block_on(engine.shutdown());
                if exit == Exit::Refused && !ui.is_terminal() {
                    eprintln!(
                        "p2pchat-client: registration refused ({})",
                        crate::display::sanitize::sanitize(&code)
                    );
                }
                return exit;
            }
        }
    };

    let history = cli::data_dir(cli).join("history.txt");
    let prompt = format!("{nick}> ");
    let (input_rx, reader) = ui.start_input(prompt, history);
    let terminal = ui.is_terminal();
    let (exit, input_done) = rt.block_on(chat(
        &mut engine,
        &mut net_rx,
        input_rx,
        &mut ui,
        &fmt,
        &known,
        terminal,
    ));
    rt.block_on(engine.shutdown());
    if let Some(reader) = reader {
        if !input_done && !reader.is_finished() {
            // rustyline still holds the terminal (raw mode): it gives it back
            // when its line ends.
            let _ = ui.show(&fmt.note("press Enter to leave", clock::now()));
        }
        let _ = reader.join();
    }
    exit
}

/// How registration ended.
enum Registration {
    /// Registered (or, serverless, listening).
    Done,
    /// The run ended; for a refusal, the error code the server gave.
    Ended(Exit, String),
}

/// Shows events until registration is over.
async fn registration(
    engine: &mut Engine,
    net_rx: &mut NetReceiver,
    ui: &mut Ui,
    fmt: &Formatter,
) -> Registration {
    let mut refusal = String::new();
    loop {
        let mut ready = false;
        show_events(engine, ui, fmt, |e| match e {
            Event::Ready { .. } => ready = true,
            Event::Error { code, .. } => refusal.clone_from(code),
            _ => {}
        });
        if let Some(exit) = engine.exit() {
            return Registration::Ended(exit, refusal);
        }
        if ready {
            return Registration::Done;
        }
        let deadline = engine.next_deadline();
        tokio::select! {
            biased;
            input = net_rx.recv() => match input {
                Some(input) => engine.on_net(input),
                None => return Registration::Ended(Exit::Network, refusal),
            },
            () = sleep_until(deadline) => engine.on_timer(),
        }
    }
}

/// The chat itself: lines typed become commands, events are shown. Returns
/// the exit status and whether the input side is over (the user quit).
async fn chat(
    engine: &mut Engine,
    net_rx: &mut NetReceiver,
    mut input_rx: UnboundedReceiver<Input>,
    ui: &mut Ui,
    fmt: &Formatter,
    known: &KnownNicks,
    terminal: bool,
) -> (Exit, bool) {
    let mut input_done = false;
    loop {
        show_events(engine, ui, fmt, |_| {});
        let nicks = engine.known_nicks();
        if let Ok(mut k) = known.lock()
            && *k != nicks
        {
            *k = nicks;
        }
        if let Some(exit) = engine.exit() {
            if exit == Exit::Network && terminal && !input_done {
                // In a terminal the user decides when to leave: peer sessions
                // still work without the server.
                engine.go_on_without_server();
                let _ = ui.show(&fmt.note(
                    "without a server now: direct sessions go on; /quit to leave",
                    clock::now(),
                ));
                continue;
            }
            return (exit, input_done);
        }
        let deadline = engine.next_deadline();
        tokio::select! {
            biased;
            Some(input) = net_rx.recv() => engine.on_net(input),
            () = sleep_until(deadline) => engine.on_timer(),
            input = input_rx.recv(), if !input_done => match input {
                Some(Input::Line(line)) => match commands::parse_line(&line) {
                    None => {}
                    Some(cmd) => {
                        if matches!(cmd, Ok(Command::Quit)) {
                            input_done = true;
                        }
                        engine.on_command(cmd);
                    }
                },
                Some(Input::End) | None => {
                    input_done = true;
                    engine.on_end_of_input();
                }
            },
        }
    }
}

/// Shows the events produced so far, then lets the engine record and
/// acknowledge what they showed (show, record, ACK). `seen` looks at each.
fn show_events(engine: &mut Engine, ui: &mut Ui, fmt: &Formatter, mut seen: impl FnMut(&Event)) {
    loop {
        let events = engine.take_events();
        if events.is_empty() {
            return;
        }
        let now = clock::now();
        let mut failed = false;
        for e in &events {
            seen(e);
            if let Some(text) = fmt.event(e, now)
                && ui.show(&text).is_err()
            {
                failed = true;
            }
        }
        if failed {
            engine.not_shown();
        } else {
            engine.confirm_shown();
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// Asks for the server's address; `None` when the user gave up (end of input).
fn ask_server(ui: &mut Ui) -> Option<String> {
    let default = format!("127.0.0.1:{DEFAULT_PORT}");
    let answer = ui.ask(&format!("server [{default}]: "))?;
    Some(server_address(&answer, &default))
}

/// The address typed (or the default); a missing port is the default port.
pub fn server_address(answer: &str, default: &str) -> String {
    let a = answer.trim();
    if a.is_empty() {
        return default.to_owned();
    }
    let has_port = match a.rfind(']') {
        Some(close) => a[close..].contains(':'),
        None => a.contains(':'),
    };
    if has_port {
        a.to_owned()
    } else {
        format!("{a}:{DEFAULT_PORT}")
    }
}

/// Asks for a nick until a valid one is given; `None` when the user gave up.
fn ask_nick(ui: &mut Ui) -> Option<Nick> {
    loop {
        let answer = ui.ask("nick: ")?;
        match Nick::new(answer.trim()) {
            Ok(n) => return Some(n),
            Err(e) => {
                let _ = ui.show(&format!(
                    "{}; a nick is 1 to 32 of A-Z a-z 0-9 _ -",
                    crate::display::sanitize::sanitize(e.reason)
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses() {
        let d = "127.0.0.1:1337";
        assert_eq!(server_address("", d), d);
        assert_eq!(server_address("  ", d), d);
        assert_eq!(server_address("10.0.0.2", d), "10.0.0.2:1337");
        assert_eq!(server_address("10.0.0.2:99", d), "10.0.0.2:99");
        assert_eq!(server_address("[::1]", d), "[::1]:1337");
        assert_eq!(server_address("[::1]:7", d), "[::1]:7");
        assert_eq!(server_address("chat.lan", d), "chat.lan:1337");
    }
}
