//! Submissions to a follower of a replicated ledger go to the leader: a tower layer in front of
//! the gRPC routes that, while this node follows, passes `Submit`, `SubmitBatch` and `SubmitAll`
//! through to the leader's advertised address unchanged (streams included) and relays its
//! answer, refusals and receipts as the leader gave them. Everything else, reads among them, is
//! answered here. A forwarded call carries [`FORWARDED`], and a node never forwards such a call
//! again: a node that lost the lead in between answers `Unavailable` instead of bouncing it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};

/// Header set on a call forwarded to the leader.
pub const FORWARDED: &str = "greenledger-forwarded";

/// The write methods that only the leader answers.
const WRITES: [&str; 3] =
    ["/greenledger.v1.Ledger/Submit", "/greenledger.v1.Ledger/SubmitBatch", "/greenledger.v1.Ledger/SubmitAll"];

/// Where this node's writes go: `Some(address)` while another node leads.
pub trait Leader: Send + Sync + 'static {
    fn forward_to(&self) -> Option<String>;
    /// Asks who leads now, for a write that arrives while this node follows and does not know
    /// the leader yet (it just started, or the lead just moved).
    fn look_up(&self) -> Pin<Box<dyn Future<Output = Option<String>> + Send>> {
        Box::pin(std::future::ready(None))
    }
}

impl Leader for crate::replication::Node {
    fn forward_to(&self) -> Option<String> {
        crate::replication::Node::forward_to(self)
    }
    fn look_up(&self) -> Pin<Box<dyn Future<Output = Option<String>> + Send>> {
        if self.is_leader() {
            return Box::pin(std::future::ready(None));
        }
        Box::pin(self.look_up_leader())
    }
}

/// The layer; without a [`Leader`] it passes everything through.
#[derive(Clone, Default)]
pub struct ForwardLayer {
    leader: Option<Arc<dyn Leader>>,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl ForwardLayer {
    pub fn new(leader: Option<Arc<dyn Leader>>) -> ForwardLayer {
        ForwardLayer { leader, channels: Arc::default() }
    }
}

impl<S> tower::Layer<S> for ForwardLayer {
    type Service = Forward<S>;
    fn layer(&self, inner: S) -> Forward<S> {
        Forward { inner, layer: self.clone() }
    }
}

#[derive(Clone)]
pub struct Forward<S> {
    inner: S,
    layer: ForwardLayer,
}

impl ForwardLayer {
    /// The leader's channel (connected lazily, kept per address).
    fn channel(&self, address: &str) -> Option<Channel> {
        let mut channels = self.channels.lock().expect("channels");
        if let Some(c) = channels.get(address) {
            return Some(c.clone());
        }
        let channel = Endpoint::from_shared(address.to_string()).ok()?.connect_lazy();
        channels.insert(address.to_string(), channel.clone());
        Some(channel)
    }

    /// The leader, if `req` is a write this node does not answer itself.
    fn leader_for<B>(&self, req: &http::Request<B>) -> Option<Arc<dyn Leader>> {
        let leader = self.leader.as_ref()?;
        if !WRITES.contains(&req.uri().path()) || req.headers().contains_key(FORWARDED) {
            return None;
        }
        Some(leader.clone())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, R> tower::Service<http::Request<Body>> for Forward<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    R: http_body::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    R::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        let Some(leader) = self.layer.leader_for(&req) else {
            let answer = self.inner.call(req);
            return Box::pin(async move { Ok(answer.await.map_err(Into::into)?.map(Body::new)) });
        };
        // The service that was made ready, for the case this node answers after all.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let address = match leader.forward_to() {
                Some(a) => Some(a),
                None => leader.look_up().await,
            };
            let Some((address, mut channel)) = address.and_then(|a| layer.channel(&a).map(|c| (a, c))) else {
                // This node leads, or no node does right now: it answers (refusing while it follows).
                return Ok(inner.call(req).await.map_err(Into::into)?.map(Body::new));
            };
            req.headers_mut().insert(FORWARDED, http::HeaderValue::from_static("1"));
            tracing::debug!(to = %address, method = req.uri().path(), "forwarding to the leader");
            std::future::poll_fn(|cx| tower::Service::poll_ready(&mut channel, cx)).await?;
            Ok(tower::Service::call(&mut channel, req).await?)
        })
    }
}
