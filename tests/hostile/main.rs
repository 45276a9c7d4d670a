//! Hostile input through the real gRPC server: a table of requests, each with the status code
//! and message fragment it must get, and the check that nothing changed: the checkpoint (size
//! and root) and every account's record and holdings are the same before and after.
//!
//! Requests go out as raw bytes (a pass-through codec), so malformed protobuf is real; a few
//! cases hand-write the gRPC frame (length prefix and flags) to test framing errors.

mod cases;
mod fixture;
mod wire;

use cases::{cases, Expect};
use greenledger::rpc::pb;
use greenledger::rpc::pb::ledger_client::LedgerClient;
use greenledger_core::AccountId;
use prost::Message;
use tonic::transport::Channel;
use wire::call;

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
    let w = fixture::setup();
    let clock = w.clock.clone();
    let server = w.serve().await;
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
