//! `Retire`: final use of certificates for a beneficiary, purpose and consumption interval.

use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Owner: final use of certificates for a beneficiary, purpose and consumption interval.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Retire {
    pub bundle: BundleId,
    pub serials: SerialRange,
    pub beneficiary: String,
    pub purpose: String,
    pub consumption: Interval,
}
