//! `PostGeneration`: a device's metered generation over an interval.

use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Meter operator: a device's metered generation over an interval.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct PostGeneration {
    pub device: DeviceId,
    pub interval: Interval,
    pub energy: Wh,
}
