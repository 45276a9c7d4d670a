//! Queries: what a user looks at. Text by default, `--json` for scripts.

use super::client::{self, account_arg};
use super::Conn;
use crate::rpc::pb;
use anyhow::anyhow;
use clap::Subcommand;
use greenledger_core::types::Timestamp;
use serde_json::json;

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
        account: String,
    },
    /// A device and its readings.
    Device {
        #[command(flatten)]
        conn: Conn,
        device: String,
    },
    /// A claim (retirement).
    Claim {
        #[command(flatten)]
        conn: Conn,
        claim: u64,
    },
    /// A bundle and the entries of its history.
    Bundle {
        #[command(flatten)]
        conn: Conn,
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

fn st(s: tonic::Status) -> anyhow::Error {
    anyhow!("{:?}: {}", s.code(), s.message())
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
            let mut c = client::connect(&conn.server).await?;
            let id = account_arg(&account)?;
            let a = c.get_account(pb::AccountRequest { account: id.0.to_vec() }).await.map_err(st)?.into_inner();
            let roles: Vec<String> = a
                .roles
                .iter()
                .filter_map(|r| pb::Role::try_from(*r).ok())
                .map(|r| r.as_str_name().to_lowercase())
                .collect();
            if conn.json {
                println!(
                    "{}",
                    json!({"account": id.to_hex(), "name": a.name, "roles": roles, "consumed_wh": a.consumed_wh, "claimed_wh": a.claimed_wh})
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
            let mut c = client::connect(&conn.server).await?;
            let id = account_arg(&account)?;
            let h = c.get_holdings(pb::AccountRequest { account: id.0.to_vec() }).await.map_err(st)?.into_inner();
            if conn.json {
                let bundles: Vec<_> = h
                    .bundles
                    .iter()
                    .map(|b| {
                        let s = b.serials.unwrap_or_default();
                        json!({"id": b.id, "device": b.device, "state": b.state, "origin": b.origin, "first_serial": s.start, "end_serial": s.end,
                               "production_start": b.production.as_ref().map(|p| p.start), "production_end": b.production.as_ref().map(|p| p.end), "expires": b.expires})
                    })
                    .collect();
                println!(
                    "{}",
                    json!({"active": h.active_certificates, "retired": h.retired_certificates, "bundles": bundles})
                );
            } else {
                println!("{} active, {} retired certificates", h.active_certificates, h.retired_certificates);
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
        Show::Device { conn, device } => {
            let mut c = client::connect(&conn.server).await?;
            let d = c.get_device(pb::DeviceRequest { device, from: 0, to: 0 }).await.map_err(st)?.into_inner();
            if conn.json {
                let readings: Vec<_> = d
                    .readings
                    .iter()
                    .map(|r| json!({"start": r.interval.as_ref().map(|i| i.start), "end": r.interval.as_ref().map(|i| i.end), "wh": r.energy_wh, "direct_supply_wh": r.direct_supply_wh, "traded_wh": r.traded_wh, "issued": r.issued}))
                    .collect();
                println!(
                    "{}",
                    json!({"device": d.device, "technology": d.technology, "capacity_w": d.capacity_w, "region": d.region, "carry_wh": d.carry_wh, "readings": readings})
                );
            } else {
                println!(
                    "{} {} {} W in {}, carry {} Wh, {} readings",
                    d.device,
                    d.technology,
                    d.capacity_w,
                    d.region,
                    d.carry_wh,
                    d.readings.len()
                );
                for r in &d.readings {
                    println!(
                        "  {} {:>12} Wh  direct {:>10}  traded {:>10}  {}",
                        iv(&r.interval),
                        r.energy_wh,
                        r.direct_supply_wh,
                        r.traded_wh,
                        if r.issued { sr(&r.issued_serials) } else { "not issued".into() }
                    );
                }
            }
        }
        Show::Claim { conn, claim } => {
            let mut c = client::connect(&conn.server).await?;
            let k = c.get_claim(pb::ClaimRequest { claim }).await.map_err(st)?.into_inner();
            if conn.json {
                println!(
                    "{}",
                    json!({"claim": k.id, "claimant": hex::encode(&k.claimant), "bundle": k.bundle, "energy_wh": k.energy_wh, "device": k.device, "beneficiary": k.beneficiary, "purpose": k.purpose, "entry": k.entry})
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
                println!(
                    "{}",
                    json!({"bundle": b.id, "state": b.state, "owner": hex::encode(&b.owner), "history": h.descriptions})
                );
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
