//! Beyond one machine: the log replicated through PostgreSQL, one fenced leader, followers that
//! serve reads (`greenledger init --log postgres://…`, `greenledger serve --log postgres://…`).
//!
//! PostgreSQL holds the log ([`sql`]: `log_head`, `log_batches`, `lease`) and what was
//! published ([`publish`]: `published`, `cosignatures`, `witness_acks`; only the leader publishes
//! and pushes to witnesses, every node serves it); each
//! node keeps its own derived state, tiles and proofs in its local store (sled), rebuilt from the
//! shared log by replay. No consensus protocol of our own: PostgreSQL (with a synchronous
//! standby, see docs/deployment.md) is the durable, replicated part, and two single-row
//! compare-and-swaps decide everything else.
//!
//! - **The lease** (`lease`, time-to-live `--lease-ttl`, default 10 s, in the database's own
//!   clock) only decides which node *tries* to lead. A node takes an expired lease with a new
//!   `epoch`, renews it every third of its time-to-live, and gives it up on a clean shutdown.
//! - **The fence** keeps the data safe. A node that took the lease first sets `log_head.epoch`
//!   to its epoch (only upwards), then catches up to the head; from that moment an older
//!   leader's commits fail. Each batch is one transaction whose first statement is
//!   `UPDATE log_head … WHERE epoch = $mine AND size = $old`: zero rows means another node took
//!   over, so the transaction is rolled back and this node steps down without having written
//!   anything. A leader that was paused past its lease (SIGSTOP) therefore cannot commit when it
//!   wakes, whatever its clock says.
//! - **Accepted means in PostgreSQL.** The writer ([`crate::ledger::LogSink`]) commits a batch to
//!   PostgreSQL before its own store, and submitters are answered only after that commit. If the
//!   connection is lost during `COMMIT`, the outcome is unknown: the submitters are told so (not
//!   "refused"), the node steps down, and resubmitting the identical commands returns their
//!   original receipts if they did commit. If the local store fails after PostgreSQL committed,
//!   the batch was accepted; the node stops writing and catches up on restart.
//! - **Followers** poll `log_batches` from their size (polling rather than `LISTEN`, which
//!   CockroachDB lacks) and apply each batch with [`crate::ledger::Ledger::apply_replicated`]:
//!   signatures, rules at the entry's own time, and the leader's signed checkpoint must match the
//!   tree they derive. They serve queries, proofs and tiles, and forward submissions to the
//!   leader's advertised address ([`crate::rpc::forward`]).
//! - **Portability**: serialization failures (SQLSTATE 40001) are retried; a `COMMIT` that the
//!   server answered with an error wrote nothing; no advisory locks or PostgreSQL-only types.
//!
//! Every node holds the same log key (the log has one identity); a node's local directory holds
//! that key and its store.

pub mod publish;
pub mod sql;

use crate::ledger::{Head, Ledger, LedgerError, LogSink, SinkError};
use crate::store::Store;
use greenledger_core::log::tiles::{decode_bundle, encode_bundle};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default time-to-live of the leader's lease.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);
/// Default pause between a follower's polls of the shared log when it is caught up.
pub const DEFAULT_POLL: Duration = Duration::from_millis(20);
/// Batches a follower fetches per query.
const FETCH_BATCHES: i64 = 32;
/// Serialization failures retried per batch.
const RETRIES: usize = 5;

/// How a node joins the shared log.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// `postgres://…` connection string.
    pub url: String,
    /// The gRPC address other nodes forward submissions to while this node leads
    /// (`http://host:port`).
    pub advertise: String,
    pub lease_ttl: Duration,
    pub poll: Duration,
}

impl NodeConfig {
    pub fn new(url: &str, advertise: &str) -> NodeConfig {
        NodeConfig {
            url: url.to_string(),
            advertise: advertise.to_string(),
            lease_ttl: DEFAULT_LEASE_TTL,
            poll: DEFAULT_POLL,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Role {
    Follower,
    /// Holds the lease of `epoch`, last renewed at `renewed`; `fenced` once the head carries the
    /// epoch and this node has caught up to it (only then may it append).
    Leader {
        epoch: i64,
        renewed: Instant,
        fenced: bool,
    },
}

/// One node of a replicated ledger: its role, its connection for appends, and its loops.
pub struct Node {
    config: NodeConfig,
    /// Unique per process: a restarted node is a new holder.
    holder: String,
    role: Mutex<Role>,
    /// The leader's advertised address, as last read from the lease.
    leader: Mutex<Option<String>>,
    writer: tokio::sync::Mutex<Option<sql::Writer>>,
    runtime: tokio::runtime::Handle,
    stopping: AtomicBool,
    /// Entries this node has applied from the shared log (for the metrics and tests).
    applied: AtomicU64,
}

/// What went wrong joining a shared log.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("cannot reach the log database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("the database holds no greenledger log; create one with: greenledger init --log URL --data DIR")]
    NoLog,
    #[error(
        "the database holds the log {shared:?} with key {shared_key}, but this node's key is {local_key} for {local:?}"
    )]
    OtherLog { shared: String, shared_key: String, local: String, local_key: String },
    #[error(
        "this node's store holds {local} entries but the shared log only {shared}: it belongs to another log, or the \
         database lost acknowledged entries (was an asynchronous standby promoted?)"
    )]
    Ahead { local: u64, shared: u64 },
    #[error("{0}")]
    Ledger(#[from] LedgerError),
}

impl Node {
    /// A node for the shared log at `config.url`, on the current runtime. It starts as a follower.
    pub fn new(config: NodeConfig) -> Arc<Node> {
        let mut id = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
        Arc::new(Node {
            holder: format!("{}#{}", config.advertise, hex::encode(id)),
            config,
            role: Mutex::new(Role::Follower),
            leader: Mutex::new(None),
            writer: tokio::sync::Mutex::new(None),
            runtime: tokio::runtime::Handle::current(),
            stopping: AtomicBool::new(false),
            applied: AtomicU64::new(0),
        })
    }

    /// This node's sink, for [`Ledger::with_sink`].
    pub fn sink(self: &Arc<Self>) -> Arc<dyn LogSink> {
        Arc::new(Sink(self.clone()))
    }

    /// Whether this node leads: it took the lease and fenced the head, and has not stepped
    /// down since. Deliberately not a clock check: a node paused past its lease still believes
    /// it leads when it wakes, and the fence (the compare-and-swap on the head's epoch) is what
    /// stops its next commit. The lease loop steps down once a renewal fails.
    pub fn is_leader(&self) -> bool {
        matches!(*self.role.lock().expect("role"), Role::Leader { fenced: true, .. })
    }

    /// The leader's advertised address, when this node is a follower and knows it.
    pub fn forward_to(&self) -> Option<String> {
        if self.is_leader() {
            return None;
        }
        self.leader.lock().expect("leader").clone().filter(|a| *a != self.config.advertise)
    }

    /// Reads who leads from the lease now (a write arrived and this follower does not know):
    /// the live holder's address unless it is this node's.
    pub fn look_up_leader(&self) -> impl std::future::Future<Output = Option<String>> + Send + 'static {
        let (url, me) = (self.config.url.clone(), self.config.advertise.clone());
        async move {
            let client = sql::connect(&url).await.ok()?;
            let lease = sql::lease(&client).await.ok()??;
            (lease.live && lease.address != me).then_some(lease.address)
        }
    }

    /// Entries applied from the shared log so far.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    fn step_down(&self, why: &str) {
        let mut role = self.role.lock().expect("role");
        if let Role::Leader { epoch, .. } = *role {
            tracing::warn!(epoch, why, "stepping down: no longer the leader");
            *role = Role::Follower;
            // Not us any more; the lease loop reads who leads now at its next step.
            *self.leader.lock().expect("leader") = None;
        }
    }

    /// Checks that the local store belongs to the shared log and is not ahead of it.
    pub async fn check_joined<S: Store>(&self, ledger: &Arc<Ledger<S>>) -> Result<(), JoinError> {
        let client = sql::connect(&self.config.url).await?;
        let shared = sql::head(&client).await.map_err(|_| JoinError::NoLog)?.ok_or(JoinError::NoLog)?;
        let local_key = ledger.verifier().to_string();
        if shared.origin != ledger.name() || shared.log_key != local_key {
            return Err(JoinError::OtherLog {
                shared: shared.origin,
                shared_key: shared.log_key,
                local: ledger.name(),
                local_key,
            });
        }
        let local = ledger.committed().head.size;
        if local > shared.size {
            return Err(JoinError::Ahead { local, shared: shared.size });
        }
        if local > 0 {
            // The batch holding our last entry: its leaves must be ours (checked while applying).
            if let Some(b) = sql::batches_from(&client, local - 1, 1).await?.into_iter().next() {
                apply(ledger, b).await?;
            }
        }
        Ok(())
    }

    /// Runs the follower and lease loops until [`Node::stop`]. Spawn it on the runtime.
    pub async fn run<S: Store>(self: Arc<Self>, ledger: Arc<Ledger<S>>) {
        let tail = tokio::spawn(self.clone().follow(ledger.clone()));
        self.clone().lead(ledger).await;
        let _ = tail.await;
    }

    /// Stops the loops; a leader gives its lease up so another node takes over at once.
    pub async fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let held = match *self.role.lock().expect("role") {
            Role::Leader { epoch, .. } => Some(epoch),
            Role::Follower => None,
        };
        *self.role.lock().expect("role") = Role::Follower;
        if let Some(epoch) = held {
            if let Ok(client) = sql::connect(&self.config.url).await {
                let _ = sql::release(&client, &self.holder, epoch).await;
            }
        }
    }

    /// The follower loop: applies committed batches while this node does not lead.
    async fn follow<S: Store>(self: Arc<Self>, ledger: Arc<Ledger<S>>) {
        let mut client = None;
        while !self.stopping.load(Ordering::SeqCst) {
            if self.is_leader() {
                tokio::time::sleep(self.config.poll * 5).await;
                continue;
            }
            let c = match &client {
                Some(c) => c,
                None => match sql::connect(&self.config.url).await {
                    Ok(c) => client.insert(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "follower: cannot reach the log database");
                        tokio::time::sleep(self.config.lease_ttl / 10).await;
                        continue;
                    }
                },
            };
            match self.catch_up(c, &ledger, u64::MAX).await {
                Ok(0) => tokio::time::sleep(self.config.poll).await,
                Ok(_) => {}
                Err(Caught::Database(e)) => {
                    tracing::warn!(error = %e, "follower: reading the shared log failed");
                    client = None;
                    tokio::time::sleep(self.config.poll).await;
                }
                Err(Caught::Ledger(e)) => {
                    tracing::error!(error = %e, "follower: the shared log does not replay on this node; stopped following");
                    return;
                }
            }
        }
    }

    /// Applies committed batches until the local size reaches `target` or nothing is left.
    /// Returns the entries applied.
    async fn catch_up<S: Store>(
        &self,
        client: &tokio_postgres::Client,
        ledger: &Arc<Ledger<S>>,
        target: u64,
    ) -> Result<u64, Caught> {
        let mut applied = 0;
        loop {
            let size = ledger.committed().head.size;
            if size >= target {
                return Ok(applied);
            }
            let batches = sql::batches_from(client, size, FETCH_BATCHES).await.map_err(Caught::Database)?;
            if batches.is_empty() {
                return Ok(applied);
            }
            for b in batches {
                let after = apply(ledger, b).await.map_err(Caught::Ledger)?;
                let n = after.saturating_sub(size);
                applied += n;
                self.applied.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// The lease loop: renews the lease while leading; otherwise watches it and takes it over
    /// once it has expired.
    async fn lead<S: Store>(self: Arc<Self>, ledger: Arc<Ledger<S>>) {
        let ttl_ms = self.config.lease_ttl.as_millis().min(i64::MAX as u128) as i64;
        let tick = self.config.lease_ttl / 3;
        let mut client: Option<tokio_postgres::Client> = None;
        while !self.stopping.load(Ordering::SeqCst) {
            if client.is_none() {
                match sql::connect(&self.config.url).await {
                    Ok(c) => client = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "lease: cannot reach the log database");
                        self.expire_if_stale();
                        tokio::time::sleep(tick.min(Duration::from_secs(1))).await;
                        continue;
                    }
                }
            }
            let c = client.as_ref().expect("connected");
            let result = if ledger.is_poisoned() {
                self.stop().await;
                return;
            } else {
                self.lease_step(c, &ledger, ttl_ms).await
            };
            match result {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "lease: the log database failed");
                    client = None;
                    self.expire_if_stale();
                }
            }
            let pause = if self.is_leader() { tick } else { tick.min(Duration::from_millis(500)) };
            tokio::time::sleep(pause).await;
        }
    }

    /// One step of the lease loop on a connection of its own: renew the lease while leading,
    /// else take it over once it has expired (fence, catch up, lead). The loop of
    /// [`Node::run`] calls this every third of the lease's time-to-live; tests and tools may
    /// drive a node by hand with it instead.
    pub async fn step<S: Store>(&self, ledger: &Arc<Ledger<S>>) -> Result<(), tokio_postgres::Error> {
        let client = sql::connect(&self.config.url).await?;
        let ttl_ms = self.config.lease_ttl.as_millis().min(i64::MAX as u128) as i64;
        self.lease_step(&client, ledger, ttl_ms).await
    }

    /// Steps down once the lease has surely run out without a renewal.
    fn expire_if_stale(&self) {
        let stale = matches!(*self.role.lock().expect("role"), Role::Leader { renewed, .. } if renewed.elapsed() >= self.config.lease_ttl);
        if stale {
            self.step_down("the lease ran out without a renewal");
        }
    }

    async fn lease_step<S: Store>(
        &self,
        client: &tokio_postgres::Client,
        ledger: &Arc<Ledger<S>>,
        ttl_ms: i64,
    ) -> Result<(), tokio_postgres::Error> {
        let role = *self.role.lock().expect("role");
        match role {
            Role::Leader { epoch, .. } => {
                let asked = Instant::now();
                if sql::renew(client, &self.holder, epoch, ttl_ms).await? {
                    if let Role::Leader { renewed, .. } = &mut *self.role.lock().expect("role") {
                        *renewed = asked;
                    }
                } else {
                    self.step_down("another node holds the lease");
                }
                Ok(())
            }
            Role::Follower => {
                let lease = sql::lease(client).await?;
                if let Some(l) = &lease {
                    if l.live {
                        *self.leader.lock().expect("leader") = Some(l.address.clone());
                        return Ok(());
                    }
                }
                let asked = Instant::now();
                let Some(epoch) = sql::acquire(client, &self.holder, &self.config.advertise, ttl_ms).await? else {
                    return Ok(());
                };
                *self.role.lock().expect("role") = Role::Leader { epoch, renewed: asked, fenced: false };
                // A fresh connection for the first append (an old one may have died while idle).
                *self.writer.lock().await = None;
                *self.leader.lock().expect("leader") = Some(self.config.advertise.clone());
                // Fence first: from here on no older leader can commit; then catch up.
                let Some(size) = sql::fence(client, epoch).await? else {
                    self.step_down("a newer epoch fenced the log first");
                    return Ok(());
                };
                match self.catch_up(client, ledger, size).await {
                    Ok(_) if ledger.committed().head.size == size => {
                        if let Role::Leader { fenced, .. } = &mut *self.role.lock().expect("role") {
                            *fenced = true;
                        }
                        tracing::info!(epoch, size, "leading the replicated log");
                        Ok(())
                    }
                    Ok(_) => {
                        self.step_down("could not catch up to the fenced head");
                        Ok(())
                    }
                    Err(Caught::Database(e)) => {
                        self.step_down("the log database failed while catching up");
                        Err(e)
                    }
                    Err(Caught::Ledger(e)) => {
                        tracing::error!(error = %e, "the shared log does not replay on this node");
                        self.step_down("the shared log does not replay on this node");
                        Ok(())
                    }
                }
            }
        }
    }

    /// The writer's append (see [`LogSink::append`]).
    async fn append(&self, from: u64, leaves: &[Vec<u8>], head: &Head, checkpoint: &str) -> Result<(), SinkError> {
        let epoch = match *self.role.lock().expect("role") {
            Role::Leader { epoch, fenced: true, .. } => epoch,
            _ => return Err(SinkError::NotLeader { leader: self.forward_to() }),
        };
        let blob = encode_bundle(leaves).map_err(|e| SinkError::Unavailable(e.to_string()))?;
        let mut writer = self.writer.lock().await;
        for _ in 0..RETRIES {
            if writer.is_none() {
                *writer = Some(
                    sql::Writer::connect(&self.config.url).await.map_err(|e| SinkError::Unavailable(e.to_string()))?,
                );
            }
            let w = writer.as_mut().expect("connected");
            let result = w.append(epoch, from, leaves.len() as u64, &blob, head.size, &head.root[..], checkpoint).await;
            match result {
                Ok(sql::Appended::Done) => return Ok(()),
                Ok(sql::Appended::Fenced) => {
                    self.step_down("the log head moved on under another epoch");
                    return Err(SinkError::NotLeader { leader: None });
                }
                Err(sql::AppendError::Refused { retry: true, .. }) => continue,
                // A connection that closed while idle (the database restarted or failed over):
                // nothing of this batch reached it; retry on a new one.
                Err(sql::AppendError::Refused { error, .. }) if error.is_closed() => {
                    *writer = None;
                }
                Err(sql::AppendError::Refused { error, .. }) => {
                    *writer = None;
                    return Err(SinkError::Unavailable(error.to_string()));
                }
                Err(sql::AppendError::Unknown(error)) => {
                    *writer = None;
                    // The batch may be in the log: catch up from it before leading again.
                    self.step_down("the outcome of a commit is unknown");
                    return Err(SinkError::Unknown(error.to_string()));
                }
            }
        }
        Err(SinkError::Unavailable(format!("{RETRIES} serialization failures in a row")))
    }
}

enum Caught {
    Database(tokio_postgres::Error),
    Ledger(LedgerError),
}

/// Applies one shared batch to the local ledger (on the blocking pool). Returns the local size.
async fn apply<S: Store>(ledger: &Arc<Ledger<S>>, batch: sql::Batch) -> Result<u64, LedgerError> {
    let ledger = ledger.clone();
    tokio::task::spawn_blocking(move || {
        let leaves: Vec<Vec<u8>> = decode_bundle(&batch.leaves)
            .map_err(|e| {
                LedgerError::Corrupt(crate::ledger::Damage::Entry { index: batch.first, reason: e.to_string() })
            })?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        ledger.apply_replicated(batch.first, leaves, &batch.checkpoint)
    })
    .await
    .map_err(|_| LedgerError::Poisoned)?
}

struct Sink(Arc<Node>);

impl LogSink for Sink {
    fn is_leader(&self) -> bool {
        self.0.is_leader()
    }
    fn leader_address(&self) -> Option<String> {
        self.0.forward_to()
    }
    fn append(&self, from: u64, leaves: &[Vec<u8>], head: &Head, checkpoint: &str) -> Result<(), SinkError> {
        // Called from the ledger's writer thread, outside the runtime.
        self.0.runtime.block_on(self.0.append(from, leaves, head, checkpoint))
    }
}

/// Fails unless the database at `url` is reachable and holds no log yet.
pub async fn check_empty(url: &str) -> anyhow::Result<()> {
    let client = sql::connect(url).await.map_err(|e| anyhow::anyhow!("cannot reach the log database {url}: {e}"))?;
    if let Ok(Some(head)) = sql::head(&client).await {
        anyhow::bail!(
            "the database already holds the log {:?} ({} entries); start another node of it with \
             greenledger serve --log URL --data DIR (DIR holding a copy of its log.key)",
            head.origin,
            head.size
        );
    }
    Ok(())
}

/// Writes a newly created ledger (its genesis entry) into an empty database as a new shared log.
pub async fn bootstrap<S: Store>(url: &str, ledger: &Ledger<S>) -> anyhow::Result<()> {
    check_empty(url).await?;
    let mut client = sql::connect(url).await?;
    let committed = ledger.committed();
    let leaves = ledger.log().leaves(0, committed.head.size)?;
    let blob = encode_bundle(&leaves)?;
    sql::bootstrap(
        &mut client,
        &committed.head.name,
        &ledger.verifier().to_string(),
        &blob,
        committed.head.size,
        &committed.head.root[..],
        &committed.checkpoint,
    )
    .await?;
    Ok(())
}
