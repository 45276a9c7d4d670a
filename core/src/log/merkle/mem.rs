//! Trees in memory: [`MemTree`] for tests and tools, [`Overlay`] to stage a batch of appends
//! over a base reader.

use super::*;
use std::collections::HashMap;

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
