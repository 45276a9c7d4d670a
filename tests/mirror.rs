//! A mirror of a ledger's log over tlog-tiles (`greenledger::mirror`), against real ledger
//! servers on `127.0.0.1:0`:
//!
//! - it follows a growing ledger across tile edges, and serves every tile, partial tile, entry
//!   bundle and the checkpoint as the ledger does (same status, headers and bytes, bundles
//!   compared decompressed), and so does a mirror of the mirror; it restarts from its
//!   directory, past the leftovers of a crash before a commit, and finds a damaged tile there;
//! - a second ledger under the same log key and name with another history is a fork, whether
//!   it offers the same size, a larger one or a smaller one: the mirror reports both notes,
//!   writes them to `fork-evidence.txt`, stops (also after a restart), keeps serving its last
//!   good state and stores nothing of the fork; an older checkpoint of the same log is reported
//!   as a rollback;
//! - a checkpoint with a bad signature, one signed by another key, tiles that do not give the
//!   checkpoint's root, and a checkpoint without the required witness cosignature are refused
//!   with nothing changed, and the mirror goes on following; cosignature lines are kept as
//!   fetched.

use flate2::read::GzDecoder;
use greenledger::ledger::Clock;
use greenledger::mirror::{Inconsistency, Mirror, MirrorError};
use greenledger::rpc::server::{spawn_with, Running, ServeOptions};
use greenledger::testkit::files::digest_tree;
use greenledger::testkit::World;
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::note::Cosigner;
use greenledger_core::log::{add_signature_lines, open_checkpoint, sign_checkpoint, NoteSigner};
use greenledger_core::{Command, Role, Roles};
use std::collections::HashMap;
use std::io::Read as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client that shows the bytes and headers as sent.

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The body, decompressed when it was sent gzip-encoded.
    fn decoded(&self) -> Vec<u8> {
        if self.header("content-encoding") == Some("gzip") {
            let mut raw = Vec::new();
            GzDecoder::new(self.body.as_slice()).read_to_end(&mut raw).expect("a gzip body");
            raw
        } else {
            self.body.clone()
        }
    }
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("HTTP port answers");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: gzip, identity\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP response");
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect(status_line);
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').expect(l);
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    Reply { status, headers, body: raw[split + 4..].to_vec() }
}

// ---------------------------------------------------------------------------------------------
// Ledgers, mirrors and servers.

/// A ledger served with an HTTP port. Every `World` has the same log key and name and the same
/// first entries; `grow_to` with different tags makes their histories part.
async fn served() -> (World, Running, SocketAddr) {
    let world = World::new();
    let clock: Arc<dyn Clock> = world.clock.clone();
    let options = ServeOptions { http_addr: Some("127.0.0.1:0".parse().unwrap()), ..Default::default() };
    let server = spawn_with(world.ledger.clone(), clock, "127.0.0.1:0", options).await.expect("server starts");
    let http = server.http_addr.expect("the HTTP port is bound");
    (world, server, http)
}

/// Grows the ledger to exactly `size` entries: the operator registers accounts named after
/// `tag`.
fn grow_to(world: &World, size: u64, tag: &str) {
    let from = world.ledger.size();
    assert!(size >= from);
    let commands: Vec<_> = (from..size)
        .map(|i| {
            let mut seed = [0x5d; 32];
            seed[..8].copy_from_slice(&i.to_be_bytes());
            seed[8] = tag.len() as u8;
            let account = Keypair::from_seed(seed).account();
            let register =
                cmd::RegisterAccount { account, name: format!("{tag}-{i}"), roles: Roles::of(&[Role::Consumer]) };
            world.sign(&world.operator, Command::RegisterAccount(register))
        })
        .collect();
    for chunk in commands.chunks(500) {
        world.ok_all(chunk.to_vec());
    }
    assert_eq!(world.ledger.size(), size);
}

/// Serves `router` on `127.0.0.1:0` until the test ends.
async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// The checkpoint note the server at `addr` serves.
async fn note_of(addr: SocketAddr) -> String {
    let reply = get(addr, "/checkpoint").await;
    assert_eq!(reply.status, 200);
    String::from_utf8(reply.body).unwrap()
}

fn size_of(note: &str, world: &World) -> u64 {
    open_checkpoint(note, &world.ledger.verifier()).expect("the log key signed it").0.size
}

/// A server whose checkpoint is whatever the test sets, and whose tiles are those of another
/// server (fetched through reqwest, so bundles come out decompressed, which clients accept),
/// except that the last byte of the one at path `tamper` is flipped.
#[derive(Clone)]
struct Switch {
    note: Arc<Mutex<String>>,
    tiles: Arc<Mutex<SocketAddr>>,
    tamper: Arc<Mutex<String>>,
}

impl Switch {
    async fn start(note: String, tiles: SocketAddr) -> (Switch, SocketAddr) {
        let switch = Switch {
            note: Arc::new(Mutex::new(note)),
            tiles: Arc::new(Mutex::new(tiles)),
            tamper: Arc::new(Mutex::new(String::new())),
        };
        let (n, t, x) = (switch.note.clone(), switch.tiles.clone(), switch.tamper.clone());
        let router = axum::Router::new()
            .route("/checkpoint", axum::routing::get(move || async move { n.lock().unwrap().clone() }))
            .route(
                "/tile/{*rest}",
                axum::routing::get(move |uri: axum::http::Uri| async move {
                    let from = *t.lock().unwrap();
                    let response = reqwest::get(format!("http://{from}{}", uri.path())).await.unwrap();
                    let status = axum::http::StatusCode::from_u16(response.status().as_u16()).unwrap();
                    let mut body = response.bytes().await.unwrap().to_vec();
                    if uri.path() == *x.lock().unwrap() {
                        *body.last_mut().unwrap() ^= 1;
                    }
                    (status, body)
                }),
            );
        let addr = serve(router).await;
        (switch, addr)
    }

    fn set_note(&self, note: &str) {
        *self.note.lock().unwrap() = note.to_string();
    }
}

/// Every path a client of a tree of `size` may ask for: each hash tile and entry bundle at its
/// width, narrower widths of the partial ones and of a full one, and paths beyond the tree.
fn paths_of(size: u64) -> Vec<String> {
    let mut out = Vec::new();
    let enc = greenledger_core::log::tiles::encode_index;
    let path = |level: &str, n: u64, w: u64| {
        let mut p = format!("/tile/{level}/{}", enc(n));
        if w < 256 {
            p.push_str(&format!(".p/{w}"));
        }
        p
    };
    for level in 0..4u8 {
        let nodes = size >> (8 * u32::from(level));
        let names: Vec<String> = if level == 0 { vec!["0".into(), "entries".into()] } else { vec![level.to_string()] };
        for name in &names {
            for n in 0..=nodes / 256 {
                let w = (nodes - n * 256).min(256);
                for width in [w, w.saturating_sub(1), 1, w + 1, 256] {
                    if width > 0 {
                        out.push(path(name, n, width));
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The mirror at `mirror` serves the checkpoint and every path of a tree of `size` as the
/// ledger at `ledger` does.
async fn assert_same(ledger: SocketAddr, mirror: SocketAddr, size: u64) {
    let (a, b) = (get(ledger, "/checkpoint").await, get(mirror, "/checkpoint").await);
    assert_eq!(
        (a.status, a.header("content-type"), a.header("cache-control")),
        (200, b.header("content-type"), b.header("cache-control"))
    );
    assert_eq!((a.status, a.body), (b.status, b.body), "/checkpoint at size {size}");
    assert_tiles_same(ledger, mirror, size).await;
}

/// The mirror at `mirror` serves every tile and bundle path of a tree of `size` as the ledger
/// at `ledger` does.
async fn assert_tiles_same(ledger: SocketAddr, mirror: SocketAddr, size: u64) {
    let mut served = 0;
    for path in paths_of(size) {
        let (a, b) = (get(ledger, &path).await, get(mirror, &path).await);
        assert_eq!(a.status, b.status, "{path} at size {size}");
        for h in ["content-type", "cache-control", "content-encoding"] {
            assert_eq!(a.header(h), b.header(h), "{path}: {h} at size {size}");
        }
        if a.status == 200 {
            assert_eq!(a.decoded(), b.decoded(), "{path} at size {size}");
            served += 1;
        }
    }
    assert!(served as u64 > size / 256 * 2, "at size {size} only {served} paths exist");
}

/// Everything in the mirror's directory, but the fork evidence.
fn contents(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, [u8; 32]> {
    let mut d = digest_tree(dir);
    d.remove(Path::new("fork-evidence.txt"));
    d
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_follows_the_ledger_and_serves_the_same_bytes() {
    let (world, server, http) = served().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mirror");
    let mut mirror = Mirror::open(&dir, &url(http), world.ledger.verifier()).unwrap();
    assert_eq!(mirror.held(), None);
    let at = serve(mirror.router()).await;
    assert_eq!(get(at, "/checkpoint").await.status, 404, "nothing held yet");
    assert_eq!(get(at, "/tile/0/000.p/1").await.status, 404);

    let start = world.ledger.size();
    // Across the level-0 tile edges, by one and by many tiles at once (more than a group).
    for size in [start, 255, 256, 257, 300, 511, 512, 600, 5000] {
        grow_to(&world, size, "a");
        let note = note_of(http).await;
        assert_eq!(size_of(&note, &world), size);
        let report = mirror.sync_once().await.unwrap();
        assert_eq!(report.size, size);
        assert!(report.checkpoint_changed);
        assert_eq!(mirror.held().unwrap().note, note);
        assert_eq!(get(at, "/checkpoint").await.body, note.as_bytes());
        assert_same(http, at, size).await;
        let again = mirror.sync_once().await.unwrap();
        assert!(!again.checkpoint_changed, "nothing new at size {size}");
    }
    // 5000 = 19 full level-0 tiles and 136 more.
    assert_eq!(std::fs::read(dir.join("tile/0/018")).unwrap().len(), 8192);
    assert_eq!(std::fs::read(dir.join("tile/0/019.p/136")).unwrap().len(), 136 * 32);
    assert!(!dir.join("tile/0/001.p").exists(), "partials of a full tile are deleted");
    assert!(!dir.join("tile/entries/001.p").exists());
    assert_eq!(std::fs::read_to_string(dir.join("checkpoint")).unwrap(), note_of(http).await);

    // A mirror of the mirror.
    let dir2 = tmp.path().join("mirror2");
    let mut second = Mirror::open(&dir2, &format!("{}/", url(at)), world.ledger.verifier()).unwrap();
    let report = second.sync_once().await.unwrap();
    assert_eq!((report.from_size, report.size), (0, 5000));
    assert_eq!((report.tiles, report.bundles), (20 + 1, 20));
    let at2 = serve(second.router()).await;
    assert_same(http, at2, 5000).await;

    // Restart from the directory: the same state, and it goes on from there.
    drop(mirror);
    let mut mirror = Mirror::open(&dir, &url(http), world.ledger.verifier()).unwrap();
    assert_eq!(mirror.held().unwrap().checkpoint.size, 5000);
    grow_to(&world, 5001, "a");
    let report = mirror.sync_once().await.unwrap();
    assert_eq!((report.from_size, report.size, report.bundles), (5000, 5001, 1));
    let at = serve(mirror.router()).await;
    assert_same(http, at, 5001).await;

    // A crash before a commit leaves a scratch file and tiles beyond the held size: no read
    // reaches them, opening empties the scratch directory, the next round replaces them.
    std::fs::write(dir.join("tmp/1-0"), b"half a tile").unwrap();
    std::fs::write(dir.join("tile/0/019.p/200"), [7u8; 200 * 32]).unwrap();
    std::fs::write(dir.join("tile/entries/019.p/200"), b"half a bundle").unwrap();
    drop(mirror);
    let mut mirror = Mirror::open(&dir, &url(http), world.ledger.verifier()).unwrap();
    assert!(!dir.join("tmp/1-0").exists());
    let at = serve(mirror.router()).await;
    assert_eq!(get(at, "/tile/0/019.p/200").await.status, 404);
    assert_eq!(get(at, "/tile/entries/019.p/200").await.status, 404);
    grow_to(&world, 19 * 256 + 200, "a");
    mirror.sync_once().await.unwrap();
    assert_same(http, at, 19 * 256 + 200).await;

    // A damaged tile is found on open.
    std::fs::write(dir.join("tile/0/019.p/200"), [0u8; 200 * 32]).unwrap();
    drop(mirror);
    let err = Mirror::open(&dir, &url(http), world.ledger.verifier()).err().expect("refused");
    assert!(matches!(err, MirrorError::Damaged { .. }), "{err}");
    server.stop().await.unwrap();
}

/// Two ledgers with the same log key and name whose histories part after the set-up entries.
async fn two_histories(size_a: u64, size_b: u64) -> ((World, Running, SocketAddr), (World, Running, SocketAddr)) {
    let a = served().await;
    let b = served().await;
    assert_eq!(a.0.ledger.verifier(), b.0.ledger.verifier(), "the same log key");
    grow_to(&a.0, size_a, "a");
    grow_to(&b.0, size_b, "bb");
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_is_reported_with_both_checkpoints_and_nothing_of_it_is_stored() {
    for (size_a, size_b, kind) in [(300u64, 300u64, "same"), (300, 700, "larger"), (700, 300, "smaller")] {
        let ((a, a_server, a_http), (b, b_server, b_http)) = two_histories(size_a, size_b).await;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("mirror");
        let key = a.ledger.verifier();
        let mut mirror = Mirror::open(&dir, &url(a_http), key.clone()).unwrap();
        mirror.sync_once().await.unwrap();
        let held = note_of(a_http).await;
        let offered = note_of(b_http).await;
        assert_ne!(held, offered);
        let before = contents(&dir);

        // The same mirror, now pointed at the other ledger.
        drop(mirror);
        let mut mirror = Mirror::open(&dir, &url(b_http), key.clone()).unwrap();
        let at = serve(mirror.router()).await;
        let err = mirror.sync_once().await.expect_err("a fork");
        let MirrorError::Fork { held: h, offered: o, reason } = &err else { panic!("{kind}: not a fork: {err}") };
        assert_eq!((h, o), (&held, &offered), "{kind}");
        match kind {
            "same" => assert_eq!(reason, &Inconsistency::SameSizeOtherRoot { size: 300 }),
            "larger" => assert_eq!(reason, &Inconsistency::HeldRootNotReproduced { held: 300, offered: 700 }),
            _ => assert_eq!(reason, &Inconsistency::SizeWentBack { held: 700, offered: 300, same_history: false }),
        }
        let text = err.to_string();
        assert!(text.contains(&held) && text.contains(&offered), "{text}");
        let evidence = std::fs::read_to_string(dir.join("fork-evidence.txt")).unwrap();
        assert!(evidence.contains(&held) && evidence.contains(&offered), "{evidence}");
        assert!(evidence.find(&held) < evidence.find(&offered));

        // Nothing of the fork was stored, the good state is still served, and it stopped.
        assert_eq!(contents(&dir), before, "{kind}: the fork changed the directory");
        assert_eq!(mirror.held().unwrap().note, held);
        assert_eq!(get(at, "/checkpoint").await.body, held.as_bytes());
        assert_same(a_http, at, size_a).await;
        assert!(mirror.is_stopped());
        assert!(matches!(mirror.sync_once().await, Err(MirrorError::Stopped { .. })));
        // Also after a restart, even pointed back at the first ledger, until the evidence goes.
        drop(mirror);
        let mut mirror = Mirror::open(&dir, &url(a_http), key.clone()).unwrap();
        assert!(matches!(mirror.sync_once().await, Err(MirrorError::Stopped { .. })));
        assert_eq!(contents(&dir), before);
        std::fs::remove_file(dir.join("fork-evidence.txt")).unwrap();
        let mut mirror = Mirror::open(&dir, &url(a_http), key).unwrap();
        grow_to(&a, size_a + 1, "a");
        assert_eq!(mirror.sync_once().await.unwrap().size, size_a + 1);

        drop(b);
        a_server.stop().await.unwrap();
        b_server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_checkpoint_of_the_same_log_is_a_rollback() {
    let (world, server, http) = served().await;
    grow_to(&world, 280, "a");
    let old = note_of(http).await;
    grow_to(&world, 600, "a");
    let (_switch, at) = Switch::start(old.clone(), http).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mirror");
    let mut mirror = Mirror::open(&dir, &url(http), world.ledger.verifier()).unwrap();
    mirror.sync_once().await.unwrap();
    let before = contents(&dir);
    drop(mirror);
    let mut mirror = Mirror::open(&dir, &url(at), world.ledger.verifier()).unwrap();
    let err = mirror.sync_once().await.expect_err("a rollback");
    let MirrorError::Fork { offered, reason, .. } = &err else { panic!("{err}") };
    assert_eq!(offered, &old);
    assert_eq!(reason, &Inconsistency::SizeWentBack { held: 600, offered: 280, same_history: true });
    assert_eq!(contents(&dir), before);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_checkpoints_and_tiles_are_refused_and_change_nothing() {
    let ((a, a_server, a_http), (b, b_server, b_http)) = two_histories(300, 700).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mirror");
    let key = a.ledger.verifier();
    let good = note_of(a_http).await;
    let (switch, at) = Switch::start(good.clone(), a_http).await;
    let mut mirror = Mirror::open(&dir, &url(at), key.clone()).unwrap();
    mirror.sync_once().await.unwrap();
    let before = contents(&dir);
    grow_to(&a, 700, "a");
    let next = note_of(a_http).await;
    let (cp, _) = open_checkpoint(&next, &key).unwrap();

    // A signature that does not verify, one by another key of the same name, none, garbage.
    let mut flipped = next.clone().into_bytes();
    let at_sig = next.rfind(' ').unwrap() + 10;
    flipped[at_sig] = if flipped[at_sig] == b'A' { b'B' } else { b'A' };
    let other = NoteSigner::new(&a.ledger.name(), ed25519_dalek::SigningKey::from_bytes(&[7; 32])).unwrap();
    let forged = sign_checkpoint(&cp, &other).unwrap();
    let mut bigger = cp.clone();
    bigger.size += 1;
    let unsigned = bigger.to_text();
    for (what, note) in [
        ("a bad signature", String::from_utf8(flipped).unwrap()),
        ("another key", forged),
        ("no signature", format!("{unsigned}\n")),
        ("garbage", "not a note".to_string()),
    ] {
        switch.set_note(&note);
        let err = mirror.sync_once().await.expect_err(what);
        assert!(matches!(err, MirrorError::BadCheckpoint { .. }), "{what}: {err}");
        assert_eq!(contents(&dir), before, "{what}");
        assert_eq!(mirror.held().unwrap().note, good);
        assert!(!mirror.is_stopped() && !dir.join("fork-evidence.txt").exists(), "{what} is no fork");
    }

    // The right checkpoint with the other ledger's tiles: they do not give its root.
    switch.set_note(&next);
    *switch.tiles.lock().unwrap() = b_http;
    let err = mirror.sync_once().await.expect_err("tiles of another tree");
    assert!(matches!(err, MirrorError::RootMismatch { size: 700, .. }), "{err}");
    assert_eq!(contents(&dir), before);
    assert!(!mirror.is_stopped());

    // One tile or bundle changed by a bit (from 300 to 700: level-0 tiles 1 and 2 grow, and
    // the level-1 tile): a full tile against the tile above (and so the tile above against the
    // full tile), a bundle against its leaf hashes, a partial tile against the root.
    *switch.tiles.lock().unwrap() = a_http;
    for (path, what) in [
        ("/tile/0/001", "hashes to"),
        ("/tile/entries/001", "does not hash to its leaf hash"),
        ("/tile/entries/002.p/188", "does not hash to its leaf hash"),
        ("/tile/0/002.p/188", "give root"),
        ("/tile/1/000.p/2", "the tile above holds"),
    ] {
        *switch.tamper.lock().unwrap() = path.to_string();
        let err = mirror.sync_once().await.expect_err(path);
        assert!(matches!(err, MirrorError::BadTile { .. } | MirrorError::RootMismatch { .. }), "{path}: {err}");
        assert!(err.to_string().contains(what), "{path}: {err}");
        assert_eq!(contents(&dir), before, "{path}");
        assert_eq!(mirror.held().unwrap().note, good);
        assert!(!mirror.is_stopped());
    }
    switch.tamper.lock().unwrap().clear();

    // With a witness required: refused until the note carries its cosignature, which is then
    // kept and served as fetched.
    *switch.tiles.lock().unwrap() = a_http;
    let witness = Cosigner::new("witness.example/w", ed25519_dalek::SigningKey::from_bytes(&[9; 32])).unwrap();
    drop(mirror);
    let mut mirror = Mirror::open(&dir, &url(at), key.clone()).unwrap().with_witnesses(vec![witness.verifier()]);
    let err = mirror.sync_once().await.expect_err("not cosigned");
    assert!(
        matches!(&err, MirrorError::Unwitnessed { size: 700, missing } if missing == &["witness.example/w"]),
        "{err}"
    );
    assert_eq!(contents(&dir), before);
    let line = witness.cosign(&cp.to_text(), 1_800_000_000).unwrap();
    let cosigned = add_signature_lines(&next, &[line]).unwrap();
    switch.set_note(&cosigned);
    let report = mirror.sync_once().await.unwrap();
    assert_eq!((report.from_size, report.size), (300, 700));
    let served = serve(mirror.router()).await;
    assert_eq!(get(served, "/checkpoint").await.body, cosigned.as_bytes());
    assert_tiles_same(a_http, served, 700).await;

    drop(b);
    a_server.stop().await.unwrap();
    b_server.stop().await.unwrap();
}

/// `greenledger mirror --once`, as a process: the log key from a file, exit 0 when it holds the
/// ledger's checkpoint; on a fork exit 3 with both notes on stderr, and the evidence file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_mirrors_once_and_exits_3_on_a_fork() {
    let ((a, a_server, a_http), (b, b_server, b_http)) = two_histories(400, 400).await;
    let tmp = tempfile::tempdir().unwrap();
    let key_file = tmp.path().join("log.pub");
    std::fs::write(&key_file, format!("{}\n", a.ledger.verifier())).unwrap();
    let dir = tmp.path().join("mirror");
    let run = |from: SocketAddr| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_greenledger"));
        cmd.args(["mirror", "--once", "--from", &url(from), "--data"])
            .arg(&dir)
            .arg("--log-key")
            .arg(&key_file)
            .env_remove("RUST_LOG");
        tokio::task::spawn_blocking(move || cmd.output().expect("the binary runs"))
    };
    let out = run(a_http).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("at size 400"), "{stdout}");
    assert_eq!(std::fs::read_to_string(dir.join("checkpoint")).unwrap(), note_of(a_http).await);

    let out = run(b_http).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&note_of(a_http).await) && stderr.contains(&note_of(b_http).await), "{stderr}");
    assert!(dir.join("fork-evidence.txt").exists());
    assert_eq!(std::fs::read_to_string(dir.join("checkpoint")).unwrap(), note_of(a_http).await);
    // Still stopped on the next run, even from the first ledger.
    let out = run(a_http).await.unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fork-evidence.txt"));

    drop(b);
    a_server.stop().await.unwrap();
    b_server.stop().await.unwrap();
}

/// Waits (generously) until `cond` holds.
async fn eventually(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !cond().await {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A mirror following in the background takes each new checkpoint, and stops on a fork while
/// its routes keep serving the last good state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_following_mirror_polls_until_a_fork() {
    let ((a, a_server, a_http), (b, b_server, b_http)) = two_histories(300, 900).await;
    let (switch, at) = Switch::start(note_of(a_http).await, a_http).await;
    let tmp = tempfile::tempdir().unwrap();
    let mirror = Mirror::open(&tmp.path().join("mirror"), &url(at), a.ledger.verifier()).unwrap();
    let served = serve(mirror.router()).await;
    let following = mirror.spawn(std::time::Duration::from_millis(10));
    let held = async |addr| String::from_utf8(get(addr, "/checkpoint").await.body).unwrap();
    eventually("the mirror holds size 300", async || held(served).await == note_of(a_http).await).await;
    for size in [301, 700] {
        grow_to(&a, size, "a");
        switch.set_note(&note_of(a_http).await);
        eventually("the mirror takes the new size", async || held(served).await == note_of(a_http).await).await;
        assert_same(a_http, served, size).await;
    }
    // The other history, at a larger size.
    *switch.tiles.lock().unwrap() = b_http;
    switch.set_note(&note_of(b_http).await);
    eventually("the mirror stops", async || following.is_finished()).await;
    let err = following.stop().await.expect_err("a fork");
    assert!(
        matches!(
            err,
            MirrorError::Fork { reason: Inconsistency::HeldRootNotReproduced { held: 700, offered: 900 }, .. }
        ),
        "{err}"
    );
    assert_same(a_http, served, 700).await;

    drop(b);
    a_server.stop().await.unwrap();
    b_server.stop().await.unwrap();
}
