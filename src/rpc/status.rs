//! The one place that makes a `tonic::Status`: every error of the library maps here to a
//! precise gRPC code with a message a person can act on.

use super::convert::BadField;
use crate::ledger::queries::QueryError;
use crate::ledger::{LedgerError, Refused};
use greenledger_core::refusal::RefusalKind;
use tonic::{Code, Status};

pub fn code_of(kind: RefusalKind) -> Code {
    match kind {
        RefusalKind::Invalid => Code::InvalidArgument,
        RefusalKind::Unauthenticated => Code::Unauthenticated,
        RefusalKind::PermissionDenied => Code::PermissionDenied,
        RefusalKind::FailedPrecondition => Code::FailedPrecondition,
        RefusalKind::AlreadyExists => Code::AlreadyExists,
        RefusalKind::NotFound => Code::NotFound,
    }
}

pub fn refused(r: &Refused) -> Status {
    Status::new(code_of(r.kind), r.message.clone())
}

pub fn bad_field(e: &BadField) -> Status {
    Status::invalid_argument(e.to_string())
}

pub fn ledger(e: &LedgerError) -> Status {
    match e {
        LedgerError::Busy => Status::resource_exhausted(e.to_string()),
        LedgerError::Poisoned | LedgerError::Store(_) => Status::unavailable(e.to_string()),
        LedgerError::Corrupt(_) => Status::data_loss(e.to_string()),
        LedgerError::NoLedger | LedgerError::AlreadyExists | LedgerError::Genesis(_) => {
            Status::failed_precondition(e.to_string())
        }
    }
}

pub fn query(e: &QueryError) -> Status {
    match e {
        QueryError::NotFound { .. } => Status::not_found(e.to_string()),
        QueryError::Invalid(_) => Status::invalid_argument(e.to_string()),
        QueryError::Ledger(l) => ledger(l),
    }
}

pub fn invalid(message: impl Into<String>) -> Status {
    Status::invalid_argument(message.into())
}
