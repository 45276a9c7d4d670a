//! The pure core of greenledger.
#![forbid(unsafe_code)]

pub mod accounting;
pub mod bundle;
pub mod calendar;
pub mod codec;
pub mod command;
pub mod crypto;
pub mod log;
pub mod policy;
pub mod proof;
pub mod refusal;
pub mod replay;
pub mod rules;
pub mod state;
pub mod types;

pub use command::{Command, CommandBody, Entry, SignedCommand};
pub use policy::Policy;
pub use refusal::{Refusal, RefusalKind, Rejection};
pub use rules::{decide, Context, Decision};
pub use state::{Effect, MemState, StateView, StateWrite};
pub use types::*;
