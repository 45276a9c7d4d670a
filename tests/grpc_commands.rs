//! Every command kind and every state query through the generated client against the real
//! server (in-memory store and sled), `SigningBytes`, and identical resubmissions.

use greenledger_core::command as cmd;

use ed25519_dalek::Signer;
use greenledger::ledger::Clock;
use greenledger::rpc::convert::{self, command_to_pb};
use greenledger::rpc::pb;
use greenledger::testkit::net::*;
use greenledger::testkit::{clock_start, hour, t0, HOUR, LEDGER, MWH};
use greenledger_core::codec;
use greenledger_core::command::{Beneficiary, DeviceChange, ParkChange, Purpose};
use greenledger_core::log::leaf_hash;
use greenledger_core::state;
use greenledger_core::*;
use std::sync::Arc;
use tonic::Code;

/// Drives every command kind and every state query, checking what each query reports.
async fn every_command_kind_and_query(net: &mut Net) {
    let (gen, meter, platform) = (net.generator.clone(), net.meter.clone(), net.platform.clone());
    let (regulator, con) = (net.regulator.clone(), net.consumer.clone());
    let (c1, c2, g) = (net.consumer.account(), net.consumer2.account(), net.generator.account());
    let mut receipts = Vec::new();

    // Net::start registered the accounts and the device through Submit.
    let op = net.account(net.operator.account()).await;
    assert_eq!((op.name.as_str(), op.registered_entry), ("Registry", 0));
    assert_eq!(op.roles, vec![role_of(Role::Operator)]);
    let a = net.account(c1).await;
    assert_eq!((a.account, a.name.as_str()), (c1.0.to_vec(), "Battery factory"));
    assert_eq!((a.roles, a.consumed_wh, a.claimed_wh), (vec![role_of(Role::Consumer)], 0, 0));
    assert!(a.registered_entry > 0);

    // Hour 0: 5.4 MWh generated, 1.2 MWh over the direct line to consumer 1, 2 MWh traded to
    // consumer 2, then issuance.
    let gen0 = net
        .ok(
            &meter,
            Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(0), energy: Wh(5_400_000) }),
        )
        .await;
    let direct = Command::PostDirectSupply(cmd::PostDirectSupply {
        device: wind(),
        consumer: c1,
        interval: hour(0),
        energy: Wh(1_200_000),
    });
    receipts.push(net.ok(&meter, direct).await);
    let trade =
        Command::SettleTrade(cmd::SettleTrade { device: wind(), interval: hour(0), buyer: c2, energy: Wh(2 * MWH) });
    receipts.push(net.ok(&platform, trade).await);
    let issued0 = net.ok(&gen, Command::Issue(cmd::Issue { device: wind(), interval: hour(0) })).await;
    assert_eq!(issued0.summary.iter().filter(|e| e.starts_with("issued")).count(), 3, "{:?}", issued0.summary);
    // The same three bundles, structured: one per recipient, with their origins and owners.
    let made: Vec<(&str, Vec<u8>)> =
        issued0.effects.iter().filter(|e| e.kind == "bundle").map(|e| (e.origin.as_str(), e.account.clone())).collect();
    assert_eq!(made.len(), 3, "{:?}", issued0.effects);
    assert!(made.contains(&("green-power-trade", c2.0.to_vec())), "{made:?}");
    assert!(made.iter().all(|(_, owner)| owner.len() == 32));

    let h1 = net.holdings(c1).await;
    let b1 = only(&h1, |_| true);
    assert_eq!((b1.origin.as_str(), b1.transferable, b1.state.as_str()), ("direct-supply", false, "active"));
    assert_eq!((serial_count(&b1.serials), h1.active_certificates, h1.retired_certificates), (1, 1, 0));
    let h2 = net.holdings(c2).await;
    let b2 = only(&h2, |_| true);
    assert_eq!((b2.origin.as_str(), serial_count(&b2.serials), h2.active_certificates), ("green-power-trade", 2, 2));
    let hg = net.holdings(g).await;
    let gb = only(&hg, |_| true).clone();
    assert_eq!((gb.origin.as_str(), gb.transferable, serial_count(&gb.serials)), ("issued", true, 2));
    assert_eq!((gb.device.as_str(), gb.production, gb.owner.clone()), (WIND, pb_hour(0), g.0.to_vec()));
    assert_eq!((gb.history.clone(), gb.parent, gb.transfers, gb.claim), (vec![issued0.index], 0, 0, 0));
    assert!(gb.expires > hour(0).end.0);

    let d = net.device(WIND, 0, 0).await;
    assert_eq!((d.device.as_str(), d.owner.clone(), d.technology.as_str()), (WIND, g.0.to_vec(), "wind"));
    // Carried: 0.2 MWh of the generator's own share and 0.2 MWh of the direct-supply consumer's.
    assert_eq!((d.capacity_w, d.region.as_str(), d.carry_wh), (10_000_000, "inner_mongolia", 400_000));
    assert_eq!(d.readings.len(), 1);
    let r0 = &d.readings[0];
    assert_eq!((r0.interval, r0.energy_wh, r0.entry), (pb_hour(0), 5_400_000, gen0.index));
    assert_eq!((r0.direct_supply_wh, r0.traded_wh, r0.issued), (1_200_000, 2 * MWH, true));
    assert_eq!(serial_count(&r0.issued_serials), 5);

    // Hour 1: 0.9 MWh + 0.2 MWh carried = 1 certificate, 0.1 MWh carried.
    let gen1 = Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(1), energy: Wh(900_000) });
    receipts.push(net.ok(&meter, gen1).await);
    let issued1 = net.ok(&gen, Command::Issue(cmd::Issue { device: wind(), interval: hour(1) })).await;
    let d = net.device(WIND, 0, 0).await;
    // The generator's 0.1 MWh, and the direct-supply consumer's 0.2 MWh still waiting.
    assert_eq!((d.readings.len(), d.carry_wh), (2, 300_000));
    // Readings are selected by start time in [from, to); to = 0 is unbounded.
    let later = net.device(WIND, hour(1).start.0, 0).await.readings;
    assert_eq!(later.iter().map(|r| r.interval).collect::<Vec<_>>(), vec![pb_hour(1)]);
    let earlier = net.device(WIND, t0(), t0() + HOUR).await.readings;
    assert_eq!(earlier.iter().map(|r| r.interval).collect::<Vec<_>>(), vec![pb_hour(0)]);
    assert!(net.device(WIND, hour(2).start.0, 0).await.readings.is_empty());

    // A partial transfer splits the generator's hour-0 bundle: the remainder keeps the id.
    let s = sr(&gb.serials);
    let first = SerialRange::new(s.start.0, s.start.0 + 1);
    let t = net.ok(&gen, Command::Transfer(cmd::Transfer { bundle: BundleId(gb.id), serials: first, to: c1 })).await;
    assert!(t.summary.iter().any(|e| e.starts_with("transferred 1 certificates")), "{:?}", t.summary);
    let piece = t.effects.iter().find(|e| e.kind == "bundle").expect("the transferred piece");
    assert_eq!((piece.from_bundle, piece.account.as_slice(), piece.serials), (gb.id, &c1.0[..], Some(sr_pb(first))));
    let h1 = net.holdings(c1).await;
    assert_eq!((h1.bundles.len(), h1.active_certificates), (2, 2));
    let moved = only(&h1, |b| b.origin == "issued").clone();
    assert_eq!((sr(&moved.serials), moved.parent, moved.transfers), (first, gb.id, 1));
    assert_eq!(moved.history, vec![issued0.index, t.index]);
    let rest = net.history(gb.id).await;
    let rest_bundle = rest.bundle.clone().expect("bundle");
    assert_eq!(sr(&rest_bundle.serials), SerialRange::new(s.start.0 + 1, s.end.0));
    assert_eq!(rest_bundle.owner, g.0.to_vec());
    // The history is the exact leaves, oldest first, with their descriptions. The remainder's
    // serials did not move, so the split is in the moved piece's lineage, not the remainder's.
    assert_eq!(rest.entries.iter().map(|e| e.index).collect::<Vec<_>>(), vec![issued0.index]);
    assert_eq!(leaf_hash(&rest.entries[0].leaf).to_vec(), issued0.leaf_hash);
    assert_eq!(rest.descriptions.len(), 1);
    let moved_history = net.history(moved.id).await;
    assert_eq!(leaf_hash(&moved_history.entries[1].leaf).to_vec(), t.leaf_hash);
    assert!(rest.descriptions[0].contains(": issue by"), "{:?}", rest.descriptions);
    assert!(moved_history.descriptions[1].contains(": transfer by"), "{:?}", moved_history.descriptions);

    // Consumer 1 consumed 3 MWh in hour 0 and retires both bundles it holds.
    let cons = Command::PostConsumption(cmd::PostConsumption { account: c1, interval: hour(0), energy: Wh(3 * MWH) });
    receipts.push(net.ok(&meter, cons).await);
    assert_eq!(net.account(c1).await.consumed_wh, 3 * MWH);
    let cells = Beneficiary::Product { product: "LFP cell 280Ah".into(), quantity: 12_000, unit: "cells".into() };
    for b in &h1.bundles {
        let retire = Command::Retire(cmd::Retire {
            bundle: BundleId(b.id),
            serials: sr(&b.serials),
            beneficiary: cells.clone(),
            purpose: Purpose::ProductFootprint,
            consumption: hour(0),
        });
        let r = net.ok(&con, retire).await;
        assert!(r.summary.iter().any(|e| e.starts_with("claim C")), "{:?}", r.summary);
        let claim = r.effects.iter().find(|e| e.kind == "claim").expect("the claim");
        assert!(claim.claim > 0 && claim.bundle > 0, "{claim:?}");
        let after = net.history(b.id).await.bundle.expect("bundle");
        assert_eq!(after.state, "retired");
        let c = net.client.get_claim(pb::ClaimRequest { claim: after.claim }).await.expect("claim").into_inner();
        assert_eq!((c.id, c.claimant.clone(), c.bundle, c.serials), (after.claim, c1.0.to_vec(), b.id, b.serials));
        assert_eq!((c.energy_wh, c.device.as_str(), c.production), (MWH, WIND, pb_hour(0)));
        assert_eq!(
            (c.beneficiary.as_str(), c.purpose.as_str()),
            ("product LFP cell 280Ah: 12000 cells", "product carbon footprint (产品碳足迹)")
        );
        assert_eq!((c.consumption, c.entry), (pb_hour(0), r.index));
        // The structured claim: a product batch, capped by the claimant's own consumption.
        assert_eq!(c.beneficiary_spec, Some(convert::beneficiary_to_pb(&cells)));
        assert_eq!((c.purpose_code, c.purpose_text.as_str()), (pb::Purpose::ProductFootprint as i32, ""));
        assert_eq!(
            (c.capped.clone(), c.origin.as_str(), c.channel.as_str()),
            (c1.0.to_vec(), b.origin.as_str(), "export")
        );
        assert_eq!(c.class, b.class);
        receipts.push(r);
    }
    assert_eq!(net.account(c1).await.claimed_wh, 2 * MWH);
    let h1 = net.holdings(c1).await;
    assert_eq!((h1.active_certificates, h1.retired_certificates), (0, 2));

    // The regulator withdraws the generator's remaining hour-0 certificate.
    let withdraw = Command::Withdraw(cmd::Withdraw {
        bundle: BundleId(gb.id),
        serials: sr(&rest_bundle.serials),
        reason: "meter fault found in audit".into(),
    });
    let w = net.ok(&regulator, withdraw).await;
    let wh = net.history(gb.id).await;
    assert_eq!(wh.bundle.expect("bundle").state, "withdrawn");
    assert_eq!(wh.entries.iter().map(|e| e.index).collect::<Vec<_>>(), vec![issued0.index, w.index]);
    assert!(wh.descriptions[1].contains(": withdraw by"), "{:?}", wh.descriptions);

    // Another scheme claims the hour-1 output: the generator's hour-1 certificate is frozen.
    let hg = net.holdings(g).await;
    let b_h1 = only(&hg, |b| b.production == pb_hour(1)).clone();
    assert_eq!((b_h1.state.as_str(), hg.active_certificates), ("active", 1));
    let exclusion =
        Command::DeclareExclusion(cmd::DeclareExclusion { device: wind(), interval: hour(1), scheme: "CCER".into() });
    let x = net.ok(&regulator, exclusion).await;
    assert!(x.summary.iter().any(|e| e.contains("froze 1 certificates")), "{:?}", x.summary);
    let frozen: Vec<u64> = x.effects.iter().filter(|e| e.kind == "frozen").map(|e| e.bundle).collect();
    assert_eq!(frozen, vec![b_h1.id], "{:?}", x.effects);
    let fh = net.history(b_h1.id).await;
    assert_eq!(fh.bundle.expect("bundle").state, "frozen");
    assert_eq!(fh.entries.iter().map(|e| e.index).collect::<Vec<_>>(), vec![issued1.index, x.index]);
    assert_eq!(net.holdings(g).await.active_certificates, 0);

    // Every receipt's leaf hash is the hash of the leaf served at its index.
    receipts.extend([gen0, issued0, issued1, t, w, x]);
    let entries = net.entries(0, u64::MAX).await.expect("entries");
    assert_eq!(entries.len() as u64, net.checkpoint().await.size);
    for r in &receipts {
        assert_eq!(leaf_hash(&entries[r.index as usize].leaf).to_vec(), r.leaf_hash, "entry {}", r.index);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_kind_and_query_on_the_mem_store() {
    let mut net = Net::mem().await;
    every_command_kind_and_query(&mut net).await;
    verify_log(&mut net, &[]).await;
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_kind_and_query_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let store = greenledger::store::SledStore::open(dir.path()).unwrap();
    let mut net = Net::start(Arc::new(store)).await;
    let early = net.checkpoint().await;
    every_command_kind_and_query(&mut net).await;
    verify_log(&mut net, &[early]).await;
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_bytes_are_the_codec_bytes_and_sign_an_accepted_command() {
    let mut net = Net::mem().await;
    let meter = net.meter.clone();
    let command =
        Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(0), energy: Wh(3 * MWH) });
    let nonce = net.next_nonce();
    let body = pb::CommandBody {
        signer: meter.account().0.to_vec(),
        nonce,
        command: Some(command_to_pb(&command)),
        expires: None,
    };
    let bytes = net.client.signing_bytes(body.clone()).await.expect("signing bytes").into_inner().bytes;
    let domain = CommandBody { signer: meter.account(), nonce, command: command.clone(), expires: None };
    assert_eq!(bytes, codec::signing_bytes(LEDGER, &domain));
    assert!(bytes.starts_with(format!("greenledger/v1/command\n{LEDGER}\n").as_bytes()));

    // A client with only an Ed25519 library signs these bytes; the server accepts the result.
    let signature = meter.signing_key().sign(&bytes).to_bytes().to_vec();
    let r = net.ok_pb(pb::SignedCommand { body: Some(body.clone()), signature }, "externally signed").await;
    let leaf = net.entries(r.index, r.index + 1).await.expect("entry").remove(0).leaf;
    let entry = codec::decode_leaf(&leaf).expect("leaf decodes");
    assert_eq!(entry.signed.body, domain);

    // SigningBytes refuses what Submit would refuse as malformed.
    let mut short = body.clone();
    short.signer.pop();
    let s = net.client.signing_bytes(short).await.expect_err("31-byte signer");
    assert_eq!(s.code(), Code::InvalidArgument, "{}", s.message());
    let s = net.client.signing_bytes(pb::CommandBody { command: None, ..body.clone() }).await.expect_err("no command");
    assert_eq!(s.code(), Code::InvalidArgument, "{}", s.message());

    // With a validity window the bytes are format 2, and the entry is logged in it.
    let expires = net.clock.now().0 + 3600;
    let windowed = pb::CommandBody {
        command: Some(command_to_pb(
            &cmd::PostGeneration { device: wind(), interval: hour(1), energy: Wh(MWH) }.into(),
        )),
        expires: Some(expires),
        ..body
    };
    let bytes = net.client.signing_bytes(windowed.clone()).await.expect("signing bytes").into_inner().bytes;
    assert!(bytes.starts_with(format!("greenledger/v2/command\n{LEDGER}\n").as_bytes()));
    let signature = meter.signing_key().sign(&bytes).to_bytes().to_vec();
    let r = net.ok_pb(pb::SignedCommand { body: Some(windowed), signature }, "externally signed, windowed").await;
    let leaf = net.entries(r.index, r.index + 1).await.expect("entry").remove(0).leaf;
    assert_eq!(&leaf[..4], b"GLE\x02");
    assert_eq!(codec::decode_leaf(&leaf).expect("leaf decodes").signed.body.expires, Some(Timestamp(expires)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_resubmission_returns_the_original_receipt() {
    let mut net = Net::mem().await;
    let meter = net.meter.clone();
    let m = net.pb(
        &meter,
        Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(0), energy: Wh(MWH) }),
    );
    let first = net.ok_pb(m.clone(), "post-generation").await;
    let cp = net.checkpoint().await;
    let store = net.store_snapshot();
    let again = net.submit_pb(m).await.expect("an identical resubmission is not an error");
    assert!(again.duplicate);
    assert_eq!((again.index, again.leaf_hash.clone()), (first.index, first.leaf_hash.clone()));
    assert!(again.tree_size > first.index);
    assert_eq!(net.checkpoint().await, cp, "a duplicate changed the checkpoint");
    assert!(net.store_snapshot() == store, "a duplicate changed the store");
}

fn sr_pb(s: SerialRange) -> pb::SerialRange {
    pb::SerialRange { start: s.start.0, end: s.end.0 }
}

/// The kinds of the second command format through the generated client: attributes and device
/// changes, readings on channels, monthly issuance, corrections (alone and co-signed), a priced
/// settlement, an amendment, and frozen certificates unfrozen and cancelled; and what the
/// queries report of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_kinds_through_the_generated_client() {
    let mut net = Net::mem().await;
    let (op, meter, platform, regulator) =
        (net.operator.clone(), net.meter.clone(), net.platform.clone(), net.regulator.clone());
    let (g, c1) = (net.generator.account(), net.consumer.account());
    let kind = |r: &pb::Receipt, k: &str| r.effects.iter().find(|e| e.kind == k).cloned();

    // A storage station with attributes, registered and then decommissioned.
    let attributes = state::DeviceAttributes { storage: true, subsidised: true, user: Some(c1), ..Default::default() };
    let store = DeviceId("STORE-1".into());
    net.ok(
        &op,
        Command::RegisterDevice(cmd::RegisterDevice {
            device: store.clone(),
            owner: g,
            technology: Technology::Other,
            capacity_w: 5_000_000,
            region: "CN-JS".into(),
            commissioned: Timestamp(t0()),
            attributes: attributes.clone(),
        }),
    )
    .await;
    let d = net.device("STORE-1", 0, 0).await;
    assert_eq!(d.attributes, Some(convert::attributes_to_pb(&attributes)));
    let decommission = DeviceChange::Decommission(Timestamp(t0() + 10 * HOUR));
    let r = net.ok(&op, Command::ChangeDevice(cmd::ChangeDevice { device: store, change: decommission })).await;
    let d = net.device("STORE-1", 0, 0).await;
    assert_eq!((d.decommissioned, d.changes.clone()), (Some(t0() + 10 * HOUR), vec![r.index]));
    let subsidised = state::DeviceAttributes { subsidised: true, ..Default::default() };
    net.ok(
        &op,
        Command::ChangeDevice(cmd::ChangeDevice { device: wind(), change: DeviceChange::Attributes(subsidised) }),
    )
    .await;

    // Hour 0 of WIND-1 on two channels; the operator issues January.
    let reading = |channel, energy| {
        Command::PostMeterReading(cmd::PostMeterReading {
            device: wind(),
            channel,
            interval: hour(0),
            energy: Wh(energy),
        })
    };
    let r = net.ok(&meter, reading(Channel::Export, 5 * MWH)).await;
    assert_eq!(kind(&r, "generation").expect("generation").energy_wh, 5 * MWH);
    let r = net.ok(&meter, reading(Channel::SelfUse, MWH)).await;
    let m = kind(&r, "metered").expect("metered");
    assert_eq!((m.channel.as_str(), m.interval, m.energy_wh), ("self-use", pb_hour(0), MWH));
    let r = net.ok(&op, Command::IssueMonth(cmd::IssueMonth { device: wind(), year: 2026, month: 1 })).await;
    assert_eq!(r.effects.iter().filter(|e| e.kind == "bundle").count(), 2, "{:?}", r.effects);
    let d = net.device(WIND, 0, 0).await;
    let channels: Vec<(&str, &str, bool)> =
        d.readings.iter().map(|r| (r.channel.as_str(), r.class.as_str(), r.issued)).collect();
    assert_eq!(channels, vec![("export", "tradable", true), ("self-use", "tradable", true)]);

    // Corrections: alone within the window (upward: a supplementary issue), co-signed too.
    let correction = cmd::CorrectReading {
        device: wind(),
        channel: Channel::Export,
        interval: hour(0),
        energy: Wh(6 * MWH),
        reason: "late data".into(),
        approval: None,
    };
    let r = net.ok(&meter, Command::CorrectReading(correction.clone())).await;
    let c = kind(&r, "corrected").expect("corrected");
    assert_eq!((c.old_wh, c.energy_wh, c.channel.as_str()), (5 * MWH, 6 * MWH, "export"));
    let approved = cmd::CorrectReading { energy: Wh(7 * MWH), ..correction }.approved(&regulator, LEDGER);
    net.ok(&meter, Command::CorrectReading(approved)).await;
    let d = net.device(WIND, 0, 0).await;
    let trail = &d.readings[0].corrections;
    assert_eq!(
        trail.iter().map(|c| (c.old_wh, c.new_wh)).collect::<Vec<_>>(),
        vec![(5 * MWH, 6 * MWH), (6 * MWH, 7 * MWH)]
    );
    assert_eq!((trail[0].approver.is_empty(), trail[1].approver.clone()), (true, regulator.account().0.to_vec()));
    assert_eq!(d.readings[0].supplements.len(), 2, "{:?}", d.readings[0]);

    // A settlement with price over hours 24 to 48, before issuance.
    let day2 = Interval::new(t0() + 24 * HOUR, t0() + 48 * HOUR);
    net.ok(
        &meter,
        Command::PostMeterReading(cmd::PostMeterReading {
            device: wind(),
            channel: Channel::Export,
            interval: hour(30),
            energy: Wh(4 * MWH),
        }),
    )
    .await;
    let settle = Command::SettleMonth(cmd::SettleMonth {
        device: wind(),
        period: day2,
        buyer: c1,
        energy: Wh(3 * MWH),
        price_fen_per_mwh: 38_500,
        network_charge_fen_per_mwh: None,
    });
    let r = net.ok(&platform, settle).await;
    let s = kind(&r, "settled").expect("settled");
    assert_eq!((s.price_fen_per_mwh, s.network_charge_fen_per_mwh, s.energy_wh), (38_500, None, 3 * MWH));
    assert_eq!(
        (s.origin.as_str(), s.account.clone(), s.interval),
        ("green-power-trade", c1.0.to_vec(), Some(pb_iv(day2)))
    );

    // An amendment from tomorrow on.
    let effective = Timestamp(clock_start() + 24 * HOUR);
    let policy = Policy { max_transfers: Some(3), ..greenledger::testkit::policy(LEDGER) };
    let r = net.ok(&regulator, Command::AmendPolicy(cmd::AmendPolicy { effective, policy, reason: "r".into() })).await;
    assert_eq!(kind(&r, "amended").expect("amended").effective, effective.0);

    // Another scheme claims hour 0: every certificate of it is frozen; one bundle is unfrozen,
    // the others cancelled.
    let x = net
        .ok(
            &regulator,
            Command::DeclareExclusion(cmd::DeclareExclusion {
                device: wind(),
                interval: hour(0),
                scheme: "CCER".into(),
            }),
        )
        .await;
    let frozen: Vec<u64> = x.effects.iter().filter(|e| e.kind == "frozen").map(|e| e.bundle).collect();
    assert!(frozen.len() >= 2, "{:?}", x.effects);
    let resolve = |bundle: u64, cancel: bool| {
        Command::ResolveFrozen(cmd::ResolveFrozen { bundle: BundleId(bundle), cancel, reason: "checked".into() })
    };
    let r = net.ok(&regulator, resolve(frozen[0], false)).await;
    let e = kind(&r, "resolved").expect("resolved");
    assert_eq!((e.bundle, e.cancelled), (frozen[0], false));
    assert_eq!(net.history(frozen[0]).await.bundle.expect("bundle").state, "active");
    for b in &frozen[1..] {
        let r = net.ok(&regulator, resolve(*b, true)).await;
        assert!(kind(&r, "resolved").expect("resolved").cancelled);
        let bundle = net.history(*b).await.bundle.expect("bundle");
        assert_eq!((bundle.state.as_str(), bundle.class.as_str()), ("cancelled", "tradable"));
        assert!(bundle.channel == "export" || bundle.channel == "self-use", "{bundle:?}");
    }
    // Only a frozen bundle can be resolved (rule 3).
    let s = net.refused(&regulator, resolve(frozen[0], true), Code::FailedPrecondition).await;
    assert!(s.message().contains("rule 3"), "{}", s.message());
    verify_log(&mut net, &[]).await;
    net.stop().await;
}

/// A correction after the window without a regulator is refused by rule 12, and a co-signature
/// by someone who is not a regulator too (PermissionDenied); the refusal names the rule over gRPC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_correction_needs_a_regulator() {
    let mut net = Net::mem().await;
    let (meter, stranger) = (net.meter.clone(), net.stranger.clone());
    let post = cmd::PostMeterReading { device: wind(), channel: Channel::Export, interval: hour(0), energy: Wh(MWH) };
    net.ok(&meter, Command::PostMeterReading(post)).await;
    net.clock.set(greenledger_core::calendar::unix(2026, 6, 1, 0, 0, 0));
    let late = cmd::CorrectReading {
        device: wind(),
        channel: Channel::Export,
        interval: hour(0),
        energy: Wh(2 * MWH),
        reason: "found late".into(),
        approval: None,
    };
    let s = net.refused(&meter, Command::CorrectReading(late.clone()), Code::FailedPrecondition).await;
    assert_eq!(greenledger::cli::client::rule_of(&s), Some(12), "{}", s.message());
    let s =
        net.refused(&meter, Command::CorrectReading(late.approved(&stranger, LEDGER)), Code::PermissionDenied).await;
    assert_eq!(greenledger::cli::client::rule_of(&s), Some(12), "{}", s.message());
    net.stop().await;
}

fn pb_iv(i: Interval) -> pb::Interval {
    pb::Interval { start: i.start.0, end: i.end.0 }
}

/// Claims for another account and with another purpose, and parks over time, through the
/// generated client: GetClaim reports whose consumption caps each claim, GetPark and ListParks
/// every membership with its dates; a claim beyond the beneficiary's consumption is refused by
/// rule 8, and an unknown park is NotFound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_for_a_beneficiary_and_parks_through_the_generated_client() {
    let mut net = Net::mem().await;
    let (op, meter, gen, con) = (net.operator.clone(), net.meter.clone(), net.generator.clone(), net.consumer.clone());
    let (c1, c2) = (net.consumer.account(), net.consumer2.account());

    // Hour 0: 3 MWh issued to the generator and transferred to consumer 1; consumer 1 metered
    // 1 MWh, consumer 2 1 MWh in two half hours.
    net.ok(
        &meter,
        Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(0), energy: Wh(3 * MWH) }),
    )
    .await;
    net.ok(&gen, Command::Issue(cmd::Issue { device: wind(), interval: hour(0) })).await;
    let b = net.holdings(net.generator.account()).await.bundles[0].clone();
    net.ok(&gen, Command::Transfer(cmd::Transfer { bundle: BundleId(b.id), serials: sr(&b.serials), to: c1 })).await;
    let consumption = |account, start: u64, end: u64, energy| {
        Command::PostConsumption(cmd::PostConsumption {
            account,
            interval: Interval::new(start, end),
            energy: Wh(energy),
        })
    };
    let (h0, half) = (hour(0).start.0, hour(0).start.0 + HOUR / 2);
    net.ok(&meter, consumption(c1, h0, h0 + HOUR, MWH)).await;
    net.ok(&meter, consumption(c2, h0, half, MWH / 2)).await;
    net.ok(&meter, consumption(c2, half, h0 + HOUR, MWH / 2)).await;
    let held = net.holdings(c1).await.bundles[0].clone();
    let first = sr(&held.serials).start.0;
    let retire = |n: u64, beneficiary, purpose| {
        Command::Retire(cmd::Retire {
            bundle: BundleId(held.id),
            serials: SerialRange::new(first + n, first + n + 1),
            beneficiary,
            purpose,
            consumption: hour(0),
        })
    };

    // For consumer 2, as energy deduction: capped by consumer 2's readings, not consumer 1's.
    let r = net.ok(&con, retire(0, Beneficiary::Account { account: c2 }, Purpose::EnergyDeduction)).await;
    let id = r.effects.iter().find(|e| e.kind == "claim").expect("a claim").claim;
    let c = net.client.get_claim(pb::ClaimRequest { claim: id }).await.expect("claim").into_inner();
    assert_eq!((c.claimant.clone(), c.capped.clone()), (c1.0.to_vec(), c2.0.to_vec()));
    assert_eq!(c.beneficiary_spec, Some(pb::Beneficiary { kind: Some(pb::beneficiary::Kind::Account(c2.0.to_vec())) }));
    assert_eq!(c.purpose_code, pb::Purpose::EnergyDeduction as i32);
    assert_eq!((c.origin.as_str(), c.class.as_str(), c.channel.as_str()), ("issued", "tradable", "export"));
    assert_eq!(net.account(c2).await.claimed_wh, MWH);
    assert_eq!(net.account(c1).await.claimed_wh, 0);
    // Consumer 2's hour is used up: another claim for it is refused by rule 8.
    let s = net
        .refused(&con, retire(1, Beneficiary::Account { account: c2 }, Purpose::Re100Cdp), Code::FailedPrecondition)
        .await;
    assert_eq!(greenledger::cli::client::rule_of(&s), Some(8), "{}", s.message());
    // For consumer 1 itself, with a purpose of its own.
    let other = Purpose::Other("green bond allocation report".into());
    let r = net.ok(&con, retire(1, Beneficiary::Claimant, other)).await;
    let id = r.effects.iter().find(|e| e.kind == "claim").expect("a claim").claim;
    let c = net.client.get_claim(pb::ClaimRequest { claim: id }).await.expect("claim").into_inner();
    assert_eq!((c.capped.clone(), c.purpose_code), (c1.0.to_vec(), pb::Purpose::Other as i32));
    assert_eq!(
        (c.purpose_text.as_str(), c.purpose.as_str()),
        ("green bond allocation report", "other: green bond allocation report")
    );
    assert_eq!(c.beneficiary, "the claimant");

    // A park of both consumers; consumer 2 leaves; the meter operator cannot join (not a consumer: PermissionDenied).
    let park = ParkId("CZ-ZERO-CARBON".into());
    let since = Timestamp(t0());
    let sites = vec![
        cmd::Site { account: c1, province: "Jiangsu".into() },
        cmd::Site { account: c2, province: "Zhejiang".into() },
    ];
    let registered = net
        .ok(
            &op,
            Command::RegisterPark(cmd::RegisterPark {
                park: park.clone(),
                name: "常州零碳园区".into(),
                province: "Jiangsu".into(),
                since,
                members: sites,
            }),
        )
        .await;
    let at = Timestamp(t0() + 24 * HOUR);
    let left = net
        .ok(
            &op,
            Command::ChangePark(cmd::ChangePark { park: park.clone(), change: ParkChange::Leave { account: c2, at } }),
        )
        .await;
    let join = ParkChange::Join { account: net.meter.account(), province: "Anhui".into(), from: at };
    net.refused(&op, Command::ChangePark(cmd::ChangePark { park: park.clone(), change: join }), Code::PermissionDenied)
        .await;
    let p = net.client.get_park(pb::GetParkRequest { park: park.0.clone() }).await.expect("park").into_inner();
    assert_eq!((p.park.as_str(), p.name.as_str(), p.province.as_str()), ("CZ-ZERO-CARBON", "常州零碳园区", "Jiangsu"));
    assert_eq!((p.registered_entry, p.changes.clone()), (registered.index, vec![left.index]));
    let members: Vec<(Vec<u8>, &str, u64, Option<u64>)> =
        p.members.iter().map(|m| (m.account.clone(), m.province.as_str(), m.from, m.until)).collect();
    assert_eq!(
        members,
        vec![(c1.0.to_vec(), "Jiangsu", since.0, None), (c2.0.to_vec(), "Zhejiang", since.0, Some(at.0))]
    );
    let list = net.client.list_parks(pb::ListParksRequest {}).await.expect("parks").into_inner();
    assert_eq!(list.parks, vec![p]);
    let s = net.client.get_park(pb::GetParkRequest { park: "NO-SUCH-PARK".into() }).await.expect_err("unknown");
    assert_eq!(s.code(), Code::NotFound, "{}", s.message());
    verify_log(&mut net, &[]).await;
    net.stop().await;
}
