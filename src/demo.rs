//! The zero-carbon-park demo: a realistic story driven through a real gRPC server running
//! in-process over a sled ledger in the demo directory, which `greenledger serve` can serve
//! afterwards.
//!
//! A 50 MW wind farm in Inner Mongolia sells green power to a module factory (green-power trade,
//! certificates travel with the power); a rooftop solar plant in Jiangsu feeds a battery factory
//! over a dedicated line (direct supply). Three days of hourly readings, issuance, an unbundled
//! certificate purchase, retirements for a product batch and an annual report, and a handful of
//! attempted double counts that the ledger refuses.

use crate::cli::admin::{create, DataDir, InitArgs};
use crate::ledger::SystemClock;
use crate::rpc::pb::ledger_client::LedgerClient;
use crate::rpc::{convert, pb};
use anyhow::{anyhow, bail};
use greenledger_core::accounting::hourly::Statement;
use greenledger_core::accounting::park::ParkStatement;
use greenledger_core::accounting::{html, signed};
use greenledger_core::command as cmd;
use greenledger_core::command::{Command, SignedCommand};
use greenledger_core::crypto::Keypair;
use greenledger_core::types::*;
use std::path::Path;
use std::sync::Arc;
use tonic::transport::Channel;

/// File that marks a directory as made by the demo (so `--reset` may remove it).
pub const MARKER: &str = "DEMO-LEDGER";
const NAME: &str = "demo.greenledger.local/park";
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

struct Driver {
    client: LedgerClient<Channel>,
    nonce: u64,
}

impl Driver {
    fn sign(&mut self, who: &Keypair, c: Command) -> SignedCommand {
        self.nonce += 1;
        who.sign(NAME, self.nonce, c)
    }

    /// Streams commands through SubmitBatch; fails on any refusal.
    async fn all_ok(&mut self, cmds: Vec<SignedCommand>) -> anyhow::Result<Vec<pb::Receipt>> {
        let n = cmds.len();
        let stream = tokio_stream::iter(cmds.iter().map(convert::signed_to_pb).collect::<Vec<_>>());
        let mut results = self.client.submit_batch(stream).await?.into_inner();
        let mut out = Vec::with_capacity(n);
        while let Some(r) = results.message().await? {
            match r.result {
                Some(pb::submit_result::Result::Receipt(rc)) => out.push(rc),
                Some(pb::submit_result::Result::Refusal(f)) => {
                    bail!(
                        "demo command {} ({}) refused: {}",
                        r.position,
                        cmds[r.position as usize].body.command.kind(),
                        f.message
                    )
                }
                None => bail!("empty result"),
            }
        }
        Ok(out)
    }

    async fn one(&mut self, who: &Keypair, c: Command) -> anyhow::Result<pb::Receipt> {
        let s = self.sign(who, c);
        Ok(self.client.submit(convert::signed_to_pb(&s)).await.map_err(|e| anyhow!("{}", e.message()))?.into_inner())
    }

    /// Submits a command that must be refused; returns the server's message.
    async fn refused(&mut self, who: &Keypair, what: &str, c: Command, report: &mut Report) -> anyhow::Result<()> {
        let s = self.sign(who, c);
        match self.client.submit(convert::signed_to_pb(&s)).await {
            Ok(_) => bail!("the ledger accepted a double count: {what}"),
            Err(status) => {
                report.refused.push((what.to_string(), format!("{:?}: {}", status.code(), status.message())));
                Ok(())
            }
        }
    }

    async fn holdings(&mut self, who: &Keypair) -> anyhow::Result<Vec<pb::Bundle>> {
        Ok(self
            .client
            .get_holdings(pb::AccountRequest { account: who.account().0.to_vec() })
            .await?
            .into_inner()
            .bundles)
    }
}

/// Deterministic hourly wind output in Wh for a 50 MW farm (between about 8 and 42 MWh).
fn wind_wh(h: u64) -> u64 {
    let x = (h.wrapping_mul(2_654_435_761) >> 7) % 1000;
    8 * MWH + (h % 24) * 600_000 + x * 13_000
}

/// Rooftop solar in Wh for an 8 MW plant: zero at night, a bell in daytime (UTC+8 local time).
fn solar_wh(h: u64) -> u64 {
    let local = (h + 8) % 24;
    match local {
        6..=18 => {
            let d = local.abs_diff(12);
            (36 - d * d) * 180_000 + (h % 5) * 37_000
        }
        _ => 0,
    }
}

/// Runs the demo into `dir` and prints the story. Returns the report.
pub async fn run(dir: &Path) -> anyhow::Result<Report> {
    if DataDir(dir.to_path_buf()).holds_ledger() {
        bail!("{} already holds a ledger; run the demo with --reset or another --data directory", dir.display());
    }
    let args = InitArgs {
        data: dir.to_path_buf(),
        name: NAME.into(),
        operator_key: None,
        operator_name: "Green certificate registry (demo)".into(),
        unit_wh: MWH,
        validity_months: 24,
        max_transfers: None,
        hourly_matching: false,
    };
    let (ledger, operator) = create(&args)?;
    std::fs::write(dir.join(MARKER), "created by greenledger demo\n")?;
    let ledger = Arc::new(ledger);
    let server = crate::rpc::server::spawn(ledger.clone(), Arc::new(SystemClock), "127.0.0.1:0").await?;
    let client = LedgerClient::connect(format!("http://{}", server.addr)).await?;
    let mut d = Driver { client, nonce: 1 };
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

    // Participants and devices.
    let reg = |k: &Keypair, name: &str, roles: &[Role]| {
        Command::RegisterAccount(cmd::RegisterAccount {
            account: k.account(),
            name: name.into(),
            roles: Roles::of(roles),
        })
    };
    let mut setup = vec![
        reg(&a.meter, "State Grid metering", &[Role::MeterOperator]),
        reg(&a.exchange, "Beijing Power Exchange", &[Role::TradingPlatform]),
        reg(&a.regulator, "Energy regulator", &[Role::Regulator]),
        reg(&a.wind_co, "Ulanqab Wind Power Co.", &[Role::Generator]),
        reg(&a.solar_co, "Changzhou Rooftop Solar Co.", &[Role::Generator]),
        reg(&a.battery, "Changzhou Battery Factory", &[Role::Consumer]),
        reg(&a.modules, "Suzhou Module Factory", &[Role::Consumer]),
    ];
    setup.push(Command::RegisterDevice(cmd::RegisterDevice {
        device: DeviceId("IM-WIND-01".into()),
        owner: a.wind_co.account(),
        technology: Technology::Wind,
        capacity_w: 50_000_000,
        region: "inner_mongolia".into(),
        commissioned: Timestamp(greenledger_core::calendar::unix(2021, 6, 30, 0, 0, 0)),
    }));
    setup.push(Command::RegisterDevice(cmd::RegisterDevice {
        device: DeviceId("JS-SOLAR-01".into()),
        owner: a.solar_co.account(),
        technology: Technology::Solar,
        capacity_w: 8_000_000,
        region: "jiangsu".into(),
        commissioned: Timestamp(greenledger_core::calendar::unix(2023, 3, 1, 0, 0, 0)),
    }));
    let signed: Vec<_> = setup.into_iter().map(|c| d.sign(&a.operator.clone(), c)).collect();
    d.all_ok(signed).await?;

    // Three days of hourly readings, ending at the last whole day before now.
    let now = crate::ledger::Clock::now(&SystemClock).0;
    let start = (now / 86_400 - 3) * 86_400;
    let wind = DeviceId("IM-WIND-01".into());
    let solar = DeviceId("JS-SOLAR-01".into());
    let (mut direct_total, mut traded_total) = (0u64, 0u64);
    let mut day_cmds = Vec::new();
    for h in 0..HOURS {
        let iv = Interval::new(start + h * 3600, start + (h + 1) * 3600);
        let (w, s) = (wind_wh(h), solar_wh(h));
        let m = a.meter.clone();
        day_cmds.push(d.sign(
            &m,
            Command::PostGeneration(cmd::PostGeneration { device: wind.clone(), interval: iv, energy: Wh(w) }),
        ));
        day_cmds.push(d.sign(
            &m,
            Command::PostGeneration(cmd::PostGeneration { device: solar.clone(), interval: iv, energy: Wh(s) }),
        ));
        // The battery factory draws about 6 MWh an hour, the module factory about 9.
        let battery_use = 6 * MWH + (h % 7) * 150_000;
        let modules_use = 9 * MWH + (h % 5) * 200_000;
        day_cmds.push(d.sign(
            &m,
            Command::PostConsumption(cmd::PostConsumption {
                account: a.battery.account(),
                interval: iv,
                energy: Wh(battery_use),
            }),
        ));
        day_cmds.push(d.sign(
            &m,
            Command::PostConsumption(cmd::PostConsumption {
                account: a.modules.account(),
                interval: iv,
                energy: Wh(modules_use),
            }),
        ));
        // 70% of the rooftop output flows over the dedicated line to the battery factory.
        let direct = s * 7 / 10;
        if direct > 0 {
            direct_total += direct;
            day_cmds.push(d.sign(
                &m,
                Command::PostDirectSupply(cmd::PostDirectSupply {
                    device: solar.clone(),
                    consumer: a.battery.account(),
                    interval: iv,
                    energy: Wh(direct),
                }),
            ));
        }
        // The module factory buys 5 MWh of wind power every hour on the exchange.
        traded_total += 5 * MWH;
        let x = a.exchange.clone();
        day_cmds.push(d.sign(
            &x,
            Command::SettleTrade(cmd::SettleTrade {
                device: wind.clone(),
                interval: iv,
                buyer: a.modules.account(),
                energy: Wh(5 * MWH),
            }),
        ));
        let (wc, sc) = (a.wind_co.clone(), a.solar_co.clone());
        day_cmds.push(d.sign(&wc, Command::Issue(cmd::Issue { device: wind.clone(), interval: iv })));
        day_cmds.push(d.sign(&sc, Command::Issue(cmd::Issue { device: solar.clone(), interval: iv })));
    }
    d.all_ok(day_cmds).await?;

    // The battery factory also buys 40 unbundled wind certificates from the wind farm.
    let wind_bundles = d.holdings(&a.wind_co).await?;
    let b = wind_bundles.iter().find(|b| b.state == "active").ok_or_else(|| anyhow!("wind farm holds nothing"))?;
    let s = b.serials.unwrap_or_default();
    let take = 10.min(s.end - s.start);
    let wc = a.wind_co.clone();
    d.one(
        &wc,
        Command::Transfer(cmd::Transfer {
            bundle: BundleId(b.id),
            serials: SerialRange::new(s.start, s.start + take),
            to: a.battery.account(),
        }),
    )
    .await?;
    let sold_bundle = b.id;
    let sold = SerialRange::new(s.start, s.start + take);

    // Retirements: the battery factory claims its direct supply and bought certificates for an
    // export battery batch; the module factory claims its traded wind power for its annual report.
    let period = Interval::new(start, start + HOURS * 3600);
    for (who, beneficiary, purpose) in [
        (
            &a.battery,
            "Changzhou Battery Factory, export batch CB-2026-11",
            "zero-carbon product label (EU battery regulation footprint)",
        ),
        (&a.modules, "Suzhou Module Factory", "RE100 annual report 2026, Scope 2 market-based"),
    ] {
        let who = who.clone();
        for b in d.holdings(&who).await? {
            if b.state != "active" {
                continue;
            }
            let serials = b.serials.unwrap_or_default();
            let r = d
                .one(
                    &who,
                    Command::Retire(cmd::Retire {
                        bundle: BundleId(b.id),
                        serials: SerialRange::new(serials.start, serials.end),
                        beneficiary: beneficiary.into(),
                        purpose: purpose.into(),
                        consumption: period,
                    }),
                )
                .await?;
            let _ = r;
        }
    }

    // Attempted double counts.
    let battery_retired = d
        .holdings(&a.battery)
        .await?
        .into_iter()
        .find(|b| b.state == "retired")
        .ok_or_else(|| anyhow!("no retired bundle"))?;
    let rs = battery_retired.serials.unwrap_or_default();
    let bat = a.battery.clone();
    d.refused(
        &bat,
        "retire the same certificates twice",
        Command::Retire(cmd::Retire {
            bundle: BundleId(battery_retired.id),
            serials: SerialRange::new(rs.start, rs.end),
            beneficiary: "Another customer".into(),
            purpose: "second claim".into(),
            consumption: period,
        }),
        &mut report,
    )
    .await?;
    d.refused(
        &wc,
        "sell certificates already sold to the battery factory",
        Command::Transfer(cmd::Transfer { bundle: BundleId(sold_bundle), serials: sold, to: a.modules.account() }),
        &mut report,
    )
    .await?;
    let first_hour = Interval::new(start, start + 3600);
    d.refused(
        &wc,
        "issue the same wind hour twice",
        Command::Issue(cmd::Issue { device: wind.clone(), interval: first_hour }),
        &mut report,
    )
    .await?;
    let m = a.meter.clone();
    d.refused(
        &m,
        "deliver already-issued solar output over the direct line",
        Command::PostDirectSupply(cmd::PostDirectSupply {
            device: solar.clone(),
            consumer: a.battery.account(),
            interval: Interval::new(start + 12 * 3600, start + 13 * 3600),
            energy: Wh(MWH),
        }),
        &mut report,
    )
    .await?;
    d.refused(
        &m,
        "post an overlapping wind reading",
        Command::PostGeneration(cmd::PostGeneration {
            device: wind.clone(),
            interval: Interval::new(start + 1800, start + 5400),
            energy: Wh(MWH),
        }),
        &mut report,
    )
    .await?;
    let rg = a.regulator.clone();
    // The regulator learns that the wind farm's last hour was also registered for CCER offsets.
    let last_hour = Interval::new(start + (HOURS - 1) * 3600, start + HOURS * 3600);
    d.one(
        &rg,
        Command::DeclareExclusion(cmd::DeclareExclusion {
            device: wind.clone(),
            interval: last_hour,
            scheme: "CCER".into(),
        }),
    )
    .await?;
    let frozen = d.holdings(&a.wind_co).await?.into_iter().find(|b| b.state == "frozen");
    if let Some(f) = frozen {
        let fs = f.serials.unwrap_or_default();
        d.refused(
            &wc,
            "sell wind certificates whose hour is claimed in CCER",
            Command::Transfer(cmd::Transfer {
                bundle: BundleId(f.id),
                serials: SerialRange::new(fs.start, fs.end),
                to: a.battery.account(),
            }),
            &mut report,
        )
        .await?;
    }

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
    print_report(dir, &report, &cp);

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
    statements(&mut d, &a, dir, start, &ledger.verifier()).await?;
    server.stop().await?;
    Ok(report)
}

/// The factories' consumption statements and the park statement, asked of the server like any
/// client would, signed by the ledger; the park statement is written to `dir`.
async fn statements(
    d: &mut Driver,
    a: &Actors,
    dir: &Path,
    start: u64,
    log_key: &greenledger_core::log::NoteVerifier,
) -> anyhow::Result<()> {
    let (from, to) = (start, start + HOURS * 3600);
    // The period, for `report consumption --from "$(cat DIR/period-from)" --to "$(cat DIR/period-to)"`.
    std::fs::write(dir.join("period-from"), format!("{}\n", Timestamp(from)))?;
    std::fs::write(dir.join("period-to"), format!("{}\n", Timestamp(to)))?;
    for (k, file) in [(&a.battery, "battery-statement.txt"), (&a.modules, "modules-statement.txt")] {
        let r = d
            .client
            .get_consumption_statement(pb::ConsumptionStatementRequest { account: k.account().0.to_vec(), from, to })
            .await
            .map_err(|e| anyhow!("consumption statement: {}", e.message()))?
            .into_inner();
        let s: Statement = signed::inner(&r.json)?;
        let path = dir.join(file);
        std::fs::write(&path, crate::cli::statement_text::consumption_text(&s))?;
        let short = crate::cli::statement_text::consumption_text_trimmed(&s, 24, 3)
            .replace("(in the full statement)", &format!("(in the full statement, {})", path.display()));
        println!("\n{short}");
        println!("full statement written to {}", path.display());
    }
    let r = d
        .client
        .get_park_statement(pb::ParkStatementRequest {
            name: "Changzhou-Suzhou zero-carbon park (demo)".into(),
            members: vec![a.battery.account().0.to_vec(), a.modules.account().0.to_vec()],
            from: Some(from),
            to: Some(to),
            factor_year: 2022,
            region: Some("east".into()),
            residual_factor: None,
            location_factor: None,
        })
        .await
        .map_err(|e| anyhow!("park statement: {}", e.message()))?
        .into_inner();
    // The demo checks the signature as any recipient would.
    signed::open_statement(&r.signed_note, log_key)?;
    let p: ParkStatement = signed::inner(&r.json)?;
    println!("\n{}", crate::cli::statement_text::park_text(&p));
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&r.json)?)?;
    let (html, json, note) =
        (dir.join("park-statement.html"), dir.join("park-statement.json"), dir.join("park-statement.note"));
    std::fs::write(&html, html::park_page(&p))?;
    std::fs::write(&json, format!("{pretty}\n"))?;
    std::fs::write(&note, &r.signed_note)?;
    println!(
        "park statement written to {} (page), {} (JSON) and {} (signed by the ledger); check the signature with:\n  {} verify-statement {} --log-key '{log_key}'",
        html.display(),
        json.display(),
        note.display(),
        program(),
        note.display()
    );
    Ok(())
}

/// How to run this program again: `greenledger` when it is on the PATH, else its full path
/// (as after `cargo run`; `cargo install --path .` puts it on the PATH).
pub fn program() -> String {
    let on_path =
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("greenledger").is_file()));
    if on_path {
        return "greenledger".into();
    }
    std::env::current_exe().map_or_else(|_| "greenledger".into(), |p| p.display().to_string())
}

fn mwh(wh: u64) -> String {
    format!("{}.{:03}", wh / MWH, (wh % MWH) / 1000)
}

fn print_report(dir: &Path, r: &Report, cp: &pb::CheckpointResponse) {
    println!("greenledger demo: a zero-carbon park over {} hours, {} log entries\n", HOURS, r.entries);
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "enterprise", "consumed MWh", "direct MWh", "traded MWh", "claimed MWh", "green %"
    );
    for e in &r.enterprises {
        let share = (e.claimed_wh * 1000).checked_div(e.consumed_wh).unwrap_or(0);
        println!(
            "{:<28} {:>12} {:>12} {:>12} {:>12} {:>6}.{}",
            e.name,
            mwh(e.consumed_wh),
            mwh(e.direct_wh),
            mwh(e.traded_wh),
            mwh(e.claimed_wh),
            share / 10,
            share % 10
        );
    }
    println!("\n(claimed = certificates retired; whole MWh only, the metered remainder carries over)\n");
    println!("attempted double counts, all refused:");
    for (what, why) in &r.refused {
        println!("  - {what}\n      {why}");
    }
    if let (Some(first), Some(last)) = (r.claims.first(), r.claims.last()) {
        println!(
            "\n{} claims recorded (C{first} .. C{last}); once the ledger is served, see one with: {} show claim C{first}",
            r.claims.len(),
            program()
        );
    }
    println!("\nsigned checkpoint:\n{}", cp.checkpoint);
    println!("the ledger is in {}; serve it with:\n  {} serve --data {}", dir.display(), program(), dir.display());
}
