//! The bounds of §17 act, and other clients are unaffected: slow reader ([LIM-1]),
//! flood ([LIM-2]).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Client, TestServer};
use reference_server::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lim_1_slow_reader_is_cut_off_and_others_unaffected() {
    let s = TestServer::start(Config {
        max_outbound_bytes: 256 * 1024,
        rate_burst: 0,
        // Long enough for the slow reader to take its last line in this test.
        linger: Duration::from_secs(30),
        ..common::quick()
    })
    .await;
    // The slow reader never reads; shrink its receive buffer so the bound is reached soon.
    let slow_sock = tokio::net::TcpSocket::new_v4().unwrap();
    slow_sock.set_recv_buffer_size(4096).unwrap();
    let slow_stream = slow_sock.connect(s.addr).await.unwrap();
    let mut slow = Client::from_stream(slow_stream);
    slow.register("slow", 5000, None).await;
    let (mut fast, _) = s.registered("fast", 5001).await;
    let (mut talker, _) = s.registered("talker", 5002).await;
    fast.expect("UPDATE:JOIN:talker:127.0.0.1:5002").await;
    let text = "x".repeat(1000);
    let line = format!("BROADCAST:talker:1000:{text}\r\n");
    let started = Instant::now();
    // Batches of 50 broadcasts of ~1 KiB until the slow reader is cut off (64 KiB plus
    // socket buffers), then a few more to show the others go on.
    let mut rounds_after = None;
    for round in 0..200 {
        talker.raw(line.repeat(50).as_bytes()).await;
        for _ in 0..50 {
            let mut echo = talker.line().await;
            if echo.starts_with("UPDATE:LEAVE:slow:") {
                echo = talker.line().await;
            }
            assert_eq!(echo.len(), line.len() - 2);
            loop {
                let l = fast.line().await;
                if l.starts_with("UPDATE:LEAVE:slow:") {
                    rounds_after = Some(round + 5);
                    continue;
                }
                assert!(
                    l.starts_with("BROADCAST:talker:1000:"),
                    "round {round}: {l}"
                );
                break;
            }
        }
        if rounds_after == Some(round) {
            break;
        }
    }
    assert!(rounds_after.is_some(), "the slow reader was never cut off");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "others were delayed"
    );
    // The slow reader's stream ends with the reason, after whole lines only.
    let mut last = String::new();
    while let Some(l) = slow.try_line().await {
        last = l;
    }
    common::check_err(&last, "SLOW_READER");
    drop((fast, talker, slow));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lim_2_flood_closed_others_unaffected() {
    let s = TestServer::start(Config {
        rate_burst: 200,
        rate_per_sec: 100,
        ..common::quick()
    })
    .await;
    let (mut calm, _) = s.registered("calm", 5000).await;
    let (mut flood, _) = s.registered("flood", 5001).await;
    calm.expect("UPDATE:JOIN:flood:127.0.0.1:5001").await;
    let burst = "PING:f\r\n".repeat(1000);
    flood.raw(burst.as_bytes()).await;
    let mut pongs = 0;
    let last = loop {
        let l = flood.line().await;
        if l == "PONG:f" {
            pongs += 1;
        } else {
            break l;
        }
    };
    assert!((150..1000).contains(&pongs), "{pongs} pongs");
    common::check_err(&last, "FLOOD");
    flood.expect_closed().await;
    calm.expect("UPDATE:LEAVE:flood:127.0.0.1:5001").await;
    calm.send("BROADCAST:calm:2:ok").await;
    calm.expect("BROADCAST:calm:2:ok").await;
    s.stop().await;
}
