//! The reference server run in-process (reference_server::run on its own runtime), as the
//! default server target and, with one deliberate rule-break each, as the broken servers of
//! tests/broken_servers.rs.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use conformance::profile::Profile;
use conformance::target::{InProcessServer, RunningServer, ServerKind};
use reference_server::{Config, DbPath, Fault, Faults};

/// The reference server and the profiles it claims (all of the server's).
#[allow(dead_code)]
pub fn server() -> (ServerKind, BTreeSet<Profile>) {
    (
        ServerKind::InProcess(Arc::new(Reference(Faults::NONE))),
        Profile::SERVER.into_iter().collect(),
    )
}

/// The reference server with one deliberate rule-break (feature `faults`).
#[allow(dead_code)]
pub fn broken(fault: Fault) -> (ServerKind, BTreeSet<Profile>) {
    (
        ServerKind::InProcess(Arc::new(Reference(Faults::from(fault)))),
        Profile::SERVER.into_iter().collect(),
    )
}

/// The configuration the suite runs it with: the defaults of PROTOCOL.md §17, but
/// short keepalive/idle/partial-line timers (so the slow cases run in seconds) and a
/// connection limit the LIM-3 case can reach.
fn config(db: Option<&Path>, faults: Faults) -> Config {
    Config {
        faults,
        db: db.map_or(DbPath::Memory, |p| DbPath::File(p.to_path_buf())),
        keepalive: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(5),
        partial_line_timeout: Duration::from_secs(2),
        max_connections: 200,
        ..Config::default()
    }
}

#[derive(Debug)]
struct Reference(Faults);

impl InProcessServer for Reference {
    fn name(&self) -> String {
        let faults: Vec<&str> = self.0.iter().map(|f| f.name()).collect();
        format!(
            "reference-server (in-process: reference_server::run, keepalive 2 s, idle 5 s, \
             partial line 2 s, 200 connections{})",
            if faults.is_empty() {
                String::new()
            } else {
                format!("; BROKEN ON PURPOSE: {}", faults.join(", "))
            }
        )
    }

    fn start(&self, db: Option<&Path>) -> Result<Box<dyn RunningServer>, String> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
        let addr = std_listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot make the listener non-blocking: {e}"))?;
        let config = config(db, self.0);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let thread = std::thread::Builder::new()
            .name(format!("reference-server {addr}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("cannot start a runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("listener: {e}")));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let shutdown = async move {
                        let _ = stop_rx.await;
                    };
                    if let Err(e) = reference_server::run(listener, config, shutdown).await {
                        eprintln!("reference server at {addr} stopped: {e}");
                    }
                });
            })
            .map_err(|e| format!("cannot spawn the server thread: {e}"))?;
        ready_rx
            .recv()
            .map_err(|_| "the server thread ended before it started".to_owned())??;
        Ok(Box::new(Running {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }))
    }
}

#[derive(Debug)]
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer for Running {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn stop(mut self: Box<Self>) {
        self.shutdown();
    }
}

impl Running {
    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}
