//! The `greenledger.v1.Ledger` service: thin glue from gRPC to the ledger.

use super::status::{self, ServiceError};
use super::{convert, pb};
use crate::ledger::queries::QueryError;
use crate::ledger::{Clock, Ledger, Outcome, Receipt, Refused, Sequencer};
use crate::statements::ReportError;
use crate::store::Store;
use greenledger_core::accounting::factors;
use greenledger_core::codec;
use greenledger_core::command::SignedCommand;
use greenledger_core::state::Standing;
use greenledger_core::types::*;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

/// Commands from one SubmitBatch stream grouped into one sequencer job.
const STREAM_CHUNK: usize = 1024;
/// Jobs of one SubmitBatch stream in flight before the stream stops reading.
const STREAM_IN_FLIGHT: usize = 16;
/// Most commands in one all-or-nothing `SubmitAll`.
const MAX_ATOMIC: usize = 100_000;
/// Refusals listed in an all-or-nothing response; the rest are only counted.
const MAX_LISTED_REFUSALS: usize = 1000;
/// Entries per page when streaming `GetEntries`.
const ENTRY_PAGE: u64 = 1000;

pub struct LedgerService<S: Store> {
    ledger: Arc<Ledger<S>>,
    sequencer: Sequencer,
    clock: Arc<dyn Clock>,
    published: Option<crate::publish::Published>,
}

impl<S: Store> LedgerService<S> {
    pub fn new(ledger: Arc<Ledger<S>>, sequencer: Sequencer, clock: Arc<dyn Clock>) -> Self {
        LedgerService { ledger, sequencer, clock, published: None }
    }

    /// Serves the published checkpoints in `GetCheckpoint` and takes cosignatures of them in
    /// `AddCosignature` ([`crate::publish`]).
    pub fn with_published(mut self, published: Option<crate::publish::Published>) -> Self {
        self.published = published;
        self
    }

    /// The latest published checkpoint with its cosignatures, if this server publishes.
    async fn published_note(&self) -> Result<Option<(u64, String)>, Status> {
        let Some(p) = self.published.clone() else { return Ok(None) };
        tokio::task::spawn_blocking(move || p.latest())
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| Status::from(ServiceError::Internal(e.to_string())))
    }
}

pub fn receipt_to_pb(r: &Receipt) -> pb::Receipt {
    pb::Receipt {
        index: r.index.0,
        leaf_hash: r.leaf_hash.to_vec(),
        summary: r.summary.clone(),
        duplicate: r.duplicate,
        tree_size: r.tree_size,
        effects: r.changes.iter().map(convert::change_to_pb).collect(),
    }
}

fn outcome_to_result(position: u64, o: Result<Receipt, ServiceError>) -> pb::SubmitResult {
    let result = match o {
        Ok(r) => pb::submit_result::Result::Receipt(receipt_to_pb(&r)),
        Err(e) => pb::submit_result::Result::Refusal(status::refusal_to_pb(e)),
    };
    pb::SubmitResult { position, result: Some(result) }
}

/// Reads an all-or-nothing request stream: at most [`MAX_ATOMIC`] well-formed commands.
async fn read_all(mut input: Streaming<pb::SignedCommand>) -> Result<Vec<SignedCommand>, Status> {
    let mut commands = Vec::new();
    while let Some(msg) = input.message().await? {
        if commands.len() >= MAX_ATOMIC {
            return Err(status::invalid(format!("an all-or-nothing batch holds at most {MAX_ATOMIC} commands")));
        }
        let cmd = convert::signed(&msg).map_err(|e| status::invalid(format!("command {}: {e}", commands.len())))?;
        commands.push(cmd);
    }
    Ok(commands)
}

/// Counts of an all-or-nothing batch plus its first [`MAX_LISTED_REFUSALS`] refusals (the
/// "not applied" answers of the other commands are implied, not listed).
fn summarise(outcomes: Vec<Outcome>, may_apply: bool) -> pb::SubmitAllResponse {
    let mut out = pb::SubmitAllResponse::default();
    let refused_any = outcomes.iter().any(|o| matches!(o, Err(r) if *r != Refused::NotApplied));
    for (i, o) in outcomes.into_iter().enumerate() {
        match o {
            Ok(r) if r.duplicate => out.duplicates += 1,
            Ok(_) => out.accepted += 1,
            Err(Refused::NotApplied) => out.accepted += 1,
            Err(r) => {
                out.refused += 1;
                if out.results.len() < MAX_LISTED_REFUSALS {
                    out.results.push(outcome_to_result(i as u64, Err(r.into())));
                }
            }
        }
    }
    out.applied = may_apply && !refused_any;
    out
}

type Stream_<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl<S: Store> pb::ledger_server::Ledger for LedgerService<S> {
    async fn submit(&self, request: Request<pb::SignedCommand>) -> Result<Response<pb::Receipt>, Status> {
        let cmd = convert::signed(request.get_ref()).map_err(Status::from)?;
        let mut out = self.sequencer.submit(vec![cmd]).await.map_err(Status::from)?;
        match out.pop() {
            Some(Ok(r)) => Ok(Response::new(receipt_to_pb(&r))),
            Some(Err(r)) => Err(r.into()),
            None => Err(ServiceError::Internal("no outcome for the command".into()).into()),
        }
    }

    type SubmitBatchStream = Stream_<pb::SubmitResult>;

    async fn submit_batch(
        &self,
        request: Request<Streaming<pb::SignedCommand>>,
    ) -> Result<Response<Self::SubmitBatchStream>, Status> {
        let input = request.into_inner();
        let sequencer = self.sequencer.clone();
        let (out_tx, out_rx) = mpsc::channel::<Result<pb::SubmitResult, Status>>(STREAM_CHUNK * 2);
        // Jobs in submission order; the writer below answers them in the same order.
        type Job = (
            Vec<(u64, Option<Result<Receipt, ServiceError>>)>,
            Option<tokio::sync::oneshot::Receiver<Result<Vec<Outcome>, crate::ledger::LedgerError>>>,
        );
        let (job_tx, mut job_rx) = mpsc::channel::<Job>(STREAM_IN_FLIGHT);
        let reader_out = out_tx.clone();
        tokio::spawn(async move {
            let mut position = 0u64;
            let mut chunks = std::pin::pin!(input.chunks_timeout(STREAM_CHUNK, Duration::from_millis(1)));
            while let Some(chunk) = chunks.next().await {
                let mut slots = Vec::with_capacity(chunk.len());
                let mut valid = Vec::with_capacity(chunk.len());
                for item in chunk {
                    match item {
                        Ok(msg) => match convert::signed(&msg) {
                            Ok(cmd) => {
                                slots.push((position, None));
                                valid.push(cmd);
                            }
                            Err(e) => {
                                slots.push((position, Some(Err(ServiceError::BadField(e)))));
                            }
                        },
                        Err(s) => {
                            let _ = reader_out.send(Err(s)).await;
                            return;
                        }
                    }
                    position += 1;
                }
                let rx = if valid.is_empty() {
                    None
                } else {
                    match sequencer.enqueue(valid) {
                        Ok(rx) => Some(rx),
                        Err(e) => {
                            let _ = reader_out.send(Err(e.into())).await;
                            return;
                        }
                    }
                };
                if job_tx.send((slots, rx)).await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            while let Some((slots, rx)) = job_rx.recv().await {
                let mut outcomes = match rx {
                    None => Vec::new().into_iter(),
                    Some(rx) => match rx.await {
                        Ok(Ok(o)) => o.into_iter(),
                        Ok(Err(e)) => {
                            let _ = out_tx.send(Err(e.into())).await;
                            return;
                        }
                        Err(_) => {
                            let _ = out_tx.send(Err(ServiceError::Stopped.into())).await;
                            return;
                        }
                    },
                };
                for (position, early) in slots {
                    let o = match early {
                        Some(o) => o,
                        None => match outcomes.next() {
                            Some(o) => o.map_err(ServiceError::from),
                            None => return,
                        },
                    };
                    if out_tx.send(Ok(outcome_to_result(position, o))).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(out_rx))))
    }

    async fn submit_all(
        &self,
        request: Request<Streaming<pb::SignedCommand>>,
    ) -> Result<Response<pb::SubmitAllResponse>, Status> {
        let commands = read_all(request.into_inner()).await?;
        let rx = self.sequencer.enqueue_atomic(commands).map_err(Status::from)?;
        let outcomes = rx.await.map_err(|_| Status::from(ServiceError::Stopped))?.map_err(Status::from)?;
        Ok(Response::new(summarise(outcomes, true)))
    }

    async fn check_all(
        &self,
        request: Request<Streaming<pb::SignedCommand>>,
    ) -> Result<Response<pb::SubmitAllResponse>, Status> {
        let commands = read_all(request.into_inner()).await?;
        let ledger = self.ledger.clone();
        let outcomes = tokio::task::spawn_blocking(move || ledger.check_atomic(commands))
            .await
            .map_err(|_| Status::from(ServiceError::Internal("the dry run failed".into())))?
            .map_err(Status::from)?;
        Ok(Response::new(summarise(outcomes, false)))
    }

    async fn signing_bytes(
        &self,
        request: Request<pb::CommandBody>,
    ) -> Result<Response<pb::SigningBytesResponse>, Status> {
        let body = convert::body(request.get_ref()).map_err(Status::from)?;
        Ok(Response::new(pb::SigningBytesResponse { bytes: codec::signing_bytes(&self.ledger.name(), &body) }))
    }

    async fn get_checkpoint(
        &self,
        _: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::CheckpointResponse>, Status> {
        let published = self.published_note().await?;
        let committed = self.ledger.committed();
        let note = match &published {
            // The newest checkpoint is the published one: with its cosignatures.
            Some((size, note)) if *size == committed.head.size => note.clone(),
            _ => self.ledger.checkpoint_note().map_err(Status::from)?,
        };
        let (published_size, published_checkpoint) = published.unwrap_or_default();
        Ok(Response::new(pb::CheckpointResponse {
            checkpoint: note,
            log_key: self.ledger.verifier().to_string(),
            size: committed.head.size,
            root: committed.head.root.to_vec(),
            // As the sequencer takes it: never before the last entry.
            time: self.clock.now().0.max(committed.head.time),
            published_checkpoint,
            published_size,
        }))
    }

    async fn add_cosignature(
        &self,
        request: Request<pb::AddCosignatureRequest>,
    ) -> Result<Response<pb::CheckpointResponse>, Status> {
        let r = request.into_inner();
        let witness = greenledger_core::log::CosignatureVerifier::parse(r.witness_key.trim())
            .map_err(|e| status::invalid(format!("witness_key: {e}")))?;
        let line = greenledger_core::log::SignatureLine::parse(r.signature_line.trim_end())
            .map_err(|e| status::invalid(format!("signature_line: {e}")))?;
        if line.name != witness.name() || line.key_hash != witness.key_hash() {
            return Err(status::invalid("signature_line is not from witness_key"));
        }
        if let Some(p) = self.published.clone() {
            // A cosignature of any published checkpoint still kept.
            let added = tokio::task::spawn_blocking(move || p.add_cosignature(&witness, &line))
                .await
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            return match added {
                Ok(_) => self.get_checkpoint(Request::new(pb::GetCheckpointRequest {})).await,
                Err(e @ crate::publish::CosignError::NoCheckpoint { .. }) => {
                    Err(ServiceError::Precondition(e.to_string()).into())
                }
                Err(e @ crate::publish::CosignError::NotFromKey { .. }) => Err(status::invalid(e.to_string())),
                Err(e) => Err(ServiceError::Internal(e.to_string()).into()),
            };
        }
        let committed = self.ledger.committed();
        let (text, _) =
            greenledger_core::log::split(&committed.checkpoint).map_err(|e| ServiceError::Internal(e.to_string()))?;
        witness.verify(&text, &line.sig).map_err(|e| {
            ServiceError::Precondition(format!(
                "the cosignature does not verify over the current checkpoint (size {}): {e}",
                committed.head.size
            ))
        })?;
        let stored = format!("{}\n{}", witness, line.to_line().trim_end());
        self.ledger.store_cosignature(witness.name(), &stored).map_err(Status::from)?;
        self.get_checkpoint(Request::new(pb::GetCheckpointRequest {})).await
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::InclusionProofRequest>,
    ) -> Result<Response<pb::ProofResponse>, Status> {
        let r = request.get_ref();
        let size = if r.tree_size == 0 { self.ledger.size() } else { r.tree_size };
        let hashes = self.ledger.inclusion_proof(r.index, size).map_err(Status::from)?;
        Ok(Response::new(pb::ProofResponse { tree_size: size, hashes: hashes.iter().map(|h| h.to_vec()).collect() }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::ConsistencyProofRequest>,
    ) -> Result<Response<pb::ProofResponse>, Status> {
        let r = request.get_ref();
        let hashes = self.ledger.consistency_proof(r.first, r.second).map_err(Status::from)?;
        Ok(Response::new(pb::ProofResponse {
            tree_size: r.second,
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
        }))
    }

    type GetEntriesStream = Stream_<pb::LogEntry>;

    async fn get_entries(
        &self,
        request: Request<pb::GetEntriesRequest>,
    ) -> Result<Response<Self::GetEntriesStream>, Status> {
        let r = request.into_inner();
        if r.start > r.end {
            return Err(status::invalid(format!("start {} is after end {}", r.start, r.end)));
        }
        let end = r.end.min(self.ledger.size());
        let ledger = self.ledger.clone();
        let (tx, rx) = mpsc::channel(ENTRY_PAGE as usize);
        tokio::spawn(async move {
            let mut at = r.start;
            while at < end {
                let page_end = end.min(at + ENTRY_PAGE);
                let l = ledger.clone();
                let page = tokio::task::spawn_blocking(move || l.entries(at, page_end)).await;
                let rows = match page {
                    Ok(Ok(rows)) => rows,
                    Ok(Err(e)) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                    Err(_) => return,
                };
                for (index, leaf) in rows {
                    if tx.send(Ok(pb::LogEntry { index, leaf })).await.is_err() {
                        return;
                    }
                }
                at = page_end;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_account(&self, request: Request<pb::AccountRequest>) -> Result<Response<pb::AccountInfo>, Status> {
        let id = convert::account("account", &request.get_ref().account).map_err(Status::from)?;
        let (size, a) =
            self.ledger.read(|h| Ok::<_, QueryError>((h.size, self.ledger.account(&id)?))).map_err(Status::from)?;
        Ok(Response::new(pb::AccountInfo {
            account: a.id.0.to_vec(),
            name: a.name,
            roles: a.roles.list().into_iter().map(convert::role_to_pb).collect(),
            consumed_wh: a.consumed.0,
            claimed_wh: a.claimed.0,
            registered_entry: a.registered.0,
            tree_size: size,
        }))
    }

    async fn get_holdings(&self, request: Request<pb::AccountRequest>) -> Result<Response<pb::Holdings>, Status> {
        let id = convert::account("account", &request.get_ref().account).map_err(Status::from)?;
        let (size, bundles) = self
            .ledger
            .read(|h| {
                self.ledger.account(&id)?;
                Ok::<_, QueryError>((h.size, self.ledger.holdings(&id)?))
            })
            .map_err(Status::from)?;
        let now = self.clock.now();
        let count = |pick: fn(Standing) -> bool| {
            bundles.iter().filter(|b| pick(b.state_at(now))).map(|b| b.serials.len()).sum()
        };
        Ok(Response::new(pb::Holdings {
            active_certificates: count(|s| s == Standing::Active),
            retired_certificates: count(|s| matches!(s, Standing::Retired(_))),
            bundles: bundles.iter().map(|b| convert::bundle_to_pb(b, now)).collect(),
            tree_size: size,
        }))
    }

    async fn get_device(&self, request: Request<pb::DeviceRequest>) -> Result<Response<pb::DeviceInfo>, Status> {
        let r = request.get_ref();
        let id = DeviceId(r.device.clone());
        let to = if r.to == 0 { u64::MAX } else { r.to };
        let (size, d, readings) = self
            .ledger
            .read(|h| Ok::<_, QueryError>((h.size, self.ledger.device(&id)?, self.ledger.readings(&id, r.from, to)?)))
            .map_err(Status::from)?;
        Ok(Response::new(pb::DeviceInfo { tree_size: size, ..convert::device_to_pb(&d, &readings) }))
    }

    async fn get_claim(&self, request: Request<pb::ClaimRequest>) -> Result<Response<pb::ClaimInfo>, Status> {
        let id = ClaimId(request.get_ref().claim);
        let (size, c) =
            self.ledger.read(|h| Ok::<_, QueryError>((h.size, self.ledger.claim(id)?))).map_err(Status::from)?;
        Ok(Response::new(pb::ClaimInfo { tree_size: size, ..convert::claim_to_pb(&c) }))
    }

    async fn get_park(&self, request: Request<pb::GetParkRequest>) -> Result<Response<pb::ParkInfo>, Status> {
        let p = self.ledger.park(&ParkId(request.into_inner().park)).map_err(Status::from)?;
        Ok(Response::new(convert::park_to_pb(&p)))
    }

    async fn list_parks(&self, _: Request<pb::ListParksRequest>) -> Result<Response<pb::ParkList>, Status> {
        let (size, parks) =
            self.ledger.read(|h| Ok::<_, QueryError>((h.size, self.ledger.parks()?))).map_err(Status::from)?;
        Ok(Response::new(pb::ParkList { parks: parks.iter().map(convert::park_to_pb).collect(), tree_size: size }))
    }

    async fn get_bundle_history(
        &self,
        request: Request<pb::BundleRequest>,
    ) -> Result<Response<pb::BundleHistory>, Status> {
        let id = BundleId(request.get_ref().bundle);
        let (size, b, history) = self
            .ledger
            .read(|h| Ok::<_, QueryError>((h.size, self.ledger.bundle(id)?, self.ledger.bundle_history(id)?)))
            .map_err(Status::from)?;
        let mut entries = Vec::new();
        let mut descriptions = Vec::new();
        for (index, entry) in history {
            descriptions.push(format!(
                "entry {index} at {}: {} by {}",
                entry.time,
                entry.signed.body.command.kind(),
                entry.signed.body.signer.short()
            ));
            entries.push(pb::LogEntry { index, leaf: codec::leaf_bytes(&entry) });
        }
        Ok(Response::new(pb::BundleHistory {
            bundle: Some(convert::bundle_to_pb(&b, self.clock.now())),
            entries,
            descriptions,
            tree_size: size,
        }))
    }

    async fn get_claim_proof(
        &self,
        request: Request<pb::ClaimRequest>,
    ) -> Result<Response<pb::ClaimProofResponse>, Status> {
        let id = ClaimId(request.get_ref().claim);
        let proof = match &self.published {
            Some(published) => crate::proof::build_published(&*self.ledger, published, id),
            None => crate::proof::build(&*self.ledger, id),
        }
        .map_err(Status::from)?;
        Ok(Response::new(pb::ClaimProofResponse { json: proof.to_json() }))
    }

    async fn get_consumption_statement(
        &self,
        request: Request<pb::ConsumptionStatementRequest>,
    ) -> Result<Response<pb::StatementResponse>, Status> {
        let r = request.into_inner();
        let account = convert::account("account", &r.account).map_err(Status::from)?;
        let ledger = self.ledger.clone();
        let (_, signed) =
            blocking(move || crate::statements::consumption_signed(&ledger, &account, r.from, r.to)).await?;
        Ok(Response::new(pb::StatementResponse { json: signed.json, signed_note: signed.note }))
    }

    async fn get_park_statement(
        &self,
        request: Request<pb::ParkStatementRequest>,
    ) -> Result<Response<pb::StatementResponse>, Status> {
        let r = request.into_inner();
        if let Some(park) = r.park.clone() {
            return park_from_ledger(self.ledger.clone(), park, r).await;
        }
        if r.members.is_empty() {
            return Err(status::invalid("members: a park needs at least one member account"));
        }
        let members = r
            .members
            .iter()
            .map(|m| convert::account("members", m))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Status::from)?;
        let period = match (r.from, r.to) {
            (Some(from), Some(to)) => Some((from, to)),
            (None, None) => None,
            _ => return Err(status::invalid("give both from and to, or neither (the members' metered span)")),
        };
        let year = if r.factor_year == 0 { 2022 } else { r.factor_year };
        let year = u16::try_from(year).map_err(|_| status::invalid(format!("factor_year {year} is not a year")))?;
        let factors = factors::choose(
            year,
            r.region.as_deref(),
            r.residual_factor.as_deref(),
            r.location_factor.as_deref(),
            "in the request",
        )
        .map_err(|e| status::invalid(e.to_string()))?;
        let ledger = self.ledger.clone();
        let name = r.name;
        let (_, _, signed) =
            blocking(move || crate::statements::park_signed(&ledger, &name, &members, period, &factors)).await?;
        Ok(Response::new(pb::StatementResponse { json: signed.json, signed_note: signed.note }))
    }

    async fn get_product_statement(
        &self,
        request: Request<pb::ProductStatementRequest>,
    ) -> Result<Response<pb::StatementResponse>, Status> {
        use crate::statements::park_product::{product_signed, ProductAsk};
        use greenledger_core::accounting::product::DeclaredKwh;
        let r = request.into_inner();
        let claimant = convert::account("claimant", &r.claimant).map_err(Status::from)?;
        if r.product.trim().is_empty() {
            return Err(status::invalid("product: name the product batch"));
        }
        let factor_year = match r.factor_year {
            0 => None,
            y => Some(u16::try_from(y).map_err(|_| status::invalid(format!("factor_year {y} is not a year")))?),
        };
        let electricity = r
            .electricity_kwh
            .as_deref()
            .map(DeclaredKwh::parse)
            .transpose()
            .map_err(|e| status::invalid(format!("electricity_kwh: {e}")))?;
        let ask = ProductAsk { claimant, product: r.product, year: r.year, electricity, factor_year };
        let ledger = self.ledger.clone();
        let (_, signed) = blocking(move || product_signed(&ledger, &ask)).await?;
        Ok(Response::new(pb::StatementResponse { json: signed.json, signed_note: signed.note }))
    }

    async fn get_cancellation_certificate(
        &self,
        request: Request<pb::CancellationCertificateRequest>,
    ) -> Result<Response<pb::StatementResponse>, Status> {
        let r = request.into_inner();
        let beneficiary = convert::account("beneficiary", &r.beneficiary).map_err(Status::from)?;
        let ledger = self.ledger.clone();
        let year = i64::from(r.year);
        let (_, signed) = blocking(move || crate::statements::cancellation_signed(&ledger, &beneficiary, year)).await?;
        Ok(Response::new(pb::StatementResponse { json: signed.json, signed_note: signed.note }))
    }
}

/// The statement of a park registered on the ledger (`GetParkStatement` with `park`).
async fn park_from_ledger<S: Store>(
    ledger: Arc<Ledger<S>>,
    park: String,
    r: pb::ParkStatementRequest,
) -> Result<Response<pb::StatementResponse>, Status> {
    use crate::statements::park_product::{park_from_ledger_signed, ParkAsk};
    use greenledger_core::accounting::park::Declared;
    if !r.members.is_empty() || r.region.is_some() || r.residual_factor.is_some() || r.location_factor.is_some() {
        return Err(status::invalid(
            "park: a park from the ledger takes its members and their sites from there; leave members, region and the explicit factors empty",
        ));
    }
    let (Some(from), Some(to)) = (r.from, r.to) else {
        return Err(status::invalid("from and to: a park statement from the ledger needs its period"));
    };
    let factor_year = match r.factor_year {
        0 => None,
        y => Some(u16::try_from(y).map_err(|_| status::invalid(format!("factor_year {y} is not a year")))?),
    };
    let non_electric = r
        .non_electric_tce
        .as_deref()
        .map(Declared::parse_tce)
        .transpose()
        .map_err(|e| status::invalid(format!("non_electric_tce: {e}")))?;
    let ask = ParkAsk { park: ParkId(park), from, to, factor_year, non_electric };
    let (_, _, signed) = blocking(move || park_from_ledger_signed(&ledger, &ask)).await?;
    Ok(Response::new(pb::StatementResponse { json: signed.json, signed_note: signed.note }))
}

/// Runs a statement off the async threads (it reads the store, and may wait for the writer).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ReportError> + Send + 'static) -> Result<T, Status> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(ServiceError::Internal("the statement task failed".into()).into()),
    }
}
