//! The `greenledger` command line as a user meets it: times with offsets and zones, `--json`
//! refusals on stdout, ids as printed, role errors, transport mistakes, a data directory in use,
//! and output piped into a program that stops reading.

use greenledger::ledger::Ledger;
use greenledger::rpc::server::Running;
use greenledger::store::MemStore;
use greenledger::testkit::*;
use greenledger_core::calendar::unix;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_greenledger");

struct Setup {
    ledger: Arc<Ledger<MemStore>>,
    server: Running,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Setup {
        let h = World::new();
        let dir = tempfile::tempdir().unwrap();
        let server = h
            .serve_for_cli(
                unix(2027, 1, 1, 0, 0, 0),
                dir.path(),
                &[("meter.key", &h.meter), ("generator.key", &h.generator), ("operator.key", &h.operator)],
            )
            .await;
        let ledger = h.ledger.clone();
        Setup { ledger, server, dir }
    }

    fn key(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Runs the command line against this server (`GREENLEDGER_SERVER`) off the async threads.
    async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("GREENLEDGER_SERVER", format!("http://{}", self.server.addr))
            .env_remove("GREENLEDGER_TZ")
            .env_remove("GREENLEDGER_KEY");
        for (k, v) in env {
            cmd.env(k, v);
        }
        tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
    }

    fn readings(&self) -> Vec<(u64, u64, u64)> {
        self.ledger
            .readings(&wind(), 0, u64::MAX)
            .unwrap()
            .iter()
            .map(|r| (r.interval.start.0, r.interval.end.0, r.energy.0))
            .collect()
    }

    async fn post(&self, start: &str, end: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let key = self.key("meter.key");
        let mut args = vec!["post-generation", "--key", &key, "--device", "WIND-1", "--start", start, "--end", end];
        args.extend(["--wh", "1000"]);
        args.extend(extra);
        self.run(&args, env).await
    }
}

fn stdout_json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!("stdout is not one JSON value ({e}): {text}\nstderr: {}", String::from_utf8_lossy(&out.stderr))
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_with_offsets_milliseconds_and_zones() {
    let s = Setup::new().await;
    let h0 = hour(0);
    // 2026-01-01T00:00Z written in UTC+8.
    let out = s.post("2026-01-01T08:00:00+08:00", "2026-01-01T09:00+08:00", &["--json"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let receipt = stdout_json(&out)["receipt"].clone();
    assert_eq!(receipt["duplicate"], false);
    assert!(receipt["index"].is_u64() && receipt["tree_size"].is_u64() && receipt["summary"].is_array());
    assert_eq!(s.readings(), vec![(h0.start.0, h0.end.0, 1000)]);

    // Without a zone: refused, naming the value; nothing posted.
    let out = s.post("2026-01-01T09:00", "2026-01-01T10:00", &["--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let e = stdout_json(&out)["error"].clone();
    assert_eq!(e["code"], "InvalidArgument");
    assert_eq!(e["rule"], serde_json::Value::Null);
    assert!(e["message"].as_str().unwrap().contains("\"2026-01-01T09:00\" has no time zone"), "{e}");
    assert_eq!(s.readings().len(), 1);

    // With --tz, such times are read in that zone, and the command says so.
    let out = s.post("2026-01-01T09:00", "2026-01-01 10:00", &["--tz", "+08:00"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("read in +08:00"), "{}", stderr(&out));
    // GREENLEDGER_TZ does the same with a zone name.
    let out = s.post("2026-01-01T10:00", "2026-01-01T11:00", &[], &[("GREENLEDGER_TZ", "Asia/Shanghai")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // 13 digits are Unix milliseconds.
    let (h3, h4) = (hour(3), hour(4));
    let out = s.post(&(h3.start.0 * 1000).to_string(), &(h4.start.0 * 1000).to_string(), &[], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<(u64, u64)> = s.readings().iter().map(|r| (r.0, r.1)).collect();
    let want: Vec<(u64, u64)> = (0..4).map(|n| (hour(n).start.0, hour(n).end.0)).collect();
    assert_eq!(got, want);

    // Output shows the zone: UTC with a Z.
    let out = s.run(&["show", "device", "WIND-1", "--limit", "1"], &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2026-01-01T00:00:00Z .. 2026-01-01T01:00:00Z"), "{text}");
    assert!(text.contains("4 readings") && text.contains("3 more"), "{text}");
    // A range: readings starting in [01:00, 03:00).
    let out = s
        .run(
            &["show", "device", "WIND-1", "--from", "2026-01-01T09:00+08:00", "--to", "2026-01-01T03:00Z", "--json"],
            &[],
        )
        .await;
    let d = stdout_json(&out);
    assert_eq!(d["readings_total"], 2, "{d}");
    let starts: Vec<u64> =
        d["readings"].as_array().unwrap().iter().map(|r| r["interval"]["start"].as_u64().unwrap()).collect();
    assert_eq!(starts, vec![hour(1).start.0, hour(2).start.0]);
    assert_eq!(d["readings"][0]["interval"]["start_utc"], "2026-01-01T01:00:00Z");
    assert_eq!(
        (d["readings"][0]["issued"].as_bool(), d["readings"][0]["issued_serials"].is_null()),
        (Some(false), true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_json_on_stdout_with_code_and_rule() {
    let s = Setup::new().await;
    let before = s.ledger.size();
    // 20 MWh in one hour from a 10 MW device: rule 2.
    let key = s.key("meter.key");
    let (start, end) = ("2026-01-01T00:00Z", "2026-01-01T01:00Z");
    let args = ["post-generation", "--json", "--key", &key, "--device", "WIND-1", "--start", start, "--end", end];
    let out = s.run(&[&args[..], &["--wh", "20000000"]].concat(), &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let e = stdout_json(&out)["error"].clone();
    assert_eq!(e["rule"], 2, "{e}");
    assert_eq!(e["code"], "FailedPrecondition", "{e}");
    assert!(e["message"].as_str().unwrap().contains("20000000"), "{e}");
    assert!(out.stderr.is_empty(), "nothing on stderr: {}", stderr(&out));
    assert_eq!(s.ledger.size(), before, "nothing changed");

    // A thing that does not exist: NotFound, no rule.
    let out = s.run(&["show", "claim", "C7", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let e = stdout_json(&out)["error"].clone();
    assert_eq!((e["code"].as_str(), e["rule"].is_null()), (Some("NotFound"), true), "{e}");

    // The same refusal as text goes to stderr.
    let plain =
        ["post-generation", "--key", &key, "--device", "WIND-1", "--start", start, "--end", end, "--wh", "20000000"];
    let out = s.run(&plain, &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("rule 2 (no issuance beyond physics)"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_as_printed_roles_listed_and_transport_mistakes_explained() {
    let s = Setup::new().await;
    // Bundle and claim ids are accepted with their printed prefix; a missing one is NotFound.
    let out = s.run(&["show", "bundle", "B1"], &[]).await;
    assert!(stderr(&out).contains("NotFound"), "{}", stderr(&out));
    let out = s.run(&["show", "bundle", "C1"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "a claim id is not a bundle id");
    assert!(stderr(&out).contains("\"C1\" is not a bundle id"), "{}", stderr(&out));

    // Roles: missing, or unknown, lists the valid ones; nothing is registered.
    let before = s.ledger.size();
    let op = s.key("operator.key");
    let acct = "ab".repeat(32);
    let base = ["register-account", "--key", &op, "--account", &acct, "--name", "X"];
    let out = s.run(&base, &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--roles"), "{}", stderr(&out));
    let out = s.run(&[&base[..], &["--roles", "meter"]].concat(), &[]).await;
    let e = stderr(&out);
    assert!(e.contains("\"meter\" is not a role") && e.contains("meter-operator, trading-platform"), "{e}");
    assert_eq!(s.ledger.size(), before);

    // Transport: https against plaintext, and an address without a port.
    let out = s.run(&["show", "checkpoint", "--server", &format!("https://{}", s.server.addr)], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(!e.contains("panicked") && e.contains(&s.server.addr.to_string()), "{e}");
    let out = s.run(&["show", "checkpoint", "--server", "127.0.0.1"], &[]).await;
    assert!(stderr(&out).contains("has no port"), "{}", stderr(&out));

    // Every client command reads GREENLEDGER_SERVER: audit too (it is set by `run`).
    let out = s.run(&["audit"], &[]).await;
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("AUDIT PASSED"), "{text}");
    let out = s.run(&["audit", "--json"], &[]).await;
    let a = stdout_json(&out)["audit"].clone();
    assert_eq!((a["passed"].as_bool(), a["entries"].as_u64()), (Some(true), Some(s.ledger.size())), "{a}");

    // A proof that does not check out: CheckFailed, as JSON on stdout.
    let bogus = s.dir.path().join("bogus.json");
    std::fs::write(&bogus, "{}").unwrap();
    let out = s.run(&["verify", bogus.to_str().unwrap(), "--log-key", "x+00000000+AA", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let e = stdout_json(&out)["error"].clone();
    assert_eq!(e["code"], "CheckFailed", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_the_program_quietly() {
    let s = Setup::new().await;
    let addr = format!("http://{}", s.server.addr);
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .args(["show", "checkpoint", "--server", &addr])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before anything is written
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

/// A second process on a ledger directory in use gets a plain message, not a lock error.
#[test]
fn a_directory_in_use_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let init = Command::new(BIN).args(["init", "--data"]).arg(&dir).output().unwrap();
    assert!(init.status.success(), "{}", stderr(&init));
    let held = greenledger::cli::admin::DataDir(dir.clone()).open().unwrap();
    let out = Command::new(BIN).args(["audit", "--data"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(e.contains("is in use by another process"), "{e}");
    assert!(!e.contains("WouldBlock"), "{e}");
    drop(held);
    // sled's background flusher lets go of the directory's lock a moment after the last handle
    // is dropped; until then the directory is still (correctly) reported in use.
    let mut out = Command::new(BIN).args(["audit", "--data"]).arg(&dir).output().unwrap();
    for _ in 0..50 {
        if out.status.success() || !stderr(&out).contains("is in use by another process") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        out = Command::new(BIN).args(["audit", "--data"]).arg(&dir).output().unwrap();
    }
    assert!(out.status.success(), "{}", stderr(&out));

    // `init` says when it reuses an operator key.
    let again = tmp.path().join("ledger2");
    std::fs::create_dir_all(&again).unwrap();
    std::fs::copy(dir.join("operator.key"), again.join("operator.key")).unwrap();
    let out = Command::new(BIN).args(["init", "--data"]).arg(&again).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("using the existing operator key"));
}

/// A ledger made by `greenledger init` in a directory, served in-process with a manual clock,
/// the cast's key files beside it (the cast's operator founded it).
struct Founded {
    ledger: Arc<Ledger<greenledger::store::SledStore>>,
    server: Running,
    clock: Arc<greenledger::ledger::ManualClock>,
    tmp: tempfile::TempDir,
    cast: Cast,
}

impl Founded {
    /// `greenledger init --data DIR --operator-key operator.key` with `init_args`, then served.
    async fn new(now: u64, init_args: &[&str]) -> Founded {
        let tmp = tempfile::tempdir().unwrap();
        let cast = Cast::new();
        for (name, k) in [
            ("operator.key", &cast.operator),
            ("meter.key", &cast.meter),
            ("platform.key", &cast.platform),
            ("regulator.key", &cast.regulator),
            ("generator.key", &cast.generator),
            ("consumer.key", &cast.consumer),
        ] {
            greenledger::cli::client::write_key(&tmp.path().join(name), k).unwrap();
        }
        let data = tmp.path().join("ledger");
        let op = tmp.path().join("operator.key");
        let mut cmd = Command::new(BIN);
        cmd.args(["init", "--data"]).arg(&data).arg("--operator-key").arg(&op).args(init_args);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "init: {}", stderr(&out));
        let dir = greenledger::cli::admin::DataDir(data);
        let clock = Arc::new(greenledger::ledger::ManualClock::new(now));
        let store = Arc::new(dir.open_store().unwrap());
        let ledger = Arc::new(Ledger::open(store, dir.signer().unwrap(), clock.clone()).unwrap());
        let server = greenledger::rpc::server::spawn(ledger.clone(), clock.clone(), "127.0.0.1:0").await.unwrap();
        Founded { ledger, server, clock, tmp, cast }
    }

    fn key(&self, name: &str) -> String {
        self.tmp.path().join(name).display().to_string()
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("GREENLEDGER_SERVER", format!("http://{}", self.server.addr))
            .env_remove("GREENLEDGER_TZ")
            .env_remove("GREENLEDGER_KEY");
        tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
    }

    /// Runs a command that must succeed and print JSON; returns the JSON.
    async fn ok(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(&[args, &["--json"]].concat()).await;
        assert!(out.status.success(), "{args:?}: {}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        stdout_json(&out)
    }

    /// Runs a command that must be refused by rule `rule`; returns the error's message.
    async fn refused(&self, args: &[&str], rule: u64) -> String {
        let before = self.ledger.size();
        let out = self.run(&[args, &["--json"]].concat()).await;
        assert_eq!(out.status.code(), Some(1), "{args:?} was not refused: {}", String::from_utf8_lossy(&out.stdout));
        let e = stdout_json(&out)["error"].clone();
        assert_eq!(e["rule"], rule, "{args:?}: {e}");
        assert_eq!(self.ledger.size(), before, "a refusal added an entry");
        e["message"].as_str().unwrap().to_string()
    }

    /// The operator registers the cast's members (as the testkit names them) and `WIND-1`.
    async fn register_cast(&self) {
        let op = self.key("operator.key");
        for (k, name, role) in self.cast.members() {
            let id = k.account().to_hex();
            self.ok(&["register-account", "--key", &op, "--account", &id, "--name", name, "--roles", role.name()])
                .await;
        }
        let gen = self.key("generator.key");
        let device = [
            "register-device",
            "--key",
            &op,
            "--device",
            "WIND-1",
            "--owner",
            &gen,
            "--technology",
            "wind",
            "--capacity-w",
            "10000000",
            "--region",
            "CN-NM",
            "--commissioned",
            "2020-01-01",
        ];
        self.ok(&device).await;
    }
}

/// A GEC ledger from `init --preset gec`: readings on channels, the operator's monthly
/// issuance (the owner may not issue), classes by channel, a correction after the window that
/// only a regulator's co-signature lets through, and an amendment built on the ledger's policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gec_ledger_from_init_preset_through_monthly_issuance_and_corrections() {
    let name = "registry.example.cn/gec";
    let f = Founded::new(unix(2027, 1, 10, 0, 0, 0), &["--preset", "gec", "--name", name]).await;
    let policy = f.ledger.meta().unwrap().policy;
    assert_eq!(policy, greenledger_core::Policy::preset("gec", name).unwrap());
    f.register_cast().await;
    let (meter, gen, op, reg) =
        (f.key("meter.key"), f.key("generator.key"), f.key("operator.key"), f.key("regulator.key"));

    // November 2026, Beijing time: the first hour, exported and used on site.
    let hour = ["--device", "WIND-1", "--from", "2026-11-01T00:00+08:00", "--to", "2026-11-01T01:00+08:00"];
    let r = f
        .ok(&[&["post-reading", "--key", &meter, "--channel", "export"][..], &hour, &["--wh", "5400000"]].concat())
        .await;
    assert_eq!(r["receipt"]["effects"][0]["kind"], "generation", "{r}");
    let r = f
        .ok(&[&["post-reading", "--key", &meter, "--channel", "self-use"][..], &hour, &["--wh", "2000000"]].concat())
        .await;
    let e = &r["receipt"]["effects"][0];
    assert_eq!(
        (e["kind"].as_str(), e["channel"].as_str(), e["energy_wh"].as_u64()),
        (Some("metered"), Some("self-use"), Some(2_000_000)),
        "{r}"
    );
    // A bad channel is refused by the command line, naming the channels.
    let out =
        f.run(&[&["post-reading", "--key", &meter, "--channel", "import"][..], &hour, &["--wh", "1"]].concat()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"import\" is not a channel; use one of export, self-use"), "{}", stderr(&out));

    // The owner may not issue under GEC (rule 13); the issuing body issues the month.
    let issue = ["issue", "--key", &gen, "--device", "WIND-1", "--start", hour[3], "--end", hour[5]];
    f.refused(&issue, 13).await;
    let r = f.ok(&["issue-month", "--key", &op, "--device", "WIND-1", "--month", "2026-11"]).await;
    let bundles: Vec<&serde_json::Value> =
        r["receipt"]["effects"].as_array().unwrap().iter().filter(|e| e["kind"] == "bundle").collect();
    assert_eq!(bundles.len(), 2, "{r}");
    let out = f.run(&["issue-month", "--key", &op, "--device", "WIND-1", "--month", "2026-13"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    let d = f.ok(&["show", "device", "WIND-1"]).await;
    let classes: Vec<(&str, &str)> = d["readings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["channel"].as_str().unwrap(), r["class"].as_str().unwrap()))
        .collect();
    assert_eq!(classes, vec![("export", "tradable"), ("self-use", "non-tradable")], "{d}");

    // In January the meter operator corrects alone: upward after issuance, a supplement.
    let up = [
        &["correct-reading", "--key", &meter, "--channel", "self-use"][..],
        &hour,
        &["--wh", "3000000", "--reason", "late data"],
    ]
    .concat();
    let r = f.ok(&up).await;
    let effects = r["receipt"]["effects"].as_array().unwrap();
    assert!(effects.iter().any(|e| e["kind"] == "corrected" && e["approver"].is_null()), "{r}");
    assert!(effects.iter().any(|e| e["kind"] == "bundle"), "a supplementary issue: {r}");

    // April 2027 is past the window of November's readings: the meter operator alone is refused
    // (rule 12); with the regulator's co-signature the correction goes through.
    f.clock.set(unix(2027, 4, 10, 0, 0, 0));
    let correct = [
        &["correct-reading", "--key", &meter, "--channel", "export"][..],
        &hour,
        &["--wh", "5000000", "--reason", "CT ratio"],
    ]
    .concat();
    let message = f.refused(&correct, 12).await;
    assert!(message.contains("WIND-1"), "{message}");
    let r = f.ok(&[&correct[..], &["--approval-key", &reg]].concat()).await;
    let c = r["receipt"]["effects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "corrected")
        .expect("corrected")
        .clone();
    assert_eq!(
        (c["old_wh"].as_u64(), c["new_wh"].as_u64(), c["channel"].as_str()),
        (Some(5_400_000), Some(5_000_000), Some("export")),
        "{c}"
    );
    let d = f.ok(&["show", "device", "WIND-1"]).await;
    let trail = &d["readings"][0]["corrections"][0];
    assert_eq!(trail["approver"], f.cast.regulator.account().to_hex(), "{d}");
    assert_eq!(
        (trail["old_wh"].as_u64(), trail["new_wh"].as_u64(), trail["reason"].as_str()),
        (Some(5_400_000), Some(5_000_000), Some("CT ratio"))
    );
    let out = f.run(&["show", "device", "WIND-1"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("self-use") && text.contains("non-tradable") && text.contains("corrected at entry"),
        "{text}"
    );
    assert!(text.contains(&format!("approved by {}", f.cast.regulator.account().short())), "{text}");

    // The regulator amends the policy from May on: the ledger's policy with two transfers.
    let amend = [
        "amend-policy",
        "--key",
        &reg,
        "--effective",
        "2027-05-01T00:00+08:00",
        "--max-transfers",
        "2",
        "--reason",
        "two sales",
    ];
    let r = f.ok(&amend).await;
    assert_eq!(r["receipt"]["effects"][0]["kind"], "amended", "{r}");
    let meta = f.ledger.meta().unwrap();
    let amended = &meta.amendments.last().expect("an amendment").policy;
    assert_eq!(*amended, greenledger_core::Policy { max_transfers: Some(2), ..policy });
    // Amendments never reach back; from a preset they keep the ledger's name and unit.
    let back =
        ["amend-policy", "--key", &reg, "--effective", "2027-01-01T00:00Z", "--preset", "eecs-go", "--reason", "x"];
    let out = f.run(&[&back[..], &["--json"]].concat()).await;
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let e = stdout_json(&out)["error"].clone();
    assert!(e["message"].as_str().unwrap().contains("never reach back"), "{e}");
    let later = [
        "amend-policy",
        "--key",
        &reg,
        "--effective",
        "2027-06-01T00:00Z",
        "--preset",
        "eecs-go",
        "--reason",
        "GO rules",
    ];
    f.ok(&later).await;
    let meta = f.ledger.meta().unwrap();
    assert_eq!(meta.amendments.last().unwrap().policy, greenledger_core::Policy::preset("eecs-go", name).unwrap());
}

/// `init` overrides a preset's values, and refuses a preset it does not know.
#[test]
fn init_presets_take_overrides() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let out = Command::new(BIN)
        .args(["init", "--preset", "energytag", "--max-transfers", "1", "--hourly-matching", "false", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let policy = greenledger::cli::admin::DataDir(dir).open().unwrap().meta().unwrap().policy;
    let want = greenledger_core::Policy::preset("energytag", "greenledger.local/ledger").unwrap();
    assert_eq!(policy, greenledger_core::Policy { max_transfers: Some(1), hourly_matching: false, ..want });
    let out =
        Command::new(BIN).args(["init", "--preset", "rec"]).arg("--data").arg(tmp.path().join("m")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("gec, eecs-go, i-rec, energytag"), "{}", stderr(&out));
}

/// A settlement over a period with price: the buyer gets the certificates with the energy; a
/// distributed-generation trade needs the buyer's metered consumption (rule 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_month_with_price_and_a_distributed_trade_refused_without_metering() {
    let f = Founded::new(unix(2027, 1, 10, 0, 0, 0), &["--preset", "eecs-go"]).await;
    f.register_cast().await;
    let (meter, platform, consumer) = (f.key("meter.key"), f.key("platform.key"), f.key("consumer.key"));
    for h in 0..3 {
        let (from, to) = (format!("2026-12-01T{h:02}:00Z"), format!("2026-12-01T{:02}:00Z", h + 1));
        let post = [
            "post-reading",
            "--key",
            &meter,
            "--device",
            "WIND-1",
            "--channel",
            "export",
            "--from",
            &from,
            "--to",
            &to,
        ];
        f.ok(&[&post[..], &["--wh", "1500000"]].concat()).await;
    }
    let settle = [
        "settle-month",
        "--key",
        &platform,
        "--device",
        "WIND-1",
        "--from",
        "2026-12-01T00:00Z",
        "--to",
        "2026-12-02T00:00Z",
        "--buyer",
        &consumer,
        "--wh",
        "2000000",
        "--price-fen-per-mwh",
        "38500",
    ];
    let r = f.ok(&settle).await;
    let s =
        r["receipt"]["effects"].as_array().unwrap().iter().find(|e| e["kind"] == "settled").expect("settled").clone();
    assert_eq!((s["price_fen_per_mwh"].as_u64(), s["energy_wh"].as_u64()), (Some(38_500), Some(2_000_000)), "{s}");
    assert_eq!(
        (s["origin"].as_str(), s["account"].as_str()),
        (Some("green-power-trade"), Some(&*f.cast.consumer.account().to_hex()))
    );
    assert!(s.get("network_charge_fen_per_mwh").is_none(), "{s}");

    let distributed = [&settle[..], &["--network-charge-fen-per-mwh", "5000"]].concat();
    let message = f.refused(&distributed, 8).await;
    assert!(message.contains("2000000") || message.contains("2 MWh") || message.contains("metered"), "{message}");
}

/// Claims from the command line: `retire` for the claimant, for another account and for a
/// product batch, with every documented purpose and with one of the claimant's own; `show claim`
/// reports whose consumption caps each; bad combinations of flags are refused before anything
/// is signed; a claim across the reporting-year boundary is refused by rule 8.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retire_for_each_beneficiary_and_purpose_and_a_claim_across_the_year_refused() {
    let f = Founded::new(unix(2027, 1, 10, 0, 0, 0), &["--preset", "eecs-go", "--vintage", "within-months:3"]).await;
    let policy = f.ledger.meta().unwrap().policy;
    assert_eq!((policy.reporting_start_month, policy.vintage), (1, greenledger_core::policy::Vintage::WithinMonths(3)));
    f.register_cast().await;
    let (meter, gen, consumer) = (f.key("meter.key"), f.key("generator.key"), f.key("consumer.key"));
    let (me, other) = (f.cast.consumer.account().to_hex(), f.cast.consumer2.account().to_hex());

    // 8 MWh produced in the last hour of 2026, issued and transferred to the consumer.
    let (h22, h23, h24, h25) = ("2026-12-31T22:00Z", "2026-12-31T23:00Z", "2027-01-01T00:00Z", "2027-01-01T01:00Z");
    let post =
        ["post-reading", "--key", &meter, "--device", "WIND-1", "--channel", "export", "--from", h22, "--to", h23];
    f.ok(&[&post[..], &["--wh", "8000000"]].concat()).await;
    let r = f.ok(&["issue", "--key", &gen, "--device", "WIND-1", "--start", h22, "--end", h23]).await;
    let bundle = r["receipt"]["effects"].as_array().unwrap().iter().find(|e| e["kind"] == "bundle").expect("a bundle")
        ["bundle"]
        .to_string();
    f.ok(&["transfer", "--key", &gen, "--bundle", &bundle, "--to", &consumer]).await;
    // Consumption: the consumer's hours tile 22:00 to 01:00; the other account's 22:00 to 23:00.
    for (account, from, to, wh) in [
        (&me, h22, h23, "3000000"),
        (&me, h23, h24, "3000000"),
        (&me, h24, h25, "3000000"),
        (&other, h22, h23, "1000000"),
    ] {
        let args = ["post-consumption", "--key", &meter, "--account", account, "--start", from, "--end", to];
        f.ok(&[&args[..], &["--wh", wh]].concat()).await;
    }

    // One certificate at a time, from the consumer's active bundle.
    let retire = |extra: &'static [&'static str], from: &'static str, to: &'static str| {
        let (f, consumer, other) = (&f, consumer.clone(), other.clone());
        async move {
            let h = f.ok(&["show", "holdings", &consumer]).await;
            let active = h["bundles"].as_array().unwrap().iter().find(|b| b["state"] == "active").expect("active")
                ["id"]
                .to_string();
            let mut args: Vec<String> = ["retire", "--key", &consumer, "--bundle", &active, "--count", "1"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            args.extend(extra.iter().map(|s| if *s == "OTHER" { other.clone() } else { s.to_string() }));
            args.extend(["--start", from, "--end", to].map(String::from));
            args
        }
    };
    // Flags, consumption from and to, the beneficiary as shown, the purpose, the capped account.
    type Case<'a> = (&'static [&'static str], &'static str, &'static str, serde_json::Value, &'static str, &'a str);
    let cases: [Case; 6] = [
        (&["--purpose", "re100-cdp"], h22, h23, serde_json::json!({"kind": "claimant"}), "re100-cdp", &me),
        (
            &["--for-account", "OTHER", "--purpose", "energy-deduction"],
            h22,
            h23,
            serde_json::json!({"kind": "account", "account": other}),
            "energy-deduction",
            &other,
        ),
        (
            &[
                "--product",
                "LFP cell 280Ah",
                "--quantity",
                "12000",
                "--unit",
                "cells",
                "--purpose",
                "product-footprint",
            ],
            h22,
            h24,
            serde_json::json!({"kind": "product", "product": "LFP cell 280Ah", "quantity": 12000, "unit": "cells"}),
            "product-footprint",
            &me,
        ),
        (&["--purpose", "renewable-quota"], h23, h24, serde_json::json!({"kind": "claimant"}), "renewable-quota", &me),
        (
            &["--product", "aluminium ingot", "--quantity", "500", "--unit", "t", "--purpose", "cbam"],
            h23,
            h24,
            serde_json::json!({"kind": "product", "product": "aluminium ingot", "quantity": 500, "unit": "t"}),
            "cbam",
            &me,
        ),
        (
            &["--purpose", "other", "--purpose-text", "green bond allocation report"],
            h22,
            h23,
            serde_json::json!({"kind": "claimant"}),
            "other",
            &me,
        ),
    ];
    for (extra, from, to, beneficiary, purpose, capped) in cases {
        let args = retire(extra, from, to).await;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = f.ok(&args).await;
        let claim = r["receipt"]["effects"].as_array().unwrap().iter().find(|e| e["kind"] == "claim").expect("claim")
            ["claim"]
            .to_string();
        let c = f.ok(&["show", "claim", &claim]).await;
        assert_eq!(c["beneficiary_spec"], beneficiary, "{c}");
        assert_eq!((c["purpose_code"].as_str(), c["capped"].as_str()), (Some(purpose), Some(capped)), "{c}");
        assert_eq!((c["claimant"].as_str(), c["origin"].as_str()), (Some(&*me), Some("issued")), "{c}");
        assert_eq!((c["class"].as_str(), c["channel"].as_str()), (Some("tradable"), Some("export")), "{c}");
        if purpose == "other" {
            assert_eq!(c["purpose_text"], "green bond allocation report", "{c}");
            assert_eq!(c["purpose"], "other: green bond allocation report", "{c}");
            let out = f.run(&["show", "claim", &claim]).await;
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("purpose: other: green bond allocation report [other]"), "{text}");
            assert!(text.contains(&format!("capped by account {me}")), "{text}");
            assert!(text.contains("issued, tradable, channel export"), "{text}");
        }
    }
    // The other account's hour is used up by the claim made for it.
    let args = retire(&["--for-account", "OTHER", "--purpose", "cbam"], h22, h23).await;
    let message = f.refused(&args.iter().map(String::as_str).collect::<Vec<_>>(), 8).await;
    assert!(message.contains("rule 8"), "{message}");

    // Bad combinations of flags: refused by the command line, nothing signed.
    let before = f.ledger.size();
    for (extra, says) in [
        (
            &["--for-account", "OTHER", "--product", "x", "--quantity", "1", "--unit", "t", "--purpose", "cbam"][..],
            "not both",
        ),
        (
            &["--product", "x", "--unit", "t", "--purpose", "cbam"][..],
            "needs all of --product NAME --quantity N --unit U",
        ),
        (&["--purpose", "other"][..], "--purpose other needs --purpose-text"),
        (&["--purpose", "cbam", "--purpose-text", "x"][..], "goes only with --purpose other"),
        (&["--purpose", "scope2"][..], "\"scope2\" is not a purpose; use one of re100-cdp, energy-deduction"),
    ] {
        let args = retire(extra, h23, h24).await;
        let out = f.run(&[&args.iter().map(String::as_str).collect::<Vec<_>>()[..], &["--json"]].concat()).await;
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {}", String::from_utf8_lossy(&out.stdout));
        let e = stdout_json(&out)["error"].clone();
        assert_eq!(e["code"], "InvalidArgument", "{e}");
        assert!(e["message"].as_str().unwrap().contains(says), "{extra:?}: {e}");
    }
    assert_eq!(f.ledger.size(), before, "nothing was submitted");

    // 23:00 to 01:00 runs past the end of the 2026 reporting year: rule 8, naming it.
    let args = retire(&["--purpose", "re100-cdp"], h23, h25).await;
    let message = f.refused(&args.iter().map(String::as_str).collect::<Vec<_>>(), 8).await;
    assert!(message.contains("inside one reporting period") && message.contains("2026"), "{message}");
}

/// Parks from the command line: `register-park` with members, `park-join`, `park-leave`, and
/// `show park` / `show parks` with every membership and its dates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_park_join_leave_and_show_park() {
    let f = Founded::new(unix(2027, 1, 10, 0, 0, 0), &["--preset", "gec"]).await;
    f.register_cast().await;
    let (op, consumer) = (f.key("operator.key"), f.key("consumer.key"));
    let (me, other) = (f.cast.consumer.account().to_hex(), f.cast.consumer2.account().to_hex());
    let out = f.run(&["show", "parks"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("no parks registered"));
    let register = [
        "register-park",
        "--key",
        &op,
        "--park",
        "CZ-ZERO-CARBON",
        "--name",
        "常州零碳园区",
        "--province",
        "Jiangsu",
        "--since",
        "2026-12-01T00:00+08:00",
        "--member",
    ];
    let member = format!("{consumer}=Jiangsu");
    f.ok(&[&register[..], &[member.as_str()]].concat()).await;
    let join = ["park-join", "--key", &op, "--park", "CZ-ZERO-CARBON", "--account", &other, "--province", "Zhejiang"];
    f.ok(&[&join[..], &["--from", "2026-12-15T00:00Z"]].concat()).await;
    f.ok(&["park-leave", "--key", &op, "--park", "CZ-ZERO-CARBON", "--account", &other, "--at", "2027-01-01T00:00Z"])
        .await;

    let p = f.ok(&["show", "park", "CZ-ZERO-CARBON"]).await;
    assert_eq!((p["name"].as_str(), p["province"].as_str()), (Some("常州零碳园区"), Some("Jiangsu")), "{p}");
    let members: Vec<(&str, &str, &str, Option<&str>)> = p["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["account"].as_str().unwrap(),
                m["province"].as_str().unwrap(),
                m["from_utc"].as_str().unwrap(),
                m["until_utc"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        members,
        vec![
            (&*me, "Jiangsu", "2026-11-30T16:00:00Z", None),
            (&*other, "Zhejiang", "2026-12-15T00:00:00Z", Some("2027-01-01T00:00:00Z"))
        ],
        "{p}"
    );
    assert_eq!(p["changes"].as_array().unwrap().len(), 2, "{p}");
    let out = f.run(&["show", "park", "CZ-ZERO-CARBON"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("park CZ-ZERO-CARBON (常州零碳园区, Jiangsu)") && text.contains("1 member now"), "{text}");
    assert!(text.contains("until 2027-01-01T00:00:00Z") && text.contains("still a member"), "{text}");
    let all = f.ok(&["show", "parks"]).await;
    assert_eq!(all["parks"][0], p);

    // A member twice at once, and a malformed member: refused.
    let before = f.ledger.size();
    let out = f.run(&[&join[..], &["--from", "2026-12-20T00:00Z", "--json"]].concat()).await;
    assert_eq!(out.status.code(), Some(1));
    let e = stdout_json(&out)["error"].clone();
    assert_eq!((e["code"].as_str(), e["rule"].is_null()), (Some("FailedPrecondition"), true), "{e}");
    assert!(e["message"].as_str().unwrap().contains("is a member from"), "{e}");
    assert_eq!(f.ledger.size(), before);
    let out = f.run(&[&register[..], &["Jiangsu"]].concat()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("write ACCOUNT=PROVINCE"), "{}", stderr(&out));
    let out = f.run(&["show", "park", "NOWHERE", "--json"]).await;
    assert_eq!(stdout_json(&out)["error"]["code"], "NotFound");
}

/// `init` sets the reporting year and the vintage rule, and refuses values outside them.
#[test]
fn init_takes_the_reporting_year_and_vintage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    let out = Command::new(BIN)
        .args(["init", "--preset", "gec", "--reporting-start-month", "4", "--vintage", "any", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("reporting years from month 4, vintage any"));
    let policy = greenledger::cli::admin::DataDir(dir).open().unwrap().meta().unwrap().policy;
    assert_eq!((policy.reporting_start_month, policy.vintage), (4, greenledger_core::policy::Vintage::Any));
    for (args, says) in [
        (["--reporting-start-month", "13"], "13 is not in 1..=12"),
        (["--vintage", "within-months:x"], "is not a vintage rule: write same-period, within-months:N"),
    ] {
        let out = Command::new(BIN).arg("init").args(args).arg("--data").arg(tmp.path().join("m")).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}
