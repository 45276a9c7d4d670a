//! Proofs and audits on the command line: `proof` (fetch a claim's proof bundle), `verify`
//! (check one offline) and `audit` (replay a whole ledger and compare with its checkpoint).

use super::admin::DataDir;
use super::client::{self, block_on};
use crate::audit::{self, AuditState, ConsistencySource};
use crate::ledger::{Clock, SystemClock};
use crate::rpc::pb;
use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use greenledger_core::log::merkle::Hash;
use greenledger_core::log::{Checkpoint, CosignatureVerifier};
use greenledger_core::types::ClaimId;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

impl Source {
    /// Without `--data`, the server is `--server`, else `GREENLEDGER_SERVER`, else the default
    /// of every client command.
    pub fn resolve(&mut self) {
        if self.data.is_none() && self.server.is_none() {
            self.server = Some(
                std::env::var("GREENLEDGER_SERVER")
                    .ok()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| super::DEFAULT_SERVER.to_string()),
            );
        }
    }
}

/// Where a ledger is read from: a server or a local data directory.
#[derive(Args, Debug, Clone)]
#[group(multiple = false)]
pub struct Source {
    /// Server address [env: GREENLEDGER_SERVER; default: http://127.0.0.1:50051, unless --data].
    #[arg(long)]
    pub server: Option<String>,
    /// A ledger data directory on this machine (read directly; no server needed).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ProofArgs {
    /// Claim id, as printed (C1) or as a number (1).
    #[arg(long, value_parser = client::claim_arg)]
    pub claim: u64,
    /// Where to write the proof bundle (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// With --server: when the claim is newer than the server's latest published checkpoint,
    /// wait this long for the next publish, so that the bundle carries its cosignatures
    /// (`500ms`, `10s`, `1m` or seconds; `0` fetches at once).
    #[arg(long, default_value = "30s", value_parser = wait_arg)]
    pub wait: std::time::Duration,
    #[command(flatten)]
    pub source: Source,
}

fn wait_arg(s: &str) -> Result<std::time::Duration, String> {
    if s.trim() == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    crate::publish::parse_interval(s)
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The proof bundle (JSON).
    pub file: PathBuf,
    /// The ledger's trusted verifier key (name+hash+base64), or a file holding it (log.pub).
    #[arg(long)]
    pub log_key: String,
    /// A trusted witness's cosignature verifier key (repeatable).
    #[arg(long = "witness")]
    pub witnesses: Vec<String>,
    /// How many of the given witnesses must have cosigned (default: all given).
    #[arg(long)]
    pub min_witnesses: Option<usize>,
    /// Print `{"verified": true, "file", "checks": [...]}` instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    pub source: Source,
    /// State file of earlier audits: the pinned log key and every checkpoint seen. Read if it
    /// exists, and updated after a successful audit.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// The trusted log key (or a file holding it). Default: the state file's key, else the
    /// key the server announces or DIR/log.pub (trust on first use).
    #[arg(long)]
    pub log_key: Option<String>,
    /// Print `{"audit": {...}}` instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A key given inline or as the path of a file holding it.
pub(super) fn key_arg(s: &str) -> anyhow::Result<String> {
    let p = Path::new(s);
    if !s.contains('+') && p.exists() {
        let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        return Ok(text.trim().to_string());
    }
    Ok(s.trim().to_string())
}

pub(super) fn st(s: tonic::Status) -> anyhow::Error {
    client::server_error(s)
}

pub fn proof(args: ProofArgs) -> anyhow::Result<()> {
    let json = match (&args.source.server, &args.source.data) {
        (Some(server), _) => {
            let server = server.clone();
            let claim = args.claim;
            let wait = args.wait;
            let mut out = String::new();
            let slot = &mut out;
            block_on(async move {
                let mut c = client::connect(&server).await?;
                let mut json = c.get_claim_proof(pb::ClaimRequest { claim }).await.map_err(st)?.into_inner().json;
                // A claim newer than the latest published checkpoint: wait for the publish that
                // covers it, then fetch the bundle again (it then carries the cosignatures).
                let entry = serde_json::from_str::<greenledger_core::proof::ClaimProof>(&json)
                    .map(|p| p.summary.claim_entry)
                    .ok();
                let deadline = tokio::time::Instant::now() + wait;
                let mut covered = false;
                while let Some(entry) = entry {
                    let cp = c.get_checkpoint(pb::GetCheckpointRequest {}).await.map_err(st)?.into_inner();
                    if cp.published_checkpoint.is_empty() {
                        break;
                    }
                    if cp.published_size > entry {
                        covered = true;
                        break;
                    }
                    if tokio::time::Instant::now() >= deadline {
                        eprintln!(
                            "the claim (entry #{entry}) is not yet covered by a published checkpoint (size {}); \
                             the bundle is made against the newest signed checkpoint, without cosignatures",
                            cp.published_size
                        );
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                if covered {
                    // Made now, against the published checkpoint that covers the claim.
                    json = c.get_claim_proof(pb::ClaimRequest { claim }).await.map_err(st)?.into_inner().json;
                }
                *slot = json;
                Ok(())
            })?;
            out
        }
        (None, Some(dir)) => {
            let ledger = DataDir(dir.clone()).open()?;
            // Against the published checkpoint kept in the store that covers the claim, with its
            // cosignatures (the newest signed one if none does).
            let state = crate::publish::StoreState::new(ledger.store().clone());
            let published = crate::publish::Published::new(std::sync::Arc::new(state));
            crate::proof::build_published(&ledger, &published, ClaimId(args.claim))?.to_json()
        }
        (None, None) => bail!("give --server or --data"),
    };
    // Parse it back to be sure the file is a proof bundle.
    let parsed: greenledger_core::proof::ClaimProof =
        serde_json::from_str(&json).context("the server sent something that is not a claim proof")?;
    std::fs::write(&args.out, format!("{json}\n")).with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote the proof of claim C{} ({} entries, retirement at entry #{}) to {}",
        args.claim,
        parsed.entries.len(),
        parsed.summary.claim_entry,
        args.out.display()
    );
    println!("verify it offline with:\n  greenledger verify {} --log-key '{}'", args.out.display(), parsed.log_key);
    Ok(())
}

pub fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let key = key_arg(&args.log_key)?;
    let witnesses = args
        .witnesses
        .iter()
        .map(|w| {
            let k = key_arg(w)?;
            CosignatureVerifier::parse(&k).map_err(|e| anyhow!("witness key {k:?}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let min = args.min_witnesses.unwrap_or(witnesses.len());
    if min > witnesses.len() {
        bail!("--min-witnesses {min} is more than the {} witness keys given", witnesses.len());
    }
    match greenledger_core::proof::verify_json(&text, &key, &witnesses, min) {
        Ok(v) if args.json => {
            let checks = v.describe();
            println!(
                "{}",
                serde_json::json!({"verified": true, "file": args.file.display().to_string(), "checks": checks})
            );
            Ok(())
        }
        Ok(v) => {
            println!("VERIFIED {}", args.file.display());
            for line in v.describe() {
                println!("  - {line}");
            }
            Ok(())
        }
        Err(e) => {
            if !args.json {
                println!("REFUSED {}", args.file.display());
                println!("  check failed: {e}");
            }
            Err(super::CheckFailed(format!("the proof does not verify: {e}")).into())
        }
    }
}

/// A progress bar on stderr (drawn only when stderr is a terminal).
fn progress() -> impl FnMut(u64, u64) {
    let mut bar: Option<indicatif::ProgressBar> = None;
    move |done, total| {
        let b = bar.get_or_insert_with(|| {
            let b = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template("audit {bar:40} {pos}/{len} entries, eta {eta}")
            {
                b.set_style(style);
            }
            b
        });
        if done % 1024 == 0 || done == total {
            b.set_position(done);
        }
        if done == total {
            b.finish_and_clear();
        }
    }
}

pub(super) fn read_state(path: &Option<PathBuf>) -> anyhow::Result<Option<AuditState>> {
    let Some(p) = path else { return Ok(None) };
    if !p.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    Ok(Some(serde_json::from_str(&text).with_context(|| format!("{} is not an audit state file", p.display()))?))
}

pub(super) fn write_state(path: &Option<PathBuf>, state: &AuditState) -> anyhow::Result<()> {
    let Some(p) = path else { return Ok(()) };
    let tmp = p.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(state)?)?;
    std::fs::rename(&tmp, p)?;
    Ok(())
}

fn note_size(note: &str) -> anyhow::Result<u64> {
    let (text, _) = greenledger_core::log::split(note)?;
    Ok(Checkpoint::parse(&text)?.size)
}

/// Consistency proofs fetched from a server from inside the synchronous audit core.
pub(super) struct Remote {
    pub(super) client: pb::ledger_client::LedgerClient<tonic::transport::Channel>,
    pub(super) handle: tokio::runtime::Handle,
}

impl ConsistencySource for Remote {
    fn consistency_proof(&mut self, first: u64, second: u64) -> Result<Vec<Hash>, String> {
        let mut c = self.client.clone();
        let r = tokio::task::block_in_place(|| {
            self.handle.block_on(c.get_consistency_proof(pb::ConsistencyProofRequest { first, second }))
        })
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
        .into_inner();
        r.hashes.into_iter().map(|h| h.try_into().map_err(|_| "a proof hash is not 32 bytes".to_string())).collect()
    }
}

pub fn audit(args: AuditArgs) -> anyhow::Result<()> {
    let prior = read_state(&args.state)?;
    let pinned = match (&args.log_key, &prior) {
        (Some(k), _) => Some(key_arg(k)?),
        (None, Some(p)) if !p.log_key.is_empty() => Some(p.log_key.clone()),
        _ => None,
    };
    let now = SystemClock.now();
    let result = match (&args.source.server, &args.source.data) {
        (Some(server), _) => {
            let server = server.clone();
            let mut out = None;
            let slot = &mut out;
            let prior = prior.clone();
            block_on(async move {
                let mut c = client::connect(&server).await?;
                let cp = c.get_checkpoint(pb::GetCheckpointRequest {}).await.map_err(st)?.into_inner();
                let key = pinned.unwrap_or(cp.log_key.clone());
                let size = note_size(&cp.checkpoint)?;
                let mut stream =
                    c.get_entries(pb::GetEntriesRequest { start: 0, end: size }).await.map_err(st)?.into_inner();
                let mut leaves: Vec<Option<Vec<u8>>> = Vec::with_capacity(size as usize);
                let tty = std::io::stderr().is_terminal();
                let step = (size / 10).max(1);
                let mut next_report = step;
                while let Some(e) = stream.message().await.map_err(st)? {
                    if e.index >= size || e.index < leaves.len() as u64 {
                        bail!("the server sent entry {} out of order (expected {} of {size})", e.index, leaves.len());
                    }
                    // A gap in the stream is a missing entry; the audit names it.
                    while (leaves.len() as u64) < e.index {
                        leaves.push(None);
                    }
                    leaves.push(Some(e.leaf));
                    if tty && leaves.len() as u64 >= next_report {
                        eprintln!("download: {}/{size} entries", leaves.len());
                        next_report += step;
                    }
                }
                let mut remote = Remote { client: c, handle: tokio::runtime::Handle::current() };
                let r = tokio::task::block_in_place(|| {
                    audit::audit(leaves, &cp.checkpoint, &key, prior.as_ref(), &mut remote, now, &mut progress())
                });
                *slot = Some(r);
                Ok(())
            })?;
            out.expect("set by the audit")
        }
        (None, Some(dir)) => {
            let dd = DataDir(dir.clone());
            let key = local_log_key(&dd, pinned)?;
            // The store is read directly, without the ledger's own integrity check, so a damaged
            // store is still audited entry by entry.
            let store = dd.open_store()?;
            let note = audit::store_checkpoint(&store).map_err(|e| anyhow!("{e}"))?;
            let size = note_size(&note)?;
            audit::audit(
                audit::store_leaves(&store, size),
                &note,
                &key,
                prior.as_ref(),
                &mut audit::StoreProofs(&store),
                now,
                &mut progress(),
            )
        }
        (None, None) => bail!("give --server or --data"),
    };
    match result {
        Ok(report) if args.json => {
            write_state(&args.state, &report.next_state)?;
            let wh = |x: u128| u64::try_from(x).map_or_else(|_| serde_json::Value::String(x.to_string()), Into::into);
            println!(
                "{}",
                serde_json::json!({"audit": {
                    "passed": true,
                    "ledger": report.ledger,
                    "entries": report.entries,
                    "root": hex::encode(report.root),
                    "unit_wh": report.unit_wh,
                    "issued_wh": wh(report.wh_issued),
                    "retired_wh": wh(report.wh_retired),
                    "expired_wh": wh(report.wh_expired),
                    "withdrawn_wh": wh(report.wh_withdrawn),
                    "frozen_wh": wh(report.wh_frozen),
                    "cancelled_wh": wh(report.wh_cancelled),
                    "active_wh": wh(report.wh_active),
                    "claims": report.claims,
                    "corrections": report.corrections,
                    "clawed_back_wh": wh(report.wh_clawed_back),
                    "deficit_wh": wh(report.wh_deficit),
                    "claims_on_corrected_energy": report.claims_on_corrected,
                    "excluded_carry_wh": wh(report.wh_excluded_carry),
                    "policy_amendments": report.amendments,
                    "consistent_with_checkpoints": report.consistent_with,
                    "checkpoints_in_state": report.next_state.checkpoints.len(),
                }})
            );
            Ok(())
        }
        Ok(report) => {
            println!("AUDIT PASSED");
            for line in report.lines() {
                println!("  {line}");
            }
            write_state(&args.state, &report.next_state)?;
            if let Some(p) = &args.state {
                let n = report.next_state.checkpoints.len();
                println!(
                    "  state saved to {} ({} seen)",
                    p.display(),
                    if n == 1 { "1 checkpoint".to_string() } else { format!("{n} checkpoints") }
                );
            }
            Ok(())
        }
        Err(e) => {
            if !args.json {
                println!("AUDIT FAILED");
                println!("  {e}");
            }
            Err(super::CheckFailed(format!("audit failed: {e}")).into())
        }
    }
}

/// The pinned log key, or the one in the ledger directory's `log.pub`.
pub(super) fn local_log_key(dd: &DataDir, pinned: Option<String>) -> anyhow::Result<String> {
    match pinned {
        Some(k) => Ok(k),
        None => Ok(std::fs::read_to_string(dd.log_pub())
            .with_context(|| format!("cannot read {}", dd.log_pub().display()))?
            .trim()
            .to_string()),
    }
}
