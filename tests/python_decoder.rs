//! The standard-library Python leaf decoder (`tools/python/greenledger_leaf.py`, written from
//! `docs/encoding.md`) against the Rust codec.
//!
//! - Every leaf of a demo ledger (made by `greenledger demo`) decodes in Python to exactly the
//!   serde JSON of the Rust decoding, with the same leaf hash, command hash and signing bytes.
//! - Every golden vector decodes to its recorded entry and hashes, through stdin and through
//!   `--check-vectors`.
//! - Malformed leaves (bad magic, truncated, trailing bytes, unknown variant, bad bool, bad
//!   Option tag, invalid UTF-8) are refused by both decoders.
//!
//! The tests need `python3` (or the interpreter named by `$GREENLEDGER_PYTHON`); without it they
//! fail with a message saying so.

use greenledger::cli::admin::DataDir;
use greenledger_core::codec;
use greenledger_core::log::merkle;
use greenledger_core::{Command, Entry};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_greenledger");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script() -> PathBuf {
    root().join("tools/python/greenledger_leaf.py")
}

fn vectors_path() -> PathBuf {
    root().join("core/tests/vectors/commands.json")
}

fn python() -> String {
    let python = std::env::var("GREENLEDGER_PYTHON").unwrap_or_else(|_| "python3".into());
    match Process::new(&python).arg("--version").output() {
        Ok(out) if out.status.success() => python,
        Ok(out) => panic!(
            "{python} --version failed ({}): these tests need Python 3; install python3 or set GREENLEDGER_PYTHON",
            out.status
        ),
        Err(e) => panic!(
            "cannot run {python} ({e}): these tests need Python 3 for tools/python/greenledger_leaf.py; \
             install python3 or set GREENLEDGER_PYTHON to an interpreter"
        ),
    }
}

/// Runs the decoder with `args`, feeding `stdin`.
fn decoder(args: &[&str], stdin: &str) -> Output {
    let mut child = Process::new(python())
        .arg(script())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Python decoder");
    let mut input = child.stdin.take().unwrap();
    let text = stdin.to_string();
    // Write from a thread: the decoder prints while it reads, so both pipes must drain.
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

/// Decodes hex leaves with `--hashes --ledger NAME`; returns one JSON value per leaf.
fn decode_all(leaves: &[Vec<u8>], ledger: &str) -> Vec<Value> {
    let input: String = leaves.iter().map(|l| hex::encode(l) + "\n").collect();
    let out = decoder(&["--hashes", "--ledger", ledger], &input);
    assert!(
        out.status.success(),
        "the Python decoder failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let values: Vec<Value> = text
        .lines()
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("output line {}: {e}: {l}", i + 1)))
        .collect();
    assert_eq!(values.len(), leaves.len(), "one output line per leaf");
    values
}

/// Compares the Python decoding of one leaf with the Rust one; returns the entry's kind.
fn check_leaf(what: &str, leaf: &[u8], ledger: &str, py: &Value) -> &'static str {
    let entry: Entry = codec::decode_leaf(leaf).unwrap_or_else(|e| panic!("{what}: Rust decode: {e}"));
    assert_eq!(py["entry"], serde_json::to_value(&entry).unwrap(), "{what}: decoded entry differs");
    assert_eq!(py["leaf_hash"], hex::encode(merkle::leaf_hash(leaf)), "{what}: leaf hash");
    assert_eq!(py["command_hash"], hex::encode(codec::command_hash(&entry.signed)), "{what}: command hash");
    assert_eq!(
        py["signing_bytes"],
        hex::encode(codec::signing_bytes(ledger, &entry.signed.body)),
        "{what}: signing bytes"
    );
    entry.signed.body.command.kind()
}

fn run_demo(dir: &Path) {
    let out = Process::new(BIN).args(["demo", "--data"]).arg(dir).output().expect("run greenledger demo");
    assert!(
        out.status.success(),
        "greenledger demo failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_demo_leaf_decodes_in_python_as_in_rust() {
    python();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    run_demo(&data);
    let ledger = DataDir(data).open().unwrap();
    let size = ledger.size();
    assert!(size > 100, "the demo wrote only {size} entries");
    let leaves: Vec<Vec<u8>> = (0..size).map(|i| ledger.leaf(i).unwrap()).collect();
    let name = ledger.name();
    let decoded = decode_all(&leaves, &name);
    let mut kinds = BTreeSet::new();
    for (i, (leaf, py)) in leaves.iter().zip(&decoded).enumerate() {
        kinds.insert(check_leaf(&format!("entry {i}"), leaf, &name, py));
    }
    // The demo exercises most kinds; every kind is covered by the golden vectors below.
    for k in ["genesis", "register-account", "register-device", "post-generation", "issue", "transfer", "retire"] {
        assert!(kinds.contains(k), "the demo has no {k} entry: {kinds:?}");
    }
    println!("{size} demo leaves decoded identically; kinds: {kinds:?}");
}

#[test]
fn golden_vectors_decode_in_python() {
    let text = std::fs::read_to_string(vectors_path()).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let vectors = file["vectors"].as_array().unwrap();
    let mut kinds = BTreeSet::new();
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let ledger = v["ledger_name"].as_str().unwrap();
        let leaf = hex::decode(v["leaf"].as_str().unwrap()).unwrap();
        let py = decode_all(std::slice::from_ref(&leaf), ledger).remove(0);
        assert_eq!(py["entry"], v["entry"], "{name}: entry differs from the vector file");
        assert_eq!(py["leaf_hash"], v["leaf_hash"], "{name}");
        assert_eq!(py["command_hash"], v["command_hash"], "{name}");
        assert_eq!(py["signing_bytes"], v["signing_bytes"], "{name}");
        kinds.insert(check_leaf(name, &leaf, ledger, &py));
    }
    assert_eq!(kinds.len(), Command::KINDS.len(), "the vectors cover every kind");

    let out = decoder(&["--check-vectors", vectors_path().to_str().unwrap()], "");
    assert!(out.status.success(), "--check-vectors failed: {}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.trim(), format!("OK: {} vectors decode and hash as recorded", vectors.len()));
}

/// `--check-vectors` notices a vector whose recorded entry does not match its leaf.
#[test]
fn python_vector_check_catches_a_wrong_vector() {
    let text = std::fs::read_to_string(vectors_path()).unwrap();
    let mut file: Value = serde_json::from_str(&text).unwrap();
    file["vectors"][0]["entry"]["time"] = Value::from(1u64);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, serde_json::to_string(&file).unwrap()).unwrap();
    let out = decoder(&["--check-vectors", path.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FAILED: genesis: entry differs"), "{err}");
}

fn vector_leaf(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(vectors_path()).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let v = file["vectors"].as_array().unwrap().iter().find(|v| v["name"] == name).unwrap();
    hex::decode(v["leaf"].as_str().unwrap()).unwrap()
}

#[test]
fn malformed_leaves_are_refused_by_both_decoders() {
    let transfer = vector_leaf("transfer");
    let genesis = vector_leaf("genesis-all-options");
    // genesis-all-options: header 56 bytes, name "example.org/ledger" (8 + 18), unit_wh 8,
    // validity_months 4, then the max_transfers tag, its u32, hourly_matching.
    let tag_at = 56 + 8 + 18 + 8 + 4;
    assert_eq!((genesis[tag_at], genesis[tag_at + 5]), (1, 1), "layout of genesis-all-options");
    let edit = |leaf: &[u8], at: usize, bytes: &[u8]| {
        let mut l = leaf.to_vec();
        l[at..at + bytes.len()].copy_from_slice(bytes);
        l
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bad magic", edit(&transfer, 3, &[3]), "magic"),
        ("foreign bytes", b"XXXX".to_vec(), "magic"),
        ("truncated", transfer[..transfer.len() - 1].to_vec(), "truncated"),
        ("magic only", transfer[..4].to_vec(), "truncated"),
        ("trailing byte", [&transfer[..], &[0]].concat(), "trailing"),
        ("unknown command", edit(&transfer, 52, &(Command::KINDS.len() as u32).to_be_bytes()), "unknown variant"),
        ("bad option tag", edit(&genesis, tag_at, &[2]), "Option tag"),
        ("bad bool", edit(&genesis, tag_at + 5, &[2]), "bool"),
        ("invalid UTF-8", edit(&genesis, 64, &[0xff]), "UTF-8"),
        ("string longer than the leaf", edit(&genesis, 56, &[0, 0, 0, 1, 0, 0, 0, 0]), "truncated"),
    ];
    for (what, leaf, expect) in cases {
        assert!(codec::decode_leaf(&leaf).is_err(), "{what}: Rust accepted it");
        let out = decoder(&[], &(hex::encode(&leaf) + "\n"));
        assert_eq!(out.status.code(), Some(1), "{what}: Python exit status");
        assert!(out.stdout.is_empty(), "{what}: Python printed a decoding");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("line 1: ") && err.contains(expect), "{what}: {err}");
    }

    // A good line after a bad one is not decoded: the first failure stops the run, naming its line.
    let input = format!("{}\n\n{}\n", hex::encode(&transfer), hex::encode(&transfer[..10]));
    let out = decoder(&[], &input);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("line 3: truncated"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1, "the good first line was printed");
}

/// Leaves of windowed commands (format 2, `GLE\x02`, the window's end after the nonce) decode in
/// Python as in Rust, with their own signing bytes and command hash: the golden vectors, and
/// leaves a ledger wrote for a windowed and an unwindowed command side by side. A format-2 leaf
/// cut inside the window's end is refused by both.
#[test]
fn windowed_leaves_decode_in_python_as_in_rust() {
    use greenledger::testkit::{hour, post_generation, wind, World, MWH};
    let mut w = World::new();
    let meter = w.meter.clone();
    let windowed = w.sign_valid_for(&meter, 3600, post_generation(wind(), hour(0), MWH));
    let plain = w.sign(&meter, post_generation(wind(), hour(1), MWH));
    let indices: Vec<u64> =
        [windowed, plain].into_iter().map(|c| w.submit_signed(c).expect("accepted").index.0).collect();
    let mut leaves: Vec<Vec<u8>> = indices.iter().map(|&i| w.ledger.leaf(i).unwrap()).collect();
    assert_eq!((&leaves[0][..4], &leaves[1][..4]), (&b"GLE\x02"[..], &b"GLE\x01"[..]));
    leaves.push(vector_leaf("transfer-windowed"));
    leaves.push(vector_leaf("issue-windowed-max"));
    let name = w.name().to_string();
    let decoded = decode_all(&leaves, &name);
    for (i, (leaf, py)) in leaves.iter().zip(&decoded).enumerate() {
        check_leaf(&format!("leaf {i}"), leaf, &name, py);
    }
    assert!(decoded[0]["entry"]["signed"]["body"]["expires"].is_u64());
    assert!(decoded[1]["entry"]["signed"]["body"].get("expires").is_none(), "no window, no member");

    let cut = leaves[2][..56].to_vec();
    assert!(codec::decode_leaf(&cut).is_err(), "Rust accepted a cut leaf");
    let out = decoder(&[], &(hex::encode(&cut) + "\n"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("truncated: CommandBody.expires"), "{err}");
}

/// The types of the second command format: a `Vec` length past the leaf, an unknown `Expiry`
/// or `Channel` variant, and a negative `i32` zone offset read as two's complement.
#[test]
fn second_format_leaves_decode_and_malformed_ones_are_refused() {
    let gec = vector_leaf("genesis-gec");
    // header 56, name (8 + 18), unit_wh 8, zone name (8 + 13 "Asia/Shanghai"), offset_s 4,
    // then the expiry's variant index and months, then the extensions' length.
    let expiry_at = 56 + 8 + 18 + 8 + 8 + 13 + 4;
    assert_eq!(&gec[expiry_at - 4..expiry_at], &28_800i32.to_be_bytes(), "layout of genesis-gec");
    let extensions_at = expiry_at + 8;
    assert_eq!(&gec[extensions_at..extensions_at + 8], &1u64.to_be_bytes(), "one extension");
    let reading = vector_leaf("post-meter-reading");
    let channel_at = 56 + 8 + "IM-WIND-01".len();
    assert_eq!(&reading[channel_at..channel_at + 4], &1u32.to_be_bytes(), "self-use");
    let edit = |leaf: &[u8], at: usize, bytes: &[u8]| {
        let mut l = leaf.to_vec();
        l[at..at + bytes.len()].copy_from_slice(bytes);
        l
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("vec longer than the leaf", edit(&gec, extensions_at, &(1u64 << 40).to_be_bytes()), "truncated"),
        ("unknown expiry", edit(&gec, expiry_at, &3u32.to_be_bytes()), "unknown variant"),
        ("unknown channel", edit(&reading, channel_at, &5u32.to_be_bytes()), "unknown variant"),
    ];
    for (what, leaf, expect) in cases {
        assert!(codec::decode_leaf(&leaf).is_err(), "{what}: Rust accepted it");
        let out = decoder(&[], &(hex::encode(&leaf) + "\n"));
        assert_eq!(out.status.code(), Some(1), "{what}: Python exit status");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("line 1: ") && err.contains(expect), "{what}: {err}");
    }
    let west = vector_leaf("genesis-west-zone-extensions-never");
    let py = decode_all(std::slice::from_ref(&west), "example.org/ledger").remove(0);
    assert_eq!(py["entry"]["signed"]["body"]["command"]["Genesis"]["policy"]["zone"]["offset_s"], -18_000);
}

/// The types of claims and parks: an unknown `Beneficiary`, `Purpose`, `ParkChange` or `Vintage`
/// variant is refused by both decoders, and a park's `Vec` of members longer than the leaf too.
#[test]
fn claim_and_park_leaves_with_unknown_variants_are_refused() {
    let retire = vector_leaf("retire-claimant-re100-cdp");
    // header 56, bundle 8, serials 16: the beneficiary's variant, then the purpose's.
    let beneficiary_at = 56 + 8 + 16;
    assert_eq!(&retire[beneficiary_at..beneficiary_at + 8], &[0u8; 8], "claimant, re100-cdp");
    let leave = vector_leaf("change-park-leave");
    let change_at = 56 + 8 + "CZ-ZERO-CARBON".len();
    assert_eq!(&leave[change_at..change_at + 4], &1u32.to_be_bytes(), "leave");
    let park = vector_leaf("register-park");
    // park (8 + 14), name (8 + 18 bytes of 常州零碳园区), province (8 + 7), since 8.
    let members_at = 56 + 8 + 14 + 8 + 18 + 8 + 7 + 8;
    assert_eq!(&park[members_at..members_at + 8], &2u64.to_be_bytes(), "two members");
    let west = vector_leaf("genesis-west-zone-extensions-never");
    let vintage_at = 220;
    assert_eq!(&west[vintage_at..vintage_at + 8], &[0, 0, 0, 1, 0, 0, 0, 3], "within 3 months");
    let edit = |leaf: &[u8], at: usize, bytes: &[u8]| {
        let mut l = leaf.to_vec();
        l[at..at + bytes.len()].copy_from_slice(bytes);
        l
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("unknown beneficiary", edit(&retire, beneficiary_at, &3u32.to_be_bytes()), "unknown variant"),
        ("unknown purpose", edit(&retire, beneficiary_at + 4, &6u32.to_be_bytes()), "unknown variant"),
        ("unknown park change", edit(&leave, change_at, &2u32.to_be_bytes()), "unknown variant"),
        ("members longer than the leaf", edit(&park, members_at, &(1u64 << 40).to_be_bytes()), "truncated"),
        ("unknown vintage", edit(&west, vintage_at, &3u32.to_be_bytes()), "unknown variant"),
    ];
    for (what, leaf, expect) in cases {
        assert!(codec::decode_leaf(&leaf).is_err(), "{what}: Rust accepted it");
        let out = decoder(&[], &(hex::encode(&leaf) + "\n"));
        assert_eq!(out.status.code(), Some(1), "{what}: Python exit status");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("line 1: ") && err.contains(expect), "{what}: {err}");
    }
}
