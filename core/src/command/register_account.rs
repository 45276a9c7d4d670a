//! `RegisterAccount`: the operator admits a participant with roles.

use super::Kind;
use crate::crypto;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Operator: admits a participant with roles.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RegisterAccount {
    pub account: AccountId,
    pub name: String,
    pub roles: Roles,
}

impl Kind for RegisterAccount {
    const ROLE: Option<Role> = Some(Role::Operator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let RegisterAccount { account, name, roles } = self;
        check_text("account name", name, false)?;
        if roles.0 == 0 || !roles.is_valid() {
            return refuse(Refusal::BadRoles(roles.0));
        }
        if !crypto::is_valid_account_key(account) {
            return refuse(Refusal::BadAccountKey { account: account.short() });
        }
        if r.view.account(account)?.is_some() {
            return refuse(Refusal::AccountExists { account: account.short() });
        }
        let mut d = Decision::default();
        d.effects.push(Effect::Account(Account {
            id: *account,
            name: name.to_string(),
            roles: *roles,
            registered: r.ctx.index,
            consumed: Wh::ZERO,
            claimed: Wh::ZERO,
            metered: None,
        }));
        d.say(format!("registered account {name} ({}) with roles {roles}", account.short()));
        d.made(Change::Account { account: *account });
        Ok(d)
    }

    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        w.has_role(step.index, &step.signer, Role::Operator, "the registration signer")?;
        if w.accounts.insert(self.account, self.roles).is_some() || self.account == w.operator {
            return Walk::fail(step.index, format!("account {} is registered twice", self.account.short()));
        }
        Ok("account")
    }
}

impl fmt::Display for RegisterAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "register account {:?} ({}) with roles {}", self.name, self.account.short(), self.roles)
    }
}
