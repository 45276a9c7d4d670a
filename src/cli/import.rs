//! `greenledger import readings FILE.csv`: bulk meter data, signed by a meter-operator key.
//!
//! Columns (a header line is required, the order is free):
//!
//! | column | meaning |
//! |---|---|
//! | `kind` | `generation`, `consumption` or `direct-supply` |
//! | `subject` | the device code (generation, direct supply) or the consumer account (consumption) |
//! | `consumer` | the receiving account of a direct-supply delivery; empty otherwise |
//! | `start`, `end` | the interval: RFC 3339 with a zone, Unix seconds or 13-digit Unix milliseconds; a time without a zone only with `--tz` |
//! | `wh` | metered energy in watt-hours (an integer) |
//!
//! By default a file is imported all or nothing: every row is parsed and signed, then all rows
//! go to the ledger in one all-or-nothing batch (`SubmitAll`, at most 100,000 rows), so one bad
//! row imports nothing. If some rows are malformed, the others are still decided in a dry run
//! (`CheckAll`) so that the malformed rows and the rule refusals are reported together.
//! `--partial` streams the rows (`SubmitBatch`), imports the good ones and reports the others;
//! Ctrl-C stops it cleanly: rows already sent are answered, the rest are not sent, and the
//! report says exactly what was committed.
//!
//! Every row is signed with a nonce derived from the signer, the ledger and the row's command
//! (and how many identical rows came before it in the file), and with the import's validity
//! window: the ledger accepts the rows only until the window's end (`--valid-for` after the
//! ledger's time, 1 hour unless given; at most 24 hours). The window's end is recorded beside
//! the file (`FILE.window`) before anything is sent, and a re-run while that window is open
//! signs with the same end, so it sends identical commands: the ledger answers those already in
//! with their original receipts, reported as "already imported", and a stopped import resumes
//! where it stopped. Once the window has passed the ledger no longer recognises them (an
//! identical command would be refused as expired): a re-run then starts a new window, and rows
//! already in are refused by rule 1 as overlapping their own reading while the others are
//! imported.
//!
//! Exit status: 0 when every row is in the ledger (imported now or before), 1 when any row was
//! rejected or the import failed, 130 when interrupted.

use super::client::{self, account_arg, interval_arg};
use super::Conn;
use crate::rpc::pb::ledger_client::LedgerClient;
use crate::rpc::{convert, pb};
use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use greenledger_core::command as cmd;
use greenledger_core::command::Command;
use greenledger_core::rules::MAX_VALIDITY;
use greenledger_core::types::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;

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
    /// The validity window of the signed rows when a new one starts (a re-run inside the window
    /// recorded in FILE.window keeps it): seconds or a span such as 30m, 1h or 1d; at most 24 hours.
    #[arg(long, default_value = "1h", value_parser = super::time::validity, value_name = "SPAN")]
    pub valid_for: u64,
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    pub line: u64,
    /// The rule the ledger refused it under, if any (malformed rows have none).
    pub rule: Option<u32>,
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
            bad.push(Rejected { line: 1, rule: None, reason: format!("header: {e}") });
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
            Err(e) => bad.push(Rejected { line, rule: None, reason: format!("{e:#}") }),
        }
    }
    (good, bad)
}

/// Rows listed in a report; the rest are counted.
pub const MAX_LISTED: usize = 1000;
/// Most rows of an all-or-nothing import (the server's limit of one `SubmitAll`).
pub const MAX_ATOMIC_ROWS: usize = 100_000;
/// Rows sent and not yet answered in `--partial` mode: what Ctrl-C waits for at most.
const WINDOW: usize = 8192;
/// Rows signed at a time.
const SIGN_CHUNK: usize = 1024;

/// The nonce of an imported row: the first 8 bytes of SHA-256 over the ledger name, the signer,
/// the command's canonical bytes and the number of identical commands before it in the file.
pub fn row_nonce(ledger: &str, signer: &AccountId, command: &Command, occurrence: u32) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"greenledger/v1/import-nonce\n");
    h.update(ledger.as_bytes());
    h.update(b"\n");
    h.update(signer.0);
    h.update(greenledger_core::codec::encode(command));
    h.update(occurrence.to_be_bytes());
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// The nonce of every row ([`row_nonce`]), counting identical rows before each.
fn row_nonces(ledger: &str, signer: &AccountId, rows: &[Parsed]) -> Vec<u64> {
    let mut seen: std::collections::HashMap<Vec<u8>, u32> = std::collections::HashMap::new();
    rows.iter()
        .map(|p| {
            let n = seen.entry(greenledger_core::codec::encode(&p.command)).or_insert(0);
            *n += 1;
            row_nonce(ledger, signer, &p.command, *n - 1)
        })
        .collect()
}

/// Signs every row with its deterministic nonce and the import's window end.
fn sign_rows(
    key: &greenledger_core::crypto::Keypair,
    ledger: &str,
    expires: Timestamp,
    rows: &[Parsed],
) -> Vec<pb::SignedCommand> {
    let nonces = row_nonces(ledger, &key.account(), rows);
    rows.iter()
        .zip(nonces)
        .map(|(p, n)| convert::signed_to_pb(&key.sign_until(ledger, n, expires, p.command.clone())))
        .collect()
}

/// The file beside `file` that records the end of its import's validity window: `FILE.window`.
pub fn window_file(file: &Path) -> PathBuf {
    let mut name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".window");
    file.with_file_name(name)
}

const WINDOW_LABEL: &str = "greenledger import window";

/// The validity window's end for an import of `file` at the ledger's time `now`: the end an
/// earlier run recorded in [`window_file`] while that window is open (`now <= end <= now +
/// MAX_VALIDITY`), so that a re-run signs identical commands; otherwise `now + valid_for`,
/// recorded there. Also returns a warning when the window could not be recorded (re-runs will
/// not recognise the rows this run imports).
pub fn import_window(file: &Path, now: u64, valid_for: u64) -> (Timestamp, Option<String>) {
    let path = window_file(file);
    let recorded = std::fs::read_to_string(&path).ok().and_then(|text| {
        let mut lines = text.lines();
        (lines.next() == Some(WINDOW_LABEL)).then_some(())?;
        lines.next()?.trim().parse::<u64>().ok()
    });
    if let Some(end) = recorded.filter(|&end| now <= end && end <= now.saturating_add(MAX_VALIDITY)) {
        return (Timestamp(end), None);
    }
    let end = now.saturating_add(valid_for);
    let warning = std::fs::write(&path, format!("{WINDOW_LABEL}\n{end}\n")).err().map(|e| {
        format!(
            "cannot record the import's window in {} ({e}): a re-run will not recognise the rows imported now",
            path.display()
        )
    });
    (Timestamp(end), warning)
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Report {
    pub file: String,
    /// `all-or-nothing` or `partial`.
    pub mode: &'static str,
    /// Data rows in the file (the header not counted).
    pub rows: u64,
    /// Rows committed by this run.
    pub imported: u64,
    /// Rows whose identical command was already in the ledger.
    pub already_imported: u64,
    /// Rows malformed or refused by the ledger's rules.
    pub rejected: u64,
    /// Rows not sent because the import was interrupted.
    pub not_sent: u64,
    pub interrupted: bool,
    /// The zone of `--tz` when times without a zone were read in it.
    pub tz: Option<String>,
    /// The end of the rows' validity window (Unix seconds): a re-run until then recognises the
    /// rows already in. 0 when nothing was signed.
    pub valid_until: u64,
    /// The rejected rows, by line, at most [`MAX_LISTED`].
    pub rejections: Vec<Rejected>,
}

impl Report {
    /// Every row is in the ledger.
    pub fn complete(&self) -> bool {
        self.rejected == 0 && !self.interrupted && self.imported + self.already_imported == self.rows
    }

    fn reject(&mut self, r: Rejected) {
        self.rejected += 1;
        if self.rejections.len() < MAX_LISTED {
            self.rejections.push(r);
        }
    }

    /// The exit status of `greenledger import` (see the module documentation).
    pub fn exit_code(&self) -> u8 {
        if self.interrupted {
            130
        } else if self.complete() {
            0
        } else {
            1
        }
    }

    pub fn print(&self, json: bool) {
        if json {
            println!("{}", serde_json::json!({ "import": self }));
            return;
        }
        let plural = |n: u64, one: &str, many: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {many}") };
        let committed = if self.mode == "all-or-nothing" && self.rejected > 0 {
            "nothing imported (all or nothing)".to_string()
        } else {
            format!("{} imported, {} already imported", self.imported, self.already_imported)
        };
        println!(
            "{}: {}: {committed}, {} rejected{}",
            self.file,
            plural(self.rows, "row", "rows"),
            self.rejected,
            if self.not_sent > 0 { format!(", {} not sent", self.not_sent) } else { String::new() }
        );
        if let Some(tz) = &self.tz {
            println!("  times without a zone were read in {tz}");
        }
        if self.valid_until != 0 {
            println!(
                "  rows signed valid until {}: re-running the same file until then recognises the rows already in",
                Timestamp(self.valid_until)
            );
        }
        for r in &self.rejections {
            println!("  line {}: {}", r.line, r.reason);
        }
        if self.rejected > self.rejections.len() as u64 {
            println!(
                "  ... and {} more rejected rows (the first {} are listed)",
                self.rejected - self.rejections.len() as u64,
                self.rejections.len()
            );
        }
        if self.interrupted {
            println!("interrupted: the rows counted as imported are committed; run the same command again to import the rest (rows already in are recognised)");
        } else if self.mode == "all-or-nothing" && self.rejected > 0 {
            println!("fix the rows above and run again, or use --partial to import the good rows");
        }
    }
}

fn bar(len: u64) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} rows {msg}").expect("valid template"));
    pb
}

/// `greenledger import`: imports, prints the report, and fails with the exit code of the report
/// when it is not 0.
pub async fn run(cmd: Import) -> anyhow::Result<()> {
    let Import::Readings(args) = cmd;
    let json = args.conn.json;
    let report = import(&args, interrupt()).await?;
    report.print(json);
    match report.exit_code() {
        0 => Ok(()),
        code => Err(super::Exit {
            code,
            message: if report.interrupted {
                "import interrupted".into()
            } else {
                format!("{} of {} rows rejected", report.rejected, report.rows)
            },
            reported: json,
        }
        .into()),
    }
}

/// Resolves when the user presses Ctrl-C (SIGINT).
pub fn interrupt() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await
        }
    })
}

/// Imports a file; `stop` resolving means "stop cleanly" (Ctrl-C).
pub async fn import(
    args: &ReadingsArgs,
    mut stop: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let (good, malformed) = parse(&text);
    let mut report = Report {
        file: args.file.display().to_string(),
        mode: if args.partial { "partial" } else { "all-or-nothing" },
        rows: (good.len() + malformed.len()) as u64,
        tz: super::time::zone().map(|z| z.name.clone()),
        ..Report::default()
    };
    if !args.partial && good.len() > MAX_ATOMIC_ROWS {
        return Err(super::time::BadInput(format!(
            "{} has {} rows; an all-or-nothing import holds at most {MAX_ATOMIC_ROWS}: split the file, or use \
             --partial (which can be re-run: rows already in are recognised)",
            report.file, report.rows
        ))
        .into());
    }
    let key = client::read_key(&args.key)?;
    let mut c = client::connect(&args.conn.server).await?;
    let (name, now) = client::ledger_name_and_time(&mut c).await?;
    let (expires, warning) = import_window(&args.file, now, args.valid_for);
    if let Some(w) = warning {
        eprintln!("warning: {w}");
    }
    report.valid_until = expires.0;
    let progress = if args.conn.json { ProgressBar::hidden() } else { bar(good.len() as u64) };
    let mut refused = Vec::new();
    if args.partial {
        partial(&mut c, &key, &name, expires, &good, &mut report, &mut refused, &progress, &mut stop).await?;
    } else {
        progress.set_message("signing");
        let signed = sign_rows(&key, &name, expires, &good);
        progress.set_message(if malformed.is_empty() {
            "deciding all rows as one batch"
        } else {
            "checking the good rows (dry run)"
        });
        let sent = Arc::new(AtomicBool::new(false));
        let stream = {
            let sent = sent.clone();
            tokio_stream::iter(signed).chain(tokio_stream::once(()).filter_map(move |_| {
                sent.store(true, Ordering::SeqCst);
                None::<pb::SignedCommand>
            }))
        };
        let call = async {
            if malformed.is_empty() {
                c.submit_all(stream).await
            } else {
                c.check_all(stream).await
            }
        };
        tokio::pin!(call);
        let resp = tokio::select! {
            r = &mut call => r,
            _ = &mut stop => {
                if sent.load(Ordering::SeqCst) {
                    progress.println("interrupted: the batch was already sent whole; it is committed entirely or not at all: waiting for the ledger's answer");
                    (&mut call).await
                } else {
                    progress.finish_and_clear();
                    report.interrupted = true;
                    report.not_sent = good.len() as u64;
                    return Ok(report);
                }
            }
        };
        let resp = resp.map_err(client::server_error)?.into_inner();
        progress.set_position(good.len() as u64);
        for r in resp.results {
            if let Some(pb::submit_result::Result::Refusal(f)) = r.result {
                refused.push(Rejected {
                    line: good[r.position as usize].line,
                    rule: client::rule_of_pb(&f),
                    reason: f.message,
                });
            }
        }
        if resp.applied {
            report.imported = resp.accepted;
            report.already_imported = resp.duplicates;
        } else {
            // Refusals past the listed ones are counted.
            report.rejected += resp.refused - refused.len() as u64;
        }
    }
    progress.finish_and_clear();
    let mut all: Vec<Rejected> = malformed.into_iter().chain(refused).collect();
    all.sort_by_key(|r| r.line);
    let extra = report.rejected;
    report.rejected = 0;
    for r in all {
        report.reject(r);
    }
    report.rejected += extra;
    Ok(report)
}

/// `--partial`: streams the rows with at most [`WINDOW`] unanswered; stops sending on `stop`.
#[allow(clippy::too_many_arguments)]
async fn partial(
    c: &mut LedgerClient<Channel>,
    key: &greenledger_core::crypto::Keypair,
    name: &str,
    expires: Timestamp,
    good: &[Parsed],
    report: &mut Report,
    refused: &mut Vec<Rejected>,
    progress: &ProgressBar,
    stop: &mut std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
) -> anyhow::Result<()> {
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::SignedCommand>(WINDOW + SIGN_CHUNK);
    let mut tx = Some(tx);
    // Nonces need the whole file (identical rows are counted), signatures are made as rows go.
    let nonces = row_nonces(name, &key.account(), good);
    let mut next = 0usize;
    let mut answered = 0usize;
    let mut stopping = false;
    let fill = |next: &mut usize,
                answered: usize,
                tx: &mut Option<tokio::sync::mpsc::Sender<pb::SignedCommand>>,
                stopping: bool| {
        if let Some(sender) = tx.as_ref() {
            while !stopping && *next < good.len() && *next - answered < WINDOW {
                let end = good.len().min(*next + SIGN_CHUNK);
                for i in *next..end {
                    let signed = key.sign_until(name, nonces[i], expires, good[i].command.clone());
                    // The channel holds a window and a chunk: never full here.
                    if sender.try_send(convert::signed_to_pb(&signed)).is_err() {
                        break;
                    }
                    *next = i + 1;
                }
            }
        }
        if stopping || *next == good.len() {
            *tx = None;
        }
    };
    fill(&mut next, answered, &mut tx, stopping);
    let mut results = c
        .submit_batch(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .map_err(client::server_error)?
        .into_inner();
    while answered < next || tx.is_some() {
        tokio::select! {
            r = results.message() => {
                let r = r.map_err(client::server_error).with_context(|| {
                    format!(
                        "{} rows imported by this run before the failure; run the same command again to import \
                         the rest (rows already in are recognised)",
                        report.imported
                    )
                })?;
                let Some(r) = r else {
                    anyhow::bail!("the server ended the stream after {answered} of {next} rows sent; run the same command again: rows already in are recognised");
                };
                answered += 1;
                progress.inc(1);
                match r.result {
                    Some(pb::submit_result::Result::Receipt(rc)) if rc.duplicate => report.already_imported += 1,
                    Some(pb::submit_result::Result::Receipt(_)) => report.imported += 1,
                    Some(pb::submit_result::Result::Refusal(f)) => {
                        let line = good.get(r.position as usize).map_or(0, |p| p.line);
                        if refused.len() < MAX_LISTED {
                            refused.push(Rejected { line, rule: client::rule_of_pb(&f), reason: f.message });
                        } else {
                            report.rejected += 1;
                        }
                    }
                    None => anyhow::bail!("the server sent an empty result for row {}", r.position),
                }
                fill(&mut next, answered, &mut tx, stopping);
            }
            _ = &mut *stop => {
                if stopping {
                    anyhow::bail!(
                        "interrupted twice: {} rows imported by this run; {} rows were sent without an answer and \
                         may or may not be in: run the same command again to find out (rows already in are recognised)",
                        report.imported,
                        next - answered
                    );
                }
                stopping = true;
                progress.println(format!(
                    "stopping: waiting for the answers to the {} rows already sent (Ctrl-C again to quit at once)",
                    next - answered
                ));
                tx = None;
                *stop = interrupt();
            }
        }
    }
    if next < good.len() {
        report.interrupted = true;
        report.not_sent = (good.len() - next) as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_depend_on_the_row_not_its_position() {
        let row =
            |h: u64, wh: u64| format!("generation,W,,{},{},{wh}\n", 1_700_000_000 + h * 3600, 1_700_003_600 + h * 3600);
        let file = |rows: &[String]| format!("kind,subject,consumer,start,end,wh\n{}", rows.concat());
        let signer = AccountId([7; 32]);
        let (a, _) = parse(&file(&[row(0, 5), row(1, 5), row(0, 5)]));
        let n = row_nonces("l", &signer, &a);
        assert_ne!(n[0], n[2], "an identical row later in the file is a different row");
        assert_eq!(n, row_nonces("l", &signer, &a), "the same file gives the same nonces");
        // Another row added in front, or a fixed row elsewhere, leaves the others' nonces alone.
        let (b, _) = parse(&file(&[row(9, 1), row(0, 5), row(1, 5), row(0, 5)]));
        assert_eq!(&row_nonces("l", &signer, &b)[1..], &n[..]);
        assert_ne!(row_nonces("other", &signer, &a)[0], n[0]);
        assert_ne!(row_nonces("l", &AccountId([8; 32]), &a)[0], n[0]);
    }

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
