//! Witness cosigning through the real server: a witness cosigns the current checkpoint, the
//! ledger checks the cosignature and serves it, and a proof bundle can then demand it.

use greenledger::ledger::{Clock, Ledger};
use greenledger::rpc::pb;
use greenledger::testkit::*;
use greenledger_core::command as cmd;
use greenledger_core::log::{open, split, Cosigner};
use greenledger_core::*;
use std::sync::Arc;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_serves_checked_witness_cosignatures() {
    let mut h = World::new();
    h.generation(0, 3 * MWH);
    h.issue(0);
    h.consumption(h.consumer.account(), 0, 3 * MWH);
    let g = h.only_bundle(&h.generator.clone());
    let (gen, c) = (h.generator.clone(), h.consumer.clone());
    h.ok(&gen, Command::Transfer(cmd::Transfer { bundle: g.id, serials: g.serials, to: c.account() }));
    let b = h.only_bundle(&c);
    h.ok(
        &c,
        Command::Retire(cmd::Retire {
            bundle: b.id,
            serials: b.serials,
            beneficiary: cmd::Beneficiary::Product {
                product: "Battery factory".into(),
                quantity: 1,
                unit: "batch".into(),
            },
            purpose: cmd::Purpose::Other("RE100".into()),
            consumption: hour(0),
        }),
    );
    let (store, clock) = (h.store.clone(), h.clock.clone());
    drop(h);
    let ledger = Arc::new(Ledger::open(store, log_signer(), clock.clone()).unwrap());
    let clock: Arc<dyn Clock> = clock;
    let server = greenledger::rpc::server::spawn(ledger.clone(), clock, "127.0.0.1:0").await.unwrap();
    let mut client = pb::ledger_client::LedgerClient::connect(format!("http://{}", server.addr)).await.unwrap();

    let witness = Cosigner::new("witness.example/w1", ed25519_dalek::SigningKey::from_bytes(&[42; 32])).unwrap();
    let stranger = Cosigner::new("witness.example/w2", ed25519_dalek::SigningKey::from_bytes(&[43; 32])).unwrap();
    let cp = client.get_checkpoint(pb::GetCheckpointRequest {}).await.unwrap().into_inner();
    let (text, _) = split(&cp.checkpoint).unwrap();

    // A line that is not from the key it names, and garbage, are refused.
    let line = witness.cosign(&text, 1_800_000_000).unwrap();
    let mismatched =
        pb::AddCosignatureRequest { witness_key: stranger.verifier().to_string(), signature_line: line.clone() };
    assert_eq!(client.add_cosignature(mismatched).await.unwrap_err().code(), Code::InvalidArgument);
    let garbage =
        pb::AddCosignatureRequest { witness_key: witness.verifier().to_string(), signature_line: "— w x".into() };
    assert_eq!(client.add_cosignature(garbage).await.unwrap_err().code(), Code::InvalidArgument);
    // A cosignature over other text does not verify.
    let other =
        witness.cosign("someone.else/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 1_800_000_000).unwrap();
    let wrong = pb::AddCosignatureRequest { witness_key: witness.verifier().to_string(), signature_line: other };
    assert_eq!(client.add_cosignature(wrong).await.unwrap_err().code(), Code::FailedPrecondition);
    assert_eq!(
        client.get_checkpoint(pb::GetCheckpointRequest {}).await.unwrap().into_inner().checkpoint,
        cp.checkpoint
    );

    // The real cosignature is taken and served with the checkpoint.
    let ok = pb::AddCosignatureRequest { witness_key: witness.verifier().to_string(), signature_line: line };
    let served = client.add_cosignature(ok).await.unwrap().into_inner().checkpoint;
    assert_ne!(served, cp.checkpoint);
    let opened = open(&served, &[ledger.verifier()]).unwrap();
    let cosigned = opened.verify_cosignatures(&[witness.verifier()]).unwrap();
    assert_eq!(cosigned, vec![("witness.example/w1".to_string(), 1_800_000_000)]);

    // A claim proof made now carries the cosigned checkpoint and can demand the witness.
    let proof = greenledger::proof::build(&ledger, ClaimId(1)).unwrap().to_json();
    let key = ledger.verifier().to_string();
    greenledger_core::proof::verify_json(&proof, &key, &[witness.verifier()], 1).unwrap();
    assert!(greenledger_core::proof::verify_json(&proof, &key, &[stranger.verifier()], 1).is_err());
    server.stop().await.unwrap();
}

/// With publishing on, a witness cosigns a published checkpoint; the cosignature is taken for
/// any published checkpoint still kept (not only the latest), served with exactly that
/// checkpoint, and refused for a checkpoint that was signed but never published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosignatures_of_published_checkpoints() {
    use greenledger::publish::PublishOptions;
    use greenledger::rpc::server::{spawn_with, ServeOptions};
    let world = World::new();
    let clock: Arc<dyn Clock> = world.clock.clone();
    let publish =
        PublishOptions { interval: std::time::Duration::from_secs(3600), every: u64::MAX, ..Default::default() };
    let options = ServeOptions { publish: Some(publish), ..Default::default() };
    let server = spawn_with(world.ledger.clone(), clock, "127.0.0.1:0", options).await.unwrap();
    let publisher = server.publisher.clone().unwrap();
    let mut client = pb::ledger_client::LedgerClient::connect(format!("http://{}", server.addr)).await.unwrap();
    let witness = Cosigner::new("witness.example/w1", ed25519_dalek::SigningKey::from_bytes(&[42; 32])).unwrap();
    let add = |note: &str| pb::AddCosignatureRequest {
        witness_key: witness.verifier().to_string(),
        signature_line: witness.cosign(&split(note).unwrap().0, 1_800_000_000).unwrap(),
    };

    // The first published checkpoint, then a newer one.
    let first = client.get_checkpoint(pb::GetCheckpointRequest {}).await.unwrap().into_inner();
    assert_eq!((first.published_size, &first.published_checkpoint), (first.size, &first.checkpoint));
    let mut world = world;
    world.generation(0, MWH);
    publisher.publish_now().await.unwrap().expect("a new size is published");
    // And a signed checkpoint that is never published.
    world.generation(1, MWH);
    let now = client.get_checkpoint(pb::GetCheckpointRequest {}).await.unwrap().into_inner();
    assert!(now.size > now.published_size && now.published_size > first.published_size);
    assert_eq!(now.checkpoint, world.ledger.checkpoint_note().unwrap(), "the newest signed checkpoint");

    // Not published: refused, nothing stored.
    let refused = client.add_cosignature(add(&now.checkpoint)).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("published"), "{}", refused.message());
    let published = publisher.published();
    for (size, _) in published.history().unwrap() {
        assert_eq!(published.cosignature_count(size).unwrap(), 0);
    }

    // The older published checkpoint: taken, and served with it only.
    let served = client.add_cosignature(add(&first.published_checkpoint)).await.unwrap().into_inner();
    assert_eq!(served.published_checkpoint, now.published_checkpoint, "the latest published has none");
    let history = published.history().unwrap();
    let (_, older) = history.iter().find(|(s, _)| *s == first.published_size).unwrap();
    let cosigned = open(older, &[world.ledger.verifier()]).unwrap().verify_cosignatures(&[witness.verifier()]).unwrap();
    assert_eq!(cosigned, vec![("witness.example/w1".to_string(), 1_800_000_000)]);
    // The latest published one: served in GetCheckpoint's published_checkpoint.
    let served = client.add_cosignature(add(&now.published_checkpoint)).await.unwrap().into_inner();
    let opened = open(&served.published_checkpoint, &[world.ledger.verifier()]).unwrap();
    assert_eq!(opened.verify_cosignatures(&[witness.verifier()]).unwrap().len(), 1);
    assert_eq!(served.published_size, now.published_size);
    server.stop().await.unwrap();
}
