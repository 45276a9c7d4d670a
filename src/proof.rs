//! Building claim proof bundles from a running ledger. The bundle format and its offline
//! verification are [`greenledger_core::proof`].
//!
//! A ledger that publishes checkpoints ([`crate::publish`]) makes bundles with
//! [`build_published`]: against a published checkpoint, so the bundle carries the witness
//! cosignatures gathered for it, and in format 2, with each entry's C2SP tlog-proof. A claim
//! newer than the latest published checkpoint is proven against the newest signed checkpoint
//! instead (no cosignatures yet); `greenledger proof` waits for the next publish before it
//! fetches, rather than carrying a consistency proof to a checkpoint that does not exist yet.

use crate::ledger::queries::QueryError;
use crate::ledger::Ledger;
use crate::store::Store;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use greenledger_core::command as cmd;
use greenledger_core::command::Command;
use greenledger_core::log::tlog_proof::TlogProof;
use greenledger_core::log::Checkpoint;
use greenledger_core::proof::{ClaimProof, Consistency, ProofEntry, Summary, FORMAT, FORMAT_V2};
use greenledger_core::state::Claim;
use greenledger_core::types::*;
use std::collections::{BTreeMap, BTreeSet};

fn invalid(msg: impl Into<String>) -> QueryError {
    QueryError::Invalid(msg.into())
}

/// The role [`verify`] derives for an entry of the retired bundle's history.
fn history_role(command: &Command, claimed: &SerialRange, is_claim: bool, is_issue: bool) -> &'static str {
    match command {
        _ if is_claim => "retirement",
        _ if is_issue => "issuance",
        Command::Transfer(cmd::Transfer { serials, .. }) if serials.contains(claimed) => "transfer",
        Command::SettleTrade(cmd::SettleTrade { .. }) => "trade-move",
        Command::SettleMonth(cmd::SettleMonth { .. }) => "settlement-move",
        Command::DeclareExclusion(_) => "exclusion",
        Command::ResolveFrozen(_) => "unfreeze",
        _ => "split",
    }
}

/// Builds the proof of `claim` against the ledger's current checkpoint.
pub fn build<S: Store>(ledger: &Ledger<S>, claim: ClaimId) -> Result<ClaimProof, QueryError> {
    let note = ledger.checkpoint_note()?;
    let (text, _) = greenledger_core::log::split(&note).map_err(|e| invalid(e.to_string()))?;
    let cp = Checkpoint::parse(&text).map_err(|e| invalid(e.to_string()))?;
    build_at(ledger, claim, &note, cp.size)
}

/// Builds the proof of `claim` in format 2 against the published checkpoint that covers it
/// with the most cosignatures (the newest of those), or, when no published checkpoint covers
/// it yet, against the newest signed checkpoint.
pub fn build_published<S: Store>(
    ledger: &Ledger<S>,
    published: &crate::publish::Published,
    claim: ClaimId,
) -> Result<ClaimProof, QueryError> {
    let entry = ledger.claim(claim)?.entry.0;
    let history = published.history().map_err(|e| invalid(e.to_string()))?;
    let mut best: Option<(usize, u64, String)> = None;
    for (size, note) in history.into_iter().filter(|(size, _)| *size > entry) {
        let lines = greenledger_core::log::split(&note).map_err(|e| invalid(e.to_string()))?.1.len();
        if best.as_ref().is_none_or(|(most, _, _)| lines > *most) {
            best = Some((lines, size, note));
        }
    }
    let (note, size) = match best {
        Some((_, size, note)) => (note, size),
        None => {
            let note = ledger.checkpoint_note()?;
            let (text, _) = greenledger_core::log::split(&note).map_err(|e| invalid(e.to_string()))?;
            let size = Checkpoint::parse(&text).map_err(|e| invalid(e.to_string()))?.size;
            (note, size)
        }
    };
    build_with(ledger, claim, &note, size, true)
}

/// Builds the proof of `claim` against a signed checkpoint `note` of size `size`.
pub fn build_at<S: Store>(ledger: &Ledger<S>, claim: ClaimId, note: &str, size: u64) -> Result<ClaimProof, QueryError> {
    build_with(ledger, claim, note, size, false)
}

/// [`build_at`], in format 2 (each entry with its C2SP tlog-proof) when `tlog` is set.
pub fn build_with<S: Store>(
    ledger: &Ledger<S>,
    claim: ClaimId,
    note: &str,
    size: u64,
    tlog: bool,
) -> Result<ClaimProof, QueryError> {
    let c: Claim = ledger.claim(claim)?;
    if c.entry.0 >= size {
        return Err(invalid(format!(
            "claim {claim} (entry {}) is not covered by the checkpoint of size {size}",
            c.entry.0
        )));
    }
    let bundle = ledger.bundle(c.bundle)?;
    let device = ledger.device(&c.device)?;
    let reading = ledger
        .readings_on(&c.device, bundle.channel, c.production.start.0, c.production.start.0 + 1)?
        .into_iter()
        .find(|r| r.interval == c.production)
        .ok_or_else(|| invalid(format!("the reading of {} in {} is missing", c.device, c.production)))?;
    let issuance = reading.issuance.clone().ok_or_else(|| invalid("the claimed reading was never issued"))?;
    let meta = ledger.meta()?;

    let mut roles: BTreeMap<u64, &'static str> = BTreeMap::new();
    roles.insert(0, "genesis");
    roles.insert(device.registered.0, "device");
    roles.insert(reading.entry.0, "reading");
    for a in &reading.direct {
        roles.insert(a.entry.0, "direct-supply");
    }
    for a in &reading.trades {
        let settlement = matches!(ledger.entry(a.entry.0)?.signed.body.command, Command::SettleMonth(_));
        roles.insert(a.entry.0, if settlement { "settlement" } else { "trade" });
    }
    // Amendments and device changes before the claim decide the policy, class and owner.
    for a in meta.amendments.iter().filter(|a| a.entry < c.entry) {
        roles.insert(a.entry.0, "policy-amendment");
    }
    for i in device.changes.iter().filter(|i| **i < c.entry) {
        roles.insert(i.0, "device-change");
    }
    for i in &bundle.history {
        let entry = ledger.entry(i.0)?;
        let role = history_role(&entry.signed.body.command, &c.serials, *i == c.entry, *i == issuance.entry);
        roles.insert(i.0, role);
    }
    roles.insert(issuance.entry.0, "issuance");
    for k in reading.corrections.iter().filter(|k| k.entry < c.entry) {
        roles.insert(k.entry.0, "correction");
    }
    roles.insert(c.entry.0, "retirement");

    // Registrations of every account whose role the verifier checks, and of their registrars.
    let mut need: BTreeSet<AccountId> = BTreeSet::new();
    need.insert(device.owner);
    for i in roles.keys().copied().collect::<Vec<_>>() {
        if i == 0 {
            continue;
        }
        let e = ledger.entry(i)?;
        need.insert(e.signed.body.signer);
    }
    let mut seen: BTreeSet<AccountId> = BTreeSet::new();
    while let Some(a) = need.pop_first() {
        if a == meta.operator || !seen.insert(a) {
            continue;
        }
        let acct = ledger.account(&a)?;
        roles.insert(acct.registered.0, "account");
        let reg = ledger.entry(acct.registered.0)?;
        need.insert(reg.signed.body.signer);
    }
    let device_reg = ledger.entry(device.registered.0)?;
    if device_reg.signed.body.signer != meta.operator {
        let acct = ledger.account(&device_reg.signed.body.signer)?;
        roles.insert(acct.registered.0, "account");
    }

    let mut entries = Vec::with_capacity(roles.len());
    for (index, role) in roles {
        if index >= size {
            return Err(invalid(format!("entry {index} of the lineage is beyond the checkpoint of size {size}")));
        }
        let leaf = ledger.leaf(index)?;
        let path = ledger.inclusion_proof(index, size)?;
        let tlog_proof =
            tlog.then(|| TlogProof { extra: None, index, proof: path.clone(), checkpoint: note.to_string() }.to_text());
        entries.push(ProofEntry {
            index,
            role: role.to_string(),
            leaf: B64.encode(&leaf),
            inclusion_proof: path.iter().map(|h| B64.encode(h)).collect(),
            tlog_proof,
        });
    }
    let technology = device.technology.name().to_string();
    let class = bundle.class.name().to_string();
    let channel = bundle.channel.name().to_string();
    Ok(ClaimProof {
        format: if tlog { FORMAT_V2 } else { FORMAT }.to_string(),
        log_key: ledger.verifier().to_string(),
        checkpoint: note.to_string(),
        entries,
        summary: Summary {
            claim_entry: c.entry.0,
            device: c.device.0.clone(),
            technology,
            region: device.region.clone(),
            production_start: c.production.start.to_string(),
            production_end: c.production.end.to_string(),
            energy_wh: c.serials.len() * meta.policy.unit_wh,
            serial_first: c.serials.start.0,
            serial_last: c.serials.end.0 - 1,
            beneficiary: c.beneficiary.clone(),
            purpose: c.purpose.clone(),
            consumption_start: c.consumption.start.to_string(),
            consumption_end: c.consumption.end.to_string(),
            claimant: c.claimant.to_hex(),
            class: Some(class),
            channel: Some(channel),
        },
        consistency: None,
    })
}

/// Adds the ledger's current checkpoint and a consistency proof from the proof's checkpoint.
pub fn extend_to_current<S: Store>(ledger: &Ledger<S>, proof: &mut ClaimProof) -> Result<(), QueryError> {
    let (text, _) = greenledger_core::log::split(&proof.checkpoint).map_err(|e| invalid(e.to_string()))?;
    let old = Checkpoint::parse(&text).map_err(|e| invalid(e.to_string()))?;
    let note = ledger.checkpoint_note()?;
    let (text, _) = greenledger_core::log::split(&note).map_err(|e| invalid(e.to_string()))?;
    let new = Checkpoint::parse(&text).map_err(|e| invalid(e.to_string()))?;
    let hashes = ledger.consistency_proof(old.size, new.size)?;
    proof.consistency =
        Some(Consistency { newer_checkpoint: note, proof: hashes.iter().map(|h| B64.encode(h)).collect() });
    Ok(())
}
