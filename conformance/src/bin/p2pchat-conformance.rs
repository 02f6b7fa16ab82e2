//! `p2pchat-conformance`: runs the conformance cases against an implementation and writes
//! reports. Exit status: 0 every case passed (non-strict verdicts allowed), 1 failures
//! (with `--baseline`: new failures or unexpected passes), 2 the target could not be run
//! or the command line is wrong.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;

use conformance::case::Case;
use conformance::config::{Manifest, TargetSettings};
use conformance::report;
use conformance::requirements::Role;
use conformance::run::{self, Invocation, Session};

#[derive(Debug, Parser)]
#[command(
    name = "p2pchat-conformance",
    version,
    about = "Judge a p2pchat/1 implementation against spec/PROTOCOL.md",
    after_help = "Exit status: 0 all passed (non-strict allowed), 1 failures, 2 could not run.\n\
                  Example:\n  p2pchat-conformance --server-cmd 'python3 \
                  conformance/examples/core_server.py --port {port}' --server-profiles core \
                  --junit report.xml --json report.json"
)]
struct Cli {
    /// Server launch command; `{port}` is replaced by a free port, `{db}` by a storage path
    /// the suite keeps across restarts.
    #[arg(long, env = "P2PCHAT_SERVER_CMD", value_name = "CMD")]
    server_cmd: Option<String>,
    /// Address (host:port) of a server that is already running (cases that restart the
    /// server are NOT_RUN).
    #[arg(long, env = "P2PCHAT_SERVER_ADDR", value_name = "ADDR")]
    server_addr: Option<String>,
    /// Profiles the server claims, comma-separated (core, query, relay, block, direct,
    /// udp-direct, or all). Default: core.
    #[arg(long, env = "P2PCHAT_SERVER_PROFILES", value_name = "LIST")]
    server_profiles: Option<String>,
    /// Client launch command (automation mode, PROTOCOL.md Appendix A): `{server}`, `{nick}`,
    /// `{port}` (the UDP port to register) and `{datadir}` are replaced.
    #[arg(long, env = "P2PCHAT_CLIENT_CMD", value_name = "CMD")]
    client_cmd: Option<String>,
    /// Serverless client launch command: `{nick}`, `{port}` (the TCP port to listen on),
    /// `{peer}` (a bootstrap peer) and `{datadir}` are replaced.
    #[arg(long, env = "P2PCHAT_CLIENT_SERVERLESS_CMD", value_name = "CMD")]
    client_serverless_cmd: Option<String>,
    /// Profiles the client claims, comma-separated (core, query, relay, block, direct,
    /// udp-direct, serverless, or all). Default: core.
    #[arg(long, env = "P2PCHAT_CLIENT_PROFILES", value_name = "LIST")]
    client_profiles: Option<String>,
    /// Multiplies every deadline (e.g. 3 for a slow machine).
    #[arg(long, env = "P2PCHAT_TIMEOUT_SCALE", value_name = "FACTOR")]
    timeout_scale: Option<f64>,
    /// Also run the slow cases (they wait for the server's own timers: keepalive, idle and
    /// partial-line timeouts, up to about 2 minutes).
    #[arg(long, env = "P2PCHAT_SLOW")]
    slow: bool,
    /// The server's timers and limits, so that the cases that wait for them run in seconds
    /// (and LIM-3 knows how many connections to open): e.g.
    /// `keepalive=2,idle=5,partial=2,max_connections=200` (seconds; any subset).
    #[arg(long, env = "P2PCHAT_SERVER_LIMITS", value_name = "LIST")]
    server_limits: Option<String>,
    /// Directory the launch commands run in.
    #[arg(long, value_name = "DIR")]
    workdir: Option<PathBuf>,
    /// A TOML file of `[implementations.<name>]` tables with the settings above
    /// (server_cmd, server_addr, server_profiles, timeout_scale, slow, workdir, ...).
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// With --manifest: the implementations to judge (default: all of them).
    #[arg(long = "impl", value_name = "NAME")]
    implementations: Vec<String>,
    /// Run only this case (repeatable), e.g. --case SRV-REG-001.
    #[arg(long = "case", value_name = "ID")]
    cases: Vec<String>,
    /// Run only the cases whose ID contains this text (e.g. REG).
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Cases run in parallel.
    #[arg(long, default_value_t = 8, value_name = "N")]
    jobs: usize,
    /// Known failures (one case ID per line): only new failures and unexpected passes
    /// fail the run.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write the current failures as a baseline file.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Write a JUnit XML report (`{impl}` in the path is replaced by the implementation).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the JSON report, schema 1 (`{impl}` is replaced as for --junit).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Print the requirement → cases → verdict matrix.
    #[arg(long)]
    matrix: bool,
    /// List the cases and exit.
    #[arg(long)]
    list: bool,
    /// Show every case in the summary, not only those that did not pass.
    #[arg(long, short)]
    verbose: bool,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("p2pchat-conformance: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<u8> {
    let cli = Cli::parse();
    let cases = select_cases(&cli)?;
    if cli.list {
        for c in &cases {
            println!(
                "{:<13} {:<6} {:<10} {:<28} {}",
                c.id,
                c.profile().as_str(),
                c.level().as_str(),
                c.covers.join(","),
                c.title
            );
        }
        return Ok(0);
    }
    let known = match &cli.baseline {
        Some(p) => Some(
            report::parse_baseline(
                &std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read baseline {}", p.display()))?,
            )
            .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let flags = TargetSettings {
        server_cmd: cli.server_cmd.clone(),
        server_addr: cli.server_addr.clone(),
        server_profiles: cli.server_profiles.clone(),
        client_cmd: cli.client_cmd.clone(),
        client_serverless_cmd: cli.client_serverless_cmd.clone(),
        client_profiles: cli.client_profiles.clone(),
        timeout_scale: cli.timeout_scale,
        slow: cli.slow.then_some(true),
        server_limits: cli.server_limits.clone(),
        workdir: cli.workdir.clone(),
    };
    // (name, settings, the arguments that select this target again)
    let mut runs: Vec<(String, TargetSettings, Vec<String>)> = Vec::new();
    if let Some(path) = &cli.manifest {
        let m = Manifest::load(path).map_err(anyhow::Error::msg)?;
        let names: Vec<String> = if cli.implementations.is_empty() {
            m.implementations.keys().cloned().collect()
        } else {
            cli.implementations.clone()
        };
        for name in names {
            let Some(s) = m.implementations.get(&name) else {
                bail!("the manifest has no implementation {name:?}");
            };
            let over = TargetSettings {
                timeout_scale: cli.timeout_scale,
                slow: cli.slow.then_some(true),
                ..TargetSettings::default()
            };
            let mut args = vec![
                "--manifest".to_owned(),
                path.to_string_lossy().into_owned(),
                "--impl".to_owned(),
                name.clone(),
            ];
            args.extend(over.as_flags());
            runs.push((name, s.overridden_by(&over), args));
        }
    } else {
        if !flags.names_a_target() {
            bail!(
                "no target: give --server-cmd, --server-addr, --client-cmd, \
                 --client-serverless-cmd or --manifest (or the P2PCHAT_* variables); see --help"
            );
        }
        let args = flags.as_flags();
        runs.push(("cli".to_owned(), flags, args));
    }
    let mut worst = 0u8;
    let several = runs.len() > 1;
    for (name, settings, args) in runs {
        let target = settings
            .build(&name, None, None)
            .map_err(anyhow::Error::msg)?;
        // Only the roles given a target are judged: a client alone runs the client cases.
        let cases: Vec<&'static Case> = cases
            .iter()
            .copied()
            .filter(|c| match c.role {
                Role::Server => target.server.is_some(),
                Role::Client => target.client.is_some(),
            })
            .collect();
        let session = Session::new(target, Invocation::Runner { args });
        let mut results = run::run_all(&session, &cases, cli.jobs);
        if let Some(k) = &known {
            report::apply_baseline(&mut results, k);
        }
        print!(
            "{}",
            report::summary(&session.target, &results, cli.verbose)
        );
        if cli.matrix {
            println!("\nREQUIREMENT MATRIX");
            print!("{}", report::matrix(&results));
        }
        if let Some(p) = &cli.junit {
            write(
                &with_impl(p, &name, several),
                &report::junit(&session.target, &results),
            )?;
        }
        if let Some(p) = &cli.json {
            write(
                &with_impl(p, &name, several),
                &report::json(&session.target, &results, known.is_some()),
            )?;
        }
        if let Some(p) = &cli.write_baseline {
            write(
                &with_impl(p, &name, several),
                &report::baseline_text(&results),
            )?;
        }
        let code = report::exit_code(&results, known.is_some()) as u8;
        worst = match (worst, code) {
            (1, _) | (_, 1) => 1,
            (a, b) => a.max(b),
        };
        if several {
            println!();
        }
    }
    Ok(worst)
}

fn select_cases(cli: &Cli) -> Result<Vec<&'static Case>> {
    let all = conformance::cases::all();
    let wanted: BTreeSet<&str> = cli.cases.iter().map(String::as_str).collect();
    for id in &wanted {
        if conformance::cases::find(id).is_none() {
            bail!("no case {id:?} (see --list)");
        }
    }
    let cases: Vec<&'static Case> = all
        .iter()
        .copied()
        .filter(|c| wanted.is_empty() || wanted.contains(c.id))
        .filter(|c| cli.filter.as_deref().is_none_or(|f| c.id.contains(f)))
        .collect();
    if cases.is_empty() {
        bail!("no case matches the selection");
    }
    Ok(cases)
}

fn with_impl(p: &Path, name: &str, several: bool) -> PathBuf {
    let s = p.to_string_lossy();
    if s.contains("{impl}") {
        return PathBuf::from(s.replace("{impl}", name));
    }
    if !several {
        return p.to_path_buf();
    }
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy())
        .unwrap_or_default();
    let ext = p
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    p.with_file_name(format!("{stem}.{name}{ext}"))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
