//! `Issue`: the device owner asks for the certificates of the readings of one interval (every
//! certificate channel), where the policy lets owners ask (see [`super::IssueMonth`] for the
//! issuing body's monthly run). The arithmetic is in `command/issuance.rs`. Rule 1 (one
//! issuance per reading) and rule 3 (no double scheme) are checked here.

use super::issuance::{issue_reading, Touched};
use super::Kind;
use crate::policy::Class;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{refuse, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Device owner: issue the certificates of one generation reading.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Issue {
    pub device: DeviceId,
    pub interval: Interval,
}

impl Kind for Issue {
    /// Only the device's owner may ask, which the rules check.
    const ROLE: Option<Role> = None;

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let Issue { device: device_id, interval } = self;
        let interval = *interval;
        let mut device = r.device(device_id)?;
        if device.owner != r.signer.id {
            return refuse(Refusal::NotDeviceOwner {
                device: device_id.clone(),
                owner: device.owner.short(),
                signer: r.signer.id.short(),
            });
        }
        if !r.policy().owner_issuance {
            return refuse(Refusal::OwnerIssuanceOff);
        }
        let mut readings = Vec::new();
        for channel in [Channel::Export, Channel::SelfUse, Channel::StorageDischarge] {
            if let Some(reading) = r.view.reading(device_id, channel, interval.start)? {
                if reading.interval == interval {
                    readings.push(reading);
                }
            }
        }
        if readings.is_empty() {
            return refuse(Refusal::UnknownReading { device: device_id.clone(), channel: Channel::Export, interval });
        }
        let unissued: Vec<Reading> = readings.iter().filter(|x| x.issuance.is_none()).cloned().collect();
        if unissued.is_empty() {
            let entry = readings[0].issuance.as_ref().expect("issued").entry;
            return refuse(Refusal::AlreadyIssued { device: device_id.clone(), interval, entry });
        }
        Rules::<V>::exclusion_overlapping(&device, interval)?;
        let mut d = Decision::default();
        let mut touched = Touched::default();
        for reading in unissued {
            let key = (reading.channel, reading.interval.start);
            let mut reading = touched.take(r, device_id, key.0, key.1)?.unwrap_or(reading);
            issue_reading(r, &mut device, &mut reading, &mut touched, &mut d)?;
            if reading.bundles.is_empty() && reading.class != Some(Class::None) {
                d.say(format!(
                    "no whole certificate yet for {device_id} {} in {interval}; {} carried over",
                    reading.channel,
                    device.carried()
                ));
            }
            touched.put(reading);
        }
        touched.write(&mut d);
        d.effects.push(Effect::Device(device));
        d.effects.push(Effect::Meta(r.meta.clone()));
        Ok(d)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        let Some((_, _, owner)) = w.reading else {
            return Walk::fail(step.index, "an issuance without its generation reading");
        };
        w.same_output(step.index, &self.device, &self.interval, "the issuance")?;
        if step.signer != owner {
            return Walk::fail(
                step.index,
                format!("the issuance is signed by {}, not by the device owner {}", step.signer.short(), owner.short()),
            );
        }
        w.issue(step.index, &self.device)?;
        Ok("issuance")
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "issue the certificates of {} in {}", self.device, self.interval)
    }
}
