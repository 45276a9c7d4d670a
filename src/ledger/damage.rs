//! What is wrong with a store the ledger refuses to trust ([`super::LedgerError::Corrupt`]).
//! Every variant names the entry, record or head concerned, so an operator knows where to look;
//! the messages are the same words the checks have always used.

use greenledger_core::log::merkle::Hash;

/// Damage found in a store: by the start-up checks, a full verification, or a read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// A leaf that the tree head covers is not stored.
    #[error("entry {index} is missing")]
    MissingEntry { index: u64 },
    /// A page of leaves is shorter than the tree head says.
    #[error("entries {start}..{end}: only {stored} are stored")]
    MissingEntries { start: u64, end: u64, stored: usize },
    /// A leaf's hash differs from its stored leaf node.
    #[error("entry {index} does not match its stored leaf hash")]
    LeafHash { index: u64 },
    /// A leaf cannot be decoded, verified or replayed; `reason` says which check failed.
    #[error("entry {index}: {reason}")]
    Entry { index: u64, reason: String },
    /// A leaf is stored beyond the tree head.
    #[error("entry {index} exists beyond the tree head")]
    BeyondHead { index: u64 },
    /// The newest entry's time differs from the head's.
    #[error("the last entry's time {entry} differs from the tree head's {head}")]
    LastTime { entry: u64, head: u64 },
    /// The stored tree head cannot be decoded.
    #[error("tree head: {0}")]
    Head(String),
    /// The log key given is not this ledger's.
    #[error("log key {key:?} is not the key of ledger {ledger:?}")]
    WrongKey { key: String, ledger: String },
    /// The root recomputed from the stored tree differs from the head's.
    #[error("root recomputed from stored nodes {} differs from the stored head {}", hex::encode(.computed), hex::encode(.head))]
    Root { computed: Hash, head: Hash },
    /// The root of the stored leaves (full verification) differs from the head's.
    #[error("root of the stored leaves {} differs from the tree head {}", hex::encode(.computed), hex::encode(.head))]
    LeavesRoot { computed: Hash, head: Hash },
    /// A tree node cannot be read.
    #[error("{0}")]
    Tree(String),
    /// The signed checkpoint is missing, unreadable, badly signed or not of the head.
    #[error("{0}")]
    Checkpoint(String),
    /// The head mark cannot be decoded.
    #[error("the head mark is damaged: {0}")]
    HeadMark(String),
    /// The head mark is of another ledger.
    #[error("the head mark belongs to ledger {mark:?}, the store to {store:?}")]
    HeadMarkLedger { mark: String, store: String },
    /// The store lost entries that were committed and acknowledged.
    #[error(
        "the store came back with {stored} entries but {committed} were committed and acknowledged before; \
         the store files lost data (damaged or truncated): restore them from a backup"
    )]
    LostEntries { stored: u64, committed: u64 },
    /// The stored tree does not extend the last committed head.
    #[error("the stored tree's first {size} entries differ from the last committed head")]
    Forked { size: u64 },
    /// A state or index record differs from what replaying the log derives.
    #[error("state record {key} {what}")]
    StateRecord { key: String, what: &'static str },
    /// A state record cannot be read.
    #[error("{0}")]
    Record(String),
    /// The checkpoint of a new head could not be signed.
    #[error("signing the checkpoint: {0}")]
    Signing(String),
}
