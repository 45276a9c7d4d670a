//! The ledger's policy, fixed by the genesis entry.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Rules that vary between certificate schemes. Fixed at genesis; every node that replays the log
/// applies the same policy.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Policy {
    /// The ledger's name. It is the checkpoint origin and is part of every signed command, so a
    /// command signed for one ledger is worthless on another.
    pub name: String,
    /// Watt-hours per certificate: 1,000,000 for GEC and GO (1 MWh), 1 for granular schemes.
    pub unit_wh: u64,
    /// Certificates lapse this many calendar months after the end of their production interval.
    pub validity_months: u32,
    /// How many times a certificate may change hands by transfer; `None` is unlimited.
    /// China's GEC rules allow a tradable certificate to be sold once: `Some(1)`.
    pub max_transfers: Option<u32>,
    /// When true a claim must name a metered consumption hour that contains the certificates'
    /// production interval (24/7 hourly matching).
    pub hourly_matching: bool,
    /// How far past the sequencer's clock a reading's interval may end, in seconds (meter clocks
    /// drift). Readings of the future beyond this are refused.
    pub clock_skew_s: u64,
}

impl Policy {
    /// The defaults of the Chinese GEC scheme: 1 MWh per certificate, 24 months, unlimited
    /// transfers, annual-volume matching.
    pub fn new(name: impl Into<String>) -> Policy {
        Policy {
            name: name.into(),
            unit_wh: 1_000_000,
            validity_months: 24,
            max_transfers: None,
            hourly_matching: false,
            clock_skew_s: 300,
        }
    }

    /// Ledger names follow the C2SP checkpoint origin rules: 1 to 128 printable ASCII characters
    /// without spaces or `+`.
    pub fn name_is_valid(&self) -> bool {
        !self.name.is_empty() && self.name.len() <= 128 && self.name.bytes().all(|b| b.is_ascii_graphic() && b != b'+')
    }
}
