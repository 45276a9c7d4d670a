//! `PostDirectSupply`: energy a device delivered over a dedicated line (绿电直连) to a consumer in

use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Meter operator: energy a device delivered over a dedicated line (绿电直连) to a consumer in
/// the interval of one of its generation readings.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct PostDirectSupply {
    pub device: DeviceId,
    pub consumer: AccountId,
    pub interval: Interval,
    pub energy: Wh,
}
