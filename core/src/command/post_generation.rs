//! `PostGeneration`: a meter operator records a device's metered generation over an interval.
//! The export channel of [`super::PostMeterReading`], kept as its own kind for the ledgers that
//! used it; the rules are the same (`command/metering.rs`).

use super::metering::post_reading;
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

/// Meter operator: a device's metered generation over an interval.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct PostGeneration {
    pub device: DeviceId,
    pub interval: Interval,
    pub energy: Wh,
}

impl Kind for PostGeneration {
    const ROLE: Option<Role> = Some(Role::MeterOperator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        post_reading(r, &self.device, Channel::Export, self.interval, self.energy)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        w.reading(step, &self.device, Channel::Export, self.interval, self.energy)
    }
}

impl fmt::Display for PostGeneration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "generation of {} in {}: {}", self.device, self.interval, self.energy)
    }
}
