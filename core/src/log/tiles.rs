//! The log as C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): tile coordinates and paths,
//! entry bundles, the compact range that appends without reading, and a [`NodeReader`] that
//! answers every node the RFC 6962 math asks for from hash tiles.
//!
//! # Tiles
//!
//! A hash tile at level `L` and index `N` holds the hashes of tree level `8L`, nodes
//! `256N .. 256N + W`, where the width `W` is 256 for a full tile and `1..=255` for the partial
//! tile at the right edge of a tree whose size does not fill it. The node of tree level
//! `8L + r` (`r < 8`) is the Merkle hash of `2^r` consecutive hashes of one level-`L` tile, so
//! every node of the tree is either stored in a tile or computed inside one ([`TileNodes`]).
//! A full tile never changes; a partial tile is a prefix of the full tile it will become.
//!
//! An entry bundle at index `N` holds the leaves `256N .. 256N + W`, each prefixed with its
//! length as a big-endian `uint16` ([`encode_bundle`], [`decode_bundle`]).
//!
//! Paths: the index is written as groups of three decimal digits, every group but the last
//! prefixed with `x` (`1234067` → `x001/x234/067`), and a partial tile gets `.p/<W>`:
//! `tile/0/x001/x234/067.p/8`, `tile/entries/000`. [`TilePath::parse`] accepts exactly what
//! [`TilePath::path`] writes, nothing else.

use super::merkle::{node_hash, Hash, NodeId, NodeReader};
use std::fmt;

/// Tree levels per tile level.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile (or entry bundle).
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// Bytes of a full hash tile.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * 32;

/// What a tile path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// A hash tile of this level.
    Hashes(u8),
    /// An entry bundle.
    Entries,
}

/// A tile or entry bundle: its kind, index and width (`1..=256`; 256 is a full tile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TilePath {
    pub kind: TileKind,
    pub index: u64,
    pub width: u16,
}

impl TilePath {
    /// The path below the log's prefix: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes(l) => l.to_string(),
            TileKind::Entries => "entries".to_string(),
        };
        let mut p = format!("tile/{level}/{}", encode_index(self.index));
        if u64::from(self.width) < TILE_WIDTH {
            p.push_str(&format!(".p/{}", self.width));
        }
        p
    }

    /// Parses a path as [`TilePath::path`] writes it (without a leading `/`). Anything else is
    /// `None`: levels above 63, indexes with missing or extra digits, widths outside `1..=255`.
    pub fn parse(path: &str) -> Option<TilePath> {
        let rest = path.strip_prefix("tile/")?;
        let (level, rest) = rest.split_once('/')?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            if level.is_empty() || level.len() > 2 || !level.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            if level.len() > 1 && level.starts_with('0') {
                return None;
            }
            let l: u8 = level.parse().ok()?;
            if l > 63 {
                return None;
            }
            TileKind::Hashes(l)
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, w)) => {
                if w.is_empty() || w.len() > 3 || !w.bytes().all(|b| b.is_ascii_digit()) || w.starts_with('0') {
                    return None;
                }
                let w: u16 = w.parse().ok()?;
                if w == 0 || u64::from(w) >= TILE_WIDTH {
                    return None;
                }
                (index, w)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        Some(TilePath { kind, index: parse_index(index)?, width })
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// The index as path elements: groups of three digits, all but the last prefixed with `x`.
pub fn encode_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The inverse of [`encode_index`]; `None` for any other spelling (no leading `x000` group).
pub fn parse_index(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split('/').collect();
    let (last, head) = parts.split_last()?;
    let mut n: u64 = 0;
    for (i, g) in head.iter().enumerate() {
        let digits = g.strip_prefix('x')?;
        if i == 0 && digits == "000" {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(three_digits(digits)?)?;
    }
    n.checked_mul(1000)?.checked_add(three_digits(last)?)
}

fn three_digits(s: &str) -> Option<u64> {
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The width of hash tile `(level, index)` in a tree of `size` leaves: 256 when full, less at
/// the right edge, 0 when the tree has no node in it.
pub fn tile_width(level: u8, index: u64, size: u64) -> u16 {
    let nodes = level_size(level, size);
    let start = index.saturating_mul(TILE_WIDTH);
    nodes.saturating_sub(start).min(TILE_WIDTH) as u16
}

/// The width of entry bundle `index` in a tree of `size` leaves.
pub fn bundle_width(index: u64, size: u64) -> u16 {
    tile_width(0, index, size)
}

/// Complete nodes of tree level `8 * level` in a tree of `size` leaves.
fn level_size(level: u8, size: u64) -> u64 {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    if shift >= 64 {
        0
    } else {
        size >> shift
    }
}

/// The hash tiles a tree of `size` leaves has at its right edge: at most one partial tile per
/// level, lowest level first. These, with the full tiles, are everything a client needs.
pub fn partial_tiles(size: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    for level in 0..8u8 {
        let nodes = level_size(level, size);
        if nodes == 0 {
            break;
        }
        let width = (nodes % TILE_WIDTH) as u16;
        if width > 0 {
            out.push(TilePath { kind: TileKind::Hashes(level), index: nodes / TILE_WIDTH, width });
        }
    }
    out
}

/// A malformed entry bundle or an entry that does not fit one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    #[error("entry of {len} bytes does not fit an entry bundle (at most 65535)")]
    TooLong { len: usize },
    #[error("entry bundle is truncated after {entries} entries")]
    Truncated { entries: usize },
    #[error("entry bundle holds {found} entries, expected {expected}")]
    Count { found: usize, expected: usize },
}

/// Appends one entry with its big-endian `uint16` length.
pub fn push_bundle_entry(bundle: &mut Vec<u8>, leaf: &[u8]) -> Result<(), BundleError> {
    let len = u16::try_from(leaf.len()).map_err(|_| BundleError::TooLong { len: leaf.len() })?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(leaf);
    Ok(())
}

/// An entry bundle of `leaves`.
pub fn encode_bundle<L: AsRef<[u8]>>(leaves: &[L]) -> Result<Vec<u8>, BundleError> {
    let mut out = Vec::with_capacity(leaves.iter().map(|l| l.as_ref().len() + 2).sum());
    for l in leaves {
        push_bundle_entry(&mut out, l.as_ref())?;
    }
    Ok(out)
}

/// The entries of a bundle, in order.
pub fn decode_bundle(mut bytes: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let Some((len, rest)) = bytes.split_first_chunk::<2>() else {
            return Err(BundleError::Truncated { entries: out.len() });
        };
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(BundleError::Truncated { entries: out.len() });
        }
        out.push(&rest[..len]);
        bytes = &rest[len..];
    }
    Ok(out)
}

/// Splits a hash tile's bytes into hashes; `None` unless it is a whole number of 32-byte hashes.
pub fn tile_hashes(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    Some(bytes.chunks_exact(32).map(|c| c.try_into().expect("32-byte chunk")).collect())
}

/// A hash tile with every perfect subtree inside it computed once: `levels[r][i]` is the hash of
/// the `2^r` tile hashes starting at `i * 2^r`. Answers any node inside the tile in O(1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpandedTile {
    levels: Vec<Vec<Hash>>,
}

impl ExpandedTile {
    /// Expands the hashes of one tile (at most 256).
    pub fn new(hashes: Vec<Hash>) -> ExpandedTile {
        debug_assert!(hashes.len() as u64 <= TILE_WIDTH);
        let mut levels = vec![hashes];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().expect("checked");
            let above: Vec<Hash> = below.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
            levels.push(above);
        }
        ExpandedTile { levels }
    }

    /// The tile's own hashes (level `8L` nodes).
    pub fn hashes(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// Width of the tile.
    pub fn width(&self) -> usize {
        self.levels[0].len()
    }

    /// The hash of the `2^r` tile hashes starting at `i * 2^r`, if the tile holds them all.
    pub fn node(&self, r: u8, i: usize) -> Option<Hash> {
        self.levels.get(usize::from(r))?.get(i).copied()
    }

    /// Bytes as served: the hashes concatenated.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.levels[0].concat()
    }
}

/// Where a [`TileNodes`] reader gets hash tiles. `width` is the width the tree size calls for;
/// a source may return a wider tile (a full tile whose partial prefix was asked for), never a
/// narrower one.
pub trait TileSource {
    type Error;
    fn tile(&self, level: u8, index: u64, width: u16) -> Result<std::sync::Arc<ExpandedTile>, Self::Error>;
}

impl<T: TileSource + ?Sized> TileSource for &T {
    type Error = T::Error;
    fn tile(&self, level: u8, index: u64, width: u16) -> Result<std::sync::Arc<ExpandedTile>, Self::Error> {
        (**self).tile(level, index, width)
    }
}

/// Why a node could not be read from tiles.
#[derive(Debug, thiserror::Error)]
pub enum TileReadError<E> {
    #[error("{node} is not complete in a tree of size {size}")]
    Beyond { node: NodeId, size: u64 },
    #[error("hash tile {level}/{index} has {got} hashes, fewer than the {want} the tree needs")]
    Short { level: u8, index: u64, got: usize, want: u16 },
    #[error(transparent)]
    Source(E),
}

/// A [`NodeReader`] over hash tiles for a tree of `size` leaves: node `(8L + r, i)` is computed
/// inside tile `(L, (i << r) / 256)`.
pub struct TileNodes<T> {
    pub source: T,
    pub size: u64,
}

impl<T: TileSource> NodeReader for TileNodes<T> {
    type Error = TileReadError<T::Error>;
    fn node(&self, id: NodeId) -> Result<Hash, Self::Error> {
        let level = id.level / TILE_HEIGHT;
        let r = id.level % TILE_HEIGHT;
        // First level-8L node under this node, and how many.
        let first = id.index.checked_shl(u32::from(r)).filter(|f| f >> r == id.index);
        let Some(first) = first else { return Err(TileReadError::Beyond { node: id, size: self.size }) };
        let count = 1u64 << r;
        let complete = level_size(level, self.size);
        if first.checked_add(count).is_none_or(|end| end > complete) {
            return Err(TileReadError::Beyond { node: id, size: self.size });
        }
        let tile = first / TILE_WIDTH;
        let width = tile_width(level, tile, self.size);
        let expanded = self.source.tile(level, tile, width).map_err(TileReadError::Source)?;
        let offset = (first % TILE_WIDTH) as usize;
        expanded.node(r, offset >> r).ok_or(TileReadError::Short {
            level,
            index: tile,
            got: expanded.width(),
            want: width,
        })
    }
}

/// The right edge of a tree: the roots of the perfect subtrees of its size's binary
/// decomposition, largest first. Appending needs no reads, and says which nodes it completed,
/// so a writer can store exactly the tile hashes and nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// `(level, hash)`, levels strictly decreasing.
    peaks: Vec<(u8, Hash)>,
}

impl CompactRange {
    /// The compact range of the empty tree.
    pub fn new() -> CompactRange {
        CompactRange::default()
    }

    /// The compact range of a tree of `size` leaves, read from `nodes`.
    pub fn from_nodes<R: NodeReader>(size: u64, nodes: &R) -> Result<CompactRange, R::Error> {
        let mut peaks = Vec::new();
        let mut pos = 0u64;
        for level in (0..64u8).rev() {
            let width = 1u64 << level;
            if size & width != 0 {
                peaks.push((level, nodes.node(NodeId { level, index: pos >> level })?));
                pos += width;
            }
        }
        Ok(CompactRange { size, peaks })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; returns every node it completed, the leaf first, lowest level
    /// first.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut id = NodeId::leaf(self.size);
        let mut hash = leaf;
        let mut out = vec![(id, hash)];
        while let Some(&(level, left)) = self.peaks.last() {
            if level != id.level {
                break;
            }
            self.peaks.pop();
            hash = node_hash(&left, &hash);
            id = NodeId { level: level + 1, index: id.index >> 1 };
            out.push((id, hash));
        }
        self.peaks.push((id.level, hash));
        self.size += 1;
        out
    }

    /// RFC 6962 root of the tree.
    pub fn root(&self) -> Hash {
        let mut iter = self.peaks.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else { return super::merkle::empty_root() };
        for (_, left) in iter {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::merkle::{self, MemTree};
    use std::collections::HashMap;
    use std::sync::Arc;

    /// Tiles cut from a MemTree, as a server would store them.
    struct Cut<'a>(&'a MemTree);
    impl TileSource for Cut<'_> {
        type Error = String;
        fn tile(&self, level: u8, index: u64, width: u16) -> Result<Arc<ExpandedTile>, String> {
            let hashes = (0..u64::from(width))
                .map(|i| self.0.node(NodeId { level: level * TILE_HEIGHT, index: index * TILE_WIDTH + i }))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            Ok(Arc::new(ExpandedTile::new(hashes)))
        }
    }

    #[test]
    fn index_paths_follow_the_spec_examples() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(1000), "x001/000");
        let p = TilePath { kind: TileKind::Hashes(0), index: 1234067, width: 8 };
        assert_eq!(p.path(), "tile/0/x001/x234/067.p/8");
        let e = TilePath { kind: TileKind::Entries, index: 5, width: 256 };
        assert_eq!(e.path(), "tile/entries/005");
        for p in [p, e, TilePath { kind: TileKind::Hashes(3), index: u64::MAX, width: 255 }] {
            assert_eq!(TilePath::parse(&p.path()), Some(p));
        }
    }

    #[test]
    fn only_canonical_paths_parse() {
        for bad in [
            "tile/0/1",
            "tile/0/0001",
            "tile/0/x000/001",
            "tile/0/x1/000",
            "tile/0/001/002",
            "tile/00/000",
            "tile/64/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/08",
            "tile/0/000.p/",
            "tile/0/000.p/1/",
            "tile/entries/000.p/300",
            "tile/x/000",
            "tiles/0/000",
            "tile/0/",
            "tile/0/x001",
            "tile/0/x001/",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
        ] {
            assert_eq!(TilePath::parse(bad), None, "{bad}");
        }
        assert!(TilePath::parse("tile/0/x018/x446/x744/x073/x709/x551/615").is_some(), "u64::MAX");
    }

    #[test]
    fn bundles_round_trip_and_refuse_damage() {
        let leaves: Vec<Vec<u8>> = vec![b"a".to_vec(), Vec::new(), vec![7; 300]];
        let b = encode_bundle(&leaves).unwrap();
        assert_eq!(&b[..3], &[0, 1, b'a']);
        assert_eq!(decode_bundle(&b).unwrap(), leaves.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert_eq!(decode_bundle(&b[..b.len() - 1]), Err(BundleError::Truncated { entries: 2 }));
        assert_eq!(decode_bundle(&b[..1]), Err(BundleError::Truncated { entries: 0 }));
        assert_eq!(encode_bundle(&[vec![0u8; 65536]]), Err(BundleError::TooLong { len: 65536 }));
    }

    /// Every node any proof or root can ask for, at every size up to a few thousand, read from
    /// tiles, equals the tree's; the compact range appends to the same root and reports exactly
    /// the nodes the tree stores.
    #[test]
    fn tiles_equal_the_tree_at_every_size() {
        let mut tree = MemTree::new();
        let mut range = CompactRange::new();
        let mut completed: HashMap<NodeId, Hash> = HashMap::new();
        for n in 0..3000u64 {
            let leaf = merkle::leaf_hash(&n.to_be_bytes());
            for (id, h) in range.push(leaf) {
                completed.insert(id, h);
            }
            tree.push_hash(leaf);
            let size = n + 1;
            assert_eq!(range.root(), tree.root(), "root at {size}");
            assert_eq!(completed.len(), tree.stored_nodes(), "completed nodes at {size}");
            let tiles = TileNodes { source: Cut(&tree), size };
            assert_eq!(merkle::root(size, &tiles).unwrap(), tree.root(), "root from tiles at {size}");
            assert_eq!(CompactRange::from_nodes(size, &tiles).unwrap(), range, "compact range from tiles at {size}");
            // Proofs from tiles at sizes around tile boundaries and a sample of others.
            if size % 97 == 0 || size % 256 <= 2 || size % 256 >= 254 || size < 40 {
                for index in [0, size / 2, size - 1] {
                    assert_eq!(
                        merkle::inclusion_proof(index, size, &tiles).unwrap(),
                        merkle::inclusion_proof(index, size, &tree).unwrap(),
                        "inclusion {index} at {size}"
                    );
                }
                for first in [1, size / 3 + 1, size] {
                    assert_eq!(
                        merkle::consistency_proof(first, size, &tiles).unwrap(),
                        merkle::consistency_proof(first, size, &tree).unwrap(),
                        "consistency {first} at {size}"
                    );
                }
            }
            // The partial tiles are exactly the right-edge prefixes.
            for p in partial_tiles(size) {
                let TileKind::Hashes(level) = p.kind else { unreachable!() };
                assert_eq!(tile_width(level, p.index, size), p.width);
                assert!(u64::from(p.width) < TILE_WIDTH);
            }
        }
    }

    #[test]
    fn nodes_beyond_the_size_are_refused() {
        let mut tree = MemTree::new();
        for n in 0..300u64 {
            tree.push(&n.to_be_bytes());
        }
        let tiles = TileNodes { source: Cut(&tree), size: 300 };
        assert!(matches!(tiles.node(NodeId::leaf(300)), Err(TileReadError::Beyond { .. })));
        assert!(matches!(tiles.node(NodeId { level: 9, index: 0 }), Err(TileReadError::Beyond { .. })));
        assert!(tiles.node(NodeId { level: 8, index: 0 }).is_ok());
        assert!(matches!(tiles.node(NodeId { level: 63, index: 1 << 1 }), Err(TileReadError::Beyond { .. })));
    }

    #[test]
    fn widths_at_the_right_edge() {
        assert_eq!(tile_width(0, 0, 0), 0);
        assert_eq!(tile_width(0, 0, 255), 255);
        assert_eq!(tile_width(0, 0, 256), 256);
        assert_eq!(tile_width(0, 1, 256), 0);
        assert_eq!(tile_width(1, 0, 256 * 3 + 5), 3);
        assert_eq!(
            partial_tiles(256 * 256 + 256 * 2 + 7),
            vec![
                TilePath { kind: TileKind::Hashes(0), index: 258, width: 7 },
                TilePath { kind: TileKind::Hashes(1), index: 1, width: 2 },
                TilePath { kind: TileKind::Hashes(2), index: 0, width: 1 },
            ]
        );
        // Level 2 has one complete node (256*256 leaves), a partial tile of width 1.
        assert_eq!(tile_width(2, 0, 256 * 256 + 1), 1);
    }
}
