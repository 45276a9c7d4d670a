//! Witnessing end to end: a live ledger publishes a checkpoint every interval and pushes it to
//! three C2SP tlog-witness witnesses in the same process, all greenledger witnesses
//! ([`greenledger::witness`]). The third already holds an older checkpoint of the log, so it
//! answers the first push with `409 Conflict` and the held size; a small proxy in front of it
//! records what it answers.
//!
//! While entries keep arriving:
//! - published checkpoints gather at least two valid cosignatures within two publish intervals
//!   (counted in publishes, with a generous deadline);
//! - the `409` witness ends up cosigning;
//! - `GET /checkpoint` serves the latest published checkpoint with its cosignatures;
//! - a claim proof bundle taken from the live ledger over gRPC verifies with
//!   `--min-witnesses 2`, through the command line's `verify`, and each entry's C2SP tlog-proof
//!   verifies on its own;
//! - a second log under the same key and origin with another history is refused by every
//!   witness (`409`, then `422` with a proof from the held size), and its own publisher never
//!   gathers a cosignature.

use greenledger::ledger::{Clock, Ledger};
use greenledger::publish::push::{add_checkpoint, PushError};
use greenledger::publish::{PublishOptions, Publisher, WitnessEndpoint};
use greenledger::rpc::pb;
use greenledger::rpc::server::{spawn_with, ServeOptions};
use greenledger::store::MemStore;
use greenledger::testkit::*;
use greenledger::witness::{spawn as spawn_witness, RunningWitness, WitnessConfig};
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::tlog_proof::TlogProof;
use greenledger_core::log::{leaf_hash, open, CosignatureVerifier, Cosigner};
use greenledger_core::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const INTERVAL: Duration = Duration::from_millis(250);
/// How long any one wait may last before the test gives up (many intervals).
const DEADLINE: Duration = Duration::from_secs(60);

/// A world whose claim C1 retires certificates, as a live ledger has them.
fn world_with_a_claim() -> World {
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
    h
}

/// `count` account registrations by the operator, from `seed`: entries no other world has.
fn registrations(world: &World, seed: u8, from: u64, count: u64) -> Vec<SignedCommand> {
    (from..from + count)
        .map(|i| {
            let mut s = [seed; 32];
            s[..8].copy_from_slice(&i.to_be_bytes());
            let account = Keypair::from_seed(s).account();
            let register =
                cmd::RegisterAccount { account, name: format!("acct-{seed}-{i}"), roles: Roles::of(&[Role::Consumer]) };
            world.sign(&world.operator, Command::RegisterAccount(register))
        })
        .collect()
}

async fn witness(name: &str, seed: u8, ledger: &Ledger<MemStore>, dir: &std::path::Path) -> RunningWitness {
    let cosigner = Cosigner::new(name, ed25519_dalek::SigningKey::from_bytes(&[seed; 32])).unwrap();
    let config = WitnessConfig::new(cosigner, dir).log(&ledger.name(), ledger.verifier());
    spawn_witness(config, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await.unwrap()
}

/// A proxy in front of a witness that records the status of every answer.
async fn recording_proxy(target: String) -> (String, Arc<Mutex<Vec<u16>>>) {
    use axum::body::Bytes;
    use axum::http::{header, StatusCode};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s, client) = (seen.clone(), reqwest::Client::new());
    let app = axum::Router::new().route(
        "/add-checkpoint",
        axum::routing::post(move |body: Bytes| {
            let (s, client, target) = (s.clone(), client.clone(), target.clone());
            async move {
                let r = client.post(format!("{target}/add-checkpoint")).body(body).send().await.unwrap();
                let status = r.status().as_u16();
                let ct = r.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
                let text = r.text().await.unwrap();
                s.lock().unwrap().push(status);
                let mut response =
                    axum::response::IntoResponse::into_response((StatusCode::from_u16(status).unwrap(), text));
                if let Some(ct) = ct {
                    response.headers_mut().insert(header::CONTENT_TYPE, ct.parse().unwrap());
                }
                response
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// The published checkpoints kept, newest first, each with the trusted witnesses that validly
/// cosigned it.
fn cosigned_history(
    publisher: &Publisher,
    ledger: &Ledger<MemStore>,
    keys: &[CosignatureVerifier],
) -> Vec<(u64, usize)> {
    publisher
        .published()
        .history()
        .unwrap()
        .into_iter()
        .map(|(size, note)| {
            let opened = open(&note, &[ledger.verifier()]).expect("a published checkpoint signed by the log key");
            (size, opened.verify_cosignatures(keys).expect("every cosignature served verifies").len())
        })
        .collect()
}

async fn get(url: String) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witnesses_cosign_published_checkpoints_of_a_live_ledger() {
    let world = world_with_a_claim();
    let ledger = world.ledger.clone();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let w1 = witness("witness.example/w1", 61, &ledger, dirs[0].path()).await;
    let w2 = witness("witness.example/w2", 62, &ledger, dirs[1].path()).await;
    let w3 = witness("witness.example/w3", 63, &ledger, dirs[2].path()).await;
    let keys = vec![w1.verifier().clone(), w2.verifier().clone(), w3.verifier().clone()];

    // The third witness already holds the log's current checkpoint: the publisher, which knows
    // nothing of it yet, will send `old 0` and get 409 with that size.
    let client = reqwest::Client::new();
    let committed = ledger.committed();
    let held = committed.head.size;
    let direct = WitnessEndpoint { url: w3.url(), key: w3.verifier().clone() };
    add_checkpoint(&client, &direct, &*ledger, 0, held, &committed.checkpoint)
        .await
        .expect("the third witness cosigns");
    let (proxy, answers) = recording_proxy(w3.url()).await;

    let witnesses = vec![
        WitnessEndpoint { url: w1.url(), key: w1.verifier().clone() },
        WitnessEndpoint { url: w2.url(), key: w2.verifier().clone() },
        format!("{proxy}={}", w3.verifier()).parse().unwrap(),
    ];
    let publish = PublishOptions {
        interval: INTERVAL,
        every: 1_000_000,
        witnesses,
        witness_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let clock: Arc<dyn Clock> = world.clock.clone();
    let options =
        ServeOptions { http_addr: Some("127.0.0.1:0".parse().unwrap()), publish: Some(publish), ..Default::default() };
    let server = spawn_with(ledger.clone(), clock, "127.0.0.1:0", options).await.unwrap();
    let publisher = server.publisher.clone().expect("the server publishes");
    let http = format!("http://{}", server.http_addr.unwrap());

    // Entries keep arriving, a small batch every few milliseconds.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, world_ledger) = (stop.clone(), ledger.clone());
        let batches: Vec<Vec<SignedCommand>> = (0..2000u64).map(|b| registrations(&world, 0x51, b * 5, 5)).collect();
        tokio::task::spawn_blocking(move || {
            let mut written = 0;
            for batch in batches {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                for outcome in world_ledger.submit_batch(batch).unwrap() {
                    outcome.expect("a registration is accepted");
                }
                written += 5;
                std::thread::sleep(Duration::from_millis(5));
            }
            written
        })
    };

    // Published checkpoints gather two valid cosignatures within two publishes.
    let start = tokio::time::Instant::now();
    let mut previous = 0;
    for round in 0..5 {
        // Each round starts from a new publish.
        let from = loop {
            let latest = publisher.published().latest().unwrap().expect("published at start").0;
            if latest > previous {
                break latest;
            }
            assert!(start.elapsed() < DEADLINE, "round {round}: nothing published after size {previous}");
            tokio::time::sleep(INTERVAL / 5).await;
        };
        previous = from;
        loop {
            assert!(
                start.elapsed() < DEADLINE,
                "round {round}: no checkpoint from size {from} on gathered 2 cosignatures"
            );
            let history = cosigned_history(&publisher, &ledger, &keys);
            // Publishes from `from` on, oldest first.
            let mut since: Vec<(u64, usize)> = history.into_iter().filter(|(size, _)| *size >= from).collect();
            since.reverse();
            if let Some(pos) = since.iter().position(|(_, n)| *n >= 2) {
                assert!(pos <= 2, "round {round}: the first checkpoint with 2 cosignatures came {pos} publishes after {from}: {since:?}");
                break;
            }
            tokio::time::sleep(INTERVAL / 5).await;
        }
    }

    // The 409 witness answered 409 first, then cosigned.
    loop {
        assert!(start.elapsed() < DEADLINE, "the third witness never cosigned: {:?}", answers.lock().unwrap());
        let history = cosigned_history(&publisher, &ledger, &keys[2..]);
        if history.iter().any(|(_, n)| *n == 1) {
            break;
        }
        tokio::time::sleep(INTERVAL / 5).await;
    }
    let statuses = answers.lock().unwrap().clone();
    assert_eq!(statuses.first(), Some(&409), "{statuses:?}");
    assert!(statuses.contains(&200), "{statuses:?}");

    // GET /checkpoint: the latest published checkpoint and its cosignatures.
    let (status, note) = get(format!("{http}/checkpoint")).await;
    assert_eq!(status, 200);
    let opened = open(&note, &[ledger.verifier()]).unwrap();
    let served: Vec<String> = opened.verify_cosignatures(&keys).unwrap().into_iter().map(|(n, _)| n).collect();
    let (text, _) = greenledger_core::log::split(&note).unwrap();
    let size: u64 = text.lines().nth(1).unwrap().parse().unwrap();
    assert!(publisher.published().history().unwrap().iter().any(|(s, _)| *s == size), "{size} was published");
    println!("/checkpoint at size {size} cosigned by {served:?}");

    // A bundle from the live ledger, over gRPC, verifies with two witnesses required.
    let mut grpc = pb::ledger_client::LedgerClient::connect(format!("http://{}", server.addr)).await.unwrap();
    let cp = grpc.get_checkpoint(pb::GetCheckpointRequest {}).await.unwrap().into_inner();
    assert!(cp.published_size > 0 && !cp.published_checkpoint.is_empty());
    assert!(cp.size >= cp.published_size, "the newest signed checkpoint is never behind the published one");
    let json = grpc.get_claim_proof(pb::ClaimRequest { claim: 1 }).await.unwrap().into_inner().json;
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("c1.json");
    std::fs::write(&file, &json).unwrap();
    let verify = |min: usize| {
        greenledger::cli::proof::verify(greenledger::cli::proof::VerifyArgs {
            file: file.clone(),
            log_key: ledger.verifier().to_string(),
            witnesses: keys.iter().map(ToString::to_string).collect(),
            min_witnesses: Some(min),
            json: false,
        })
    };
    verify(2).expect("the bundle verifies with --min-witnesses 2");
    let log_key = ledger.verifier().to_string();
    let v = greenledger_core::proof::verify_json(&json, &log_key, &keys, 2).unwrap();
    assert!(v.witnesses.len() >= 2, "{:?}", v.witnesses);
    // Format 2: every entry's tlog-proof verifies by itself, with the same witnesses.
    let bundle: greenledger_core::proof::ClaimProof = serde_json::from_str(&json).unwrap();
    assert_eq!(bundle.format, greenledger_core::proof::FORMAT_V2);
    use base64::Engine as _;
    for e in &bundle.entries {
        let p = TlogProof::parse(e.tlog_proof.as_deref().expect("each entry has its tlog-proof")).unwrap();
        let leaf = base64::engine::general_purpose::STANDARD.decode(&e.leaf).unwrap();
        p.verify(&leaf_hash(&leaf), &ledger.verifier(), &keys, 2).unwrap();
    }
    // A witness no one trusts does not count.
    let stranger = Cosigner::new("witness.example/w9", ed25519_dalek::SigningKey::from_bytes(&[69; 32])).unwrap();
    assert!(greenledger_core::proof::verify_json(&json, &log_key, &[stranger.verifier()], 1).is_err());

    stop.store(true, Ordering::SeqCst);
    let written = writer.await.unwrap();
    println!("{written} entries written while witnessing; published up to size {previous} in the rounds");

    // A second log under the same key and origin with another history: the same genesis and
    // participants, then other entries, grown past every size the witnesses hold.
    let fork = world_with_a_claim();
    assert_eq!((fork.ledger.name(), fork.ledger.verifier()), (ledger.name(), ledger.verifier()));
    let target = ledger.size() + 50;
    let mut at = 0;
    while fork.ledger.size() < target {
        fork.ok_all(registrations(&fork, 0x52, at, 100));
        at += 100;
    }
    let fork_cp = fork.ledger.committed();
    for (w, key) in [(&w1, &keys[0]), (&w2, &keys[1]), (&w3, &keys[2])] {
        let endpoint = WitnessEndpoint { url: w.url(), key: key.clone() };
        let first = add_checkpoint(&client, &endpoint, &*fork.ledger, 0, fork_cp.head.size, &fork_cp.checkpoint).await;
        let Err(PushError::Conflict { held, .. }) = first else {
            panic!("{}: expected 409, got {first:?}", key.name())
        };
        assert!(held > 0 && held <= ledger.size());
        let second =
            add_checkpoint(&client, &endpoint, &*fork.ledger, held, fork_cp.head.size, &fork_cp.checkpoint).await;
        assert!(matches!(second, Err(PushError::Inconsistent { .. })), "{}: expected 422, got {second:?}", key.name());
    }
    // Its own publisher, pushing to the same witnesses, never gets a cosignature.
    let fork_publisher = Publisher::for_ledger(
        fork.ledger.clone(),
        PublishOptions {
            interval: INTERVAL,
            witnesses: vec![
                WitnessEndpoint { url: w1.url(), key: keys[0].clone() },
                WitnessEndpoint { url: w2.url(), key: keys[1].clone() },
                WitnessEndpoint { url: w3.url(), key: keys[2].clone() },
            ],
            ..Default::default()
        },
    );
    let (halt, halted) = tokio::sync::watch::channel(false);
    let task = fork_publisher.start(halted).await.unwrap();
    for batch in 0..6 {
        fork.ok_all(registrations(&fork, 0x53, batch * 10, 10));
        tokio::time::sleep(INTERVAL).await;
    }
    halt.send(true).unwrap();
    task.await.unwrap();
    let fork_history = fork_publisher.published().history().unwrap();
    assert!(fork_history.len() >= 2, "the fork published");
    for (size, _) in &fork_history {
        assert_eq!(
            fork_publisher.published().cosignature_count(*size).unwrap(),
            0,
            "fork checkpoint {size} got cosigned"
        );
    }
    // The live ledger's published checkpoints still carry their cosignatures.
    assert!(cosigned_history(&publisher, &ledger, &keys).iter().any(|(_, n)| *n >= 2));

    server.stop().await.unwrap();
    for w in [w1, w2, w3] {
        w.stop().await.unwrap();
    }
}

/// Witnesses that refuse: one that does not know the log's origin (`404`), one that trusts
/// another key for it (`403`). The pushes are refused with those statuses, and a publisher
/// pushing to them stores no cosignature and no acknowledged size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusing_witnesses_are_reported_and_nothing_is_stored() {
    let world = world_with_a_claim();
    let ledger = world.ledger.clone();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let stranger_key =
        greenledger_core::log::NoteSigner::new(&ledger.name(), ed25519_dalek::SigningKey::from_bytes(&[77; 32]))
            .unwrap()
            .verifier();
    let other_origin =
        greenledger_core::log::NoteSigner::new("other.example/log", ed25519_dalek::SigningKey::from_bytes(&[78; 32]))
            .unwrap()
            .verifier();
    let unknown = {
        let c = Cosigner::new("witness.example/unknown", ed25519_dalek::SigningKey::from_bytes(&[71; 32])).unwrap();
        let config = WitnessConfig::new(c, dirs[0].path()).log("other.example/log", other_origin);
        spawn_witness(config, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await.unwrap()
    };
    let wrong_key = {
        let c = Cosigner::new("witness.example/wrong-key", ed25519_dalek::SigningKey::from_bytes(&[72; 32])).unwrap();
        let config = WitnessConfig::new(c, dirs[1].path()).log(&ledger.name(), stranger_key);
        spawn_witness(config, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await.unwrap()
    };
    let endpoints: Vec<WitnessEndpoint> =
        [&unknown, &wrong_key].iter().map(|w| WitnessEndpoint { url: w.url(), key: w.verifier().clone() }).collect();
    let client = reqwest::Client::new();
    let cp = ledger.committed();
    let size = cp.head.size;
    let r = add_checkpoint(&client, &endpoints[0], &*ledger, 0, size, &cp.checkpoint).await;
    assert!(matches!(r, Err(PushError::UnknownOrigin { .. })), "{r:?}");
    assert!(r.unwrap_err().to_string().starts_with("404: the witness does not know this log's origin"));
    let r = add_checkpoint(&client, &endpoints[1], &*ledger, 0, size, &cp.checkpoint).await;
    assert!(matches!(r, Err(PushError::Forbidden { .. })), "{r:?}");
    assert!(r.unwrap_err().to_string().starts_with("403: the witness does not accept this log's key"));

    let publisher = Publisher::for_ledger(
        ledger.clone(),
        PublishOptions { interval: INTERVAL, witnesses: endpoints.clone(), ..Default::default() },
    );
    let (halt, halted) = tokio::sync::watch::channel(false);
    let task = publisher.start(halted).await.unwrap();
    for batch in 0..4 {
        world.ok_all(registrations(&world, 0x54, batch * 3, 3));
        tokio::time::sleep(INTERVAL).await;
    }
    halt.send(true).unwrap();
    task.await.unwrap();
    let state = greenledger::publish::StoreState::new(ledger.store().clone());
    use greenledger::publish::PublishState as _;
    let history = state.history().unwrap();
    assert!(history.len() >= 2, "it kept publishing");
    for cp in &history {
        assert!(state.cosignatures(cp.size).unwrap().is_empty(), "a refused checkpoint was cosigned");
    }
    for e in &endpoints {
        assert_eq!(state.acknowledged(&e.key.to_string()).unwrap(), None);
    }
    unknown.stop().await.unwrap();
    wrong_key.stop().await.unwrap();
}
