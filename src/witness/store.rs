//! What a witness remembers: for each log, the latest checkpoint it cosigned.
//!
//! One file per log, `DIR/checkpoints/<origin hash>`, where the origin hash is the lowercase hex
//! SHA-256 of the origin line (the name the monitoring route uses). The file holds the cosigned
//! checkpoint note itself: the checkpoint text, the log's verified signatures and this witness's
//! cosignature. The held tree head is read back from its text, so the state cannot disagree
//! with what the witness serves.
//!
//! A file per log rather than a database: the state is one small record per log, written once
//! per accepted checkpoint and read once at start. Each write goes to `<origin hash>.tmp`,
//! which is flushed to disk (`fsync`), renamed over the file, and then the directory is flushed
//! too, so after a crash the file holds either the previous checkpoint or the new one, never a
//! torn mix, and a `200` is only sent once the new one is durable. One witness process per
//! directory: the compare-and-swap of each log is serialized inside the process.

use anyhow::{anyhow, bail, Context as _};
use greenledger_core::log::witness::TreeHead;
use greenledger_core::log::{split, Checkpoint};
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The lowercase hex SHA-256 of an origin line (without its newline).
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

/// The latest checkpoint cosigned for one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub head: TreeHead,
    /// The cosigned checkpoint note, as stored and served.
    pub note: String,
}

/// The witness's data directory.
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Opens (creating if needed) `data` and its `checkpoints` directory.
    pub fn open(data: &Path) -> anyhow::Result<Self> {
        let dir = data.join("checkpoints");
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(StateDir { dir })
    }

    /// The file of `origin`.
    pub fn path(&self, origin: &str) -> PathBuf {
        self.dir.join(origin_hash(origin))
    }

    /// The checkpoint held for `origin`, if any. A file that does not parse, or whose origin is
    /// another, is an error: the witness must not start believing it holds nothing.
    pub fn load(&self, origin: &str) -> anyhow::Result<Option<Held>> {
        let path = self.path(origin);
        let note = match std::fs::read_to_string(&path) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let (text, _) = split(&note).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        let cp = Checkpoint::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if cp.origin != origin {
            bail!("{} holds a checkpoint of origin {:?}, expected {origin:?}", path.display(), cp.origin);
        }
        Ok(Some(Held { head: TreeHead { size: cp.size, root: cp.root }, note }))
    }

    /// Durably replaces the checkpoint held for `origin` by `note` (write, fsync, rename, fsync
    /// the directory).
    pub fn save(&self, origin: &str, note: &str) -> anyhow::Result<()> {
        let path = self.path(origin);
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(note.as_bytes())?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().with_context(|| format!("cannot write {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::open(tmp.path()).unwrap();
        assert_eq!(dir.load("example.com/log").unwrap(), None);
        let note = "example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} w AAAAAAAA\n";
        dir.save("example.com/log", note).unwrap();
        let held = dir.load("example.com/log").unwrap().unwrap();
        assert_eq!(held.head, TreeHead { size: 3, root: [0; 32] });
        assert_eq!(held.note, note);
        assert!(!dir.path("example.com/log").with_extension("tmp").exists());
        // A file under another origin's name is refused.
        std::fs::copy(dir.path("example.com/log"), dir.path("other")).unwrap();
        assert!(dir.load("other").is_err());
        assert_eq!(
            origin_hash("example.com/log"),
            hex::encode(Sha256::digest(b"example.com/log")),
            "the hash of the origin without a newline"
        );
    }
}
