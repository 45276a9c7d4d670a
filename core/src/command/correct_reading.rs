//! `CorrectReading`: a meter operator supersedes a device reading with a corrected value and a
//! reason (rule 12, corrections). Before issuance only the value changes. After issuance an
//! upward correction gets a supplementary issue; a downward one claws back the reading's carry
//! and unretired certificates (withdrawn, the correction being the reason), and what cannot be
//! clawed back becomes a deficit of the device, settled from its later issuance; claims already
//! made on the reading's certificates are named. After the policy's window (GEC: three months
//! after the production month) the correction needs a regulator's co-signature.

use super::issuance::{claw_back, issue_supplement};
use super::metering::check_capacity;
use super::{Command, CommandBody, Kind, SignedCommand};
use crate::crypto;
use crate::proof::walk::{Holder, Step, Walk};
use crate::proof::ProofFailure;
use crate::refusal::{Refusal, Rejection};
use crate::rules::{check_text, refuse, Change, Decision, Rules};
use crate::state::*;
use crate::types::*;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Meter operator: the reading of `device` on `channel` for exactly `interval` is `energy`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct CorrectReading {
    pub device: DeviceId,
    pub channel: Channel,
    pub interval: Interval,
    pub energy: Wh,
    pub reason: String,
    /// A regulator's co-signature, needed after the correction window.
    pub approval: Option<Approval>,
}

/// A regulator's co-signature of a correction: an Ed25519 signature by `regulator` over the
/// signing bytes of the command `CorrectReading` (with `approval` empty) as if the regulator
/// submitted it with nonce 0. Any client that can sign a command can make one.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Approval {
    pub regulator: AccountId,
    #[serde(with = "crate::codec::serde_sig")]
    pub signature: [u8; 64],
}

impl CorrectReading {
    /// The command a regulator signs to approve this correction.
    pub fn approval_body(&self, regulator: AccountId) -> CommandBody {
        CommandBody {
            signer: regulator,
            nonce: 0,
            command: Command::CorrectReading(CorrectReading { approval: None, ..self.clone() }),
            expires: None,
        }
    }

    /// The correction approved by `regulator`'s signature over [`CorrectReading::approval_body`].
    pub fn approved(self, regulator: &crate::crypto::Keypair, ledger: &str) -> CorrectReading {
        let signed =
            regulator.sign(ledger, 0, Command::CorrectReading(CorrectReading { approval: None, ..self.clone() }));
        CorrectReading {
            approval: Some(Approval { regulator: regulator.account(), signature: signed.signature }),
            ..self
        }
    }

    fn check_approval<V: StateView>(&self, r: &Rules<'_, V>) -> Result<Option<AccountId>, Rejection> {
        let Some(a) = &self.approval else {
            return Ok(None);
        };
        let signed = SignedCommand { body: self.approval_body(a.regulator), signature: a.signature };
        if crypto::verify(&r.policy().name, signed).is_err() {
            return refuse(Refusal::BadApproval {
                reason: format!("by {} does not verify for this correction", a.regulator.short()),
            });
        }
        match r.view.account(&a.regulator)? {
            Some(acct) if acct.roles.has(Role::Regulator) => Ok(Some(a.regulator)),
            _ => refuse(Refusal::BadApproval {
                reason: format!("is by {}, who is not a registered regulator", a.regulator.short()),
            }),
        }
    }
}

impl Kind for CorrectReading {
    const ROLE: Option<Role> = Some(Role::MeterOperator);

    fn decide<V: StateView>(&self, r: &mut Rules<'_, V>) -> Result<Decision, Rejection> {
        let CorrectReading { device: device_id, channel, interval, energy: new, reason, .. } = self;
        let (channel, interval, new) = (*channel, *interval, *new);
        check_text("reason", reason, false)?;
        let mut device = r.device(device_id)?;
        let mut reading = r.reading_on(device_id, channel, interval)?;
        let old = reading.energy;
        if new == old {
            return refuse(Refusal::NothingToCorrect { device: device_id.clone(), interval, energy: old });
        }
        check_capacity(&device, interval, new)?;
        let approved_by = self.check_approval(r)?;
        let deadline = r.policy().correction_deadline(interval);
        if r.ctx.now >= deadline && approved_by.is_none() {
            return refuse(Refusal::CorrectionNeedsRegulator {
                device: device_id.clone(),
                channel,
                interval,
                deadline,
            });
        }
        if channel == Channel::StorageCharge && reading.netted > Wh::ZERO {
            return refuse(Refusal::ChargeAlreadyNetted { device: device_id.clone(), interval });
        }
        let mut d = Decision::default();
        let mut record = CorrectionRecord {
            entry: r.ctx.index,
            signer: r.signer.id,
            approved_by,
            old,
            new,
            reason: reason.clone(),
            clawed_back: Wh::ZERO,
            deficit: Wh::ZERO,
            claims: Vec::new(),
        };
        d.say(format!("{channel} reading of {device_id} in {interval} corrected from {old} to {new}: {reason:?}"));
        if reading.issuance.is_none() {
            let allocated = reading.allocated().ok_or(Refusal::Overflow("allocated energy"))?;
            if new < allocated {
                return refuse(Refusal::CorrectionBelowAllocated {
                    device: device_id.clone(),
                    interval,
                    energy: new,
                    allocated,
                });
            }
        } else if new > old {
            let extra = Wh(new.0 - old.0);
            if let Some(e) = device.exclusions.iter().find(|e| e.interval.overlaps(&interval)) {
                // Rule 3: excluded output never gets certificates, corrected or not.
                reading.uncertified = reading.uncertified.checked_add(extra).ok_or(Refusal::Overflow("uncertified"))?;
                d.say(format!("the extra {extra} is excluded for {:?}: no certificates", e.scheme));
            } else {
                issue_supplement(r, &mut device, &mut reading, extra, &mut d)?;
                d.say(format!("supplementary issue for the extra {extra}"));
                d.effects.push(Effect::Meta(r.meta.clone()));
            }
        } else {
            let delta = Wh(old.0 - new.0);
            let back = claw_back(r, &mut device, &mut reading, delta, &mut d)?;
            reading.clawed_back =
                reading.clawed_back.checked_add(back.clawed).ok_or(Refusal::Overflow("clawed back"))?;
            reading.deficit = reading.deficit.checked_add(back.deficit).ok_or(Refusal::Overflow("deficit"))?;
            d.say(format!("clawed back {}", back.clawed));
            if back.deficit > Wh::ZERO {
                d.say(format!(
                    "{} could not be clawed back and is owed by {device_id}; claims already made on this reading: {}",
                    back.deficit,
                    if back.claims.is_empty() {
                        "none".to_string()
                    } else {
                        back.claims.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
                    }
                ));
            }
            record.clawed_back = back.clawed;
            record.deficit = back.deficit;
            record.claims = back.claims;
            d.effects.push(Effect::Meta(r.meta.clone()));
        }
        reading.energy = new;
        d.made(Change::Corrected {
            device: device_id.clone(),
            channel,
            interval,
            old,
            new,
            clawed_back: record.clawed_back,
            deficit: record.deficit,
            claims: record.claims.clone(),
        });
        reading.corrections.push(record);
        d.effects.push(Effect::Reading(reading));
        d.effects.push(Effect::Device(device));
        Ok(d)
    }

    /// A correction of the claimed reading: before issuance it sets the reading's energy; after,
    /// an upward one may have given the owner supplementary certificates. A downward one after
    /// issuance only takes certificates back, which the claimed ones were not (they are retired).
    fn lineage(&self, w: &mut Walk<'_>, step: &Step) -> Result<&'static str, ProofFailure> {
        let Some((energy, iv, owner)) = w.reading else {
            return w.out_of_place(step, "correct-reading");
        };
        w.same_output(step.index, &self.device, &self.interval, "the correction")?;
        if self.channel != w.channel {
            return Walk::fail(step.index, format!("the correction is of channel {}, not {}", self.channel, w.channel));
        }
        w.has_role(step.index, &step.signer, Role::MeterOperator, "the correction's signer")?;
        if w.issued && self.energy > energy {
            let extra = self.energy.0 - energy.0;
            let unit = w.policy.unit_wh;
            w.holders.push(Holder {
                account: owner,
                transferable: w.owner_transferable(),
                transfers: 0,
                max_units: extra / unit + 1,
            });
        }
        w.reading = Some((self.energy.max(energy), iv, owner));
        Ok("correction")
    }
}

impl fmt::Display for CorrectReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "correct the {} reading of {} in {} to {} ({:?}){}",
            self.channel,
            self.device,
            self.interval,
            self.energy,
            self.reason,
            self.approval
                .as_ref()
                .map_or(String::new(), |a| format!(", co-signed by regulator {}", a.regulator.short()))
        )
    }
}
