//! The reference client run in-process: the command line of PROTOCOL.md Appendix A.1 goes
//! through the binary's own parser (`reference_client::cli::Cli`), and its automation loop
//! (`reference_client::run_automation`) runs on a runtime of its own, with in-memory pipes
//! for standard input and output. A refused command line exits at once with clap's status.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use clap::Parser;
use conformance::client::process::{ClientParts, ClientRt, ExitHandle, InProcessClient};
use conformance::client::{ClientKind, ClientTarget};
use conformance::profile::Profile;
use reference_client::cli::Cli;

/// Appendix A.1's commands for the reference client.
pub const HYBRID: &str = "p2pchat-client --automation --server {server} --nick {nick} \
                          --udp-port {port} --data-dir {datadir}";
pub const SERVERLESS: &str = "p2pchat-client --automation --no-server --nick {nick} \
                              --listen 127.0.0.1:{port} --peer {peer} --data-dir {datadir}";

/// The reference client and the profiles it claims (all of them).
pub fn client() -> ClientTarget {
    ClientTarget {
        cmd: Some(HYBRID.to_owned()),
        serverless_cmd: Some(SERVERLESS.to_owned()),
        profiles: Profile::ALL.into_iter().collect(),
        kind: ClientKind::InProcess(Arc::new(Reference)),
    }
}

#[derive(Debug)]
struct Reference;

impl InProcessClient for Reference {
    fn name(&self) -> String {
        "reference-client (in-process: reference_client::run_automation over in-memory pipes)"
            .into()
    }

    fn templates(&self) -> (String, String) {
        (HYBRID.to_owned(), SERVERLESS.to_owned())
    }

    fn start(&self, argv: &[String]) -> Result<ClientParts, String> {
        let cli = match Cli::try_parse_from(argv) {
            Ok(c) => c,
            Err(e) => return Ok(ClientParts::exited(e.exit_code(), e.to_string())),
        };
        let Some(nick) = cli.nick.clone().filter(|_| cli.automation) else {
            return Ok(ClientParts::exited(2, "--automation needs --nick"));
        };
        let cfg = reference_client::cli::config(&cli, nick);
        let (cmd_w, cmd_r) = tokio::io::duplex(1 << 16);
        let (ev_w, ev_r) = tokio::io::duplex(1 << 20);
        let (done_tx, done_rx) = mpsc::channel::<i32>();
        let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("reference-client {}", cfg.nick))
            .spawn(move || {
                let code = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Err(_) => 1,
                    Ok(rt) => rt.block_on(async move {
                        tokio::select! {
                            exit = reference_client::run_automation(
                                cfg,
                                tokio::io::BufReader::new(cmd_r),
                                ev_w,
                            ) => i32::from(exit.code()),
                            _ = kill_rx => 137,
                        }
                    }),
                    // The runtime is dropped here: every task and socket of the run ends.
                };
                let _ = done_tx.send(code);
            })
            .map_err(|e| format!("cannot spawn the client thread: {e}"))?;
        Ok(ClientParts {
            stdin: Box::new(cmd_w),
            stdout: Box::new(ev_r),
            exit: Box::new(Exit {
                done: done_rx,
                kill: Some(kill_tx),
                code: None,
            }),
        })
    }
}

#[derive(Debug)]
struct Exit {
    done: mpsc::Receiver<i32>,
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    code: Option<i32>,
}

impl ExitHandle for Exit {
    fn wait(&mut self, _rt: &ClientRt, timeout: Duration) -> Option<i32> {
        if self.code.is_none() {
            self.code = self.done.recv_timeout(timeout).ok();
        }
        self.code
    }

    fn kill(&mut self, rt: &ClientRt) {
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
        let _ = self.wait(rt, Duration::from_secs(5));
    }
}
