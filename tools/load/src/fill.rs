//! `greenledger-load --fill DIR --count N`: grows a ledger directory to N more entries in-process
//! (no network), to measure proofs, memory and throughput on a large ledger without spending
//! hours on the way there. The mix per device and hour: a generation reading, its issuance, and a
//! one-certificate transfer split off the issued bundle. Bundle ids and serials follow from the
//! rules (one bundle per issuance, one new id per split), so everything is signed in advance.

use greenledger::cli::admin::{create_with, DataDir};
use greenledger::ledger::Ledger;
use greenledger::store::{SledStore, Store};
use greenledger::testkit::{fixtures, Cast};
use greenledger_core::calendar::unix;
use greenledger_core::command as cmd;
use greenledger_core::command::{Command, SignedCommand};
use greenledger_core::crypto::Keypair;
use greenledger_core::types::*;
use std::path::Path;
use std::time::Instant;

const DEVICES: u64 = 1000;
const NAME: &str = "fill.greenledger.local/ledger";
const UNITS_PER_READING: u64 = 50;
const CHUNK: u64 = 8192;
/// Validity window of the fill's commands, in seconds.
const FILL_WINDOW_S: u64 = 120;

fn submit(ledger: &Ledger<SledStore>, cmds: Vec<SignedCommand>) -> anyhow::Result<()> {
    for (i, o) in ledger.submit_batch(cmds)?.into_iter().enumerate() {
        if let Err(r) = o {
            anyhow::bail!("fill command {i} refused: {r}");
        }
    }
    Ok(())
}

/// Grows the ledger in `dir` (created if missing) by about `count` entries; returns a JSON report.
pub fn fill(dir: &Path, count: u64) -> anyhow::Result<serde_json::Value> {
    let data = DataDir(dir.to_path_buf());
    // The test kit's cast: the operator registers its members, the meter posts, the generator
    // issues and sells to the consumer.
    let cast = Cast::new();
    let (operator, meter, generator, consumer) = (&cast.operator, &cast.meter, &cast.generator, &cast.consumer);
    let ledger = if data.holds_ledger() {
        data.open()?
    } else {
        std::fs::create_dir_all(dir)?;
        greenledger::cli::client::write_key(&data.operator_key(), operator)?;
        let (ledger, _) = create_with(dir, None, "fill operator", fixtures::policy(NAME))?;
        let mut setup = cast.registrations();
        for d in 0..DEVICES {
            setup.push(fixtures::register_device(DeviceId(format!("FILL-{d:04}")), generator.account(), 100_000_000));
        }
        let signed = setup.into_iter().enumerate().map(|(i, c)| operator.sign(NAME, 1 + i as u64, c)).collect();
        submit(&ledger, signed)?;
        ledger
    };
    let meta = ledger.meta()?;
    if meta.policy.name != NAME {
        anyhow::bail!("{} is not a ledger made by --fill", dir.display());
    }
    // Where the previous fill stopped: the number of slots done follows from the entries.
    let setup_entries = 1 + cast.registrations().len() as u64 + DEVICES;
    let start_size = ledger.size();
    let slots_done = (start_size - setup_entries) / 3;
    let (mut next_bundle, mut next_serial) = (meta.next_bundle, meta.next_serial);
    // Hourly from May 2026: recent enough that nothing has expired, old enough for ~4.8M slots.
    let t0 = unix(2026, 5, 1, 0, 0, 0);
    let started = Instant::now();
    let target_slots = slots_done + count / 3;
    let mut slot = slots_done;
    while slot < target_slots {
        let end = (slot + CHUNK / 3).min(target_slots);
        let mut plan = Vec::with_capacity(((end - slot) * 3) as usize);
        for s in slot..end {
            let (d, h) = (s % DEVICES, s / DEVICES);
            let device = DeviceId(format!("FILL-{d:04}"));
            let interval = Interval::new(t0 + h * 3600, t0 + (h + 1) * 3600);
            let nonce = 1_000_000 + s;
            plan.push((
                meter,
                nonce,
                Command::PostGeneration(cmd::PostGeneration {
                    device: device.clone(),
                    interval,
                    energy: Wh(UNITS_PER_READING * 1_000_000),
                }),
            ));
            plan.push((generator, 2 * nonce, Command::Issue(cmd::Issue { device, interval })));
            let bundle = BundleId(next_bundle);
            let serials = SerialRange::new(next_serial, next_serial + 1);
            plan.push((
                generator,
                2 * nonce + 1,
                Command::Transfer(cmd::Transfer { bundle, serials, to: consumer.account() }),
            ));
            next_bundle += 2;
            next_serial += UNITS_PER_READING;
        }
        let half = plan.len() / 2;
        let (a, b) = plan.split_at(half);
        // Signed with a two-minute validity window, so the ledger forgets each nonce soon after,
        // as it does for clients in use.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let expires = Timestamp(now + FILL_WINDOW_S);
        let sign = |part: &[(&Keypair, u64, Command)]| -> Vec<SignedCommand> {
            part.iter().map(|(k, n, c)| k.sign_until(NAME, *n, expires, c.clone())).collect()
        };
        let (mut sa, sb) = std::thread::scope(|sc| {
            let hb = sc.spawn(|| sign(b));
            (sign(a), hb.join().expect("signer thread"))
        });
        sa.extend(sb);
        submit(&ledger, sa)?;
        slot = end;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let size = ledger.size();
    let disk = ledger.store().size_on_disk();
    Ok(serde_json::json!({
        "entries": size,
        "added": size - start_size,
        "elapsed_s": elapsed,
        "per_s": (size - start_size) as f64 / elapsed.max(1e-9),
        "disk_bytes": disk,
        "disk_bytes_per_entry": disk / size.max(1),
        "note": "in-process: signing on two threads, then submit_batch (batch verify, decide, durable commit) per 8192 commands",
    }))
}
