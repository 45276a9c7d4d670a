//! A protobuf `SignedCommand` from any bytes, then the edge conversion `convert::signed`: neither
//! may panic. What converts must survive a round trip through protobuf unchanged, and its
//! canonical bytes, hash and signature check must work (the signature is garbage: it must
//! simply not verify).
#![no_main]

use greenledger::rpc::{convert, pb};
use greenledger_core::{codec, crypto};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = pb::SignedCommand::decode(data) else { return };
    let Ok(cmd) = convert::signed(&msg) else { return };
    let back = convert::signed_to_pb(&cmd);
    assert_eq!(convert::signed(&back).as_ref(), Ok(&cmd), "protobuf round trip changed the command");
    let bytes = codec::signing_bytes("fuzz.example", &cmd.body);
    assert!(bytes.starts_with(codec::COMMAND_PREFIX));
    let _ = codec::command_hash(&cmd);
    let _ = crypto::verify("fuzz.example", cmd.clone());
    let _ = crypto::verify_many("fuzz.example", vec![cmd.clone(), cmd]);
});
