//! Signed statements: the ledger vouches for a statement so it can be handed on.
//!
//! A statement is put in an envelope and written as canonical JSON (serde_json, compact, fields
//! in a fixed order, one line):
//!
//! ```text
//! {"format":"greenledger-statement/v1","kind":"consumption"|"park"|"cancellation",
//!  "ledger":"<ledger name>","checkpoint":{"size":N,"root":"<base64>"},
//!  "claims":[{"claim":7,"entry":123,"account":"<hex>","counted_wh":1000000}, ...],
//!  "statement":{...}}
//! ```
//!
//! `checkpoint` is the tree size and root of the ledger state the statement was computed at: the
//! records were read while that head was the committed one and nothing else was being written.
//! `claims` lists every claim of the statement by id, by the index of its retirement entry and
//! by its claimant (the statement's own claim lines add the serial numbers), so a claim proof
//! bundle (`greenledger verify`, whose `claim_entry` is that index) can be matched against it. A claim listed in a
//! statement without counting there (made for another account, or in another period) is listed
//! with `counted_wh` 0; a cancellation certificate counts each claim's whole energy.
//!
//! The JSON text followed by a newline is signed as a C2SP signed note with the ledger's log key
//! (the checkpoint key). The text starts with `{"format":`, so it can never be taken for a
//! checkpoint (whose first line is the ledger name), and a checkpoint never opens as a statement.

use super::cancellation::Certificate;
use super::hourly::Statement;
use super::park::ParkStatement;
use super::AccountingError;
use crate::log::merkle::Hash;
use crate::log::note::{self, NoteError, NoteSigner, NoteVerifier};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The `format` of signed statements.
pub const FORMAT: &str = "greenledger-statement/v1";

/// Why a statement could not be made, signed or opened.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error(transparent)]
    Accounting(#[from] AccountingError),
    #[error("signature: {0}")]
    Note(NoteError),
    #[error("not a signed statement: {0}")]
    Format(String),
}

// Not `#[from]`: that would make the note error the source too, and print it twice in chains.
impl From<NoteError> for StatementError {
    fn from(e: NoteError) -> Self {
        StatementError::Note(e)
    }
}

/// The ledger state a statement was computed at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct At {
    /// Tree size of the checkpoint.
    pub size: u64,
    /// Root hash of the checkpoint, base64 (as in the checkpoint note).
    pub root: String,
}

impl At {
    pub fn new(size: u64, root: &Hash) -> At {
        At { size, root: B64.encode(root) }
    }
}

/// A claim of the statement: its id and the index of its retirement entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRef {
    pub claim: u64,
    /// Log index of the retirement entry (`claim_entry` of the claim's proof bundle).
    pub entry: u64,
    /// The claimant, hex.
    pub account: String,
    /// Wh of the claim counted in the statement.
    pub counted_wh: u64,
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    format: &'static str,
    kind: &'static str,
    ledger: &'a str,
    checkpoint: &'a At,
    claims: Vec<ClaimRef>,
    statement: &'a T,
}

fn claim_refs<'a>(statements: impl IntoIterator<Item = &'a Statement>) -> Vec<ClaimRef> {
    let mut out: Vec<ClaimRef> = statements
        .into_iter()
        .flat_map(|s| {
            s.claims.iter().map(|c| ClaimRef {
                claim: c.claim,
                entry: c.entry,
                account: if c.claimant.is_empty() { s.account.clone() } else { c.claimant.clone() },
                counted_wh: c.counted_wh,
            })
        })
        .collect();
    out.sort_by_key(|c| c.claim);
    // A claim made by one member for another is listed in both statements: once here, with
    // what it counts.
    out.dedup_by(|later, first| {
        let same = later.claim == first.claim;
        if same {
            first.counted_wh = first.counted_wh.saturating_add(later.counted_wh);
        }
        same
    });
    out
}

fn to_json<T: Serialize>(e: &Envelope<'_, T>) -> String {
    // Serializing plain structs of strings and integers cannot fail.
    serde_json::to_string(e).expect("statement serializes")
}

/// The canonical JSON of a consumption statement computed at `at` on ledger `ledger`.
pub fn consumption_json(ledger: &str, at: &At, s: &Statement) -> String {
    to_json(&Envelope {
        format: FORMAT,
        kind: "consumption",
        ledger,
        checkpoint: at,
        claims: claim_refs([s]),
        statement: s,
    })
}

/// The canonical JSON of a park statement; `members` are the member statements it adds up
/// (their claims are listed).
pub fn park_json(ledger: &str, at: &At, p: &ParkStatement, members: &[Statement]) -> String {
    to_json(&Envelope {
        format: FORMAT,
        kind: "park",
        ledger,
        checkpoint: at,
        claims: claim_refs(members),
        statement: p,
    })
}

/// The canonical JSON of a cancellation certificate; each claim counts with its whole energy.
pub fn cancellation_json(ledger: &str, at: &At, c: &Certificate) -> String {
    let claims = c
        .claims
        .iter()
        .map(|l| ClaimRef { claim: l.claim, entry: l.entry, account: l.claimant.clone(), counted_wh: l.energy_wh })
        .collect();
    to_json(&Envelope { format: FORMAT, kind: "cancellation", ledger, checkpoint: at, claims, statement: c })
}

/// The `statement` inside a statement's canonical JSON: a [`Statement`] for kind `consumption`,
/// a [`ParkStatement`] for kind `park`, a [`Certificate`] for kind `cancellation`.
pub fn inner<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, StatementError> {
    #[derive(Deserialize)]
    struct Envelope<T> {
        statement: T,
    }
    let e: Envelope<T> = serde_json::from_str(json)
        .map_err(|e| StatementError::Format(format!("the statement JSON does not have the expected form: {e}")))?;
    Ok(e.statement)
}

/// The note text of a statement: the JSON on one line, then a newline.
pub fn statement_text(json: &str) -> Result<String, StatementError> {
    let json = json.strip_suffix('\n').unwrap_or(json);
    if json.contains('\n') {
        return Err(StatementError::Format("the statement JSON must be on one line (compact)".into()));
    }
    let text = format!("{json}\n");
    note::check_text(&text)?;
    Ok(text)
}

/// Signs the statement `json` with `signer` (the ledger's log key): a C2SP signed note.
pub fn sign_statement(json: &str, signer: &NoteSigner) -> Result<String, StatementError> {
    Ok(note::sign(&statement_text(json)?, &[signer])?)
}

/// Checks the signature of a signed statement with the ledger's log key and returns its JSON.
/// Fails when the signature does not verify, when the note is not a statement of
/// [`FORMAT`], or when the statement names another ledger than the key.
pub fn open_statement(note: &str, verifier: &NoteVerifier) -> Result<serde_json::Value, StatementError> {
    let opened = note::open(note, std::slice::from_ref(verifier))?;
    let line = opened.text.strip_suffix('\n').unwrap_or(&opened.text);
    if line.contains('\n') {
        return Err(StatementError::Format("the signed text is more than one line of JSON".into()));
    }
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| StatementError::Format(format!("the signed text is not JSON: {e}")))?;
    match v.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT) => {}
        Some(other) => return Err(StatementError::Format(format!("format {other:?}, expected {FORMAT:?}"))),
        None => return Err(StatementError::Format(format!("no \"format\" field (expected {FORMAT:?})"))),
    }
    match v.get("ledger").and_then(|l| l.as_str()) {
        Some(name) if name == verifier.name() => {}
        Some(name) => {
            return Err(StatementError::Format(format!(
                "the statement names ledger {name:?} but the key is that of {:?}",
                verifier.name()
            )))
        }
        None => return Err(StatementError::Format("no \"ledger\" field".into())),
    }
    Ok(v)
}

/// A statement as canonical JSON and as a signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    pub json: String,
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> NoteSigner {
        NoteSigner::new("example.org/ledger", ed25519_dalek::SigningKey::from_bytes(&[7; 32])).unwrap()
    }

    #[test]
    fn a_statement_opens_with_its_key_only() {
        let s = signer();
        let json = r#"{"format":"greenledger-statement/v1","kind":"park","ledger":"example.org/ledger"}"#;
        let note = sign_statement(json, &s).unwrap();
        assert!(note.starts_with(&format!("{json}\n\n\u{2014} example.org/ledger ")));
        assert_eq!(open_statement(&note, &s.verifier()).unwrap()["kind"], "park");
        let other = NoteSigner::new("example.org/ledger", ed25519_dalek::SigningKey::from_bytes(&[8; 32])).unwrap();
        assert!(open_statement(&note, &other.verifier()).is_err());
    }

    #[test]
    fn only_statements_of_this_format_and_ledger_open() {
        let s = signer();
        for bad in [
            r#"{"format":"greenledger-statement/v2","ledger":"example.org/ledger"}"#,
            r#"{"ledger":"example.org/ledger"}"#,
            r#"{"format":"greenledger-statement/v1","ledger":"elsewhere"}"#,
            "example.org/ledger",
        ] {
            let note = note::sign(&format!("{bad}\n"), &[&s]).unwrap();
            assert!(matches!(open_statement(&note, &s.verifier()), Err(StatementError::Format(_))), "{bad}");
        }
        assert!(sign_statement("{\n}", &s).is_err());
    }
}
