//! Requests that fail before any rule runs: transport and protobuf, signatures and keys, and
//! unknown things, serial ranges, ownership, text and queries.

use super::{case, msg, pb, Case, Cx, SUBMIT};
use crate::wire::{frame, Req};
use greenledger::testkit::{hour, wind, MWH};
use greenledger_core::command as cmd;
use greenledger_core::{BundleId, Command, DeviceId, Role, Roles, SerialRange, Wh};
use prost::Message;
use tonic::Code;

/// Transport, protobuf, signatures and keys.
pub fn wire_and_signatures(cx: &Cx) -> Vec<Case> {
    use Code::*;
    let Cx { w, one, ref huge_text, ref replay_nonce, ref forged, ref other_ledger, ref weak_signer, ref good, .. } =
        *cx;
    vec![
        // Transport and protobuf.
        case("garbage protobuf (invalid wire type)", msg(vec![0x0f, 0x0f, 0x0f]), Internal, "failed to decode"),
        case("truncated protobuf", msg(good.encode_to_vec()[..40].to_vec()), Internal, "failed to decode"),
        case("random bytes", msg((0..200u32).map(|i| (i * 7919 % 251) as u8).collect()), Internal, "failed to decode"),
        case("empty message", msg(Vec::new()), InvalidArgument, "body: is missing"),
        case("frame shorter than its length prefix", Req::Frame(SUBMIT, frame(0, 100, "\x0a\x05hello")), Internal, ""),
        case(
            "frame with compressed flag, no encoding",
            Req::Frame(SUBMIT, frame(1, 3, "abc")),
            Internal,
            "compressed-flag",
        ),
        case("frame with invalid flag", Req::Frame(SUBMIT, frame(7, 3, "abc")), Internal, "invalid compression flag"),
        case(
            "frame announcing 2 GiB",
            Req::Frame(SUBMIT, frame(0, 0x7f00_0000, "")),
            OutOfRange,
            "message length too large",
        ),
        case(
            "message over 1 MiB",
            cx.signed(&w.consumer, cx.retire(one, w.active, huge_text, "p")),
            OutOfRange,
            "message length too large",
        ),
        case(
            "message just under 1 MiB",
            cx.signed(&w.consumer, cx.retire(one, w.active, &"z".repeat((1 << 20) - 400), "p")),
            InvalidArgument,
            "beneficiary product: is 1048176 bytes long",
        ),
        case("unknown method", Req::Msg("/greenledger.v1.Ledger/Nope", vec![]), Unimplemented, ""),
        // Signatures and keys.
        case(
            "missing signature",
            msg(cx.with(&|c| c.signature.clear())),
            InvalidArgument,
            "signature: must be 64 bytes, got 0",
        ),
        case(
            "short signature",
            msg(cx.with(&|c| c.signature.truncate(10))),
            InvalidArgument,
            "must be 64 bytes, got 10",
        ),
        case(
            "flipped signature bit",
            msg(cx.with(&|c| c.signature[5] ^= 1)),
            Unauthenticated,
            "signature does not verify",
        ),
        case(
            "zero signature",
            msg(cx.with(&|c| c.signature = vec![0; 64])),
            Unauthenticated,
            "signature does not verify",
        ),
        case("signature by another key", msg(pb(forged)), Unauthenticated, "signature does not verify"),
        case("signature for another ledger", msg(pb(other_ledger)), Unauthenticated, "signature does not verify"),
        case(
            "signed, then body changed",
            msg(cx.body_with(&|b| b.nonce += 1)),
            Unauthenticated,
            "signature does not verify",
        ),
        case(
            "signer of 31 bytes",
            msg(cx.body_with(&|b| b.signer.pop().map(|_| ()).unwrap())),
            InvalidArgument,
            "body.signer",
        ),
        case("weak signer key", msg(pb(weak_signer)), Unauthenticated, "is not a valid Ed25519 public key"),
        case(
            "unregistered signer",
            cx.signed(&w.stranger, cx.gen(10, MWH)),
            Unauthenticated,
            "is not a registered account",
        ),
        case("consumer posts generation", cx.signed(&w.consumer, cx.gen(10, MWH)), PermissionDenied, "lacks the"),
        case(
            "generator registers an account",
            cx.signed(
                &w.generator,
                Command::RegisterAccount(cmd::RegisterAccount {
                    account: w.stranger.account(),
                    name: "x".into(),
                    roles: Roles::of(&[Role::Operator]),
                }),
            ),
            PermissionDenied,
            "lacks the",
        ),
        case(
            "platform withdraws",
            cx.signed(
                &w.platform,
                Command::Withdraw(cmd::Withdraw { bundle: w.active, serials: one, reason: "r".into() }),
            ),
            PermissionDenied,
            "lacks the",
        ),
        case(
            "replayed nonce, other command",
            msg(pb(replay_nonce)),
            AlreadyExists,
            "rule 10 (no replay): nonce 7777777",
        ),
    ]
}

/// Unknown things, serial ranges and ownership, text, queries.
pub fn ownership_text_queries(cx: &Cx) -> Vec<Case> {
    use Code::*;
    let Cx { w, start, end, one, ref long_ascii, ref long_unicode, .. } = *cx;
    let m = &w.meter;
    vec![
        // Unknown things.
        case(
            "unknown device",
            cx.signed(
                m,
                Command::PostGeneration(cmd::PostGeneration {
                    device: DeviceId("NOPE-1".into()),
                    interval: hour(10),
                    energy: Wh(1),
                }),
            ),
            NotFound,
            "device NOPE-1 is not registered",
        ),
        case(
            "unknown bundle",
            cx.signed(
                &w.consumer,
                Command::Transfer(cmd::Transfer { bundle: BundleId(99_999), serials: one, to: w.consumer2.account() }),
            ),
            NotFound,
            "bundle B99999 does not exist",
        ),
        case(
            "transfer to an unknown account",
            cx.signed(&w.consumer, cx.transfer(one, w.stranger.account())),
            NotFound,
            "is not registered",
        ),
        case(
            "consumption of an unknown account",
            cx.signed(
                m,
                Command::PostConsumption(cmd::PostConsumption {
                    account: w.stranger.account(),
                    interval: hour(30),
                    energy: Wh(1),
                }),
            ),
            NotFound,
            "is not registered",
        ),
        case(
            "reading that does not exist",
            cx.signed(&w.generator, Command::Issue(cmd::Issue { device: wind(), interval: hour(40) })),
            NotFound,
            "has no export reading",
        ),
        // Serial ranges and ownership.
        case(
            "serials outside the bundle",
            cx.signed(&w.consumer, cx.transfer(SerialRange::new(end, end + 1), w.consumer2.account())),
            InvalidArgument,
            "are not a non-empty range inside bundle",
        ),
        case(
            "serials reversed",
            cx.signed(&w.consumer, cx.transfer(SerialRange::new(end, start), w.consumer2.account())),
            InvalidArgument,
            "are not a non-empty range inside bundle",
        ),
        case(
            "serials empty",
            cx.signed(&w.consumer, cx.transfer(SerialRange::new(start, start), w.consumer2.account())),
            InvalidArgument,
            "are not a non-empty range inside bundle",
        ),
        case(
            "serials up to u64::MAX",
            cx.signed(&w.consumer, cx.transfer(SerialRange::new(start, u64::MAX), w.consumer2.account())),
            InvalidArgument,
            "are not a non-empty range inside bundle",
        ),
        case(
            "transfer to oneself",
            cx.signed(&w.consumer, cx.transfer(one, w.consumer.account())),
            InvalidArgument,
            "cannot transfer certificates with itself",
        ),
        case(
            "transfer of someone else's bundle",
            cx.signed(&w.consumer2, cx.transfer(one, w.consumer2.account())),
            PermissionDenied,
            "rule 4 (one owner per certificate)",
        ),
        case(
            "retire withdrawn certificates",
            cx.signed(&w.consumer, cx.retire(w.withdrawn.1, w.withdrawn.0, "b", "p")),
            FailedPrecondition,
            "rule 6 (no use after withdrawal)",
        ),
        case(
            "transfer withdrawn certificates",
            cx.signed(
                &w.consumer,
                Command::Transfer(cmd::Transfer {
                    bundle: w.withdrawn.0,
                    serials: w.withdrawn.1,
                    to: w.consumer2.account(),
                }),
            ),
            FailedPrecondition,
            "is withdrawn",
        ),
        case(
            "retire frozen certificates",
            cx.signed(&w.consumer, cx.retire(w.frozen.1, w.frozen.0, "b", "p")),
            FailedPrecondition,
            "frozen by an exclusion",
        ),
        case(
            "withdraw withdrawn certificates",
            cx.signed(
                &w.regulator,
                Command::Withdraw(cmd::Withdraw {
                    bundle: w.withdrawn.0,
                    serials: w.withdrawn.1,
                    reason: "again".into(),
                }),
            ),
            FailedPrecondition,
            "only certificates not yet retired or withdrawn",
        ),
        case(
            "generator issues for a device it does not own",
            cx.signed(&w.consumer, Command::Issue(cmd::Issue { device: wind(), interval: hour(1) })),
            PermissionDenied,
            "only the owner may request issuance",
        ),
        // Text.
        case(
            "beneficiary of 300 bytes",
            cx.signed(&w.consumer, cx.retire(one, w.active, long_ascii, "p")),
            InvalidArgument,
            "beneficiary product: is 300 bytes long",
        ),
        case(
            "purpose of 300 bytes of Chinese",
            cx.signed(&w.consumer, cx.retire(one, w.active, "b", long_unicode)),
            InvalidArgument,
            "purpose: is 300 bytes long",
        ),
        case(
            "control character in purpose",
            cx.signed(&w.consumer, cx.retire(one, w.active, "b", "ok\u{7}bell")),
            InvalidArgument,
            "contains the control character U+0007",
        ),
        case(
            "newline in beneficiary",
            cx.signed(&w.consumer, cx.retire(one, w.active, "a\nb", "p")),
            InvalidArgument,
            "contains the control character U+000A",
        ),
        case(
            "blank beneficiary",
            cx.signed(&w.consumer, cx.retire(one, w.active, "   ", "p")),
            InvalidArgument,
            "beneficiary product: must not be empty",
        ),
        // Queries.
        case(
            "GetEntries start after end",
            Req::Msg("/greenledger.v1.Ledger/GetEntries", pb::GetEntriesRequest { start: 5, end: 1 }.encode_to_vec()),
            InvalidArgument,
            "start 5 is after end 1",
        ),
        case(
            "inclusion proof beyond the tree",
            Req::Msg(
                "/greenledger.v1.Ledger/GetInclusionProof",
                pb::InclusionProofRequest { index: 1 << 40, tree_size: 0 }.encode_to_vec(),
            ),
            InvalidArgument,
            "is not below tree size",
        ),
        case(
            "consistency proof from 0",
            Req::Msg(
                "/greenledger.v1.Ledger/GetConsistencyProof",
                pb::ConsistencyProofRequest { first: 0, second: 1 }.encode_to_vec(),
            ),
            InvalidArgument,
            "need 0 < first <= second",
        ),
        case(
            "GetAccount of 5 bytes",
            Req::Msg("/greenledger.v1.Ledger/GetAccount", pb::AccountRequest { account: vec![1; 5] }.encode_to_vec()),
            InvalidArgument,
            "must be a 32-byte Ed25519 public key",
        ),
    ]
}
