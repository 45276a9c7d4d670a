//! greenledger: a signed, append-only, provable ledger for green electricity and its
//! certificates.
//!
//! # Layout
//!
//! Every arrow points down; nothing below imports anything above it.
//!
//! - [`codec`]: canonical bytes of what is hashed, signed and stored (prefix, version, pinned
//!   bincode configuration, golden tests).
//! - [`crypto`]: account keys, command signatures, batch verification.
//! - [`domain`]: types, commands, state records and the rules, `decide(state, command, now)`.
//!   Pure: no storage, network or clock.
//! - [`log`]: RFC 6962 Merkle tree math and proofs; checkpoints as C2SP signed notes.
//! - [`store`]: the storage trait, the sled backend and its in-memory twin.
//! - [`ledger`]: the sequencer: batch, verify, decide, append, commit durably, checkpoint.
//! - [`accounting`]: green consumption statements (hourly 24/7 matching, parks, emissions):
//!   pure functions of ledger records.
#![forbid(unsafe_code)]

pub mod audit;
pub mod cli;
#[cfg(feature = "demo")]
pub mod demo;
pub mod ledger;
pub mod proof;
pub mod rpc;
pub mod statements;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
