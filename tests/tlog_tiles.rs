//! The log over HTTP as C2SP tlog-tiles, read by a client written here from the specification
//! (<https://c2sp.org/tlog-tiles>), independent of the server's tile code: its own path
//! encoding, tile widths, node-from-tile math and proof construction. Only the RFC 6962
//! hashing and proof verification and the checkpoint opening come from the core.
//!
//! A ledger grows across tile boundaries; at every size it publishes its checkpoint (until then
//! `/checkpoint` stays at the previous published size), and the client fetches the published
//! checkpoint and exactly the tiles it needs, rebuilds the signed root from tiles alone,
//! checks every full tile against its parent tile, builds inclusion and consistency proofs from
//! tiles and verifies them against the signed roots, reads every entry bundle (gzip) and checks
//! each leaf against its level-0 hash, checks that every tile it fetched before is served with
//! the same bytes, the caching and encoding headers, and 404 for what the tree does not hold
//! and for non-canonical paths.
//!
//! The second test reads the same server with Go's reference client, `golang.org/x/mod/sumdb/tlog`
//! (`tests/tlog_go`), when `go` and Debian's `golang-golang-x-mod-dev` are installed.

use flate2::read::GzDecoder;
use greenledger::ledger::{Clock, Ledger};
use greenledger::publish::PublishOptions;
use greenledger::rpc::server::{spawn_with, Running, ServeOptions};
use greenledger::store::MemStore;
use greenledger::testkit::World;
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::merkle::{leaf_hash, node_hash, verify_consistency, verify_inclusion, Hash};
use greenledger_core::log::open_checkpoint;
use greenledger_core::{Command, Role, Roles};
use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const OCTETS: &str = "application/octet-stream";

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client.

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// `GET path` on a fresh connection, asking for gzip or identity as the specification says
/// clients should.
async fn get(addr: SocketAddr, path: &str) -> Reply {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("HTTP port answers");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: gzip, identity\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP response");
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII head");
    let body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect(status_line);
    let headers: HashMap<String, String> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').expect(l);
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    assert!(!headers.contains_key("transfer-encoding"), "{path}: {head}");
    if let Some(len) = headers.get("content-length") {
        assert_eq!(len.parse::<usize>().unwrap(), body.len(), "{path}: Content-Length");
    }
    Reply { status, headers, body }
}

// ---------------------------------------------------------------------------------------------
// The client, from the specification.

/// `<N>` as path elements: zero-padded groups of three digits, all but the last prefixed `x`.
fn encode_index(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// `/tile/<L>/<N>[.p/<W>]`, or `/tile/entries/<N>[.p/<W>]` for `level` `None`.
fn tile_path(level: Option<u8>, n: u64, width: u64) -> String {
    let level = level.map_or_else(|| "entries".to_string(), |l| l.to_string());
    let mut p = format!("/tile/{level}/{}", encode_index(n));
    if width < 256 {
        p.push_str(&format!(".p/{width}"));
    }
    p
}

/// Hashes at tile level `level` (tree level `8 * level`) in a tree of `size` leaves.
fn level_nodes(level: u8, size: u64) -> u64 {
    if u32::from(level) * 8 >= 64 {
        0
    } else {
        size >> (8 * u32::from(level))
    }
}

/// The width of tile `n` at `level` in a tree of `size`: 256, or the partial width
/// `floor(size / 256^level) mod 256` at the right edge, or 0 when it does not exist.
fn width_of(level: u8, n: u64, size: u64) -> u64 {
    level_nodes(level, size).saturating_sub(n * 256).min(256)
}

/// Merkle tree hash of a power-of-two run of hashes.
fn mth(hashes: &[Hash]) -> Hash {
    assert!(hashes.len().is_power_of_two());
    if hashes.len() == 1 {
        return hashes[0];
    }
    let (l, r) = hashes.split_at(hashes.len() / 2);
    node_hash(&mth(l), &mth(r))
}

fn largest_power_of_two_below(n: u64) -> u64 {
    assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

/// A tlog-tiles reader of one tree size, pinned to the signed checkpoint of that size.
struct TileClient {
    addr: SocketAddr,
    size: u64,
    root: Hash,
    /// Tiles fetched at this size, by (level, index): their hashes.
    tiles: BTreeMap<(u8, u64), Vec<Hash>>,
}

impl TileClient {
    /// Fetches the checkpoint and opens it with the log key.
    async fn open(addr: SocketAddr, ledger: &Ledger<MemStore>) -> (TileClient, String) {
        let reply = get(addr, "/checkpoint").await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(reply.header("cache-control"), Some("no-cache"), "the checkpoint changes");
        assert_eq!(reply.header("content-encoding"), None);
        let note = String::from_utf8(reply.body).expect("UTF-8 note");
        let (cp, _) = open_checkpoint(&note, &ledger.verifier()).expect("the log key signed the checkpoint");
        assert_eq!(cp.origin, ledger.name());
        (TileClient { addr, size: cp.size, root: cp.root, tiles: BTreeMap::new() }, note)
    }

    /// The tile holding `level` hashes `[256n, 256n + width)`, fetched once, at exactly the
    /// width this tree size calls for.
    async fn tile(&mut self, level: u8, n: u64) -> &[Hash] {
        if !self.tiles.contains_key(&(level, n)) {
            let width = width_of(level, n, self.size);
            assert!(width > 0, "tile {level}/{n} is not in a tree of size {}", self.size);
            let path = tile_path(Some(level), n, width);
            let reply = get(self.addr, &path).await;
            assert_eq!(reply.status, 200, "{path} at size {}", self.size);
            assert_eq!(reply.header("content-type"), Some(OCTETS), "{path}");
            assert_eq!(reply.header("cache-control"), Some(IMMUTABLE), "{path}");
            assert_eq!(reply.header("content-encoding"), None, "{path}: hashes are not compressed");
            assert_eq!(reply.body.len() as u64, width * 32, "{path}");
            let hashes = reply.body.chunks_exact(32).map(|c| c.try_into().unwrap()).collect();
            self.tiles.insert((level, n), hashes);
        }
        &self.tiles[&(level, n)]
    }

    /// The hash of the perfect subtree of height `h` whose leftmost leaf is `index << h`, from
    /// the tile of level `h / 8` that holds its `2^(h % 8)` hashes.
    async fn node(&mut self, h: u8, index: u64) -> Hash {
        assert!((index + 1) << h <= self.size, "node {h}/{index} is not complete at size {}", self.size);
        let (level, r) = (h / 8, h % 8);
        let first = index << r;
        let tile = self.tile(level, first / 256).await;
        let at = (first % 256) as usize;
        mth(&tile[at..at + (1 << r)])
    }

    /// MTH(D[lo:hi]) as RFC 6962 defines it, from tiles.
    async fn subtree(&mut self, lo: u64, hi: u64) -> Hash {
        let n = hi - lo;
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            return self.node(n.trailing_zeros() as u8, lo / n).await;
        }
        let k = largest_power_of_two_below(n);
        let left = Box::pin(self.subtree(lo, lo + k)).await;
        let right = Box::pin(self.subtree(lo + k, hi)).await;
        node_hash(&left, &right)
    }

    /// PATH(m, D[lo:hi]) of RFC 6962 section 2.1.1, from tiles.
    async fn inclusion(&mut self, m: u64, lo: u64, hi: u64) -> Vec<Hash> {
        let n = hi - lo;
        if n == 1 {
            return Vec::new();
        }
        let k = largest_power_of_two_below(n);
        if m - lo < k {
            let mut p = Box::pin(self.inclusion(m, lo, lo + k)).await;
            p.push(self.subtree(lo + k, hi).await);
            p
        } else {
            let mut p = Box::pin(self.inclusion(m, lo + k, hi)).await;
            p.push(self.subtree(lo, lo + k).await);
            p
        }
    }

    /// SUBPROOF(m, D[lo:hi], b) of RFC 6962 section 2.1.2, from tiles (`m` relative to `lo`).
    async fn subproof(&mut self, m: u64, lo: u64, hi: u64, whole: bool) -> Vec<Hash> {
        let n = hi - lo;
        if m == n {
            return if whole { Vec::new() } else { vec![self.subtree(lo, hi).await] };
        }
        let k = largest_power_of_two_below(n);
        if m <= k {
            let mut p = Box::pin(self.subproof(m, lo, lo + k, whole)).await;
            p.push(self.subtree(lo + k, hi).await);
            p
        } else {
            let mut p = Box::pin(self.subproof(m - k, lo + k, hi, false)).await;
            p.push(self.subtree(lo, lo + k).await);
            p
        }
    }

    /// The root rebuilt from tiles: the perfect subtrees of the size's binary decomposition,
    /// folded from the right.
    async fn root_from_tiles(&mut self) -> Hash {
        let mut peaks = Vec::new();
        let mut at = 0u64;
        for h in (0..64u8).rev() {
            if self.size & (1 << h) != 0 {
                peaks.push(self.node(h, at >> h).await);
                at += 1 << h;
            }
        }
        let mut acc = peaks.pop().expect("a non-empty tree");
        while let Some(left) = peaks.pop() {
            acc = node_hash(&left, &acc);
        }
        acc
    }

    /// Every full tile fetched so far hashes to its entry in the tile above it.
    async fn check_full_tiles_against_parents(&mut self) -> usize {
        let full: Vec<(u8, u64)> = self.tiles.iter().filter(|(_, t)| t.len() == 256).map(|(k, _)| *k).collect();
        for &(level, n) in &full {
            let hash = mth(&self.tiles[&(level, n)]);
            let parent = self.tile(level + 1, n / 256).await;
            assert!(parent.len() as u64 > n % 256, "the parent of full tile {level}/{n} lacks its hash");
            assert_eq!(
                parent[(n % 256) as usize],
                hash,
                "full tile {level}/{n} disagrees with tile {}/{}",
                level + 1,
                n / 256
            );
        }
        full.len()
    }

    /// Entry bundle `n`: fetched, gunzipped and split into leaves.
    async fn bundle(&self, n: u64) -> Vec<Vec<u8>> {
        let width = width_of(0, n, self.size);
        let path = tile_path(None, n, width);
        let reply = get(self.addr, &path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.header("content-type"), Some(OCTETS), "{path}");
        assert_eq!(reply.header("cache-control"), Some(IMMUTABLE), "{path}");
        assert_eq!(reply.header("content-encoding"), Some("gzip"), "{path}");
        let mut raw = Vec::new();
        GzDecoder::new(reply.body.as_slice()).read_to_end(&mut raw).expect("a gzip body");
        let mut leaves = Vec::new();
        let mut rest = raw.as_slice();
        while !rest.is_empty() {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            leaves.push(rest[2..2 + len].to_vec());
            rest = &rest[2 + len..];
        }
        assert_eq!(leaves.len() as u64, width, "{path}");
        leaves
    }
}

// ---------------------------------------------------------------------------------------------
// The ledger and its server.

/// A ledger served with an HTTP port; the world keeps the keys that grow it. It publishes a
/// checkpoint only when asked ([`publish`]): `/checkpoint` is the latest published one.
async fn served() -> (World, Running, SocketAddr) {
    let world = World::new();
    let clock: Arc<dyn Clock> = world.clock.clone();
    let publish = PublishOptions { interval: Duration::from_secs(3600), every: u64::MAX, ..Default::default() };
    let options =
        ServeOptions { http_addr: Some("127.0.0.1:0".parse().unwrap()), publish: Some(publish), ..Default::default() };
    let server = spawn_with(world.ledger.clone(), clock, "127.0.0.1:0", options).await.expect("server starts");
    let http = server.http_addr.expect("the HTTP port is bound");
    (world, server, http)
}

/// Publishes the ledger's newest checkpoint, as the publisher does every interval.
async fn publish(server: &Running) {
    server.publisher.as_ref().expect("the server publishes").publish_now().await.expect("published");
}

/// Grows the ledger to exactly `size` entries: the operator registers accounts.
fn grow_to(world: &World, size: u64) {
    let from = world.ledger.size();
    assert!(size >= from);
    let commands: Vec<_> = (from..size)
        .map(|i| {
            let mut seed = [0x7e; 32];
            seed[..8].copy_from_slice(&i.to_be_bytes());
            let account = Keypair::from_seed(seed).account();
            let register =
                cmd::RegisterAccount { account, name: format!("tiles-{i}"), roles: Roles::of(&[Role::Consumer]) };
            world.sign(&world.operator, Command::RegisterAccount(register))
        })
        .collect();
    for chunk in commands.chunks(500) {
        world.ok_all(chunk.to_vec());
    }
    assert_eq!(world.ledger.size(), size);
}

async fn status(addr: SocketAddr, path: &str) -> u16 {
    get(addr, path).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_written_from_the_spec_reads_and_verifies_the_log_as_tiles() {
    let (world, server, http) = served().await;
    let ledger = world.ledger.clone();
    let start = ledger.size();
    assert!(start < 255, "the world starts small ({start})");
    // Across the level-0 tile edges and into a level-1 tile of several hashes.
    let sizes = [start, start + 1, 255, 256, 257, 511, 512, 513, 1000, 1536, 2049];
    // Earlier signed (size, root) pairs, and every tile or bundle fetched with its bytes.
    let mut signed: Vec<(u64, Hash)> = Vec::new();
    let mut seen: BTreeMap<String, Vec<u8>> = BTreeMap::new();

    for &size in &sizes {
        grow_to(&world, size);
        // Until it is published, `/checkpoint` stays at the previous size; the tiles of the
        // new size are served already.
        let (before, _) = TileClient::open(http, &ledger).await;
        assert_eq!(before.size, signed.last().map_or(start, |s| s.0));
        publish(&server).await;
        let (mut c, _note) = TileClient::open(http, &ledger).await;
        assert_eq!(c.size, size);

        // (a) The signed root from tiles alone.
        assert_eq!(c.root_from_tiles().await, c.root, "root from tiles at size {size}");
        // Each at exactly the width the signed size calls for.
        for (&(level, n), hashes) in &c.tiles {
            assert_eq!(hashes.len() as u64, width_of(level, n, size));
        }

        // (c) Inclusion proofs from tiles, verified against the signed root.
        let mut indexes = vec![0, 1, 127, 255, 256, 257, 511, 512, size / 2, size - 2, size - 1];
        indexes.retain(|&i| i < size);
        indexes.sort_unstable();
        indexes.dedup();
        // (d) Every bundle: each leaf hashes to its level-0 tile hash and is the ledger's leaf.
        let mut leaves = Vec::new();
        for n in 0..size.div_ceil(256) {
            let bundle = c.bundle(n).await;
            let level0 = c.tile(0, n).await.to_vec();
            assert_eq!(bundle.len(), level0.len(), "bundle {n} and tile 0/{n}");
            for (j, leaf) in bundle.iter().enumerate() {
                assert_eq!(leaf_hash(leaf), level0[j], "leaf {} at size {size}", n * 256 + j as u64);
            }
            leaves.extend(bundle);
        }
        assert_eq!(leaves.len() as u64, size);
        for &i in &indexes {
            assert_eq!(leaves[i as usize], ledger.leaf(i).unwrap(), "leaf {i}");
            let proof = c.inclusion(i, 0, size).await;
            verify_inclusion(i, size, &leaf_hash(&leaves[i as usize]), &proof, &c.root)
                .unwrap_or_else(|e| panic!("inclusion of {i} at size {size}: {e}"));
            let mut wrong = leaves[i as usize].clone();
            wrong.push(0);
            assert!(verify_inclusion(i, size, &leaf_hash(&wrong), &proof, &c.root).is_err());
        }
        // Consistency from every earlier signed size, from tiles alone.
        for &(old, old_root) in &signed {
            let proof = c.subproof(old, 0, size, true).await;
            verify_consistency(old, size, &old_root, &c.root, &proof)
                .unwrap_or_else(|e| panic!("consistency {old} -> {size}: {e}"));
            assert_eq!(c.subtree(0, old).await, old_root, "the old root from today's tiles");
        }

        // (b) Every full tile against the tile above it.
        let full = c.check_full_tiles_against_parents().await;
        assert_eq!(full as u64, size / 256, "full level-0 tiles at size {size}");

        // (e) Full and partial variants: a narrower width of a tile is its prefix, and every
        // tile or bundle fetched at an earlier size is served with the same bytes.
        for (&(level, n), hashes) in &c.tiles {
            for w in [1u64, 2, 128, 255] {
                if w < hashes.len() as u64 {
                    let reply = get(http, &tile_path(Some(level), n, w)).await;
                    assert_eq!(reply.status, 200);
                    assert_eq!(reply.header("cache-control"), Some(IMMUTABLE));
                    assert_eq!(reply.body, hashes[..w as usize].concat(), "{level}/{n}.p/{w}");
                }
            }
        }
        for (path, bytes) in &seen {
            let reply = get(http, path).await;
            assert_eq!(reply.status, 200, "{path} at size {size}");
            assert_eq!(&reply.body, bytes, "{path} changed by size {size}");
        }
        for (&(level, n), hashes) in &c.tiles {
            seen.insert(tile_path(Some(level), n, hashes.len() as u64), hashes.concat());
        }
        let last = (size - 1) / 256;
        let last_bundle = tile_path(None, last, width_of(0, last, size));
        seen.insert(last_bundle.clone(), get(http, &last_bundle).await.body);

        // (f) 404 beyond the tree: the next tile and bundle, a partial one wider than the tree
        // has, a level above the tree's height.
        let partial = size % 256;
        let mut beyond = vec![
            tile_path(Some(0), size.div_ceil(256), 1),
            tile_path(None, size.div_ceil(256), 1),
            tile_path(Some(0), size / 256 + 1, 256),
            tile_path(Some(1), 0, 256),
            tile_path(Some(2), 0, 1),
            tile_path(Some(63), 0, 1),
        ];
        if partial > 0 {
            beyond.push(tile_path(Some(0), size / 256, partial + 1));
            beyond.push(tile_path(Some(0), size / 256, 256));
            beyond.push(tile_path(None, size / 256, partial + 1));
            beyond.push(tile_path(None, size / 256, 256));
        }
        let level1 = size / 256 % 256;
        beyond.push(tile_path(Some(1), 0, level1 + 1));
        for path in &beyond {
            let reply = get(http, path).await;
            assert_eq!(reply.status, 404, "{path} at size {size}");
            assert_ne!(reply.header("cache-control"), Some(IMMUTABLE), "{path}: it may exist later");
        }

        signed.push((size, c.root));
    }

    // (f) Non-canonical spellings of tiles that exist.
    assert_eq!(ledger.size(), 2049);
    for path in [
        "/tile/0/000",
        "/tile/0/007",
        "/tile/0/008.p/1",
        "/tile/entries/000",
        "/tile/entries/008.p/1",
        "/tile/1/000.p/8",
    ] {
        assert_eq!(status(http, path).await, 200, "{path}");
    }
    for path in [
        "/tile/0/1",
        "/tile/0/0",
        "/tile/0/0000",
        "/tile/0/x000/001",
        "/tile/0/x0/001",
        "/tile/0/001/000",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/0/000.p/01",
        "/tile/0/000.p/",
        "/tile/0/000.p",
        "/tile/0/000/",
        "/tile/00/000",
        "/tile/+0/000",
        "/tile/64/000",
        "/tile/-1/000",
        "/tile/data/000",
        "/tile/8/0/000",
        "/tile/entries/0",
        "/tile/entries/000.p/0",
        "/tile/entries/000.p/256",
        "/tile/0/%30%30%30",
        "/tile/0/x001%2F000.p/1",
        "/tile/",
        "/tile",
        "/tiles/0/000",
    ] {
        assert_eq!(status(http, path).await, 404, "{path}");
    }
    // Only GET (and HEAD).
    let mut conn = tokio::net::TcpStream::connect(http).await.unwrap();
    conn.write_all(b"POST /checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = String::new();
    conn.read_to_string(&mut raw).await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 405"), "{raw}");

    server.stop().await.unwrap();
}

/// Go's reference tiled-log client reads the same log: `tests/tlog_go`, run with `go run`,
/// verifies the checkpoint with `sumdb/note`, proves and checks records and trees with
/// `sumdb/tlog` over these tiles, and checks bundles against `tlog.RecordHash`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_sumdb_tlog_reads_the_log() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tlog_go");
    let x_mod = std::path::Path::new("/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog");
    let go = std::process::Command::new("go").arg("version").output();
    if !go.as_ref().is_ok_and(|o| o.status.success()) || !x_mod.is_dir() {
        eprintln!(
            "SKIPPED go_sumdb_tlog_reads_the_log: needs `go` on PATH and Debian's golang.org/x/mod \
             (apt-get install golang-go golang-golang-x-mod-dev)"
        );
        return;
    }
    let (world, server, http) = served().await;
    let tmp = tempfile::tempdir().unwrap();
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tlog-go");
    let mut earlier = Vec::new();
    for size in [256, 257, 700, 1537] {
        grow_to(&world, size);
        publish(&server).await;
        let (_, note) = TileClient::open(http, &world.ledger).await;
        let vkey = world.ledger.verifier().to_string();
        let base = format!("http://{http}");
        let mut cmd = std::process::Command::new("go");
        cmd.args(["run", ".", &base, &vkey])
            .args(&earlier)
            .current_dir(&dir)
            // Offline: golang.org/x/mod comes from Debian's package (the `replace` in go.mod).
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=readonly")
            .env("GOTOOLCHAIN", "local")
            .env("GOCACHE", cache.join("cache"))
            .env("GOPATH", cache.join("path"))
            .env_remove("GO111MODULE");
        let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().expect("go runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("go at size {size}: {stdout}{stderr}");
        assert!(
            out.status.success() && stdout.trim_end().ends_with("OK"),
            "Go's tlog client failed at size {size}:\n{stdout}\n{stderr}"
        );
        let file = tmp.path().join(format!("checkpoint-{size}"));
        std::fs::write(&file, note).unwrap();
        earlier.push(file);
    }
    server.stop().await.unwrap();
}
