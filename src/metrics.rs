//! What people look at: the ledger's metrics in the Prometheus text format, served on
//! `GET /metrics` by `greenledger serve --http-addr ADDR`.
//!
//! Counters and histograms are counted where things happen (the sequencer counts every outcome
//! it hands back, its batch sizes and how long each batch took to decide and commit); gauges of
//! the store (size on disk, checkpoint size, witness cosignatures) are read when scraped. One
//! [`Metrics`] per sequencer, no global registry, so several ledgers in one process (tests) do
//! not mix their counts. On a server that publishes checkpoints ([`crate::publish`]),
//! `greenledger_witness_cosignatures` counts the cosignatures of the latest published checkpoint.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `greenledger_commands_accepted_total` | counter | `kind` |
//! | `greenledger_commands_refused_total` | counter | `kind`, `rule` (number or `none`), `reason` |
//! | `greenledger_batch_commands` | histogram | |
//! | `greenledger_commit_duration_seconds` | histogram | |
//! | `greenledger_sequencer_queue_depth` | gauge | |
//! | `greenledger_store_size_bytes` | gauge | |
//! | `greenledger_checkpoint_tree_size` | gauge | |
//! | `greenledger_witness_cosignatures` | gauge | |

use crate::ledger::{Ledger, Outcome};
use crate::store::{keys, Store};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::net::SocketAddr;
use std::sync::Arc;

/// The content type of [`Metrics::render`]'s text (OpenMetrics, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Accepted {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Refused {
    kind: &'static str,
    rule: String,
    reason: String,
}

/// The ledger's metrics (see the module documentation for the list).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    accepted: Family<Accepted, Counter>,
    refused: Family<Refused, Counter>,
    batch_commands: Histogram,
    commit_seconds: Histogram,
    queue_depth: Gauge,
    store_size: Gauge,
    checkpoint_size: Gauge,
    cosignatures: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let m = Metrics {
            registry: Registry::default(),
            accepted: Family::default(),
            refused: Family::default(),
            // 1, 2, 4, … 4096 (the sequencer's largest batch).
            batch_commands: Histogram::new(exponential_buckets(1.0, 2.0, 13)),
            // 0.25 ms … about 8 s.
            commit_seconds: Histogram::new(exponential_buckets(0.000_25, 2.0, 16)),
            queue_depth: Gauge::default(),
            store_size: Gauge::default(),
            checkpoint_size: Gauge::default(),
            cosignatures: Gauge::default(),
        };
        let mut r = Registry::with_prefix("greenledger");
        r.register("commands_accepted", "Commands accepted, by command kind", m.accepted.clone());
        r.register(
            "commands_refused",
            "Commands refused, by command kind, rule number (none for refusals without one) and reason",
            m.refused.clone(),
        );
        r.register(
            "batch_commands",
            "Commands per batch the sequencer decided and committed",
            m.batch_commands.clone(),
        );
        r.register_with_unit(
            "commit_duration",
            "Time to decide and durably commit one batch",
            Unit::Seconds,
            m.commit_seconds.clone(),
        );
        r.register("sequencer_queue_depth", "Submissions waiting for the sequencer", m.queue_depth.clone());
        r.register_with_unit("store_size", "Size of the store on disk", Unit::Bytes, m.store_size.clone());
        r.register(
            "checkpoint_tree_size",
            "Tree size (entries) of the latest signed checkpoint",
            m.checkpoint_size.clone(),
        );
        r.register("witness_cosignatures", "Witness cosignatures stored", m.cosignatures.clone());
        Metrics { registry: r, ..m }
    }

    /// Counts the outcomes of one batch; `kinds[i]` is the kind of the command of `outcomes[i]`.
    pub fn count_outcomes(&self, kinds: &[&'static str], outcomes: &[Outcome]) {
        for (kind, outcome) in kinds.iter().copied().zip(outcomes) {
            match outcome {
                Ok(_) => self.accepted.get_or_create(&Accepted { kind }).inc(),
                Err(r) => {
                    let rule = r.rule().map_or_else(|| "none".to_string(), |n| n.to_string());
                    self.refused.get_or_create(&Refused { kind, rule, reason: r.name() }).inc()
                }
            };
        }
    }

    /// Records one decided and committed batch.
    pub fn observe_batch(&self, commands: usize, seconds: f64) {
        self.batch_commands.observe(commands as f64);
        self.commit_seconds.observe(seconds);
    }

    /// The gauge of submissions waiting for the sequencer.
    pub fn queue_depth(&self) -> &Gauge {
        &self.queue_depth
    }

    /// Reads the store gauges of `ledger` and renders everything as text.
    pub fn render<S: Store>(&self, ledger: &Ledger<S>) -> String {
        self.render_with(ledger, None)
    }

    /// [`Metrics::render`]; with `published`, the cosignatures counted are those gathered for
    /// the latest published checkpoint.
    pub fn render_with<S: Store>(&self, ledger: &Ledger<S>, published: Option<&crate::publish::Published>) -> String {
        let store = ledger.store();
        self.store_size.set(i64::try_from(store.size_on_disk()).unwrap_or(i64::MAX));
        self.checkpoint_size.set(i64::try_from(ledger.committed().head.size).unwrap_or(i64::MAX));
        if let Some(published) = published {
            let latest = published.latest_checkpoint().ok().flatten();
            if let Some(n) = latest.and_then(|cp| published.cosignature_count(cp.size).ok()) {
                self.cosignatures.set(n as i64);
            }
        } else {
            let (a, b) = keys::witness_range();
            if let Ok(lines) = store.scan(&a, &b, usize::MAX) {
                self.cosignatures.set(lines.len() as i64);
            }
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Serves `GET /metrics`, the explorer ([`crate::explorer`]) and the log as C2SP tlog-tiles
/// ([`crate::tiles_http`]) for `ledger` on `listener` until `shutdown` completes.
pub async fn serve_http<S: Store>(
    ledger: Arc<Ledger<S>>,
    metrics: Arc<Metrics>,
    published: Option<crate::publish::Published>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::http::header::CONTENT_TYPE as CT;
    let explorer = crate::explorer::router(ledger.clone());
    let app = axum::Router::new()
        .merge(explorer)
        .merge(crate::tiles_http::router_with(ledger.clone(), published.clone()))
        .route(
            "/metrics",
            axum::routing::get(move || async move {
                // Reading the store's size and the cosignatures touches the disk: off the runtime.
                let text = tokio::task::spawn_blocking(move || metrics.render_with(&ledger, published.as_ref()))
                    .await
                    .unwrap_or_default();
                ([(CT, CONTENT_TYPE)], text)
            }),
        );
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(addr = ?addr, "serving metrics on /metrics");
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
