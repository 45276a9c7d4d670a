//! What every client command needs: a runtime, a connection, key files, times and output.

use super::time::BadInput;
use crate::rpc::pb::ledger_client::LedgerClient;
use crate::rpc::{convert, pb};
use anyhow::{anyhow, bail, Context as _};
use greenledger_core::command::Command;
use greenledger_core::crypto::Keypair;
use greenledger_core::policy::Policy;
use greenledger_core::types::{AccountId, Interval, Timestamp};
use std::path::Path;
use tonic::transport::Channel;

pub fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?.block_on(f)
}

/// The address of a server as given by `--server`: `host:port`, `http://host:port` (plaintext)
/// or `https://host:port` (TLS). A missing port is refused rather than guessed.
pub fn server_url(server: &str) -> anyhow::Result<String> {
    let url = if server.contains("://") { server.to_string() } else { format!("http://{server}") };
    let Some((scheme, rest)) = url.split_once("://") else { unreachable!("added above") };
    if scheme != "http" && scheme != "https" {
        return Err(BadInput(format!("--server {server:?}: use http://HOST:PORT or https://HOST:PORT")).into());
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let has_port = authority.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && !p.is_empty() && !h.ends_with('['))
        && !authority.ends_with(']');
    if !has_port {
        return Err(
            BadInput(format!("--server {server:?} has no port: give one, e.g. {scheme}://{authority}:50051")).into()
        );
    }
    Ok(url)
}

pub async fn connect(server: &str) -> anyhow::Result<LedgerClient<Channel>> {
    let url = server_url(server)?;
    let endpoint = tonic::transport::Endpoint::from_shared(url.clone())
        .map_err(|e| BadInput(format!("--server {server:?} is not an address: {e}")))?;
    let endpoint = if url.starts_with("https://") {
        endpoint.tls_config(tonic::transport::ClientTlsConfig::new().with_enabled_roots())?
    } else {
        endpoint
    };
    let channel = endpoint.connect().await.map_err(|e| {
        let detail = transport_detail(&e);
        Unreachable(format!("cannot reach a greenledger server at {url}: {detail}"))
    })?;
    Ok(LedgerClient::new(channel).max_decoding_message_size(4 << 20))
}

/// The innermost cause of a transport error, with a hint for the usual mistakes.
fn transport_detail(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    let text = inner.to_string();
    if text.contains("InvalidContentType") || text.contains("corrupt message") {
        format!("{text} (the server does not speak TLS: use http:// instead of https://)")
    } else if text.contains("Connection refused") {
        format!("{text} (is `greenledger serve` running there?)")
    } else {
        text
    }
}

/// No connection to the server (`--json`: code `Unavailable`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

/// An answer from the server that is not success: a refusal naming its rule, or a transport
/// failure. Keeps the gRPC status so `--json` can report its code.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(.0))]
pub struct ServerError(pub tonic::Status);

fn describe(s: &tonic::Status) -> String {
    use tonic::Code;
    match s.code() {
        Code::Unavailable | Code::Unknown | Code::Internal => {
            let hint = if s.message().contains("InvalidContentType") || s.message().contains("corrupt message") {
                " (the server does not speak TLS: use http:// instead of https://)"
            } else {
                ""
            };
            format!("the server failed ({:?}): {}{hint}", s.code(), s.message())
        }
        Code::ResourceExhausted => format!("the server is busy, retry shortly: {}", s.message()),
        code => format!("refused ({code:?}): {}", s.message()),
    }
}

/// Wraps a gRPC status as an error of this command line.
pub fn server_error(s: tonic::Status) -> anyhow::Error {
    ServerError(s).into()
}

/// The number of the rule that refused, as the server sends it with a refusal (metadata
/// `greenledger-rule`); `None` when no numbered rule refused.
pub fn rule_of(s: &tonic::Status) -> Option<u32> {
    s.metadata().get(crate::rpc::status::RULE_KEY)?.to_str().ok()?.parse().ok()
}

/// The refusal's stable name as the server sends it (metadata `greenledger-reason`).
pub fn reason_of(s: &tonic::Status) -> Option<String> {
    Some(s.metadata().get(crate::rpc::status::REASON_KEY)?.to_str().ok()?.to_string())
}

/// The rule of an in-band refusal of a streaming RPC; 0 means none.
pub fn rule_of_pb(r: &pb::Refusal) -> Option<u32> {
    (r.rule != 0).then_some(r.rule)
}

/// A bundle id as printed (`B12`) or as a bare number (`12`).
pub fn bundle_arg(s: &str) -> Result<u64, String> {
    id_arg(s, 'B', "bundle")
}

/// A claim id as printed (`C3`) or as a bare number (`3`).
pub fn claim_arg(s: &str) -> Result<u64, String> {
    id_arg(s, 'C', "claim")
}

fn id_arg(s: &str, prefix: char, what: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.strip_prefix(prefix).or_else(|| t.strip_prefix(prefix.to_ascii_lowercase())).unwrap_or(t);
    digits.parse::<u64>().map_err(|_| format!("{s:?} is not a {what} id: write {prefix}12 or 12"))
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
    Err(BadInput(format!("{s:?} is neither a 64-hex-digit account id nor a key file")).into())
}

/// A time (see [`super::time`]): RFC 3339 with a zone, Unix seconds or 13-digit milliseconds;
/// a time without a zone only with `--tz`.
pub fn time_arg(s: &str) -> anyhow::Result<u64> {
    Ok(super::time::parse(s)?)
}

pub fn interval_arg(start: &str, end: &str) -> anyhow::Result<Interval> {
    Ok(Interval::new(time_arg(start)?, time_arg(end)?))
}

/// A random nonce: never reused in practice, and no counter to keep between runs. (The commands
/// the command line signs are windowed, so the ledger remembers their nonces only for the
/// window.)
pub fn nonce() -> u64 {
    use rand_core::RngCore;
    rand_core::OsRng.next_u64()
}

/// The ledger's name (what commands are signed for), from the verifier key it serves.
pub async fn ledger_name(client: &mut LedgerClient<Channel>) -> anyhow::Result<String> {
    Ok(ledger_name_and_time(client).await?.0)
}

/// The ledger's name and its clock now (Unix seconds), which validity windows are measured
/// from; this machine's clock when the server does not say (a server from before windows).
pub async fn ledger_name_and_time(client: &mut LedgerClient<Channel>) -> anyhow::Result<(String, u64)> {
    let cp = client.get_checkpoint(pb::GetCheckpointRequest {}).await.map_err(server_error)?.into_inner();
    let key = greenledger_core::log::NoteVerifier::parse(&cp.log_key)
        .map_err(|e| anyhow!("the server's log key {:?} is not a verifier key: {e}", cp.log_key))?;
    let now = if cp.time == 0 { now_s() } else { cp.time };
    Ok((key.name().to_string(), now))
}

/// The ledger's latest policy: its genesis policy, or the policy of its latest amendment, read
/// from the log (no query serves the policy by itself).
pub async fn current_policy(client: &mut LedgerClient<Channel>) -> anyhow::Result<Policy> {
    use greenledger_core::command as cmd;
    let size = client.get_checkpoint(pb::GetCheckpointRequest {}).await.map_err(server_error)?.into_inner().size;
    let mut entries =
        client.get_entries(pb::GetEntriesRequest { start: 0, end: size }).await.map_err(server_error)?.into_inner();
    let mut policy = None;
    while let Some(e) = entries.message().await.map_err(server_error)? {
        let entry = greenledger_core::codec::decode_leaf(&e.leaf)
            .map_err(|err| anyhow!("entry {} of the served log does not decode: {err}", e.index))?;
        match entry.signed.body.command {
            Command::Genesis(cmd::Genesis { policy: p, .. })
            | Command::AmendPolicy(cmd::AmendPolicy { policy: p, .. }) => policy = Some(p),
            Command::GenesisV1(g) => policy = Some(g.policy.into()),
            _ => {}
        }
    }
    policy.ok_or_else(|| anyhow!("the served log has no genesis entry"))
}

/// Unix seconds now, by this machine's clock.
pub fn now_s() -> u64 {
    crate::ledger::Clock::now(&crate::ledger::SystemClock).0
}

/// Signs one command with a random nonce and a validity window ending `valid_for` seconds after
/// the ledger's time now, and submits it; prints the receipt or fails with the server's message.
pub async fn submit(
    server: &str,
    key: &Keypair,
    command: Command,
    valid_for: u64,
    json: bool,
) -> anyhow::Result<pb::Receipt> {
    let mut client = connect(server).await?;
    let (name, now) = ledger_name_and_time(&mut client).await?;
    let signed = key.sign_until(&name, nonce(), Timestamp(now.saturating_add(valid_for)), command);
    let receipt = client.submit(convert::signed_to_pb(&signed)).await.map_err(server_error)?.into_inner();
    print_receipt(&receipt, json);
    Ok(receipt)
}

pub fn print_receipt(r: &pb::Receipt, json: bool) {
    if json {
        // Schema greenledger-receipt (README, "JSON output"): `summary` is the effects in words.
        let v = serde_json::json!({
            "receipt": {
                "index": r.index,
                "leaf_hash": hex::encode(&r.leaf_hash),
                "tree_size": r.tree_size,
                "duplicate": r.duplicate,
                "summary": r.summary,
                "effects": r.effects.iter().map(effect_json).collect::<Vec<_>>(),
            }
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
    for (k, x) in [("origin", &e.origin), ("ledger", &e.ledger), ("scheme", &e.scheme), ("channel", &e.channel)] {
        if !x.is_empty() {
            put(k, x.clone().into());
        }
    }
    match e.kind.as_str() {
        "corrected" => {
            put("old_wh", e.old_wh.into());
            put("new_wh", e.energy_wh.into());
            put("clawed_back_wh", e.clawed_back_wh.into());
            put("deficit_wh", e.deficit_wh.into());
            put("claims", e.claims.clone().into());
        }
        "amended" => put("effective", e.effective.into()),
        "resolved" => put("cancelled", e.cancelled.into()),
        "settled" => {
            put("price_fen_per_mwh", e.price_fen_per_mwh.into());
            if let Some(n) = e.network_charge_fen_per_mwh {
                put("network_charge_fen_per_mwh", n.into());
            }
        }
        _ => {}
    }
    serde_json::Value::Object(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rule_and_reason_a_refusal_carries() {
        use crate::ledger::Refused;
        use crate::rpc::status::{status, ServiceError};
        let r =
            greenledger_core::Refusal::TransferLimit { bundle: greenledger_core::BundleId(1), transfers: 1, limit: 1 };
        let s = status(&ServiceError::Refused(Refused::Rule(r)));
        assert_eq!((rule_of(&s), reason_of(&s).as_deref()), (Some(7), Some("transfer-limit")));
        let s = status(&ServiceError::Refused(Refused::Rule(greenledger_core::Refusal::ZeroEnergy)));
        assert_eq!((rule_of(&s), reason_of(&s).as_deref()), (None, Some("zero-energy")));
        assert_eq!(rule_of(&tonic::Status::not_found("entry 9")), None);
    }

    #[test]
    fn ids_take_their_printed_prefix_or_none() {
        assert_eq!(bundle_arg("B6"), Ok(6));
        assert_eq!(bundle_arg("6"), Ok(6));
        assert_eq!(claim_arg("C1"), Ok(1));
        assert_eq!(claim_arg("c1"), Ok(1));
        assert!(bundle_arg("C6").unwrap_err().contains("\"C6\" is not a bundle id"));
        assert!(claim_arg("B1").is_err());
    }

    #[test]
    fn server_addresses_need_a_port() {
        assert_eq!(server_url("127.0.0.1:50051").unwrap(), "http://127.0.0.1:50051");
        assert_eq!(server_url("https://ledger.example:443").unwrap(), "https://ledger.example:443");
        let e = server_url("127.0.0.1").unwrap_err().to_string();
        assert!(e.contains("has no port") && e.contains("http://127.0.0.1:50051"), "{e}");
        assert!(server_url("https://ledger.example").is_err());
        assert!(server_url("ftp://x:1").is_err());
    }
}
