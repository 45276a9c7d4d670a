//! `Transfer`: the owner moves part or all of a bundle to another account. Rule 4 (one owner per
//! certificate), rule 5 and 6 (no use after retirement, withdrawal or expiry) and rule 7 (the
//! transfer limit; certificates that came by direct supply or trade never move) are checked here.

use super::Kind;
use crate::proof::walk::{disjoint, Holder, Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Owner: move part or all of a bundle to another account.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Transfer {
    pub bundle: BundleId,
    pub serials: SerialRange,
    pub to: AccountId,
}

impl Kind for Transfer {
    /// Only the bundle's owner may move it, which the rules check.
    const ROLE: Option<Role> = None;

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let Transfer { bundle: id, serials, to } = self;
        let (id, serials) = (*id, *serials);
        let bundle = r.usable_bundle(id, serials)?;
        if !bundle.transferable {
            return refuse(Refusal::NotTransferable { bundle: id, origin: bundle.origin.name() });
        }
        if let Some(limit) = r.policy().max_transfers {
            if bundle.transfers >= limit {
                return refuse(Refusal::TransferLimit { bundle: id, transfers: bundle.transfers, limit });
            }
        }
        if *to == r.signer.id {
            return refuse(Refusal::SamePartyTwice { account: to.short(), action: "transfer certificates" });
        }
        let recipient = match r.view.account(to)? {
            Some(a) => a,
            None => return refuse(Refusal::UnknownAccount { account: to.short() }),
        };
        let mut d = Decision::default();
        let moved = r.split(&bundle, serials, &mut d.effects)?.transferred_to(*to);
        d.say(format!(
            "transferred {} certificates {} of bundle {id} to {} ({}) as bundle {}",
            serials.len(),
            serials,
            recipient.name,
            to.short(),
            moved.id
        ));
        d.made(Change::Bundle { bundle: moved.id, owner: *to, serials, origin: moved.origin, from: Some(id) });
        d.effects.push(Effect::Bundle(moved));
        d.effects.push(Effect::Meta(r.meta.clone()));
        Ok(d)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        if !w.issued || step.last {
            return w.out_of_place(step, "transfer");
        }
        let (index, claimed) = (step.index, w.claimed);
        if w.frozen {
            return Walk::fail(index, "a transfer of certificates an exclusion froze and nobody unfroze");
        }
        let h = w.owner_signed(index, &step.signer, "the transfer")?;
        if !self.serials.contains(&claimed) {
            disjoint(index, &self.serials, &claimed)?;
            return Ok("split");
        }
        if !h.transferable {
            return Walk::fail(index, "a transfer of certificates that came with direct supply or a green-power trade");
        }
        if let Some(limit) = w.policy.max_transfers {
            if h.transfers >= limit {
                return Walk::fail(
                    index,
                    format!("transfer number {} exceeds the policy limit of {limit}", h.transfers + 1),
                );
            }
        }
        if self.to == step.signer {
            return Walk::fail(index, "a transfer to oneself");
        }
        w.not_expired(index, step.time, "the transfer")?;
        w.holders = vec![Holder {
            account: self.to,
            transferable: true,
            transfers: h.transfers + 1,
            max_units: self.serials.len(),
        }];
        w.transfers += 1;
        Ok("transfer")
    }
}

impl fmt::Display for Transfer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transfer certificates {} of bundle {} to {}", self.serials, self.bundle, self.to.short())
    }
}
