//! One round of following: fetch the checkpoint, check it against the held one, fetch and
//! check the tiles that prove it, store them, commit.

use super::upstream::Upstream;
use super::{root_of, tree_error, Held, Inconsistency, Mirror, MirrorError, SyncReport, GROUP};
use greenledger_core::log::merkle::{self, leaf_hash, Hash};
use greenledger_core::log::note::OpenedNote;
use greenledger_core::log::tiles::{
    decode_bundle, partial_tiles, tile_width, ExpandedTile, TileKind, TileNodes, TilePath, TileSource, TILE_WIDTH,
};
use greenledger_core::log::{open_checkpoint, Checkpoint};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// Hash tiles fetched in a round, by level and index, each at the width of the new size.
type Fetched = BTreeMap<(u8, u64), Arc<ExpandedTile>>;

/// What a round wrote before its commit.
#[derive(Default)]
struct Grown {
    /// The hash tiles that grew, at their new width (all written).
    tiles: Vec<TilePath>,
    /// Entry bundles written.
    bundles: usize,
    /// Directories written into, to flush before the commit.
    dirs: BTreeSet<PathBuf>,
}

impl Mirror {
    /// One round: fetch the followed log's checkpoint and, if it is new and proven, the tiles
    /// and bundles that grew, then commit it. See the module documentation for the checks.
    pub async fn sync_once(&mut self) -> Result<SyncReport, MirrorError> {
        if self.stopped {
            return Err(MirrorError::Stopped { path: self.shared.files.evidence_path() });
        }
        let url = self.upstream.url("checkpoint");
        let note = self.upstream.checkpoint().await?;
        let (offered, opened) = open_checkpoint(&note, &self.log_key)
            .map_err(|e| MirrorError::BadCheckpoint { url: url.clone(), reason: e.to_string() })?;
        if offered.size == 0 && offered.root != merkle::empty_root() {
            return Err(MirrorError::RootMismatch {
                size: 0,
                got: hex::encode(merkle::empty_root()),
                want: hex::encode(offered.root),
            });
        }
        let held = self.shared.held();
        let from_size = held.as_ref().map_or(0, |h| h.checkpoint.size);
        let mut report = SyncReport { from_size, size: from_size, ..SyncReport::default() };
        if let Some(h) = &held {
            let size = h.checkpoint.size;
            if offered.size == size && offered.root != h.checkpoint.root {
                return Err(self.fork(h, note, Inconsistency::SameSizeOtherRoot { size }));
            }
            if offered.size < size {
                let files = self.shared.files.clone();
                let at = offered.size;
                let root = blocking(move || root_of(&files, size, at)).await?;
                let same_history = root == offered.root;
                let reason = Inconsistency::SizeWentBack { held: size, offered: offered.size, same_history };
                return Err(self.fork(h, note, reason));
            }
            if h.note == note {
                return Ok(report);
            }
        }
        self.check_witnesses(&offered, &opened, &url)?;
        let grown = if offered.size > from_size {
            match self.grow(held.as_ref(), &offered).await? {
                Ok(grown) => grown,
                Err(reason) => {
                    let h = held.as_ref().expect("only a held checkpoint can be contradicted");
                    return Err(self.fork(h, note, reason));
                }
            }
        } else {
            Grown::default()
        };
        report.size = offered.size;
        report.tiles = grown.tiles.len();
        report.bundles = grown.bundles;
        report.checkpoint_changed = true;
        self.commit(grown, note, offered).await?;
        Ok(report)
    }

    /// Fetches, checks and writes what grew from the held size to the offered one, everything
    /// but the checkpoint. `Ok(Err(_))` is a fork, found before anything was written.
    async fn grow(
        &self,
        held: Option<&Held>,
        offered: &Checkpoint,
    ) -> Result<Result<Grown, Inconsistency>, MirrorError> {
        let size0 = held.map_or(0, |h| h.checkpoint.size);
        let size1 = offered.size;
        let fetched = self.fetch_edges(size0, size1).await?;
        let held_root = held.map(|h| h.checkpoint.root);
        let cp = offered.clone();
        let (fetched, verdict) = blocking(move || {
            let verdict = check_roots(&fetched, size0, held_root, &cp)?;
            Ok((fetched, verdict))
        })
        .await?;
        if let Some(reason) = verdict {
            return Ok(Err(reason));
        }
        let mut dirs = BTreeSet::new();
        let bundles = self.fetch_level0(size0, size1, &fetched, &mut dirs).await?;
        let tiles = grown_tiles(size0, size1);
        let files = self.shared.files.clone();
        let upper: Vec<(TilePath, Arc<ExpandedTile>)> = tiles
            .iter()
            .filter_map(|p| match p.kind {
                TileKind::Hashes(level) if level > 0 => fetched.get(&(level, p.index)).map(|t| (*p, t.clone())),
                _ => None,
            })
            .collect();
        let dirs = blocking(move || {
            for (path, tile) in &upper {
                let file = files.path_of(path);
                files.put(&file, &tile.to_bytes())?;
                dirs.insert(parent_of(&file));
            }
            Ok(dirs)
        })
        .await?;
        Ok(Ok(Grown { tiles, bundles, dirs }))
    }

    /// The commit point: the written files' directories flushed, then the checkpoint replaced,
    /// then the routes switched to it, then the partial files that full ones replace deleted.
    async fn commit(&self, grown: Grown, note: String, checkpoint: Checkpoint) -> Result<(), MirrorError> {
        let shared = self.shared.clone();
        blocking(move || {
            shared.files.sync_dirs(&grown.dirs)?;
            shared.files.commit_checkpoint(&note)?;
            *shared.held.write().unwrap_or_else(|p| p.into_inner()) = Some(Held { note, checkpoint });
            for p in grown.tiles.iter().filter(|p| u64::from(p.width) == TILE_WIDTH) {
                shared.files.prune_partials(p.kind, p.index)?;
                if p.kind == TileKind::Hashes(0) {
                    shared.files.prune_partials(TileKind::Entries, p.index)?;
                }
            }
            Ok(())
        })
        .await
    }

    fn check_witnesses(&self, offered: &Checkpoint, opened: &OpenedNote, url: &str) -> Result<(), MirrorError> {
        if self.witnesses.is_empty() {
            return Ok(());
        }
        let signed = opened.verify_cosignatures(&self.witnesses).map_err(|e| MirrorError::BadCheckpoint {
            url: url.to_string(),
            reason: format!("a witness cosignature does not verify: {e}"),
        })?;
        let missing: Vec<String> = self
            .witnesses
            .iter()
            .filter(|w| !signed.iter().any(|(name, _)| name == w.name()))
            .map(|w| w.name().to_string())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(MirrorError::Unwitnessed { size: offered.size, missing })
        }
    }

    /// Records a fork: the evidence file, the stop; returns the error that reports it.
    fn fork(&mut self, held: &Held, offered: String, reason: Inconsistency) -> MirrorError {
        let text = format!(
            "Fork of the log {origin} seen while following {from}: {reason}.\n\
             Both checkpoints are signed by the log key {key}.\n\n\
             --- held checkpoint (verified, still served) ---\n{held}\
             --- offered checkpoint ---\n{offered}",
            origin = held.checkpoint.origin,
            from = self.upstream.base(),
            key = self.log_key,
            held = held.note,
        );
        if let Err(e) = self.shared.files.write_evidence(&text) {
            tracing::error!(error = %e, "cannot write the fork evidence");
        }
        self.stopped = true;
        tracing::error!(%reason, from = %self.upstream.base(), "fork of the followed log; stopped following");
        MirrorError::Fork { held: held.note.clone(), offered, reason }
    }

    /// The hash tiles that prove a new size: every tile of level 1 and above that grew, and the
    /// tiles holding the right edge of the held and the new tree (what their roots are made
    /// of), all at the width of the new size.
    async fn fetch_edges(&self, size0: u64, size1: u64) -> Result<Fetched, MirrorError> {
        let mut want: BTreeSet<TilePath> =
            grown_tiles(size0, size1).into_iter().filter(|p| p.kind != TileKind::Hashes(0)).collect();
        for p in partial_tiles(size0).into_iter().chain(partial_tiles(size1)) {
            let TileKind::Hashes(level) = p.kind else { continue };
            want.insert(TilePath { width: tile_width(level, p.index, size1), ..p });
        }
        let want: Vec<TilePath> = want.into_iter().collect();
        let mut fetched = Fetched::new();
        for group in want.chunks(GROUP) {
            let mut set = tokio::task::JoinSet::new();
            for &path in group {
                let up = self.upstream.clone();
                set.spawn(async move { fetch_tile(&up, path).await.map(|t| (path, t)) });
            }
            while let Some(done) = set.join_next().await {
                let (path, tile) = done.map_err(join_error)??;
                if let TileKind::Hashes(level) = path.kind {
                    fetched.insert((level, path.index), tile);
                }
            }
        }
        Ok(fetched)
    }

    /// Fetches, checks and writes the level-0 tiles and entry bundles that grew, in groups.
    /// Returns how many bundles (as many as level-0 tiles) were written.
    async fn fetch_level0(
        &self,
        size0: u64,
        size1: u64,
        fetched: &Fetched,
        dirs: &mut BTreeSet<PathBuf>,
    ) -> Result<usize, MirrorError> {
        let level0: Vec<TilePath> =
            grown_tiles(size0, size1).into_iter().filter(|p| p.kind == TileKind::Hashes(0)).collect();
        let mut count = 0;
        for group in level0.chunks(GROUP) {
            let mut set = tokio::task::JoinSet::new();
            for &path in group {
                let up = self.upstream.clone();
                let known = fetched.get(&(0, path.index)).cloned();
                set.spawn(async move {
                    let tile = match known {
                        Some(t) => t,
                        None => fetch_tile(&up, path).await?,
                    };
                    let bundle = up.bundle(path.index, path.width).await?;
                    Ok::<_, MirrorError>((path, tile, bundle))
                });
            }
            let mut got = Vec::with_capacity(group.len());
            while let Some(done) = set.join_next().await {
                got.push(done.map_err(join_error)??);
            }
            let parents: Fetched = got
                .iter()
                .filter_map(|(p, _, _)| {
                    fetched.get(&(1, p.index / TILE_WIDTH)).map(|t| ((1, p.index / TILE_WIDTH), t.clone()))
                })
                .collect();
            let files = self.shared.files.clone();
            let written = blocking(move || {
                let mut dirs = BTreeSet::new();
                for (path, tile, bundle) in &got {
                    check_parent(&parents, 0, path.index, tile)?;
                    check_bundle(path.index, tile, bundle)?;
                }
                for (path, tile, bundle) in &got {
                    let file = files.path_of(path);
                    files.put(&file, &tile.to_bytes())?;
                    dirs.insert(parent_of(&file));
                    let file = files.path_of(&TilePath { kind: TileKind::Entries, ..*path });
                    files.put(&file, bundle)?;
                    dirs.insert(parent_of(&file));
                }
                Ok(dirs)
            })
            .await?;
            dirs.extend(written);
            count += group.len();
        }
        Ok(count)
    }
}

/// The hash tiles whose width grows from `size0` to `size1`, at their width in `size1`,
/// lowest level first.
pub(crate) fn grown_tiles(size0: u64, size1: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    for level in 0..8u8 {
        let shift = 8 * u32::from(level);
        let (n0, n1) = (size0 >> shift, size1 >> shift);
        if n1 == 0 {
            break;
        }
        for index in n0 / TILE_WIDTH..n1.div_ceil(TILE_WIDTH) {
            let (w0, w1) = (tile_width(level, index, size0), tile_width(level, index, size1));
            if w1 > w0 {
                out.push(TilePath { kind: TileKind::Hashes(level), index, width: w1 });
            }
        }
    }
    out
}

async fn fetch_tile(up: &Upstream, path: TilePath) -> Result<Arc<ExpandedTile>, MirrorError> {
    match path.kind {
        TileKind::Hashes(level) => up.hash_tile(level, path.index, path.width).await,
        TileKind::Entries => Err(MirrorError::BadTile { path: path.path(), reason: "not a hash tile".into() }),
    }
}

/// Checks the fetched tiles against both checkpoints: every full tile against the tile above,
/// the new root, and then the held root. `Ok(Some(_))` is a fork.
fn check_roots(
    fetched: &Fetched,
    size0: u64,
    held_root: Option<Hash>,
    offered: &Checkpoint,
) -> Result<Option<Inconsistency>, MirrorError> {
    for (&(level, index), tile) in fetched {
        check_parent(fetched, level, index, tile)?;
    }
    let got = root_from(fetched, offered.size)?;
    if got != offered.root {
        return Err(MirrorError::RootMismatch {
            size: offered.size,
            got: hex::encode(got),
            want: hex::encode(offered.root),
        });
    }
    if let Some(held_root) = held_root {
        if size0 > 0 && root_from(fetched, size0)? != held_root {
            return Ok(Some(Inconsistency::HeldRootNotReproduced { held: size0, offered: offered.size }));
        }
    }
    Ok(None)
}

/// The root at `size` from fetched tiles only.
fn root_from(fetched: &Fetched, size: u64) -> Result<Hash, MirrorError> {
    merkle::root(size, &TileNodes { source: FetchedTiles(fetched), size }).map_err(tree_error)
}

struct FetchedTiles<'a>(&'a Fetched);

impl TileSource for FetchedTiles<'_> {
    type Error = MirrorError;
    fn tile(&self, level: u8, index: u64, width: u16) -> Result<Arc<ExpandedTile>, MirrorError> {
        match self.0.get(&(level, index)) {
            Some(t) if t.width() >= usize::from(width) => Ok(t.clone()),
            _ => Err(MirrorError::Damaged { reason: format!("tile {level}/{index} of width {width} was not fetched") }),
        }
    }
}

/// A full tile must hash to its entry in the tile above (which was fetched, since it grew).
fn check_parent(fetched: &Fetched, level: u8, index: u64, tile: &ExpandedTile) -> Result<(), MirrorError> {
    if tile.width() as u64 != TILE_WIDTH {
        return Ok(());
    }
    let path = TilePath { kind: TileKind::Hashes(level), index, width: TILE_WIDTH as u16 }.path();
    let above = fetched
        .get(&(level + 1, index / TILE_WIDTH))
        .and_then(|t| t.hashes().get((index % TILE_WIDTH) as usize).copied());
    let Some(above) = above else {
        return Err(MirrorError::BadTile { path, reason: "the tile above does not hold its hash".into() });
    };
    let got = tile.node(8, 0).unwrap_or_default();
    if got != above {
        return Err(MirrorError::BadTile {
            path,
            reason: format!("hashes to {}, the tile above holds {}", hex::encode(got), hex::encode(above)),
        });
    }
    Ok(())
}

/// Every entry of a bundle must hash to its leaf hash in the level-0 tile.
fn check_bundle(index: u64, tile: &ExpandedTile, bundle: &[u8]) -> Result<(), MirrorError> {
    let path = TilePath { kind: TileKind::Entries, index, width: tile.width() as u16 }.path();
    let entries =
        decode_bundle(bundle).map_err(|e| MirrorError::BadTile { path: path.clone(), reason: e.to_string() })?;
    if entries.len() != tile.width() {
        return Err(MirrorError::BadTile {
            path,
            reason: format!("{} entries, the level-0 tile has {} hashes", entries.len(), tile.width()),
        });
    }
    for (i, (entry, want)) in entries.iter().zip(tile.hashes()).enumerate() {
        if leaf_hash(entry) != *want {
            return Err(MirrorError::BadTile {
                path,
                reason: format!(
                    "entry {} does not hash to its leaf hash in the level-0 tile",
                    index * TILE_WIDTH + i as u64
                ),
            });
        }
    }
    Ok(())
}

fn parent_of(file: &std::path::Path) -> PathBuf {
    file.parent().map(PathBuf::from).unwrap_or_default()
}

fn join_error(e: tokio::task::JoinError) -> MirrorError {
    MirrorError::Damaged { reason: format!("a mirror task failed: {e}") }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MirrorError> + Send + 'static,
) -> Result<T, MirrorError> {
    tokio::task::spawn_blocking(f).await.map_err(join_error)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiles(size0: u64, size1: u64) -> Vec<String> {
        grown_tiles(size0, size1).iter().map(TilePath::path).collect()
    }

    #[test]
    fn the_tiles_that_grow() {
        assert_eq!(tiles(0, 1), ["tile/0/000.p/1"]);
        assert_eq!(tiles(5, 5), Vec::<String>::new());
        assert_eq!(tiles(9, 7), Vec::<String>::new());
        assert_eq!(tiles(255, 256), ["tile/0/000", "tile/1/000.p/1"]);
        // Level-1 tile 0 (width 1) is the same at 300 and 301.
        assert_eq!(tiles(300, 301), ["tile/0/001.p/45"]);
        assert_eq!(tiles(300, 5000).len(), 19 + 1);
        assert_eq!(tiles(300, 5000)[..2], ["tile/0/001", "tile/0/002"]);
        assert_eq!(tiles(300, 5000)[18..], ["tile/0/019.p/136", "tile/1/000.p/19"]);
        assert_eq!(tiles(65_535, 65_536), ["tile/0/255", "tile/1/000", "tile/2/000.p/1"]);
        assert_eq!(tiles(65_536, 65_537), ["tile/0/256.p/1"]);
        let big = tiles(1_000_000, 1_000_256 * 256);
        assert!(big.contains(&"tile/3/000.p/15".to_string()), "{big:?}");
    }
}
