//! Meter data import through the real gRPC server: all or nothing by default, good rows only
//! with `--partial`, every rejected row named by its line; 100,000-row files in both modes with
//! exact counts; re-runs recognise the rows already in; an interrupted or killed import resumes.

use greenledger::cli::import::window_file;
use greenledger::cli::import::{import, ReadingsArgs, Report};
use greenledger::cli::Conn;
use greenledger::ledger::{Ledger, ManualClock};
use greenledger::rpc::server::Running;
use greenledger::store::MemStore;
use greenledger::testkit::*;
use greenledger_core::calendar::{civil, unix};
use greenledger_core::command as cmd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

/// Five-minute readings: 100,000 of them span about 347 days.
const STEP: u64 = 300;

fn iso(t: u64) -> String {
    let (y, m, d, h, mi, s) = civil(t);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The same instant written in UTC+8.
fn iso_cst(t: u64) -> String {
    let (y, m, d, h, mi, s) = civil(t + 8 * 3600);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}+08:00")
}

/// Row `n` of a file of five-minute generation readings of WIND-1, its times written in turn in
/// UTC, in UTC+8 and in Unix milliseconds.
fn row(n: u64, wh: &str) -> String {
    let (start, end) = (t0() + n * STEP, t0() + (n + 1) * STEP);
    let (s, e) = match n % 3 {
        0 => (iso(start), iso(end)),
        1 => (iso_cst(start), iso_cst(end)),
        _ => (format!("{}", start * 1000), format!("{}", end * 1000)),
    };
    format!("generation,WIND-1,,{s},{e},{wh}\n")
}

fn csv(rows: impl IntoIterator<Item = String>) -> String {
    let mut s = String::from("kind,subject,consumer,start,end,wh\n");
    s.extend(rows);
    s
}

fn hourly(rows: &[(u64, u64)]) -> String {
    csv(rows.iter().map(|(n, wh)| {
        let iv = hour(*n);
        format!("generation,WIND-1,,{},{},{wh}\n", iso(iv.start.0), iso(iv.end.0))
    }))
}

struct Setup {
    ledger: Arc<Ledger<MemStore>>,
    clock: Arc<ManualClock>,
    server: Running,
    dir: tempfile::TempDir,
}

impl Setup {
    /// A served ledger whose clock is in 2028, so a year of 2026 readings lies in the past.
    async fn new() -> Setup {
        let h = World::new();
        let dir = tempfile::tempdir().unwrap();
        let server = h.serve_for_cli(unix(2028, 1, 1, 0, 0, 0), dir.path(), &[("meter.key", &h.meter)]).await;
        let (ledger, clock) = (h.ledger.clone(), h.clock.clone());
        Setup { ledger, clock, server, dir }
    }

    fn addr(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
        let file = self.dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        file
    }

    fn args(&self, file: &Path, partial: bool) -> ReadingsArgs {
        ReadingsArgs {
            conn: Conn { server: self.addr(), json: false },
            key: self.dir.path().join("meter.key"),
            file: file.to_path_buf(),
            partial,
            valid_for: 3600,
        }
    }

    /// Imports in this process; never interrupted.
    async fn import(&self, name: &str, text: &str, partial: bool) -> Report {
        let file = self.write(name, text);
        import(&self.args(&file, partial), Box::pin(std::future::pending())).await.unwrap()
    }

    fn readings(&self) -> usize {
        self.ledger.readings(&wind(), 0, u64::MAX).unwrap().len()
    }

    /// `greenledger import readings FILE --json [--partial]` as a child process.
    fn spawn_cli(&self, file: &Path, partial: bool) -> std::process::Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_greenledger"));
        cmd.args(["import", "readings", "--json", "--server", &self.addr(), "--key"])
            .arg(self.dir.path().join("meter.key"))
            .arg(file)
            .env_remove("GREENLEDGER_TZ")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if partial {
            cmd.arg("--partial");
        }
        cmd.spawn().unwrap()
    }

    /// Waits until the ledger holds at least `n` entries, or the child has exited.
    fn wait_for_size(&self, n: u64, child: &mut std::process::Child) {
        while self.ledger.size() < n {
            if child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
}

/// The `--json` report of a finished child, and its exit code.
fn json_report(child: std::process::Child) -> (serde_json::Value, Option<i32>) {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}\nstderr: {}", String::from_utf8_lossy(&out.stderr)));
    (v["import"].clone(), out.status.code())
}

fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_all_or_nothing_unless_partial() {
    let s = Setup::new().await;

    // Good file: three hours.
    let r = s.import("good.csv", &hourly(&[(0, 1_000_000), (1, 2_000_000), (2, 3_000_000)]), false).await;
    assert_eq!((r.rows, r.imported, r.already_imported, r.rejected, r.exit_code()), (3, 3, 0, 0, 0));
    assert_eq!(s.readings(), 3);

    // Hour 3 exceeds the 10 MW capacity, hour 4 is fine: all or nothing imports neither.
    let size = s.ledger.size();
    let bad = hourly(&[(3, 10_000_001), (4, 1_000_000)]);
    let r = s.import("bad.csv", &bad, false).await;
    assert_eq!((r.imported, r.rejected, r.exit_code()), (0, 1, 1));
    assert_eq!(r.rejections[0].line, 2);
    assert_eq!(r.rejections[0].rule, Some(2), "{:?}", r.rejections);
    assert!(r.rejections[0].reason.contains("10000001"), "{:?}", r.rejections);
    assert_eq!((s.ledger.size(), s.readings()), (size, 3));

    // A malformed row and a rule refusal are reported together; nothing is imported.
    let both = format!("{}generation,WIND-1,,x,y,1\n", hourly(&[(3, 10_000_001), (4, 1_000_000)]));
    let r = s.import("both.csv", &both, false).await;
    assert_eq!((r.imported, r.rejected, r.exit_code()), (0, 2, 1));
    let lines: Vec<(u64, Option<u32>)> = r.rejections.iter().map(|x| (x.line, x.rule)).collect();
    assert_eq!(lines, vec![(2, Some(2)), (4, None)]);
    assert!(r.rejections[1].reason.contains("\"x\""), "{:?}", r.rejections);
    assert_eq!(s.ledger.size(), size);

    // --partial imports the good row only, and says the other was rejected.
    let r = s.import("bad.csv", &bad, true).await;
    assert_eq!((r.imported, r.rejected, r.exit_code()), (1, 1, 1));
    assert_eq!(s.readings(), 4);

    // The same file again: the good row is recognised, the bad one is still refused.
    let r = s.import("bad.csv", &bad, true).await;
    assert_eq!((r.imported, r.already_imported, r.rejected), (0, 1, 1));
    assert_eq!(s.readings(), 4);
}

/// The rows are signed with a validity window whose end is recorded beside the file: re-runs
/// inside it send identical commands and are recognised; once it has passed, a re-run starts a
/// new window, imports the new rows, and the rows already in are refused by rule 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reruns_inside_the_window_are_recognised_and_later_ones_start_a_new_window() {
    let s = Setup::new().await;
    let start = unix(2028, 1, 1, 0, 0, 0);
    let two = hourly(&[(0, MWH), (1, MWH)]);
    let r = s.import("window.csv", &two, false).await;
    assert_eq!((r.imported, r.valid_until), (2, start + 3600));
    let recorded = std::fs::read_to_string(window_file(&s.dir.path().join("window.csv"))).unwrap();
    assert_eq!(recorded, format!("greenledger import window\n{}\n", start + 3600));

    // Inside the window, also in its last second: the same commands, already imported.
    s.clock.set(start + 3600);
    let r = s.import("window.csv", &two, true).await;
    assert_eq!((r.imported, r.already_imported, r.rejected, r.valid_until), (0, 2, 0, start + 3600));

    // After it: a new window; the new row is imported, the two already in overlap themselves.
    s.clock.set(start + 3601);
    let three = hourly(&[(0, MWH), (1, MWH), (2, MWH)]);
    let r = s.import("window.csv", &three, true).await;
    assert_eq!((r.imported, r.already_imported, r.rejected, r.valid_until), (1, 0, 2, start + 3601 + 3600));
    assert!(r.rejections.iter().all(|x| x.rule == Some(1)), "{:?}", r.rejections);
    assert_eq!(s.readings(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_without_a_zone_are_refused_naming_the_value() {
    let s = Setup::new().await;
    let text = csv([
        row(0, "100"),
        "generation,WIND-1,,2026-01-01T00:05,2026-01-01T00:10,100\n".to_string(),
        "generation,WIND-1,,2026-01-01 00:10,2026-01-01 00:15,100\n".to_string(),
    ]);
    let r = s.import("local.csv", &text, false).await;
    assert_eq!((r.imported, r.rejected), (0, 2));
    assert!(r.rejections[0].reason.contains("\"2026-01-01T00:05\" has no time zone"), "{:?}", r.rejections);
    assert!(r.rejections[1].reason.contains("\"2026-01-01 00:10\" has no time zone"), "{:?}", r.rejections);
    assert_eq!(s.readings(), 0);
}

/// 100,000 rows all or nothing: one bad row (malformed) and one refused row are both reported
/// and nothing is imported; fixed, every row is imported; again, every row is "already imported".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_100k_rows_all_or_nothing_and_recognises_a_rerun() {
    const N: u64 = 100_000;
    let s = Setup::new().await;
    let base = s.ledger.size();
    let broken = csv((0..N).map(|n| match n {
        40_000 => row(n, "12.5"),
        70_000 => row(n, "900000"), // 900 kWh in 5 minutes: over 10 MW
        _ => row(n, "100"),
    }));
    let r = s.import("broken.csv", &broken, false).await;
    assert_eq!((r.rows, r.imported, r.already_imported, r.rejected, r.exit_code()), (N, 0, 0, 2, 1));
    let listed: Vec<(u64, Option<u32>)> = r.rejections.iter().map(|x| (x.line, x.rule)).collect();
    assert_eq!(listed, vec![(40_002, None), (70_002, Some(2))]);
    assert_eq!(s.ledger.size(), base, "nothing committed");

    let good = csv((0..N).map(|n| row(n, "100")));
    let r = s.import("good.csv", &good, false).await;
    assert_eq!((r.rows, r.imported, r.already_imported, r.rejected, r.exit_code()), (N, N, 0, 0, 0));
    assert_eq!(s.readings() as u64, N);
    assert_eq!(s.ledger.size(), base + N);

    let r = s.import("good.csv", &good, false).await;
    assert_eq!((r.rows, r.imported, r.already_imported, r.rejected, r.exit_code()), (N, 0, N, 0, 0));
    assert_eq!(s.ledger.size(), base + N, "a re-run adds nothing");
}

/// 100,000 rows with `--partial` through the command line: Ctrl-C stops it cleanly and the report
/// says exactly what is in; a killed run leaves what it committed; the next run resumes and
/// reports the rows already in; the bad rows are rejected every time, with exit status 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_100k_rows_partially_and_resumes_after_ctrl_c_and_kill() {
    const N: u64 = 100_000;
    const MALFORMED: [u64; 3] = [10, 50_000, 99_999];
    const REFUSED: [u64; 2] = [20, 60_000];
    let s = Setup::new().await;
    let base = s.ledger.size();
    let text = csv((0..N).map(|n| {
        if MALFORMED.contains(&n) {
            row(n, "-1")
        } else if REFUSED.contains(&n) {
            row(n, "900000")
        } else {
            row(n, "100")
        }
    }));
    let file = s.write("big.csv", &text);
    let good = N - MALFORMED.len() as u64 - REFUSED.len() as u64;
    let rejected = (MALFORMED.len() + REFUSED.len()) as u64;
    let count = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));

    // Ctrl-C after about 20,000 rows: the rows sent are answered, the rest are not sent.
    let mut child = s.spawn_cli(&file, true);
    s.wait_for_size(base + 20_000, &mut child);
    signal(&child, "-INT");
    let (r, code) = json_report(child);
    assert_eq!(r["interrupted"], true, "{r}");
    assert_eq!(code, Some(130));
    let first = count(&r, "imported");
    assert_eq!(s.readings() as u64, first, "the report says exactly what is in");
    assert_eq!(first + count(&r, "rejected") + count(&r, "not_sent"), N, "{r}");
    assert!(count(&r, "not_sent") > 0);

    // Killed outright after some more rows: whatever it committed stays.
    let mut child = s.spawn_cli(&file, true);
    s.wait_for_size(base + first + 20_000, &mut child);
    signal(&child, "-KILL");
    let _ = child.wait();
    let second = s.readings() as u64;
    assert!(second >= first + 20_000);

    // The next run recognises every row already in (including any the killed run had in flight)
    // and imports the rest: no row is refused as overlapping one already in.
    let (r, code) = json_report(s.spawn_cli(&file, true));
    assert_eq!(r["interrupted"], false, "{r}");
    let (already, imported) = (count(&r, "already_imported"), count(&r, "imported"));
    assert!(already >= second, "{r}");
    assert_eq!(already + imported, good, "{r}");
    assert_eq!(count(&r, "rejected"), rejected, "{r}");
    assert_eq!(code, Some(1), "rows were rejected");
    let lines: Vec<(u64, bool)> =
        r["rejections"].as_array().unwrap().iter().map(|x| (count(x, "line"), x["rule"].is_u64())).collect();
    assert_eq!(lines, vec![(12, false), (22, true), (50_002, false), (60_002, true), (100_001, false)]);
    assert_eq!(s.readings() as u64, good);
    assert_eq!(s.ledger.size(), base + good);

    // Once more: everything is already in, nothing changes.
    let (r, code) = json_report(s.spawn_cli(&file, true));
    assert_eq!((count(&r, "already_imported"), count(&r, "imported"), count(&r, "rejected")), (good, 0, rejected));
    assert_eq!(code, Some(1));
    assert_eq!(s.ledger.size(), base + good);
}

#[test]
fn atomic_batches_commit_all_or_nothing() {
    let mut h = World::new();
    let before = h.snapshot();
    let m = h.meter.clone();
    let good = h.signed(
        &m,
        greenledger_core::Command::PostGeneration(cmd::PostGeneration {
            device: wind(),
            interval: hour(0),
            energy: greenledger_core::Wh(MWH),
        }),
    );
    let overlapping = h.signed(
        &m,
        greenledger_core::Command::PostGeneration(cmd::PostGeneration {
            device: wind(),
            interval: hour(0),
            energy: greenledger_core::Wh(MWH),
        }),
    );
    let out = h.ledger.check_atomic(vec![good.clone(), overlapping.clone()]).unwrap();
    assert!(out[0].is_ok(), "a dry run answers each command as decided");
    assert!(
        matches!(
            out[1].as_ref().unwrap_err(),
            greenledger::ledger::Refused::Rule(greenledger_core::Refusal::ReadingOverlap { .. })
        ),
        "{:?}",
        out[1]
    );
    assert_eq!(h.snapshot(), before, "a dry run writes nothing");
    let out = h.ledger.submit_atomic(vec![good.clone(), overlapping]).unwrap();
    assert_eq!(out[0].as_ref().unwrap_err(), &greenledger::ledger::Refused::NotApplied);
    assert!(
        matches!(
            out[1].as_ref().unwrap_err(),
            greenledger::ledger::Refused::Rule(greenledger_core::Refusal::ReadingOverlap { .. })
        ),
        "{:?}",
        out[1]
    );
    assert_eq!(h.snapshot(), before);
    let out = h.ledger.check_atomic(vec![good.clone()]).unwrap();
    assert!(out[0].is_ok());
    assert_eq!(h.snapshot(), before);
    let out = h.ledger.submit_atomic(vec![good]).unwrap();
    assert!(out[0].is_ok());
    assert_ne!(h.snapshot(), before);
}
