//! Directory helpers for tests that work on a copy of a committed fixture and check that the
//! fixture itself was never written.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// SHA-256 of every file under `dir`, by path relative to it.
pub fn digest_tree(dir: &Path) -> BTreeMap<PathBuf, [u8; 32]> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable fixture directory") {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).expect("readable fixture file");
                out.insert(p.strip_prefix(dir).expect("under dir").to_path_buf(), Sha256::digest(&bytes).into());
            }
        }
    }
    out
}

/// Copies the tree `from` to `to` (created if missing).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("target directory");
    for e in std::fs::read_dir(from).expect("readable source directory") {
        let e = e.expect("directory entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("file copied");
        }
    }
}
