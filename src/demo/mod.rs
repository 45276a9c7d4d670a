//! The zero-carbon-park demo: a realistic story driven through a real gRPC server running
//! in-process over a sled ledger in the demo directory, which `greenledger serve` can serve
//! afterwards.
//!
//! A 50 MW wind farm in Inner Mongolia sells green power to a module factory (green-power trade,
//! certificates travel with the power); a rooftop solar plant in Jiangsu feeds a battery factory
//! over a dedicated line (direct supply). Three days of hourly readings, issuance, an unbundled
//! certificate purchase, retirements for a product batch and an annual report, and a handful of
//! attempted double counts that the ledger refuses.

//!
//! The story is in `story`, the printed table and the statements in `output`. The demo
//! talks to the server through the test kit's signing client.

mod output;
mod story;

use crate::cli::admin::{create_with, DataDir, DemoArgs};
use crate::cli::client::block_on;
use crate::ledger::SystemClock;
use crate::rpc::pb;
use crate::rpc::pb::ledger_client::LedgerClient;
use crate::testkit::client::Signing;
use anyhow::bail;
use greenledger_core::crypto::Keypair;
use greenledger_core::types::*;
use std::path::Path;
use std::sync::Arc;

/// File that marks a directory as made by the demo (so `--reset` may remove it).
pub const MARKER: &str = "DEMO-LEDGER";
const NAME: &str = "demo.greenledger.local/park";
/// The demo park's code on the ledger.
pub const PARK: &str = "CZ-SZ-PARK";
/// The battery factory's export batch, the beneficiary of its product claims.
pub const BATCH: &str = "Battery packs, export batch CB-2026-11";
const MWH: u64 = 1_000_000;
const HOURS: u64 = 72;

/// What the demo did, for tests and for the printed table.
#[derive(Debug, Default)]
pub struct Report {
    pub entries: u64,
    pub refused: Vec<(String, String)>,
    pub enterprises: Vec<EnterpriseLine>,
    pub claims: Vec<u64>,
    pub server_addr: String,
}

#[derive(Debug, Clone)]
pub struct EnterpriseLine {
    pub name: String,
    pub consumed_wh: u64,
    pub direct_wh: u64,
    pub traded_wh: u64,
    pub claimed_wh: u64,
}

/// The demo's participants; fresh random keys each run, written to `keys/`.
struct Actors {
    operator: Keypair,
    meter: Keypair,
    exchange: Keypair,
    regulator: Keypair,
    wind_co: Keypair,
    solar_co: Keypair,
    battery: Keypair,
    modules: Keypair,
}

/// Runs the demo into `dir` and prints the story. Returns the report.
pub async fn run(dir: &Path) -> anyhow::Result<Report> {
    if DataDir(dir.to_path_buf()).holds_ledger() {
        bail!("{} already holds a ledger; run the demo with --reset or another --data directory", dir.display());
    }
    // The GEC rules (Beijing months, sold once, the GEC class table), except that owners ask for
    // issuance reading by reading, so that three days play out without waiting for a month's end.
    let policy = greenledger_core::Policy {
        owner_issuance: true,
        ..greenledger_core::Policy::preset("gec", NAME).expect("a preset")
    };
    let (ledger, operator) = create_with(dir, None, "Green certificate registry (demo)", policy)?;
    std::fs::write(dir.join(MARKER), "created by greenledger demo\n")?;
    let ledger = Arc::new(ledger);
    let server = crate::rpc::server::spawn(ledger.clone(), Arc::new(SystemClock), "127.0.0.1:0").await?;
    let client = LedgerClient::connect(format!("http://{}", server.addr)).await?;
    let mut d = Signing::new(client, NAME, 1);
    let a = Actors {
        operator,
        meter: Keypair::random(),
        exchange: Keypair::random(),
        regulator: Keypair::random(),
        wind_co: Keypair::random(),
        solar_co: Keypair::random(),
        battery: Keypair::random(),
        modules: Keypair::random(),
    };
    let keys_dir = dir.join("keys");
    for (name, k) in [
        ("meter", &a.meter),
        ("exchange", &a.exchange),
        ("regulator", &a.regulator),
        ("wind-co", &a.wind_co),
        ("solar-co", &a.solar_co),
        ("battery-factory", &a.battery),
        ("module-factory", &a.modules),
    ] {
        crate::cli::client::write_key(&keys_dir.join(format!("{name}.key")), k)?;
    }
    let mut report = Report { server_addr: server.addr.to_string(), ..Report::default() };

    story::participants(&mut d, &a).await?;
    // Three days of hourly readings, ending at the last whole day before now.
    let now = crate::ledger::Clock::now(&SystemClock).0;
    let start = (now / 86_400 - 3) * 86_400;
    story::park(&mut d, &a, start).await?;
    let (direct_total, traded_total) = story::hours(&mut d, &a, start).await?;
    let sold = story::claims(&mut d, &a, start).await?;
    story::double_counts(&mut d, &a, start, sold, &mut report).await?;

    // The table.
    for (k, name, direct, traded) in [
        (&a.battery, "Changzhou Battery Factory", direct_total, 0),
        (&a.modules, "Suzhou Module Factory", 0, traded_total),
    ] {
        let acct = d.client.get_account(pb::AccountRequest { account: k.account().0.to_vec() }).await?.into_inner();
        report.enterprises.push(EnterpriseLine {
            name: name.into(),
            consumed_wh: acct.consumed_wh,
            direct_wh: direct,
            traded_wh: traded,
            claimed_wh: acct.claimed_wh,
        });
    }
    let cp = d.client.get_checkpoint(pb::GetCheckpointRequest {}).await?.into_inner();
    report.entries = cp.size;
    for k in [&a.battery, &a.modules] {
        for c in ledger.claims_of(&k.account())? {
            report.claims.push(c.id.0);
        }
    }
    output::print_report(dir, &report, &cp);

    // A proof bundle per claim, verifiable offline with only the log key.
    let proofs = dir.join("proofs");
    std::fs::create_dir_all(&proofs)?;
    for id in &report.claims {
        let p = crate::proof::build(&ledger, ClaimId(*id))?;
        std::fs::write(proofs.join(format!("C{id}.json")), format!("{}\n", p.to_json()))?;
    }
    if let Some(first) = report.claims.first() {
        println!(
            "\n{} claim proof bundles written to {}; verify one offline with:\n  greenledger verify {} --log-key '{}'",
            report.claims.len(),
            proofs.display(),
            proofs.join(format!("C{first}.json")).display(),
            ledger.verifier()
        );
    }
    output::statements(&mut d, &a, dir, start, &ledger.verifier()).await?;
    server.stop().await?;
    Ok(report)
}

/// `greenledger demo`: the command line's entry, plugged into [`crate::cli::run`] by the
/// binary, so the library's command line does not depend on the demo.
pub fn main(args: DemoArgs) -> anyhow::Result<()> {
    if args.reset {
        reset_demo_dir(&args.data)?;
    }
    block_on(async move { run(&args.data).await.map(|_| ()) })
}

fn reset_demo_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.join(MARKER).exists() {
        bail!("{} was not created by the demo; refusing to remove it", dir.display());
    }
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
