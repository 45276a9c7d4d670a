//! Malformed commands, amounts and intervals.

use super::{case, msg, pb, Case, Cx};
use crate::fixture::huge;
use crate::wire::ReqExt;
use greenledger::testkit::{hour, t0, wind, HOUR, LEDGER};
use greenledger_core::calendar::unix;
use greenledger_core::command as cmd;
use greenledger_core::{Command, DeviceId, Interval, Policy, Role, Roles, Technology, Timestamp, Wh};
use prost::Message;
use tonic::Code;

/// Malformed commands.
pub fn malformed(cx: &Cx) -> Vec<Case> {
    use Code::*;
    let Cx { w, one, ref weak_signer, .. } = *cx;
    vec![
        // Malformed commands.
        case(
            "no command kind",
            msg(cx.body_with(&|b| b.command = Some(pb::Command { kind: None }))),
            InvalidArgument,
            "command: is empty",
        ),
        case("no command", msg(cx.body_with(&|b| b.command = None)), InvalidArgument, "body.command: is missing"),
        case(
            "role 99",
            msg(w.bytes(
                &w.operator,
                Command::RegisterAccount(cmd::RegisterAccount {
                    account: w.stranger.account(),
                    name: "x".into(),
                    roles: Roles::of(&[Role::Consumer]),
                }),
            ))
            .map_msg(|b| {
                let mut c = pb::SignedCommand::decode(b.as_slice()).unwrap();
                if let Some(pb::command::Kind::RegisterAccount(r)) =
                    &mut c.body.as_mut().unwrap().command.as_mut().unwrap().kind
                {
                    r.roles = vec![99];
                }
                c.encode_to_vec()
            }),
            InvalidArgument,
            "99 is not a role",
        ),
        case(
            "interval missing",
            msg(cx.body_with(&|b| {
                if let Some(pb::command::Kind::PostGeneration(g)) = &mut b.command.as_mut().unwrap().kind {
                    g.interval = None;
                }
            })),
            InvalidArgument,
            "post_generation.interval: is missing",
        ),
        case(
            "transfer without serials",
            cx.signed(&w.consumer, cx.transfer(one, w.consumer2.account())).map_msg(|b| {
                let mut c = pb::SignedCommand::decode(b.as_slice()).unwrap();
                c.body.as_mut().unwrap().command = Some(pb::Command {
                    kind: Some(pb::command::Kind::Transfer(pb::Transfer {
                        bundle: w.active.0,
                        serials: None,
                        to: w.consumer2.account().0.to_vec(),
                    })),
                });
                c.encode_to_vec()
            }),
            InvalidArgument,
            "transfer.serials: is missing",
        ),
        case(
            "transfer to an account of 5 bytes",
            cx.signed(&w.consumer, cx.transfer(one, w.consumer2.account())).map_msg(|b| {
                let mut c = pb::SignedCommand::decode(b.as_slice()).unwrap();
                if let Some(pb::command::Kind::Transfer(t)) =
                    &mut c.body.as_mut().unwrap().command.as_mut().unwrap().kind
                {
                    t.to = vec![1; 5];
                }
                c.encode_to_vec()
            }),
            InvalidArgument,
            "transfer.to: must be a 32-byte Ed25519 public key, got 5 bytes",
        ),
        case(
            "device code with spaces",
            cx.signed(
                &w.meter,
                Command::PostGeneration(cmd::PostGeneration {
                    device: DeviceId("WIND 1".into()),
                    interval: hour(10),
                    energy: Wh(1),
                }),
            ),
            InvalidArgument,
            "post_generation.device",
        ),
        case(
            "device code of 65 bytes",
            cx.signed(
                &w.meter,
                Command::PostGeneration(cmd::PostGeneration {
                    device: DeviceId("D".repeat(65)),
                    interval: hour(10),
                    energy: Wh(1),
                }),
            ),
            InvalidArgument,
            "post_generation.device",
        ),
        case(
            "unknown technology",
            cx.signed(
                &w.operator,
                Command::RegisterDevice(cmd::RegisterDevice {
                    device: DeviceId("X-1".into()),
                    owner: w.generator.account(),
                    technology: Technology::Wind,
                    capacity_w: 1,
                    region: "r".into(),
                    commissioned: Timestamp(0),
                    attributes: Default::default(),
                }),
            )
            .map_msg(|b| {
                let mut c = pb::SignedCommand::decode(b.as_slice()).unwrap();
                if let Some(pb::command::Kind::RegisterDevice(r)) =
                    &mut c.body.as_mut().unwrap().command.as_mut().unwrap().kind
                {
                    r.technology = "fusion".into();
                }
                c.encode_to_vec()
            }),
            InvalidArgument,
            "\"fusion\" is not one of",
        ),
        case(
            "genesis again",
            cx.signed(
                &w.operator,
                Command::Genesis(cmd::Genesis { policy: Policy::new(LEDGER), operator_name: "again".into() }),
            ),
            FailedPrecondition,
            "genesis cannot be repeated",
        ),
        case(
            "register a weak account key",
            cx.signed(
                &w.operator,
                Command::RegisterAccount(cmd::RegisterAccount {
                    account: weak_signer.body.signer,
                    name: "x".into(),
                    roles: Roles::of(&[Role::Consumer]),
                }),
            ),
            InvalidArgument,
            "not a valid Ed25519 public key",
        ),
    ]
}

/// Amounts: zero, overflow, more than there is.
pub fn amounts(cx: &Cx) -> Vec<Case> {
    use Code::*;
    let Cx { w, .. } = *cx;
    let m = &w.meter;
    vec![
        // Amounts.
        case(
            "zero capacity",
            cx.signed(
                &w.operator,
                Command::RegisterDevice(cmd::RegisterDevice {
                    device: DeviceId("ZERO-1".into()),
                    owner: w.generator.account(),
                    technology: Technology::Solar,
                    capacity_w: 0,
                    region: "r".into(),
                    commissioned: Timestamp(0),
                    attributes: Default::default(),
                }),
            ),
            InvalidArgument,
            "capacity must be more than 0 W",
        ),
        case(
            "zero direct supply",
            cx.signed(
                m,
                Command::PostDirectSupply(cmd::PostDirectSupply {
                    device: wind(),
                    consumer: w.consumer.account(),
                    interval: hour(1),
                    energy: Wh(0),
                }),
            ),
            InvalidArgument,
            "energy must be more than 0 Wh",
        ),
        case(
            "u64::MAX Wh from a 10 MW device",
            cx.signed(m, cx.gen(10, u64::MAX)),
            FailedPrecondition,
            "rule 2 (no issuance beyond physics)",
        ),
        case(
            "direct supplies summing past u64",
            cx.signed(
                m,
                Command::PostDirectSupply(cmd::PostDirectSupply {
                    device: huge(),
                    consumer: w.consumer.account(),
                    interval: hour(0),
                    energy: Wh(100),
                }),
            ),
            InvalidArgument,
            "amount overflow: allocated energy",
        ),
        case(
            "consumption summing past u64",
            cx.signed(
                m,
                Command::PostConsumption(cmd::PostConsumption {
                    account: w.consumer2.account(),
                    interval: hour(1),
                    energy: Wh(1),
                }),
            ),
            InvalidArgument,
            "amount overflow: total consumption",
        ),
        case(
            "trade of u64::MAX Wh",
            cx.signed(
                &w.platform,
                Command::SettleTrade(cmd::SettleTrade {
                    device: wind(),
                    interval: hour(2),
                    buyer: w.consumer.account(),
                    energy: Wh(u64::MAX),
                }),
            ),
            InvalidArgument,
            "is not a whole number of certificates",
        ),
    ]
}

/// Intervals: empty, reversed, misaligned, in the future.
pub fn intervals(cx: &Cx) -> Vec<Case> {
    use Code::*;
    let Cx { w, .. } = *cx;
    let m = &w.meter;
    vec![
        // Intervals.
        case(
            "empty interval",
            cx.signed(
                m,
                Command::PostGeneration(cmd::PostGeneration {
                    device: wind(),
                    interval: Interval::new(t0() + 99 * HOUR, t0() + 99 * HOUR),
                    energy: Wh(1),
                }),
            ),
            InvalidArgument,
            "is empty or reversed",
        ),
        case(
            "reversed interval",
            cx.signed(
                m,
                Command::PostGeneration(cmd::PostGeneration {
                    device: wind(),
                    interval: Interval::new(t0() + 99 * HOUR, t0() + 98 * HOUR),
                    energy: Wh(1),
                }),
            ),
            InvalidArgument,
            "is empty or reversed",
        ),
        case(
            "overlapping reading",
            cx.signed(
                m,
                Command::PostGeneration(cmd::PostGeneration {
                    device: wind(),
                    interval: Interval::new(t0() + HOUR / 2, t0() + 3 * HOUR / 2),
                    energy: Wh(1),
                }),
            ),
            FailedPrecondition,
            "rule 1 (one reading per interval)",
        ),
        case(
            "far future interval",
            cx.signed(
                m,
                Command::PostGeneration(cmd::PostGeneration {
                    device: wind(),
                    interval: Interval::new(unix(2099, 1, 1, 0, 0, 0), unix(2099, 1, 1, 1, 0, 0)),
                    energy: Wh(1),
                }),
            ),
            InvalidArgument,
            "ends in the future",
        ),
        case(
            "interval ending at u64::MAX",
            cx.signed(
                m,
                Command::PostGeneration(cmd::PostGeneration {
                    device: wind(),
                    interval: Interval::new(u64::MAX - HOUR, u64::MAX),
                    energy: Wh(1),
                }),
            ),
            InvalidArgument,
            "ends in the future",
        ),
        case(
            "interval of two years",
            cx.signed(
                m,
                Command::PostGeneration(cmd::PostGeneration {
                    device: wind(),
                    interval: Interval::new(unix(2023, 1, 1, 0, 0, 0), unix(2025, 1, 1, 0, 0, 0)),
                    energy: Wh(1),
                }),
            ),
            InvalidArgument,
            "longer than the 366 days",
        ),
        case(
            "issue twice",
            cx.signed(&w.generator, Command::Issue(cmd::Issue { device: wind(), interval: hour(0) })),
            FailedPrecondition,
            "was already issued",
        ),
    ]
}
