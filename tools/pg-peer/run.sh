#!/bin/sh
# The benchmark's peer: a hash-chained PostgreSQL registry doing the same checked transfers and
# retirements as the ledger (schema.sql, transfer.sql, retire.sql), driven by pgbench in a
# throw-away cluster. Prints one JSON line:
#
#   tools/pg-peer/run.sh
#
# Needs PostgreSQL's server binaries (Debian: `apt-get install -y postgresql`); installs nothing.
# The cluster lives in a temporary directory, listens only on a Unix socket there, and is stopped
# and deleted at the end. Run as root, the server runs as the `postgres` user (initdb refuses
# root); otherwise as the current user. Settings, all overridable from the environment:
#
#   PGBIN     server binaries          (default: /usr/lib/postgresql/15/bin, else from PATH)
#   ACCOUNTS  accounts                 (default 1000)
#   BUNDLES   bundles of 1,000 certificates each (default 100000)
#   CLIENTS   pgbench clients (-c)     (default 4)
#   THREADS   pgbench threads (-j)     (default 2)
#   SECS      seconds of load (-T)     (default 30)
#   MIX       pgbench weights          (default "transfer.sql@6 retire.sql@1")
#   PGTMP     where the temporary directory goes (default /tmp)
#
# synchronous_commit is on (the default), so a commit returns after its WAL is flushed: durable
# like the ledger's ack. Everything else is PostgreSQL's default configuration.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ACCOUNTS=${ACCOUNTS:-1000}
BUNDLES=${BUNDLES:-100000}
CLIENTS=${CLIENTS:-4}
THREADS=${THREADS:-2}
SECS=${SECS:-30}
MIX=${MIX:-"transfer.sql@6 retire.sql@1"}

if [ -z "${PGBIN:-}" ]; then
    if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
        PGBIN=/usr/lib/postgresql/15/bin
    else
        PGBIN=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
    fi
fi
for tool in initdb pg_ctl postgres psql pgbench; do
    if [ ! -x "$PGBIN/$tool" ] && ! command -v "$tool" >/dev/null 2>&1; then
        echo "pg-peer: PostgreSQL's $tool is not installed; on Debian or Ubuntu:" >&2
        echo "  sudo apt-get install -y postgresql" >&2
        exit 3
    fi
done
bin() { if [ -x "$PGBIN/$1" ]; then echo "$PGBIN/$1"; else command -v "$1"; fi; }

# As root the server runs as `postgres`; everything it touches must be that user's.
AS=""
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "pg-peer: run as root, but there is no postgres user to run the server" >&2; exit 3; }
    AS="runuser -u postgres --"
fi

T=$(mktemp -d "${PGTMP:-/tmp}/glpgpeer.XXXXXX")
chmod 755 "$T"
mkdir "$T/data" "$T/sock" "$T/log"
chmod 700 "$T/data"
[ -z "$AS" ] || chown postgres "$T/data" "$T/sock" "$T/log"
started=""
cleanup() {
    if [ -n "$started" ]; then
        $AS "$(bin pg_ctl)" -D "$T/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load_at_start=$(cut -d' ' -f1 /proc/loadavg)
# The disk's own rate as greenledger-load --measure-limits measures it: 4 KiB appends, each
# flushed (O_DSYNC: a write and an fdatasync), 500 of them.
fsync_s=$(dd if=/dev/zero of="$T/log/fsync.test" bs=4k count=500 oflag=dsync 2>&1 \
    | sed -n 's/.*copied, \([0-9.e-]*\) s.*/\1/p')
fsync_per_s=$(awk -v s="${fsync_s:-0}" 'BEGIN {if (s > 0) printf "%.0f", 500 / s}')
rm -f "$T/log/fsync.test"

$AS "$(bin initdb)" -D "$T/data" -U glpeer -A trust -E UTF8 --locale=C >"$T/log/initdb.txt" 2>&1 \
    || { cat "$T/log/initdb.txt" >&2; exit 4; }
$AS "$(bin pg_ctl)" -D "$T/data" -l "$T/log/server.txt" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$T/sock' -c synchronous_commit=on -c fsync=on -c track_wal_io_timing=on" \
    start >/dev/null || { cat "$T/log/server.txt" >&2; exit 4; }
started=1
version=$("$(bin postgres)" --version | awk '{print $3}')
PSQL="$(bin psql) -X -q -h $T/sock -U glpeer -d postgres -v ON_ERROR_STOP=1"
$PSQL -v accounts="$ACCOUNTS" -v bundles="$BUNDLES" -f "$HERE/schema.sql" >/dev/null
$PSQL -c "SELECT pg_stat_reset_shared('wal')" >/dev/null

scripts=""
for s in $MIX; do scripts="$scripts -f $HERE/$s"; done
cd "$T/log"
# shellcheck disable=SC2086  # the script list splits on purpose
"$(bin pgbench)" -n -h "$T/sock" -U glpeer -M prepared -c "$CLIENTS" -j "$THREADS" -T "$SECS" \
    -D accounts="$ACCOUNTS" -D bundles="$BUNDLES" -l --log-prefix=tx $scripts postgres >"$T/log/pgbench.txt" 2>&1 \
    || { cat "$T/log/pgbench.txt" >&2; exit 5; }
load_at_end=$(cut -d' ' -f1 /proc/loadavg)

tps=$(awk '/^tps = / {print $3; exit}' "$T/log/pgbench.txt")
lat_avg=$(awk '/^latency average = / {print $4; exit}' "$T/log/pgbench.txt")
# Per-transaction logs: the third field is the latency in microseconds.
cat tx.* | awk '{print $3}' | sort -n >"$T/log/lat.txt"
n=$(wc -l <"$T/log/lat.txt")
pct() { awk -v n="$n" -v p="$1" 'NR == int(n * p + 0.999999) {printf "%.3f", $1 / 1000; exit}' "$T/log/lat.txt"; }
p50=$(pct 0.50)
p99=$(pct 0.99)
max=$(tail -n 1 "$T/log/lat.txt" | awk '{printf "%.3f", $1 / 1000}')

# The run's result checked: every row's hash is sha256(prev || payload) and prev is the previous
# row's hash; no certificate was created or lost; refusals appended nothing.
checks=$($PSQL -At -F ' ' -c "
    SELECT (SELECT count(*) FROM log WHERE seq > 0),
           (SELECT count(*) = 0 FROM (
                SELECT seq, prev, hash, payload, lag(hash) OVER (ORDER BY seq) AS before FROM log) c
            WHERE hash <> sha256(prev || payload) OR (seq > 0 AND prev IS DISTINCT FROM before)),
           (SELECT hash = (SELECT hash FROM log ORDER BY seq DESC LIMIT 1) FROM chain_head),
           (SELECT sum(serial_end - serial_start) = $BUNDLES::bigint * 1000 FROM certificates),
           (SELECT count(*) FROM log WHERE seq > 0 AND convert_from(payload, 'UTF8')::jsonb->>'kind' = 'retire'),
           (SELECT count(*) FROM claims),
           (SELECT wal_sync FROM pg_stat_wal),
           (SELECT round((wal_sync_time / greatest(wal_sync, 1))::numeric, 3) FROM pg_stat_wal)")
set -- $checks
appended=$1 chain_ok=$2 head_ok=$3 conserved=$4 retirements=$5 claims=$6 wal_syncs=$7 wal_sync_ms=$8
[ "$chain_ok" = t ] && [ "$head_ok" = t ] && [ "$conserved" = t ] && [ "$retirements" = "$claims" ] && ok=true || ok=false
refused=$((n - appended))

printf '{"mode":"pg-peer","postgres":"%s","clients":%s,"threads":%s,"duration_s":%s,"mix":"%s","accounts":%s,"bundles":%s,' \
    "$version" "$CLIENTS" "$THREADS" "$SECS" "$MIX" "$ACCOUNTS" "$BUNDLES"
printf '"synchronous_commit":"on","transactions":%s,"appended":%s,"refused":%s,"tps":%s,"appended_per_s":%s,' \
    "$n" "$appended" "$refused" "$tps" "$(awk -v a="$appended" -v s="$SECS" 'BEGIN {printf "%.1f", a / s}')"
printf '"latency_avg_ms":%s,"p50_ms":%s,"p99_ms":%s,"max_ms":%s,"chain_verified":%s,"fsyncs_per_s":%s,' \
    "$lat_avg" "$p50" "$p99" "$max" "$ok" "${fsync_per_s:-null}"
printf '"wal_syncs":%s,"wal_sync_ms_avg":%s,"load_start":%s,"load_end":%s}\n' \
    "$wal_syncs" "$wal_sync_ms" "$load_at_start" "$load_at_end"
[ "$ok" = true ]
