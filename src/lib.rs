//! greenledger: a signed, append-only, provable ledger for green electricity and its
//! certificates.
//!
//! This crate is the ledger around the pure core, [`greenledger_core`] (types, commands, rules,
//! encoding, Merkle math, checkpoints, offline verification). It adds storage, the sequencer,
//! the gRPC service and the command line. `docs/ARCHITECTURE.md` follows one command through
//! every layer.
//!
//! # Layout
//!
//! From the bottom up; a module uses only the core and modules above it in this list.
//!
//! - [`store`]: the storage trait (get, scan, one atomic durable commit), the sled backend, its
//!   in-memory twin, the key layout, and the view that lets the core's rules read a store plus
//!   the writes of the batch in flight.
//! - [`ledger`]: the sequencer: verify a batch's signatures, decide each command, append to the
//!   Merkle tree, sign a checkpoint, commit durably, and only then answer; and the read side
//!   (queries, entries, proofs).
//! - [`metrics`]: the ledger's Prometheus metrics (outcomes, batches, commit latency, queue,
//!   store) and the `GET /metrics` endpoint.
//! - [`explorer`]: the public explorer on the same HTTP port: pages, JSON APIs, and the browser
//!   verifier (the core's verification compiled to WebAssembly, `tools/wasm-verify`).
//! - [`tiles_http`]: the log on the same HTTP port as C2SP tlog-tiles: `/checkpoint`, hash tiles
//!   and entry bundles, for any tlog-tiles client.
//! - [`publish`]: published checkpoints: one every interval or burst, pushed to C2SP
//!   tlog-witness witnesses, served with the cosignatures they return.
//! - [`mirror`]: a mirror of a ledger's log over its tlog-tiles: follows and verifies each
//!   checkpoint with the tiles, stores them as files, serves them at the same routes, reports forks.
//! - [`proof`]: building claim proof bundles from a ledger (their format and verification are
//!   [`greenledger_core::proof`]).
//! - [`statements`]: consumption and park statements computed from a ledger at a settled head
//!   and signed with its log key.
//! - [`audit`]: replaying a whole log with the same rules and comparing the result with the
//!   signed checkpoint; keeping seen checkpoints to detect forks.
//! - [`rpc`]: the `greenledger.v1.Ledger` gRPC service: conversions between proto and core types
//!   (one module), the one function that makes a gRPC status, the server.
//! - [`witness`]: a C2SP tlog-witness over HTTP for any C2SP log: `POST /add-checkpoint`
//!   decided by the core, each log's latest cosigned checkpoint kept durably, one file per log.
//! - [`cli`]: the `greenledger` command line: one module per family of commands.
//! - [`demo`]: the zero-carbon-park demo, driven through a real server. Nothing in the library
//!   depends on it.
#![forbid(unsafe_code)]

pub mod audit;
pub mod cli;
#[cfg(feature = "demo")]
pub mod demo;
pub mod explorer;
pub mod ledger;
pub mod metrics;
pub mod mirror;
pub mod proof;
pub mod publish;
pub mod replication;
pub mod rpc;
pub mod statements;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod tiles_http;
pub mod witness;
