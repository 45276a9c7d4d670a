//! Splitting bundles. A partial transfer, retirement or withdrawal cuts a bundle's serial range
//! into pieces; the pieces always cover exactly the original range, so serials never overlap and
//! never disappear.

use super::refusal::{Refusal, Rejection};
use super::rules::Context;
use super::state::*;
use super::types::*;

/// Cuts `serials` out of `bundle`. The untouched remainder keeps the bundle's id (its left part
/// if there is one, else its right part); the cut piece and a right remainder get new ids whose
/// `parent` is the original. Remainders are pushed to `effects`; the cut piece is returned for
/// the caller to change (owner or state) and record. Returns the new ids too, so the caller can
/// add them to the reading's bundle list.
pub fn split_off(
    meta: &mut Meta,
    bundle: &Bundle,
    serials: SerialRange,
    ctx: Context,
    effects: &mut Vec<Effect>,
) -> Result<(Bundle, Vec<BundleId>), Rejection> {
    debug_assert!(bundle.serials.contains(&serials));
    let mut history = bundle.history.clone();
    history.push(ctx.index);
    if serials == bundle.serials {
        let mut whole = bundle.clone();
        whole.history = history;
        return Ok((whole, Vec::new()));
    }
    let mut new_id = || {
        let id = BundleId(meta.next_bundle);
        meta.next_bundle += 1;
        id
    };
    let left = SerialRange { start: bundle.serials.start, end: serials.start };
    let right = SerialRange { start: serials.end, end: bundle.serials.end };
    // Only the cut piece records this entry: the remainders' serials did not move, so their
    // lineage is unchanged. This keeps a bundle that is sold in many small lots from carrying an
    // ever longer history.
    let piece = |id: BundleId, range: SerialRange, parent: Option<BundleId>, history: Vec<LeafIndex>| Bundle {
        id,
        serials: range,
        parent,
        history,
        ..bundle.clone()
    };
    let mut new_ids = Vec::new();
    let cut = new_id();
    new_ids.push(cut);
    if left.is_empty() {
        effects.push(Effect::Bundle(piece(bundle.id, right, bundle.parent, bundle.history.clone())));
    } else {
        effects.push(Effect::Bundle(piece(bundle.id, left, bundle.parent, bundle.history.clone())));
        if !right.is_empty() {
            let r = new_id();
            new_ids.push(r);
            effects.push(Effect::Bundle(piece(r, right, Some(bundle.id), bundle.history.clone())));
        }
    }
    Ok((piece(cut, serials, Some(bundle.id), history), new_ids))
}

/// Certificates moved by a green-power trade settled after issuance.
pub struct Moved {
    pub effects: Vec<Effect>,
    pub ranges: Vec<MovedRange>,
}

/// One piece moved to the buyer: its new bundle, its serials, and the bundle it was cut from.
pub struct MovedRange {
    pub bundle: BundleId,
    pub serials: SerialRange,
    pub from: BundleId,
}

/// Moves `units` certificates of `reading` still held (active, unexpired, as issued) by the device
/// owner to `to`, marking them as traded with the power (`origin`). Refuses when the generator no longer holds
/// enough: those certificates were sold separately, and selling them again with the power would
/// count the attribute twice.
pub(crate) fn take_from_generator<V: StateView>(
    r: &mut crate::rules::Rules<'_, V>,
    reading: &mut Reading,
    device: &Device,
    units: u64,
    to: &AccountId,
    origin: Origin,
) -> Result<Moved, Rejection> {
    let (view, ctx) = (r.view, r.ctx);
    let meta = &mut r.meta;
    let mut held = Vec::new();
    let mut available = 0u64;
    for id in &reading.bundles {
        if let Some(b) = view.bundle(*id)? {
            if b.owner == device.owner
                && b.state == BundleState::Active
                && b.origin == Origin::Issued
                && !b.is_expired(ctx.now)
            {
                available += b.serials.len();
                held.push(b);
            }
        }
    }
    if available < units || units == 0 {
        return Err(Rejection::Refused(Refusal::TradeCertificatesUnavailable {
            device: device.id.clone(),
            interval: reading.interval,
            needed: units,
            available,
        }));
    }
    let mut moved = Moved { effects: Vec::new(), ranges: Vec::new() };
    let mut remaining = units;
    for b in held {
        if remaining == 0 {
            break;
        }
        let k = remaining.min(b.serials.len());
        let range = SerialRange::new(b.serials.start.0, b.serials.start.0 + k);
        let (piece, new_ids) = split_off(meta, &b, range, ctx, &mut moved.effects)?;
        let piece = piece.traded_to(*to, origin);
        moved.ranges.push(MovedRange { bundle: piece.id, serials: range, from: b.id });
        moved.effects.push(Effect::Bundle(piece));
        reading.bundles.extend(new_ids);
        remaining -= k;
    }
    Ok(moved)
}
