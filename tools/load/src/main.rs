//! greenledger-load: drives a running ledger with a realistic, pre-signed command mix over
//! concurrent gRPC `SubmitBatch` streams and prints one JSON line.
//!
//! ```sh
//! greenledger init --data /tmp/gl --preset eecs-go && greenledger serve --data /tmp/gl --addr 127.0.0.1:50051 &
//! greenledger-load --addr 127.0.0.1:50051 --operator-key /tmp/gl/operator.key --count 20000
//! greenledger-load --measure-limits                    # verify/s, batch-verify/s, hashes/s, flushes/s
//! greenledger-load --addr 127.0.0.1:50051 --proofs 10  # inclusion proofs/s over gRPC for 10 s
//! greenledger-load --addr 127.0.0.1:50051 --audit      # download the log and audit it
//! greenledger-load --addr 127.0.0.1:50051 --audit --audit-threads 0 --limits  # on one thread
//! greenledger-load --addr 127.0.0.1:50051 --audit --audit-one-by-one  # signatures one by one
//! ```
//!
//! The load run exits non-zero when any command got an outcome the plan did not expect.

#![forbid(unsafe_code)]

use clap::Parser;
use greenledger_core::crypto::Keypair;
use greenledger_load::load as load_core;
use greenledger_load::{fill, limits};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "greenledger-load", about = "Load generator and limit probes for a greenledger server")]
struct Args {
    /// Server address, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:50051")]
    addr: String,
    /// The ledger operator's key file (registers the load's accounts and devices).
    #[arg(long)]
    operator_key: Option<PathBuf>,
    /// Timed commands to submit (setup commands come on top).
    #[arg(long, default_value_t = 20_000)]
    count: usize,
    /// Concurrent SubmitBatch streams, each on its own accounts and devices.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Commands per flight.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Flights of one stream in flight at once.
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Cap in commands per second over all streams.
    #[arg(long)]
    rate: Option<f64>,
    /// Also measure time from an ack to a GetCheckpoint covering the entry (one per flight).
    #[arg(long)]
    checkpoint_latency: bool,
    /// Wh per certificate of the ledger's policy.
    #[arg(long, default_value_t = 1_000_000)]
    unit_wh: u64,
    /// Measure the machine's limits first and add them (and ratios) to the report.
    #[arg(long)]
    limits: bool,
    /// Only measure the machine's limits and print them.
    #[arg(long)]
    measure_limits: bool,
    /// Seconds per limit probe.
    #[arg(long, default_value_t = 1.0)]
    limit_secs: f64,
    /// Only measure inclusion proofs served per second over gRPC, for this many seconds.
    #[arg(long)]
    proofs: Option<f64>,
    /// Only measure full hash tiles served per second over HTTP (C2SP tlog-tiles) from this
    /// host:port (the server's --http-addr), for --tile-secs seconds.
    #[arg(long)]
    tiles: Option<String>,
    /// How long --tiles measures.
    #[arg(long, default_value_t = 5.0)]
    tile_secs: f64,
    /// Only download the whole log and audit it (signatures, rules, root); entries per second.
    /// With --limits, also the machine's limits and the ratio to its batch verification rate.
    #[arg(long)]
    audit: bool,
    /// Threads that check the audit's signatures (default: one per core; 0: the replaying
    /// thread alone).
    #[arg(long)]
    audit_threads: Option<usize>,
    /// For comparison: replay the audit one entry at a time, each signature verified alone.
    #[arg(long, conflicts_with = "audit_threads")]
    audit_one_by_one: bool,
    /// During a load run, also sample this follower of a replicated ledger (HOST:PORT) beside
    /// --addr (its leader) and report the follower's lag: for each size the leader served, the
    /// time until the follower served it.
    #[arg(long, value_name = "HOST:PORT")]
    pub follower: Option<String>,
    /// Show a progress bar on stderr.
    #[arg(long)]
    progress: bool,
    /// Only grow the ledger directory DIR in-process by --count entries (no server; creates DIR
    /// if needed) to reach large sizes quickly.
    #[arg(long)]
    fill: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    match run(args) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("greenledger-load: {e:#}");
            std::process::exit(2);
        }
    }
}

fn run(args: Args) -> anyhow::Result<i32> {
    if args.measure_limits {
        println!("{}", limits::measure(args.limit_secs)?);
        return Ok(0);
    }
    if let Some(dir) = &args.fill {
        println!("{}", fill::fill(dir, args.count as u64)?);
        return Ok(0);
    }
    let endpoint = if args.addr.starts_with("http") { args.addr.clone() } else { format!("http://{}", args.addr) };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if let Some(secs) = args.proofs {
        println!("{}", rt.block_on(load_core::measure_proofs(&endpoint, args.concurrency, secs))?);
        return Ok(0);
    }
    if let Some(http) = &args.tiles {
        println!("{}", rt.block_on(greenledger_load::tiles::measure_tiles(http, args.concurrency, args.tile_secs))?);
        return Ok(0);
    }
    if args.audit {
        let mode = if args.audit_one_by_one {
            load_core::AuditMode::OneByOne
        } else {
            load_core::AuditMode::Batches(args.audit_threads)
        };
        let mut json = rt.block_on(load_core::audit(&endpoint, mode))?;
        if args.limits {
            let l = limits::measure(args.limit_secs)?;
            let per_s = json["replay_per_s"].as_f64().unwrap_or(0.0);
            let ratio = |key: &str, cores: f64| {
                let limit = l[key].as_f64().unwrap_or(0.0) * cores;
                serde_json::json!(if limit > 0.0 { per_s / limit } else { 0.0 })
            };
            // The batch rate is measured on one core; the audit checks on every core.
            let cores = l["nproc"].as_f64().unwrap_or(1.0);
            json["replay_per_s_over_batch_verify"] = ratio("batch_verify_per_s", 1.0);
            json["replay_per_s_over_batch_verify_all_cores"] = ratio("batch_verify_per_s", cores);
            json["replay_per_s_over_verify"] = ratio("verify_per_s", 1.0);
            json["limits"] = l;
        }
        println!("{json}");
        return Ok(0);
    }
    let key_path =
        args.operator_key.clone().ok_or_else(|| anyhow::anyhow!("--operator-key FILE is required for a load run"))?;
    let text =
        std::fs::read_to_string(&key_path).map_err(|e| anyhow::anyhow!("reading {}: {e}", key_path.display()))?;
    let operator = Keypair::from_file_text(&text)?;
    let lim = if args.limits { Some(limits::measure(args.limit_secs)?) } else { None };
    let mut cfg = load_core::Config::new(endpoint, operator);
    cfg.count = args.count;
    cfg.concurrency = args.concurrency;
    cfg.batch = args.batch;
    cfg.window = args.window;
    cfg.rate = args.rate;
    cfg.checkpoint_latency = args.checkpoint_latency;
    cfg.unit_wh = args.unit_wh;
    cfg.progress = args.progress;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lag = args.follower.as_ref().map(|f| {
        let follower = if f.starts_with("http") { f.clone() } else { format!("http://{f}") };
        rt.spawn(greenledger_load::lag::watch(cfg.endpoint.clone(), follower, stop.clone()))
    });
    let report = rt.block_on(load_core::run(cfg))?;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut json = serde_json::to_value(&report)?;
    if let Some(lag) = lag {
        let figures = rt.block_on(lag)??;
        for (k, v) in figures.as_object().into_iter().flatten() {
            json[k] = v.clone();
        }
    }
    if let Some(l) = lim {
        let bv = l["batch_verify_per_s"].as_f64().unwrap_or(0.0);
        let fl = l["sled_flushes_per_s"].as_f64().unwrap_or(0.0);
        json["per_s_over_batch_verify"] = serde_json::json!(if bv > 0.0 { report.per_s / bv } else { 0.0 });
        json["flushes_per_s_needed_at_batch"] = serde_json::json!(report.per_s / report.batch.max(1) as f64);
        json["sled_flushes_per_s"] = serde_json::json!(fl);
        json["limits"] = l;
    }
    println!("{json}");
    if !report.is_correct() {
        eprintln!(
            "greenledger-load: unexpected outcomes: {} refused that should be accepted, {} accepted that should be refused, {} missing",
            report.unexpected_refusals, report.unexpected_accepts, report.missing
        );
        for p in &report.problems {
            eprintln!("  {p}");
        }
        return Ok(1);
    }
    Ok(0)
}
