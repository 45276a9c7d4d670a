//! `RegisterDevice`: registers a generation unit owned by a generator account.

use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Operator: registers a generation unit owned by a generator account.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RegisterDevice {
    pub device: DeviceId,
    pub owner: AccountId,
    pub technology: Technology,
    pub capacity_w: u64,
    pub region: String,
    pub commissioned: Timestamp,
}
