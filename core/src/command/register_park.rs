//! `RegisterPark`: the operator registers a park (零碳园区): its name, province and members,
//! each with the province of its site, all members from `since`. Later changes of membership
//! carry their own dates (`ChangePark`). Park statements read the membership of each hour.

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

/// Most members a park may have.
pub const MAX_MEMBERS: usize = 1000;

/// One member at registration: the account and the province (or grid region) of its site.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Site {
    pub account: AccountId,
    pub province: String,
}

/// Operator: registers a park with its members.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RegisterPark {
    pub park: ParkId,
    pub name: String,
    pub province: String,
    pub since: Timestamp,
    pub members: Vec<Site>,
}

impl Kind for RegisterPark {
    const ROLE: Option<Role> = Some(Role::Operator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let RegisterPark { park, name, province, since, members } = self;
        if !park.is_well_formed() {
            return refuse(Refusal::Membership {
                park: park.0.clone(),
                reason: "a park code is 1 to 64 ASCII letters, digits, '-', '_' or '.'".into(),
            });
        }
        check_text("park name", name, false)?;
        check_text("province", province, false)?;
        if r.view.park(park)?.is_some() {
            return refuse(Refusal::ParkExists(park.0.clone()));
        }
        if members.len() > MAX_MEMBERS {
            return refuse(Refusal::Membership {
                park: park.0.clone(),
                reason: format!("{} members, at most {MAX_MEMBERS}", members.len()),
            });
        }
        let mut list: Vec<Member> = Vec::new();
        for m in members {
            check_text("member province", &m.province, false)?;
            r.account_with_role(&m.account, Role::Consumer, "be a park member")?;
            if list.iter().any(|x| x.account == m.account) {
                return refuse(Refusal::Membership {
                    park: park.0.clone(),
                    reason: format!("{} is listed twice", m.account.short()),
                });
            }
            list.push(Member { account: m.account, province: m.province.clone(), from: *since, until: None });
        }
        let mut d = Decision::default();
        d.say(format!("registered park {park} ({name}, {province}) with {} members from {since}", list.len()));
        d.effects.push(Effect::Park(Park {
            id: park.clone(),
            name: name.clone(),
            province: province.clone(),
            members: list,
            registered: r.ctx.index,
            changes: Vec::new(),
        }));
        Ok(d)
    }

    /// Parks are not part of a certificate's lineage.
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        w.out_of_place(step, "register-park")
    }
}

impl fmt::Display for RegisterPark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "register park {} ({}, {}) with {} members from {}",
            self.park,
            self.name,
            self.province,
            self.members.len(),
            self.since
        )
    }
}
