//! Group commit: many submitters, one writer. Submissions queue on a bounded channel; the writer
//! thread takes everything queued (up to a limit) as one batch, so one flush acknowledges many
//! commands. Under light load a batch is a single command and latency is one flush.

use super::{Ledger, LedgerError, Outcome};
use crate::metrics::Metrics;
use crate::store::Store;
use greenledger_core::command::SignedCommand;
use greenledger_core::crypto::{self, Authenticated, SignatureError};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// Most commands decided and committed in one batch.
pub const DEFAULT_MAX_BATCH: usize = 4096;
/// Most submissions waiting for the writer before new ones are told to retry.
pub const QUEUE_DEPTH: usize = 8192;

type Reply = oneshot::Sender<Result<Vec<Outcome>, LedgerError>>;

struct Job {
    commands: Vec<SignedCommand>,
    reply: Reply,
    /// All-or-nothing jobs run as a batch of their own.
    atomic: bool,
}

/// Handle for submitting to the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct Sequencer {
    tx: SyncSender<Job>,
    metrics: Arc<Metrics>,
}

impl Sequencer {
    /// Starts the writer thread for `ledger`.
    pub fn start<S: Store>(ledger: Arc<Ledger<S>>, max_batch: usize) -> Sequencer {
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE_DEPTH);
        let metrics = Arc::new(Metrics::new());
        let m = metrics.clone();
        std::thread::Builder::new()
            .name("greenledger-sequencer".into())
            .spawn(move || run(ledger, rx, max_batch.max(1), m))
            .expect("spawn sequencer thread");
        Sequencer { tx, metrics }
    }

    /// What this sequencer counted: outcomes, batches, its queue.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Queues commands without waiting; the receiver yields their outcomes once durable.
    pub fn enqueue(
        &self,
        commands: Vec<SignedCommand>,
    ) -> Result<oneshot::Receiver<Result<Vec<Outcome>, LedgerError>>, LedgerError> {
        self.enqueue_job(commands, false)
    }

    /// Queues an all-or-nothing batch (see [`Ledger::submit_atomic`]).
    pub fn enqueue_atomic(
        &self,
        commands: Vec<SignedCommand>,
    ) -> Result<oneshot::Receiver<Result<Vec<Outcome>, LedgerError>>, LedgerError> {
        self.enqueue_job(commands, true)
    }

    fn enqueue_job(
        &self,
        commands: Vec<SignedCommand>,
        atomic: bool,
    ) -> Result<oneshot::Receiver<Result<Vec<Outcome>, LedgerError>>, LedgerError> {
        let (reply, rx) = oneshot::channel();
        // Counted before sending so the writer's decrement never comes first.
        self.metrics.queue_depth().inc();
        let sent = self.tx.try_send(Job { commands, reply, atomic });
        if sent.is_err() {
            self.metrics.queue_depth().dec();
        }
        match sent {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(LedgerError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(LedgerError::Poisoned),
        }
    }

    /// Submits commands and waits until they are durable (or refused).
    pub async fn submit(&self, commands: Vec<SignedCommand>) -> Result<Vec<Outcome>, LedgerError> {
        let rx = self.enqueue(commands)?;
        rx.await.map_err(|_| LedgerError::Poisoned)?
    }

    /// Blocking form of [`Sequencer::submit`], for threads outside an async runtime.
    pub fn submit_blocking(&self, commands: Vec<SignedCommand>) -> Result<Vec<Outcome>, LedgerError> {
        let rx = self.enqueue(commands)?;
        rx.blocking_recv().map_err(|_| LedgerError::Poisoned)?
    }
}

/// What the verifying stage hands to the writing stage, in queue order.
enum Verified {
    Batch {
        verified: Vec<Result<Authenticated, SignatureError>>,
        /// The kind of each command, for the metrics (a refused signature hides the command).
        kinds: Vec<&'static str>,
        sizes: Vec<usize>,
        replies: Vec<Reply>,
    },
    Atomic {
        commands: Vec<SignedCommand>,
        reply: Reply,
    },
}

fn run<S: Store>(ledger: Arc<Ledger<S>>, rx: Receiver<Job>, max_batch: usize, metrics: Arc<Metrics>) {
    // Performance: two stages. This thread collects a batch and verifies its signatures while
    // the writer thread decides and commits the previous batch; verification reads no state, so
    // every outcome is what verifying inside the writer gives. The hand-over channel holds one
    // batch: at most one verified batch waits while another is being written. Measured in
    // BENCHMARKS.md (signature checks were about 30% of the single writer's time).
    let (wtx, wrx) = mpsc::sync_channel::<Verified>(1);
    let depth = metrics.queue_depth().clone();
    let writer = {
        let ledger = ledger.clone();
        std::thread::Builder::new()
            .name("greenledger-writer".into())
            .spawn(move || write(ledger, wrx, metrics))
            .expect("spawn writer thread")
    };
    let name = ledger.name();
    let took = |job: Job| {
        depth.dec();
        job
    };
    let mut held: Option<Job> = None;
    while let Some(first) = held.take().or_else(|| rx.recv().ok().map(took)) {
        if first.atomic {
            if wtx.send(Verified::Atomic { commands: first.commands, reply: first.reply }).is_err() {
                break;
            }
            continue;
        }
        let mut jobs = vec![first];
        let mut count = jobs[0].commands.len();
        while count < max_batch {
            match rx.try_recv().map(took) {
                Ok(job) if job.atomic => {
                    held = Some(job);
                    break;
                }
                Ok(job) => {
                    count += job.commands.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let mut all = Vec::with_capacity(count);
        let mut sizes = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let kinds = jobs.iter().flat_map(|j| &j.commands).map(|c| c.body.command.kind()).collect();
        for job in jobs {
            sizes.push(job.commands.len());
            all.extend(job.commands);
            replies.push(job.reply);
        }
        let verified = crypto::verify_many(&name, all);
        if wtx.send(Verified::Batch { verified, kinds, sizes, replies }).is_err() {
            break;
        }
    }
    drop(wtx);
    let _ = writer.join();
}

fn write<S: Store>(ledger: Arc<Ledger<S>>, rx: Receiver<Verified>, metrics: Arc<Metrics>) {
    // Counts a batch that was decided and committed (a storage failure counts nothing).
    let count = |kinds: &[&'static str], started: Instant, result: &Result<Vec<Outcome>, LedgerError>| {
        if let Ok(outcomes) = result {
            metrics.observe_batch(kinds.len(), started.elapsed().as_secs_f64());
            metrics.count_outcomes(kinds, outcomes);
        }
    };
    while let Ok(v) = rx.recv() {
        let started = Instant::now();
        let (verified, kinds, sizes, replies) = match v {
            Verified::Atomic { commands, reply } => {
                let kinds: Vec<_> = commands.iter().map(|c| c.body.command.kind()).collect();
                let result = ledger.submit_atomic(commands);
                count(&kinds, started, &result);
                let _ = reply.send(result);
                continue;
            }
            Verified::Batch { verified, kinds, sizes, replies } => (verified, kinds, sizes, replies),
        };
        let result = ledger.submit_verified(verified);
        count(&kinds, started, &result);
        match result {
            Ok(outcomes) => {
                let mut it = outcomes.into_iter();
                for (n, reply) in sizes.into_iter().zip(replies) {
                    let _ = reply.send(Ok(it.by_ref().take(n).collect()));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}
