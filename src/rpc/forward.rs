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
}

impl Leader for crate::replication::Node {
    fn forward_to(&self) -> Option<String> {
        crate::replication::Node::forward_to(self)
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

    /// Where to send `req`, if it is a write and another node leads.
    fn target<B>(&self, req: &http::Request<B>) -> Option<String> {
        let leader = self.leader.as_ref()?;
        if !WRITES.contains(&req.uri().path()) || req.headers().contains_key(FORWARDED) {
            return None;
        }
        leader.forward_to()
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
        let target = self.layer.target(&req).and_then(|a| self.layer.channel(&a).map(|c| (a, c)));
        match target {
            Some((address, mut channel)) => {
                req.headers_mut().insert(FORWARDED, http::HeaderValue::from_static("1"));
                tracing::debug!(to = %address, method = req.uri().path(), "forwarding to the leader");
                Box::pin(async move {
                    std::future::poll_fn(|cx| tower::Service::poll_ready(&mut channel, cx)).await?;
                    let response = tower::Service::call(&mut channel, req).await?;
                    Ok(response)
                })
            }
            None => {
                let answer = self.inner.call(req);
                Box::pin(async move { Ok(answer.await.map_err(Into::into)?.map(Body::new)) })
            }
        }
    }
}
