//! The log side of C2SP tlog-witness (<https://c2sp.org/tlog-witness>): pushing each published
//! checkpoint to a witness's `add-checkpoint` and keeping the cosignature it returns.
//!
//! One task per witness follows the published checkpoints. For the newest one it sends
//!
//! ```text
//! POST <url>/add-checkpoint
//!
//! old <the size the witness last acknowledged, 0 if unknown>
//! <consistency proof from that size to the checkpoint's, one base64 hash a line>
//!
//! <the checkpoint note, as the log signed it>
//! ```
//!
//! and reads the answer:
//!
//! - `200`: one or more signature lines. Lines of other keys are ignored; the line of the
//!   configured witness key must verify as a tlog-cosignature v1 (type `0x04`) over the
//!   checkpoint text with a non-zero timestamp. It is then stored with the checkpoint, and the
//!   checkpoint's size becomes the size the witness acknowledged.
//! - `409 Conflict`: the body (`Content-Type: text/x.tlog.size`) is the size the witness holds.
//!   It is recorded, and the push is retried once, with a proof from that size. A witness that
//!   holds a size above the checkpoint's is left until the log grows past it.
//! - `403`: the witness does not accept the log key; `404`: it does not know the origin; `422`:
//!   it says the consistency proof is wrong (it holds another history: a possible fork). Each is
//!   logged at error level with its meaning.
//! - anything else, or no answer within the timeout: logged, and retried after a backoff
//!   (doubling from [`FIRST_BACKOFF`] up to [`MAX_BACKOFF`]) or at the next publish, whichever
//!   comes later. Refusals back off the same way.
//!
//! A witness that is slow never delays another or the ledger: each has its own task, and a task
//! always pushes the newest published checkpoint, skipping those published while it waited.

use super::{LogSource, Published};
use greenledger_core::log::witness::{format_add_checkpoint, parse_size_body, ADD_CHECKPOINT_PATH, SIZE_CONTENT_TYPE};
use greenledger_core::log::{split, CosignatureVerifier, SignatureLine};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// First wait before retrying a witness that failed.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait before retrying a witness that keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// A witness the log asks for cosignatures: its submission prefix and its cosignature verifier
/// key. Written `URL=KEY` on the command line (`serve --witness`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessEndpoint {
    /// The submission prefix, without a trailing `/`; the call goes to `<url>/add-checkpoint`.
    pub url: String,
    pub key: CosignatureVerifier,
}

impl std::str::FromStr for WitnessEndpoint {
    type Err = String;

    /// `URL=KEY`, KEY a cosignature verifier key `name+hash+base64` of type `0x04`. The URL may
    /// itself hold `=`: the split is at the first `=` after which a valid key follows.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut last_error = None;
        for (i, _) in s.match_indices('=') {
            let (url, key) = (&s[..i], &s[i + 1..]);
            match CosignatureVerifier::parse(key.trim()) {
                Ok(key) => {
                    let url = url.trim().trim_end_matches('/').to_string();
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(format!("witness {s:?}: the URL {url:?} is not http:// or https://"));
                    }
                    return Ok(WitnessEndpoint { url, key });
                }
                Err(e) => last_error = Some(e.to_string()),
            }
        }
        Err(match last_error {
            Some(e) => format!("witness {s:?} is not URL=KEY with a cosignature verifier key: {e}"),
            None => format!("witness {s:?} is not URL=KEY"),
        })
    }
}

impl std::fmt::Display for WitnessEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.url, self.key)
    }
}

/// How one push ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// `409`: the witness holds another size.
    #[error("the witness holds size {held}, not {sent}")]
    Conflict { sent: u64, held: u64 },
    /// `403`.
    #[error("403: the witness does not accept this log's key (no trusted signature on the checkpoint): {body}")]
    Forbidden { body: String },
    /// `404`.
    #[error("404: the witness does not know this log's origin: {body}")]
    UnknownOrigin { body: String },
    /// `422`.
    #[error(
        "422: the witness says the consistency proof from size {old} to {size} is wrong: it holds another history of this log (possible fork): {body}"
    )]
    Inconsistent { old: u64, size: u64, body: String },
    /// Any other status.
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    /// No answer: connection, timeout.
    #[error("no answer: {0}")]
    Transport(String),
    /// A `200` whose body holds no valid cosignature of the configured key, or a `409` whose
    /// body is no size.
    #[error("unusable answer: {0}")]
    BadAnswer(String),
    /// The ledger could not give the proof, or the state could not be written.
    #[error("{0}")]
    Local(String),
}

/// A verified cosignature from a `200` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    pub line: SignatureLine,
    pub timestamp: u64,
}

/// The cosignature of `key` in a `200` body over the checkpoint `note`. Lines of other keys are
/// ignored; the key's line must verify with a non-zero timestamp.
pub fn read_cosignature(body: &str, key: &CosignatureVerifier, note: &str) -> Result<Cosigned, PushError> {
    let (text, _) = split(note).map_err(|e| PushError::Local(format!("the published note: {e}")))?;
    if body.is_empty() || !body.ends_with('\n') {
        return Err(PushError::BadAnswer("the body is not signature lines ending in a newline".into()));
    }
    let mut why = format!("no line of {} (key ID {:08x})", key.name(), key.key_hash());
    for l in body.lines() {
        let line = SignatureLine::parse(l).map_err(|e| PushError::BadAnswer(e.to_string()))?;
        if line.name != key.name() || line.key_hash != key.key_hash() {
            continue;
        }
        match key.verify(&text, &line.sig) {
            Ok(0) => why = "the cosignature's timestamp is zero, which tlog-witness forbids".into(),
            Ok(timestamp) => return Ok(Cosigned { line, timestamp }),
            Err(e) => why = format!("the cosignature does not verify over the checkpoint: {e}"),
        }
    }
    Err(PushError::BadAnswer(why))
}

/// One `add-checkpoint` call: asks `witness` to cosign `note` (of `size`), given that it holds
/// `old`.
pub async fn add_checkpoint(
    client: &reqwest::Client,
    witness: &WitnessEndpoint,
    log: &dyn LogSource,
    old: u64,
    size: u64,
    note: &str,
) -> Result<Cosigned, PushError> {
    let proof = if old == 0 || old == size {
        Vec::new()
    } else {
        log.consistency_proof(old, size).map_err(PushError::Local)?
    };
    let body = format_add_checkpoint(old, &proof, note);
    let url = format!("{}{ADD_CHECKPOINT_PATH}", witness.url);
    let response = client.post(&url).body(body).send().await.map_err(|e| PushError::Transport(e.to_string()))?;
    let status = response.status().as_u16();
    let content_type =
        response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let text = response.text().await.map_err(|e| PushError::Transport(e.to_string()))?;
    let short = || text.trim().chars().take(300).collect::<String>();
    match status {
        200 => read_cosignature(&text, &witness.key, note),
        409 => {
            let held = parse_size_body(&text)
                .ok_or_else(|| PushError::BadAnswer(format!("409 whose body {:?} is not a tree size", short())))?;
            if content_type.as_deref().and_then(|c| c.split(';').next()).map(str::trim) != Some(SIZE_CONTENT_TYPE) {
                tracing::debug!(witness = %witness.key.name(), ?content_type, "409 without Content-Type {SIZE_CONTENT_TYPE}");
            }
            Err(PushError::Conflict { sent: old, held })
        }
        403 => Err(PushError::Forbidden { body: short() }),
        404 => Err(PushError::UnknownOrigin { body: short() }),
        422 => Err(PushError::Inconsistent { old, size, body: short() }),
        _ => Err(PushError::Status { status, body: short() }),
    }
}

/// Follows the published checkpoints for one witness until `stop` turns true.
pub(super) async fn follow(
    witness: WitnessEndpoint,
    log: Arc<dyn LogSource>,
    published: Published,
    client: reqwest::Client,
    mut changed: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let name = witness.key.name().to_string();
    let id = witness.key.to_string();
    // The size of the checkpoint this task is done with (cosigned, or refused and backed off).
    let mut done: Option<u64> = None;
    let mut backoff = FIRST_BACKOFF;
    let mut retry_at: Option<tokio::time::Instant> = None;
    changed.mark_changed();
    loop {
        let retry = async move {
            match retry_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = changed.changed() => if r.is_err() { return },
            _ = retry => { retry_at = None; done = None; }
            _ = stop.wait_for(|s| *s) => return,
        }
        if retry_at.is_some_and(|at| at > tokio::time::Instant::now()) {
            continue;
        }
        let p = published.clone();
        let latest = match tokio::task::spawn_blocking(move || p.latest_checkpoint()).await {
            Ok(Ok(Some(latest))) => latest,
            Ok(Ok(None)) => continue,
            Ok(Err(e)) => {
                tracing::error!(witness = %name, error = %e, "cannot read the published checkpoint");
                continue;
            }
            Err(_) => return,
        };
        if done == Some(latest.size) {
            continue;
        }
        let p = published.clone();
        let key = id.clone();
        let mut old = match tokio::task::spawn_blocking(move || p.acknowledged(&key)).await {
            Ok(Ok(old)) => old.unwrap_or(0),
            Ok(Err(e)) => {
                tracing::error!(witness = %name, error = %e, "cannot read the size the witness acknowledged");
                0
            }
            Err(_) => return,
        };
        let mut outcome = Err(PushError::Local("not pushed".into()));
        for attempt in 0..2 {
            if old > latest.size {
                outcome = Err(PushError::Conflict { sent: latest.size, held: old });
                break;
            }
            outcome = add_checkpoint(&client, &witness, &*log, old, latest.size, &latest.note).await;
            match &outcome {
                Err(PushError::Conflict { held, .. }) => {
                    tracing::info!(witness = %name, sent = old, held, size = latest.size, attempt, "409: the witness holds another size; retrying from it");
                    record_acknowledged(&published, &id, *held).await;
                    old = *held;
                }
                _ => break,
            }
        }
        match outcome {
            Ok(cosigned) => {
                let p = published.clone();
                let (key, size) = (witness.key.clone(), latest.size);
                let stored =
                    tokio::task::spawn_blocking(move || p.add_cosignature_at(size, &key, &cosigned.line)).await;
                match stored {
                    Ok(Ok(())) => {
                        tracing::info!(witness = %name, size, timestamp = cosigned.timestamp, "witness cosigned");
                        record_acknowledged(&published, &id, size).await;
                    }
                    Ok(Err(e)) => tracing::warn!(witness = %name, size, error = %e, "the cosignature was not kept"),
                    Err(_) => return,
                }
                done = Some(latest.size);
                backoff = FIRST_BACKOFF;
            }
            Err(PushError::Conflict { held, .. }) if held > latest.size => {
                tracing::warn!(witness = %name, held, size = latest.size, "the witness holds a checkpoint larger than the latest published one; waiting for the log to grow past it");
                done = Some(latest.size);
            }
            Err(e) => {
                match &e {
                    PushError::Forbidden { .. } | PushError::UnknownOrigin { .. } | PushError::Inconsistent { .. } => {
                        tracing::error!(witness = %name, url = %witness.url, size = latest.size, error = %e, "witness refused the checkpoint")
                    }
                    _ => {
                        tracing::warn!(witness = %name, url = %witness.url, size = latest.size, error = %e, retry_in = ?backoff, "witness push failed")
                    }
                }
                done = Some(latest.size);
                retry_at = Some(tokio::time::Instant::now() + backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn record_acknowledged(published: &Published, witness: &str, size: u64) {
    let (p, w) = (published.clone(), witness.to_string());
    match tokio::task::spawn_blocking(move || p.set_acknowledged(&w, size)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(witness, size, error = %e, "cannot record the size the witness acknowledged"),
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenledger_core::log::Cosigner;

    fn witness() -> Cosigner {
        Cosigner::new("witness.example/w1", ed25519_dalek::SigningKey::from_bytes(&[5; 32])).unwrap()
    }

    #[test]
    fn endpoints_parse() {
        let key = witness().verifier().to_string();
        let w: WitnessEndpoint = format!("https://w.example/prefix/={key}").parse().unwrap();
        assert_eq!(w.url, "https://w.example/prefix");
        assert_eq!(w.key, witness().verifier());
        let q: WitnessEndpoint = format!("http://w.example/a?x=1={key}").parse().unwrap();
        assert_eq!(q.url, "http://w.example/a?x=1");
        assert!("http://w.example".parse::<WitnessEndpoint>().unwrap_err().contains("URL=KEY"));
        assert!(format!("w.example={key}").parse::<WitnessEndpoint>().unwrap_err().contains("http"));
        assert!("http://w.example=name+1234+AAAA".parse::<WitnessEndpoint>().is_err());
    }

    #[test]
    fn cosignatures_are_checked() {
        let signer =
            greenledger_core::log::NoteSigner::new("log.example", ed25519_dalek::SigningKey::from_bytes(&[1; 32]))
                .unwrap();
        let note =
            greenledger_core::log::sign("log.example\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", &[&signer])
                .unwrap();
        let (text, _) = split(&note).unwrap();
        let w = witness();
        let other = Cosigner::new("witness.example/w2", ed25519_dalek::SigningKey::from_bytes(&[6; 32])).unwrap();
        let good = w.cosign(&text, 1_700_000_000).unwrap();
        let stranger = other.cosign(&text, 1_700_000_000).unwrap();
        let got = read_cosignature(&format!("{stranger}{good}"), &w.verifier(), &note).unwrap();
        assert_eq!(got.timestamp, 1_700_000_000);
        // Only a stranger's line; a line over other text; a zero timestamp; no lines.
        assert!(read_cosignature(&stranger, &w.verifier(), &note).is_err());
        let elsewhere = w.cosign("log.example\n4\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 1).unwrap();
        assert!(read_cosignature(&elsewhere, &w.verifier(), &note)
            .unwrap_err()
            .to_string()
            .contains("does not verify"));
        let zero = w.cosign(&text, 0).unwrap();
        assert!(read_cosignature(&zero, &w.verifier(), &note).unwrap_err().to_string().contains("zero"));
        assert!(read_cosignature("", &w.verifier(), &note).is_err());
        assert!(read_cosignature(good.trim_end(), &w.verifier(), &note).is_err());
    }
}
