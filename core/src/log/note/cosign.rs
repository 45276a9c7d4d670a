//! C2SP tlog-cosignature witness cosignatures: [`Cosigner`] and [`CosignatureVerifier`].

use super::keys::{signer_key, verifier_key};
use super::*;

/// The message an Ed25519 cosignature signs:
/// `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint text.
pub fn cosignature_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

signer_key!(
    /// A witness's Ed25519 cosigning key (signature type `0x04`).
    Cosigner,
    ALG_COSIGNATURE_V1,
    "0x04"
);

impl Cosigner {
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier { name: self.name.clone(), hash: self.hash, key: self.key.verifying_key() }
    }

    /// Cosign the note text of a checkpoint (without signature lines) at
    /// `timestamp` (POSIX seconds). Returns the signature line, with its
    /// trailing newline, to add to the checkpoint note.
    pub fn cosign(&self, text: &str, timestamp: u64) -> Result<String, NoteError> {
        check_text(text)?;
        if timestamp > i64::MAX as u64 {
            return Err(NoteError::TimestampOutOfRange(timestamp));
        }
        let sig = self.key.sign(cosignature_message(text, timestamp).as_bytes());
        let mut bytes = Vec::with_capacity(COSIGNATURE_LEN);
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&sig.to_bytes());
        Ok(SignatureLine { name: self.name.clone(), key_hash: self.hash, sig: bytes }.to_line())
    }
}

verifier_key!(
    /// A witness's Ed25519 cosignature verifier key (signature type `0x04`).
    CosignatureVerifier,
    ALG_COSIGNATURE_V1,
    "0x04"
);

impl CosignatureVerifier {
    /// Verify a cosignature (`sig` = the bytes after the key ID: 8-byte
    /// big-endian timestamp || 64-byte Ed25519 signature) over `text`, the
    /// checkpoint note text. Returns the cosignature's timestamp.
    pub fn verify(&self, text: &str, sig: &[u8]) -> Result<u64, NoteError> {
        if sig.len() != COSIGNATURE_LEN {
            return Err(NoteError::CosignatureLength { name: self.name.clone(), key_hash: self.hash, got: sig.len() });
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&sig[..8]);
        let timestamp = u64::from_be_bytes(ts);
        if timestamp > i64::MAX as u64 {
            return Err(NoteError::TimestampOutOfRange(timestamp));
        }
        let ok = Signature::from_slice(&sig[8..])
            .is_ok_and(|s| self.key.verify_strict(cosignature_message(text, timestamp).as_bytes(), &s).is_ok());
        if ok {
            Ok(timestamp)
        } else {
            Err(NoteError::InvalidSignature { name: self.name.clone(), key_hash: self.hash })
        }
    }
}
