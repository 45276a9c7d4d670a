//! The log in the store as C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>).
//!
//! | key | holds | written |
//! |---|---|---|
//! | `T` level index | a full hash tile, 256 × 32 bytes | once, in the batch that completes it |
//! | `E` index | a full entry bundle, 256 leaves each after its `uint16` length | once, likewise |
//! | `N` (8·level) index | one hash of an incomplete tile at the right edge | per append, deleted when its tile is full |
//! | `L` index | one leaf of the incomplete last bundle | per append, deleted when its bundle is full |
//!
//! So the log costs about one key per 256 entries, plus at most 255 right-edge records per
//! level. Tiles live in the store as large values rather than in files beside it: they are
//! written in the same atomic, flushed batch that advances the tree head, so no tile can exist
//! without the head that covers it or go missing behind one, and a crash needs no repair.
//!
//! Readers ([`LogReader`]) take a tile whole when it is stored whole (a full tile answers any
//! partial read of it: a partial tile is a prefix of the full one), else the right-edge records.
//! A reader that looks between a batch that completes a tile and its own read retries once: the
//! batch is atomic, so the second look finds the full tile. Expanded tiles ([`ExpandedTile`]) are
//! cached by level, index and width, which determine their contents; level-0 tiles in a bounded
//! cache, higher levels (1/256 as many) in a larger one, so proofs at ten million entries read at
//! most one tile from the store.

use super::{keys, Pending, Store, StoreError};
use greenledger_core::log::merkle::{self, Hash, NodeId};
use greenledger_core::log::tiles::{self, CompactRange, ExpandedTile, TileNodes, TileSource, TILE_HEIGHT, TILE_WIDTH};
use std::sync::Arc;

/// The layout [`crate::store::keys::LOG_FORMAT`] names.
pub const LOG_FORMAT: u32 = 2;

/// Expanded level-0 tiles kept in memory (about 16 KiB each).
const LEVEL0_CACHED: usize = 4096;
/// Expanded tiles of level 1 and up kept in memory: one per 65,536 entries.
const UPPER_CACHED: usize = 16384;

/// Expanded tiles by (level, index, width).
pub struct TileCache {
    level0: quick_cache::sync::Cache<(u64, u16), Arc<ExpandedTile>>,
    upper: quick_cache::sync::Cache<(u8, u64, u16), Arc<ExpandedTile>>,
}

impl Default for TileCache {
    fn default() -> Self {
        TileCache {
            level0: quick_cache::sync::Cache::new(LEVEL0_CACHED),
            upper: quick_cache::sync::Cache::new(UPPER_CACHED),
        }
    }
}

impl TileCache {
    fn get(&self, level: u8, index: u64, width: u16) -> Option<Arc<ExpandedTile>> {
        if level == 0 {
            self.level0.get(&(index, width))
        } else {
            self.upper.get(&(level, index, width))
        }
    }
    fn insert(&self, level: u8, index: u64, width: u16, tile: Arc<ExpandedTile>) {
        if level == 0 {
            self.level0.insert((index, width), tile);
        } else {
            self.upper.insert((level, index, width), tile);
        }
    }
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

fn hash_of(bytes: &[u8], what: impl FnOnce() -> String) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| corrupt(format!("{} is not 32 bytes", what())))
}

/// Reads the log: leaves, entry bundles and hash tiles.
pub struct LogReader<'a, S: ?Sized> {
    pub store: &'a S,
    pub cache: &'a TileCache,
}

impl<'a, S: Store + ?Sized> LogReader<'a, S> {
    pub fn new(store: &'a S, cache: &'a TileCache) -> Self {
        LogReader { store, cache }
    }

    /// The leaves `[start, end)`, which the caller knows the tree holds. Full bundles are read
    /// whole, the rest from right-edge records.
    pub fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        let mut at = start;
        while at < end {
            let bundle = at / TILE_WIDTH;
            let stop = end.min((bundle + 1) * TILE_WIDTH);
            out.extend(self.bundle_leaves(bundle, at, stop)?);
            at = stop;
        }
        Ok(out)
    }

    /// One leaf.
    pub fn leaf(&self, index: u64) -> Result<Vec<u8>, StoreError> {
        Ok(self.leaves(index, index + 1)?.pop().expect("one leaf asked for"))
    }

    /// Leaves `[start, stop)` of bundle `bundle`.
    fn bundle_leaves(&self, bundle: u64, start: u64, stop: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        for attempt in 0..2 {
            if let Some(bytes) = self.store.get(&keys::entry_bundle(bundle))? {
                let leaves =
                    tiles::decode_bundle(&bytes).map_err(|e| corrupt(format!("entry bundle {bundle}: {e}")))?;
                if leaves.len() as u64 != TILE_WIDTH {
                    return Err(corrupt(format!("entry bundle {bundle} holds {} entries, not 256", leaves.len())));
                }
                let base = bundle * TILE_WIDTH;
                return Ok(leaves[(start - base) as usize..(stop - base) as usize]
                    .iter()
                    .map(|l| l.to_vec())
                    .collect());
            }
            let rows = self.store.scan(&keys::leaf(start), &keys::leaf(stop), usize::MAX)?;
            if rows.len() as u64 == stop - start {
                for ((key, _), index) in rows.iter().zip(start..stop) {
                    if keys::leaf_index(key) != Some(index) {
                        return Err(corrupt(format!("entry {index} is missing")));
                    }
                }
                return Ok(rows.into_iter().map(|(_, v)| v).collect());
            }
            if attempt == 1 {
                let missing =
                    (start..stop).find(|i| !rows.iter().any(|(k, _)| keys::leaf_index(k) == Some(*i))).unwrap_or(start);
                return Err(corrupt(format!("entry {missing} is missing")));
            }
        }
        unreachable!("the second attempt returns")
    }

    /// The hashes of tile `(level, index)` of width `width`, or of the full tile when it is
    /// stored (a caller slices it).
    pub fn tile_hashes(&self, level: u8, index: u64, width: u16) -> Result<Vec<Hash>, StoreError> {
        let what = || format!("hash tile {level}/{index}");
        for attempt in 0..2 {
            if let Some(bytes) = self.store.get(&keys::tile(level, index))? {
                let hashes = tiles::tile_hashes(&bytes).filter(|h| h.len() as u64 == TILE_WIDTH);
                return hashes.ok_or_else(|| corrupt(format!("{} is not 256 hashes", what())));
            }
            let first = index * TILE_WIDTH;
            let node = |i| keys::node(NodeId { level: level * TILE_HEIGHT, index: i });
            let rows = self.store.scan(&node(first), &node(first + u64::from(width)), usize::MAX)?;
            if rows.len() == usize::from(width) {
                return rows.iter().map(|(_, v)| hash_of(v, what)).collect();
            }
            if attempt == 1 {
                return Err(corrupt(format!(
                    "{} is missing hashes: it has {} of the {width} the tree needs",
                    what(),
                    rows.len()
                )));
            }
        }
        unreachable!("the second attempt returns")
    }

    /// The tree nodes of a tree of `size` leaves.
    pub fn nodes(&self, size: u64) -> TileNodes<&Self> {
        TileNodes { source: self, size }
    }
}

impl<S: Store + ?Sized> TileSource for LogReader<'_, S> {
    type Error = StoreError;
    fn tile(&self, level: u8, index: u64, width: u16) -> Result<Arc<ExpandedTile>, StoreError> {
        if let Some(t) = self.cache.get(level, index, width) {
            return Ok(t);
        }
        let mut hashes = self.tile_hashes(level, index, width)?;
        hashes.truncate(usize::from(width));
        let tile = Arc::new(ExpandedTile::new(hashes));
        self.cache.insert(level, index, width, tile.clone());
        Ok(tile)
    }
}

/// Reads the rows `[start, end)` of the store with a batch's pending writes over them.
fn merged_rows<S: Store + ?Sized>(
    store: &S,
    pending: &Pending,
    start: &[u8],
    end: &[u8],
) -> Result<super::Rows, StoreError> {
    let mut rows: std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>> =
        store.scan(start, end, usize::MAX)?.into_iter().map(|(k, v)| (k, Some(v))).collect();
    for (k, v) in pending.writes.range(start.to_vec()..end.to_vec()) {
        rows.insert(k.clone(), v.clone());
    }
    Ok(rows.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect())
}

/// Appends `leaf` to the log: writes its right-edge records into `pending`, and, when it
/// completes a tile or the entry bundle, the full tile or bundle in place of the 256 records.
/// Returns the leaf hash. `range` is the compact range of the tree before the append.
pub fn append<S: Store + ?Sized>(
    store: &S,
    pending: &mut Pending,
    range: &mut CompactRange,
    leaf: Vec<u8>,
) -> Result<Hash, StoreError> {
    let index = range.size();
    let hash = merkle::leaf_hash(&leaf);
    for (id, h) in range.push(hash) {
        if !id.level.is_multiple_of(TILE_HEIGHT) {
            continue;
        }
        pending.writes.insert(keys::node(id), Some(h.to_vec()));
        if id.index % TILE_WIDTH == TILE_WIDTH - 1 {
            let level = id.level / TILE_HEIGHT;
            let first = NodeId { level: id.level, index: id.index + 1 - TILE_WIDTH };
            let end = NodeId { level: id.level, index: id.index + 1 };
            let rows = merged_rows(store, pending, &keys::node(first), &keys::node(end))?;
            if rows.len() as u64 != TILE_WIDTH {
                return Err(corrupt(format!(
                    "hash tile {level}/{} has {} of 256 right-edge hashes",
                    id.index / TILE_WIDTH,
                    rows.len()
                )));
            }
            let mut tile = Vec::with_capacity(tiles::FULL_TILE_BYTES);
            for (k, v) in rows {
                tile.extend_from_slice(&v);
                pending.writes.insert(k, None);
            }
            pending.writes.insert(keys::tile(level, id.index / TILE_WIDTH), Some(tile));
        }
    }
    pending.writes.insert(keys::leaf(index), Some(leaf));
    if index % TILE_WIDTH == TILE_WIDTH - 1 {
        let first = index + 1 - TILE_WIDTH;
        let rows = merged_rows(store, pending, &keys::leaf(first), &keys::leaf(index + 1))?;
        if rows.len() as u64 != TILE_WIDTH {
            return Err(corrupt(format!("entry bundle {} has {} of 256 leaves", index / TILE_WIDTH, rows.len())));
        }
        let mut bundle = Vec::new();
        for (k, v) in rows {
            tiles::push_bundle_entry(&mut bundle, &v).map_err(|e| corrupt(format!("entry {index}: {e}")))?;
            pending.writes.insert(k, None);
        }
        pending.writes.insert(keys::entry_bundle(index / TILE_WIDTH), Some(bundle));
    }
    Ok(hash)
}

/// The log layout the store holds.
pub fn format<S: Store + ?Sized>(store: &S) -> Result<u32, StoreError> {
    Ok(store.get(keys::LOG_FORMAT)?.and_then(|v| v.try_into().ok()).map(u32::from_be_bytes).unwrap_or(1))
}

/// Marks a new, empty store as holding the tile layout.
pub fn mark_format(batch: &mut super::Batch) {
    batch.put(keys::LOG_FORMAT.to_vec(), LOG_FORMAT.to_be_bytes().to_vec());
}

/// Leaves converted per committed batch by [`convert_first_layout`].
const CONVERT_CHUNK: u64 = 64 * TILE_WIDTH;

/// Converts a store of the first layout (one `L` key per leaf, one `N` key per perfect
/// subtree) to tiles, in batches of 16,384 leaves, and checks that the tiles give `root` for
/// `size` before recording the new layout. The leaves and the tree are unchanged; only where
/// they are kept changes. Each batch is atomic and the next run picks up where a crash left off
/// (leaves are read from bundles or right-edge records, whichever holds them). Returns the
/// number of leaves converted.
pub fn convert_first_layout<S: Store + ?Sized>(store: &S, size: u64, root: &Hash) -> Result<u64, StoreError> {
    let cache = TileCache::default();
    let mut range = CompactRange::new();
    let mut at = 0u64;
    while at < size {
        let end = size.min(at + CONVERT_CHUNK);
        let leaves = LogReader::new(store, &cache).leaves(at, end)?;
        let mut pending = Pending::default();
        for (i, leaf) in (at..end).zip(leaves) {
            // An old layout keeps every leaf hash: check the leaf against it while it exists.
            if let Some(stored) = store.get(&keys::node(NodeId::leaf(i)))? {
                if stored != merkle::leaf_hash(&leaf) {
                    return Err(corrupt(format!("entry {i} does not hash to its stored leaf hash")));
                }
            }
            append(store, &mut pending, &mut range, leaf)?;
        }
        // Old interior nodes of this chunk's complete tiles are no longer needed.
        let complete = end / TILE_WIDTH * TILE_WIDTH;
        let mut level = 1u8;
        while level < 64 && (complete >> level) > (at >> level) {
            for index in (at >> level)..(complete >> level) {
                if !level.is_multiple_of(TILE_HEIGHT) {
                    pending.writes.insert(keys::node(NodeId { level, index }), None);
                }
            }
            level += 1;
        }
        store.commit(pending.into_batch())?;
        at = end;
    }
    // Interior nodes above the last complete tile at levels that are no tile level.
    let (a, b) = (keys::node(NodeId { level: 1, index: 0 }), vec![b'N' + 1]);
    let mut batch = super::Batch::default();
    for (k, _) in store.scan(&a, &b, usize::MAX)? {
        let level = k.get(1).copied().unwrap_or(0);
        if !level.is_multiple_of(TILE_HEIGHT) {
            batch.delete(k);
        }
    }
    store.commit(batch)?;
    let got = merkle::root(size, &LogReader::new(store, &cache).nodes(size)).map_err(|e| corrupt(e.to_string()))?;
    if got != *root {
        return Err(corrupt(format!(
            "the tiles give root {} for size {size}, not the head's {}",
            hex::encode(got),
            hex::encode(root)
        )));
    }
    let mut batch = super::Batch::default();
    mark_format(&mut batch);
    store.commit(batch)?;
    Ok(size)
}
