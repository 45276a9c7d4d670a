//! The ledger: the sequencer that turns batches of signed commands into durable log entries,
//! and the read side that serves state, entries, checkpoints and proofs.
//!
//! One batch: verify all signatures at once (falling back per signature), decide each command
//! against the state plus the batch's earlier effects, append accepted entries to the Merkle
//! tree, sign a checkpoint for the new size, and commit leaves, nodes, state, head and
//! checkpoint in one atomic, flushed store batch. Only then are submitters told "accepted".
//!
//! - [`clock`]: where `now` comes from.
//! - [`queries`]: reads for users and auditors.
//! - [`sequencer`]: group commit across concurrent submitters.

use greenledger_core::command as cmd;
pub mod clock;
pub mod damage;
pub mod queries;
pub mod sequencer;

pub use clock::{Clock, ManualClock, SystemClock};
pub use damage::Damage;
pub use sequencer::Sequencer;

use crate::store::log::{self as tiles_log, LogReader, TileCache};
use crate::store::view::PendingWriter;
use crate::store::{keys, Pending, Store, StoreError, StoreView};
use bincode::{Decode, Encode};
use greenledger_core::codec;
use greenledger_core::command::{Command, Entry, SignedCommand};
use greenledger_core::crypto;
use greenledger_core::log::merkle::{self, Hash, NodeId, NodeReader};
use greenledger_core::log::tiles::CompactRange;
use greenledger_core::log::{checkpoint, Checkpoint, NoteSigner, NoteVerifier};
use greenledger_core::refusal::{RefusalKind, Rejection};
use greenledger_core::replay::apply;
use greenledger_core::rules::{decide, Change, Context};
use greenledger_core::types::*;
use greenledger_core::Refusal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// What the store records about the tree after each batch.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Head {
    pub name: String,
    pub size: u64,
    pub root: Hash,
    /// Sequencer time of the last entry; time never goes back.
    pub time: u64,
}

/// The receipt of an accepted command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub index: LeafIndex,
    pub leaf_hash: Hash,
    /// The effects in words.
    pub summary: Vec<String>,
    /// What the command made: ids and serial ranges (empty for a duplicate).
    pub changes: Vec<Change>,
    /// True when this was an identical resubmission of an earlier command: nothing changed.
    pub duplicate: bool,
    /// Tree size of the checkpoint that covers this entry.
    pub tree_size: u64,
}

/// Why the ledger did not accept a command. The rules' own refusal is kept as it is, so callers
/// can match on it; its message names the rule and the values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// The rules refused it.
    #[error(transparent)]
    Rule(#[from] Refusal),
    /// Its signature does not verify, or its signer is no valid key (rule 10).
    #[error(transparent)]
    Signature(#[from] crypto::SignatureError),
    /// In an all-or-nothing batch, another command was refused, so this one was not applied.
    #[error("not applied: another command of this all-or-nothing batch was refused")]
    NotApplied,
}

impl Refused {
    /// How to report it to a client.
    pub fn kind(&self) -> RefusalKind {
        match self {
            Refused::Rule(r) => r.kind(),
            Refused::Signature(_) => RefusalKind::Unauthenticated,
            Refused::NotApplied => RefusalKind::FailedPrecondition,
        }
    }

    /// The numbered rule that refused it, if one did.
    pub fn rule(&self) -> Option<u8> {
        match self {
            Refused::Rule(r) => r.rule(),
            Refused::Signature(crypto::SignatureError::BadSignature { .. }) => Some(10),
            Refused::Signature(_) | Refused::NotApplied => None,
        }
    }

    /// A stable name for the refusal (`not-owner`, `bad-signature`, `not-applied`).
    pub fn name(&self) -> String {
        match self {
            Refused::Rule(r) => r.name(),
            Refused::Signature(crypto::SignatureError::BadSignature { .. }) => "bad-signature".into(),
            Refused::Signature(_) => "bad-key".into(),
            Refused::NotApplied => "not-applied".into(),
        }
    }
}

pub type Outcome = Result<Receipt, Refused>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("no ledger in this store; create one first (greenledger init)")]
    NoLedger,
    #[error("this store already holds a ledger")]
    AlreadyExists,
    #[error("the store is inconsistent: {0}")]
    Corrupt(Damage),
    #[error("genesis refused: {0}")]
    Genesis(Refused),
    #[error("genesis refused: the first command must be genesis, not {kind}")]
    NotGenesis { kind: &'static str },
    #[error("genesis refused: log key name {key:?} differs from ledger name {ledger:?}")]
    KeyNameMismatch { key: String, ledger: String },
    #[error("the ledger stopped accepting commands after a storage failure; restart it")]
    Poisoned,
    #[error("the ledger is busy; retry shortly")]
    Busy,
    /// A replicated ledger's node that does not hold the lease: nothing was decided or written.
    #[error("{0}")]
    Replication(#[from] SinkError),
}

/// Where a replicated ledger makes each batch durable before its own store: the shared log
/// ([`crate::replication`], PostgreSQL). The writer calls [`LogSink::append`] with the batch's
/// leaves and the checkpoint that covers them; only when it returns `Ok` is the batch written to
/// the local store and its submitters told "accepted". The local store is derived state: a node
/// that crashes between the two catches up from the shared log.
pub trait LogSink: Send + Sync + 'static {
    /// Whether this node may append now (it holds the lease and has fenced the log).
    fn is_leader(&self) -> bool;
    /// The address the leader advertises, when known.
    fn leader_address(&self) -> Option<String>;
    /// Appends `leaves` at `from` and advances the shared head to `head` and `checkpoint`, as one
    /// compare-and-swap on the shared head. `Err` means the batch must not be committed locally.
    fn append(&self, from: u64, leaves: &[Vec<u8>], head: &Head, checkpoint: &str) -> Result<(), SinkError>;
}

/// Why a replicated batch was not appended. Neither says the commands were refused: a client
/// resubmits the identical commands (a resubmission of an accepted command is answered with its
/// original receipt).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Another node holds the lease (or took it over): nothing of this batch was written.
    #[error("this node is not the leader of the replicated log{}; resubmit there", leader_hint(.leader))]
    NotLeader { leader: Option<String> },
    /// The log database failed before the batch could commit: nothing of it was written.
    #[error("the replicated log is unavailable ({0}); nothing was written, resubmit")]
    Unavailable(String),
    /// The connection failed while the batch was committing: it may or may not be in the log.
    #[error(
        "the replicated log did not confirm the batch ({0}); it may have been accepted: resubmit the identical \
         commands to learn their outcome"
    )]
    Unknown(String),
}

fn leader_hint(leader: &Option<String>) -> String {
    match leader {
        Some(a) => format!(" (the leader is at {a})"),
        None => String::new(),
    }
}

/// A decided batch that is not written yet ([`Ledger::plan`], then [`Ledger::commit`]).
struct Plan {
    /// One outcome per command, in order.
    outcomes: Vec<Outcome>,
    /// Outcomes that are receipts, to be given the covering tree size.
    accepted: Vec<usize>,
    /// Tree size after the batch.
    size: u64,
    /// The store batch and the head it commits, when the batch appends anything.
    write: Option<(crate::store::Batch, Committed)>,
    /// The right edge of the tree after the batch.
    range: CompactRange,
    /// The appended leaves, for a replicated ledger's shared log (empty otherwise).
    leaves: Vec<Vec<u8>>,
}

/// How a batch is committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Each accepted command is committed; refused ones are answered on their own.
    Each,
    /// Committed only if every command is accepted.
    AllOrNothing,
    /// Decided as [`Mode::AllOrNothing`], never committed.
    DryRun,
}

/// Leaves at the end of the log that [`Ledger::open`] checks against their stored leaf hashes.
pub const OPEN_CHECKED_LEAVES: u64 = 64;
const VERIFY_PAGE: u64 = 1024;

/// The format of the state records this build writes. 2: readings per channel, carry parts,
/// corrections, certificate classes, policy amendments. 3: claims per reporting period and
/// beneficiary, parks, the index of bundles by serial. 4: the nonces of windowed commands by
/// window end (`S x`), forgotten once their window has passed. A store of another format has its state
/// rebuilt from the log on open: the state is a function of the log, so nothing is lost.
pub const STATE_FORMAT: u32 = 4;

/// What [`Ledger::verify_full`] checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: u64,
    /// State and index records compared.
    pub records: u64,
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} entries replayed; tree root and {} state and index records match the store",
            self.entries, self.records
        )
    }
}

/// The quick start-up check of the newest leaves: each must exist, decode, and hash to its
/// stored leaf node; the last one's time must be the head's.
fn check_recent_leaves<S: Store + ?Sized>(store: &S, head: &Head, count: u64) -> Result<(), LedgerError> {
    let from = head.size.saturating_sub(count);
    let cache = TileCache::default();
    let log = LogReader::new(store, &cache);
    for index in from..head.size {
        let leaf = log.leaf(index).map_err(|_| LedgerError::Corrupt(Damage::MissingEntry { index }))?;
        let stored = log.nodes(head.size).node(NodeId::leaf(index)).map_err(tree_read)?;
        if merkle::leaf_hash(&leaf) != stored {
            return Err(LedgerError::Corrupt(Damage::LeafHash { index }));
        }
        let entry = codec::decode_leaf(&leaf)
            .map_err(|e| LedgerError::Corrupt(Damage::Entry { index, reason: e.to_string() }))?;
        if index + 1 == head.size && entry.time.0 != head.time {
            return Err(LedgerError::Corrupt(Damage::LastTime { entry: entry.time.0, head: head.time }));
        }
    }
    Ok(())
}

/// The store must hold at least the head it last reported durable ([`Store::head_mark`]), and
/// that head's tree must be a prefix of the stored one.
fn check_head_mark<S: Store + ?Sized>(store: &S, head: &Head) -> Result<(), LedgerError> {
    let Some(bytes) = store.head_mark()? else { return Ok(()) };
    let mark: Head = codec::decode(&bytes).map_err(|e| LedgerError::Corrupt(Damage::HeadMark(e.to_string())))?;
    if mark.name != head.name {
        return Err(LedgerError::Corrupt(Damage::HeadMarkLedger { mark: mark.name, store: head.name.clone() }));
    }
    if mark.size > head.size {
        return Err(LedgerError::Corrupt(Damage::LostEntries { stored: head.size, committed: mark.size }));
    }
    if mark.size > 0 && merkle::root(mark.size, &StoredNodes(store)).map_err(tree_err)? != mark.root {
        return Err(LedgerError::Corrupt(Damage::Forked { size: mark.size }));
    }
    Ok(())
}

/// Compares the keys in `[start, end)` of two stores page by page; returns how many matched.
fn compare_ranges<A: Store + ?Sized, B: Store + ?Sized>(
    stored: &A,
    derived: &B,
    start: &[u8],
    end: &[u8],
) -> Result<u64, LedgerError> {
    const PAGE: usize = 4096;
    let mut cursor = start.to_vec();
    let mut count = 0u64;
    loop {
        let a = stored.scan(&cursor, end, PAGE)?;
        let b = derived.scan(&cursor, end, PAGE)?;
        for i in 0..a.len().max(b.len()) {
            match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) if x == y => {}
                (x, y) => {
                    let key = match (x, y) {
                        (Some(x), Some(y)) => x.0.clone().min(y.0.clone()),
                        (Some(x), None) => x.0.clone(),
                        (None, Some(y)) => y.0.clone(),
                        (None, None) => unreachable!("i is below one of the lengths"),
                    };
                    let what = match (stored.get(&key)?, derived.get(&key)?) {
                        (Some(_), None) => "is stored but the log does not derive it",
                        (None, Some(_)) => "is derived from the log but missing from the store",
                        _ => "differs from what the log derives",
                    };
                    return Err(LedgerError::Corrupt(Damage::StateRecord { key: hex::encode(&key), what }));
                }
            }
        }
        count += a.len() as u64;
        if a.len() < PAGE {
            return Ok(count);
        }
        cursor = a[a.len() - 1].0.clone();
        cursor.push(0);
    }
}

/// Reads any complete tree node of the stored log from its hash tile, without a cache or a tree
/// size: the tile is read as wide as the node needs. For tools and tests; the ledger itself reads
/// through [`LogReader`] with its tile cache.
pub struct StoredNodes<'a, S: ?Sized>(pub &'a S);

impl<S: Store + ?Sized> NodeReader for StoredNodes<'_, S> {
    type Error = StoreError;
    fn node(&self, id: NodeId) -> Result<Hash, StoreError> {
        use greenledger_core::log::tiles::{ExpandedTile, TILE_HEIGHT, TILE_WIDTH};
        let (level, r) = (id.level / TILE_HEIGHT, id.level % TILE_HEIGHT);
        let first =
            id.index.checked_shl(u32::from(r)).ok_or_else(|| StoreError::Corrupt(format!("tree {id} is missing")))?;
        let offset = first % TILE_WIDTH;
        let width = (offset + (1 << r)) as u16;
        let cache = TileCache::default();
        let mut hashes = LogReader::new(self.0, &cache)
            .tile_hashes(level, first / TILE_WIDTH, width)
            .map_err(|_| StoreError::Corrupt(format!("tree {id} is missing")))?;
        hashes.truncate(usize::from(width));
        ExpandedTile::new(hashes)
            .node(r, (offset >> r) as usize)
            .ok_or_else(|| StoreError::Corrupt(format!("tree {id} is missing")))
    }
}

fn tree_read(e: greenledger_core::log::tiles::TileReadError<StoreError>) -> LedgerError {
    match e {
        greenledger_core::log::tiles::TileReadError::Source(StoreError::Corrupt(what)) => {
            LedgerError::Corrupt(Damage::Tree(what))
        }
        greenledger_core::log::tiles::TileReadError::Source(e) => LedgerError::Store(e),
        other => LedgerError::Corrupt(Damage::Tree(other.to_string())),
    }
}

fn tree_err<E: std::fmt::Display>(e: merkle::TreeError<E>) -> LedgerError {
    LedgerError::Corrupt(Damage::Tree(e.to_string()))
}

/// The latest committed head and its signed checkpoint.
#[derive(Clone, Debug)]
pub struct Committed {
    pub head: Head,
    pub checkpoint: String,
}

pub struct Ledger<S: Store> {
    store: Arc<S>,
    signer: NoteSigner,
    clock: Arc<dyn Clock>,
    /// The durable, signed head. Changes only while `gate` is held for writing.
    committed: RwLock<Committed>,
    /// Readers of state hold it shared for the whole of a query ([`Ledger::read`]); a commit holds
    /// it exclusively from the store write until the new head is published, so no read ever
    /// sees state that is not yet durable or that its checkpoint does not cover.
    gate: RwLock<()>,
    /// The writer's lock, and the right edge of the tree it appends to.
    write: Mutex<CompactRange>,
    /// Expanded hash tiles for proofs and roots.
    tiles: TileCache,
    poisoned: AtomicBool,
    /// The shared log of a replicated ledger (`None`: the store alone is the log).
    sink: Option<Arc<dyn LogSink>>,
}

thread_local! {
    /// Ledgers (by address) whose read gate this thread holds: a nested read does not lock again
    /// (a second shared lock on the same thread could wait behind a queued writer forever).
    static READING: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<S: Store> Ledger<S> {
    /// Creates a new ledger in an empty store with a signed genesis command. The log key's name
    /// must be the ledger name of the genesis policy: it is the checkpoint origin.
    pub fn create(
        store: Arc<S>,
        signer: NoteSigner,
        genesis: SignedCommand,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, LedgerError> {
        if store.get(keys::HEAD)?.is_some() {
            return Err(LedgerError::AlreadyExists);
        }
        let policy = match &genesis.body.command {
            Command::Genesis(cmd::Genesis { policy, .. }) => policy.clone(),
            Command::GenesisV1(cmd::GenesisV1 { policy, .. }) => policy.clone().into(),
            other => return Err(LedgerError::NotGenesis { kind: other.kind() }),
        };
        if signer.name() != policy.name {
            return Err(LedgerError::KeyNameMismatch { key: signer.name().to_string(), ledger: policy.name.clone() });
        }
        let head = Head { name: policy.name.clone(), size: 0, root: merkle::empty_root(), time: 0 };
        let mut format = crate::store::Batch::default();
        format.put(keys::STATE_FORMAT.to_vec(), STATE_FORMAT.to_be_bytes().to_vec());
        tiles_log::mark_format(&mut format);
        store.commit(format)?;
        let ledger = Ledger::with_head(store, signer, clock, head, String::new(), CompactRange::new());
        match ledger.submit_batch(vec![genesis])?.pop().expect("one outcome per command") {
            Ok(_) => Ok(ledger),
            Err(r) => Err(LedgerError::Genesis(r)),
        }
    }

    /// Opens an existing ledger and checks that the stored tree, head and checkpoint agree.
    pub fn open(store: Arc<S>, signer: NoteSigner, clock: Arc<dyn Clock>) -> Result<Self, LedgerError> {
        let bytes = store.get(keys::HEAD)?.ok_or(LedgerError::NoLedger)?;
        let head: Head = codec::decode(&bytes).map_err(|e| LedgerError::Corrupt(Damage::Head(e.to_string())))?;
        if signer.name() != head.name {
            return Err(LedgerError::Corrupt(Damage::WrongKey {
                key: signer.name().to_string(),
                ledger: head.name.clone(),
            }));
        }
        Self::convert_log(&store, &head)?;
        let cache = TileCache::default();
        let nodes = LogReader::new(&*store, &cache);
        let range = CompactRange::from_nodes(head.size, &nodes.nodes(head.size)).map_err(tree_read)?;
        let root = range.root();
        if root != head.root {
            return Err(LedgerError::Corrupt(Damage::Root { computed: root, head: head.root }));
        }
        if head.size > 0 && nodes.leaf(head.size - 1).is_err() {
            return Err(LedgerError::Corrupt(Damage::MissingEntry { index: head.size - 1 }));
        }
        let beyond = head.size.div_ceil(greenledger_core::log::tiles::TILE_WIDTH);
        if store.get(&keys::leaf(head.size))?.is_some() || store.get(&keys::entry_bundle(beyond))?.is_some() {
            return Err(LedgerError::Corrupt(Damage::BeyondHead { index: head.size }));
        }
        let note = store
            .get(keys::CHECKPOINT)?
            .ok_or_else(|| LedgerError::Corrupt(Damage::Checkpoint("the signed checkpoint is missing".into())))?;
        let note = String::from_utf8(note)
            .map_err(|_| LedgerError::Corrupt(Damage::Checkpoint("checkpoint is not UTF-8".into())))?;
        let (cp, _) = checkpoint::open_checkpoint(&note, &signer.verifier())
            .map_err(|e| LedgerError::Corrupt(Damage::Checkpoint(format!("stored checkpoint: {e}"))))?;
        if cp.size != head.size || cp.root != head.root {
            return Err(LedgerError::Corrupt(Damage::Checkpoint(
                "stored checkpoint does not match the tree head".into(),
            )));
        }
        check_recent_leaves(&*store, &head, OPEN_CHECKED_LEAVES)?;
        check_head_mark(&*store, &head)?;
        Self::migrate_state(&store, &head)?;
        Ok(Ledger::with_head(store, signer, clock, head, note, range))
    }

    /// Converts a log stored in the first layout (a key per leaf and per tree node) to C2SP
    /// tiles ([`crate::store::log`]) the first time this build opens it. The entries, the tree,
    /// its root and every signed checkpoint stay exactly as they were.
    fn convert_log(store: &S, head: &Head) -> Result<(), LedgerError> {
        match tiles_log::format(store)? {
            tiles_log::LOG_FORMAT => Ok(()),
            1 => {
                tracing::info!(
                    entries = head.size,
                    "converting the log to C2SP tiles (one-time, on first open by this version)"
                );
                let done = tiles_log::convert_first_layout(store, head.size, &head.root)
                    .map_err(|e| LedgerError::Corrupt(Damage::Tree(format!("converting the log to tiles: {e}"))))?;
                tracing::info!(entries = done, "the log is stored as C2SP tiles");
                Ok(())
            }
            newer => Err(LedgerError::Corrupt(Damage::Head(format!(
                "the log is stored in layout {newer}, newer than this build's {}",
                tiles_log::LOG_FORMAT
            )))),
        }
    }

    /// The slow, complete check: re-reads every leaf, checks it against its stored leaf hash,
    /// replays it with the rules (signature, decision, effects) into an in-memory store, and
    /// compares the tree root and every state and index record (`S` and `I` keys) with what
    /// the store holds. Any difference is reported as [`LedgerError::Corrupt`] naming the first
    /// entry or key that differs.
    pub fn verify_full(&self) -> Result<VerifyReport, LedgerError> {
        let head = self.committed().head;
        let store = &*self.store;
        let replica = replay_log(store, &head)?;
        let mut records = 0;
        for (start, end) in [(b"I".as_slice(), b"J".as_slice()), (b"S".as_slice(), b"T".as_slice())] {
            records += compare_ranges(store, &replica, start, end)?;
        }
        Ok(VerifyReport { entries: head.size, records })
    }

    /// Rebuilds the state records from the log when the store holds another state format: one
    /// atomic batch deletes every `S` and `I` record, writes the replayed ones and the format.
    /// The log, tree and checkpoint are not touched. Returns whether it rebuilt.
    fn migrate_state(store: &S, head: &Head) -> Result<bool, LedgerError> {
        let format = store.get(keys::STATE_FORMAT)?.and_then(|v| v.try_into().ok()).map(u32::from_be_bytes);
        if format == Some(STATE_FORMAT) {
            return Ok(false);
        }
        if format.is_some_and(|f| f > STATE_FORMAT) {
            return Err(LedgerError::Corrupt(Damage::Head(format!(
                "the state is of format {}, newer than this build's {STATE_FORMAT}",
                format.unwrap_or_default()
            ))));
        }
        let replica = replay_log(store, head)?;
        let mut batch = crate::store::Batch::default();
        for (start, end) in [(b"I".as_slice(), b"J".as_slice()), (b"S".as_slice(), b"T".as_slice())] {
            for (k, _) in store.scan(start, end, usize::MAX)? {
                batch.delete(k);
            }
            for (k, v) in replica.scan(start, end, usize::MAX)? {
                batch.put(k, v);
            }
        }
        batch.put(keys::STATE_FORMAT.to_vec(), STATE_FORMAT.to_be_bytes().to_vec());
        store.commit(batch)?;
        tracing::info!(
            entries = head.size,
            from = format.unwrap_or(1),
            to = STATE_FORMAT,
            "state rebuilt from the log"
        );
        Ok(true)
    }

    fn with_head(
        store: Arc<S>,
        signer: NoteSigner,
        clock: Arc<dyn Clock>,
        head: Head,
        checkpoint: String,
        range: CompactRange,
    ) -> Self {
        Ledger {
            store,
            signer,
            clock,
            committed: RwLock::new(Committed { head, checkpoint }),
            gate: RwLock::new(()),
            write: Mutex::new(range),
            tiles: TileCache::default(),
            poisoned: AtomicBool::new(false),
            sink: None,
        }
    }

    /// Reads the log: entries, bundles and hash tiles, through the ledger's tile cache.
    pub fn log(&self) -> LogReader<'_, S> {
        LogReader::new(&*self.store, &self.tiles)
    }

    /// Runs `f` on a snapshot: the state as of the latest durable, signed checkpoint, whose head
    /// `f` is given. No commit lands while `f` runs, so every query `f` makes answers from that
    /// same state; keep `f` short, because the next commit waits for it. Nested calls on one
    /// thread share the outer snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&Head) -> T) -> T {
        let me = self as *const Self as usize;
        if READING.with(|r| r.borrow().contains(&me)) {
            return f(&self.committed.read().expect("head lock").head);
        }
        let _shared = self.gate.read().expect("read gate");
        READING.with(|r| r.borrow_mut().push(me));
        struct Leave(usize);
        impl Drop for Leave {
            fn drop(&mut self) {
                READING.with(|r| {
                    let mut r = r.borrow_mut();
                    if let Some(i) = r.iter().rposition(|&x| x == self.0) {
                        r.remove(i);
                    }
                });
            }
        }
        let _leave = Leave(me);
        let head = self.committed.read().expect("head lock").head.clone();
        f(&head)
    }

    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    pub fn name(&self) -> String {
        self.committed().head.name
    }

    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    pub fn committed(&self) -> Committed {
        self.committed.read().expect("head lock").clone()
    }

    /// Signs `text` (which must end in a newline) as a C2SP signed note with the log key, for
    /// documents the ledger vouches for, such as accounting statements.
    pub fn sign_note(&self, text: &str) -> Result<String, greenledger_core::log::NoteError> {
        greenledger_core::log::note::sign(text, &[&self.signer])
    }

    /// Runs `f` with the committed head while no batch is being written, so what `f` reads through
    /// the query methods is exactly the state at that head ([`Ledger::read`]).
    pub fn with_settled_head<T>(&self, f: impl FnOnce(&Head) -> T) -> T {
        self.read(f)
    }

    /// Decides and durably appends a batch. Each command gets its own outcome; a storage
    /// failure fails the whole batch and nothing of it is acknowledged.
    pub fn submit_batch(&self, commands: Vec<SignedCommand>) -> Result<Vec<Outcome>, LedgerError> {
        self.run_batch(commands, false)
    }

    /// All or nothing: decides every command in order (each seeing the effects of the earlier
    /// ones) and commits only if all are accepted. If any is refused, nothing is written, the
    /// refusals are returned, and every other command is answered "not applied".
    pub fn submit_atomic(&self, commands: Vec<SignedCommand>) -> Result<Vec<Outcome>, LedgerError> {
        self.run_batch(commands, true)
    }

    /// A dry run of [`Ledger::submit_atomic`]: decides every command in order, exactly as
    /// `submit_atomic` would, and writes nothing. Accepted commands get receipts with the
    /// indexes they would have had; refusals name their rule.
    pub fn check_atomic(&self, commands: Vec<SignedCommand>) -> Result<Vec<Outcome>, LedgerError> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(LedgerError::Poisoned);
        }
        let verified = crypto::verify_many(&self.name(), commands);
        self.run_mode(verified, Mode::DryRun)
    }

    fn run_batch(&self, commands: Vec<SignedCommand>, atomic: bool) -> Result<Vec<Outcome>, LedgerError> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(LedgerError::Poisoned);
        }
        let verified = crypto::verify_many(&self.name(), commands);
        self.run_verified(verified, atomic)
    }

    /// [`Ledger::submit_batch`] for commands already checked with [`crypto::verify_many`]
    /// against this ledger's name. Verification needs no state, so the sequencer verifies the
    /// next batch on its own thread while this one is decided and committed (performance).
    pub fn submit_verified(
        &self,
        verified: Vec<Result<crypto::Authenticated, crypto::SignatureError>>,
    ) -> Result<Vec<Outcome>, LedgerError> {
        self.run_verified(verified, false)
    }

    fn run_verified(
        &self,
        verified: Vec<Result<crypto::Authenticated, crypto::SignatureError>>,
        atomic: bool,
    ) -> Result<Vec<Outcome>, LedgerError> {
        self.run_mode(verified, if atomic { Mode::AllOrNothing } else { Mode::Each })
    }

    fn run_mode(
        &self,
        verified: Vec<Result<crypto::Authenticated, crypto::SignatureError>>,
        mode: Mode,
    ) -> Result<Vec<Outcome>, LedgerError> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(LedgerError::Poisoned);
        }
        if mode != Mode::DryRun {
            if let Some(sink) = self.sink.as_ref().filter(|s| !s.is_leader()) {
                // Decided nothing: a follower's state may be behind the leader's.
                return Err(SinkError::NotLeader { leader: sink.leader_address() }.into());
            }
        }
        let mut writer = self.write.lock().expect("writer lock");
        // Only the head is needed; the checkpoint text is replaced if this batch commits.
        let head = self.committed.read().expect("head lock").head.clone();
        let plan = self.plan(&head, &writer, verified, mode)?;
        if mode == Mode::DryRun {
            return Ok(plan.outcomes);
        }
        self.commit(plan, &mut writer)
    }

    /// The planning step of a batch: decides every command against the state plus the effects
    /// of the batch's earlier commands, appends the accepted ones to the tree in memory, and
    /// signs the checkpoint of the new size. It reads the store and writes nothing, so a plan
    /// that is dropped leaves no trace (the dry run, or an all-or-nothing batch with a refusal).
    fn plan(
        &self,
        head: &Head,
        range: &CompactRange,
        verified: Vec<Result<crypto::Authenticated, crypto::SignatureError>>,
        mode: Mode,
    ) -> Result<Plan, LedgerError> {
        let now = Timestamp(self.clock.now().0.max(head.time));
        let store = &*self.store;
        debug_assert_eq!(range.size(), head.size);
        let mut range = range.clone();
        // Leaf hashes appended by this batch, for duplicates of them within it.
        let mut appended: Vec<Hash> = Vec::new();
        let mut pending = Pending::default();
        let mut size = head.size;
        let mut outcomes = Vec::with_capacity(verified.len());
        let mut accepted: Vec<usize> = Vec::new();
        let mut leaves = Vec::new();
        for v in verified {
            let auth = match v {
                Ok(a) => a,
                Err(e) => {
                    outcomes.push(Err(Refused::Signature(e)));
                    continue;
                }
            };
            let ctx = Context { index: LeafIndex(size), now };
            let decision = decide(&StoreView::new(store, &pending), &auth, ctx);
            match decision {
                Ok(decision) => {
                    let leaf = codec::leaf_bytes(&Entry { time: now, signed: auth.into_signed() });
                    // An entry bundle prefixes each entry with a uint16 length: a longer entry
                    // could never be written into its bundle. The rules' own refusals come first.
                    if leaf.len() > usize::from(u16::MAX) {
                        let max = usize::from(u16::MAX);
                        outcomes.push(Err(Refusal::EntryTooLarge { bytes: leaf.len(), max }.into()));
                        continue;
                    }
                    apply(&mut PendingWriter { store, pending: &mut pending }, decision.effects)
                        .map_err(|f| LedgerError::Store(StoreError::Io(f.0)))?;
                    if self.sink.is_some() {
                        leaves.push(leaf.clone());
                    }
                    let leaf_hash = tiles_log::append(store, &mut pending, &mut range, leaf)?;
                    appended.push(leaf_hash);
                    accepted.push(outcomes.len());
                    outcomes.push(Ok(Receipt {
                        index: LeafIndex(size),
                        leaf_hash,
                        summary: decision.summary,
                        changes: decision.changes,
                        duplicate: false,
                        tree_size: 0,
                    }));
                    size += 1;
                }
                Err(Rejection::Refused(Refusal::Duplicate { entry })) => {
                    let leaf_hash = match entry.0.checked_sub(head.size) {
                        Some(i) => appended[i as usize],
                        None => self.log().nodes(head.size).node(NodeId::leaf(entry.0)).map_err(tree_read)?,
                    };
                    outcomes.push(Ok(Receipt {
                        index: entry,
                        leaf_hash,
                        summary: vec![format!(
                            "identical command already accepted as entry {}; nothing changed",
                            entry.0
                        )],
                        changes: Vec::new(),
                        duplicate: true,
                        tree_size: 0,
                    }));
                    accepted.push(outcomes.len() - 1);
                }
                Err(Rejection::Refused(r)) => outcomes.push(Err(r.into())),
                Err(Rejection::Fault(f)) => return Err(LedgerError::Store(StoreError::Io(f.0))),
            }
        }
        if mode == Mode::AllOrNothing && outcomes.iter().any(Result::is_err) {
            let outcomes = outcomes.into_iter().map(|o| o.and(Err(Refused::NotApplied))).collect();
            return Ok(Plan { outcomes, accepted: Vec::new(), size: head.size, write: None, range, leaves });
        }
        if size == head.size {
            // Nothing appended (refusals and duplicates only): nothing to write.
            return Ok(Plan { outcomes, accepted, size, write: None, range, leaves });
        }
        let root = range.root();
        let new_head = Head { name: head.name.clone(), size, root, time: now.0 };
        let cp = Checkpoint { origin: head.name.clone(), size, root, extensions: Vec::new() };
        let note = checkpoint::sign_checkpoint(&cp, &self.signer)
            .map_err(|e| LedgerError::Corrupt(Damage::Signing(e.to_string())))?;
        pending.writes.insert(keys::HEAD.to_vec(), Some(codec::encode(&new_head)));
        pending.writes.insert(keys::CHECKPOINT.to_vec(), Some(note.clone().into_bytes()));
        let committed = Committed { head: new_head, checkpoint: note };
        Ok(Plan { outcomes, accepted, size, write: Some((pending.into_batch(), committed)), range, leaves })
    }

    /// The I/O step of a batch: one atomic, durable store commit of the plan, then the new head
    /// becomes what readers see. Only after this are the submitters answered; a failed commit
    /// answers none of them "accepted" and stops the ledger writing until a restart.
    fn commit(&self, plan: Plan, writer: &mut CompactRange) -> Result<Vec<Outcome>, LedgerError> {
        let Plan { mut outcomes, accepted, size, write, range, leaves } = plan;
        if let Some((batch, committed)) = write {
            if let Some(sink) = &self.sink {
                // The shared log first: the batch is durable (and acknowledged) once it is there.
                let from = committed.head.size - leaves.len() as u64;
                sink.append(from, &leaves, &committed.head, &committed.checkpoint)?;
            }
            // Readers of state wait from the moment the batch may become visible in the store
            // until its head is published: they see the old durable state or the new one.
            let _exclusive = self.gate.write().expect("read gate");
            if let Err(e) = self.store.commit(batch) {
                // What the store holds is now unknown: stop writing until a restart re-reads it.
                self.poisoned.store(true, Ordering::SeqCst);
                if self.sink.is_none() {
                    return Err(e.into());
                }
                // Replicated: the batch is durable in the shared log, so it was accepted; this
                // node stops writing, and a restart catches its store up from the shared log.
                tracing::error!(error = %e, "the local store failed after the shared log committed; restart this node");
                drop(_exclusive);
                for i in accepted {
                    if let Ok(r) = &mut outcomes[i] {
                        r.tree_size = size;
                    }
                }
                return Ok(outcomes);
            }
            *self.committed.write().expect("head lock") = committed;
            *writer = range;
        }
        // `size` is the size of the checkpoint that now covers every accepted entry (unchanged
        // when the batch appended nothing, as for pure duplicates).
        for i in accepted {
            if let Ok(r) = &mut outcomes[i] {
                r.tree_size = size;
            }
        }
        Ok(outcomes)
    }

    /// Makes this ledger a node of a replicated log: every batch goes to `sink` before the local
    /// store ([`LogSink`]). Set before the ledger is shared.
    pub fn with_sink(mut self, sink: Arc<dyn LogSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// True once a storage failure stopped this ledger writing (a restart re-reads the store).
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::SeqCst)
    }

    /// An empty ledger for a node of a replicated log that has not yet copied it: its first
    /// [`Ledger::apply_replicated`] brings in the genesis entry. `name` is the log's origin.
    pub fn create_replica(store: Arc<S>, signer: NoteSigner, clock: Arc<dyn Clock>) -> Result<Self, LedgerError> {
        if store.get(keys::HEAD)?.is_some() {
            return Err(LedgerError::AlreadyExists);
        }
        let mut format = crate::store::Batch::default();
        format.put(keys::STATE_FORMAT.to_vec(), STATE_FORMAT.to_be_bytes().to_vec());
        tiles_log::mark_format(&mut format);
        store.commit(format)?;
        let name = signer.name().to_string();
        let head = Head { name, size: 0, root: merkle::empty_root(), time: 0 };
        Ok(Ledger::with_head(store, signer, clock, head, String::new(), CompactRange::new()))
    }

    /// Applies a batch of entries the leader of a replicated log committed: `leaves` are the
    /// entries from index `first`, `checkpoint` the leader's signed checkpoint of the size after
    /// them. Each entry is checked as a replay checks it (its signature, the rules at the
    /// entry's own time, time never going back), appended, and the result must be the
    /// checkpoint's tree: anything else is [`LedgerError::Corrupt`] and nothing is written.
    /// Leaves this node already holds (an overlap) are checked against its tree and skipped.
    pub fn apply_replicated(&self, first: u64, leaves: Vec<Vec<u8>>, checkpoint: &str) -> Result<u64, LedgerError> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(LedgerError::Poisoned);
        }
        let mut writer = self.write.lock().expect("writer lock");
        let head = self.committed.read().expect("head lock").head.clone();
        let count = leaves.len() as u64;
        let diverged = |index: u64, reason: String| LedgerError::Corrupt(Damage::Entry { index, reason });
        if first > head.size {
            return Err(diverged(head.size, format!("the shared log skips to entry {first}")));
        }
        let end = first + count;
        if end <= head.size {
            return Ok(head.size);
        }
        let (cp, _) = checkpoint::open_checkpoint(checkpoint, &self.signer.verifier())
            .map_err(|e| LedgerError::Corrupt(Damage::Checkpoint(format!("replicated checkpoint: {e}"))))?;
        if cp.size != end || cp.origin != head.name {
            return Err(LedgerError::Corrupt(Damage::Checkpoint(format!(
                "replicated checkpoint of size {} for entries up to {end}",
                cp.size
            ))));
        }
        let skip = (head.size - first) as usize;
        for (i, leaf) in leaves[..skip].iter().enumerate() {
            let index = first + i as u64;
            let stored = self.log().nodes(head.size).node(NodeId::leaf(index)).map_err(tree_read)?;
            if merkle::leaf_hash(leaf) != stored {
                return Err(diverged(index, "the shared log holds another entry here".into()));
            }
        }
        let store = &*self.store;
        let mut range = writer.clone();
        let mut pending = Pending::default();
        let mut time = head.time;
        let mut entries = Vec::with_capacity(leaves.len() - skip);
        let mut times = Vec::with_capacity(leaves.len() - skip);
        for (i, leaf) in leaves[skip..].iter().enumerate() {
            let index = head.size + i as u64;
            let entry = codec::decode_leaf(leaf).map_err(|e| diverged(index, e.to_string()))?;
            if entry.time.0 < time {
                return Err(diverged(index, "time goes back".into()));
            }
            time = entry.time.0;
            times.push(entry.time);
            entries.push(entry.signed);
        }
        let verified = crypto::verify_many(&head.name, entries);
        for (i, ((v, now), leaf)) in verified.into_iter().zip(times).zip(leaves.into_iter().skip(skip)).enumerate() {
            let index = head.size + i as u64;
            let auth = v.map_err(|e| diverged(index, e.to_string()))?;
            let ctx = Context { index: LeafIndex(index), now };
            let decision = decide(&StoreView::new(store, &pending), &auth, ctx)
                .map_err(|r| diverged(index, format!("the rules refuse it on replay: {r}")))?;
            apply(&mut PendingWriter { store, pending: &mut pending }, decision.effects)
                .map_err(|f| LedgerError::Store(StoreError::Io(f.0)))?;
            tiles_log::append(store, &mut pending, &mut range, leaf)?;
        }
        let root = range.root();
        if root != cp.root {
            return Err(LedgerError::Corrupt(Damage::Root { computed: root, head: cp.root }));
        }
        let new_head = Head { name: head.name.clone(), size: end, root, time };
        pending.writes.insert(keys::HEAD.to_vec(), Some(codec::encode(&new_head)));
        pending.writes.insert(keys::CHECKPOINT.to_vec(), Some(checkpoint.as_bytes().to_vec()));
        let _exclusive = self.gate.write().expect("read gate");
        if let Err(e) = self.store.commit(pending.into_batch()) {
            self.poisoned.store(true, Ordering::SeqCst);
            return Err(e.into());
        }
        *self.committed.write().expect("head lock") = Committed { head: new_head, checkpoint: checkpoint.to_string() };
        *writer = range;
        Ok(end)
    }

    /// Adds a witness cosignature line to what the ledger serves with its checkpoints.
    pub fn store_cosignature(&self, witness: &str, line: &str) -> Result<(), LedgerError> {
        let mut batch = crate::store::Batch::default();
        batch.put(keys::witness(witness), line.as_bytes().to_vec());
        self.store.commit(batch)?;
        Ok(())
    }
}

/// Replays every entry of the log up to `head` with the rules into an in-memory store, checking
/// each leaf against its stored hash, the tree root and the last time. The store's own state
/// records are not read.
fn replay_log<S: Store + ?Sized>(store: &S, head: &Head) -> Result<crate::store::MemStore, LedgerError> {
    let replica = crate::store::MemStore::new();
    let mut tree = merkle::MemTree::new();
    let mut last_time = 0u64;
    let mut at = 0u64;
    let cache = TileCache::default();
    let log = LogReader::new(store, &cache);
    while at < head.size {
        let end = head.size.min(at.saturating_add(VERIFY_PAGE));
        let rows = log.leaves(at, end).map_err(|e| match e {
            StoreError::Corrupt(reason) => LedgerError::Corrupt(Damage::Entry { index: at, reason }),
            other => LedgerError::Store(other),
        })?;
        for (index, leaf) in (at..end).zip(rows) {
            let stored = log.nodes(head.size).node(NodeId::leaf(index)).map_err(tree_read)?;
            if merkle::leaf_hash(&leaf) != stored {
                return Err(LedgerError::Corrupt(Damage::LeafHash { index }));
            }
            tree.push(&leaf);
            let entry = codec::decode_leaf(&leaf)
                .map_err(|e| LedgerError::Corrupt(Damage::Entry { index, reason: e.to_string() }))?;
            if entry.time.0 < last_time {
                return Err(LedgerError::Corrupt(Damage::Entry { index, reason: "time goes back".into() }));
            }
            last_time = entry.time.0;
            let auth = crypto::verify(&head.name, entry.signed)
                .map_err(|e| LedgerError::Corrupt(Damage::Entry { index, reason: e.to_string() }))?;
            let ctx = Context { index: LeafIndex(index), now: entry.time };
            let none = Pending::default();
            let decision = decide(&StoreView::new(&replica, &none), &auth, ctx).map_err(|r| {
                LedgerError::Corrupt(Damage::Entry { index, reason: format!("the rules refuse it on replay: {r}") })
            })?;
            let mut pending = Pending::default();
            apply(&mut PendingWriter { store: &replica, pending: &mut pending }, decision.effects)
                .map_err(|f| LedgerError::Corrupt(Damage::Entry { index, reason: f.0 }))?;
            replica.commit(pending.into_batch())?;
        }
        at = end;
    }
    if tree.root() != head.root {
        return Err(LedgerError::Corrupt(Damage::LeavesRoot { computed: tree.root(), head: head.root }));
    }
    if head.size > 0 && last_time != head.time {
        return Err(LedgerError::Corrupt(Damage::LastTime { entry: last_time, head: head.time }));
    }
    Ok(replica)
}
