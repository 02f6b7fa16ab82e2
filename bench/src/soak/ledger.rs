//! The soak's book-keeping: every private message sent, what its sender was told, and
//! every copy its recipient received. The verdict (lost, duplicated, out of order) is
//! computed from this alone.
//!
//! A message is named by its sender and the sender's sequence number, which are
//! written into its text (`soak <from> <to> <seq> ...`), so a copy can be recognised
//! whatever id the server gave it. The recipient behaves like a real client: it drops
//! a copy whose id it has already shown ([CLI-5]); such copies are counted as
//! *redelivered* (expected after a crash: shown, not yet acknowledged). What the user
//! would see twice is the same message under two different ids: *duplicated*.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

/// A message: its sender (user index) and the sender's sequence number.
pub type Key = (u32, u64);

/// What the sender knows about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// SEND written, no reply yet.
    InFlight,
    /// `SENT:<id>:LIVE` or `SENT:<id>:QUEUED`: the server promised it ([RLY-5]).
    Acked,
    /// An `ERR` reply (`UNAVAILABLE`, `MAILBOX_FULL`): the server did not take it.
    Refused,
    /// The connection ended before the reply: the server may or may not have it.
    Unconfirmed,
}

#[derive(Debug)]
struct Entry {
    to: u32,
    state: State,
    /// The id, from `SENT` or from the first copy received.
    id: Option<u64>,
    /// Copies shown to the recipient (distinct ids).
    shown: u32,
    /// `SENT:<id>:LIVE` (rather than `QUEUED`).
    live: bool,
}

/// The counts a soak run reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// SEND lines written.
    pub sent: u64,
    /// Answered `SENT` (the sender was told "delivered" or "queued").
    pub acknowledged: u64,
    /// Of which `SENT:<id>:LIVE` ("delivered": the recipient was online).
    pub acknowledged_live: u64,
    /// Of which `SENT:<id>:QUEUED` (the recipient was offline).
    pub acknowledged_queued: u64,
    /// Answered with an `ERR` (not taken; allowed).
    pub refused: u64,
    /// No reply before the connection ended (a kill): allowed either way, never twice.
    pub unconfirmed: u64,
    /// Still waiting for a reply when the counts were taken (0 after the drain).
    pub in_flight: u64,
    /// Distinct messages shown to their recipient.
    pub delivered: u64,
    /// Of the unconfirmed messages, how many were delivered all the same.
    pub delivered_unconfirmed: u64,
    /// Acknowledged messages never shown to their recipient. Must be 0.
    pub lost: u64,
    /// Messages shown to the user more than once (one message under several ids). Must be 0.
    pub duplicated: u64,
    /// Messages shown after a later message of the same sender to the same recipient. Must be 0.
    pub out_of_order: u64,
    /// Copies that do not match what was sent (unknown message, wrong recipient or sender,
    /// one id for two messages, a refused message delivered). Must be 0.
    pub corrupt: u64,
    /// Copies with an id the recipient had shown already, dropped by id (expected).
    pub redelivered_same_id: u64,
}

impl Counts {
    /// Whether the run kept every promise.
    pub fn ok(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.out_of_order == 0
            && self.corrupt == 0
            && self.in_flight == 0
    }
}

/// Everything sent and received in one soak run.
#[derive(Debug, Default)]
pub struct Ledger {
    msgs: HashMap<Key, Entry>,
    /// Which message an id stands for.
    by_id: HashMap<u64, Key>,
    /// Per recipient: ids shown (the client's de-duplication).
    seen: HashMap<u32, HashSet<u64>>,
    /// Per (sender, recipient): the highest sequence number shown so far.
    last_seq: HashMap<(u32, u32), u64>,
    sent: u64,
    redelivered: u64,
    corrupt: u64,
    duplicated: u64,
    out_of_order: u64,
}

/// The text of message `seq` from `from` to `to` (printable ASCII, `pad` long at least).
pub fn text(from: u32, to: u32, seq: u64, pad: usize) -> String {
    let mut t = format!("soak {from} {to} {seq} ");
    while t.len() < pad {
        t.push('x');
    }
    t
}

/// The (sender, recipient, seq) written by [`text`].
pub fn parse_text(t: &str) -> Option<(u32, u32, u64)> {
    let mut w = t.split(' ');
    if w.next()? != "soak" {
        return None;
    }
    let from = w.next()?.parse().ok()?;
    let to = w.next()?.parse().ok()?;
    let seq = w.next()?.parse().ok()?;
    Some((from, to, seq))
}

impl Ledger {
    /// A SEND of `key` to `to` is about to be written.
    pub fn sent(&mut self, key: Key, to: u32) {
        self.sent += 1;
        self.msgs.insert(
            key,
            Entry {
                to,
                state: State::InFlight,
                id: None,
                shown: 0,
                live: false,
            },
        );
    }

    /// `SENT:<id>:...` answered the SEND of `key`.
    pub fn acked(&mut self, key: Key, id: u64, live: bool) {
        let mut corrupt = false;
        if let Some(e) = self.msgs.get_mut(&key) {
            e.state = State::Acked;
            if let Some(other) = e.id
                && other != id
            {
                // Received under another id before the SENT came back: two copies.
                corrupt = true;
            }
            e.id = Some(id);
        }
        match self.by_id.insert(id, key) {
            Some(k) if k != key => corrupt = true,
            _ => {}
        }
        if corrupt {
            self.corrupt += 1;
        }
        if let Some(e) = self.msgs.get_mut(&key) {
            e.live = live;
        }
    }

    /// The SEND of `key` was answered with an error.
    pub fn refused(&mut self, key: Key) {
        if let Some(e) = self.msgs.get_mut(&key) {
            e.state = State::Refused;
            if e.shown > 0 {
                self.corrupt += 1;
            }
        }
    }

    /// The connection ended before the SEND of `key` was answered.
    pub fn unconfirmed(&mut self, key: Key) {
        if let Some(e) = self.msgs.get_mut(&key)
            && e.state == State::InFlight
        {
            e.state = State::Unconfirmed;
        }
    }

    /// User `me` received `MSG:<id>:<from>:...:<text>`, `<from>` being user
    /// `from_nick_idx` (`None`: not a soak user). Returns whether it was shown (a new id).
    pub fn received(&mut self, me: u32, id: u64, from_nick_idx: Option<u32>, text: &str) -> bool {
        let seen = self.seen.entry(me).or_default();
        if !seen.insert(id) {
            self.redelivered += 1;
            return false;
        }
        let Some((from, to, seq)) = parse_text(text) else {
            self.corrupt += 1;
            return true;
        };
        if to != me || from_nick_idx != Some(from) {
            self.corrupt += 1;
            return true;
        }
        let key = (from, seq);
        match self.by_id.insert(id, key) {
            Some(k) if k != key => {
                self.corrupt += 1;
                return true;
            }
            _ => {}
        }
        let Some(e) = self.msgs.get_mut(&key) else {
            self.corrupt += 1;
            return true;
        };
        if e.to != me || e.state == State::Refused {
            self.corrupt += 1;
        }
        e.shown += 1;
        if e.shown > 1 {
            self.duplicated += 1;
        }
        match e.id {
            Some(other) if other != id => {}
            _ => e.id = Some(id),
        }
        let last = self.last_seq.entry((from, to)).or_insert(0);
        if seq < *last {
            self.out_of_order += 1;
        } else {
            *last = seq;
        }
        true
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            sent: self.sent,
            redelivered_same_id: self.redelivered,
            corrupt: self.corrupt,
            duplicated: self.duplicated,
            out_of_order: self.out_of_order,
            ..Counts::default()
        };
        for e in self.msgs.values() {
            if e.shown > 0 {
                c.delivered += 1;
            }
            match e.state {
                State::InFlight => c.in_flight += 1,
                State::Acked => {
                    c.acknowledged += 1;
                    if e.live {
                        c.acknowledged_live += 1;
                    } else {
                        c.acknowledged_queued += 1;
                    }
                    if e.shown == 0 {
                        c.lost += 1;
                    }
                }
                State::Refused => c.refused += 1,
                State::Unconfirmed => {
                    c.unconfirmed += 1;
                    if e.shown > 0 {
                        c.delivered_unconfirmed += 1;
                    }
                }
            }
        }
        c
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn msg(l: &mut Ledger, from: u32, to: u32, seq: u64) -> String {
        l.sent((from, seq), to);
        text(from, to, seq, 40)
    }

    #[test]
    fn text_round_trips() {
        let t = text(3, 7, 42, 60);
        assert_eq!(t.len(), 60);
        assert_eq!(parse_text(&t), Some((3, 7, 42)));
        assert_eq!(parse_text("hello"), None);
    }

    #[test]
    fn a_clean_run_is_ok() {
        let mut l = Ledger::default();
        let a = msg(&mut l, 0, 1, 1);
        let b = msg(&mut l, 0, 1, 2);
        l.acked((0, 1), 10, true);
        assert!(l.received(1, 10, Some(0), &a));
        // Redelivered after a crash: same id, dropped.
        assert!(!l.received(1, 10, Some(0), &a));
        // SENT may come back after the recipient has the message.
        assert!(l.received(1, 11, Some(0), &b));
        l.acked((0, 2), 11, false);
        let c = l.counts();
        assert!(c.ok(), "{c:?}");
        assert_eq!(
            (c.sent, c.acknowledged, c.acknowledged_live, c.delivered),
            (2, 2, 1, 2)
        );
        assert_eq!(c.redelivered_same_id, 1);
    }

    #[test]
    fn an_acknowledged_message_never_received_is_lost() {
        let mut l = Ledger::default();
        msg(&mut l, 0, 1, 1);
        l.acked((0, 1), 5, false);
        assert_eq!(l.counts().lost, 1);
        assert!(!l.counts().ok());
    }

    #[test]
    fn unconfirmed_may_be_delivered_or_not() {
        let mut l = Ledger::default();
        let a = msg(&mut l, 0, 1, 1);
        msg(&mut l, 0, 1, 2);
        l.unconfirmed((0, 1));
        l.unconfirmed((0, 2));
        assert!(l.received(1, 3, Some(0), &a));
        let c = l.counts();
        assert!(c.ok(), "{c:?}");
        assert_eq!((c.unconfirmed, c.delivered_unconfirmed), (2, 1));
    }

    #[test]
    fn one_message_under_two_ids_is_a_duplicate() {
        let mut l = Ledger::default();
        let a = msg(&mut l, 0, 1, 1);
        l.unconfirmed((0, 1));
        assert!(l.received(1, 3, Some(0), &a));
        assert!(l.received(1, 4, Some(0), &a));
        assert_eq!(l.counts().duplicated, 1);
    }

    #[test]
    fn order_is_per_sender_and_recipient() {
        let mut l = Ledger::default();
        let a = msg(&mut l, 0, 1, 1);
        let b = msg(&mut l, 0, 1, 2);
        let c = msg(&mut l, 2, 1, 1);
        l.received(1, 7, Some(0), &b);
        l.received(1, 8, Some(2), &c);
        l.received(1, 9, Some(0), &a);
        assert_eq!(l.counts().out_of_order, 1);
    }

    #[test]
    fn mismatches_are_corrupt() {
        let mut l = Ledger::default();
        let a = msg(&mut l, 0, 1, 1);
        // Wrong recipient, wrong sender nick, unknown text, refused but delivered.
        l.received(2, 1, Some(0), &a);
        l.received(1, 2, Some(5), &a);
        l.received(1, 3, Some(0), "soak 0 1 99 x");
        let b = msg(&mut l, 0, 1, 2);
        l.refused((0, 2));
        l.received(1, 4, Some(0), &b);
        assert_eq!(l.counts().corrupt, 4);
        // One id for two messages.
        let mut l = Ledger::default();
        let a = msg(&mut l, 0, 1, 1);
        let b = msg(&mut l, 0, 1, 2);
        l.received(1, 9, Some(0), &a);
        l.acked((0, 2), 9, true);
        assert!(l.counts().corrupt >= 1);
        let _ = b;
    }
}
