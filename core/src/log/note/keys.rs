//! A log's Ed25519 note keys: [`NoteSigner`] signs notes, [`NoteVerifier`] checks them.

use super::*;

/// A log's Ed25519 note signing key (signature type `0x01`).
#[derive(Clone)]
pub struct NoteSigner {
    pub(super) name: String,
    pub(super) key: SigningKey,
    pub(super) hash: u32,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_hash", &format_args!("{:08x}", self.hash))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        check_name(name)?;
        let hash = key_hash(name, ALG_ED25519, key.verifying_key().as_bytes());
        Ok(NoteSigner { name: name.to_string(), key, hash })
    }

    /// A fresh random key.
    pub fn generate<R: CryptoRngCore + ?Sized>(name: &str, rng: &mut R) -> Result<Self, NoteError> {
        Self::new(name, SigningKey::generate(rng))
    }

    /// Parse `PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>`.
    pub fn from_signer_key_str(s: &str) -> Result<Self, NoteError> {
        let (name, hash, key) = parse_signer(s, ALG_ED25519)?;
        Ok(NoteSigner { name, key, hash })
    }

    /// The secret signer key string; keep it secret.
    pub fn to_signer_key_string(&self) -> String {
        signer_string(&self.name, self.hash, ALG_ED25519, &self.key)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_hash(&self) -> u32 {
        self.hash
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), hash: self.hash, key: self.key.verifying_key() }
    }

    /// The signature line (with trailing newline) for `text`. Does not check
    /// the text; [`sign`] does.
    pub fn sign_line(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        SignatureLine { name: self.name.clone(), key_hash: self.hash, sig: sig.to_bytes().to_vec() }.to_line()
    }
}

/// A log's Ed25519 note verifier key (signature type `0x01`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    pub(super) name: String,
    pub(super) hash: u32,
    pub(super) key: VerifyingKey,
}

impl NoteVerifier {
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        check_name(name)?;
        let hash = key_hash(name, ALG_ED25519, key.as_bytes());
        Ok(NoteVerifier { name: name.to_string(), hash, key })
    }

    /// Parse `<name>+<hash>+<base64(0x01 || public key)>`, checking the hash.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let (name, hash, key) = parse_verifier(s, ALG_ED25519)?;
        Ok(NoteVerifier { name, hash, key })
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

    /// Whether `sig` (the bytes after the key ID) is a valid signature of `text`.
    pub fn verify(&self, text: &str, sig: &[u8]) -> bool {
        match Signature::from_slice(sig) {
            Ok(sig) => self.key.verify_strict(text.as_bytes(), &sig).is_ok(),
            Err(_) => false,
        }
    }
}

impl FromStr for NoteVerifier {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, NoteError> {
        Self::parse(s)
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&verifier_string(&self.name, self.hash, ALG_ED25519, &self.key))
    }
}
