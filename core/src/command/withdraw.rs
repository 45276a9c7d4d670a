//! `Withdraw`: the regulator removes wrongly issued certificates that are not retired (rule 6).

use super::Kind;
use crate::proof::walk::{disjoint, Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Regulator: remove wrongly issued certificates that are not retired.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Withdraw {
    pub bundle: BundleId,
    pub serials: SerialRange,
    pub reason: String,
}

impl Kind for Withdraw {
    const ROLE: Option<Role> = Some(Role::Regulator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let Withdraw { bundle: id, serials, reason } = self;
        let (id, serials) = (*id, *serials);
        check_text("reason", reason, false)?;
        let bundle = r.bundle(id)?;
        if !bundle.serials.contains(&serials) {
            return refuse(Refusal::SerialsOutsideBundle { bundle: id, serials, held: bundle.serials });
        }
        if bundle.state.withdraw().is_err() {
            return refuse(Refusal::CannotWithdraw { bundle: id, state: bundle.state.name() });
        }
        let mut d = Decision::default();
        let gone = r
            .split(&bundle, serials, &mut d.effects)?
            .withdrawn()
            .map_err(|state| Refusal::CannotWithdraw { bundle: id, state: state.name() })?;
        d.say(format!(
            "withdrew {} certificates {} of bundle {id} as bundle {}: {reason}",
            serials.len(),
            serials,
            gone.id
        ));
        d.made(Change::Withdrawn { bundle: gone.id, serials });
        d.effects.push(Effect::Bundle(gone));
        d.effects.push(Effect::Meta(r.meta.clone()));
        Ok(d)
    }

    /// Another piece of the claimed serials' bundle may be withdrawn on the way; the claimed
    /// serials themselves never are.
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        if !w.issued || step.last {
            return w.out_of_place(step, "withdraw");
        }
        w.has_role(step.index, &step.signer, Role::Regulator, "the withdrawal's signer")?;
        disjoint(step.index, &self.serials, &w.claimed)?;
        Ok("split")
    }
}

impl fmt::Display for Withdraw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "withdraw certificates {} of bundle {}: {:?}", self.serials, self.bundle, self.reason)
    }
}
