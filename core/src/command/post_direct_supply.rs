//! `PostDirectSupply`: a meter operator records energy a device delivered over a dedicated line
//! (绿电直连) to a consumer, in the interval of one of its generation readings. It must come
//! before issuance: the certificates of that energy are then issued to the consumer, never
//! transferable.

use super::allocation::allocate;
use super::Kind;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::Rejection;
use crate::rules::{Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Meter operator: energy a device delivered over a dedicated line (绿电直连) to a consumer in
/// the interval of one of its generation readings.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct PostDirectSupply {
    pub device: DeviceId,
    pub consumer: AccountId,
    pub interval: Interval,
    pub energy: Wh,
}

impl Kind for PostDirectSupply {
    const ROLE: Option<Role> = Some(Role::MeterOperator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        allocate(r, &self.device, &self.consumer, self.interval, self.energy, false)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        if w.issued {
            return w.out_of_place(step, "post-direct-supply");
        }
        if w.reading.is_none() {
            return Walk::fail(step.index, "a direct supply before the generation reading");
        }
        w.same_output(step.index, &self.device, &self.interval, "the direct supply")?;
        w.has_role(step.index, &step.signer, Role::MeterOperator, "the direct supply's signer")?;
        w.pre_issuance.push((self.consumer, self.energy, false));
        Ok("direct-supply")
    }
}

impl fmt::Display for PostDirectSupply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "direct supply of {} from {} in {} to {}",
            self.energy,
            self.device,
            self.interval,
            self.consumer.short()
        )
    }
}
