#!/usr/bin/env python3
"""Example greenledger client: audits a ledger's checkpoint and one entry from outside.

It trusts nothing the server says without checking it:

1. fetches the latest checkpoint (a C2SP signed note) and the log's verifier key;
2. checks the key string (name, key ID, Ed25519 public key) and verifies the log's Ed25519
   signature over the note text with the `cryptography` package;
3. parses the checkpoint body (origin, tree size, root hash) and checks it against the fields
   the server returned next to it;
4. fetches one entry's exact leaf bytes and its inclusion proof at the checkpoint's size, and
   verifies the proof against the signed root with its own RFC 6962 / RFC 9162 code.

The Python stubs are generated from proto/ at run time (into tools/python/gen/).
Exit status 0 means everything verified; 1 means a check failed; 2 means a usage or
connection problem.

Usage: python greenledger_client.py [ADDR] [--entry N | --all] [--log-key KEY]
"""

import argparse
import base64
import hashlib
import importlib
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_PROTO = HERE.parent.parent / "proto"
GEN = HERE / "gen"
PROTO_FILE = "greenledger/v1/ledger.proto"

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "


class VerificationError(Exception):
    """A check on data from the server failed."""


def usage_error(message: str):
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


# --- stubs -----------------------------------------------------------------------------------


def load_stubs(proto_dir: Path):
    """Generates the Python modules for ledger.proto (when missing or stale) and imports them."""
    source = proto_dir / PROTO_FILE
    if not source.is_file():
        usage_error(f"{source} not found; pass --proto DIR (the repository's proto/)")
    out_pb2 = GEN / "greenledger" / "v1" / "ledger_pb2.py"
    out_grpc = GEN / "greenledger" / "v1" / "ledger_pb2_grpc.py"
    stale = not out_pb2.exists() or not out_grpc.exists() or out_pb2.stat().st_mtime < source.stat().st_mtime
    if stale:
        from grpc_tools import protoc  # imported here: only needed to generate

        GEN.mkdir(parents=True, exist_ok=True)
        args = [
            "grpc_tools.protoc",
            f"-I{proto_dir}",
            f"--python_out={GEN}",
            f"--grpc_python_out={GEN}",
            str(source),
        ]
        if protoc.main(args) != 0:
            usage_error(f"protoc failed on {source}")
    sys.path.insert(0, str(GEN))
    pb2 = importlib.import_module("greenledger.v1.ledger_pb2")
    pb2_grpc = importlib.import_module("greenledger.v1.ledger_pb2_grpc")
    return pb2, pb2_grpc


# --- C2SP signed notes -----------------------------------------------------------------------


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """C2SP key ID: the first 4 bytes of SHA-256(name || "\\n" || type || public key)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def parse_verifier_key(key: str):
    """Parses `<name>+<8 hex key ID>+<base64(0x01 || 32-byte Ed25519 public key)>`."""
    parts = key.split("+", 2)  # names hold no '+'; base64 may
    if len(parts) != 3:
        raise VerificationError(f"log key {key!r} is not name+hash+base64")
    name, hash_hex, b64 = parts
    if not name or len(hash_hex) != 8:
        raise VerificationError(f"log key {key!r} has an empty name or a key ID that is not 8 hex digits")
    try:
        stated = bytes.fromhex(hash_hex)
        raw = base64.b64decode(b64, validate=True)
    except ValueError as e:
        raise VerificationError(f"log key {key!r} is malformed: {e}") from None
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise VerificationError(f"log key {key!r} is not an Ed25519 (type 0x01) key")
    public_key = raw[1:]
    computed = key_id(name, ALG_ED25519, public_key)
    if computed != stated:
        raise VerificationError(f"log key ID {hash_hex} does not match the computed {computed.hex()}")
    return name, stated, public_key


def split_note(note: str):
    """Splits a signed note into its text (up to and including the newline before the last
    blank line) and its signature lines as (name, key ID, signature bytes)."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise VerificationError("note has no blank line before its signatures")
    text = note[: cut + 1]
    signatures = []
    for line in note[cut + 2 :].splitlines():
        if not line.startswith(SIG_PREFIX):
            raise VerificationError(f"signature line {line!r} does not start with an em dash and a space")
        name, _, b64 = line[len(SIG_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            raise VerificationError(f"signature line {line!r} is not base64") from None
        if len(raw) < 5:
            raise VerificationError(f"signature line {line!r} is too short")
        signatures.append((name, raw[:4], raw[4:]))
    if not signatures:
        raise VerificationError("note has no signature lines")
    return text, signatures


def verify_note(note: str, name: str, kid: bytes, public_key: bytes):
    """Verifies the log's Ed25519 signature on a note; returns the signed text and the number
    of other signature lines (witness cosignatures), which are not checked."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text, signatures = split_note(note)
    key = Ed25519PublicKey.from_public_bytes(public_key)
    mine = [sig for (n, k, sig) in signatures if n == name and k == kid]
    if not mine:
        raise VerificationError(f"no signature by log key {name} ({kid.hex()}) on the checkpoint")
    for sig in mine:
        try:
            key.verify(sig, text.encode("utf-8"))
        except InvalidSignature:
            raise VerificationError("the log's signature on the checkpoint does not verify") from None
    others = len(signatures) - len(mine)
    return text, others


def parse_checkpoint(text: str):
    """C2SP tlog-checkpoint body: origin, decimal size, base64 root hash, extension lines."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise VerificationError("checkpoint body needs origin, size and root lines")
    origin, size_s, root_s = lines[0], lines[1], lines[2]
    if not size_s.isdigit() or (len(size_s) > 1 and size_s[0] == "0"):
        raise VerificationError(f"checkpoint size {size_s!r} is not a decimal number")
    try:
        root = base64.b64decode(root_s, validate=True)
    except ValueError:
        root = b""
    if len(root) != 32:
        raise VerificationError(f"checkpoint root {root_s!r} is not 32 bytes")
    return origin, int(size_s), root


# --- RFC 6962 / RFC 9162 Merkle tree -------------------------------------------------------


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof) -> bytes:
    """RFC 9162 section 2.1.3.2: the root implied by `proof` for leaf hash `leaf` at `index`
    in a tree of `size` leaves."""
    if index >= size:
        raise VerificationError(f"leaf index {index} is not below tree size {size}")
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if len(p) != 32:
            raise VerificationError("a proof hash is not 32 bytes")
        if sn == 0:
            raise VerificationError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion proof is too short")
    return r


# --- main ----------------------------------------------------------------------------------


def check_inclusion(stub, pb2, args, index: int, size: int, leaf: bytes, root: bytes) -> int:
    """Fetches the inclusion proof of entry `index` at the signed `size` and checks it leads
    from the leaf to `root`. Returns the number of proof hashes."""
    # Ask at the signed size, not the current one: the log may have grown since.
    proof = stub.GetInclusionProof(pb2.InclusionProofRequest(index=index, tree_size=size), timeout=args.timeout)
    if proof.tree_size != size:
        raise VerificationError(f"proof for entry {index} is for tree size {proof.tree_size}, not {size}")
    computed = root_from_inclusion_proof(index, size, leaf_hash(leaf), list(proof.hashes))
    if computed != root:
        raise VerificationError(
            f"inclusion proof of entry {index} gives root {computed.hex()}, the checkpoint signs {root.hex()}"
        )
    return len(proof.hashes)


def self_test(vectors: Path) -> int:
    """Checks this file's verification code against the repository's reference vectors
    (tests/vectors: RFC 6962 inclusion proofs and the C2SP signed-note example), including
    that tampered inputs are rejected. Needs no server."""
    import json

    tree = json.loads((vectors / "rfc6962.json").read_text())
    leaves = [bytes.fromhex(x) for x in tree["leaves"]]
    for v in tree["inclusion"]:
        index, size = v["index"], v["size"]
        proof = [bytes.fromhex(h) for h in v["proof"]]
        root = bytes.fromhex(tree["roots"][size])
        if root_from_inclusion_proof(index, size, leaf_hash(leaves[index]), proof) != root:
            raise VerificationError(f"RFC 6962 vector index {index} size {size} does not verify")
        for k in range(len(proof)):
            bad = list(proof)
            bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
            if root_from_inclusion_proof(index, size, leaf_hash(leaves[index]), bad) == root:
                raise VerificationError(f"a tampered proof for index {index} size {size} verified")
    note = json.loads((vectors / "signed-note.json").read_text())
    name, kid, public_key = parse_verifier_key(note["verifier_key"])
    text, _ = verify_note(note["note"], name, kid, public_key)
    if text != note["text"]:
        raise VerificationError("the signed-note vector's text was not recovered")
    try:
        verify_note(note["note"].replace("answer", "Answer", 1), name, kid, public_key)
    except VerificationError:
        pass
    else:
        raise VerificationError("a tampered note verified")
    print(f"self-test OK: {len(tree['inclusion'])} RFC 6962 inclusion vectors and the C2SP signed-note vector")
    return 0


def run(args) -> int:
    import grpc

    pb2, pb2_grpc = load_stubs(Path(args.proto))
    channel = grpc.insecure_channel(args.addr)
    try:
        grpc.channel_ready_future(channel).result(timeout=args.timeout)
    except grpc.FutureTimeoutError:
        print(f"error: no gRPC server answers at {args.addr}", file=sys.stderr)
        return 2
    stub = pb2_grpc.LedgerStub(channel)

    cp = stub.GetCheckpoint(pb2.GetCheckpointRequest(), timeout=args.timeout)
    print(f"server {args.addr}")
    if args.log_key and args.log_key != cp.log_key:
        raise VerificationError(f"the server's log key {cp.log_key} is not the pinned key {args.log_key}")
    name, kid, public_key = parse_verifier_key(cp.log_key)
    pinned = "pinned with --log-key" if args.log_key else "as served (pin it with --log-key)"
    print(f"log key        {cp.log_key}  [{pinned}]")
    print(f"  key ID       {kid.hex()} matches SHA-256(name, 0x01, public key)")

    text, others = verify_note(cp.checkpoint, name, kid, public_key)
    print(f"checkpoint     Ed25519 signature of {name} verifies over {len(text.encode())} bytes of note text")
    if others:
        print(f"  ({others} other signature line(s), e.g. witness cosignatures, not checked here)")
    origin, size, root = parse_checkpoint(text)
    if origin != name:
        raise VerificationError(f"checkpoint origin {origin!r} is not the log key name {name!r}")
    if size != cp.size or root != cp.root:
        raise VerificationError("the signed checkpoint disagrees with the size and root served beside it")
    print(f"  origin       {origin}")
    print(f"  tree size    {size}")
    print(f"  root         {root.hex()}")
    if size == 0:
        print("the log is empty: no entry to prove")
        return 0

    if args.all:
        # Every leaf of the signed tree, each with its own proof at the signed size.
        leaves = list(stub.GetEntries(pb2.GetEntriesRequest(start=0, end=size), timeout=args.timeout))
        if [e.index for e in leaves] != list(range(size)):
            raise VerificationError(f"the server did not return entries 0..{size - 1} in order")
        for e in leaves:
            check_inclusion(stub, pb2, args, e.index, size, e.leaf, root)
        print(f"inclusion      all {size} entries have proofs leading to the signed root")
        print(f"OK: all {size} entries are in the log of {name}, signed by its log key")
        return 0

    index = size - 1 if args.entry is None else args.entry
    if not 0 <= index < size:
        usage_error(f"entry {index} is outside the signed tree of {size} entries")
    entries = list(stub.GetEntries(pb2.GetEntriesRequest(start=index, end=index + 1), timeout=args.timeout))
    if len(entries) != 1 or entries[0].index != index:
        raise VerificationError(f"the server did not return exactly entry {index}")
    leaf = entries[0].leaf
    magic = "greenledger v1 leaf" if leaf.startswith(b"GLE\x01") else "unknown format"
    print(f"entry {index:<8} {len(leaf)} leaf bytes ({magic}), leaf hash {leaf_hash(leaf).hex()}")
    hashes = check_inclusion(stub, pb2, args, index, size, leaf, root)
    print(f"inclusion      {hashes} proof hashes lead from entry {index} to the signed root")
    print(f"OK: entry {index} is in the log of {name} at tree size {size}, signed by its log key")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("addr", nargs="?", default="127.0.0.1:50051", help="server host:port (default 127.0.0.1:50051)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--entry", type=int, default=None, help="entry index to prove (default: the last)")
    which.add_argument("--all", action="store_true", help="prove every entry of the signed tree")
    p.add_argument("--log-key", default=os.environ.get("GREENLEDGER_LOG_KEY"),
                   help="expected verifier key name+hash+base64 (default: $GREENLEDGER_LOG_KEY, else trust the served key)")
    p.add_argument("--proto", default=str(DEFAULT_PROTO), help="directory holding greenledger/v1/ledger.proto")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per call (default 10)")
    p.add_argument("--self-test", action="store_true",
                   help="check the verification code against tests/vectors (no server needed) and exit")
    args = p.parse_args()
    for module in ("grpc", "grpc_tools", "cryptography"):  # fail early with a clear message
        try:
            importlib.import_module(module)
        except ImportError:
            usage_error(f"{module} is not installed: pip install -r {HERE / 'requirements.txt'}")
    try:
        if args.self_test:
            return self_test(HERE.parent.parent / "tests" / "vectors")
        return run(args)
    except VerificationError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # grpc.RpcError and friends: report, do not dump a traceback
        import grpc

        if isinstance(e, grpc.RpcError):
            print(f"error: {e.code().name}: {e.details()}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
