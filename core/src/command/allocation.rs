//! What direct supply and green-power trades share: allocating a reading's energy to a consumer.
//! Before issuance the energy is earmarked, and the certificates are issued to the consumer;
//! after issuance (trades only) certificates the generator still holds move to the buyer.
//! Rule 8 (no double attribute) is checked here.

use crate::bundle::take_from_generator;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;

/// Allocates `energy` of `device_id`'s reading in `interval` to `to`: direct supply when `trade`
/// is false, a green-power trade settlement when it is true.
pub(super) fn allocate<V: StateView>(
    r: &mut Rules<'_, V>,
    device_id: &DeviceId,
    to: &AccountId,
    interval: Interval,
    energy: Wh,
    trade: bool,
) -> Result<Decision, Rejection> {
    let device = r.device(device_id)?;
    let needed_for = if trade { "buy green power" } else { "receive direct supply" };
    let recipient = r.account_with_role(to, Role::Consumer, needed_for)?;
    if *to == device.owner {
        return refuse(Refusal::SamePartyTwice { account: to.short(), action: "trade its own output" });
    }
    if energy == Wh::ZERO {
        return refuse(Refusal::ZeroEnergy);
    }
    let unit = r.policy().unit_wh;
    if trade && !energy.0.is_multiple_of(unit) {
        return refuse(Refusal::NotWholeUnits { energy, unit_wh: unit });
    }
    let mut reading = r.reading(device_id, interval)?;
    Rules::<V>::exclusion_overlapping(&device, interval)?;
    let what = if trade { "green-power trade" } else { "direct supply" };
    let origin = if trade { Origin::Trade } else { Origin::DirectSupply };
    let mut d = Decision::default();
    if let Some(issuance) = &reading.issuance {
        if !trade {
            return refuse(Refusal::AttributeAlreadyIssued {
                device: device_id.clone(),
                interval,
                entry: issuance.entry,
            });
        }
        // Certificates exist: they move from the generator to the buyer with the power.
        let units = energy.0 / unit;
        let moved = take_from_generator(r, &mut reading, &device, units, to, origin)?;
        d.effects.extend(moved.effects);
        d.effects.push(Effect::Meta(r.meta.clone()));
        d.say(format!(
            "{what}: {units} certificates of {device_id} in {interval} moved from the generator to {} ({}): {}",
            recipient.name,
            to.short(),
            moved.ranges.iter().map(|m| format!("{} {}", m.bundle, m.serials)).collect::<Vec<_>>().join(", ")
        ));
        for m in moved.ranges {
            d.made(Change::Bundle { bundle: m.bundle, owner: *to, serials: m.serials, origin, from: Some(m.from) });
        }
    } else {
        let asked =
            reading.allocated().and_then(|a| a.checked_add(energy)).ok_or(Refusal::Overflow("allocated energy"))?;
        if asked > reading.energy {
            return refuse(Refusal::AllocationExceedsGeneration {
                device: device_id.clone(),
                interval,
                asked,
                generated: reading.energy,
            });
        }
        let alloc = Allocation { to: *to, energy, entry: r.ctx.index, origin, price: None };
        if trade {
            reading.trades.push(alloc);
        } else {
            reading.direct.push(alloc);
        }
        d.say(format!(
            "{what} of {energy} from {device_id} in {interval} to {} ({}); its certificates will be issued to them",
            recipient.name,
            to.short()
        ));
        d.made(Change::Allocation { device: device_id.clone(), interval, to: *to, energy, origin });
    }
    d.effects.push(Effect::Reading(reading));
    Ok(d)
}
