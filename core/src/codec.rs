//! Canonical bytes: everything that is hashed, signed or stored is encoded here.
//!
//! One pinned bincode 2 configuration (big-endian, fixed-width integers, 1 MiB limit), a
//! domain-separation prefix for every signed or hashed kind, and a format version. The golden
//! tests at the bottom fail if the encoding ever drifts: a drift would change every hash in the log.
//!
//! A command is in one of two formats ([`Format`]), chosen by its validity window:
//!
//! | | format 1: no window | format 2: windowed |
//! |---|---|---|
//! | body | `signer, nonce, command` | `signer, nonce, expires, command` |
//! | signing prefix | `greenledger/v1/command\n` | `greenledger/v2/command\n` |
//! | leaf magic | `GLE\x01` | `GLE\x02` |
//! | command-hash prefix | `greenledger/v1/command-hash\n` | `greenledger/v2/command-hash\n` |
//!
//! `expires` is a `u64` (seconds since the Unix epoch, big-endian) right after the nonce. A body
//! without a window is encoded, signed and hashed exactly as before windows existed, so every
//! leaf, signature and hash of an existing log stays as it was. [`CommandBody`],
//! [`SignedCommand`] and [`Entry`] have no bincode encoding of their own: only the functions
//! here turn them into bytes and back, and each picks the format from the body.

use crate::command::{Command, CommandBody, Entry, SignedCommand};
use crate::types::{AccountId, Timestamp};
use bincode::config::{BigEndian, Configuration, Fixint, Limit};
use bincode::{Decode, Encode};
use sha2::{Digest, Sha256};

/// Largest encoded value accepted anywhere, in bytes.
pub const MAX_ENCODED: usize = 1 << 20;

/// Prefix of the bytes a submitter signs for a command without a validity window (format 1):
/// `greenledger/v1/command\n<ledger name>\n<body>`.
pub const COMMAND_PREFIX: &[u8] = b"greenledger/v1/command\n";
/// Prefix of the bytes a submitter signs for a windowed command (format 2).
pub const WINDOWED_COMMAND_PREFIX: &[u8] = b"greenledger/v2/command\n";
/// First bytes of a log leaf whose command has no validity window: magic and format version 1.
pub const LEAF_MAGIC: &[u8] = b"GLE\x01";
/// First bytes of a log leaf whose command is windowed: magic and format version 2.
pub const WINDOWED_LEAF_MAGIC: &[u8] = b"GLE\x02";

type Config = Configuration<BigEndian, Fixint, Limit<MAX_ENCODED>>;

/// The pinned configuration. Never change it: it defines the bytes of every leaf.
pub const fn config() -> Config {
    bincode::config::standard().with_big_endian().with_fixed_int_encoding().with_limit::<MAX_ENCODED>()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("malformed encoding: {0}")]
    Malformed(String),
    #[error("{0} trailing bytes after the value")]
    Trailing(usize),
    #[error("leaf does not start with a greenledger magic (GLE 0x01 or GLE 0x02)")]
    BadMagic,
}

/// The format of a command's bytes: format 1 without a validity window, format 2 with one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// No validity window: the first format, unchanged.
    V1,
    /// A validity window: `expires` follows the nonce.
    V2,
}

impl Format {
    /// The format of `body`: [`Format::V2`] when it has a validity window.
    pub fn of(body: &CommandBody) -> Format {
        if body.expires.is_some() {
            Format::V2
        } else {
            Format::V1
        }
    }

    /// The first bytes of a leaf of this format.
    pub fn leaf_magic(self) -> &'static [u8] {
        match self {
            Format::V1 => LEAF_MAGIC,
            Format::V2 => WINDOWED_LEAF_MAGIC,
        }
    }

    /// The prefix of the signing bytes.
    pub fn command_prefix(self) -> &'static [u8] {
        match self {
            Format::V1 => COMMAND_PREFIX,
            Format::V2 => WINDOWED_COMMAND_PREFIX,
        }
    }

    /// The domain-separation prefix of the command hash.
    pub fn command_hash_prefix(self) -> &'static [u8] {
        match self {
            Format::V1 => b"greenledger/v1/command-hash\n",
            Format::V2 => b"greenledger/v2/command-hash\n",
        }
    }
}

pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    // Encoding into a Vec only fails past the size limit, which no valid value reaches.
    bincode::encode_to_vec(value, config()).expect("value within the encoding limit")
}

/// Decodes a value and insists that every byte was used.
pub fn decode<T: Decode<()>>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, used) =
        bincode::decode_from_slice(bytes, config()).map_err(|e| CodecError::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::Trailing(bytes.len() - used));
    }
    Ok(value)
}

/// The canonical bytes of a body in its format: `signer, nonce, command` (format 1) or
/// `signer, nonce, expires, command` (format 2).
pub fn body_bytes(body: &CommandBody) -> Vec<u8> {
    match body.expires {
        None => encode(&(&body.signer, body.nonce, &body.command)),
        Some(expires) => encode(&(&body.signer, body.nonce, expires, &body.command)),
    }
}

/// The canonical bytes of a signed command: the body, then the 64-byte signature.
fn signed_bytes(signed: &SignedCommand) -> Vec<u8> {
    let mut out = body_bytes(&signed.body);
    out.extend_from_slice(&signed.signature);
    out
}

/// The exact bytes a submitter signs for `body` on the ledger called `ledger_name`: the
/// format's prefix, the name, a newline and the body.
pub fn signing_bytes(ledger_name: &str, body: &CommandBody) -> Vec<u8> {
    let prefix = Format::of(body).command_prefix();
    let encoded = body_bytes(body);
    let mut out = Vec::with_capacity(prefix.len() + ledger_name.len() + 1 + encoded.len());
    out.extend_from_slice(prefix);
    out.extend_from_slice(ledger_name.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&encoded);
    out
}

/// The bytes of a log leaf: the format's magic, then the entry (time, body, signature).
pub fn leaf_bytes(entry: &Entry) -> Vec<u8> {
    let mut out = Format::of(&entry.signed.body).leaf_magic().to_vec();
    out.extend_from_slice(&encode(&entry.time));
    out.extend_from_slice(&signed_bytes(&entry.signed));
    out
}

/// A format-1 leaf after its magic, field by field.
#[derive(Decode)]
struct LeafV1 {
    time: Timestamp,
    signer: AccountId,
    nonce: u64,
    command: Command,
    signature: [u8; 64],
}

/// A format-2 leaf after its magic: `expires` follows the nonce.
#[derive(Decode)]
struct LeafV2 {
    time: Timestamp,
    signer: AccountId,
    nonce: u64,
    expires: Timestamp,
    command: Command,
    signature: [u8; 64],
}

/// Decodes a leaf of either format; the magic says which.
pub fn decode_leaf(bytes: &[u8]) -> Result<Entry, CodecError> {
    let (time, body, signature) = if let Some(rest) = bytes.strip_prefix(LEAF_MAGIC) {
        let LeafV1 { time, signer, nonce, command, signature } = decode(rest)?;
        (time, CommandBody { signer, nonce, command, expires: None }, signature)
    } else if let Some(rest) = bytes.strip_prefix(WINDOWED_LEAF_MAGIC) {
        let LeafV2 { time, signer, nonce, expires, command, signature } = decode(rest)?;
        (time, CommandBody { signer, nonce, command, expires: Some(expires) }, signature)
    } else {
        return Err(CodecError::BadMagic);
    };
    Ok(Entry { time, signed: SignedCommand { body, signature } })
}

/// Identity of a signed command, used to recognise an identical resubmission: SHA-256 of the
/// format's command-hash prefix and the signed command's bytes.
pub fn command_hash(signed: &SignedCommand) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(Format::of(&signed.body).command_hash_prefix());
    h.update(signed_bytes(signed));
    h.finalize().into()
}

/// Serde helper: a 64-byte signature as hex in JSON.
pub mod serde_sig {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(sig: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(sig))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text).map_err(serde::de::Error::custom)?;
        bytes.try_into().map_err(|_| serde::de::Error::custom("signature must be 64 bytes"))
    }
}

#[cfg(test)]
mod tests {
    // The golden bytes below pin one transfer; `core/tests/vectors/commands.json` pins every
    // command kind (checked by `core/tests/encoding_vectors.rs`, specified in docs/encoding.md).
    use super::*;
    use crate::command as cmd;
    use crate::command::Command;
    use crate::types::*;

    fn sample_body() -> CommandBody {
        CommandBody {
            signer: AccountId([7; 32]),
            nonce: 42,
            command: Command::Transfer(cmd::Transfer {
                bundle: BundleId(3),
                serials: SerialRange::new(100, 160),
                to: AccountId([9; 32]),
            }),
            expires: None,
        }
    }

    /// The same transfer with a validity window ending an hour after the entry's time.
    fn windowed_body() -> CommandBody {
        CommandBody { expires: Some(Timestamp(1_795_222_800)), ..sample_body() }
    }

    /// Golden bytes: if this fails the canonical encoding changed and every signature and leaf
    /// hash of existing ledgers would break. Bump the format version instead.
    #[test]
    fn signing_bytes_are_stable() {
        let bytes = signing_bytes("example.org/ledger", &sample_body());
        assert_eq!(hex::encode(&bytes), GOLDEN_SIGNING_BYTES);
    }

    #[test]
    fn leaf_bytes_are_stable_and_round_trip() {
        let entry = Entry {
            time: Timestamp(1_795_219_200),
            signed: SignedCommand { body: sample_body(), signature: [0xab; 64] },
        };
        let leaf = leaf_bytes(&entry);
        assert_eq!(hex::encode(&leaf), GOLDEN_LEAF);
        assert_eq!(decode_leaf(&leaf).unwrap(), entry);
    }

    #[test]
    fn refuses_trailing_truncated_and_foreign_bytes() {
        let entry = Entry { time: Timestamp(5), signed: SignedCommand { body: sample_body(), signature: [1; 64] } };
        let mut leaf = leaf_bytes(&entry);
        leaf.push(0);
        assert_eq!(decode_leaf(&leaf), Err(CodecError::Trailing(1)));
        leaf.truncate(leaf.len() - 10);
        assert!(matches!(decode_leaf(&leaf), Err(CodecError::Malformed(_))));
        assert_eq!(decode_leaf(b"XXXX"), Err(CodecError::BadMagic));
    }

    /// The 1 MiB limit applies to the encoded entry (the leaf after its magic): an entry of
    /// exactly `MAX_ENCODED` bytes decodes, one byte more is refused (docs/encoding.md, section 3).
    #[test]
    fn entries_up_to_the_limit_decode_and_larger_ones_are_refused() {
        let retire = |beneficiary: String| Entry {
            time: Timestamp(1),
            signed: SignedCommand {
                body: CommandBody {
                    signer: AccountId([1; 32]),
                    nonce: 2,
                    command: Command::RetireV1(cmd::RetireV1 {
                        bundle: BundleId(3),
                        serials: SerialRange::new(4, 5),
                        beneficiary,
                        purpose: String::new(),
                        consumption: Interval::new(6, 7),
                    }),
                    expires: None,
                },
                signature: [8; 64],
            },
        };
        let overhead = leaf_bytes(&retire(String::new())).len() - LEAF_MAGIC.len();
        let at_limit = retire("x".repeat(MAX_ENCODED - overhead));
        let leaf = leaf_bytes(&at_limit);
        assert_eq!(leaf.len(), LEAF_MAGIC.len() + MAX_ENCODED);
        assert_eq!(decode_leaf(&leaf).unwrap(), at_limit);

        // One more beneficiary byte: its length field (after magic, time, signer, nonce, variant,
        // bundle and serials) grows by one and one byte is inserted.
        let len_at = LEAF_MAGIC.len() + 8 + 32 + 8 + 4 + 8 + 16;
        let len = u64::from_be_bytes(leaf[len_at..len_at + 8].try_into().unwrap());
        assert_eq!(len as usize, MAX_ENCODED - overhead);
        let mut over = leaf.clone();
        over[len_at..len_at + 8].copy_from_slice(&(len + 1).to_be_bytes());
        over.insert(len_at + 8, b'x');
        assert_eq!(over.len(), LEAF_MAGIC.len() + MAX_ENCODED + 1);
        match decode_leaf(&over) {
            Err(CodecError::Malformed(m)) => assert!(m.contains("Limit"), "{m}"),
            other => panic!("accepted or wrong error: {other:?}"),
        }
    }

    /// A string length that claims more bytes than the limit is refused before anything is
    /// allocated or read.
    #[test]
    fn a_length_beyond_the_limit_is_refused() {
        let entry = Entry { time: Timestamp(5), signed: SignedCommand { body: sample_body(), signature: [1; 64] } };
        let mut leaf = leaf_bytes(&entry);
        // Turn the Transfer into a Withdraw whose reason claims u64::MAX bytes.
        leaf[52..56].copy_from_slice(&10u32.to_be_bytes());
        let reason_at = 56 + 8 + 16;
        leaf[reason_at..reason_at + 8].copy_from_slice(&u64::MAX.to_be_bytes());
        match decode_leaf(&leaf) {
            Err(CodecError::Malformed(m)) => assert!(m.contains("Limit"), "{m}"),
            other => panic!("accepted or wrong error: {other:?}"),
        }
    }

    /// Golden bytes of format 2: the windowed transfer signs under `greenledger/v2/command` and
    /// its leaf starts with `GLE\x02`; the window's end (`000000006b00ed10`) follows the nonce.
    /// Everything else is the format-1 bytes above.
    #[test]
    fn windowed_signing_bytes_and_leaf_are_stable() {
        let bytes = signing_bytes("example.org/ledger", &windowed_body());
        assert_eq!(hex::encode(&bytes), GOLDEN_WINDOWED_SIGNING_BYTES);
        let entry = Entry {
            time: Timestamp(1_795_219_200),
            signed: SignedCommand { body: windowed_body(), signature: [0xab; 64] },
        };
        let leaf = leaf_bytes(&entry);
        assert_eq!(hex::encode(&leaf), GOLDEN_WINDOWED_LEAF);
        assert_eq!(decode_leaf(&leaf).unwrap(), entry);
    }

    /// A window changes the signing bytes, the leaf and the command hash: a windowed command and
    /// the same command without the window are different commands with different signatures.
    /// A leaf under the other format's magic does not decode to the same entry.
    #[test]
    fn the_two_formats_never_share_bytes() {
        let plain = SignedCommand { body: sample_body(), signature: [1; 64] };
        let windowed = SignedCommand { body: windowed_body(), signature: [1; 64] };
        assert_eq!(Format::of(&plain.body), Format::V1);
        assert_eq!(Format::of(&windowed.body), Format::V2);
        assert_ne!(command_hash(&plain), command_hash(&windowed));
        assert_ne!(signing_bytes("l", &plain.body), signing_bytes("l", &windowed.body));
        let entry = Entry { time: Timestamp(5), signed: windowed };
        let mut leaf = leaf_bytes(&entry);
        assert_eq!(&leaf[..4], WINDOWED_LEAF_MAGIC);
        leaf[3] = 1;
        assert_ne!(decode_leaf(&leaf).ok(), Some(entry.clone()));
        leaf[3] = 3;
        assert_eq!(decode_leaf(&leaf), Err(CodecError::BadMagic));
        leaf[3] = 2;
        leaf.push(0);
        assert_eq!(decode_leaf(&leaf), Err(CodecError::Trailing(1)));
        leaf.truncate(leaf.len() - 10);
        assert!(matches!(decode_leaf(&leaf), Err(CodecError::Malformed(_))));
    }

    const GOLDEN_SIGNING_BYTES: &str = "677265656e6c65646765722f76312f636f6d6d616e640a6578616d706c652e6f72672f6c65646765720a0707070707070707070707070707070707070707070707070707070707070707000000000000002a000000080000000000000003000000000000006400000000000000a00909090909090909090909090909090909090909090909090909090909090909";
    const GOLDEN_LEAF: &str = "474c4501000000006b00df000707070707070707070707070707070707070707070707070707070707070707000000000000002a000000080000000000000003000000000000006400000000000000a00909090909090909090909090909090909090909090909090909090909090909abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab";
    const GOLDEN_WINDOWED_SIGNING_BYTES: &str = "677265656e6c65646765722f76322f636f6d6d616e640a6578616d706c652e6f72672f6c65646765720a0707070707070707070707070707070707070707070707070707070707070707000000000000002a000000006b00ed10000000080000000000000003000000000000006400000000000000a00909090909090909090909090909090909090909090909090909090909090909";
    const GOLDEN_WINDOWED_LEAF: &str = "474c4502000000006b00df000707070707070707070707070707070707070707070707070707070707070707000000000000002a000000006b00ed10000000080000000000000003000000000000006400000000000000a00909090909090909090909090909090909090909090909090909090909090909abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab";
}
