//! Requests as raw bytes: a pass-through codec, well-framed calls with any message bytes, and
//! hand-written gRPC frames.

use prost::bytes::{Buf, BufMut};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Passes bytes through unchanged, so a request can be any byte string.
#[derive(Clone, Default)]
struct Raw;
impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}
impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}
impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// How a request goes out.
pub enum Req {
    /// Bytes as the message of a well-framed gRPC call to this path.
    Msg(&'static str, Vec<u8>),
    /// A whole hand-written request body (gRPC frames) to this path.
    Frame(&'static str, String),
}

pub fn frame(flag: u8, len: u32, payload: &str) -> String {
    let mut s = String::new();
    s.push(flag as char);
    for b in len.to_be_bytes() {
        assert!(b < 0x80, "frame header bytes must be ASCII here");
        s.push(b as char);
    }
    s.push_str(payload);
    s
}

pub trait ReqExt {
    fn map_msg(self, f: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Req;
}
impl ReqExt for Req {
    fn map_msg(self, f: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Req {
        match self {
            Req::Msg(p, b) => Req::Msg(p, f(b)),
            other => other,
        }
    }
}

pub async fn call(channel: &Channel, req: &Req) -> Result<Vec<u8>, Status> {
    match req {
        Req::Msg(path, bytes) => {
            let mut grpc = tonic::client::Grpc::new(channel.clone());
            grpc.ready().await.map_err(|e| Status::unknown(e.to_string()))?;
            let path = http::uri::PathAndQuery::from_static(path);
            if path.path().ends_with("GetEntries") {
                let mut s = grpc.server_streaming(tonic::Request::new(bytes.clone()), path, Raw).await?.into_inner();
                let mut last = Vec::new();
                while let Some(m) = s.message().await? {
                    last = m;
                }
                return Ok(last);
            }
            Ok(grpc.unary(tonic::Request::new(bytes.clone()), path, Raw).await?.into_inner())
        }
        Req::Frame(path, body) => {
            use tonic::codegen::Service;
            let mut ch = channel.clone();
            let req = http::Request::builder()
                .method("POST")
                .uri(format!("http://127.0.0.1{path}"))
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(tonic::body::Body::new(body.clone()))
                .unwrap();
            std::future::poll_fn(|cx| ch.poll_ready(cx)).await.map_err(|e| Status::unknown(e.to_string()))?;
            let resp = ch.call(req).await.map_err(|e| Status::unknown(e.to_string()))?;
            if let Some(s) = Status::from_header_map(resp.headers()) {
                if s.code() != Code::Ok {
                    return Err(s);
                }
            }
            let status = resp.status();
            let mut s = tonic::codec::Streaming::new_response(Raw, resp.into_body(), status, None, None);
            let mut last = Vec::new();
            while let Some(m) = s.message().await? {
                last = m;
            }
            Ok(last)
        }
    }
}
