//! `DeclareExclusion`: the device's output in this interval is used in another scheme.

use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Regulator: the device's output in this interval is used in another scheme.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct DeclareExclusion {
    pub device: DeviceId,
    pub interval: Interval,
    pub scheme: String,
}
