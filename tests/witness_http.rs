//! The C2SP tlog-witness server over real HTTP, driven as any log would drive it: a log that is
//! not greenledger (its own origin, leaves and key, trees from the core's Merkle module), its
//! checkpoints signed as C2SP notes and sent to `POST /add-checkpoint` with reqwest. Every
//! status of the specification is checked, refusals leave the held checkpoint byte-identical,
//! and the held size survives a restart from the same data directory.

use greenledger::ledger::ManualClock;
use greenledger::witness::store::origin_hash;
use greenledger::witness::{spawn, RunningWitness, WitnessConfig};
use greenledger_core::log::merkle::{empty_root, Hash, MemTree};
use greenledger_core::log::witness::{format_add_checkpoint, parse_size_body, SIZE_CONTENT_TYPE};
use greenledger_core::log::{
    add_signature_lines, open, sign_checkpoint, Checkpoint, CosignatureVerifier, Cosigner, NoteSigner,
};
use std::path::Path;
use std::sync::Arc;

const ORIGIN: &str = "transparency.example.net/any-log";
const NOW: u64 = 1_800_000_000;

fn log_key() -> NoteSigner {
    NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[21; 32])).unwrap()
}

fn cosigner() -> Cosigner {
    Cosigner::new("witness.example.org/w1", ed25519_dalek::SigningKey::from_bytes(&[22; 32])).unwrap()
}

fn tree(n: u64) -> MemTree {
    let mut t = MemTree::new();
    for i in 0..n {
        t.push(format!("any entry {i}").as_bytes());
    }
    t
}

fn note(origin: &str, size: u64, root: Hash, key: &NoteSigner) -> String {
    sign_checkpoint(&Checkpoint { origin: origin.into(), size, root, extensions: vec![] }, key).unwrap()
}

/// A request from `old` to `new` over the log's tree, with a right proof, signed by its key.
fn body(t: &MemTree, old: u64, new: u64) -> String {
    let proof = if old == 0 { vec![] } else { t.consistency_proof(old, new).unwrap() };
    format_add_checkpoint(old, &proof, &note(ORIGIN, new, t.root_at(new).unwrap(), &log_key()))
}

async fn start(data: &Path) -> RunningWitness {
    let config =
        WitnessConfig::new(cosigner(), data).log(ORIGIN, log_key().verifier()).clock(Arc::new(ManualClock::new(NOW)));
    spawn(config, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await.unwrap()
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

async fn post(w: &RunningWitness, body: String) -> Answer {
    let r = reqwest::Client::new().post(w.add_checkpoint_url()).body(body).send().await.unwrap();
    let status = r.status().as_u16();
    let content_type =
        r.headers().get(reqwest::header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    Answer { status, content_type, body: r.text().await.unwrap() }
}

/// The checkpoint file the witness holds for the log (empty when none).
fn held_file(data: &Path) -> Vec<u8> {
    std::fs::read(data.join("checkpoints").join(origin_hash(ORIGIN))).unwrap_or_default()
}

/// Checks a `200` answer: one cosignature line by the witness, over exactly `note`'s text,
/// with the clock's time; returns the note with it added.
fn check_cosigned(w: &RunningWitness, a: &Answer, note: &str) -> String {
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body.lines().count(), 1, "{}", a.body);
    assert!(a.body.starts_with("\u{2014} witness.example.org/w1 ") && a.body.ends_with('\n'), "{}", a.body);
    let cosigned = add_signature_lines(note, std::slice::from_ref(&a.body)).unwrap();
    let opened = open(&cosigned, &[log_key().verifier()]).unwrap();
    // The verifier as an operator configures it: from its printed key string.
    let verifier = CosignatureVerifier::parse(&w.verifier().to_string()).unwrap();
    assert_eq!(verifier, cosigner().verifier());
    assert_eq!(opened.verify_cosignatures(&[verifier]).unwrap(), vec![("witness.example.org/w1".to_string(), NOW)]);
    cosigned
}

/// Asserts a refusal with `status` that leaves the held checkpoint as it was.
async fn refused(w: &RunningWitness, data: &Path, body: String, status: u16) -> Answer {
    let before = held_file(data);
    let a = post(w, body).await;
    assert_eq!(a.status, status, "{}", a.body);
    assert!(!a.body.starts_with('\u{2014}'), "a refusal carries no cosignature: {}", a.body);
    assert_eq!(held_file(data), before, "a refusal ({status}) changed the held checkpoint");
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_speaks_tlog_witness_to_any_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let w = start(data).await;
    let t = tree(20);

    // Before any checkpoint: the monitoring route has nothing, and a non-zero old size is a
    // conflict with size 0.
    let url = format!("{}/{}/checkpoint", w.url(), origin_hash(ORIGIN));
    assert_eq!(reqwest::get(&url).await.unwrap().status().as_u16(), 404);
    let a = refused(&w, data, body(&t, 3, 5), 409).await;
    assert_eq!((a.content_type.as_str(), a.body.as_str()), (SIZE_CONTENT_TYPE, "0\n"));

    // The first checkpoint, from old size 0 with no proof.
    let first = note(ORIGIN, 5, t.root_at(5).unwrap(), &log_key());
    let a = post(&w, format_add_checkpoint(0, &[], &first)).await;
    check_cosigned(&w, &a, &first);
    assert!(held_file(data).len() > first.len(), "the cosigned checkpoint is persisted");

    // Growth with a consistency proof, then the same size again.
    let a = post(&w, body(&t, 5, 12)).await;
    let twelve = note(ORIGIN, 12, t.root_at(12).unwrap(), &log_key());
    let cosigned = check_cosigned(&w, &a, &twelve);
    let a = post(&w, body(&t, 12, 12)).await;
    check_cosigned(&w, &a, &twelve);

    // The monitoring route serves the cosigned checkpoint: the log's signature and the
    // witness's cosignature.
    let served = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert_eq!(served, cosigned);
    let other = format!("{}/{}/checkpoint", w.url(), origin_hash("someone.else/log"));
    assert_eq!(reqwest::get(&other).await.unwrap().status().as_u16(), 404);

    // 409: a stale old size; the body is the held size.
    let a = refused(&w, data, body(&t, 5, 14), 409).await;
    assert_eq!(a.content_type, SIZE_CONTENT_TYPE);
    assert_eq!(parse_size_body(&a.body), Some(12));
    let a = refused(&w, data, body(&t, 0, 14), 409).await;
    assert_eq!(a.body, "12\n");

    // 404: an origin the witness has no key for.
    let stranger = NoteSigner::new("someone.else/log", ed25519_dalek::SigningKey::from_bytes(&[23; 32])).unwrap();
    let n = note("someone.else/log", 3, tree(3).root(), &stranger);
    refused(&w, data, format_add_checkpoint(0, &[], &n), 404).await;

    // 403: the right origin signed by another key; and a forged text under the right key.
    let impostor = NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[24; 32])).unwrap();
    let n = note(ORIGIN, 14, t.root_at(14).unwrap(), &impostor);
    refused(&w, data, format_add_checkpoint(12, &t.consistency_proof(12, 14).unwrap(), &n), 403).await;
    let forged = note(ORIGIN, 14, t.root_at(14).unwrap(), &log_key()).replacen("\n14\n", "\n15\n", 1);
    refused(&w, data, format_add_checkpoint(12, &t.consistency_proof(12, 15).unwrap(), &forged), 403).await;

    // 422: a proof that does not verify, a fork at a larger size, a proof from size zero, and
    // the same size with another root.
    let mut proof = t.consistency_proof(12, 14).unwrap();
    proof[1][31] ^= 0x80;
    let n14 = note(ORIGIN, 14, t.root_at(14).unwrap(), &log_key());
    refused(&w, data, format_add_checkpoint(12, &proof, &n14), 422).await;
    let mut fork = tree(12);
    fork.push(b"a different entry 12");
    fork.push(b"a different entry 13");
    let n = note(ORIGIN, 14, fork.root(), &log_key());
    refused(&w, data, format_add_checkpoint(12, &t.consistency_proof(12, 14).unwrap(), &n), 422).await;
    let other_root = note(ORIGIN, 12, [7; 32], &log_key());
    refused(&w, data, format_add_checkpoint(12, &[], &other_root), 422).await;

    // 400: malformed bodies, and an old size above the checkpoint's.
    for bad in [
        String::new(),
        "old 12\n".to_string(),
        format!("old 012\n\n{n14}"),
        format!("old 12\nnot base64\n\n{n14}"),
        format!("old 12\n\n{}", n14.replace("\n\n", "\n")),
        format!("{}\n\n{n14}", "x"),
    ] {
        refused(&w, data, bad, 400).await;
    }
    refused(&w, data, body(&t, 12, 12).replacen("old 12", "old 13", 1), 400).await;
    let a = refused(&w, data, format_add_checkpoint(12, &vec![[0u8; 32]; 64], &n14), 400).await;
    assert!(a.body.contains("63"), "{}", a.body);

    // Still at 12, and the right request goes on from there.
    let a = post(&w, body(&t, 12, 20)).await;
    let twenty = note(ORIGIN, 20, t.root_at(20).unwrap(), &log_key());
    let cosigned = check_cosigned(&w, &a, &twenty);

    // A restart from the same data directory holds size 20.
    w.stop().await.unwrap();
    let w = start(data).await;
    let a = refused(&w, data, body(&t, 12, 20), 409).await;
    assert_eq!(a.body, "20\n");
    let url = format!("{}/{}/checkpoint", w.url(), origin_hash(ORIGIN));
    assert_eq!(reqwest::get(&url).await.unwrap().text().await.unwrap(), cosigned);
    let a = post(&w, body(&t, 20, 20)).await;
    check_cosigned(&w, &a, &twenty);
    w.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_empty_tree_and_a_key_named_unlike_its_origin() {
    let dir = tempfile::tempdir().unwrap();
    // As the Go checksum database: origin `go.sum database tree`, key `sum.golang.org`.
    let origin = "go.sum database tree";
    let key = NoteSigner::new("sum.example.org", ed25519_dalek::SigningKey::from_bytes(&[25; 32])).unwrap();
    let config = WitnessConfig::new(cosigner(), dir.path()).log(origin, key.verifier());
    let w = spawn(config, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await.unwrap();
    // Size zero must have the empty tree's root.
    let bad = note(origin, 0, [1; 32], &key);
    assert_eq!(post(&w, format_add_checkpoint(0, &[], &bad)).await.status, 422);
    let empty = note(origin, 0, empty_root(), &key);
    let a = post(&w, format_add_checkpoint(0, &[], &empty)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    // From the empty tree any tree follows, without a proof.
    let t = tree(9);
    let n = note(origin, 9, t.root(), &key);
    let a = post(&w, format_add_checkpoint(0, &[], &n)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let cosigned = add_signature_lines(&n, &[a.body]).unwrap();
    let opened = open(&cosigned, &[key.verifier()]).unwrap();
    let stamps = opened.verify_cosignatures(&[w.verifier().clone()]).unwrap();
    assert_eq!(stamps.len(), 1);
    assert!(stamps[0].1 > 0, "the cosignature is timestamped");
    w.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_log_are_one_compare_and_swap_each() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path()).await;
    let t = tree(40);
    // Sixteen logs' worth of racing clients: each claims the witness holds nothing.
    let answers = futures_join((1..=16u64).map(|size| {
        let body = body(&t, 0, size);
        let url = w.add_checkpoint_url();
        async move {
            let r = reqwest::Client::new().post(url).body(body).send().await.unwrap();
            (size, r.status().as_u16(), r.text().await.unwrap())
        }
    }))
    .await;
    let won: Vec<u64> = answers.iter().filter(|(_, s, _)| *s == 200).map(|(size, _, _)| *size).collect();
    assert_eq!(won.len(), 1, "exactly one request from size 0 wins: {answers:?}");
    for (_, status, body) in answers.iter().filter(|(_, s, _)| *s != 200) {
        assert_eq!((*status, body.as_str()), (409, format!("{}\n", won[0]).as_str()));
    }
    // Then racing growth from the held size: again only one wins, and no update is lost
    // (the held size is that winner's).
    let held = won[0];
    let answers = futures_join((held + 1..=held + 8).map(|size| {
        let body = body(&t, held, size);
        let url = w.add_checkpoint_url();
        async move {
            let r = reqwest::Client::new().post(url).body(body).send().await.unwrap();
            (size, r.status().as_u16(), r.text().await.unwrap())
        }
    }))
    .await;
    let won: Vec<u64> = answers.iter().filter(|(_, s, _)| *s == 200).map(|(size, _, _)| *size).collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    let a = post(&w, body(&t, 0, 40)).await;
    assert_eq!((a.status, a.body), (409, format!("{}\n", won[0])));
    w.stop().await.unwrap();
}

/// Runs the futures concurrently, each on its own task, and returns their outputs in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Kills the child process when dropped, so a failed assertion leaves no server behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_witness_cosigns_over_http() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_greenledger");
    let keygen = Command::new(bin)
        .args(["witness", "keygen", "--name", "witness.example.org/cli", "--out"])
        .arg(dir.path().join("witness.key"))
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{}", String::from_utf8_lossy(&keygen.stderr));
    let stdout = String::from_utf8(keygen.stdout).unwrap();
    let printed = stdout.lines().find_map(|l| l.strip_prefix("witness verifier key: ")).expect("the verifier key");
    let verifier = CosignatureVerifier::parse(printed).unwrap();
    // A second keygen to the same file refuses to overwrite it.
    let again = Command::new(bin)
        .args(["witness", "keygen", "--name", "witness.example.org/cli", "--out"])
        .arg(dir.path().join("witness.key"))
        .output()
        .unwrap();
    assert!(!again.status.success());

    // A log with spaces in its origin, given as ORIGIN=KEY.
    let origin = "any log of 2026";
    let key = NoteSigner::new("log.example.org", ed25519_dalek::SigningKey::from_bytes(&[26; 32])).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let _serving = Child(
        Command::new(bin)
            .args(["witness", "serve", "--key"])
            .arg(dir.path().join("witness.key"))
            .arg("--data")
            .arg(dir.path().join("data"))
            .args(["--addr", &addr, "--log", &format!("{origin}={}", key.verifier())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let t = tree(6);
    let n = note(origin, 6, t.root(), &key);
    let url = format!("http://{addr}/add-checkpoint");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let answer = loop {
        match reqwest::Client::new().post(&url).body(format_add_checkpoint(0, &[], &n)).send().await {
            Ok(r) => break r,
            Err(e) => {
                assert!(std::time::Instant::now() < deadline, "the witness did not start: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(answer.status().as_u16(), 200);
    let line = answer.text().await.unwrap();
    let cosigned = add_signature_lines(&n, &[line]).unwrap();
    let opened = open(&cosigned, &[key.verifier()]).unwrap();
    assert_eq!(opened.verify_cosignatures(&[verifier]).unwrap().len(), 1);
    assert!(dir.path().join("data/checkpoints").join(origin_hash(origin)).exists());
}
