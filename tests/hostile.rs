//! Hostile input through the real gRPC server: a table of requests, each with the status code
//! and message fragment it must get, and the check that nothing changed: the checkpoint (size
//! and root) and every account's record and holdings are the same before and after.
//!
//! Requests go out as raw bytes (a pass-through codec), so malformed protobuf is real; a few
//! cases hand-write the gRPC frame (length prefix and flags) to test framing errors.

use greenledger::ledger::{Ledger, ManualClock};
use greenledger::rpc::convert::signed_to_pb;
use greenledger::rpc::pb;
use greenledger::rpc::pb::ledger_client::LedgerClient;
use greenledger::store::MemStore;
use greenledger_core::calendar::unix;
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::NoteSigner;
use greenledger_core::state::BundleState;
use greenledger_core::{
    AccountId, BundleId, Command, DeviceId, Interval, Policy, Role, Roles, SerialRange, SignedCommand, Technology,
    Timestamp, Wh,
};
use prost::bytes::{Buf, BufMut};
use prost::Message;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http;
use tonic::transport::Channel;
use tonic::{Code, Status};

const NAME: &str = "hostile.greenledger.example";
const HOUR: u64 = 3600;
const MWH: u64 = 1_000_000;
const SUBMIT: &str = "/greenledger.v1.Ledger/Submit";
const REPLAYED_NONCE: u64 = 7_777_777;

fn t0() -> u64 {
    unix(2026, 1, 1, 0, 0, 0)
}
fn hour(n: u64) -> Interval {
    Interval::new(t0() + n * HOUR, t0() + (n + 1) * HOUR)
}
fn key(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}
fn wind() -> DeviceId {
    DeviceId("WIND-1".into())
}
fn huge() -> DeviceId {
    DeviceId("HUGE-1".into())
}
fn solar() -> DeviceId {
    DeviceId("SOLAR-1".into())
}

/// Passes bytes through unchanged, so a request can be any byte string.
#[derive(Clone, Default)]
struct Raw;
impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}
impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}
impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// The participants; every key is deterministic.
struct World {
    operator: Keypair,
    meter: Keypair,
    platform: Keypair,
    regulator: Keypair,
    generator: Keypair,
    consumer: Keypair,
    consumer2: Keypair,
    stranger: Keypair,
    nonce: AtomicU64,
    /// Bundles of `consumer`: active (wind), withdrawn, frozen; and one active of `generator`.
    active: BundleId,
    active_serials: SerialRange,
    withdrawn: (BundleId, SerialRange),
    frozen: (BundleId, SerialRange),
    generators: BundleId,
}

impl World {
    fn sign(&self, who: &Keypair, command: Command) -> SignedCommand {
        who.sign(NAME, self.nonce.fetch_add(1, Ordering::SeqCst), command)
    }
    fn bytes(&self, who: &Keypair, command: Command) -> Vec<u8> {
        signed_to_pb(&self.sign(who, command)).encode_to_vec()
    }
    fn accounts(&self) -> Vec<AccountId> {
        [&self.operator, &self.meter, &self.platform, &self.regulator, &self.generator, &self.consumer, &self.consumer2]
            .iter()
            .map(|k| k.account())
            .collect()
    }
}

fn submit_ok(ledger: &Ledger<MemStore>, cmds: Vec<SignedCommand>) {
    for (i, o) in ledger.submit_batch(cmds).unwrap().into_iter().enumerate() {
        if let Err(e) = o {
            panic!("setup command {i} refused: {e}");
        }
    }
}

/// A ledger with every kind of record the cases need.
fn setup() -> (Arc<Ledger<MemStore>>, Arc<ManualClock>, World) {
    let clock = Arc::new(ManualClock::new(unix(2026, 2, 1, 0, 0, 0)));
    let signer = NoteSigner::new(NAME, ed25519_dalek::SigningKey::from_bytes(&[99; 32])).unwrap();
    let mut policy = Policy::new(NAME);
    policy.unit_wh = MWH;
    policy.validity_months = 12;
    let operator = key(1);
    let genesis = operator.sign(NAME, 0, Command::Genesis(cmd::Genesis { policy, operator_name: "Registry".into() }));
    let ledger = Ledger::create(Arc::new(MemStore::new()), signer, genesis, clock.clone()).unwrap();
    let mut w = World {
        operator,
        meter: key(2),
        platform: key(3),
        regulator: key(4),
        generator: key(5),
        consumer: key(6),
        consumer2: key(7),
        stranger: key(8),
        nonce: AtomicU64::new(1),
        active: BundleId(0),
        active_serials: SerialRange::new(0, 0),
        withdrawn: (BundleId(0), SerialRange::new(0, 0)),
        frozen: (BundleId(0), SerialRange::new(0, 0)),
        generators: BundleId(0),
    };
    let reg = |w: &World, k: &Keypair, name: &str, role: Role| {
        w.sign(
            &w.operator,
            Command::RegisterAccount(cmd::RegisterAccount {
                account: k.account(),
                name: name.into(),
                roles: Roles::of(&[role]),
            }),
        )
    };
    let device = |w: &World, d: DeviceId, capacity_w: u64| {
        w.sign(
            &w.operator,
            Command::RegisterDevice(cmd::RegisterDevice {
                device: d,
                owner: w.generator.account(),
                technology: Technology::Wind,
                capacity_w,
                region: "north".into(),
                commissioned: Timestamp(unix(2020, 1, 1, 0, 0, 0)),
            }),
        )
    };
    submit_ok(
        &ledger,
        vec![
            reg(&w, &w.meter, "meter", Role::MeterOperator),
            reg(&w, &w.platform, "exchange", Role::TradingPlatform),
            reg(&w, &w.regulator, "regulator", Role::Regulator),
            reg(&w, &w.generator, "wind co", Role::Generator),
            reg(&w, &w.consumer, "factory", Role::Consumer),
            reg(&w, &w.consumer2, "glassworks", Role::Consumer),
            device(&w, wind(), 10_000_000),
            device(&w, solar(), 10_000_000),
            // No upper bound on capacity: the overflow cases need a device this big.
            device(&w, huge(), u64::MAX),
        ],
    );
    let gen = |w: &World, d: DeviceId, n: u64, wh: u64| {
        w.sign(&w.meter, Command::PostGeneration(cmd::PostGeneration { device: d, interval: hour(n), energy: Wh(wh) }))
    };
    let issue = |w: &World, d: DeviceId, n: u64| {
        w.sign(&w.generator, Command::Issue(cmd::Issue { device: d, interval: hour(n) }))
    };
    let mut cmds = Vec::new();
    for n in 0..3 {
        cmds.push(gen(&w, wind(), n, 5 * MWH));
    }
    cmds.push(gen(&w, solar(), 0, 5 * MWH));
    // A known nonce of the meter, for the replay case.
    cmds.push(w.meter.sign(
        NAME,
        REPLAYED_NONCE,
        Command::PostGeneration(cmd::PostGeneration { device: solar(), interval: hour(1), energy: Wh(MWH) }),
    ));
    cmds.push(gen(&w, huge(), 0, u64::MAX));
    cmds.push(w.sign(
        &w.meter,
        Command::PostDirectSupply(cmd::PostDirectSupply {
            device: huge(),
            consumer: w.consumer.account(),
            interval: hour(0),
            energy: Wh(u64::MAX - 10),
        }),
    ));
    for n in 0..24 {
        cmds.push(w.sign(
            &w.meter,
            Command::PostConsumption(cmd::PostConsumption {
                account: w.consumer.account(),
                interval: hour(n),
                energy: Wh(100 * MWH),
            }),
        ));
    }
    cmds.push(w.sign(
        &w.meter,
        Command::PostConsumption(cmd::PostConsumption {
            account: w.consumer2.account(),
            interval: hour(0),
            energy: Wh(u64::MAX),
        }),
    ));
    for n in 0..3 {
        cmds.push(issue(&w, wind(), n));
    }
    cmds.push(issue(&w, solar(), 0));
    submit_ok(&ledger, cmds);
    // Bundles 1..=3 are wind hours 0..2, bundle 4 is solar; each holds serials of 5 certificates.
    let bundle = |id: u64| ledger.bundle(BundleId(id)).unwrap();
    let to_consumer = |w: &World, id: u64| {
        let b = bundle(id);
        w.sign(
            &w.generator,
            Command::Transfer(cmd::Transfer { bundle: b.id, serials: b.serials, to: w.consumer.account() }),
        )
    };
    submit_ok(&ledger, vec![to_consumer(&w, 1), to_consumer(&w, 2), to_consumer(&w, 4)]);
    let b2 = bundle(2);
    let withdraw = SerialRange::new(b2.serials.start.0, b2.serials.start.0 + 2);
    submit_ok(
        &ledger,
        vec![
            w.sign(
                &w.regulator,
                Command::Withdraw(cmd::Withdraw { bundle: b2.id, serials: withdraw, reason: "meter fault".into() }),
            ),
            w.sign(
                &w.regulator,
                Command::DeclareExclusion(cmd::DeclareExclusion {
                    device: solar(),
                    interval: hour(0),
                    scheme: "CCER".into(),
                }),
            ),
        ],
    );
    let holdings = ledger.holdings(&w.consumer.account()).unwrap();
    let find = |f: &dyn Fn(&greenledger_core::state::Bundle) -> bool| holdings.iter().find(|b| f(b)).unwrap().clone();
    let active = find(&|b| b.state == BundleState::Active && b.device == wind() && b.production == hour(0));
    w.active = active.id;
    w.active_serials = active.serials;
    let b = find(&|b| b.state == BundleState::Withdrawn);
    w.withdrawn = (b.id, b.serials);
    let b = find(&|b| b.state == BundleState::Frozen);
    w.frozen = (b.id, b.serials);
    w.generators = BundleId(3);
    assert_eq!(ledger.bundle(w.generators).unwrap().owner, w.generator.account());
    (Arc::new(ledger), clock, w)
}

/// How a request goes out.
enum Req {
    /// Bytes as the message of a well-framed gRPC call to this path.
    Msg(&'static str, Vec<u8>),
    /// A whole hand-written request body (gRPC frames) to this path.
    Frame(&'static str, String),
}

enum Expect {
    Refused(Code, &'static str),
    /// Accepted; `grows` says whether the log gets a new entry (false for a duplicate).
    Accepted {
        grows: bool,
    },
}

struct Case {
    name: &'static str,
    req: Req,
    expect: Expect,
    /// Runs before the "before" snapshot (e.g. moves the clock).
    prep: Option<Box<dyn Fn()>>,
}

fn case(name: &'static str, req: Req, code: Code, fragment: &'static str) -> Case {
    Case { name, req, expect: Expect::Refused(code, fragment), prep: None }
}

fn frame(flag: u8, len: u32, payload: &str) -> String {
    let mut s = String::new();
    s.push(flag as char);
    for b in len.to_be_bytes() {
        assert!(b < 0x80, "frame header bytes must be ASCII here");
        s.push(b as char);
    }
    s.push_str(payload);
    s
}

fn cases(w: &World, clock: Arc<ManualClock>) -> Vec<Case> {
    use Code::*;
    let m = &w.meter;
    let gen = |n: u64, wh: u64| {
        Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(n), energy: Wh(wh) })
    };
    let retire = |serials: SerialRange, bundle: BundleId, beneficiary: &str, purpose: &str| {
        Command::Retire(cmd::Retire {
            bundle,
            serials,
            beneficiary: beneficiary.into(),
            purpose: purpose.into(),
            consumption: hour(0),
        })
    };
    let a = w.active_serials;
    let (start, end) = (a.start.0, a.end.0);
    let one = SerialRange::new(start, start + 1);
    let transfer =
        |serials: SerialRange, to: AccountId| Command::Transfer(cmd::Transfer { bundle: w.active, serials, to });
    let good = signed_to_pb(&w.sign(m, gen(10, MWH)));
    let with = |f: &dyn Fn(&mut pb::SignedCommand)| {
        let mut c = good.clone();
        f(&mut c);
        c.encode_to_vec()
    };
    let body_with = |f: &dyn Fn(&mut pb::CommandBody)| with(&|c| f(c.body.as_mut().unwrap()));
    let long_ascii: String = "x".repeat(300);
    let long_unicode: String = "绿".repeat(100);
    let huge_text: String = "y".repeat(2 << 20);
    let replayed = w.sign(m, gen(11, MWH));
    let mut replay_nonce = w.sign(m, gen(12, MWH));
    replay_nonce = m.sign(NAME, REPLAYED_NONCE, replay_nonce.body.command);
    let mut forged = w.sign(m, gen(10, MWH));
    forged.signature = w.stranger.sign(NAME, forged.body.nonce, forged.body.command.clone()).signature;
    let other_ledger = m.sign("other.ledger.example", 9_999, gen(10, MWH));
    let weak_signer = {
        let mut c = w.sign(m, gen(10, MWH));
        let mut identity = [0u8; 32];
        identity[0] = 1; // the identity point: a small-order, weak key
        c.body.signer = AccountId(identity);
        c
    };
    let pb = |c: &SignedCommand| signed_to_pb(c).encode_to_vec();
    let msg = |b: Vec<u8>| Req::Msg(SUBMIT, b);
    let signed = |who: &Keypair, c: Command| msg(w.bytes(who, c));

    let mut out = vec![
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
            signed(&w.consumer, retire(one, w.active, &huge_text, "p")),
            OutOfRange,
            "message length too large",
        ),
        case(
            "message just under 1 MiB",
            signed(&w.consumer, retire(one, w.active, &"z".repeat((1 << 20) - 400), "p")),
            InvalidArgument,
            "beneficiary: is 1048176 bytes long",
        ),
        case("unknown method", Req::Msg("/greenledger.v1.Ledger/Nope", vec![]), Unimplemented, ""),
        // Signatures and keys.
        case(
            "missing signature",
            msg(with(&|c| c.signature.clear())),
            InvalidArgument,
            "signature: must be 64 bytes, got 0",
        ),
        case("short signature", msg(with(&|c| c.signature.truncate(10))), InvalidArgument, "must be 64 bytes, got 10"),
        case(
            "flipped signature bit",
            msg(with(&|c| c.signature[5] ^= 1)),
            Unauthenticated,
            "signature does not verify",
        ),
        case("zero signature", msg(with(&|c| c.signature = vec![0; 64])), Unauthenticated, "signature does not verify"),
        case("signature by another key", msg(pb(&forged)), Unauthenticated, "signature does not verify"),
        case("signature for another ledger", msg(pb(&other_ledger)), Unauthenticated, "signature does not verify"),
        case(
            "signed, then body changed",
            msg(body_with(&|b| b.nonce += 1)),
            Unauthenticated,
            "signature does not verify",
        ),
        case(
            "signer of 31 bytes",
            msg(body_with(&|b| b.signer.pop().map(|_| ()).unwrap())),
            InvalidArgument,
            "body.signer",
        ),
        case("weak signer key", msg(pb(&weak_signer)), Unauthenticated, "is not a valid Ed25519 public key"),
        case("unregistered signer", signed(&w.stranger, gen(10, MWH)), Unauthenticated, "is not a registered account"),
        case("consumer posts generation", signed(&w.consumer, gen(10, MWH)), PermissionDenied, "lacks the"),
        case(
            "generator registers an account",
            signed(
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
            signed(
                &w.platform,
                Command::Withdraw(cmd::Withdraw { bundle: w.active, serials: one, reason: "r".into() }),
            ),
            PermissionDenied,
            "lacks the",
        ),
        case(
            "replayed nonce, other command",
            msg(pb(&replay_nonce)),
            AlreadyExists,
            "rule 10 (no replay): nonce 7777777",
        ),
        // Malformed commands.
        case(
            "no command kind",
            msg(body_with(&|b| b.command = Some(pb::Command { kind: None }))),
            InvalidArgument,
            "command: is empty",
        ),
        case("no command", msg(body_with(&|b| b.command = None)), InvalidArgument, "body.command: is missing"),
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
            msg(body_with(&|b| {
                if let Some(pb::command::Kind::PostGeneration(g)) = &mut b.command.as_mut().unwrap().kind {
                    g.interval = None;
                }
            })),
            InvalidArgument,
            "post_generation.interval: is missing",
        ),
        case(
            "transfer without serials",
            signed(&w.consumer, transfer(one, w.consumer2.account())).map_msg(|b| {
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
            signed(&w.consumer, transfer(one, w.consumer2.account())).map_msg(|b| {
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
            signed(
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
            signed(
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
            signed(
                &w.operator,
                Command::RegisterDevice(cmd::RegisterDevice {
                    device: DeviceId("X-1".into()),
                    owner: w.generator.account(),
                    technology: Technology::Wind,
                    capacity_w: 1,
                    region: "r".into(),
                    commissioned: Timestamp(0),
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
            signed(
                &w.operator,
                Command::Genesis(cmd::Genesis { policy: Policy::new(NAME), operator_name: "again".into() }),
            ),
            FailedPrecondition,
            "genesis cannot be repeated",
        ),
        case(
            "register a weak account key",
            signed(
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
        // Amounts.
        case(
            "zero capacity",
            signed(
                &w.operator,
                Command::RegisterDevice(cmd::RegisterDevice {
                    device: DeviceId("ZERO-1".into()),
                    owner: w.generator.account(),
                    technology: Technology::Solar,
                    capacity_w: 0,
                    region: "r".into(),
                    commissioned: Timestamp(0),
                }),
            ),
            InvalidArgument,
            "capacity must be more than 0 W",
        ),
        case(
            "zero direct supply",
            signed(
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
            signed(m, gen(10, u64::MAX)),
            FailedPrecondition,
            "rule 2 (no issuance beyond physics)",
        ),
        case(
            "direct supplies summing past u64",
            signed(
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
            signed(
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
            signed(
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
        // Intervals.
        case(
            "empty interval",
            signed(
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
            signed(
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
            signed(
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
            signed(
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
            signed(
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
            signed(
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
            signed(&w.generator, Command::Issue(cmd::Issue { device: wind(), interval: hour(0) })),
            FailedPrecondition,
            "was already issued",
        ),
        // Unknown things.
        case(
            "unknown device",
            signed(
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
            signed(
                &w.consumer,
                Command::Transfer(cmd::Transfer { bundle: BundleId(99_999), serials: one, to: w.consumer2.account() }),
            ),
            NotFound,
            "bundle B99999 does not exist",
        ),
        case(
            "transfer to an unknown account",
            signed(&w.consumer, transfer(one, w.stranger.account())),
            NotFound,
            "is not registered",
        ),
        case(
            "consumption of an unknown account",
            signed(
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
            signed(&w.generator, Command::Issue(cmd::Issue { device: wind(), interval: hour(40) })),
            NotFound,
            "has no generation reading",
        ),
        // Serial ranges and ownership.
        case(
            "serials outside the bundle",
            signed(&w.consumer, transfer(SerialRange::new(end, end + 1), w.consumer2.account())),
            InvalidArgument,
            "are not a non-empty range inside bundle",
        ),
        case(
            "serials reversed",
            signed(&w.consumer, transfer(SerialRange::new(end, start), w.consumer2.account())),
            InvalidArgument,
            "are not a non-empty range inside bundle",
        ),
        case(
            "serials empty",
            signed(&w.consumer, transfer(SerialRange::new(start, start), w.consumer2.account())),
            InvalidArgument,
            "are not a non-empty range inside bundle",
        ),
        case(
            "serials up to u64::MAX",
            signed(&w.consumer, transfer(SerialRange::new(start, u64::MAX), w.consumer2.account())),
            InvalidArgument,
            "are not a non-empty range inside bundle",
        ),
        case(
            "transfer to oneself",
            signed(&w.consumer, transfer(one, w.consumer.account())),
            InvalidArgument,
            "cannot transfer certificates with itself",
        ),
        case(
            "transfer of someone else's bundle",
            signed(&w.consumer2, transfer(one, w.consumer2.account())),
            PermissionDenied,
            "rule 4 (one owner per certificate)",
        ),
        case(
            "retire withdrawn certificates",
            signed(&w.consumer, retire(w.withdrawn.1, w.withdrawn.0, "b", "p")),
            FailedPrecondition,
            "rule 6 (no use after withdrawal)",
        ),
        case(
            "transfer withdrawn certificates",
            signed(
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
            signed(&w.consumer, retire(w.frozen.1, w.frozen.0, "b", "p")),
            FailedPrecondition,
            "frozen by an exclusion",
        ),
        case(
            "withdraw withdrawn certificates",
            signed(
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
            signed(&w.consumer, Command::Issue(cmd::Issue { device: wind(), interval: hour(1) })),
            PermissionDenied,
            "only the owner may request issuance",
        ),
        // Text.
        case(
            "beneficiary of 300 bytes",
            signed(&w.consumer, retire(one, w.active, &long_ascii, "p")),
            InvalidArgument,
            "beneficiary: is 300 bytes long",
        ),
        case(
            "purpose of 300 bytes of Chinese",
            signed(&w.consumer, retire(one, w.active, "b", &long_unicode)),
            InvalidArgument,
            "purpose: is 300 bytes long",
        ),
        case(
            "control character in purpose",
            signed(&w.consumer, retire(one, w.active, "b", "ok\u{7}bell")),
            InvalidArgument,
            "contains the control character U+0007",
        ),
        case(
            "newline in beneficiary",
            signed(&w.consumer, retire(one, w.active, "a\nb", "p")),
            InvalidArgument,
            "contains the control character U+000A",
        ),
        case(
            "blank beneficiary",
            signed(&w.consumer, retire(one, w.active, "   ", "p")),
            InvalidArgument,
            "beneficiary: must not be empty",
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
    ];
    // Accepted requests last: they change the state the refusals above rely on.
    out.push(Case {
        name: "a fresh reading is accepted",
        req: msg(pb(&replayed)),
        expect: Expect::Accepted { grows: true },
        prep: None,
    });
    out.push(Case {
        name: "identical resubmission is a duplicate",
        req: msg(pb(&replayed)),
        expect: Expect::Accepted { grows: false },
        prep: None,
    });
    out.push(Case {
        name: "Unicode beneficiary and purpose within limits",
        req: signed(&w.consumer, retire(one, w.active, "绿电 Zürich 工厂 🌱", "RE100 报告 2026 — Scope 2")),
        expect: Expect::Accepted { grows: true },
        prep: None,
    });
    let later = SerialRange::new(start + 1, start + 2);
    let expired = signed(&w.consumer, retire(later, w.active, "b", "p"));
    out.push(Case {
        name: "retire expired certificates",
        req: expired,
        expect: Expect::Refused(FailedPrecondition, "rule 6 (no use after expiry)"),
        prep: Some(Box::new(move || clock.set(unix(2027, 6, 1, 0, 0, 0)))),
    });
    out
}

trait ReqExt {
    fn map_msg(self, f: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Req;
}
impl ReqExt for Req {
    fn map_msg(self, f: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Req {
        match self {
            Req::Msg(p, b) => Req::Msg(p, f(b)),
            other => other,
        }
    }
}

async fn call(channel: &Channel, req: &Req) -> Result<Vec<u8>, Status> {
    match req {
        Req::Msg(path, bytes) => {
            let mut grpc = tonic::client::Grpc::new(channel.clone());
            grpc.ready().await.map_err(|e| Status::unknown(e.to_string()))?;
            let path = http::uri::PathAndQuery::from_static(path);
            if path.path().ends_with("GetEntries") {
                let mut s = grpc.server_streaming(tonic::Request::new(bytes.clone()), path, Raw).await?.into_inner();
                let mut last = Vec::new();
                while let Some(m) = s.message().await? {
                    last = m;
                }
                return Ok(last);
            }
            Ok(grpc.unary(tonic::Request::new(bytes.clone()), path, Raw).await?.into_inner())
        }
        Req::Frame(path, body) => {
            use tonic::codegen::Service;
            let mut ch = channel.clone();
            let req = http::Request::builder()
                .method("POST")
                .uri(format!("http://127.0.0.1{path}"))
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(tonic::body::Body::new(body.clone()))
                .unwrap();
            std::future::poll_fn(|cx| ch.poll_ready(cx)).await.map_err(|e| Status::unknown(e.to_string()))?;
            let resp = ch.call(req).await.map_err(|e| Status::unknown(e.to_string()))?;
            if let Some(s) = Status::from_header_map(resp.headers()) {
                if s.code() != Code::Ok {
                    return Err(s);
                }
            }
            let status = resp.status();
            let mut s = tonic::codec::Streaming::new_response(Raw, resp.into_body(), status, None, None);
            let mut last = Vec::new();
            while let Some(m) = s.message().await? {
                last = m;
            }
            Ok(last)
        }
    }
}

/// The checkpoint and every account's record and holdings, as served.
async fn snapshot(client: &mut LedgerClient<Channel>, accounts: &[AccountId]) -> (u64, Vec<u8>, Vec<String>) {
    let cp = client.get_checkpoint(pb::GetCheckpointRequest {}).await.unwrap().into_inner();
    let mut records = Vec::new();
    for a in accounts {
        let req = pb::AccountRequest { account: a.0.to_vec() };
        let info = client.get_account(req.clone()).await.unwrap().into_inner();
        let holdings = client.get_holdings(req).await.unwrap().into_inner();
        records.push(format!("{info:?} {holdings:?}"));
    }
    (cp.size, cp.root, records)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_are_refused_precisely_and_change_nothing() {
    let (ledger, clock, w) = setup();
    let server = greenledger::rpc::server::spawn(ledger, clock.clone(), "127.0.0.1:0").await.unwrap();
    let channel = Channel::from_shared(format!("http://{}", server.addr)).unwrap().connect().await.unwrap();
    let mut client = LedgerClient::new(channel.clone());
    let accounts = w.accounts();
    let table = cases(&w, clock.clone());
    assert!(table.len() >= 40, "only {} cases", table.len());
    let mut failures = Vec::new();
    for c in &table {
        if let Some(prep) = &c.prep {
            prep();
        }
        let before = snapshot(&mut client, &accounts).await;
        let got = call(&channel, &c.req).await;
        let after = snapshot(&mut client, &accounts).await;
        match (&c.expect, got) {
            (Expect::Refused(code, fragment), Err(s)) => {
                if s.code() != *code || !s.message().contains(fragment) {
                    failures.push(format!(
                        "{}: expected {code:?} containing {fragment:?}, got {:?}: {}",
                        c.name,
                        s.code(),
                        s.message()
                    ));
                }
                if before != after {
                    failures.push(format!("{}: the refused request changed the ledger", c.name));
                }
            }
            (Expect::Refused(code, _), Ok(_)) => failures.push(format!("{}: expected {code:?}, was accepted", c.name)),
            (Expect::Accepted { grows }, Ok(bytes)) => {
                let r = pb::Receipt::decode(bytes.as_slice()).unwrap();
                let size = if *grows { before.0 + 1 } else { before.0 };
                if after.0 != size || r.duplicate == *grows {
                    failures.push(format!("{}: size {} -> {}, receipt {r:?}", c.name, before.0, after.0));
                }
            }
            (Expect::Accepted { .. }, Err(s)) => failures.push(format!("{}: refused: {s:?}", c.name)),
        }
    }
    // The channel still works after all of that.
    client.get_checkpoint(pb::GetCheckpointRequest {}).await.unwrap();
    server.stop().await.unwrap();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), table.len(), failures.join("\n"));
    println!("{} hostile cases passed", table.len());
}
