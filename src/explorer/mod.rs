//! The public explorer on the HTTP port: a few pages and JSON APIs over the ledger's read side,
//! and a verifier that runs in the visitor's browser.
//!
//! The pages verify with `static/verify.wasm`, built from `tools/wasm-verify` around
//! [`greenledger_core::proof::verify_json`] and
//! [`greenledger_core::accounting::signed::open_statement`]: the same code as `greenledger
//! verify`, not a second implementation in JavaScript. Everything is embedded in the binary;
//! nothing is loaded from elsewhere at run time.
//!
//! Routes: `/` and `/explorer` (latest checkpoint, search), `/claim/{id}` (lineage, verified in
//! the browser), `/verify` (drop or paste a bundle or a statement note; `#bundle=<base64url>` or
//! `#note=<base64url>` verifies on load), `/static/*`, and JSON under `/api/`: `checkpoint`,
//! `claim/{id}`, `claim/{id}/proof`, `bundle/{id}`, `device/{id}`, `account/{hex}`.

use crate::ledger::queries::QueryError;
use crate::ledger::Ledger;
use crate::store::Store;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use greenledger_core::log::{split, Checkpoint};
use greenledger_core::types::Serial;
use greenledger_core::{AccountId, BundleId, ClaimId, DeviceId};
use serde_json::{json, Value};
use std::sync::Arc;

const INDEX: &str = include_str!("static/index.html");
const CLAIM: &str = include_str!("static/claim.html");
const VERIFY: &str = include_str!("static/verify.html");
const APP_JS: &str = include_str!("static/app.js");
const STYLE: &str = include_str!("static/style.css");
const WASM: &[u8] = include_bytes!("static/verify.wasm");

/// The explorer's routes, to merge into the HTTP port's router.
pub fn router<S: Store>(ledger: Arc<Ledger<S>>) -> Router {
    let html =
        |page: &'static str| get(move || async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page) });
    let l = ledger.clone();
    let checkpoint = get(move || query(l.clone(), |l| checkpoint(l)));
    let l = ledger.clone();
    let claim = get(move |Path(id): Path<String>| {
        query(l.clone(), move |l| Ok(serde_json::to_value(l.claim(ClaimId(counter(&id, 'C')?))?).unwrap_or_default()))
    });
    let l = ledger.clone();
    let proof = get(move |Path(id): Path<String>| {
        query(l.clone(), move |l| {
            let p = crate::proof::build(l, ClaimId(counter(&id, 'C')?))?;
            Ok(serde_json::to_value(&p).unwrap_or_default())
        })
    });
    let l = ledger.clone();
    let bundle = get(move |Path(id): Path<String>| {
        query(l.clone(), move |l| Ok(serde_json::to_value(l.bundle(BundleId(counter(&id, 'B')?))?).unwrap_or_default()))
    });
    let l = ledger.clone();
    let serial = get(move |Path(n): Path<String>| {
        query(l.clone(), move |l| {
            let n: u64 = n
                .trim_start_matches('#')
                .parse()
                .map_err(|_| QueryError::Invalid(format!("{n:?} is not a serial number")))?;
            Ok(serde_json::to_value(l.bundle_of_serial(Serial(n))?).unwrap_or_default())
        })
    });
    let l = ledger.clone();
    let device = get(move |Path(id): Path<String>| {
        query(l.clone(), move |l| Ok(serde_json::to_value(l.device(&DeviceId(id))?).unwrap_or_default()))
    });
    let l = ledger;
    let account = get(move |Path(hex): Path<String>| {
        query(l.clone(), move |l| {
            let id = AccountId::from_hex(&hex)
                .ok_or_else(|| QueryError::Invalid(format!("{hex:?} is not 64 hex digits")))?;
            let (account, holdings, claims) = (l.account(&id)?, l.holdings(&id)?, l.claims_of(&id)?);
            Ok(json!({"account": account, "holdings": holdings, "claims": claims}))
        })
    });
    Router::new()
        .route("/", html(INDEX))
        .route("/explorer", html(INDEX))
        .route("/claim/{id}", html(CLAIM))
        .route("/verify", html(VERIFY))
        .route("/static/app.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], APP_JS) }))
        .route("/static/style.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }))
        .route("/static/verify.wasm", get(|| async { ([(header::CONTENT_TYPE, "application/wasm")], WASM) }))
        .route("/api/checkpoint", checkpoint)
        .route("/api/claim/{id}", claim)
        .route("/api/claim/{id}/proof", proof)
        .route("/api/bundle/{id}", bundle)
        .route("/api/serial/{n}", serial)
        .route("/api/device/{id}", device)
        .route("/api/account/{hex}", account)
}

/// `C12` or `12` as 12.
fn counter(s: &str, prefix: char) -> Result<u64, QueryError> {
    s.strip_prefix(prefix)
        .or_else(|| s.strip_prefix(prefix.to_ascii_lowercase()))
        .unwrap_or(s)
        .parse()
        .map_err(|_| QueryError::Invalid(format!("{s:?} is not an id like {prefix}12")))
}

/// The latest signed checkpoint: its note, parsed fields, the log key and every signature line.
fn checkpoint<S: Store>(ledger: &Ledger<S>) -> Result<Value, QueryError> {
    let note = ledger.checkpoint_note()?;
    let (text, sigs) = split(&note).map_err(|e| QueryError::Invalid(e.to_string()))?;
    let cp = Checkpoint::parse(&text).map_err(|e| QueryError::Invalid(e.to_string()))?;
    let verifier = ledger.verifier();
    let lines: Vec<Value> = sigs
        .iter()
        .map(|s| json!({"name": s.name, "log": s.name == verifier.name(), "line": s.to_line().trim_end()}))
        .collect();
    Ok(json!({
        "note": note,
        "origin": cp.origin,
        "size": cp.size,
        "root": base64::engine::general_purpose::STANDARD.encode(cp.root),
        "log_key": verifier.to_string(),
        "signatures": lines,
    }))
}

/// Runs a read off the async runtime (it may touch the disk) and answers JSON or an error.
async fn query<S: Store>(
    ledger: Arc<Ledger<S>>,
    f: impl FnOnce(&Ledger<S>) -> Result<Value, QueryError> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(move || f(&ledger)).await {
        Ok(Ok(v)) => json_response(StatusCode::OK, &v),
        Ok(Err(e)) => {
            let status = match e {
                QueryError::NotFound { .. } => StatusCode::NOT_FOUND,
                QueryError::Invalid(_) => StatusCode::BAD_REQUEST,
                QueryError::Ledger(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            json_response(status, &json!({"error": e.to_string()}))
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}
