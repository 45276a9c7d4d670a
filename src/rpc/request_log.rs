//! One log line per RPC: a tower layer around the gRPC routes that logs, at info level with
//! target `greenledger::rpc::request_log`, the method, the peer, the gRPC status code and the
//! duration once the response has ended (for a stream: its last message and trailers). The
//! log filter chooses whether they are shown: `RUST_LOG=greenledger::rpc::request_log=info`.

use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

/// Wraps a service in [`RequestLog`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestLogLayer;

impl<S> tower::Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;
    fn layer(&self, inner: S) -> RequestLog<S> {
        RequestLog { inner }
    }
}

/// A service that logs every call it answers (see the module documentation).
#[derive(Clone, Debug)]
pub struct RequestLog<S> {
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for RequestLog<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
    R: Body,
{
    type Response = http::Response<LoggedBody<R>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let call = Call {
            method: req.uri().path().to_string(),
            peer: peer_of(&req),
            started: Instant::now(),
            status: None,
            logged: false,
        };
        let answer = self.inner.call(req);
        Box::pin(async move {
            match answer.await {
                Ok(response) => {
                    let mut call = call;
                    // A trailers-only answer (most refusals) carries its status in the headers.
                    call.status = grpc_status(response.headers());
                    Ok(response.map(|inner| LoggedBody { inner: Box::pin(inner), call }))
                }
                Err(e) => {
                    let mut call = call;
                    call.log(&format!("transport error: {e}"));
                    Err(e)
                }
            }
        })
    }
}

/// The response body, watched for its end and its trailers.
pub struct LoggedBody<B> {
    inner: Pin<Box<B>>,
    call: Call,
}

impl<B: Body> Body for LoggedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = &mut *self;
        let polled = this.inner.as_mut().poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(status) = frame.trailers_ref().and_then(grpc_status) {
                    this.call.status = Some(status);
                }
            }
            Poll::Ready(Some(Err(_))) => this.call.log("response body failed"),
            Poll::Ready(None) => this.call.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for LoggedBody<B> {
    fn drop(&mut self) {
        // An answer without a body to poll ends here; so does a stream the client left.
        self.call.finish();
    }
}

struct Call {
    method: String,
    peer: Option<SocketAddr>,
    started: Instant,
    status: Option<tonic::Code>,
    logged: bool,
}

impl Call {
    fn finish(&mut self) {
        match self.status {
            Some(code) => self.log(&format!("{code:?}")),
            None => self.log("no status (the client left before the end)"),
        }
    }

    fn log(&mut self, status: &str) {
        if std::mem::replace(&mut self.logged, true) {
            return;
        }
        let peer = self.peer.map_or_else(|| "unknown".to_string(), |p| p.to_string());
        let code = self.status.map(|c| c as i32);
        let duration_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(method = %self.method, peer = %peer, status, code, duration_ms, "rpc");
    }
}

fn grpc_status(headers: &http::HeaderMap) -> Option<tonic::Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?.parse::<i32>().ok()?;
    Some(tonic::Code::from_i32(value))
}

fn peer_of<B>(req: &http::Request<B>) -> Option<SocketAddr> {
    let ext = req.extensions();
    ext.get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| ext.get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|i| i.get_ref().remote_addr()))
}
