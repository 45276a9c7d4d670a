//! What every client command needs: a runtime, a connection, key files, times and output.

use crate::rpc::pb::ledger_client::LedgerClient;
use crate::rpc::{convert, pb};
use anyhow::{anyhow, bail, Context as _};
use greenledger_core::calendar;
use greenledger_core::command::Command;
use greenledger_core::crypto::Keypair;
use greenledger_core::types::{AccountId, Interval};
use std::path::Path;
use tonic::transport::Channel;

pub fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?.block_on(f)
}

pub async fn connect(server: &str) -> anyhow::Result<LedgerClient<Channel>> {
    let url = if server.contains("://") { server.to_string() } else { format!("http://{server}") };
    LedgerClient::connect(url.clone())
        .await
        .map(|c| c.max_decoding_message_size(4 << 20))
        .with_context(|| format!("cannot reach a greenledger server at {url}"))
}

/// Writes a secret key file readable only by its owner.
pub fn write_key(path: &Path, key: &Keypair) -> anyhow::Result<()> {
    write_secret(path, &key.to_file_text())
}

pub fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if path.exists() {
        bail!("{} exists already; refusing to overwrite a key", path.display());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

pub fn read_key(path: &Path) -> anyhow::Result<Keypair> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read key file {}", path.display()))?;
    Keypair::from_file_text(&text).with_context(|| format!("key file {}", path.display()))
}

/// An account given as 64 hex digits or as the path of a key file.
pub fn account_arg(s: &str) -> anyhow::Result<AccountId> {
    if let Some(a) = AccountId::from_hex(s) {
        return Ok(a);
    }
    let p = Path::new(s);
    if p.exists() {
        return Ok(read_key(p)?.account());
    }
    bail!("{s:?} is neither a 64-hex-digit account id nor a key file")
}

/// A time given as Unix seconds or as `YYYY-MM-DD[THH:MM[:SS]][Z]` (UTC).
pub fn time_arg(s: &str) -> anyhow::Result<u64> {
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    calendar::parse_utc(s).ok_or_else(|| anyhow!("{s:?} is not a time: use Unix seconds or 2026-11-20T13:00Z"))
}

pub fn interval_arg(start: &str, end: &str) -> anyhow::Result<Interval> {
    Ok(Interval::new(time_arg(start)?, time_arg(end)?))
}

/// A random nonce: never reused in practice, and no counter to keep between runs.
pub fn nonce() -> u64 {
    use rand_core::RngCore;
    rand_core::OsRng.next_u64()
}

/// The ledger's name (what commands are signed for), from the verifier key it serves.
pub async fn ledger_name(client: &mut LedgerClient<Channel>) -> anyhow::Result<String> {
    let cp = client.get_checkpoint(pb::GetCheckpointRequest {}).await?.into_inner();
    let key = greenledger_core::log::NoteVerifier::parse(&cp.log_key)
        .map_err(|e| anyhow!("the server's log key {:?} is not a verifier key: {e}", cp.log_key))?;
    Ok(key.name().to_string())
}

/// Signs and submits one command; prints the receipt or fails with the server's message.
pub async fn submit(server: &str, key: &Keypair, command: Command, json: bool) -> anyhow::Result<pb::Receipt> {
    let mut client = connect(server).await?;
    let name = ledger_name(&mut client).await?;
    let signed = key.sign(&name, nonce(), command);
    let receipt = client
        .submit(convert::signed_to_pb(&signed))
        .await
        .map_err(|s| anyhow!("refused ({:?}): {}", s.code(), s.message()))?
        .into_inner();
    print_receipt(&receipt, json);
    Ok(receipt)
}

pub fn print_receipt(r: &pb::Receipt, json: bool) {
    if json {
        let v = serde_json::json!({
            "index": r.index,
            "leaf_hash": hex::encode(&r.leaf_hash),
            "summary": r.summary,
            "effects": r.effects.iter().map(effect_json).collect::<Vec<_>>(),
            "duplicate": r.duplicate,
            "tree_size": r.tree_size,
        });
        println!("{v}");
    } else {
        println!(
            "accepted as entry {} (checkpoint size {}){}",
            r.index,
            r.tree_size,
            if r.duplicate { ", duplicate" } else { "" }
        );
        for e in &r.summary {
            println!("  {e}");
        }
    }
}

/// A receipt's structured effect as JSON: `kind` and the fields that kind sets (ids as numbers,
/// accounts as hex, serial ranges as `{"first", "last"}`, energy in Wh).
pub fn effect_json(e: &pb::Effect) -> serde_json::Value {
    let mut v = serde_json::Map::new();
    v.insert("kind".into(), e.kind.clone().into());
    let mut put = |k: &str, x: serde_json::Value| {
        v.insert(k.into(), x);
    };
    if e.bundle != 0 {
        put("bundle", e.bundle.into());
    }
    if e.claim != 0 {
        put("claim", e.claim.into());
    }
    if e.from_bundle != 0 {
        put("from_bundle", e.from_bundle.into());
    }
    if let Some(s) = &e.serials {
        put("serials", serde_json::json!({"first": s.start, "last": s.end.saturating_sub(1)}));
    }
    if !e.account.is_empty() {
        put("account", hex::encode(&e.account).into());
    }
    if !e.device.is_empty() {
        put("device", e.device.clone().into());
    }
    if let Some(i) = &e.interval {
        put("interval", serde_json::json!({"start": i.start, "end": i.end}));
    }
    if e.energy_wh != 0 {
        put("energy_wh", e.energy_wh.into());
    }
    for (k, x) in [("origin", &e.origin), ("ledger", &e.ledger), ("scheme", &e.scheme)] {
        if !x.is_empty() {
            put(k, x.clone().into());
        }
    }
    serde_json::Value::Object(v)
}
