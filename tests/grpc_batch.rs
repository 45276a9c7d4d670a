//! `SubmitBatch`: a stream of many commands, some bad, each answered in band and in order.

use greenledger_core::command as cmd;

use greenledger::rpc::convert::signed_to_pb;
use greenledger::rpc::pb;
use greenledger::testkit::net::*;
use greenledger::testkit::{hour, t0, HOUR, LEDGER, MWH};
use greenledger_core::crypto::Keypair;
use greenledger_core::*;
use std::collections::BTreeMap;
use tonic::Code;

/// A fresh account key for position `i` of the stream.
fn newcomer(i: u64) -> Keypair {
    let mut seed = [0xA5; 32];
    seed[..8].copy_from_slice(&i.to_be_bytes());
    Keypair::from_seed(seed)
}

fn register(i: u64) -> Command {
    Command::RegisterAccount(cmd::RegisterAccount {
        account: newcomer(i).account(),
        name: format!("Consumer {i}"),
        roles: Roles::of(&[Role::Consumer]),
    })
}

/// What a position of the stream must produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Accepted,
    /// The receipt of the command at this earlier position, marked duplicate.
    DuplicateOf(usize),
    Refused(Code),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_batch_answers_every_command_in_order_in_band() {
    let mut net = Net::mem().await;
    let (op, meter, gen) = (net.operator.clone(), net.meter.clone(), net.generator.clone());
    let (con, stranger) = (net.consumer.clone(), net.stranger.clone());
    let before = net.checkpoint().await;

    // 2,500 registrations (more than two of the server's 1,024-command chunks), with bad
    // commands of every kind spread through the stream, including near the chunk boundaries.
    const N: u64 = 2_500;
    let mut msgs: Vec<pb::SignedCommand> = Vec::new();
    let mut expect: Vec<Expect> = Vec::new();
    let mut nonce_of: BTreeMap<usize, u64> = BTreeMap::new();
    let mut bad: BTreeMap<u64, (pb::SignedCommand, Expect)> = BTreeMap::new();
    let reversed = Interval::new(t0() + HOUR, t0());
    let gen_cmd = |interval| Command::PostGeneration(cmd::PostGeneration { device: wind(), interval, energy: Wh(MWH) });
    let mut short_sig = net.pb(&op, register(N + 1));
    short_sig.signature.pop();
    bad.insert(10, (short_sig, Expect::Refused(Code::InvalidArgument)));
    let mut forged = net.pb(&op, register(N + 2));
    forged.signature[5] ^= 0x40;
    bad.insert(20, (forged, Expect::Refused(Code::Unauthenticated)));
    let unknown_signer = net.pb(&stranger, gen_cmd(hour(0)));
    bad.insert(30, (unknown_signer, Expect::Refused(Code::Unauthenticated)));
    let no_role = net.pb(&con, register(N + 3));
    bad.insert(40, (no_role, Expect::Refused(Code::PermissionDenied)));
    let unknown_bundle = net.pb(
        &gen,
        Command::Transfer(cmd::Transfer { bundle: BundleId(4242), serials: SerialRange::new(1, 2), to: con.account() }),
    );
    bad.insert(50, (unknown_bundle, Expect::Refused(Code::NotFound)));
    let reversed_interval = net.pb(&meter, gen_cmd(reversed));
    bad.insert(1023, (reversed_interval, Expect::Refused(Code::InvalidArgument)));
    let no_body = pb::SignedCommand { body: None, signature: vec![1; 64] };
    bad.insert(1024, (no_body, Expect::Refused(Code::InvalidArgument)));
    let no_reading = net.pb(&gen, Command::Issue(cmd::Issue { device: wind(), interval: hour(7) }));
    bad.insert(1500, (no_reading, Expect::Refused(Code::NotFound)));
    let genesis =
        net.pb(&op, Command::Genesis(cmd::Genesis { policy: Policy::new(LEDGER), operator_name: "Again".into() }));
    bad.insert(2047, (genesis, Expect::Refused(Code::FailedPrecondition)));

    let total = N + bad.len() as u64;
    let mut i = 0u64;
    while (msgs.len() as u64) < total {
        let at = msgs.len() as u64;
        if let Some((m, e)) = bad.remove(&at) {
            msgs.push(m);
            expect.push(e);
            continue;
        }
        let nonce = net.next_nonce();
        nonce_of.insert(msgs.len(), nonce);
        msgs.push(signed_to_pb(&op.sign(LEDGER, nonce, register(i))));
        expect.push(Expect::Accepted);
        i += 1;
    }
    // Replays of earlier stream commands: identical (a duplicate), the same nonce with another
    // command (AlreadyExists), and a second registration of an account (AlreadyExists).
    msgs.push(msgs[0].clone());
    expect.push(Expect::DuplicateOf(0));
    msgs.push(msgs[1500 + 3].clone());
    expect.push(Expect::DuplicateOf(1500 + 3));
    let reused = op.sign(LEDGER, nonce_of[&1], register(N + 4));
    msgs.push(signed_to_pb(&reused));
    expect.push(Expect::Refused(Code::AlreadyExists));
    let twice = net.pb(&op, register(7));
    msgs.push(twice);
    expect.push(Expect::Refused(Code::AlreadyExists));
    // And one more good command after all of them.
    msgs.push(net.pb(&meter, gen_cmd(hour(0))));
    expect.push(Expect::Accepted);

    let results = net.submit_batch(msgs.clone()).await;
    assert_eq!(results.len(), msgs.len(), "one result per command");
    let mut next_index = before.size;
    let mut receipts: BTreeMap<usize, pb::Receipt> = BTreeMap::new();
    for (pos, (r, e)) in results.iter().zip(&expect).enumerate() {
        assert_eq!(r.position, pos as u64, "results out of order");
        match (r.result.as_ref().expect("a result"), e) {
            (pb::submit_result::Result::Receipt(rc), Expect::Accepted) => {
                assert!(!rc.duplicate, "position {pos}");
                assert_eq!(rc.index, next_index, "position {pos}: entries out of order");
                assert!(rc.tree_size > rc.index);
                next_index += 1;
                receipts.insert(pos, rc.clone());
            }
            (pb::submit_result::Result::Receipt(rc), Expect::DuplicateOf(orig)) => {
                let o = &receipts[orig];
                assert!(rc.duplicate, "position {pos}");
                assert_eq!((rc.index, &rc.leaf_hash), (o.index, &o.leaf_hash), "position {pos}");
            }
            (pb::submit_result::Result::Refusal(rf), Expect::Refused(code)) => {
                assert_eq!(rf.code, *code as i32, "position {pos}: {}", rf.message);
                assert!(!rf.message.is_empty());
            }
            (got, want) => panic!("position {pos}: expected {want:?}, got {got:?}"),
        }
    }

    // Exactly the accepted commands were appended, and they are all there.
    let after = net.checkpoint().await;
    assert_eq!(after.size, next_index);
    assert_eq!(after.size - before.size, N + 1);
    for i in [0, 1023, 1024, N - 1] {
        let a = net.account(newcomer(i).account()).await;
        assert_eq!(a.name, format!("Consumer {i}"));
    }
    let earlier = [before];
    verify_log(&mut net, &earlier).await;

    // Unary Submit agrees with the stream: a duplicate of a streamed command.
    let again = net.submit_pb(msgs[0].clone()).await.expect("duplicate");
    assert!(again.duplicate);
    assert_eq!(again.index, receipts[&0].index);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_batch_of_an_empty_stream_answers_nothing() {
    let mut net = Net::mem().await;
    let before = net.checkpoint().await;
    assert!(net.submit_batch(Vec::new()).await.is_empty());
    assert_eq!(net.checkpoint().await, before);
}
