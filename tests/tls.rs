//! TLS on the gRPC port: a self-signed certificate for "localhost" made with rcgen, a client
//! that trusts it, a client that does not, and a plaintext client that must fail. Also the
//! `serve --tls-cert/--tls-key` command line, which must never print the key.

use greenledger::ledger::{Ledger, ManualClock};
use greenledger::rpc::pb;
use greenledger::rpc::pb::ledger_client::LedgerClient;
use greenledger::rpc::server::{spawn_with, ServeOptions};
use greenledger::store::MemStore;
use greenledger_core::calendar::unix;
use greenledger_core::command as cmd;
use greenledger_core::crypto::Keypair;
use greenledger_core::log::NoteSigner;
use greenledger_core::{Command, Policy};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

const NAME: &str = "tls.greenledger.example";

struct Pem {
    cert: String,
    key: String,
}

fn self_signed() -> Pem {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    Pem { cert: ck.cert.pem(), key: ck.signing_key.serialize_pem() }
}

fn write(dir: &Path, pem: &Pem) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pem.cert).unwrap();
    std::fs::write(&key, &pem.key).unwrap();
    (cert, key)
}

fn ledger() -> (Arc<Ledger<MemStore>>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(unix(2026, 2, 1, 0, 0, 0)));
    let signer = NoteSigner::new(NAME, ed25519_dalek::SigningKey::from_bytes(&[42; 32])).unwrap();
    let genesis = Keypair::from_seed([1; 32]).sign(
        NAME,
        0,
        Command::Genesis(cmd::Genesis { policy: Policy::new(NAME), operator_name: "Registry".into() }),
    );
    let ledger = Ledger::create(Arc::new(MemStore::new()), signer, genesis, clock.clone()).unwrap();
    (Arc::new(ledger), clock)
}

async fn tls_checkpoint(addr: SocketAddr, ca: &str) -> Result<u64, String> {
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)).domain_name("localhost");
    let call = async {
        let channel = Channel::from_shared(format!("https://127.0.0.1:{}", addr.port()))
            .unwrap()
            .tls_config(tls)
            .map_err(|e| e.to_string())?
            .connect()
            .await
            .map_err(|e| format!("{e:?}"))?;
        let mut client = LedgerClient::new(channel);
        let r = client.get_checkpoint(pb::GetCheckpointRequest {}).await.map_err(|s| s.to_string())?;
        Ok(r.into_inner().size)
    };
    tokio::time::timeout(Duration::from_secs(20), call).await.unwrap_or_else(|_| Err("timed out".into()))
}

async fn plaintext_checkpoint(addr: SocketAddr) -> Result<u64, String> {
    let call = async {
        let mut client =
            LedgerClient::connect(format!("http://127.0.0.1:{}", addr.port())).await.map_err(|e| format!("{e:?}"))?;
        let r = client.get_checkpoint(pb::GetCheckpointRequest {}).await.map_err(|s| s.to_string())?;
        Ok(r.into_inner().size)
    };
    tokio::time::timeout(Duration::from_secs(10), call).await.unwrap_or_else(|_| Err("timed out".into()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_trusting_clients_only() {
    let tmp = tempfile::tempdir().unwrap();
    let pem = self_signed();
    let (cert, key) = write(tmp.path(), &pem);
    let options = ServeOptions::default().with_tls_files(&cert, &key).unwrap();
    assert!(!format!("{options:?}").contains("PRIVATE"), "the options' Debug must hide the key");
    let (ledger, clock) = ledger();
    let server = spawn_with(ledger, clock, "127.0.0.1:0", options).await.unwrap();

    assert_eq!(tls_checkpoint(server.addr, &pem.cert).await, Ok(1));
    let plain = plaintext_checkpoint(server.addr).await;
    assert!(plain.is_err(), "a plaintext client got an answer from the TLS port: {plain:?}");
    let stranger = self_signed();
    let untrusted = tls_checkpoint(server.addr, &stranger.cert).await;
    assert!(untrusted.is_err(), "a client trusting another CA connected: {untrusted:?}");
    // The server is still fine after those failed handshakes.
    assert_eq!(tls_checkpoint(server.addr, &pem.cert).await, Ok(1));
    server.stop().await.unwrap();
}

#[test]
fn tls_files_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let pem = self_signed();
    let (cert, key) = write(tmp.path(), &pem);
    let e = ServeOptions::default().with_tls_files(&key, &cert).unwrap_err().to_string();
    assert!(e.contains("is not a PEM certificate"), "{e}");
    let e = ServeOptions::default().with_tls_files(&cert, &tmp.path().join("missing.pem")).unwrap_err().to_string();
    assert!(e.contains("cannot read TLS key"), "{e}");
}

/// `greenledger serve --tls-cert --tls-key` serves TLS; its output never shows the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_command_line_with_tls() {
    let bin = env!("CARGO_BIN_EXE_greenledger");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let init = std::process::Command::new(bin).args(["init", "--data"]).arg(&dir).output().unwrap();
    assert!(init.status.success());
    let pem = self_signed();
    let (cert, key) = write(tmp.path(), &pem);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let out = tmp.path().join("serve.out");
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--data"])
        .arg(&dir)
        .args(["--addr", &addr.to_string(), "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("RUST_LOG", "trace")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(tmp.path().join("serve.err")).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "serve exited early");
        assert!(std::time::Instant::now() < deadline, "serve did not answer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = tls_checkpoint(addr, &pem.cert).await;
    assert!(plaintext_checkpoint(addr).await.is_err());
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(got, Ok(1));
    let printed =
        std::fs::read_to_string(&out).unwrap() + &std::fs::read_to_string(tmp.path().join("serve.err")).unwrap();
    assert!(printed.contains("with TLS"), "{printed}");
    let key_body: String = pem.key.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!printed.contains(&key_body[..40]), "serve printed the TLS key");
    let log_key = std::fs::read_to_string(dir.join("log.key")).unwrap();
    // `PRIVATE+KEY+<name>+<key hash>+<base64 key>`: the base64 itself may hold '+'.
    let secret = log_key.trim().splitn(5, '+').nth(4).unwrap();
    assert!(secret.len() >= 40, "{log_key}");
    assert!(!printed.contains(secret), "serve printed the log signing key");
    let operator = std::fs::read_to_string(dir.join("operator.key")).unwrap();
    assert!(!printed.contains(operator.lines().nth(1).unwrap()), "serve printed the operator key");

    // A key file that is not a key: refused before listening, with a message.
    let bad = std::process::Command::new(bin)
        .args(["serve", "--data"])
        .arg(&dir)
        .args(["--addr", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a PEM private key"));
}
