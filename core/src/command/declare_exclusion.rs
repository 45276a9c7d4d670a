//! `DeclareExclusion`: the regulator declares a device's output in an interval used in another
//! scheme (for example CCER). Issuance of that output is blocked and certificates already issued
//! for it and not yet retired are frozen (rule 3, no double scheme).

use super::Kind;
use crate::proof::walk::{Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Regulator: the device's output in this interval is used in another scheme.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct DeclareExclusion {
    pub device: DeviceId,
    pub interval: Interval,
    pub scheme: String,
}

impl Kind for DeclareExclusion {
    const ROLE: Option<Role> = Some(Role::Regulator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let DeclareExclusion { device: device_id, interval, scheme } = self;
        let interval = *interval;
        check_text("scheme", scheme, false)?;
        if !interval.is_valid() {
            return refuse(Refusal::BadInterval { interval });
        }
        let mut device = r.device(device_id)?;
        device.exclusions.push(Exclusion { interval, scheme: scheme.to_string(), entry: r.ctx.index });
        let mut d = Decision::default();
        d.say(format!("output of {device_id} in {interval} is declared used in {scheme:?}; issuance blocked"));
        d.made(Change::Exclusion { device: device_id.clone(), interval, scheme: scheme.clone() });
        let mut frozen = 0u64;
        for reading in r.view.readings_overlapping(device_id, interval)? {
            for bid in &reading.bundles {
                let b = r.bundle(*bid)?;
                if let Some(b) = b.frozen(r.ctx.index) {
                    frozen += b.serials.len();
                    d.made(Change::Frozen { bundle: b.id, serials: b.serials });
                    d.effects.push(Effect::Bundle(b));
                }
            }
        }
        if frozen > 0 {
            d.say(format!("froze {frozen} certificates not yet retired"));
        }
        d.effects.push(Effect::Device(device));
        Ok(d)
    }

    /// An exclusion is never part of a claimed certificate's lineage: it freezes certificates,
    /// and frozen ones cannot be retired.
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        w.out_of_place(step, "declare-exclusion")
    }
}

impl fmt::Display for DeclareExclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "declare the output of {} in {} used in {:?}", self.device, self.interval, self.scheme)
    }
}
