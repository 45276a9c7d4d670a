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
    /// A park and its members, with the dates of each membership.
    Park {
        #[command(flatten)]
        conn: Conn,
        /// The park's code.
        park: String,
    },
    /// Every registered park.
    Parks {
        #[command(flatten)]
        conn: Conn,
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
        "channel": b.channel,
        "class": b.class,
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

fn reading_json(r: &pb::Reading) -> Value {
    let corrections: Vec<_> = r
        .corrections
        .iter()
        .map(|c| {
            json!({"entry": c.entry, "signer": account_json(&c.signer), "approver": account_json(&c.approver), "old_wh": c.old_wh,
                   "new_wh": c.new_wh, "reason": c.reason, "clawed_back_wh": c.clawed_back_wh, "deficit_wh": c.deficit_wh, "claims": c.claims})
        })
        .collect();
    json!({"interval": iv_json(&r.interval), "channel": r.channel, "wh": r.energy_wh, "entry": r.entry, "direct_supply_wh": r.direct_supply_wh,
           "traded_wh": r.traded_wh, "issued": r.issued, "issued_serials": if r.issued { sr_json(&r.issued_serials) } else { Value::Null },
           "class": if r.class.is_empty() { Value::Null } else { json!(r.class) },
           "supplements": r.supplements.iter().map(|s| sr_json(&Some(*s))).collect::<Vec<_>>(),
           "corrections": corrections, "netted_wh": r.netted_wh, "uncertified_wh": r.uncertified_wh, "paid_wh": r.paid_wh,
           "clawed_back_wh": r.clawed_back_wh, "deficit_wh": r.deficit_wh, "excluded_wh": r.excluded_wh})
}

fn attribute_names(a: &Option<pb::DeviceAttributes>) -> Vec<String> {
    let Some(a) = a else { return Vec::new() };
    let mut out: Vec<String> = [
        (a.off_grid, "off-grid"),
        (a.conventional_hydro, "conventional hydro"),
        (a.storage, "independent storage"),
        (a.hydrogen, "hydrogen"),
        (a.subsidised, "subsidised"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| name.to_string())
    .collect();
    if !a.user.is_empty() {
        out.push(format!("self-use by {}", short(&a.user)));
    }
    out
}

fn attributes_json(a: &Option<pb::DeviceAttributes>) -> Value {
    let a = a.clone().unwrap_or_default();
    json!({"off_grid": a.off_grid, "conventional_hydro": a.conventional_hydro, "storage": a.storage, "hydrogen": a.hydrogen,
           "subsidised": a.subsidised, "user": account_json(&a.user)})
}

/// The first 8 bytes of an account in hex, as the ledger's messages write it.
fn short(account: &[u8]) -> String {
    hex::encode(&account[..account.len().min(8)])
}

fn correction_outcome(c: &pb::Correction) -> String {
    let mut parts = Vec::new();
    if c.clawed_back_wh > 0 {
        parts.push(format!("{} Wh clawed back", c.clawed_back_wh));
    }
    if c.deficit_wh > 0 {
        parts.push(format!("{} Wh owed by the device", c.deficit_wh));
    }
    if !c.claims.is_empty() {
        parts.push(format!(
            "claims made before: {}",
            c.claims.iter().map(|k| format!("C{k}")).collect::<Vec<_>>().join(", ")
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

/// A claim's beneficiary in JSON: `{"kind": "claimant" | "account" | "product", ...}`; null for
/// claims of the first format.
fn beneficiary_json(b: &Option<pb::Beneficiary>) -> Value {
    use pb::beneficiary::Kind;
    match b.as_ref().and_then(|b| b.kind.as_ref()) {
        None => Value::Null,
        Some(Kind::Claimant(_)) => json!({"kind": "claimant"}),
        Some(Kind::Account(a)) => json!({"kind": "account", "account": account_json(a)}),
        Some(Kind::Product(p)) => {
            json!({"kind": "product", "product": p.product, "quantity": p.quantity, "unit": p.unit})
        }
    }
}

/// A purpose code's name as the command line writes it (`re100-cdp`, …); `None` when unspecified.
fn purpose_name(code: i32) -> Option<&'static str> {
    Some(match pb::Purpose::try_from(code).ok()? {
        pb::Purpose::Unspecified => return None,
        pb::Purpose::Re100Cdp => "re100-cdp",
        pb::Purpose::EnergyDeduction => "energy-deduction",
        pb::Purpose::RenewableQuota => "renewable-quota",
        pb::Purpose::ProductFootprint => "product-footprint",
        pb::Purpose::Cbam => "cbam",
        pb::Purpose::Other => "other",
    })
}

fn claim_json(k: &pb::ClaimInfo) -> Value {
    json!({"claim": k.id, "claimant": account_json(&k.claimant), "bundle": k.bundle, "serials": sr_json(&k.serials), "energy_wh": k.energy_wh,
           "device": k.device, "production": iv_json(&k.production), "beneficiary": k.beneficiary, "purpose": k.purpose,
           "consumption": iv_json(&k.consumption), "entry": k.entry, "capped": account_json(&k.capped),
           "beneficiary_spec": beneficiary_json(&k.beneficiary_spec), "purpose_code": purpose_name(k.purpose_code),
           "purpose_text": if k.purpose_text.is_empty() { Value::Null } else { json!(k.purpose_text) },
           "origin": k.origin, "class": k.class, "channel": k.channel})
}

fn member_json(m: &pb::ParkMember) -> Value {
    json!({"account": account_json(&m.account), "province": m.province, "from": m.from, "from_utc": t(m.from),
           "until": m.until, "until_utc": m.until.map(t)})
}

fn park_json(p: &pb::ParkInfo) -> Value {
    json!({"park": p.park, "name": p.name, "province": p.province, "members": p.members.iter().map(member_json).collect::<Vec<_>>(),
           "registered_entry": p.registered_entry, "changes": p.changes})
}

fn print_park(p: &pb::ParkInfo) {
    let current = p.members.iter().filter(|m| m.until.is_none()).count();
    println!(
        "park {} ({}, {}), registered at entry {}, {} now",
        p.park,
        p.name,
        p.province,
        p.registered_entry,
        plural(current, "member", "members")
    );
    for m in &p.members {
        let until = m.until.map_or("still a member".to_string(), |u| format!("until {}", t(u)));
        println!("  {} site in {:<12} from {} {}", hex::encode(&m.account), m.province, t(m.from), until);
    }
    if !p.changes.is_empty() {
        println!(
            "  membership changed at entries {}",
            p.changes.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
        );
    }
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
                let readings: Vec<_> = readings.iter().map(reading_json).collect();
                println!(
                    "{}",
                    json!({"device": d.device, "owner": account_json(&d.owner), "technology": d.technology, "capacity_w": d.capacity_w, "region": d.region,
                           "commissioned": d.commissioned, "commissioned_utc": t(d.commissioned), "carry_wh": d.carry_wh,
                           "attributes": attributes_json(&d.attributes), "decommissioned": d.decommissioned, "deficit_wh": d.deficit_wh,
                           "changes": d.changes, "readings_total": total, "readings": readings})
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
                let attributes = attribute_names(&d.attributes);
                if !attributes.is_empty() {
                    println!("  attributes: {}", attributes.join(", "));
                }
                if let Some(at) = d.decommissioned {
                    println!("  decommissioned at {}", t(at));
                }
                if d.deficit_wh > 0 {
                    println!("  deficit: {} Wh owed, settled from later issuances", d.deficit_wh);
                }
                for r in readings {
                    let issued = if r.issued {
                        let mut s = format!("{} {}", sr(&r.issued_serials), r.class);
                        for x in &r.supplements {
                            s += &format!(" + {}", sr(&Some(*x)));
                        }
                        s
                    } else {
                        "not issued".into()
                    };
                    println!(
                        "  {} {:<17} {:>12} Wh  direct {:>10}  traded {:>10}  {}",
                        iv(&r.interval),
                        r.channel,
                        r.energy_wh,
                        r.direct_supply_wh,
                        r.traded_wh,
                        issued
                    );
                    for c in &r.corrections {
                        println!(
                            "      corrected at entry {} from {} to {} Wh by {}{}: {:?}{}",
                            c.entry,
                            c.old_wh,
                            c.new_wh,
                            short(&c.signer),
                            if c.approver.is_empty() {
                                String::new()
                            } else {
                                format!(", approved by {}", short(&c.approver))
                            },
                            c.reason,
                            correction_outcome(c)
                        );
                    }
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
                println!("{}", claim_json(&k));
            } else {
                println!(
                    "claim C{} (entry {}): {} Wh of {} produced {}, serials {}",
                    k.id,
                    k.entry,
                    k.energy_wh,
                    k.device,
                    iv(&k.production),
                    sr(&k.serials)
                );
                println!("  certificates: {}, {}, channel {}", k.origin, k.class, k.channel);
                println!("  claimant: {}", hex::encode(&k.claimant));
                println!("  beneficiary: {}", k.beneficiary);
                let code = purpose_name(k.purpose_code).map_or(String::new(), |n| format!(" [{n}]"));
                println!("  purpose: {}{code}", k.purpose);
                println!("  consumption: {} (capped by account {})", iv(&k.consumption), hex::encode(&k.capped));
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
        Show::Park { conn, park } => {
            let mut c = client::connect(&conn.server).await?;
            let p = c.get_park(pb::GetParkRequest { park }).await.map_err(st)?.into_inner();
            if conn.json {
                println!("{}", park_json(&p));
            } else {
                print_park(&p);
            }
        }
        Show::Parks { conn } => {
            let mut c = client::connect(&conn.server).await?;
            let list = c.list_parks(pb::ListParksRequest {}).await.map_err(st)?.into_inner();
            if conn.json {
                println!("{}", json!({"parks": list.parks.iter().map(park_json).collect::<Vec<_>>()}));
            } else if list.parks.is_empty() {
                println!("no parks registered");
            } else {
                for p in &list.parks {
                    print_park(p);
                }
            }
        }
    }
    Ok(())
}
