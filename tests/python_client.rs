//! Runs the example Python client (tools/python/greenledger_client.py) against a real server.
//! Ignored by default: it needs a Python with grpcio, grpcio-tools and cryptography. Run with
//!
//! ```text
//! python3 -m venv /tmp/glpy && /tmp/glpy/bin/pip install -r tools/python/requirements.txt
//! GREENLEDGER_PYTHON=/tmp/glpy/bin/python cargo test --test python_client -- --ignored
//! ```

use greenledger_core::command as cmd;

use greenledger::testkit::net::*;
use greenledger::testkit::{hour, MWH};
use greenledger_core::*;
use std::path::PathBuf;
use std::process::{Command as Process, Output};

fn python() -> String {
    std::env::var("GREENLEDGER_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/python/greenledger_client.py")
}

/// Runs the client off the async runtime, so the in-process server keeps serving.
async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || Process::new(python()).arg(script()).args(args).output().expect("run python"))
        .await
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 with grpcio, grpcio-tools and cryptography (tools/python/requirements.txt)"]
async fn python_client_verifies_the_checkpoint_and_an_inclusion_proof() {
    let ready = Process::new(python()).args(["-c", "import grpc, grpc_tools, cryptography"]).output();
    if !ready.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: {} cannot import grpc, grpc_tools and cryptography", python());
        return;
    }
    let mut net = Net::mem().await;
    let (op, meter, gen) = (net.operator.clone(), net.meter.clone(), net.generator.clone());
    for n in 0..5 {
        net.ok(
            &meter,
            Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(n), energy: Wh(3 * MWH) }),
        )
        .await;
        net.ok(&gen, Command::Issue(cmd::Issue { device: wind(), interval: hour(n) })).await;
    }
    // A few hundred more entries, so proofs of many shapes and depths are checked.
    let msgs = (0..300u32)
        .map(|i| {
            let mut seed = [0x5E; 32];
            seed[..4].copy_from_slice(&i.to_be_bytes());
            let account = greenledger_core::crypto::Keypair::from_seed(seed).account();
            net.pb(
                &op,
                Command::RegisterAccount(cmd::RegisterAccount {
                    account,
                    name: format!("P{i}"),
                    roles: Roles::of(&[Role::Consumer]),
                }),
            )
        })
        .collect();
    net.submit_batch(msgs).await;
    let cp = net.checkpoint().await;
    assert!(cp.size > 300);
    let addr = net.addr().to_string();

    // The verification code against the reference vectors, tampering included.
    let o = run(vec!["--self-test".into()]).await;
    assert!(o.status.success(), "{}", text(&o));

    // Default: the last entry, trusting the served key.
    let o = run(vec![addr.clone()]).await;
    println!("{}", text(&o));
    assert!(o.status.success(), "{}", text(&o));
    let last = cp.size - 1;
    assert!(text(&o).contains(&format!("OK: entry {last} is in the log")), "{}", text(&o));
    assert!(text(&o).contains(&hex::encode(&cp.root)), "{}", text(&o));

    // Chosen entries, with the log key pinned.
    for entry in [0, 1, cp.size / 2, last] {
        let o =
            run(vec![addr.clone(), "--entry".into(), entry.to_string(), "--log-key".into(), cp.log_key.clone()]).await;
        assert!(o.status.success(), "entry {entry}: {}", text(&o));
        assert!(text(&o).contains(&format!("OK: entry {entry} ")), "{}", text(&o));
    }
    // Every entry.
    let o = run(vec![addr.clone(), "--all".into(), "--log-key".into(), cp.log_key.clone()]).await;
    println!("{}", text(&o));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("OK: all {} entries", cp.size)), "{}", text(&o));
    // An entry beyond the signed tree is a usage error.
    let o = run(vec![addr.clone(), "--entry".into(), cp.size.to_string()]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // A different pinned key is a verification failure (exit 1), not a success.
    let other = greenledger_core::log::NoteSigner::new(
        greenledger::testkit::LEDGER,
        ed25519_dalek::SigningKey::from_bytes(&[42; 32]),
    )
    .unwrap()
    .verifier()
    .to_string();
    let o = run(vec![addr.clone(), "--log-key".into(), other]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("FAILED"), "{}", text(&o));

    // No server: exit 2.
    net.stop().await;
    let o = run(vec![addr, "--timeout".into(), "1".into()]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
