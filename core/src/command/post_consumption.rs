//! `PostConsumption`: an account's metered consumption over an interval (all sources).

use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Meter operator: an account's metered consumption over an interval (all sources).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct PostConsumption {
    pub account: AccountId,
    pub interval: Interval,
    pub energy: Wh,
}
