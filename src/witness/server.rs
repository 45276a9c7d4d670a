//! The witness's HTTP routes (axum): `POST /add-checkpoint` and the monitors' `GET /<origin
//! hash>/checkpoint`.

use super::store::{origin_hash, Held, StateDir};
use super::WitnessConfig;
use crate::ledger::Clock;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use greenledger_core::log::witness::{self, AddCheckpoint, Refusal};
use greenledger_core::log::{Cosigner, NoteVerifier};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Largest request body read, in bytes (a hundred ML-DSA signature lines fit).
pub const MAX_BODY: usize = 1 << 20;
/// `Content-Type` of cosignature lines, errors and checkpoints.
const TEXT: &str = "text/plain; charset=utf-8";

/// One log the witness trusts.
struct Log {
    keys: Vec<NoteVerifier>,
    /// The latest checkpoint cosigned. The lock is held from the check to the durable write,
    /// which makes each request one compare-and-swap.
    held: tokio::sync::Mutex<Option<Held>>,
}

pub(super) struct Witness {
    cosigner: Cosigner,
    logs: BTreeMap<String, Log>,
    /// Origin hash (hex) to origin, for the monitoring route.
    by_hash: HashMap<String, String>,
    state: StateDir,
    clock: Arc<dyn Clock>,
}

impl Witness {
    /// Opens the data directory and reads the checkpoint held for each configured log.
    pub(super) fn open(config: WitnessConfig) -> anyhow::Result<Self> {
        let state = StateDir::open(&config.data)?;
        let mut logs: BTreeMap<String, Log> = BTreeMap::new();
        for (origin, key) in config.logs {
            if let Some(log) = logs.get_mut(&origin) {
                if !log.keys.contains(&key) {
                    log.keys.push(key);
                }
                continue;
            }
            let held = state.load(&origin)?;
            logs.insert(origin, Log { keys: vec![key], held: tokio::sync::Mutex::new(held) });
        }
        let by_hash = logs.keys().map(|o| (origin_hash(o), o.clone())).collect();
        Ok(Witness { cosigner: config.cosigner, logs, by_hash, state, clock: config.clock })
    }

    /// The size held for each configured log (zero when none).
    pub(super) async fn held_sizes(&self) -> Vec<(String, u64)> {
        let mut out = Vec::with_capacity(self.logs.len());
        for (origin, log) in &self.logs {
            out.push((origin.clone(), log.held.lock().await.as_ref().map_or(0, |h| h.head.size)));
        }
        out
    }
}

pub(super) fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route(witness::ADD_CHECKPOINT_PATH, post(add_checkpoint))
        .route("/{hash}/checkpoint", get(checkpoint))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(witness)
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, TEXT)], body).into_response()
}

fn refused(r: &Refusal) -> Response {
    let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
    match r {
        Refusal::Conflict { held, .. } => {
            (status, [(header::CONTENT_TYPE, witness::SIZE_CONTENT_TYPE)], witness::size_body(*held)).into_response()
        }
        _ => text(status, format!("{r}\n")),
    }
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    let req = match AddCheckpoint::parse(&body) {
        Ok(r) => r,
        Err(r) => {
            tracing::info!(status = r.status(), "add-checkpoint refused: {r}");
            return refused(&r);
        }
    };
    // The check, the durable write and the update of the held checkpoint run to the end even
    // if the client goes away mid-request, so the held checkpoint never lags behind the file.
    tokio::spawn(cosign(w, req)).await.unwrap_or_else(|e| text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")))
}

/// Decides a parsed request and, if it is accepted, cosigns, persists and answers.
async fn cosign(w: Arc<Witness>, req: AddCheckpoint) -> Response {
    let origin = req.origin().to_string();
    let Some(log) = w.logs.get(&origin) else {
        let r = Refusal::UnknownOrigin { origin };
        tracing::info!(status = r.status(), "add-checkpoint refused: {r}");
        return refused(&r);
    };
    let mut held = log.held.lock().await;
    let accepted = match witness::decide(&log.keys, held.as_ref().map(|h| &h.head), &req) {
        Ok(a) => a,
        Err(r) => {
            if matches!(r, Refusal::Inconsistent { .. }) {
                // A validly signed checkpoint that does not extend what was cosigned: possible
                // evidence of a split view, kept in the log.
                tracing::warn!(status = r.status(), note = %req.note, "add-checkpoint refused: {r}");
            } else {
                tracing::info!(status = r.status(), "add-checkpoint refused: {r}");
            }
            return refused(&r);
        }
    };
    let cosigned =
        accepted.cosign(&w.cosigner, w.clock.now().0).and_then(|line| Ok((accepted.cosigned_note(&line)?, line)));
    let (note, line) = match cosigned {
        Ok(c) => c,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot cosign: {e}\n")),
    };
    let (state, o, n) = (w.state.clone(), origin.clone(), note.clone());
    match tokio::task::spawn_blocking(move || state.save(&o, &n)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!("add-checkpoint for {origin:?}: {e:#}");
            return text(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot persist the checkpoint: {e:#}\n"));
        }
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot persist the checkpoint: {e}\n")),
    }
    tracing::info!(origin = %origin, old = req.old_size, size = accepted.head.size, "cosigned");
    *held = Some(Held { head: accepted.head, note });
    text(StatusCode::OK, line)
}

async fn checkpoint(State(w): State<Arc<Witness>>, Path(hash): Path<String>) -> Response {
    let Some(log) = w.by_hash.get(&hash).and_then(|o| w.logs.get(o)) else {
        return text(StatusCode::NOT_FOUND, format!("no log with origin hash {hash:?} is witnessed here\n"));
    };
    match log.held.lock().await.as_ref() {
        Some(h) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, TEXT), (header::CACHE_CONTROL, "no-cache")], h.note.clone())
                .into_response()
        }
        None => text(StatusCode::NOT_FOUND, "this witness has not cosigned a checkpoint of that log yet\n".into()),
    }
}
