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
//! Format 2 ([`FORMAT_V2`]) also carries, for every entry, its proof in C2SP tlog-proof form
//! ([`ProofEntry::tlog_proof`], [`crate::log::tlog_proof`]): the index, the inclusion proof and
//! the (cosigned) checkpoint as text that generic tlog tools check on their own. [`verify`]
//! checks each of them too: its checkpoint must be the bundle's, and it must prove the entry's
//! leaf. Format 1 bundles, without them, still verify.
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

use crate::codec;
use crate::command as cmd;
use crate::command::{Command, Entry};
use crate::crypto;
use crate::log::merkle::{self, Hash};
use crate::log::tlog_proof::TlogProof;
use crate::log::{open_checkpoint, CosignatureVerifier, NoteVerifier};
use crate::types::*;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use walk::Walk;

pub mod walk;
use std::collections::BTreeMap;

/// Format tag of a claim proof file of the first format: no tlog proofs.
pub const FORMAT: &str = "greenledger-claim-proof/v1";
/// Format tag of a claim proof file whose every entry carries its C2SP tlog-proof.
pub const FORMAT_V2: &str = "greenledger-claim-proof/v2";

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
    /// The entry's proof as C2SP tlog-proof text against the bundle's checkpoint (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlog_proof: Option<String>,
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
    /// The certificates' class (`tradable`, `non-tradable`), from the device's attributes, the
    /// reading's channel and the policy in force at issuance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The channel of the claimed reading (`export`, `self-use`, `storage-discharge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
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
    #[error("unknown proof format {0:?} (expected {FORMAT_V2} or {FORMAT})")]
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
    #[error("entry {index}: tlog proof: {reason}")]
    TlogProof { index: u64, reason: String },
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

/// Verifies a claim proof offline. `log_key` is the trusted verifier key of the ledger.
pub fn verify(
    proof: &ClaimProof,
    log_key: &str,
    witnesses: &[CosignatureVerifier],
    min_witnesses: usize,
) -> Result<VerifiedClaim, ProofFailure> {
    let v2 = match proof.format.as_str() {
        FORMAT => false,
        FORMAT_V2 => true,
        _ => return Err(ProofFailure::Format(proof.format.clone())),
    };
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
        match &pe.tlog_proof {
            Some(text) => check_tlog_proof(text, index, &bytes, &proof.checkpoint, &verifier)?,
            None if v2 => {
                return Err(ProofFailure::TlogProof { index, reason: format!("missing; {FORMAT_V2} requires one") })
            }
            None => {}
        }
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
        Command::GenesisV1(cmd::GenesisV1 { policy, .. }) => (policy.clone().into(), genesis.signed.body.signer),
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
    let (claimed, beneficiary, purpose, consumption) = match &retirement.signed.body.command {
        Command::Retire(cmd::Retire { serials, beneficiary, purpose, consumption, .. }) => {
            (serials, beneficiary.to_string(), purpose.describe(), consumption)
        }
        Command::RetireV1(cmd::RetireV1 { serials, beneficiary, purpose, consumption, .. }) => {
            (serials, beneficiary.clone(), purpose.clone(), consumption)
        }
        other => {
            return Err(ProofFailure::Lineage {
                index: claim_index,
                check: format!("the last entry must be the retirement, it is a {}", other.kind()),
            })
        }
    };
    let claimed = *claimed;
    if claimed.is_empty() {
        return Err(ProofFailure::Lineage { index: claim_index, check: "the retirement names no serials".into() });
    }

    let mut w = Walk {
        genesis: &policy,
        ledger: policy.name.clone(),
        policy: policy.clone(),
        amendments: Vec::new(),
        attributes: Default::default(),
        commissioned: Timestamp(0),
        channel: Channel::Export,
        class: None,
        frozen: false,
        expires: None,
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
        class: w.class.map(|c| c.name().to_string()),
        channel: Some(w.channel.name().to_string()),
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

/// An entry's C2SP tlog-proof: about this entry, against the bundle's checkpoint, proving its
/// leaf (witnesses are counted once, on the bundle's checkpoint).
fn check_tlog_proof(
    text: &str,
    index: u64,
    leaf: &[u8],
    checkpoint: &str,
    log_key: &NoteVerifier,
) -> Result<(), ProofFailure> {
    let fail = |reason: String| ProofFailure::TlogProof { index, reason };
    let p = TlogProof::parse(text).map_err(|e| fail(e.to_string()))?;
    if p.index != index {
        return Err(fail(format!("it is about entry {}", p.index)));
    }
    if p.checkpoint != checkpoint {
        return Err(fail("its checkpoint is not the bundle's checkpoint".into()));
    }
    p.verify(&merkle::leaf_hash(leaf), log_key, &[], 0).map_err(|e| fail(e.to_string()))?;
    Ok(())
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
    // Proofs written before certificate classes existed carry neither field; when a proof
    // states them, they must be what the lineage shows.
    for (field, stated, proven) in
        [("class", &stated.class, &proven.class), ("channel", &stated.channel, &proven.channel)]
    {
        if stated.is_some() && stated != proven {
            return Err(ProofFailure::Summary {
                field,
                stated: stated.clone().unwrap_or_default(),
                proven: proven.clone().unwrap_or_default(),
            });
        }
    }
    Ok(())
}

impl ClaimProof {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a proof serializes")
    }
}
