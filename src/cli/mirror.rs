//! `greenledger mirror`: follow a ledger's log over its tlog-tiles, verify and store it, and
//! serve it again ([`crate::mirror`]).

use crate::mirror::{Mirror, MirrorError, DEFAULT_INTERVAL};
use anyhow::Context as _;
use clap::Args;
use greenledger_core::log::note::CosignatureVerifier;
use greenledger_core::log::NoteVerifier;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Exit status when a fork was seen (now, or earlier and not cleared).
pub const FORK_EXIT: u8 = 3;

#[derive(Args, Debug)]
pub struct MirrorArgs {
    /// Base URL of the ledger's (or another mirror's) tlog-tiles, e.g. http://127.0.0.1:8080
    /// for a ledger served with `--http-addr 127.0.0.1:8080`.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The mirror's directory: tiles, entry bundles and the checkpoint, as files. Created if
    /// missing; a mirror restarts from it where it left off.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The ledger's log key (name+hash+base64), or a file holding it (a ledger's log.pub).
    #[arg(long, value_name = "FILE_OR_KEY")]
    pub log_key: String,
    /// Take only checkpoints this witness cosigned (cosignature verifier key, or a file holding
    /// it; repeatable: all of them must have cosigned).
    #[arg(long = "witness", value_name = "FILE_OR_KEY")]
    pub witnesses: Vec<String>,
    /// Serve the mirrored log (`/checkpoint`, `/tile/...`) on this address.
    #[arg(long, value_name = "HOST:PORT")]
    pub http_addr: Option<SocketAddr>,
    /// Seconds between polls of the ledger's checkpoint.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_INTERVAL.as_secs_f64())]
    pub interval: f64,
    /// Follow one round and exit (0: the mirror holds the ledger's checkpoint).
    #[arg(long, conflicts_with = "http_addr")]
    pub once: bool,
}

/// A key given inline or as the path of a file holding it.
fn key_arg(s: &str) -> anyhow::Result<String> {
    let p = Path::new(s);
    if !s.contains('+') && p.exists() {
        let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        return Ok(text.trim().to_string());
    }
    Ok(s.trim().to_string())
}

fn fork_exit(e: MirrorError) -> anyhow::Error {
    super::Exit { code: FORK_EXIT, message: e.to_string(), reported: false }.into()
}

pub fn mirror(args: MirrorArgs) -> anyhow::Result<()> {
    let log_key = NoteVerifier::parse(&key_arg(&args.log_key)?).context("--log-key")?;
    let witnesses = args
        .witnesses
        .iter()
        .map(|w| CosignatureVerifier::parse(&key_arg(w)?).with_context(|| format!("--witness {w}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !(args.interval.is_finite() && args.interval > 0.0 && args.interval <= 86_400.0) {
        anyhow::bail!("--interval {}: give seconds above 0 and at most 86400", args.interval);
    }
    let interval = Duration::from_secs_f64(args.interval);
    super::client::block_on(async move {
        let mut mirror = Mirror::open(&args.data, &args.from, log_key)?.with_witnesses(witnesses);
        if args.once {
            let report = mirror.sync_once().await.map_err(|e| if e.is_fork() { fork_exit(e) } else { e.into() })?;
            println!(
                "mirrored {} at size {} (from {}: {} tiles, {} bundles) in {}",
                mirror.from_url(),
                report.size,
                report.from_size,
                report.tiles,
                report.bundles,
                mirror.dir().display()
            );
            return Ok(());
        }
        let held = mirror.held().map_or(0, |h| h.checkpoint.size);
        println!("mirroring {} into {} (holding size {held})", mirror.from_url(), mirror.dir().display());
        let server = match args.http_addr {
            Some(addr) => {
                let listener =
                    tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
                println!("  serving http://{}/checkpoint and /tile/...", listener.local_addr()?);
                let app = mirror.router();
                Some(tokio::spawn(async move { axum::serve(listener, app).await }))
            }
            None => None,
        };
        let outcome = mirror.run(interval, super::import::interrupt()).await;
        match (outcome, server) {
            (Ok(()), _) => Ok(()),
            (Err(e), Some(server)) => {
                eprintln!("error: {e}");
                eprintln!("stopped following; still serving the last good state until interrupted (Ctrl-C)");
                tokio::select! {
                    _ = super::import::interrupt() => {}
                    r = server => { r.context("the HTTP server stopped")?.context("the HTTP server failed")?; }
                }
                Err(super::Exit { code: FORK_EXIT, message: "stopped following: fork".into(), reported: false }.into())
            }
            (Err(e), None) => Err(fork_exit(e)),
        }
    })
}
