//! Pre-signed sample commands for the benchmarks and the load tool's limit probes.

use super::fixtures::transfer;
use greenledger_core::crypto::Keypair;
use greenledger_core::{BundleId, SerialRange, SignedCommand};

/// `n` typical commands for the ledger called `ledger`: transfers signed by 64 different keys
/// (seeds `[1; 32]` to `[64; 32]`), each with its own nonce.
pub fn transfers(ledger: &str, n: usize) -> Vec<SignedCommand> {
    let keys: Vec<Keypair> = (0..64u8).map(|i| Keypair::from_seed([i + 1; 32])).collect();
    (0..n)
        .map(|i| {
            let k = &keys[i % keys.len()];
            let i64 = i as u64;
            let serials = SerialRange::new(5000 + 3 * i64, 5003 + 3 * i64);
            k.sign(ledger, i64, transfer(BundleId(1000 + i64), serials, keys[(i + 1) % keys.len()].account()))
        })
        .collect()
}
