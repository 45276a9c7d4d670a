//! `PostConsumption`: a meter operator records an account's metered consumption over an
//! interval, from all sources. Claims are capped by it (rule 8).

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

/// Meter operator: an account's metered consumption over an interval (all sources).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct PostConsumption {
    pub account: AccountId,
    pub interval: Interval,
    pub energy: Wh,
}

impl Kind for PostConsumption {
    const ROLE: Option<Role> = Some(Role::MeterOperator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let PostConsumption { account: account_id, interval, energy } = self;
        let (interval, energy) = (*interval, *energy);
        let mut account = r.account_with_role(account_id, Role::Consumer, "have consumption metered")?;
        r.check_reading_interval(interval)?;
        // Rule 8: a reading belongs to one reporting period, so that claims of a period draw
        // only on its consumption.
        let period = r.policy().reporting_period(interval.start);
        if interval.end > period.end {
            return refuse(Refusal::ReadingAcrossPeriods { interval, boundary: period.end });
        }
        // Rule 1: readings of an account never overlap; a gap may be filled later. One lookup:
        // only the reading with the latest start before this one's end can overlap it.
        if let Some(prev) = r.view.consumption_before(account_id, interval.end)? {
            if prev.interval.overlaps(&interval) {
                return refuse(Refusal::ReadingOverlap {
                    subject: format!("account {} channel grid-import", account_id.short()),
                    interval,
                    existing: prev.interval,
                });
            }
        }
        account.consumed = account.consumed.checked_add(energy).ok_or(Refusal::Overflow("total consumption"))?;
        account.metered = Some(match account.metered {
            Some(m) => Interval { start: m.start.min(interval.start), end: m.end.max(interval.end) },
            None => interval,
        });
        let mut d = Decision::default();
        d.effects.push(Effect::Consumption(Consumption {
            account: *account_id,
            interval,
            energy,
            entry: r.ctx.index,
            claimed: Wh::ZERO,
        }));
        d.say(format!("consumption of {} ({}) in {interval}: {energy}", account.name, account_id.short()));
        d.effects.push(Effect::Account(account));
        d.made(Change::Consumption { account: *account_id, interval, energy });
        Ok(d)
    }

    /// Consumption is not part of a certificate's lineage.
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        w.out_of_place(step, "post-consumption")
    }
}

impl fmt::Display for PostConsumption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "consumption of {} in {}: {}", self.account.short(), self.interval, self.energy)
    }
}
