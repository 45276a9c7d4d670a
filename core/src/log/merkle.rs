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

use std::collections::HashMap;
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

/// Why a proof did not verify.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("bad tree sizes for a consistency proof: first {first}, second {second} (need 0 < first <= second)")]
    BadSizes { first: u64, second: u64 },
    #[error("proof has {got} hashes, expected {expected}")]
    WrongLength { expected: usize, got: usize },
    #[error("{which} mismatch: expected {expected}, proof gives {computed}")]
    RootMismatch {
        /// Which root: "root", "first root" or "second root".
        which: &'static str,
        /// The root the caller supplied, hex.
        expected: String,
        /// The root recomputed from the proof, hex.
        computed: String,
    },
}

fn check_root(which: &'static str, expected: &Hash, computed: &Hash) -> Result<(), ProofError> {
    if expected == computed {
        Ok(())
    } else {
        Err(ProofError::RootMismatch { which, expected: hex::encode(expected), computed: hex::encode(computed) })
    }
}

/// Verify that `leaf_hash` is leaf `index` of the tree of `size` leaves with
/// root `root`, using the algorithm of RFC 9162 section 2.1.3.2.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_ranges(index, size).len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            // Unreachable given the length check; kept as the RFC's guard.
            return Err(ProofError::WrongLength { expected, got: proof.len() });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    check_root("root", root, &r)
}

/// Verify that the tree of `second` leaves with root `second_root` extends the
/// tree of `first` leaves with root `first_root`, using the algorithm of
/// RFC 9162 section 2.1.4.2. Requires `0 < first <= second`; when
/// `first == second` the proof must be empty and the roots equal.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first == 0 || first > second {
        return Err(ProofError::BadSizes { first, second });
    }
    let expected = consistency_ranges(first, second).len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    if first == second {
        return check_root("second root", second_root, first_root);
    }
    // If `first` is a power of two the old root is itself a node on the path
    // and the proof omits it; put it back in front.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);

    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength { expected, got: proof.len() });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    check_root("first root", first_root, &fr)?;
    check_root("second root", second_root, &sr)
}

/// A [`NodeReader`] lookup of a node that is not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not stored")]
pub struct MissingNode(pub NodeId);

/// An in-memory tree for tests and tools: `levels[l][i]` is node `(l, i)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemTree {
    levels: Vec<Vec<Hash>>,
}

impl MemTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a leaf's data (hashed with [`leaf_hash`]).
    pub fn push(&mut self, leaf: &[u8]) {
        self.push_hash(leaf_hash(leaf));
    }

    /// Append an already computed leaf hash.
    pub fn push_hash(&mut self, h: Hash) {
        let nodes = append_nodes(self.size(), h, self).expect("a MemTree holds every node an append reads");
        for (id, hash) in nodes {
            let level = usize::from(id.level);
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            debug_assert_eq!(self.levels[level].len() as u64, id.index);
            self.levels[level].push(hash);
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Number of stored nodes (just under two per leaf).
    pub fn stored_nodes(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }

    /// Root of the whole tree.
    pub fn root(&self) -> Hash {
        root(self.size(), self).expect("a MemTree holds every node its own root needs")
    }

    /// Root of the first `size` leaves; fails if `size` exceeds the tree.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError<MissingNode>> {
        root(size, self)
    }

    /// Inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError<MissingNode>> {
        inclusion_proof(index, size, self)
    }

    /// Consistency proof from the first `first` leaves to the first `second`.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, TreeError<MissingNode>> {
        consistency_proof(first, second, self)
    }
}

impl NodeReader for MemTree {
    type Error = MissingNode;
    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.levels
            .get(usize::from(id.level))
            .and_then(|l| usize::try_from(id.index).ok().and_then(|i| l.get(i)))
            .copied()
            .ok_or(MissingNode(id))
    }
}

/// A reader that looks in a small map of fresh nodes first, then in a base
/// reader. Used to compute a batch of appends before writing any of them.
pub struct Overlay<'a, R> {
    base: &'a R,
    fresh: HashMap<NodeId, Hash>,
    order: Vec<NodeId>,
}

impl<'a, R: NodeReader> Overlay<'a, R> {
    pub fn new(base: &'a R) -> Self {
        Overlay { base, fresh: HashMap::new(), order: Vec::new() }
    }

    /// Record a fresh node. Re-inserting an id replaces its hash but keeps its
    /// original position in the insertion order.
    pub fn insert(&mut self, id: NodeId, hash: Hash) {
        if self.fresh.insert(id, hash).is_none() {
            self.order.push(id);
        }
    }

    /// Append the leaf with hash `leaf` at index `size`, recording every node
    /// it completes. Returns the new tree size.
    pub fn append(&mut self, size: u64, leaf: Hash) -> Result<u64, TreeError<R::Error>> {
        let nodes = append_nodes(size, leaf, &*self)?;
        for (id, h) in nodes {
            self.insert(id, h);
        }
        Ok(size + 1)
    }

    /// Number of fresh nodes.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no fresh node has been recorded.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The fresh nodes in insertion order, borrowing.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, Hash)> + '_ {
        self.order.iter().map(|id| (*id, self.fresh[id]))
    }

    /// The fresh nodes in insertion order.
    pub fn into_nodes(self) -> Vec<(NodeId, Hash)> {
        let Overlay { fresh, order, .. } = self;
        order.into_iter().map(|id| (id, fresh[&id])).collect()
    }
}

impl<R: NodeReader> NodeReader for Overlay<'_, R> {
    type Error = R::Error;
    fn node(&self, id: NodeId) -> Result<Hash, R::Error> {
        match self.fresh.get(&id) {
            Some(h) => Ok(*h),
            None => self.base.node(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- Naive reference, straight from the RFC 6962 section 2.1 definitions.

    fn mth(d: &[Vec<u8>]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => leaf_hash(&d[0]),
            n => {
                let k = naive_k(n);
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    fn naive_k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn path(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
        let n = d.len();
        if n == 1 {
            return vec![];
        }
        let k = naive_k(n);
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = naive_k(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }

    fn proof(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
        subproof(m, d, true)
    }

    fn leaves(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
    }

    fn tree_of(d: &[Vec<u8>]) -> MemTree {
        let mut t = MemTree::new();
        for l in d {
            t.push(l);
        }
        t
    }

    #[test]
    fn split_point_is_largest_power_below() {
        for n in 2u64..2000 {
            let k = split_point(n);
            assert!(k.is_power_of_two() && k < n && 2 * k >= n, "n={n} k={k}");
        }
        assert_eq!(split_point(u64::MAX), 1 << 63);
        assert_eq!(split_point((1 << 63) + 1), 1 << 63);
        assert_eq!(split_point(1 << 63), 1 << 62);
    }

    #[test]
    fn node_keys_round_trip_and_sort() {
        let ids = [
            NodeId { level: 0, index: 0 },
            NodeId { level: 0, index: 1 },
            NodeId { level: 0, index: 256 },
            NodeId { level: 1, index: 0 },
            NodeId { level: 1, index: 7 },
            NodeId { level: 63, index: 1 },
        ];
        for w in ids.windows(2) {
            assert!(w[0].to_key() < w[1].to_key());
            assert!(w[0] < w[1]);
        }
        for id in ids {
            assert_eq!(NodeId::from_key(&id.to_key()), Some(id));
        }
        assert_eq!(NodeId::from_key(&[0u8; 8]), None);
        assert_eq!(NodeId::from_key(&[0u8; 10]), None);
        let mut k = NodeId { level: 64, index: 0 }.to_key();
        assert_eq!(NodeId::from_key(&k), None);
        k = NodeId { level: 63, index: 2 }.to_key();
        assert_eq!(NodeId::from_key(&k), None);
        k = NodeId { level: 0, index: u64::MAX }.to_key();
        assert!(NodeId::from_key(&k).is_some());
    }

    #[test]
    fn empty_tree() {
        let t = MemTree::new();
        assert_eq!(t.size(), 0);
        assert_eq!(t.root(), empty_root());
        assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert!(matches!(t.inclusion_proof(0, 0), Err(TreeError::IndexOutOfRange { index: 0, size: 0 })));
    }

    #[test]
    fn storage_is_about_two_nodes_per_leaf() {
        let d = leaves(1000);
        let t = tree_of(&d);
        // One node per complete perfect subtree: n + n/2 + n/4 + ...
        let expected: u64 = (0..64).map(|l| 1000u64 >> l).sum();
        assert_eq!(t.stored_nodes() as u64, expected);
        assert!(t.stored_nodes() < 2000);
    }

    #[test]
    fn append_nodes_reports_completed_subtrees() {
        let mut t = MemTree::new();
        for i in 0..8u64 {
            let n = append_nodes(i, leaf_hash(&[i as u8]), &t).unwrap();
            assert_eq!(n.len(), 1 + i.trailing_ones() as usize);
            assert_eq!(n[0].0, NodeId::leaf(i));
            t.push(&[i as u8]);
        }
        let n = append_nodes(7, leaf_hash(b"x"), &t).unwrap();
        let ids: Vec<NodeId> = n.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            ids,
            vec![
                NodeId { level: 0, index: 7 },
                NodeId { level: 1, index: 3 },
                NodeId { level: 2, index: 1 },
                NodeId { level: 3, index: 0 },
            ]
        );
        assert!(matches!(append_nodes(u64::MAX, [0; 32], &t), Err(TreeError::Full { .. })));
    }

    #[test]
    fn stored_matches_naive_for_all_small_trees() {
        let all = leaves(70);
        let t = tree_of(&all);
        for n in 1..=70usize {
            let d = &all[..n];
            let root_n = mth(d);
            assert_eq!(t.root_at(n as u64).unwrap(), root_n, "root {n}");
            assert_eq!(tree_of(d).root(), root_n, "fresh root {n}");
            for m in 0..n {
                let p = t.inclusion_proof(m as u64, n as u64).unwrap();
                assert_eq!(p, path(m, d), "PATH({m}, D[{n}])");
                verify_inclusion(m as u64, n as u64, &leaf_hash(&d[m]), &p, &root_n)
                    .unwrap_or_else(|e| panic!("inclusion {m} in {n}: {e}"));
            }
            for m in 1..=n {
                let p = t.consistency_proof(m as u64, n as u64).unwrap();
                assert_eq!(p, proof(m, d), "PROOF({m}, D[{n}])");
                let root_m = mth(&d[..m]);
                verify_consistency(m as u64, n as u64, &root_m, &root_n, &p)
                    .unwrap_or_else(|e| panic!("consistency {m} -> {n}: {e}"));
            }
        }
    }

    #[test]
    fn reads_beyond_the_tree_fail() {
        let t = tree_of(&leaves(5));
        assert!(matches!(t.root_at(6), Err(TreeError::Read(_))));
        assert!(matches!(t.inclusion_proof(0, 6), Err(TreeError::Read(_))));
        assert!(matches!(t.consistency_proof(3, 6), Err(TreeError::Read(_))));
        assert!(matches!(t.consistency_proof(0, 3), Err(TreeError::BadSizes { first: 0, second: 3 })));
        assert!(matches!(t.consistency_proof(4, 3), Err(TreeError::BadSizes { .. })));
        assert!(matches!(subtree_hash(1, 3, &t), Err(TreeError::UnalignedRange { start: 1, end: 3 })));
        assert!(matches!(subtree_hash(3, 2, &t), Err(TreeError::UnalignedRange { .. })));
        assert_eq!(subtree_hash(2, 2, &t).unwrap(), empty_root());
    }

    #[test]
    fn subtree_hash_matches_naive_on_aligned_ranges() {
        let d = leaves(40);
        let t = tree_of(&d);
        for start in 0..40usize {
            for end in start + 1..=40 {
                let p = (end - start).next_power_of_two();
                if start.is_multiple_of(p) {
                    assert_eq!(subtree_hash(start as u64, end as u64, &t).unwrap(), mth(&d[start..end]));
                }
            }
        }
    }

    #[test]
    fn overlay_batches_appends() {
        let d = leaves(37);
        let mut base = tree_of(&d[..20]);
        let mut ov = Overlay::new(&base);
        let mut size = 20;
        for l in &d[20..] {
            size = ov.append(size, leaf_hash(l)).unwrap();
        }
        assert_eq!(root(size, &ov).unwrap(), mth(&d));
        let fresh = ov.into_nodes();
        // Insertion order is append order: each leaf, then what it completes.
        assert_eq!(fresh[0].0, NodeId::leaf(20));
        let mut full = tree_of(&d);
        for (id, h) in &fresh {
            assert_eq!(full.node(*id).unwrap(), *h);
        }
        for l in &d[20..] {
            base.push(l);
        }
        assert_eq!(base, full);
        full.push(b"more");
        assert_ne!(base, full);
    }

    fn all_rejections_inclusion(t: &MemTree, index: u64, size: u64) {
        let root = t.root_at(size).unwrap();
        let leaf = t.node(NodeId::leaf(index)).unwrap();
        let p = t.inclusion_proof(index, size).unwrap();
        assert_eq!(verify_inclusion(index, size, &leaf, &p, &root), Ok(()));

        let mut bad_root = root;
        bad_root[0] ^= 1;
        assert!(matches!(verify_inclusion(index, size, &leaf, &p, &bad_root), Err(ProofError::RootMismatch { .. })));
        let mut bad_leaf = leaf;
        bad_leaf[31] ^= 0x80;
        assert!(verify_inclusion(index, size, &bad_leaf, &p, &root).is_err());
        // Wrong index (same proof).
        for other in [index + 1, index.wrapping_sub(1), index ^ 1] {
            if other < size && other != index {
                assert!(
                    verify_inclusion(other, size, &leaf, &p, &root).is_err(),
                    "index {other} accepted for {index} in {size}"
                );
            }
        }
        assert!(matches!(verify_inclusion(size, size, &leaf, &p, &root), Err(ProofError::IndexOutOfRange { .. })));
        // (A different size is not tested: the same path can be a valid proof
        // for a bigger tree, e.g. leaf 0 in sizes 3 and 4, with another root.)
        // Truncated / extended.
        if !p.is_empty() {
            assert!(matches!(
                verify_inclusion(index, size, &leaf, &p[..p.len() - 1], &root),
                Err(ProofError::WrongLength { .. })
            ));
        }
        let mut longer = p.clone();
        longer.push([7; 32]);
        assert!(matches!(verify_inclusion(index, size, &leaf, &longer, &root), Err(ProofError::WrongLength { .. })));
        // Flipped byte anywhere.
        for i in 0..p.len() {
            let mut q = p.clone();
            q[i][i % 32] ^= 0x10;
            assert!(verify_inclusion(index, size, &leaf, &q, &root).is_err());
        }
    }

    fn all_rejections_consistency(t: &MemTree, first: u64, second: u64) {
        let r1 = t.root_at(first).unwrap();
        let r2 = t.root_at(second).unwrap();
        let p = t.consistency_proof(first, second).unwrap();
        assert_eq!(verify_consistency(first, second, &r1, &r2, &p), Ok(()));
        let mut b1 = r1;
        b1[5] ^= 4;
        let mut b2 = r2;
        b2[9] ^= 4;
        assert!(verify_consistency(first, second, &b1, &r2, &p).is_err());
        assert!(verify_consistency(first, second, &r1, &b2, &p).is_err());
        if !p.is_empty() {
            assert!(verify_consistency(first, second, &r1, &r2, &p[..p.len() - 1]).is_err());
        }
        let mut longer = p.clone();
        longer.push([1; 32]);
        assert!(verify_consistency(first, second, &r1, &r2, &longer).is_err());
        for i in 0..p.len() {
            let mut q = p.clone();
            q[i][31 - i % 32] ^= 1;
            assert!(verify_consistency(first, second, &r1, &r2, &q).is_err());
        }
        if first > 1 {
            let r0 = t.root_at(first - 1).unwrap();
            assert!(verify_consistency(first - 1, second, &r0, &r2, &p).is_err());
        }
        if second > first {
            let r3 = t.root_at(second - 1).unwrap();
            assert!(verify_consistency(first, second - 1, &r1, &r3, &p).is_err());
        }
        assert!(matches!(verify_consistency(0, second, &r1, &r2, &p), Err(ProofError::BadSizes { .. })));
        assert!(matches!(verify_consistency(second + 1, second, &r1, &r2, &p), Err(ProofError::BadSizes { .. })));
    }

    #[test]
    fn verifiers_reject_tampering() {
        let t = tree_of(&leaves(70));
        for size in 1..=70u64 {
            for index in 0..size {
                all_rejections_inclusion(&t, index, size);
            }
            for first in 1..=size {
                all_rejections_consistency(&t, first, size);
            }
        }
    }

    #[test]
    fn equal_sizes_need_equal_roots() {
        let t = tree_of(&leaves(9));
        let r = t.root();
        assert_eq!(t.consistency_proof(9, 9).unwrap(), Vec::<Hash>::new());
        assert_eq!(verify_consistency(9, 9, &r, &r, &[]), Ok(()));
        let mut other = r;
        other[0] ^= 1;
        assert!(matches!(verify_consistency(9, 9, &r, &other, &[]), Err(ProofError::RootMismatch { .. })));
        assert!(matches!(verify_consistency(9, 9, &r, &r, &[r]), Err(ProofError::WrongLength { expected: 0, got: 1 })));
    }

    #[test]
    fn proof_error_messages_name_the_values() {
        let e = verify_inclusion(5, 3, &[0; 32], &[], &[0; 32]).unwrap_err();
        assert_eq!(e.to_string(), "leaf index 5 is not below tree size 3");
        let e = verify_inclusion(0, 1, &[0; 32], &[], &[1; 32]).unwrap_err();
        assert!(e.to_string().contains(&hex::encode([1u8; 32])), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn random_sizes_match_naive(
            n in 1usize..3000,
            a in any::<u64>(),
            b in any::<u64>(),
        ) {
            let d = leaves(n);
            let t = tree_of(&d);
            let root_n = mth(&d);
            prop_assert_eq!(t.root(), root_n);

            let m = (a % n as u64) as usize;
            let p = t.inclusion_proof(m as u64, n as u64).unwrap();
            prop_assert_eq!(&p, &path(m, &d));
            prop_assert!(verify_inclusion(m as u64, n as u64, &leaf_hash(&d[m]), &p, &root_n).is_ok());

            let first = 1 + (b % n as u64) as usize;
            let c = t.consistency_proof(first as u64, n as u64).unwrap();
            prop_assert_eq!(&c, &proof(first, &d));
            let root_first = mth(&d[..first]);
            prop_assert!(verify_consistency(first as u64, n as u64, &root_first, &root_n, &c).is_ok());
            // And from a smaller stored prefix of the same tree.
            prop_assert_eq!(t.root_at(first as u64).unwrap(), root_first);
        }

        #[test]
        fn random_tampering_is_rejected(
            n in 2u64..2000,
            a in any::<u64>(),
            b in any::<u64>(),
            byte in 0usize..32,
            bit in 0u8..8,
        ) {
            let mut t = MemTree::new();
            for i in 0..n {
                t.push(&i.to_be_bytes());
            }
            let root = t.root();
            let index = a % n;
            let leaf = leaf_hash(&index.to_be_bytes());
            let mut p = t.inclusion_proof(index, n).unwrap();
            prop_assert!(verify_inclusion(index, n, &leaf, &p, &root).is_ok());
            let which = (b as usize) % p.len();
            p[which][byte] ^= 1 << bit;
            prop_assert!(verify_inclusion(index, n, &leaf, &p, &root).is_err());

            let first = 1 + b % (n - 1);
            let r1 = t.root_at(first).unwrap();
            let mut c = t.consistency_proof(first, n).unwrap();
            prop_assert!(verify_consistency(first, n, &r1, &root, &c).is_ok());
            let which = (a as usize) % c.len();
            c[which][byte] ^= 1 << bit;
            prop_assert!(verify_consistency(first, n, &r1, &root, &c).is_err());
        }
    }
}
