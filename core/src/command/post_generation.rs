//! `PostGeneration`: a meter operator records a device's metered generation over an interval.
//! Rule 1 (one reading per interval) and rule 2 (no issuance beyond physics) are checked here.

use super::Kind;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{refuse, Change, Decision, Rules};
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
        let PostGeneration { device: device_id, interval, energy } = self;
        let (interval, energy) = (*interval, *energy);
        let mut device = r.device(device_id)?;
        r.check_past_interval(interval)?;
        if interval.start < device.commissioned {
            return refuse(Refusal::BeforeCommissioning {
                device: device.id.clone(),
                interval,
                commissioned: device.commissioned,
            });
        }
        if let Some(until) = device.readings_until {
            if interval.start < until {
                return refuse(Refusal::ReadingOverlap { subject: format!("device {device_id}"), interval, until });
            }
        }
        // Rule 2: energy <= capacity x duration, computed in u128 so nothing overflows.
        let max = (device.capacity_w as u128) * (interval.seconds() as u128) / 3600;
        if (energy.0 as u128) > max {
            return refuse(Refusal::ExceedsCapacity {
                device: device.id.clone(),
                interval,
                energy,
                capacity_w: device.capacity_w,
                max: Wh(max.min(u64::MAX as u128) as u64),
            });
        }
        device.readings_until = Some(interval.end);
        let mut d = Decision::default();
        d.effects.push(Effect::Reading(Reading {
            device: device.id.clone(),
            interval,
            energy,
            entry: r.ctx.index,
            direct: Vec::new(),
            trades: Vec::new(),
            issuance: None,
            bundles: Vec::new(),
        }));
        d.effects.push(Effect::Device(device));
        d.say(format!("generation of {device_id} in {interval}: {energy}"));
        d.made(Change::Generation { device: device_id.clone(), interval, energy });
        Ok(d)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        let Some((d, _, _, owner)) = &w.device else {
            return Walk::fail(step.index, "the generation reading comes before its device's registration");
        };
        if w.reading.is_some() {
            return Walk::fail(step.index, "a second generation reading");
        }
        if self.device != *d {
            return Walk::fail(
                step.index,
                format!("the reading is of device {}, not of the registered {d}", self.device),
            );
        }
        let owner = *owner;
        w.has_role(step.index, &step.signer, Role::MeterOperator, "the reading's signer")?;
        w.reading = Some((self.energy, self.interval, owner));
        Ok("reading")
    }
}

impl fmt::Display for PostGeneration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "generation of {} in {}: {}", self.device, self.interval, self.energy)
    }
}
