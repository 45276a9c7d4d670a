//! `ChangePark`: the operator records a member joining or leaving a park, at a date. Memberships
//! of one account in one park never overlap.

use super::Kind;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, refuse, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A change of membership.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum ParkChange {
    /// `account`, with a site in `province`, is a member from `from`.
    Join { account: AccountId, province: String, from: Timestamp },
    /// `account` is no longer a member from `at`.
    Leave { account: AccountId, at: Timestamp },
}

/// Operator: a member joins or leaves a park.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ChangePark {
    pub park: ParkId,
    pub change: ParkChange,
}

impl Kind for ChangePark {
    const ROLE: Option<Role> = Some(Role::Operator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let Some(mut park) = r.view.park(&self.park)? else {
            return refuse(Refusal::UnknownPark(self.park.0.clone()));
        };
        let bad = |reason: String| refuse(Refusal::Membership { park: self.park.0.clone(), reason });
        let mut d = Decision::default();
        match &self.change {
            ParkChange::Join { account, province, from } => {
                check_text("member province", province, false)?;
                r.account_with_role(account, Role::Consumer, "be a park member")?;
                if let Some(m) =
                    park.members.iter().find(|m| m.account == *account && m.until.is_none_or(|u| u > *from))
                {
                    return bad(format!(
                        "{} is a member from {} already{}",
                        account.short(),
                        m.from,
                        m.until.map_or(String::new(), |u| format!(" until {u}"))
                    ));
                }
                park.members.push(Member { account: *account, province: province.clone(), from: *from, until: None });
                d.say(format!("{} joins park {} from {from} (site in {province})", account.short(), self.park));
            }
            ParkChange::Leave { account, at } => {
                let Some(m) = park.members.iter_mut().find(|m| m.account == *account && m.until.is_none()) else {
                    return bad(format!("{} is not a member now", account.short()));
                };
                if *at <= m.from {
                    return bad(format!("{} joined at {}; it cannot leave at {at}", account.short(), m.from));
                }
                m.until = Some(*at);
                d.say(format!("{} leaves park {} at {at}", account.short(), self.park));
            }
        }
        park.changes.push(r.ctx.index);
        d.effects.push(Effect::Park(park));
        Ok(d)
    }

    /// Parks are not part of a certificate's lineage.
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        w.out_of_place(step, "change-park")
    }
}

impl fmt::Display for ChangePark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.change {
            ParkChange::Join { account, province, from } => {
                write!(f, "{} joins park {} from {from} ({province})", account.short(), self.park)
            }
            ParkChange::Leave { account, at } => write!(f, "{} leaves park {} at {at}", account.short(), self.park),
        }
    }
}
