//! `Issue`: issue the certificates of one generation reading.

use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Device owner: issue the certificates of one generation reading.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Issue {
    pub device: DeviceId,
    pub interval: Interval,
}
