//! The README's walk-through, run literally: every `greenledger` line between each
//! `<!-- walkthrough` and `<!-- /walkthrough -->` marker pair, through `sh`, with the built binary
//! first on the PATH, in one empty directory. Two changes: `greenledger serve` gets a free port
//! (`--addr`) and the other commands find it through `GREENLEDGER_SERVER`, so the test does not
//! need port 50051; and the server is stopped before the first line that reads the demo
//! directory itself (`--data greenledger-demo`), as a reader following the README would.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `greenledger` lines of every code block between walkthrough markers, in order.
fn walkthrough() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut lines = Vec::new();
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("<!-- walkthrough") {
        let end = rest[start..].find("<!-- /walkthrough -->").expect("walkthrough end marker") + start;
        let mut in_block = false;
        for line in rest[start..end].lines() {
            if line.starts_with("```") {
                in_block = !in_block;
            } else if in_block && line.starts_with("greenledger ") {
                lines.push(line.to_string());
            }
        }
        rest = &rest[end..];
    }
    lines
}

fn sh(dir: &Path, path: &str, server: &str, line: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", path)
        .env("GREENLEDGER_SERVER", server)
        .env_remove("GREENLEDGER_TZ")
        .env_remove("GREENLEDGER_KEY")
        .output()
        .unwrap()
}

#[test]
fn the_readme_walkthrough_works_as_written() {
    let lines = walkthrough();
    assert!(lines.len() >= 5, "{lines:?}");
    assert!(lines[0].starts_with("greenledger demo "), "{lines:?}");
    let tmp = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_greenledger")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = format!("http://{addr}");
    let mut serving: Option<std::process::Child> = None;
    let mut served = false;
    for line in &lines {
        if line.starts_with("greenledger serve ") {
            let child = Command::new("sh")
                .arg("-c")
                .arg(format!("exec {line} --addr {addr}"))
                .current_dir(tmp.path())
                .env("PATH", &path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            serving = Some(child);
            let deadline = Instant::now() + Duration::from_secs(60);
            while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
                assert!(Instant::now() < deadline, "`{line}` did not start serving");
                std::thread::sleep(Duration::from_millis(20));
            }
            continue;
        }
        if line.contains("--data greenledger-demo") {
            // Reading the directory directly needs the server stopped (the README says so).
            if let Some(mut child) = serving.take() {
                child.kill().unwrap();
                child.wait().unwrap();
                served = true;
            }
        }
        let out = sh(tmp.path(), &path, &server, line);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "`{line}` failed:\n{stdout}\n{stderr}");
        assert!(line.contains(" > ") || !stdout.trim().is_empty(), "`{line}` printed nothing");
        assert!(!stderr.contains("note: no consumption"), "`{line}`: {stderr}");
        if line.contains("show claim C1") {
            assert!(stdout.contains("claim C1"), "{stdout}");
        }
        if line.starts_with("greenledger verify ") {
            assert!(stdout.starts_with("VERIFIED"), "{stdout}");
        }
        if line.starts_with("greenledger audit") {
            assert!(stdout.starts_with("AUDIT PASSED"), "{stdout}");
        }
        if line.starts_with("greenledger report consumption") {
            assert!(stdout.contains("totals"), "{stdout}");
        }
    }
    if let Some(mut child) = serving.take() {
        child.kill().unwrap();
        child.wait().unwrap();
        served = true;
    }
    assert!(served, "the walkthrough serves the demo ledger");
    let page = std::fs::read_to_string(tmp.path().join("park.html")).unwrap();
    assert!(page.contains("<html") || page.contains("<!DOCTYPE"), "{page}");
}
