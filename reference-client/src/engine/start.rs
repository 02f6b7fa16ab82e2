//! Starting a run: connect to the server (hybrid), bind the UDP socket and the
//! peer listener, load the stores, send REGISTER or connect to bootstrap peers.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use spec::machine::client::ClientMachine;
use spec::machine::peer::TicketBook;
use spec::{Address, Ip, Port};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use super::{Engine, ServerLink};
use crate::config::{ClientConfig, Mode};
use crate::events::Event;
use crate::net::pumps::{self, Link};
use crate::net::{NetInput, NetSender};
use crate::store::blocks::Blocks;
use crate::store::outbox::Outbox;
use crate::store::seen::SeenLog;
use crate::store::tokens::Tokens;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The server cannot be reached (exit status 1).
    #[error("cannot reach the server at {addr}: {reason}")]
    Unreachable {
        /// The address tried.
        addr: String,
        /// Why.
        reason: String,
    },
    /// A local resource failed: a port to bind, the data directory.
    #[error("{0}")]
    Local(String),
}

impl Engine {
    /// Starts a run: everything is bound and connected, REGISTER is sent (hybrid)
    /// or the listener is up and bootstrap peers are being dialled (serverless).
    pub async fn start(cfg: ClientConfig, net_tx: NetSender) -> Result<Engine, StartError> {
        let local = |what: &str, e: std::io::Error| StartError::Local(format!("{what}: {e}"));
        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
            StartError::Local(format!("data directory {}: {e}", cfg.data_dir.display()))
        })?;
        let tokens = Tokens::load(&cfg.data_dir).map_err(|e| local("tokens", e))?;
        let outbox = Outbox::load(&cfg.data_dir).map_err(|e| local("outbox", e))?;
        let own = cfg.nick.clone();

        let (server_stream, local_ip) = match &cfg.mode {
            Mode::Hybrid { server } => {
                let connect = TcpStream::connect(server.as_str());
                let stream = match tokio::time::timeout(cfg.connect_timeout, connect).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        return Err(StartError::Unreachable {
                            addr: server.clone(),
                            reason: e.to_string(),
                        });
                    }
                    Err(_) => {
                        return Err(StartError::Unreachable {
                            addr: server.clone(),
                            reason: "timed out".to_owned(),
                        });
                    }
                };
                let _ = stream.set_nodelay(true);
                // The IP this host uses towards the server is the one peers can
                // reach (127.0.0.1 when the server is on loopback, A.1).
                let ip = stream
                    .local_addr()
                    .map(|a| a.ip())
                    .map_err(|e| local("server connection", e))?;
                (Some(stream), ip)
            }
            Mode::Serverless { .. } => (None, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        };

        let listen_addr = cfg.listen.unwrap_or_else(|| SocketAddr::new(local_ip, 0));
        let listener = TcpListener::bind(listen_addr)
            .await
            .map_err(|e| local(&format!("listen on {listen_addr}"), e))?;
        let listen_port = listener
            .local_addr()
            .map_err(|e| local("listener", e))?
            .port();
        let mut background = vec![pumps::spawn_acceptor(listener, net_tx.clone())];

        let blocks_scope = match &cfg.mode {
            Mode::Hybrid { server } => format!("{server} {}", own.key()),
            Mode::Serverless { .. } => format!("serverless {}", own.key()),
        };
        let blocks = Blocks::load(&cfg.data_dir, blocks_scope).map_err(|e| local("blocks", e))?;

        let mut engine = Engine {
            cfg: cfg.clone(),
            own: own.clone(),
            origin: Instant::now(),
            net_tx: net_tx.clone(),
            events: Vec::new(),
            confirms: Vec::new(),
            server: None,
            relay_seen: None,
            tokens,
            users: BTreeMap::new(),
            registered: false,
            udp: None,
            udp_port: 0,
            listen_port,
            background: Vec::new(),
            tickets: TicketBook::new(),
            invites: TicketBook::new(),
            held_offers: Vec::new(),
            pending_direct: HashMap::new(),
            ticket_requests: HashMap::new(),
            next_sid: 1,
            sessions: BTreeMap::new(),
            dials: HashMap::new(),
            peer_seen: HashMap::new(),
            peer_showing: BTreeSet::new(),
            last_peer_id: HashMap::new(),
            outbox,
            blocks,
            next_cmd: 1,
            undone: BTreeSet::new(),
            syncs: VecDeque::new(),
            request_cmds: HashMap::new(),
            quit_deadline: None,
            exit: None,
            writers: Vec::new(),
        };

        match (&cfg.mode, server_stream) {
            (Mode::Hybrid { server }, Some(stream)) => {
                let udp = UdpSocket::bind(SocketAddr::new(local_ip, cfg.udp_port))
                    .await
                    .map_err(|e| local(&format!("UDP port {}", cfg.udp_port), e))?;
                let udp_port = udp.local_addr().map_err(|e| local("UDP", e))?.port();
                let udp = Arc::new(udp);
                background.push(pumps::spawn_udp(udp.clone(), net_tx.clone()));
                engine.udp = Some(udp);
                engine.udp_port = udp_port;

                let ip = Ip::from(local_ip);
                let port =
                    Port::new(udp_port).map_err(|_| StartError::Local("UDP port 0".to_owned()))?;
                let token = engine.tokens.get(server, &own);
                let mut machine = ClientMachine::new(own.clone(), Address::new(ip, port), token);
                let seen = SeenLog::open(&cfg.data_dir, &format!("relay {server} {}", own.key()))
                    .map_err(|e| local("shown ids", e))?;
                machine.preload_shown(seen.ids());
                engine.relay_seen = Some(seen);
                machine.register(None, None);
                let link = Link::start(stream, net_tx.clone(), NetInput::Server);
                engine.server = Some(ServerLink {
                    machine,
                    link,
                    key: server.clone(),
                    open: true,
                });
            }
            (Mode::Serverless { peers }, _) => {
                engine.emit(Event::Ready {
                    nick: own.to_string(),
                    port: listen_port,
                });
                for p in peers.clone() {
                    engine.dial_serverless(p, None);
                }
            }
            (Mode::Hybrid { .. }, None) => {
                return Err(StartError::Local("no server connection".to_owned()));
            }
        }
        engine.background = background;
        engine.pump();
        Ok(engine)
    }
}
