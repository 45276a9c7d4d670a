//! The ledger behind the real gRPC server on `127.0.0.1:0`, a generated client, the cast
//! registered through `Submit`, and helpers that submit, insist on acceptance or refusal, and
//! check that refusals change nothing; plus an outsider's audit of the served log.

use super::cast::{log_signer, Cast, LEDGER};
use super::fixtures::{self, hour, WIND_CAPACITY_W};
pub use super::fixtures::{wind, WIND};
use super::world::{create_ledger, snapshot_of, Snapshot};
use crate::ledger::{Clock, ManualClock};
use crate::rpc::convert::signed_to_pb;
use crate::rpc::pb;
use crate::rpc::pb::ledger_client::LedgerClient;
use crate::rpc::server::{spawn, Running};
use crate::store::Store;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::{
    leaf_hash, open_checkpoint, verify_consistency, verify_inclusion, Hash, MemTree, NoteVerifier,
};
use greenledger_core::*;
use std::ops::Deref;
use std::sync::Arc;
use tonic::transport::Channel;
use tonic::{Code, Status};

pub type Client = LedgerClient<Channel>;
/// A running server over a ledger with the cast and `WIND-1` registered, and a client
/// connected to it. The cast's keys are reachable directly (`net.meter`) through `Deref`.
pub struct Net {
    pub client: Client,
    pub server: Option<Running>,
    pub clock: Arc<ManualClock>,
    pub cast: Cast,
    /// Everything the store holds, to show that a refusal wrote nothing.
    snapshot: Box<dyn Fn() -> Snapshot + Send + Sync>,
    nonce: u64,
}

impl Deref for Net {
    type Target = Cast;
    fn deref(&self) -> &Cast {
        &self.cast
    }
}

/// The hour `n` after 2026-01-01T00:00:00Z as a protobuf interval.
pub fn pb_hour(n: u64) -> Option<pb::Interval> {
    let h = hour(n);
    Some(pb::Interval { start: h.start.0, end: h.end.0 })
}

/// A domain role as its protobuf enum value.
pub fn role_of(r: Role) -> i32 {
    crate::rpc::convert::role_to_pb(r)
}

impl Net {
    /// Genesis on `store` (the standard policy, clock at 2026-02-01), the server, and the cast
    /// plus device `WIND-1` (10 MW, owned by the generator) registered over gRPC.
    pub async fn start<S: Store>(store: Arc<S>) -> Net {
        let clock = Arc::new(ManualClock::new(fixtures::clock_start()));
        let cast = Cast::new();
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let ledger = create_ledger(store.clone(), &cast, fixtures::policy(LEDGER), dyn_clock.clone());
        let server = spawn(Arc::new(ledger), dyn_clock, "127.0.0.1:0").await.expect("server starts");
        let client = LedgerClient::connect(format!("http://{}", server.addr)).await.expect("client connects");
        let snapshot = Box::new(move || snapshot_of(store.as_ref()));
        let mut net = Net { client, server: Some(server), clock, cast, snapshot, nonce: 0 };
        let op = net.operator.clone();
        for command in net.cast.registrations() {
            let r = net.ok(&op, command).await;
            assert!(r.effects.iter().any(|e| e.kind == "account"), "{:?}", r.effects);
        }
        let owner = net.generator.account();
        net.ok(&op, fixtures::register_device(wind(), owner, WIND_CAPACITY_W)).await;
        net
    }

    pub async fn mem() -> Net {
        Net::start(Arc::new(crate::store::MemStore::new())).await
    }

    /// Stops the server and waits for it.
    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.expect("server stops cleanly");
        }
    }

    pub fn next_nonce(&mut self) -> u64 {
        self.nonce += 1;
        self.nonce
    }

    /// Signs `command` by `who` with a fresh nonce, without a validity window.
    pub fn sign(&mut self, who: &Keypair, command: Command) -> SignedCommand {
        let n = self.next_nonce();
        who.sign(LEDGER, n, command)
    }

    /// Signs `command` by `who` with a fresh nonce and a validity window that ends at `expires`.
    pub fn sign_until(&mut self, who: &Keypair, expires: Timestamp, command: Command) -> SignedCommand {
        let n = self.next_nonce();
        who.sign_until(LEDGER, n, expires, command)
    }

    /// Signs `command` by `who` with a fresh nonce, as protobuf.
    pub fn pb(&mut self, who: &Keypair, command: Command) -> pb::SignedCommand {
        signed_to_pb(&self.sign(who, command))
    }

    pub async fn submit_pb(&mut self, msg: pb::SignedCommand) -> Result<pb::Receipt, Status> {
        self.client.submit(msg).await.map(|r| r.into_inner())
    }

    /// Submits and insists on a fresh acceptance covered by the returned checkpoint size.
    pub async fn ok(&mut self, who: &Keypair, command: Command) -> pb::Receipt {
        let kind = command.kind();
        let msg = self.pb(who, command);
        self.ok_pb(msg, kind).await
    }

    pub async fn ok_pb(&mut self, msg: pb::SignedCommand, what: &str) -> pb::Receipt {
        match self.submit_pb(msg).await {
            Ok(r) => {
                assert!(!r.duplicate, "{what} was a duplicate: {r:?}");
                assert!(r.tree_size > r.index, "{what}: tree size {} does not cover {}", r.tree_size, r.index);
                assert_eq!(r.leaf_hash.len(), 32);
                r
            }
            Err(s) => panic!("{what} refused: {:?} {}", s.code(), s.message()),
        }
    }

    /// Submits a message that must be refused with `code`; checks that the checkpoint (size,
    /// root and signed note) and everything in the store are unchanged.
    pub async fn refuse_pb(&mut self, msg: pb::SignedCommand, code: Code) -> Status {
        let before = self.checkpoint().await;
        let store_before = (self.snapshot)();
        let out = self.submit_pb(msg).await;
        let after = self.checkpoint().await;
        assert_eq!(after, before, "a refused command changed the checkpoint");
        assert!((self.snapshot)() == store_before, "a refused command changed the store");
        match out {
            Ok(r) => panic!("expected {code:?}, the command was accepted: {r:?}"),
            Err(s) => {
                assert_eq!(s.code(), code, "wrong code; message: {}", s.message());
                assert!(!s.message().is_empty(), "a refusal must say why");
                s
            }
        }
    }

    /// Signs with a fresh nonce, submits, and insists on refusal with `code` that changes nothing.
    pub async fn refused(&mut self, who: &Keypair, command: Command, code: Code) -> Status {
        let msg = self.pb(who, command);
        self.refuse_pb(msg, code).await
    }

    /// Everything the store holds.
    pub fn store_snapshot(&self) -> Snapshot {
        (self.snapshot)()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.as_ref().expect("server running").addr
    }

    pub async fn checkpoint(&mut self) -> pb::CheckpointResponse {
        self.client.get_checkpoint(pb::GetCheckpointRequest {}).await.expect("checkpoint").into_inner()
    }

    pub async fn account(&mut self, who: AccountId) -> pb::AccountInfo {
        self.client.get_account(pb::AccountRequest { account: who.0.to_vec() }).await.expect("account").into_inner()
    }

    pub async fn holdings(&mut self, who: AccountId) -> pb::Holdings {
        self.client.get_holdings(pb::AccountRequest { account: who.0.to_vec() }).await.expect("holdings").into_inner()
    }

    pub async fn history(&mut self, bundle: u64) -> pb::BundleHistory {
        self.client.get_bundle_history(pb::BundleRequest { bundle }).await.expect("bundle history").into_inner()
    }

    pub async fn device(&mut self, device: &str, from: u64, to: u64) -> pb::DeviceInfo {
        self.client
            .get_device(pb::DeviceRequest { device: device.into(), from, to })
            .await
            .expect("device")
            .into_inner()
    }

    /// Entries `[start, end)` through the `GetEntries` stream.
    pub async fn entries(&mut self, start: u64, end: u64) -> Result<Vec<pb::LogEntry>, Status> {
        let mut stream = self.client.get_entries(pb::GetEntriesRequest { start, end }).await?.into_inner();
        let mut out = Vec::new();
        while let Some(e) = stream.message().await? {
            out.push(e);
        }
        Ok(out)
    }

    /// Streams `msgs` through `SubmitBatch` and collects every result.
    pub async fn submit_batch(&mut self, msgs: Vec<pb::SignedCommand>) -> Vec<pb::SubmitResult> {
        let mut stream =
            self.client.submit_batch(tokio_stream::iter(msgs)).await.expect("batch stream opens").into_inner();
        let mut out = Vec::new();
        while let Some(r) = stream.message().await.expect("batch result") {
            out.push(r);
        }
        out
    }
}

/// The only bundle of `h` matching `pred`.
pub fn only(h: &pb::Holdings, pred: impl Fn(&pb::Bundle) -> bool) -> &pb::Bundle {
    let found: Vec<&pb::Bundle> = h.bundles.iter().filter(|b| pred(b)).collect();
    assert_eq!(found.len(), 1, "expected exactly one matching bundle in {:?}", h.bundles);
    found[0]
}

pub fn serial_count(s: &Option<pb::SerialRange>) -> u64 {
    let s = s.as_ref().expect("serials");
    s.end - s.start
}

fn hash32(bytes: &[u8]) -> Hash {
    bytes.try_into().expect("32-byte hash")
}

fn hashes(p: &pb::ProofResponse) -> Vec<Hash> {
    p.hashes.iter().map(|h| hash32(h)).collect()
}

/// Audits the log over gRPC as an outsider would: the signed checkpoint opens with the served
/// log key (which is the ledger's key), the leaves from `GetEntries` rebuild its root, every
/// entry's inclusion proof verifies, and every earlier checkpoint in `earlier` is consistent
/// with the current one (and its entries have inclusion proofs at its size). Returns the
/// number of entries.
pub async fn verify_log(net: &mut Net, earlier: &[pb::CheckpointResponse]) -> u64 {
    let cp = net.checkpoint().await;
    let verifier = NoteVerifier::parse(&cp.log_key).expect("log key parses");
    assert_eq!(verifier, log_signer().verifier(), "the served log key is not the ledger's key");
    let (opened, _) = open_checkpoint(&cp.checkpoint, &verifier).expect("checkpoint note opens with the log key");
    assert_eq!(opened.origin, LEDGER);
    assert_eq!(opened.size, cp.size);
    assert_eq!(opened.root.to_vec(), cp.root);
    let root = hash32(&cp.root);

    let entries = net.entries(0, cp.size).await.expect("entries");
    assert_eq!(entries.len() as u64, cp.size);
    let mut tree = MemTree::new();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.index, i as u64, "entries out of order");
        greenledger_core::codec::decode_leaf(&e.leaf).expect("every leaf decodes");
        tree.push(&e.leaf);
    }
    assert_eq!(tree.root(), root, "root rebuilt from the entries differs from the checkpoint");

    let mut client = net.client.clone();
    for e in &entries {
        let p = client
            .get_inclusion_proof(pb::InclusionProofRequest { index: e.index, tree_size: 0 })
            .await
            .expect("inclusion proof")
            .into_inner();
        assert_eq!(p.tree_size, cp.size);
        verify_inclusion(e.index, cp.size, &leaf_hash(&e.leaf), &hashes(&p), &root)
            .unwrap_or_else(|err| panic!("inclusion of entry {}: {err}", e.index));
    }
    for old in earlier {
        let old_root = hash32(&old.root);
        assert_eq!(tree.root_at(old.size).expect("old root"), old_root, "log history was rewritten");
        let p = client
            .get_consistency_proof(pb::ConsistencyProofRequest { first: old.size, second: cp.size })
            .await
            .expect("consistency proof")
            .into_inner();
        assert_eq!(p.tree_size, cp.size);
        verify_consistency(old.size, cp.size, &old_root, &root, &hashes(&p))
            .unwrap_or_else(|err| panic!("consistency {} -> {}: {err}", old.size, cp.size));
        for index in [0, old.size / 2, old.size - 1] {
            let p = client
                .get_inclusion_proof(pb::InclusionProofRequest { index, tree_size: old.size })
                .await
                .expect("inclusion proof at an old size")
                .into_inner();
            assert_eq!(p.tree_size, old.size);
            let leaf = leaf_hash(&entries[index as usize].leaf);
            verify_inclusion(index, old.size, &leaf, &hashes(&p), &old_root)
                .unwrap_or_else(|err| panic!("inclusion of {index} at size {}: {err}", old.size));
        }
    }
    cp.size
}

/// A protobuf serial range as the domain type.
pub fn sr(s: &Option<pb::SerialRange>) -> SerialRange {
    let s = s.as_ref().expect("serials");
    SerialRange::new(s.start, s.end)
}
