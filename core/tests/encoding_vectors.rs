//! Golden vectors of the leaf and command encoding (`docs/encoding.md`), one or more per command
//! kind, in `core/tests/vectors/commands.json`.
//!
//! The committed file is the reference. For every vector the test parses the entry from its JSON,
//! re-encodes it and compares the leaf bytes, the signing bytes, the leaf hash and the command
//! hash with the file; decodes the file's leaf back to the same entry; and checks the Ed25519
//! signature over the signing bytes. It also checks that the vector set written below is exactly
//! the committed one and that every kind in `Command::KINDS` has a vector. Any drift of the
//! encoding fails here.
//!
//! After a deliberate change to the set of vectors (never to the bytes of an existing one),
//! rewrite the file with:
//!
//! ```sh
//! GREENLEDGER_WRITE_VECTORS=1 cargo test -p greenledger-core --test encoding_vectors
//! ```

use greenledger_core::codec;
use greenledger_core::command as cmd;
use greenledger_core::command::{Beneficiary, DeviceChange, ParkChange, Purpose};
use greenledger_core::crypto::{self, Keypair};
use greenledger_core::log::merkle;
use greenledger_core::policy::{Class, ClassTable, Expiry, Extension, Policy, PolicyV1, Vintage, Zone};
use greenledger_core::state::DeviceAttributes;
use greenledger_core::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The ledger name every vector's signing bytes (and signature) are made for.
const LEDGER: &str = "example.org/ledger";
const FORMAT: &str = "greenledger-encoding-vectors/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VectorFile {
    format: String,
    description: String,
    vectors: Vec<Vector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    name: String,
    kind: String,
    /// The entry as the Rust types serialise it with serde_json.
    entry: serde_json::Value,
    /// `GLE\x01` followed by the encoded entry, hex.
    leaf: String,
    ledger_name: String,
    /// `codec::signing_bytes(ledger_name, &entry.signed.body)`, hex.
    signing_bytes: String,
    /// RFC 6962 leaf hash: SHA-256(0x00 || leaf), hex.
    leaf_hash: String,
    /// `codec::command_hash(&entry.signed)`, hex.
    command_hash: String,
}

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/commands.json")
}

fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

fn entry(time: u64, signer: &Keypair, nonce: u64, command: Command) -> Entry {
    Entry { time: Timestamp(time), signed: signer.sign(LEDGER, nonce, command) }
}

/// An entry whose command is windowed until `expires` (leaf format 2).
fn windowed(time: u64, signer: &Keypair, nonce: u64, expires: u64, command: Command) -> Entry {
    Entry { time: Timestamp(time), signed: signer.sign_until(LEDGER, nonce, Timestamp(expires), command) }
}

/// The leaf magic, signing prefix and command-hash prefix of an entry's format.
fn format_of(entry: &Entry) -> (&'static [u8], &'static str, &'static str) {
    match entry.signed.body.expires {
        None => (b"GLE\x01", "greenledger/v1/command\n", "greenledger/v1/command-hash\n"),
        Some(_) => (b"GLE\x02", "greenledger/v2/command\n", "greenledger/v2/command-hash\n"),
    }
}

/// Where the command's variant index starts in a leaf: after magic 4, time 8, signer 32, nonce
/// 8, and in format 2 the window's end 8.
fn variant_at(entry: &Entry) -> usize {
    if entry.signed.body.expires.is_some() {
        60
    } else {
        52
    }
}

/// Noon, 1 December 2026 UTC, and hours after it.
const T0: u64 = 1_796_126_400;
const HOUR: u64 = 3600;

fn hour(n: u64) -> Interval {
    Interval::new(T0 + n * HOUR, T0 + (n + 1) * HOUR)
}

/// The vectors: (name, entry). Names are unique; at least one per kind.
fn cases() -> Vec<(&'static str, Entry)> {
    let operator = key(1);
    let meter = key(2);
    let platform = key(3);
    let generator = key(4);
    let consumer = key(5);
    let regulator = key(6);
    let wind = DeviceId("IM-WIND-01".into());
    let max = u64::MAX;
    // The kinds of the first command format (variant indices 0 to 11; `retire-v1` was `retire`).
    let first = vec![
        (
            "genesis",
            entry(
                T0,
                &operator,
                0,
                Command::GenesisV1(cmd::GenesisV1 {
                    policy: PolicyV1 {
                        name: LEDGER.into(),
                        unit_wh: 1_000_000,
                        validity_months: 24,
                        max_transfers: None,
                        hourly_matching: false,
                        clock_skew_s: 300,
                    },
                    operator_name: "Registry operator".into(),
                }),
            ),
        ),
        (
            "genesis-all-options",
            entry(
                T0,
                &operator,
                0,
                Command::GenesisV1(cmd::GenesisV1 {
                    policy: PolicyV1 {
                        name: LEDGER.into(),
                        unit_wh: 1,
                        validity_months: u32::MAX,
                        max_transfers: Some(1),
                        hourly_matching: true,
                        clock_skew_s: max,
                    },
                    operator_name: "".into(),
                }),
            ),
        ),
        (
            "register-account",
            entry(
                T0 + 1,
                &operator,
                1,
                Command::RegisterAccount(cmd::RegisterAccount {
                    account: meter.account(),
                    name: "State Grid metering".into(),
                    roles: Roles::of(&[Role::MeterOperator]),
                }),
            ),
        ),
        (
            "register-account-unicode-all-roles",
            entry(
                T0 + 2,
                &operator,
                2,
                Command::RegisterAccount(cmd::RegisterAccount {
                    account: consumer.account(),
                    name: "常州电池厂 — Changzhou Battery Factory".into(),
                    roles: Roles::of(&Role::ALL),
                }),
            ),
        ),
        (
            "register-device",
            entry(
                T0 + 3,
                &operator,
                3,
                Command::RegisterDeviceV1(cmd::RegisterDeviceV1 {
                    device: wind.clone(),
                    owner: generator.account(),
                    technology: Technology::Wind,
                    capacity_w: 50_000_000,
                    region: "CN-NM".into(),
                    commissioned: Timestamp(1_577_836_800),
                }),
            ),
        ),
        (
            "register-device-other-max",
            entry(
                T0 + 4,
                &operator,
                max,
                Command::RegisterDeviceV1(cmd::RegisterDeviceV1 {
                    device: DeviceId("a".repeat(64)),
                    owner: generator.account(),
                    technology: Technology::Other,
                    capacity_w: max,
                    region: "江苏省".into(),
                    commissioned: Timestamp(0),
                }),
            ),
        ),
        (
            "post-generation",
            entry(
                T0 + 2 * HOUR,
                &meter,
                1,
                Command::PostGeneration(cmd::PostGeneration {
                    device: wind.clone(),
                    interval: hour(0),
                    energy: Wh(5_300_000),
                }),
            ),
        ),
        (
            "post-generation-max",
            entry(
                max,
                &meter,
                max,
                Command::PostGeneration(cmd::PostGeneration {
                    device: DeviceId("S.1_x-2".into()),
                    interval: Interval::new(0, max),
                    energy: Wh(max),
                }),
            ),
        ),
        (
            "post-consumption",
            entry(
                T0 + 2 * HOUR + 1,
                &meter,
                2,
                Command::PostConsumption(cmd::PostConsumption {
                    account: consumer.account(),
                    interval: hour(0),
                    energy: Wh(10_000_000),
                }),
            ),
        ),
        (
            "post-direct-supply",
            entry(
                T0 + 2 * HOUR + 2,
                &meter,
                3,
                Command::PostDirectSupply(cmd::PostDirectSupply {
                    device: wind.clone(),
                    consumer: consumer.account(),
                    interval: hour(0),
                    energy: Wh(1_000_000),
                }),
            ),
        ),
        (
            "settle-trade",
            entry(
                T0 + 2 * HOUR + 3,
                &platform,
                1,
                Command::SettleTrade(cmd::SettleTrade {
                    device: wind.clone(),
                    interval: hour(0),
                    buyer: consumer.account(),
                    energy: Wh(2_000_000),
                }),
            ),
        ),
        (
            "issue",
            entry(
                T0 + 2 * HOUR + 4,
                &generator,
                1,
                Command::Issue(cmd::Issue { device: wind.clone(), interval: hour(0) }),
            ),
        ),
        (
            "transfer",
            entry(
                T0 + 2 * HOUR + 5,
                &generator,
                2,
                Command::Transfer(cmd::Transfer {
                    bundle: BundleId(1),
                    serials: SerialRange::new(0, 2),
                    to: consumer.account(),
                }),
            ),
        ),
        (
            "transfer-max",
            entry(
                max,
                &generator,
                max,
                Command::Transfer(cmd::Transfer {
                    bundle: BundleId(max),
                    serials: SerialRange::new(max - 1, max),
                    to: consumer.account(),
                }),
            ),
        ),
        (
            "retire",
            entry(
                T0 + 2 * HOUR + 6,
                &consumer,
                1,
                Command::RetireV1(cmd::RetireV1 {
                    bundle: BundleId(2),
                    serials: SerialRange::new(0, 1),
                    beneficiary: "常州电池厂".into(),
                    purpose: "2026 annual report (scope 2)".into(),
                    consumption: hour(0),
                }),
            ),
        ),
        (
            "retire-empty-text",
            entry(
                T0 + 2 * HOUR + 7,
                &consumer,
                0,
                Command::RetireV1(cmd::RetireV1 {
                    bundle: BundleId(0),
                    serials: SerialRange::new(0, 0),
                    beneficiary: "".into(),
                    purpose: "".into(),
                    consumption: Interval::new(0, 0),
                }),
            ),
        ),
        (
            "withdraw",
            entry(
                T0 + 3 * HOUR,
                &regulator,
                1,
                Command::Withdraw(cmd::Withdraw {
                    bundle: BundleId(1),
                    serials: SerialRange::new(2, 5),
                    reason: "meter fault: reading counted twice".into(),
                }),
            ),
        ),
        (
            "withdraw-max-text",
            entry(
                T0 + 3 * HOUR + 1,
                &regulator,
                2,
                Command::Withdraw(cmd::Withdraw {
                    bundle: BundleId(1),
                    serials: SerialRange::new(5, 6),
                    // 128 two-byte characters: exactly MAX_TEXT bytes.
                    reason: "é".repeat(cmd::MAX_TEXT / 2),
                }),
            ),
        ),
        (
            "declare-exclusion",
            entry(
                T0 + 3 * HOUR + 2,
                &regulator,
                3,
                Command::DeclareExclusion(cmd::DeclareExclusion {
                    device: wind.clone(),
                    interval: Interval::new(T0, T0 + 24 * HOUR),
                    scheme: "I-REC".into(),
                }),
            ),
        ),
    ];
    // The kinds of the second command format (variant index 12 on).
    let gec = Policy::preset("gec", LEDGER).expect("the gec preset");
    let attributes = DeviceAttributes {
        off_grid: true,
        conventional_hydro: true,
        storage: true,
        hydrogen: true,
        subsidised: true,
        user: Some(consumer.account()),
    };
    let correction = cmd::CorrectReading {
        device: wind.clone(),
        channel: Channel::Export,
        interval: hour(0),
        energy: Wh(5_100_000),
        reason: "meter replaced: CT ratio".into(),
        approval: None,
    };
    let change = |device: &DeviceId, change: DeviceChange| {
        Command::ChangeDevice(cmd::ChangeDevice { device: device.clone(), change })
    };
    let second = vec![
        (
            "genesis-policy-new",
            entry(
                T0,
                &operator,
                0,
                Command::Genesis(cmd::Genesis {
                    policy: Policy::new(LEDGER),
                    operator_name: "Registry operator".into(),
                }),
            ),
        ),
        (
            "genesis-gec",
            entry(
                T0,
                &operator,
                0,
                Command::Genesis(cmd::Genesis { policy: gec.clone(), operator_name: "绿证核发机构".into() }),
            ),
        ),
        (
            "genesis-west-zone-extensions-never",
            entry(
                T0,
                &operator,
                0,
                Command::Genesis(cmd::Genesis {
                    policy: Policy {
                        name: LEDGER.into(),
                        unit_wh: 1,
                        zone: Zone { name: "UTC-05:00".into(), offset_s: -5 * 3600 },
                        expiry: Expiry::Never,
                        extensions: vec![
                            Extension { produced_before: Timestamp(1), valid_until: Timestamp(2) },
                            Extension { produced_before: Timestamp(T0), valid_until: Timestamp(max) },
                        ],
                        max_transfers: Some(0),
                        hourly_matching: true,
                        max_reading_s: Some(3600),
                        clock_skew_s: 0,
                        correction_window_months: u32::MAX,
                        owner_issuance: false,
                        classes: ClassTable {
                            self_use: Class::None,
                            off_grid: Class::NonTradable,
                            hydrogen: Class::Tradable,
                            old_hydro_before: Some(Timestamp(max)),
                            old_hydro: Class::None,
                            storage: Class::NonTradable,
                            subsidised: Class::Tradable,
                        },
                        reporting_start_month: 4,
                        vintage: Vintage::WithinMonths(3),
                    },
                    operator_name: "".into(),
                }),
            ),
        ),
        (
            "register-device-attributes",
            entry(
                T0 + 5,
                &operator,
                5,
                Command::RegisterDevice(cmd::RegisterDevice {
                    device: DeviceId("YN-HYDRO-01".into()),
                    owner: generator.account(),
                    technology: Technology::Hydro,
                    capacity_w: 300_000_000,
                    region: "CN-YN".into(),
                    commissioned: Timestamp(1_356_998_400),
                    attributes,
                }),
            ),
        ),
        (
            "register-device-plain",
            entry(
                T0 + 6,
                &operator,
                6,
                Command::RegisterDevice(cmd::RegisterDevice {
                    device: DeviceId("JS-PV-07".into()),
                    owner: generator.account(),
                    technology: Technology::Solar,
                    capacity_w: 2_000_000,
                    region: "CN-JS".into(),
                    commissioned: Timestamp(1_577_836_800),
                    attributes: DeviceAttributes::default(),
                }),
            ),
        ),
        (
            "post-meter-reading",
            entry(
                T0 + 2 * HOUR + 8,
                &meter,
                4,
                Command::PostMeterReading(cmd::PostMeterReading {
                    device: wind.clone(),
                    channel: Channel::SelfUse,
                    interval: hour(0),
                    energy: Wh(300_000),
                }),
            ),
        ),
        (
            "post-meter-reading-storage-charge",
            entry(
                T0 + 2 * HOUR + 9,
                &meter,
                5,
                Command::PostMeterReading(cmd::PostMeterReading {
                    device: wind.clone(),
                    channel: Channel::StorageCharge,
                    interval: hour(0),
                    energy: Wh(0),
                }),
            ),
        ),
        ("correct-reading", entry(T0 + 4 * HOUR, &meter, 6, Command::CorrectReading(correction.clone()))),
        (
            "correct-reading-approved",
            entry(T0 + 4 * HOUR + 1, &meter, 7, Command::CorrectReading(correction.approved(&regulator, LEDGER))),
        ),
        (
            "amend-policy",
            entry(
                T0 + 5 * HOUR,
                &regulator,
                4,
                Command::AmendPolicy(cmd::AmendPolicy {
                    effective: Timestamp(T0 + 24 * HOUR),
                    policy: Policy { max_transfers: Some(2), extensions: Vec::new(), vintage: Vintage::Any, ..gec },
                    reason: "2027 rules: two transfers".into(),
                }),
            ),
        ),
        (
            "change-device-attributes",
            entry(
                T0 + 6 * HOUR,
                &operator,
                7,
                change(&wind, DeviceChange::Attributes(DeviceAttributes { subsidised: true, ..Default::default() })),
            ),
        ),
        (
            "change-device-owner",
            entry(T0 + 6 * HOUR + 1, &operator, 8, change(&wind, DeviceChange::Owner(consumer.account()))),
        ),
        (
            "change-device-decommission",
            entry(
                T0 + 6 * HOUR + 2,
                &operator,
                9,
                change(&wind, DeviceChange::Decommission(Timestamp(T0 + 48 * HOUR))),
            ),
        ),
        (
            "settle-month",
            entry(
                T0 + 7 * HOUR,
                &platform,
                2,
                Command::SettleMonth(cmd::SettleMonth {
                    device: wind.clone(),
                    period: Interval::new(T0, T0 + 24 * HOUR),
                    buyer: consumer.account(),
                    energy: Wh(3_000_000),
                    price_fen_per_mwh: 38_500,
                    network_charge_fen_per_mwh: None,
                }),
            ),
        ),
        (
            "settle-month-distributed",
            entry(
                T0 + 7 * HOUR + 1,
                &platform,
                3,
                Command::SettleMonth(cmd::SettleMonth {
                    device: wind.clone(),
                    period: Interval::new(T0, T0 + 24 * HOUR),
                    buyer: consumer.account(),
                    energy: Wh(1),
                    price_fen_per_mwh: 0,
                    network_charge_fen_per_mwh: Some(max),
                }),
            ),
        ),
        (
            "issue-month",
            entry(
                T0 + 8 * HOUR,
                &operator,
                10,
                Command::IssueMonth(cmd::IssueMonth { device: wind.clone(), year: 2026, month: 11 }),
            ),
        ),
        (
            "resolve-frozen-cancel",
            entry(
                T0 + 9 * HOUR,
                &regulator,
                5,
                Command::ResolveFrozen(cmd::ResolveFrozen {
                    bundle: BundleId(3),
                    cancel: true,
                    reason: "claimed as CCER".into(),
                }),
            ),
        ),
        (
            "resolve-frozen-unfreeze",
            entry(
                T0 + 9 * HOUR + 1,
                &regulator,
                6,
                Command::ResolveFrozen(cmd::ResolveFrozen {
                    bundle: BundleId(4),
                    cancel: false,
                    reason: "I-REC rejected the claim".into(),
                }),
            ),
        ),
    ];
    // The kinds of claims for a beneficiary and parks (variant index 21 on).
    let retire = |bundle: u64, beneficiary: Beneficiary, purpose: Purpose| {
        Command::Retire(cmd::Retire {
            bundle: BundleId(bundle),
            serials: SerialRange::new(0, 1),
            beneficiary,
            purpose,
            consumption: Interval::new(T0, T0 + 24 * HOUR),
        })
    };
    let park = ParkId("CZ-ZERO-CARBON".into());
    let third = vec![
        (
            "retire-claimant-re100-cdp",
            entry(T0 + 10 * HOUR, &consumer, 2, retire(2, Beneficiary::Claimant, Purpose::Re100Cdp)),
        ),
        (
            "retire-account-energy-deduction",
            entry(
                T0 + 10 * HOUR + 1,
                &consumer,
                3,
                retire(3, Beneficiary::Account { account: platform.account() }, Purpose::EnergyDeduction),
            ),
        ),
        (
            "retire-product-footprint",
            entry(
                T0 + 10 * HOUR + 2,
                &consumer,
                4,
                retire(
                    4,
                    Beneficiary::Product { product: "LFP cell 280Ah".into(), quantity: 12_000, unit: "cells".into() },
                    Purpose::ProductFootprint,
                ),
            ),
        ),
        (
            "retire-claimant-renewable-quota",
            entry(T0 + 10 * HOUR + 3, &consumer, 5, retire(5, Beneficiary::Claimant, Purpose::RenewableQuota)),
        ),
        (
            "retire-product-cbam",
            entry(
                T0 + 10 * HOUR + 4,
                &consumer,
                6,
                retire(
                    6,
                    Beneficiary::Product { product: "铝锭 aluminium ingot".into(), quantity: max, unit: "t".into() },
                    Purpose::Cbam,
                ),
            ),
        ),
        (
            "retire-account-other-purpose",
            entry(
                T0 + 10 * HOUR + 5,
                &consumer,
                7,
                retire(
                    7,
                    Beneficiary::Account { account: regulator.account() },
                    Purpose::Other("green bond allocation report 2026".into()),
                ),
            ),
        ),
        (
            "register-park",
            entry(
                T0 + 11 * HOUR,
                &operator,
                11,
                Command::RegisterPark(cmd::RegisterPark {
                    park: park.clone(),
                    name: "常州零碳园区".into(),
                    province: "Jiangsu".into(),
                    since: Timestamp(T0),
                    members: vec![
                        cmd::Site { account: consumer.account(), province: "Jiangsu".into() },
                        cmd::Site { account: platform.account(), province: "Zhejiang".into() },
                    ],
                }),
            ),
        ),
        (
            "register-park-no-members",
            entry(
                T0 + 11 * HOUR + 1,
                &operator,
                12,
                Command::RegisterPark(cmd::RegisterPark {
                    park: ParkId("P".into()),
                    name: "".into(),
                    province: "".into(),
                    since: Timestamp(max),
                    members: Vec::new(),
                }),
            ),
        ),
        (
            "change-park-join",
            entry(
                T0 + 12 * HOUR,
                &operator,
                13,
                Command::ChangePark(cmd::ChangePark {
                    park: park.clone(),
                    change: ParkChange::Join {
                        account: regulator.account(),
                        province: "Anhui".into(),
                        from: Timestamp(T0 + 24 * HOUR),
                    },
                }),
            ),
        ),
        (
            "change-park-leave",
            entry(
                T0 + 12 * HOUR + 1,
                &operator,
                14,
                Command::ChangePark(cmd::ChangePark {
                    park,
                    change: ParkChange::Leave { account: platform.account(), at: Timestamp(T0 + 48 * HOUR) },
                }),
            ),
        ),
    ];
    // Windowed commands (leaf format 2): the window's end follows the nonce.
    let windowed = vec![
        (
            "transfer-windowed",
            windowed(
                T0 + 13 * HOUR,
                &generator,
                3,
                T0 + 14 * HOUR,
                Command::Transfer(cmd::Transfer {
                    bundle: BundleId(1),
                    serials: SerialRange::new(0, 2),
                    to: consumer.account(),
                }),
            ),
        ),
        (
            "issue-windowed-max",
            windowed(max, &generator, max, max, Command::Issue(cmd::Issue { device: wind.clone(), interval: hour(0) })),
        ),
    ];
    first.into_iter().chain(second).chain(third).chain(windowed).collect()
}

fn make(name: &str, e: &Entry) -> Vector {
    Vector {
        name: name.into(),
        kind: e.signed.body.command.kind().into(),
        entry: serde_json::to_value(e).unwrap(),
        leaf: hex::encode(codec::leaf_bytes(e)),
        ledger_name: LEDGER.into(),
        signing_bytes: hex::encode(codec::signing_bytes(LEDGER, &e.signed.body)),
        leaf_hash: hex::encode(merkle::leaf_hash(&codec::leaf_bytes(e))),
        command_hash: hex::encode(codec::command_hash(&e.signed)),
    }
}

fn generated() -> VectorFile {
    VectorFile {
        format: FORMAT.into(),
        description: "Golden vectors of the greenledger leaf and command encoding (leaf formats 1 \
                      and 2), specified in docs/encoding.md. Each entry is given in its serde JSON form; leaf, \
                      signing_bytes, leaf_hash and command_hash are hex. Signatures are real \
                      Ed25519 signatures over signing_bytes by keys with seeds [n; 32]."
            .into(),
        vectors: cases().iter().map(|(n, e)| make(n, e)).collect(),
    }
}

/// The file's text: one field per line, each entry's JSON on one line in field order.
fn render(file: &VectorFile) -> String {
    let j = |v: &dyn erased::ToJson| v.to_json();
    let mut out = String::from("{\n");
    out += &format!("  \"format\": {},\n", j(&file.format));
    out += &format!("  \"description\": {},\n", j(&file.description));
    out += "  \"vectors\": [\n";
    for (i, v) in file.vectors.iter().enumerate() {
        out += "    {\n";
        // The entry in field declaration order, as the Rust types write it.
        let entry: Entry = serde_json::from_value(v.entry.clone()).expect("a generated entry");
        let fields: [(&str, &dyn erased::ToJson); 8] = [
            ("name", &v.name),
            ("kind", &v.kind),
            ("entry", &entry),
            ("leaf", &v.leaf),
            ("ledger_name", &v.ledger_name),
            ("signing_bytes", &v.signing_bytes),
            ("leaf_hash", &v.leaf_hash),
            ("command_hash", &v.command_hash),
        ];
        let lines: Vec<String> = fields.iter().map(|(k, val)| format!("      \"{k}\": {}", j(*val))).collect();
        out += &lines.join(",\n");
        out += if i + 1 == file.vectors.len() { "\n    }\n" } else { "\n    },\n" };
    }
    out += "  ]\n}\n";
    out
}

mod erased {
    pub trait ToJson {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> ToJson for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).expect("serialisable")
        }
    }
}

fn committed() -> VectorFile {
    // Tests run in parallel: write once, before any of them reads.
    static WRITE: std::sync::Once = std::sync::Once::new();
    WRITE.call_once(|| {
        if std::env::var_os("GREENLEDGER_WRITE_VECTORS").is_some_and(|v| v == "1") {
            std::fs::write(path(), render(&generated())).unwrap();
        }
    });
    let text = std::fs::read_to_string(path()).unwrap_or_else(|e| panic!("{}: {e}", path().display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path().display()))
}

fn unhex(name: &str, field: &str, s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("{name}: {field} is not hex: {e}"))
}

/// Every vector of the committed file, checked from the file alone.
#[test]
fn committed_vectors_encode_decode_and_hash_as_recorded() {
    let file = committed();
    assert_eq!(file.format, FORMAT);
    assert!(!file.vectors.is_empty());
    for v in &file.vectors {
        let n = v.name.as_str();
        let entry: Entry =
            serde_json::from_value(v.entry.clone()).unwrap_or_else(|e| panic!("{n}: entry does not parse: {e}"));
        assert_eq!(entry.signed.body.command.kind(), v.kind, "{n}: kind");
        assert_eq!(serde_json::to_value(&entry).unwrap(), v.entry, "{n}: entry JSON does not round-trip");

        // Encoding: the entry's bytes are exactly the recorded leaf.
        let leaf = unhex(n, "leaf", &v.leaf);
        assert_eq!(hex::encode(codec::leaf_bytes(&entry)), v.leaf, "{n}: leaf bytes drifted");
        let (magic, signing_prefix, hash_prefix) = format_of(&entry);
        assert_eq!(&leaf[..4], magic, "{n}: magic");
        // The leaf after the magic is time (8 bytes), body, signature (64 bytes); the signing
        // bytes end with the same body bytes.
        let body = &leaf[12..leaf.len() - 64];
        let signing = unhex(n, "signing_bytes", &v.signing_bytes);
        let mut expected_signing = format!("{signing_prefix}{}\n", v.ledger_name).into_bytes();
        expected_signing.extend_from_slice(body);
        assert_eq!(signing, expected_signing, "{n}: signing bytes are not prefix, name, body");
        assert_eq!(
            hex::encode(codec::signing_bytes(&v.ledger_name, &entry.signed.body)),
            v.signing_bytes,
            "{n}: signing bytes drifted"
        );
        assert_eq!(leaf[4..12], entry.time.0.to_be_bytes(), "{n}: time is not the first 8 bytes");
        assert_eq!(leaf[leaf.len() - 64..], entry.signed.signature, "{n}: signature is not the last 64 bytes");

        // Decoding: the leaf decodes to the same entry; one byte more or less is refused.
        assert_eq!(codec::decode_leaf(&leaf).unwrap(), entry, "{n}: decode");
        let mut longer = leaf.clone();
        longer.push(0);
        assert_eq!(codec::decode_leaf(&longer), Err(codec::CodecError::Trailing(1)), "{n}: trailing byte");
        assert!(
            matches!(codec::decode_leaf(&leaf[..leaf.len() - 1]), Err(codec::CodecError::Malformed(_))),
            "{n}: truncated leaf"
        );

        // Hashes, computed here from their definitions and by the library.
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(&leaf);
        assert_eq!(hex::encode(h.finalize()), v.leaf_hash, "{n}: leaf hash definition");
        assert_eq!(hex::encode(merkle::leaf_hash(&leaf)), v.leaf_hash, "{n}: merkle::leaf_hash");
        let mut h = Sha256::new();
        h.update(hash_prefix.as_bytes());
        h.update(&leaf[12..]);
        assert_eq!(hex::encode(h.finalize()), v.command_hash, "{n}: command hash definition");
        assert_eq!(hex::encode(codec::command_hash(&entry.signed)), v.command_hash, "{n}: codec::command_hash");

        // The signature is a real one over the signing bytes.
        crypto::verify(&v.ledger_name, entry.signed.clone()).unwrap_or_else(|e| panic!("{n}: {e}"));
    }
}

/// The vectors written by this file are the committed ones (regenerate after adding a vector).
#[test]
fn committed_vectors_are_the_generated_ones() {
    let file = committed();
    let fresh = generated();
    let names: Vec<&str> = file.vectors.iter().map(|v| v.name.as_str()).collect();
    let fresh_names: Vec<&str> = fresh.vectors.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names, fresh_names,
        "the vector set changed: rewrite the file with GREENLEDGER_WRITE_VECTORS=1 (existing vectors must keep their bytes)"
    );
    for (c, f) in file.vectors.iter().zip(&fresh.vectors) {
        assert_eq!(c, f, "vector {} differs from what the code encodes today", c.name);
    }
    assert_eq!(file, fresh);
}

#[test]
fn every_command_kind_has_a_vector() {
    let file = committed();
    let covered: BTreeSet<&str> = file.vectors.iter().map(|v| v.kind.as_str()).collect();
    let kinds: BTreeSet<&str> = Command::KINDS.iter().copied().collect();
    let missing: Vec<&&str> = kinds.difference(&covered).collect();
    assert!(missing.is_empty(), "command kinds without a golden vector: {missing:?}");
    assert!(
        covered.is_subset(&kinds),
        "vectors of unknown kinds: {:?}",
        covered.difference(&kinds).collect::<Vec<_>>()
    );
    let names: BTreeSet<&str> = file.vectors.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names.len(), file.vectors.len(), "vector names must be unique");
}

/// The variant index of each kind is its position in `Command::KINDS` (the first 4 bytes after
/// the signer, nonce and, in format 2, the window's end), and the vectors show it.
#[test]
fn variant_index_is_the_position_in_kinds() {
    for v in committed().vectors {
        let leaf = hex::decode(&v.leaf).unwrap();
        let at = variant_at(&serde_json::from_value(v.entry.clone()).unwrap());
        let index = u32::from_be_bytes(leaf[at..at + 4].try_into().unwrap());
        let position = Command::KINDS.iter().position(|k| *k == v.kind).unwrap();
        assert_eq!(index as usize, position, "{}", v.name);
    }
}

/// Bytes a decoder must refuse: bad magic, an unknown variant index, an invalid `bool`, an
/// invalid `Option` tag and invalid UTF-8, each made by editing one byte of a good vector.
#[test]
fn malformed_leaves_are_refused() {
    let file = committed();
    let leaf_of =
        |name: &str| -> Vec<u8> { hex::decode(&file.vectors.iter().find(|v| v.name == name).unwrap().leaf).unwrap() };

    // Versions 1 and 2 are the two leaf formats; 0 and 3 are no format.
    for name in ["transfer", "transfer-windowed"] {
        for version in [0, 3] {
            let mut bad = leaf_of(name);
            bad[3] = version;
            assert_eq!(codec::decode_leaf(&bad), Err(codec::CodecError::BadMagic), "{name} as version {version}");
        }
    }

    let mut bad = leaf_of("transfer");
    bad[52..56].copy_from_slice(&(Command::KINDS.len() as u32).to_be_bytes());
    assert!(matches!(codec::decode_leaf(&bad), Err(codec::CodecError::Malformed(_))), "unknown variant");
    let mut bad = leaf_of("transfer-windowed");
    bad[60..64].copy_from_slice(&(Command::KINDS.len() as u32).to_be_bytes());
    assert!(matches!(codec::decode_leaf(&bad), Err(codec::CodecError::Malformed(_))), "unknown variant (format 2)");

    // genesis: 56 header bytes, policy name (8 + len), unit_wh 8, validity_months 4,
    // max_transfers tag 1 (+4), hourly_matching 1.
    let good = leaf_of("genesis-all-options");
    let name_len = LEDGER.len();
    let tag_at = 56 + 8 + name_len + 8 + 4;
    assert_eq!(good[tag_at], 1, "max_transfers is Some");
    let mut bad = good.clone();
    bad[tag_at] = 2;
    assert!(matches!(codec::decode_leaf(&bad), Err(codec::CodecError::Malformed(_))), "option tag 2");
    let bool_at = tag_at + 1 + 4;
    assert_eq!(good[bool_at], 1, "hourly_matching is true");
    let mut bad = good.clone();
    bad[bool_at] = 2;
    assert!(matches!(codec::decode_leaf(&bad), Err(codec::CodecError::Malformed(_))), "bool 2");

    // The policy name's first byte made 0xff: not UTF-8.
    let mut bad = good;
    bad[56 + 8] = 0xff;
    assert!(matches!(codec::decode_leaf(&bad), Err(codec::CodecError::Malformed(_))), "invalid UTF-8");
}
