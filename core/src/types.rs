//! Newtypes for every number and identifier that could be confused with another.
//!
//! Energy is always an integer number of watt-hours ([`Wh`]); arithmetic on it is checked.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Seconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct Timestamp(pub u64);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = crate::calendar::civil(self.0);
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

/// An amount of energy in watt-hours. Never a float.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct Wh(pub u64);

impl Wh {
    pub const ZERO: Wh = Wh(0);
    pub fn checked_add(self, other: Wh) -> Option<Wh> {
        self.0.checked_add(other.0).map(Wh)
    }
    pub fn checked_sub(self, other: Wh) -> Option<Wh> {
        self.0.checked_sub(other.0).map(Wh)
    }
}

impl fmt::Display for Wh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Wh", self.0)
    }
}

/// A certificate serial number. One serial is one certificate unit of the policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct Serial(pub u64);

/// A half-open range of serial numbers `[start, end)`; never empty once inside a bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct SerialRange {
    pub start: Serial,
    pub end: Serial,
}

impl SerialRange {
    pub fn new(start: u64, end: u64) -> Self {
        SerialRange { start: Serial(start), end: Serial(end) }
    }
    /// Number of certificates in the range (0 for empty or reversed ranges).
    pub fn len(&self) -> u64 {
        self.end.0.saturating_sub(self.start.0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// True when `inner` lies wholly inside `self`.
    pub fn contains(&self, inner: &SerialRange) -> bool {
        inner.start >= self.start && inner.end <= self.end && inner.start < inner.end
    }
}

impl fmt::Display for SerialRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            write!(f, "[{}, {}) (empty)", self.start.0, self.end.0)
        } else {
            write!(f, "#{}..#{}", self.start.0, self.end.0 - 1)
        }
    }
}

/// A half-open time interval `[start, end)` in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct Interval {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Interval {
    pub fn new(start: u64, end: u64) -> Self {
        Interval { start: Timestamp(start), end: Timestamp(end) }
    }
    pub fn seconds(&self) -> u64 {
        self.end.0.saturating_sub(self.start.0)
    }
    pub fn is_valid(&self) -> bool {
        self.start < self.end
    }
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }
    pub fn contains(&self, inner: &Interval) -> bool {
        inner.start >= self.start && inner.end <= self.end
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} .. {})", self.start, self.end)
    }
}

/// An account: the 32 bytes of its Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct AccountId(pub [u8; 32]);

impl AccountId {
    /// Short form for messages: the first 8 bytes in hex.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    pub fn from_hex(s: &str) -> Option<AccountId> {
        let v = hex::decode(s.trim()).ok()?;
        Some(AccountId(v.try_into().ok()?))
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.short())
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A generation device code chosen at registration, such as `IM-WIND-01`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct DeviceId(pub String);

impl DeviceId {
    /// Device codes are 1 to 64 characters of ASCII letters, digits, `-`, `_` and `.`.
    pub fn is_well_formed(&self) -> bool {
        !self.0.is_empty()
            && self.0.len() <= 64
            && self.0.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A park's code chosen at registration, such as `CZ-ZERO-CARBON-PARK`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct ParkId(pub String);

impl ParkId {
    /// Park codes follow device codes: 1 to 64 ASCII letters, digits, `-`, `_` and `.`.
    pub fn is_well_formed(&self) -> bool {
        DeviceId(self.0.clone()).is_well_formed()
    }
}

impl fmt::Display for ParkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! counter_id {
    ($name:ident, $prefix:literal) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
        pub struct $name(pub u64);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

counter_id!(BundleId, "B");
counter_id!(ClaimId, "C");
counter_id!(LeafIndex, "#");

/// Roles an account may hold, as a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct Roles(pub u8);

/// One role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Operator,
    MeterOperator,
    TradingPlatform,
    Generator,
    Consumer,
    Regulator,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::Operator, Role::MeterOperator, Role::TradingPlatform, Role::Generator, Role::Consumer, Role::Regulator];
    fn bit(self) -> u8 {
        match self {
            Role::Operator => 1,
            Role::MeterOperator => 2,
            Role::TradingPlatform => 4,
            Role::Generator => 8,
            Role::Consumer => 16,
            Role::Regulator => 32,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::MeterOperator => "meter-operator",
            Role::TradingPlatform => "trading-platform",
            Role::Generator => "generator",
            Role::Consumer => "consumer",
            Role::Regulator => "regulator",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == s.trim())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Roles {
    pub const NONE: Roles = Roles(0);
    pub fn of(roles: &[Role]) -> Roles {
        Roles(roles.iter().fold(0, |acc, r| acc | r.bit()))
    }
    pub fn has(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }
    /// Only the six defined bits may be set.
    pub fn is_valid(self) -> bool {
        self.0 & !0b11_1111 == 0
    }
    pub fn list(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| self.has(*r)).collect()
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.list().into_iter().map(Role::name).collect();
        f.write_str(&names.join(","))
    }
}

/// Generation technology of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
pub enum Technology {
    Wind,
    Solar,
    Hydro,
    Biomass,
    Geothermal,
    Marine,
    Other,
}

impl Technology {
    pub const ALL: [Technology; 7] = [
        Technology::Wind,
        Technology::Solar,
        Technology::Hydro,
        Technology::Biomass,
        Technology::Geothermal,
        Technology::Marine,
        Technology::Other,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Technology::Wind => "wind",
            Technology::Solar => "solar",
            Technology::Hydro => "hydro",
            Technology::Biomass => "biomass",
            Technology::Geothermal => "geothermal",
            Technology::Marine => "marine",
            Technology::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Technology> {
        Technology::ALL.into_iter().find(|t| t.name() == s.trim())
    }
}

impl fmt::Display for Technology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a meter reading measures. A device's readings must not overlap within one channel;
/// different channels of the same device may cover the same time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
pub enum Channel {
    /// Energy the plant exported to the grid (上网电量), net of what its storage took from the
    /// grid (see [`Channel::StorageCharge`]). Deliveries over a dedicated line (绿电直连) are
    /// part of it and are recorded as direct-supply allocations of the export reading.
    Export,
    /// Energy used behind the meter by the plant's owner or registered user (自发自用).
    SelfUse,
    /// Energy the plant's storage took from the grid; netted against the export of the same
    /// interval. Never gets certificates.
    StorageCharge,
    /// Energy delivered from storage; its class is the policy's storage class (GEC: none).
    StorageDischarge,
    /// Energy an account took from the grid: its consumption.
    GridImport,
}

impl Channel {
    pub const ALL: [Channel; 5] =
        [Channel::Export, Channel::SelfUse, Channel::StorageCharge, Channel::StorageDischarge, Channel::GridImport];
    pub fn name(self) -> &'static str {
        match self {
            Channel::Export => "export",
            Channel::SelfUse => "self-use",
            Channel::StorageCharge => "storage-charge",
            Channel::StorageDischarge => "storage-discharge",
            Channel::GridImport => "grid-import",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.name() == s.trim())
    }
    /// The byte that stands for the channel in store keys.
    pub fn code(self) -> u8 {
        match self {
            Channel::Export => 0,
            Channel::SelfUse => 1,
            Channel::StorageCharge => 2,
            Channel::StorageDischarge => 3,
            Channel::GridImport => 4,
        }
    }
    /// Channels a generation device reports on.
    pub fn is_device_channel(self) -> bool {
        self != Channel::GridImport
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
