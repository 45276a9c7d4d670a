//! `Genesis`: fixes the policy; its signer becomes the operator.

use crate::policy::Policy;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// First entry of every log: fixes the policy; its signer becomes the operator.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Genesis {
    pub policy: Policy,
    pub operator_name: String,
}
