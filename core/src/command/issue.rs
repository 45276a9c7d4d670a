//! `Issue`: the device owner asks for the certificates of one generation reading. Whole
//! certificates go to the recipients of direct supply and trades allocated before issuance and
//! to the owner; energy below one certificate is carried over to the next issuance (per device,
//! and per direct-supply consumer). Rule 1 (one issuance per reading) and rule 3 (no double
//! scheme) are checked here.

use super::Kind;
use crate::calendar::add_months;
use crate::proof::walk::{Holder, Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{refuse, Change, Decision, Rules};
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
        let mut reading = r.reading(device_id, interval)?;
        if let Some(i) = &reading.issuance {
            return refuse(Refusal::AlreadyIssued { device: device_id.clone(), interval, entry: i.entry });
        }
        Rules::<V>::exclusion_overlapping(&device, interval)?;
        let unit = r.policy().unit_wh;
        let expires = Timestamp(add_months(interval.end.0, r.policy().validity_months));
        let first_serial = r.meta.next_serial;
        let mut d = Decision::default();
        let mut grants: Vec<(AccountId, u64, Origin)> = Vec::new();
        for a in &reading.direct {
            let carried = device.direct_carry.iter().find(|c| c.0 == a.to).map_or(Wh::ZERO, |c| c.1);
            let total = a.energy.checked_add(carried).ok_or(Refusal::Overflow("direct supply carry"))?;
            device.direct_carry.retain(|c| c.0 != a.to);
            if !total.0.is_multiple_of(unit) {
                device.direct_carry.push((a.to, Wh(total.0 % unit)));
            }
            grants.push((a.to, total.0 / unit, Origin::DirectSupply));
        }
        for a in &reading.trades {
            grants.push((a.to, a.energy.0 / unit, Origin::Trade));
        }
        let allocated = reading.allocated().ok_or(Refusal::Overflow("allocated energy"))?;
        let own = reading
            .energy
            .checked_sub(allocated)
            .and_then(|e| e.checked_add(device.carry))
            .ok_or(Refusal::Overflow("generator energy"))?;
        let carry_in = device.carry;
        device.carry = Wh(own.0 % unit);
        grants.push((device.owner, own.0 / unit, Origin::Issued));
        for (owner, units, origin) in grants {
            if units == 0 {
                continue;
            }
            let start = r.meta.next_serial;
            let end = start.checked_add(units).ok_or(Refusal::Overflow("serial numbers"))?;
            let id = BundleId(r.meta.next_bundle);
            r.meta.next_bundle += 1;
            r.meta.next_serial = end;
            let bundle = Bundle {
                id,
                device: device_id.clone(),
                production: interval,
                serials: SerialRange::new(start, end),
                owner,
                state: BundleState::Active,
                origin,
                transferable: origin == Origin::Issued,
                transfers: 0,
                expires,
                parent: None,
                history: vec![r.ctx.index],
            };
            d.say(format!(
                "issued {units} certificates {} as bundle {id} to {} ({}), valid until {expires}",
                bundle.serials,
                owner.short(),
                origin.name()
            ));
            d.made(Change::Bundle { bundle: id, owner, serials: bundle.serials, origin, from: None });
            reading.bundles.push(id);
            d.effects.push(Effect::Bundle(bundle));
        }
        if reading.bundles.is_empty() {
            d.say(format!("no whole certificate yet for {device_id} in {interval}; {} carried over", device.carry));
        }
        if device.carry > Wh::ZERO {
            d.made(Change::Carry { device: device_id.clone(), energy: device.carry });
        }
        reading.issuance = Some(Issuance {
            entry: r.ctx.index,
            serials: SerialRange::new(first_serial, r.meta.next_serial),
            carry_in,
            carry_out: device.carry,
        });
        d.effects.push(Effect::Reading(reading));
        d.effects.push(Effect::Device(device));
        d.effects.push(Effect::Meta(r.meta.clone()));
        Ok(d)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        let index = step.index;
        let unit = w.policy.unit_wh;
        let Some((energy, _, owner)) = w.reading else {
            return Walk::fail(index, "an issuance without its generation reading");
        };
        if w.issued {
            return Walk::fail(index, "a second issuance");
        }
        w.same_output(index, &self.device, &self.interval, "the issuance")?;
        if step.signer != owner {
            return Walk::fail(
                index,
                format!(
                    "the issuance is signed by {}, not by the device owner {}",
                    step.signer.short(),
                    owner.short()
                ),
            );
        }
        let allocated = w.pre_issuance.iter().try_fold(0u64, |a, p| a.checked_add(p.1 .0));
        let Some(allocated) = allocated.filter(|a| *a <= energy.0) else {
            return Walk::fail(index, format!("direct supply and trades allocate more than the reading's {energy}"));
        };
        // Each recipient of the issuance; a carry-over below one unit may add one unit to
        // direct-supply and owner shares, never to trades (whole units only).
        let mut holders: Vec<Holder> = w
            .pre_issuance
            .iter()
            .map(|(to, e, trade)| Holder {
                account: *to,
                transferable: false,
                transfers: 0,
                max_units: if *trade { e.0 / unit } else { e.0 / unit + 1 },
            })
            .collect();
        holders.push(Holder {
            account: owner,
            transferable: true,
            transfers: 0,
            max_units: (energy.0 - allocated) / unit + 1,
        });
        w.holders = holders;
        w.issued = true;
        Ok("issuance")
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "issue the certificates of {} in {}", self.device, self.interval)
    }
}
