//! What every meter reading of a device shares: rule 1 (readings of one device and channel never
//! overlap; backfilling a gap is fine), rule 2 (no more than the capacity allows), rule 9 (an
//! hourly policy takes hourly data) and rule 11 (nothing before commissioning or after
//! decommissioning).

use crate::refusal::{Refusal, Rejection};
use crate::rules::{refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;

/// Records a reading of `device_id` on `channel`.
pub(crate) fn post_reading<V: StateView>(
    r: &mut Rules<'_, V>,
    device_id: &DeviceId,
    channel: Channel,
    interval: Interval,
    energy: Wh,
) -> Result<Decision, Rejection> {
    if !channel.is_device_channel() {
        return refuse(Refusal::WrongChannel { channel, what: "device" });
    }
    let mut device = r.device(device_id)?;
    r.check_reading_interval(interval)?;
    check_lifecycle(&device, interval)?;
    check_capacity(&device, interval, energy)?;
    r.no_overlap(device_id, channel, interval)?;
    let mut reading = Reading::posted(device.id.clone(), channel, interval, energy, r.ctx.index);
    let mut d = Decision::default();
    if channel == Channel::StorageCharge {
        // Charge of a time whose export is issued already is owed by the device.
        let issued =
            r.view.readings_overlapping(device_id, Channel::Export, interval)?.iter().any(|e| e.issuance.is_some());
        if issued {
            device.deficit = device.deficit.checked_add(energy).ok_or(Refusal::Overflow("deficit"))?;
            reading.netted = energy;
            d.say(format!(
                "the export of {interval} is issued already: {energy} of storage charge is owed by {device_id}"
            ));
            d.effects.push(Effect::Device(device));
        }
    }
    d.effects.push(Effect::Reading(reading));
    if channel == Channel::Export {
        d.say(format!("generation of {device_id} in {interval}: {energy}"));
        d.made(Change::Generation { device: device_id.clone(), interval, energy });
    } else {
        d.say(format!("{channel} of {device_id} in {interval}: {energy}"));
        d.made(Change::Metered { device: device_id.clone(), channel, interval, energy });
    }
    Ok(d)
}

/// Rule 11: nothing before commissioning, nothing after decommissioning.
pub(crate) fn check_lifecycle(device: &Device, interval: Interval) -> Result<(), Rejection> {
    if interval.start < device.commissioned {
        return refuse(Refusal::BeforeCommissioning {
            device: device.id.clone(),
            interval,
            commissioned: device.commissioned,
        });
    }
    if let Some(at) = device.decommissioned {
        if interval.end > at {
            return refuse(Refusal::Decommissioned { device: device.id.clone(), at, interval });
        }
    }
    Ok(())
}

/// Rule 2: energy <= capacity x duration, computed in u128 so nothing overflows.
pub(crate) fn check_capacity(device: &Device, interval: Interval, energy: Wh) -> Result<(), Rejection> {
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
    Ok(())
}
