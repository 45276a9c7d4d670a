//! Every refusal of unary `Submit` with its exact status code (malformed messages, signatures,
//! roles, ownership, rules, nonces, unknown things, the message size limit), each leaving the
//! checkpoint and the store unchanged; and the codes of the state queries.

use greenledger_core::command as cmd;

use greenledger::rpc::convert::signed_to_pb;
use greenledger::rpc::pb;
use greenledger::testkit::net::*;
use greenledger::testkit::{hour, t0, HOUR, LEDGER, MWH};
use greenledger_core::*;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_invalid_argument_and_change_nothing() {
    let mut net = Net::mem().await;
    let (op, meter) = (net.operator.clone(), net.meter.clone());
    let good = net.pb(
        &meter,
        Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(0), energy: Wh(MWH) }),
    );
    let invalid = Code::InvalidArgument;

    let s = net.refuse_pb(pb::SignedCommand { body: None, signature: vec![0; 64] }, invalid).await;
    assert!(s.message().contains("body"), "{}", s.message());
    let mut m = good.clone();
    m.signature.pop();
    let s = net.refuse_pb(m, invalid).await;
    assert!(s.message().contains("signature") && s.message().contains("63"), "{}", s.message());
    let mut m = good.clone();
    m.body.as_mut().unwrap().signer.pop();
    let s = net.refuse_pb(m, invalid).await;
    assert!(s.message().contains("body.signer") && s.message().contains("31"), "{}", s.message());
    let mut m = net.pb(
        &op,
        Command::RegisterAccount(cmd::RegisterAccount {
            account: greenledger::testkit::key(50).account(),
            name: "X".into(),
            roles: Roles::of(&[Role::Consumer]),
        }),
    );
    if let Some(pb::command::Kind::RegisterAccount(r)) = &mut m.body.as_mut().unwrap().command.as_mut().unwrap().kind {
        r.account.truncate(31);
    }
    let s = net.refuse_pb(m, invalid).await;
    assert!(s.message().contains("register_account.account"), "{}", s.message());
    let mut m = good.clone();
    m.body.as_mut().unwrap().command = Some(pb::Command { kind: None });
    let s = net.refuse_pb(m, invalid).await;
    assert!(s.message().contains("empty"), "{}", s.message());
    let mut m = good.clone();
    m.body.as_mut().unwrap().command = None;
    net.refuse_pb(m, invalid).await;
    let mut m = good.clone();
    if let Some(pb::command::Kind::PostGeneration(g)) = &mut m.body.as_mut().unwrap().command.as_mut().unwrap().kind {
        g.interval = None;
    }
    let s = net.refuse_pb(m, invalid).await;
    assert!(s.message().contains("post_generation.interval"), "{}", s.message());
    let mut m = net.pb(
        &op,
        Command::RegisterAccount(cmd::RegisterAccount {
            account: greenledger::testkit::key(51).account(),
            name: "Y".into(),
            roles: Roles::of(&[Role::Consumer]),
        }),
    );
    if let Some(pb::command::Kind::RegisterAccount(r)) = &mut m.body.as_mut().unwrap().command.as_mut().unwrap().kind {
        r.roles = vec![99];
    }
    net.refuse_pb(m, invalid).await;

    // Well-formed protobuf, refused by the rules as invalid.
    let reversed = Interval::new(t0() + HOUR, t0());
    let s = net
        .refused(
            &meter,
            Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: reversed, energy: Wh(MWH) }),
            invalid,
        )
        .await;
    assert!(s.message().contains("empty or reversed"), "{}", s.message());
    let long = Command::RegisterAccount(cmd::RegisterAccount {
        account: greenledger::testkit::key(52).account(),
        name: "n".repeat(300),
        roles: Roles::of(&[Role::Consumer]),
    });
    net.refused(&op, long, invalid).await;
    let bad_device = Command::RegisterDevice(cmd::RegisterDevice {
        device: DeviceId("no spaces allowed".into()),
        owner: net.generator.account(),
        technology: Technology::Solar,
        capacity_w: 1,
        region: "x".into(),
        commissioned: Timestamp(0),
        attributes: Default::default(),
    });
    net.refused(&op, bad_device, invalid).await;

    // The good command was never disturbed by its malformed copies.
    net.ok_pb(good, "post-generation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_their_exact_status_code_and_change_nothing() {
    let mut net = Net::mem().await;
    let (op, meter, gen) = (net.operator.clone(), net.meter.clone(), net.generator.clone());
    let (con, con2, stranger) = (net.consumer.clone(), net.consumer2.clone(), net.stranger.clone());
    let regulator = net.regulator.clone();
    let c1 = con.account();
    net.ok(
        &meter,
        Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(0), energy: Wh(2 * MWH) }),
    )
    .await;
    net.ok(&gen, Command::Issue(cmd::Issue { device: wind(), interval: hour(0) })).await;
    net.ok(
        &meter,
        Command::PostConsumption(cmd::PostConsumption { account: c1, interval: hour(0), energy: Wh(2 * MWH) }),
    )
    .await;
    let gb = only(&net.holdings(gen.account()).await, |_| true).clone();
    let serials = sr(&gb.serials);
    let one = SerialRange::new(serials.start.0, serials.start.0 + 1);
    net.ok(&gen, Command::Transfer(cmd::Transfer { bundle: BundleId(gb.id), serials: one, to: c1 })).await;
    let cb = only(&net.holdings(c1).await, |_| true).clone();

    // Unauthenticated: a signature that does not verify, one for another ledger, an unknown signer.
    let mut m = net.pb(
        &meter,
        Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(1), energy: Wh(MWH) }),
    );
    m.signature[0] ^= 1;
    net.refuse_pb(m, Code::Unauthenticated).await;
    let n = net.next_nonce();
    let elsewhere = meter.sign(
        "other.ledger.example",
        n,
        Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(1), energy: Wh(MWH) }),
    );
    net.refuse_pb(signed_to_pb(&elsewhere), Code::Unauthenticated).await;
    let s = net
        .refused(
            &stranger,
            Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(1), energy: Wh(MWH) }),
            Code::Unauthenticated,
        )
        .await;
    assert!(s.message().contains("not a registered account"), "{}", s.message());
    assert_eq!(typed(&s), (Some(10), Some("unknown-signer".into())));

    // PermissionDenied: a signer without the role; moving or issuing what one does not own.
    let s = net
        .refused(
            &con,
            Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(1), energy: Wh(MWH) }),
            Code::PermissionDenied,
        )
        .await;
    assert!(s.message().contains("meter-operator"), "{}", s.message());
    assert_eq!(typed(&s), (Some(10), Some("missing-role".into())));
    net.refused(
        &con,
        Command::RegisterAccount(cmd::RegisterAccount {
            account: greenledger::testkit::key(60).account(),
            name: "Z".into(),
            roles: Roles::of(&[Role::Consumer]),
        }),
        Code::PermissionDenied,
    )
    .await;
    let rest = SerialRange::new(serials.start.0 + 1, serials.end.0);
    let s = net
        .refused(
            &con2,
            Command::Transfer(cmd::Transfer { bundle: BundleId(gb.id), serials: rest, to: con2.account() }),
            Code::PermissionDenied,
        )
        .await;
    assert!(s.message().contains("rule 4"), "{}", s.message());
    assert_eq!(typed(&s), (Some(4), Some("not-owner".into())));
    net.refused(&meter, Command::Issue(cmd::Issue { device: wind(), interval: hour(0) }), Code::PermissionDenied).await;

    // FailedPrecondition: double issuance, double retirement, a second genesis.
    let s = net
        .refused(&gen, Command::Issue(cmd::Issue { device: wind(), interval: hour(0) }), Code::FailedPrecondition)
        .await;
    assert!(s.message().contains("already issued"), "{}", s.message());
    assert_eq!(typed(&s), (Some(1), Some("already-issued".into())));
    let retire = Command::Retire(cmd::Retire {
        bundle: BundleId(cb.id),
        serials: sr(&cb.serials),
        beneficiary: cmd::Beneficiary::Product { product: "Battery factory".into(), quantity: 1, unit: "batch".into() },
        purpose: cmd::Purpose::Other("scope 2".into()),
        consumption: hour(0),
    });
    net.ok(&con, retire.clone()).await;
    let s = net.refused(&con, retire, Code::FailedPrecondition).await;
    assert!(s.message().contains("rule 5"), "{}", s.message());
    assert_eq!(typed(&s), (Some(5), Some("not-active".into())));
    let genesis = Command::Genesis(cmd::Genesis { policy: Policy::new(LEDGER), operator_name: "Again".into() });
    net.refused(&op, genesis, Code::FailedPrecondition).await;

    // AlreadyExists: a nonce reused for a different command; an account registered twice.
    let n = net.next_nonce();
    let first = meter.sign(
        LEDGER,
        n,
        Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(1), energy: Wh(MWH) }),
    );
    net.ok_pb(signed_to_pb(&first), "post-generation").await;
    let reuse = meter.sign(
        LEDGER,
        n,
        Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(2), energy: Wh(MWH) }),
    );
    let s = net.refuse_pb(signed_to_pb(&reuse), Code::AlreadyExists).await;
    assert!(s.message().contains(&format!("nonce {n}")), "{}", s.message());
    assert_eq!(typed(&s), (Some(10), Some("nonce-reused".into())));
    net.refused(
        &op,
        Command::RegisterAccount(cmd::RegisterAccount {
            account: c1,
            name: "Again".into(),
            roles: Roles::of(&[Role::Consumer]),
        }),
        Code::AlreadyExists,
    )
    .await;

    // NotFound on commands: unknown bundle, device, reading, recipient.
    let s = net
        .refused(&gen, Command::Transfer(cmd::Transfer { bundle: BundleId(999), serials: one, to: c1 }), Code::NotFound)
        .await;
    assert!(s.message().contains("B999"), "{}", s.message());
    assert_eq!(typed(&s), (None, Some("unknown-bundle".into())));
    let nope = DeviceId("NOPE-1".into());
    net.refused(
        &meter,
        Command::PostGeneration(cmd::PostGeneration { device: nope.clone(), interval: hour(3), energy: Wh(MWH) }),
        Code::NotFound,
    )
    .await;
    net.refused(
        &regulator,
        Command::DeclareExclusion(cmd::DeclareExclusion { device: nope, interval: hour(3), scheme: "CCER".into() }),
        Code::NotFound,
    )
    .await;
    net.refused(&gen, Command::Issue(cmd::Issue { device: wind(), interval: hour(5) }), Code::NotFound).await;
    net.refused(
        &gen,
        Command::Transfer(cmd::Transfer { bundle: BundleId(gb.id), serials: rest, to: stranger.account() }),
        Code::NotFound,
    )
    .await;
    net.refused(
        &regulator,
        Command::Withdraw(cmd::Withdraw { bundle: BundleId(999), serials: one, reason: "x".into() }),
        Code::NotFound,
    )
    .await;

    // NotFound (and InvalidArgument) on queries.
    let mut client = net.client.clone();
    let e = client.get_claim(pb::ClaimRequest { claim: 999 }).await.expect_err("claim");
    assert_eq!(e.code(), Code::NotFound, "{}", e.message());
    let e = client.get_bundle_history(pb::BundleRequest { bundle: 999 }).await.expect_err("bundle");
    assert_eq!(e.code(), Code::NotFound, "{}", e.message());
    let e = client.get_device(pb::DeviceRequest { device: "NOPE-1".into(), from: 0, to: 0 }).await.expect_err("device");
    assert_eq!(e.code(), Code::NotFound, "{}", e.message());
    let unknown = pb::AccountRequest { account: stranger.account().0.to_vec() };
    let e = client.get_account(unknown.clone()).await.expect_err("account");
    assert_eq!(e.code(), Code::NotFound, "{}", e.message());
    let e = client.get_holdings(unknown).await.expect_err("holdings");
    assert_eq!(e.code(), Code::NotFound, "{}", e.message());
    let e = client.get_account(pb::AccountRequest { account: vec![7; 31] }).await.expect_err("short account");
    assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_one_mib_is_refused_and_changes_nothing() {
    let mut net = Net::mem().await;
    let op = net.operator.clone();
    let huge = Command::RegisterAccount(cmd::RegisterAccount {
        account: greenledger::testkit::key(70).account(),
        name: "x".repeat((1 << 20) + 1024),
        roles: Roles::of(&[Role::Consumer]),
    });
    let m = net.pb(&op, huge);
    let cp = net.checkpoint().await;
    let store = net.store_snapshot();
    let s = net.submit_pb(m).await.expect_err("over the limit");
    assert!(matches!(s.code(), Code::ResourceExhausted | Code::OutOfRange), "{:?}: {}", s.code(), s.message());
    assert_eq!(net.checkpoint().await, cp);
    assert!(net.store_snapshot() == store);
    // The server (and the connection) keep working.
    let ok = Command::RegisterAccount(cmd::RegisterAccount {
        account: greenledger::testkit::key(70).account(),
        name: "Fits".into(),
        roles: Roles::of(&[Role::Consumer]),
    });
    net.ok(&op, ok).await;
}

/// The typed identity of a refusal as the server sends it: the rule number and the refusal's
/// stable name, from the status metadata.
fn typed(s: &tonic::Status) -> (Option<u32>, Option<String>) {
    (greenledger::cli::client::rule_of(s), greenledger::cli::client::reason_of(s))
}
