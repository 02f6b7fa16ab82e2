//! Every case of the suite. IDs are stable and never renumbered: a case that is withdrawn
//! keeps its ID retired, and a new case takes the next free number of its group.
//!
//! Server cases are named `SRV-<GROUP>-<NNN>`, client cases `CLI-<GROUP>-<NNN>`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::case::Case;

mod blk;
mod brd;
mod client_core;
mod client_direct;
mod client_mesh;
mod client_relay;
pub mod cutil;
mod err;
mod frm;
mod general;
mod ka;
mod lea;
mod lim;
mod lst;
mod own;
mod reg;
mod rly;
mod tkt;
pub mod util;

/// Every case, in report order.
pub fn all() -> &'static [&'static Case] {
    static ALL: OnceLock<Vec<&'static Case>> = OnceLock::new();
    ALL.get_or_init(|| {
        [
            frm::CASES,
            err::CASES,
            general::CASES,
            reg::CASES,
            own::CASES,
            lst::CASES,
            brd::CASES,
            lea::CASES,
            rly::CASES,
            blk::CASES,
            tkt::CASES,
            ka::CASES,
            lim::CASES,
            client_core::CASES,
            client_relay::CASES,
            client_direct::CASES,
            client_mesh::CASES,
        ]
        .into_iter()
        .flatten()
        .collect()
    })
}

/// The case with this ID.
pub fn find(id: &str) -> Option<&'static Case> {
    all().iter().copied().find(|c| c.id == id)
}

/// `conformance/pending-client-coverage.txt`: client-role requirement IDs whose cases are
/// not written yet (phase 2). The traceability test keeps it honest.
pub const PENDING_CLIENT_COVERAGE: &str = include_str!("../../pending-client-coverage.txt");

/// The IDs listed in [`PENDING_CLIENT_COVERAGE`].
pub fn pending_client_coverage() -> BTreeSet<String> {
    PENDING_CLIENT_COVERAGE
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}
