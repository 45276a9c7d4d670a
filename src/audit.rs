//! The regulator's audit: download every entry, replay it with the ledger's own rules, recompute
//! the Merkle root and compare it with the signed checkpoint; across audits, demand that every
//! checkpoint seen before is consistent with the new one, so a rewritten or forked history is
//! caught.
//!
//! The core, [`audit`], takes the leaves, the signed checkpoint, the trusted log key, the
//! state of earlier audits and a source of consistency proofs; it does no I/O, so tests run it
//! on an in-memory store and the CLI on a server or a data directory.
//!
//! The replay is a pipeline: the calling thread reads the leaves in chunks of
//! [`Parallelism::chunk`] and hands each chunk to a pool of threads that decode its entries,
//! hash its leaves and check its signatures with one Ed25519 batch equation
//! ([`crypto::verify_many`], which checks each signature alone when the batch fails, so a bad
//! signature is still attributed to its own entry); the calling thread takes the chunks back in
//! order and decides and applies every entry with the rules, as [`Replayer::push`] does. Chunk
//! boundaries depend only on the chunk size, never on the number of threads, so the result is
//! the same for any number of threads. It is the result of a replay one entry at a time
//! ([`Replayer::push`], each signature checked with [`crypto::verify`]) wherever `verify_many`
//! and `verify` agree: for every signature made by Ed25519 signing. They can disagree on a
//! signature that its key's holder built with a small-order component (its `R` the identity,
//! for one), which the batch equation accepts and strict verification refuses; the sequencer
//! admits commands with `verify_many` too.

use crate::store::{keys, Store};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use greenledger_core::codec::{self, CodecError};
use greenledger_core::command::Entry;
use greenledger_core::crypto::{self, Authenticated, SignatureError};
use greenledger_core::log::merkle::{self, Hash, MemTree};
use greenledger_core::log::{open_checkpoint, Checkpoint, NoteVerifier};
use greenledger_core::replay::{ReplayError, Replayer};
use greenledger_core::state::BundleState;
use greenledger_core::types::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{mpsc, Mutex};

/// A checkpoint an earlier audit accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenCheckpoint {
    pub size: u64,
    /// Base64 root hash.
    pub root: String,
    /// The signed note as it was seen.
    pub note: String,
}

/// What an auditor keeps between audits (the `--state` file).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditState {
    /// The log key of the audited ledger; it must never change.
    pub log_key: String,
    /// Every checkpoint accepted so far, oldest first.
    pub checkpoints: Vec<SeenCheckpoint>,
}

/// Where consistency proofs come from (a server, or the stored tree of a data directory).
pub trait ConsistencySource {
    fn consistency_proof(&mut self, first: u64, second: u64) -> Result<Vec<Hash>, String>;
}

impl<F: FnMut(u64, u64) -> Result<Vec<Hash>, String>> ConsistencySource for F {
    fn consistency_proof(&mut self, first: u64, second: u64) -> Result<Vec<Hash>, String> {
        self(first, second)
    }
}

/// Consistency proofs computed from a store's tree nodes.
pub struct StoreProofs<'a, S: ?Sized>(pub &'a S);

impl<S: Store + ?Sized> ConsistencySource for StoreProofs<'_, S> {
    fn consistency_proof(&mut self, first: u64, second: u64) -> Result<Vec<Hash>, String> {
        merkle::consistency_proof(first, second, &crate::ledger::StoredNodes(self.0)).map_err(|e| e.to_string())
    }
}

/// The leaves `0..size` of a store, read from its C2SP tiles (entry bundles, then the
/// right-edge records) a page at a time, `None` where a leaf is missing.
pub fn store_leaves<S: Store + ?Sized>(store: &S, size: u64) -> impl Iterator<Item = Option<Vec<u8>>> + '_ {
    const PAGE: u64 = 4096;
    let cache = crate::store::log::TileCache::default();
    (0..size.div_ceil(PAGE)).flat_map(move |page| {
        let (start, end) = (page * PAGE, size.min((page + 1) * PAGE));
        let log = crate::store::log::LogReader::new(store, &cache);
        match log.leaves(start, end) {
            Ok(leaves) => leaves.into_iter().map(Some).collect::<Vec<_>>(),
            // Find which leaves are missing, one by one.
            Err(_) => (start..end).map(|i| log.leaf(i).ok()).collect(),
        }
    })
}

/// The signed checkpoint a store holds.
pub fn store_checkpoint<S: Store + ?Sized>(store: &S) -> Result<String, String> {
    let bytes = store.get(keys::CHECKPOINT).map_err(|e| e.to_string())?.ok_or("the store holds no checkpoint")?;
    String::from_utf8(bytes).map_err(|_| "the stored checkpoint is not UTF-8".to_string())
}

/// Why an audit failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditFailure {
    #[error("the log key is not a valid verifier key: {0}")]
    BadLogKey(String),
    #[error("the log key changed since the earlier audits: it was {before}, now {now}")]
    LogKeyChanged { before: String, now: String },
    #[error("the signed checkpoint does not verify: {0}")]
    Checkpoint(String),
    #[error("entry {index} is missing (the checkpoint covers {size} entries)")]
    Missing { index: u64, size: u64 },
    #[error("first divergent entry {index}: replay fails: {reason}")]
    Replay { index: u64, reason: String },
    #[error("{}: the root recomputed from the entries is {computed}, the signed checkpoint says {signed}",
        match first_divergent { Some(i) => format!("first divergent entry {i}"), None => "the entries do not match the checkpoint".to_string() })]
    RootMismatch { first_divergent: Option<u64>, computed: String, signed: String },
    #[error("rollback: an earlier audit saw a checkpoint of size {seen}, the log now claims only {size}")]
    Rollback { seen: u64, size: u64 },
    #[error("forked history: the checkpoint of size {seen_size} seen earlier is not consistent with the new checkpoint of size {size}: {reason}")]
    Fork { seen_size: u64, size: u64, reason: String },
}

impl AuditFailure {
    /// The entry the failure names, if any.
    pub fn index(&self) -> Option<u64> {
        match self {
            AuditFailure::Missing { index, .. } | AuditFailure::Replay { index, .. } => Some(*index),
            AuditFailure::RootMismatch { first_divergent, .. } => *first_divergent,
            _ => None,
        }
    }
}

/// The result of a successful audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    pub ledger: String,
    pub entries: u64,
    pub root: Hash,
    pub unit_wh: u64,
    pub wh_issued: u128,
    pub wh_retired: u128,
    /// Active bundles past their expiry at the audit time.
    pub wh_expired: u128,
    pub wh_withdrawn: u128,
    pub wh_frozen: u128,
    /// Frozen certificates the regulator cancelled (the other scheme used the output).
    pub wh_cancelled: u128,
    pub wh_active: u128,
    pub claims: u64,
    /// Readings corrected, energy corrections took back, and energy devices still owe (a
    /// correction that found the certificates retired, or storage charge reported late).
    pub corrections: u64,
    pub wh_clawed_back: u128,
    pub wh_deficit: u128,
    /// Claims on certificates whose energy a later correction took back (named in the
    /// corrections' trail).
    pub claims_on_corrected: u64,
    /// Carried energy an exclusion took out before it reached a certificate.
    pub wh_excluded_carry: u128,
    /// Policy amendments in the log.
    pub amendments: u64,
    /// Refused attempts recorded in the log: always 0, refusals are not logged.
    pub refusals_logged: u64,
    /// Earlier checkpoints proven consistent with this one.
    pub consistent_with: usize,
    /// The state to keep for the next audit.
    pub next_state: AuditState,
}

impl AuditReport {
    pub fn lines(&self) -> Vec<String> {
        let mwh = |wh: u128| format!("{} Wh ({}.{:03} MWh)", wh, wh / 1_000_000, (wh % 1_000_000) / 1000);
        vec![
            format!(
                "ledger {}: {} entries replayed with the ledger's rules; root {} matches the signed checkpoint",
                self.ledger,
                self.entries,
                B64.encode(self.root)
            ),
            format!("issued:    {}", mwh(self.wh_issued)),
            format!("retired:   {} in {} claims", mwh(self.wh_retired), self.claims),
            format!("expired:   {} (active bundles past expiry now)", mwh(self.wh_expired)),
            format!("withdrawn: {}", mwh(self.wh_withdrawn)),
            format!("frozen:    {}", mwh(self.wh_frozen)),
            format!("cancelled: {}", mwh(self.wh_cancelled)),
            format!("active:    {}", mwh(self.wh_active)),
            format!(
                "corrections: {} ({} clawed back; {} still owed by devices; {} claims on corrected energy)",
                self.corrections,
                mwh(self.wh_clawed_back),
                mwh(self.wh_deficit),
                self.claims_on_corrected
            ),
            format!("excluded before certification: {}", mwh(self.wh_excluded_carry)),
            format!("policy amendments: {}", self.amendments),
            if self.consistent_with == 0 {
                "no earlier checkpoint to check consistency against".to_string()
            } else {
                format!("consistent with all {} checkpoints seen by earlier audits", self.consistent_with)
            },
        ]
    }
}

/// How an audit spreads its replay over threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parallelism {
    /// Threads that decode, hash and check signatures; 0 does it all on the calling thread.
    pub threads: usize,
    /// Entries per signature batch.
    pub chunk: usize,
}

impl Parallelism {
    /// Entries per signature batch by default.
    pub const CHUNK: usize = 1024;

    /// One checking thread per core.
    pub fn all_cores() -> Parallelism {
        Parallelism::threads(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// `threads` checking threads (0: none, everything on the calling thread).
    pub fn threads(threads: usize) -> Parallelism {
        Parallelism { threads, chunk: Parallelism::CHUNK }
    }
}

impl Default for Parallelism {
    fn default() -> Parallelism {
        Parallelism::all_cores()
    }
}

/// Audits a ledger, checking signatures on every core (see [`audit_with`]).
pub fn audit<I: IntoIterator<Item = Option<Vec<u8>>>>(
    leaves: I,
    checkpoint_note: &str,
    log_key: &str,
    prior: Option<&AuditState>,
    proofs: &mut dyn ConsistencySource,
    now: Timestamp,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<AuditReport, AuditFailure> {
    audit_with(Parallelism::all_cores(), leaves, checkpoint_note, log_key, prior, proofs, now, progress)
}

/// Audits a ledger.
///
/// - `parallelism`: the threads that check signatures and the batch size; the result does
///   not depend on it.
/// - `leaves`: the leaves in index order, `None` for a missing one; only the first
///   `checkpoint size` are read.
/// - `checkpoint_note`: the ledger's latest signed checkpoint; `log_key`: the trusted key.
/// - `prior`: the state of earlier audits; the key must be the same and every checkpoint in it
///   must be consistent with the new one (by a proof from `proofs` and by the recomputed tree).
/// - `now`: the audit time, for expiry; `progress(done, total)` is called as entries replay.
#[allow(clippy::too_many_arguments)]
pub fn audit_with<I: IntoIterator<Item = Option<Vec<u8>>>>(
    parallelism: Parallelism,
    leaves: I,
    checkpoint_note: &str,
    log_key: &str,
    prior: Option<&AuditState>,
    proofs: &mut dyn ConsistencySource,
    now: Timestamp,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<AuditReport, AuditFailure> {
    let log_key = log_key.trim();
    let verifier = NoteVerifier::parse(log_key).map_err(|e| AuditFailure::BadLogKey(e.to_string()))?;
    if let Some(p) = prior {
        if !p.log_key.is_empty() && p.log_key != log_key {
            return Err(AuditFailure::LogKeyChanged { before: p.log_key.clone(), now: log_key.to_string() });
        }
    }
    let (cp, _) = open_checkpoint(checkpoint_note, &verifier).map_err(|e| AuditFailure::Checkpoint(e.to_string()))?;
    let size = cp.size;

    let Replayed { replayer, tree, error: replay_error } = replay(parallelism, leaves, size, progress)?;
    let root = tree.root();
    if root != cp.root {
        // Find the first divergent entry: the longest prefix of our entries the signed tree
        // proves it extends. A replay failure before it is reported first.
        let first = first_divergent(&tree, size, &cp.root, proofs);
        if let Some(AuditFailure::Replay { index, .. }) = &replay_error {
            if first.is_none_or(|f| *index <= f) {
                return Err(replay_error.expect("present"));
            }
        }
        return Err(AuditFailure::RootMismatch {
            first_divergent: first,
            computed: B64.encode(root),
            signed: B64.encode(cp.root),
        });
    }
    if let Some(e) = replay_error {
        return Err(e);
    }

    let consistent_with = match prior {
        Some(p) => check_seen(p, &verifier, &cp, proofs, Some(&tree))?,
        None => 0,
    };
    let next_state = next_state(prior, log_key, &cp, checkpoint_note);

    let state = &replayer.state;
    let unit = state.meta.as_ref().map_or(1, |m| m.policy.unit_wh) as u128;
    let mut r = AuditReport {
        ledger: cp.origin.clone(),
        entries: size,
        root,
        unit_wh: unit as u64,
        wh_issued: 0,
        wh_retired: 0,
        wh_expired: 0,
        wh_withdrawn: 0,
        wh_frozen: 0,
        wh_cancelled: 0,
        wh_active: 0,
        claims: state.claims.len() as u64,
        corrections: 0,
        wh_clawed_back: 0,
        wh_deficit: state.devices.values().map(|d| d.deficit.0 as u128).sum(),
        claims_on_corrected: 0,
        wh_excluded_carry: 0,
        amendments: state.meta.as_ref().map_or(0, |m| m.amendments.len() as u64),
        refusals_logged: 0,
        consistent_with,
        next_state,
    };
    for reading in state.readings.values() {
        for i in reading.issuances() {
            r.wh_issued += i.serials.len() as u128 * unit;
        }
        r.corrections += reading.corrections.len() as u64;
        r.wh_clawed_back += reading.clawed_back.0 as u128;
        r.claims_on_corrected += reading.corrections.iter().map(|c| c.claims.len() as u64).sum::<u64>();
        r.wh_excluded_carry += reading.excluded.0 as u128;
    }
    for b in state.bundles.values() {
        let wh = b.serials.len() as u128 * unit;
        match b.state {
            BundleState::Retired(_) => r.wh_retired += wh,
            BundleState::Withdrawn => r.wh_withdrawn += wh,
            BundleState::Frozen => r.wh_frozen += wh,
            BundleState::Cancelled => r.wh_cancelled += wh,
            BundleState::Active if b.is_expired(now) => r.wh_expired += wh,
            BundleState::Active => r.wh_active += wh,
        }
    }
    Ok(r)
}

/// The replay of the first `size` leaves: the state, the recomputed tree and the first entry
/// the rules refuse, if any (the tree still covers every leaf after it).
struct Replayed {
    replayer: Replayer,
    tree: MemTree,
    error: Option<AuditFailure>,
}

/// One leaf after the checking threads: its hash, and its entry with the signature check.
type CheckedLeaf = (Hash, Result<(Entry, Result<Authenticated, SignatureError>), CodecError>);

/// Decodes and hashes a chunk of leaves and checks the signatures of the entries that decode
/// with one batch under the ledger name `name`.
fn check_chunk(name: &str, leaves: Vec<Vec<u8>>) -> Vec<CheckedLeaf> {
    let hashes: Vec<Hash> = leaves.iter().map(|l| merkle::leaf_hash(l)).collect();
    let decoded: Vec<Result<Entry, CodecError>> = leaves.iter().map(|l| codec::decode_leaf(l)).collect();
    drop(leaves);
    let signed = decoded.iter().filter_map(|d| d.as_ref().ok()).map(|e| e.signed.clone()).collect();
    let mut verified = crypto::verify_many(name, signed).into_iter();
    hashes
        .into_iter()
        .zip(decoded)
        .map(|(h, d)| (h, d.map(|e| (e, verified.next().expect("one result per decoded entry")))))
        .collect()
}

/// Reads the next chunk of at most `n` leaves, the first at `start`; a missing leaf fails.
fn read_chunk(
    leaves: &mut impl Iterator<Item = Option<Vec<u8>>>,
    start: u64,
    n: u64,
    size: u64,
) -> Result<Vec<Vec<u8>>, AuditFailure> {
    (start..start + n).map(|index| leaves.next().flatten().ok_or(AuditFailure::Missing { index, size })).collect()
}

/// Replays the first `size` leaves: chunks are checked on `parallelism.threads` threads while
/// this thread applies the checked entries in order.
fn replay<I: IntoIterator<Item = Option<Vec<u8>>>>(
    parallelism: Parallelism,
    leaves: I,
    size: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Replayed, AuditFailure> {
    let chunk = parallelism.chunk.max(1) as u64;
    let mut leaves = leaves.into_iter();
    let mut out = Replayed { replayer: Replayer::new(), tree: MemTree::new(), error: None };
    let first = read_chunk(&mut leaves, 0, chunk.min(size), size)?;
    // Every signature is checked under the genesis's name (when the first entry is no genesis,
    // the replay fails there and the name checked under does not matter).
    let name = first
        .first()
        .and_then(|l| codec::decode_leaf(l).ok())
        .and_then(|e| out.replayer.signing_name(&e))
        .unwrap_or_default();
    // Applies one checked chunk in order.
    let mut apply = |out: &mut Replayed, checked: Vec<CheckedLeaf>| {
        for (hash, entry) in checked {
            out.tree.push_hash(hash);
            if out.error.is_none() {
                let index = out.replayer.next_index;
                let pushed = entry
                    .map_err(|source| ReplayError::Decode { index, source })
                    .and_then(|(entry, verified)| out.replayer.push_entry(entry, Some((&name, verified))));
                if let Err(e) = pushed {
                    out.error = Some(AuditFailure::Replay { index: e.index(), reason: e.to_string() });
                }
            }
            progress(out.tree.size(), size);
        }
    };

    if parallelism.threads == 0 {
        let mut next = first;
        let mut start = 0;
        loop {
            let n = next.len() as u64;
            apply(&mut out, check_chunk(&name, next));
            start += n;
            if start >= size {
                return Ok(out);
            }
            next = read_chunk(&mut leaves, start, chunk.min(size - start), size)?;
        }
    }

    type Job = (Vec<Vec<u8>>, mpsc::SyncSender<Vec<CheckedLeaf>>);
    let (jobs, job_queue) = mpsc::channel::<Job>();
    let job_queue = Mutex::new(job_queue);
    // Chunks read ahead and not yet applied, so memory stays bounded.
    let depth = 2 * parallelism.threads + 1;
    std::thread::scope(|s| {
        for _ in 0..parallelism.threads {
            let (job_queue, name) = (&job_queue, &name);
            s.spawn(move || loop {
                let job = job_queue.lock().expect("a checking thread panicked").recv();
                let Ok((chunk, done)) = job else { return };
                // The receiver is gone only when the audit stopped early.
                let _ = done.send(check_chunk(name, chunk));
            });
        }
        let mut pending = VecDeque::with_capacity(depth);
        let send = |chunk: Vec<Vec<u8>>, pending: &mut VecDeque<mpsc::Receiver<Vec<CheckedLeaf>>>| {
            let (done, result) = mpsc::sync_channel(1);
            jobs.send((chunk, done)).expect("the checking threads wait for jobs");
            pending.push_back(result);
        };
        let mut read = first.len() as u64;
        send(first, &mut pending);
        while let Some(result) = pending.pop_front() {
            while pending.len() + 1 < depth && read < size {
                let next = read_chunk(&mut leaves, read, chunk.min(size - read), size)?;
                read += next.len() as u64;
                send(next, &mut pending);
            }
            apply(&mut out, result.recv().expect("a checking thread panicked"));
        }
        drop(jobs);
        Ok(out)
    })
}

/// Checks that every checkpoint in `prior` is consistent with `cp`: a valid consistency proof
/// from `proofs` and, when the caller recomputed the tree, the same root at that size. Returns
/// how many were checked.
pub fn check_seen(
    prior: &AuditState,
    verifier: &NoteVerifier,
    cp: &Checkpoint,
    proofs: &mut dyn ConsistencySource,
    tree: Option<&MemTree>,
) -> Result<usize, AuditFailure> {
    let size = cp.size;
    let fork = |seen: &SeenCheckpoint, reason: String| AuditFailure::Fork { seen_size: seen.size, size, reason };
    for seen in &prior.checkpoints {
        let seen_root: Hash = B64
            .decode(&seen.root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| fork(seen, "the state file's root is not base64 of 32 bytes".into()))?;
        // The seen note must be a checkpoint of this log with that size and root.
        match open_checkpoint(&seen.note, verifier) {
            Ok((c, _)) if c.size == seen.size && c.root == seen_root => {}
            Ok(_) => return Err(fork(seen, "the state file's note does not match its size and root".into())),
            Err(e) => return Err(fork(seen, format!("the state file's note: {e}"))),
        }
        if seen.size > size {
            return Err(AuditFailure::Rollback { seen: seen.size, size });
        }
        let proof =
            proofs.consistency_proof(seen.size, size).map_err(|e| fork(seen, format!("no consistency proof: {e}")))?;
        merkle::verify_consistency(seen.size, size, &seen_root, &cp.root, &proof)
            .map_err(|e| fork(seen, e.to_string()))?;
        if let Some(tree) = tree {
            // And by our own recomputation from the entries.
            let ours = tree.root_at(seen.size).map_err(|e| fork(seen, e.to_string()))?;
            if ours != seen_root {
                return Err(fork(seen, "the entries give a different root at that size".into()));
            }
        }
    }
    Ok(prior.checkpoints.len())
}

/// The state after accepting `cp`: the earlier checkpoints and this one.
fn next_state(prior: Option<&AuditState>, log_key: &str, cp: &Checkpoint, note: &str) -> AuditState {
    let mut state = AuditState {
        log_key: log_key.to_string(),
        checkpoints: prior.map(|p| p.checkpoints.clone()).unwrap_or_default(),
    };
    if !state.checkpoints.iter().any(|c| c.size == cp.size && c.root == B64.encode(cp.root)) {
        state.checkpoints.push(SeenCheckpoint { size: cp.size, root: B64.encode(cp.root), note: note.to_string() });
    }
    state
}

/// What a witness checks before cosigning: the checkpoint is signed by the pinned log key and
/// is consistent with every checkpoint the witness accepted before. Returns the checkpoint and
/// the witness's next state.
pub fn witness_check(
    checkpoint_note: &str,
    log_key: &str,
    prior: Option<&AuditState>,
    proofs: &mut dyn ConsistencySource,
) -> Result<(Checkpoint, AuditState), AuditFailure> {
    let log_key = log_key.trim();
    let verifier = NoteVerifier::parse(log_key).map_err(|e| AuditFailure::BadLogKey(e.to_string()))?;
    if let Some(p) = prior {
        if !p.log_key.is_empty() && p.log_key != log_key {
            return Err(AuditFailure::LogKeyChanged { before: p.log_key.clone(), now: log_key.to_string() });
        }
    }
    let (cp, _) = open_checkpoint(checkpoint_note, &verifier).map_err(|e| AuditFailure::Checkpoint(e.to_string()))?;
    if let Some(p) = prior {
        check_seen(p, &verifier, &cp, proofs, None)?;
    }
    let state = next_state(prior, log_key, &cp, checkpoint_note);
    Ok((cp, state))
}

/// The smallest `m` such that our first `m + 1` entries are not a prefix of the signed tree,
/// found by binary search with consistency proofs. `None` when no proof source answers.
fn first_divergent(tree: &MemTree, size: u64, signed_root: &Hash, proofs: &mut dyn ConsistencySource) -> Option<u64> {
    let mut extends = |m: u64| -> Option<bool> {
        if m == 0 {
            return Some(true);
        }
        let ours = tree.root_at(m).ok()?;
        let proof = proofs.consistency_proof(m, size).ok()?;
        Some(merkle::verify_consistency(m, size, &ours, signed_root, &proof).is_ok())
    };
    // Invariant: prefix `lo` agrees, prefix `hi` does not (the whole tree does not).
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if extends(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}
