//! Queries: what a user looks at. Text by default, `--json` for scripts.

use super::client::{self, account_arg};
use super::Conn;
use crate::rpc::{convert, pb};
use clap::Subcommand;
use greenledger_core::types::{Role, Timestamp};
use serde_json::{json, Value};

#[derive(Subcommand, Debug)]
pub enum Show {
    /// The latest signed checkpoint and the ledger's verifier key.
    Checkpoint {
        #[command(flatten)]
        conn: Conn,
    },
    /// An account and its totals.
    Account {
        #[command(flatten)]
        conn: Conn,
        /// Account id or key file.
        account: String,
    },
    /// The certificate bundles an account holds.
    Holdings {
        #[command(flatten)]
        conn: Conn,
        /// Account id or key file.
        account: String,
    },
    /// A device and its readings (the first 100 unless --limit says otherwise).
    Device {
        #[command(flatten)]
        conn: Conn,
        device: String,
        /// Only readings starting at or after this time.
        #[arg(long)]
        from: Option<String>,
        /// Only readings starting before this time.
        #[arg(long)]
        to: Option<String>,
        /// Most readings to show; 0 shows all.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// A claim (retirement), e.g. C1.
    Claim {
        #[command(flatten)]
        conn: Conn,
        #[arg(value_parser = client::claim_arg)]
        claim: u64,
    },
    /// A bundle and the entries of its history, e.g. B2.
    Bundle {
        #[command(flatten)]
        conn: Conn,
        #[arg(value_parser = client::bundle_arg)]
        bundle: u64,
    },
}

fn t(secs: u64) -> String {
    Timestamp(secs).to_string()
}

fn iv(i: &Option<pb::Interval>) -> String {
    i.as_ref().map_or("-".into(), |i| format!("{} .. {}", t(i.start), t(i.end)))
}

fn sr(s: &Option<pb::SerialRange>) -> String {
    s.as_ref().map_or("-".into(), |s| {
        format!("#{}..#{} ({})", s.start, s.end.saturating_sub(1), s.end.saturating_sub(s.start))
    })
}

/// An interval in JSON: Unix seconds and the same in UTC, half-open.
pub fn iv_json(i: &Option<pb::Interval>) -> Value {
    i.as_ref()
        .map_or(Value::Null, |i| json!({"start": i.start, "end": i.end, "start_utc": t(i.start), "end_utc": t(i.end)}))
}

/// A serial range in JSON: first serial, end (exclusive) and count.
pub fn sr_json(s: &Option<pb::SerialRange>) -> Value {
    s.as_ref().map_or(Value::Null, |s| json!({"first": s.start, "end": s.end, "count": s.end.saturating_sub(s.start)}))
}

fn account_json(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        Value::String(hex::encode(bytes))
    }
}

fn bundle_json(b: &pb::Bundle) -> Value {
    json!({
        "id": b.id,
        "device": b.device,
        "state": b.state,
        "origin": b.origin,
        "owner": account_json(&b.owner),
        "serials": sr_json(&b.serials),
        "production": iv_json(&b.production),
        "transferable": b.transferable,
        "transfers": b.transfers,
        "expires": b.expires,
        "expires_utc": t(b.expires),
        "parent": if b.parent == 0 { Value::Null } else { json!(b.parent) },
        "history": b.history,
        "claim": if b.claim == 0 { Value::Null } else { json!(b.claim) },
    })
}

fn role_names(roles: &[i32]) -> Vec<String> {
    roles
        .iter()
        .filter_map(|r| pb::Role::try_from(*r).ok())
        .filter_map(|r| Role::ALL.into_iter().find(|d| convert::role_to_pb(*d) == r as i32))
        .map(|r| r.name().to_string())
        .collect()
}

fn st(s: tonic::Status) -> anyhow::Error {
    client::server_error(s)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

pub async fn run(q: Show) -> anyhow::Result<()> {
    match q {
        Show::Checkpoint { conn } => {
            let mut c = client::connect(&conn.server).await?;
            let r = c.get_checkpoint(pb::GetCheckpointRequest {}).await.map_err(st)?.into_inner();
            if conn.json {
                println!(
                    "{}",
                    json!({"checkpoint": r.checkpoint, "log_key": r.log_key, "size": r.size, "root": hex::encode(&r.root)})
                );
            } else {
                println!("log key: {}\n\n{}", r.log_key, r.checkpoint);
            }
        }
        Show::Account { conn, account } => {
            let id = account_arg(&account)?;
            let mut c = client::connect(&conn.server).await?;
            let a = c.get_account(pb::AccountRequest { account: id.0.to_vec() }).await.map_err(st)?.into_inner();
            let roles = role_names(&a.roles);
            if conn.json {
                println!(
                    "{}",
                    json!({"account": id.to_hex(), "name": a.name, "roles": roles, "consumed_wh": a.consumed_wh, "claimed_wh": a.claimed_wh, "registered_entry": a.registered_entry})
                );
            } else {
                println!(
                    "{} ({})\n  roles: {}\n  metered consumption: {} Wh\n  claimed: {} Wh",
                    a.name,
                    id.to_hex(),
                    roles.join(", "),
                    a.consumed_wh,
                    a.claimed_wh
                );
            }
        }
        Show::Holdings { conn, account } => {
            let id = account_arg(&account)?;
            let mut c = client::connect(&conn.server).await?;
            let h = c.get_holdings(pb::AccountRequest { account: id.0.to_vec() }).await.map_err(st)?.into_inner();
            if conn.json {
                let bundles: Vec<_> = h.bundles.iter().map(bundle_json).collect();
                println!(
                    "{}",
                    json!({"account": id.to_hex(), "active": h.active_certificates, "retired": h.retired_certificates, "bundles": bundles})
                );
            } else {
                println!(
                    "{} active, {} retired",
                    plural(h.active_certificates as usize, "certificate", "certificates"),
                    h.retired_certificates
                );
                for b in &h.bundles {
                    println!(
                        "  B{:<6} {:<9} {:<18} {} {} produced {}",
                        b.id,
                        b.state,
                        b.origin,
                        b.device,
                        sr(&b.serials),
                        iv(&b.production)
                    );
                }
            }
        }
        Show::Device { conn, device, from, to, limit } => {
            let from = from.as_deref().map(client::time_arg).transpose()?.unwrap_or(0);
            let to = to.as_deref().map(client::time_arg).transpose()?.unwrap_or(0);
            let mut c = client::connect(&conn.server).await?;
            let d = c.get_device(pb::DeviceRequest { device, from, to }).await.map_err(st)?.into_inner();
            let total = d.readings.len();
            let shown = if limit == 0 { total } else { total.min(limit) };
            let readings = &d.readings[..shown];
            if conn.json {
                let readings: Vec<_> = readings
                    .iter()
                    .map(|r| {
                        json!({"interval": iv_json(&r.interval), "wh": r.energy_wh, "entry": r.entry, "direct_supply_wh": r.direct_supply_wh,
                               "traded_wh": r.traded_wh, "issued": r.issued, "issued_serials": if r.issued { sr_json(&r.issued_serials) } else { Value::Null }})
                    })
                    .collect();
                println!(
                    "{}",
                    json!({"device": d.device, "owner": account_json(&d.owner), "technology": d.technology, "capacity_w": d.capacity_w, "region": d.region,
                           "commissioned": d.commissioned, "commissioned_utc": t(d.commissioned), "carry_wh": d.carry_wh,
                           "readings_total": total, "readings": readings})
                );
            } else {
                println!(
                    "{} {} {} W in {}, carry {} Wh, {}",
                    d.device,
                    d.technology,
                    d.capacity_w,
                    d.region,
                    d.carry_wh,
                    plural(total, "reading", "readings")
                );
                for r in readings {
                    println!(
                        "  {} {:>12} Wh  direct {:>10}  traded {:>10}  {}",
                        iv(&r.interval),
                        r.energy_wh,
                        r.direct_supply_wh,
                        r.traded_wh,
                        if r.issued { sr(&r.issued_serials) } else { "not issued".into() }
                    );
                }
                if shown < total {
                    println!("  ... {} more (use --from, --to or --limit 0)", total - shown);
                }
            }
        }
        Show::Claim { conn, claim } => {
            let mut c = client::connect(&conn.server).await?;
            let k = c.get_claim(pb::ClaimRequest { claim }).await.map_err(st)?.into_inner();
            if conn.json {
                println!(
                    "{}",
                    json!({"claim": k.id, "claimant": account_json(&k.claimant), "bundle": k.bundle, "serials": sr_json(&k.serials), "energy_wh": k.energy_wh,
                           "device": k.device, "production": iv_json(&k.production), "beneficiary": k.beneficiary, "purpose": k.purpose,
                           "consumption": iv_json(&k.consumption), "entry": k.entry})
                );
            } else {
                println!("claim C{} (entry {}): {} Wh of {} produced {}, serials {}\n  beneficiary: {}\n  purpose: {}\n  consumption: {}", k.id, k.entry, k.energy_wh, k.device, iv(&k.production), sr(&k.serials), k.beneficiary, k.purpose, iv(&k.consumption));
            }
        }
        Show::Bundle { conn, bundle } => {
            let mut c = client::connect(&conn.server).await?;
            let h = c.get_bundle_history(pb::BundleRequest { bundle }).await.map_err(st)?.into_inner();
            let b = h.bundle.unwrap_or_default();
            if conn.json {
                let entries: Vec<_> = h.entries.iter().map(|e| e.index).collect();
                println!("{}", json!({"bundle": bundle_json(&b), "entries": entries, "history": h.descriptions}));
            } else {
                println!("B{} {} {} {} owner {}", b.id, b.state, b.device, sr(&b.serials), hex::encode(&b.owner));
                for d in &h.descriptions {
                    println!("  {d}");
                }
            }
        }
    }
    Ok(())
}
