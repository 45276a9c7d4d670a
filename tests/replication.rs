//! The log replicated through PostgreSQL: real `greenledger serve --log postgres://…` processes
//! on a throw-away PostgreSQL 15 (the test kit's `PgCluster`; skipped with a message when
//! PostgreSQL is not installed, a failure when `GREENLEDGER_REQUIRE_PG=1`, as in CI).
//!
//! - convergence: three nodes, submissions through every node, every node converges to the
//!   leader's checkpoint and serves the same entries;
//! - failover: the leader is SIGKILLed under load `GREENLEDGER_FAILOVER_ROUNDS` times (3 by
//!   default; the recorded run in BENCHMARKS.md used 20), and after each round every
//!   acknowledged entry is in the log with its leaf hash, every checkpoint handed out earlier is
//!   consistent with the new tree, and a new leader accepted a command within 15 s;
//! - a leader stopped (SIGSTOP) past its lease and continued (SIGCONT) is fenced: it commits
//!   nothing, steps down, and nothing it acknowledged is missing;
//! - standby promotion: with a synchronous standby, the primary SIGKILLed and the standby
//!   promoted, nothing acknowledged is lost.

use greenledger::rpc::pb;
use greenledger::testkit::client::{connect, Client};
use greenledger::testkit::postgres::{start_or_skip, PgCluster};
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::merkle::{leaf_hash, verify_consistency, MemTree};
use greenledger_core::types::{Role, Roles};
use greenledger_core::Command;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_greenledger");
const NAME: &str = "test.greenledger.local/replicated";
/// A new leader must accept commands within this after the old one is killed.
const FAILOVER_LIMIT: Duration = Duration::from_secs(15);

/// The tests of this file run one at a time: each starts PostgreSQL and several servers, and
/// on two cores side by side they would starve each other's lease renewals (a starved leader
/// losing its lease is correct behaviour, but it is not what each test is about).
static ONE_AT_A_TIME: std::sync::LazyLock<tokio::sync::Mutex<()>> =
    std::sync::LazyLock::new(|| tokio::sync::Mutex::new(()));

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn lease_ttl() -> String {
    std::env::var("GREENLEDGER_FAILOVER_TTL").unwrap_or_else(|_| "2s".into())
}

/// One `greenledger serve --log` process and its directory.
struct NodeProc {
    dir: PathBuf,
    addr: SocketAddr,
    url: String,
    child: Option<Child>,
}

impl NodeProc {
    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("serve.log")).unwrap();
        let child = std::process::Command::new(BIN)
            .args(["serve", "--data"])
            .arg(&self.dir)
            .args(["--addr", &self.addr.to_string(), "--log", &self.url, "--lease-ttl", &lease_ttl()])
            .env("RUST_LOG", "greenledger=info")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        assert!(std::process::Command::new("kill").args([signal, &pid]).status().unwrap().success());
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A replicated ledger: its PostgreSQL, its nodes, the operator who signs test commands.
struct Cluster {
    _tmp: tempfile::TempDir,
    nodes: Mutex<Vec<NodeProc>>,
    operator: Keypair,
    nonce: AtomicU64,
}

impl Cluster {
    /// `greenledger init --log` into the database, then `n` nodes sharing its log key.
    fn new(url: &str, n: usize) -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let first = tmp.path().join("node0");
        let out = std::process::Command::new(BIN)
            .args(["init", "--data"])
            .arg(&first)
            .args(["--name", NAME, "--preset", "eecs-go", "--log", url])
            .output()
            .unwrap();
        assert!(out.status.success(), "init --log failed: {}", String::from_utf8_lossy(&out.stderr));
        // A second init into the same database is refused, and changes nothing.
        let again = std::process::Command::new(BIN)
            .args(["init", "--data"])
            .arg(tmp.path().join("other"))
            .args(["--name", NAME, "--log", url])
            .output()
            .unwrap();
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("already holds the log"), "{again:?}");
        assert!(!tmp.path().join("other").join("log.key").exists());

        let operator = greenledger::cli::client::read_key(&first.join("operator.key")).unwrap();
        let mut nodes = Vec::new();
        for i in 0..n {
            let dir = tmp.path().join(format!("node{i}"));
            if i > 0 {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::copy(first.join("log.key"), dir.join("log.key")).unwrap();
            }
            let mut node = NodeProc { dir, addr: free_addr(), url: url.to_string(), child: None };
            node.start();
            nodes.push(node);
        }
        Cluster { _tmp: tmp, nodes: Mutex::new(nodes), operator, nonce: AtomicU64::new(1) }
    }

    /// A new command every call: the operator registers a new account.
    fn command(&self) -> pb::SignedCommand {
        let n = self.nonce.fetch_add(1, Ordering::SeqCst);
        let mut seed = [7u8; 32];
        seed[..8].copy_from_slice(&n.to_be_bytes());
        let account = Keypair::from_seed(seed).account();
        let c = Command::RegisterAccount(cmd::RegisterAccount {
            account,
            name: format!("account {n}"),
            roles: Roles::of(&[Role::Consumer]),
        });
        greenledger::rpc::convert::signed_to_pb(&self.operator.sign(NAME, n, c))
    }
}

async fn client(endpoint: &str) -> Option<Client> {
    tokio::time::timeout(Duration::from_secs(2), connect(endpoint)).await.ok()?.ok()
}

/// Submits a new command through `endpoint` until one is accepted or `deadline` passes.
async fn first_accepted(
    cluster: &Cluster,
    endpoints: &[String],
    deadline: Duration,
) -> Option<(Duration, pb::Receipt)> {
    let started = Instant::now();
    while started.elapsed() < deadline {
        for e in endpoints {
            if let Some(mut c) = client(e).await {
                if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(5), c.submit(cluster.command())).await {
                    return Some((started.elapsed(), r.into_inner()));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

async fn checkpoint(endpoint: &str) -> Option<pb::CheckpointResponse> {
    let mut c = client(endpoint).await?;
    Some(c.get_checkpoint(pb::GetCheckpointRequest {}).await.ok()?.into_inner())
}

async fn entries(endpoint: &str, size: u64) -> Vec<pb::LogEntry> {
    let mut c = client(endpoint).await.expect("connect for entries");
    let mut out = Vec::new();
    while (out.len() as u64) < size {
        let req = pb::GetEntriesRequest { start: out.len() as u64, end: size };
        let mut stream = c.get_entries(req).await.expect("entries").into_inner();
        let before = out.len();
        while let Some(e) = stream.message().await.expect("entries stream") {
            out.push(e);
        }
        assert!(out.len() > before, "no progress reading entries");
    }
    out
}

/// Waits until every endpoint serves a checkpoint of at least `size`, all of the same size and
/// root; returns it.
async fn converged(endpoints: &[String], size: u64) -> pb::CheckpointResponse {
    let started = Instant::now();
    loop {
        let mut seen = Vec::new();
        for e in endpoints {
            seen.push(checkpoint(e).await);
        }
        let first = seen[0].clone();
        if let Some(f) = &first {
            if f.size >= size && seen.iter().all(|s| s.as_ref().is_some_and(|s| s.size == f.size && s.root == f.root)) {
                return f.clone();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nodes did not converge to size {size}: {:?}",
            seen.iter().map(|s| s.as_ref().map(|s| s.size)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every acknowledged entry is in the log at its index with its leaf hash, and every
/// checkpoint handed out before is consistent with the tree `endpoint` serves now.
async fn check_history(endpoint: &str, acked: &BTreeMap<u64, Vec<u8>>, earlier: &[pb::CheckpointResponse]) -> u64 {
    let cp = checkpoint(endpoint).await.expect("checkpoint");
    let log = entries(endpoint, cp.size).await;
    let mut tree = MemTree::new();
    for e in &log {
        tree.push(&e.leaf);
    }
    assert_eq!(tree.root().to_vec(), cp.root, "the served entries do not rebuild the checkpoint's root");
    for (index, hash) in acked {
        let e = log.get(*index as usize).unwrap_or_else(|| panic!("acknowledged entry {index} is missing"));
        assert_eq!(leaf_hash(&e.leaf).to_vec(), *hash, "acknowledged entry {index} has another leaf hash");
    }
    let mut c = client(endpoint).await.expect("connect");
    let root: [u8; 32] = cp.root.clone().try_into().unwrap();
    for old in earlier.iter().filter(|o| o.size > 0) {
        let old_root: [u8; 32] = old.root.clone().try_into().unwrap();
        assert_eq!(tree.root_at(old.size).unwrap(), old_root, "checkpoint of size {} was rewritten", old.size);
        let p = c
            .get_consistency_proof(pb::ConsistencyProofRequest { first: old.size, second: cp.size })
            .await
            .unwrap()
            .into_inner();
        let hashes: Vec<[u8; 32]> = p.hashes.iter().map(|h| h.clone().try_into().unwrap()).collect();
        verify_consistency(old.size, cp.size, &old_root, &root, &hashes)
            .unwrap_or_else(|e| panic!("consistency {} -> {}: {e}", old.size, cp.size));
    }
    cp.size
}

/// Submitters through every node, recording what was acknowledged and the checkpoints served.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<BTreeMap<u64, Vec<u8>>>>,
    checkpoints: Arc<Mutex<Vec<pb::CheckpointResponse>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(cluster: &Arc<Cluster>, endpoints: Vec<String>, workers: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(BTreeMap::new()));
        let checkpoints = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for w in 0..workers {
            let (cluster, endpoints, stop, acked, checkpoints) =
                (cluster.clone(), endpoints.clone(), stop.clone(), acked.clone(), checkpoints.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = w;
                while !stop.load(Ordering::SeqCst) {
                    i += 1;
                    let e = &endpoints[i % endpoints.len()];
                    let Some(mut c) = client(e).await else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    let batch: Vec<pb::SignedCommand> = (0..8).map(|_| cluster.command()).collect();
                    let answer = tokio::time::timeout(Duration::from_secs(10), async {
                        let mut out = Vec::new();
                        let mut stream = c.submit_batch(tokio_stream::iter(batch)).await?.into_inner();
                        while let Some(r) = stream.message().await? {
                            out.push(r);
                        }
                        Ok::<_, tonic::Status>(out)
                    })
                    .await;
                    if let Ok(Ok(results)) = answer {
                        for r in results {
                            match r.result {
                                Some(pb::submit_result::Result::Receipt(rc)) => {
                                    acked.lock().unwrap().insert(rc.index, rc.leaf_hash);
                                }
                                Some(pb::submit_result::Result::Refusal(f)) => {
                                    panic!("a valid command was refused: {}", f.message)
                                }
                                None => {}
                            }
                        }
                    } else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    if i % 5 == 0 {
                        if let Some(cp) = checkpoint(e).await {
                            checkpoints.lock().unwrap().push(cp);
                        }
                    }
                }
            }));
        }
        Load { stop, acked, checkpoints, tasks }
    }

    async fn finish(self) -> (BTreeMap<u64, Vec<u8>>, Vec<pb::CheckpointResponse>) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.expect("a load worker failed");
        }
        let acked = self.acked.lock().unwrap().clone();
        let cps = self.checkpoints.lock().unwrap().clone();
        (acked, cps)
    }
}

fn leader_address(pg: &PgCluster) -> Option<String> {
    let out = pg.psql("SELECT address FROM lease WHERE id = 1 AND expires_at > now()").ok()?;
    (!out.trim().is_empty()).then(|| out.trim().to_string())
}

/// The index of the node that leads, once one does.
async fn leader(pg: &PgCluster, cluster: &Cluster) -> usize {
    let started = Instant::now();
    loop {
        if let Some(a) = leader_address(pg) {
            let nodes = cluster.nodes.lock().unwrap();
            if let Some(i) = nodes.iter().position(|n| n.endpoint() == a && n.child.is_some()) {
                return i;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no node took the lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn endpoints(cluster: &Cluster) -> Vec<String> {
    cluster.nodes.lock().unwrap().iter().map(NodeProc::endpoint).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_converge_and_followers_forward_submissions() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(pg) = start_or_skip("three_nodes_converge_and_followers_forward_submissions") else { return };
    let cluster = Arc::new(Cluster::new(&pg.url(), 3));
    let all = endpoints(&cluster);
    first_accepted(&cluster, &all, Duration::from_secs(60)).await.expect("a leader accepts commands");
    let lead = leader(&pg, &cluster).await;

    // Submissions through every node, followers included, are accepted (forwarded).
    let mut acked = BTreeMap::new();
    for round in 0..30 {
        let e = &all[round % all.len()];
        let mut c = client(e).await.expect("connect");
        let r = c.submit(cluster.command()).await.unwrap_or_else(|s| panic!("submit through {e}: {s}")).into_inner();
        acked.insert(r.index, r.leaf_hash);
    }
    let cp = converged(&all, *acked.keys().last().unwrap() + 1).await;
    // Every node, the followers too, serves the same entries and their proofs.
    for e in &all {
        assert_eq!(check_history(e, &acked, std::slice::from_ref(&cp)).await, cp.size);
    }
    // The shared head in PostgreSQL is the served checkpoint.
    let size: u64 = pg.psql("SELECT size FROM log_head").unwrap().trim().parse().unwrap();
    assert_eq!(size, cp.size);
    let rows: u64 = pg.psql("SELECT sum(count) FROM log_batches").unwrap().trim().parse().unwrap();
    assert_eq!(rows, cp.size, "log_batches hold every entry once");
    let log = cluster.nodes.lock().unwrap()[lead].log();
    assert!(log.contains("leading the replicated log"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_under_load_loses_nothing_acknowledged() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(pg) = start_or_skip("the_leader_killed_under_load_loses_nothing_acknowledged") else { return };
    let rounds: usize = std::env::var("GREENLEDGER_FAILOVER_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let cluster = Arc::new(Cluster::new(&pg.url(), 3));
    let all = endpoints(&cluster);
    first_accepted(&cluster, &all, Duration::from_secs(60)).await.expect("a first leader");
    let mut earlier: Vec<pb::CheckpointResponse> = Vec::new();
    let mut acked = BTreeMap::new();
    let mut failovers = Vec::new();
    for round in 0..rounds {
        let lead = leader(&pg, &cluster).await;
        let load = Load::start(&cluster, all.clone(), 3);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        cluster.nodes.lock().unwrap()[lead].signal("-KILL");
        let killed = Instant::now();
        // The survivors: the first command one of them accepts marks the failover's end.
        let survivors: Vec<String> =
            all.iter().enumerate().filter(|(i, _)| *i != lead).map(|(_, e)| e.clone()).collect();
        let (_, receipt) = first_accepted(&cluster, &survivors, FAILOVER_LIMIT * 2)
            .await
            .unwrap_or_else(|| panic!("round {round}: no node accepted a command after the leader was killed"));
        let took = killed.elapsed();
        acked.insert(receipt.index, receipt.leaf_hash);
        failovers.push(took);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (round_acked, served) = load.finish().await;
        acked.extend(round_acked);
        earlier.extend(served);
        // The killed node comes back as a follower from its own directory.
        {
            let mut nodes = cluster.nodes.lock().unwrap();
            nodes[lead].kill();
            nodes[lead].start();
        }
        let new_leader = leader(&pg, &cluster).await;
        assert_ne!(new_leader, lead, "round {round}: the killed node still holds the lease");
        let size = check_history(&all[new_leader], &acked, &earlier).await;
        println!("round {round}: failover {:?}, {} entries, {} acknowledged so far", took, size, acked.len());
        assert!(took <= FAILOVER_LIMIT, "round {round}: the first command after the kill was accepted after {took:?}");
    }
    let cp = converged(&all, 1).await;
    for e in &all {
        check_history(e, &acked, &earlier).await;
    }
    failovers.sort();
    println!(
        "failovers: {} rounds, median {:?}, max {:?}; {} entries",
        failovers.len(),
        failovers[failovers.len() / 2],
        failovers.last().unwrap(),
        cp.size
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_paused_past_its_lease_is_fenced_and_commits_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(pg) = start_or_skip("a_leader_paused_past_its_lease_is_fenced_and_commits_nothing") else { return };
    let cluster = Arc::new(Cluster::new(&pg.url(), 3));
    let all = endpoints(&cluster);
    first_accepted(&cluster, &all, Duration::from_secs(60)).await.expect("a first leader");
    let lead = leader(&pg, &cluster).await;
    let epoch_before: i64 = pg.psql("SELECT epoch FROM log_head").unwrap().trim().parse().unwrap();
    cluster.nodes.lock().unwrap()[lead].signal("-STOP");
    // Submissions to the stopped leader wait in its sockets while another node takes over.
    let stale = all[lead].clone();
    let mut queued = Vec::new();
    for _ in 0..8 {
        let (cluster, stale) = (cluster.clone(), stale.clone());
        queued.push(tokio::spawn(async move {
            let mut c = client(&stale).await?;
            let batch: Vec<pb::SignedCommand> = (0..4).map(|_| cluster.command()).collect();
            let mut out = Vec::new();
            let mut stream = c.submit_batch(tokio_stream::iter(batch)).await.ok()?.into_inner();
            while let Ok(Some(r)) = stream.message().await {
                out.push(r);
            }
            Some(out)
        }));
    }
    let survivors: Vec<String> = all.iter().enumerate().filter(|(i, _)| *i != lead).map(|(_, e)| e.clone()).collect();
    let (_, r) = first_accepted(&cluster, &survivors, FAILOVER_LIMIT * 2).await.expect("another node leads");
    let mut acked = BTreeMap::from([(r.index, r.leaf_hash)]);
    let new_leader = leader(&pg, &cluster).await;
    assert_ne!(new_leader, lead);
    let size_before: u64 = pg.psql("SELECT size FROM log_head").unwrap().trim().parse().unwrap();
    cluster.nodes.lock().unwrap()[lead].signal("-CONT");
    for q in queued {
        if let Some(results) = q.await.unwrap() {
            for r in results {
                if let Some(pb::submit_result::Result::Receipt(rc)) = r.result {
                    // Accepted only if the new leader took it (forwarded after the step-down).
                    acked.insert(rc.index, rc.leaf_hash);
                }
            }
        }
    }
    // The stale leader stepped down; its node is a follower that forwards again.
    let started = Instant::now();
    while !cluster.nodes.lock().unwrap()[lead].log().contains("stepping down") {
        assert!(started.elapsed() < Duration::from_secs(30), "the stale leader never stepped down");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let epoch_after: i64 = pg.psql("SELECT epoch FROM log_head").unwrap().trim().parse().unwrap();
    assert!(epoch_after > epoch_before, "the new leader fenced the head with a newer epoch");
    // Through the old leader, now a follower that forwards (once it has read who leads).
    let (_, r) = first_accepted(&cluster, std::slice::from_ref(&stale), Duration::from_secs(30))
        .await
        .expect("accepted through the old leader, now a follower");
    acked.insert(r.index, r.leaf_hash);
    assert!(r.index >= size_before);
    let cp = converged(&all, r.index + 1).await;
    for e in &all {
        check_history(e, &acked, std::slice::from_ref(&cp)).await;
    }
    let rows: u64 = pg.psql("SELECT sum(count) FROM log_batches").unwrap().trim().parse().unwrap();
    assert_eq!(rows, cp.size, "log_batches hold every entry once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoted_synchronous_standby_holds_everything_acknowledged() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(mut primary) = start_or_skip("a_promoted_synchronous_standby_holds_everything_acknowledged") else {
        return;
    };
    let standby = PgCluster::standby_of(&primary, true).expect("a synchronous standby");
    let cluster = Arc::new(Cluster::new(&primary.url(), 2));
    let all = endpoints(&cluster);
    first_accepted(&cluster, &all, Duration::from_secs(60)).await.expect("a leader");
    let load = Load::start(&cluster, all.clone(), 3);
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The primary dies mid-load: whatever was acknowledged is on the standby.
    primary.kill().expect("kill the primary");
    let (acked, _) = load.finish().await;
    assert!(!acked.is_empty(), "nothing was acknowledged before the primary died");
    standby.promote().expect("promote");
    let shared: u64 = standby.psql("SELECT size FROM log_head").unwrap().trim().parse().unwrap();
    let highest = *acked.keys().last().unwrap();
    assert!(shared > highest, "the promoted standby holds {shared} entries; entry {highest} was acknowledged");
    // The nodes move to the promoted standby (what a load balancer in front of Patroni does).
    {
        let mut nodes = cluster.nodes.lock().unwrap();
        for n in nodes.iter_mut() {
            n.kill();
            n.url = standby.url();
            n.start();
        }
    }
    first_accepted(&cluster, &all, Duration::from_secs(60)).await.expect("a leader on the promoted standby");
    let cp = converged(&all, shared).await;
    for e in &all {
        check_history(e, &acked, &[]).await;
    }
    assert!(cp.size > highest);
}

/// The fence itself, in-process and step by step: a leader that did not notice it lost its
/// lease still believes it leads, and its next commit fails on the compare-and-swap of the
/// head's epoch; it steps down, and neither PostgreSQL nor its own store changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_leaders_commit_fails_on_the_epoch_compare_and_swap() {
    let _one = ONE_AT_A_TIME.lock().await;
    use greenledger::ledger::{Ledger, LedgerError, ManualClock, SinkError};
    use greenledger::replication::{bootstrap, Node, NodeConfig};
    use greenledger::store::MemStore;
    use greenledger::testkit::world::create_ledger;
    use greenledger::testkit::{log_signer, Cast};
    let Some(pg) = start_or_skip("a_stale_leaders_commit_fails_on_the_epoch_compare_and_swap") else { return };
    let cast = Cast::new();
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let first = create_ledger(
        Arc::new(MemStore::new()),
        &cast,
        greenledger::testkit::policy(greenledger::testkit::LEDGER),
        clock.clone(),
    );
    bootstrap(&pg.url(), &first).await.unwrap();
    let name = first.name();
    drop(first);
    let config = |who: &str| {
        let mut c = NodeConfig::new(&pg.url(), who);
        c.lease_ttl = Duration::from_millis(600);
        c
    };
    let (a, b) = (Node::new(config("http://a")), Node::new(config("http://b")));
    let replica = |node: &Arc<Node>| {
        let l = Ledger::create_replica(Arc::new(MemStore::new()), log_signer(), clock.clone()).unwrap();
        Arc::new(l.with_sink(node.sink()))
    };
    let (la, lb) = (replica(&a), replica(&b));
    a.step(&la).await.unwrap();
    assert!(a.is_leader() && !b.is_leader());
    let register = |n: u64| {
        let account = Keypair::from_seed([200 + n as u8; 32]).account();
        let c = Command::RegisterAccount(cmd::RegisterAccount {
            account,
            name: format!("a{n}"),
            roles: Roles::of(&[Role::Consumer]),
        });
        cast.operator.sign(&name, 100 + n, c)
    };
    let submit = |l: &Arc<Ledger<MemStore>>, n: u64| {
        let (l, c) = (l.clone(), register(n));
        tokio::task::spawn_blocking(move || l.submit_batch(vec![c]))
    };
    let outcome = submit(&la, 1).await.unwrap().unwrap();
    assert!(outcome[0].is_ok(), "{outcome:?}");
    // A sleeps past its lease without renewing; B takes over, fences and catches up.
    tokio::time::sleep(Duration::from_millis(900)).await;
    b.step(&lb).await.unwrap();
    assert!(b.is_leader());
    assert!(a.is_leader(), "A has not noticed: it still believes it leads");
    let head = pg.psql("SELECT size, epoch FROM log_head").unwrap();
    let a_before = la.committed();
    // A's next batch: decided, then refused by the compare-and-swap; nothing written anywhere.
    let err = submit(&la, 2).await.unwrap().unwrap_err();
    assert!(matches!(err, LedgerError::Replication(SinkError::NotLeader { .. })), "{err:?}");
    assert!(!a.is_leader(), "A stepped down");
    assert_eq!(pg.psql("SELECT size, epoch FROM log_head").unwrap(), head, "the shared head did not move");
    assert_eq!(la.committed().checkpoint, a_before.checkpoint, "A's own store did not move");
    // The new leader appends; A, a follower now, is refused before deciding anything.
    let outcome = submit(&lb, 3).await.unwrap().unwrap();
    let receipt = outcome[0].as_ref().unwrap();
    assert_eq!(receipt.index.0, a_before.head.size);
    let err = submit(&la, 4).await.unwrap().unwrap_err();
    assert!(matches!(err, LedgerError::Replication(SinkError::NotLeader { .. })), "{err:?}");
}

/// Starts `node` (stopped) again with `--publish-interval interval`, its log started afresh.
fn start_publishing(node: &mut NodeProc, interval: &str) {
    let log = std::fs::File::create(node.dir.join("serve.log")).unwrap();
    let child = std::process::Command::new(BIN)
        .args(["serve", "--data"])
        .arg(&node.dir)
        .args(["--addr", &node.addr.to_string(), "--log", &node.url, "--lease-ttl", &lease_ttl()])
        .args(["--publish-interval", interval])
        .env("RUST_LOG", "greenledger=info")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    node.child = Some(child);
}

/// Publishing from a replicated ledger: the leader alone publishes, into the log's database;
/// every node serves the same published checkpoint, and a cosignature taken by a follower is
/// served by the leader as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_serves_what_the_leader_published_with_the_cosignatures_any_node_took() {
    let _one = ONE_AT_A_TIME.lock().await;
    use greenledger_core::log::{open, split, Cosigner, NoteVerifier};
    let Some(pg) = start_or_skip("every_node_serves_what_the_leader_published_with_the_cosignatures_any_node_took")
    else {
        return;
    };
    let cluster = Arc::new(Cluster::new(&pg.url(), 2));
    for node in cluster.nodes.lock().unwrap().iter_mut() {
        node.kill();
        start_publishing(node, "200ms");
    }
    let all = endpoints(&cluster);
    first_accepted(&cluster, &all, Duration::from_secs(60)).await.expect("a leader accepts commands");
    let lead = leader(&pg, &cluster).await;
    let follower = 1 - lead;
    let mut last = 0;
    for round in 0..10 {
        let e = &all[round % all.len()];
        let mut c = client(e).await.expect("connect");
        last =
            c.submit(cluster.command()).await.unwrap_or_else(|s| panic!("submit through {e}: {s}")).into_inner().index;
    }
    let size = last + 1;
    converged(&all, size).await;

    // Both nodes serve the same published checkpoint of the final size: the leader's signed one.
    let started = Instant::now();
    let (at_leader, at_follower) = loop {
        if let (Some(a), Some(b)) = (checkpoint(&all[lead]).await, checkpoint(&all[follower]).await) {
            if a.published_size == size && b.published_size == size {
                break (a, b);
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no published checkpoint of size {size} on both nodes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(at_leader.published_checkpoint, at_follower.published_checkpoint);
    assert_eq!(at_leader.published_checkpoint, at_leader.checkpoint, "the newest signed checkpoint, uncosigned");
    let log_key = NoteVerifier::parse(&at_leader.log_key).unwrap();
    open(&at_leader.published_checkpoint, std::slice::from_ref(&log_key)).expect("signed by the log key");
    // The shared table holds it.
    let db = greenledger::replication::sql::connect(&pg.url()).await.unwrap();
    let row = db.query_one("SELECT note FROM published WHERE size = $1", &[&(size as i64)]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), at_leader.published_checkpoint);
    let largest: i64 = db.query_one("SELECT max(size) FROM published", &[]).await.unwrap().get(0);
    assert_eq!(largest as u64, size);

    // A cosignature over something else, through the follower, is refused; nothing is stored.
    let witness = Cosigner::new("witness.example/w1", ed25519_dalek::SigningKey::from_bytes(&[42; 32])).unwrap();
    let mut f = client(&all[follower]).await.expect("connect to the follower");
    let other =
        witness.cosign("someone.else/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 1_800_000_000).unwrap();
    let wrong = pb::AddCosignatureRequest { witness_key: witness.verifier().to_string(), signature_line: other };
    assert_eq!(f.add_cosignature(wrong).await.unwrap_err().code(), tonic::Code::FailedPrecondition);
    let stored: i64 = db.query_one("SELECT count(*) FROM cosignatures", &[]).await.unwrap().get(0);
    assert_eq!(stored, 0);

    // The cosignature of the published checkpoint, through the follower: stored in the shared
    // table and served by the leader too.
    let (text, _) = split(&at_leader.published_checkpoint).unwrap();
    let line = witness.cosign(&text, 1_800_000_000).unwrap();
    let ok = pb::AddCosignatureRequest { witness_key: witness.verifier().to_string(), signature_line: line.clone() };
    let served = f.add_cosignature(ok).await.unwrap().into_inner().published_checkpoint;
    assert!(served.ends_with(&line), "{served}");
    let row = db.query_one("SELECT size, line FROM cosignatures", &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0) as u64, row.get::<_, String>(1)), (size, line.trim_end().to_string()));
    let from_leader = checkpoint(&all[lead]).await.expect("the leader's checkpoint");
    assert_eq!(from_leader.published_checkpoint, served);
    let opened = open(&from_leader.published_checkpoint, &[log_key]).unwrap();
    let cosigned = opened.verify_cosignatures(&[witness.verifier()]).unwrap();
    assert_eq!(cosigned, vec![("witness.example/w1".to_string(), 1_800_000_000)]);

    // Only the leader ran the publisher.
    let nodes = cluster.nodes.lock().unwrap();
    assert!(nodes[lead].log().contains("leading: publishing checkpoints"), "{}", nodes[lead].log());
    assert!(!nodes[follower].log().contains("publishing checkpoints"), "{}", nodes[follower].log());
}
