//! `SettleMonth`: a trading platform's settlement of a device's output to a buyer over a period
//! of many readings, with the quantity and a price in integer fen per MWh (2026 implementing
//! rules, Art. 23). Two markets settle this way:
//!
//! - green-power trading (绿电交易): the certificates go to the buyer with the power;
//! - distributed-generation market trading in a park (分布式发电市场化交易, 隔墙售电): a
//!   distributed unit sells to a neighbouring enterprise over the distribution grid, with a
//!   network charge (过网费). The certificates move with the energy in the same way, and the
//!   delivery must be metered on the buyer's side too: the buyer's metered consumption in the
//!   period must cover the quantity.
//!
//! The quantity is taken from the period's export readings in time order: earmarked before
//! issuance (any Wh; the remainder below a certificate is carried for the buyer), or moved as
//! whole certificates the generator still holds after it. Rule 8 (no double attribute).

use super::Kind;
use crate::bundle::take_from_generator;
use crate::proof::walk::{Holder, Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Trading platform: `energy` of `device`'s output in `period` sold to `buyer` at a price.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct SettleMonth {
    pub device: DeviceId,
    pub period: Interval,
    pub buyer: AccountId,
    pub energy: Wh,
    pub price_fen_per_mwh: u64,
    /// Set for a distributed-generation trade: the network charge (过网费) in fen per MWh.
    pub network_charge_fen_per_mwh: Option<u64>,
}

impl SettleMonth {
    fn origin(&self) -> Origin {
        if self.network_charge_fen_per_mwh.is_some() {
            Origin::Distributed
        } else {
            Origin::Trade
        }
    }
}

impl Kind for SettleMonth {
    const ROLE: Option<Role> = Some(Role::TradingPlatform);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let SettleMonth { device: device_id, period, buyer, energy, price_fen_per_mwh, network_charge_fen_per_mwh } =
            self;
        let (period, energy) = (*period, *energy);
        r.check_past_interval(period)?;
        let device = r.device(device_id)?;
        let origin = self.origin();
        let recipient = r.account_with_role(buyer, Role::Consumer, "buy green power")?;
        if *buyer == device.owner {
            return refuse(Refusal::SamePartyTwice { account: buyer.short(), action: "trade its own output" });
        }
        if energy == Wh::ZERO {
            return refuse(Refusal::ZeroEnergy);
        }
        if origin == Origin::Distributed {
            let metered = metered_consumption(r, buyer, period)?;
            if metered < energy {
                return refuse(Refusal::DeliveryNotMetered { account: buyer.short(), period, asked: energy, metered });
            }
        }
        let unit = r.policy().unit_wh;
        let price = Price { fen_per_mwh: *price_fen_per_mwh, network_charge_fen_per_mwh: *network_charge_fen_per_mwh };
        let mut d = Decision::default();
        let mut left = energy.0;
        let mut taken = 0u64;
        for mut reading in r.view.readings_overlapping(device_id, Channel::Export, period)? {
            if left == 0 {
                break;
            }
            if !period.contains(&reading.interval)
                || device.exclusions.iter().any(|e| e.interval.overlaps(&reading.interval))
            {
                continue;
            }
            let take = if reading.issuance.is_none() {
                let allocated = reading.allocated().ok_or(Refusal::Overflow("allocated energy"))?;
                let take = reading.energy.0.saturating_sub(allocated.0).min(left);
                if take > 0 {
                    reading.trades.push(Allocation {
                        to: *buyer,
                        energy: Wh(take),
                        entry: r.ctx.index,
                        origin,
                        price: Some(price),
                    });
                }
                take
            } else {
                let held = generator_holds(r, &device, &reading)?;
                let units = held.min(left / unit);
                if units > 0 {
                    let moved = take_from_generator(r, &mut reading, &device, units, buyer, origin)?;
                    for m in &moved.ranges {
                        d.made(Change::Bundle {
                            bundle: m.bundle,
                            owner: *buyer,
                            serials: m.serials,
                            origin,
                            from: Some(m.from),
                        });
                    }
                    d.effects.extend(moved.effects);
                }
                units * unit
            };
            if take > 0 {
                left -= take;
                taken += take;
                d.effects.push(Effect::Reading(reading));
            }
        }
        if left > 0 {
            return refuse(Refusal::SettlementExceedsGeneration {
                device: device_id.clone(),
                period,
                asked: energy,
                available: Wh(taken),
            });
        }
        d.effects.push(Effect::Meta(r.meta.clone()));
        d.say(format!(
            "{} of {energy} from {device_id} in {period} to {} ({}) at {} fen/MWh{}; the certificates go with the power",
            origin.name(),
            recipient.name,
            buyer.short(),
            price.fen_per_mwh,
            price.network_charge_fen_per_mwh.map_or(String::new(), |c| format!(", network charge {c} fen/MWh"))
        ));
        d.made(Change::Settled { device: device_id.clone(), period, buyer: *buyer, energy, origin, price });
        Ok(d)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        let Some((reading_energy, iv, owner)) = w.reading else {
            return Walk::fail(step.index, "a settlement before the generation reading");
        };
        let (d, ..) = w.device.clone().expect("after the device");
        if d != self.device || !self.period.contains(&iv) {
            return Walk::fail(
                step.index,
                format!(
                    "the settlement is for {} in {}, not the claimed output of {d} in {iv}",
                    self.device, self.period
                ),
            );
        }
        w.has_role(step.index, &step.signer, Role::TradingPlatform, "the settlement's signer")?;
        let unit = w.policy.unit_wh;
        if !w.issued {
            // The settlement took at most the reading's energy from it.
            w.pre_issuance.push((self.buyer, self.energy.min(reading_energy), false));
            return Ok("settlement");
        }
        let Some(generator) = w.holders.iter().find(|h| h.account == owner && h.transferable).cloned() else {
            return Walk::fail(
                step.index,
                "a settlement after issuance, but the generator no longer held the claimed serials",
            );
        };
        w.not_expired(step.index, step.time, "the settlement")?;
        w.holders.push(Holder {
            account: self.buyer,
            transferable: false,
            transfers: generator.transfers + 1,
            max_units: self.energy.0 / unit,
        });
        Ok("settlement-move")
    }
}

/// Whole certificates of `reading` the device owner still holds, as issued and active.
fn generator_holds<V: StateView>(r: &Rules<'_, V>, device: &Device, reading: &Reading) -> Result<u64, Rejection> {
    let mut held = 0;
    for id in &reading.bundles {
        if let Some(b) = r.view.bundle(*id)? {
            if b.owner == device.owner
                && b.state == BundleState::Active
                && b.origin == Origin::Issued
                && !b.is_expired(r.ctx.now)
            {
                held += b.serials.len();
            }
        }
    }
    Ok(held)
}

/// The buyer's consumption metered by readings inside `period`.
fn metered_consumption<V: StateView>(r: &Rules<'_, V>, account: &AccountId, period: Interval) -> Result<Wh, Rejection> {
    let mut total = Wh::ZERO;
    let mut before = period.end;
    while let Some(c) = r.view.consumption_before(account, before)? {
        if c.interval.end <= period.start {
            break;
        }
        if period.contains(&c.interval) {
            total = total.checked_add(c.energy).ok_or(Refusal::Overflow("consumption"))?;
        }
        before = c.interval.start;
    }
    Ok(total)
}

impl fmt::Display for SettleMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} from {} in {} to {} at {} fen/MWh{}",
            self.origin().name(),
            self.energy,
            self.device,
            self.period,
            self.buyer.short(),
            self.price_fen_per_mwh,
            self.network_charge_fen_per_mwh.map_or(String::new(), |c| format!(", network charge {c} fen/MWh"))
        )
    }
}
