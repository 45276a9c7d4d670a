//! The `greenledger` command line: argument parsing and thin calls into the library.
//!
//! - [`admin`]: `init`, `serve`, `keygen`.
//! - [`submit`]: the commands each role signs and submits.
//! - [`query`]: reading accounts, devices, claims, bundles and checkpoints.
//! - [`import`]: bulk meter data from CSV.
//! - [`client`]: connecting, key files, signing, output.
//! - [`report`]: green consumption and park statements (from a ledger directory or a server), signed,
//!   and `verify-statement`.

pub mod admin;
pub mod client;
pub mod import;
pub mod proof;
pub mod query;
pub mod report;
pub mod submit;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "greenledger",
    version,
    about = "A signed, provable ledger for green electricity and its certificates"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Top,
}

/// Options shared by every command that talks to a server.
#[derive(clap::Args, Debug, Clone)]
pub struct Conn {
    /// Server address.
    #[arg(long, default_value = "http://127.0.0.1:50051", env = "GREENLEDGER_SERVER")]
    pub server: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of every command that signs.
#[derive(clap::Args, Debug, Clone)]
pub struct Signer {
    #[command(flatten)]
    pub conn: Conn,
    /// Secret key file of the submitting account.
    #[arg(long, env = "GREENLEDGER_KEY")]
    pub key: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum Top {
    /// Create a new ledger in a directory: genesis, log signing key and operator key.
    Init(admin::InitArgs),
    /// Serve a ledger over gRPC.
    Serve(admin::ServeArgs),
    /// Create an account key file and print its account id.
    Keygen(admin::KeygenArgs),
    /// Run the zero-carbon-park demo against a real in-process server.
    #[cfg(feature = "demo")]
    Demo(admin::DemoArgs),
    /// Operator: register an account with roles.
    RegisterAccount(submit::RegisterAccountArgs),
    /// Operator: register a generation device.
    RegisterDevice(submit::RegisterDeviceArgs),
    /// Meter operator: post a device's generation reading.
    PostGeneration(submit::GenerationArgs),
    /// Meter operator: post an account's consumption reading.
    PostConsumption(submit::ConsumptionArgs),
    /// Meter operator: post a direct-supply delivery.
    PostDirectSupply(submit::DirectSupplyArgs),
    /// Trading platform: settle a green-power trade.
    SettleTrade(submit::TradeArgs),
    /// Generator: issue the certificates of a reading.
    Issue(submit::IssueArgs),
    /// Owner: transfer certificates.
    Transfer(submit::TransferArgs),
    /// Owner: retire certificates for a claim.
    Retire(submit::RetireArgs),
    /// Regulator: withdraw certificates.
    Withdraw(submit::WithdrawArgs),
    /// Regulator: declare a device's output used in another scheme.
    Exclude(submit::ExcludeArgs),
    /// Query the ledger.
    #[command(subcommand)]
    Show(query::Show),
    /// Bulk import of meter data.
    #[command(subcommand)]
    Import(import::Import),
    /// Green consumption and zero-carbon park statements, signed by the ledger (--data DIR or --server ADDR).
    #[command(subcommand)]
    Report(report::Report),
    /// Write the proof bundle of a claim, verifiable offline.
    Proof(proof::ProofArgs),
    /// Verify a claim proof bundle offline with the ledger's log key.
    Verify(proof::VerifyArgs),
    /// Verify a signed green consumption or park statement offline with the ledger's log key.
    VerifyStatement(report::VerifyStatementArgs),
    /// Regulator audit: replay every entry, recompute the root, check consistency with earlier audits.
    Audit(proof::AuditArgs),
    /// Witness: check the checkpoint is consistent with all it cosigned before, then cosign it.
    Witness(proof::WitnessArgs),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Top::Init(a) => admin::init(a),
        Top::Serve(a) => admin::serve(a),
        Top::Keygen(a) => admin::keygen(a),
        #[cfg(feature = "demo")]
        Top::Demo(a) => admin::demo(a),
        Top::Show(q) => client::block_on(query::run(q)),
        Top::Report(r) => report::run(r),
        Top::Import(i) => client::block_on(import::run(i)),
        Top::Proof(a) => proof::proof(a),
        Top::Verify(a) => proof::verify(a),
        Top::VerifyStatement(a) => report::verify_statement(a),
        Top::Audit(a) => proof::audit(a),
        Top::Witness(a) => proof::witness(a),
        other => client::block_on(submit::run(other)),
    }
}
