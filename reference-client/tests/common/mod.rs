//! Test harness: a reference server on 127.0.0.1:0, and clients in automation
//! mode run in-process over in-memory pipes. Waiting is always for an event with a
//! deadline, never a sleep.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use reference_client::{ClientConfig, Exit, Mode};
use serde_json::Value;
use spec::Nick;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any one expected event may take.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A reference server for one test.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    pub async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            reference_server::run(listener, reference_server::Config::default(), shutdown)
                .await
                .unwrap();
        });
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(DEADLINE, &mut self.task).await;
    }
}

/// One client in automation mode.
pub struct Client {
    pub nick: String,
    commands: DuplexStream,
    events: tokio::io::Lines<BufReader<DuplexStream>>,
    backlog: VecDeque<Value>,
    pub task: JoinHandle<Exit>,
    sync_n: u32,
}

pub fn hybrid_config(server: SocketAddr, nick: &str, dir: PathBuf) -> ClientConfig {
    let mut cfg = ClientConfig::new(
        Nick::new(nick).unwrap(),
        Mode::Hybrid {
            server: server.to_string(),
        },
        dir,
    );
    cfg.connect_timeout = Duration::from_secs(3);
    cfg
}

pub fn serverless_config(nick: &str, peers: Vec<String>, dir: PathBuf) -> ClientConfig {
    let mut cfg = ClientConfig::new(Nick::new(nick).unwrap(), Mode::Serverless { peers }, dir);
    cfg.listen = Some("127.0.0.1:0".parse().unwrap());
    cfg.connect_timeout = Duration::from_secs(3);
    cfg
}

impl Client {
    /// Starts a client with `cfg` (not waiting for anything).
    pub fn spawn(cfg: ClientConfig) -> Client {
        let nick = cfg.nick.to_string();
        let (commands, cmd_rx) = tokio::io::duplex(1 << 16);
        let (ev_tx, events) = tokio::io::duplex(1 << 20);
        let task = tokio::spawn(reference_client::run_automation(
            cfg,
            BufReader::new(cmd_rx),
            ev_tx,
        ));
        Client {
            nick,
            commands,
            events: BufReader::new(events).lines(),
            backlog: VecDeque::new(),
            task,
            sync_n: 0,
        }
    }

    /// Starts a hybrid client and waits for `ready`.
    pub async fn hybrid(server: &Server, nick: &str, dir: PathBuf) -> Client {
        let mut c = Client::spawn(hybrid_config(server.addr, nick, dir));
        c.expect("ready", |_| true).await;
        c
    }

    pub async fn send(&mut self, line: &str) {
        self.commands
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }

    /// Closes standard input.
    pub async fn close_input(&mut self) {
        self.commands.shutdown().await.unwrap();
    }

    async fn next_event(&mut self) -> Option<Value> {
        match tokio::time::timeout(DEADLINE, self.events.next_line()).await {
            Ok(Ok(Some(line))) => Some(
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}")),
            ),
            Ok(Ok(None)) | Ok(Err(_)) => None,
            Err(_) => panic!(
                "{}: no event within {DEADLINE:?}; backlog {:?}",
                self.nick, self.backlog
            ),
        }
    }

    /// Waits for the first event named `name` that `pred` accepts; earlier
    /// events are kept for later `expect`s.
    pub async fn expect(&mut self, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self
            .backlog
            .iter()
            .position(|e| e["event"] == name && pred(e))
        {
            return self.backlog.remove(i).unwrap();
        }
        loop {
            let Some(e) = self.next_event().await else {
                panic!(
                    "{}: events ended waiting for {name}; backlog {:?}",
                    self.nick, self.backlog
                );
            };
            if e["event"] == name && pred(&e) {
                return e;
            }
            self.backlog.push_back(e);
        }
    }

    /// Sends `sync` and returns every event before its answer (backlog included).
    pub async fn sync(&mut self) -> Vec<Value> {
        self.sync_n += 1;
        let token = format!("t{}", self.sync_n);
        self.send(&format!("sync {token}")).await;
        let mut out: Vec<Value> = self.backlog.drain(..).collect();
        loop {
            let Some(e) = self.next_event().await else {
                panic!("{}: events ended waiting for sync", self.nick);
            };
            if e["event"] == "sync" && e["token"] == token.as_str() {
                return out;
            }
            out.push(e);
        }
    }

    /// Sends `quit` and waits for the exit status.
    pub async fn quit(mut self) -> Exit {
        self.send("quit").await;
        self.wait().await
    }

    /// Waits for the run to end (draining events).
    pub async fn wait(mut self) -> Exit {
        let drain = async { while let Ok(Some(_)) = self.events.next_line().await {} };
        let _ = tokio::time::timeout(DEADLINE, drain).await;
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("the client did not exit")
            .unwrap()
    }
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
