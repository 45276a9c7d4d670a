//! The domain core: types, commands, state records and the rules. Pure: no storage, network or
//! clock; time comes in as an argument.
//!
//! Layout:
//! - [`types`]: newtypes (`Wh`, `Serial`, `AccountId`, `DeviceId`, ...).
//! - [`calendar`]: integer calendar arithmetic for expiry dates.
//! - [`policy`]: the scheme's parameters fixed at genesis.
//! - [`command`]: what participants sign and submit.
//! - [`state`]: state records, the `StateView`/`StateWrite` seams and the in-memory twin.
//! - [`refusal`]: why a command is refused, with the rule and the values.
//! - [`rules`]: `decide(state, command, context)`.
//! - [`bundle`]: splitting serial ranges.
//! - [`replay`]: applying decisions and replaying a whole log.

pub mod bundle;
pub mod calendar;
pub mod command;
pub mod policy;
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
