//! greenledger: a signed, append-only, provable ledger for green electricity and its
//! certificates.
//!
//! # Layout
//!
//! Every arrow points down; nothing below imports anything above it.
//!
//! - [`codec`](greenledger_core::codec): canonical bytes of what is hashed, signed and stored (prefix, version, pinned
//!   bincode configuration, golden tests).
//! - [`crypto`](greenledger_core::crypto): account keys, command signatures, batch verification.
//! - [`domain`](greenledger_core::rules): types, commands, state records and the rules, `decide(state, command, now)`.
//!   Pure: no storage, network or clock.
//! - [`log`](greenledger_core::log): RFC 6962 Merkle tree math and proofs; checkpoints as C2SP signed notes.
//! - [`store`]: the storage trait, the sled backend and its in-memory twin.
//! - [`ledger`]: the sequencer: batch, verify, decide, append, commit durably, checkpoint.
//! - [`accounting`](greenledger_core::accounting): green consumption statements (hourly 24/7 matching, parks, emissions):
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
