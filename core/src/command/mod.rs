//! Commands: what participants ask the ledger to do. Each is signed by its submitter.

use super::policy::Policy;
use super::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Longest free-text field (names, beneficiary, purpose, scheme, reason), in bytes.
pub const MAX_TEXT: usize = 256;

/// A request to change the ledger. Each variant names who may sign it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum Command {
    /// First entry of every log: fixes the policy; its signer becomes the operator.
    Genesis { policy: Policy, operator_name: String },
    /// Operator: admits a participant with roles.
    RegisterAccount { account: AccountId, name: String, roles: Roles },
    /// Operator: registers a generation unit owned by a generator account.
    RegisterDevice {
        device: DeviceId,
        owner: AccountId,
        technology: Technology,
        capacity_w: u64,
        region: String,
        commissioned: Timestamp,
    },
    /// Meter operator: a device's metered generation over an interval.
    PostGeneration { device: DeviceId, interval: Interval, energy: Wh },
    /// Meter operator: an account's metered consumption over an interval (all sources).
    PostConsumption { account: AccountId, interval: Interval, energy: Wh },
    /// Meter operator: energy a device delivered over a dedicated line (绿电直连) to a consumer in
    /// the interval of one of its generation readings.
    PostDirectSupply { device: DeviceId, consumer: AccountId, interval: Interval, energy: Wh },
    /// Trading platform: a settled green-power trade (绿电交易); the certificates of this device
    /// and interval go to the buyer with the power (证电合一).
    SettleTrade { device: DeviceId, interval: Interval, buyer: AccountId, energy: Wh },
    /// Device owner: issue the certificates of one generation reading.
    Issue { device: DeviceId, interval: Interval },
    /// Owner: move part or all of a bundle to another account.
    Transfer { bundle: BundleId, serials: SerialRange, to: AccountId },
    /// Owner: final use of certificates for a beneficiary, purpose and consumption interval.
    Retire { bundle: BundleId, serials: SerialRange, beneficiary: String, purpose: String, consumption: Interval },
    /// Regulator: remove wrongly issued certificates that are not retired.
    Withdraw { bundle: BundleId, serials: SerialRange, reason: String },
    /// Regulator: the device's output in this interval is used in another scheme.
    DeclareExclusion { device: DeviceId, interval: Interval, scheme: String },
}

impl Command {
    /// Short kind name, used in messages and statistics.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::Genesis { .. } => "genesis",
            Command::RegisterAccount { .. } => "register-account",
            Command::RegisterDevice { .. } => "register-device",
            Command::PostGeneration { .. } => "post-generation",
            Command::PostConsumption { .. } => "post-consumption",
            Command::PostDirectSupply { .. } => "post-direct-supply",
            Command::SettleTrade { .. } => "settle-trade",
            Command::Issue { .. } => "issue",
            Command::Transfer { .. } => "transfer",
            Command::Retire { .. } => "retire",
            Command::Withdraw { .. } => "withdraw",
            Command::DeclareExclusion { .. } => "declare-exclusion",
        }
    }
}

/// What the submitter signs: who, a nonce that is never reused, and the command.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct CommandBody {
    pub signer: AccountId,
    pub nonce: u64,
    pub command: Command,
}

/// A command with its Ed25519 signature over [`crate::codec::signing_bytes`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct SignedCommand {
    pub body: CommandBody,
    #[serde(with = "crate::codec::serde_sig")]
    pub signature: [u8; 64],
}

/// One log entry: the signed command and the sequencer's clock when it was accepted. The state is
/// a deterministic function of the entries, because `time` is the `now` every rule sees.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Entry {
    pub time: Timestamp,
    pub signed: SignedCommand,
}
