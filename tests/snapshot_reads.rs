//! Snapshot reads: every query answers from the state of one durable, signed checkpoint, and
//! never shows an entry that checkpoint does not cover.
//!
//! The store here makes each commit visible before it is durable, as sled does (its batch is
//! readable before its flush returns): it applies the batch, then pauses for the "flush". A
//! reader that did not wait for the commit would see bundles made by entries beyond the
//! checkpoint it reports, and fail to read those entries. Readers run `Ledger::read` while a
//! writer issues certificates as fast as it can, and check every answer against the head their
//! snapshot reports.

use greenledger::ledger::Ledger;
use greenledger::store::{Batch, MemStore, Rows, Store, StoreError};
use greenledger::testkit::World;
use greenledger_core::log::open_checkpoint;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The in-memory store with sled's order of events: visible first, durable a moment later.
#[derive(Default)]
struct VisibleBeforeDurable {
    inner: MemStore,
}

impl Store for VisibleBeforeDurable {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows, StoreError> {
        self.inner.scan(start, end, limit)
    }
    fn last_before(&self, start: &[u8], end: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
        self.inner.last_before(start, end)
    }
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.inner.commit(batch)?;
        std::thread::sleep(Duration::from_millis(2));
        Ok(())
    }
}

/// What one reader checked.
#[derive(Default)]
struct Seen {
    snapshots: u64,
    bundles: u64,
    largest: u64,
}

fn read_once(ledger: &Ledger<VisibleBeforeDurable>, world_owner: &greenledger_core::AccountId, seen: &mut Seen) {
    ledger.read(|head| {
        // The checkpoint served in this snapshot is the head's.
        let note = ledger.checkpoint_note().unwrap();
        let (cp, _) = open_checkpoint(&note, &ledger.verifier()).unwrap();
        assert_eq!((cp.size, cp.root), (head.size, head.root), "the checkpoint is the snapshot's");
        assert_eq!(ledger.size(), head.size, "the size does not move inside a snapshot");
        // Every bundle the owner holds was made and changed by entries the checkpoint covers,
        // and each of those entries can be read.
        for b in ledger.holdings(world_owner).unwrap() {
            for entry in &b.history {
                assert!(
                    entry.0 < head.size,
                    "bundle {} changed by entry {} but the snapshot's checkpoint has size {}",
                    b.id,
                    entry.0,
                    head.size
                );
            }
            let history = ledger.bundle_history(b.id).unwrap();
            assert_eq!(history.len(), b.history.len());
            seen.bundles += 1;
        }
        seen.snapshots += 1;
        seen.largest = seen.largest.max(head.size);
    });
}

#[test]
fn a_concurrent_reader_never_sees_beyond_its_checkpoint() {
    let mut world = World::on(Arc::new(VisibleBeforeDurable::default()));
    let ledger = world.ledger.clone();
    let owner = world.generator.account();
    let done = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (ledger, done) = (ledger.clone(), done.clone());
            std::thread::spawn(move || {
                let mut seen = Seen::default();
                while !done.load(Ordering::SeqCst) {
                    read_once(&ledger, &owner, &mut seen);
                }
                read_once(&ledger, &owner, &mut seen);
                seen
            })
        })
        .collect();
    for n in 0..120 {
        world.generation(n, 1_000_000);
        world.issue(n);
        commits.fetch_add(2, Ordering::SeqCst);
    }
    done.store(true, Ordering::SeqCst);
    let size = ledger.size();
    for r in readers {
        let seen = r.join().expect("a reader saw state beyond its checkpoint");
        assert!(seen.snapshots > 0 && seen.bundles > 0, "the reader read nothing");
        assert_eq!(seen.largest, size, "the last read sees the last checkpoint");
    }
    assert_eq!(world.holdings(&world.generator.clone()).len(), 120);
}

/// Entries and proofs are read without waiting for a commit (the log is append-only), but only
/// up to the committed size: an index at or beyond it is "not found" with the size named.
#[test]
fn entries_beyond_the_checkpoint_are_not_found() {
    let mut world = World::on(Arc::new(VisibleBeforeDurable::default()));
    world.generation(0, 1_000_000);
    let size = world.ledger.size();
    assert!(world.ledger.entry(size - 1).is_ok());
    let err = world.ledger.entry(size).unwrap_err().to_string();
    assert!(err.contains(&format!("entry {size} (tree size {size}) not found")), "{err}");
    let err = world.ledger.inclusion_proof(0, size + 1).unwrap_err().to_string();
    assert!(err.contains("beyond the current size"), "{err}");
}

/// Over gRPC, every state answer names the size of the checkpoint it was read at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_answers_name_their_checkpoint() {
    use greenledger::rpc::pb;
    let mut world = World::new();
    world.generation(0, 1_000_000);
    let bundle = world.issue(0);
    let server = world.serve().await;
    let mut client = greenledger::testkit::client::connect(&format!("http://{}", server.addr)).await.unwrap();
    let size = world.ledger.size();
    let who = world.generator.account().0.to_vec();
    let holdings = client.get_holdings(pb::AccountRequest { account: who.clone() }).await.unwrap().into_inner();
    assert_eq!((holdings.tree_size, holdings.bundles.len()), (size, 1));
    let account = client.get_account(pb::AccountRequest { account: who }).await.unwrap().into_inner();
    assert_eq!(account.tree_size, size);
    let id = holdings.bundles[0].id;
    let history = client.get_bundle_history(pb::BundleRequest { bundle: id }).await.unwrap().into_inner();
    assert_eq!(history.tree_size, size);
    assert_eq!(history.entries.last().map(|e| e.index), Some(bundle.index.0));
    let device = client
        .get_device(pb::DeviceRequest { device: greenledger::testkit::wind().0, from: 0, to: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((device.tree_size, device.readings.len()), (size, 1));
}
