//! What every way of issuing shares: turning a reading's energy into certificates, whole units
//! to each recipient, the rest carried per holder, origin and class to that holder's next
//! issuance; the supplementary issuance of an upward correction; and the claw-back of a downward
//! one. Rule 13 (issuance), and rules 3 and 8 where the carry is concerned: a carry part always
//! names its reading, so excluded or clawed-back energy can be taken out of it again.

use crate::bundle::split_off;
use crate::policy::Class;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use std::collections::BTreeMap;

/// One recipient's share of a reading.
struct Group {
    holder: AccountId,
    origin: Origin,
    energy: Wh,
}

/// Channels whose readings get certificates (or are counted as getting none by their class).
pub(crate) fn certificate_channel(channel: Channel) -> bool {
    matches!(channel, Channel::Export | Channel::SelfUse | Channel::StorageDischarge)
}

/// Readings a decision has changed so far, by channel and start: a decision that issues several
/// readings (a monthly run) writes the carry of one into another, so each must see the others'
/// changes, not their stored versions. The caller writes them all at the end ([`Touched::write`]).
#[derive(Default)]
pub(crate) struct Touched(BTreeMap<(Channel, Timestamp), Reading>);

impl Touched {
    /// The reading as this decision has it: changed here, or as stored.
    pub(crate) fn take<V: StateView>(
        &mut self,
        r: &Rules<'_, V>,
        device: &DeviceId,
        channel: Channel,
        start: Timestamp,
    ) -> Result<Option<Reading>, Rejection> {
        match self.0.remove(&(channel, start)) {
            Some(x) => Ok(Some(x)),
            None => Ok(r.view.reading(device, channel, start)?),
        }
    }
    pub(crate) fn put(&mut self, reading: Reading) {
        self.0.insert((reading.channel, reading.interval.start), reading);
    }
    pub(crate) fn write(self, d: &mut Decision) {
        for (_, reading) in self.0 {
            d.effects.push(Effect::Reading(reading));
        }
    }
}

/// Issues the certificates of `reading` for the first time. The caller has checked who asks
/// and that the reading is unissued and not excluded; effects for the reading and the device
/// are the caller's to push.
pub(crate) fn issue_reading<V: StateView>(
    r: &mut Rules<'_, V>,
    device: &mut Device,
    reading: &mut Reading,
    touched: &mut Touched,
    d: &mut Decision,
) -> Result<(), Rejection> {
    if !certificate_channel(reading.channel) {
        return refuse(Refusal::Issuance(format!("{} readings never get certificates", reading.channel)));
    }
    let class = r.policy().classes.class_of(&device.facts(), reading.channel);
    reading.class = Some(class);
    let mut groups = Vec::new();
    match reading.channel {
        Channel::Export => {
            for a in reading.direct.iter().chain(reading.trades.iter()) {
                groups.push(Group { holder: a.to, origin: a.origin, energy: a.energy });
            }
            let allocated = reading.allocated().ok_or(Refusal::Overflow("allocated energy"))?;
            let mut own = reading.energy.checked_sub(allocated).ok_or(Refusal::Overflow("generator energy"))?;
            // Storage charge of the same time is netted off the owner's share; what exceeds it
            // is owed by the device.
            let mut charge = Wh::ZERO;
            for mut c in r.view.readings_overlapping(&device.id, Channel::StorageCharge, reading.interval)? {
                let open = c.energy.checked_sub(c.netted).unwrap_or(Wh::ZERO);
                charge = charge.checked_add(open).ok_or(Refusal::Overflow("storage charge"))?;
                c.netted = c.energy;
                d.effects.push(Effect::Reading(c));
            }
            let net = charge.min(own);
            own = Wh(own.0 - net.0);
            reading.netted = net;
            device.deficit = device.deficit.checked_add(Wh(charge.0 - net.0)).ok_or(Refusal::Overflow("deficit"))?;
            if charge > Wh::ZERO {
                d.say(format!("netted {net} of storage charge off {}", reading.interval));
            }
            groups.push(Group { holder: device.owner, origin: Origin::Issued, energy: own });
        }
        Channel::SelfUse => {
            let user = device.attributes.user.unwrap_or(device.owner);
            groups.push(Group { holder: user, origin: Origin::SelfUse, energy: reading.energy });
        }
        _ => groups.push(Group { holder: device.owner, origin: Origin::Issued, energy: reading.energy }),
    }
    let issuance = grant(r, device, reading, class, groups, touched, d)?;
    reading.issuance = Some(issuance);
    Ok(())
}

/// The supplementary issuance of an upward correction by `extra`: to the owner (or self-use
/// user), after settling the device's deficit.
pub(crate) fn issue_supplement<V: StateView>(
    r: &mut Rules<'_, V>,
    device: &mut Device,
    reading: &mut Reading,
    extra: Wh,
    d: &mut Decision,
) -> Result<(), Rejection> {
    let class = reading.class.unwrap_or(Class::Tradable);
    let group = match reading.channel {
        Channel::SelfUse => {
            Group { holder: device.attributes.user.unwrap_or(device.owner), origin: Origin::SelfUse, energy: extra }
        }
        _ => Group { holder: device.owner, origin: Origin::Issued, energy: extra },
    };
    let mut touched = Touched::default();
    let issuance = grant(r, device, reading, class, vec![group], &mut touched, d)?;
    touched.write(d);
    reading.supplements.push(issuance);
    Ok(())
}

/// Issues each group's energy plus its carry; returns the issuance record.
fn grant<V: StateView>(
    r: &mut Rules<'_, V>,
    device: &mut Device,
    reading: &mut Reading,
    class: Class,
    groups: Vec<Group>,
    touched: &mut Touched,
    d: &mut Decision,
) -> Result<Issuance, Rejection> {
    let unit = r.policy().unit_wh;
    let expires = r.policy().expires(reading.interval);
    let first_serial = r.meta.next_serial;
    let (mut carry_in, mut carry_out, mut handed) = (Wh::ZERO, Wh::ZERO, Wh::ZERO);
    let mut carried_from = Vec::new();
    for mut g in groups {
        // The device's deficit is settled from the owner's own share first.
        if g.origin == Origin::Issued && g.holder == device.owner && device.deficit > Wh::ZERO {
            let pay = device.deficit.min(g.energy);
            device.deficit = Wh(device.deficit.0 - pay.0);
            g.energy = Wh(g.energy.0 - pay.0);
            reading.paid = reading.paid.checked_add(pay).ok_or(Refusal::Overflow("paid"))?;
            d.say(format!("{pay} of {} settled the device's deficit", reading.interval));
        }
        if class == Class::None {
            reading.uncertified = reading.uncertified.checked_add(g.energy).ok_or(Refusal::Overflow("uncertified"))?;
            continue;
        }
        if g.energy == Wh::ZERO {
            continue;
        }
        handed = handed.checked_add(g.energy).ok_or(Refusal::Overflow("issued energy"))?;
        let same = |p: &CarryPart| p.holder == g.holder && p.origin == g.origin && p.class == class;
        let carried = Wh(device.carry.iter().filter(|p| same(p)).map(|p| p.energy.0).sum());
        let total = carried.checked_add(g.energy).ok_or(Refusal::Overflow("carry"))?;
        let units = total.0 / unit;
        let here = CarryPart {
            holder: g.holder,
            origin: g.origin,
            class,
            channel: reading.channel,
            reading: reading.interval.start,
            energy: Wh(total.0 % unit),
        };
        if units == 0 {
            // Not a whole certificate yet: this reading's share joins the carry.
            device.carry.push(CarryPart { energy: g.energy, ..here });
            carry_out = carry_out.checked_add(g.energy).ok_or(Refusal::Overflow("carry"))?;
            continue;
        }
        let start = r.meta.next_serial;
        let end = start.checked_add(units).ok_or(Refusal::Overflow("serial numbers"))?;
        // The carry of earlier readings is in the first certificate; each part notes where it went.
        let (used, kept): (Vec<CarryPart>, Vec<CarryPart>) = device.carry.drain(..).partition(|p| same(p));
        device.carry = kept;
        for p in used {
            let into = CarriedInto {
                channel: reading.channel,
                reading: reading.interval.start,
                serial: Serial(start),
                energy: p.energy,
            };
            if (p.channel, p.reading) == (reading.channel, reading.interval.start) {
                reading.carried_into.push(into);
            } else {
                let Some(mut source) = touched.take(r, &device.id, p.channel, p.reading)? else {
                    return refuse(Refusal::Issuance(format!(
                        "the carry names a reading of {} at {} that is missing",
                        device.id, p.reading
                    )));
                };
                source.carried_into.push(into);
                touched.put(source);
            }
            carry_in = carry_in.checked_add(p.energy).ok_or(Refusal::Overflow("carry"))?;
            carried_from.push(p);
        }
        if here.energy > Wh::ZERO {
            carry_out = carry_out.checked_add(here.energy).ok_or(Refusal::Overflow("carry"))?;
            device.carry.push(here);
        }
        let id = BundleId(r.meta.next_bundle);
        r.meta.next_bundle += 1;
        r.meta.next_serial = end;
        let bundle = Bundle {
            id,
            device: device.id.clone(),
            channel: reading.channel,
            production: reading.interval,
            serials: SerialRange::new(start, end),
            owner: g.holder,
            state: BundleState::Active,
            origin: g.origin,
            class,
            transferable: g.origin == Origin::Issued && class == Class::Tradable,
            transfers: 0,
            expires,
            parent: None,
            history: vec![r.ctx.index],
        };
        d.say(format!(
            "issued {units} {class} certificates {} as bundle {id} to {} ({}), valid until {expires}",
            bundle.serials,
            g.holder.short(),
            g.origin.name()
        ));
        d.made(Change::Bundle { bundle: id, owner: g.holder, serials: bundle.serials, origin: g.origin, from: None });
        reading.bundles.push(id);
        d.effects.push(Effect::Bundle(bundle));
    }
    if carry_out > Wh::ZERO {
        d.made(Change::Carry { device: device.id.clone(), energy: device.carried() });
    }
    Ok(Issuance {
        entry: r.ctx.index,
        serials: SerialRange::new(first_serial, r.meta.next_serial),
        carry_in,
        carry_out,
        energy: handed,
        carried_from,
    })
}

/// Takes `reading`'s parts out of the device's carry; returns the energy removed.
pub(crate) fn take_carry(device: &mut Device, reading: &Reading, limit: Wh) -> Wh {
    let mut taken = Wh::ZERO;
    for p in device.carry.iter_mut() {
        if (p.channel, p.reading) == (reading.channel, reading.interval.start) && taken < limit {
            let t = p.energy.min(Wh(limit.0 - taken.0));
            p.energy = Wh(p.energy.0 - t.0);
            taken = Wh(taken.0 + t.0);
        }
    }
    device.carry.retain(|p| p.energy > Wh::ZERO);
    taken
}

/// What a downward correction took back.
pub(crate) struct ClawBack {
    pub clawed: Wh,
    pub deficit: Wh,
    pub claims: Vec<ClaimId>,
}

/// Takes `delta` back from an issued reading: its carry first, then its certificates that are
/// not retired (the owner's first, then other holders'; whole certificates, the excess of the
/// last returned to the carry), and what is left becomes a deficit of the device, with the
/// claims on the reading's certificates named.
pub(crate) fn claw_back<V: StateView>(
    r: &mut Rules<'_, V>,
    device: &mut Device,
    reading: &mut Reading,
    delta: Wh,
    d: &mut Decision,
) -> Result<ClawBack, Rejection> {
    let unit = r.policy().unit_wh;
    if reading.class == Some(Class::None) {
        let from_uncertified = delta.min(reading.uncertified);
        reading.uncertified = Wh(reading.uncertified.0 - from_uncertified.0);
        let rest = Wh(delta.0 - from_uncertified.0);
        device.deficit = device.deficit.checked_add(rest).ok_or(Refusal::Overflow("deficit"))?;
        return Ok(ClawBack { clawed: from_uncertified, deficit: rest, claims: Vec::new() });
    }
    let mut clawed = take_carry(device, reading, delta);
    let mut left = Wh(delta.0 - clawed.0);
    let mut bundles = Vec::new();
    for id in &reading.bundles {
        if let Some(b) = r.view.bundle(*id)? {
            bundles.push(b);
        }
    }
    // The owner's own certificates first.
    bundles.sort_by_key(|b| (b.owner != device.owner, b.serials.start));
    let mut claims = Vec::new();
    for b in bundles {
        if left == Wh::ZERO {
            break;
        }
        if let BundleState::Retired(c) = b.state {
            claims.push(c);
            continue;
        }
        if !matches!(b.state, BundleState::Active | BundleState::Frozen) {
            continue;
        }
        let units = left.0.div_ceil(unit).min(b.serials.len());
        let range = SerialRange::new(b.serials.start.0, b.serials.start.0 + units);
        let (piece, new_ids) = split_off(&mut r.meta, &b, range, r.ctx, &mut d.effects)?;
        reading.bundles.extend(new_ids);
        let piece = piece.withdrawn().map_err(|_| Refusal::Overflow("withdraw state"))?;
        d.made(Change::Withdrawn { bundle: piece.id, serials: range });
        d.say(format!("clawed back {} certificates {range} of bundle {} from {}", units, b.id, b.owner.short()));
        let energy = Wh(units.saturating_mul(unit));
        let taken = energy.min(left);
        if energy > taken {
            // A whole certificate was withdrawn for part of one: the rest goes back to its holder's carry.
            device.carry.push(CarryPart {
                holder: b.owner,
                origin: b.origin,
                class: b.class,
                channel: reading.channel,
                reading: reading.interval.start,
                energy: Wh(energy.0 - taken.0),
            });
        }
        d.effects.push(Effect::Bundle(piece));
        clawed = Wh(clawed.0 + taken.0);
        left = Wh(left.0 - taken.0);
    }
    if left > Wh::ZERO {
        device.deficit = device.deficit.checked_add(left).ok_or(Refusal::Overflow("deficit"))?;
    } else {
        claims.clear();
    }
    Ok(ClawBack { clawed, deficit: left, claims })
}
