#!/bin/sh
# The replicated log's figures of BENCHMARKS.md (greenledger serve --log postgres://…), beside the
# embedded sled store in the same run, with release binaries:
#
#   cargo build --release --bins && tools/load/bench-replicated.sh > bench-replicated.txt
#
# A throw-away PostgreSQL 15 cluster (Debian's postgresql; synchronous_commit on, fsync on, the
# defaults) on a free local port; a greenledger node leading it under load, then a second node
# following, sampled for its lag under load (greenledger-load --follower). Lines: a label,
# the time and load average, then JSON from greenledger-load. About 6 minutes on 2 cores.
# BIN overrides the binaries' directory, RUNS the full-rate runs per store (default 3), COUNT
# the commands per run (default 100000). Failover times come from the test suite instead:
#
#   GREENLEDGER_FAILOVER_ROUNDS=20 GREENLEDGER_FAILOVER_TTL=10s \
#     cargo test --release --test replication the_leader_killed -- --nocapture
set -eu
B=${BIN:-target/release}
L=$B/greenledger-load
RUNS=${RUNS:-3}
COUNT=${COUNT:-100000}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "bench-replicated: PostgreSQL is not installed (apt-get install -y postgresql)" >&2; exit 3; }
AS=""
[ "$(id -u)" = 0 ] && AS="runuser -u postgres --"
stamp() { echo "$(date -u +%T) load=$(cut -d' ' -f1 /proc/loadavg)"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; }
median() { sed -n 's/.*"per_s":\([0-9.]*\).*/\1/p' "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

T=$(mktemp -d /tmp/glrepl.XXXXXX)
chmod 755 "$T"
mkdir "$T/pg"
[ -z "$AS" ] || chown postgres "$T/pg"
PGPORT=$(port)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    $AS "$PGBIN/pg_ctl" -D "$T/pg/data" stop -m fast >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
$AS "$PGBIN/initdb" -D "$T/pg/data" -A trust -U postgres >/dev/null
$AS "$PGBIN/pg_ctl" -D "$T/pg/data" -l "$T/pg/log" -w -o "-p $PGPORT -k $T/pg -c listen_addresses=127.0.0.1" start >/dev/null
$AS "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE greenledger"
URL="postgres://postgres@127.0.0.1:$PGPORT/greenledger"
psql_() { $AS "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d greenledger -Atc "$1"; }
echo "# nproc=$(nproc) cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) postgres=$($PGBIN/postgres --version)"
echo "LIMITS $(stamp) $($L --measure-limits)"

# sled: the embedded default store.
"$B/greenledger" init --data "$T/sled" --name bench.greenledger.local/sled --preset eecs-go >/dev/null
SP=$(port)
"$B/greenledger" serve --data "$T/sled" --addr "127.0.0.1:$SP" >/dev/null 2>&1 &
SPID=$!
PIDS="$PIDS $SPID"
wait_port "$SP"
for i in $(seq 1 "$RUNS"); do
    echo "SLED $(stamp) $($L --addr "127.0.0.1:$SP" --operator-key "$T/sled/operator.key" --count "$COUNT")"
done | tee "$T/sled.txt"
kill $SPID; wait $SPID 2>/dev/null || true

# PostgreSQL: one node, then a second one. The throughput and latency figures are the leader's
# with no follower sharing these two cores (in a deployment each node has its own machine);
# the follower then joins, catches up, and its lag is sampled under another full-rate run.
"$B/greenledger" init --data "$T/n0" --name bench.greenledger.local/pg --preset eecs-go --log "$URL" >/dev/null
mkdir -p "$T/n1" && cp "$T/n0/log.key" "$T/n1/"
P0=$(port); P1=$(port)
"$B/greenledger" serve --data "$T/n0" --addr "127.0.0.1:$P0" --log "$URL" >"$T/n0.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$P0"
for _ in $(seq 1 300); do
    [ -n "$(psql_ "SELECT address FROM lease WHERE expires_at > now()")" ] && break
    sleep 0.1
done
LEADER=127.0.0.1:$P0
FOLLOWER=127.0.0.1:$P1
for i in $(seq 1 "$RUNS"); do
    echo "PG $(stamp) $($L --addr "$LEADER" --operator-key "$T/n0/operator.key" --count "$COUNT")"
done | tee "$T/pg.txt"
MEDIAN=$(median "$T/pg.txt")
RATE=$(awk -v m="$MEDIAN" 'BEGIN {printf "%d", m / 2}')
for i in 1 2 3; do
    echo "PGHALF $(stamp) $($L --addr "$LEADER" --operator-key "$T/n0/operator.key" --count 40000 --rate "$RATE" --batch 32 --window 4)"
done
"$B/greenledger" serve --data "$T/n1" --addr "$FOLLOWER" --log "$URL" >"$T/n1.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$P1"
# The follower first replays what the leader already holds.
size() { "$B/greenledger" show checkpoint --server "http://$1" --json | sed -n 's/.*"size":\([0-9]*\).*/\1/p'; }
c0=$(date +%s.%N)
while [ "$(size "$FOLLOWER")" != "$(size "$LEADER")" ]; do sleep 0.2; done
echo "CATCHUP $(stamp) {\"entries\":$(size "$LEADER"),\"seconds\":$(echo "$(date +%s.%N) $c0" | awk '{printf "%.1f", $1-$2}')}"
for i in $(seq 1 "$RUNS"); do
    echo "PGLAG $(stamp) $($L --addr "$LEADER" --operator-key "$T/n0/operator.key" --count "$COUNT" --follower "$FOLLOWER")"
done
SLED=$(median "$T/sled.txt")
echo "SUMMARY {\"sled_per_s_median\":$SLED,\"pg_per_s_median\":$MEDIAN,\"pg_over_sled\":$(awk -v a="$MEDIAN" -v b="$SLED" 'BEGIN {printf "%.3f", a / b}'),\"half_rate\":$RATE,\"log_batches\":$(psql_ 'SELECT count(*) FROM log_batches'),\"entries\":$(psql_ 'SELECT size FROM log_head')}"
