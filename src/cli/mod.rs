//! The `greenledger` command line: argument parsing and thin calls into the library.
//!
//! - [`admin`]: `init`, `serve`, `keygen`.
//! - [`submit`]: the commands each role signs and submits.
//! - [`query`]: reading accounts, devices, claims, bundles and checkpoints.
//! - [`import`]: bulk meter data from CSV.
//! - [`mirror`]: `mirror`, following a ledger's tiles and serving them again.
//! - [`client`]: connecting, key files, signing, output.
//! - [`witness`]: `witness serve` (a C2SP tlog-witness over HTTP), `witness keygen`, and
//!   `witness cosign` (a ledger's checkpoint, once).
//! - [`report`]: green consumption and park statements (from a ledger directory or a server), signed,
//!   and `verify-statement`.

pub mod admin;
pub mod client;
pub mod import;
pub mod mirror;
pub mod proof;
pub mod query;
pub mod report;
pub mod statement_text;
pub mod submit;
pub mod time;
pub mod verify_statement;
pub mod witness;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "greenledger",
    version,
    about = "A signed, provable ledger for green electricity and its certificates"
)]
pub struct Cli {
    /// Zone for times written without one, e.g. +08:00 or Asia/Shanghai. Without it such times
    /// are refused; times with an offset or Z, and Unix seconds, never need it.
    #[arg(long, global = true, env = "GREENLEDGER_TZ", value_name = "ZONE")]
    pub tz: Option<String>,
    #[command(subcommand)]
    pub command: Top,
}

/// A proof, statement or audit that does not check out (`--json`: code `CheckFailed`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckFailed(pub String);

/// A failure already explained to the user: exit with `code`. `reported` is true when the
/// explanation went to stdout as JSON, so nothing more is printed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    pub code: u8,
    pub message: String,
    pub reported: bool,
}

/// The server of every client command unless `--server` or `GREENLEDGER_SERVER` says otherwise.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

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
    /// How long the signed command stays valid: the ledger accepts it only until this long after
    /// its time now, and refuses it afterwards (sign it again). Seconds or a span such as 30m, 1h
    /// or 1d; at most 24 hours.
    #[arg(long, default_value = "1h", value_parser = time::validity, value_name = "SPAN")]
    pub valid_for: u64,
}

#[derive(Subcommand, Debug)]
pub enum Top {
    /// Create a new ledger in a directory: genesis, log signing key and operator key.
    Init(admin::Init),
    /// Serve a ledger over gRPC.
    Serve(admin::ServeArgs),
    /// Create an account key file and print its account id.
    Keygen(admin::KeygenArgs),
    /// Run the zero-carbon-park demo against a real in-process server.
    #[cfg(feature = "demo")]
    Demo(admin::DemoArgs),
    /// The commands each role signs and submits (flattened: `greenledger transfer …`).
    #[command(flatten)]
    Submit(submit::Submit),
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
    VerifyStatement(verify_statement::VerifyStatementArgs),
    /// Regulator audit: replay every entry, recompute the root, check consistency with earlier audits.
    Audit(proof::AuditArgs),
    /// Witness logs: serve a C2SP tlog-witness, make its key, or cosign a ledger's checkpoint once.
    #[command(subcommand)]
    Witness(witness::Witness),
    /// Mirror a ledger's log: follow its tiles, verify each checkpoint, store and serve them.
    Mirror(mirror::MirrorArgs),
}

/// Runs the parsed command line.
///
/// `demo` runs `greenledger demo`: the binary passes [`crate::demo::main`], so that nothing in
/// the library's command line depends on the demo.
pub fn run(cli: Cli, #[allow(unused_variables)] demo: fn(admin::DemoArgs) -> anyhow::Result<()>) -> anyhow::Result<()> {
    time::set_zone(cli.tz.as_deref().map(time::Zone::parse).transpose()?);
    match cli.command {
        Top::Init(a) => admin::init(a),
        Top::Serve(a) => admin::serve(a),
        Top::Keygen(a) => admin::keygen(a),
        #[cfg(feature = "demo")]
        Top::Demo(a) => demo(a),
        Top::Show(q) => client::block_on(query::run(q)),
        Top::Report(mut r) => {
            match &mut r {
                report::Report::Consumption(a) => a.source.resolve(),
                report::Report::Cancellation(a) => a.source.resolve(),
                report::Report::Park(a) => a.source.resolve(),
                report::Report::Product(a) => a.source.resolve(),
            }
            report::run(r)
        }
        Top::Import(i) => client::block_on(import::run(i)),
        Top::Proof(mut a) => {
            a.source.resolve();
            proof::proof(a)
        }
        Top::Verify(a) => proof::verify(a),
        Top::VerifyStatement(a) => verify_statement::verify_statement(a),
        Top::Audit(mut a) => {
            a.source.resolve();
            proof::audit(a)
        }
        Top::Mirror(a) => mirror::mirror(a),
        Top::Witness(w) => witness::run(w),
        Top::Submit(c) => client::block_on(submit::run(c)),
    }
}
