//! Automation mode (`PROTOCOL.md` Appendix A): commands on one stream, one JSON
//! event per line on another. The binary uses stdin and stdout; tests can run it
//! in-process over any async reader and writer.

use std::time::Instant;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::commands::{self, Command, Dialect};
use crate::config::{ClientConfig, Exit};
use crate::engine::{Engine, StartError};
use crate::events::Event;
use crate::net::NetReceiver;

/// Runs a client in automation mode until `quit`, the end of `commands`, the
/// loss of the server, or a refused registration; returns the exit status of
/// [AUT-4].
pub async fn run_automation<R, W>(config: ClientConfig, commands: R, mut events: W) -> Exit
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (net_tx, mut net_rx) = crate::net::channel();
    let mut engine = match Engine::start(config, net_tx).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("{e}");
            let code = match e {
                StartError::Unreachable { .. } => "UNREACHABLE",
                StartError::Local(_) => "LOCAL",
            };
            let _ = write_events(&mut events, &[Event::error(code, e.to_string())]).await;
            return Exit::Network;
        }
    };
    let mut lines = commands.lines();
    let mut input_open = true;
    loop {
        if flush(&mut engine, &mut events).await.is_err() {
            // Nobody reads the events any more: nothing more to do.
            engine.on_end_of_input();
        }
        if let Some(exit) = engine.exit() {
            let _ = flush(&mut engine, &mut events).await;
            engine.shutdown().await;
            return exit;
        }
        let deadline = engine.next_deadline();
        tokio::select! {
            biased;
            Some(input) = net_rx.recv() => engine.on_net(input),
            () = sleep_until(deadline) => engine.on_timer(),
            line = lines.next_line(), if input_open => match line {
                Ok(Some(line)) => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let cmd = commands::parse(&line, Dialect::Automation);
                    if matches!(cmd, Ok(Command::Sync(_))) {
                        settle(&mut engine, &mut net_rx).await;
                    }
                    engine.on_command(cmd);
                }
                Ok(None) | Err(_) => {
                    input_open = false;
                    engine.on_end_of_input();
                }
            },
        }
    }
}

/// Before answering `sync`: let the reader tasks hand over what already
/// arrived, and handle it ([AUT-2]: events of lines received before the command).
async fn settle(engine: &mut Engine, net_rx: &mut NetReceiver) {
    for _ in 0..3 {
        tokio::task::yield_now().await;
        while let Ok(input) = net_rx.try_recv() {
            engine.on_net(input);
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// Writes the events produced so far, then lets the engine record and
/// acknowledge what they showed ([CLI-5], Appendix A.2: show, record, ACK).
async fn flush<W: AsyncWrite + Unpin>(engine: &mut Engine, out: &mut W) -> std::io::Result<()> {
    loop {
        let events = engine.take_events();
        if events.is_empty() {
            return Ok(());
        }
        if let Err(e) = write_events(out, &events).await {
            engine.not_shown();
            return Err(e);
        }
        engine.confirm_shown();
    }
}

async fn write_events<W: AsyncWrite + Unpin>(out: &mut W, events: &[Event]) -> std::io::Result<()> {
    let mut buf = Vec::new();
    for e in events {
        if let Some(json) = e.to_json() {
            buf.extend_from_slice(json.as_bytes());
            buf.push(b'\n');
        }
    }
    if !buf.is_empty() {
        out.write_all(&buf).await?;
        out.flush().await?;
    }
    Ok(())
}
