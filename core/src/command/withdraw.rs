//! `Withdraw`: remove wrongly issued certificates that are not retired.

use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Regulator: remove wrongly issued certificates that are not retired.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Withdraw {
    pub bundle: BundleId,
    pub serials: SerialRange,
    pub reason: String,
}
