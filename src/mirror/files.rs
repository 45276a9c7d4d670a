//! The mirror's directory: one file per tile and entry bundle at its tlog-tiles path, the
//! checkpoint note, the fork evidence, and a scratch directory for atomic writes.
//!
//! ```text
//! DIR/checkpoint               the latest verified checkpoint note, cosignature lines as fetched
//! DIR/tile/<L>/<N>[.p/<W>]     hash tiles, the bytes as served
//! DIR/tile/entries/<N>[.p/<W>] entry bundles, uncompressed
//! DIR/fork-evidence.txt        both checkpoint notes of a fork, once one was seen
//! DIR/tmp/                     files being written; emptied on open
//! ```
//!
//! Every file is written to `tmp/`, flushed to disk and renamed into place, so a path holds
//! either nothing or its whole content. Tiles are written first and the checkpoint last; the
//! checkpoint is the commit point, and a tile beyond its size is never served.

use super::MirrorError;
use greenledger_core::log::merkle::Hash;
use greenledger_core::log::tiles::{
    decode_bundle, tile_hashes, tile_width, ExpandedTile, TileKind, TilePath, TileSource, TILE_WIDTH,
};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Name of the checkpoint file.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// Name of the fork evidence file.
pub const FORK_EVIDENCE_FILE: &str = "fork-evidence.txt";
const TMP_DIR: &str = "tmp";

static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

/// The mirror's directory.
#[derive(Clone, Debug)]
pub struct Files {
    dir: PathBuf,
}

fn io_err(path: &Path, e: std::io::Error) -> MirrorError {
    MirrorError::Storage { path: path.to_path_buf(), reason: e.to_string() }
}

impl Files {
    /// Opens (creating) `dir` and empties its scratch directory of writes a crash cut short.
    pub fn open(dir: &Path) -> Result<Files, MirrorError> {
        let tmp = dir.join(TMP_DIR);
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
        Ok(Files { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where `tile` lives.
    pub fn path_of(&self, tile: &TilePath) -> PathBuf {
        self.dir.join(tile.path())
    }

    pub fn checkpoint_path(&self) -> PathBuf {
        self.dir.join(CHECKPOINT_FILE)
    }

    pub fn evidence_path(&self) -> PathBuf {
        self.dir.join(FORK_EVIDENCE_FILE)
    }

    /// The held checkpoint note, if there is one.
    pub fn read_checkpoint(&self) -> Result<Option<String>, MirrorError> {
        let path = self.checkpoint_path();
        match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| MirrorError::Damaged { reason: format!("{} is not UTF-8", path.display()) }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    /// Writes `bytes` at `path` (inside the directory) atomically and durably, except for the
    /// directory entry: the caller syncs the directories it wrote into before it commits.
    pub fn put(&self, path: &Path, bytes: &[u8]) -> Result<(), MirrorError> {
        let parent = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
        let n = NEXT_TMP.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join(TMP_DIR).join(format!("{}-{n}", std::process::id()));
        let mut file = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| io_err(&tmp, e))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
    }

    /// Flushes the directory entries of the given directories.
    pub fn sync_dirs(&self, dirs: &BTreeSet<PathBuf>) -> Result<(), MirrorError> {
        for d in dirs {
            std::fs::File::open(d).and_then(|f| f.sync_all()).map_err(|e| io_err(d, e))?;
        }
        Ok(())
    }

    /// Replaces the checkpoint note: the commit point of a sync.
    pub fn commit_checkpoint(&self, note: &str) -> Result<(), MirrorError> {
        self.put(&self.checkpoint_path(), note.as_bytes())?;
        self.sync_dirs(&BTreeSet::from([self.dir.clone()]))
    }

    /// Writes the fork evidence (replacing any earlier one) durably.
    pub fn write_evidence(&self, text: &str) -> Result<(), MirrorError> {
        self.put(&self.evidence_path(), text.as_bytes())?;
        self.sync_dirs(&BTreeSet::from([self.dir.clone()]))
    }

    /// Removes every partial version of a tile or bundle (`<N>.p/`), once its full version
    /// is held. The tlog-tiles specification lets a log delete them then.
    pub fn prune_partials(&self, kind: TileKind, index: u64) -> Result<(), MirrorError> {
        let full = self.path_of(&TilePath { kind, index, width: TILE_WIDTH as u16 });
        let mut partials = full.into_os_string();
        partials.push(".p");
        let partials = PathBuf::from(partials);
        match std::fs::remove_dir_all(&partials) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&partials, e)),
        }
    }

    /// The stored bytes of hash tile `level`/`index` at exactly `width`.
    pub fn hash_tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<u8>, MirrorError> {
        let path = self.path_of(&TilePath { kind: TileKind::Hashes(level), index, width });
        let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
        if bytes.len() != usize::from(width) * 32 {
            return Err(MirrorError::Damaged {
                reason: format!("{} holds {} bytes, expected {}", path.display(), bytes.len(), usize::from(width) * 32),
            });
        }
        Ok(bytes)
    }

    /// The stored entry bundle `index` at exactly `width` (uncompressed).
    pub fn bundle(&self, index: u64, width: u16) -> Result<Vec<u8>, MirrorError> {
        let path = self.path_of(&TilePath { kind: TileKind::Entries, index, width });
        std::fs::read(&path).map_err(|e| io_err(&path, e))
    }
}

/// The first `width` entries of an entry bundle.
pub fn bundle_prefix(bundle: &[u8], width: u16) -> Result<&[u8], MirrorError> {
    let entries = decode_bundle(bundle).map_err(|e| MirrorError::Damaged { reason: format!("stored bundle: {e}") })?;
    if entries.len() < usize::from(width) {
        return Err(MirrorError::Damaged {
            reason: format!("stored bundle holds {} entries, fewer than {width}", entries.len()),
        });
    }
    let len: usize = entries[..usize::from(width)].iter().map(|e| e.len() + 2).sum();
    Ok(&bundle[..len])
}

/// The hash tiles of the held tree of `size` leaves, as a [`TileSource`]: each tile is read at
/// the width the held size gives it (never narrower than asked for).
pub struct HeldTiles<'a> {
    pub files: &'a Files,
    pub size: u64,
}

impl TileSource for HeldTiles<'_> {
    type Error = MirrorError;
    fn tile(&self, level: u8, index: u64, width: u16) -> Result<Arc<ExpandedTile>, MirrorError> {
        let held = tile_width(level, index, self.size);
        if held < width || held == 0 {
            return Err(MirrorError::Damaged {
                reason: format!("tile {level}/{index} of width {width} is beyond the held size {}", self.size),
            });
        }
        let bytes = self.files.hash_tile(level, index, held)?;
        let hashes: Vec<Hash> = tile_hashes(&bytes).unwrap_or_default();
        Ok(Arc::new(ExpandedTile::new(hashes)))
    }
}
