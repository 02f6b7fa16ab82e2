//! The generator against a tiny in-test relay, so that `cargo test` keeps it working
//! without the reference server (the `smoke` subcommand covers the real one).
//!
//! The relay speaks just enough p2pchat: REGISTER → UPDATE:JOIN to all and LIST;
//! BROADCAST → the same line to everyone registered; SEND → SENT, and MSG to the target;
//! PING → PONG. One thread, one runtime; all lines through one task per connection.
//!
//! A second relay speaks just enough IRC for the round trip: registration (held
//! until `CAP END` once `CAP` began), `JOIN`, `PRIVMSG` to a nick or to the channel,
//! and IRCv3 `echo-message`, which it grants or refuses (`NAK`) as told.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bench::proto::Proto;
use bench::target::{Target, TargetArgs};
use bench::workload::Timing;
use bench::workload::fanout::{self, FanoutArgs};
use bench::workload::rtt::{self, RttArgs};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

type Tx = mpsc::UnboundedSender<Vec<u8>>;
type Peers = Arc<Mutex<HashMap<String, Tx>>>;

/// Runs a relay on a thread of its own, `serve` on each connection it accepts.
fn start<F, Fut>(mut serve: F) -> SocketAddr
where
    F: FnMut(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock));
            }
        });
    });
    rx.recv().unwrap()
}

/// The connection's lines, and a sender whose buffers a task of its own writes.
fn split(sock: TcpStream) -> (Lines<BufReader<OwnedReadHalf>>, Tx) {
    let (r, mut w) = sock.into_split();
    let (tx, mut out) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(async move {
        while let Some(buf) = out.recv().await {
            if w.write_all(&buf).await.is_err() {
                return;
            }
        }
    });
    (BufReader::new(r).lines(), tx)
}

fn start_relay() -> SocketAddr {
    let peers: Peers = Arc::default();
    let mut next_id = 0u64;
    start(move |sock| {
        next_id += 1;
        serve(sock, peers.clone(), next_id * 1_000_000)
    })
}

async fn serve(sock: TcpStream, peers: Peers, mut msg_id: u64) {
    let (mut lines, tx) = split(sock);
    let mut me: Option<String> = None;
    while let Ok(Some(line)) = lines.next_line().await {
        let fields: Vec<&str> = line.splitn(4, ':').collect();
        let send_all = |l: String| {
            for p in peers.lock().unwrap().values() {
                let _ = p.send(format!("{l}\r\n").into_bytes());
            }
        };
        match fields[0] {
            "REGISTER" => {
                let nick = fields[1].to_owned();
                peers.lock().unwrap().insert(nick.clone(), tx.clone());
                send_all(format!("UPDATE:JOIN:{}", &line["REGISTER:".len()..]));
                let _ = tx.send(b"LIST:x:127.0.0.1:1\r\n".to_vec());
                me = Some(nick);
            }
            "BROADCAST" => send_all(line.clone()),
            "SEND" => {
                msg_id += 1;
                let _ = tx.send(format!("SENT:{msg_id}:LIVE\r\n").into_bytes());
                let from = me.clone().unwrap_or_default();
                if let Some(p) = peers.lock().unwrap().get(fields[1]) {
                    let _ = p.send(
                        format!(
                            "MSG:{msg_id}:{from}:1763713300:{}:{}\r\n",
                            fields[2], fields[3]
                        )
                        .into_bytes(),
                    );
                }
            }
            "PING" => {
                let _ = tx.send(format!("PONG:{}\r\n", fields[1]).into_bytes());
            }
            _ => {}
        }
    }
    if let Some(n) = me {
        peers.lock().unwrap().remove(&n);
    }
}

/// An IRC relay that grants `echo-message` when `echo_ok`, else refuses it.
fn start_irc_relay(echo_ok: bool) -> SocketAddr {
    let (peers, channel): (Peers, Peers) = Default::default();
    start(move |sock| serve_irc(sock, peers.clone(), channel.clone(), echo_ok))
}

async fn serve_irc(sock: TcpStream, peers: Peers, channel: Peers, echo_ok: bool) {
    let (mut lines, tx) = split(sock);
    let (mut nick, mut user, mut cap_open, mut echo, mut welcomed) =
        (None::<String>, false, false, false, false);
    while let Ok(Some(line)) = lines.next_line().await {
        let (cmd, rest) = line.split_once(' ').unwrap_or((&line, ""));
        match cmd {
            "CAP" if rest.starts_with("REQ") => {
                cap_open = true;
                let verdict = if echo_ok { "ACK" } else { "NAK" };
                echo = echo_ok;
                let _ = tx.send(format!(":relay CAP * {verdict} :echo-message\r\n").into_bytes());
            }
            "CAP" if rest == "END" => cap_open = false,
            "NICK" => nick = Some(rest.to_owned()),
            "USER" => user = true,
            "JOIN" => {
                let n = nick.clone().unwrap_or_default();
                channel.lock().unwrap().insert(n.clone(), tx.clone());
                let _ = tx.send(format!(":relay 366 {n} #bench :End\r\n").into_bytes());
            }
            "PRIVMSG" => {
                let from = nick.clone().unwrap_or_default();
                let (to, _) = rest.split_once(' ').unwrap_or((rest, ""));
                let relayed = format!(":{from}!u@h PRIVMSG {rest}\r\n").into_bytes();
                let targets = if to == "#bench" { &channel } else { &peers };
                for (n, p) in targets.lock().unwrap().iter() {
                    if (to == "#bench" && *n != from) || n == to {
                        let _ = p.send(relayed.clone());
                    }
                }
                if echo {
                    let _ = tx.send(relayed);
                }
            }
            _ => {}
        }
        if !welcomed
            && !cap_open
            && user
            && let Some(n) = &nick
        {
            welcomed = true;
            peers.lock().unwrap().insert(n.clone(), tx.clone());
            let _ = tx.send(format!(":relay 001 {n} :hi\r\n").into_bytes());
        }
    }
    if let Some(n) = nick {
        peers.lock().unwrap().remove(&n);
        channel.lock().unwrap().remove(&n);
    }
}

fn target(addr: SocketAddr) -> (Target, TargetArgs) {
    target_of(Proto::P2pchat, addr)
}

fn target_of(proto: Proto, addr: SocketAddr) -> (Target, TargetArgs) {
    let args = TargetArgs {
        proto,
        addr: Some(addr),
        pid: Some(std::process::id()),
        server_bin: None,
        server_args: Vec::new(),
        server_stderr: false,
        label: Some("relay".into()),
        threads: 2,
    };
    (Target::open(&args).unwrap(), args)
}

fn timing() -> Timing {
    Timing {
        warmup: 0.2,
        duration: 0.6,
        setup_timeout: 20.0,
        concurrency: 16,
        connect_concurrency: 8,
        sample_ms: 100,
    }
}

#[test]
fn fanout_counts_every_delivery_of_every_client() {
    let (t, args) = target(start_relay());
    let r = fanout::run(
        &t,
        &FanoutArgs {
            target: args,
            clients: 12,
            senders: 3,
            window: 4,
            rate: None,
            timing: timing(),
        },
    )
    .unwrap();
    assert_eq!(r.clients_ready, 12);
    assert!(r.deliveries > 0, "{r:?}");
    // Every message sent reaches the 12 clients (echo included); the window's edges
    // blur the ratio a little.
    let ratio = r.deliveries_per_s / r.sent_per_s;
    assert!(
        (9.0..=15.0).contains(&ratio),
        "deliveries per message {ratio}"
    );
    let lat = r.latency_us.unwrap();
    assert!(lat.p50 > 0.0 && lat.p99 >= lat.p50);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let line = serde_json::to_string(&r).unwrap();
    assert!(line.starts_with("{\"workload\":\"fanout\""));
}

#[test]
fn fanout_at_a_rate_is_paced_and_reported_apart() {
    let (t, args) = target(start_relay());
    let (senders, rate) = (3, 200.0);
    let r = fanout::run(
        &t,
        &FanoutArgs {
            target: args,
            clients: 12,
            senders,
            window: 4,
            rate: Some(rate),
            timing: timing(),
        },
    )
    .unwrap();
    assert_eq!(r.workload, "fanout-rate");
    assert_eq!(r.rate, Some(rate));
    // A sender's allowance is `rate` per second since the start, plus one message.
    let most = senders as f64 * (rate * (r.warmup_s + r.duration_s) + 1.0) / r.duration_s;
    assert!(
        r.sent_per_s <= most,
        "sent {}/s, at most {most}",
        r.sent_per_s
    );
    assert!(r.sent_per_s >= 0.5 * senders as f64 * rate, "{r:?}");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // Both processes are this one here; what matters is that the readings exist.
    assert!(r.gen_wait.is_some() && r.server_wait.is_some(), "{r:?}");
}

fn p2p_rtt(pair_threads: u8) -> bench::result::RunResult {
    let (t, args) = target(start_relay());
    rtt::run(
        &t,
        &RttArgs {
            target: args,
            bg_clients: 5,
            bg_senders: 1,
            bg_window: 2,
            bg_rate: 200.0,
            pair: rtt::Pair::Members,
            rate: None,
            receipt: false,
            pair_threads,
            timing: timing(),
        },
    )
    .unwrap()
}

#[test]
fn round_trip_sends_one_at_a_time_and_acknowledges() {
    for pair_threads in [1, 2] {
        let r = p2p_rtt(pair_threads);
        let rt = r.rtt_us.unwrap();
        assert!(rt.count > 10, "{r:?}");
        assert_eq!(r.pair.as_deref(), Some("members"));
        assert_eq!(r.pair_threads, Some(pair_threads));
        assert!(rt.p50 > 0.0);
        assert!(r.deliveries > 0);
        // A SENT for every SEND; the window's edges blur the ratio a little. On two
        // threads, A's slot is completed from B's thread.
        let receipts = r.receipts_per_msg.unwrap();
        assert!(
            (0.9..=1.1).contains(&receipts),
            "{pair_threads} thread(s): receipts per message {receipts}"
        );
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
}

fn irc_rtt(addr: SocketAddr, receipt: bool) -> anyhow::Result<bench::result::RunResult> {
    let (t, args) = target_of(Proto::Irc, addr);
    rtt::run(
        &t,
        &RttArgs {
            target: args,
            bg_clients: 4,
            bg_senders: 1,
            bg_window: 2,
            bg_rate: 200.0,
            pair: rtt::Pair::Members,
            rate: None,
            receipt,
            pair_threads: 1,
            timing: timing(),
        },
    )
}

#[test]
fn irc_echo_message_is_a_receipt_not_a_delivery() {
    let addr = start_irc_relay(true);
    let plain = irc_rtt(addr, false).unwrap();
    assert_eq!(plain.workload, "rtt");
    assert_eq!(plain.receipts_per_msg, Some(0.0), "{plain:?}");
    let r = irc_rtt(addr, true).unwrap();
    assert_eq!(r.workload, "rtt-receipt");
    let rt = r.rtt_us.unwrap();
    assert!(rt.count > 10, "{r:?}");
    // Each echo is counted once as a receipt, and never as B's delivery: a private
    // message is counted once, at B (else the count would be about twice the receipts).
    let receipts = r.receipts_per_msg.unwrap();
    assert!(
        (0.9..=1.1).contains(&receipts),
        "receipts per message {receipts}"
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[test]
fn irc_without_echo_message_refuses_a_receipt_run() {
    let addr = start_irc_relay(false);
    let r = irc_rtt(addr, true);
    let failed = match &r {
        Err(_) => true,
        Ok(r) => r.clients_ready < r.clients,
    };
    assert!(failed, "{r:?}");
}

#[test]
fn non_loopback_targets_are_refused() {
    let mut args = target(start_relay()).1;
    args.addr = Some("192.0.2.1:1337".parse().unwrap());
    assert!(Target::open(&args).is_err());
}
