//! The shared log's tables and every statement on them. Portable SQL: plain tables, single-row
//! compare-and-swap `UPDATE`s, `now()` for lease time, no advisory locks, no `LISTEN`, no
//! PostgreSQL-only types (BYTEA, BIGINT, TEXT, TIMESTAMPTZ exist in CockroachDB and YugabyteDB).
//!
//! | table | rows | what |
//! |---|---|---|
//! | `log_head` | one (`id = 1`) | origin, log key, `size`, `root`, the signed `checkpoint` of that size, and the fencing `epoch` |
//! | `log_batches` | one per committed batch | `first_index`, `count`, `leaves` (each leaf after its big-endian uint16 length, as a C2SP entry bundle), the signed `checkpoint` after the batch |
//! | `lease` | one (`id = 1`) | `holder`, its advertised `address`, `epoch`, `expires_at` (database time) |
//! | `published` | one per published checkpoint kept | `size`, the signed `note` ([`super::publish`]) |
//! | `cosignatures` | per published checkpoint and witness | `size`, the `witness` verifier key, its cosignature `line` |
//! | `witness_acks` | one per witness | the `size` the `witness` last acknowledged |

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

/// Creates the tables if they are missing.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log_head (
    id INT PRIMARY KEY,
    origin TEXT NOT NULL,
    log_key TEXT NOT NULL,
    size BIGINT NOT NULL,
    root BYTEA NOT NULL,
    checkpoint TEXT NOT NULL,
    epoch BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS log_batches (
    first_index BIGINT PRIMARY KEY,
    count INT NOT NULL,
    leaves BYTEA NOT NULL,
    checkpoint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lease (
    id INT PRIMARY KEY,
    holder TEXT NOT NULL,
    address TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS published (
    size BIGINT PRIMARY KEY,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cosignatures (
    size BIGINT NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);
CREATE TABLE IF NOT EXISTS witness_acks (
    witness TEXT PRIMARY KEY,
    size BIGINT NOT NULL
);
";

/// Opens a connection; its I/O runs as a task on the current runtime.
pub async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "log database connection closed");
        }
    });
    Ok(client)
}

/// The shared head.
#[derive(Clone, Debug)]
pub struct SharedHead {
    pub origin: String,
    pub log_key: String,
    pub size: u64,
    pub checkpoint: String,
    pub epoch: i64,
}

pub async fn head(client: &Client) -> Result<Option<SharedHead>, tokio_postgres::Error> {
    let row =
        client.query_opt("SELECT origin, log_key, size, checkpoint, epoch FROM log_head WHERE id = 1", &[]).await?;
    Ok(row.map(|r| SharedHead {
        origin: r.get(0),
        log_key: r.get(1),
        size: r.get::<_, i64>(2) as u64,
        checkpoint: r.get(3),
        epoch: r.get(4),
    }))
}

/// Writes the first batch (the genesis entry) and the head of a new shared log, with an
/// expired lease. Fails when the database already holds a log (the head's primary key).
pub async fn bootstrap(
    client: &mut Client,
    origin: &str,
    log_key: &str,
    leaves: &[u8],
    count: u64,
    root: &[u8],
    checkpoint: &str,
) -> Result<(), tokio_postgres::Error> {
    client.batch_execute(SCHEMA).await?;
    let tx = client.transaction().await?;
    tx.execute(
        "INSERT INTO log_head (id, origin, log_key, size, root, checkpoint, epoch) VALUES (1, $1, $2, $3, $4, $5, 0)",
        &[&origin, &log_key, &(count as i64), &root, &checkpoint],
    )
    .await?;
    tx.execute(
        "INSERT INTO log_batches (first_index, count, leaves, checkpoint) VALUES (0, $1, $2, $3)",
        &[&(count as i32), &leaves, &checkpoint],
    )
    .await?;
    tx.execute(
        "INSERT INTO lease (id, holder, address, epoch, expires_at) VALUES (1, '', '', 0, now() - INTERVAL '1 second')",
        &[],
    )
    .await?;
    tx.commit().await
}

/// How a batch commit ended.
#[derive(Debug)]
pub enum Appended {
    /// Committed.
    Done,
    /// The head's epoch or size is not ours: another node took over. Nothing was written.
    Fenced,
}

/// Where a failed commit failed: before `COMMIT` was answered by the server (nothing written)
/// or with the connection lost during it (unknown).
#[derive(Debug)]
pub enum AppendError {
    /// The database refused or failed the transaction: nothing was written. `retry` for a
    /// serialization failure (SQLSTATE 40001), which a retry may pass.
    Refused { error: tokio_postgres::Error, retry: bool },
    /// The outcome of `COMMIT` is unknown.
    Unknown(tokio_postgres::Error),
}

fn refused(error: tokio_postgres::Error) -> AppendError {
    let retry = error.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE);
    AppendError::Refused { error, retry }
}

/// Prepared statements of the writer's connection.
pub struct Writer {
    pub client: Client,
    cas: tokio_postgres::Statement,
    insert: tokio_postgres::Statement,
}

impl Writer {
    pub async fn connect(url: &str) -> Result<Writer, tokio_postgres::Error> {
        let client = connect(url).await?;
        let cas = client
            .prepare(
                "UPDATE log_head SET size = $1, root = $2, checkpoint = $3 WHERE id = 1 AND epoch = $4 AND size = $5",
            )
            .await?;
        let insert = client
            .prepare("INSERT INTO log_batches (first_index, count, leaves, checkpoint) VALUES ($1, $2, $3, $4)")
            .await?;
        Ok(Writer { client, cas, insert })
    }

    /// The batch and the head in one transaction; the head's `UPDATE` is a compare-and-swap on
    /// (epoch, size), done first so that a fenced leader writes nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn append(
        &mut self,
        epoch: i64,
        from: u64,
        count: u64,
        leaves: &[u8],
        size: u64,
        root: &[u8],
        checkpoint: &str,
    ) -> Result<Appended, AppendError> {
        let tx = self.client.transaction().await.map_err(refused)?;
        let swapped = tx
            .execute(&self.cas, &[&(size as i64), &root, &checkpoint, &epoch, &(from as i64)])
            .await
            .map_err(refused)?;
        if swapped != 1 {
            tx.rollback().await.map_err(refused)?;
            return Ok(Appended::Fenced);
        }
        tx.execute(&self.insert, &[&(from as i64), &(count as i32), &leaves, &checkpoint]).await.map_err(refused)?;
        match tx.commit().await {
            Ok(()) => Ok(Appended::Done),
            // The server answered: the transaction did not commit.
            Err(e) if e.code().is_some() => Err(refused(e)),
            Err(e) => Err(AppendError::Unknown(e)),
        }
    }
}

/// The lease as the database sees it now.
#[derive(Clone, Debug)]
pub struct Lease {
    pub holder: String,
    pub address: String,
    pub epoch: i64,
    pub live: bool,
}

pub async fn lease(client: &Client) -> Result<Option<Lease>, tokio_postgres::Error> {
    let row =
        client.query_opt("SELECT holder, address, epoch, expires_at > now() FROM lease WHERE id = 1", &[]).await?;
    Ok(row.map(|r| Lease { holder: r.get(0), address: r.get(1), epoch: r.get(2), live: r.get(3) }))
}

/// Takes the lease if it has expired: the new epoch, or `None` when another node holds it.
pub async fn acquire(
    client: &Client,
    holder: &str,
    address: &str,
    ttl_ms: i64,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "UPDATE lease SET holder = $1, address = $2, epoch = epoch + 1, \
             expires_at = now() + $3::BIGINT * INTERVAL '1 millisecond' \
             WHERE id = 1 AND expires_at < now() RETURNING epoch",
            &[&holder, &address, &ttl_ms],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Extends a held lease; false when it is no longer ours.
pub async fn renew(client: &Client, holder: &str, epoch: i64, ttl_ms: i64) -> Result<bool, tokio_postgres::Error> {
    let n = client
        .execute(
            "UPDATE lease SET expires_at = now() + $3::BIGINT * INTERVAL '1 millisecond' \
             WHERE id = 1 AND holder = $1 AND epoch = $2",
            &[&holder, &epoch, &ttl_ms],
        )
        .await?;
    Ok(n == 1)
}

/// Gives a held lease up at once (a clean shutdown), so another node need not wait for it to
/// expire.
pub async fn release(client: &Client, holder: &str, epoch: i64) -> Result<(), tokio_postgres::Error> {
    client
        .execute("UPDATE lease SET expires_at = now() WHERE id = 1 AND holder = $1 AND epoch = $2", &[&holder, &epoch])
        .await?;
    Ok(())
}

/// Fences the head with a new epoch: from now on only a commit with this epoch can advance it.
/// Returns the head's size, or `None` when a newer epoch is already there.
pub async fn fence(client: &Client, epoch: i64) -> Result<Option<u64>, tokio_postgres::Error> {
    let row = client
        .query_opt("UPDATE log_head SET epoch = $1 WHERE id = 1 AND epoch < $1 RETURNING size", &[&epoch])
        .await?;
    Ok(row.map(|r| r.get::<_, i64>(0) as u64))
}

/// One committed batch.
pub struct Batch {
    pub first: u64,
    pub leaves: Vec<u8>,
    pub checkpoint: String,
}

/// Committed batches from the one holding entry `from` on, in order, at most `limit`.
pub async fn batches_from(client: &Client, from: u64, limit: i64) -> Result<Vec<Batch>, tokio_postgres::Error> {
    const SELECT: &str = "SELECT first_index, leaves, checkpoint FROM log_batches";
    let row =
        |r: tokio_postgres::Row| Batch { first: r.get::<_, i64>(0) as u64, leaves: r.get(1), checkpoint: r.get(2) };
    let at = from as i64;
    let mut rows: Vec<Batch> = client
        .query(&format!("{SELECT} WHERE first_index >= $1 ORDER BY first_index LIMIT $2"), &[&at, &limit])
        .await?
        .into_iter()
        .map(row)
        .collect();
    if rows.first().map(|b| b.first) != Some(from) && from > 0 {
        // `from` lies inside a batch (a node that stopped mid-way never does; kept for safety):
        // that batch first; the ledger skips what it holds.
        let holding = client
            .query_opt(&format!("{SELECT} WHERE first_index < $1 ORDER BY first_index DESC LIMIT 1"), &[&at])
            .await?;
        if let Some(r) = holding {
            rows.insert(0, row(r));
        }
    }
    Ok(rows)
}
