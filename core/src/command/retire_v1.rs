//! `RetireV1`: the first retirement format, with free-text beneficiary and purpose, kept for the
//! ledgers that used it; new claims use [`super::Retire`]. The owner uses certificates for good,
//! for a beneficiary, a purpose and a consumption interval, and a claim is recorded. Claims of
//! this format are capped over the claimant's whole metered consumption (and, with hourly
//! matching, per hour). Rules 4 to 6 (owner, no use after retirement,
//! withdrawal or expiry), rule 8 (claims within metered consumption) and rule 9 (hourly matching)
//! are checked here.
//!
//! The claimant needs the consumer role, but that is checked after ownership, so that someone
//! retiring certificates that are not theirs learns that first.

use super::retire::{Beneficiary, Purpose};
use super::Kind;
use crate::proof::walk::{disjoint, Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Owner: final use of certificates for a beneficiary, purpose and consumption interval.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RetireV1 {
    pub bundle: BundleId,
    pub serials: SerialRange,
    pub beneficiary: String,
    pub purpose: String,
    pub consumption: Interval,
}

impl Kind for RetireV1 {
    /// Checked by the rules, after ownership (see the module documentation).
    const ROLE: Option<Role> = None;

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let RetireV1 { bundle: id, serials, beneficiary, purpose, consumption } = self;
        let (id, serials, consumption) = (*id, *serials, *consumption);
        if !r.meta.first_format {
            return refuse(Refusal::Superseded { kind: "retire-v1", by: "retire" });
        }
        check_text("beneficiary", beneficiary, false)?;
        check_text("purpose", purpose, false)?;
        let bundle = r.usable_bundle(id, serials)?;
        if !r.signer.roles.has(Role::Consumer) {
            return refuse(Refusal::MissingRole {
                signer: r.signer.id.short(),
                role: Role::Consumer,
                command: "retire",
            });
        }
        r.check_past_interval(consumption)?;
        let energy =
            serials.len().checked_mul(r.policy().unit_wh).map(Wh).ok_or(Refusal::Overflow("claimed energy"))?;
        let mut account = r.signer.clone();
        let mut d = Decision::default();
        if r.policy().hourly_matching {
            if !consumption.contains(&bundle.production) {
                return refuse(Refusal::HourlyMismatch { production: bundle.production, consumption });
            }
            let mut rec = match r.view.consumption(&account.id, consumption.start)? {
                Some(c) if c.interval == consumption => c,
                _ => return refuse(Refusal::NoConsumption { account: account.id.short(), interval: consumption }),
            };
            rec.claimed = within_consumption(&account.id, consumption, rec.claimed, energy, rec.energy)?;
            d.effects.push(Effect::Consumption(rec));
        } else if !account.metered.is_some_and(|m| m.contains(&consumption)) {
            return refuse(Refusal::NoConsumption { account: account.id.short(), interval: consumption });
        }
        account.claimed = within_consumption(&account.id, consumption, account.claimed, energy, account.consumed)?;
        let text = ClaimText {
            beneficiary: beneficiary.to_string(),
            purpose: purpose.to_string(),
            spec: None,
            purpose_code: None,
        };
        let what = Retiring { bundle: &bundle, serials, energy, consumption, capped: account.id };
        record_claim(r, what, text, &mut d)?;
        d.effects.push(Effect::Account(account));
        Ok(d)
    }

    /// Before the last entry: a retirement of other serials of the claimed serials' bundle (a
    /// split). The last entry: the claim itself.
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        retirement_step(w, step, self.serials, self.consumption)
    }
}

/// A retirement in a claim's proof lineage (both formats). Before the last entry: a retirement
/// of other serials of the claimed serials' bundle (a split). The last entry: the claim itself.
pub(crate) fn retirement_step(
    w: &mut Walk<'_>,
    step: &Step,
    serials: SerialRange,
    consumption: Interval,
) -> Result<&'static str, ProofFailure> {
    if !w.issued {
        return w.out_of_place(step, "retire");
    }
    let (index, claimed, unit) = (step.index, w.claimed, w.policy.unit_wh);
    if !step.last {
        w.owner_signed(index, &step.signer, "a retirement of other serials of the bundle")?;
        disjoint(index, &serials, &claimed)?;
        return Ok("split");
    }
    if w.frozen {
        return Walk::fail(index, "the retirement of certificates an exclusion froze and nobody unfroze");
    }
    let h = w.owner_signed(index, &step.signer, "the retirement")?;
    debug_assert_eq!(serials, claimed);
    if !consumption.is_valid() {
        return Walk::fail(index, format!("the consumption interval {consumption} is empty"));
    }
    w.has_role(index, &step.signer, Role::Consumer, "the claimant")?;
    w.not_expired(index, step.time, "the retirement")?;
    if claimed.len() > h.max_units {
        return Walk::fail(
            index,
            format!(
                "{} certificates retired, but the step that gave them to the claimant covers at most {} ({} Wh each)",
                claimed.len(),
                h.max_units,
                unit
            ),
        );
    }
    let (energy, _, _) = w.reading.expect("issued");
    let bound = energy.0 / unit + w.pre_issuance.len() as u64 + 1;
    if claimed.len() > bound {
        return Walk::fail(index, format!("{} certificates retired from a reading of {energy}", claimed.len()));
    }
    w.retired = true;
    Ok("retirement")
}

/// What a claim says about whom and what for, as text and (new format) as codes.
pub(crate) struct ClaimText {
    pub beneficiary: String,
    pub purpose: String,
    pub spec: Option<Beneficiary>,
    pub purpose_code: Option<Purpose>,
}

/// What a new claim retires and against what: `capped` is the account whose consumption bears it.
pub(crate) struct Retiring<'a> {
    pub bundle: &'a Bundle,
    pub serials: SerialRange,
    pub energy: Wh,
    pub consumption: Interval,
    pub capped: AccountId,
}

/// Retires the serials of a bundle for a new claim and records it: the split, the retired
/// piece, the claim record and the counters.
pub(crate) fn record_claim<V: StateView>(
    r: &mut Rules<'_, V>,
    what: Retiring<'_>,
    text: ClaimText,
    d: &mut Decision,
) -> Result<ClaimId, Rejection> {
    let Retiring { bundle, serials, energy, consumption, capped } = what;
    let id = bundle.id;
    let claim_id = ClaimId(r.meta.next_claim);
    r.meta.next_claim += 1;
    let retired = r.split(bundle, serials, &mut d.effects)?.retired(claim_id).map_err(|state| {
        let (rule, what) = state.unusable().unwrap_or((5, "no use after retirement"));
        Refusal::NotActive { bundle: id, state: state.name(), rule, what }
    })?;
    d.say(format!(
        "claim {claim_id}: retired {} certificates {} ({energy}) of {} produced in {} for {:?}, purpose {:?}, consumption {consumption}",
        serials.len(),
        serials,
        bundle.device,
        bundle.production,
        text.beneficiary,
        text.purpose,
    ));
    d.effects.push(Effect::Claim(Claim {
        id: claim_id,
        claimant: r.signer.id,
        bundle: retired.id,
        serials,
        energy,
        device: bundle.device.clone(),
        production: bundle.production,
        beneficiary: text.beneficiary,
        purpose: text.purpose,
        consumption,
        entry: r.ctx.index,
        capped,
        spec: text.spec,
        purpose_code: text.purpose_code,
        origin: bundle.origin,
        class: bundle.class,
        channel: bundle.channel,
    }));
    d.made(Change::Claim { claim: claim_id, bundle: retired.id, serials, energy });
    d.effects.push(Effect::Bundle(retired));
    d.effects.push(Effect::Meta(r.meta.clone()));
    Ok(claim_id)
}

/// Rule 8 (claims within consumption): `claimed` plus the `energy` asked must stay within the
/// `consumed` energy it is capped by (one hour's reading, or the account's total); returns the
/// new claimed total.
pub(crate) fn within_consumption(
    account: &AccountId,
    consumption: Interval,
    claimed: Wh,
    energy: Wh,
    consumed: Wh,
) -> Result<Wh, Rejection> {
    let total = claimed.checked_add(energy).ok_or(Refusal::Overflow("claimed energy"))?;
    if total > consumed {
        return refuse(Refusal::ClaimExceedsConsumption {
            account: account.short(),
            interval: consumption,
            asked: energy,
            total,
            consumed,
        });
    }
    Ok(total)
}

impl fmt::Display for RetireV1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "retire certificates {} of bundle {} for {:?}, purpose {:?}, consumption {}",
            self.serials, self.bundle, self.beneficiary, self.purpose, self.consumption
        )
    }
}
