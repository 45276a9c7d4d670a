//! The pure core of greenledger: everything that decides, encodes, hashes, signs and verifies,
//! and nothing that stores, serves or parses command lines. This crate does not depend on sled,
//! tokio, tonic or clap, so the compiler keeps it pure: time, keys and state come in as
//! arguments, and everything here can be tested in milliseconds without I/O.
//!
//! # Layout
//!
//! From the bottom up; a module uses only modules above it in this list (the one exception is
//! noted).
//!
//! - [`types`]: newtypes for everything that can be confused (`Wh`, `Serial`, `SerialRange`,
//!   `AccountId`, `DeviceId`, `BundleId`, `ClaimId`, `LeafIndex`, `Timestamp`, `Interval`,
//!   `Roles`), with [`calendar`]: integer calendar arithmetic for expiry dates.
//! - [`policy`]: the scheme's parameters, fixed by the genesis entry.
//! - [`log`]: RFC 6962 Merkle math (roots, inclusion and consistency proofs) over a node reader,
//!   C2SP signed notes, checkpoints and cosignatures. Knows nothing of commands.
//! - [`command`]: what participants sign. One module per kind (`command/<kind>.rs`) holds the
//!   kind's body, its required role, its rules, its step in a proof lineage and its wording; the
//!   trait [`command::Kind`] says what each kind provides. The rules and lineage steps use
//!   [`rules`] and [`proof::walk`] (the exception to the order of this list: a kind module is
//!   where the command meets the checks that concern it).
//! - [`codec`]: the canonical bytes of what is hashed, signed and logged: a pinned bincode
//!   configuration, domain-separation prefixes, the leaf magic and version. Specified field by
//!   field in `docs/encoding.md`, pinned by golden vectors for every kind.
//! - [`crypto`]: account keys, command signatures, batch verification; an
//!   [`crypto::Authenticated`] command is the only kind the rules accept.
//! - [`state`]: the state records (accounts, devices, readings, bundles, claims, nonces), the
//!   [`StateView`]/[`StateWrite`] seams a store implements, and [`MemState`], the in-memory twin.
//!   Bundle state transitions consume the old state and return the new one.
//! - [`refusal`]: why a command is refused, typed, each message naming the rule and the values.
//! - [`rules`]: [`decide`], the checks every command goes through before its kind's own rules,
//!   the helpers those rules share, and [`rules::Change`], what an accepted command made.
//! - [`bundle`]: splitting serial ranges and moving certificates with a trade.
//! - [`replay`]: applying decisions, and replaying a whole log from its leaves.
//! - [`proof`]: claim proof bundles and their offline verification with nothing but the log key.
//! - [`accounting`]: green consumption statements (hourly 24/7 matching, parks, emissions) as
//!   pure functions of ledger records, and signed statements: their canonical JSON, signing and
//!   offline opening.
#![forbid(unsafe_code)]

pub mod accounting;
pub mod bundle;
pub mod calendar;
pub mod codec;
pub mod command;
pub mod crypto;
pub mod log;
pub mod policy;
pub mod proof;
pub mod refusal;
pub mod replay;
pub mod rules;
pub mod state;
pub mod types;

pub use command::{Command, CommandBody, Entry, SignedCommand};
pub use policy::Policy;
pub use refusal::{Refusal, RefusalKind, Rejection};
pub use rules::{decide, Context, Decision};
pub use state::{Effect, MemState, StateView, StateWrite};
pub use types::*;
