//! Criterion benchmarks of the hot paths of the sequencer and the read side.
//!
//! ```sh
//! cargo bench --bench hot_paths                 # all
//! cargo bench --bench hot_paths -- verify       # one group
//! ```
//!
//! Throughput is reported per element (one signature, one hash, one command, one proof), so
//! criterion prints verifications, hashes or decisions per second on one core.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use greenledger::store::{Batch, SledStore, Store};
use greenledger::testkit::{fixtures, Cast, MWH};
use greenledger_core::calendar::unix;
use greenledger_core::codec;
use greenledger_core::command as cmd;
use greenledger_core::crypto::{self, Keypair};
use greenledger_core::log::merkle::{self, MemTree};
use greenledger_core::replay::apply;
use greenledger_core::*;
use std::hint::black_box;
use std::time::Duration;

const LEDGER: &str = "bench.greenledger.local/hot";

/// Transfers signed by 64 different keys: a typical command.
fn transfers(n: usize) -> Vec<SignedCommand> {
    greenledger::testkit::sample::transfers(LEDGER, n)
}

fn verify(c: &mut Criterion) {
    let cmds = transfers(256);
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function("single", |b| b.iter(|| crypto::verify(LEDGER, black_box(cmds[0].clone())).unwrap()));
    for n in [64usize, 256] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("batch_{n}"), |b| {
            b.iter_batched(
                || cmds[..n].to_vec(),
                |v| {
                    let r = crypto::verify_many(LEDGER, v);
                    assert!(r.iter().all(Result::is_ok));
                    r
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("sha256");
    g.throughput(Throughput::Elements(1));
    let (l, r) = ([1u8; 32], [2u8; 32]);
    g.bench_function("node_hash", |b| b.iter(|| merkle::node_hash(black_box(&l), black_box(&r))));
    let leaf = codec::leaf_bytes(&Entry { time: Timestamp(1_800_000_000), signed: transfers(1).pop().unwrap() });
    g.bench_function("leaf_hash_transfer", |b| b.iter(|| merkle::leaf_hash(black_box(&leaf))));
    g.finish();
}

/// A state with the test kit's cast registered and its generator holding one issued bundle of
/// 100 certificates.
fn state_with_bundle() -> (MemState, Keypair, Keypair, u64) {
    let cast = Cast::new();
    let now = Timestamp(unix(2026, 3, 1, 0, 0, 0));
    let iv = Interval::new(unix(2026, 2, 1, 0, 0, 0), unix(2026, 2, 1, 1, 0, 0));
    let dev = DeviceId("BENCH-WIND-1".into());
    let mut cmds = vec![cast.operator.sign(LEDGER, 0, fixtures::genesis(Policy::new(LEDGER)))];
    let mut setup = cast.registrations();
    setup.push(fixtures::register_device(dev.clone(), cast.generator.account(), 200_000_000));
    cmds.extend(setup.into_iter().enumerate().map(|(i, c)| cast.operator.sign(LEDGER, 1 + i as u64, c)));
    cmds.push(cast.meter.sign(LEDGER, 1, fixtures::post_generation(dev.clone(), iv, 100 * MWH)));
    cmds.push(cast.generator.sign(LEDGER, 1, fixtures::issue(dev, iv)));
    let mut state = MemState::default();
    for (i, c) in cmds.into_iter().enumerate() {
        let auth = crypto::verify(LEDGER, c).unwrap();
        let d = decide(&state, &auth, Context { index: LeafIndex(i as u64), now }).unwrap();
        apply(&mut state, d.effects).unwrap();
    }
    let bundle = *state.bundles.keys().next().unwrap();
    (state, cast.generator, cast.consumer, bundle.0)
}

fn rules(c: &mut Criterion) {
    let (state, gen, cons, bundle) = state_with_bundle();
    let now = Timestamp(unix(2026, 3, 1, 0, 0, 0));
    let start = state.bundles.values().next().unwrap().serials.start.0;
    let t = crypto::verify(
        LEDGER,
        gen.sign(
            LEDGER,
            99,
            Command::Transfer(cmd::Transfer {
                bundle: BundleId(bundle),
                serials: SerialRange::new(start, start + 3),
                to: cons.account(),
            }),
        ),
    )
    .unwrap();
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decide_transfer_memstate", |b| {
        b.iter(|| decide(black_box(&state), black_box(&t), Context { index: LeafIndex(100), now }).unwrap())
    });
    let entry = Entry { time: now, signed: t.signed().clone() };
    g.bench_function("leaf_bytes_transfer", |b| b.iter(|| codec::leaf_bytes(black_box(&entry))));
    let leaf = codec::leaf_bytes(&entry);
    g.bench_function("decode_leaf_transfer", |b| b.iter(|| codec::decode_leaf(black_box(&leaf)).unwrap()));
    g.finish();
}

fn tree(n: u64) -> MemTree {
    let mut t = MemTree::new();
    for i in 0..n {
        t.push_hash(merkle::leaf_hash(&i.to_be_bytes()));
    }
    t
}

fn merkle_tree(c: &mut Criterion) {
    let mut g = c.benchmark_group("merkle");
    g.throughput(Throughput::Elements(1));
    // 2^20 - 1 leaves: appending the next leaf completes 20 subtrees (the worst case).
    let worst = tree((1 << 20) - 1);
    let leaf = merkle::leaf_hash(b"next");
    g.bench_function("append_nodes_worst_1M", |b| {
        b.iter(|| merkle::append_nodes(worst.size(), black_box(leaf), &worst).unwrap())
    });
    g.bench_function("root_1M", |b| b.iter(|| merkle::root(black_box(worst.size()), &worst).unwrap()));
    let mut growing = MemTree::new();
    g.bench_function("memtree_push_amortised", |b| b.iter(|| growing.push_hash(black_box(leaf))));
    drop(growing);
    let big = tree(1 << 20);
    let size = big.size();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    g.bench_function("inclusion_proof_memtree_1M", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            big.inclusion_proof(x % size, size).unwrap()
        })
    });
    g.finish();
}

fn flush(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(&dir.path().join("sled")).unwrap();
    let mut g = c.benchmark_group("store");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    g.bench_function("sled_apply_batch_flush_8x160B", |b| {
        b.iter(|| {
            let mut batch = Batch::default();
            for k in 0..8u64 {
                batch.put(format!("k{i:016}-{k}").into_bytes(), vec![k as u8; 160]);
            }
            i += 1;
            store.commit(batch).unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = verify, hashing, rules, merkle_tree, flush
}
criterion_main!(benches);
