//! The listening socket, with a backlog sized for a storm of connections.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Connections the kernel may hold for the accept loop before it drops SYNs (the
/// kernel caps it at `net.core.somaxconn`, 4096 by default since Linux 5.4).
///
/// tokio's `TcpListener::bind` asks for 128, std's value. While thousands of clients
/// register at once, the accept loop waits its turn behind the connection tasks that
/// the registrations wake, 128 pending connections filled the queue, and every SYN
/// dropped then cost its client a retransmit 1 s later (then 3 s, 7 s): setting up
/// 10,000 clients took 17–58 s from run to run (PERFORMANCE.md §15).
pub const BACKLOG: u32 = 4096;

/// Binds `addr` and listens with [`BACKLOG`]; call inside a tokio runtime.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As tokio's `bind` does: a restarted server can bind its port again at once.
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::net::TcpStream;
    use tokio::task::JoinSet;

    /// The backlog the kernel grants: ours, capped by `net.core.somaxconn`.
    fn granted() -> usize {
        let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(BACKLOG as usize);
        somaxconn.min(BACKLOG as usize)
    }

    /// What broke: with tokio's backlog of 128, the 130th connection waiting for
    /// `accept` had its SYN dropped, and its `connect` hung until a retransmit found
    /// room. Here nobody accepts at all, so with 128 the later connects never finish.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connects_beyond_128_waiting_for_accept_are_not_dropped() {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let n = granted().min(300);
        let mut connects = JoinSet::new();
        for _ in 0..n {
            connects.spawn(TcpStream::connect(addr));
        }
        let mut streams = Vec::with_capacity(n);
        let all = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(r) = connects.join_next().await {
                streams.push(r.unwrap().unwrap());
            }
        })
        .await;
        assert!(
            all.is_ok(),
            "only {} of {n} connects finished while nobody accepted",
            streams.len()
        );
        // And every one of them is there to accept.
        for _ in 0..n {
            tokio::time::timeout(Duration::from_secs(10), listener.accept())
                .await
                .expect("a pending connection to accept")
                .unwrap();
        }
    }
}
