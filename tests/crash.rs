//! Crash safety of the real server binary.
//!
//! `kills_at_random_moments_lose_nothing_acknowledged`: `greenledger init`, then
//! `greenledger serve` as a child process, driven by concurrent clients streaming signed
//! generation readings, killed with SIGKILL at random moments and restarted. After every restart:
//! every acknowledged entry is present with the same leaf hash, the new checkpoint is consistent
//! with every checkpoint handed out before, and replaying all entries gives the checkpoint's root.
//! Each cycle waits for 120 new entries before its random moment, so kills fall before, during
//! and after the batches that complete C2SP tiles and entry bundles.
//! The number of kills comes from `GREENLEDGER_CRASH_KILLS` (default 5); the seed of the random
//! moments from `GREENLEDGER_CRASH_SEED` (default: the clock; printed).
//!
//! The corruption tests damage the sled files and check that the server refuses to start with a
//! message, or that the integrity checks catch what sled does not.

use greenledger::rpc::convert::signed_to_pb;
use greenledger::rpc::pb;
use greenledger::rpc::pb::ledger_client::LedgerClient;
use greenledger::testkit::{issue, log_signer, post_generation, register_device, Cast, World, WIND_CAPACITY_W};
use greenledger_core::calendar::unix;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::merkle::{leaf_hash, verify_consistency, Hash, MemTree};
use greenledger_core::log::{open_checkpoint, NoteVerifier};
use greenledger_core::replay::Replayer;
use greenledger_core::{Command, DeviceId, Interval};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

const NAME: &str = "greenledger.local/ledger";
const BIN: &str = env!("CARGO_BIN_EXE_greenledger");
const DEVICES: usize = 4;
const HOUR: u64 = 3600;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Small deterministic generator for the kill moments.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn init(dir: &Path) {
    let out = Process::new(BIN).args(["init", "--data"]).arg(dir).output().unwrap();
    assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A running `greenledger serve`.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, n: usize, extra: &[&str]) -> Server {
        let log = dir.with_extension(format!("serve-{n}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Process::new(BIN)
            .args(["serve", "--data"])
            .arg(dir)
            .args(["--addr", &addr.to_string()])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut s = Server { child, addr, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = s.child.try_wait().unwrap() {
                panic!("serve exited with {status} before answering: {}", s.log_text());
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return s;
            }
            assert!(Instant::now() < deadline, "serve did not answer within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL on Unix
        self.child.wait().unwrap();
    }

    async fn client(&self) -> LedgerClient<Channel> {
        LedgerClient::connect(format!("http://{}", self.addr)).await.unwrap().max_decoding_message_size(64 << 20)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn device(i: usize) -> DeviceId {
    DeviceId(format!("WIND-{i}"))
}

/// First reading hour: far enough in the past that no reading ends in the future.
fn start() -> u64 {
    unix(2020, 1, 1, 0, 0, 0)
}

/// What the clients were told: acknowledged entries and handed-out checkpoints.
#[derive(Default)]
struct Seen {
    acked: BTreeMap<u64, Hash>,
    checkpoints: BTreeMap<u64, Hash>,
}

/// One device's reading stream: the next command to send (kept until acknowledged, so an
/// unanswered command is resubmitted identically after a restart).
struct Stream {
    device: usize,
    hour: u64,
    pending: Option<greenledger_core::SignedCommand>,
}

impl Stream {
    fn command(&mut self, meter: &Keypair) -> greenledger_core::SignedCommand {
        if self.pending.is_none() {
            let t = start() + self.hour * HOUR;
            let nonce = (self.device as u64 + 1) * 1_000_000_000 + self.hour;
            let energy = 1 + (self.hour * 7919 + self.device as u64) % 10_000_000;
            let c = post_generation(device(self.device), Interval::new(t, t + HOUR), energy);
            self.pending = Some(meter.sign(NAME, nonce, c));
        }
        self.pending.clone().unwrap()
    }
}

/// Whether `c` registers the account of `k`.
fn registers(c: &Command, k: &Keypair) -> bool {
    matches!(c, Command::RegisterAccount(r) if r.account == k.account())
}

/// Registers the kit's meter and generator and the devices, with the operator key of `init`.
async fn setup(server: &Server, operator: &Keypair, meter: &Keypair, generator: &Keypair) -> Vec<(u64, Hash)> {
    let mut c = server.client().await;
    let mut acked = Vec::new();
    let mut commands: Vec<Command> =
        Cast::new().registrations().into_iter().filter(|c| registers(c, meter) || registers(c, generator)).collect();
    for i in 0..DEVICES {
        commands.push(register_device(device(i), generator.account(), WIND_CAPACITY_W));
    }
    for (n, cmd) in commands.into_iter().enumerate() {
        let r = c.submit(signed_to_pb(&operator.sign(NAME, 1 + n as u64, cmd))).await.unwrap().into_inner();
        acked.push((r.index, r.leaf_hash.try_into().unwrap()));
    }
    acked
}

/// Streams readings of one device until the server goes away.
async fn drive(addr: SocketAddr, meter: Keypair, stream: Arc<Mutex<Stream>>, seen: Arc<Mutex<Seen>>) {
    let Ok(mut c) = LedgerClient::connect(format!("http://{addr}")).await else { return };
    loop {
        let cmd = stream.lock().unwrap().command(&meter);
        match c.submit(signed_to_pb(&cmd)).await {
            Ok(r) => {
                let r = r.into_inner();
                let mut s = stream.lock().unwrap();
                s.pending = None;
                s.hour += 1;
                seen.lock().unwrap().acked.insert(r.index, r.leaf_hash.try_into().unwrap());
            }
            Err(status) => {
                // Only a dead server may fail a well-formed command: never a refusal.
                use tonic::Code::*;
                assert!(
                    !matches!(
                        status.code(),
                        InvalidArgument
                            | FailedPrecondition
                            | AlreadyExists
                            | PermissionDenied
                            | NotFound
                            | Unauthenticated
                    ),
                    "unexpected refusal: {status:?}"
                );
                return;
            }
        }
    }
}

/// Polls checkpoints until the server goes away, keeping each one handed out.
async fn watch(addr: SocketAddr, verifier: NoteVerifier, seen: Arc<Mutex<Seen>>) {
    let Ok(mut c) = LedgerClient::connect(format!("http://{addr}")).await else { return };
    while let Ok(r) = c.get_checkpoint(pb::GetCheckpointRequest {}).await {
        let r = r.into_inner();
        let (cp, _) = open_checkpoint(&r.checkpoint, &verifier).expect("a checkpoint signed by the log key");
        seen.lock().unwrap().checkpoints.insert(cp.size, cp.root);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Everything checked after a restart. `replayer`, `tree` and `leaves` carry the entries
/// verified so far so that each check replays only what is new; every older leaf is re-read and
/// compared byte for byte.
struct Verified {
    replayer: Replayer,
    tree: MemTree,
    leaves: Vec<Vec<u8>>,
}

async fn check_after_restart(server: &Server, verifier: &NoteVerifier, seen: &Seen, v: &mut Verified) -> u64 {
    let mut c = server.client().await;
    let r = c.get_checkpoint(pb::GetCheckpointRequest {}).await.unwrap().into_inner();
    let (cp, _) = open_checkpoint(&r.checkpoint, verifier).unwrap();
    let (size, root) = (cp.size, cp.root);
    // Every checkpoint handed out before is a prefix of this one.
    for (&old, old_root) in &seen.checkpoints {
        assert!(old <= size, "checkpoint size went back from {old} to {size}");
        if old == size {
            assert_eq!(*old_root, root, "two different roots for size {size}");
            continue;
        }
        let proof = c
            .get_consistency_proof(pb::ConsistencyProofRequest { first: old, second: size })
            .await
            .unwrap()
            .into_inner();
        let proof: Vec<Hash> = proof.hashes.into_iter().map(|h| h.try_into().unwrap()).collect();
        verify_consistency(old, size, old_root, &root, &proof)
            .unwrap_or_else(|e| panic!("checkpoint {old} is not consistent with {size}: {e}"));
    }
    // Every entry, old ones unchanged, new ones replayed.
    let mut entries = c.get_entries(pb::GetEntriesRequest { start: 0, end: size }).await.unwrap().into_inner();
    let mut index = 0u64;
    while let Some(e) = entries.message().await.unwrap() {
        assert_eq!(e.index, index);
        if let Some(old) = v.leaves.get(index as usize) {
            assert_eq!(*old, e.leaf, "entry {index} changed after a restart");
        } else {
            v.replayer.push(&e.leaf).unwrap_or_else(|err| panic!("replay: {err}"));
            v.tree.push(&e.leaf);
            v.leaves.push(e.leaf);
        }
        index += 1;
    }
    assert_eq!(index, size, "GetEntries returned {index} of {size} entries");
    assert_eq!(v.tree.root(), root, "the replayed tree's root differs from the checkpoint");
    for (&i, h) in &seen.acked {
        assert!(i < size, "acknowledged entry {i} is gone (size {size})");
        assert_eq!(leaf_hash(&v.leaves[i as usize]), *h, "acknowledged entry {i} has another leaf hash");
    }
    // The served state matches the replayed one.
    for d in 0..DEVICES {
        let info = c.get_device(pb::DeviceRequest { device: device(d).0, from: 0, to: 0 }).await.unwrap().into_inner();
        let replayed = v.replayer.state.readings.keys().filter(|(id, _, _)| *id == device(d)).count();
        assert_eq!(info.readings.len(), replayed, "readings of {}", device(d));
    }
    size
}

fn read_key(path: &Path) -> Keypair {
    Keypair::from_file_text(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn log_verifier(dir: &Path) -> NoteVerifier {
    NoteVerifier::parse(std::fs::read_to_string(dir.join("log.pub")).unwrap().trim()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_at_random_moments_lose_nothing_acknowledged() {
    let kills: usize = std::env::var("GREENLEDGER_CRASH_KILLS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let seed: u64 = std::env::var("GREENLEDGER_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    println!("crash test: {kills} kills, seed {seed}");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    init(&dir);
    let operator = read_key(&dir.join("operator.key"));
    let verifier = log_verifier(&dir);
    let Cast { meter, generator, .. } = Cast::new();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let began = Instant::now();

    let server = Server::start(&dir, 0, &[]);
    for (i, h) in setup(&server, &operator, &meter, &generator).await {
        seen.lock().unwrap().acked.insert(i, h);
    }
    let streams: Vec<Arc<Mutex<Stream>>> =
        (0..DEVICES).map(|d| Arc::new(Mutex::new(Stream { device: d, hour: 0, pending: None }))).collect();
    let mut verified = Verified { replayer: Replayer::new(), tree: MemTree::new(), leaves: Vec::new() };
    let mut server = Some(server);
    let mut size = 0;
    for cycle in 0..kills {
        let s = server.take().unwrap();
        let mut tasks = Vec::new();
        for st in &streams {
            tasks.push(tokio::spawn(drive(s.addr, meter.clone(), st.clone(), seen.clone())));
        }
        tasks.push(tokio::spawn(watch(s.addr, verifier.clone(), seen.clone())));
        // At least 120 new entries per cycle, so the run fills and writes full C2SP tiles and
        // entry bundles (every 256 entries) between kills; then a random moment.
        let target = seen.lock().unwrap().acked.len() + 120;
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen.lock().unwrap().acked.len() < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(20 + rng.below(400))).await;
        s.kill();
        for t in tasks {
            t.await.unwrap();
        }
        let restarted = Server::start(&dir, cycle + 1, &[]);
        let snapshot = {
            let s = seen.lock().unwrap();
            Seen { acked: s.acked.clone(), checkpoints: s.checkpoints.clone() }
        };
        size = check_after_restart(&restarted, &verifier, &snapshot, &mut verified).await;
        assert!(size >= snapshot.acked.len() as u64);
        server = Some(restarted);
    }
    let acked = seen.lock().unwrap().acked.len();
    println!(
        "crash test: {kills} kills, {size} entries ({acked} acknowledged, {} checkpoints seen) in {:.1} s; nothing lost",
        seen.lock().unwrap().checkpoints.len(),
        began.elapsed().as_secs_f64()
    );
    assert!(acked > DEVICES + 2, "the clients got nothing acknowledged");
    assert!(size > 2 * 256, "the run crossed tile boundaries: {size} entries");
}

/// A ledger directory with some entries, its server stopped by SIGKILL.
/// The log as the clients last saw it before the server was killed: the last checkpoint handed
/// out and every entry it covers.
struct Original {
    size: u64,
    root: Hash,
    leaves: Vec<Vec<u8>>,
}

/// A ledger directory with `readings` readings after the set-up, its server stopped by
/// SIGKILL, and the log as it was served just before.
async fn filled_ledger(root: &Path, readings: u64) -> (PathBuf, Original) {
    let dir = root.join("ledger");
    init(&dir);
    let operator = read_key(&dir.join("operator.key"));
    let Cast { meter, generator, .. } = Cast::new();
    let server = Server::start(&dir, 0, &[]);
    setup(&server, &operator, &meter, &generator).await;
    let mut c = server.client().await;
    let mut stream = Stream { device: 0, hour: 0, pending: None };
    let mut batch = Vec::new();
    for _ in 0..readings {
        batch.push(signed_to_pb(&stream.command(&meter)));
        stream.pending = None;
        stream.hour += 1;
    }
    let mut out = c.submit_batch(tokio_stream::iter(batch)).await.unwrap().into_inner();
    while let Some(r) = out.message().await.unwrap() {
        assert!(matches!(r.result, Some(pb::submit_result::Result::Receipt(_))), "{r:?}");
    }
    let (size, root, leaves) = served_log(&mut c).await;
    assert_eq!(size, readings + 1 + 2 + DEVICES as u64);
    server.kill();
    (dir, Original { size, root, leaves })
}

/// The checkpoint's size and root, opened with the ledger's log key, and every entry it covers.
async fn served_log(c: &mut LedgerClient<Channel>) -> (u64, Hash, Vec<Vec<u8>>) {
    let r = c.get_checkpoint(pb::GetCheckpointRequest {}).await.unwrap().into_inner();
    let verifier = NoteVerifier::parse(&r.log_key).unwrap();
    let (cp, _) = open_checkpoint(&r.checkpoint, &verifier).expect("a checkpoint signed by the log key");
    let mut entries = c.get_entries(pb::GetEntriesRequest { start: 0, end: cp.size }).await.unwrap().into_inner();
    let mut leaves = Vec::new();
    while let Some(e) = entries.message().await.unwrap() {
        assert_eq!(e.index, leaves.len() as u64);
        leaves.push(e.leaf);
    }
    (cp.size, cp.root, leaves)
}

/// Outcome of starting `serve` on a possibly damaged directory.
#[derive(Debug)]
enum Start {
    Refused {
        code: Option<i32>,
        stderr: String,
    },
    /// The signed checkpoint's size and root and the entries served.
    Served {
        size: u64,
        root: Hash,
        leaves: Vec<Vec<u8>>,
    },
}

async fn try_serve(dir: &Path, extra: &[&str]) -> Start {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut child = Process::new(BIN)
        .args(["serve", "--data"])
        .arg(dir)
        .args(["--addr", &addr.to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            return Start::Refused { code: status.code(), stderr };
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            let mut c =
                LedgerClient::connect(format!("http://{addr}")).await.unwrap().max_decoding_message_size(64 << 20);
            let (size, root, leaves) = served_log(&mut c).await;
            child.kill().unwrap();
            child.wait().unwrap();
            return Start::Served { size, root, leaves };
        }
        assert!(Instant::now() < deadline, "serve neither answered nor exited within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn files_by_size(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((m.len(), e.path()));
            }
        }
    }
    out.sort();
    out.reverse();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.metadata().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn damage(path: &Path, how: &str) {
    let mut bytes = std::fs::read(path).unwrap();
    match how.split_once(' ') {
        Some(("truncate", frac)) => bytes.truncate((bytes.len() as f64 * frac.parse::<f64>().unwrap()) as usize),
        Some(("flip", frac)) => {
            let at = (bytes.len() as f64 * frac.parse::<f64>().unwrap()) as usize;
            let end = (at + 64).min(bytes.len());
            for b in &mut bytes[at..end] {
                *b ^= 0x5a;
            }
        }
        _ => panic!("unknown damage {how}"),
    }
    std::fs::write(path, bytes).unwrap();
}

/// How damage to the store files was noticed.
#[derive(Debug, PartialEq, Eq)]
enum Noticed {
    /// `serve` refused to start (sled's own error, the head mark, or the quick check).
    AtStart,
    /// `serve` started, but `serve --verify` (full replay) refused: sled silently lost or
    /// changed records in the middle of its tree.
    ByFullCheck,
    /// The damage hit bytes sled no longer uses: every entry served and fully verified.
    Harmless,
}

fn clear_refusal(how: &str, code: Option<i32>, stderr: &str) {
    assert_eq!(code, Some(1), "{how}: serve must fail with an error, not crash: {stderr}");
    assert!(
        stderr.contains("integrity check")
            || stderr.contains("corrupt")
            || stderr.contains("damaged")
            || stderr.contains("full verification"),
        "{how}: no clear message: {stderr}"
    );
    println!("{how}: refused: {}", stderr.lines().last().unwrap_or_default());
}

/// Checks what a server on a damaged store served: entries that are exactly a prefix of the
/// original log, a root that they rebuild, and a checkpoint consistent with the last one handed
/// out before the damage (so, as nothing was written since, that same checkpoint).
fn check_served(how: &str, original: &Original, size: u64, root: Hash, leaves: &[Vec<u8>]) {
    assert_eq!(leaves.len() as u64, size, "{how}: served {} entries for a checkpoint of {size}", leaves.len());
    assert!(original.leaves.starts_with(leaves), "{how}: served entries that differ from the ones acknowledged");
    let mut tree = MemTree::new();
    for leaf in leaves {
        tree.push(leaf);
    }
    assert_eq!(tree.root(), root, "{how}: the served entries do not rebuild the served root");
    assert!(
        size >= original.size,
        "{how}: served {size} entries, but checkpoint {} was handed out before",
        original.size
    );
    assert_eq!(root, original.root, "{how}: two different roots for size {size}");
}

/// Damages the biggest sled file of a copy of `dir` and starts `serve` on it. Whatever the
/// damage hits, nothing may be silently wrong: the server refuses to start with a message
/// naming the damage; or it serves the original log (checked by [`check_served`]) and then
/// either passes the full `--verify` replay (the damage was harmless) or is refused by it.
async fn damaged_store(dir: &Path, original: &Original, how: &str) -> Noticed {
    let copy = dir.with_file_name(format!("damaged-{}", how.replace([' ', '.'], "_")));
    copy_dir(dir, &copy);
    let files = files_by_size(&copy.join("store"));
    damage(&files[0].1, how);
    match try_serve(&copy, &[]).await {
        Start::Refused { code, stderr } => {
            clear_refusal(how, code, &stderr);
            Noticed::AtStart
        }
        Start::Served { size, root, leaves } => {
            check_served(how, original, size, root, &leaves);
            match try_serve(&copy, &["--verify"]).await {
                Start::Served { size, root, leaves } => {
                    check_served(&format!("{how} (--verify)"), original, size, root, &leaves);
                    println!("{how}: the damage hit unused bytes; every entry served and verified");
                    Noticed::Harmless
                }
                Start::Refused { code, stderr } => {
                    clear_refusal(&format!("{how} (sled silent, --verify)"), code, &stderr);
                    Noticed::ByFullCheck
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_store_is_refused_at_startup() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, original) = filled_ledger(tmp.path(), 1500).await;
    for how in ["truncate 0.5", "truncate 0.9", "truncate 0"] {
        assert_ne!(damaged_store(&dir, &original, how).await, Noticed::Harmless, "{how} went unnoticed");
    }
    // The undamaged original still serves everything.
    let served = |s: Start| matches!(s, Start::Served { size, .. } if size == original.size);
    assert!(served(try_serve(&dir, &["--verify"]).await));
    // The head mark is what catches a shorter store; without one (stores made before it) the
    // ledger opens as before, and the next commit writes it again.
    let mark = dir.join("store").join(greenledger::store::sled_store::HEAD_MARK_FILE);
    assert!(mark.exists());
    std::fs::remove_file(&mark).unwrap();
    assert!(served(try_serve(&dir, &[]).await));
}

/// Flipped bytes anywhere in the biggest store file: each is refused clearly or serves the
/// original log unchanged (which of the two depends on sled's file layout, so neither is
/// counted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bytes_are_refused_or_harmless() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, original) = filled_ledger(tmp.path(), 1500).await;
    for how in ["flip 0.1", "flip 0.3", "flip 0.5", "flip 0.7", "flip 0.9", "flip 0.99"] {
        let noticed = damaged_store(&dir, &original, how).await;
        println!("{how}: {noticed:?}");
    }
}

/// What sled cannot see: records changed behind its back with valid checksums. The quick
/// start-up check catches a damaged recent leaf; the full replay catches any state record.
#[test]
fn full_verification_catches_tampered_records() {
    use greenledger::ledger::Ledger;
    use greenledger::store::{keys, MemStore, Store};
    let w = World::builder().devices(&[("WIND-0", WIND_CAPACITY_W)]).build();
    let (meter, generator) = (w.meter.clone(), w.generator.clone());
    let mut cmds = Vec::new();
    for h in 0..100 {
        let t = start() + h * HOUR;
        let interval = Interval::new(t, t + HOUR);
        cmds.push(w.sign(&meter, post_generation(device(0), interval, 5_000_000)));
        cmds.push(w.sign(&generator, issue(device(0), interval)));
    }
    for c in cmds.chunks(17) {
        w.ok_all(c.to_vec());
    }
    let setup = 1 + 6 + 1;
    let (store, clock) = (w.store.clone(), w.clock.clone());
    let ledger = w.ledger.clone();
    drop(w);
    let report = ledger.verify_full().unwrap();
    assert_eq!(report.entries, setup + 200);
    drop(ledger);
    let reopen = || Ledger::open(store.clone(), log_signer(), clock.clone());
    let snapshot = store.scan(&[], &[0xff], usize::MAX).unwrap();
    let restore = |store: &MemStore| {
        for (k, _) in store.scan(&[], &[0xff], usize::MAX).unwrap() {
            store.raw_delete(&k);
        }
        for (k, v) in &snapshot {
            store.raw_put(k, v);
        }
    };
    let message = |e: greenledger::ledger::LedgerError| e.to_string();

    // A changed recent leaf: Ledger::open refuses.
    let mut leaf = store.get(&keys::leaf(200)).unwrap().unwrap();
    leaf[40] ^= 1;
    store.raw_put(&keys::leaf(200), &leaf);
    let e = message(reopen().err().expect("a changed leaf must be refused at open"));
    assert!(e.contains("entry 200 does not match its stored leaf hash"), "{e}");
    restore(&store);

    // An old leaf changed: only the full replay reads it.
    let mut leaf = store.get(&keys::leaf(5)).unwrap().unwrap();
    leaf[40] ^= 1;
    store.raw_put(&keys::leaf(5), &leaf);
    let e = message(reopen().unwrap().verify_full().unwrap_err());
    assert!(e.contains("entry 5 does not match its stored leaf hash"), "{e}");
    restore(&store);

    // A state record changed (an account's name), one added, one removed.
    let key = keys::account(&meter.account());
    let mut record = store.get(&key).unwrap().unwrap();
    let last = record.len() - 1;
    record[last] ^= 1;
    store.raw_put(&key, &record);
    let e = message(reopen().unwrap().verify_full().unwrap_err());
    assert!(e.contains(&format!("state record {} differs", hex::encode(&key))), "{e}");
    restore(&store);
    let extra = keys::holding(&meter.account(), greenledger_core::BundleId(7));
    store.raw_put(&extra, &[]);
    let e = message(reopen().unwrap().verify_full().unwrap_err());
    assert!(e.contains("is stored but the log does not derive it"), "{e}");
    restore(&store);
    store.raw_delete(&keys::bundle(greenledger_core::BundleId(50)));
    let e = message(reopen().unwrap().verify_full().unwrap_err());
    assert!(e.contains("is derived from the log but missing from the store"), "{e}");
    restore(&store);

    assert_eq!(reopen().unwrap().verify_full().unwrap().entries, setup + 200);
}

/// By hand: `cargo test --test crash damage_survey -- --ignored --nocapture` flips 64 bytes at
/// 50 offsets of a store and counts how each was noticed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn damage_survey() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, original) = filled_ledger(tmp.path(), 1500).await;
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for i in 0..50 {
        let how = format!("flip {}", (i as f64 + 0.5) / 50.0);
        let noticed = damaged_store(&dir, &original, &how).await;
        *counts.entry(format!("{noticed:?}")).or_default() += 1;
    }
    println!("damage survey (64 bytes flipped at 50 offsets): {counts:?}");
}
