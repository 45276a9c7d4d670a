//! The gRPC face of the ledger: generated protobuf types ([`pb`]), conversions at the edge
//! ([`convert`]), the one place that makes a `tonic::Status` ([`status`]), the service
//! ([`service`]), the server with health and reflection ([`server`]) and its log line per call
//! ([`request_log`]).

pub mod convert;
pub mod forward;
pub mod request_log;
pub mod server;
pub mod service;
pub mod status;

/// Types and stubs generated from `proto/greenledger/v1/ledger.proto`.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("greenledger.v1");
    /// Encoded file descriptor set, served by gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("greenledger_descriptor");
}
