//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, and
//! C2SP Ed25519 witness cosignatures (<https://c2sp.org/tlog-cosignature>,
//! signature type `0x04`).
//!
//! A note is a text ending in a newline, a blank line, then one or more
//! signature lines `— <key name> <base64(4-byte key ID || signature)>\n`
//! (U+2014 em dash, space). The text is separated from the signatures by the
//! *last* blank line, so the text itself may contain blank lines. A note must
//! be valid UTF-8 with no ASCII control characters other than newline.
//!
//! Key IDs are `SHA-256(name || "\n" || type byte || 32-byte public key)[:4]`,
//! big-endian, with type `0x01` for the log's own Ed25519 signatures and
//! `0x04` for cosignatures. Key strings:
//!
//! * verifier: `<name>+<8 hex key ID>+<base64(type || 32-byte public key)>`
//! * signer: `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type || 32-byte seed)>`
//!
//! When opening a note, signatures from unknown keys (name and key ID not both
//! matching a known key) are ignored but kept; every signature from a known key
//! must verify; at least one must. At most [`MAX_SIGNATURES`] signature lines
//! are accepted.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

/// Signature type byte of plain Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type byte of Ed25519 timestamped cosignatures (tlog-cosignature).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Most signature lines accepted in one note (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;
/// Length of a cosignature after the key ID: 8-byte timestamp + 64-byte signature.
pub const COSIGNATURE_LEN: usize = 8 + 64;

const SIG_PREFIX: &str = "\u{2014} ";
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// Errors from keys, signing and opening notes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("invalid key name {0:?}: must be non-empty, without spaces, '+' or control characters")]
    InvalidName(String),
    #[error("malformed verifier key {key:?}: {reason}")]
    MalformedVerifierKey { key: String, reason: String },
    /// The private key string itself is never echoed back.
    #[error("malformed signer key: {0}")]
    MalformedSignerKey(String),
    #[error("key ID {stated:08x} in the key for {name:?} does not match the computed ID {computed:08x}")]
    KeyHashMismatch { name: String, stated: u32, computed: u32 },
    #[error("invalid note text: {0}")]
    InvalidText(String),
    #[error("malformed note: {0}")]
    Malformed(String),
    #[error("malformed signature line {line:?}: {reason}")]
    MalformedSignatureLine { line: String, reason: String },
    #[error("note has {count} signatures, more than the limit of {max}")]
    TooManySignatures { count: usize, max: usize },
    #[error("cannot sign a note with no signers")]
    NoSigners,
    #[error("note is not signed by any known key (signed by: {signed_by})")]
    NoKnownSignature { signed_by: String },
    #[error("signature by {name} (key ID {key_hash:08x}) does not verify")]
    InvalidSignature { name: String, key_hash: u32 },
    #[error("cosignature by {name} (key ID {key_hash:08x}) is {got} bytes, expected {COSIGNATURE_LEN}")]
    CosignatureLength { name: String, key_hash: u32, got: usize },
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    TimestampOutOfRange(u64),
}

/// Whether `name` is a valid key name: non-empty, no Unicode white space, no
/// `+`, and no ASCII control characters (which a note cannot contain).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+' || c < ' ')
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidName(name.to_string()))
    }
}

/// Check the note-wide character rules: no ASCII control characters except
/// newline. (A `&str` is already valid UTF-8.)
fn check_chars(s: &str) -> Result<(), String> {
    match s.char_indices().find(|(_, c)| *c < ' ' && *c != '\n') {
        Some((i, c)) => Err(format!("control character U+{:04X} at byte {i}", u32::from(c))),
        None => Ok(()),
    }
}

/// Check that `text` can be the text of a note: non-empty, ending in a
/// newline, and free of control characters other than newline.
pub fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::InvalidText("text must be non-empty and end with a newline".into()));
    }
    check_chars(text).map_err(NoteError::InvalidText)
}

/// Key ID: `SHA-256(name || "\n" || alg || public key)[:4]`, big-endian.
pub fn key_hash(name: &str, alg: u8, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn parse_hex_hash(s: &str) -> Option<u32> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

/// Parse `<name>+<hash>+<base64(alg || 32 bytes)>` (the common tail of
/// verifier and signer key strings). Returns the name, stated hash and key
/// bytes, or a reason.
fn parse_key_parts(s: &str, alg: u8) -> Result<(String, u32, [u8; 32]), String> {
    let mut parts = s.splitn(3, '+');
    let (name, hash, key) = match (parts.next(), parts.next(), parts.next()) {
        (Some(n), Some(h), Some(k)) => (n, h, k),
        _ => return Err("expected <name>+<key ID>+<base64 key>".into()),
    };
    if !is_valid_name(name) {
        return Err(format!("invalid key name {name:?}"));
    }
    let hash = parse_hex_hash(hash).ok_or_else(|| "key ID is not 8 hex digits".to_string())?;
    let raw = B64.decode(key).map_err(|_| "key is not valid standard base64".to_string())?;
    if raw.len() != 33 {
        return Err(format!("decoded key is {} bytes, expected 33 (type byte and 32-byte key)", raw.len()));
    }
    if raw[0] != alg {
        return Err(format!("key type byte is 0x{:02x}, expected 0x{alg:02x}", raw[0]));
    }
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&raw[1..]);
    Ok((name.to_string(), hash, bytes))
}

fn encode_key(alg: u8, bytes: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(alg);
    raw.extend_from_slice(bytes);
    B64.encode(raw)
}

fn parse_verifier(s: &str, alg: u8) -> Result<(String, u32, VerifyingKey), NoteError> {
    let bad = |reason: String| NoteError::MalformedVerifierKey { key: s.to_string(), reason };
    let (name, stated, bytes) = parse_key_parts(s, alg).map_err(bad)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| bad("not a valid Ed25519 public key".into()))?;
    if key.is_weak() {
        return Err(bad("weak (small-order) Ed25519 public key".into()));
    }
    let computed = key_hash(&name, alg, &bytes);
    if stated != computed {
        return Err(NoteError::KeyHashMismatch { name, stated, computed });
    }
    Ok((name, stated, key))
}

fn parse_signer(s: &str, alg: u8) -> Result<(String, u32, SigningKey), NoteError> {
    let rest = s
        .strip_prefix(PRIVATE_PREFIX)
        .ok_or_else(|| NoteError::MalformedSignerKey(format!("missing {PRIVATE_PREFIX:?} prefix")))?;
    let (name, stated, seed) = parse_key_parts(rest, alg).map_err(NoteError::MalformedSignerKey)?;
    let key = SigningKey::from_bytes(&seed);
    let computed = key_hash(&name, alg, key.verifying_key().as_bytes());
    if stated != computed {
        return Err(NoteError::KeyHashMismatch { name, stated, computed });
    }
    Ok((name, stated, key))
}

fn signer_string(name: &str, hash: u32, alg: u8, key: &SigningKey) -> String {
    format!("{PRIVATE_PREFIX}{name}+{hash:08x}+{}", encode_key(alg, key.as_bytes()))
}

fn verifier_string(name: &str, hash: u32, alg: u8, key: &VerifyingKey) -> String {
    format!("{name}+{hash:08x}+{}", encode_key(alg, key.as_bytes()))
}

/// One signature line of a note: `— <name> <base64(key_hash || sig)>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureLine {
    pub name: String,
    pub key_hash: u32,
    /// The signature bytes after the 4-byte key ID.
    pub sig: Vec<u8>,
}

impl SignatureLine {
    /// Parse one line, with or without its trailing newline.
    pub fn parse(line: &str) -> Result<Self, NoteError> {
        let bad =
            |reason: &str| NoteError::MalformedSignatureLine { line: line.to_string(), reason: reason.to_string() };
        let body = line.strip_suffix('\n').unwrap_or(line);
        if body.contains('\n') {
            return Err(bad("contains a newline"));
        }
        check_chars(body).map_err(|r| bad(&r))?;
        let rest =
            body.strip_prefix(SIG_PREFIX).ok_or_else(|| bad("does not start with an em dash (U+2014) and a space"))?;
        let (name, b64) = rest.split_once(' ').ok_or_else(|| bad("no space between key name and signature"))?;
        if !is_valid_name(name) {
            return Err(bad("invalid key name"));
        }
        let raw = B64.decode(b64).map_err(|_| bad("signature is not valid standard base64"))?;
        if raw.len() < 5 {
            return Err(bad("signature is shorter than a key ID plus one byte"));
        }
        Ok(SignatureLine {
            name: name.to_string(),
            key_hash: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
            sig: raw[4..].to_vec(),
        })
    }

    /// The line, including its trailing newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.sig.len());
        raw.extend_from_slice(&self.key_hash.to_be_bytes());
        raw.extend_from_slice(&self.sig);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }
}

/// A log's Ed25519 note signing key (signature type `0x01`).
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    hash: u32,
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
    name: String,
    hash: u32,
    key: VerifyingKey,
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

/// The message an Ed25519 cosignature signs:
/// `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint text.
pub fn cosignature_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// A witness's Ed25519 cosigning key (signature type `0x04`).
#[derive(Clone)]
pub struct Cosigner {
    name: String,
    key: SigningKey,
    hash: u32,
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
    name: String,
    hash: u32,
    key: VerifyingKey,
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

/// Sign `text` with every signer, producing the whole note.
pub fn sign(text: &str, signers: &[&NoteSigner]) -> Result<String, NoteError> {
    check_text(text)?;
    if signers.is_empty() {
        return Err(NoteError::NoSigners);
    }
    if signers.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures { count: signers.len(), max: MAX_SIGNATURES });
    }
    let mut note = String::with_capacity(text.len() + 1 + signers.len() * 128);
    note.push_str(text);
    note.push('\n');
    for s in signers {
        note.push_str(&s.sign_line(text));
    }
    Ok(note)
}

/// Split a note into its text and signature lines, checking the syntax only
/// (no signature is verified). Identical repeated lines are kept.
pub fn split(note: &str) -> Result<(String, Vec<SignatureLine>), NoteError> {
    check_chars(note).map_err(NoteError::Malformed)?;
    let at = note.rfind("\n\n").ok_or_else(|| NoteError::Malformed("no blank line before the signatures".into()))?;
    let (text, sigs) = (&note[..at + 1], &note[at + 2..]);
    if sigs.is_empty() {
        return Err(NoteError::Malformed("no signature lines".into()));
    }
    if !sigs.ends_with('\n') {
        return Err(NoteError::Malformed("the last signature line does not end with a newline".into()));
    }
    let count = sigs.matches('\n').count();
    if count > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures { count, max: MAX_SIGNATURES });
    }
    let lines = sigs.split_terminator('\n').map(SignatureLine::parse).collect::<Result<Vec<_>, _>>()?;
    Ok((text.to_string(), lines))
}

/// A note whose signatures have been checked by [`open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedNote {
    /// The note text, including its final newline.
    pub text: String,
    /// Names of the known keys whose signatures verified, each once, in order
    /// of first appearance.
    pub verified: Vec<String>,
    /// Every signature line of the note in order, known or not.
    pub signatures: Vec<SignatureLine>,
}

impl OpenedNote {
    /// Signature lines not made by any of `verifiers` (witness cosignatures,
    /// rotated keys, ...).
    pub fn unverified<'a>(&'a self, verifiers: &'a [NoteVerifier]) -> impl Iterator<Item = &'a SignatureLine> + 'a {
        self.signatures.iter().filter(move |s| !verifiers.iter().any(|v| v.name == s.name && v.hash == s.key_hash))
    }

    /// Check the cosignatures on this note from the given witnesses. Lines from
    /// other keys are ignored; every line from a known witness must verify.
    /// Returns `(witness name, timestamp)` once per witness that cosigned (the
    /// first of its lines), in order of appearance; the caller applies its
    /// quorum policy.
    pub fn verify_cosignatures(&self, cosigners: &[CosignatureVerifier]) -> Result<Vec<(String, u64)>, NoteError> {
        let mut out: Vec<(String, u64)> = Vec::new();
        let mut seen: Vec<(&str, u32)> = Vec::new();
        for line in &self.signatures {
            let Some(v) = cosigners.iter().find(|v| v.name == line.name && v.hash == line.key_hash) else {
                continue;
            };
            let ts = v.verify(&self.text, &line.sig)?;
            if !seen.contains(&(v.name.as_str(), v.hash)) {
                seen.push((v.name.as_str(), v.hash));
                out.push((v.name.clone(), ts));
            }
        }
        Ok(out)
    }
}

/// Parse a note and check its signatures against the known `verifiers`.
///
/// Signatures from unknown keys (name and key ID not both matching a
/// verifier) are ignored and kept in [`OpenedNote::signatures`]. It is an
/// error if any signature from a known key fails to verify, or if no known
/// key signed.
pub fn open(note: &str, verifiers: &[NoteVerifier]) -> Result<OpenedNote, NoteError> {
    let (text, signatures) = split(note)?;
    let mut verified: Vec<String> = Vec::new();
    for line in &signatures {
        let Some(v) = verifiers.iter().find(|v| v.name == line.name && v.hash == line.key_hash) else {
            continue;
        };
        if !v.verify(&text, &line.sig) {
            return Err(NoteError::InvalidSignature { name: line.name.clone(), key_hash: line.key_hash });
        }
        if !verified.contains(&v.name) {
            verified.push(v.name.clone());
        }
    }
    if verified.is_empty() {
        let mut names: Vec<String> = signatures.iter().map(|s| format!("{}/{:08x}", s.name, s.key_hash)).collect();
        names.dedup();
        return Err(NoteError::NoKnownSignature { signed_by: names.join(", ") });
    }
    Ok(OpenedNote { text, verified, signatures })
}

/// Append signature lines (for example witness cosignatures) to a signed
/// note. Each line must parse as a signature line (a trailing newline is
/// optional); lines identical to one already present are skipped. No
/// signature is verified here.
pub fn add_signature_lines(note: &str, lines: &[String]) -> Result<String, NoteError> {
    let (text, mut sigs) = split(note)?;
    for l in lines {
        let parsed = SignatureLine::parse(l)?;
        if !sigs.contains(&parsed) {
            sigs.push(parsed);
        }
    }
    if sigs.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures { count: sigs.len(), max: MAX_SIGNATURES });
    }
    let mut out = text;
    out.push('\n');
    for s in &sigs {
        out.push_str(&s.to_line());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str, seed: u8) -> NoteSigner {
        NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    fn cosigner(name: &str, seed: u8) -> Cosigner {
        Cosigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    #[test]
    fn names() {
        for ok in ["a", "example.com/log", "ünïcode/ok", "x-y_z"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in ["", "a b", "a+b", "a\tb", "a\u{a0}b", "a\u{2003}b", "a\u{1}b", "a\nb"] {
            assert!(!is_valid_name(bad), "{bad:?}");
            assert!(NoteSigner::new(bad, SigningKey::from_bytes(&[1; 32])).is_err());
        }
    }

    #[test]
    fn key_strings_round_trip() {
        let s = signer("example.com/log", 7);
        let sk = s.to_signer_key_string();
        assert!(sk.starts_with("PRIVATE+KEY+example.com/log+"));
        let s2 = NoteSigner::from_signer_key_str(&sk).unwrap();
        assert_eq!(s2.to_signer_key_string(), sk);
        let v = s.verifier();
        let vs = v.to_string();
        assert_eq!(NoteVerifier::parse(&vs).unwrap(), v);
        assert_eq!(vs.parse::<NoteVerifier>().unwrap(), v);
        // Debug never shows the secret.
        assert!(!format!("{s:?}").contains(&sk[sk.rfind('+').unwrap() + 1..]));

        let c = cosigner("witness.example/w1", 9);
        let ck = c.to_signer_key_string();
        assert_eq!(Cosigner::from_signer_key_str(&ck).unwrap().key_hash(), c.key_hash());
        let cv = c.verifier();
        assert_eq!(CosignatureVerifier::parse(&cv.to_string()).unwrap(), cv);
        // Type bytes keep the two kinds apart.
        assert!(NoteVerifier::parse(&cv.to_string()).is_err());
        assert!(CosignatureVerifier::parse(&vs).is_err());
        assert!(NoteSigner::from_signer_key_str(&ck).is_err());
        assert!(Cosigner::from_signer_key_str(&sk).is_err());
        // Same key, different type byte, different key ID.
        let same = cosigner("example.com/log", 7);
        assert_ne!(same.key_hash(), s.key_hash());
    }

    #[test]
    fn bad_key_strings() {
        let v = signer("n", 3).verifier().to_string();
        let (name, rest) = v.split_once('+').unwrap();
        let (hash, key) = rest.split_once('+').unwrap();
        let bad_hash = format!("{name}+{:08x}+{key}", parse_hex_hash(hash).unwrap() ^ 1);
        assert!(matches!(NoteVerifier::parse(&bad_hash), Err(NoteError::KeyHashMismatch { .. })));
        for bad in [
            String::new(),
            "n".to_string(),
            format!("n+{hash}"),
            format!("+{hash}+{key}"),
            format!("n+{}+{key}", &hash[..7]),
            format!("n+{hash}+{}", &key[..key.len() - 1]),
            format!("n+{hash}+{key}="),
            format!("n+{hash}+{}", B64.encode([1u8; 32])),
            format!("n+{hash}+{}", B64.encode([[1u8].as_slice(), &[0u8; 32]].concat())),
        ] {
            assert!(NoteVerifier::parse(&bad).is_err(), "{bad:?}");
        }
        let sk = signer("n", 3).to_signer_key_string();
        let e = NoteSigner::from_signer_key_str(&sk[8..]).unwrap_err();
        assert!(!e.to_string().contains(&sk[20..]));
    }

    #[test]
    fn sign_and_open() {
        let a = signer("a.example/log", 1);
        let b = signer("b.example/log", 2);
        let text = "hello\n\nworld\n";
        let note = sign(text, &[&a, &b]).unwrap();
        let opened = open(&note, &[b.verifier()]).unwrap();
        assert_eq!(opened.text, text);
        assert_eq!(opened.verified, vec!["b.example/log".to_string()]);
        assert_eq!(opened.signatures.len(), 2);
        assert_eq!(opened.unverified(&[b.verifier()]).count(), 1);
        let both = open(&note, &[a.verifier(), b.verifier()]).unwrap();
        assert_eq!(both.verified.len(), 2);

        let c = signer("c.example/log", 3);
        assert!(matches!(open(&note, &[c.verifier()]), Err(NoteError::NoKnownSignature { .. })));
        // Same name, different key: unknown, ignored.
        let a2 = signer("a.example/log", 4);
        assert!(matches!(open(&note, &[a2.verifier()]), Err(NoteError::NoKnownSignature { .. })));
        assert_eq!(open(&note, &[a2.verifier(), a.verifier()]).unwrap().verified.len(), 1);
    }

    #[test]
    fn bad_signature_from_known_key_rejects_note() {
        let a = signer("a", 1);
        let b = signer("b", 2);
        let good = sign("t\n", &[&a]).unwrap();
        // b's line, but relabelled as a's key: known key, bad signature.
        let forged = SignatureLine {
            name: "a".into(),
            key_hash: a.key_hash(),
            sig: SignatureLine::parse(&b.sign_line("t\n")).unwrap().sig,
        };
        let note = add_signature_lines(&good, &[forged.to_line()]).unwrap();
        assert!(matches!(open(&note, &[a.verifier()]), Err(NoteError::InvalidSignature { .. })));
    }

    #[test]
    fn text_rules() {
        let a = signer("a", 1);
        assert!(sign("", &[&a]).is_err());
        assert!(sign("no newline", &[&a]).is_err());
        assert!(sign("tab\there\n", &[&a]).is_err());
        assert!(sign("cr\r\n", &[&a]).is_err());
        assert!(matches!(sign("ok\n", &[]), Err(NoteError::NoSigners)));
        assert!(sign("ünïcode ok\n", &[&a]).is_ok());
    }

    #[test]
    fn malformed_notes() {
        let a = signer("a", 1);
        let note = sign("t\n", &[&a]).unwrap();
        let v = [a.verifier()];
        assert!(open(&note, &v).is_ok());
        let line = a.sign_line("t\n");
        for bad in [
            "t\n".to_string(),
            "t\n\n".to_string(),
            note.trim_end().to_string(),
            format!("t\n{line}"),
            format!("t\n\n{line}\n"),
            note.replace('\u{2014}', "-"),
            note.replace("\u{2014} a ", "\u{2014} a  "),
            note.replace("\u{2014} a ", "\u{2014}  a "),
            format!("t\n\n{}", line.replace('=', "")),
            "t\n\n\u{2014} a AAAA\n".to_string(),
            format!("t\r\n\n{line}"),
        ] {
            assert!(open(&bad, &v).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn signature_limit() {
        let a = signer("a", 1);
        let note = sign("t\n", &[&a]).unwrap();
        let others: Vec<String> = (0..MAX_SIGNATURES - 1)
            .map(|i| SignatureLine { name: format!("w{i}"), key_hash: i as u32, sig: vec![1; 64] }.to_line())
            .collect();
        let full = add_signature_lines(&note, &others).unwrap();
        assert!(open(&full, &[a.verifier()]).is_ok());
        let extra = SignatureLine { name: "one-more".into(), key_hash: 0, sig: vec![1; 64] }.to_line();
        assert!(matches!(
            add_signature_lines(&full, std::slice::from_ref(&extra)),
            Err(NoteError::TooManySignatures { .. })
        ));
        let over = format!("{full}{extra}");
        assert!(matches!(open(&over, &[a.verifier()]), Err(NoteError::TooManySignatures { count: 101, max: 100 })));
    }

    #[test]
    fn cosignatures() {
        let log = signer("example.com/log", 1);
        let text = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let note = sign(text, &[&log]).unwrap();
        let w1 = cosigner("w1.example", 11);
        let w2 = cosigner("w2.example", 12);
        let l1 = w1.cosign(text, 1_679_315_147).unwrap();
        let l2 = w2.cosign(text, 1_700_000_000).unwrap();
        let parsed = SignatureLine::parse(&l1).unwrap();
        assert_eq!(parsed.sig.len(), COSIGNATURE_LEN);
        assert_eq!(&parsed.sig[..8], &1_679_315_147u64.to_be_bytes());
        assert_eq!(w1.verifier().verify(text, &parsed.sig), Ok(1_679_315_147));

        let cosigned = add_signature_lines(&note, &[l1.clone(), l2, l1.clone()]).unwrap();
        assert_eq!(cosigned.matches('\u{2014}').count(), 3);
        let opened = open(&cosigned, &[log.verifier()]).unwrap();
        assert_eq!(opened.verified, vec!["example.com/log".to_string()]);
        let got = opened.verify_cosignatures(&[w2.verifier(), w1.verifier()]).unwrap();
        assert_eq!(got, vec![("w1.example".to_string(), 1_679_315_147), ("w2.example".to_string(), 1_700_000_000)]);
        // The cosignature does not verify over other text or another time.
        assert!(w1.verifier().verify("other\n", &parsed.sig).is_err());
        let mut wrong_time = parsed.sig.clone();
        wrong_time[7] ^= 1;
        assert!(w1.verifier().verify(text, &wrong_time).is_err());
        assert!(matches!(
            w1.verifier().verify(text, &parsed.sig[..71]),
            Err(NoteError::CosignatureLength { got: 71, .. })
        ));
        let mut huge = parsed.sig.clone();
        huge[0] = 0x80;
        assert!(matches!(w1.verifier().verify(text, &huge), Err(NoteError::TimestampOutOfRange(_))));
        assert!(w1.cosign(text, 1 << 63).is_err());
        // A cosignature is not a plain note signature, even with the same key.
        let plain = NoteVerifier::new("w1.example", *w1.verifier().key()).unwrap();
        assert!(matches!(
            open(&add_signature_lines(&note, &[l1]).unwrap(), &[plain]),
            Err(NoteError::NoKnownSignature { .. })
        ));
    }

    #[test]
    fn add_signature_lines_rejects_garbage() {
        let a = signer("a", 1);
        let note = sign("t\n", &[&a]).unwrap();
        assert!(add_signature_lines(&note, &["not a line".into()]).is_err());
        assert!(add_signature_lines(&note, &["\u{2014} a b\nc".into()]).is_err());
        assert_eq!(add_signature_lines(&note, &[]).unwrap(), note);
        let l = a.sign_line("t\n");
        assert_eq!(add_signature_lines(&note, &[l]).unwrap(), note);
    }
}
