//! The load generator's core: plan a realistic command mix, pre-sign it, drive it through
//! concurrent `SubmitBatch` streams and check every outcome against what was expected.
//!
//! Used by the `greenledger-load` binary and by `tests/smoke.rs`.
//!
//! # The mix
//!
//! Bundle ids and serial numbers come from global counters, so a command that names a bundle
//! can only be signed in advance if its id is known. The plan uses one property of the rules:
//! moving a *prefix* of a bundle's serial range leaves the remainder under the bundle's own id.
//! The untimed setup gives each stream a generator stock bundle and a consumer stock bundle (one
//! issuance of a large reading with a direct-supply share); their ids are read back with
//! `GetHoldings`. Every timed transfer and retirement then cuts the next prefix of a stock
//! bundle, so all commands are signed before the clock starts, and each stream works only on its
//! own accounts and devices (order within a stream is kept by the server). The timed commands
//! are signed with a validity window that ends an hour after the ledger's time when they are
//! signed, as clients do, so the ledger forgets their nonces afterwards.
//!
//! One cycle of a stream (15-minute metering slots, 1 MWh certificates):
//! 1. meter: generation reading of one of the stream's wind devices
//! 2. exchange: green-power trade of 2 MWh before issuance (certificates go with the power)
//! 3. generator: issuance of that reading
//! 4. exchange: green-power trade of 1 MWh after issuance (moves issued certificates)
//! 5. generator: transfer of 3 certificates split off its stock bundle to consumer A
//! 6. meter: consumption reading of consumer A
//! 7. consumer A: retirement of 2 certificates split off its stock bundle
//! 8. every sixth cycle, a command that must be refused: a second issuance of the same reading,
//!    or a transfer of the generator's stock by consumer B (not the owner). About 2.3%.

use anyhow::{anyhow, bail, Context as _};
use greenledger::rpc::{convert, pb};
use greenledger::testkit::client::{self, Client};
use greenledger_core::command as cmd;
use greenledger_core::command::Command;
use greenledger_core::crypto::Keypair;
use greenledger_core::types::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_stream::wrappers::ReceiverStream;

/// Length of one metering slot.
pub const SLOT_S: u64 = 900;
/// Readings per device before the plan moves on to another device (30 days of slots).
pub const SLOTS_PER_DEVICE: u64 = 30 * 96;
/// Commands in a cycle without a refusal; every sixth cycle has one more.
pub const CYCLE_LEN: usize = 7;
pub const REFUSAL_EVERY: u64 = 6;
/// Cycles served by one stock bundle (it is split twice per cycle at most).
pub const STOCK_CYCLES: u64 = 64;

#[derive(Clone, Debug)]
pub struct Config {
    /// `http://host:port`
    pub endpoint: String,
    pub operator: Keypair,
    pub count: usize,
    pub concurrency: usize,
    pub batch: usize,
    /// Flights of one stream in flight at once.
    pub window: usize,
    /// Cap in commands per second over all streams.
    pub rate: Option<f64>,
    pub checkpoint_latency: bool,
    /// Wh per certificate of the ledger's policy.
    pub unit_wh: u64,
    pub progress: bool,
}

impl Config {
    pub fn new(endpoint: String, operator: Keypair) -> Config {
        Config {
            endpoint,
            operator,
            count: 20_000,
            concurrency: 4,
            batch: 256,
            window: 1,
            rate: None,
            checkpoint_latency: false,
            unit_wh: 1_000_000,
            progress: false,
        }
    }
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    pub submitted: u64,
    pub acked: u64,
    pub refused: u64,
    pub last_index: u64,
    pub elapsed_s: f64,
    /// Accepted (durable) commands per second.
    pub per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Refusals the plan asked for.
    pub expected_refusals: u64,
    /// Commands that should have been accepted but were refused, and the reverse.
    pub unexpected_refusals: u64,
    pub unexpected_accepts: u64,
    /// Results a stream never delivered (stream failed).
    pub missing: u64,
    /// Ack to a GetCheckpoint whose size covers the entry (with --checkpoint-latency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_p50_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_p99_ms: Option<f64>,
    /// Ack as received already names a covering tree size (`receipt.tree_size > index`).
    pub receipts_covered: bool,
    /// Tree size of the checkpoint fetched after the run.
    pub checkpoint_size: u64,
    /// Entries the untimed setup wrote.
    pub setup_entries: u64,
    pub setup_s: f64,
    pub sign_s: f64,
    pub concurrency: usize,
    pub batch: usize,
    pub window: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// First messages of unexpected outcomes (at most 10).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl Report {
    /// True when every command got the outcome the plan expected.
    pub fn is_correct(&self) -> bool {
        self.acked + self.refused == self.submitted
            && self.unexpected_refusals == 0
            && self.unexpected_accepts == 0
            && self.missing == 0
    }
}

/// One planned command before signing.
struct Planned {
    signer: usize,
    nonce: u64,
    command: Command,
    expect_ok: bool,
}

/// A signed command ready to send, with what the plan expects of it.
pub struct Ready {
    pub msg: pb::SignedCommand,
    pub expect_ok: bool,
    pub kind: &'static str,
}

/// Keys taking part in a run; `keys[i]` signs `Planned { signer: i }`.
struct Cast {
    keys: Vec<Keypair>,
    meter: usize,
    exchange: usize,
    /// Per stream: (generator, consumer A, consumer B).
    streams: Vec<(usize, usize, usize)>,
}

/// The validity window of the pre-signed mix, from the ledger's time when it is signed: an hour.
const VALID_FOR: u64 = 3600;

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Signs the planned commands on every core, each with the validity window ending at `expires`.
fn sign_all(ledger: &str, keys: &[Keypair], expires: Timestamp, planned: Vec<Planned>) -> Vec<Ready> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).max(1);
    let chunk = planned.len().div_ceil(threads).max(1);
    let mut out: Vec<Ready> = Vec::with_capacity(planned.len());
    let mut planned = planned;
    let mut parts = Vec::new();
    while !planned.is_empty() {
        let rest = planned.split_off(chunk.min(planned.len()));
        parts.push(std::mem::replace(&mut planned, rest));
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                s.spawn(move || {
                    part.into_iter()
                        .map(|p| {
                            let kind = p.command.kind();
                            let signed = keys[p.signer].sign_until(ledger, p.nonce, expires, p.command);
                            Ready { msg: convert::signed_to_pb(&signed), expect_ok: p.expect_ok, kind }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            out.extend(h.join().expect("signing thread"));
        }
    });
    out
}

/// The ledger's clock now, as its checkpoint response says (this machine's clock when the
/// server does not say).
pub async fn ledger_time(client: &mut Client) -> anyhow::Result<u64> {
    let cp = client.get_checkpoint(pb::GetCheckpointRequest {}).await?.into_inner();
    Ok(if cp.time == 0 { now_s() } else { cp.time })
}

/// The ledger name (checkpoint origin) and size.
pub async fn checkpoint(client: &mut Client) -> anyhow::Result<(String, u64)> {
    let cp = client.get_checkpoint(pb::GetCheckpointRequest {}).await?.into_inner();
    let origin = cp.checkpoint.lines().next().unwrap_or_default().to_string();
    Ok((origin, cp.size))
}

pub use greenledger::testkit::client::connect;

/// Per-stream facts the timed plan needs from the setup.
struct StreamSetup {
    devices: Vec<DeviceId>,
    /// Per stock reading k: (bundle id, first serial) of the generator's and consumer A's bundle.
    gen_stock: Vec<(u64, u64)>,
    cons_stock: Vec<(u64, u64)>,
}

/// The per-stream plan: cycles needed for `n` commands (upper bound).
fn cycles_for(n: usize) -> u64 {
    (n as u64).div_ceil(CYCLE_LEN as u64).max(1)
}

/// Registers the cast and devices, and gives each stream its stock bundles. Untimed.
async fn setup(
    cfg: &Config,
    client: &mut Client,
    ledger: &str,
    cast: &Cast,
    per_stream: &[usize],
    tag: &str,
    t_end: u64,
) -> anyhow::Result<(Vec<StreamSetup>, u64)> {
    let unit = cfg.unit_wh;
    let op_base = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    let mut op_nonce = op_base;
    let mut op = |c: Command| {
        op_nonce += 1;
        cfg.operator.sign(ledger, op_nonce, c)
    };
    let mut signed = Vec::new();
    let reg = |k: &Keypair, name: String, roles: &[Role]| {
        Command::RegisterAccount(cmd::RegisterAccount { account: k.account(), name, roles: Roles::of(roles) })
    };
    signed.push(op(reg(&cast.keys[cast.meter], format!("Load meter operator {tag}"), &[Role::MeterOperator])));
    signed.push(op(reg(&cast.keys[cast.exchange], format!("Load power exchange {tag}"), &[Role::TradingPlatform])));
    let commissioned = Timestamp(t_end.saturating_sub(3 * 365 * 86_400));
    let mut setups = Vec::new();
    // Energy and nonces of the stock readings, signed below after registration.
    let mut stock_cmds = Vec::new();
    for (s, &(g, a, b)) in cast.streams.iter().enumerate() {
        signed.push(op(reg(&cast.keys[g], format!("Load wind co {tag}-{s}"), &[Role::Generator])));
        signed.push(op(reg(&cast.keys[a], format!("Load factory A {tag}-{s}"), &[Role::Consumer])));
        signed.push(op(reg(&cast.keys[b], format!("Load factory B {tag}-{s}"), &[Role::Consumer])));
        let cycles = cycles_for(per_stream[s]);
        let n_dev = cycles.div_ceil(SLOTS_PER_DEVICE).max(1);
        let devices: Vec<DeviceId> = (0..n_dev).map(|k| DeviceId(format!("LD-{tag}-S{s}-W{k}"))).collect();
        for d in &devices {
            signed.push(op(Command::RegisterDevice(cmd::RegisterDevice {
                device: d.clone(),
                owner: cast.keys[g].account(),
                technology: Technology::Wind,
                capacity_w: 60_000_000,
                region: "inner_mongolia".into(),
                commissioned,
                attributes: Default::default(),
            })));
        }
        let stock = DeviceId(format!("LD-{tag}-S{s}-STOCK"));
        // One hourly stock reading per STOCK_CYCLES cycles, so that no bundle is split more than
        // STOCK_CYCLES times (a bundle's history grows with every split).
        let gen_units = 3 * STOCK_CYCLES + 4;
        let cons_units = 2 * STOCK_CYCLES + 4;
        let energy = (gen_units + cons_units) * unit;
        let capacity = energy + 1;
        let stocks = cycles.div_ceil(STOCK_CYCLES);
        signed.push(op(Command::RegisterDevice(cmd::RegisterDevice {
            device: stock.clone(),
            owner: cast.keys[g].account(),
            technology: Technology::Hydro,
            capacity_w: capacity.max(1),
            region: "sichuan".into(),
            commissioned,
            attributes: Default::default(),
        })));
        let n = (1u64 << 62) + ((s as u64) << 32);
        for k in 0..stocks {
            let stock_iv = Interval::new(t_end - (stocks - k) * 3600, t_end - (stocks - k - 1) * 3600);
            stock_cmds.push(cast.keys[cast.meter].sign(
                ledger,
                n + 2 * k,
                Command::PostGeneration(cmd::PostGeneration {
                    device: stock.clone(),
                    interval: stock_iv,
                    energy: Wh(energy),
                }),
            ));
            stock_cmds.push(cast.keys[cast.meter].sign(
                ledger,
                n + 2 * k + 1,
                Command::PostDirectSupply(cmd::PostDirectSupply {
                    device: stock.clone(),
                    consumer: cast.keys[a].account(),
                    interval: stock_iv,
                    energy: Wh(cons_units * unit),
                }),
            ));
            stock_cmds.push(cast.keys[g].sign(
                ledger,
                n + k,
                Command::Issue(cmd::Issue { device: stock.clone(), interval: stock_iv }),
            ));
        }
        setups.push(StreamSetup { devices, gen_stock: Vec::new(), cons_stock: Vec::new() });
    }
    signed.extend(stock_cmds);
    let n_setup = signed.len() as u64;
    client::submit_all(client, &signed).await.context(
        "setup (is the --operator-key the ledger's operator, and the policy 1 MWh, without hourly matching, with owner issuance: init --preset eecs-go?)",
    )?;
    for (s, &(g, a, _)) in cast.streams.iter().enumerate() {
        let stock = format!("LD-{tag}-S{s}-STOCK");
        let stocks = cycles_for(per_stream[s]).div_ceil(STOCK_CYCLES) as usize;
        let find = |h: pb::Holdings| -> anyhow::Result<Vec<(u64, u64)>> {
            // In production order: stock reading k is the k-th hour.
            let mut found: Vec<(u64, u64, u64)> = h
                .bundles
                .into_iter()
                .filter(|b| b.device == stock && b.state == "active")
                .map(|b| (b.production.map_or(0, |p| p.start), b.id, b.serials.map_or(0, |r| r.start)))
                .collect();
            found.sort_unstable();
            if found.len() != stocks {
                bail!("{} stock bundles of {stock} after setup, expected {stocks}", found.len());
            }
            Ok(found.into_iter().map(|(_, id, start)| (id, start)).collect())
        };
        let gh =
            client.get_holdings(pb::AccountRequest { account: cast.keys[g].account().0.to_vec() }).await?.into_inner();
        let ah =
            client.get_holdings(pb::AccountRequest { account: cast.keys[a].account().0.to_vec() }).await?.into_inner();
        setups[s].gen_stock = find(gh)?;
        setups[s].cons_stock = find(ah)?;
    }
    Ok((setups, n_setup))
}

/// The timed commands of stream `s`, exactly `n` of them.
fn plan_stream(cfg: &Config, cast: &Cast, s: usize, n: usize, st: &StreamSetup, t_end: u64) -> Vec<Planned> {
    let unit = cfg.unit_wh;
    let (g, a, b) = cast.streams[s];
    let cycles = cycles_for(n);
    let n_dev = st.devices.len() as u64;
    let per_dev = cycles.div_ceil(n_dev);
    // Shared signers (meter, exchange) take nonces from a per-stream range.
    let shared_base = ((s as u64) + 1) << 40;
    let (mut meter_n, mut exch_n, mut gen_n, mut a_n, mut b_n) = (shared_base, shared_base, 1u64, 1u64, 1u64);
    let mut out = Vec::with_capacity(n + 8);
    let beneficiary = format!("Load factory A stream {s}");
    for c in 0..cycles {
        if out.len() >= n {
            break;
        }
        let dev = &st.devices[(c % n_dev) as usize];
        let j = c / n_dev;
        let iv = Interval::new(t_end - (per_dev - j) * SLOT_S, t_end - (per_dev - j) * SLOT_S + SLOT_S);
        let civ = Interval::new(t_end - (cycles - c) * SLOT_S, t_end - (cycles - c) * SLOT_S + SLOT_S);
        // 6 to 13 MWh plus a remainder below one unit that carries to the next issuance.
        let energy = Wh(6 * unit + (c * 7 % 8) * unit + (c * 7919 % 1000) * (unit / 1000));
        let mut push = |signer: usize, nonce: &mut u64, command: Command, expect_ok: bool| {
            *nonce += 1;
            out.push(Planned { signer, nonce: *nonce, command, expect_ok });
        };
        push(
            cast.meter,
            &mut meter_n,
            Command::PostGeneration(cmd::PostGeneration { device: dev.clone(), interval: iv, energy }),
            true,
        );
        push(
            cast.exchange,
            &mut exch_n,
            Command::SettleTrade(cmd::SettleTrade {
                device: dev.clone(),
                interval: iv,
                buyer: cast.keys[b].account(),
                energy: Wh(2 * unit),
            }),
            true,
        );
        push(g, &mut gen_n, Command::Issue(cmd::Issue { device: dev.clone(), interval: iv }), true);
        push(
            cast.exchange,
            &mut exch_n,
            Command::SettleTrade(cmd::SettleTrade {
                device: dev.clone(),
                interval: iv,
                buyer: cast.keys[b].account(),
                energy: Wh(unit),
            }),
            true,
        );
        let (k, off) = ((c / STOCK_CYCLES) as usize, c % STOCK_CYCLES);
        let gs = st.gen_stock[k].1 + 3 * off;
        push(
            g,
            &mut gen_n,
            Command::Transfer(cmd::Transfer {
                bundle: BundleId(st.gen_stock[k].0),
                serials: SerialRange::new(gs, gs + 3),
                to: cast.keys[a].account(),
            }),
            true,
        );
        push(
            cast.meter,
            &mut meter_n,
            Command::PostConsumption(cmd::PostConsumption {
                account: cast.keys[a].account(),
                interval: civ,
                energy: Wh(5 * unit),
            }),
            true,
        );
        let cs = st.cons_stock[k].1 + 2 * off;
        push(
            a,
            &mut a_n,
            Command::Retire(cmd::Retire {
                bundle: BundleId(st.cons_stock[k].0),
                serials: SerialRange::new(cs, cs + 2),
                beneficiary: cmd::Beneficiary::Product {
                    product: beneficiary.clone(),
                    quantity: 1,
                    unit: "batch".into(),
                },
                purpose: cmd::Purpose::ProductFootprint,
                consumption: civ,
            }),
            true,
        );
        if c % REFUSAL_EVERY == REFUSAL_EVERY - 1 {
            if (c / REFUSAL_EVERY).is_multiple_of(2) {
                // Rule 1: the same reading issued twice.
                push(g, &mut gen_n, Command::Issue(cmd::Issue { device: dev.clone(), interval: iv }), false);
            } else {
                // Rule 4: consumer B moves certificates the generator still owns.
                let next = gs + 3;
                push(
                    b,
                    &mut b_n,
                    Command::Transfer(cmd::Transfer {
                        bundle: BundleId(st.gen_stock[k].0),
                        serials: SerialRange::new(next, next + 1),
                        to: cast.keys[a].account(),
                    }),
                    false,
                );
            }
        }
    }
    out.truncate(n);
    out
}

/// Latencies in microseconds, collected by all streams.
#[derive(Default)]
struct Samples {
    submit_us: Vec<u64>,
    checkpoint_us: Vec<u64>,
}

fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

#[derive(Default)]
struct StreamResult {
    acked: u64,
    refused: u64,
    unexpected_refusals: u64,
    unexpected_accepts: u64,
    missing: u64,
    last_index: Option<u64>,
    uncovered: u64,
    problems: Vec<String>,
}

/// Drives one stream: flights of `batch` commands, at most `window` in flight.
#[allow(clippy::too_many_arguments)]
async fn drive_stream(
    client: Client,
    stream: usize,
    cmds: Vec<Ready>,
    cfg: Arc<Config>,
    start: Instant,
    samples: Arc<Mutex<Samples>>,
    done: Arc<AtomicU64>,
    bar: indicatif::ProgressBar,
) -> anyhow::Result<StreamResult> {
    let batch = cfg.batch.max(1);
    let n = cmds.len();
    let flights = n.div_ceil(batch);
    let expect: Vec<(bool, &'static str)> = cmds.iter().map(|c| (c.expect_ok, c.kind)).collect();
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..flights).map(|_| AtomicU64::new(0)).collect());
    let window = Arc::new(tokio::sync::Semaphore::new(cfg.window.max(1)));
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::SignedCommand>(batch * cfg.window.max(1) + 1);
    let interval = cfg.rate.map(|r| Duration::from_secs_f64(batch as f64 * cfg.concurrency as f64 / r.max(1.0)));
    let cfg_c = cfg.concurrency.max(1);
    let sender = {
        let sent = sent.clone();
        let window = window.clone();
        tokio::spawn(async move {
            let mut it = cmds.into_iter().map(|c| c.msg);
            for f in 0..flights {
                let permit = window.acquire().await.expect("window");
                permit.forget();
                if let Some(iv) = interval {
                    // Streams are spread over the interval so that flights do not arrive together.
                    let due = start + iv.mul_f64(f as f64 + stream as f64 / cfg_c as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                sent[f].store(start.elapsed().as_nanos() as u64, Ordering::SeqCst);
                for _ in 0..batch {
                    match it.next() {
                        Some(m) => {
                            if tx.send(m).await.is_err() {
                                return;
                            }
                        }
                        None => break,
                    }
                }
            }
        })
    };
    let mut c = client.clone();
    let mut results = c.submit_batch(ReceiverStream::new(rx)).await?.into_inner();
    let mut r = StreamResult::default();
    let mut local_us = Vec::with_capacity(n);
    let mut got = 0usize;
    let mut cp_tasks = Vec::new();
    loop {
        let msg = match results.message().await {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(e) => {
                r.problems.push(format!("stream failed: {e}"));
                break;
            }
        };
        let now = start.elapsed().as_nanos() as u64;
        let p = msg.position as usize;
        let f = p / batch;
        local_us.push(now.saturating_sub(sent[f].load(Ordering::SeqCst)) / 1000);
        got += 1;
        let (expect_ok, kind) = expect.get(p).copied().unwrap_or((true, "?"));
        match msg.result {
            Some(pb::submit_result::Result::Receipt(rc)) => {
                r.acked += 1;
                r.last_index = Some(r.last_index.map_or(rc.index, |l: u64| l.max(rc.index)));
                if rc.tree_size <= rc.index {
                    r.uncovered += 1;
                }
                if !expect_ok {
                    r.unexpected_accepts += 1;
                    if r.problems.len() < 10 {
                        r.problems.push(format!(
                            "position {p} ({kind}) should have been refused but was accepted as entry {}",
                            rc.index
                        ));
                    }
                }
                if cfg.checkpoint_latency && ((p + 1).is_multiple_of(batch) || p + 1 == n) {
                    let mut cc = client.clone();
                    let index = rc.index;
                    let samples = samples.clone();
                    cp_tasks.push(tokio::spawn(async move {
                        let t = Instant::now();
                        loop {
                            match cc.get_checkpoint(pb::GetCheckpointRequest {}).await {
                                Ok(cp) if cp.get_ref().size > index => break,
                                Ok(_) => tokio::time::sleep(Duration::from_micros(200)).await,
                                Err(_) => return,
                            }
                        }
                        samples.lock().unwrap().checkpoint_us.push(t.elapsed().as_micros() as u64);
                    }));
                }
            }
            Some(pb::submit_result::Result::Refusal(f)) => {
                r.refused += 1;
                if expect_ok {
                    r.unexpected_refusals += 1;
                    if r.problems.len() < 10 {
                        r.problems.push(format!("position {p} ({kind}) refused: {}", f.message));
                    }
                }
            }
            None => r.problems.push(format!("position {p}: empty result")),
        }
        if (p + 1).is_multiple_of(batch) || p + 1 == n {
            window.add_permits(1);
        }
        let d = done.fetch_add(1, Ordering::Relaxed);
        if d.is_multiple_of(256) {
            bar.set_position(d + 1);
        }
    }
    let _ = sender.await;
    for t in cp_tasks {
        let _ = t.await;
    }
    r.missing = (n - got.min(n)) as u64;
    samples.lock().unwrap().submit_us.extend(local_us);
    Ok(r)
}

/// Runs the whole load: setup (untimed), plan and sign (untimed), then the timed submission.
pub async fn run(cfg: Config) -> anyhow::Result<Report> {
    if cfg.concurrency == 0 || cfg.batch == 0 || cfg.count == 0 {
        bail!("count, concurrency and batch must be positive");
    }
    let mut client = connect(&cfg.endpoint).await?;
    let (ledger, _) = checkpoint(&mut client).await?;
    if ledger.is_empty() {
        bail!("the server's checkpoint names no ledger");
    }
    let tag = {
        let k = Keypair::random();
        hex::encode(&k.account().0[..3])
    };
    let mut keys = vec![Keypair::random(), Keypair::random()];
    let mut streams = Vec::new();
    for _ in 0..cfg.concurrency {
        let i = keys.len();
        keys.extend([Keypair::random(), Keypair::random(), Keypair::random()]);
        streams.push((i, i + 1, i + 2));
    }
    let cast = Cast { keys, meter: 0, exchange: 1, streams };
    let per_stream: Vec<usize> = (0..cfg.concurrency)
        .map(|s| cfg.count / cfg.concurrency + usize::from(s < cfg.count % cfg.concurrency))
        .collect();
    // Every interval ends an hour before now, on a slot boundary.
    let t_end = (now_s() / SLOT_S) * SLOT_S - 3600;

    let t_setup = Instant::now();
    let (setups, setup_entries) = setup(&cfg, &mut client, &ledger, &cast, &per_stream, &tag, t_end).await?;
    let setup_s = t_setup.elapsed().as_secs_f64();

    let t_sign = Instant::now();
    // The mix is signed before the clock starts, valid for an hour from the ledger's time now.
    let expires = Timestamp(ledger_time(&mut client).await?.saturating_add(VALID_FOR));
    let mut plans = Vec::new();
    for (s, st) in setups.iter().enumerate() {
        let planned = plan_stream(&cfg, &cast, s, per_stream[s], st, t_end);
        plans.push(sign_all(&ledger, &cast.keys, expires, planned));
    }
    let sign_s = t_sign.elapsed().as_secs_f64();
    let submitted: u64 = plans.iter().map(|p| p.len() as u64).sum();
    let expected_refusals: u64 = plans.iter().flatten().filter(|c| !c.expect_ok).count() as u64;

    let bar = if cfg.progress {
        let b = indicatif::ProgressBar::new(submitted);
        b.set_style(
            indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let cfg = Arc::new(cfg);
    let samples = Arc::new(Mutex::new(Samples::default()));
    let done = Arc::new(AtomicU64::new(0));
    // One connection (HTTP/2 channel) per stream, opened before the clock starts.
    let mut clients = Vec::new();
    for _ in 0..cfg.concurrency {
        clients.push(connect(&cfg.endpoint).await?);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (s, (cmds, client)) in plans.into_iter().zip(clients).enumerate() {
        tasks.push(tokio::spawn(drive_stream(
            client,
            s,
            cmds,
            cfg.clone(),
            start,
            samples.clone(),
            done.clone(),
            bar.clone(),
        )));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let (_, size) = checkpoint(&mut client).await?;

    let mut rep = Report {
        submitted,
        expected_refusals,
        elapsed_s: elapsed,
        setup_entries,
        setup_s,
        sign_s,
        concurrency: cfg.concurrency,
        batch: cfg.batch,
        window: cfg.window,
        rate: cfg.rate,
        checkpoint_size: size,
        receipts_covered: true,
        ..Report::default()
    };
    let mut last: Option<u64> = None;
    for r in results {
        rep.acked += r.acked;
        rep.refused += r.refused;
        rep.unexpected_accepts += r.unexpected_accepts;
        rep.unexpected_refusals += r.unexpected_refusals;
        rep.missing += r.missing;
        rep.receipts_covered &= r.uncovered == 0;
        if let Some(l) = r.last_index {
            last = Some(last.map_or(l, |x| x.max(l)));
        }
        for p in r.problems {
            if rep.problems.len() < 10 {
                rep.problems.push(p);
            }
        }
    }
    rep.last_index = last.unwrap_or(0);
    rep.per_s = rep.acked as f64 / elapsed.max(1e-9);
    let mut s = std::mem::take(&mut *samples.lock().unwrap());
    s.submit_us.sort_unstable();
    s.checkpoint_us.sort_unstable();
    rep.p50_ms = percentile_ms(&s.submit_us, 0.50);
    rep.p99_ms = percentile_ms(&s.submit_us, 0.99);
    rep.max_ms = s.submit_us.last().map_or(0.0, |&u| u as f64 / 1000.0);
    if cfg.checkpoint_latency {
        rep.checkpoint_p50_ms = Some(percentile_ms(&s.checkpoint_us, 0.50));
        rep.checkpoint_p99_ms = Some(percentile_ms(&s.checkpoint_us, 0.99));
    }
    Ok(rep)
}

/// Inclusion proofs over gRPC: `concurrency` clients ask for proofs of pseudo-random indices
/// in the current tree for `seconds`; a sample of proofs is verified against the checkpoint root.
pub async fn measure_proofs(endpoint: &str, concurrency: usize, seconds: f64) -> anyhow::Result<serde_json::Value> {
    let mut client = connect(endpoint).await?;
    let cp = client.get_checkpoint(pb::GetCheckpointRequest {}).await?.into_inner();
    let size = cp.size;
    if size == 0 {
        bail!("empty ledger");
    }
    let root: [u8; 32] = cp.root.as_slice().try_into().map_err(|_| anyhow!("root is not 32 bytes"))?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for t in 0..concurrency.max(1) {
        let mut c = connect(endpoint).await?;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1);
            let mut checked = 0u64;
            while Instant::now() < deadline {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let index = x % size;
                let t0 = Instant::now();
                let p = c.get_inclusion_proof(pb::InclusionProofRequest { index, tree_size: size }).await?.into_inner();
                lat.push(t0.elapsed().as_micros() as u64);
                if lat.len() % 1000 == 1 {
                    let leaf = c
                        .get_entries(pb::GetEntriesRequest { start: index, end: index + 1 })
                        .await?
                        .into_inner()
                        .message()
                        .await?;
                    let leaf = leaf.ok_or_else(|| anyhow!("entry {index} missing"))?;
                    let path: Vec<[u8; 32]> =
                        p.hashes.iter().map(|h| h.as_slice().try_into().unwrap_or([0; 32])).collect();
                    greenledger_core::log::merkle::verify_inclusion(
                        index,
                        size,
                        &greenledger_core::log::merkle::leaf_hash(&leaf.leaf),
                        &path,
                        &root,
                    )
                    .map_err(|e| anyhow!("proof of {index} does not verify: {e:?}"))?;
                    checked += 1;
                }
            }
            anyhow::Ok((lat, checked))
        }));
    }
    let t0 = Instant::now();
    let mut lat = Vec::new();
    let mut checked = 0;
    for t in tasks {
        let (l, c) = t.await??;
        lat.extend(l);
        checked += c;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    lat.sort_unstable();
    Ok(serde_json::json!({
        "mode": "proofs",
        "tree_size": size,
        "concurrency": concurrency,
        "proofs": lat.len(),
        "verified_sample": checked,
        "elapsed_s": elapsed,
        "per_s": lat.len() as f64 / elapsed,
        "p50_ms": percentile_ms(&lat, 0.5),
        "p99_ms": percentile_ms(&lat, 0.99),
    }))
}

/// How `--audit` replays the downloaded log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditMode {
    /// The audit of `greenledger audit` ([`greenledger::audit::audit_with`]): signatures checked
    /// in batches on this many threads (`None`: one per core; 0: on the replaying thread).
    Batches(Option<usize>),
    /// For comparison, the replay as audits did it before batches: one entry at a time with
    /// `Replayer::push`, each signature verified alone, and the root recomputed.
    OneByOne,
}

/// Audit: download the whole log with GetEntries, then replay it (every signature, every entry
/// with the rules, the root recomputed and compared with the signed checkpoint) as `mode` says.
pub async fn audit(endpoint: &str, mode: AuditMode) -> anyhow::Result<serde_json::Value> {
    use greenledger::audit::{self, Parallelism};
    let mut client = connect(endpoint).await?;
    let cp = client.get_checkpoint(pb::GetCheckpointRequest {}).await?.into_inner();
    let (text, _) = greenledger_core::log::split(&cp.checkpoint)?;
    let checkpoint = greenledger_core::log::Checkpoint::parse(&text)?;
    let size = checkpoint.size;
    let t0 = Instant::now();
    let mut stream = client.get_entries(pb::GetEntriesRequest { start: 0, end: size }).await?.into_inner();
    let mut leaves = Vec::with_capacity(size as usize);
    let mut bytes = 0u64;
    while let Some(e) = stream.message().await? {
        if e.index != leaves.len() as u64 {
            bail!("entry {} arrived out of order", e.index);
        }
        bytes += e.leaf.len() as u64;
        leaves.push(Some(e.leaf));
    }
    let download_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let (entries, threads, batch) = match mode {
        AuditMode::Batches(threads) => {
            let parallelism = threads.map_or_else(Parallelism::all_cores, Parallelism::threads);
            let report = tokio::task::spawn_blocking(move || {
                let now = Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
                // No consistency proofs: a mismatch is reported without searching for the first
                // divergent entry.
                let mut no_proofs = |_: u64, _: u64| -> Result<Vec<[u8; 32]>, String> { Err("not fetched".into()) };
                audit::audit_with(
                    parallelism,
                    leaves,
                    &cp.checkpoint,
                    &cp.log_key,
                    None,
                    &mut no_proofs,
                    now,
                    &mut |_, _| {},
                )
            })
            .await?
            .map_err(|e| anyhow!("audit failed: {e}"))?;
            (report.entries, serde_json::json!(parallelism.threads), serde_json::json!(parallelism.chunk))
        }
        AuditMode::OneByOne => {
            let root = checkpoint.root;
            let entries = tokio::task::spawn_blocking(move || {
                let mut r = greenledger_core::replay::Replayer::new();
                let mut tree = greenledger_core::log::merkle::MemTree::new();
                for leaf in leaves.iter().flatten() {
                    r.push(leaf).map_err(|e| anyhow!("audit failed: {e}"))?;
                    tree.push(leaf);
                }
                if tree.root() != root {
                    bail!("audit failed: the recomputed root differs from the checkpoint's");
                }
                anyhow::Ok(r.next_index)
            })
            .await??;
            (entries, serde_json::json!("one by one"), serde_json::json!(1))
        }
    };
    let replay_s = t1.elapsed().as_secs_f64();
    Ok(serde_json::json!({
        "mode": "audit",
        "entries": entries,
        "threads": threads,
        "batch": batch,
        "leaf_bytes": bytes,
        "download_s": download_s,
        "replay_s": replay_s,
        "replay_per_s": entries as f64 / replay_s.max(1e-9),
        "download_per_s": entries as f64 / download_s.max(1e-9),
        "root_matches_checkpoint": true,
    }))
}
