//! `IssueMonth`: the issuing body (the operator) issues every unissued reading of a device whose
//! interval starts in one calendar month of the policy's zone, as GEC issuance runs: monthly,
//! from the settled meter data (NEA 2024 No. 67). Readings under an exclusion are skipped and
//! named. The arithmetic is in `command/issuance.rs`.

use super::issuance::{certificate_channel, issue_reading, Touched};
use super::Kind;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{refuse, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Operator (issuing body): issue the readings of `device` that start in `year`-`month`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct IssueMonth {
    pub device: DeviceId,
    pub year: u32,
    pub month: u32,
}

impl IssueMonth {
    /// The month as an interval of the policy's zone, if the month is a real one.
    pub fn period(&self, zone: &crate::policy::Zone) -> Option<Interval> {
        ((1..=12).contains(&self.month) && (1970..=9999).contains(&self.year))
            .then(|| zone.month(self.year as i64, self.month))
    }
}

impl Kind for IssueMonth {
    const ROLE: Option<Role> = Some(Role::Operator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let Some(period) = self.period(&r.policy().zone) else {
            return refuse(Refusal::Issuance(format!("{}-{:02} is not a month", self.year, self.month)));
        };
        if period.end > r.ctx.now {
            return refuse(Refusal::Issuance(format!(
                "{}-{:02} has not ended yet (it ends at {})",
                self.year, self.month, period.end
            )));
        }
        let mut device = r.device(&self.device)?;
        let mut d = Decision::default();
        let (mut issued, mut skipped) = (0usize, Vec::new());
        let mut touched = Touched::default();
        for channel in Channel::ALL.into_iter().filter(|c| certificate_channel(*c)) {
            for stored in r.view.readings_overlapping(&self.device, channel, period)? {
                if stored.issuance.is_some() || stored.interval.start < period.start {
                    continue;
                }
                let mut reading = touched.take(r, &self.device, channel, stored.interval.start)?.unwrap_or(stored);
                if let Some(e) = device.exclusions.iter().find(|e| e.interval.overlaps(&reading.interval)) {
                    skipped.push(format!("{} (excluded for {:?})", reading.interval, e.scheme));
                    continue;
                }
                issue_reading(r, &mut device, &mut reading, &mut touched, &mut d)?;
                touched.put(reading);
                issued += 1;
            }
        }
        if issued == 0 {
            return refuse(Refusal::Issuance(format!(
                "device {} has no unissued reading starting in {}-{:02}{}",
                self.device,
                self.year,
                self.month,
                if skipped.is_empty() { String::new() } else { format!("; skipped {}", skipped.join(", ")) }
            )));
        }
        touched.write(&mut d);
        d.say(format!("issued {issued} readings of {} for {}-{:02}", self.device, self.year, self.month));
        if !skipped.is_empty() {
            d.say(format!("skipped {}", skipped.join(", ")));
        }
        d.effects.push(Effect::Device(device));
        d.effects.push(Effect::Meta(r.meta.clone()));
        Ok(d)
    }

    /// The issuing body's monthly run that issued the claimed reading.
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        w.has_role(step.index, &step.signer, Role::Operator, "the monthly issuance's signer")?;
        let Some((_, iv, _)) = w.reading else {
            return Walk::fail(step.index, "an issuance without its reading");
        };
        let month = self.period(&w.policy.zone);
        if month.is_none_or(|m| iv.start < m.start || iv.start >= m.end) {
            return Walk::fail(
                step.index,
                format!("the monthly issuance of {}-{:02} does not cover the reading {iv}", self.year, self.month),
            );
        }
        w.issue(step.index, &self.device)?;
        Ok("issuance")
    }
}

impl fmt::Display for IssueMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "issue every unissued reading of {} in {}-{:02}", self.device, self.year, self.month)
    }
}
