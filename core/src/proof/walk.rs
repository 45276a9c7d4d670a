//! The lineage walk of [`super::verify`]: a small state machine over a proof's entries in index
//! order. It holds what the entries have established so far (accounts, device, reading,
//! allocations, who may hold the claimed serials); each command kind checks its own entry against
//! it in `command/<kind>.rs` ([`crate::command::Kind::lineage`]) with the helpers here.

use super::ProofFailure;
use crate::calendar::add_months;
use crate::command::Entry;
use crate::policy::Policy;
use crate::types::*;
use std::collections::BTreeMap;

/// Where an entry stands in the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The entry's index in the log.
    pub index: u64,
    /// Who signed the entry's command.
    pub signer: AccountId,
    /// The sequencer's time of the entry.
    pub time: Timestamp,
    /// True for the last entry of the proof: the claim's retirement.
    pub last: bool,
}

/// One owner candidate of the claimed serials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) account: AccountId,
    pub(crate) transferable: bool,
    pub(crate) transfers: u32,
    /// Most certificates this holder can have received in the step that gave them.
    pub(crate) max_units: u64,
}

/// The lineage walk of [`super::verify`]: a small state machine over the entries in index order.
pub struct Walk<'a> {
    pub(crate) policy: &'a Policy,
    pub(crate) operator: AccountId,
    pub(crate) claimed: SerialRange,
    /// Accounts whose registration is in the proof, with their roles.
    pub(crate) accounts: BTreeMap<AccountId, Roles>,
    /// The registered device: id, technology, region, owner.
    pub(crate) device: Option<(DeviceId, Technology, String, AccountId)>,
    /// The generation reading: energy, interval, device owner.
    pub(crate) reading: Option<(Wh, Interval, AccountId)>,
    /// Allocations before issuance: (recipient, energy, trade?).
    pub(crate) pre_issuance: Vec<(AccountId, Wh, bool)>,
    pub(crate) issued: bool,
    /// Who may hold the claimed serials now; several until an owner's signature settles it.
    pub(crate) holders: Vec<Holder>,
    pub(crate) owners: Vec<AccountId>,
    pub(crate) transfers: usize,
    pub(crate) retired: bool,
}

impl Walk<'_> {
    pub(crate) fn fail<T>(index: u64, check: impl Into<String>) -> Result<T, ProofFailure> {
        Err(ProofFailure::Lineage { index, check: check.into() })
    }

    pub(crate) fn has_role(&self, index: u64, account: &AccountId, role: Role, what: &str) -> Result<(), ProofFailure> {
        let ok = if *account == self.operator {
            role == Role::Operator
        } else {
            self.accounts.get(account).is_some_and(|r| r.has(role))
        };
        if ok {
            Ok(())
        } else {
            Self::fail(index, format!("{what} {} is not shown registered with the {role} role", account.short()))
        }
    }

    pub(crate) fn expiry(&self) -> Timestamp {
        let (_, interval, _) = self.reading.expect("after the reading");
        Timestamp(add_months(interval.end.0, self.policy.validity_months))
    }

    /// The signer acts as owner of the bundle holding the claimed serials: settle who holds them.
    pub(crate) fn owner_signed(&mut self, index: u64, signer: &AccountId, what: &str) -> Result<Holder, ProofFailure> {
        match self.holders.iter().find(|h| h.account == *signer) {
            Some(h) => {
                let h = h.clone();
                if self.owners.last() != Some(&h.account) {
                    self.owners.push(h.account);
                }
                self.holders = vec![h.clone()];
                Ok(h)
            }
            None => Self::fail(
                index,
                format!(
                    "{what} is signed by {}, who did not own the claimed serials then (owner: {})",
                    signer.short(),
                    self.holders.iter().map(|h| h.account.short()).collect::<Vec<_>>().join(" or ")
                ),
            ),
        }
    }

    pub(crate) fn not_expired(&self, index: u64, time: Timestamp, what: &str) -> Result<(), ProofFailure> {
        let expires = self.expiry();
        if time >= expires {
            return Self::fail(index, format!("{what} at {time} after the certificates expired at {expires}"));
        }
        Ok(())
    }

    pub(crate) fn same_output(
        &self,
        index: u64,
        device: &DeviceId,
        interval: &Interval,
        what: &str,
    ) -> Result<(), ProofFailure> {
        let (d, _, _, _) = self.device.as_ref().expect("after the device");
        let (_, iv, _) = self.reading.expect("after the reading");
        if device != d || *interval != iv {
            return Self::fail(
                index,
                format!("{what} is for {device} in {interval}, not the claimed output of {d} in {iv}"),
            );
        }
        Ok(())
    }

    /// Checks one entry through its kind's [`crate::command::Kind::lineage`]; returns its role.
    pub(crate) fn step(&mut self, index: u64, entry: &Entry, last: bool) -> Result<&'static str, ProofFailure> {
        let step = Step { index, signer: entry.signed.body.signer, time: entry.time, last };
        entry.signed.body.command.lineage(self, &step)
    }

    /// Refuses an entry whose kind has no place at this point of the lineage.
    pub fn out_of_place<T>(&self, step: &Step, kind: &str) -> Result<T, ProofFailure> {
        let after = if self.issued {
            "the issuance"
        } else if self.reading.is_some() {
            "the reading"
        } else {
            "genesis"
        };
        Self::fail(step.index, format!("a {kind} entry does not belong here (after {after})"))
    }
}

pub(crate) fn disjoint(index: u64, serials: &SerialRange, claimed: &SerialRange) -> Result<(), ProofFailure> {
    if serials.start < claimed.end && claimed.start < serials.end {
        return Err(ProofFailure::Lineage {
            index,
            check: format!("it moves serials {serials} that partly overlap the claimed {claimed}"),
        });
    }
    Ok(())
}
