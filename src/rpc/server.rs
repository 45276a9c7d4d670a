//! Serving: the Ledger service plus the standard gRPC health and reflection services.

use super::pb;
use super::service::LedgerService;
use crate::ledger::{Clock, Ledger, Sequencer};
use crate::store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// Largest request or response message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Serves `ledger` on `listener` until `shutdown` completes.
pub async fn serve<S: Store>(
    ledger: Arc<Ledger<S>>,
    sequencer: Sequencer,
    clock: Arc<dyn Clock>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<pb::ledger_server::LedgerServer<LedgerService<S>>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let service = pb::ledger_server::LedgerServer::new(LedgerService::new(ledger, sequencer, clock))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(4 * MAX_MESSAGE_BYTES);
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(reflection)
        .add_service(service)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}

/// A server running in the background of the current runtime.
pub struct Running {
    pub addr: SocketAddr,
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
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let sequencer = Sequencer::start(ledger.clone(), crate::ledger::sequencer::DEFAULT_MAX_BATCH);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(ledger, sequencer, clock, listener, async {
        let _ = stopped.await;
    }));
    Ok(Running { addr, stop: Some(stop), task })
}
