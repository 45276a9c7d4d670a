//! `codec::decode_leaf` never panics on any bytes, and whatever it accepts re-encodes to exactly
//! the same bytes (the leaf encoding is canonical: one entry, one byte string, one hash).
#![no_main]

use greenledger_core::codec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = codec::decode_leaf(data) {
        assert_eq!(codec::leaf_bytes(&entry), data, "a decoded leaf must re-encode to the same bytes");
        // The parts that are hashed and signed must encode too.
        let _ = codec::command_hash(&entry.signed);
        let _ = codec::signing_bytes("fuzz.example", &entry.signed.body);
    }
    // The same bytes behind the magic of each format (format 2: a windowed command).
    for magic in [codec::LEAF_MAGIC, codec::WINDOWED_LEAF_MAGIC] {
        let mut leaf = magic.to_vec();
        leaf.extend_from_slice(data);
        if let Ok(entry) = codec::decode_leaf(&leaf) {
            assert_eq!(codec::leaf_bytes(&entry), leaf);
        }
    }
});
