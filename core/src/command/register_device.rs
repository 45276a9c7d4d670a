//! `RegisterDevice`: the operator registers a generation unit owned by a generator account.

use super::Kind;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Operator: registers a generation unit owned by a generator account.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RegisterDevice {
    pub device: DeviceId,
    pub owner: AccountId,
    pub technology: Technology,
    pub capacity_w: u64,
    pub region: String,
    pub commissioned: Timestamp,
    pub attributes: DeviceAttributes,
}

/// The first device registration format, without attributes (a grid-connected unit with none
/// of the attributes that restrict its class).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RegisterDeviceV1 {
    pub device: DeviceId,
    pub owner: AccountId,
    pub technology: Technology,
    pub capacity_w: u64,
    pub region: String,
    pub commissioned: Timestamp,
}

impl RegisterDeviceV1 {
    fn current(&self) -> RegisterDevice {
        let RegisterDeviceV1 { device, owner, technology, capacity_w, region, commissioned } = self.clone();
        RegisterDevice {
            device,
            owner,
            technology,
            capacity_w,
            region,
            commissioned,
            attributes: DeviceAttributes::default(),
        }
    }
}

impl Kind for RegisterDeviceV1 {
    const ROLE: Option<Role> = Some(Role::Operator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        self.current().decide(r)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        self.current().lineage(w, step)
    }
}

impl fmt::Display for RegisterDeviceV1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.current().fmt(f)
    }
}

impl Kind for RegisterDevice {
    const ROLE: Option<Role> = Some(Role::Operator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let RegisterDevice { device, owner, technology, capacity_w, region, commissioned, attributes } = self;
        if !device.is_well_formed() {
            return refuse(Refusal::BadDeviceId(device.0.clone()));
        }
        if *capacity_w == 0 {
            return refuse(Refusal::ZeroCapacity(*capacity_w));
        }
        check_text("region", region, false)?;
        if r.view.device(device)?.is_some() {
            return refuse(Refusal::DeviceExists(device.clone()));
        }
        r.account_with_role(owner, Role::Generator, "own a device")?;
        if let Some(user) = &attributes.user {
            r.account_with_role(user, Role::Consumer, "use a device's self-consumed output")?;
        }
        let mut d = Decision::default();
        d.effects.push(Effect::Device(Device {
            id: device.clone(),
            owner: *owner,
            technology: *technology,
            capacity_w: *capacity_w,
            region: region.to_string(),
            commissioned: *commissioned,
            registered: r.ctx.index,
            attributes: attributes.clone(),
            decommissioned: None,
            carry: Vec::new(),
            deficit: Wh::ZERO,
            exclusions: Vec::new(),
            changes: Vec::new(),
        }));
        d.say(format!(
            "registered {technology} device {device} of {capacity_w} W in {region}, owner {}",
            owner.short()
        ));
        d.made(Change::Device { device: device.clone() });
        Ok(d)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        if w.device.is_some() {
            return Walk::fail(step.index, "a second device registration");
        }
        w.has_role(step.index, &step.signer, Role::Operator, "the device registration signer")?;
        w.has_role(step.index, &self.owner, Role::Generator, "the device owner")?;
        w.device = Some((self.device.clone(), self.technology, self.region.clone(), self.owner));
        w.attributes = self.attributes.clone();
        w.commissioned = self.commissioned;
        Ok("device")
    }
}

impl fmt::Display for RegisterDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "register {} device {} of {} W in {}, commissioned {}, owner {}{}",
            self.technology,
            self.device,
            self.capacity_w,
            self.region,
            self.commissioned,
            self.owner.short(),
            describe(&self.attributes)
        )
    }
}

/// The attributes in words, for messages: empty for a plain grid-connected unit.
pub(crate) fn describe(a: &DeviceAttributes) -> String {
    let mut parts = Vec::new();
    for (on, name) in [
        (a.off_grid, "off-grid"),
        (a.conventional_hydro, "conventional hydro"),
        (a.storage, "independent storage"),
        (a.hydrogen, "hydrogen"),
        (a.subsidised, "subsidised"),
    ] {
        if on {
            parts.push(name.to_string());
        }
    }
    if let Some(u) = a.user {
        parts.push(format!("self-use by {}", u.short()));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}
