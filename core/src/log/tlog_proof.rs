//! C2SP tlog-proof (<https://c2sp.org/tlog-proof>): an offline-verifiable proof that an entry is
//! in a log, in a text form any tool can read: the entry's index, its RFC 6962 inclusion proof
//! and the (cosigned) checkpoint it is proven against.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64 of opaque extra data>]
//! index <decimal, no leading zeros>
//! <base64 hash, from the leaf's sibling up to the root's child>
//! ...
//!
//! <the checkpoint note, verbatim: origin, size, root, empty line, signature lines>
//! ```
//!
//! [`TlogProof::verify`] follows the specification's steps: the checkpoint is signed by the log
//! key, the trusted witnesses' cosignatures are counted against a minimum, and the inclusion
//! proof binds the leaf hash (computed by the caller from the entry) to the checkpoint's root.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::checkpoint::{open_checkpoint, Checkpoint};
use super::merkle::{verify_inclusion, Hash};
use super::note::{CosignatureVerifier, NoteVerifier};

/// The first line of every proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed tlog proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data (the `extra` line), if any.
    pub extra: Option<Vec<u8>>,
    /// Zero-based index of the entry in the log.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up.
    pub proof: Vec<Hash>,
    /// The checkpoint note, verbatim, with its signature and cosignature lines.
    pub checkpoint: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    #[error("malformed tlog proof: {0}")]
    Malformed(String),
    #[error("tlog proof checkpoint: {0}")]
    Checkpoint(String),
    #[error("tlog proof witnesses: {got} of the trusted witnesses cosigned, {needed} required{detail}")]
    Witnesses { needed: usize, got: usize, detail: String },
    #[error("tlog proof of index {index} against the checkpoint of size {size}: {reason}")]
    Inclusion { index: u64, size: u64, reason: String },
}

fn malformed(why: impl Into<String>) -> TlogProofError {
    TlogProofError::Malformed(why.into())
}

impl TlogProof {
    /// The proof as text.
    pub fn to_text(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            s.push_str(&format!("extra {}\n", B64.encode(extra)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Strictly parse a proof.
    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        let mut rest = text;
        let mut line = || -> Result<&str, TlogProofError> {
            let (l, next) = rest.split_once('\n').ok_or_else(|| malformed("ends before the empty line"))?;
            rest = next;
            Ok(l)
        };
        let header = line()?;
        if header != HEADER {
            return Err(malformed(format!("first line {header:?} is not {HEADER:?}")));
        }
        let mut l = line()?;
        let mut extra = None;
        if let Some(b64) = l.strip_prefix("extra ") {
            extra = Some(B64.decode(b64).map_err(|_| malformed(format!("extra {b64:?} is not base64")))?);
            l = line()?;
        }
        let index = l.strip_prefix("index ").ok_or_else(|| malformed(format!("line {l:?} is not `index <n>`")))?;
        let ok =
            !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) && (index == "0" || !index.starts_with('0'));
        let index: u64 = index
            .parse()
            .ok()
            .filter(|_| ok)
            .ok_or_else(|| malformed(format!("index {index:?} is not a decimal without leading zeros")))?;
        let mut proof = Vec::new();
        loop {
            let l = line()?;
            if l.is_empty() {
                break;
            }
            let h: Hash = B64
                .decode(l)
                .ok()
                .and_then(|raw| raw.try_into().ok())
                .ok_or_else(|| malformed(format!("proof line {l:?} is not the base64 of a 32-byte hash")))?;
            proof.push(h);
        }
        if rest.is_empty() {
            return Err(malformed("no checkpoint after the empty line"));
        }
        Ok(TlogProof { extra, index, proof, checkpoint: rest.to_string() })
    }

    /// Verifies the proof for an entry whose RFC 6962 leaf hash is `leaf_hash`: the checkpoint
    /// is signed by `log_key`, at least `min_witnesses` of `witnesses` cosigned it, and the
    /// inclusion proof leads from the leaf hash to its root. Returns the checkpoint and the
    /// witnesses that cosigned, with their timestamps.
    pub fn verify(
        &self,
        leaf_hash: &Hash,
        log_key: &NoteVerifier,
        witnesses: &[CosignatureVerifier],
        min_witnesses: usize,
    ) -> Result<(Checkpoint, Vec<(String, u64)>), TlogProofError> {
        let (cp, opened) =
            open_checkpoint(&self.checkpoint, log_key).map_err(|e| TlogProofError::Checkpoint(e.to_string()))?;
        let cosigned = if witnesses.is_empty() {
            Vec::new()
        } else {
            opened.verify_cosignatures(witnesses).map_err(|e| TlogProofError::Witnesses {
                needed: min_witnesses,
                got: 0,
                detail: format!(": {e}"),
            })?
        };
        if cosigned.len() < min_witnesses {
            return Err(TlogProofError::Witnesses {
                needed: min_witnesses,
                got: cosigned.len(),
                detail: String::new(),
            });
        }
        verify_inclusion(self.index, cp.size, leaf_hash, &self.proof, &cp.root)
            .map_err(|e| TlogProofError::Inclusion { index: self.index, size: cp.size, reason: e.to_string() })?;
        Ok((cp, cosigned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::checkpoint::sign_checkpoint;
    use crate::log::merkle::{leaf_hash, MemTree};
    use crate::log::note::{add_signature_lines, split, Cosigner, NoteSigner};
    use ed25519_dalek::SigningKey;

    fn setup() -> (MemTree, NoteSigner, String) {
        let mut t = MemTree::new();
        for i in 0..11u32 {
            t.push(format!("entry {i}").as_bytes());
        }
        let key = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[3; 32])).unwrap();
        let cp = Checkpoint { origin: "example.com/log".into(), size: 11, root: t.root(), extensions: vec![] };
        let note = sign_checkpoint(&cp, &key).unwrap();
        (t, key, note)
    }

    #[test]
    fn round_trip_and_verify() {
        let (t, key, note) = setup();
        let witness = Cosigner::new("witness.example/w1", SigningKey::from_bytes(&[4; 32])).unwrap();
        let (text, _) = split(&note).unwrap();
        let cosigned = add_signature_lines(&note, &[witness.cosign(&text, 1_700_000_000).unwrap()]).unwrap();
        let p = TlogProof { extra: None, index: 6, proof: t.inclusion_proof(6, 11).unwrap(), checkpoint: cosigned };
        let text = p.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 6\n"), "{text}");
        assert!(text.contains("=\n\nexample.com/log\n11\n"), "{text}");
        assert_eq!(TlogProof::parse(&text).unwrap(), p);
        let with_extra = TlogProof { extra: Some(b"context".to_vec()), ..p.clone() };
        assert!(with_extra.to_text().contains("\nextra Y29udGV4dA==\nindex 6\n"));
        assert_eq!(TlogProof::parse(&with_extra.to_text()).unwrap(), with_extra);

        let leaf = leaf_hash(b"entry 6");
        let (cp, w) = p.verify(&leaf, &key.verifier(), &[witness.verifier()], 1).unwrap();
        assert_eq!((cp.size, w.len()), (11, 1));
        // Another entry's hash, too many witnesses asked for, another log key.
        assert!(matches!(
            p.verify(&leaf_hash(b"entry 5"), &key.verifier(), &[], 0),
            Err(TlogProofError::Inclusion { index: 6, size: 11, .. })
        ));
        let other = Cosigner::new("witness.example/w2", SigningKey::from_bytes(&[5; 32])).unwrap();
        assert!(matches!(
            p.verify(&leaf, &key.verifier(), &[other.verifier()], 1),
            Err(TlogProofError::Witnesses { needed: 1, got: 0, .. })
        ));
        let stranger = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[6; 32])).unwrap();
        assert!(matches!(p.verify(&leaf, &stranger.verifier(), &[], 0), Err(TlogProofError::Checkpoint(_))));
    }

    #[test]
    fn malformed_proofs() {
        let (t, _, note) = setup();
        let good = TlogProof { extra: None, index: 0, proof: t.inclusion_proof(0, 11).unwrap(), checkpoint: note };
        let text = good.to_text();
        assert_eq!(TlogProof::parse(&text).unwrap().index, 0);
        for bad in [
            String::new(),
            text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            text.replacen("index 0", "index 00", 1),
            text.replacen("index 0", "index -1", 1),
            text.replacen("index 0", "index", 1),
            text.replacen("index 0\n", "", 1),
            text.replacen("index 0\n", "extra !!\nindex 0\n", 1),
            text.split("\n\n").next().unwrap().to_string(),
            format!("{}\n\n", text.split("\n\n").next().unwrap()),
            text.replacen("=\n", "\n", 1),
        ] {
            assert!(matches!(TlogProof::parse(&bad), Err(TlogProofError::Malformed(_))), "{bad:?}");
        }
    }
}
