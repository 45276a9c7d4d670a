//! `Genesis`: the first entry of every log. It fixes the policy, and its signer becomes the
//! operator. No role: there is no ledger yet to hold one.

use super::Kind;
use crate::crypto::Authenticated;
use crate::policy::{Policy, PolicyV1};
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, refuse, Change, Context, Decision, Outcome, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// First entry of every log: fixes the policy; its signer becomes the operator.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Genesis {
    pub policy: Policy,
    pub operator_name: String,
}

impl Genesis {
    /// Founds the ledger: the rules of a genesis entry on an empty state.
    pub(crate) fn found(&self, cmd: &Authenticated, ctx: Context) -> Outcome {
        found(&self.policy, &self.operator_name, false, cmd, ctx)
    }
}

/// The first genesis format, with the fields of [`PolicyV1`]; read as the [`Policy`] those
/// ledgers were kept by. New ledgers are founded with [`Genesis`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct GenesisV1 {
    pub policy: PolicyV1,
    pub operator_name: String,
}

impl GenesisV1 {
    pub(crate) fn found(&self, cmd: &Authenticated, ctx: Context) -> Outcome {
        found(&self.policy.clone().into(), &self.operator_name, true, cmd, ctx)
    }
}

fn found(policy: &Policy, operator_name: &str, first_format: bool, cmd: &Authenticated, ctx: Context) -> Outcome {
    if let Some(problem) = policy.problem() {
        return refuse(Refusal::BadPolicy(problem));
    }
    check_text("operator name", operator_name, false)?;
    let operator = cmd.body().signer;
    let mut d = Decision::default();
    d.effects.push(Effect::Meta(Meta {
        policy: policy.clone(),
        operator,
        next_serial: 1,
        next_bundle: 1,
        next_claim: 1,
        amendments: Vec::new(),
        first_format,
    }));
    d.effects.push(Effect::Account(Account {
        id: operator,
        name: operator_name.to_string(),
        roles: Roles::of(&[Role::Operator]),
        registered: ctx.index,
        consumed: Wh::ZERO,
        claimed: Wh::ZERO,
        metered: None,
    }));
    d.effects.push(crate::rules::nonce_effect(cmd.body(), NonceRecord { entry: ctx.index, command_hash: cmd.hash() }));
    d.say(format!("genesis of ledger {}: {}", policy.name, policy.describe()));
    d.say(format!("operator {operator_name} is {}", operator.short()));
    d.made(Change::Genesis { ledger: policy.name.clone() });
    d.made(Change::Account { account: operator });
    Ok(d)
}

impl Kind for GenesisV1 {
    const ROLE: Option<Role> = None;

    fn decide<V: StateView>(&self, _: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        refuse(Refusal::GenesisTwice)
    }

    fn lineage(&self, walk: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        walk.out_of_place(step, "genesis")
    }
}

impl fmt::Display for GenesisV1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "genesis of ledger {} operated by {:?}", self.policy.name, self.operator_name)
    }
}

impl Kind for Genesis {
    const ROLE: Option<Role> = None;

    /// A ledger that has a state already has its genesis.
    fn decide<V: StateView>(&self, _: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        refuse(Refusal::GenesisTwice)
    }

    /// The genesis is checked before the walk, as entry 0; anywhere else it is out of place.
    fn lineage(&self, walk: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        walk.out_of_place(step, "genesis")
    }
}

impl fmt::Display for Genesis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "genesis of ledger {} operated by {:?}", self.policy.name, self.operator_name)
    }
}
