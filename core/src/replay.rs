//! Applying decisions, and replaying a log from its leaves. Replay is how a node restores or an
//! auditor checks the state: the state is a deterministic function of the entries.

use super::command::{Command, Entry};
use super::rules::{decide, Context, Decision};
use super::state::{Effect, MemState, StateView, StateWrite, StoreFault};
use super::types::LeafIndex;
use crate::codec::{self, CodecError};
use crate::command as cmd;
use crate::crypto::{self, SignatureError};

/// Writes effects in order; later effects on the same record win.
pub fn apply<W: StateWrite>(state: &mut W, effects: Vec<Effect>) -> Result<(), StoreFault> {
    for e in effects {
        state.put(e)?;
    }
    Ok(())
}

/// Why a leaf could not be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("entry {index}: cannot decode leaf: {source}")]
    Decode { index: u64, source: CodecError },
    #[error("entry {index}: {source}")]
    Signature { index: u64, source: SignatureError },
    #[error("entry {index}: the rules refuse it on replay: {reason}")]
    Refused { index: u64, reason: String },
    #[error("entry {index}: its time {time} is earlier than the previous entry's {previous}")]
    TimeWentBack { index: u64, time: u64, previous: u64 },
    #[error("entry {index}: {source}")]
    Store { index: u64, source: StoreFault },
}

impl ReplayError {
    /// Index of the entry where replay diverged.
    pub fn index(&self) -> u64 {
        match self {
            ReplayError::Decode { index, .. }
            | ReplayError::Signature { index, .. }
            | ReplayError::Refused { index, .. }
            | ReplayError::TimeWentBack { index, .. }
            | ReplayError::Store { index, .. } => *index,
        }
    }
}

/// Re-applies log leaves one by one with the same rules the sequencer used.
#[derive(Debug, Default)]
pub struct Replayer {
    pub state: MemState,
    pub next_index: u64,
    ledger_name: Option<String>,
    last_time: u64,
}

impl Replayer {
    pub fn new() -> Replayer {
        Replayer::default()
    }

    /// Applies the leaf at `self.next_index`; returns the decoded entry and the decision.
    pub fn push(&mut self, leaf: &[u8]) -> Result<(Entry, Decision), ReplayError> {
        let index = self.next_index;
        let entry = codec::decode_leaf(leaf).map_err(|source| ReplayError::Decode { index, source })?;
        self.push_entry(entry, None)
    }

    /// Applies an entry decoded elsewhere, as [`Replayer::push`] of its leaf would, with the
    /// result of its signature check when that was done elsewhere too (for instance in batches
    /// with [`crypto::verify_many`] on other threads): `checked` is `(name, result)`, the result of
    /// verifying `entry.signed` under the ledger name `name`. It is used when `name` is the name
    /// this replay verifies under (the genesis's, see [`Replayer::signing_name`]); otherwise, or
    /// without `checked`, the signature is verified here.
    pub fn push_entry(
        &mut self,
        entry: Entry,
        checked: Option<(&str, Result<crypto::Authenticated, SignatureError>)>,
    ) -> Result<(Entry, Decision), ReplayError> {
        let index = self.next_index;
        if entry.time.0 < self.last_time {
            return Err(ReplayError::TimeWentBack { index, time: entry.time.0, previous: self.last_time });
        }
        let Some(name) = self.signing_name(&entry) else {
            return Err(ReplayError::Refused { index, reason: "the first entry is not a genesis".into() });
        };
        let verified = match checked {
            Some((under, result)) if under == name => {
                if let Ok(a) = &result {
                    debug_assert!(a.signed() == &entry.signed, "the check was of another command");
                }
                result
            }
            _ => crypto::verify(&name, entry.signed.clone()),
        };
        let auth = verified.map_err(|source| ReplayError::Signature { index, source })?;
        let ctx = Context { index: LeafIndex(index), now: entry.time };
        let decision =
            decide(&self.state, &auth, ctx).map_err(|r| ReplayError::Refused { index, reason: r.to_string() })?;
        apply(&mut self.state, decision.effects.clone()).map_err(|source| ReplayError::Store { index, source })?;
        self.ledger_name = Some(name);
        self.last_time = entry.time.0;
        self.next_index += 1;
        Ok((entry, decision))
    }

    /// The ledger name `entry`'s signature is verified under when it comes next: the name of
    /// the replayed genesis, or for the first entry its own genesis policy's name (`None` when
    /// the first entry is not a genesis).
    pub fn signing_name(&self, entry: &Entry) -> Option<String> {
        match (&self.ledger_name, &entry.signed.body.command) {
            (Some(n), _) => Some(n.clone()),
            (None, Command::Genesis(cmd::Genesis { policy, .. })) => Some(policy.name.clone()),
            (None, Command::GenesisV1(cmd::GenesisV1 { policy, .. })) => Some(policy.name.clone()),
            (None, _) => None,
        }
    }

    pub fn ledger_name(&self) -> Option<&str> {
        self.ledger_name.as_deref()
    }

    /// Policy after genesis (amendments not applied; see [`crate::state::Meta::policy_at`]).
    pub fn policy(&self) -> Option<super::policy::Policy> {
        self.state.meta().ok().flatten().map(|m| m.policy)
    }
}
