use super::*;

fn signer(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

fn cosigner(name: &str, seed: u8) -> Cosigner {
    Cosigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

#[test]
fn names() {
    for ok in ["a", "example.com/log", "ünïcode/ok", "x-y_z"] {
        assert!(is_valid_name(ok), "{ok}");
    }
    for bad in ["", "a b", "a+b", "a\tb", "a\u{a0}b", "a\u{2003}b", "a\u{1}b", "a\nb"] {
        assert!(!is_valid_name(bad), "{bad:?}");
        assert!(NoteSigner::new(bad, SigningKey::from_bytes(&[1; 32])).is_err());
    }
}

#[test]
fn key_strings_round_trip() {
    let s = signer("example.com/log", 7);
    let sk = s.to_signer_key_string();
    assert!(sk.starts_with("PRIVATE+KEY+example.com/log+"));
    let s2 = NoteSigner::from_signer_key_str(&sk).unwrap();
    assert_eq!(s2.to_signer_key_string(), sk);
    let v = s.verifier();
    let vs = v.to_string();
    assert_eq!(NoteVerifier::parse(&vs).unwrap(), v);
    assert_eq!(vs.parse::<NoteVerifier>().unwrap(), v);
    // Debug never shows the secret.
    assert!(!format!("{s:?}").contains(&sk[sk.rfind('+').unwrap() + 1..]));

    let c = cosigner("witness.example/w1", 9);
    let ck = c.to_signer_key_string();
    assert_eq!(Cosigner::from_signer_key_str(&ck).unwrap().key_hash(), c.key_hash());
    let cv = c.verifier();
    assert_eq!(CosignatureVerifier::parse(&cv.to_string()).unwrap(), cv);
    // Type bytes keep the two kinds apart.
    assert!(NoteVerifier::parse(&cv.to_string()).is_err());
    assert!(CosignatureVerifier::parse(&vs).is_err());
    assert!(NoteSigner::from_signer_key_str(&ck).is_err());
    assert!(Cosigner::from_signer_key_str(&sk).is_err());
    // Same key, different type byte, different key ID.
    let same = cosigner("example.com/log", 7);
    assert_ne!(same.key_hash(), s.key_hash());
}

#[test]
fn bad_key_strings() {
    let v = signer("n", 3).verifier().to_string();
    let (name, rest) = v.split_once('+').unwrap();
    let (hash, key) = rest.split_once('+').unwrap();
    let bad_hash = format!("{name}+{:08x}+{key}", parse_hex_hash(hash).unwrap() ^ 1);
    assert!(matches!(NoteVerifier::parse(&bad_hash), Err(NoteError::KeyHashMismatch { .. })));
    for bad in [
        String::new(),
        "n".to_string(),
        format!("n+{hash}"),
        format!("+{hash}+{key}"),
        format!("n+{}+{key}", &hash[..7]),
        format!("n+{hash}+{}", &key[..key.len() - 1]),
        format!("n+{hash}+{key}="),
        format!("n+{hash}+{}", B64.encode([1u8; 32])),
        format!("n+{hash}+{}", B64.encode([[1u8].as_slice(), &[0u8; 32]].concat())),
    ] {
        assert!(NoteVerifier::parse(&bad).is_err(), "{bad:?}");
    }
    let sk = signer("n", 3).to_signer_key_string();
    let e = NoteSigner::from_signer_key_str(&sk[8..]).unwrap_err();
    assert!(!e.to_string().contains(&sk[20..]));
}

#[test]
fn sign_and_open() {
    let a = signer("a.example/log", 1);
    let b = signer("b.example/log", 2);
    let text = "hello\n\nworld\n";
    let note = sign(text, &[&a, &b]).unwrap();
    let opened = open(&note, &[b.verifier()]).unwrap();
    assert_eq!(opened.text, text);
    assert_eq!(opened.verified, vec!["b.example/log".to_string()]);
    assert_eq!(opened.signatures.len(), 2);
    assert_eq!(opened.unverified(&[b.verifier()]).count(), 1);
    let both = open(&note, &[a.verifier(), b.verifier()]).unwrap();
    assert_eq!(both.verified.len(), 2);

    let c = signer("c.example/log", 3);
    assert!(matches!(open(&note, &[c.verifier()]), Err(NoteError::NoKnownSignature { .. })));
    // Same name, different key: unknown, ignored.
    let a2 = signer("a.example/log", 4);
    assert!(matches!(open(&note, &[a2.verifier()]), Err(NoteError::NoKnownSignature { .. })));
    assert_eq!(open(&note, &[a2.verifier(), a.verifier()]).unwrap().verified.len(), 1);
}

#[test]
fn bad_signature_from_known_key_rejects_note() {
    let a = signer("a", 1);
    let b = signer("b", 2);
    let good = sign("t\n", &[&a]).unwrap();
    // b's line, but relabelled as a's key: known key, bad signature.
    let forged = SignatureLine {
        name: "a".into(),
        key_hash: a.key_hash(),
        sig: SignatureLine::parse(&b.sign_line("t\n")).unwrap().sig,
    };
    let note = add_signature_lines(&good, &[forged.to_line()]).unwrap();
    assert!(matches!(open(&note, &[a.verifier()]), Err(NoteError::InvalidSignature { .. })));
}

#[test]
fn text_rules() {
    let a = signer("a", 1);
    assert!(sign("", &[&a]).is_err());
    assert!(sign("no newline", &[&a]).is_err());
    assert!(sign("tab\there\n", &[&a]).is_err());
    assert!(sign("cr\r\n", &[&a]).is_err());
    assert!(matches!(sign("ok\n", &[]), Err(NoteError::NoSigners)));
    assert!(sign("ünïcode ok\n", &[&a]).is_ok());
}

#[test]
fn malformed_notes() {
    let a = signer("a", 1);
    let note = sign("t\n", &[&a]).unwrap();
    let v = [a.verifier()];
    assert!(open(&note, &v).is_ok());
    let line = a.sign_line("t\n");
    for bad in [
        "t\n".to_string(),
        "t\n\n".to_string(),
        note.trim_end().to_string(),
        format!("t\n{line}"),
        format!("t\n\n{line}\n"),
        note.replace('\u{2014}', "-"),
        note.replace("\u{2014} a ", "\u{2014} a  "),
        note.replace("\u{2014} a ", "\u{2014}  a "),
        format!("t\n\n{}", line.replace('=', "")),
        "t\n\n\u{2014} a AAAA\n".to_string(),
        format!("t\r\n\n{line}"),
    ] {
        assert!(open(&bad, &v).is_err(), "{bad:?}");
    }
}

#[test]
fn signature_limit() {
    let a = signer("a", 1);
    let note = sign("t\n", &[&a]).unwrap();
    let others: Vec<String> = (0..MAX_SIGNATURES - 1)
        .map(|i| SignatureLine { name: format!("w{i}"), key_hash: i as u32, sig: vec![1; 64] }.to_line())
        .collect();
    let full = add_signature_lines(&note, &others).unwrap();
    assert!(open(&full, &[a.verifier()]).is_ok());
    let extra = SignatureLine { name: "one-more".into(), key_hash: 0, sig: vec![1; 64] }.to_line();
    assert!(matches!(
        add_signature_lines(&full, std::slice::from_ref(&extra)),
        Err(NoteError::TooManySignatures { .. })
    ));
    let over = format!("{full}{extra}");
    assert!(matches!(open(&over, &[a.verifier()]), Err(NoteError::TooManySignatures { count: 101, max: 100 })));
}

#[test]
fn cosignatures() {
    let log = signer("example.com/log", 1);
    let text = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let note = sign(text, &[&log]).unwrap();
    let w1 = cosigner("w1.example", 11);
    let w2 = cosigner("w2.example", 12);
    let l1 = w1.cosign(text, 1_679_315_147).unwrap();
    let l2 = w2.cosign(text, 1_700_000_000).unwrap();
    let parsed = SignatureLine::parse(&l1).unwrap();
    assert_eq!(parsed.sig.len(), COSIGNATURE_LEN);
    assert_eq!(&parsed.sig[..8], &1_679_315_147u64.to_be_bytes());
    assert_eq!(w1.verifier().verify(text, &parsed.sig), Ok(1_679_315_147));

    let cosigned = add_signature_lines(&note, &[l1.clone(), l2, l1.clone()]).unwrap();
    assert_eq!(cosigned.matches('\u{2014}').count(), 3);
    let opened = open(&cosigned, &[log.verifier()]).unwrap();
    assert_eq!(opened.verified, vec!["example.com/log".to_string()]);
    let got = opened.verify_cosignatures(&[w2.verifier(), w1.verifier()]).unwrap();
    assert_eq!(got, vec![("w1.example".to_string(), 1_679_315_147), ("w2.example".to_string(), 1_700_000_000)]);
    // The cosignature does not verify over other text or another time.
    assert!(w1.verifier().verify("other\n", &parsed.sig).is_err());
    let mut wrong_time = parsed.sig.clone();
    wrong_time[7] ^= 1;
    assert!(w1.verifier().verify(text, &wrong_time).is_err());
    assert!(matches!(w1.verifier().verify(text, &parsed.sig[..71]), Err(NoteError::CosignatureLength { got: 71, .. })));
    let mut huge = parsed.sig.clone();
    huge[0] = 0x80;
    assert!(matches!(w1.verifier().verify(text, &huge), Err(NoteError::TimestampOutOfRange(_))));
    assert!(w1.cosign(text, 1 << 63).is_err());
    // A cosignature is not a plain note signature, even with the same key.
    let plain = NoteVerifier::new("w1.example", *w1.verifier().key()).unwrap();
    assert!(matches!(
        open(&add_signature_lines(&note, &[l1]).unwrap(), &[plain]),
        Err(NoteError::NoKnownSignature { .. })
    ));
}

#[test]
fn add_signature_lines_rejects_garbage() {
    let a = signer("a", 1);
    let note = sign("t\n", &[&a]).unwrap();
    assert!(add_signature_lines(&note, &["not a line".into()]).is_err());
    assert!(add_signature_lines(&note, &["\u{2014} a b\nc".into()]).is_err());
    assert_eq!(add_signature_lines(&note, &[]).unwrap(), note);
    let l = a.sign_line("t\n");
    assert_eq!(add_signature_lines(&note, &[l]).unwrap(), note);
}
