//! Compatibility with a ledger written by an earlier release: `tests/fixtures/ledger-v1/` (the
//! demo, 659 entries, leaf format `GLE\x01`, written before the core crate existed; see its
//! README). Each test copies the fixture to a temporary directory, because sled writes on open,
//! and shows with today's code that the ledger
//!
//! - opens: its stored tree head, tree nodes and signed checkpoint agree on size 659 and the
//!   recorded root, and every leaf decodes and re-encodes to the same bytes;
//! - passes a full audit (every entry replayed, the root compared with the signed checkpoint),
//!   through the library and through `greenledger audit --data`;
//! - has claim proof bundles and a signed park statement that verify offline with `log.pub`;
//! - accepts a new command after reopening, with a consistency proof from size 659.
//!
//! The fixture itself is never written: every test checks that its files are unchanged.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use greenledger::audit;
use greenledger::ledger::{Head, Ledger, ManualClock, StoredNodes, STATE_FORMAT};
use greenledger::store::{keys, Batch, SledStore, Store};
use greenledger::testkit::files::{copy_tree, digest_tree};
use greenledger_core::accounting::signed::open_statement;
use greenledger_core::codec;
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::merkle::{self, NodeId, NodeReader};
use greenledger_core::log::{checkpoint, open_checkpoint, NoteSigner, NoteVerifier};
use greenledger_core::proof::verify_json;
use greenledger_core::{Command, Role, Roles, Timestamp};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SIZE: u64 = 659;
const ROOT: &str = "6Om+j4NbRrhyoGxPrkplUvgNFHPASQI71u9xmUeknCU=";
const NAME: &str = "demo.greenledger.local/park";

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ledger-v1")
}

/// A temporary copy of the fixture; on drop, checks that the fixture itself was not modified.
struct Copy {
    dir: tempfile::TempDir,
    before: BTreeMap<PathBuf, [u8; 32]>,
}

impl Copy {
    fn new() -> Copy {
        let before = digest_tree(&fixture());
        assert!(before.contains_key(Path::new("store/db")), "the fixture's sled store is missing");
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&fixture(), &dir.path().join("ledger"));
        Copy { dir, before }
    }
    fn path(&self) -> PathBuf {
        self.dir.path().join("ledger")
    }
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).unwrap()
    }
    fn log_key(&self) -> String {
        self.read("log.pub").trim().to_string()
    }
    fn verifier(&self) -> NoteVerifier {
        NoteVerifier::parse(&self.log_key()).unwrap()
    }
    fn store(&self) -> SledStore {
        SledStore::open(&self.path().join("store")).unwrap()
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_eq!(digest_tree(&fixture()), self.before, "the fixture was modified in place");
        }
    }
}

fn head_of<S: Store>(store: &S) -> Head {
    codec::decode(&store.get(keys::HEAD).unwrap().expect("a tree head")).unwrap()
}

#[test]
fn opens_with_its_size_root_and_signed_checkpoint() {
    let copy = Copy::new();
    let store = copy.store();
    let head = head_of(&store);
    assert_eq!(head.name, NAME);
    assert_eq!(head.size, SIZE);
    assert_eq!(B64.encode(head.root), ROOT);
    // The root recomputed from the stored tree nodes.
    assert_eq!(merkle::root(SIZE, &StoredNodes(&store)).unwrap(), head.root);
    // The stored checkpoint is signed by the log key in log.pub and names the same tree.
    let note = audit::store_checkpoint(&store).unwrap();
    let (cp, _) = open_checkpoint(&note, &copy.verifier()).unwrap();
    assert_eq!((cp.origin.as_str(), cp.size, B64.encode(cp.root)), (NAME, SIZE, ROOT.to_string()));
    // Every leaf is there, decodes with today's codec, re-encodes to the same bytes and hashes
    // to its stored leaf node; there is no leaf beyond the head.
    let mut kinds = std::collections::BTreeSet::new();
    for i in 0..SIZE {
        let leaf = store.get(&keys::leaf(i)).unwrap().unwrap_or_else(|| panic!("entry {i} missing"));
        let entry = codec::decode_leaf(&leaf).unwrap_or_else(|e| panic!("entry {i}: {e}"));
        assert_eq!(codec::leaf_bytes(&entry), leaf, "entry {i} re-encodes differently");
        assert_eq!(StoredNodes(&store).node(NodeId::leaf(i)).unwrap(), merkle::leaf_hash(&leaf), "entry {i}");
        kinds.insert(entry.signed.body.command.kind());
    }
    assert!(store.get(&keys::leaf(SIZE)).unwrap().is_none());
    assert!(kinds.len() >= 10, "the fixture holds only {kinds:?}");

    // The ledger's own opening check refuses a key that did not sign the stored checkpoint.
    let stranger = NoteSigner::new(NAME, ed25519_dalek::SigningKey::from_bytes(&[9; 32])).unwrap();
    let err = Ledger::open(Arc::new(store), stranger, Arc::new(ManualClock::new(0))).err().expect("refused");
    assert!(err.to_string().contains("stored checkpoint"), "{err}");
}

#[test]
fn passes_a_full_audit() {
    let copy = Copy::new();
    let store = copy.store();
    let note = audit::store_checkpoint(&store).unwrap();
    let now = Timestamp(head_of(&store).time + 86_400);
    let mut calls = 0u64;
    let report = audit::audit(
        audit::store_leaves(&store, SIZE),
        &note,
        &copy.log_key(),
        None,
        &mut audit::StoreProofs(&store),
        now,
        &mut |_, _| calls += 1,
    )
    .unwrap();
    assert_eq!(report.entries, SIZE);
    assert_eq!(calls, SIZE, "every entry was replayed");
    assert_eq!(B64.encode(report.root), ROOT);
    assert_eq!(report.ledger, NAME);
    assert_eq!(report.claims, 106, "the demo's claims C1..C106");
    assert!(report.wh_retired > 0 && report.wh_issued >= report.wh_retired);
    drop(store);

    // The command line, reading the data directory and its log.pub.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_greenledger"))
        .args(["audit", "--data"])
        .arg(copy.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("AUDIT PASSED"), "{text}");
}

#[test]
fn proof_bundles_and_park_statement_verify_offline() {
    let copy = Copy::new();
    let key = copy.log_key();
    for (file, claim_entry) in [("proofs/C1.json", 552), ("proofs/C106.json", 657)] {
        let text = copy.read(file);
        let v = verify_json(&text, &key, &[], 0).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(v.ledger, NAME, "{file}");
        assert_eq!((v.checkpoint_size, B64.encode(v.checkpoint_root)), (SIZE, ROOT.to_string()), "{file}");
        assert_eq!(v.summary.claim_entry, claim_entry, "{file}");
        assert!(v.summary.energy_wh > 0, "{file}");
        // A changed claimant is caught.
        let forged = text.replacen(&v.summary.claimant, &"0".repeat(64), 1);
        assert_ne!(forged, text);
        assert!(verify_json(&forged, &key, &[], 0).is_err(), "{file}: a forged copy verified");
    }
    let other = NoteSigner::new(NAME, ed25519_dalek::SigningKey::from_bytes(&[9; 32])).unwrap();
    assert!(verify_json(&copy.read("proofs/C1.json"), &other.verifier().to_string(), &[], 0).is_err());

    let note = copy.read("park-statement.note");
    let statement = open_statement(&note, &copy.verifier()).unwrap();
    assert_eq!(statement["ledger"], NAME);
    assert_eq!(statement["checkpoint"]["size"], SIZE);
    assert_eq!(statement["checkpoint"]["root"], ROOT);
    assert_eq!(statement["claims"].as_array().unwrap().len(), 106);
    assert!(open_statement(&note, &other.verifier()).is_err(), "opened with another key");
    let tampered = note.replacen("\"counted_wh\":3000000", "\"counted_wh\":3000001", 1);
    assert_ne!(tampered, note);
    assert!(open_statement(&tampered, &copy.verifier()).is_err(), "a tampered statement opened");
}

/// The fixture keeps no log signing key (`log.key`), only `log.pub`, so the ledger cannot sign a
/// new checkpoint with its original key. To append, the test gives the copy a fresh log key of the
/// same name: it re-signs the stored checkpoint (same size and root) with it. Everything else
/// (leaves, tree nodes, state records, head) is the old release's bytes.
#[test]
fn accepts_a_new_command_after_reopening() {
    let copy = Copy::new();
    let store = Arc::new(copy.store());
    let old_note = audit::store_checkpoint(&*store).unwrap();
    let (old_cp, _) = open_checkpoint(&old_note, &copy.verifier()).unwrap();
    assert_eq!((old_cp.size, B64.encode(old_cp.root)), (SIZE, ROOT.to_string()));

    let signer = NoteSigner::new(NAME, ed25519_dalek::SigningKey::from_bytes(&[7; 32])).unwrap();
    let mut batch = Batch::default();
    batch.put(keys::CHECKPOINT.to_vec(), checkpoint::sign_checkpoint(&old_cp, &signer).unwrap().into_bytes());
    store.commit(batch).unwrap();

    let head = head_of(&*store);
    let clock = Arc::new(ManualClock::new(head.time + 3600));
    // The old release stored state records of the first format and no format key.
    assert_eq!(store.get(keys::STATE_FORMAT).unwrap(), None);
    let old_records = store.scan(b"S", b"T", usize::MAX).unwrap();
    let ledger = Ledger::open(store.clone(), signer.clone(), clock.clone()).unwrap();
    assert_eq!(ledger.size(), SIZE);
    assert_eq!(ledger.root_at(SIZE).unwrap(), old_cp.root);
    // Opening rebuilt the state from the log in today's format: the log is untouched, the
    // records are new (a device now has attributes and carry parts) and as many accounts,
    // devices, bundles and claims as before.
    assert_eq!(store.get(keys::STATE_FORMAT).unwrap(), Some(STATE_FORMAT.to_be_bytes().to_vec()));
    let new_records = store.scan(b"S", b"T", usize::MAX).unwrap();
    assert_ne!(old_records, new_records);
    let count = |rows: &[(Vec<u8>, Vec<u8>)], table: u8| rows.iter().filter(|(k, _)| k[1] == table).count();
    for table in [b'a', b'd', b'r', b'c', b'B', b'k'] {
        assert_eq!(count(&old_records, table), count(&new_records, table), "table {}", table as char);
    }
    assert_eq!(ledger.devices().unwrap().len(), 2);
    assert!(ledger.devices().unwrap().iter().all(|d| d.attributes == Default::default() && d.decommissioned.is_none()));
    // Today's rules replay the old log to exactly the state records now stored.
    let verified = ledger.verify_full().unwrap();
    assert_eq!(verified.entries, SIZE);

    // The demo operator registers a new participant.
    let operator = Keypair::from_file_text(&copy.read("operator.key")).unwrap();
    let newcomer = Keypair::from_seed([42; 32]);
    let command = Command::RegisterAccount(cmd::RegisterAccount {
        account: newcomer.account(),
        name: "Wuxi Glass Works".into(),
        roles: Roles::of(&[Role::Consumer]),
    });
    let outcome = ledger.submit_batch(vec![operator.sign(NAME, 1 << 40, command.clone())]).unwrap();
    let receipt = outcome.into_iter().next().unwrap().unwrap_or_else(|r| panic!("refused: {r}"));
    assert_eq!(receipt.index.0, SIZE);
    assert!(!receipt.duplicate);
    drop(ledger);

    // Reopen: the new entry is there, and the new tree extends the old signed one.
    let ledger = Ledger::open(store, signer.clone(), clock).unwrap();
    assert_eq!(ledger.size(), SIZE + 1);
    assert_eq!(ledger.entry(SIZE).unwrap().signed.body.command, command);
    assert_eq!(ledger.account(&newcomer.account()).unwrap().name, "Wuxi Glass Works");
    let (new_cp, _) = open_checkpoint(&ledger.checkpoint_note().unwrap(), &signer.verifier()).unwrap();
    assert_eq!(new_cp.size, SIZE + 1);
    let proof = ledger.consistency_proof(SIZE, SIZE + 1).unwrap();
    merkle::verify_consistency(SIZE, SIZE + 1, &old_cp.root, &new_cp.root, &proof).unwrap();
    let mut wrong = old_cp.root;
    wrong[0] ^= 1;
    assert!(merkle::verify_consistency(SIZE, SIZE + 1, &wrong, &new_cp.root, &proof).is_err());
    assert_eq!(ledger.verify_full().unwrap().entries, SIZE + 1);
}
