//! The explorer on the HTTP port: its JSON APIs over plain HTTP, and the verify page in a real
//! headless Chromium, which verifies a proof bundle passed in the URL fragment with the
//! WebAssembly verifier (the core's code). Chromium is found in `CHROMIUM`, `chromium` or
//! `chromium-browser`; without one the browser tests print that they are skipped.

use base64::Engine as _;
use greenledger::ledger::Clock;
use greenledger::rpc::server::{spawn_with, Running, ServeOptions};
use greenledger::testkit::*;
use greenledger_core::*;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command as Process;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A ledger with one claim, C1: issued to the generator, transferred, retired by the consumer.
fn world_with_a_claim() -> World {
    let mut h = World::new();
    h.generation(0, 2 * MWH);
    h.issue(0);
    h.consumption(h.consumer.account(), 0, 10 * MWH);
    let g = h.generator.clone();
    let b = h.only_bundle(&g);
    let to = h.consumer.account();
    h.ok(&g, greenledger::testkit::transfer(b.id, b.serials, to));
    let c = h.consumer.clone();
    let cb = h.only_bundle(&c);
    h.ok(&c, retire_own(cb.id, cb.serials, hour(0)));
    h
}

async fn serve(world: &World) -> (Running, SocketAddr) {
    let clock: Arc<dyn Clock> = world.clock.clone();
    let options = ServeOptions { http_addr: Some("127.0.0.1:0".parse().unwrap()), ..Default::default() };
    let server = spawn_with(world.ledger.clone(), clock, "127.0.0.1:0", options).await.expect("server starts");
    let http = server.http_addr.expect("the HTTP port is bound");
    (server, http)
}

/// `GET path` over plain HTTP/1.1: the status code and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("HTTP port answers");
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status code");
    (status, body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_apis_answer_and_unknown_ids_are_not_found() {
    let world = world_with_a_claim();
    let (_server, http) = serve(&world).await;

    let (status, body) = get(http, "/api/checkpoint").await;
    assert_eq!(status, 200, "{body}");
    let cp: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(cp["size"], world.ledger.size(), "{cp}");
    assert_eq!(cp["log_key"], world.ledger.verifier().to_string());
    assert!(cp["note"].as_str().unwrap().starts_with(&world.ledger.name()), "{cp}");
    assert!(cp["signatures"].as_array().unwrap().iter().any(|s| s["log"] == true), "{cp}");

    let (status, body) = get(http, "/api/claim/C1").await;
    assert_eq!(status, 200, "{body}");
    let claim: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(claim, serde_json::to_value(world.ledger.claim(ClaimId(1)).unwrap()).unwrap());

    let (status, body) = get(http, "/api/claim/1/proof").await;
    assert_eq!(status, 200, "{body}");
    let key = world.ledger.verifier().to_string();
    let verified = greenledger_core::proof::verify_json(&body, &key, &[], 0).expect("the served bundle verifies");
    assert_eq!(verified.summary.claim_entry, world.ledger.claim(ClaimId(1)).unwrap().entry.0);

    let (status, body) = get(http, "/api/bundle/B1").await;
    assert_eq!(status, 200, "{body}");
    // Search by serial: the bundle that holds serial 1 now.
    let (status, body) = get(http, "/api/serial/1").await;
    assert_eq!(status, 200, "{body}");
    let holder: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(holder["serials"]["start"], 1, "{holder}");
    assert_eq!(get(http, "/api/serial/999999").await.0, 404);
    assert_eq!(get(http, "/api/serial/x").await.0, 400);
    let (status, body) = get(http, &format!("/api/device/{}", wind().0)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(http, &format!("/api/account/{}", hex::encode(world.consumer.account().0))).await;
    assert_eq!(status, 200, "{body}");
    let account: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(account["claims"].as_array().map(Vec::len), Some(1), "{account}");

    let (status, body) = get(http, "/api/claim/C99").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("not found"), "{body}");
    assert_eq!(get(http, "/api/claim/C99/proof").await.0, 404);
    assert_eq!(get(http, "/api/device/nowhere").await.0, 404);
    assert_eq!(get(http, "/api/claim/x1").await.0, 400);
    assert_eq!(get(http, "/api/account/beef").await.0, 400);

    for page in ["/", "/explorer", "/verify", "/claim/C1", "/static/app.js", "/static/style.css"] {
        assert_eq!(get(http, page).await.0, 200, "{page}");
    }
    let (status, wasm) = get(http, "/static/verify.wasm").await;
    assert_eq!(status, 200);
    assert!(wasm.as_bytes().starts_with(b"\0asm"));
    assert!(get(http, "/metrics").await.1.contains("greenledger"), "metrics still served");
}

/// The Chromium binary, if there is one.
fn chromium() -> Option<String> {
    let candidates = std::env::var("CHROMIUM").into_iter().chain(["chromium".into(), "chromium-browser".into()]);
    candidates.into_iter().find(|c| Process::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
}

fn chromium_args(profile: &std::path::Path) -> Vec<String> {
    ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=8000"]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect()
}

/// The DOM of `url` after its scripts ran, in headless Chromium.
fn dump_dom(chromium: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Process::new(chromium)
        .args(chromium_args(profile.path()))
        .args(["--dump-dom", url])
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A screenshot of `url` at `target/explorer-test-NAME.png`, for a failure message.
fn screenshot(chromium: &str, url: &str, name: &str) -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = dir.join(format!("explorer-test-{name}.png"));
    let profile = tempfile::tempdir().unwrap();
    let _ = Process::new(chromium)
        .args(chromium_args(profile.path()))
        .args([format!("--screenshot={}", path.display()), "--window-size=1000,900".into(), url.to_string()])
        .output();
    path
}

fn b64url(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// Opens the verify page with `bundle` in its fragment and checks the verdict.
async fn verify_page(chromium: &str, http: SocketAddr, name: &str, bundle: String, expect: Result<(), &str>) {
    let url = format!("http://{http}/verify#bundle={}", b64url(&bundle));
    let c = chromium.to_string();
    let u = url.clone();
    // Virtual time does not wait for the asynchronous WebAssembly compilation, so Chromium
    // sometimes dumps the page before the verifier has answered: try again until a verdict shows.
    let dom = tokio::task::spawn_blocking(move || {
        let mut dom = String::new();
        for _ in 0..6 {
            dom = dump_dom(&c, &u);
            if dom.contains("id=\"verdict\"") {
                break;
            }
        }
        dom
    })
    .await
    .unwrap();
    let ok = match expect {
        Ok(()) => dom.contains("VERIFIED") && !dom.contains("REFUSED"),
        Err(check) => !dom.contains("VERIFIED") && dom.contains("REFUSED") && dom.contains(check),
    };
    if !ok {
        let c = chromium.to_string();
        let n = name.to_string();
        let shot = tokio::task::spawn_blocking(move || screenshot(&c, &url, &n)).await.unwrap();
        panic!("{name}: expected {expect:?}; screenshot at {}; DOM:\n{dom}", shot.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verify_page_verifies_a_bundle_in_the_browser_and_refuses_a_changed_one() {
    let Some(chromium) = chromium() else {
        println!("skipped: no Chromium found (CHROMIUM, chromium, chromium-browser)");
        return;
    };
    let world = world_with_a_claim();
    let (_server, http) = serve(&world).await;
    // Format 2: each entry also carries its C2SP tlog-proof, which the page checks too.
    let (note, size) = (world.ledger.checkpoint_note().unwrap(), world.ledger.size());
    let bundle = greenledger::proof::build_with(&world.ledger, ClaimId(1), &note, size, true).unwrap().to_json();
    assert!(bundle.contains(greenledger_core::proof::FORMAT_V2));

    verify_page(&chromium, http, "good", bundle.clone(), Ok(())).await;

    // The summary says one more Wh than the entries prove.
    let mut v: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    let wh = v["summary"]["energy_wh"].as_u64().unwrap();
    v["summary"]["energy_wh"] = (wh + 1).into();
    verify_page(&chromium, http, "energy", v.to_string(), Err("summary field energy_wh")).await;

    // One bit of the last entry's leaf flipped: its inclusion proof no longer holds.
    let mut v: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    let last = v["entries"].as_array().unwrap().len() - 1;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut leaf = b64.decode(v["entries"][last]["leaf"].as_str().unwrap()).unwrap();
    let n = leaf.len() - 1;
    leaf[n] ^= 1;
    v["entries"][last]["leaf"] = b64.encode(leaf).into();
    verify_page(&chromium, http, "leaf", v.to_string(), Err("entry ")).await;
}
