//! The per-connection state machine of a server (§7, §17, §19).
//!
//! One [`ServerConn`] per client connection. It owns what a server decides about a
//! connection without looking at other connections: its state (connected, registered,
//! closed), the answers to bad lines (framing and decode errors, §2.1 and §6), the state
//! gate ([GEN-2], [REG-6]), `PING`→`PONG` ([KA-1]), the keepalive, idle and partial-line
//! timers ([KA-3], [LIM-4]) and the rate limit ([LIM-2]).
//!
//! It is sans-IO: the driver frames the bytes (see the crate's framer), hands each line
//! (or "too long") to [`ServerConn::on_line`] / [`ServerConn::on_too_long`] (or each
//! checked line, from `Framer::feed_checked`, to [`ServerConn::on_checked_ref`]), and forwards
//! the [`Step::Request`]s to whatever owns the registry. Time is a [`Duration`] since an
//! origin the driver picks; there is no clock here.

use std::time::Duration;

use crate::borrowed::ClientLineRef;
use crate::{CheckedLine, ClientLine, DecodeError, ErrorCode, PingToken, ServerLine};

/// The bounds and timers of one connection (§17). The defaults are the reference
/// server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnLimits {
    /// Send `PING` after this long with nothing received ([KA-3]; default 30 s).
    /// `None` disables keepalive pings.
    pub keepalive: Option<Duration>,
    /// Close with `ERR:TIMEOUT` after this long with nothing received ([KA-3];
    /// default 90 s). `None` disables the idle timeout.
    pub idle_timeout: Option<Duration>,
    /// Close with `ERR:TIMEOUT` when a line stays unfinished this long ([LIM-4];
    /// default 30 s). `None` disables it.
    pub partial_line_timeout: Option<Duration>,
    /// Lines allowed in a burst ([LIM-2]; default 200). `0` disables the rate limit.
    pub rate_burst: u32,
    /// Lines per second sustained ([LIM-2]; default 100).
    pub rate_per_sec: u32,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            keepalive: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(90)),
            partial_line_timeout: Some(Duration::from_secs(30)),
            rate_burst: 200,
            rate_per_sec: 100,
        }
    }
}

/// The state of a server connection (§7, §19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// TCP open, not registered.
    Connected,
    /// A nick is bound to the connection.
    Registered,
    /// Closed (or closing: the last line has been decided).
    Closed,
}

/// What the driver does with one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to send (a `PONG`, a line on a closed connection).
    Nothing,
    /// Send this reply on the connection; the connection goes on.
    Reply(ServerLine),
    /// A request that needs the registry (the hub): it passed the state gate.
    /// `QUIT` is not one of these: it is a [`Step::Close`] with `BYE`.
    Request(ClientLine),
    /// Send this last line and close the connection ([ERR-2], [QUIT-1]).
    /// When the connection was registered, [LEA-1] applies.
    Close(ServerLine),
}

/// [`Step`] with the request borrowed from its line ([`ServerConn::on_line_ref`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRef<'l> {
    /// A request that needs the registry (the hub): it passed the state gate.
    Request(ClientLineRef<'l>),
    /// Anything else, as [`ServerConn::on_line`] answers it.
    Step(Step),
}

/// What the state gate looks at in a request.
enum Class {
    /// `PING`, answered here with its token.
    Ping(PingToken),
    Pong,
    Quit,
    Register,
    /// Every other request.
    Other,
}

impl Class {
    fn of(cmd: ClientLineRef<'_>) -> Class {
        match cmd {
            ClientLineRef::Ping { token } => Class::Ping(token.into_owned()),
            ClientLineRef::Pong { .. } => Class::Pong,
            ClientLineRef::Quit => Class::Quit,
            ClientLineRef::Register { .. } => Class::Register,
            _ => Class::Other,
        }
    }
}

/// What a timer asks the driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerStep {
    /// Send this keepalive `PING` ([KA-3]).
    Ping(ServerLine),
    /// Send this last line (`ERR:TIMEOUT`) and close ([KA-3], [LIM-4]).
    Close(ServerLine),
}

/// A token bucket, refilled continuously; time passed in.
#[derive(Debug, Clone)]
struct Bucket {
    /// Tokens, in millionths of a line.
    micro_tokens: u64,
    last: Duration,
}

const MICRO: u64 = 1_000_000;

/// The sans-IO state of one server connection.
#[derive(Debug, Clone)]
pub struct ServerConn {
    limits: ConnLimits,
    state: ConnState,
    /// When the last bytes arrived.
    last_activity: Duration,
    /// Whether a keepalive PING went out since `last_activity`.
    ping_outstanding: bool,
    /// Sequence number of the next keepalive PING token.
    ping_seq: u64,
    /// Since when a line has been left unfinished, if one is.
    partial_since: Option<Duration>,
    bucket: Bucket,
}

impl ServerConn {
    /// A new connection, accepted at `now`.
    pub fn new(limits: ConnLimits, now: Duration) -> ServerConn {
        let micro_tokens = u64::from(limits.rate_burst) * MICRO;
        ServerConn {
            limits,
            state: ConnState::Connected,
            last_activity: now,
            ping_outstanding: false,
            ping_seq: 1,
            partial_since: None,
            bucket: Bucket {
                micro_tokens,
                last: now,
            },
        }
    }

    /// The connection's state.
    pub fn state(&self) -> ConnState {
        self.state
    }

    /// Whether a nick is bound to the connection.
    pub fn is_registered(&self) -> bool {
        self.state == ConnState::Registered
    }

    /// The hub accepted this connection's `REGISTER` ([REG-1]).
    pub fn set_registered(&mut self) {
        if self.state == ConnState::Connected {
            self.state = ConnState::Registered;
        }
    }

    /// The connection is closing or closed; later lines are ignored.
    pub fn set_closed(&mut self) {
        self.state = ConnState::Closed;
    }

    /// Bytes arrived at `now` (any bytes are a sign of life, [KA-3]);
    /// `partial` says whether the framer now holds an unfinished line ([LIM-4]).
    pub fn on_bytes(&mut self, now: Duration, partial: bool) {
        self.last_activity = now;
        self.ping_outstanding = false;
        match (partial, self.partial_since) {
            (true, None) => self.partial_since = Some(now),
            (false, _) => self.partial_since = None,
            (true, Some(_)) => {}
        }
    }

    /// Takes one line from the rate limit; `false` when the connection floods.
    fn take_token(&mut self, now: Duration) -> bool {
        if self.limits.rate_burst == 0 {
            return true;
        }
        let b = &mut self.bucket;
        let elapsed = now.saturating_sub(b.last);
        b.last = now.max(b.last);
        let refill = elapsed
            .as_micros()
            .saturating_mul(u128::from(self.limits.rate_per_sec));
        let cap = u64::from(self.limits.rate_burst) * MICRO;
        let refill = u64::try_from(refill).unwrap_or(u64::MAX);
        b.micro_tokens = b.micro_tokens.saturating_add(refill).min(cap);
        if b.micro_tokens >= MICRO {
            b.micro_tokens -= MICRO;
            true
        } else {
            false
        }
    }

    /// Counts a line against the rate limit; a flood closes the connection ([LIM-2]).
    fn admit(&mut self, now: Duration) -> Option<Step> {
        if self.state == ConnState::Closed {
            return Some(Step::Nothing);
        }
        if !self.take_token(now) {
            self.state = ConnState::Closed;
            return Some(Step::Close(ServerLine::error(
                ErrorCode::Flood,
                "too many lines; closing",
            )));
        }
        None
    }

    /// A line longer than `MAX_LINE` was discarded by the framer ([FRM-4]).
    pub fn on_too_long(&mut self, now: Duration) -> Step {
        if let Some(step) = self.admit(now) {
            return step;
        }
        Step::Reply(ServerLine::error(
            ErrorCode::LineTooLong,
            "line longer than 2048 octets",
        ))
    }

    /// One complete, non-empty line (without its terminator) arrived at `now`.
    pub fn on_line(&mut self, line: &[u8], now: Duration) -> Step {
        match self.on_line_ref(line, now) {
            StepRef::Request(cmd) => Step::Request(cmd.into_owned()),
            StepRef::Step(step) => step,
        }
    }

    /// [`ServerConn::on_line`] without the copies: a request that passes the state gate
    /// comes back borrowed from `line` (the driver of a relay hands a `BROADCAST` on
    /// as it is, and copies the rest with [`ClientLineRef::into_owned`]).
    pub fn on_line_ref<'l>(&mut self, line: &'l [u8], now: Duration) -> StepRef<'l> {
        self.on_checked_ref(CheckedLine::new(line), now)
    }

    /// [`ServerConn::on_line_ref`] of a line already put through §2.1 steps 1–3
    /// (by [`Framer::feed_checked`](crate::Framer::feed_checked)): the line, or
    /// the error it failed with, which is answered as a decode error is.
    pub fn on_checked_ref<'l>(
        &mut self,
        line: Result<CheckedLine<'l>, DecodeError>,
        now: Duration,
    ) -> StepRef<'l> {
        if let Some(step) = self.admit(now) {
            return StepRef::Step(step);
        }
        match line.and_then(ClientLineRef::decode_checked) {
            // [ERR-1], §2.1: every decode failure is answered and the connection survives.
            Err(e) => StepRef::Step(Step::Reply(ServerLine::error(e.code, e.reason))),
            Ok(cmd) => match self.gate(Class::of(cmd)) {
                None => StepRef::Request(cmd),
                Some(step) => StepRef::Step(step),
            },
        }
    }

    /// A decoded line: the state gate of §7, PING/PONG and QUIT.
    pub fn on_request(&mut self, cmd: ClientLine) -> Step {
        match self.gate(Class::of(cmd.as_ref())) {
            None => Step::Request(cmd),
            Some(step) => step,
        }
    }

    /// The state gate of §7, PING/PONG and QUIT, on what a request is; `None`: it
    /// passes to the hub.
    fn gate(&mut self, class: Class) -> Option<Step> {
        Some(match (self.state, class) {
            (ConnState::Closed, _) => Step::Nothing,
            // [KA-1] "PING:<t> MUST be answered with PONG:<t> ... in every state".
            (_, Class::Ping(token)) => Step::Reply(ServerLine::Pong { token }),
            // [GEN-1] "PONG and ACK are not requests: they get no reply".
            (_, Class::Pong) => Step::Nothing,
            // [QUIT-1] "QUIT MUST be answered with BYE, after which the server closes".
            (_, Class::Quit) => {
                self.state = ConnState::Closed;
                Step::Close(ServerLine::Bye)
            }
            (ConnState::Connected, Class::Register) => return None,
            // [GEN-2] "every other request MUST be answered with ERR:NOT_REGISTERED".
            (ConnState::Connected, Class::Other) => Step::Reply(ServerLine::error(
                ErrorCode::NotRegistered,
                "register first",
            )),
            // [REG-6] "A REGISTER on a registered connection MUST be answered with
            // ERR:ALREADY_REGISTERED".
            (ConnState::Registered, Class::Register) => Step::Reply(ServerLine::error(
                ErrorCode::AlreadyRegistered,
                "this connection is registered already",
            )),
            (ConnState::Registered, Class::Other) => return None,
        })
    }

    /// The earliest time at which [`ServerConn::on_timer`] has something to do.
    pub fn next_deadline(&self) -> Option<Duration> {
        if self.state == ConnState::Closed {
            return None;
        }
        let keepalive = match (self.limits.keepalive, self.ping_outstanding) {
            (Some(k), false) => Some(self.last_activity + k),
            _ => None,
        };
        let idle = self.limits.idle_timeout.map(|t| self.last_activity + t);
        let partial = self
            .partial_since
            .zip(self.limits.partial_line_timeout)
            .map(|(since, t)| since + t);
        [keepalive, idle, partial].into_iter().flatten().min()
    }

    /// Time has passed: `ERR:TIMEOUT` for an idle connection ([KA-3]) or an unfinished
    /// line ([LIM-4]), or a keepalive `PING` ([KA-3]).
    pub fn on_timer(&mut self, now: Duration) -> Option<TimerStep> {
        if self.state == ConnState::Closed {
            return None;
        }
        if let Some(t) = self.limits.idle_timeout
            && now >= self.last_activity + t
        {
            self.state = ConnState::Closed;
            return Some(TimerStep::Close(ServerLine::error(
                ErrorCode::Timeout,
                "nothing received for too long",
            )));
        }
        if let (Some(since), Some(t)) = (self.partial_since, self.limits.partial_line_timeout)
            && now >= since + t
        {
            self.state = ConnState::Closed;
            return Some(TimerStep::Close(ServerLine::error(
                ErrorCode::Timeout,
                "line left unfinished for too long",
            )));
        }
        if let Some(k) = self.limits.keepalive
            && !self.ping_outstanding
            && now >= self.last_activity + k
        {
            self.ping_outstanding = true;
            let token = format!("k{}", self.ping_seq);
            self.ping_seq += 1;
            return PingToken::new(&token)
                .ok()
                .map(|token| TimerStep::Ping(ServerLine::Ping { token }));
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Address, Ip, Nick, Port};

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn code(step: &Step) -> Option<&str> {
        match step {
            Step::Reply(ServerLine::Err { code, .. })
            | Step::Close(ServerLine::Err { code, .. }) => Some(code.as_str()),
            _ => None,
        }
    }

    fn register() -> ClientLine {
        ClientLine::Register {
            nick: Nick::new("alice").unwrap(),
            address: Address::new(Ip::new("127.0.0.1").unwrap(), Port::new(5000).unwrap()),
            token: None,
        }
    }

    #[test]
    fn gen_2_gate_before_registration() {
        let mut c = ServerConn::new(ConnLimits::default(), secs(0));
        assert_eq!(
            code(&c.on_request(ClientLine::List)),
            Some("NOT_REGISTERED")
        );
        assert!(matches!(c.on_request(register()), Step::Request(_)));
        c.set_registered();
        assert!(matches!(c.on_request(ClientLine::List), Step::Request(_)));
        assert_eq!(code(&c.on_request(register())), Some("ALREADY_REGISTERED"));
    }

    #[test]
    fn ka_1_ping_in_every_state_and_quit_closes() {
        let mut c = ServerConn::new(ConnLimits::default(), secs(0));
        let token = PingToken::new("abc").unwrap();
        assert_eq!(
            c.on_request(ClientLine::Ping {
                token: token.clone()
            }),
            Step::Reply(ServerLine::Pong { token })
        );
        assert_eq!(c.on_request(ClientLine::Quit), Step::Close(ServerLine::Bye));
        assert_eq!(c.state(), ConnState::Closed);
        assert_eq!(c.on_request(ClientLine::List), Step::Nothing);
    }

    #[test]
    fn lim_2_rate_limit() {
        let limits = ConnLimits {
            rate_burst: 3,
            rate_per_sec: 1,
            ..ConnLimits::default()
        };
        let mut c = ServerConn::new(limits, secs(0));
        for _ in 0..3 {
            assert!(matches!(c.on_too_long(secs(0)), Step::Reply(_)));
        }
        // One second refills one line.
        assert!(matches!(c.on_too_long(secs(1)), Step::Reply(_)));
        assert_eq!(code(&c.on_too_long(secs(1))), Some("FLOOD"));
        assert_eq!(c.state(), ConnState::Closed);
    }

    #[test]
    fn ka_3_keepalive_then_idle_timeout() {
        let limits = ConnLimits {
            keepalive: Some(secs(10)),
            idle_timeout: Some(secs(30)),
            partial_line_timeout: Some(secs(5)),
            ..ConnLimits::default()
        };
        let mut c = ServerConn::new(limits, secs(0));
        assert_eq!(c.next_deadline(), Some(secs(10)));
        assert_eq!(c.on_timer(secs(9)), None);
        assert!(matches!(c.on_timer(secs(10)), Some(TimerStep::Ping(_))));
        assert_eq!(c.next_deadline(), Some(secs(30)));
        c.on_bytes(secs(12), false);
        assert_eq!(c.next_deadline(), Some(secs(22)));
        assert!(matches!(c.on_timer(secs(22)), Some(TimerStep::Ping(_))));
        assert!(matches!(c.on_timer(secs(42)), Some(TimerStep::Close(_))));
        assert_eq!(c.next_deadline(), None);
    }

    #[test]
    fn lim_4_partial_line_timeout() {
        let limits = ConnLimits {
            keepalive: None,
            idle_timeout: None,
            partial_line_timeout: Some(secs(5)),
            ..ConnLimits::default()
        };
        let mut c = ServerConn::new(limits, secs(0));
        assert_eq!(c.next_deadline(), None);
        c.on_bytes(secs(1), true);
        c.on_bytes(secs(4), true);
        assert_eq!(c.next_deadline(), Some(secs(6)));
        assert!(matches!(c.on_timer(secs(6)), Some(TimerStep::Close(_))));
    }

    #[test]
    fn gen_2_ack_before_registration_is_not_registered() {
        let mut c = ServerConn::new(ConnLimits::default(), secs(0));
        assert_eq!(code(&c.on_line(b"ACK:1", secs(0))), Some("NOT_REGISTERED"));
        // PONG is not a request: nothing, in either state.
        assert_eq!(c.on_line(b"PONG:x", secs(0)), Step::Nothing);
    }

    #[test]
    fn err_1_decoding_comes_before_the_state_gate() {
        // §2.1 step 7: only a line that decodes is judged against the state.
        let mut c = ServerConn::new(ConnLimits::default(), secs(0));
        assert_eq!(
            code(&c.on_line(b"BROADCAST:bob:5:hi", secs(0))),
            Some("BAD_LENGTH")
        );
        assert_eq!(code(&c.on_line(b"ACK:0", secs(0))), Some("MALFORMED"));
        assert_eq!(code(&c.on_line(b"QUERY:b!", secs(0))), Some("BAD_NICK"));
        assert_eq!(code(&c.on_line(b"LIST:x", secs(0))), Some("MALFORMED"));
        assert!(matches!(c.on_request(register()), Step::Request(_)));
        c.set_registered();
        assert_eq!(
            code(&c.on_line(b"REGISTER:b!:127.0.0.1:1", secs(0))),
            Some("BAD_NICK")
        );
        assert_eq!(
            code(&c.on_line(b"REGISTER:bob:127.0.0.1:0", secs(0))),
            Some("BAD_ADDRESS")
        );
        assert_eq!(
            code(&c.on_line(b"REGISTER:bob:127.0.0.1:1", secs(0))),
            Some("ALREADY_REGISTERED")
        );
    }

    #[test]
    fn ka_3_any_bytes_are_a_sign_of_life() {
        let limits = ConnLimits {
            keepalive: Some(secs(10)),
            idle_timeout: Some(secs(30)),
            partial_line_timeout: Some(secs(100)),
            ..ConnLimits::default()
        };
        let mut c = ServerConn::new(limits, secs(0));
        // Bytes of an unfinished line (no line yet) still push both timers back.
        c.on_bytes(secs(25), true);
        assert_eq!(c.next_deadline(), Some(secs(35)));
        assert_eq!(c.on_timer(secs(34)), None);
        assert!(matches!(c.on_timer(secs(35)), Some(TimerStep::Ping(_))));
        c.on_bytes(secs(50), true);
        assert_eq!(c.on_timer(secs(59)), None);
        assert!(matches!(c.on_timer(secs(60)), Some(TimerStep::Ping(_))));
        assert_eq!(c.on_timer(secs(79)), None);
        assert!(matches!(c.on_timer(secs(80)), Some(TimerStep::Close(_))));
    }

    #[test]
    fn lim_2_every_line_counts_overlong_and_bad_ones_included() {
        let limits = ConnLimits {
            rate_burst: 4,
            rate_per_sec: 1,
            ..ConnLimits::default()
        };
        let mut c = ServerConn::new(limits, secs(0));
        assert!(matches!(c.on_too_long(secs(0)), Step::Reply(_)));
        assert_eq!(code(&c.on_line(b"FOO", secs(0))), Some("UNKNOWN_VERB"));
        assert_eq!(c.on_line(b"PONG:x", secs(0)), Step::Nothing);
        assert!(matches!(c.on_line(b"PING:x", secs(0)), Step::Reply(_)));
        assert_eq!(code(&c.on_line(b"PING:y", secs(0))), Some("FLOOD"));
    }
}
