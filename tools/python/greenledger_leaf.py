#!/usr/bin/env python3
"""Decode greenledger log leaves (leaf formats GLE\\x01 and GLE\\x02) with the Python standard library only.

Written from docs/encoding.md. A leaf decodes to a dict in the JSON form of the Rust `Entry`
(section 7 of that document): the output of `json.dumps(decode_leaf(leaf))` equals the JSON the
Rust types produce, member for member.

Command line: reads hex leaves from stdin, one per line (blank lines are skipped), and prints one
JSON object per line. Exit status 0 when every line decoded, 1 at the first line that does not
(the message on stderr names the line), 2 for a usage error.

    python3 greenledger_leaf.py [--hashes [--ledger NAME]] < leaves.hex
    python3 greenledger_leaf.py --check-vectors core/tests/vectors/commands.json

`--hashes` prints `{"entry": ..., "leaf_hash": ..., "command_hash": ...}` instead of the bare
entry, plus `"signing_bytes"` when the ledger name is given with `--ledger`.
`--check-vectors FILE` decodes every leaf of a golden vector file and compares the entry, the
signing bytes and both hashes with the file.
"""

import argparse
import hashlib
import json
import sys

MAGIC = b"GLE\x01"
# Format 2: the command carries a validity window (`expires`, a u64 after the nonce).
WINDOWED_MAGIC = b"GLE\x02"
MAX_ENCODED = 1 << 20
COMMAND_PREFIX = b"greenledger/v1/command\n"
COMMAND_HASH_PREFIX = b"greenledger/v1/command-hash\n"
WINDOWED_COMMAND_PREFIX = b"greenledger/v2/command\n"
WINDOWED_COMMAND_HASH_PREFIX = b"greenledger/v2/command-hash\n"

TECHNOLOGY = ["Wind", "Solar", "Hydro", "Biomass", "Geothermal", "Marine", "Other"]
CHANNEL = ["Export", "SelfUse", "StorageCharge", "StorageDischarge", "GridImport"]
# Class serialises in kebab-case.
CLASS = ["none", "non-tradable", "tradable"]
VINTAGE = ["SameReportingPeriod", "WithinMonths", "Any"]
# Beneficiary and Purpose serialise as {"kind": <kebab-case name>, ...}.
BENEFICIARY = ["claimant", "account", "product"]
PURPOSE = ["re100-cdp", "energy-deduction", "renewable-quota", "product-footprint", "cbam", "other"]


class DecodeError(ValueError):
    """The bytes are not a valid greenledger leaf."""


class Reader:
    """Reads the primitives of docs/encoding.md section 1 from a byte string."""

    def __init__(self, data):
        self.data = data
        self.at = 0

    def take(self, n, what):
        if n > len(self.data) - self.at:
            raise DecodeError(
                f"truncated: {what} needs {n} bytes at offset {self.at}, {len(self.data) - self.at} left"
            )
        out = self.data[self.at : self.at + n]
        self.at += n
        return out

    def u8(self, what):
        return self.take(1, what)[0]

    def u32(self, what):
        return int.from_bytes(self.take(4, what), "big")

    def u64(self, what):
        return int.from_bytes(self.take(8, what), "big")

    def i32(self, what):
        return int.from_bytes(self.take(4, what), "big", signed=True)

    def bool(self, what):
        b = self.u8(what)
        if b > 1:
            raise DecodeError(f"{what}: invalid bool byte {b:#04x}")
        return b == 1

    def string(self, what):
        n = self.u64(what + " length")
        raw = self.take(n, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError(f"{what}: invalid UTF-8 ({e.reason})") from None

    def option(self, what, inner):
        tag = self.u8(what)
        if tag == 0:
            return None
        if tag == 1:
            return inner(what)
        raise DecodeError(f"{what}: invalid Option tag {tag:#04x}")

    def vec(self, what, inner):
        n = self.u64(what + " length")
        # Every element takes at least one byte: a longer length cannot be real.
        if n > len(self.data) - self.at:
            raise DecodeError(f"truncated: {what} claims {n} elements at offset {self.at}, {len(self.data) - self.at} bytes left")
        return [inner(f"{what}[{i}]") for i in range(n)]

    def variant(self, what, count):
        i = self.u32(what)
        if i >= count:
            raise DecodeError(f"{what}: unknown variant index {i} (known: 0..{count - 1})")
        return i

    # Identifier and value types (section 2).

    def account(self, what):
        return list(self.take(32, what))

    def interval(self, what):
        return {"start": self.u64(what + ".start"), "end": self.u64(what + ".end")}

    def serials(self, what):
        return {"start": self.u64(what + ".start"), "end": self.u64(what + ".end")}

    def technology(self, what):
        return TECHNOLOGY[self.variant(what, len(TECHNOLOGY))]

    def channel(self, what):
        return CHANNEL[self.variant(what, len(CHANNEL))]

    def cls(self, what):
        return CLASS[self.variant(what, len(CLASS))]

    def policy_v1(self, what):
        return {
            "name": self.string(what + ".name"),
            "unit_wh": self.u64(what + ".unit_wh"),
            "validity_months": self.u32(what + ".validity_months"),
            "max_transfers": self.option(what + ".max_transfers", self.u32),
            "hourly_matching": self.bool(what + ".hourly_matching"),
            "clock_skew_s": self.u64(what + ".clock_skew_s"),
        }

    def expiry(self, what):
        i = self.variant(what, 3)
        if i == 0:
            return {"MonthInclusive": {"months": self.u32(what + ".months")}}
        if i == 1:
            return {"AfterEnd": {"months": self.u32(what + ".months")}}
        return "Never"

    def extension(self, what):
        return {"produced_before": self.u64(what + ".produced_before"), "valid_until": self.u64(what + ".valid_until")}

    def classes(self, what):
        return {
            "self_use": self.cls(what + ".self_use"),
            "off_grid": self.cls(what + ".off_grid"),
            "hydrogen": self.cls(what + ".hydrogen"),
            "old_hydro_before": self.option(what + ".old_hydro_before", self.u64),
            "old_hydro": self.cls(what + ".old_hydro"),
            "storage": self.cls(what + ".storage"),
            "subsidised": self.cls(what + ".subsidised"),
        }

    def policy(self, what):
        return {
            "name": self.string(what + ".name"),
            "unit_wh": self.u64(what + ".unit_wh"),
            "zone": {"name": self.string(what + ".zone.name"), "offset_s": self.i32(what + ".zone.offset_s")},
            "expiry": self.expiry(what + ".expiry"),
            "extensions": self.vec(what + ".extensions", self.extension),
            "max_transfers": self.option(what + ".max_transfers", self.u32),
            "hourly_matching": self.bool(what + ".hourly_matching"),
            "max_reading_s": self.option(what + ".max_reading_s", self.u64),
            "clock_skew_s": self.u64(what + ".clock_skew_s"),
            "correction_window_months": self.u32(what + ".correction_window_months"),
            "owner_issuance": self.bool(what + ".owner_issuance"),
            "classes": self.classes(what + ".classes"),
            "reporting_start_month": self.u32(what + ".reporting_start_month"),
            "vintage": self.vintage(what + ".vintage"),
        }

    def vintage(self, what):
        i = self.variant(what, len(VINTAGE))
        if i == 1:
            return {"WithinMonths": self.u32(what + ".WithinMonths")}
        return VINTAGE[i]

    def beneficiary(self, what):
        i = self.variant(what, len(BENEFICIARY))
        out = {"kind": BENEFICIARY[i]}
        if i == 1:
            out["account"] = self.account(what + ".account")
        elif i == 2:
            out["product"] = self.string(what + ".product")
            out["quantity"] = self.u64(what + ".quantity")
            out["unit"] = self.string(what + ".unit")
        return out

    def purpose(self, what):
        i = self.variant(what, len(PURPOSE))
        out = {"kind": PURPOSE[i]}
        if PURPOSE[i] == "other":
            out["text"] = self.string(what + ".text")
        return out

    def site(self, what):
        return {"account": self.account(what + ".account"), "province": self.string(what + ".province")}

    def park_change(self, what):
        i = self.variant(what, 2)
        if i == 0:
            return {
                "Join": {
                    "account": self.account(what + ".Join.account"),
                    "province": self.string(what + ".Join.province"),
                    "from": self.u64(what + ".Join.from"),
                }
            }
        return {"Leave": {"account": self.account(what + ".Leave.account"), "at": self.u64(what + ".Leave.at")}}

    def attributes(self, what):
        return {
            "off_grid": self.bool(what + ".off_grid"),
            "conventional_hydro": self.bool(what + ".conventional_hydro"),
            "storage": self.bool(what + ".storage"),
            "hydrogen": self.bool(what + ".hydrogen"),
            "subsidised": self.bool(what + ".subsidised"),
            "user": self.option(what + ".user", self.account),
        }

    def approval(self, what):
        return {"regulator": self.account(what + ".regulator"), "signature": self.take(64, what + ".signature").hex()}

    def device_change(self, what):
        i = self.variant(what, 3)
        if i == 0:
            return {"Attributes": self.attributes(what + ".Attributes")}
        if i == 1:
            return {"Owner": self.account(what + ".Owner")}
        return {"Decommission": self.u64(what + ".Decommission")}


# The Command variants in index order: (variant name, kind name, fields). A field is
# (name, reader method); the order is the encoding order.
COMMANDS = [
    ("GenesisV1", "genesis-v1", [("policy", Reader.policy_v1), ("operator_name", Reader.string)]),
    ("RegisterAccount", "register-account", [("account", Reader.account), ("name", Reader.string), ("roles", Reader.u8)]),
    (
        "RegisterDeviceV1",
        "register-device-v1",
        [
            ("device", Reader.string),
            ("owner", Reader.account),
            ("technology", Reader.technology),
            ("capacity_w", Reader.u64),
            ("region", Reader.string),
            ("commissioned", Reader.u64),
        ],
    ),
    ("PostGeneration", "post-generation", [("device", Reader.string), ("interval", Reader.interval), ("energy", Reader.u64)]),
    ("PostConsumption", "post-consumption", [("account", Reader.account), ("interval", Reader.interval), ("energy", Reader.u64)]),
    (
        "PostDirectSupply",
        "post-direct-supply",
        [("device", Reader.string), ("consumer", Reader.account), ("interval", Reader.interval), ("energy", Reader.u64)],
    ),
    (
        "SettleTrade",
        "settle-trade",
        [("device", Reader.string), ("interval", Reader.interval), ("buyer", Reader.account), ("energy", Reader.u64)],
    ),
    ("Issue", "issue", [("device", Reader.string), ("interval", Reader.interval)]),
    ("Transfer", "transfer", [("bundle", Reader.u64), ("serials", Reader.serials), ("to", Reader.account)]),
    (
        "RetireV1",
        "retire-v1",
        [
            ("bundle", Reader.u64),
            ("serials", Reader.serials),
            ("beneficiary", Reader.string),
            ("purpose", Reader.string),
            ("consumption", Reader.interval),
        ],
    ),
    ("Withdraw", "withdraw", [("bundle", Reader.u64), ("serials", Reader.serials), ("reason", Reader.string)]),
    ("DeclareExclusion", "declare-exclusion", [("device", Reader.string), ("interval", Reader.interval), ("scheme", Reader.string)]),
    ("Genesis", "genesis", [("policy", Reader.policy), ("operator_name", Reader.string)]),
    (
        "RegisterDevice",
        "register-device",
        [
            ("device", Reader.string),
            ("owner", Reader.account),
            ("technology", Reader.technology),
            ("capacity_w", Reader.u64),
            ("region", Reader.string),
            ("commissioned", Reader.u64),
            ("attributes", Reader.attributes),
        ],
    ),
    (
        "PostMeterReading",
        "post-meter-reading",
        [("device", Reader.string), ("channel", Reader.channel), ("interval", Reader.interval), ("energy", Reader.u64)],
    ),
    (
        "CorrectReading",
        "correct-reading",
        [
            ("device", Reader.string),
            ("channel", Reader.channel),
            ("interval", Reader.interval),
            ("energy", Reader.u64),
            ("reason", Reader.string),
            ("approval", lambda r, w: r.option(w, r.approval)),
        ],
    ),
    ("AmendPolicy", "amend-policy", [("effective", Reader.u64), ("policy", Reader.policy), ("reason", Reader.string)]),
    ("ChangeDevice", "change-device", [("device", Reader.string), ("change", Reader.device_change)]),
    (
        "SettleMonth",
        "settle-month",
        [
            ("device", Reader.string),
            ("period", Reader.interval),
            ("buyer", Reader.account),
            ("energy", Reader.u64),
            ("price_fen_per_mwh", Reader.u64),
            ("network_charge_fen_per_mwh", lambda r, w: r.option(w, r.u64)),
        ],
    ),
    ("IssueMonth", "issue-month", [("device", Reader.string), ("year", Reader.u32), ("month", Reader.u32)]),
    ("ResolveFrozen", "resolve-frozen", [("bundle", Reader.u64), ("cancel", Reader.bool), ("reason", Reader.string)]),
    (
        "Retire",
        "retire",
        [
            ("bundle", Reader.u64),
            ("serials", Reader.serials),
            ("beneficiary", Reader.beneficiary),
            ("purpose", Reader.purpose),
            ("consumption", Reader.interval),
        ],
    ),
    (
        "RegisterPark",
        "register-park",
        [
            ("park", Reader.string),
            ("name", Reader.string),
            ("province", Reader.string),
            ("since", Reader.u64),
            ("members", lambda r, w: r.vec(w, r.site)),
        ],
    ),
    ("ChangePark", "change-park", [("park", Reader.string), ("change", Reader.park_change)]),
]

KINDS = [kind for _, kind, _ in COMMANDS]


def _command(r):
    index = r.variant("command variant", len(COMMANDS))
    variant, _, fields = COMMANDS[index]
    body = {}
    for name, read in fields:
        body[name] = read(r, f"{variant}.{name}")
    return {variant: body}


def decode_leaf(leaf):
    """Decodes one leaf (bytes) into the JSON form of `Entry`; raises DecodeError."""
    if not isinstance(leaf, (bytes, bytearray)):
        raise TypeError("leaf must be bytes")
    leaf = bytes(leaf)
    windowed = leaf.startswith(WINDOWED_MAGIC)
    if not (windowed or leaf.startswith(MAGIC)):
        raise DecodeError("not a greenledger leaf: it does not start with the magic bytes GLE 0x01 or GLE 0x02")
    if len(leaf) - len(MAGIC) > MAX_ENCODED:
        raise DecodeError(f"entry of {len(leaf) - len(MAGIC)} bytes exceeds the 1 MiB limit")
    r = Reader(leaf)
    r.at = len(MAGIC)
    time = r.u64("Entry.time")
    signer = r.account("CommandBody.signer")
    nonce = r.u64("CommandBody.nonce")
    expires = r.u64("CommandBody.expires") if windowed else None
    command = _command(r)
    signature = r.take(64, "SignedCommand.signature").hex()
    if r.at != len(leaf):
        raise DecodeError(f"{len(leaf) - r.at} trailing bytes after the entry")
    body = {"signer": signer, "nonce": nonce, "command": command}
    if windowed:
        # Serialised last, as the Rust field is declared; absent without a window.
        body["expires"] = expires
    return {"time": time, "signed": {"body": body, "signature": signature}}


def kind(entry):
    """The kind name (`transfer`, ...) of a decoded entry."""
    (variant,) = entry["signed"]["body"]["command"]
    return next(k for v, k, _ in COMMANDS if v == variant)


def body_bytes(leaf):
    """The encoded CommandBody inside a valid leaf: after magic and time, before the signature."""
    decode_leaf(leaf)
    return bytes(leaf[12:-64])


def signing_bytes(leaf, ledger_name):
    """The bytes the submitter of this leaf's command signed, for the ledger `ledger_name`."""
    prefix = WINDOWED_COMMAND_PREFIX if bytes(leaf).startswith(WINDOWED_MAGIC) else COMMAND_PREFIX
    return prefix + ledger_name.encode("utf-8") + b"\n" + body_bytes(leaf)


def leaf_hash(leaf):
    """RFC 6962 leaf hash: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + bytes(leaf)).digest()


def command_hash(leaf):
    """SHA-256 of the command-hash prefix and the encoded SignedCommand (leaf from offset 12)."""
    decode_leaf(leaf)
    prefix = WINDOWED_COMMAND_HASH_PREFIX if bytes(leaf).startswith(WINDOWED_MAGIC) else COMMAND_HASH_PREFIX
    return hashlib.sha256(prefix + bytes(leaf[12:])).digest()


def check_vectors(path):
    """Checks every vector of a golden vector file; returns a list of failure messages."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    failures = []
    for v in doc["vectors"]:
        name = v["name"]
        try:
            leaf = bytes.fromhex(v["leaf"])
            entry = decode_leaf(leaf)
        except (ValueError, DecodeError) as e:
            failures.append(f"{name}: {e}")
            continue
        checks = [
            ("entry", entry, v["entry"]),
            ("kind", kind(entry), v["kind"]),
            ("signing_bytes", signing_bytes(leaf, v["ledger_name"]).hex(), v["signing_bytes"]),
            ("leaf_hash", leaf_hash(leaf).hex(), v["leaf_hash"]),
            ("command_hash", command_hash(leaf).hex(), v["command_hash"]),
        ]
        for what, got, want in checks:
            if got != want:
                failures.append(f"{name}: {what} differs: decoded {json.dumps(got)}, file has {json.dumps(want)}")
    return failures, len(doc["vectors"])


def main(argv=None):
    p = argparse.ArgumentParser(description="Decode greenledger log leaves (hex, one per line on stdin) to JSON.")
    p.add_argument("--hashes", action="store_true", help="print the entry with its leaf hash and command hash")
    p.add_argument("--ledger", metavar="NAME", help="with --hashes: also print the signing bytes for this ledger")
    p.add_argument("--check-vectors", metavar="FILE", help="check a golden vector file instead of reading stdin")
    args = p.parse_args(argv)
    if args.ledger is not None and not args.hashes:
        p.error("--ledger needs --hashes")

    if args.check_vectors:
        failures, count = check_vectors(args.check_vectors)
        for f in failures:
            print(f"FAILED: {f}", file=sys.stderr)
        if failures:
            return 1
        print(f"OK: {count} vectors decode and hash as recorded")
        return 0

    out = sys.stdout
    for number, line in enumerate(sys.stdin, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            leaf = bytes.fromhex(text)
        except ValueError as e:
            print(f"line {number}: not hex: {e}", file=sys.stderr)
            return 1
        try:
            entry = decode_leaf(leaf)
        except DecodeError as e:
            print(f"line {number}: {e}", file=sys.stderr)
            return 1
        if args.hashes:
            obj = {"entry": entry, "leaf_hash": leaf_hash(leaf).hex(), "command_hash": command_hash(leaf).hex()}
            if args.ledger is not None:
                obj["signing_bytes"] = signing_bytes(leaf, args.ledger).hex()
        else:
            obj = entry
        out.write(json.dumps(obj, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
