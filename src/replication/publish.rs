//! Publishing from a replicated ledger: one publisher for the cluster, one published state for
//! every node.
//!
//! The published checkpoints, their witness cosignatures and the size each witness last
//! acknowledged live in the log's own database ([`PgPublishState`], tables `published`,
//! `cosignatures` and `witness_acks` of [`super::sql`]), so every node serves the same
//! published checkpoint (`GET /checkpoint`, gRPC `GetCheckpoint`, proof bundles) and takes
//! cosignatures for all (`AddCosignature` on any node is seen by every node).
//!
//! Only the leader publishes and pushes to witnesses: [`run_gated`] runs the
//! [`Publisher`] while the [`PublishGate`] holds ([`Node::is_leader`]) and stops it, witness
//! tasks included, once it does not. A node that just lost the lead may still publish or push
//! once within a look (at most half a second): harmless, since all it can publish is a
//! checkpoint the shared log already holds (a leader commits to the database before its own
//! store), and the latest published checkpoint is the largest one whoever wrote it.
//!
//! A follower serves only published checkpoints it has itself replayed up to
//! ([`PgPublishState::with_ceiling`]): what it serves, it can also prove and serve tiles for.

use super::{sql, Node};
use crate::publish::{PublishError, PublishState, PublishedCheckpoint, Publisher, StoredCosignature};
use crate::store::StoreError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

/// Whether this node may publish and push now (a replicated node: while it leads).
pub type PublishGate = Arc<dyn Fn() -> bool + Send + Sync>;

/// The gate of a replicated node: open while it leads.
pub fn leader_gate(node: &Arc<Node>) -> PublishGate {
    let node = node.clone();
    Arc::new(move || node.is_leader())
}

/// Attempts per operation: a lost connection or a serialization failure is retried on a new
/// connection.
const ATTEMPTS: usize = 3;

/// [`PublishState`] in the log's PostgreSQL database, shared by every node.
///
/// The methods are synchronous, as the trait asks: each runs on one connection (kept, and
/// replaced after an error) on the runtime it was made on. Called from the blocking pool or a
/// thread of its own, it blocks that thread; called from a task of a multi-thread runtime, it
/// moves the task's worker aside first ([`tokio::task::block_in_place`]). A current-thread
/// runtime must not call it from a task.
pub struct PgPublishState {
    url: String,
    runtime: tokio::runtime::Handle,
    client: tokio::sync::Mutex<Option<Client>>,
    ceiling: Option<Arc<dyn Fn() -> u64 + Send + Sync>>,
}

impl PgPublishState {
    /// The state in the database at `url`, on the current runtime. It connects on first use
    /// and creates its tables if they are missing.
    pub fn new(url: &str) -> PgPublishState {
        PgPublishState {
            url: url.to_string(),
            runtime: tokio::runtime::Handle::current(),
            client: tokio::sync::Mutex::new(None),
            ceiling: None,
        }
    }

    /// Reads (`latest`, `history`) see only published checkpoints of at most `ceiling()`
    /// entries: a node passes its own size, so that it never serves a published checkpoint it
    /// has not replayed yet.
    pub fn with_ceiling(mut self, ceiling: impl Fn() -> u64 + Send + Sync + 'static) -> PgPublishState {
        self.ceiling = Some(Arc::new(ceiling));
        self
    }

    fn ceiling(&self) -> i64 {
        self.ceiling.as_ref().map_or(i64::MAX, |c| i64::try_from(c()).unwrap_or(i64::MAX))
    }

    /// Runs `op` on the connection, reconnecting (and retrying) when the connection was lost
    /// or the transaction hit a serialization failure.
    fn run<T>(
        &self,
        what: &str,
        op: impl AsyncFn(&mut Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, PublishError> {
        let work = async {
            let mut client = self.client.lock().await;
            let mut attempt = 0;
            loop {
                attempt += 1;
                if client.as_ref().is_none_or(Client::is_closed) {
                    let c = sql::connect(&self.url).await?;
                    c.batch_execute(sql::SCHEMA).await?;
                    *client = Some(c);
                }
                let c = client.as_mut().expect("connected above");
                match op(c).await {
                    Ok(v) => return Ok(v),
                    Err(e) => {
                        // Start over on a fresh connection next time, whatever failed.
                        *client = None;
                        let again = e.code().is_none() || e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE);
                        if !again || attempt >= ATTEMPTS {
                            return Err(e);
                        }
                    }
                }
            }
        };
        tokio::task::block_in_place(|| self.runtime.block_on(work))
            .map_err(|e| PublishError::Store(StoreError::Io(format!("{what} in the log database {}: {e}", self.url))))
    }
}

fn to_db(size: u64) -> Result<i64, PublishError> {
    i64::try_from(size).map_err(|_| PublishError::Corrupt(format!("size {size} does not fit a BIGINT")))
}

fn from_db(size: i64) -> Result<u64, PublishError> {
    u64::try_from(size).map_err(|_| PublishError::Corrupt(format!("a published size is negative: {size}")))
}

fn checkpoints(rows: Vec<tokio_postgres::Row>) -> Result<Vec<PublishedCheckpoint>, PublishError> {
    rows.into_iter().map(|r| Ok(PublishedCheckpoint { size: from_db(r.get(0))?, note: r.get(1) })).collect()
}

impl PublishState for PgPublishState {
    fn publish(&self, checkpoint: &PublishedCheckpoint, keep: usize) -> Result<(), PublishError> {
        let size = to_db(checkpoint.size)?;
        // The newest `keep` stay: everything below the keep-th largest size goes.
        let skip = i64::try_from(keep.max(1) - 1).unwrap_or(i64::MAX);
        self.run("publishing a checkpoint", async |c| {
            let tx = c.transaction().await?;
            // A size published twice keeps its first note: cosignatures may be over it.
            tx.execute(
                "INSERT INTO published (size, note) VALUES ($1, $2) ON CONFLICT (size) DO NOTHING",
                &[&size, &checkpoint.note],
            )
            .await?;
            let oldest = tx
                .query_opt("SELECT size FROM published ORDER BY size DESC LIMIT 1 OFFSET $1", &[&skip])
                .await?
                .map(|r| r.get::<_, i64>(0));
            if let Some(oldest) = oldest {
                tx.execute("DELETE FROM published WHERE size < $1", &[&oldest]).await?;
                tx.execute("DELETE FROM cosignatures WHERE size < $1", &[&oldest]).await?;
            }
            tx.commit().await
        })
    }

    fn history(&self) -> Result<Vec<PublishedCheckpoint>, PublishError> {
        let ceiling = self.ceiling();
        let rows = self.run("reading the published checkpoints", async |c| {
            c.query("SELECT size, note FROM published WHERE size <= $1 ORDER BY size DESC", &[&ceiling]).await
        })?;
        checkpoints(rows)
    }

    fn latest(&self) -> Result<Option<PublishedCheckpoint>, PublishError> {
        let ceiling = self.ceiling();
        let rows = self.run("reading the latest published checkpoint", async |c| {
            c.query("SELECT size, note FROM published WHERE size <= $1 ORDER BY size DESC LIMIT 1", &[&ceiling]).await
        })?;
        Ok(checkpoints(rows)?.into_iter().next())
    }

    fn add_cosignature(&self, size: u64, cosignature: &StoredCosignature) -> Result<(), PublishError> {
        let at = to_db(size)?;
        let added = self.run("adding a cosignature", async |c| {
            c.execute(
                "INSERT INTO cosignatures (size, witness, line) \
                 SELECT $1::BIGINT, $2::TEXT, $3::TEXT WHERE EXISTS (SELECT 1 FROM published WHERE size = $1::BIGINT) \
                 ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line",
                &[&at, &cosignature.witness, &cosignature.line],
            )
            .await
        })?;
        if added == 0 {
            return Err(PublishError::Corrupt(format!("no published checkpoint of size {size} is kept")));
        }
        Ok(())
    }

    fn cosignatures(&self, size: u64) -> Result<Vec<StoredCosignature>, PublishError> {
        let at = to_db(size)?;
        let rows = self.run("reading cosignatures", async |c| {
            c.query("SELECT witness, line FROM cosignatures WHERE size = $1 ORDER BY witness", &[&at]).await
        })?;
        Ok(rows.into_iter().map(|r| StoredCosignature { witness: r.get(0), line: r.get(1) }).collect())
    }

    fn acknowledged(&self, witness: &str) -> Result<Option<u64>, PublishError> {
        let row = self.run("reading a witness's acknowledged size", async |c| {
            c.query_opt("SELECT size FROM witness_acks WHERE witness = $1", &[&witness]).await
        })?;
        row.map(|r| from_db(r.get(0))).transpose()
    }

    fn set_acknowledged(&self, witness: &str, size: u64) -> Result<(), PublishError> {
        let at = to_db(size)?;
        self.run("recording a witness's acknowledged size", async |c| {
            c.execute(
                "INSERT INTO witness_acks (witness, size) VALUES ($1, $2) \
                 ON CONFLICT (witness) DO UPDATE SET size = excluded.size",
                &[&witness, &at],
            )
            .await
        })?;
        Ok(())
    }
}

/// Runs `publisher` ([`Publisher::start`]: publishing and the witness tasks) while `gate`
/// holds, stops it while it does not, and returns once `stop` turns true. The gate is looked
/// at every quarter of the publish interval, at least every half second.
pub async fn run_gated(publisher: Publisher, gate: PublishGate, mut stop: watch::Receiver<bool>) {
    let look = (publisher.options().interval / 4).clamp(Duration::from_millis(10), Duration::from_millis(500));
    loop {
        // Wait for the gate to open.
        while !gate() {
            tokio::select! {
                _ = tokio::time::sleep(look) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        let (halt, halted) = watch::channel(false);
        let running = match publisher.start(halted).await {
            Ok(running) => running,
            Err(e) => {
                tracing::error!(error = %e, "cannot start publishing");
                tokio::select! {
                    _ = tokio::time::sleep(look) => continue,
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        };
        tracing::info!("leading: publishing checkpoints and pushing them to witnesses");
        let stopping = loop {
            tokio::select! {
                _ = tokio::time::sleep(look) => {}
                _ = stop.wait_for(|s| *s) => break true,
            }
            if !gate() {
                break false;
            }
        };
        let _ = halt.send(true);
        let _ = running.await;
        if stopping {
            return;
        }
        tracing::info!("no longer leading: stopped publishing");
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::testkit::postgres::start_or_skip;

    fn cp(size: u64) -> PublishedCheckpoint {
        PublishedCheckpoint { size, note: format!("log.example\n{size}\nroot\n\n— log.example sig{size}\n") }
    }

    fn cosig(size: u64) -> StoredCosignature {
        StoredCosignature { witness: "w+1+k".into(), line: format!("— w sig{size}") }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_share_a_bounded_history_and_see_only_what_they_replayed() {
        let Some(pg) = start_or_skip("two_nodes_share_a_bounded_history_and_see_only_what_they_replayed") else {
            return;
        };
        let a = PgPublishState::new(&pg.url());
        let b = PgPublishState::new(&pg.url()).with_ceiling(|| 9);
        assert_eq!(a.latest().unwrap(), None);
        for size in [3, 5, 9, 12] {
            a.publish(&cp(size), 3).unwrap();
            a.add_cosignature(size, &cosig(size)).unwrap();
        }
        assert_eq!(a.history().unwrap(), vec![cp(12), cp(9), cp(5)]);
        assert_eq!(a.latest().unwrap(), Some(cp(12)));
        // The pruned checkpoint's cosignatures went with it; a cosignature of it is refused and
        // not stored.
        assert!(a.cosignatures(3).unwrap().is_empty());
        let err = b.add_cosignature(3, &cosig(3)).unwrap_err();
        assert!(err.to_string().contains("no published checkpoint of size 3"), "{err}");
        assert!(a.cosignatures(3).unwrap().is_empty());
        // The other node reads the same rows, up to the size it has replayed.
        assert_eq!(b.latest().unwrap(), Some(cp(9)));
        assert_eq!(b.history().unwrap(), vec![cp(9), cp(5)]);
        assert_eq!(b.cosignatures(12).unwrap(), vec![cosig(12)]);
        // A size published again keeps its first note; a cosignature is replaced, not doubled.
        b.publish(&PublishedCheckpoint { size: 12, note: "other".into() }, 3).unwrap();
        assert_eq!(a.latest().unwrap(), Some(cp(12)));
        let newer = StoredCosignature { witness: "w+1+k".into(), line: "— w newer".into() };
        b.add_cosignature(12, &newer).unwrap();
        assert_eq!(a.cosignatures(12).unwrap(), vec![newer]);
        // Acknowledged sizes are shared too.
        assert_eq!(a.acknowledged("w+1+k").unwrap(), None);
        b.set_acknowledged("w+1+k", 42).unwrap();
        a.set_acknowledged("v+1+k", 7).unwrap();
        assert_eq!(a.acknowledged("w+1+k").unwrap(), Some(42));
        assert_eq!(b.acknowledged("v+1+k").unwrap(), Some(7));
    }
}
