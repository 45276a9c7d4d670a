//! Validity windows and the nonces they let the ledger forget, decided by the core alone on a
//! [`MemState`]: a windowed command is accepted only inside its window (at most 24 hours
//! ahead), its nonce is recognised exactly by (window end, signer, nonce) while the window is
//! open, and forgotten by the first command accepted after it; an identical resubmission after
//! that is refused as expired. Nonces of commands without a window are never forgotten. Every
//! test ends with a replay of the log that gives the same state.

mod common;

use common::*;
use greenledger_core::refusal::Rejection;
use greenledger_core::rules::MAX_VALIDITY;
use greenledger_core::*;

/// A command the operator may sign at any time: a fresh account's registration.
fn register(n: u8) -> Command {
    Command::RegisterAccount(command::RegisterAccount {
        account: key(100 + n).account(),
        name: format!("Account {n}"),
        roles: Roles::of(&[Role::Consumer]),
    })
}

fn refusal(r: Result<Decision, Rejection>) -> Refusal {
    match r {
        Err(Rejection::Refused(r)) => r,
        other => panic!("not a refusal: {other:?}"),
    }
}

fn ledger() -> Ledger {
    Ledger::new(policy::Policy::new(NAME))
}

/// Inside its window an identical resubmission is the duplicate of the first entry; the same
/// (window, signer, nonce) with another command is a reused nonce; the same nonce with another
/// window is another command.
#[test]
fn a_window_recognises_its_nonces_exactly() {
    let mut l = ledger();
    // The harness signs with nonces from 1 up; 1_000 is unused.
    let op = l.cast.operator.clone();
    let until = Timestamp(l.now + 3600);
    let first = op.sign_until(NAME, 1_000, until, register(1));
    l.submit(first.clone()).expect("accepted");
    let entry = LeafIndex(l.log.len() as u64 - 1);
    assert!(l.state.windowed_nonces.contains_key(&(until, op.account(), 1_000)));
    assert!(!l.state.nonces.contains_key(&(op.account(), 1_000)), "a windowed nonce is not a permanent one");

    l.now += 600;
    let before = l.state.clone();
    assert_eq!(refusal(l.submit(first.clone())), Refusal::Duplicate { entry });
    let other = op.sign_until(NAME, 1_000, until, register(2));
    let r = refusal(l.submit(other));
    assert!(matches!(r, Refusal::NonceReused { nonce: 1_000, entry: e, .. } if e == entry), "{r:?}");
    assert_eq!(l.state, before, "refusals changed the state");

    // The same nonce in another window, and without a window, are other commands.
    l.ok_signed(op.sign_until(NAME, 1_000, Timestamp(until.0 + 1), register(2)));
    l.ok_signed(op.sign(NAME, 1_000, register(3)));
    l.replays();
}

/// The window is `now <= expires <= now + MAX_VALIDITY`: both ends are accepted, one second
/// outside either is refused naming rule 10, both times and the limit.
#[test]
fn the_window_must_be_open_and_at_most_a_day_long() {
    let mut l = ledger();
    let op = l.cast.operator.clone();
    let now = l.now;
    assert_eq!(MAX_VALIDITY, 24 * 3600);
    l.ok_signed(op.sign_until(NAME, 1, Timestamp(now), register(1)));
    l.ok_signed(op.sign_until(NAME, 2, Timestamp(now + MAX_VALIDITY), register(2)));

    let before = (l.state.clone(), l.log.len());
    let late = refusal(l.submit(op.sign_until(NAME, 3, Timestamp(now - 1), register(3))));
    assert_eq!(late, Refusal::CommandExpired { expires: Timestamp(now - 1), now: Timestamp(now) });
    let text = late.to_string();
    for part in ["rule 10", "2026-01-31T23:59:59Z", "2026-02-01T00:00:00Z", "new nonce"] {
        assert!(text.contains(part), "{text}");
    }
    let long = refusal(l.submit(op.sign_until(NAME, 4, Timestamp(now + MAX_VALIDITY + 1), register(4))));
    assert_eq!(
        long,
        Refusal::WindowTooLong { expires: Timestamp(now + MAX_VALIDITY + 1), now: Timestamp(now), max_hours: 24 }
    );
    assert!(long.to_string().contains("at most 24 hours"), "{long}");
    assert_eq!(long.kind(), RefusalKind::Invalid);
    assert_eq!((l.state.clone(), l.log.len()), before, "refusals changed the state");
    l.replays();
}

/// The first command accepted after a window has passed forgets that window's nonces (and only
/// those); the identical command is then refused as expired, not accepted again.
#[test]
fn nonces_are_forgotten_once_their_window_has_passed() {
    let mut l = ledger();
    let op = l.cast.operator.clone();
    let (a, b) = (Timestamp(l.now + 100), Timestamp(l.now + 200));
    let first = op.sign_until(NAME, 1, a, register(1));
    l.ok_signed(first.clone());
    l.ok_signed(op.sign_until(NAME, 2, b, register(2)));
    let permanent = l.state.nonces.len();
    assert_eq!(l.state.windowed_nonces.len(), 2);

    // At the window's end the record is still needed: the duplicate is recognised.
    l.now = a.0;
    assert!(matches!(refusal(l.submit(first.clone())), Refusal::Duplicate { .. }));
    // A second later the command is expired, whether or not its record is still there.
    l.now = a.0 + 1;
    assert_eq!(l.state.windowed_nonces.len(), 2, "nothing accepted since: nothing forgotten");
    let expired = Refusal::CommandExpired { expires: a, now: Timestamp(a.0 + 1) };
    assert_eq!(refusal(l.submit(first.clone())), expired);
    // The next accepted command forgets window `a`, not window `b`.
    let m = l.cast.meter.clone();
    l.ok(
        &m,
        Command::PostConsumption(command::PostConsumption {
            account: l.cast.consumer.account(),
            interval: hour(0),
            energy: Wh(MWH),
        }),
    );
    assert_eq!(l.state.windowed_nonces.keys().map(|k| k.0).collect::<Vec<_>>(), vec![b]);
    assert_eq!(l.state.nonces.len(), permanent + 1, "permanent nonces are never forgotten");
    let before = (l.state.clone(), l.log.len());
    assert_eq!(refusal(l.submit(first)), expired);
    assert_eq!((l.state.clone(), l.log.len()), before);

    // Much later: every window has passed and is forgotten; the nonces without a window stay.
    l.now += 30 * 86_400;
    l.ok_signed(op.sign_until(NAME, 3, Timestamp(l.now + 60), register(3)));
    assert_eq!(l.state.windowed_nonces.len(), 1, "only the new window's nonce");
    assert_eq!(l.state.nonces.len(), permanent + 1);
    l.replays();
}

/// A windowed genesis founds a ledger like any other (its nonce is a windowed one), and an
/// expired genesis is refused.
#[test]
fn a_genesis_may_be_windowed() {
    let op = key(1);
    let now = Timestamp(greenledger_core::calendar::unix(2026, 2, 1, 0, 0, 0));
    let genesis =
        || Command::Genesis(command::Genesis { policy: policy::Policy::new(NAME), operator_name: "Registry".into() });
    let empty = state::MemState::default();
    let decide = |signed: SignedCommand| {
        let auth = crypto::verify(NAME, signed).expect("signed");
        rules::decide(&empty, &auth, Context { index: LeafIndex(0), now })
    };
    let late = decide(op.sign_until(NAME, 0, Timestamp(now.0 - 1), genesis()));
    assert!(matches!(late, Err(Rejection::Refused(Refusal::CommandExpired { .. }))), "{late:?}");
    let d = decide(op.sign_until(NAME, 0, now, genesis())).expect("accepted");
    assert!(d.effects.iter().any(|e| matches!(e, state::Effect::WindowedNonce { expires, .. } if *expires == now)));
    assert_eq!(d.effects.last(), Some(&state::Effect::ForgetNonces { before: now }));
}
