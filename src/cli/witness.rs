//! The witness on the command line: `witness serve` runs a C2SP tlog-witness over HTTP for any
//! C2SP log ([`crate::witness`]), `witness keygen` makes its cosigning key, and `witness cosign`
//! checks and cosigns a greenledger ledger's current checkpoint once, from its data directory or
//! its server (a regulator's offline witness).

use super::admin::DataDir;
use super::client::{self, block_on};
use super::proof::{key_arg, local_log_key, read_state, st, write_state, Remote, Source};
use crate::audit;
use crate::ledger::{Clock, SystemClock};
use crate::rpc::pb;
use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use greenledger_core::log::{Cosigner, NoteVerifier};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum Witness {
    /// Serve a C2SP tlog-witness (POST /add-checkpoint) over HTTP for the given logs.
    Serve(ServeArgs),
    /// Create a witness cosigning key file and print its verifier key.
    Keygen(KeygenArgs),
    /// Check a ledger's current checkpoint once against all this witness cosigned before, then
    /// cosign it.
    Cosign(CosignArgs),
}

pub fn run(w: Witness) -> anyhow::Result<()> {
    match w {
        Witness::Serve(a) => serve(a),
        Witness::Keygen(a) => keygen(a),
        Witness::Cosign(mut a) => {
            a.source.resolve();
            cosign(a)
        }
    }
}

/// The default address of `witness serve`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7380";

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The witness's cosigning key file (`witness keygen` makes one).
    #[arg(long)]
    pub key: PathBuf,
    /// A log to witness, as ORIGIN=KEY: the checkpoints' origin line and the log's verifier key
    /// (name+hash+base64, Ed25519), or a file holding the key. A key alone stands for
    /// KEYNAME=KEY, as for a greenledger ledger, whose origin is its key's name. Repeatable; an
    /// origin given twice trusts both keys.
    #[arg(long = "log", value_name = "ORIGIN=KEY", required = true, value_parser = log_arg)]
    pub logs: Vec<(String, NoteVerifier)>,
    /// Address to listen on for HTTP.
    #[arg(long, default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,
    /// Where the witness keeps the latest checkpoint it cosigned for each log (created if
    /// missing).
    #[arg(long)]
    pub data: PathBuf,
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// The witness's name, such as witness.example.org/w1.
    #[arg(long)]
    pub name: String,
    /// The key file to create (never overwritten).
    #[arg(long)]
    pub out: PathBuf,
}

/// A log key given inline or as a file holding it.
fn log_key(s: &str) -> Result<NoteVerifier, String> {
    let k = key_arg(s).map_err(|e| format!("{e:#}"))?;
    NoteVerifier::parse(&k).map_err(|e| e.to_string())
}

/// `ORIGIN=KEY` or `KEY`. The origin may itself hold `=` (and spaces, as `go.sum database
/// tree`): the value is split at the first `=` after which a key (or a key file) follows.
pub fn log_arg(s: &str) -> Result<(String, NoteVerifier), String> {
    if let Ok(key) = log_key(s) {
        return Ok((key.name().to_string(), key));
    }
    let mut last = None;
    for (i, _) in s.match_indices('=') {
        let (origin, key) = (&s[..i], &s[i + 1..]);
        match log_key(key) {
            Ok(k) if !origin.is_empty() => return Ok((origin.to_string(), k)),
            Ok(_) => last = Some("the origin before '=' is empty".to_string()),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => format!("{s:?} is not ORIGIN=KEY: {e}"),
        None => format!("{s:?} is neither a log verifier key nor ORIGIN=KEY"),
    })
}

fn read_cosigner(path: &std::path::Path) -> anyhow::Result<Cosigner> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Cosigner::from_signer_key_str(text.trim()).map_err(|e| anyhow!("{}: {e}", path.display()))
}

pub fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let c = Cosigner::generate(&args.name, &mut rand_core::OsRng)?;
    client::write_secret(&args.out, &format!("{}\n", c.to_signer_key_string()))?;
    println!("created witness key {} in {}", c.name(), args.out.display());
    println!("witness verifier key: {}", c.verifier());
    Ok(())
}

pub fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let cosigner = read_cosigner(&args.key)?;
    let verifier = cosigner.verifier();
    let mut config = crate::witness::WitnessConfig::new(cosigner, &args.data);
    for (origin, key) in args.logs {
        config = config.log(&origin, key);
    }
    block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let url = format!("http://{}", listener.local_addr()?);
        let ready = |held: &[(String, u64)]| {
            println!("witness serving on {url}/add-checkpoint\n  witness verifier key: {verifier}");
            for (origin, size) in held {
                println!("  log {origin:?}: holds size {size}");
            }
        };
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        crate::witness::serve(config, listener, ready, shutdown).await
    })
}

#[derive(Args, Debug)]
pub struct CosignArgs {
    /// The witness's key file; created when missing (then --name is required).
    #[arg(long)]
    pub key: PathBuf,
    /// Name of a new witness key, such as witness.example.org/w1.
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub source: Source,
    /// The witness's state: the pinned log key and every checkpoint it accepted. Read if it
    /// exists, updated after cosigning.
    #[arg(long)]
    pub state: PathBuf,
    /// The trusted log key (or a file holding it). Default: the state's key, else the key the
    /// server announces or DIR/log.pub (trust on first use).
    #[arg(long)]
    pub log_key: Option<String>,
    /// Also write the cosignature line to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `witness cosign`: check that the ledger's checkpoint is signed by the pinned key and is
/// consistent with everything this witness accepted before, then cosign it. With --data the
/// cosignature is stored in the ledger (served with every checkpoint); with --server it is
/// printed (and written to --out) for the operator to add.
pub fn cosign(args: CosignArgs) -> anyhow::Result<()> {
    let cosigner = if args.key.exists() {
        let text = std::fs::read_to_string(&args.key).with_context(|| format!("cannot read {}", args.key.display()))?;
        Cosigner::from_signer_key_str(text.trim()).map_err(|e| anyhow!("{}: {e}", args.key.display()))?
    } else {
        let Some(name) = &args.name else {
            bail!("{} does not exist; give --name to create a new witness key", args.key.display())
        };
        let c = Cosigner::generate(name, &mut rand_core::OsRng)?;
        client::write_secret(&args.key, &format!("{}\n", c.to_signer_key_string()))?;
        println!("created witness key {} in {}", c.name(), args.key.display());
        c
    };
    println!("witness verifier key: {}", cosigner.verifier());
    let state_path = Some(args.state.clone());
    let prior = read_state(&state_path)?;
    let pinned = match (&args.log_key, &prior) {
        (Some(k), _) => Some(key_arg(k)?),
        (None, Some(p)) if !p.log_key.is_empty() => Some(p.log_key.clone()),
        _ => None,
    };
    let now = SystemClock.now().0;
    let (line, state) = match (&args.source.server, &args.source.data) {
        (Some(server), _) => {
            let server = server.clone();
            let mut out = None;
            let slot = &mut out;
            let prior = prior.clone();
            let cosigner = &cosigner;
            block_on(async move {
                let mut c = client::connect(&server).await?;
                let cp = c.get_checkpoint(pb::GetCheckpointRequest {}).await.map_err(st)?.into_inner();
                let key = pinned.unwrap_or(cp.log_key.clone());
                let mut remote = Remote { client: c, handle: tokio::runtime::Handle::current() };
                let checked = tokio::task::block_in_place(|| {
                    audit::witness_check(&cp.checkpoint, &key, prior.as_ref(), &mut remote)
                })
                .map_err(|e| anyhow!("refusing to cosign: {e}"))?;
                let (text, _) = greenledger_core::log::split(&cp.checkpoint)?;
                let line = cosigner.cosign(&text, now)?;
                // Hand the cosignature to the ledger, which serves it with this checkpoint.
                let req = pb::AddCosignatureRequest {
                    witness_key: cosigner.verifier().to_string(),
                    signature_line: line.clone(),
                };
                match remote.client.add_cosignature(req).await {
                    Ok(_) => println!("the ledger accepted the cosignature and serves it with this checkpoint"),
                    Err(s) => eprintln!("the ledger did not take the cosignature ({:?}): {}", s.code(), s.message()),
                }
                *slot = Some((line, checked.1));
                Ok(())
            })?;
            out.expect("set above")
        }
        (None, Some(dir)) => {
            let dd = DataDir(dir.clone());
            let key = local_log_key(&dd, pinned)?;
            let ledger = dd.open()?;
            let note = ledger.checkpoint_note()?;
            let (_, state) =
                audit::witness_check(&note, &key, prior.as_ref(), &mut audit::StoreProofs(&**ledger.store()))
                    .map_err(|e| anyhow!("refusing to cosign: {e}"))?;
            let (text, _) = greenledger_core::log::split(&note)?;
            let line = cosigner.cosign(&text, now)?;
            ledger.store_cosignature(cosigner.name(), &format!("{}\n{}", cosigner.verifier(), line))?;
            println!("stored the cosignature in {}; the ledger serves it with this checkpoint", dir.display());
            (line, state)
        }
        (None, None) => bail!("give --server or --data"),
    };
    let size = state.checkpoints.last().map_or(0, |c| c.size);
    println!("cosigned the checkpoint of size {size}:\n{}", line.trim_end());
    if let Some(out) = &args.out {
        std::fs::write(out, &line).with_context(|| format!("cannot write {}", out.display()))?;
    }
    write_state(&state_path, &state)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_args() {
        let signer =
            greenledger_core::log::NoteSigner::new("sum.example.org", ed25519_dalek::SigningKey::from_bytes(&[3; 32]))
                .unwrap();
        let key = signer.verifier().to_string();
        assert_eq!(log_arg(&key).unwrap(), ("sum.example.org".to_string(), signer.verifier()));
        let spaced = format!("go.sum database tree={key}");
        assert_eq!(log_arg(&spaced).unwrap().0, "go.sum database tree");
        assert_eq!(log_arg(&format!("a=b={key}")).unwrap().0, "a=b");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("log.pub");
        std::fs::write(&file, format!("{key}\n")).unwrap();
        assert_eq!(log_arg(file.to_str().unwrap()).unwrap().0, "sum.example.org");
        assert_eq!(log_arg(&format!("origin.example/x={}", file.display())).unwrap().0, "origin.example/x");
        for bad in [String::new(), "origin".into(), format!("={key}"), format!("origin={key}x"), "origin=".into()] {
            assert!(log_arg(&bad).is_err(), "{bad:?}");
        }
    }
}
