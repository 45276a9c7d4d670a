//! Meter data import through the real gRPC server: all or nothing by default, good rows only
//! with `--partial`, every rejected row named by its line.

use greenledger::cli::import::{run, Import, ReadingsArgs};
use greenledger::cli::Conn;
use greenledger::ledger::{Clock, Ledger};
use greenledger::store::MemStore;
use greenledger::testkit::*;
use greenledger_core::calendar::civil;
use greenledger_core::command as cmd;
use std::sync::Arc;

fn iso(t: u64) -> String {
    let (y, m, d, h, mi, _) = civil(t);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}Z")
}

fn csv(rows: &[(u64, u64)]) -> String {
    let mut s = String::from("kind,subject,consumer,start,end,wh\n");
    for (n, wh) in rows {
        let iv = hour(*n);
        s.push_str(&format!("generation,WIND-1,,{},{},{wh}\n", iso(iv.start.0), iso(iv.end.0)));
    }
    s
}

async fn import(addr: &str, dir: &std::path::Path, name: &str, text: &str, partial: bool) -> anyhow::Result<()> {
    let file = dir.join(name);
    std::fs::write(&file, text)?;
    let args = ReadingsArgs {
        conn: Conn { server: format!("http://{addr}"), json: false },
        key: dir.join("meter.key"),
        file,
        partial,
    };
    run(Import::Readings(args)).await
}

fn readings(ledger: &Ledger<MemStore>) -> usize {
    ledger.readings(&wind(), 0, u64::MAX).unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_all_or_nothing_unless_partial() {
    let h = World::new();
    let dir = tempfile::tempdir().unwrap();
    greenledger::cli::client::write_key(&dir.path().join("meter.key"), &h.meter).unwrap();
    let (store, clock) = (h.store.clone(), h.clock.clone());
    drop(h);
    let ledger = Arc::new(Ledger::open(store, log_signer(), clock.clone()).unwrap());
    let clock: Arc<dyn Clock> = clock;
    let server = greenledger::rpc::server::spawn(ledger.clone(), clock, "127.0.0.1:0").await.unwrap();
    let addr = server.addr.to_string();

    // Good file: three hours.
    import(&addr, dir.path(), "good.csv", &csv(&[(0, 1_000_000), (1, 2_000_000), (2, 3_000_000)]), false)
        .await
        .unwrap();
    assert_eq!(readings(&ledger), 3);

    // Hour 4 is fine, hour 3 exceeds the 10 MW capacity: all or nothing imports neither.
    let size = ledger.size();
    let bad = csv(&[(4, 1_000_000), (3, 10_000_001)]);
    let err = import(&addr, dir.path(), "bad.csv", &bad, false).await.unwrap_err();
    assert!(err.to_string().contains("nothing imported"), "{err}");
    assert_eq!((ledger.size(), readings(&ledger)), (size, 3));

    // A malformed row stops the file before anything is sent.
    let malformed = format!("{}generation,WIND-1,,x,y,1\n", csv(&[(4, 1_000_000)]));
    assert!(import(&addr, dir.path(), "malformed.csv", &malformed, false).await.is_err());
    assert_eq!(ledger.size(), size);

    // --partial imports the good row only.
    import(&addr, dir.path(), "bad.csv", &bad, true).await.unwrap();
    assert_eq!(readings(&ledger), 4);
    server.stop().await.unwrap();
}

#[test]
fn atomic_batches_commit_all_or_nothing() {
    let mut h = World::new();
    let before = h.snapshot();
    let m = h.meter.clone();
    let good = h.signed(
        &m,
        greenledger_core::Command::PostGeneration(cmd::PostGeneration {
            device: wind(),
            interval: hour(0),
            energy: greenledger_core::Wh(MWH),
        }),
    );
    let overlapping = h.signed(
        &m,
        greenledger_core::Command::PostGeneration(cmd::PostGeneration {
            device: wind(),
            interval: hour(0),
            energy: greenledger_core::Wh(MWH),
        }),
    );
    let out = h.ledger.submit_atomic(vec![good.clone(), overlapping]).unwrap();
    assert!(out[0].as_ref().unwrap_err().message.starts_with("not applied"));
    assert!(out[1].as_ref().unwrap_err().message.contains("rule 1"));
    assert_eq!(h.snapshot(), before);
    let out = h.ledger.submit_atomic(vec![good]).unwrap();
    assert!(out[0].is_ok());
    assert_ne!(h.snapshot(), before);
}
