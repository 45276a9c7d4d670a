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

mod cosign;
mod keys;

pub use cosign::{cosignature_message, CosignatureVerifier, Cosigner};
pub use keys::{NoteSigner, NoteVerifier};

#[cfg(test)]
mod tests;
