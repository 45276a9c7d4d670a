//! Group commit: many submitters, one writer. Submissions queue on a bounded channel; the writer
//! thread takes everything queued (up to a limit) as one batch, so one flush acknowledges many
//! commands. Under light load a batch is a single command and latency is one flush.

use super::{Ledger, LedgerError, Outcome};
use crate::domain::command::SignedCommand;
use crate::store::Store;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Most commands decided and committed in one batch.
pub const DEFAULT_MAX_BATCH: usize = 4096;
/// Most submissions waiting for the writer before new ones are told to retry.
pub const QUEUE_DEPTH: usize = 8192;

type Reply = oneshot::Sender<Result<Vec<Outcome>, LedgerError>>;

struct Job {
    commands: Vec<SignedCommand>,
    reply: Reply,
}

/// Handle for submitting to the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct Sequencer {
    tx: SyncSender<Job>,
}

impl Sequencer {
    /// Starts the writer thread for `ledger`.
    pub fn start<S: Store>(ledger: Arc<Ledger<S>>, max_batch: usize) -> Sequencer {
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("greenledger-sequencer".into())
            .spawn(move || run(ledger, rx, max_batch.max(1)))
            .expect("spawn sequencer thread");
        Sequencer { tx }
    }

    /// Queues commands without waiting; the receiver yields their outcomes once durable.
    pub fn enqueue(&self, commands: Vec<SignedCommand>) -> Result<oneshot::Receiver<Result<Vec<Outcome>, LedgerError>>, LedgerError> {
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Job { commands, reply }) {
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

fn run<S: Store>(ledger: Arc<Ledger<S>>, rx: Receiver<Job>, max_batch: usize) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        let mut count = jobs[0].commands.len();
        while count < max_batch {
            match rx.try_recv() {
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
        for job in jobs {
            sizes.push(job.commands.len());
            all.extend(job.commands);
            replies.push(job.reply);
        }
        match ledger.submit_batch(all) {
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
