//! The command line (clap), logging, and the choice of front end.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use spec::Nick;
use spec::limits::DEFAULT_PORT;

use crate::config::{ClientConfig, Exit, Mode};

/// The p2pchat reference client.
///
/// With a server (hybrid mode): register, see who is online, broadcast, chat
/// privately peer to peer (or through the server's mailbox when the other side
/// is away), block people. With `--no-server`: a mesh of peers that connect to
/// each other by address.
#[derive(Debug, Parser)]
#[command(name = "p2pchat-client", version, max_term_width = 100)]
pub struct Cli {
    /// The server, HOST:PORT (asked for when missing in a terminal) [default:
    /// 127.0.0.1:1337].
    #[arg(
        long,
        short = 's',
        value_name = "HOST:PORT",
        conflicts_with = "no_server"
    )]
    pub server: Option<String>,

    /// Your nick: 1 to 32 of A-Z a-z 0-9 _ - (asked for when missing in a terminal).
    #[arg(long, short = 'n', value_parser = parse_nick)]
    pub nick: Option<Nick>,

    /// The UDP port to register, for offers and direct messages (0: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub udp_port: u16,

    /// Where to listen for peer sessions, IP:PORT (default: any free port).
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<SocketAddr>,

    /// Where to keep tokens, shown message ids, the outbox, blocks and the input
    /// history [default: the platform's data directory].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// How many accepted peer connections may wait for their HELLO at once; more are
    /// closed at once.
    #[arg(long, value_name = "N", default_value_t = crate::config::DEFAULT_MAX_HANDSHAKES,
          value_parser = parse_max_handshakes)]
    pub max_handshakes: usize,

    /// Serverless mode: no server, peers connect to each other by address.
    #[arg(long)]
    pub no_server: bool,

    /// A bootstrap peer to connect to at start, HOST:PORT (serverless; repeatable).
    #[arg(
        long = "peer",
        value_name = "HOST:PORT",
        num_args = 0..=1,
        default_missing_value = "",
        requires = "no_server"
    )]
    pub peers: Vec<String>,

    /// Automation mode (PROTOCOL.md Appendix A): commands on stdin, one JSON event
    /// per line on stdout. Without it: the interactive terminal (plain text when
    /// stdin or stdout is not a terminal).
    #[arg(long)]
    pub automation: bool,

    /// More logging on stderr (-v, -vv); RUST_LOG overrides.
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
}

fn parse_nick(s: &str) -> Result<Nick, String> {
    Nick::new(s).map_err(|e| e.reason.to_owned())
}

/// Logs go to stderr, so that stdout stays clean for events and scripts.
pub fn init_tracing(cli: &Cli) {
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .try_init();
}

/// The data directory: as given, or the platform's data directory.
pub fn data_dir(cli: &Cli) -> PathBuf {
    if let Some(d) = &cli.data_dir {
        return d.clone();
    }
    directories::ProjectDirs::from("org", "p2pchat", "p2pchat")
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".p2pchat"))
}

/// The configuration, once the nick is known.
pub fn config(cli: &Cli, nick: Nick) -> ClientConfig {
    let mode = if cli.no_server {
        Mode::Serverless {
            peers: cli
                .peers
                .iter()
                .filter(|p| !p.is_empty())
                .cloned()
                .collect(),
        }
    } else {
        Mode::Hybrid {
            server: cli
                .server
                .clone()
                .unwrap_or_else(|| format!("127.0.0.1:{DEFAULT_PORT}")),
        }
    };
    let mut cfg = ClientConfig::new(nick, mode, data_dir(cli));
    cfg.udp_port = cli.udp_port;
    cfg.listen = cli.listen;
    cfg.max_handshakes = cli.max_handshakes;
    cfg
}

/// Runs the client as the command line says.
pub fn run(cli: Cli) -> Exit {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("p2pchat-client: cannot start: {e}");
            return Exit::Network;
        }
    };
    if cli.automation {
        let Some(nick) = cli.nick.clone() else {
            eprintln!("p2pchat-client: --automation needs --nick");
            return Exit::Usage;
        };
        let cfg = config(&cli, nick);
        return runtime.block_on(async {
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            crate::automation::run_automation(cfg, stdin, tokio::io::stdout()).await
        });
    }
    crate::interactive::run(&cli, &runtime)
}

/// `--max-handshakes`: a positive count (0 would refuse every peer).
fn parse_max_handshakes(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
