//! Commands: the automation words of `PROTOCOL.md` Appendix A.2, and the
//! interactive forms of the seed programs (`/broadcast`, `/start`, `/chat`,
//! `/quit` of seed 001; `REGISTER`, `SEND`, `LIST`, `BLOCK`, `UNBLOCK`, `EXIT` of
//! seed 000), all parsed into one [`Command`].

use spec::{Nick, Text};

/// One thing the user asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Broadcast (hybrid: BROADCAST; serverless: on every session).
    Broadcast(Text),
    /// A private message through the server mailbox (SEND).
    Msg(Nick, Text),
    /// A private message on a peer session, opening one if needed.
    Chat(Nick, Text),
    /// A private message by the client's choice of route.
    Send(Nick, Text),
    /// A one-datagram direct message.
    Dm(Nick, Text),
    /// Open a peer session with a nick (seed 001's `/start`).
    Start(Nick),
    /// LIST.
    List,
    /// QUERY.
    Query(Nick),
    /// BLOCK (and local blocking).
    Block(Nick),
    /// UNBLOCK.
    Unblock(Nick),
    /// BLOCKS.
    Blocks,
    /// End the session with a nick.
    Close(Nick),
    /// Open a session to an address (serverless).
    Connect(String),
    /// End the session with an address.
    Disconnect(String),
    /// Report the open sessions.
    Peers,
    /// Answer `sync` once everything before is done.
    Sync(String),
    /// Register (seed 000's `REGISTER`): the client registers at start, so this
    /// only reports the state.
    Register,
    /// Show the commands.
    Help,
    /// Leave.
    Quit,
}

/// Which spelling of commands to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Appendix A.2: lower-case words, exactly.
    Automation,
    /// Interactive: case-insensitive, with or without a leading `/`, and the
    /// seed programs' words.
    Interactive,
}

/// The one-line help of every command (interactive `/help`).
pub const HELP: &[(&str, &str)] = &[
    ("/broadcast <text>", "send to everyone"),
    (
        "/send <nick> <text>",
        "private message: direct if online, else mailbox",
    ),
    (
        "/chat <nick> <text>",
        "private message on a direct peer session",
    ),
    (
        "/msg <nick> <text>",
        "private message through the server mailbox",
    ),
    ("/dm <nick> <text>", "one UDP datagram, unacknowledged"),
    ("/start <nick>", "open a direct session"),
    ("/close <nick>", "end a direct session"),
    ("/list", "who is online"),
    ("/query <nick>", "one user's address"),
    ("/block <nick>", "drop everything from a nick"),
    ("/unblock <nick>", "undo a block"),
    ("/blocks", "list your blocks"),
    ("/connect <ip:port>", "open a peer session to an address"),
    ("/disconnect <ip:port>", "end the session with an address"),
    ("/peers", "list open peer sessions"),
    ("/help", "this help"),
    ("/quit", "leave (also EXIT, Ctrl-D)"),
    (
        "SEND, LIST, EXIT, ...",
        "seed 000's words need no / (also REGISTER, BLOCK, UNBLOCK)",
    ),
    ("<text>", "any other line is a broadcast"),
];

/// Seed 000's words, which work without a leading `/` (in any case).
pub const SEED_WORDS: &[&str] = &["REGISTER", "SEND", "LIST", "BLOCK", "UNBLOCK", "EXIT"];

/// The command words, for completion.
pub const WORDS: &[&str] = &[
    "/broadcast",
    "/send",
    "/chat",
    "/msg",
    "/dm",
    "/start",
    "/close",
    "/list",
    "/query",
    "/block",
    "/unblock",
    "/blocks",
    "/connect",
    "/disconnect",
    "/peers",
    "/help",
    "/quit",
];

/// Commands that take a nick as first argument (for completion).
pub fn takes_nick(word: &str) -> bool {
    matches!(
        word.trim_start_matches('/').to_ascii_lowercase().as_str(),
        "send" | "chat" | "msg" | "dm" | "start" | "close" | "query" | "block" | "unblock"
    )
}

fn usage(word: &str) -> String {
    let args = match word {
        "broadcast" => "<text>",
        "msg" | "chat" | "send" | "dm" => "<nick> <text>",
        "query" | "block" | "unblock" | "close" | "start" => "<nick>",
        "connect" | "disconnect" => "<ip:port>",
        "sync" => "<token>",
        _ => "",
    };
    format!("usage: {word} {args}").trim_end().to_owned()
}

/// Parses one line typed in the terminal: `None` for a blank line. A line that
/// starts with `/`, or with one of [`SEED_WORDS`], or that is just `help` or
/// `quit`, is a command (in any case); any other line is a broadcast, as in chat
/// programs. The error is a one-line hint.
pub fn parse_line(line: &str) -> Option<Result<Command, String>> {
    let line = line.trim_end_matches(['\r', '\n']);
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.starts_with('/') {
        return Some(parse(trimmed, Dialect::Interactive));
    }
    let first = trimmed.split(' ').next().unwrap_or_default();
    let seed = SEED_WORDS.iter().any(|w| w.eq_ignore_ascii_case(first));
    let alone = ["help", "quit"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(trimmed));
    if seed || alone {
        return Some(
            parse(trimmed, Dialect::Interactive).map_err(|hint| {
                format!("{hint} (to broadcast this line, start it with /broadcast)")
            }),
        );
    }
    Some(
        Text::new(line)
            .map(Command::Broadcast)
            .map_err(|e| format!("cannot send that: {}", e.reason)),
    )
}

/// Parses one command line. The error is a one-line hint.
pub fn parse(line: &str, dialect: Dialect) -> Result<Command, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (word, rest) = match line.split_once(' ') {
        Some((w, r)) => (w, r),
        None => (line, ""),
    };
    let word = match dialect {
        Dialect::Automation => word.to_owned(),
        Dialect::Interactive => word.trim_start_matches('/').to_ascii_lowercase(),
    };
    let rest = match dialect {
        Dialect::Automation => rest,
        Dialect::Interactive => rest.trim(),
    };
    let nick = |s: &str| Nick::new(s).map_err(|e| format!("{}: {s:?}", e.reason));
    let text =
        |s: &str| Text::new(s).map_err(|e| format!("{}: {}", e.reason, usage(word.as_str())));
    let nick_text = || -> Result<(Nick, Text), String> {
        let (n, t) = rest.split_once(' ').ok_or_else(|| usage(&word))?;
        Ok((nick(n)?, text(t)?))
    };
    let one_nick = || -> Result<Nick, String> {
        if rest.is_empty() || rest.contains(' ') {
            return Err(usage(&word));
        }
        nick(rest)
    };
    let address = || -> Result<String, String> {
        if rest.is_empty() || rest.contains(' ') || !rest.contains(':') {
            return Err(usage(&word));
        }
        Ok(rest.to_owned())
    };
    let none = |c: Command| -> Result<Command, String> {
        if rest.is_empty() {
            Ok(c)
        } else {
            Err(usage(&word))
        }
    };
    let interactive = dialect == Dialect::Interactive;
    match word.as_str() {
        "broadcast" => {
            if rest.is_empty() {
                return Err(usage(&word));
            }
            Ok(Command::Broadcast(text(rest)?))
        }
        "msg" => nick_text().map(|(n, t)| Command::Msg(n, t)),
        "chat" => nick_text().map(|(n, t)| Command::Chat(n, t)),
        "send" => nick_text().map(|(n, t)| Command::Send(n, t)),
        "dm" => nick_text().map(|(n, t)| Command::Dm(n, t)),
        "list" => none(Command::List),
        "query" => one_nick().map(Command::Query),
        "block" => one_nick().map(Command::Block),
        "unblock" => one_nick().map(Command::Unblock),
        "blocks" => none(Command::Blocks),
        "close" => one_nick().map(Command::Close),
        "connect" => address().map(Command::Connect),
        "disconnect" => address().map(Command::Disconnect),
        "peers" => none(Command::Peers),
        "sync" => {
            if rest.is_empty() {
                return Err(usage(&word));
            }
            Ok(Command::Sync(rest.to_owned()))
        }
        "quit" => none(Command::Quit),
        "start" if interactive => one_nick().map(Command::Start),
        "exit" if interactive => none(Command::Quit),
        "register" if interactive => Ok(Command::Register),
        "help" | "?" if interactive => Ok(Command::Help),
        "" => Err("empty command; try /help".to_owned()),
        other => Err(if interactive {
            format!("unknown command {other:?}; try /help")
        } else {
            format!("unknown command {other:?}")
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn n(s: &str) -> Nick {
        Nick::new(s).unwrap()
    }
    fn t(s: &str) -> Text {
        Text::new(s).unwrap()
    }

    #[test]
    fn automation_words() {
        use Dialect::Automation as A;
        assert_eq!(
            parse("broadcast hello: all ", A),
            Ok(Command::Broadcast(t("hello: all ")))
        );
        assert_eq!(
            parse("msg bob see you", A),
            Ok(Command::Msg(n("bob"), t("see you")))
        );
        assert_eq!(parse("chat bob x", A), Ok(Command::Chat(n("bob"), t("x"))));
        assert_eq!(parse("list", A), Ok(Command::List));
        assert_eq!(parse("query Bob", A), Ok(Command::Query(n("Bob"))));
        assert_eq!(
            parse("connect 127.0.0.1:5000", A),
            Ok(Command::Connect("127.0.0.1:5000".into()))
        );
        assert_eq!(parse("sync s1", A), Ok(Command::Sync("s1".into())));
        assert_eq!(parse("quit", A), Ok(Command::Quit));
    }

    #[test]
    fn automation_is_strict() {
        use Dialect::Automation as A;
        for bad in [
            "LIST",
            "/list",
            "frob",
            "msg bob",
            "msg",
            "query",
            "query a b",
            "list x",
            "msg b@d hi",
            "",
            "start bob",
            "exit",
            "broadcast",
        ] {
            assert!(parse(bad, A).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn interactive_accepts_the_seed_words_in_any_case() {
        use Dialect::Interactive as I;
        assert_eq!(
            parse("/BROADCAST hi there", I),
            Ok(Command::Broadcast(t("hi there")))
        );
        assert_eq!(
            parse("SEND bob hello", I),
            Ok(Command::Send(n("bob"), t("hello")))
        );
        assert_eq!(parse("EXIT", I), Ok(Command::Quit));
        assert_eq!(parse("/quit", I), Ok(Command::Quit));
        assert_eq!(parse("REGISTER", I), Ok(Command::Register));
        assert_eq!(parse("/start bob", I), Ok(Command::Start(n("bob"))));
        assert_eq!(parse("Block mallory", I), Ok(Command::Block(n("mallory"))));
        assert_eq!(parse("/help", I), Ok(Command::Help));
        let e = parse("/frobnicate", I).unwrap_err();
        assert!(e.contains("/help") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn terminal_lines() {
        assert_eq!(parse_line("   "), None);
        assert_eq!(
            parse_line("hello there"),
            Some(Ok(Command::Broadcast(t("hello there"))))
        );
        assert_eq!(parse_line("list"), Some(Ok(Command::List)));
        assert_eq!(parse_line("Exit"), Some(Ok(Command::Quit)));
        assert_eq!(parse_line("quit"), Some(Ok(Command::Quit)));
        assert_eq!(parse_line("HELP"), Some(Ok(Command::Help)));
        assert_eq!(
            parse_line("send bob hi there"),
            Some(Ok(Command::Send(n("bob"), t("hi there"))))
        );
        assert_eq!(parse_line("/start bob"), Some(Ok(Command::Start(n("bob")))));
        assert_eq!(
            parse_line("/chat bob hi"),
            Some(Ok(Command::Chat(n("bob"), t("hi"))))
        );
        assert_eq!(
            parse_line("quit smoking today"),
            Some(Ok(Command::Broadcast(t("quit smoking today"))))
        );
        assert_eq!(
            parse_line("/broadcast exit now"),
            Some(Ok(Command::Broadcast(t("exit now"))))
        );
        let e = parse_line("block party tonight").unwrap().unwrap_err();
        assert!(e.contains("/broadcast") && !e.contains('\n'), "{e}");
        for bad in ["/", "/frob", "/send bob", "/query", "/connect nowhere"] {
            let e = parse_line(bad).unwrap().unwrap_err();
            assert!(!e.is_empty() && !e.contains('\n'), "{bad}: {e}");
        }
    }
}
