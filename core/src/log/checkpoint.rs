//! C2SP tlog-checkpoint bodies (<https://c2sp.org/tlog-checkpoint>):
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeros>
//! <root hash, standard base64 of 32 bytes>
//! [extension lines, each non-empty]
//! ```
//!
//! A checkpoint is signed as a note ([`super::note`]) by the log, whose key
//! name is the origin; witnesses add cosignature lines to it.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::merkle::Hash;
use super::note::{self, NoteError, NoteSigner, NoteVerifier, OpenedNote};

/// A log checkpoint: the tree head at a given size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Optional extension lines (without newlines), each non-empty.
    pub extensions: Vec<String>,
}

/// Errors from checkpoint parsing, signing and opening.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    #[error("malformed checkpoint tree size {0:?}: must be decimal without leading zeros, at most 2^64 - 1")]
    BadSize(String),
    #[error("malformed checkpoint root hash {0:?}: must be standard base64 of 32 bytes")]
    BadRoot(String),
    #[error("checkpoint origin {origin:?} does not match the log key name {key_name:?}")]
    OriginMismatch { origin: String, key_name: String },
    #[error(transparent)]
    Note(#[from] NoteError),
}

fn malformed(reason: impl Into<String>) -> CheckpointError {
    CheckpointError::Malformed(reason.into())
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c < ' ')
}

impl Checkpoint {
    /// Check the fields can be written as a checkpoint that [`Checkpoint::parse`]
    /// reads back unchanged: a non-empty origin and extension lines, none with
    /// control characters (including newlines).
    pub fn validate(&self) -> Result<(), CheckpointError> {
        if self.origin.is_empty() {
            return Err(malformed("empty origin"));
        }
        if has_control(&self.origin) {
            return Err(malformed(format!("origin {:?} contains a control character", self.origin)));
        }
        for (i, e) in self.extensions.iter().enumerate() {
            if e.is_empty() {
                return Err(malformed(format!("extension line {} is empty", i + 1)));
            }
            if has_control(e) {
                return Err(malformed(format!("extension line {e:?} contains a control character")));
            }
        }
        Ok(())
    }

    /// The note text: origin, size, base64 root and extension lines, each
    /// followed by a newline. Call [`Checkpoint::validate`] first for
    /// untrusted fields.
    pub fn to_text(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root));
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Strictly parse a checkpoint note text (without signatures).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or_else(|| malformed("text does not end with a newline"))?;
        if let Some((i, c)) = body.char_indices().find(|(_, c)| *c < ' ' && *c != '\n') {
            return Err(malformed(format!("control character U+{:04X} at byte {i}", u32::from(c))));
        }
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let (Some(size), Some(root)) = (lines.next(), lines.next()) else {
            return Err(malformed("fewer than three lines"));
        };
        if origin.is_empty() {
            return Err(malformed("empty origin"));
        }
        let size = parse_size(size)?;
        let root = parse_root(root)?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if let Some(i) = extensions.iter().position(String::is_empty) {
            return Err(malformed(format!("extension line {} is empty", i + 1)));
        }
        Ok(Checkpoint { origin: origin.to_string(), size, root, extensions })
    }
}

fn parse_size(s: &str) -> Result<u64, CheckpointError> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !ok {
        return Err(CheckpointError::BadSize(s.to_string()));
    }
    s.parse::<u64>().map_err(|_| CheckpointError::BadSize(s.to_string()))
}

fn parse_root(s: &str) -> Result<Hash, CheckpointError> {
    let raw = B64.decode(s).map_err(|_| CheckpointError::BadRoot(s.to_string()))?;
    raw.try_into().map_err(|_| CheckpointError::BadRoot(s.to_string()))
}

/// Sign a checkpoint with the log key, returning the signed note.
pub fn sign_checkpoint(cp: &Checkpoint, signer: &NoteSigner) -> Result<String, CheckpointError> {
    cp.validate()?;
    Ok(note::sign(&cp.to_text(), &[signer])?)
}

/// Open a signed checkpoint: the log key's signature must verify (other
/// signatures, such as witness cosignatures, are kept unverified in the
/// returned [`OpenedNote`]), the text must parse strictly, and its origin must
/// equal the log key's name.
pub fn open_checkpoint(note: &str, log_key: &NoteVerifier) -> Result<(Checkpoint, OpenedNote), CheckpointError> {
    let opened = note::open(note, std::slice::from_ref(log_key))?;
    let cp = Checkpoint::parse(&opened.text)?;
    if cp.origin != log_key.name() {
        return Err(CheckpointError::OriginMismatch { origin: cp.origin, key_name: log_key.name().to_string() });
    }
    Ok((cp, opened))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::note::{Cosigner, SignatureLine};
    use ed25519_dalek::SigningKey;

    fn cp() -> Checkpoint {
        Checkpoint { origin: "example.com/log".into(), size: 20_852_163, root: [0x0a; 32], extensions: vec![] }
    }

    #[test]
    fn text_round_trip() {
        let c = cp();
        let t = c.to_text();
        assert_eq!(t, "example.com/log\n20852163\nCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo=\n");
        assert_eq!(Checkpoint::parse(&t).unwrap(), c);
        let mut e = c.clone();
        e.extensions = vec!["ext one".into(), "two".into()];
        e.size = 0;
        assert_eq!(Checkpoint::parse(&e.to_text()).unwrap(), e);
        e.size = u64::MAX;
        assert_eq!(Checkpoint::parse(&e.to_text()).unwrap(), e);
    }

    #[test]
    fn strict_parse() {
        let root = B64.encode([1u8; 32]);
        let ok = format!("o\n5\n{root}\n");
        assert!(Checkpoint::parse(&ok).is_ok());
        for bad in [
            String::new(),
            "\n".into(),
            format!("o\n5\n{root}"),
            format!("\n5\n{root}\n"),
            "o\n5\n".into(),
            format!("o\n05\n{root}\n"),
            format!("o\n00\n{root}\n"),
            format!("o\n+5\n{root}\n"),
            format!("o\n-5\n{root}\n"),
            format!("o\n 5\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("o\n5\n{}\n", B64.encode([1u8; 31])),
            format!("o\n5\n{}\n", B64.encode([1u8; 33])),
            format!("o\n5\n{}\n", root.trim_end_matches('=')),
            format!("o\n5\n{}\n", root.replace('B', "-")),
            format!("o\n5\n{root} \n"),
            format!("o\n5\n{root}\n\n"),
            format!("o\n5\n{root}\next\n\nmore\n"),
            format!("o\r\n5\n{root}\n"),
            format!("o\n5\n{root}\next\t\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        assert!(Checkpoint::parse(&format!("o\n0\n{root}\n")).is_ok());
    }

    #[test]
    fn sign_and_open() {
        let signer = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[5; 32])).unwrap();
        let c = cp();
        let note = sign_checkpoint(&c, &signer).unwrap();
        let (got, opened) = open_checkpoint(&note, &signer.verifier()).unwrap();
        assert_eq!(got, c);
        assert_eq!(opened.verified, vec!["example.com/log".to_string()]);

        // Origin must be the key name.
        let other = NoteSigner::new("other.example/log", SigningKey::from_bytes(&[5; 32])).unwrap();
        let note2 = sign_checkpoint(&c, &other).unwrap();
        assert!(matches!(open_checkpoint(&note2, &other.verifier()), Err(CheckpointError::OriginMismatch { .. })));
        // Wrong key.
        assert!(matches!(
            open_checkpoint(&note2, &signer.verifier()),
            Err(CheckpointError::Note(NoteError::NoKnownSignature { .. }))
        ));
        // Invalid fields are refused before signing.
        let mut bad = c.clone();
        bad.origin = "a\nb".into();
        assert!(sign_checkpoint(&bad, &signer).is_err());
        bad = c.clone();
        bad.extensions = vec![String::new()];
        assert!(sign_checkpoint(&bad, &signer).is_err());
    }

    #[test]
    fn cosigned_checkpoint() {
        let signer = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[5; 32])).unwrap();
        let witness = Cosigner::new("witness.example/w", SigningKey::from_bytes(&[6; 32])).unwrap();
        let c = cp();
        let note = sign_checkpoint(&c, &signer).unwrap();
        let line = witness.cosign(&c.to_text(), 1_700_000_000).unwrap();
        let cosigned = note::add_signature_lines(&note, std::slice::from_ref(&line)).unwrap();
        let (got, opened) = open_checkpoint(&cosigned, &signer.verifier()).unwrap();
        assert_eq!(got, c);
        assert_eq!(
            opened.verify_cosignatures(&[witness.verifier()]).unwrap(),
            vec![("witness.example/w".to_string(), 1_700_000_000)]
        );
        // A cosignature over a different checkpoint fails.
        let mut c2 = c.clone();
        c2.size += 1;
        let wrong = SignatureLine::parse(&witness.cosign(&c2.to_text(), 1_700_000_000).unwrap()).unwrap();
        let tampered = note::add_signature_lines(&note, &[wrong.to_line()]).unwrap();
        let (_, opened) = open_checkpoint(&tampered, &signer.verifier()).unwrap();
        assert!(opened.verify_cosignatures(&[witness.verifier()]).is_err());
    }
}
