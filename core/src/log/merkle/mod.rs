//! RFC 6962 / RFC 9162 Merkle tree math over stored perfect-subtree nodes.
//!
//! # Storage layout
//!
//! The tree is never held in memory as a whole and leaves are never re-hashed.
//! Instead, exactly one hash is stored for every *perfect* subtree that is
//! complete: the node [`NodeId`] `{ level, index }` is the Merkle tree hash of
//! the `2^level` leaves starting at leaf `index * 2^level`. Level 0 holds the
//! leaf hashes themselves. A tree of `n` leaves therefore stores
//! `n + n/2 + n/4 + ... < 2n` hashes, about two per leaf, and those nodes never
//! change once written: the log is append-only, so a perfect subtree, once
//! complete, stays complete.
//!
//! * **Appending** leaf number `n` (the tree grows from `n` to `n + 1`) writes the
//!   leaf node plus one node for every perfect subtree the new leaf completes;
//!   that is one node per trailing one-bit of `n`, each found by reading its
//!   left sibling ([`append_nodes`]). O(log n) reads and writes.
//! * **Reading**: every hash that RFC 6962 needs (the root of any tree size,
//!   every element of an inclusion or consistency proof) is the Merkle tree
//!   hash of a leaf range `[start, end)` where `start` is a multiple of the
//!   next power of two `>= end - start`. Such a range splits into at most
//!   `log2(n) + 1` stored perfect subtrees (one per set bit of `end - start`),
//!   which are combined right to left ([`subtree_hash`]). So a root costs
//!   O(log n) reads and a proof O(log² n) reads in the worst case.
//!
//! Storage is abstracted by [`NodeReader`]: the math says which node it needs,
//! the caller fetches it. A reader must return an error (never a made-up value)
//! for a node that is not stored. [`MemTree`] is an in-memory implementation for
//! tests and tools; [`Overlay`] layers freshly computed nodes over a base reader
//! so that a batch of appends can be computed before it is written.
//!
//! Proof verification ([`verify_inclusion`], [`verify_consistency`]) needs no
//! storage and follows RFC 9162 sections 2.1.3.2 and 2.1.4.2.

use std::fmt;

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// RFC 6962 leaf hash: `SHA-256(0x00 || leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(leaf);
    h.finalize().into()
}

/// RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A stored node: the root of the perfect subtree of `2^level` leaves starting
/// at leaf `index * 2^level`. Level 0 nodes are leaf hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    /// The node holding the hash of leaf `index`.
    pub fn leaf(index: u64) -> Self {
        NodeId { level: 0, index }
    }

    /// Storage key: the level byte, then the index big-endian, so that keys
    /// sort by level and then by index.
    pub fn to_key(&self) -> [u8; 9] {
        let mut key = [0u8; 9];
        key[0] = self.level;
        key[1..].copy_from_slice(&self.index.to_be_bytes());
        key
    }

    /// Inverse of [`NodeId::to_key`]. Returns `None` for a key of the wrong
    /// length, a level above 63, or a subtree that would start beyond leaf
    /// `2^64 - 1`.
    pub fn from_key(key: &[u8]) -> Option<NodeId> {
        let key: &[u8; 9] = key.try_into().ok()?;
        let level = key[0];
        if level > 63 {
            return None;
        }
        let mut index = [0u8; 8];
        index.copy_from_slice(&key[1..]);
        let index = u64::from_be_bytes(index);
        // The first leaf, index << level, must fit in a u64.
        if level > 0 && index >> (64 - u32::from(level)) != 0 {
            return None;
        }
        Some(NodeId { level, index })
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node(level {}, index {})", self.level, self.index)
    }
}

/// Storage seam: the tree math says which nodes it needs, the caller fetches
/// them. Implementations must return an error for a node that is not stored.
pub trait NodeReader {
    type Error;
    fn node(&self, id: NodeId) -> Result<Hash, Self::Error>;
}

impl<R: NodeReader + ?Sized> NodeReader for &R {
    type Error = R::Error;
    fn node(&self, id: NodeId) -> Result<Hash, Self::Error> {
        (**self).node(id)
    }
}

/// Errors from computing roots and proofs over stored nodes.
#[derive(Debug, thiserror::Error)]
pub enum TreeError<E> {
    /// The node reader failed (for example, the node is not stored).
    #[error("cannot read a stored tree node: {0}")]
    Read(E),
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("bad tree sizes for a consistency proof: first {first}, second {second} (need 0 < first <= second)")]
    BadSizes { first: u64, second: u64 },
    #[error("leaf range [{start}, {end}) is not a range used by RFC 6962 (start must be a multiple of the next power of two >= its length)")]
    UnalignedRange { start: u64, end: u64 },
    #[error("the tree is full: no leaf can be appended at size {size}")]
    Full { size: u64 },
}

/// Largest power of two strictly less than `n`; `n` must be at least 2.
/// This is the split point `k` of RFC 6962 section 2.1.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Nodes completed by appending the leaf with hash `leaf` at index `size`
/// (the tree grows from `size` to `size + 1`).
///
/// Returns `(NodeId::leaf(size), leaf)` followed by every higher perfect
/// subtree the new leaf completes, lowest first. The left siblings needed for
/// those are read from `reader`. O(log n).
pub fn append_nodes<R: NodeReader>(
    size: u64,
    leaf: Hash,
    reader: &R,
) -> Result<Vec<(NodeId, Hash)>, TreeError<R::Error>> {
    if size == u64::MAX {
        return Err(TreeError::Full { size });
    }
    let mut out = Vec::with_capacity(1 + size.trailing_ones() as usize);
    let mut id = NodeId::leaf(size);
    let mut hash = leaf;
    out.push((id, hash));
    // Each trailing one-bit of the index means this node is a right child
    // whose left sibling is already stored.
    while id.index & 1 == 1 {
        let sibling = reader.node(NodeId { level: id.level, index: id.index - 1 }).map_err(TreeError::Read)?;
        hash = node_hash(&sibling, &hash);
        id = NodeId { level: id.level + 1, index: id.index >> 1 };
        out.push((id, hash));
    }
    Ok(out)
}

/// The Merkle tree hash (RFC 6962 `MTH`) of the first `size` leaves, composed
/// from the perfect subtrees of `size`'s binary decomposition.
/// Returns [`empty_root`] for size 0.
pub fn root<R: NodeReader>(size: u64, reader: &R) -> Result<Hash, TreeError<R::Error>> {
    subtree_hash(0, size, reader)
}

/// The Merkle tree hash of leaves `[start, end)`, for any range that arises
/// in RFC 6962 roots and proofs: `start` must be a multiple of the smallest
/// power of two that is `>= end - start`. Composed from at most one stored
/// perfect node per set bit of `end - start` (O(log n) reads).
/// An empty range gives [`empty_root`].
pub fn subtree_hash<R: NodeReader>(start: u64, end: u64, reader: &R) -> Result<Hash, TreeError<R::Error>> {
    if end < start {
        return Err(TreeError::UnalignedRange { start, end });
    }
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    let aligned = match n.checked_next_power_of_two() {
        Some(p) => start.is_multiple_of(p),
        // n > 2^63: only start == 0 fits below 2^64.
        None => start == 0,
    };
    if !aligned {
        return Err(TreeError::UnalignedRange { start, end });
    }
    // Perfect subtrees from left to right, largest first: one per set bit of n.
    let mut parts: Vec<Hash> = Vec::with_capacity(n.count_ones() as usize);
    let mut pos = start;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if n & width != 0 {
            let h = reader.node(NodeId { level, index: pos >> level }).map_err(TreeError::Read)?;
            parts.push(h);
            pos += width;
        }
    }
    // MTH splits at the largest power of two, so the hash folds right to left.
    let mut acc = parts.pop().expect("n > 0 has at least one set bit");
    while let Some(left) = parts.pop() {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// The leaf ranges whose hashes make up the RFC 6962 audit path
/// `PATH(index, D[size])`, in proof order (deepest first).
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0u64, size);
    let mut ranges = Vec::new();
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            ranges.push((mid, hi));
            hi = mid;
        } else {
            ranges.push((lo, mid));
            lo = mid;
        }
    }
    ranges.reverse();
    ranges
}

/// The leaf ranges whose hashes make up the RFC 6962 consistency proof
/// `PROOF(first, D[second])`, in proof order. Requires `0 < first <= second`.
fn consistency_ranges(first: u64, second: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0u64, second);
    // `whole` is the SUBPROOF flag b: true while the current subtree is a
    // prefix of the tree the old root was computed over.
    let mut whole = true;
    let mut ranges = Vec::new();
    loop {
        if first == hi {
            if !whole {
                ranges.push((lo, hi));
            }
            break;
        }
        let mid = lo + split_point(hi - lo);
        if first <= mid {
            ranges.push((mid, hi));
            hi = mid;
        } else {
            ranges.push((lo, mid));
            lo = mid;
            whole = false;
        }
    }
    ranges.reverse();
    ranges
}

/// RFC 6962 audit path `PATH(index, D[size])` (RFC 9162 section 2.1.3.1).
pub fn inclusion_proof<R: NodeReader>(index: u64, size: u64, reader: &R) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    inclusion_ranges(index, size).into_iter().map(|(s, e)| subtree_hash(s, e, reader)).collect()
}

/// RFC 6962 consistency proof `PROOF(first, D[second])` (RFC 9162 section
/// 2.1.4.1). Requires `0 < first <= second`; `first == second` gives an empty
/// proof.
pub fn consistency_proof<R: NodeReader>(first: u64, second: u64, reader: &R) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if first == 0 || first > second {
        return Err(TreeError::BadSizes { first, second });
    }
    consistency_ranges(first, second).into_iter().map(|(s, e)| subtree_hash(s, e, reader)).collect()
}

mod mem;
mod verify;

pub use mem::{MemTree, MissingNode, Overlay};
pub use verify::{verify_consistency, verify_inclusion, ProofError};

#[cfg(test)]
mod tests;
