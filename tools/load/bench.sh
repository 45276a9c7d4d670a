#!/bin/sh
# The end-to-end figures of BENCHMARKS.md, with release binaries:
#
#   cargo build --release --bins && tools/load/bench.sh > bench.txt
#
# Every line is a label, the time and load average, then JSON from greenledger-load (PGPEER:
# from tools/pg-peer/run.sh, the hash-chained PostgreSQL registry doing the same checked
# transfers and retirements, in the same session; it needs PostgreSQL installed and prints how
# to install it otherwise). Takes about 9 minutes on 2 cores and needs about 3 GB in /tmp. BIN,
# SMALL_PORT and LARGE_PORT override the defaults; PGPEER=0 leaves the peer out; LARGE=0 stops
# after the small ledger and the peer (about 5 minutes).
set -u
B=${BIN:-target/release}
L=$B/greenledger-load
SP=127.0.0.1:${SMALL_PORT:-50081}
LP=127.0.0.1:${LARGE_PORT:-50082}
stamp() { echo "$(date -u +%T) load=$(cut -d' ' -f1 /proc/loadavg)"; }
cpu() { awk '{print ($14+$15)/100}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
state() { echo "rss_kb=$(rss "$1") store_bytes=$(du -sb "$2/store" | cut -f1)"; }
serve() { "$B/greenledger" serve --data "$1" --addr "$2" >/dev/null 2>&1 & PID=$!; sleep 1; }
echo "# nproc=$(nproc) cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for i in 1 2 3; do echo "LIMITS $(stamp) $($L --measure-limits)"; done

# Full rate: five runs of 100k commands on one fresh ledger, then half that rate.
D=$(mktemp -d /tmp/glbench.XXXXXX)
"$B/greenledger" init --data "$D/small" --name bench.greenledger.local/small --preset eecs-go >/dev/null
serve "$D/small" "$SP"
for i in 1 2 3 4 5; do
    c0=$(cpu $PID)
    echo "FULL $(stamp) $($L --addr $SP --operator-key "$D/small/operator.key" --count 100000 --checkpoint-latency) server_cpu_s=$(echo "$(cpu $PID) $c0" | awk '{print $1-$2}')"
done | tee "$D/full.txt"
echo "SMALLSTATE $(state $PID "$D/small")"
MEDIAN=$(sed -n 's/.*"per_s":\([0-9.]*\).*/\1/p' "$D/full.txt" | sort -n | sed -n 3p)
RATE=${RATE:-$(awk -v m="$MEDIAN" 'BEGIN {printf "%d", m / 2}')}
for i in 1 2 3; do echo "HALF $(stamp) $($L --addr $SP --operator-key "$D/small/operator.key" --count 40000 --rate "$RATE" --batch 32 --window 4 --checkpoint-latency)"; done
echo "SMALLAUDIT $(stamp) $($L --addr $SP --audit --limits)"
kill $PID; wait $PID 2>/dev/null

# The peer, between the two ledgers, with no greenledger server running.
if [ "${PGPEER:-1}" != 0 ]; then
    echo "PGPEER $(stamp) $("$(dirname "$0")/../pg-peer/run.sh" 2>&1 | tail -n 1)"
fi

# LARGE=0 stops here (the 10^6 and 10^7 figures also come from tools/load/bench-large.sh).
if [ "${LARGE:-1}" = 0 ]; then rm -rf "$D"; exit 0; fi

# Larger ledger: grow to about 1M entries in 200k chunks, then proofs and the audit replay.
"$B/greenledger" init --data "$D/large" --name bench.greenledger.local/large --preset eecs-go >/dev/null
serve "$D/large" "$LP"
echo "EMPTY rss_kb=$(rss $PID)"
for i in 1 2 3 4 5; do
    c0=$(cpu $PID)
    echo "GROW $(stamp) $($L --addr $LP --operator-key "$D/large/operator.key" --count 200000) server_cpu_s=$(echo "$(cpu $PID) $c0" | awk '{print $1-$2}')"
    echo "GROWSTATE $(state $PID "$D/large")"
done
for i in 1 2 3; do echo "LARGE40K $(stamp) $($L --addr $LP --operator-key "$D/large/operator.key" --count 40000)"; done
for i in 1 2 3; do echo "PROOFS $(stamp) $($L --addr $LP --proofs 5 --concurrency 4)"; done
echo "AFTERPROOFS rss_kb=$(rss $PID)"
echo "AUDIT $(stamp) $($L --addr $LP --audit --limits)"
echo "AUDIT1 $(stamp) $($L --addr $LP --audit --audit-threads 0)"
echo "AUDITSERIAL $(stamp) $($L --addr $LP --audit --audit-one-by-one)"
echo "AFTERAUDIT rss_kb=$(rss $PID)"
kill $PID; wait $PID 2>/dev/null
rm -rf "$D"
