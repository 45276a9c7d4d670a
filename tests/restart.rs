//! Restart: a ledger on sled survives being closed and reopened with the same head, checkpoint
//! and state, continues at the right index, and its root equals the root recomputed from its
//! leaves. A store whose tree, head, leaves or checkpoint were tampered with is refused at open.

use greenledger::ledger::Damage;
use greenledger::ledger::{Head, Ledger, LedgerError, ManualClock};
use greenledger::store::{keys, MemStore, SledStore, Store};
use greenledger::testkit::*;
use greenledger_core::codec;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::{verify_consistency, MemTree, NodeId, NoteSigner};
use greenledger_core::replay::Replayer;
use greenledger_core::state::Bundle;
use greenledger_core::*;
use std::sync::Arc;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(clock_start()))
}

/// Participants whose state is compared: operator, meter, generator and the two consumers.
fn parties(cast: &Cast) -> [&Keypair; 5] {
    [&cast.operator, &cast.meter, &cast.generator, &cast.consumer, &cast.consumer2]
}

/// The kit's world on `store`, then `hours` hours of generation and issuance, sales of one
/// certificate of each hour alternating between the two consumers, and one retirement by each
/// consumer.
fn populate<S: Store>(store: Arc<S>, hours: u64) -> World<S> {
    let mut w = World::on(store);
    let (meter, gen, c1, c2) = (w.meter.clone(), w.generator.clone(), w.consumer.clone(), w.consumer2.clone());
    for h in 0..hours {
        w.ok(&meter, post_generation(wind(), hour(h), 2 * MWH + h * 100_000));
        w.ok(&gen, issue(wind(), hour(h)));
        let b = w.ledger.holdings(&gen.account()).unwrap().pop().unwrap();
        let to = [&c1, &c2][(h % 2) as usize];
        w.ok(&gen, transfer(b.id, SerialRange::new(b.serials.start.0, b.serials.start.0 + 1), to.account()));
    }
    for c in [&c1, &c2] {
        w.ok(&meter, post_consumption(c.account(), hour(0), 5 * MWH));
        let b = w.ledger.holdings(&c.account()).unwrap().remove(0);
        w.ok(c, retire(b.id, b.serials, "factory", "annual report", hour(0)));
    }
    w
}

/// Entries `populate(_, hours)` writes: genesis, six registrations, the device, three per hour,
/// two per consumer.
fn populated_size(hours: u64) -> u64 {
    1 + 6 + 1 + 3 * hours + 2 * 2
}

/// Everything a user can read about the state, per party.
fn state_of<S: Store>(l: &Ledger<S>) -> Vec<(Vec<Bundle>, Vec<state::Claim>)> {
    let read = |k: &Keypair| {
        let a = k.account();
        (l.holdings(&a).unwrap(), l.claims_of(&a).unwrap())
    };
    parties(&Cast::new()).into_iter().map(read).collect()
}

#[test]
fn sled_ledger_reopens_with_the_same_head_checkpoint_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let n = populate(store, 8);
    let before = n.ledger.committed();
    let note = n.ledger.checkpoint_note().unwrap();
    let state = state_of(&n.ledger);
    let meta = n.ledger.meta().unwrap();
    assert_eq!(before.head.size, populated_size(8));
    assert_eq!(state[3].1.len() + state[4].1.len(), 2, "two claims");
    drop(n);

    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    let ledger = Ledger::open(store, log_signer(), clock()).unwrap();
    let after = ledger.committed();
    assert_eq!(after.head, before.head);
    assert_eq!(after.checkpoint, before.checkpoint);
    assert_eq!(ledger.checkpoint_note().unwrap(), note);
    assert_eq!(state_of(&ledger), state);
    assert_eq!(ledger.meta().unwrap(), meta);

    // The root is the one recomputed from the stored leaves, and they replay to the same state.
    let size = after.head.size;
    let mut tree = MemTree::new();
    let mut replay = Replayer::new();
    for (_, leaf) in ledger.entries(0, size).unwrap() {
        tree.push(&leaf);
        replay.push(&leaf).unwrap();
    }
    assert_eq!(tree.root(), after.head.root);
    for b in replay.state.bundles.values() {
        assert_eq!(&ledger.bundle(b.id).unwrap(), b);
    }

    // A new command continues at the next index, and the log only grew.
    let post = Cast::new().meter.sign(LEDGER, 1000, post_generation(wind(), hour(8), MWH));
    let r = ledger.submit_batch(vec![post]).unwrap().pop().unwrap().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((r.index, r.tree_size), (LeafIndex(size), size + 1));
    let new = ledger.committed().head;
    let proof = ledger.consistency_proof(size, new.size).unwrap();
    verify_consistency(size, new.size, &after.head.root, &new.root, &proof).unwrap();
    tree.push(&ledger.leaf(size).unwrap());
    assert_eq!(tree.root(), new.root);
}

/// Builds a ledger on a fresh memory store, lets `tamper` change the stored bytes, and returns
/// the message of the `Corrupt` error with which `Ledger::open` refuses it.
fn corrupt(tamper: impl Fn(&MemStore, &Head)) -> String {
    let store = Arc::new(MemStore::new());
    let n = populate(store.clone(), 3);
    let head = n.ledger.committed().head;
    drop(n);
    assert!(Ledger::open(store.clone(), log_signer(), clock()).is_ok(), "untampered store");
    tamper(&store, &head);
    match Ledger::open(store, log_signer(), clock()) {
        Err(LedgerError::Corrupt(damage)) => damage.to_string(),
        Err(e) => panic!("expected a corrupt store, got {e}"),
        Ok(_) => panic!("a tampered store was opened"),
    }
}

fn put_head(store: &MemStore, head: &Head) {
    store.raw_put(keys::HEAD, &codec::encode(head));
}

/// A stored tree hash the root depends on: with fewer than 256 entries, the first leaf hash of
/// the partial level-0 tile, kept as a right-edge record.
fn top_node(size: u64) -> NodeId {
    assert!(size < 256, "the set-up stays inside the first tile");
    NodeId::leaf(0)
}

#[test]
fn tampered_store_is_refused_at_open() {
    // `populate(_, 3)` makes `populated_size(3)` entries.
    let msg = corrupt(|s, h| put_head(s, &Head { root: [7; 32], ..h.clone() }));
    assert!(msg.contains("differs from the stored head"), "{msg}");
    let msg = corrupt(|s, h| put_head(s, &Head { size: h.size - 1, ..h.clone() }));
    assert!(msg.contains("differs from the stored head"), "{msg}");
    let msg = corrupt(|s, h| s.raw_put(&keys::node(top_node(h.size)), &[0; 32]));
    assert!(msg.contains("differs from the stored head"), "{msg}");
    let msg = corrupt(|s, h| s.raw_delete(&keys::node(top_node(h.size))));
    assert!(msg.contains("missing"), "{msg}");
    let msg = corrupt(|s, h| s.raw_delete(&keys::leaf(h.size - 1)));
    assert!(msg.contains(&format!("entry {} is missing", populated_size(3) - 1)), "{msg}");
    let msg = corrupt(|s, h| s.raw_put(&keys::leaf(h.size), b"forged"));
    assert!(msg.contains("beyond the tree head"), "{msg}");
    let msg = corrupt(|s, _| s.raw_delete(keys::CHECKPOINT));
    assert!(msg.contains("checkpoint is missing"), "{msg}");
    let msg = corrupt(|s, h| {
        let note = String::from_utf8(s.get(keys::CHECKPOINT).unwrap().unwrap()).unwrap();
        let forged = note.replacen(&format!("\n{}\n", h.size), "\n99\n", 1);
        assert_ne!(forged, note);
        s.raw_put(keys::CHECKPOINT, forged.as_bytes());
    });
    assert!(msg.contains("stored checkpoint"), "{msg}");
}

#[test]
fn store_opened_with_another_log_key_is_refused() {
    let store = Arc::new(MemStore::new());
    drop(populate(store.clone(), 2));
    let other = NoteSigner::new(LEDGER, ed25519_dalek::SigningKey::from_bytes(&[98; 32])).unwrap();
    match Ledger::open(store.clone(), other, clock()) {
        Err(LedgerError::Corrupt(Damage::Checkpoint(msg))) => assert!(msg.contains("stored checkpoint"), "{msg}"),
        other => panic!("expected a corrupt store, got {:?}", other.err()),
    }
    let named = NoteSigner::new("other.example", ed25519_dalek::SigningKey::from_bytes(&[99; 32]));
    match Ledger::open(store, named.unwrap(), clock()) {
        Err(LedgerError::Corrupt(Damage::WrongKey { key, .. })) => assert_eq!(key, "other.example"),
        other => panic!("expected a corrupt store, got {:?}", other.err()),
    }
}
