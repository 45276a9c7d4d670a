//! The participants of every test ledger, with keys from fixed seeds.

use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::NoteSigner;
use greenledger_core::{AccountId, Command, Role, Roles};

/// Name (checkpoint origin) of the test ledgers.
pub const LEDGER: &str = "test.greenledger.example";

/// The key from seed `[n; 32]`.
pub fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

/// The log (checkpoint) signer of a ledger called `name`, from a fixed seed.
pub fn log_signer_for(name: &str) -> NoteSigner {
    NoteSigner::new(name, ed25519_dalek::SigningKey::from_bytes(&[99; 32])).expect("a valid ledger name")
}

/// The log signer of [`LEDGER`].
pub fn log_signer() -> NoteSigner {
    log_signer_for(LEDGER)
}

/// The participants. Keys come from the seeds `[1; 32]` (operator) to `[8; 32]` (stranger).
#[derive(Clone)]
pub struct Cast {
    /// Signs genesis; registers accounts and devices.
    pub operator: Keypair,
    /// Meter operator: posts readings.
    pub meter: Keypair,
    /// Trading platform: settles green-power trades.
    pub platform: Keypair,
    /// Regulator: withdraws certificates, declares exclusions.
    pub regulator: Keypair,
    /// Generator: owns the devices, issues certificates.
    pub generator: Keypair,
    /// A consumer (a battery factory).
    pub consumer: Keypair,
    /// A second consumer (a solar glass factory).
    pub consumer2: Keypair,
    /// A key that is never registered.
    pub stranger: Keypair,
}

impl Default for Cast {
    fn default() -> Self {
        Cast::new()
    }
}

impl Cast {
    pub fn new() -> Cast {
        Cast {
            operator: key(1),
            meter: key(2),
            platform: key(3),
            regulator: key(4),
            generator: key(5),
            consumer: key(6),
            consumer2: key(7),
            stranger: key(8),
        }
    }

    /// Every key, in seed order: operator, meter, platform, regulator, generator, consumer,
    /// consumer2, stranger.
    pub fn all(&self) -> [&Keypair; 8] {
        [
            &self.operator,
            &self.meter,
            &self.platform,
            &self.regulator,
            &self.generator,
            &self.consumer,
            &self.consumer2,
            &self.stranger,
        ]
    }

    /// The participants the operator registers, with their names and roles.
    pub fn members(&self) -> [(&Keypair, &'static str, Role); 6] {
        [
            (&self.meter, "State Grid metering", Role::MeterOperator),
            (&self.platform, "Power exchange", Role::TradingPlatform),
            (&self.regulator, "Regulator", Role::Regulator),
            (&self.generator, "Wind farm co", Role::Generator),
            (&self.consumer, "Battery factory", Role::Consumer),
            (&self.consumer2, "Solar glass factory", Role::Consumer),
        ]
    }

    /// The operator's commands that register [`Cast::members`], in that order.
    pub fn registrations(&self) -> Vec<Command> {
        self.members()
            .into_iter()
            .map(|(k, name, role)| {
                Command::RegisterAccount(cmd::RegisterAccount {
                    account: k.account(),
                    name: name.into(),
                    roles: Roles::of(&[role]),
                })
            })
            .collect()
    }

    /// Accounts of the operator and of every member (not the stranger).
    pub fn accounts(&self) -> Vec<AccountId> {
        self.all()[..7].iter().map(|k| k.account()).collect()
    }
}
