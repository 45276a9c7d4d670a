//! `SettleTrade`: a settled green-power trade (绿电交易); the certificates of this device

use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Trading platform: a settled green-power trade (绿电交易); the certificates of this device
/// and interval go to the buyer with the power (证电合一).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct SettleTrade {
    pub device: DeviceId,
    pub interval: Interval,
    pub buyer: AccountId,
    pub energy: Wh,
}
