//! Broadcast lines held back for the rest of one hub lock, so that consecutive
//! broadcasts to the same recipients reach each queue in one push
//! (PERFORMANCE.md §19).
//!
//! A sender that paces itself on a window writes its next lines together, and the
//! server reads them together: in the fan-out benchmark a read holds 16 `BROADCAST`s
//! on average. Pushing each line to each recipient's queue took each queue's lock once
//! per line, and that lock's cache line was most often last written by the other
//! worker (the recipient's writer): a coherence miss per line and recipient, the
//! largest single cost of a fan-out in the profile. Held back, the lines of one read
//! cost one push per recipient.
//!
//! Order is kept: lines are held only while every held line goes to exactly the same
//! recipients, in the same order; a broadcast to another set, any other line (a reply,
//! a private message, an update) and the end of the hub lock first push what is held.
//! Every line therefore reaches each queue in the order the hub produced it, before
//! the lock is released, as when it was pushed at once.

use crate::hub::ConnId;

/// Past this many held octets the lines are pushed at once (a bound on what is held,
/// whatever the caller does; one read of input makes far less).
const HOLD_MAX: usize = 16 * 1024;

/// The broadcast lines held back, and who they are for.
#[derive(Debug, Default)]
pub(crate) struct FanOut {
    /// Recipients of the held lines, in the hub's order.
    to: Vec<ConnId>,
    /// Recipients of the line being added, to compare with `to`.
    next: Vec<ConnId>,
    /// The held lines, each with its terminator, in order.
    lines: Vec<u8>,
}

impl FanOut {
    /// Holds `line` for each of `to`, after pushing (through `push`) what was held for
    /// other recipients.
    pub(crate) fn add(
        &mut self,
        line: &[u8],
        to: impl Iterator<Item = ConnId>,
        mut push: impl FnMut(ConnId, &[u8]),
    ) {
        self.next.clear();
        self.next.extend(to);
        if self.next != self.to {
            self.drain(&mut push);
            std::mem::swap(&mut self.to, &mut self.next);
        }
        self.lines.extend_from_slice(line);
        if self.lines.len() >= HOLD_MAX {
            self.drain(push);
        }
    }

    /// Pushes every held line to every recipient, in order (call before anything else
    /// reaches a queue, and before the hub lock is released).
    pub(crate) fn drain(&mut self, mut push: impl FnMut(ConnId, &[u8])) {
        if self.lines.is_empty() {
            return;
        }
        for &c in &self.to {
            push(c, &self.lines);
        }
        self.lines.clear();
    }

    /// Whether nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Frees the buffers (nothing may be held): they grow back with the next
    /// broadcast. For when the process goes quiet.
    pub(crate) fn release(&mut self) {
        debug_assert!(self.is_empty(), "lines held past a hub lock");
        *self = FanOut::default();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    type Pushed = Vec<(ConnId, String)>;

    fn add(f: &mut FanOut, line: &str, to: &[ConnId], out: &mut Pushed) {
        f.add(line.as_bytes(), to.iter().copied(), |c, l| {
            out.push((c, String::from_utf8(l.to_vec()).unwrap()))
        });
    }

    fn drain(f: &mut FanOut, out: &mut Pushed) {
        f.drain(|c, l| out.push((c, String::from_utf8(l.to_vec()).unwrap())));
    }

    #[test]
    fn lines_to_the_same_recipients_go_out_in_one_push_each() {
        let (mut f, mut out) = (FanOut::default(), Pushed::new());
        add(&mut f, "a\n", &[1, 2, 3], &mut out);
        add(&mut f, "b\n", &[1, 2, 3], &mut out);
        assert!(out.is_empty(), "held until drained");
        drain(&mut f, &mut out);
        assert_eq!(
            out,
            [(1, "a\nb\n"), (2, "a\nb\n"), (3, "a\nb\n")].map(|(c, l)| (c, l.to_owned()))
        );
        assert!(f.is_empty());
        out.clear();
        drain(&mut f, &mut out);
        assert!(out.is_empty(), "nothing pushed twice");
    }

    #[test]
    fn another_recipient_set_first_pushes_what_is_held() {
        let (mut f, mut out) = (FanOut::default(), Pushed::new());
        add(&mut f, "a\n", &[1, 2, 3], &mut out);
        // Recipient 2 now blocks the sender: a different set.
        add(&mut f, "b\n", &[1, 3], &mut out);
        assert_eq!(
            out,
            [(1, "a\n"), (2, "a\n"), (3, "a\n")].map(|(c, l)| (c, l.to_owned()))
        );
        // The same recipients in another order are another set too.
        add(&mut f, "c\n", &[3, 1], &mut out);
        drain(&mut f, &mut out);
        assert_eq!(
            out[3..],
            [(1, "b\n"), (3, "b\n"), (3, "c\n"), (1, "c\n")].map(|(c, l)| (c, l.to_owned()))
        );
    }

    #[test]
    fn a_line_to_nobody_is_dropped_and_holds_nothing_back() {
        let (mut f, mut out) = (FanOut::default(), Pushed::new());
        add(&mut f, "a\n", &[], &mut out);
        drain(&mut f, &mut out);
        assert!(out.is_empty());
        add(&mut f, "b\n", &[7], &mut out);
        drain(&mut f, &mut out);
        assert_eq!(out, [(7, "b\n".to_owned())]);
    }

    #[test]
    fn what_is_held_is_bounded() {
        let (mut f, mut out) = (FanOut::default(), Pushed::new());
        let line = format!("{}\n", "x".repeat(1023));
        for _ in 0..HOLD_MAX / line.len() {
            add(&mut f, &line, &[1], &mut out);
        }
        assert_eq!(out.len(), 1, "pushed once the bound was reached");
        assert_eq!(out[0].1.len(), HOLD_MAX);
        assert!(f.is_empty());
    }

    #[test]
    fn release_frees_the_buffers() {
        let (mut f, mut out) = (FanOut::default(), Pushed::new());
        add(&mut f, "a\n", &[1, 2], &mut out);
        drain(&mut f, &mut out);
        f.release();
        assert_eq!(
            (f.to.capacity(), f.next.capacity(), f.lines.capacity()),
            (0, 0, 0)
        );
    }
}
