#!/usr/bin/env bash
# The large-ledger figures of BENCHMARKS.md: grow a ledger in-process with `greenledger-load
# --fill` to 10^6 entries, measure it over gRPC and HTTP, grow it to 10^7, measure again.
#
#   cargo build --release --bins && tools/load/bench-large.sh > large.txt
#
# Needs about 20 GB in $DIR (default /tmp/glfill) and 20-40 minutes on 2 cores. BIN overrides
# target/release. MEASURE_ONLY=TAG measures the ledger already in $DIR without growing it.
set -u
B=${BIN:-target/release}
L=$B/greenledger-load
D=${DIR:-/tmp/glfill}
stamp() { echo "$(date -u +%T) load=$(cut -d' ' -f1 /proc/loadavg)"; }
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
measure() {
    local tag=$1
    "$B/greenledger" serve --data "$D" --addr 127.0.0.1:50091 --http-addr 127.0.0.1:50093 > "$D.serve.log" 2>&1 &
    local PID=$!
    for i in $(seq 1 600); do (echo > /dev/tcp/127.0.0.1/50091) 2>/dev/null && break; sleep 0.2; done
    echo "$tag OPEN $(stamp) rss_kb=$(rss $PID) store_bytes=$(du -sb "$D/store" | cut -f1)"
    for r in 1 2 3; do echo "$tag PROOFS $(stamp) $($L --addr 127.0.0.1:50091 --proofs 5 --concurrency 4)"; done
    for r in 1 2 3; do echo "$tag TILES $(stamp) $($L --tiles 127.0.0.1:50093 --tile-secs 5 --concurrency 4)"; done
    echo "$tag AFTERREADS rss_kb=$(rss $PID)"
    for r in 1 2 3; do echo "$tag LOAD $(stamp) $($L --addr 127.0.0.1:50091 --operator-key "$D/operator.key" --count 60000 2>/dev/null)"; done
    echo "$tag AFTERLOAD rss_kb=$(rss $PID) store_bytes=$(du -sb "$D/store" | cut -f1)"
    kill $PID; wait $PID 2>/dev/null
}
echo "# nproc=$(nproc) cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for i in 1 2 3; do echo "LIMITS $(stamp) $($L --measure-limits)"; done
if [ -n "${MEASURE_ONLY:-}" ]; then measure "$MEASURE_ONLY"; exit 0; fi
rm -rf "$D"
echo "FILL1M $(stamp) $($L --fill "$D" --count 1000000)"
measure E6
echo "FILL10M $(stamp) $($L --fill "$D" --count 9000000)"
measure E7
for i in 1 2 3; do echo "LIMITS $(stamp) $($L --measure-limits)"; done
