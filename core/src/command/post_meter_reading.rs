//! `PostMeterReading`: a meter operator records a device's reading on one channel.
//! Backfilling is fine: readings of one device and channel must not overlap, in any order. The
//! rules are in `command/metering.rs`.

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

/// Meter operator: a device's reading on a channel over an interval.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct PostMeterReading {
    pub device: DeviceId,
    pub channel: Channel,
    pub interval: Interval,
    pub energy: Wh,
}

impl Kind for PostMeterReading {
    const ROLE: Option<Role> = Some(Role::MeterOperator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        post_reading(r, &self.device, self.channel, self.interval, self.energy)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        if !matches!(self.channel, Channel::Export | Channel::SelfUse | Channel::StorageDischarge) {
            return w.out_of_place(step, "post-meter-reading");
        }
        w.reading(step, &self.device, self.channel, self.interval, self.energy)
    }
}

impl fmt::Display for PostMeterReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} in {}: {}", self.channel, self.device, self.interval, self.energy)
    }
}
