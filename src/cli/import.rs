//! `greenledger import readings FILE.csv`: bulk meter data, signed by a meter-operator key.
//!
//! Columns (a header line is required, the order is free):
//!
//! | column | meaning |
//! |---|---|
//! | `kind` | `generation`, `consumption` or `direct-supply` |
//! | `subject` | the device code (generation, direct supply) or the consumer account (consumption) |
//! | `consumer` | the receiving account of a direct-supply delivery; empty otherwise |
//! | `start`, `end` | the interval, Unix seconds or `2026-11-20T13:00Z` |
//! | `wh` | metered energy in watt-hours (an integer) |
//!
//! By default a file is imported all or nothing: every row is parsed first, then all rows go to
//! the ledger in one all-or-nothing batch (`SubmitAll`), so one bad row imports nothing.
//! `--partial` imports the good rows and reports the others. Every rejected row is reported with
//! its line number and reason.

use super::client::{self, account_arg, interval_arg};
use super::Conn;
use crate::rpc::{convert, pb};
use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use greenledger_core::command as cmd;
use greenledger_core::command::{Command, SignedCommand};
use greenledger_core::types::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum Import {
    /// Generation, consumption and direct-supply readings from a CSV file.
    Readings(ReadingsArgs),
}

#[derive(Args, Debug)]
pub struct ReadingsArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Meter operator's key file.
    #[arg(long, env = "GREENLEDGER_KEY")]
    pub key: PathBuf,
    /// The CSV file.
    pub file: PathBuf,
    /// Import the good rows even if some are rejected.
    #[arg(long)]
    pub partial: bool,
}

#[derive(Debug, Deserialize)]
struct Row {
    kind: String,
    subject: String,
    #[serde(default)]
    consumer: String,
    start: String,
    end: String,
    wh: String,
}

/// A parsed row: its line number in the file and the command.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub line: u64,
    pub command: Command,
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

fn parse_row(row: &Row) -> anyhow::Result<Command> {
    let interval = interval_arg(&row.start, &row.end)?;
    let energy =
        Wh(row.wh.trim().parse::<u64>().map_err(|_| anyhow!("wh {:?} is not a whole number of watt-hours", row.wh))?);
    let device = || DeviceId(row.subject.trim().to_string());
    Ok(match row.kind.trim() {
        "generation" => Command::PostGeneration(cmd::PostGeneration { device: device(), interval, energy }),
        "consumption" => Command::PostConsumption(cmd::PostConsumption {
            account: account_arg(row.subject.trim())?,
            interval,
            energy,
        }),
        "direct-supply" => {
            if row.consumer.trim().is_empty() {
                bail!("a direct-supply row needs a consumer");
            }
            Command::PostDirectSupply(cmd::PostDirectSupply {
                device: device(),
                consumer: account_arg(row.consumer.trim())?,
                interval,
                energy,
            })
        }
        other => bail!("kind {other:?} is not generation, consumption or direct-supply"),
    })
}

/// Parses a CSV text; returns the good rows and the rejected ones (line numbers count the header
/// as line 1).
pub fn parse(text: &str) -> (Vec<Parsed>, Vec<Rejected>) {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            bad.push(Rejected { line: 1, reason: format!("header: {e}") });
            return (good, bad);
        }
    };
    for (i, rec) in reader.records().enumerate() {
        let fallback = i as u64 + 2;
        let (line, parsed) = match rec {
            Ok(r) => {
                let line = r.position().map_or(fallback, |p| p.line());
                (
                    line,
                    r.deserialize::<Row>(Some(&headers)).map_err(anyhow::Error::from).and_then(|row| parse_row(&row)),
                )
            }
            Err(e) => (e.position().map_or(fallback, |p| p.line()), Err(anyhow::Error::from(e))),
        };
        match parsed {
            Ok(command) => good.push(Parsed { line, command }),
            Err(e) => bad.push(Rejected { line, reason: format!("{e:#}") }),
        }
    }
    (good, bad)
}

fn bar(len: u64) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} rows {msg}").expect("valid template"));
    pb
}

pub async fn run(cmd: Import) -> anyhow::Result<()> {
    let Import::Readings(args) = cmd;
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let (good, mut rejected) = parse(&text);
    let rows = good.len() + rejected.len();
    if !rejected.is_empty() && !args.partial {
        report(&args.file, rows, 0, &rejected);
        bail!(
            "{} of {rows} rows are malformed; nothing imported (use --partial to import the good rows)",
            rejected.len()
        );
    }
    let key = client::read_key(&args.key)?;
    let mut c = client::connect(&args.conn.server).await?;
    let name = client::ledger_name(&mut c).await?;
    let signed: Vec<SignedCommand> = good.iter().map(|p| key.sign(&name, client::nonce(), p.command.clone())).collect();
    let progress = bar(good.len() as u64);
    let mut imported = 0usize;
    if args.partial {
        let stream = tokio_stream::iter(signed.iter().map(convert::signed_to_pb).collect::<Vec<_>>());
        let mut results = c.submit_batch(stream).await?.into_inner();
        while let Some(r) = results.message().await? {
            progress.inc(1);
            match r.result {
                Some(pb::submit_result::Result::Receipt(_)) => imported += 1,
                Some(pb::submit_result::Result::Refusal(f)) => {
                    rejected.push(Rejected { line: good[r.position as usize].line, reason: f.message })
                }
                None => {}
            }
        }
    } else {
        progress.set_message("deciding all rows as one batch");
        let stream = tokio_stream::iter(signed.iter().map(convert::signed_to_pb).collect::<Vec<_>>());
        let resp = c.submit_all(stream).await.map_err(|s| anyhow!("{:?}: {}", s.code(), s.message()))?.into_inner();
        progress.set_position(good.len() as u64);
        if resp.applied {
            imported = good.len();
        } else {
            for r in resp.results {
                if let Some(pb::submit_result::Result::Refusal(f)) = r.result {
                    if !f.message.starts_with("not applied") {
                        rejected.push(Rejected { line: good[r.position as usize].line, reason: f.message });
                    }
                }
            }
        }
    }
    progress.finish_and_clear();
    rejected.sort_by_key(|r| r.line);
    report(&args.file, rows, imported, &rejected);
    if imported == 0 && !rejected.is_empty() {
        bail!("nothing imported");
    }
    Ok(())
}

fn report(file: &std::path::Path, rows: usize, imported: usize, rejected: &[Rejected]) {
    println!("{}: {rows} rows, {imported} imported, {} rejected", file.display(), rejected.len());
    for r in rejected {
        println!("  line {}: {}", r.line, r.reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_names_bad_lines() {
        let acct = "ab".repeat(32);
        let text = format!(
            "kind,subject,consumer,start,end,wh\n\
             generation,IM-WIND-01,,2026-11-20T00:00Z,2026-11-20T01:00Z,31200000\n\
             consumption,{acct},,2026-11-20T00:00Z,2026-11-20T01:00Z,9000000\n\
             direct-supply,JS-SOLAR-01,{acct},2026-11-20T00:00Z,2026-11-20T01:00Z,2100000\n\
             generation,IM-WIND-01,,2026-11-20T01:00Z,2026-11-20T02:00Z,-5\n\
             storage,X,,1,2,3\n\
             direct-supply,JS-SOLAR-01,,1,2,3\n"
        );
        let (good, bad) = parse(&text);
        assert_eq!(good.len(), 3);
        assert_eq!(good[0].line, 2);
        assert!(matches!(
            good[2].command,
            Command::PostDirectSupply(cmd::PostDirectSupply { energy: Wh(2_100_000), .. })
        ));
        let lines: Vec<u64> = bad.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![5, 6, 7]);
        assert!(bad[0].reason.contains("-5"), "{}", bad[0].reason);
        assert!(bad[1].reason.contains("storage"));
        assert!(bad[2].reason.contains("consumer"));
    }
}
