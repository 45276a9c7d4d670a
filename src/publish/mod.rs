//! Published checkpoints: the checkpoints the ledger hands to witnesses, tlog-tiles clients and
//! proof bundles, and the witness cosignatures gathered for each.
//!
//! The ledger signs a checkpoint for every committed batch; on a busy ledger it changes every
//! few milliseconds, faster than witnesses can cosign. So the [`Publisher`] publishes one every
//! [`PublishOptions::interval`] (default 2 s), or as soon as the tree grew by
//! [`PublishOptions::every`] entries, and only when the size changed. Publishing signs nothing
//! new: it takes the newest committed checkpoint (already durable and signed by the log key) and
//! records it as published ([`PublishState::publish`]), keeping the newest
//! [`PublishOptions::history`] published checkpoints with their cosignatures.
//!
//! Each published checkpoint is then pushed to every configured witness over C2SP tlog-witness
//! ([`push`]: `POST <url>/add-checkpoint`), concurrently, with a timeout, and never in the way
//! of commits. Each cosignature returned is verified with the witness's configured key before
//! it is stored beside its checkpoint.
//!
//! What is served ([`Published`]):
//!
//! - `GET /checkpoint` ([`crate::tiles_http`]): the latest published checkpoint with every
//!   cosignature gathered for it;
//! - gRPC `GetCheckpoint`: the same in `published_checkpoint`, beside the newest signed
//!   checkpoint; `AddCosignature` takes a cosignature of any published checkpoint still kept;
//! - claim proof bundles ([`crate::proof`]) are made against a published checkpoint, so they
//!   carry its cosignatures.
//!
//! The state lives behind [`PublishState`] ([`state`]): in the ledger's store today
//! ([`StoreState`]); a replicated deployment can keep it elsewhere. Only one node of a cluster
//! runs the publisher.
//!
//! ```text
//! commit (per batch) ──> newest signed checkpoint ──(every interval / N entries)──> publish
//!                                                                            │
//!                      witness 1 <── add-checkpoint (old, proof, note) ──────┤ one task
//!                      witness 2 <── ...                                     │ per witness
//!                          │ 200: cosignature line, verified, stored ────────┘
//!                          v
//!            GET /checkpoint, GetCheckpoint, proof bundles: the note + cosignatures
//! ```

pub mod push;
pub mod state;

pub use push::{PushError, WitnessEndpoint};
pub use state::{PublishError, PublishState, PublishedCheckpoint, StoreState, StoredCosignature};

use crate::ledger::Ledger;
use crate::store::Store;
use greenledger_core::log::merkle::Hash;
use greenledger_core::log::{add_signature_lines, split, CosignatureVerifier, SignatureLine};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Default [`PublishOptions::interval`].
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// Default [`PublishOptions::every`]: a burst of this many entries publishes at once.
pub const DEFAULT_EVERY: u64 = 4096;
/// Default [`PublishOptions::history`].
pub const DEFAULT_HISTORY: usize = 64;
/// Default [`PublishOptions::witness_timeout`].
pub const DEFAULT_WITNESS_TIMEOUT: Duration = Duration::from_secs(10);

/// How and where checkpoints are published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishOptions {
    /// Publish at most this long after the tree changed.
    pub interval: Duration,
    /// Publish as soon as the tree grew by this many entries since the last publish.
    pub every: u64,
    /// Published checkpoints kept, with their cosignatures (at least 1).
    pub history: usize,
    /// Witnesses to push each published checkpoint to.
    pub witnesses: Vec<WitnessEndpoint>,
    /// How long one `add-checkpoint` call may take.
    pub witness_timeout: Duration,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            interval: DEFAULT_INTERVAL,
            every: DEFAULT_EVERY,
            history: DEFAULT_HISTORY,
            witnesses: Vec::new(),
            witness_timeout: DEFAULT_WITNESS_TIMEOUT,
        }
    }
}

/// A publish interval: `500ms`, `2s`, `1m`, or plain seconds (`2`, `0.5`). Zero is refused.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (number, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        _ => return Err(format!("publish interval {s:?}: unit {unit:?} is not ms, s or m")),
    };
    let value: f64 = number.parse().map_err(|_| format!("publish interval {s:?} is not a number with ms, s or m"))?;
    let d = Duration::try_from_secs_f64(value * scale).map_err(|e| format!("publish interval {s:?}: {e}"))?;
    if d < Duration::from_millis(1) {
        return Err(format!("publish interval {s:?} is below 1ms"));
    }
    Ok(d)
}

/// What the publisher reads from the log: its newest signed checkpoint and consistency proofs.
/// [`Ledger`] is one; a test can stand in for it.
pub trait LogSource: Send + Sync + 'static {
    /// The size and signed note of the newest committed checkpoint.
    fn newest(&self) -> (u64, String);
    /// The consistency proof from `old` to `new` (`0 < old <= new`).
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, String>;
}

impl<S: Store> LogSource for Ledger<S> {
    fn newest(&self) -> (u64, String) {
        let c = self.committed();
        (c.head.size, c.checkpoint)
    }

    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        Ledger::consistency_proof(self, old, new).map_err(|e| e.to_string())
    }
}

/// Why a cosignature was not added.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignError {
    #[error("the signature line is not from the witness key {witness}")]
    NotFromKey { witness: String },
    #[error("the cosignature does not verify over any published checkpoint kept (sizes {sizes}): {reason}")]
    NoCheckpoint { sizes: String, reason: String },
    #[error(transparent)]
    State(#[from] PublishError),
}

/// The read side of what was published, and the door for cosignatures. Cheap to clone.
#[derive(Clone)]
pub struct Published {
    state: Arc<dyn PublishState>,
}

impl Published {
    pub fn new(state: Arc<dyn PublishState>) -> Self {
        Published { state }
    }

    /// The newest published checkpoint as the log signed it.
    pub fn latest_checkpoint(&self) -> Result<Option<PublishedCheckpoint>, PublishError> {
        self.state.latest()
    }

    /// The newest published checkpoint with every cosignature gathered for it, and its size.
    pub fn latest(&self) -> Result<Option<(u64, String)>, PublishError> {
        match self.state.latest()? {
            Some(cp) => Ok(Some((cp.size, self.with_cosignatures(&cp)?))),
            None => Ok(None),
        }
    }

    /// The published checkpoints kept, newest first, each with its cosignatures.
    pub fn history(&self) -> Result<Vec<(u64, String)>, PublishError> {
        self.state.history()?.iter().map(|cp| Ok((cp.size, self.with_cosignatures(cp)?))).collect()
    }

    /// How many cosignatures the published checkpoint of `size` has gathered.
    pub fn cosignature_count(&self, size: u64) -> Result<usize, PublishError> {
        Ok(self.state.cosignatures(size)?.len())
    }

    fn with_cosignatures(&self, cp: &PublishedCheckpoint) -> Result<String, PublishError> {
        let lines: Vec<String> = self.state.cosignatures(cp.size)?.into_iter().map(|c| c.line).collect();
        if lines.is_empty() {
            return Ok(cp.note.clone());
        }
        add_signature_lines(&cp.note, &lines)
            .map_err(|e| PublishError::Corrupt(format!("cosignatures of the published checkpoint {}: {e}", cp.size)))
    }

    /// Adds a witness's cosignature of whichever published checkpoint still kept it verifies
    /// over (newest first); returns that checkpoint's size.
    pub fn add_cosignature(&self, witness: &CosignatureVerifier, line: &SignatureLine) -> Result<u64, CosignError> {
        if line.name != witness.name() || line.key_hash != witness.key_hash() {
            return Err(CosignError::NotFromKey { witness: witness.to_string() });
        }
        let history = self.state.history()?;
        let mut reason = String::from("nothing is published yet");
        for cp in &history {
            let (text, _) = split(&cp.note).map_err(|e| PublishError::Corrupt(e.to_string()))?;
            match witness.verify(&text, &line.sig) {
                Ok(0) => reason = "the cosignature's timestamp is zero".into(),
                Ok(_) => {
                    self.store(cp.size, witness, line)?;
                    return Ok(cp.size);
                }
                Err(e) => reason = e.to_string(),
            }
        }
        let sizes = match (history.last(), history.first()) {
            (Some(a), Some(b)) => format!("{} to {}", a.size, b.size),
            _ => "none".into(),
        };
        Err(CosignError::NoCheckpoint { sizes, reason })
    }

    /// Stores a cosignature of the published checkpoint of `size`, already verified.
    pub(crate) fn add_cosignature_at(
        &self,
        size: u64,
        witness: &CosignatureVerifier,
        line: &SignatureLine,
    ) -> Result<(), PublishError> {
        self.store(size, witness, line)
    }

    fn store(&self, size: u64, witness: &CosignatureVerifier, line: &SignatureLine) -> Result<(), PublishError> {
        let c = StoredCosignature { witness: witness.to_string(), line: line.to_line().trim_end().to_string() };
        self.state.add_cosignature(size, &c)
    }

    pub(crate) fn acknowledged(&self, witness: &str) -> Result<Option<u64>, PublishError> {
        self.state.acknowledged(witness)
    }

    pub(crate) fn set_acknowledged(&self, witness: &str, size: u64) -> Result<(), PublishError> {
        self.state.set_acknowledged(witness, size)
    }
}

/// Publishes checkpoints and pushes them to witnesses. Cheap to clone; [`Publisher::start`]
/// runs it in the background.
#[derive(Clone)]
pub struct Publisher {
    inner: Arc<Inner>,
}

struct Inner {
    log: Arc<dyn LogSource>,
    published: Published,
    options: PublishOptions,
    /// The size of the latest publish, for the witness tasks.
    changed: watch::Sender<u64>,
    /// One publish at a time.
    publishing: tokio::sync::Mutex<()>,
}

impl Publisher {
    pub fn new(log: Arc<dyn LogSource>, state: Arc<dyn PublishState>, options: PublishOptions) -> Self {
        let (changed, _) = watch::channel(0);
        let published = Published::new(state);
        Publisher { inner: Arc::new(Inner { log, published, options, changed, publishing: Default::default() }) }
    }

    /// A publisher for `ledger` that keeps its state in the ledger's store.
    pub fn for_ledger<S: Store>(ledger: Arc<Ledger<S>>, options: PublishOptions) -> Self {
        let state = Arc::new(StoreState::new(ledger.store().clone()));
        Publisher::new(ledger, state, options)
    }

    /// The read side, to serve.
    pub fn published(&self) -> Published {
        self.inner.published.clone()
    }

    pub fn options(&self) -> &PublishOptions {
        &self.inner.options
    }

    /// Publishes the newest signed checkpoint now, unless it is already the latest published
    /// one. Returns what was published, if anything.
    pub async fn publish_now(&self) -> Result<Option<PublishedCheckpoint>, PublishError> {
        let _one = self.inner.publishing.lock().await;
        let inner = self.inner.clone();
        let done = tokio::task::spawn_blocking(move || -> Result<Option<PublishedCheckpoint>, PublishError> {
            let (size, note) = inner.log.newest();
            if inner.published.state.latest()?.is_some_and(|p| p.size == size) {
                return Ok(None);
            }
            let cp = PublishedCheckpoint { size, note };
            inner.published.state.publish(&cp, inner.options.history)?;
            Ok(Some(cp))
        })
        .await
        .map_err(|e| PublishError::Corrupt(format!("the publish task failed: {e}")))??;
        if let Some(cp) = &done {
            tracing::debug!(size = cp.size, "published a checkpoint");
            self.inner.changed.send_replace(cp.size);
        }
        Ok(done)
    }

    /// Runs the publisher until `stop` turns true: a publish on each interval or burst, and one
    /// task per witness. The first publish happens before this returns, so a server started
    /// after it serves a published checkpoint from its first request.
    pub async fn start(&self, stop: watch::Receiver<bool>) -> Result<tokio::task::JoinHandle<()>, PublishError> {
        self.publish_now().await?;
        let client = reqwest::Client::builder()
            .timeout(self.inner.options.witness_timeout)
            .connect_timeout(self.inner.options.witness_timeout)
            .user_agent(concat!("greenledger/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PublishError::Corrupt(format!("cannot make the witness HTTP client: {e}")))?;
        let mut tasks = Vec::new();
        for w in &self.inner.options.witnesses {
            tasks.push(tokio::spawn(push::follow(
                w.clone(),
                self.inner.log.clone(),
                self.published(),
                client.clone(),
                self.inner.changed.subscribe(),
                stop.clone(),
            )));
        }
        let me = self.clone();
        Ok(tokio::spawn(async move {
            me.tick(stop).await;
            for t in tasks {
                let _ = t.await;
            }
        }))
    }

    async fn tick(&self, mut stop: watch::Receiver<bool>) {
        let o = &self.inner.options;
        // The ledger gives no commit notification: look at its size often, publish rarely.
        let look = (o.interval / 10).clamp(Duration::from_millis(1), Duration::from_millis(50));
        let mut last = tokio::time::Instant::now();
        let mut last_size = self.inner.published.latest_checkpoint().ok().flatten().map_or(0, |p| p.size);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(look) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let size = self.inner.log.newest().0;
            if size == last_size {
                continue;
            }
            if size >= last_size.saturating_add(o.every) || last.elapsed() >= o.interval {
                match self.publish_now().await {
                    Ok(_) => {
                        last = tokio::time::Instant::now();
                        last_size = size;
                    }
                    Err(e) => tracing::error!(error = %e, size, "publishing a checkpoint failed"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log whose newest checkpoint a test sets.
    struct FakeLog(std::sync::Mutex<(u64, String)>);

    impl LogSource for FakeLog {
        fn newest(&self) -> (u64, String) {
            self.0.lock().unwrap().clone()
        }
        fn consistency_proof(&self, _: u64, _: u64) -> Result<Vec<Hash>, String> {
            Ok(Vec::new())
        }
    }

    #[tokio::test]
    async fn publishes_only_a_new_size_and_resumes_from_its_state() {
        let store = Arc::new(crate::store::MemStore::new());
        let log = Arc::new(FakeLog(std::sync::Mutex::new((3, "note 3".into()))));
        let options = PublishOptions { history: 2, ..Default::default() };
        let p = Publisher::new(log.clone(), Arc::new(StoreState::new(store.clone())), options.clone());
        assert_eq!(p.publish_now().await.unwrap().map(|c| c.size), Some(3));
        assert_eq!(p.publish_now().await.unwrap(), None, "the size did not change");
        for size in [5, 9] {
            *log.0.lock().unwrap() = (size, format!("note {size}"));
            assert_eq!(p.publish_now().await.unwrap().map(|c| c.size), Some(size));
        }
        // Another publisher on the same state (a restart) goes on from it.
        let again = Publisher::new(log.clone(), Arc::new(StoreState::new(store)), options);
        assert_eq!(again.publish_now().await.unwrap(), None);
        let sizes: Vec<u64> = again.published().history().unwrap().into_iter().map(|(s, _)| s).collect();
        assert_eq!(sizes, vec![9, 5], "newest first, two kept");
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_interval("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_interval("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_interval("0.25").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_interval("1m").unwrap(), Duration::from_secs(60));
        for bad in ["", "0", "0ms", "2h", "-1s", "s", "1.2.3s"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
