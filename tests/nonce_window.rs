//! Validity windows through the real `Ledger` on the in-memory store with a manual clock: an
//! identical resubmission inside the window returns the original receipt; once the window has
//! passed and another command is accepted, the nonce record is gone from the store (`S x`) and
//! the identical resubmission is refused as expired with nothing changed; a window longer than
//! 24 hours is refused; nonces of commands without a window are never forgotten; and a log that
//! mixes both replays to exactly the stored state (`verify_full`), also when the state is
//! rebuilt from the log on open.

use greenledger::ledger::{Clock, Ledger, Refused};
use greenledger::store::{keys, MemStore, Store};
use greenledger::testkit::*;
use greenledger_core::rules::MAX_VALIDITY;
use greenledger_core::{Refusal, Timestamp};

/// The windowed nonce records (`S x` keys) the store holds.
fn windowed_records(store: &MemStore) -> Vec<Vec<u8>> {
    let (start, _) = keys::windowed_nonces_before(Timestamp(0));
    let mut end = start.clone();
    *end.last_mut().unwrap() += 1;
    store.scan(&start, &end, usize::MAX).unwrap().into_iter().map(|(k, _)| k).collect()
}

/// The permanent nonce records (`S n` keys) the store holds.
fn permanent_records(store: &MemStore) -> usize {
    store.scan(b"Sn", b"So", usize::MAX).unwrap().len()
}

fn expired(outcome: Result<greenledger::ledger::Receipt, Refused>) -> (Timestamp, Timestamp) {
    match outcome {
        Err(Refused::Rule(Refusal::CommandExpired { expires, now })) => (expires, now),
        other => panic!("not refused as expired: {other:?}"),
    }
}

#[test]
fn identical_resubmission_inside_the_window_returns_the_original_receipt() {
    let mut w = World::new();
    let meter = w.meter.clone();
    let signed = w.sign_valid_for(&meter, 3600, post_generation(wind(), hour(0), 3 * MWH));
    let first = w.submit_signed(signed.clone()).expect("accepted");
    assert!(!first.duplicate);
    assert_eq!(windowed_records(&w.store).len(), 1);

    w.clock.advance(3600); // the window's last second
    let before = w.snapshot();
    let again = w.submit_signed(signed).expect("the original receipt");
    assert!(again.duplicate);
    assert_eq!((again.index, again.leaf_hash), (first.index, first.leaf_hash));
    assert_eq!(w.ledger.size(), first.index.0 + 1, "nothing appended");
    assert_eq!(w.snapshot(), before, "a duplicate changed the store");
}

#[test]
fn after_the_window_the_nonce_is_forgotten_and_the_command_refused_as_expired() {
    let mut w = World::new();
    let meter = w.meter.clone();
    let signed = w.sign_valid_for(&meter, 600, post_generation(wind(), hour(0), 3 * MWH));
    let expires = signed.body.expires.unwrap();
    w.submit_signed(signed.clone()).expect("accepted");
    assert_eq!(windowed_records(&w.store), vec![keys::windowed_nonce(expires, &meter.account(), signed.body.nonce)]);

    // Past the window: refused as expired at once, the record still there until the next entry.
    w.clock.advance(601);
    let before = w.snapshot();
    assert_eq!(expired(w.submit_signed(signed.clone())), (expires, Timestamp(expires.0 + 1)));
    assert_eq!(w.snapshot(), before);

    // Another command is accepted (without a window): the passed window's record is deleted.
    let permanent = permanent_records(&w.store);
    w.generation(1, MWH);
    assert!(windowed_records(&w.store).is_empty(), "the passed window's nonce is still stored");
    assert_eq!(permanent_records(&w.store), permanent + 1);

    // The identical command can never be accepted again, and its refusal changes nothing.
    let (size, before) = (w.ledger.size(), w.snapshot());
    let (e, now) = expired(w.submit_signed(signed));
    assert_eq!((e, now), (expires, Timestamp(expires.0 + 1)));
    assert_eq!((w.ledger.size(), w.snapshot()), (size, before), "the refusal changed the ledger");
    let message = Refused::Rule(Refusal::CommandExpired { expires: e, now }).to_string();
    assert!(message.contains("rule 10") && message.contains("new nonce"), "{message}");
    w.ledger.verify_full().expect("the log replays to the stored state");
}

#[test]
fn a_window_longer_than_a_day_is_refused() {
    let mut w = World::new();
    let meter = w.meter.clone();
    let now = w.clock.now().0;
    let long = w.sign_until(&meter, Timestamp(now + MAX_VALIDITY + 1), post_generation(wind(), hour(0), MWH));
    let before = w.snapshot();
    match w.submit_signed(long) {
        Err(Refused::Rule(r @ Refusal::WindowTooLong { .. })) => {
            assert_eq!(r.rule(), Some(10));
            assert!(r.to_string().contains("at most 24 hours"), "{r}");
        }
        other => panic!("not refused as too long: {other:?}"),
    }
    assert_eq!(w.snapshot(), before);
    // A full day is the longest window accepted.
    let day = w.sign_until(&meter, Timestamp(now + MAX_VALIDITY), post_generation(wind(), hour(0), MWH));
    w.submit_signed(day).expect("a 24-hour window is accepted");
}

/// Commands without a window keep their nonce records for ever: a month later the identical
/// command is still recognised and answered with its original receipt.
#[test]
fn nonces_without_a_window_are_never_forgotten() {
    let mut w = World::new();
    let meter = w.meter.clone();
    let legacy = w.sign(&meter, post_generation(wind(), hour(0), MWH));
    let first = w.submit_signed(legacy.clone()).expect("accepted");
    let permanent = permanent_records(&w.store);
    for day in 1..=30 {
        w.clock.advance(86_400);
        let windowed = w.sign_valid_for(&meter, 60, post_generation(wind(), hour(day), MWH));
        w.submit_signed(windowed).expect("accepted");
        assert_eq!(windowed_records(&w.store).len(), 1, "day {day}: only today's window is remembered");
    }
    assert_eq!(permanent_records(&w.store), permanent);
    let again = w.submit_signed(legacy).expect("still the original receipt");
    assert!(again.duplicate);
    assert_eq!(again.index, first.index);
}

/// Windowed and unwindowed commands, windows passing in between, replay to exactly the stored
/// state; a store of the previous state format is rebuilt from the log on open, windowed nonce
/// records included.
#[test]
fn a_log_of_both_formats_replays_and_rebuilds() {
    let mut w = World::new();
    let (meter, generator) = (w.meter.clone(), w.generator.clone());
    for n in 0..6 {
        let reading = post_generation(wind(), hour(n), 2 * MWH);
        let signed = if n % 2 == 0 { w.sign_valid_for(&meter, 1800, reading) } else { w.sign(&meter, reading) };
        w.submit_signed(signed).expect("reading accepted");
        let issue = issue(wind(), hour(n));
        let signed = if n % 3 == 0 { w.sign(&generator, issue) } else { w.sign_valid_for(&generator, 7200, issue) };
        w.submit_signed(signed).expect("issuance accepted");
        w.clock.advance(3600);
    }
    let report = w.ledger.verify_full().expect("replays");
    assert!(report.records > 0);
    let stored = w.snapshot();
    assert!(!windowed_records(&w.store).is_empty(), "the last windows are still open");

    // Make the store look like the previous format: no `S x` records, format 3.
    for k in windowed_records(&w.store) {
        w.store.raw_delete(&k);
    }
    w.store.raw_put(keys::STATE_FORMAT, &3u32.to_be_bytes());
    let reopened = Ledger::open(w.store.clone(), log_signer(), w.clock.clone()).expect("opens");
    assert_eq!(w.snapshot(), stored, "the rebuilt state differs");
    reopened.verify_full().expect("replays after the rebuild");
}
