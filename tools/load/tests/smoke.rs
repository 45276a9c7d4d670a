//! Smoke test of the load generator's core: a sled ledger in a tempdir, the real gRPC server on
//! 127.0.0.1:0, a small pre-signed mix over concurrent SubmitBatch streams, every outcome as
//! planned. Not a benchmark: it asserts invariants only, never timings.

use greenledger::cli::admin::create_with;
use greenledger::ledger::SystemClock;
use greenledger_load::load as load_core;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_core_mix_is_all_as_planned() {
    let dir = tempfile::tempdir().unwrap();
    let name = "load-smoke.greenledger.local/test";
    let policy = greenledger::testkit::fixtures::policy(name);
    let (ledger, operator) = create_with(&dir.path().join("ledger"), None, "Registry", policy).unwrap();
    let ledger = Arc::new(ledger);
    let server = greenledger::rpc::server::spawn(ledger.clone(), Arc::new(SystemClock), "127.0.0.1:0").await.unwrap();

    let mut cfg = load_core::Config::new(format!("http://{}", server.addr), operator);
    cfg.count = 500;
    cfg.concurrency = 3;
    cfg.batch = 32;
    cfg.window = 2;
    cfg.checkpoint_latency = true;
    let r = load_core::run(cfg).await.unwrap();

    assert!(r.is_correct(), "{r:#?}");
    assert_eq!(r.submitted, 500);
    assert_eq!(r.acked + r.refused, r.submitted);
    assert!(r.expected_refusals > 0, "the mix must contain refusals");
    assert_eq!(r.refused, r.expected_refusals);
    assert_eq!(r.last_index + 1, r.checkpoint_size);
    assert_eq!(r.checkpoint_size, ledger.size());
    // Genesis, the setup and the accepted timed commands are every entry there is.
    assert_eq!(1 + r.setup_entries + r.acked, r.checkpoint_size);
    assert!(r.receipts_covered, "every receipt names a checkpoint that covers its entry");
    assert!(r.checkpoint_p50_ms.is_some());

    // The log audits (signatures in batches, rules, root) on any number of checking threads.
    use load_core::AuditMode::*;
    for mode in [Batches(None), Batches(Some(0)), Batches(Some(1)), Batches(Some(3)), OneByOne] {
        let audit = load_core::audit(&format!("http://{}", server.addr), mode).await.unwrap();
        assert_eq!(audit["entries"].as_u64(), Some(r.checkpoint_size), "{mode:?}");
        assert_eq!(audit["root_matches_checkpoint"].as_bool(), Some(true));
        assert!(audit["replay_per_s"].as_f64().unwrap() > 0.0);
    }
    server.stop().await.unwrap();
}
