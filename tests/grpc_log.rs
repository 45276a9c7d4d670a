//! The log over gRPC as an auditor sees it: entries rebuild the signed root, inclusion and
//! consistency proofs verify, bad proof requests are refused; plus the standard health and
//! reflection services and TCP_NODELAY on the server's sockets.

use greenledger_core::command as cmd;

use greenledger::rpc::pb;
use greenledger::testkit::net::*;
use greenledger::testkit::{hour, MWH};
use greenledger_core::log::{leaf_hash, verify_consistency, verify_inclusion, Hash, MemTree};
use greenledger_core::*;
use tonic::Code;

/// A log of about 1,250 entries (more than one 1,000-entry `GetEntries` page), grown in steps,
/// with the checkpoint of every step.
async fn grown_log(net: &mut Net) -> Vec<pb::CheckpointResponse> {
    let (op, meter, gen) = (net.operator.clone(), net.meter.clone(), net.generator.clone());
    let mut checkpoints = vec![net.checkpoint().await];
    for n in 0..3 {
        net.ok(
            &meter,
            Command::PostGeneration(cmd::PostGeneration { device: wind(), interval: hour(n), energy: Wh(2 * MWH) }),
        )
        .await;
        net.ok(&gen, Command::Issue(cmd::Issue { device: wind(), interval: hour(n) })).await;
        checkpoints.push(net.checkpoint().await);
    }
    for step in 0..5u8 {
        let msgs = (0..250u16)
            .map(|i| {
                let mut seed = [step; 32];
                seed[..2].copy_from_slice(&i.to_be_bytes());
                seed[2] = 0xC3;
                let account = greenledger_core::crypto::Keypair::from_seed(seed).account();
                let roles = Roles::of(&[Role::Consumer]);
                net.pb(
                    &op,
                    Command::RegisterAccount(cmd::RegisterAccount { account, name: format!("C{step}-{i}"), roles }),
                )
            })
            .collect();
        let results = net.submit_batch(msgs).await;
        assert!(results.iter().all(|r| matches!(r.result, Some(pb::submit_result::Result::Receipt(_)))));
        checkpoints.push(net.checkpoint().await);
    }
    checkpoints
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_rebuild_the_signed_root_and_every_proof_verifies() {
    let mut net = Net::mem().await;
    let checkpoints = grown_log(&mut net).await;
    let size = verify_log(&mut net, &checkpoints).await;
    assert!(size > 1000, "the log should span more than one GetEntries page, has {size}");

    // Consistency from every earlier size, with the old roots rebuilt from the entries.
    let cp = net.checkpoint().await;
    let root: Hash = cp.root.clone().try_into().unwrap();
    let entries = net.entries(0, size).await.unwrap();
    let mut tree = MemTree::new();
    for e in &entries {
        tree.push(&e.leaf);
    }
    for first in 1..=size {
        let p = net
            .client
            .get_consistency_proof(pb::ConsistencyProofRequest { first, second: size })
            .await
            .expect("consistency proof")
            .into_inner();
        let proof: Vec<Hash> = p.hashes.iter().map(|h| h.clone().try_into().unwrap()).collect();
        let old_root = tree.root_at(first).unwrap();
        verify_consistency(first, size, &old_root, &root, &proof)
            .unwrap_or_else(|e| panic!("consistency {first} -> {size}: {e}"));
    }

    // A proof is only good for its own leaf, position and root.
    let i = size / 3;
    let p = net.client.get_inclusion_proof(pb::InclusionProofRequest { index: i, tree_size: 0 }).await.unwrap();
    let proof: Vec<Hash> = p.into_inner().hashes.iter().map(|h| h.clone().try_into().unwrap()).collect();
    let lh = leaf_hash(&entries[i as usize].leaf);
    verify_inclusion(i, size, &lh, &proof, &root).unwrap();
    assert!(verify_inclusion(i + 1, size, &lh, &proof, &root).is_err());
    assert!(verify_inclusion(i, size, &leaf_hash(&entries[0].leaf), &proof, &root).is_err());
    let mut tampered = proof.clone();
    tampered[0][0] ^= 1;
    assert!(verify_inclusion(i, size, &lh, &tampered, &root).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_entries_serves_exact_ranges_and_clips_at_the_tree_size() {
    let mut net = Net::mem().await;
    let size = net.checkpoint().await.size;
    assert!(size >= 8);
    let all = net.entries(0, size).await.unwrap();
    let some = net.entries(2, 5).await.unwrap();
    assert_eq!(some.iter().map(|e| e.index).collect::<Vec<_>>(), vec![2, 3, 4]);
    assert_eq!(some[..], all[2..5]);
    let clipped = net.entries(size - 2, size + 100).await.unwrap();
    assert_eq!(clipped[..], all[(size - 2) as usize..]);
    assert!(net.entries(3, 3).await.unwrap().is_empty());
    assert!(net.entries(size + 5, size + 10).await.unwrap().is_empty());
    let e = net.entries(5, 2).await.expect_err("reversed range");
    assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
    // The genesis leaf is entry 0 and decodes to the genesis command.
    let genesis = greenledger_core::codec::decode_leaf(&all[0].leaf).unwrap();
    assert_eq!(genesis.signed.body.command.kind(), "genesis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_proof_requests_are_invalid_argument() {
    let mut net = Net::mem().await;
    let size = net.checkpoint().await.size;
    let mut c = net.client.clone();
    let cases = [
        c.get_inclusion_proof(pb::InclusionProofRequest { index: size, tree_size: 0 }).await.map(|_| ()),
        c.get_inclusion_proof(pb::InclusionProofRequest { index: 3, tree_size: 3 }).await.map(|_| ()),
        c.get_inclusion_proof(pb::InclusionProofRequest { index: 0, tree_size: size + 1 }).await.map(|_| ()),
        c.get_consistency_proof(pb::ConsistencyProofRequest { first: 0, second: size }).await.map(|_| ()),
        c.get_consistency_proof(pb::ConsistencyProofRequest { first: 4, second: 3 }).await.map(|_| ()),
        c.get_consistency_proof(pb::ConsistencyProofRequest { first: 1, second: size + 1 }).await.map(|_| ()),
    ];
    for (i, r) in cases.into_iter().enumerate() {
        let e = r.expect_err("refused");
        assert_eq!(e.code(), Code::InvalidArgument, "case {i}: {}", e.message());
    }
    // first == second is a valid, empty proof.
    let p = c.get_consistency_proof(pb::ConsistencyProofRequest { first: size, second: size }).await.unwrap();
    assert!(p.into_inner().hashes.is_empty());
}

async fn channel(net: &Net) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{}", net.addr())).unwrap().connect().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_answers_serving_for_the_ledger_service() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    let net = Net::mem().await;
    let mut health = HealthClient::new(channel(&net).await);
    let r = health.check(HealthCheckRequest { service: "greenledger.v1.Ledger".into() }).await.unwrap();
    assert_eq!(r.into_inner().status, ServingStatus::Serving as i32);
    let overall = health.check(HealthCheckRequest { service: String::new() }).await.unwrap();
    assert_eq!(overall.into_inner().status, ServingStatus::Serving as i32);
    let unknown = health.check(HealthCheckRequest { service: "no.such.Service".into() }).await;
    assert_eq!(unknown.expect_err("unknown service").code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_the_ledger_service_and_serves_its_descriptor() {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let net = Net::mem().await;
    let mut reflection = ServerReflectionClient::new(channel(&net).await);
    let requests = vec![
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol("greenledger.v1.Ledger".into())),
        },
    ];
    let mut stream = reflection.server_reflection_info(tokio_stream::iter(requests)).await.unwrap().into_inner();
    let listed = stream.message().await.unwrap().expect("list response");
    let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
        panic!("expected a service list, got {listed:?}")
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"greenledger.v1.Ledger"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    let file = stream.message().await.unwrap().expect("file response");
    let Some(MessageResponse::FileDescriptorResponse(fd)) = file.message_response else {
        panic!("expected a file descriptor, got {file:?}")
    };
    let bytes = fd.file_descriptor_proto.concat();
    let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(has("greenledger/v1/ledger.proto") && has("SigningBytes") && has("GetInclusionProof"));
}

/// Older reflection clients (grpcurl before 1.9, Python's grpcio-reflection) speak only
/// `grpc.reflection.v1alpha`: this client knows nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_v1alpha_alone_discovers_the_api() {
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    let net = Net::mem().await;
    let mut reflection = ServerReflectionClient::new(channel(&net).await);
    let requests = vec![
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol("greenledger.v1.Ledger".into())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol("greenledger.v1.NoSuchService".into())),
        },
    ];
    let mut stream = reflection.server_reflection_info(tokio_stream::iter(requests)).await.unwrap().into_inner();
    let listed = stream.message().await.unwrap().expect("list response");
    let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
        panic!("expected a service list, got {listed:?}")
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"greenledger.v1.Ledger"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    let file = stream.message().await.unwrap().expect("file response");
    let Some(MessageResponse::FileDescriptorResponse(fd)) = file.message_response else {
        panic!("expected a file descriptor, got {file:?}")
    };
    let bytes = fd.file_descriptor_proto.concat();
    let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(has("greenledger/v1/ledger.proto") && has("SubmitAll") && has("GetClaimProof"));
    let missing = stream.message().await.expect_err("an unknown symbol is an error");
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
}

/// Small unary responses must not wait for the client's delayed ACK (Nagle's algorithm), so
/// the server sets TCP_NODELAY on every socket it accepts. The test reads the option on the
/// server's side of a live connection: it finds the server's established sockets in this
/// process (`/proc/self/net/tcp` by local port, `/proc/self/fd` by socket inode), takes a
/// duplicate of each with `pidfd_getfd`, and asks the kernel. A plain client socket without the
/// option is read the same way, to show that the probe tells the two apart.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_sockets_have_tcp_nodelay() {
    let mut net = Net::mem().await;
    net.checkpoint().await;
    let port = net.addr().port();
    let plain = std::net::TcpStream::connect(net.addr()).unwrap();
    assert!(!plain.nodelay().unwrap());
    let plain_port = plain.local_addr().unwrap().port();

    // The connection that served the request above has surely been accepted (the plain one may
    // still wait in the accept queue).
    let server_side = socket_options(|local, _| local == port);
    assert!(!server_side.is_empty(), "no accepted socket found");
    assert!(server_side.iter().all(|&nodelay| nodelay), "an accepted socket lacks TCP_NODELAY: {server_side:?}");
    // The probe reads the real option: the plain client's own socket has it off.
    assert_eq!(socket_options(|local, remote| local == plain_port && remote == port), vec![false]);
}

/// TCP_NODELAY of every established IPv4 socket of this process whose (local, remote) ports
/// match `pick`.
#[cfg(target_os = "linux")]
fn socket_options(pick: impl Fn(u16, u16) -> bool) -> Vec<bool> {
    use rustix::process::{getpid, pidfd_getfd, pidfd_open, PidfdFlags, PidfdGetfdFlags};
    let port = |hex_addr: &str| u16::from_str_radix(hex_addr.rsplit(':').next().unwrap(), 16).unwrap();
    let inodes: Vec<String> = std::fs::read_to_string("/proc/self/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // f[1] local, f[2] remote, f[3] state (01 established), f[9] inode
            (f[3] == "01" && pick(port(f[1]), port(f[2]))).then(|| f[9].to_string())
        })
        .collect();
    let me = pidfd_open(getpid(), PidfdFlags::empty()).unwrap();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let entry = entry.unwrap();
        let Ok(target) = std::fs::read_link(entry.path()) else { continue };
        let target = target.to_string_lossy().into_owned();
        let Some(inode) = target.strip_prefix("socket:[").and_then(|t| t.strip_suffix(']')) else { continue };
        if inodes.iter().any(|i| i == inode) {
            let fd: i32 = entry.file_name().to_string_lossy().parse().unwrap();
            let dup = pidfd_getfd(&me, fd, PidfdGetfdFlags::empty()).unwrap();
            out.push(rustix::net::sockopt::tcp_nodelay(&dup).unwrap());
        }
    }
    out
}
