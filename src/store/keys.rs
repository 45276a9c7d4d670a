//! The key layout of the single ordered keyspace. Integers are big-endian so keys sort in
//! numeric order; variable-length parts are length-prefixed so prefixes never collide.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `T` | tile level, tile index | a full C2SP hash tile: 256 hashes of tree level 8 × tile level |
//! | `E` | bundle index | a full C2SP entry bundle: 256 leaves, each after its `uint16` length |
//! | `L` | leaf index | leaf bytes, only for the leaves of the incomplete last bundle |
//! | `N` | node level, node index | 32-byte hash of a tree node of level 8 × tile level in an incomplete tile |
//! | `F` | | the log layout version (absent: one `L` per leaf and one `N` per perfect subtree) |
//! | `H` | | tree head: size, root, time of the last entry |
//! | `C` | | the latest signed checkpoint note |
//! | `W` | witness key name | the latest cosignature line of that witness |
//! | `P` | `c`, tree size | a published checkpoint: the log-signed note ([`crate::publish`]) |
//! | `P` | `s`, tree size, witness key | a witness cosignature of that published checkpoint |
//! | `P` | `w`, witness key | the tree size that witness last acknowledged |
//! | `S` | table letter, record key | state record |
//! | `I` | index letter, owner, id | empty: secondary indexes for queries |
//! | `V` | | the state format version |

use greenledger_core::log::merkle::NodeId;
use greenledger_core::types::*;

pub const HEAD: &[u8] = b"H";
pub const CHECKPOINT: &[u8] = b"C";
/// The format of the state records (`S` and `I` keys), as a big-endian u32. A ledger whose
/// state is of another format (or has none recorded: the first format) has its state rebuilt
/// from the log when it is opened ([`crate::ledger::Ledger::open`]).
pub const STATE_FORMAT: &[u8] = b"V";

/// The log layout, as a big-endian u32: 2 is C2SP tiles ([`crate::store::log`]). A store without
/// it holds the first layout and is converted when opened.
pub const LOG_FORMAT: &[u8] = b"F";

/// A full hash tile.
pub fn tile(level: u8, index: u64) -> Vec<u8> {
    let mut k = vec![b'T', level];
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// A full entry bundle.
pub fn entry_bundle(index: u64) -> Vec<u8> {
    let mut k = vec![b'E'];
    k.extend_from_slice(&index.to_be_bytes());
    k
}

pub fn leaf(index: u64) -> Vec<u8> {
    let mut k = vec![b'L'];
    k.extend_from_slice(&index.to_be_bytes());
    k
}

pub fn leaf_index(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.strip_prefix(b"L")?.try_into().ok()?))
}

pub fn node(id: NodeId) -> Vec<u8> {
    let mut k = vec![b'N'];
    k.extend_from_slice(&id.to_key());
    k
}

pub fn witness(name: &str) -> Vec<u8> {
    let mut k = vec![b'W'];
    k.extend_from_slice(name.as_bytes());
    k
}

pub fn witness_range() -> (Vec<u8>, Vec<u8>) {
    (vec![b'W'], vec![b'X'])
}

fn publish_key(kind: u8, size: Option<u64>, witness: &str) -> Vec<u8> {
    let mut k = vec![b'P', kind];
    if let Some(size) = size {
        k.extend_from_slice(&size.to_be_bytes());
    }
    k.extend_from_slice(witness.as_bytes());
    k
}

/// A published checkpoint of tree size `size`.
pub fn published(size: u64) -> Vec<u8> {
    publish_key(b'c', Some(size), "")
}

/// Published checkpoints of sizes in `[from, to)`.
pub fn published_range(from: u64, to: u64) -> (Vec<u8>, Vec<u8>) {
    (published(from), published(to))
}

/// The cosignature of the published checkpoint of size `size` by `witness` (its verifier key).
pub fn published_cosignature(size: u64, witness: &str) -> Vec<u8> {
    publish_key(b's', Some(size), witness)
}

/// Cosignatures of published checkpoints of sizes in `[from, to)`.
pub fn published_cosignatures(from: u64, to: u64) -> (Vec<u8>, Vec<u8>) {
    (published_cosignature(from, ""), published_cosignature(to, ""))
}

/// The tree size `witness` (its verifier key) last acknowledged.
pub fn witness_acknowledged(witness: &str) -> Vec<u8> {
    publish_key(b'w', None, witness)
}

fn state(table: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![b'S', table];
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

fn device_part(d: &DeviceId) -> Vec<u8> {
    let mut v = vec![d.0.len() as u8];
    v.extend_from_slice(d.0.as_bytes());
    v
}

pub fn meta() -> Vec<u8> {
    state(b'm', &[])
}
pub fn account(id: &AccountId) -> Vec<u8> {
    state(b'a', &[&id.0])
}
pub fn accounts_range() -> (Vec<u8>, Vec<u8>) {
    (state(b'a', &[]), state(b'b', &[]))
}
pub fn device(id: &DeviceId) -> Vec<u8> {
    state(b'd', &[&device_part(id)])
}
pub fn devices_range() -> (Vec<u8>, Vec<u8>) {
    (state(b'd', &[]), state(b'e', &[]))
}
pub fn reading(device: &DeviceId, channel: Channel, start: Timestamp) -> Vec<u8> {
    state(b'r', &[&device_part(device), &[channel.code()], &start.0.to_be_bytes()])
}
pub fn consumption(account: &AccountId, start: Timestamp) -> Vec<u8> {
    state(b'c', &[&account.0, &start.0.to_be_bytes()])
}
pub fn bundle(id: BundleId) -> Vec<u8> {
    state(b'B', &[&id.0.to_be_bytes()])
}
pub fn claim(id: ClaimId) -> Vec<u8> {
    state(b'k', &[&id.0.to_be_bytes()])
}
pub fn nonce(signer: &AccountId, nonce: u64) -> Vec<u8> {
    state(b'n', &[&signer.0, &nonce.to_be_bytes()])
}
/// The nonce of a windowed command: `S x`, the window's end, the signer and the nonce. Ordered
/// by window end first, so the records whose window has passed are one range at the front
/// ([`windowed_nonces_before`]).
pub fn windowed_nonce(expires: Timestamp, signer: &AccountId, nonce: u64) -> Vec<u8> {
    state(b'x', &[&expires.0.to_be_bytes(), &signer.0, &nonce.to_be_bytes()])
}
/// The keys of the windowed nonces whose window ended before `before`.
pub fn windowed_nonces_before(before: Timestamp) -> (Vec<u8>, Vec<u8>) {
    (state(b'x', &[]), state(b'x', &[&before.0.to_be_bytes()]))
}

/// Holdings index: bundles by owner.
pub fn holding(owner: &AccountId, bundle: BundleId) -> Vec<u8> {
    let mut k = vec![b'I', b'o'];
    k.extend_from_slice(&owner.0);
    k.extend_from_slice(&bundle.0.to_be_bytes());
    k
}

/// Claims index: claims by claimant.
pub fn claimant(account: &AccountId, claim: ClaimId) -> Vec<u8> {
    let mut k = vec![b'I', b'c'];
    k.extend_from_slice(&account.0);
    k.extend_from_slice(&claim.0.to_be_bytes());
    k
}

/// Index of the claims capped by (made for the consumption of) `account`.
pub fn capped(account: &AccountId, claim: ClaimId) -> Vec<u8> {
    let mut k = capped_prefix(account);
    k.extend_from_slice(&claim.0.to_be_bytes());
    k
}
pub fn capped_prefix(account: &AccountId) -> Vec<u8> {
    let mut k = vec![b'I', b'b'];
    k.extend_from_slice(&account.0);
    k
}
/// Index of bundles by their first serial: the bundle holding a serial is the one with the
/// greatest first serial not above it.
pub fn serial(first: Serial) -> Vec<u8> {
    let mut k = vec![b'I', b's'];
    k.extend_from_slice(&first.0.to_be_bytes());
    k
}
pub fn park(id: &ParkId) -> Vec<u8> {
    state(b'p', &[id.0.as_bytes()])
}
pub fn parks_range() -> (Vec<u8>, Vec<u8>) {
    (state(b'p', &[]), state(b'q', &[]))
}

/// The trailing 8 bytes of an index key as an id.
pub fn trailing_id(key: &[u8]) -> Option<u64> {
    let tail = key.get(key.len().checked_sub(8)?..)?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

/// Keys from `start` (inclusive) to `end` (exclusive) of the range `prefix || u64`.
pub fn u64_range(prefix: Vec<u8>, from: u64, to: u64) -> (Vec<u8>, Vec<u8>) {
    let mut a = prefix.clone();
    a.extend_from_slice(&from.to_be_bytes());
    let mut b = prefix;
    b.extend_from_slice(&to.to_be_bytes());
    (a, b)
}

pub fn holdings_prefix(owner: &AccountId) -> Vec<u8> {
    let mut k = vec![b'I', b'o'];
    k.extend_from_slice(&owner.0);
    k
}
pub fn claimant_prefix(account: &AccountId) -> Vec<u8> {
    let mut k = vec![b'I', b'c'];
    k.extend_from_slice(&account.0);
    k
}
pub fn readings_prefix(device: &DeviceId, channel: Channel) -> Vec<u8> {
    state(b'r', &[&device_part(device), &[channel.code()]])
}
pub fn consumption_prefix(account: &AccountId) -> Vec<u8> {
    state(b'c', &[&account.0])
}
