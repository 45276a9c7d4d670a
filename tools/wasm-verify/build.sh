#!/usr/bin/env bash
# Rebuilds the explorer's browser verifier, src/explorer/static/verify.wasm, from this crate and
# greenledger-core. Needs only `rustup target add wasm32-unknown-unknown` (no wasm-bindgen, no
# wasm-opt). Compare the result with the committed file, or with the one the server sends
# (`curl http://HOST/static/verify.wasm | sha256sum`).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -p greenledger-wasm-verify --target wasm32-unknown-unknown --profile wasm
target="${CARGO_TARGET_DIR:-target}"
cp "$target/wasm32-unknown-unknown/wasm/greenledger_wasm_verify.wasm" src/explorer/static/verify.wasm
sha256sum src/explorer/static/verify.wasm
