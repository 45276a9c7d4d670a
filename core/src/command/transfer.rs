//! `Transfer`: move part or all of a bundle to another account.

use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Owner: move part or all of a bundle to another account.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Transfer {
    pub bundle: BundleId,
    pub serials: SerialRange,
    pub to: AccountId,
}
