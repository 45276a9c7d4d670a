//! `SettleTrade`: a trading platform records a settled green-power trade (绿电交易). The
//! certificates of that energy go to the buyer with the power (证电合一): issued to the buyer if
//! the reading is not issued yet, moved from the generator if it is. Either way they are not
//! transferable again.

use super::allocation::allocate;
use super::Kind;
use crate::proof::walk::{Holder, Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::Rejection;
use crate::rules::{Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Trading platform: a settled green-power trade (绿电交易); the certificates of this device
/// and interval go to the buyer with the power (证电合一).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct SettleTrade {
    pub device: DeviceId,
    pub interval: Interval,
    pub buyer: AccountId,
    pub energy: Wh,
}

impl Kind for SettleTrade {
    const ROLE: Option<Role> = Some(Role::TradingPlatform);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        allocate(r, &self.device, &self.buyer, self.interval, self.energy, true)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        let SettleTrade { device, interval, buyer, energy } = self;
        let unit = w.policy.unit_wh;
        if !w.issued {
            if w.reading.is_none() {
                return Walk::fail(step.index, "a trade before the generation reading");
            }
            w.same_output(step.index, device, interval, "the trade")?;
            w.has_role(step.index, &step.signer, Role::TradingPlatform, "the trade's signer")?;
            w.pre_issuance.push((*buyer, *energy, true));
            return Ok("trade");
        }
        // After issuance: certificates the generator still holds move to the buyer.
        w.same_output(step.index, device, interval, "the trade settled after issuance")?;
        w.has_role(step.index, &step.signer, Role::TradingPlatform, "the trade's signer")?;
        let (_, _, owner) = w.reading.expect("issued after the reading");
        if !w.holders.iter().any(|h| h.account == owner && h.transferable) {
            return Walk::fail(
                step.index,
                "a trade after issuance, but the generator no longer held the claimed serials",
            );
        }
        w.not_expired(step.index, step.time, "the trade")?;
        let generator = w.holders.iter().find(|h| h.account == owner).cloned().expect("checked");
        w.holders.push(Holder {
            account: *buyer,
            transferable: false,
            transfers: generator.transfers + 1,
            max_units: energy.0 / unit,
        });
        Ok("trade-move")
    }
}

impl fmt::Display for SettleTrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "green-power trade of {} from {} in {} to {}",
            self.energy,
            self.device,
            self.interval,
            self.buyer.short()
        )
    }
}
