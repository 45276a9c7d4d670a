//! The pieces the set-ups are made of: times, units, the standard policy and device, and
//! constructors of the commands tests write most often.

use greenledger_core::calendar::unix;
use greenledger_core::command as cmd;
use greenledger_core::{
    AccountId, BundleId, Command, DeviceId, Interval, Policy, SerialRange, Technology, Timestamp, Wh,
};

pub const HOUR: u64 = 3600;
/// Watt-hours in a megawatt-hour: one certificate under the standard policy.
pub const MWH: u64 = 1_000_000;
/// The standard device: 10 MW of wind owned by the cast's generator.
pub const WIND: &str = "WIND-1";
pub const WIND_CAPACITY_W: u64 = 10_000_000;

/// 2026-01-01T00:00:00Z: hour 0 of the readings.
pub fn t0() -> u64 {
    unix(2026, 1, 1, 0, 0, 0)
}

/// Where the manual clock of a world starts: 2026-02-01T00:00:00Z.
pub fn clock_start() -> u64 {
    unix(2026, 2, 1, 0, 0, 0)
}

/// Hour `n` after [`t0`].
pub fn hour(n: u64) -> Interval {
    Interval::new(t0() + n * HOUR, t0() + (n + 1) * HOUR)
}

pub fn wind() -> DeviceId {
    DeviceId(WIND.into())
}

/// The standard policy of a ledger called `name`: 1 MWh certificates, otherwise the defaults.
pub fn policy(name: &str) -> Policy {
    let mut p = Policy::new(name);
    p.unit_wh = MWH;
    p
}

/// The operator's genesis command for `policy`.
pub fn genesis(policy: Policy) -> Command {
    Command::Genesis(cmd::Genesis { policy, operator_name: "Registry".into() })
}

/// A wind device of `capacity_w` owned by `owner`, in Inner Mongolia, commissioned in 2020.
pub fn register_device(device: DeviceId, owner: AccountId, capacity_w: u64) -> Command {
    Command::RegisterDevice(cmd::RegisterDevice {
        device,
        owner,
        technology: Technology::Wind,
        capacity_w,
        region: "inner_mongolia".into(),
        commissioned: Timestamp(unix(2020, 1, 1, 0, 0, 0)),
        attributes: Default::default(),
    })
}

pub fn post_generation(device: DeviceId, interval: Interval, wh: u64) -> Command {
    Command::PostGeneration(cmd::PostGeneration { device, interval, energy: Wh(wh) })
}

pub fn post_consumption(account: AccountId, interval: Interval, wh: u64) -> Command {
    Command::PostConsumption(cmd::PostConsumption { account, interval, energy: Wh(wh) })
}

pub fn issue(device: DeviceId, interval: Interval) -> Command {
    Command::Issue(cmd::Issue { device, interval })
}

pub fn transfer(bundle: BundleId, serials: SerialRange, to: AccountId) -> Command {
    Command::Transfer(cmd::Transfer { bundle, serials, to })
}

/// A claim for a product batch named `batch` (one unit) with the purpose described by
/// `purpose` (`re100-cdp` and the other documented names, anything else as `other`).
pub fn retire(bundle: BundleId, serials: SerialRange, batch: &str, purpose: &str, consumption: Interval) -> Command {
    Command::Retire(cmd::Retire {
        bundle,
        serials,
        beneficiary: cmd::Beneficiary::Product { product: batch.into(), quantity: 1, unit: "batch".into() },
        purpose: cmd::Purpose::parse(purpose, None).unwrap_or_else(|| cmd::Purpose::Other(purpose.into())),
        consumption,
    })
}

/// A claim for the claimant itself, RE100/CDP.
pub fn retire_own(bundle: BundleId, serials: SerialRange, consumption: Interval) -> Command {
    Command::Retire(cmd::Retire {
        bundle,
        serials,
        beneficiary: cmd::Beneficiary::Claimant,
        purpose: cmd::Purpose::Re100Cdp,
        consumption,
    })
}
