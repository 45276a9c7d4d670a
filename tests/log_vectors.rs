//! Known-answer tests for the log module, from published vectors in
//! `tests/vectors/` (see `tests/vectors/README.md` for their sources).

use greenledger_core::log::merkle::{self, Hash, MemTree};
use greenledger_core::log::note::{self, Cosigner, NoteSigner, NoteVerifier, SignatureLine};
use greenledger_core::log::{open_checkpoint, sign_checkpoint, Checkpoint};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/{}"), name);
    let data = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&data).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn hash(v: &Value) -> Hash {
    let raw = hex::decode(v.as_str().expect("hex string")).expect("valid hex");
    raw.try_into().expect("32-byte hash")
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().expect("array").iter().map(hash).collect()
}

fn str_field<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("field {k}"))
}

fn rfc6962_tree() -> (Value, MemTree) {
    let v = load("rfc6962.json");
    let mut t = MemTree::new();
    for leaf in v["leaves"].as_array().unwrap() {
        t.push(&hex::decode(leaf.as_str().unwrap()).unwrap());
    }
    (v, t)
}

#[test]
fn rfc6962_roots() {
    let (v, t) = rfc6962_tree();
    let roots = hashes(&v["roots"]);
    assert_eq!(roots.len(), 9);
    assert_eq!(roots[0], merkle::empty_root());
    for (n, want) in roots.iter().enumerate() {
        assert_eq!(&t.root_at(n as u64).unwrap(), want, "root of {n} leaves");
        // Also from a tree built to exactly that size.
        let mut fresh = MemTree::new();
        for leaf in v["leaves"].as_array().unwrap().iter().take(n) {
            fresh.push(&hex::decode(leaf.as_str().unwrap()).unwrap());
        }
        assert_eq!(&fresh.root(), want, "fresh root of {n} leaves");
    }
}

#[test]
fn rfc6962_inclusion_proofs() {
    let (v, t) = rfc6962_tree();
    let roots = hashes(&v["roots"]);
    let leaves = v["leaves"].as_array().unwrap();
    let cases = v["inclusion"].as_array().unwrap();
    assert!(!cases.is_empty());
    for c in cases {
        let index = c["index"].as_u64().unwrap();
        let size = c["size"].as_u64().unwrap();
        let want = hashes(&c["proof"]);
        let got = t.inclusion_proof(index, size).unwrap();
        assert_eq!(got, want, "inclusion proof {index} in {size}");
        let leaf = merkle::leaf_hash(&hex::decode(leaves[index as usize].as_str().unwrap()).unwrap());
        merkle::verify_inclusion(index, size, &leaf, &want, &roots[size as usize]).unwrap();
        let mut bad = want.clone();
        bad[0][0] ^= 1;
        assert!(merkle::verify_inclusion(index, size, &leaf, &bad, &roots[size as usize]).is_err());
    }
}

#[test]
fn rfc6962_consistency_proofs() {
    let (v, t) = rfc6962_tree();
    let roots = hashes(&v["roots"]);
    let cases = v["consistency"].as_array().unwrap();
    assert!(!cases.is_empty());
    for c in cases {
        let first = c["first"].as_u64().unwrap();
        let second = c["second"].as_u64().unwrap();
        let want = hashes(&c["proof"]);
        let got = t.consistency_proof(first, second).unwrap();
        assert_eq!(got, want, "consistency proof {first} -> {second}");
        let (r1, r2) = (&roots[first as usize], &roots[second as usize]);
        merkle::verify_consistency(first, second, r1, r2, &want).unwrap();
        assert!(merkle::verify_consistency(first, second, r2, r1, &want).is_err());
    }
}

#[test]
fn signed_note_reference_vector() {
    let v = load("signed-note.json");
    let (vk, sk) = (str_field(&v, "verifier_key"), str_field(&v, "signer_key"));
    let (text, want_note) = (str_field(&v, "text"), str_field(&v, "note"));

    let signer = NoteSigner::from_signer_key_str(sk).unwrap();
    assert_eq!(signer.to_signer_key_string(), sk);
    assert_eq!(signer.verifier().to_string(), vk);
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_hash(), 0xc74f20a3);

    let note = note::sign(text, &[&signer]).unwrap();
    assert_eq!(note, want_note);

    let verifier = NoteVerifier::parse(vk).unwrap();
    assert_eq!(verifier.to_string(), vk);
    let opened = note::open(want_note, std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(opened.text, text);
    assert_eq!(opened.verified, vec!["PeterNeumann".to_string()]);

    // Any single changed byte (kept valid UTF-8) is rejected: in the text the
    // signature no longer verifies; in the signature line either the syntax,
    // the key ID, the name or the signature breaks.
    let bytes = want_note.as_bytes();
    let mut tried = 0;
    for i in 0..bytes.len() {
        for delta in [1u8, 0x20] {
            let mut b = bytes.to_vec();
            b[i] ^= delta;
            let Ok(s) = String::from_utf8(b) else {
                continue;
            };
            tried += 1;
            assert!(
                note::open(&s, std::slice::from_ref(&verifier)).is_err(),
                "accepted note with byte {i} xor {delta:#x}: {s:?}"
            );
        }
    }
    assert!(tried > bytes.len());
}

#[test]
fn cosignature_round_trip() {
    let log = NoteSigner::new("example.com/greenledger", ed25519_dalek::SigningKey::from_bytes(&[42; 32])).unwrap();
    let witness = Cosigner::new("witness.example/w1", ed25519_dalek::SigningKey::from_bytes(&[43; 32])).unwrap();

    let mut t = MemTree::new();
    for i in 0..11u32 {
        t.push(&i.to_be_bytes());
    }
    let cp =
        Checkpoint { origin: "example.com/greenledger".into(), size: t.size(), root: t.root(), extensions: vec![] };
    let signed = sign_checkpoint(&cp, &log).unwrap();
    let line = witness.cosign(&cp.to_text(), 1_750_000_000).unwrap();
    let cosigned = note::add_signature_lines(&signed, std::slice::from_ref(&line)).unwrap();

    let (got, opened) = open_checkpoint(&cosigned, &log.verifier()).unwrap();
    assert_eq!(got, cp);
    let wv = note::CosignatureVerifier::parse(&witness.verifier().to_string()).unwrap();
    assert_eq!(
        opened.verify_cosignatures(std::slice::from_ref(&wv)).unwrap(),
        vec![("witness.example/w1".to_string(), 1_750_000_000)]
    );

    // Tampering with the cosignature (timestamp or signature) fails.
    let parsed = SignatureLine::parse(&line).unwrap();
    for i in [0usize, 7, 8, 40, 71] {
        let mut bad = parsed.clone();
        bad.sig[i] ^= 1;
        let tampered = note::add_signature_lines(&signed, &[bad.to_line()]).unwrap();
        let (_, opened) = open_checkpoint(&tampered, &log.verifier()).unwrap();
        assert!(opened.verify_cosignatures(std::slice::from_ref(&wv)).is_err(), "byte {i}");
    }
    // A cosignature moved onto a different checkpoint fails.
    let mut cp2 = cp.clone();
    cp2.size -= 1;
    cp2.root = t.root_at(cp2.size).unwrap();
    let signed2 = sign_checkpoint(&cp2, &log).unwrap();
    let moved = note::add_signature_lines(&signed2, &[line]).unwrap();
    let (_, opened) = open_checkpoint(&moved, &log.verifier()).unwrap();
    assert!(opened.verify_cosignatures(&[wv]).is_err());
}
