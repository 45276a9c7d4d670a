//! Claim proof bundles: everything a third party needs to check a claim (a retirement) offline,
//! with nothing but the ledger's verifier key.
//!
//! A [`ClaimProof`] holds a signed checkpoint and the exact leaves of the claim's lineage, each
//! with its inclusion proof against that checkpoint:
//!
//! - the genesis entry (index 0): the ledger name and the policy (Wh per certificate, validity);
//! - the registrations of the device and of every account whose role matters;
//! - the generation reading, the direct-supply and trade allocations made before issuance;
//! - the issuance;
//! - every later entry in the retired bundle's history (transfers that moved the claimed
//!   serials, splits that cut other serials off the same bundle, trades settled after issuance);
//! - the retirement itself.
//!
//! [`verify`] checks the checkpoint signature, every inclusion proof, every command signature
//! and the lineage: who owned the claimed serials at each step, roles, expiry and quantities.
//! Every field of the bundle is either checked or recomputed and compared, so changing any byte
//! makes verification fail.
//!
//! What cannot be proven offline: serial numbers and ids (bundle, claim) are handed out by
//! counters in the ledger's state, not written in the leaves. The proof therefore identifies a
//! claim by its retirement entry, and links the retirement to the issuance through the owners'
//! signatures and the serial ranges of the commands. That the serials were issued exactly once
//! is what the full audit (`greenledger audit`) checks by replaying every entry.

use crate::calendar::add_months;
use crate::codec;
use crate::command as cmd;
use crate::command::{Command, Entry};
use crate::crypto;
use crate::log::merkle::{self, Hash};
use crate::log::{open_checkpoint, CosignatureVerifier, NoteVerifier};
use crate::policy::Policy;
use crate::types::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Format tag of a claim proof file.
pub const FORMAT: &str = "greenledger-claim-proof/v1";

/// A self-contained proof of one claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimProof {
    pub format: String,
    /// The ledger's verifier key: `name+hash+base64`.
    pub log_key: String,
    /// The signed checkpoint note the inclusion proofs are made against.
    pub checkpoint: String,
    /// The lineage entries in index order.
    pub entries: Vec<ProofEntry>,
    /// What the proof shows, in plain fields; recomputed and compared by [`verify`].
    pub summary: Summary,
    /// Optional: a newer checkpoint and a consistency proof from `checkpoint` to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<Consistency>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofEntry {
    pub index: u64,
    /// Why this entry is in the proof: `genesis`, `account`, `device`, `reading`,
    /// `direct-supply`, `trade`, `issuance`, `transfer`, `split`, `trade-move`, `retirement`.
    pub role: String,
    /// Base64 of the exact leaf bytes.
    pub leaf: String,
    /// Base64 of each 32-byte hash of the RFC 6962 audit path.
    pub inclusion_proof: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Index of the retirement entry: the claim's identity in the log.
    pub claim_entry: u64,
    pub device: String,
    pub technology: String,
    pub region: String,
    pub production_start: String,
    pub production_end: String,
    pub energy_wh: u64,
    pub serial_first: u64,
    pub serial_last: u64,
    pub beneficiary: String,
    pub purpose: String,
    pub consumption_start: String,
    pub consumption_end: String,
    /// Account id (hex) of the claimant.
    pub claimant: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consistency {
    /// A newer signed checkpoint note of the same log.
    pub newer_checkpoint: String,
    /// Base64 hashes of the consistency proof from `checkpoint` to `newer_checkpoint`.
    pub proof: Vec<String>,
}

/// Why a proof was refused. Messages name the entry index and the check that failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofFailure {
    #[error("the proof file is not a valid claim proof: {0}")]
    Malformed(String),
    #[error("unknown proof format {0:?} (expected {FORMAT})")]
    Format(String),
    #[error("the given log key is not a valid verifier key: {0}")]
    BadLogKey(String),
    #[error("the proof is for log key {in_proof}, not the trusted key {given}")]
    LogKeyMismatch { given: String, in_proof: String },
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("newer checkpoint: {0}")]
    NewerCheckpoint(String),
    #[error("consistency proof from the proof's checkpoint to the newer one: {0}")]
    Consistency(String),
    #[error("witnesses: {got} of the trusted witnesses cosigned, {needed} required{detail}")]
    Witnesses { needed: usize, got: usize, detail: String },
    #[error("entry {index}: leaf: {reason}")]
    Leaf { index: u64, reason: String },
    #[error("entry {index}: inclusion proof against the checkpoint (size {size}): {reason}")]
    Inclusion { index: u64, size: u64, reason: String },
    #[error("entry {index}: command signature: {reason}")]
    Signature { index: u64, reason: String },
    #[error("entry {index}: order: {reason}")]
    Order { index: u64, reason: String },
    #[error("entry {index}: lineage check failed: {check}")]
    Lineage { index: u64, check: String },
    #[error("entry {index}: stated role {stated:?}, but the entry is a {derived:?}")]
    Role { index: u64, stated: String, derived: String },
    #[error("summary field {field}: stated {stated:?}, the entries prove {proven:?}")]
    Summary { field: &'static str, stated: String, proven: String },
}

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedClaim {
    pub summary: Summary,
    pub ledger: String,
    /// Size and root of the checkpoint the entries are proven against.
    pub checkpoint_size: u64,
    pub checkpoint_root: Hash,
    /// Size of the newer checkpoint, when a consistency proof was checked.
    pub newer_size: Option<u64>,
    /// Trusted witnesses that cosigned, with their timestamps.
    pub witnesses: Vec<(String, u64)>,
    pub unit_wh: u64,
    /// The ownership chain: account ids (hex) from issuance to the claimant.
    pub owners: Vec<String>,
    pub transfers: usize,
    pub entries: usize,
}

impl VerifiedClaim {
    /// What was proven, in words.
    pub fn describe(&self) -> Vec<String> {
        let s = &self.summary;
        let mut out = vec![
            format!(
                "claim at entry #{} of ledger {} is in the log: {} entries proven against the signed checkpoint of size {} (root {})",
                s.claim_entry,
                self.ledger,
                self.entries,
                self.checkpoint_size,
                B64.encode(self.checkpoint_root)
            ),
            format!(
                "retired {} Wh: certificates #{}..#{} ({} Wh each) for {:?}, purpose {:?}, consumption {} .. {}",
                s.energy_wh, s.serial_first, s.serial_last, self.unit_wh, s.beneficiary, s.purpose, s.consumption_start, s.consumption_end
            ),
            format!(
                "produced by {} device {} in {} from {} to {}, metered by a meter operator and issued by the device's owner",
                s.technology, s.device, s.region, s.production_start, s.production_end
            ),
            format!(
                "ownership: {} ({} transfer{}), every step signed by the owner of the time; claimant {}",
                self.owners.iter().map(|o| short(o)).collect::<Vec<_>>().join(" -> "),
                self.transfers,
                if self.transfers == 1 { "" } else { "s" },
                short(&s.claimant)
            ),
        ];
        if let Some(n) = self.newer_size {
            out.push(format!("the checkpoint is consistent with the newer signed checkpoint of size {n}"));
        }
        if self.witnesses.is_empty() {
            out.push("no witness cosignature was required".into());
        } else {
            let names: Vec<String> = self.witnesses.iter().map(|(n, t)| format!("{n} at {}", Timestamp(*t))).collect();
            out.push(format!("cosigned by witnesses: {}", names.join(", ")));
        }
        out
    }
}

fn short(hex_id: &str) -> String {
    hex_id.chars().take(16).collect()
}

fn b64_hash(s: &str) -> Option<Hash> {
    B64.decode(s).ok()?.try_into().ok()
}

/// Parses a proof file and verifies it; a file that does not parse is refused too.
pub fn verify_json(
    text: &str,
    log_key: &str,
    witnesses: &[CosignatureVerifier],
    min_witnesses: usize,
) -> Result<VerifiedClaim, ProofFailure> {
    let proof: ClaimProof = serde_json::from_str(text).map_err(|e| ProofFailure::Malformed(e.to_string()))?;
    verify(&proof, log_key, witnesses, min_witnesses)
}

/// Verifies a proof made against an older checkpoint, given a newer checkpoint of the same log
/// and a consistency proof between them.
pub fn verify_with_newer(
    proof: &ClaimProof,
    newer_checkpoint: &str,
    consistency_proof: &[Hash],
    log_key: &str,
    witnesses: &[CosignatureVerifier],
    min_witnesses: usize,
) -> Result<VerifiedClaim, ProofFailure> {
    let mut p = proof.clone();
    p.consistency = Some(Consistency {
        newer_checkpoint: newer_checkpoint.to_string(),
        proof: consistency_proof.iter().map(|h| B64.encode(h)).collect(),
    });
    verify(&p, log_key, witnesses, min_witnesses)
}

/// One owner candidate of the claimed serials.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Holder {
    account: AccountId,
    transferable: bool,
    transfers: u32,
    /// Most certificates this holder can have received in the step that gave them.
    max_units: u64,
}

/// Verifies a claim proof offline. `log_key` is the trusted verifier key of the ledger.
pub fn verify(
    proof: &ClaimProof,
    log_key: &str,
    witnesses: &[CosignatureVerifier],
    min_witnesses: usize,
) -> Result<VerifiedClaim, ProofFailure> {
    if proof.format != FORMAT {
        return Err(ProofFailure::Format(proof.format.clone()));
    }
    let verifier = NoteVerifier::parse(log_key.trim()).map_err(|e| ProofFailure::BadLogKey(e.to_string()))?;
    if proof.log_key != log_key.trim() {
        return Err(ProofFailure::LogKeyMismatch {
            given: log_key.trim().to_string(),
            in_proof: proof.log_key.clone(),
        });
    }
    let (cp, opened) =
        open_checkpoint(&proof.checkpoint, &verifier).map_err(|e| ProofFailure::Checkpoint(e.to_string()))?;
    if cp.size == 0 {
        return Err(ProofFailure::Checkpoint("the checkpoint is of an empty log".into()));
    }
    // Witnesses count on the newest checkpoint the proof shows.
    let mut witness_note = opened;
    let mut newer_size = None;
    if let Some(c) = &proof.consistency {
        let (newer, newer_opened) = open_checkpoint(&c.newer_checkpoint, &verifier)
            .map_err(|e| ProofFailure::NewerCheckpoint(e.to_string()))?;
        let hashes = c
            .proof
            .iter()
            .map(|h| b64_hash(h).ok_or_else(|| ProofFailure::Consistency(format!("{h:?} is not base64 of 32 bytes"))))
            .collect::<Result<Vec<_>, _>>()?;
        merkle::verify_consistency(cp.size, newer.size, &cp.root, &newer.root, &hashes)
            .map_err(|e| ProofFailure::Consistency(e.to_string()))?;
        newer_size = Some(newer.size);
        witness_note = newer_opened;
    }
    let cosigned = if witnesses.is_empty() {
        Vec::new()
    } else {
        witness_note.verify_cosignatures(witnesses).map_err(|e| ProofFailure::Witnesses {
            needed: min_witnesses,
            got: 0,
            detail: format!(": {e}"),
        })?
    };
    if cosigned.len() < min_witnesses {
        return Err(ProofFailure::Witnesses { needed: min_witnesses, got: cosigned.len(), detail: String::new() });
    }

    // Leaves: decode, prove inclusion, check order.
    let mut decoded: Vec<(u64, &ProofEntry, Entry)> = Vec::with_capacity(proof.entries.len());
    let mut last: Option<(u64, u64)> = None;
    for pe in &proof.entries {
        let index = pe.index;
        let bytes =
            B64.decode(&pe.leaf).map_err(|e| ProofFailure::Leaf { index, reason: format!("not base64: {e}") })?;
        let hashes = pe
            .inclusion_proof
            .iter()
            .map(|h| {
                b64_hash(h).ok_or_else(|| ProofFailure::Inclusion {
                    index,
                    size: cp.size,
                    reason: format!("{h:?} is not base64 of 32 bytes"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        merkle::verify_inclusion(index, cp.size, &merkle::leaf_hash(&bytes), &hashes, &cp.root)
            .map_err(|e| ProofFailure::Inclusion { index, size: cp.size, reason: e.to_string() })?;
        let entry = codec::decode_leaf(&bytes).map_err(|e| ProofFailure::Leaf { index, reason: e.to_string() })?;
        if let Some((prev, prev_time)) = last {
            if index <= prev {
                return Err(ProofFailure::Order {
                    index,
                    reason: format!("entries must be in strictly increasing index order; it follows entry {prev}"),
                });
            }
            if entry.time.0 < prev_time {
                return Err(ProofFailure::Order {
                    index,
                    reason: format!(
                        "its time {} is before the time {} of entry {prev}",
                        entry.time,
                        Timestamp(prev_time)
                    ),
                });
            }
        }
        last = Some((index, entry.time.0));
        decoded.push((index, pe, entry));
    }

    // Genesis: the ledger name and the policy.
    let Some((0, genesis_pe, genesis)) = decoded.first() else {
        let index = decoded.first().map_or(0, |d| d.0);
        return Err(ProofFailure::Lineage {
            index,
            check: "the first entry of a proof must be the genesis entry #0".into(),
        });
    };
    let (policy, operator) = match &genesis.signed.body.command {
        Command::Genesis(cmd::Genesis { policy, .. }) => (policy.clone(), genesis.signed.body.signer),
        other => {
            return Err(ProofFailure::Lineage {
                index: 0,
                check: format!("entry #0 is a {}, not the genesis", other.kind()),
            })
        }
    };
    if genesis_pe.role != "genesis" {
        return Err(ProofFailure::Role { index: 0, stated: genesis_pe.role.clone(), derived: "genesis".into() });
    }
    if policy.name != cp.origin {
        return Err(ProofFailure::Lineage {
            index: 0,
            check: format!("genesis names ledger {:?} but the checkpoint origin is {:?}", policy.name, cp.origin),
        });
    }
    if policy.unit_wh == 0 {
        return Err(ProofFailure::Lineage { index: 0, check: "the policy's certificate unit is 0 Wh".into() });
    }
    for (index, _, entry) in &decoded {
        crypto::verify(&policy.name, entry.signed.clone())
            .map_err(|e| ProofFailure::Signature { index: *index, reason: e.to_string() })?;
    }
    let Some((claim_index, _, retirement)) = decoded.last() else { unreachable!("genesis is there") };
    let claim_index = *claim_index;
    let Command::Retire(cmd::Retire { serials: claimed, beneficiary, purpose, consumption, .. }) =
        &retirement.signed.body.command
    else {
        return Err(ProofFailure::Lineage {
            index: claim_index,
            check: format!("the last entry must be the retirement, it is a {}", retirement.signed.body.command.kind()),
        });
    };
    let claimed = *claimed;
    if claimed.is_empty() {
        return Err(ProofFailure::Lineage { index: claim_index, check: "the retirement names no serials".into() });
    }

    let mut w = Walk {
        policy: &policy,
        operator,
        claimed,
        accounts: BTreeMap::new(),
        device: None,
        reading: None,
        pre_issuance: Vec::new(),
        issued: false,
        holders: Vec::new(),
        owners: Vec::new(),
        transfers: 0,
        retired: false,
    };
    for (i, (index, pe, entry)) in decoded.iter().enumerate().skip(1) {
        let last = i + 1 == decoded.len();
        let derived = w.step(*index, entry, last)?;
        if pe.role != derived {
            return Err(ProofFailure::Role { index: *index, stated: pe.role.clone(), derived: derived.to_string() });
        }
    }
    if !w.retired {
        return Err(ProofFailure::Lineage { index: claim_index, check: "the retirement was not reached".into() });
    }
    let (device_id, technology, region, _) = w.device.clone().expect("checked by the walk");
    let (_, production, _) = w.reading.expect("checked by the walk");
    let proven = Summary {
        claim_entry: claim_index,
        device: device_id.0.clone(),
        technology: technology.name().to_string(),
        region,
        production_start: production.start.to_string(),
        production_end: production.end.to_string(),
        energy_wh: claimed.len().saturating_mul(policy.unit_wh),
        serial_first: claimed.start.0,
        serial_last: claimed.end.0 - 1,
        beneficiary: beneficiary.clone(),
        purpose: purpose.clone(),
        consumption_start: consumption.start.to_string(),
        consumption_end: consumption.end.to_string(),
        claimant: retirement.signed.body.signer.to_hex(),
    };
    compare_summary(&proof.summary, &proven)?;
    Ok(VerifiedClaim {
        summary: proven,
        ledger: policy.name.clone(),
        checkpoint_size: cp.size,
        checkpoint_root: cp.root,
        newer_size,
        witnesses: cosigned,
        unit_wh: policy.unit_wh,
        owners: w.owners.iter().map(AccountId::to_hex).collect(),
        transfers: w.transfers,
        entries: decoded.len(),
    })
}

fn compare_summary(stated: &Summary, proven: &Summary) -> Result<(), ProofFailure> {
    macro_rules! field {
        ($f:ident) => {
            if stated.$f != proven.$f {
                return Err(ProofFailure::Summary {
                    field: stringify!($f),
                    stated: stated.$f.to_string(),
                    proven: proven.$f.to_string(),
                });
            }
        };
    }
    field!(claim_entry);
    field!(device);
    field!(technology);
    field!(region);
    field!(production_start);
    field!(production_end);
    field!(energy_wh);
    field!(serial_first);
    field!(serial_last);
    field!(beneficiary);
    field!(purpose);
    field!(consumption_start);
    field!(consumption_end);
    field!(claimant);
    debug_assert_eq!(stated, proven);
    Ok(())
}

/// The lineage walk of [`verify`]: a small state machine over the entries in index order.
struct Walk<'a> {
    policy: &'a Policy,
    operator: AccountId,
    claimed: SerialRange,
    /// Accounts whose registration is in the proof, with their roles.
    accounts: BTreeMap<AccountId, Roles>,
    /// The registered device: id, technology, region, owner.
    device: Option<(DeviceId, Technology, String, AccountId)>,
    /// The generation reading: energy, interval, device owner.
    reading: Option<(Wh, Interval, AccountId)>,
    /// Allocations before issuance: (recipient, energy, trade?).
    pre_issuance: Vec<(AccountId, Wh, bool)>,
    issued: bool,
    /// Who may hold the claimed serials now; several until an owner's signature settles it.
    holders: Vec<Holder>,
    owners: Vec<AccountId>,
    transfers: usize,
    retired: bool,
}

impl Walk<'_> {
    fn fail<T>(index: u64, check: impl Into<String>) -> Result<T, ProofFailure> {
        Err(ProofFailure::Lineage { index, check: check.into() })
    }

    fn has_role(&self, index: u64, account: &AccountId, role: Role, what: &str) -> Result<(), ProofFailure> {
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

    fn expiry(&self) -> Timestamp {
        let (_, interval, _) = self.reading.expect("after the reading");
        Timestamp(add_months(interval.end.0, self.policy.validity_months))
    }

    /// The signer acts as owner of the bundle holding the claimed serials: settle who holds them.
    fn owner_signed(&mut self, index: u64, signer: &AccountId, what: &str) -> Result<Holder, ProofFailure> {
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

    fn not_expired(&self, index: u64, time: Timestamp, what: &str) -> Result<(), ProofFailure> {
        let expires = self.expiry();
        if time >= expires {
            return Self::fail(index, format!("{what} at {time} after the certificates expired at {expires}"));
        }
        Ok(())
    }

    fn same_output(&self, index: u64, device: &DeviceId, interval: &Interval, what: &str) -> Result<(), ProofFailure> {
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

    /// Checks one entry; returns its role.
    fn step(&mut self, index: u64, entry: &Entry, last: bool) -> Result<&'static str, ProofFailure> {
        let signer = entry.signed.body.signer;
        let unit = self.policy.unit_wh;
        let claimed = self.claimed;
        match &entry.signed.body.command {
            Command::RegisterAccount(cmd::RegisterAccount { account, roles, .. }) => {
                self.has_role(index, &signer, Role::Operator, "the registration signer")?;
                if self.accounts.insert(*account, *roles).is_some() || *account == self.operator {
                    return Self::fail(index, format!("account {} is registered twice", account.short()));
                }
                Ok("account")
            }
            Command::RegisterDevice(cmd::RegisterDevice { device, owner, technology, region, .. }) => {
                if self.device.is_some() {
                    return Self::fail(index, "a second device registration");
                }
                self.has_role(index, &signer, Role::Operator, "the device registration signer")?;
                self.has_role(index, owner, Role::Generator, "the device owner")?;
                self.device = Some((device.clone(), *technology, region.clone(), *owner));
                Ok("device")
            }
            Command::PostGeneration(cmd::PostGeneration { device, interval, energy }) => {
                let Some((d, _, _, owner)) = &self.device else {
                    return Self::fail(index, "the generation reading comes before its device's registration");
                };
                if self.reading.is_some() {
                    return Self::fail(index, "a second generation reading");
                }
                if device != d {
                    return Self::fail(index, format!("the reading is of device {device}, not of the registered {d}"));
                }
                self.has_role(index, &signer, Role::MeterOperator, "the reading's signer")?;
                self.reading = Some((*energy, *interval, *owner));
                Ok("reading")
            }
            Command::PostDirectSupply(cmd::PostDirectSupply { device, consumer, interval, energy }) if !self.issued => {
                if self.reading.is_none() {
                    return Self::fail(index, "a direct supply before the generation reading");
                }
                self.same_output(index, device, interval, "the direct supply")?;
                self.has_role(index, &signer, Role::MeterOperator, "the direct supply's signer")?;
                self.pre_issuance.push((*consumer, *energy, false));
                Ok("direct-supply")
            }
            Command::SettleTrade(cmd::SettleTrade { device, buyer, interval, energy }) if !self.issued => {
                if self.reading.is_none() {
                    return Self::fail(index, "a trade before the generation reading");
                }
                self.same_output(index, device, interval, "the trade")?;
                self.has_role(index, &signer, Role::TradingPlatform, "the trade's signer")?;
                self.pre_issuance.push((*buyer, *energy, true));
                Ok("trade")
            }
            Command::Issue(cmd::Issue { device, interval }) => {
                let Some((energy, _, owner)) = self.reading else {
                    return Self::fail(index, "an issuance without its generation reading");
                };
                if self.issued {
                    return Self::fail(index, "a second issuance");
                }
                self.same_output(index, device, interval, "the issuance")?;
                if signer != owner {
                    return Self::fail(
                        index,
                        format!(
                            "the issuance is signed by {}, not by the device owner {}",
                            signer.short(),
                            owner.short()
                        ),
                    );
                }
                let allocated = self.pre_issuance.iter().try_fold(0u64, |a, p| a.checked_add(p.1 .0));
                let Some(allocated) = allocated.filter(|a| *a <= energy.0) else {
                    return Self::fail(
                        index,
                        format!("direct supply and trades allocate more than the reading's {energy}"),
                    );
                };
                // Each recipient of the issuance; a carry-over below one unit may add one unit
                // to direct-supply and owner shares, never to trades (whole units only).
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
                holders.push(Holder {
                    account: owner,
                    transferable: true,
                    transfers: 0,
                    max_units: (energy.0 - allocated) / unit + 1,
                });
                self.holders = holders;
                self.issued = true;
                Ok("issuance")
            }
            Command::SettleTrade(cmd::SettleTrade { device, buyer, interval, energy }) => {
                // After issuance: certificates the generator still holds move to the buyer.
                self.same_output(index, device, interval, "the trade settled after issuance")?;
                self.has_role(index, &signer, Role::TradingPlatform, "the trade's signer")?;
                let (_, _, owner) = self.reading.expect("issued after the reading");
                if !self.holders.iter().any(|h| h.account == owner && h.transferable) {
                    return Self::fail(
                        index,
                        "a trade after issuance, but the generator no longer held the claimed serials",
                    );
                }
                self.not_expired(index, entry.time, "the trade")?;
                let generator = self.holders.iter().find(|h| h.account == owner).cloned().expect("checked");
                self.holders.push(Holder {
                    account: *buyer,
                    transferable: false,
                    transfers: generator.transfers + 1,
                    max_units: energy.0 / unit,
                });
                Ok("trade-move")
            }
            Command::Transfer(cmd::Transfer { serials, to, .. }) if self.issued && !last => {
                let h = self.owner_signed(index, &signer, "the transfer")?;
                if serials.contains(&claimed) {
                    if !h.transferable {
                        return Self::fail(
                            index,
                            "a transfer of certificates that came with direct supply or a green-power trade",
                        );
                    }
                    if let Some(limit) = self.policy.max_transfers {
                        if h.transfers >= limit {
                            return Self::fail(
                                index,
                                format!("transfer number {} exceeds the policy limit of {limit}", h.transfers + 1),
                            );
                        }
                    }
                    if *to == signer {
                        return Self::fail(index, "a transfer to oneself");
                    }
                    self.not_expired(index, entry.time, "the transfer")?;
                    self.holders = vec![Holder {
                        account: *to,
                        transferable: true,
                        transfers: h.transfers + 1,
                        max_units: serials.len(),
                    }];
                    self.transfers += 1;
                    Ok("transfer")
                } else {
                    disjoint(index, serials, &claimed)?;
                    Ok("split")
                }
            }
            Command::Withdraw(cmd::Withdraw { serials, .. }) if self.issued && !last => {
                self.has_role(index, &signer, Role::Regulator, "the withdrawal's signer")?;
                disjoint(index, serials, &claimed)?;
                Ok("split")
            }
            Command::Retire(cmd::Retire { serials, .. }) if self.issued && !last => {
                self.owner_signed(index, &signer, "a retirement of other serials of the bundle")?;
                disjoint(index, serials, &claimed)?;
                Ok("split")
            }
            Command::Retire(cmd::Retire { serials, consumption, .. }) if self.issued && last => {
                let h = self.owner_signed(index, &signer, "the retirement")?;
                debug_assert_eq!(*serials, claimed);
                if !consumption.is_valid() {
                    return Self::fail(index, format!("the consumption interval {consumption} is empty"));
                }
                self.has_role(index, &signer, Role::Consumer, "the claimant")?;
                self.not_expired(index, entry.time, "the retirement")?;
                if claimed.len() > h.max_units {
                    return Self::fail(
                        index,
                        format!(
                            "{} certificates retired, but the step that gave them to the claimant covers at most {} ({} Wh each)",
                            claimed.len(),
                            h.max_units,
                            unit
                        ),
                    );
                }
                let (energy, _, _) = self.reading.expect("issued");
                let bound = energy.0 / unit + self.pre_issuance.len() as u64 + 1;
                if claimed.len() > bound {
                    return Self::fail(
                        index,
                        format!("{} certificates retired from a reading of {energy}", claimed.len()),
                    );
                }
                self.retired = true;
                Ok("retirement")
            }
            other => Self::fail(
                index,
                format!(
                    "a {} entry does not belong here (after {})",
                    other.kind(),
                    if self.issued {
                        "the issuance"
                    } else if self.reading.is_some() {
                        "the reading"
                    } else {
                        "genesis"
                    }
                ),
            ),
        }
    }
}

fn disjoint(index: u64, serials: &SerialRange, claimed: &SerialRange) -> Result<(), ProofFailure> {
    if serials.start < claimed.end && claimed.start < serials.end {
        return Err(ProofFailure::Lineage {
            index,
            check: format!("it moves serials {serials} that partly overlap the claimed {claimed}"),
        });
    }
    Ok(())
}

impl ClaimProof {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a proof serializes")
    }
}
