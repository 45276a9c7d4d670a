//! The one place that makes a `tonic::Status`. Every error the service reports is a
//! [`ServiceError`], and [`status`] is the one function that maps it to a gRPC code with a
//! message a person can act on. Refusals also carry the number of the rule that refused and the
//! refusal's stable name as metadata (`greenledger-rule`, `greenledger-reason`), so clients can
//! act on them without reading the message.
//!
//! Each of the library's error types converts into a `Status` through [`status`], so service
//! code can use `?` on them directly.

use super::convert::BadField;
use super::pb;
use crate::ledger::queries::QueryError;
use crate::ledger::{LedgerError, Refused};
use crate::statements::ReportError;
use greenledger_core::accounting::signed::StatementError;
use greenledger_core::refusal::RefusalKind;
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};

/// Metadata key of the rule number of a refusal.
pub const RULE_KEY: &str = "greenledger-rule";
/// Metadata key of the stable name of a refusal.
pub const REASON_KEY: &str = "greenledger-reason";

/// Everything the service reports as an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The ledger refused a command.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// A request field could not be read.
    #[error(transparent)]
    BadField(#[from] BadField),
    /// The ledger could not do its work (storage, busy, stopped after a failure).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A query failed: not found, invalid, or the ledger failed.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A statement could not be made.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The request is invalid for another reason, said in the message.
    #[error("{0}")]
    Invalid(String),
    /// The ledger's state does not allow the request now, said in the message.
    #[error("{0}")]
    Precondition(String),
    /// The sequencer is gone (the server is shutting down).
    #[error("the sequencer stopped")]
    Stopped,
    /// A fault inside the server that the client cannot fix.
    #[error("{0}")]
    Internal(String),
}

fn code_of(kind: RefusalKind) -> Code {
    match kind {
        RefusalKind::Invalid => Code::InvalidArgument,
        RefusalKind::Unauthenticated => Code::Unauthenticated,
        RefusalKind::PermissionDenied => Code::PermissionDenied,
        RefusalKind::FailedPrecondition => Code::FailedPrecondition,
        RefusalKind::AlreadyExists => Code::AlreadyExists,
        RefusalKind::NotFound => Code::NotFound,
        _ => Code::FailedPrecondition,
    }
}

fn ledger_code(e: &LedgerError) -> Code {
    match e {
        LedgerError::Busy => Code::ResourceExhausted,
        LedgerError::Poisoned | LedgerError::Store(_) | LedgerError::Replication(_) => Code::Unavailable,
        LedgerError::Corrupt(_) => Code::DataLoss,
        LedgerError::NoLedger
        | LedgerError::AlreadyExists
        | LedgerError::Genesis(_)
        | LedgerError::NotGenesis { .. }
        | LedgerError::KeyNameMismatch { .. } => Code::FailedPrecondition,
    }
}

/// The one mapping from an error to a gRPC status.
pub fn status(e: &ServiceError) -> Status {
    let message = e.to_string();
    let code = match e {
        ServiceError::Refused(r) => {
            let mut s = Status::new(code_of(r.kind()), message);
            if let Some(rule) = r.rule() {
                s.metadata_mut().insert(RULE_KEY, MetadataValue::from(u32::from(rule)));
            }
            if let Ok(name) = r.name().parse() {
                s.metadata_mut().insert(REASON_KEY, name);
            }
            return s;
        }
        ServiceError::BadField(_) | ServiceError::Invalid(_) => Code::InvalidArgument,
        ServiceError::Precondition(_) => Code::FailedPrecondition,
        ServiceError::Ledger(l) | ServiceError::Query(QueryError::Ledger(l)) => ledger_code(l),
        ServiceError::Query(QueryError::NotFound { .. }) => Code::NotFound,
        ServiceError::Query(QueryError::Invalid(_)) => Code::InvalidArgument,
        ServiceError::Report(ReportError::Query(QueryError::NotFound { .. })) => Code::NotFound,
        ServiceError::Report(ReportError::Query(QueryError::Ledger(l))) => ledger_code(l),
        ServiceError::Report(ReportError::Query(_)) => Code::InvalidArgument,
        ServiceError::Report(ReportError::Statement(StatementError::Accounting(_) | StatementError::Format(_))) => {
            Code::InvalidArgument
        }
        ServiceError::Report(_) | ServiceError::Internal(_) => Code::Internal,
        ServiceError::Stopped => Code::Unavailable,
    };
    Status::new(code, message)
}

/// A refusal as the streaming RPCs report it in-band, with the same code, message, rule and
/// name as [`status`] gives the unary ones.
pub fn refusal_to_pb(e: ServiceError) -> pb::Refusal {
    let (rule, reason) = match &e {
        ServiceError::Refused(r) => (r.rule().map_or(0, u32::from), r.name()),
        ServiceError::BadField(_) => (0, "bad-field".to_string()),
        _ => (0, String::new()),
    };
    let s = status(&e);
    pb::Refusal { code: s.code() as i32, message: s.message().to_string(), rule, reason }
}

/// An invalid request, with the message to show.
pub fn invalid(message: impl Into<String>) -> Status {
    status(&ServiceError::Invalid(message.into()))
}

macro_rules! into_status {
    ($($t:ty),+) => {
        $(impl From<$t> for Status {
            fn from(e: $t) -> Status {
                status(&ServiceError::from(e))
            }
        })+
    };
}

into_status!(Refused, BadField, LedgerError, QueryError, ReportError);

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Status {
        status(&e)
    }
}
