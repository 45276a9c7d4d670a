//! `ResolveFrozen`: the regulator settles certificates an exclusion froze: cancelled when the
//! other scheme used the output (disclosed in the bundle's state and history), or unfrozen when
//! it did not (for example, the other scheme rejected the claim). Rule 3 (no double scheme).

use super::Kind;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Regulator: cancel (`cancel`) or unfreeze a frozen bundle.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ResolveFrozen {
    pub bundle: BundleId,
    pub cancel: bool,
    pub reason: String,
}

impl Kind for ResolveFrozen {
    const ROLE: Option<Role> = Some(Role::Regulator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        check_text("reason", &self.reason, false)?;
        let b = r.bundle(self.bundle)?;
        let serials = b.serials;
        let b = b
            .resolved(self.cancel, r.ctx.index)
            .map_err(|s| Refusal::NotFrozen { bundle: self.bundle, state: s.name() })?;
        let mut d = Decision::default();
        d.say(format!(
            "{} certificates {serials} of bundle {}: {:?}",
            if self.cancel { "cancelled" } else { "unfroze" },
            self.bundle,
            self.reason
        ));
        d.made(Change::Resolved { bundle: self.bundle, serials, cancelled: self.cancel });
        d.effects.push(Effect::Bundle(b));
        Ok(d)
    }

    /// Unfreezing the claimed certificates lifts the freeze of an exclusion before them.
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        w.has_role(step.index, &step.signer, Role::Regulator, "the unfreezing's signer")?;
        if self.cancel || !w.frozen {
            return w.out_of_place(step, "resolve-frozen");
        }
        w.frozen = false;
        Ok("unfreeze")
    }
}

impl fmt::Display for ResolveFrozen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.cancel { "cancel" } else { "unfreeze" };
        write!(f, "{what} the frozen bundle {} ({:?})", self.bundle, self.reason)
    }
}
