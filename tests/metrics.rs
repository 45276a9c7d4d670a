//! `GET /metrics` on the server's HTTP port: commands accepted and refused through gRPC are
//! counted by kind and rule, batches are observed, and the gauges read the ledger. The scrape is
//! parsed with a Prometheus text parser. No timing is asserted.

use greenledger::cli::client::{reason_of, rule_of};
use greenledger::ledger::Clock;
use greenledger::rpc::convert::signed_to_pb;
use greenledger::rpc::server::{spawn_with, ServeOptions};
use greenledger::testkit::client::{connect, Signing};
use greenledger::testkit::{hour, issue, post_generation, wind, World, MWH};
use prometheus_parse::{Scrape, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET /metrics` over a plain HTTP/1.1 connection: the status line and the body.
async fn scrape(addr: SocketAddr) -> (String, String) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("metrics port answers");
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut raw = String::new();
    conn.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let lower = head.to_ascii_lowercase();
    assert!(!lower.contains("transfer-encoding: chunked"), "{head}");
    assert!(lower.contains("content-type: application/openmetrics-text"), "{head}");
    (head.lines().next().unwrap_or_default().to_string(), body.to_string())
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text parses")
}

/// The value of the one sample of `metric` whose labels include `labels`; 0 if there is none.
fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = s
        .samples
        .iter()
        .filter(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            // OpenMetrics names a counter's family without `_total`, so the parser leaves the
            // `_total` sample untyped.
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            other => panic!("{metric} is not a single value: {other:?}"),
        })
        .collect();
    assert!(found.len() <= 1, "{metric} {labels:?} matches {} samples", found.len());
    found.first().copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_outcomes_by_kind_and_rule_and_read_the_ledger() {
    let world = World::new();
    let clock: Arc<dyn Clock> = world.clock.clone();
    let options = ServeOptions { http_addr: Some("127.0.0.1:0".parse().unwrap()), ..Default::default() };
    let server = spawn_with(world.ledger.clone(), clock, "127.0.0.1:0", options).await.expect("server starts");
    let http = server.http_addr.expect("the metrics port is bound");
    let client = connect(&format!("http://{}", server.addr)).await.expect("client connects");
    // Nonces far above the ones the world used to set itself up.
    let mut c = Signing::new(client, world.name(), 1_000_000);
    let (meter, generator, stranger) = (world.meter.clone(), world.generator.clone(), world.stranger.clone());

    // Nothing went through this server's sequencer yet (the world was set up directly).
    let (status, text) = scrape(http).await;
    assert!(status.contains("200"), "{status}");
    let s = parse(&text);
    assert_eq!(value(&s, "greenledger_commands_accepted_total", &[]), 0.0, "{text}");
    assert_eq!(value(&s, "greenledger_checkpoint_tree_size", &[]), world.ledger.committed().head.size as f64);

    // Accepted: two readings and one issuance, one at a time and as a stream.
    let generation = post_generation(wind(), hour(0), MWH);
    let gen_kind = generation.kind();
    c.submit(&meter, generation).await.expect("reading accepted");
    c.all_ok(vec![(&meter, post_generation(wind(), hour(1), MWH)), (&generator, issue(wind(), hour(0)))])
        .await
        .expect("stream accepted");
    let issue_kind = issue(wind(), hour(0)).kind();

    // Refused, each remembering the rule and reason the server sent with it.
    let mut refusals: BTreeMap<(&str, String, String), f64> = BTreeMap::new();
    let mut note = |kind: &'static str, s: tonic::Status| {
        let rule = rule_of(&s).map_or_else(|| "none".to_string(), |r| r.to_string());
        let reason = reason_of(&s).expect("a refusal names its reason");
        *refusals.entry((kind, rule, reason)).or_default() += 1.0;
    };
    // The same hour issued twice.
    let s = c.submit(&generator, issue(wind(), hour(0))).await.expect_err("issued twice");
    note(issue_kind, s);
    // A reading by someone who is no meter, twice.
    for n in [5, 6] {
        let s = c.submit(&stranger, post_generation(wind(), hour(n), MWH)).await.expect_err("not a meter");
        note(gen_kind, s);
    }
    // A forged signature (rule 10): still counted under the kind it claims.
    let mut forged = signed_to_pb(&c.sign(&meter, post_generation(wind(), hour(7), MWH)));
    forged.signature[3] ^= 0x40;
    let s = c.client.submit(forged).await.expect_err("forged");
    assert_eq!(rule_of(&s), Some(10));
    note(gen_kind, s);
    assert!(refusals.len() >= 3, "{refusals:?}");

    let (_, text) = scrape(http).await;
    let s = parse(&text);
    assert_eq!(value(&s, "greenledger_commands_accepted_total", &[("kind", gen_kind)]), 2.0, "{text}");
    assert_eq!(value(&s, "greenledger_commands_accepted_total", &[("kind", issue_kind)]), 1.0, "{text}");
    for ((kind, rule, reason), count) in &refusals {
        let labels = [("kind", *kind), ("rule", rule.as_str()), ("reason", reason.as_str())];
        assert_eq!(value(&s, "greenledger_commands_refused_total", &labels), *count, "{labels:?}\n{text}");
    }
    let refused_total: f64 =
        s.samples.iter().filter(|x| x.metric == "greenledger_commands_refused_total").count() as f64;
    assert_eq!(refused_total, refusals.len() as f64, "no other refusal series\n{text}");

    // Every command went through a batch: the batch sizes add up to the commands decided.
    let decided = 3.0 + refusals.values().sum::<f64>();
    assert_eq!(value(&s, "greenledger_batch_commands_sum", &[]), decided, "{text}");
    let batches = value(&s, "greenledger_batch_commands_count", &[]);
    assert!((1.0..=decided).contains(&batches), "{batches} batches\n{text}");
    let histogram = s.samples.iter().find(|x| x.metric == "greenledger_batch_commands").expect("batch histogram");
    match &histogram.value {
        Value::Histogram(buckets) => {
            let all = buckets.iter().find(|b| b.less_than.is_infinite()).expect("+Inf bucket");
            assert_eq!(all.count, batches);
        }
        other => panic!("batch sizes are no histogram: {other:?}"),
    }
    assert_eq!(value(&s, "greenledger_commit_duration_seconds_count", &[]), batches, "{text}");

    // Gauges: read from the ledger when scraped; every submission has been answered.
    let size = world.ledger.committed().head.size;
    assert_eq!(value(&s, "greenledger_checkpoint_tree_size", &[]), size as f64, "{text}");
    assert_eq!(value(&s, "greenledger_sequencer_queue_depth", &[]), 0.0, "{text}");
    assert!(s.samples.iter().any(|x| x.metric == "greenledger_store_size_bytes"), "{text}");
    assert_eq!(value(&s, "greenledger_witness_cosignatures", &[]), 0.0, "{text}");

    // Anything else on the HTTP port is not found.
    let mut conn = tokio::net::TcpStream::connect(http).await.unwrap();
    conn.write_all(b"GET /other HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut raw = String::new();
    conn.read_to_string(&mut raw).await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 404"), "{raw}");

    server.stop().await.expect("both servers stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_http_address_there_is_no_metrics_port() {
    let world = World::new();
    let server = world.serve().await;
    assert_eq!(server.http_addr, None);
    server.stop().await.expect("server stops");
}

/// Log lines written by the global subscriber this test installs.
#[derive(Clone, Default)]
struct Lines(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_is_logged_once_with_method_peer_status_and_duration() {
    let lines = Lines::default();
    let writer = lines.clone();
    tracing_subscriber::fmt()
        .with_env_filter("greenledger::rpc::request_log=info")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let world = World::new();
    let server = world.serve().await;
    let mut client = connect(&format!("http://{}", server.addr)).await.expect("client connects");
    client.get_checkpoint(greenledger::rpc::pb::GetCheckpointRequest {}).await.expect("checkpoint");
    let missing = greenledger::rpc::pb::AccountRequest { account: vec![0; 32] };
    client.get_account(missing).await.expect_err("no such account");
    let size = world.ledger.committed().head.size;
    let mut entries =
        client.get_entries(greenledger::rpc::pb::GetEntriesRequest { start: 0, end: size }).await.unwrap().into_inner();
    while entries.message().await.unwrap().is_some() {}

    // A line is written when the server lets go of the response, which may be just after the
    // client has it: wait for all three (this bounds the wait, it measures nothing).
    let text = || String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while text().lines().filter(|l| l.contains(" rpc ")).count() < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let text = text();
    let line = |method: &str| -> String {
        let found: Vec<&str> =
            text.lines().filter(|l| l.contains(&format!("method=/greenledger.v1.Ledger/{method} "))).collect();
        assert_eq!(found.len(), 1, "one line for {method}:\n{text}");
        found[0].to_string()
    };
    for (method, status, code) in [("GetCheckpoint", "Ok", 0), ("GetAccount", "NotFound", 5), ("GetEntries", "Ok", 0)] {
        let l = line(method);
        assert!(l.contains(" INFO "), "{l}");
        assert!(l.contains("peer=127.0.0.1:"), "{l}");
        assert!(l.contains(&format!("status=\"{status}\" code={code} duration_ms=")), "{l}");
    }
    server.stop().await.expect("server stops");
}
