//! The test kit: deterministic participants, ready-made ledgers and common set-ups, shared by
//! the integration tests, the fuzz targets, the benchmarks, the load tool (`greenledger-load`)
//! and the demo.
//!
//! # Turning it on
//!
//! This module is compiled with the `testkit` feature. The features are
//! `default = ["demo"]`, `demo = ["testkit"]`, `testkit = []`: a default build has the demo and
//! the kit; a library user who wants neither depends with `default-features = false`.
//!
//! Whatever features a build picks, the integration tests and benchmarks of this package get
//! the kit through a dev-dependency of the package on itself
//! (`greenledger = { path = ".", features = ["testkit"] }` under `[dev-dependencies]`), which
//! cargo unifies with the package's own features, so `cargo test --no-default-features` still
//! builds them. The fuzz package and `greenledger-load` name the feature in their dependency
//! on `greenledger`.
//!
//! # What is here
//!
//! - [`cast`]: the participants (operator, meter, trading platform, regulator, generator, two
//!   consumers and an unregistered stranger) with keys from fixed seeds, and the commands that
//!   register them.
//! - [`fixtures`]: the clock, hours, units and commands the set-ups are made of (a device
//!   registered, a reading posted, certificates issued, moved or retired).
//! - [`world`]: an in-process ledger over the in-memory store or sled with the cast and a wind
//!   device registered, a manual clock, and helpers that submit, insist on acceptance or
//!   refusal, and snapshot the store.
//! - [`net`]: the same ledger behind the real gRPC server on `127.0.0.1:0` with a client, the
//!   cast registered through `Submit`; and an outsider's audit of the served log.
//! - [`files`]: copying a fixture directory and digesting it, to show a test never wrote it.
//! - [`client`]: plain client helpers (connect, stream a batch that must all be accepted).
//! - [`sample`]: pre-signed sample commands for benchmarks and limit probes.
//! - [`postgres`]: a throw-away PostgreSQL cluster, a streaming (optionally synchronous)
//!   standby, a crash and a promotion, for the log replicated through PostgreSQL.
//!
//! The helpers panic when a set-up step fails (they are for tests), except those in
//! [`client`], which return errors for the tools, and in [`postgres`], which return errors a
//! test can act on (skip when PostgreSQL is not installed, or check a refusal).

pub mod cast;
pub mod client;
pub mod files;
pub mod fixtures;
pub mod net;
pub mod postgres;
pub mod sample;
pub mod world;

pub use cast::{key, log_signer, log_signer_for, Cast, LEDGER};
pub use fixtures::*;
pub use net::Net;
pub use world::World;
