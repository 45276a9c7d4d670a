//! The C2SP tlog-witness protocol (<https://c2sp.org/tlog-witness>), without I/O: the
//! `add-checkpoint` request body (both sides: [`AddCheckpoint::parse`] for a witness,
//! [`format_add_checkpoint`] for a log that asks for cosignatures), and the witness's decision
//! ([`decide`]) over one request given the log keys it trusts for the origin and the tree head
//! it holds for that log.
//!
//! A request body is an old size line, up to [`MAX_PROOF_LINES`] consistency proof lines, an
//! empty line, then the signed checkpoint note:
//!
//! ```text
//! old 4
//! <base64 hash>
//! ...
//!
//! example.com/log
//! 7
//! <base64 root>
//!
//! — example.com/log <base64 signature>
//! ```
//!
//! Every refusal is a [`Refusal`] whose variant maps one to one to the HTTP status the
//! specification requires ([`Refusal::status`]). The checks run in the specification's order:
//! syntax (400), origin (404), the log's signature (403), old size above the checkpoint size
//! (400), old size not the held size (409, with the held size), then consistency (422: the empty
//! tree's root at size zero, an empty proof from size zero, the proof itself, equal roots at
//! equal sizes). The witness persists the accepted [`TreeHead`] before it answers with the
//! cosignature ([`Accepted::cosign`]); checking and persisting form one compare-and-swap per
//! origin, which the caller serializes.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::checkpoint::Checkpoint;
use super::merkle::{empty_root, verify_consistency, Hash};
use super::note::{self, Cosigner, NoteError, NoteVerifier, SignatureLine};

/// Most consistency proof lines a request may carry (a client must not send more).
pub const MAX_PROOF_LINES: usize = 63;
/// `Content-Type` of a `409 Conflict` answer, whose body is the held size and a newline.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// The path of the call, after the witness's submission prefix.
pub const ADD_CHECKPOINT_PATH: &str = "/add-checkpoint";

/// The tree head a witness holds for one log: the size and root of the latest checkpoint it
/// cosigned. A log it never cosigned for holds nothing, which counts as size zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
}

/// A parsed `add-checkpoint` request body. Only its syntax has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the client believes the witness holds for the log.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The whole signed checkpoint note, as sent.
    pub note: String,
    /// The note text (without signature lines): what a cosignature signs.
    pub text: String,
    /// The parsed note text.
    pub checkpoint: Checkpoint,
}

/// Why a witness refuses an `add-checkpoint` request; each variant is one HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `400 Bad Request`: the body is not a well-formed request, or its old size is above the
    /// checkpoint's size.
    #[error("malformed add-checkpoint request: {why}")]
    Malformed { why: String },
    /// `404 Not Found`: the witness trusts no key for this origin.
    #[error("unknown log origin {origin:?}: this witness has no key for it")]
    UnknownOrigin { origin: String },
    /// `403 Forbidden`: no trusted key for the origin signed the checkpoint, or a signature by a
    /// trusted key (name and key ID) does not verify.
    #[error("checkpoint of {origin:?} is not signed by a key trusted for it: {reason}")]
    BadSignature { origin: String, reason: NoteError },
    /// `409 Conflict`: the old size is not the size the witness holds (zero when it holds none).
    #[error("old size {old} is not the size {held} this witness holds for {origin:?}")]
    Conflict { origin: String, old: u64, held: u64 },
    /// `422 Unprocessable Entity`: the checkpoint is not consistent with the held tree head.
    #[error("checkpoint of {origin:?} at size {size} is not consistent with size {old}: {why}")]
    Inconsistent { origin: String, old: u64, size: u64, why: String },
}

impl Refusal {
    /// The HTTP status code the specification requires for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed { .. } => 400,
            Refusal::UnknownOrigin { .. } => 404,
            Refusal::BadSignature { .. } => 403,
            Refusal::Conflict { .. } => 409,
            Refusal::Inconsistent { .. } => 422,
        }
    }
}

fn malformed(why: impl Into<String>) -> Refusal {
    Refusal::Malformed { why: why.into() }
}

/// A decimal tree size: digits only, no leading zeros unless it is `0`, at most 2^64 - 1.
pub fn parse_size(s: &str) -> Option<u64> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if ok {
        s.parse().ok()
    } else {
        None
    }
}

/// The body of a `409 Conflict` answer (`<size>\n`), as a client reads it.
pub fn parse_size_body(body: &str) -> Option<u64> {
    body.strip_suffix('\n').and_then(parse_size)
}

/// The body of a `409 Conflict` answer for `held`.
pub fn size_body(held: u64) -> String {
    format!("{held}\n")
}

/// The request body asking a witness to cosign `note` (a signed checkpoint), given the size
/// the witness is believed to hold and the consistency proof from it. The note is sent as is.
pub fn format_add_checkpoint(old_size: u64, proof: &[Hash], note: &str) -> String {
    let mut body = String::with_capacity(16 + proof.len() * 45 + 1 + note.len());
    body.push_str(&format!("old {old_size}\n"));
    for h in proof {
        body.push_str(&B64.encode(h));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

impl AddCheckpoint {
    /// Strictly parse a request body. Every error is [`Refusal::Malformed`].
    pub fn parse(body: &[u8]) -> Result<Self, Refusal> {
        let body = std::str::from_utf8(body).map_err(|e| malformed(format!("body is not UTF-8: {e}")))?;
        let (first, mut rest) = body.split_once('\n').ok_or_else(|| malformed("no old size line"))?;
        let old =
            first.strip_prefix("old ").ok_or_else(|| malformed(format!("first line {first:?} is not `old <size>`")))?;
        let old_size = parse_size(old)
            .ok_or_else(|| malformed(format!("old size {old:?} is not a decimal without leading zeros")))?;
        let mut proof = Vec::new();
        loop {
            let (line, next) = rest.split_once('\n').ok_or_else(|| malformed("no empty line before the checkpoint"))?;
            rest = next;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(malformed(format!("more than {MAX_PROOF_LINES} consistency proof lines")));
            }
            let hash: Hash = B64
                .decode(line)
                .ok()
                .and_then(|raw| raw.try_into().ok())
                .ok_or_else(|| malformed(format!("proof line {line:?} is not the base64 of a 32-byte hash")))?;
            proof.push(hash);
        }
        let note = rest.to_string();
        let (text, _) = note::split(&note).map_err(|e| malformed(format!("checkpoint note: {e}")))?;
        let checkpoint = Checkpoint::parse(&text).map_err(|e| malformed(e.to_string()))?;
        Ok(AddCheckpoint { old_size, proof, note, text, checkpoint })
    }

    /// The origin line of the checkpoint.
    pub fn origin(&self) -> &str {
        &self.checkpoint.origin
    }

    /// The body that [`AddCheckpoint::parse`] reads back as `self`.
    pub fn to_body(&self) -> String {
        format_add_checkpoint(self.old_size, &self.proof, &self.note)
    }
}

/// A checkpoint the witness may cosign, once it has persisted [`Accepted::head`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The tree head to hold for the origin from now on.
    pub head: TreeHead,
    /// The request that was accepted.
    pub request: AddCheckpoint,
    /// The checkpoint's signature lines by the trusted log keys (each verified).
    pub log_signatures: Vec<SignatureLine>,
}

impl Accepted {
    /// The answer's body: this witness's cosignature line (tlog-cosignature v1, type `0x04`)
    /// on the checkpoint at `timestamp` (POSIX seconds), ending in a newline. The specification
    /// forbids a zero timestamp, so zero is refused.
    pub fn cosign(&self, cosigner: &Cosigner, timestamp: u64) -> Result<String, NoteError> {
        if timestamp == 0 {
            return Err(NoteError::TimestampOutOfRange(0));
        }
        cosigner.cosign(&self.request.text, timestamp)
    }

    /// The checkpoint note with the trusted log keys' signatures and `lines` (this witness's
    /// cosignatures, as [`Accepted::cosign`] makes them), and no other signature: what a witness
    /// serves to monitors as the latest checkpoint it cosigned.
    pub fn cosigned_note(&self, lines: &str) -> Result<String, NoteError> {
        let mut note = self.request.text.clone();
        note.push('\n');
        for s in &self.log_signatures {
            note.push_str(&s.to_line());
        }
        for l in lines.lines() {
            note.push_str(&SignatureLine::parse(l)?.to_line());
        }
        note::split(&note)?;
        Ok(note)
    }
}

/// Decide an `add-checkpoint` request. `log_keys` are the keys the witness trusts for the
/// request's origin (empty when the origin is unknown to it), `held` the tree head it holds for
/// that origin. Signatures from other keys are ignored, and the log key's name need not equal
/// the origin (the Go checksum database signs `go.sum database tree` as `sum.golang.org`).
pub fn decide(log_keys: &[NoteVerifier], held: Option<&TreeHead>, req: &AddCheckpoint) -> Result<Accepted, Refusal> {
    let cp = &req.checkpoint;
    let origin = cp.origin.clone();
    if log_keys.is_empty() {
        return Err(Refusal::UnknownOrigin { origin });
    }
    let opened =
        note::open(&req.note, log_keys).map_err(|reason| Refusal::BadSignature { origin: origin.clone(), reason })?;
    let log_signatures: Vec<SignatureLine> = opened
        .signatures
        .into_iter()
        .filter(|s| log_keys.iter().any(|k| k.name() == s.name && k.key_hash() == s.key_hash))
        .collect();
    let old = req.old_size;
    if old > cp.size {
        return Err(malformed(format!("old size {old} is above the checkpoint size {}", cp.size)));
    }
    let held_size = held.map_or(0, |h| h.size);
    if old != held_size {
        return Err(Refusal::Conflict { origin, old, held: held_size });
    }
    let inconsistent = |why: String| Refusal::Inconsistent { origin: origin.clone(), old, size: cp.size, why };
    if cp.size == 0 && cp.root != empty_root() {
        return Err(inconsistent(format!(
            "a checkpoint of size 0 must have the empty tree's root {}, not {}",
            B64.encode(empty_root()),
            B64.encode(cp.root)
        )));
    }
    if old == 0 {
        if !req.proof.is_empty() {
            return Err(inconsistent(format!(
                "the proof from size 0 must be empty, it has {} hashes",
                req.proof.len()
            )));
        }
    } else {
        // `held` is set: its size equals `old`, which is not zero.
        let held_root = held.map_or(empty_root(), |h| h.root);
        verify_consistency(old, cp.size, &held_root, &cp.root, &req.proof).map_err(|e| inconsistent(e.to_string()))?;
    }
    Ok(Accepted { head: TreeHead { size: cp.size, root: cp.root }, request: req.clone(), log_signatures })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::checkpoint::sign_checkpoint;
    use crate::log::merkle::MemTree;
    use crate::log::note::{CosignatureVerifier, NoteSigner};
    use ed25519_dalek::SigningKey;

    const ORIGIN: &str = "example.com/any-log";

    fn log_key() -> NoteSigner {
        NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[7; 32])).unwrap()
    }

    fn tree(n: u64) -> MemTree {
        let mut t = MemTree::new();
        for i in 0..n {
            t.push(format!("leaf {i}").as_bytes());
        }
        t
    }

    fn note_at(t: &MemTree, size: u64, key: &NoteSigner) -> String {
        let cp = Checkpoint { origin: ORIGIN.into(), size, root: t.root_at(size).unwrap(), extensions: vec![] };
        sign_checkpoint(&cp, key).unwrap()
    }

    /// The parsed request from `old` to `new` over the 16-leaf tree, signed by the log key.
    fn request(old: u64, new: u64) -> AddCheckpoint {
        let t = tree(16);
        let proof = if old == 0 { vec![] } else { t.consistency_proof(old, new).unwrap() };
        AddCheckpoint::parse(format_add_checkpoint(old, &proof, &note_at(&t, new, &log_key())).as_bytes()).unwrap()
    }

    fn held(size: u64) -> TreeHead {
        TreeHead { size, root: tree(16).root_at(size).unwrap() }
    }

    fn keys() -> Vec<NoteVerifier> {
        vec![log_key().verifier()]
    }

    #[test]
    fn body_round_trip() {
        let req = request(5, 9);
        assert_eq!(req.old_size, 5);
        assert_eq!(req.proof.len(), tree(16).consistency_proof(5, 9).unwrap().len());
        assert_eq!(req.checkpoint.size, 9);
        assert_eq!(AddCheckpoint::parse(req.to_body().as_bytes()).unwrap(), req);
        assert!(req.to_body().starts_with("old 5\n"));
        let first = request(0, 3);
        assert!(first.to_body().starts_with(&format!("old 0\n\n{ORIGIN}\n3\n")), "{}", first.to_body());
    }

    #[test]
    fn malformed_bodies() {
        let note = note_at(&tree(16), 9, &log_key());
        let hash = B64.encode([3u8; 32]);
        let too_many = format!("old 1\n{}\n{note}", format!("{hash}\n").repeat(MAX_PROOF_LINES + 1));
        for bad in [
            String::new(),
            "old 1".into(),
            format!("old 01\n\n{note}"),
            format!("old -1\n\n{note}"),
            format!("old 18446744073709551616\n\n{note}"),
            format!("Old 1\n\n{note}"),
            format!("old  1\n\n{note}"),
            format!("new 1\n\n{note}"),
            format!("old 1\n{hash}"),
            format!("old 1\n{hash}\n{note}"),
            format!("old 1\n{}\n\n{note}", B64.encode([3u8; 31])),
            format!("old 1\n{}\n\n{note}", hash.trim_end_matches('=')),
            format!("old 1\n\n{}", note.replace("\n\n", "\n")),
            format!("old 1\n\nexample.com/any-log\n9\n\n— {ORIGIN} AAAAAAAA\n"),
            too_many,
        ] {
            let err = AddCheckpoint::parse(bad.as_bytes()).unwrap_err();
            assert!(matches!(err, Refusal::Malformed { .. }), "{bad:?}: {err:?}");
            assert_eq!(err.status(), 400);
        }
        assert!(matches!(AddCheckpoint::parse(b"old 1\n\n\xff\n"), Err(Refusal::Malformed { .. })));
        // Exactly the limit is accepted by the parser.
        let limit = format!("old 1\n{}\n{note}", format!("{hash}\n").repeat(MAX_PROOF_LINES));
        assert_eq!(AddCheckpoint::parse(limit.as_bytes()).unwrap().proof.len(), MAX_PROOF_LINES);
    }

    #[test]
    fn first_checkpoint_then_growth_then_same() {
        let a = decide(&keys(), None, &request(0, 5)).unwrap();
        assert_eq!(a.head, held(5));
        let b = decide(&keys(), Some(&a.head), &request(5, 11)).unwrap();
        assert_eq!(b.head, held(11));
        // The same size again, with the same root and an empty proof.
        let c = decide(&keys(), Some(&b.head), &request(11, 11)).unwrap();
        assert_eq!(c.head, b.head);
        // A power-of-two old size (its root is left out of the proof).
        let d = decide(&keys(), Some(&held(8)), &request(8, 16)).unwrap();
        assert_eq!(d.head, held(16));
    }

    #[test]
    fn the_empty_tree() {
        let empty = MemTree::new();
        let cp = Checkpoint { origin: ORIGIN.into(), size: 0, root: empty_root(), extensions: vec![] };
        let note = sign_checkpoint(&cp, &log_key()).unwrap();
        let req = AddCheckpoint::parse(format_add_checkpoint(0, &[], &note).as_bytes()).unwrap();
        assert_eq!(decide(&keys(), None, &req).unwrap().head, TreeHead { size: 0, root: empty.root() });
        // Size zero with another root.
        let bad = Checkpoint { root: [9; 32], ..cp };
        let note = sign_checkpoint(&bad, &log_key()).unwrap();
        let req = AddCheckpoint::parse(format_add_checkpoint(0, &[], &note).as_bytes()).unwrap();
        let err = decide(&keys(), None, &req).unwrap_err();
        assert!(matches!(err, Refusal::Inconsistent { size: 0, .. }), "{err:?}");
        assert_eq!(err.status(), 422);
    }

    #[test]
    fn unknown_origin() {
        let err = decide(&[], None, &request(0, 5)).unwrap_err();
        assert_eq!(err, Refusal::UnknownOrigin { origin: ORIGIN.into() });
        assert_eq!(err.status(), 404);
    }

    #[test]
    fn bad_signatures() {
        // Signed by another key only.
        let other = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[8; 32])).unwrap();
        let note = note_at(&tree(16), 5, &other);
        let req = AddCheckpoint::parse(format_add_checkpoint(0, &[], &note).as_bytes()).unwrap();
        let err = decide(&keys(), None, &req).unwrap_err();
        assert!(matches!(err, Refusal::BadSignature { reason: NoteError::NoKnownSignature { .. }, .. }), "{err:?}");
        assert_eq!(err.status(), 403);
        // A trusted key's name and ID over another text: the signature does not verify.
        let good = note_at(&tree(16), 5, &log_key());
        let forged = good.replacen("\n5\n", "\n6\n", 1);
        let req = AddCheckpoint::parse(format_add_checkpoint(0, &[], &forged).as_bytes()).unwrap();
        let err = decide(&keys(), None, &req).unwrap_err();
        assert!(matches!(err, Refusal::BadSignature { reason: NoteError::InvalidSignature { .. }, .. }), "{err:?}");
        // Unknown signatures beside a good one are ignored.
        let extra = note::add_signature_lines(&good, &[other.sign_line("x\n")]).unwrap();
        let req = AddCheckpoint::parse(format_add_checkpoint(0, &[], &extra).as_bytes()).unwrap();
        let accepted = decide(&keys(), None, &req).unwrap();
        assert_eq!(accepted.head, held(5));
        // Only the trusted key's signature is kept for the cosigned note.
        assert_eq!(accepted.log_signatures.len(), 1);
        assert_eq!(accepted.log_signatures[0].name, ORIGIN);
    }

    #[test]
    fn log_key_named_other_than_the_origin() {
        // As the Go checksum database: origin `go.sum database tree`, key `sum.golang.org`.
        let key = NoteSigner::new("sum.example.org", SigningKey::from_bytes(&[9; 32])).unwrap();
        let t = tree(3);
        let cp = Checkpoint { origin: "go.sum database tree".into(), size: 3, root: t.root(), extensions: vec![] };
        let note = sign_checkpoint(&cp, &key).unwrap();
        let req = AddCheckpoint::parse(format_add_checkpoint(0, &[], &note).as_bytes()).unwrap();
        assert_eq!(req.origin(), "go.sum database tree");
        assert_eq!(decide(&[key.verifier()], None, &req).unwrap().head.size, 3);
    }

    #[test]
    fn old_size_above_the_checkpoint() {
        let t = tree(16);
        let req = AddCheckpoint::parse(format_add_checkpoint(9, &[], &note_at(&t, 5, &log_key())).as_bytes()).unwrap();
        let err = decide(&keys(), Some(&held(9)), &req).unwrap_err();
        assert!(matches!(err, Refusal::Malformed { .. }), "{err:?}");
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn conflicts_name_the_held_size() {
        let err = decide(&keys(), Some(&held(7)), &request(5, 11)).unwrap_err();
        assert_eq!(err, Refusal::Conflict { origin: ORIGIN.into(), old: 5, held: 7 });
        assert_eq!(err.status(), 409);
        // Nothing held counts as zero.
        let err = decide(&keys(), None, &request(5, 11)).unwrap_err();
        assert_eq!(err, Refusal::Conflict { origin: ORIGIN.into(), old: 5, held: 0 });
        // An old size of zero when a tree head is held.
        let err = decide(&keys(), Some(&held(7)), &request(0, 11)).unwrap_err();
        assert_eq!(err, Refusal::Conflict { origin: ORIGIN.into(), old: 0, held: 7 });
        assert_eq!(parse_size_body(&size_body(7)), Some(7));
        assert_eq!(parse_size_body("07\n"), None);
        assert_eq!(parse_size_body("7"), None);
    }

    #[test]
    fn inconsistent_checkpoints() {
        let t = tree(16);
        let note = note_at(&t, 11, &log_key());
        // A proof that does not verify: one hash changed.
        let mut proof = t.consistency_proof(5, 11).unwrap();
        proof[0][0] ^= 1;
        let req = AddCheckpoint::parse(format_add_checkpoint(5, &proof, &note).as_bytes()).unwrap();
        let err = decide(&keys(), Some(&held(5)), &req).unwrap_err();
        assert!(matches!(err, Refusal::Inconsistent { old: 5, size: 11, .. }), "{err:?}");
        assert_eq!(err.status(), 422);
        // The right proof against another held root (a fork).
        let fork = TreeHead { size: 5, root: [1; 32] };
        let err = decide(&keys(), Some(&fork), &request(5, 11)).unwrap_err();
        assert!(matches!(err, Refusal::Inconsistent { .. }), "{err:?}");
        // A proof from size zero.
        let req = AddCheckpoint::parse(format_add_checkpoint(0, &[[0; 32]], &note).as_bytes()).unwrap();
        assert!(matches!(decide(&keys(), None, &req), Err(Refusal::Inconsistent { old: 0, .. })));
        // The same size with another root.
        let other = Checkpoint { origin: ORIGIN.into(), size: 11, root: [2; 32], extensions: vec![] };
        let note = sign_checkpoint(&other, &log_key()).unwrap();
        let req = AddCheckpoint::parse(format_add_checkpoint(11, &[], &note).as_bytes()).unwrap();
        let err = decide(&keys(), Some(&held(11)), &req).unwrap_err();
        assert!(matches!(err, Refusal::Inconsistent { old: 11, size: 11, .. }), "{err:?}");
        // The same size and root with a proof that should be empty.
        let req = AddCheckpoint::parse(format_add_checkpoint(11, &[[0; 32]], &note_at(&t, 11, &log_key())).as_bytes())
            .unwrap();
        assert!(matches!(decide(&keys(), Some(&held(11)), &req), Err(Refusal::Inconsistent { .. })));
    }

    #[test]
    fn the_cosignature_verifies_over_the_checkpoint() {
        let witness = Cosigner::new("witness.example/w1", SigningKey::from_bytes(&[11; 32])).unwrap();
        let a = decide(&keys(), None, &request(0, 5)).unwrap();
        let line = a.cosign(&witness, 1_800_000_000).unwrap();
        assert!(line.starts_with("\u{2014} witness.example/w1 ") && line.ends_with('\n'), "{line}");
        let cosigned = a.cosigned_note(&line).unwrap();
        assert_eq!(cosigned, format!("{}\n{}{line}", a.request.text, log_key().sign_line(&a.request.text)));
        let opened = note::open(&cosigned, &keys()).unwrap();
        let verifier = CosignatureVerifier::parse(&witness.verifier().to_string()).unwrap();
        assert_eq!(
            opened.verify_cosignatures(&[verifier]).unwrap(),
            vec![("witness.example/w1".to_string(), 1_800_000_000)]
        );
        assert!(a.cosign(&witness, 0).is_err(), "a zero timestamp is refused");
    }

    #[test]
    fn extension_lines_are_cosigned() {
        let t = tree(4);
        let cp = Checkpoint { origin: ORIGIN.into(), size: 4, root: t.root(), extensions: vec!["ext one".into()] };
        let note = sign_checkpoint(&cp, &log_key()).unwrap();
        let req = AddCheckpoint::parse(format_add_checkpoint(0, &[], &note).as_bytes()).unwrap();
        assert_eq!(req.text, cp.to_text());
        assert_eq!(decide(&keys(), None, &req).unwrap().request.text, cp.to_text());
    }
}
