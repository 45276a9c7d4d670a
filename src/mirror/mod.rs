//! A mirror of a ledger's log: it follows the log over C2SP tlog-tiles
//! (<https://c2sp.org/tlog-tiles>), verifies every checkpoint it takes, stores the tiles and
//! entry bundles, and serves them again at the same routes with the same headers as
//! [`crate::tiles_http`], so that reads scale out, a CDN can sit in front, and a mirror can be
//! mirrored (`greenledger mirror --from URL --data DIR --log-key KEY`).
//!
//! # Following
//!
//! [`Mirror::sync_once`] fetches `/checkpoint` and takes it only if
//!
//! 1. the log key signs it and its origin is the key's name (other signature lines, witness
//!    cosignatures among them, are kept as fetched; with [`Mirror::with_witnesses`] each given
//!    witness must have cosigned it);
//! 2. it does not contradict the held checkpoint: the same size must have the same root, and
//!    the size never goes back;
//! 3. the tiles prove it: the hash tiles that changed between the held size and the new one
//!    are fetched (every level), every new full tile hashes to its entry in the tile above, the
//!    root of the new size rebuilt from the tiles equals the checkpoint's, and the root of the
//!    held size rebuilt from the same tiles equals the held checkpoint's (consistency);
//! 4. every new entry bundle holds as many entries as its level-0 tile has hashes, and each
//!    entry's RFC 6962 leaf hash equals its hash in that tile.
//!
//! A checkpoint that fails 2 or the consistency part of 3 is a **fork**: two checkpoints under
//! the same log key that no single append-only log can have both signed. The mirror writes both
//! notes to `DIR/fork-evidence.txt`, returns [`MirrorError::Fork`], and stops following (also
//! after a restart, until that file is removed); it keeps serving its last good state and
//! stores nothing of the fork. Any other failure (network, a tile that does not match its
//! checkpoint, a missing cosignature) leaves the held state as it was and the next poll tries
//! again.
//!
//! The upper levels are fetched and checked first; the level-0 tiles and entry bundles, by far
//! most of the data, follow in groups of [`GROUP`], each checked against the level-1 tile (so
//! memory stays small however far behind the mirror is) and written as it is checked.
//!
//! # Storage: plain files
//!
//! Tiles and bundles are immutable, so the mirror keeps one file per tile at its tlog-tiles path
//! under `DIR` ([`files`]), written atomically (a scratch file, flushed, renamed), and the
//! checkpoint note in `DIR/checkpoint`, written last: that rename is the commit point of a
//! sync, so a crash leaves the previous checkpoint with every tile it needs, and at most some
//! verified tiles beyond it that no read reaches. A store of files needs no database next to
//! the mirror, restarts by reading one file, and lets a plain web server or an object store
//! serve `DIR` as it is (entry bundles are stored uncompressed, since that is what is
//! verified; such a server should compress them). Partial versions of a tile are deleted once
//! its full version is held, as the specification allows; [`Mirror::router`] serves every
//! width up to the held one from the widest file.
//!
//! One mirror process owns a directory: opening it empties its scratch directory.
//!
//! # Layout
//!
//! - [`files`]: the directory: paths, atomic writes, the commit, reading tiles back.
//! - [`upstream`]: the followed log over HTTP (reqwest).
//! - `sync`: one round of following: the checks above, then the commit.
//! - [`http`]: the routes that serve the held state.

pub mod files;
pub mod http;
mod sync;
pub mod upstream;

use files::{Files, HeldTiles};
use greenledger_core::log::merkle::{self, TreeError};
use greenledger_core::log::note::CosignatureVerifier;
use greenledger_core::log::tiles::{TileNodes, TileReadError};
use greenledger_core::log::{open_checkpoint, Checkpoint, NoteVerifier};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use upstream::Upstream;

/// Level-0 tiles (with their entry bundles) fetched at once.
pub const GROUP: usize = 16;
/// Poll interval of `greenledger mirror` unless `--interval` says otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// What makes two checkpoints a fork.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Inconsistency {
    #[error("both checkpoints have size {size} but different roots")]
    SameSizeOtherRoot { size: u64 },
    #[error(
        "the offered size {offered} is smaller than the held size {held} ({})",
        if *same_history { "a rollback: its root is the held tree's root at that size" } else { "and its root is not the held tree's root at that size" }
    )]
    SizeWentBack { held: u64, offered: u64, same_history: bool },
    #[error(
        "the tiles that rebuild the offered root at size {offered} give another root than the held one at size {held}"
    )]
    HeldRootNotReproduced { held: u64, offered: u64 },
}

/// Why a round of following failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// The followed log signed two checkpoints that no append-only log can both have: `held`
    /// is the one the mirror holds (and keeps serving), `offered` the new one. Both notes are
    /// in `DIR/fork-evidence.txt`. The mirror stopped following.
    #[error(
        "fork of the followed log: {reason}\n--- held checkpoint ---\n{held}--- offered checkpoint ---\n{offered}"
    )]
    Fork { held: String, offered: String, reason: Inconsistency },
    /// A fork was seen earlier (`path` holds the evidence); the mirror does not follow until the
    /// file is removed.
    #[error("not following: a fork was seen, the evidence is in {}; remove it to follow again", path.display())]
    Stopped { path: PathBuf },
    #[error("checkpoint from {url} refused: {reason}")]
    BadCheckpoint { url: String, reason: String },
    #[error("checkpoint of size {size} refused: no valid cosignature from witness {missing:?}")]
    Unwitnessed { size: u64, missing: Vec<String> },
    #[error("{path} refused: {reason}")]
    BadTile { path: String, reason: String },
    #[error("the tiles of size {size} give root {got}, the checkpoint says {want}")]
    RootMismatch { size: u64, got: String, want: String },
    #[error("cannot fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("not an http:// or https:// URL with a host: {url:?}")]
    BadUrl { url: String },
    #[error("cannot write or read {}: {reason}", path.display())]
    Storage { path: PathBuf, reason: String },
    #[error("the mirror's directory is damaged: {reason}")]
    Damaged { reason: String },
}

impl MirrorError {
    /// Whether following must stop: a fork, now or earlier.
    pub fn is_fork(&self) -> bool {
        matches!(self, MirrorError::Fork { .. } | MirrorError::Stopped { .. })
    }
}

/// The verified checkpoint a mirror holds and serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The note as fetched, cosignature lines included.
    pub note: String,
    pub checkpoint: Checkpoint,
}

/// What a round of following did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Tree size held before and after.
    pub from_size: u64,
    pub size: u64,
    /// Hash tiles and entry bundles fetched and stored.
    pub tiles: usize,
    pub bundles: usize,
    /// Whether the held checkpoint note changed (a new size, or new cosignature lines).
    pub checkpoint_changed: bool,
}

/// What the routes read: the directory and the held checkpoint. Readers hold the lock while
/// they read a file, so a commit that deletes superseded partial tiles waits for them.
pub(crate) struct Shared {
    pub(crate) files: Files,
    pub(crate) held: RwLock<Option<Held>>,
}

impl Shared {
    fn held(&self) -> Option<Held> {
        self.held.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A mirror of one log in one directory.
pub struct Mirror {
    upstream: Upstream,
    log_key: NoteVerifier,
    witnesses: Vec<CosignatureVerifier>,
    shared: Arc<Shared>,
    stopped: bool,
}

impl Mirror {
    /// Opens the mirror in `dir` (created if missing) following the log at `from`, whose
    /// checkpoints `log_key` signs. A held checkpoint is checked again: the log key must sign it
    /// and the stored tiles must rebuild its root. A fork seen earlier (`DIR/fork-evidence.txt`)
    /// keeps the mirror stopped.
    pub fn open(dir: &Path, from: &str, log_key: NoteVerifier) -> Result<Mirror, MirrorError> {
        let upstream = Upstream::new(from)?;
        let files = Files::open(dir)?;
        let held = match files.read_checkpoint()? {
            None => None,
            Some(note) => {
                let (checkpoint, _) = open_checkpoint(&note, &log_key).map_err(|e| MirrorError::Damaged {
                    reason: format!(
                        "the held checkpoint {} does not open with the log key: {e}",
                        files.checkpoint_path().display()
                    ),
                })?;
                let got = root_of(&files, checkpoint.size, checkpoint.size)?;
                if got != checkpoint.root {
                    return Err(MirrorError::Damaged {
                        reason: format!(
                            "the stored tiles give root {} at size {}, the held checkpoint says {}",
                            hex::encode(got),
                            checkpoint.size,
                            hex::encode(checkpoint.root)
                        ),
                    });
                }
                Some(Held { note, checkpoint })
            }
        };
        let stopped = files.evidence_path().exists();
        let shared = Arc::new(Shared { files, held: RwLock::new(held) });
        Ok(Mirror { upstream, log_key, witnesses: Vec::new(), shared, stopped })
    }

    /// Takes only checkpoints that every one of `witnesses` has cosigned.
    pub fn with_witnesses(mut self, witnesses: Vec<CosignatureVerifier>) -> Mirror {
        self.witnesses = witnesses;
        self
    }

    /// The held checkpoint, if any.
    pub fn held(&self) -> Option<Held> {
        self.shared.held()
    }

    /// The mirror's directory.
    pub fn dir(&self) -> &Path {
        self.shared.files.dir()
    }

    /// The followed log's base URL.
    pub fn from_url(&self) -> &str {
        self.upstream.base()
    }

    /// Whether a fork stopped the mirror.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The routes that serve the held state: `/checkpoint` and `/tile/...`, as
    /// [`crate::tiles_http`] serves a ledger's.
    pub fn router(&self) -> axum::Router {
        http::router(self.shared.clone())
    }

    /// Polls every `interval` until `stop` completes or a fork is seen (then it returns
    /// [`MirrorError::Fork`] or [`MirrorError::Stopped`]). Other failures are logged and
    /// tried again at the next poll.
    pub async fn run(
        mut self,
        interval: Duration,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), MirrorError> {
        tokio::pin!(stop);
        loop {
            match self.sync_once().await {
                Ok(r) if r.checkpoint_changed => {
                    tracing::info!(from = r.from_size, size = r.size, tiles = r.tiles, bundles = r.bundles, "mirrored")
                }
                Ok(_) => {}
                Err(e) if e.is_fork() => return Err(e),
                Err(e) => tracing::warn!(error = %e, from = %self.upstream.base(), "mirror round failed; trying again"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = &mut stop => return Ok(()),
            }
        }
    }

    /// [`Mirror::run`] in the background of the current runtime.
    pub fn spawn(self, interval: Duration) -> Following {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.run(interval, async {
            let _ = stopped.await;
        }));
        Following { stop: Some(stop), task }
    }
}

/// A mirror following in the background ([`Mirror::spawn`]).
pub struct Following {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), MirrorError>>,
}

impl Following {
    /// Whether it has stopped on its own (a fork).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops polling and returns how the loop ended.
    pub async fn stop(mut self) -> Result<(), MirrorError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.map_err(|e| MirrorError::Damaged { reason: format!("the mirror task failed: {e}") })?
    }
}

/// The root at `size` of the stored tree of `held_size` leaves.
fn root_of(files: &Files, held_size: u64, size: u64) -> Result<merkle::Hash, MirrorError> {
    let nodes = TileNodes { source: HeldTiles { files, size: held_size }, size: held_size };
    merkle::root(size, &nodes).map_err(tree_error)
}

fn tree_error(e: TreeError<TileReadError<MirrorError>>) -> MirrorError {
    match e {
        TreeError::Read(TileReadError::Source(e)) => e,
        other => MirrorError::Damaged { reason: other.to_string() },
    }
}
