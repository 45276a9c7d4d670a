//! A C2SP tlog-witness (<https://c2sp.org/tlog-witness>) over HTTP, for any C2SP log whose
//! checkpoints are signed with an Ed25519 note key (type `0x01`): a greenledger ledger, the Go
//! checksum database, or any other log that is configured by its origin and key.
//!
//! | route | what |
//! |---|---|
//! | `POST /add-checkpoint` | old size, consistency proof and signed checkpoint in; this witness's cosignature line out (`200`), or `400` malformed, `403` bad log signature, `404` unknown origin, `409` another size is held (body: that size, `Content-Type: text/x.tlog.size`), `422` inconsistent |
//! | `GET /<origin hash>/checkpoint` | the latest checkpoint cosigned for a log (lowercase hex SHA-256 of the origin), with the log's signatures and this witness's cosignature; `404` before the first |
//!
//! The decision is the core's [`greenledger_core::log::witness::decide`]; this module adds the
//! HTTP routes ([`server`]) and the durable state, one file per log ([`store`]). Each request
//! for a log is one compare-and-swap: the log's lock is held from reading the held size to the
//! durable write of the new checkpoint, and the cosignature is sent only after that write.
//! Cosignatures are tlog-cosignature v1 (Ed25519, type `0x04`), timestamped with the clock of
//! [`WitnessConfig::clock`].
//!
//! # In-process use
//!
//! Tests and tools start a witness on any free port and read its address and key from the
//! returned [`RunningWitness`]; any number of witnesses can run in one process, each with its
//! own data directory:
//!
//! ```no_run
//! # async fn example(log_key: greenledger_core::log::NoteVerifier) -> anyhow::Result<()> {
//! use greenledger::witness::{spawn, WitnessConfig};
//! use greenledger_core::log::Cosigner;
//!
//! let dir = tempfile::tempdir()?;
//! let cosigner = Cosigner::generate("witness.example/w1", &mut rand_core::OsRng)?;
//! let origin = log_key.name().to_string(); // a greenledger log's origin is its key name
//! let config = WitnessConfig::new(cosigner, dir.path()).log(&origin, log_key);
//! let w = spawn(config, tokio::net::TcpListener::bind("127.0.0.1:0").await?).await?;
//! // POST format_add_checkpoint(..) to w.add_checkpoint_url(); check cosignatures with
//! // w.verifier().
//! println!("{} {}", w.url(), w.verifier());
//! w.stop().await?;
//! # Ok(()) }
//! ```
//!
//! Reopening the same data directory later (a restart) keeps each log's held checkpoint.

pub mod server;
pub mod store;

use crate::ledger::{Clock, SystemClock};
use greenledger_core::log::witness::ADD_CHECKPOINT_PATH;
use greenledger_core::log::{CosignatureVerifier, Cosigner, NoteVerifier};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;

/// What a witness needs: its cosigning key, the logs it witnesses, where it keeps their state
/// and its clock.
#[derive(Clone)]
pub struct WitnessConfig {
    pub cosigner: Cosigner,
    /// `(origin, log key)`; an origin given more than once trusts each of its keys.
    pub logs: Vec<(String, NoteVerifier)>,
    /// The data directory (created if missing).
    pub data: PathBuf,
    /// The time of each cosignature.
    pub clock: Arc<dyn Clock>,
}

impl WitnessConfig {
    /// A witness with no logs yet, keeping its state in `data`, on the system clock.
    pub fn new(cosigner: Cosigner, data: impl AsRef<Path>) -> Self {
        WitnessConfig { cosigner, logs: Vec::new(), data: data.as_ref().to_path_buf(), clock: Arc::new(SystemClock) }
    }

    /// Also witness the log of `origin`, whose checkpoints `key` signs.
    pub fn log(mut self, origin: &str, key: NoteVerifier) -> Self {
        self.logs.push((origin.to_string(), key));
        self
    }

    /// Cosign with the times of `clock`.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl std::fmt::Debug for WitnessConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessConfig")
            .field("cosigner", &self.cosigner)
            .field("logs", &self.logs)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

/// Serves the witness on `listener` until `shutdown` completes. `ready` is called once the
/// state is loaded, with the size held for each log (zero for none), before the first request
/// is read.
pub async fn serve(
    config: WitnessConfig,
    listener: TcpListener,
    ready: impl FnOnce(&[(String, u64)]),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let data = config.data.clone();
    let witness = tokio::task::spawn_blocking(move || server::Witness::open(config)).await??;
    let witness = Arc::new(witness);
    ready(&witness.held_sizes().await);
    tracing::info!(addr = %listener.local_addr()?, data = %data.display(), "witness serving");
    axum::serve(listener, server::router(witness)).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

/// A witness serving in the background of the current runtime.
pub struct RunningWitness {
    addr: SocketAddr,
    verifier: CosignatureVerifier,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningWitness {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`: the submission and monitoring prefix.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://<addr>/add-checkpoint`.
    pub fn add_checkpoint_url(&self) -> String {
        format!("{}{ADD_CHECKPOINT_PATH}", self.url())
    }

    /// The key that verifies its cosignatures.
    pub fn verifier(&self) -> &CosignatureVerifier {
        &self.verifier
    }

    /// Stops accepting requests and waits for those in flight.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await?
    }
}

/// Starts a witness on `listener` (bind `127.0.0.1:0` for any free port) in the background.
/// Returns once its state is loaded; a data directory that cannot be read is an error here.
pub async fn spawn(config: WitnessConfig, listener: TcpListener) -> anyhow::Result<RunningWitness> {
    let addr = listener.local_addr()?;
    let verifier = config.cosigner.verifier();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (loaded, is_loaded) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(
        config,
        listener,
        move |_| {
            let _ = loaded.send(());
        },
        async {
            let _ = stopped.await;
        },
    ));
    if is_loaded.await.is_err() {
        // The task ended before it was ready: return its error.
        return Err(task.await?.err().unwrap_or_else(|| anyhow::anyhow!("the witness stopped before serving")));
    }
    Ok(RunningWitness { addr, verifier, stop: Some(stop), task })
}
