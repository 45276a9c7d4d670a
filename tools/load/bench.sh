#!/bin/sh
# End-to-end figures for BENCHMARKS.md, with release binaries.
#
#   cargo build --release --bins
#   tools/load/bench.sh [COUNT] [RUNS]
#
# Creates a fresh ledger in a temporary directory, serves it on 127.0.0.1:50061, measures the
# machine's limits, then runs the load RUNS times at full rate, once at half the median rate,
# measures inclusion proofs and the audit replay, and prints disk bytes and server RSS per entry.
# Every line it prints is JSON from greenledger-load, or a "# ..." comment.
set -eu
COUNT=${1:-20000}
RUNS=${2:-3}
BIN=${BIN:-target/release}
ADDR=127.0.0.1:50061
DIR=$(mktemp -d /tmp/glbench.XXXXXX)
"$BIN/greenledger" init --data "$DIR/ledger" --name bench.greenledger.local/load >/dev/null
"$BIN/greenledger" serve --data "$DIR/ledger" --addr "$ADDR" >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DIR"' EXIT
sleep 1
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
echo "# nproc $(nproc); cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$BIN/greenledger-load" --measure-limits
LOAD="$BIN/greenledger-load --addr $ADDR --operator-key $DIR/ledger/operator.key --count $COUNT"
i=0
while [ "$i" -lt "$RUNS" ]; do
    $LOAD --checkpoint-latency
    i=$((i + 1))
done | tee "$DIR/full.json"
MEDIAN=$(sed -n 's/.*"per_s":\([0-9.]*\).*/\1/p' "$DIR/full.json" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
HALF=$(awk -v m="$MEDIAN" 'BEGIN {printf "%d", m / 2}')
echo "# half rate: $HALF commands/s"
$LOAD --rate "$HALF" --batch 32 --checkpoint-latency
"$BIN/greenledger-load" --addr "$ADDR" --proofs 5 --concurrency 4
AUDIT=$("$BIN/greenledger-load" --addr "$ADDR" --audit)
echo "$AUDIT"
ENTRIES=$(echo "$AUDIT" | sed -n 's/.*"entries":\([0-9]*\).*/\1/p')
echo "# entries ${ENTRIES:-?}; store bytes $(du -sb "$DIR/ledger/store" | cut -f1); server RSS kB $(rss)"
