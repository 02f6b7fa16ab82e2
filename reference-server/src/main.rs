//! `p2pchat-server`: the p2pchat/1 reference server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use reference_server::{Config, DbPath, Server};

#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
mod reclaim;

/// jemalloc, purged by [`reclaim`] when the server goes quiet (settings in
/// `.cargo/config.toml`): glibc's malloc kept what a registration storm had freed,
/// several KiB per idle connection for good (reference-server/PERFORMANCE.md §7).
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The p2pchat/1 reference server.
///
/// Prints one line `p2pchat-server listening on <ip:port>` on stdout when it is ready;
/// logs go to stderr (levels with RUST_LOG, e.g. RUST_LOG=debug). SIGINT or SIGTERM
/// stops it gracefully: clients are told (ERR:SHUTDOWN), the database is flushed, and
/// it exits 0.
#[derive(Debug, Parser)]
#[command(name = "p2pchat-server", version)]
struct Cli {
    /// Address to listen on; 0.0.0.0:PORT to serve a LAN, port 0 for any free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:1337")]
    bind: SocketAddr,

    /// SQLite database for ownership, mailboxes and blocks (created if missing);
    /// `:memory:` keeps everything in memory. [default: server.db in the user's data
    /// directory]
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,

    /// Keep the database in memory (nothing survives a restart); same as --db :memory:.
    #[arg(long, conflicts_with = "db")]
    memory_db: bool,

    /// fsync every committed message (synchronous=FULL), to survive power loss too;
    /// without it every message survives any crash of the server process.
    #[arg(long)]
    fsync: bool,

    /// Connections served at once; more are answered ERR:SERVER_FULL and closed.
    #[arg(long, value_name = "N", default_value_t = 16384)]
    max_connections: usize,

    /// Unsent output held per connection before it is closed with ERR:SLOW_READER.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_outbound_bytes: usize,

    /// Lines a connection may send in a burst before ERR:FLOOD (0: no rate limit).
    #[arg(long, value_name = "LINES", default_value_t = 200)]
    rate_burst: u32,

    /// Lines per second a connection may send sustained.
    #[arg(long, value_name = "LINES", default_value_t = 100)]
    rate_per_sec: u32,

    /// Seconds a line may stay unfinished before ERR:TIMEOUT (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    partial_line_timeout: f64,

    /// Seconds of silence before the server sends PING (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    keepalive: f64,

    /// Seconds of silence before ERR:TIMEOUT closes the connection (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 90.0)]
    idle_timeout: f64,

    /// Unacknowledged messages one user's mailbox may hold (at least 100).
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(spec::limits::MIN_MAILBOX as i64..))]
    mailbox_quota: u32,

    /// Blocks one user may hold before BLOCK answers ERR:BLOCKS_FULL (at least 100).
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(spec::limits::MIN_BLOCKS as i64..))]
    block_quota: u32,

    /// Seconds a closing connection is given to take its last line.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    linger: f64,

    /// Worker threads serving the connections [default: one per CPU].
    #[arg(long, value_name = "N")]
    workers: Option<std::num::NonZeroUsize>,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Deliberate rule-break for testing test suites (repeatable).
    #[cfg(feature = "faults")]
    /// (Hidden so that the help text is the same with and without the feature.)
    #[arg(long, value_name = "NAME", hide = true)]
    fault: Vec<reference_server::Fault>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn secs(name: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("--{name}: not a duration: {s}"))
}

fn config(cli: &Cli) -> anyhow::Result<Config> {
    let db = if cli.memory_db || cli.db.as_deref() == Some(std::path::Path::new(":memory:")) {
        DbPath::Memory
    } else if let Some(p) = &cli.db {
        DbPath::File(p.clone())
    } else {
        let db = DbPath::default_file();
        if let DbPath::File(p) = &db
            && let Some(dir) = p.parent()
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        }
        db
    };
    Ok(Config {
        db,
        fsync: cli.fsync,
        max_connections: cli.max_connections,
        max_outbound_bytes: cli.max_outbound_bytes,
        rate_burst: cli.rate_burst,
        rate_per_sec: cli.rate_per_sec,
        partial_line_timeout: secs("partial-line-timeout", cli.partial_line_timeout)?,
        keepalive: secs("keepalive", cli.keepalive)?,
        idle_timeout: secs("idle-timeout", cli.idle_timeout)?,
        mailbox_quota: cli.mailbox_quota as usize,
        block_quota: cli.block_quota as usize,
        linger: secs("linger", cli.linger)?,
        #[cfg(feature = "faults")]
        faults: cli.fault.iter().copied().collect(),
    })
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Installs the SIGINT and SIGTERM handlers now (so that a signal sent as soon as the
/// readiness line is out is not lost), and returns a future that completes at the first.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let config = config(&cli)?;
    let db_shown = match &config.db {
        DbPath::Memory => ":memory:".to_owned(),
        DbPath::File(p) => p.display().to_string(),
    };
    let server = Server::open(config)?;
    #[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
    {
        let trimmer = server.trimmer();
        reclaim::start(move || {
            let freed = trimmer.trim_idle();
            tracing::debug!(freed, "quiet: idle connections' buffers freed");
        });
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.workers {
        runtime.worker_threads(n.get());
    }
    // Named, so that `top -H` and /proc show which threads serve (the server runs no
    // blocking-pool work, so these are the workers).
    let runtime = runtime
        .thread_name("p2pchat-worker")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = reference_server::listen(cli.bind)
            .with_context(|| format!("cannot listen on {}", cli.bind))?;
        let addr = listener.local_addr()?;
        let shutdown = shutdown_signal();
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "p2pchat-server listening on {addr}")?;
            out.flush()?;
        }
        tracing::info!(%addr, db = %db_shown, "listening");
        server.serve(listener, shutdown).await?;
        tracing::info!("stopped");
        Ok(())
    })
}
