//! The machine's own limits, measured in the same run as a load test: Ed25519 verifications per
//! second (single and batch, one core), SHA-256 node hashes per second, durable sled commits
//! (apply_batch + flush) per second and raw fsyncs per second.

use greenledger::store::{Batch, SledStore, Store};
use greenledger_core::crypto;
use greenledger_core::log::merkle;
use std::io::Write;
use std::time::{Duration, Instant};

const LEDGER: &str = "limits.greenledger.local/bench";

/// Runs `f` repeatedly for about `secs`; returns operations per second (`f` returns its count).
fn rate(secs: f64, mut f: impl FnMut() -> u64) -> f64 {
    // Warm up once.
    f();
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < Duration::from_secs_f64(secs) {
        n += f();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default()
}

/// Measures every limit for about `secs` each and returns them as JSON.
pub fn measure(secs: f64) -> anyhow::Result<serde_json::Value> {
    let cmds = greenledger::testkit::sample::transfers(LEDGER, 256);
    let verify_per_s = rate(secs, || {
        for c in &cmds[..64] {
            crypto::verify(LEDGER, c.clone()).expect("valid");
        }
        64
    });
    let batch = |n: usize| {
        rate(secs, || {
            let r = crypto::verify_many(LEDGER, cmds[..n].to_vec());
            assert!(r.iter().all(Result::is_ok));
            n as u64
        })
    };
    let batch64 = batch(64);
    let batch256 = batch(256);
    let hashes_per_s = rate(secs, || {
        let mut h = [7u8; 32];
        for _ in 0..10_000 {
            h = merkle::node_hash(&h, &h);
        }
        std::hint::black_box(h);
        10_000
    });
    let dir = std::env::temp_dir().join(format!("greenledger-limits-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let flushes_per_s = {
        let store = SledStore::open(&dir.join("sled"))?;
        let mut i = 0u64;
        rate(secs.max(1.0), || {
            // A small batch: one entry, its two tree nodes, a few state records, head.
            let mut b = Batch::default();
            for k in 0..8u64 {
                b.put(format!("k{:016}-{k}", i).into_bytes(), vec![k as u8; 160]);
            }
            i += 1;
            store.commit(b).expect("commit");
            1
        })
    };
    let fsyncs_per_s = {
        let mut f = std::fs::File::create(dir.join("fsync"))?;
        let block = [1u8; 4096];
        rate(secs.max(1.0), || {
            f.write_all(&block).expect("write");
            f.sync_data().expect("fsync");
            1
        })
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(serde_json::json!({
        "mode": "limits",
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu": cpu_model(),
        "verify_per_s": verify_per_s.round(),
        "batch_verify64_per_s": batch64.round(),
        "batch_verify_per_s": batch256.round(),
        "node_hashes_per_s": hashes_per_s.round(),
        "sled_flushes_per_s": flushes_per_s.round(),
        "fsyncs_per_s": fsyncs_per_s.round(),
    }))
}
