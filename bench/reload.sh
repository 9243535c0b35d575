#!/usr/bin/env bash
# Zero-downtime reloads, measured: herd clusters hello with 2 workers; under a 50-connection
# keep-alive load, 2 reloads and 2 graceful reloads happen at 20/40/60/80 % of the run.
#   pass 1: wrk -c50 -d20s, for requests and errors (target: 0 errors);
#   pass 2: the same schedule under bench/Reload.java's own wrk-like load, which keeps every
#           request's latency, for p99 inside vs outside the reload windows (target: <= 2x).
# The reloads go through the ClusterMXBean, attached locally as JConsole would.
#
#   bench/reload.sh [SECONDS=20]
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"
SECONDS_PER_RUN=${1:-20}
PORT=${HERD_PORT:-18083}

hello_config "$PORT" "app.hello.kill.timeout = 10s"
start_herd
curl -sf "http://127.0.0.1:$PORT/" >/dev/null || { echo "bench: herd does not answer" >&2; cat "$work/herd.log" >&2; exit 1; }

reload() { "$JAVA" "$HERD_HOME/bench/Reload.java" "$@"; }

echo "warming up (wrk, ${SECONDS_PER_RUN}s)..." >&2
wrk -t1 -c50 -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$PORT/" >/dev/null

echo "== pass 1: wrk -t1 -c50 -d${SECONDS_PER_RUN}s with 2 reloads and 2 graceful reloads inside"
reload trigger "$herd_pid" hello "$SECONDS_PER_RUN" 2> "$work/trigger.log" &
trigger=$!
wrk -t1 -c50 -d"${SECONDS_PER_RUN}s" --latency "http://127.0.0.1:$PORT/" > "$work/wrk.out"
wait "$trigger"
cat "$work/trigger.log"
awk '/requests in/ {print "requests: " $1} /Socket errors/ {print} /Non-2xx/ {print} $1 == "99%" {print "p99 (whole run): " $2}' "$work/wrk.out"
grep -q "Socket errors\|Non-2xx" "$work/wrk.out" || echo "errors: 0"

echo "== pass 2: the same schedule, p99 inside vs outside the reload windows"
reload measure "$herd_pid" hello "$PORT" "$SECONDS_PER_RUN" 50
