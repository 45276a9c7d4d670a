//! `AmendPolicy`: a regulator's dated amendment of the policy. It takes effect at its date and
//! never reaches back: every command is decided under the policy in force at its entry's time
//! ([`crate::state::Meta::policy_at`]), so replay and audit apply it again exactly. The ledger's
//! name and certificate unit never change.

use super::Kind;
use crate::policy::Policy;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Regulator: from `effective` on, `policy` is the ledger's policy.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct AmendPolicy {
    pub effective: Timestamp,
    pub policy: Policy,
    pub reason: String,
}

impl Kind for AmendPolicy {
    const ROLE: Option<Role> = Some(Role::Regulator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let AmendPolicy { effective, policy, reason } = self;
        check_text("reason", reason, false)?;
        let bad = |why: String| refuse(Refusal::BadAmendment(why));
        if *effective < r.ctx.now {
            return bad(format!(
                "it would take effect at {effective}, before now ({}); amendments never reach back",
                r.ctx.now
            ));
        }
        if let Some(last) = r.meta.amendments.last() {
            if *effective < last.effective {
                return bad(format!(
                    "it would take effect at {effective}, before the amendment of entry {} ({})",
                    last.entry, last.effective
                ));
            }
        }
        if let Some(problem) = policy.problem() {
            return bad(problem);
        }
        if policy.name != r.meta.policy.name {
            return bad(format!("the ledger's name {:?} cannot change (to {:?})", r.meta.policy.name, policy.name));
        }
        if policy.unit_wh != r.meta.policy.unit_wh {
            return bad(format!(
                "the certificate unit of {} Wh cannot change (to {})",
                r.meta.policy.unit_wh, policy.unit_wh
            ));
        }
        r.meta.amendments.push(Amendment {
            effective: *effective,
            entry: r.ctx.index,
            policy: policy.clone(),
            reason: reason.clone(),
        });
        let mut d = Decision::default();
        d.say(format!("policy amended from {effective}: {} ({reason:?})", policy.describe()));
        d.made(Change::Amended { effective: *effective });
        d.effects.push(Effect::Meta(r.meta.clone()));
        Ok(d)
    }

    /// The walk applies amendments in effect at each later entry's time.
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        w.has_role(step.index, &step.signer, Role::Regulator, "the amendment's signer")?;
        if self.effective < step.time || self.policy.name != w.ledger || self.policy.unit_wh != w.policy.unit_wh {
            return Walk::fail(step.index, "a policy amendment that reaches back or changes the ledger's name or unit");
        }
        w.amendments.push((self.effective, self.policy.clone()));
        Ok("policy-amendment")
    }
}

impl fmt::Display for AmendPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "amend the policy from {}: {} ({:?})", self.effective, self.policy.describe(), self.reason)
    }
}
