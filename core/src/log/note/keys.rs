//! A log's Ed25519 note keys: [`NoteSigner`] signs notes, [`NoteVerifier`] checks them.

use super::*;

/// The parts every Ed25519 note key type shares, for one signature type: the secret key
/// (`signer_key!`) and the verifier key (`verifier_key!`). Log keys (type `0x01`) and witness
/// cosigning keys (type `0x04`) differ only in that byte and in what they sign.
macro_rules! signer_key {
    ($(#[$doc:meta])* $ty:ident, $alg:expr, $byte:literal) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $ty {
            pub(super) name: String,
            pub(super) key: SigningKey,
            pub(super) hash: u32,
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.name)
                    .field("key_hash", &format_args!("{:08x}", self.hash))
                    .finish_non_exhaustive()
            }
        }

        impl $ty {
            pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
                check_name(name)?;
                let hash = key_hash(name, $alg, key.verifying_key().as_bytes());
                Ok($ty { name: name.to_string(), key, hash })
            }

            /// A fresh random key.
            pub fn generate<R: CryptoRngCore + ?Sized>(name: &str, rng: &mut R) -> Result<Self, NoteError> {
                Self::new(name, SigningKey::generate(rng))
            }

            #[doc = concat!("Parse `PRIVATE+KEY+<name>+<hash>+<base64(", $byte, " || seed)>`.")]
            pub fn from_signer_key_str(s: &str) -> Result<Self, NoteError> {
                let (name, hash, key) = parse_signer(s, $alg)?;
                Ok($ty { name, key, hash })
            }

            /// The secret signer key string; keep it secret.
            pub fn to_signer_key_string(&self) -> String {
                signer_string(&self.name, self.hash, $alg, &self.key)
            }

            pub fn name(&self) -> &str {
                &self.name
            }

            pub fn key_hash(&self) -> u32 {
                self.hash
            }
        }
    };
}

macro_rules! verifier_key {
    ($(#[$doc:meta])* $ty:ident, $alg:expr, $byte:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $ty {
            pub(super) name: String,
            pub(super) hash: u32,
            pub(super) key: VerifyingKey,
        }

        impl $ty {
            pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
                check_name(name)?;
                let hash = key_hash(name, $alg, key.as_bytes());
                Ok($ty { name: name.to_string(), hash, key })
            }

            #[doc = concat!("Parse `<name>+<hash>+<base64(", $byte, " || public key)>`, checking the hash.")]
            pub fn parse(s: &str) -> Result<Self, NoteError> {
                let (name, hash, key) = parse_verifier(s, $alg)?;
                Ok($ty { name, hash, key })
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
        }

        impl FromStr for $ty {
            type Err = NoteError;
            fn from_str(s: &str) -> Result<Self, NoteError> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&verifier_string(&self.name, self.hash, $alg, &self.key))
            }
        }
    };
}

pub(super) use {signer_key, verifier_key};

signer_key!(
    /// A log's Ed25519 note signing key (signature type `0x01`).
    NoteSigner,
    ALG_ED25519,
    "0x01"
);

impl NoteSigner {
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

verifier_key!(
    /// A log's Ed25519 note verifier key (signature type `0x01`).
    NoteVerifier,
    ALG_ED25519,
    "0x01"
);

impl NoteVerifier {
    /// Whether `sig` (the bytes after the key ID) is a valid signature of `text`.
    pub fn verify(&self, text: &str, sig: &[u8]) -> bool {
        match Signature::from_slice(sig) {
            Ok(sig) => self.key.verify_strict(text.as_bytes(), &sig).is_ok(),
            Err(_) => false,
        }
    }
}
