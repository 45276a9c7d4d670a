//! The lineage walk of [`super::verify`]: a small state machine over a proof's entries in index
//! order. It holds what the entries have established so far (accounts, device, reading,
//! allocations, who may hold the claimed serials); each command kind checks its own entry against
//! it in `command/<kind>.rs` ([`crate::command::Kind::lineage`]) with the helpers here.

use super::ProofFailure;
use crate::command::Entry;
use crate::policy::{Class, Policy};
use crate::state::DeviceAttributes;
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
    /// The genesis policy.
    pub(crate) genesis: &'a Policy,
    pub(crate) ledger: String,
    /// The policy in force at the current entry's time (the genesis one, or an amendment).
    pub(crate) policy: Policy,
    /// Amendments seen so far: effective date and policy.
    pub(crate) amendments: Vec<(Timestamp, Policy)>,
    pub(crate) operator: AccountId,
    pub(crate) claimed: SerialRange,
    /// Accounts whose registration is in the proof, with their roles.
    pub(crate) accounts: BTreeMap<AccountId, Roles>,
    /// The registered device: id, technology, region, owner.
    pub(crate) device: Option<(DeviceId, Technology, String, AccountId)>,
    /// The device's attributes and commissioning date, as registered and changed.
    pub(crate) attributes: DeviceAttributes,
    pub(crate) commissioned: Timestamp,
    /// The claimed reading: energy, interval, device owner; and its channel.
    pub(crate) reading: Option<(Wh, Interval, AccountId)>,
    pub(crate) channel: Channel,
    /// The class the claimed certificates were issued in.
    pub(crate) class: Option<Class>,
    /// The claimed certificates are frozen by an exclusion (and not unfrozen yet).
    pub(crate) frozen: bool,
    /// When the claimed certificates lapse (set at issuance).
    pub(crate) expires: Option<Timestamp>,
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

    /// When the claimed certificates lapse, by the policy in force at their issuance.
    pub(crate) fn expiry(&self) -> Timestamp {
        let (_, interval, _) = self.reading.expect("after the reading");
        self.expires.unwrap_or_else(|| self.policy.expires(interval))
    }

    /// The owner's certificates of the claimed reading are tradable.
    pub(crate) fn owner_transferable(&self) -> bool {
        self.class == Some(Class::Tradable) && self.channel != Channel::SelfUse
    }

    /// The issuance of the claimed reading (by the owner or the issuing body's monthly run):
    /// its class, and who may have received the claimed serials.
    pub(crate) fn issue(&mut self, index: u64, device: &DeviceId) -> Result<(), ProofFailure> {
        let unit = self.policy.unit_wh;
        let Some((energy, interval, owner)) = self.reading else {
            return Self::fail(index, "an issuance without its reading");
        };
        if self.issued {
            return Self::fail(index, "a second issuance");
        }
        let (d, ..) = self.device.clone().expect("after the device");
        if *device != d {
            return Self::fail(index, format!("the issuance is of {device}, not of {d}"));
        }
        let facts = crate::policy::DeviceFacts {
            commissioned: self.commissioned,
            off_grid: self.attributes.off_grid,
            conventional_hydro: self.attributes.conventional_hydro,
            storage: self.attributes.storage,
            hydrogen: self.attributes.hydrogen,
            subsidised: self.attributes.subsidised,
        };
        let class = self.policy.classes.class_of(&facts, self.channel);
        if class == Class::None {
            return Self::fail(
                index,
                format!("{} output of this device gets no certificates under the policy", self.channel),
            );
        }
        self.class = Some(class);
        self.expires = Some(self.policy.expires(interval));
        let allocated = self.pre_issuance.iter().try_fold(0u64, |a, p| a.checked_add(p.1 .0));
        let Some(allocated) = allocated.filter(|a| *a <= energy.0) else {
            return Self::fail(index, format!("direct supply and trades allocate more than the reading's {energy}"));
        };
        // Each recipient of the issuance; a carry-over below one unit may add one unit to
        // each share except whole-unit trades.
        let mut holders: Vec<Holder> = self
            .pre_issuance
            .iter()
            .map(|(to, e, trade)| Holder {
                account: *to,
                transferable: false,
                transfers: 0,
                max_units: if *trade { e.0 / unit } else { e.0 / unit + 1 },
            })
            .collect();
        let own = if self.channel == Channel::SelfUse { self.attributes.user.unwrap_or(owner) } else { owner };
        holders.push(Holder {
            account: own,
            transferable: self.owner_transferable(),
            transfers: 0,
            max_units: (energy.0 - allocated) / unit + 1,
        });
        self.holders = holders;
        self.issued = true;
        Ok(())
    }

    /// The claimed reading (of any kind of reading command): after the device's registration,
    /// once, of the registered device, signed by a meter operator.
    pub(crate) fn reading(
        &mut self,
        step: &Step,
        device: &DeviceId,
        channel: Channel,
        interval: Interval,
        energy: Wh,
    ) -> Result<&'static str, ProofFailure> {
        let Some((d, _, _, owner)) = &self.device else {
            return Self::fail(step.index, "the generation reading comes before its device's registration");
        };
        if self.reading.is_some() {
            return Self::fail(step.index, "a second generation reading");
        }
        if device != d {
            return Self::fail(step.index, format!("the reading is of device {device}, not of the registered {d}"));
        }
        let owner = *owner;
        self.has_role(step.index, &step.signer, Role::MeterOperator, "the reading's signer")?;
        self.reading = Some((energy, interval, owner));
        self.channel = channel;
        Ok("reading")
    }

    /// Puts the policy in force at `time` in place.
    pub(crate) fn policy_at(&mut self, time: Timestamp) {
        let p = self.amendments.iter().rev().find(|(e, _)| *e <= time).map_or(self.genesis, |(_, p)| p);
        if *p != self.policy {
            self.policy = p.clone();
        }
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
        self.policy_at(entry.time);
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
