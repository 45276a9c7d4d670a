#!/usr/bin/env bash
# Measurements at the large ledger built by `greenledger-load --fill`, and the same load on a
# ledger of 10^5 entries, in one session.
set -u
BIN=target/release
rss() { awk '/VmRSS/ {print $2" kB"}' /proc/$1/status; }
echo "== large ledger: $(du -sb /tmp/fill/store | cut -f1) bytes on disk"
$BIN/greenledger serve --data /tmp/fill --addr 127.0.0.1:50091 > /tmp/m-serve.log 2>&1 &
SP=$!
for i in $(seq 1 300); do (echo > /dev/tcp/127.0.0.1/50091) 2>/dev/null && break; sleep 0.2; done
head -1 /tmp/m-serve.log
echo "RSS after open: $(rss $SP)"
for r in 1 2 3; do echo "PROOFS $r $($BIN/greenledger-load --addr 127.0.0.1:50091 --proofs 5 --concurrency 4)"; done
echo "RSS after proofs: $(rss $SP)"
for r in 1 2 3; do echo "LOAD10M $r $($BIN/greenledger-load --addr 127.0.0.1:50091 --operator-key /tmp/fill/operator.key --count 60000 2>/dev/null)"; done
echo "RSS after load: $(rss $SP)"
kill $SP; wait $SP 2>/dev/null
echo "== small ledger"
rm -rf /tmp/small
$BIN/greenledger init --data /tmp/small --name small.local/ledger --preset eecs-go > /dev/null
$BIN/greenledger serve --data /tmp/small --addr 127.0.0.1:50092 > /tmp/m-serve2.log 2>&1 &
SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/50092) 2>/dev/null && break; sleep 0.1; done
echo "WARMUP $($BIN/greenledger-load --addr 127.0.0.1:50092 --operator-key /tmp/small/operator.key --count 100000 2>/dev/null)"
for r in 1 2 3; do echo "LOAD1E5 $r $($BIN/greenledger-load --addr 127.0.0.1:50092 --operator-key /tmp/small/operator.key --count 60000 2>/dev/null)"; done
for r in 1 2 3; do echo "PROOFS_SMALL $r $($BIN/greenledger-load --addr 127.0.0.1:50092 --proofs 5 --concurrency 4)"; done
echo "RSS small: $(rss $SP)"
kill $SP; wait $SP 2>/dev/null
