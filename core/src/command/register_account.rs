//! `RegisterAccount`: admits a participant with roles.

use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Operator: admits a participant with roles.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RegisterAccount {
    pub account: AccountId,
    pub name: String,
    pub roles: Roles,
}
