//! `DeclareExclusion`: the regulator declares a device's output in an interval used in another
//! scheme (for example CCER). Issuance of that output is blocked, certificates already issued
//! for it and not yet retired are frozen, and its energy still in the carry is taken out (or,
//! if it already went into a later certificate, that certificate is frozen): rule 3, no double
//! scheme. The regulator later unfreezes or cancels frozen certificates (`ResolveFrozen`).

use super::issuance::take_carry;
use super::Kind;
use crate::bundle::split_off;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Freezes the certificates `serials` of a later reading `target`, which hold carried energy of
/// an excluded reading; returns how many were active and are frozen now.
fn freeze_serials<V: StateView>(
    r: &mut Rules<'_, V>,
    device: &DeviceId,
    target: (Channel, Timestamp),
    serials: &BTreeSet<Serial>,
    d: &mut Decision,
) -> Result<u64, Rejection> {
    let Some(mut reading) = r.view.reading(device, target.0, target.1)? else {
        return Ok(0);
    };
    // Bundles as this decision has changed them so far.
    let mut bundles: BTreeMap<BundleId, Bundle> = BTreeMap::new();
    for id in &reading.bundles {
        bundles.insert(*id, r.bundle(*id)?);
    }
    let mut frozen = 0;
    for serial in serials {
        let one = SerialRange { start: *serial, end: Serial(serial.0 + 1) };
        let Some(b) = bundles.values().find(|b| b.serials.contains(&one) && b.state == BundleState::Active).cloned()
        else {
            continue;
        };
        let mut pieces = Vec::new();
        let (piece, new_ids) = split_off(&mut r.meta, &b, one, r.ctx, &mut pieces)?;
        reading.bundles.extend(new_ids);
        let piece = piece.frozen(r.ctx.index).expect("active");
        d.made(Change::Frozen { bundle: piece.id, serials: one });
        pieces.push(Effect::Bundle(piece));
        for e in pieces {
            if let Effect::Bundle(b) = &e {
                bundles.insert(b.id, b.clone());
            }
        }
        frozen += 1;
    }
    for b in bundles.into_values() {
        d.effects.push(Effect::Bundle(b));
    }
    d.effects.push(Effect::Reading(reading));
    d.effects.push(Effect::Meta(r.meta.clone()));
    Ok(frozen)
}

/// Regulator: the device's output in this interval is used in another scheme.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct DeclareExclusion {
    pub device: DeviceId,
    pub interval: Interval,
    pub scheme: String,
}

impl Kind for DeclareExclusion {
    const ROLE: Option<Role> = Some(Role::Regulator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let DeclareExclusion { device: device_id, interval, scheme } = self;
        let interval = *interval;
        check_text("scheme", scheme, false)?;
        if !interval.is_valid() {
            return refuse(Refusal::BadInterval { interval });
        }
        let mut device = r.device(device_id)?;
        device.exclusions.push(Exclusion { interval, scheme: scheme.to_string(), entry: r.ctx.index });
        let mut d = Decision::default();
        d.say(format!("output of {device_id} in {interval} is declared used in {scheme:?}; issuance blocked"));
        d.made(Change::Exclusion { device: device_id.clone(), interval, scheme: scheme.clone() });
        let mut frozen = 0u64;
        let mut excluded = Wh::ZERO;
        let mut inside = BTreeSet::new();
        let mut later: BTreeMap<(Channel, Timestamp), BTreeSet<Serial>> = BTreeMap::new();
        for channel in [Channel::Export, Channel::SelfUse, Channel::StorageDischarge] {
            for mut reading in r.view.readings_overlapping(device_id, channel, interval)? {
                inside.insert((channel, reading.interval.start));
                for bid in &reading.bundles {
                    if let Some(b) = r.bundle(*bid)?.frozen(r.ctx.index) {
                        frozen += b.serials.len();
                        d.made(Change::Frozen { bundle: b.id, serials: b.serials });
                        d.effects.push(Effect::Bundle(b));
                    }
                }
                // Excluded energy never reaches a later certificate: its carry is taken out, and
                // a later certificate it already went into is frozen too.
                let taken = take_carry(&mut device, &reading, Wh(u64::MAX));
                reading.excluded = reading.excluded.checked_add(taken).ok_or(Refusal::Overflow("excluded"))?;
                excluded = excluded.checked_add(taken).ok_or(Refusal::Overflow("excluded"))?;
                for into in &reading.carried_into {
                    later.entry((into.channel, into.reading)).or_default().insert(into.serial);
                }
                if taken > Wh::ZERO {
                    d.effects.push(Effect::Reading(reading));
                }
            }
        }
        for (target, serials) in later.iter().filter(|(t, _)| !inside.contains(*t)) {
            frozen += freeze_serials(r, device_id, *target, serials, &mut d)?;
        }
        if frozen > 0 {
            d.say(format!("froze {frozen} certificates not yet retired"));
        }
        if excluded > Wh::ZERO {
            d.say(format!("took {excluded} of excluded energy out of the carry; no later certificate will hold it"));
        }
        d.effects.push(Effect::Device(device));
        Ok(d)
    }

    /// An exclusion of the claimed output freezes the claimed certificates: it belongs in the
    /// lineage only if the regulator unfroze them later (checked at the retirement).
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        let claimed_output = match (&w.device, w.reading) {
            (Some((d, ..)), Some((_, iv, _))) => *d == self.device && iv.overlaps(&self.interval),
            _ => false,
        };
        if !claimed_output || !w.issued {
            return w.out_of_place(step, "declare-exclusion");
        }
        w.has_role(step.index, &step.signer, Role::Regulator, "the exclusion's signer")?;
        w.frozen = true;
        Ok("exclusion")
    }
}

impl fmt::Display for DeclareExclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "declare the output of {} in {} used in {:?}", self.device, self.interval, self.scheme)
    }
}
