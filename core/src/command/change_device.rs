//! `ChangeDevice`: the operator amends a device's attributes, hands it to a new owner (projects
//! are sold; certificates already issued stay where they are), or decommissions it (no readings
//! after that date). Rule 11 (device lifecycle).

use super::register_device::describe;
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

/// What changes about a device.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum DeviceChange {
    /// New attributes; they decide the class of every issuance from now on.
    Attributes(DeviceAttributes),
    /// A new owner: readings issued from now on are theirs.
    Owner(AccountId),
    /// No readings may end after this time.
    Decommission(Timestamp),
}

/// Operator: a change to a registered device.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ChangeDevice {
    pub device: DeviceId,
    pub change: DeviceChange,
}

impl Kind for ChangeDevice {
    const ROLE: Option<Role> = Some(Role::Operator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let mut device = r.device(&self.device)?;
        let id = &self.device;
        let mut d = Decision::default();
        if let Some(at) = device.decommissioned {
            return refuse(Refusal::DeviceChange(format!(
                "device {id} was decommissioned at {at}; it cannot change any more"
            )));
        }
        match &self.change {
            DeviceChange::Attributes(a) => {
                if let Some(user) = &a.user {
                    r.account_with_role(user, Role::Consumer, "use a device's self-consumed output")?;
                }
                device.attributes = a.clone();
                d.say(format!(
                    "attributes of {id} are now{}",
                    if describe(a).is_empty() { " plain".into() } else { describe(a) }
                ));
            }
            DeviceChange::Owner(to) => {
                if *to == device.owner {
                    return refuse(Refusal::DeviceChange(format!("{} owns {id} already", to.short())));
                }
                r.account_with_role(to, Role::Generator, "own a device")?;
                d.say(format!(
                    "{id} passes from {} to {}; certificates already issued stay with their holders",
                    device.owner.short(),
                    to.short()
                ));
                device.owner = *to;
            }
            DeviceChange::Decommission(at) => {
                for channel in Channel::ALL.into_iter().filter(|c| c.is_device_channel()) {
                    if let Some(last) = r.view.reading_before(id, channel, Timestamp(u64::MAX))? {
                        if last.interval.end > *at {
                            return refuse(Refusal::ReadingsAfterDecommissioning {
                                device: id.clone(),
                                channel,
                                until: last.interval.end,
                                at: *at,
                            });
                        }
                    }
                }
                device.decommissioned = Some(*at);
                d.say(format!("{id} decommissioned at {at}; no readings after it"));
            }
        }
        device.changes.push(r.ctx.index);
        d.made(Change::Device { device: id.clone() });
        d.effects.push(Effect::Device(device));
        Ok(d)
    }

    /// A change of the claimed device before its issuance decides the class (attributes) or
    /// who the issuance went to (owner).
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        let Some((d, tech, region, owner)) = w.device.clone() else {
            return w.out_of_place(step, "change-device");
        };
        if d != self.device {
            return w.out_of_place(step, "change-device");
        }
        w.has_role(step.index, &step.signer, Role::Operator, "the device change's signer")?;
        match &self.change {
            DeviceChange::Attributes(a) => w.attributes = a.clone(),
            DeviceChange::Owner(to) => {
                w.has_role(step.index, to, Role::Generator, "the device's new owner")?;
                if !w.issued {
                    w.device = Some((d, tech, region, *to));
                    if let Some((e, iv, _)) = w.reading {
                        w.reading = Some((e, iv, *to));
                    }
                }
                let _ = owner;
            }
            DeviceChange::Decommission(_) => {}
        }
        Ok("device-change")
    }
}

impl fmt::Display for ChangeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.change {
            DeviceChange::Attributes(a) => write!(f, "set the attributes of {}{}", self.device, describe(a)),
            DeviceChange::Owner(to) => write!(f, "hand device {} to {}", self.device, to.short()),
            DeviceChange::Decommission(at) => write!(f, "decommission device {} at {at}", self.device),
        }
    }
}
