//! A ledger written by the previous release (`tests/fixtures/ledger-v3/`: the demo, 660 entries,
//! its log stored as one key per leaf and per perfect subtree) is converted to C2SP tiles the
//! first time today's code opens it, and keeps its entries, root and signed checkpoint byte for
//! byte. Then it proves, audits and accepts new commands like a ledger made today. The fixture
//! itself is never written: the test works on a copy and checks the fixture is unchanged.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use greenledger::ledger::{Head, Ledger, ManualClock};
use greenledger::store::{keys, SledStore, Store};
use greenledger::testkit::files::{copy_tree, digest_tree};
use greenledger_core::codec;
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::merkle::{self, NodeId};
use greenledger_core::log::tiles::{decode_bundle, tile_hashes, TILE_WIDTH};
use greenledger_core::log::{open_checkpoint, NoteSigner, NoteVerifier};
use greenledger_core::proof::verify_json;
use greenledger_core::{Command, Role, Roles};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SIZE: u64 = 660;
const ROOT: &str = "u+2s8LW5DIa2w0F7nE98NZEP08AalSyE7xNHwpPWz0s=";
const NAME: &str = "demo.greenledger.local/park";

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ledger-v3")
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// Keys of the store that start with `prefix`.
fn keys_with(store: &SledStore, prefix: u8) -> Vec<Vec<u8>> {
    store.scan(&[prefix], &[prefix + 1], usize::MAX).unwrap().into_iter().map(|(k, _)| k).collect()
}

#[test]
fn the_previous_release_is_converted_to_tiles_and_keeps_its_root_and_checkpoint() {
    let before = digest_tree(&fixture());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    copy_tree(&fixture(), &dir);
    let store = Arc::new(SledStore::open(&dir.join("store")).unwrap());

    // As the previous release left it: no layout key, a key per leaf and per perfect subtree.
    assert_eq!(store.get(keys::LOG_FORMAT).unwrap(), None);
    let old_leaves: Vec<Vec<u8>> = (0..SIZE).map(|i| store.get(&keys::leaf(i)).unwrap().expect("leaf")).collect();
    let old_nodes = keys_with(&store, b'N').len();
    assert!(old_nodes as u64 >= 2 * SIZE - 10, "{old_nodes} node keys");
    let old_checkpoint = store.get(keys::CHECKPOINT).unwrap().unwrap();
    let old_head = store.get(keys::HEAD).unwrap().unwrap();

    let signer = NoteSigner::from_signer_key_str(read(&dir, "log.key").trim()).unwrap();
    let verifier = NoteVerifier::parse(read(&dir, "log.pub").trim()).unwrap();
    let head: Head = codec::decode(&old_head).unwrap();
    let clock = Arc::new(ManualClock::new(head.time + 3600));
    let ledger = Ledger::open(store.clone(), signer.clone(), clock.clone()).unwrap();

    // The head and the signed checkpoint are the same bytes; the root is the recorded one.
    assert_eq!(store.get(keys::HEAD).unwrap().unwrap(), old_head);
    assert_eq!(store.get(keys::CHECKPOINT).unwrap().unwrap(), old_checkpoint);
    assert_eq!(B64.encode(ledger.root_at(SIZE).unwrap()), ROOT);
    let (cp, _) = open_checkpoint(&ledger.checkpoint_note().unwrap(), &verifier).unwrap();
    assert_eq!((cp.origin.as_str(), cp.size, B64.encode(cp.root)), (NAME, SIZE, ROOT.to_string()));

    // The layout: two full entry bundles and level-0 tiles, the rest as right-edge records.
    assert_eq!(store.get(keys::LOG_FORMAT).unwrap(), Some(2u32.to_be_bytes().to_vec()));
    let full = SIZE / TILE_WIDTH;
    assert_eq!(keys_with(&store, b'E'), (0..full).map(keys::entry_bundle).collect::<Vec<_>>());
    assert_eq!(keys_with(&store, b'T'), (0..full).map(|i| keys::tile(0, i)).collect::<Vec<_>>());
    let right_leaves: Vec<Vec<u8>> = (full * TILE_WIDTH..SIZE).map(keys::leaf).collect();
    assert_eq!(keys_with(&store, b'L'), right_leaves);
    let mut right_nodes: Vec<Vec<u8>> = (full * TILE_WIDTH..SIZE).map(|i| keys::node(NodeId::leaf(i))).collect();
    right_nodes.extend((0..full).map(|i| keys::node(NodeId { level: 8, index: i })));
    right_nodes.sort();
    assert_eq!(keys_with(&store, b'N'), right_nodes, "only hashes of incomplete tiles remain");

    // Every entry is the old bytes, in bundles or right-edge records, and the tiles hold the
    // tree's hashes.
    let mut tree = merkle::MemTree::new();
    for (i, leaf) in old_leaves.iter().enumerate() {
        assert_eq!(&ledger.leaf(i as u64).unwrap(), leaf, "entry {i}");
        tree.push(leaf);
    }
    let bundle = store.get(&keys::entry_bundle(1)).unwrap().unwrap();
    assert_eq!(decode_bundle(&bundle).unwrap(), old_leaves[256..512].iter().map(Vec::as_slice).collect::<Vec<_>>());
    let tile = tile_hashes(&store.get(&keys::tile(0, 1)).unwrap().unwrap()).unwrap();
    for (j, h) in tile.iter().enumerate() {
        assert_eq!(*h, merkle::leaf_hash(&old_leaves[256 + j]));
    }
    assert_eq!(B64.encode(tree.root()), ROOT);
    for index in [0, 255, 256, 511, 512, 659] {
        let proof = ledger.inclusion_proof(index, SIZE).unwrap();
        merkle::verify_inclusion(index, SIZE, &merkle::leaf_hash(&old_leaves[index as usize]), &proof, &cp.root)
            .unwrap_or_else(|e| panic!("inclusion of {index}: {e}"));
    }
    // Today's rules replay it to exactly the stored state; old proof bundles still verify.
    assert_eq!(ledger.verify_full().unwrap().entries, SIZE);
    for file in ["proofs/C1.json", "proofs/C106.json"] {
        let v = verify_json(&read(&dir, file), read(&dir, "log.pub").trim(), &[], 0).unwrap();
        assert_eq!((v.checkpoint_size, B64.encode(v.checkpoint_root)), (SIZE, ROOT.to_string()));
    }

    // It accepts a new command; the new checkpoint extends the old one.
    let operator = Keypair::from_file_text(&read(&dir, "operator.key")).unwrap();
    let newcomer = Keypair::from_seed([42; 32]);
    let command = Command::RegisterAccount(cmd::RegisterAccount {
        account: newcomer.account(),
        name: "Wuxi Glass Works".into(),
        roles: Roles::of(&[Role::Consumer]),
    });
    let receipt = ledger.submit_batch(vec![operator.sign(NAME, 1 << 40, command)]).unwrap().remove(0).unwrap();
    assert_eq!((receipt.index.0, receipt.tree_size), (SIZE, SIZE + 1));
    drop(ledger);
    let ledger = Ledger::open(store.clone(), signer, clock).unwrap();
    let (new_cp, _) = open_checkpoint(&ledger.checkpoint_note().unwrap(), &verifier).unwrap();
    assert_eq!(new_cp.size, SIZE + 1);
    let proof = ledger.consistency_proof(SIZE, SIZE + 1).unwrap();
    merkle::verify_consistency(SIZE, SIZE + 1, &cp.root, &new_cp.root, &proof).unwrap();
    assert_eq!(ledger.verify_full().unwrap().entries, SIZE + 1);
    drop(ledger);
    drop(store);

    // The command line audits the converted directory.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args(["audit", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("AUDIT PASSED") && text.contains("661 entries"), "{text}");
    assert_eq!(digest_tree(&fixture()), before, "the fixture was modified in place");
}

/// A store whose conversion stopped part-way (a crash between its batches) finishes converting
/// on the next open: each batch is atomic and leaves are read from wherever they are.
#[test]
fn a_conversion_interrupted_between_batches_finishes_on_the_next_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    copy_tree(&fixture(), &dir);
    let store = Arc::new(SledStore::open(&dir.join("store")).unwrap());
    let head: Head = codec::decode(&store.get(keys::HEAD).unwrap().unwrap()).unwrap();
    let leaves: Vec<Vec<u8>> = (0..SIZE).map(|i| store.get(&keys::leaf(i)).unwrap().unwrap()).collect();
    // What the first batch of a conversion writes for the first bundle, then a crash.
    let mut pending = greenledger::store::Pending::default();
    let mut range = greenledger_core::log::tiles::CompactRange::new();
    for leaf in &leaves[..256] {
        greenledger::store::log::append(&*store, &mut pending, &mut range, leaf.clone()).unwrap();
    }
    store.commit(pending.into_batch()).unwrap();
    assert!(store.get(&keys::entry_bundle(0)).unwrap().is_some());
    assert!(store.get(&keys::leaf(0)).unwrap().is_none(), "the bundle's leaves moved into it");

    let signer = NoteSigner::from_signer_key_str(read(&dir, "log.key").trim()).unwrap();
    let ledger = Ledger::open(store.clone(), signer, Arc::new(ManualClock::new(head.time))).unwrap();
    assert_eq!(B64.encode(ledger.root_at(SIZE).unwrap()), ROOT);
    for (i, leaf) in leaves.iter().enumerate() {
        assert_eq!(&ledger.leaf(i as u64).unwrap(), leaf, "entry {i}");
    }
    assert_eq!(ledger.verify_full().unwrap().entries, SIZE);
}
