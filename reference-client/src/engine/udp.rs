//! UDP datagrams: OFFER (connect back, [DIR-2], [DIR-3]) and DM ([UDP-2]).

use std::net::SocketAddr;
use std::time::Duration;

use spec::Datagram;
use spec::machine::peer::TicketError;

use super::{Engine, HeldOffer};
use crate::events::{Event, MessageVia};

/// How long an OFFER that overtook its INVITE is kept (§13).
const HOLD_OFFER: Duration = Duration::from_secs(5);

/// How many such OFFERs are kept at most. An OFFER that overtakes its INVITE is rare,
/// while forged ones cost an attacker nothing (§20): without a bound, a flood of them
/// grows the list, and every event (which looks at the list's deadlines) slows down
/// with it until the client stops answering. When full, the oldest is dropped.
const MAX_HELD_OFFERS: usize = 32;

impl Engine {
    pub(super) fn on_datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        let Ok(d) = Datagram::decode(bytes) else {
            // A datagram that does not decode is dropped (§2).
            tracing::debug!("dropping an undecodable datagram from {from}");
            return;
        };
        match d {
            Datagram::Offer { nick, port, ticket } => {
                if self.is_blocked(&nick) {
                    return;
                }
                let now = self.now();
                match self.invites.redeem(&nick, &ticket, now) {
                    Ok(addr) => {
                        let to = SocketAddr::new(addr.ip.addr(), port.get());
                        self.notice(format!("{nick} opens a private chat"));
                        self.dial_hybrid(to, nick, ticket);
                    }
                    Err(TicketError::Unknown) => {
                        // The INVITE may still be on its way.
                        if self.held_offers.len() >= MAX_HELD_OFFERS {
                            self.held_offers.remove(0);
                        }
                        self.held_offers.push(HeldOffer {
                            nick,
                            port,
                            ticket,
                            expires: now + HOLD_OFFER,
                        });
                    }
                    Err(TicketError::Used | TicketError::Expired) => {}
                }
            }
            Datagram::Dm { nick, text } => {
                if self.is_blocked(&nick) {
                    return;
                }
                self.emit(Event::Message {
                    from: nick.to_string(),
                    text: text.to_string(),
                    via: MessageVia::Udp,
                    id: None,
                    time: None,
                });
            }
        }
    }

    /// An INVITE arrived: offers that overtook it may now be good.
    pub(super) fn retry_held_offers(&mut self) {
        let now = self.now();
        let held = std::mem::take(&mut self.held_offers);
        for o in held {
            if o.expires <= now {
                continue;
            }
            match self.invites.redeem(&o.nick, &o.ticket, now) {
                Ok(addr) => {
                    let to = SocketAddr::new(addr.ip.addr(), o.port.get());
                    self.dial_hybrid(to, o.nick, o.ticket);
                }
                Err(TicketError::Unknown) => self.held_offers.push(o),
                Err(_) => {}
            }
        }
    }
}
