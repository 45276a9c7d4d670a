//! The transparency log: RFC 6962 Merkle tree math, C2SP signed notes and
//! checkpoints. Everything here is pure: no storage, I/O or clocks (times are
//! passed in as arguments).
//!
//! # Layout
//!
//! * [`merkle`] — RFC 6962 / RFC 9162 hashing, roots, inclusion and
//!   consistency proofs and their verification. The tree is stored as one
//!   hash per complete perfect subtree ([`NodeId`], about two per leaf), read
//!   through the [`NodeReader`] seam; appends and reads are O(log n).
//!   [`MemTree`] is an in-memory tree, [`Overlay`] stages a batch of appends.
//! * [`note`] — C2SP signed notes with Ed25519 keys ([`NoteSigner`],
//!   [`NoteVerifier`], [`sign`], [`open`]) and C2SP tlog-cosignature witness
//!   cosignatures ([`Cosigner`], [`CosignatureVerifier`]).
//! * [`tiles`] — the log as C2SP tlog-tiles: tile paths, entry bundles, the compact range
//!   that appends without reads, and a [`NodeReader`] over hash tiles.
//! * [`checkpoint`] — C2SP tlog-checkpoint note bodies ([`Checkpoint`]),
//!   signing and opening them as notes.
//! * [`tlog_proof`] — C2SP tlog-proof: an entry's index, inclusion proof and cosigned
//!   checkpoint as text, parsed and verified offline.
//! * [`witness`] — the C2SP tlog-witness `add-checkpoint` call: the request body for both
//!   sides and the witness's decision, each refusal one HTTP status.

pub mod checkpoint;
pub mod merkle;
pub mod note;
pub mod tiles;
pub mod tlog_proof;
pub mod witness;

pub use checkpoint::{open_checkpoint, sign_checkpoint, Checkpoint, CheckpointError};
pub use merkle::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, root, verify_consistency, verify_inclusion,
    Hash, MemTree, NodeId, NodeReader, Overlay, ProofError, TreeError,
};
pub use note::{
    add_signature_lines, open, sign, split, CosignatureVerifier, Cosigner, NoteError, NoteSigner, NoteVerifier,
    OpenedNote, SignatureLine,
};
