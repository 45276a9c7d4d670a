//! C2SP tlog-cosignature witness cosignatures: [`Cosigner`] and [`CosignatureVerifier`].

use super::*;

/// The message an Ed25519 cosignature signs:
/// `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint text.
pub fn cosignature_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// A witness's Ed25519 cosigning key (signature type `0x04`).
#[derive(Clone)]
pub struct Cosigner {
    pub(super) name: String,
    pub(super) key: SigningKey,
    pub(super) hash: u32,
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .field("key_hash", &format_args!("{:08x}", self.hash))
            .finish_non_exhaustive()
    }
}

impl Cosigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        check_name(name)?;
        let hash = key_hash(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes());
        Ok(Cosigner { name: name.to_string(), key, hash })
    }

    /// A fresh random key.
    pub fn generate<R: CryptoRngCore + ?Sized>(name: &str, rng: &mut R) -> Result<Self, NoteError> {
        Self::new(name, SigningKey::generate(rng))
    }

    /// Parse `PRIVATE+KEY+<name>+<hash>+<base64(0x04 || seed)>`.
    pub fn from_signer_key_str(s: &str) -> Result<Self, NoteError> {
        let (name, hash, key) = parse_signer(s, ALG_COSIGNATURE_V1)?;
        Ok(Cosigner { name, key, hash })
    }

    /// The secret signer key string; keep it secret.
    pub fn to_signer_key_string(&self) -> String {
        signer_string(&self.name, self.hash, ALG_COSIGNATURE_V1, &self.key)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_hash(&self) -> u32 {
        self.hash
    }

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

/// A witness's Ed25519 cosignature verifier key (signature type `0x04`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    pub(super) name: String,
    pub(super) hash: u32,
    pub(super) key: VerifyingKey,
}

impl CosignatureVerifier {
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        check_name(name)?;
        let hash = key_hash(name, ALG_COSIGNATURE_V1, key.as_bytes());
        Ok(CosignatureVerifier { name: name.to_string(), hash, key })
    }

    /// Parse `<name>+<hash>+<base64(0x04 || public key)>`, checking the hash.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let (name, hash, key) = parse_verifier(s, ALG_COSIGNATURE_V1)?;
        Ok(CosignatureVerifier { name, hash, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_hash(&self) -> u32 {
        self.hash
    }

    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

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

impl FromStr for CosignatureVerifier {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, NoteError> {
        Self::parse(s)
    }
}

impl fmt::Display for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&verifier_string(&self.name, self.hash, ALG_COSIGNATURE_V1, &self.key))
    }
}
