//! Serving: the Ledger service plus the standard gRPC health and reflection (v1 and v1alpha)
//! services, one log line per call ([`super::request_log`]), and, on a port of its own if asked
//! for, plain HTTP: `GET /metrics` ([`crate::metrics`]), the explorer ([`crate::explorer`]) and
//! the log as C2SP tlog-tiles ([`crate::tiles_http`]).

use super::pb;
use super::service::LedgerService;
use crate::ledger::{Clock, Ledger, Sequencer};
use crate::publish::{PublishOptions, PublishState, Publisher};
use crate::store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::transport::{Identity, ServerTlsConfig};

/// Largest request or response message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// Default for [`ServeOptions::concurrency_per_connection`].
pub const DEFAULT_CONCURRENCY_PER_CONNECTION: usize = 256;
/// Default for [`ServeOptions::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Transport settings of a server.
#[derive(Clone)]
pub struct ServeOptions {
    /// Serve TLS with this identity (PEM certificate chain and private key) instead of plaintext.
    pub tls: Option<Identity>,
    /// Requests one connection may have in flight; further ones wait.
    pub concurrency_per_connection: usize,
    /// How long a request may take until its response starts (a response stream, once
    /// started, is not cut). A client's shorter `grpc-timeout` wins.
    pub request_timeout: Duration,
    /// Serve `GET /metrics` (Prometheus text), the explorer and the log as C2SP tlog-tiles
    /// (`/checkpoint`, `/tile/...`) over plain HTTP on this address too.
    pub http_addr: Option<SocketAddr>,
    /// Publish checkpoints and push them to witnesses ([`crate::publish`]). Off by default here
    /// (`greenledger serve` turns it on); without it `/checkpoint` serves the newest signed
    /// checkpoint and gRPC `GetCheckpoint` leaves `published_checkpoint` empty.
    pub publish: Option<PublishOptions>,
    /// A node of a replicated ledger: while another node leads, submissions are passed
    /// through to it ([`super::forward`]).
    pub leader: Option<Arc<dyn super::forward::Leader>>,
    /// Keep what is published here instead of the ledger's own store (a replicated ledger: in
    /// its database, [`crate::replication::publish::PgPublishState`]).
    pub publish_state: Option<Arc<dyn PublishState>>,
    /// Publish and push to witnesses only while this holds (a replicated ledger: while this
    /// node leads); what was published is served either way.
    pub publish_gate: Option<crate::replication::publish::PublishGate>,
}

// tonic's `Identity` derives `Debug` and would print the private key: never show it.
impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("tls", &self.tls.as_ref().map(|_| "<identity hidden>"))
            .field("concurrency_per_connection", &self.concurrency_per_connection)
            .field("request_timeout", &self.request_timeout)
            .field("http_addr", &self.http_addr)
            .field("publish", &self.publish)
            .field("replicated", &self.leader.is_some())
            .field("shared_publish_state", &self.publish_state.is_some())
            .field("publish_gate", &self.publish_gate.is_some())
            .finish()
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            tls: None,
            concurrency_per_connection: DEFAULT_CONCURRENCY_PER_CONNECTION,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            http_addr: None,
            publish: None,
            leader: None,
            publish_state: None,
            publish_gate: None,
        }
    }
}

impl ServeOptions {
    /// Reads a PEM certificate chain and its PEM private key for TLS. The key's bytes go
    /// straight to rustls; they are never logged or printed.
    pub fn with_tls_files(mut self, cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let cert_pem =
            std::fs::read(cert).with_context(|| format!("cannot read TLS certificate {}", cert.display()))?;
        let key_pem = std::fs::read(key).with_context(|| format!("cannot read TLS key {}", key.display()))?;
        if !String::from_utf8_lossy(&cert_pem).contains("-----BEGIN CERTIFICATE-----") {
            anyhow::bail!("{} is not a PEM certificate", cert.display());
        }
        if !String::from_utf8_lossy(&key_pem).contains("PRIVATE KEY-----") {
            anyhow::bail!("{} is not a PEM private key", key.display());
        }
        self.tls = Some(Identity::from_pem(cert_pem, key_pem));
        Ok(self)
    }
}

/// Serves `ledger` on `listener` in plaintext with the default limits until `shutdown`
/// completes.
pub async fn serve<S: Store>(
    ledger: Arc<Ledger<S>>,
    sequencer: Sequencer,
    clock: Arc<dyn Clock>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(ledger, sequencer, clock, listener, ServeOptions::default(), shutdown).await
}

/// Serves `ledger` on `listener` with `options` until `shutdown` completes.
pub async fn serve_with<S: Store>(
    ledger: Arc<Ledger<S>>,
    sequencer: Sequencer,
    clock: Arc<dyn Clock>,
    listener: TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let http = match options.http_addr {
        Some(addr) => Some(bind_http(addr).await?),
        None => None,
    };
    let publisher = publisher_for(&ledger, &options);
    serve_on(ledger, sequencer, clock, listener, http, publisher, options, shutdown).await
}

/// The publisher [`ServeOptions::publish`] asks for, its state where
/// [`ServeOptions::publish_state`] says.
fn publisher_for<S: Store>(ledger: &Arc<Ledger<S>>, options: &ServeOptions) -> Option<Publisher> {
    let publish = options.publish.clone()?;
    Some(match &options.publish_state {
        Some(state) => Publisher::new(ledger.clone(), state.clone(), publish),
        None => Publisher::for_ledger(ledger.clone(), publish),
    })
}

async fn bind_http(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    use anyhow::Context as _;
    TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} for HTTP (metrics)"))
}

/// [`serve_with`] on listeners already bound: gRPC on `listener`; metrics, the explorer and the
/// tlog-tiles routes on `http`; the publisher beside them.
#[allow(clippy::too_many_arguments)]
async fn serve_on<S: Store>(
    ledger: Arc<Ledger<S>>,
    sequencer: Sequencer,
    clock: Arc<dyn Clock>,
    listener: TcpListener,
    http: Option<TcpListener>,
    publisher: Option<Publisher>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // One shutdown for both servers.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let publish_stop = stopped.clone();
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let publishing = match (&publisher, &options.publish_gate) {
        (Some(p), Some(gate)) => {
            Some(tokio::spawn(crate::replication::publish::run_gated(p.clone(), gate.clone(), publish_stop)))
        }
        (Some(p), None) => Some(p.start(publish_stop).await?),
        (None, _) => None,
    };
    let published = publisher.as_ref().map(Publisher::published);
    let metrics = http.map(|http| {
        let (ledger, metrics, published) = (ledger.clone(), sequencer.metrics().clone(), published.clone());
        tokio::spawn(crate::metrics::serve_http(ledger, metrics, published, http, until_stopped()))
    });
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<pb::ledger_server::LedgerServer<LedgerService<S>>>().await;
    // Both reflection versions: grpcurl before 1.9 and Python's grpcio-reflection speak only
    // v1alpha.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;
    let service = LedgerService::new(ledger, sequencer, clock).with_published(published);
    let service = pb::ledger_server::LedgerServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(4 * MAX_MESSAGE_BYTES);
    let mut builder = tonic::transport::Server::builder()
        .concurrency_limit_per_connection(options.concurrency_per_connection.max(1))
        .timeout(options.request_timeout)
        .layer(super::request_log::RequestLogLayer)
        .layer(super::forward::ForwardLayer::new(options.leader.clone()));
    if let Some(identity) = options.tls {
        builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
    }
    builder
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(service)
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            until_stopped(),
        )
        .await?;
    if let Some(metrics) = metrics {
        metrics.await??;
    }
    if let Some(publishing) = publishing {
        publishing.await?;
    }
    Ok(())
}

/// A server running in the background of the current runtime.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `GET /metrics`, the explorer and the tlog-tiles routes are served, if
    /// [`ServeOptions::http_addr`] asked for it.
    pub http_addr: Option<SocketAddr>,
    /// The publisher, if [`ServeOptions::publish`] asked for one: [`Publisher::publish_now`]
    /// publishes without waiting for the interval.
    pub publisher: Option<Publisher>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops accepting requests and waits for the server to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await?
    }
}

/// Binds `addr` (use port 0 for any free port) and serves in the background.
pub async fn spawn<S: Store>(ledger: Arc<Ledger<S>>, clock: Arc<dyn Clock>, addr: &str) -> anyhow::Result<Running> {
    spawn_with(ledger, clock, addr, ServeOptions::default()).await
}

/// [`spawn`] with transport options (TLS, limits).
pub async fn spawn_with<S: Store>(
    ledger: Arc<Ledger<S>>,
    clock: Arc<dyn Clock>,
    addr: &str,
    options: ServeOptions,
) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let http = match options.http_addr {
        Some(addr) => Some(bind_http(addr).await?),
        None => None,
    };
    let http_addr = http.as_ref().map(TcpListener::local_addr).transpose()?;
    let sequencer = Sequencer::start(ledger.clone(), crate::ledger::sequencer::DEFAULT_MAX_BATCH);
    let publisher = publisher_for(&ledger, &options);
    if let Some(p) = publisher.as_ref().filter(|_| options.publish_gate.as_ref().is_none_or(|open| open())) {
        // Published before the first request, not only once the task runs.
        p.publish_now().await?;
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_on(ledger, sequencer, clock, listener, http, publisher.clone(), options, async {
        let _ = stopped.await;
    }));
    Ok(Running { addr, http_addr, publisher, stop: Some(stop), task })
}
