#![forbid(unsafe_code)]

use clap::Parser;
use greenledger::cli::admin::DemoArgs;
use greenledger::cli::client::{reason_of, rule_of, ServerError, Unreachable};
use greenledger::cli::time::BadInput;
use greenledger::cli::{CheckFailed, Exit};
use std::process::ExitCode;

/// `greenledger demo`, plugged into the library's command line (which does not depend on it).
#[cfg(feature = "demo")]
const DEMO: fn(DemoArgs) -> anyhow::Result<()> = greenledger::demo::main;
#[cfg(not(feature = "demo"))]
const DEMO: fn(DemoArgs) -> anyhow::Result<()> = |_| anyhow::bail!("this build has no demo");

fn main() -> ExitCode {
    quiet_broken_pipe();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = greenledger::cli::Cli::parse();
    // `--json` (or `--format json`) asks for JSON output; errors follow it too.
    let args: Vec<_> = std::env::args_os().collect();
    let json = args.iter().any(|a| a == "--json") || args.windows(2).any(|w| w[0] == "--format" && w[1] == "json");
    match greenledger::cli::run(cli, DEMO) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<Exit>() {
                if !exit.reported {
                    eprintln!("error: {}", exit.message);
                }
                return ExitCode::from(exit.code);
            }
            if json {
                println!("{}", error_json(&e));
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// `{"error": {"code": …, "rule": …, "message": …}}`: `code` is the gRPC status code name when
/// the server answered (`FailedPrecondition`, `NotFound`, `Unavailable`, …), `InvalidArgument`
/// for input refused before anything was sent, `CheckFailed` for a proof, statement or audit that
/// does not check out, `Error` otherwise; `rule` is the number of the ledger rule that refused
/// and `reason` the refusal's stable name (`not-owner`, `expired`, …), both as the server sends
/// them with a refusal, or null.
fn error_json(e: &anyhow::Error) -> serde_json::Value {
    let mut rule = None;
    let mut reason = None;
    let (code, message) = if let Some(s) = e.chain().find_map(|c| c.downcast_ref::<ServerError>()) {
        (rule, reason) = (rule_of(&s.0), reason_of(&s.0));
        (format!("{:?}", s.0.code()), s.0.message().to_string())
    } else if e.chain().any(|c| c.downcast_ref::<Unreachable>().is_some()) {
        ("Unavailable".to_string(), format!("{e:#}"))
    } else if let Some(c) = e.chain().find_map(|c| c.downcast_ref::<CheckFailed>()) {
        ("CheckFailed".to_string(), c.0.clone())
    } else if e.chain().any(|c| c.downcast_ref::<BadInput>().is_some()) {
        ("InvalidArgument".to_string(), format!("{e:#}"))
    } else {
        ("Error".to_string(), format!("{e:#}"))
    };
    serde_json::json!({ "error": { "code": code, "rule": rule, "reason": reason, "message": message } })
}

/// Output piped into a program that stops reading (`| head`) ends this one quietly, with status
/// 0, instead of a panic.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if text.contains("Broken pipe") || text.contains("os error 32") {
            std::process::exit(0);
        }
        default(info);
    }));
}
