#!/usr/bin/env bash
# The master's footprint and its cost per handed-off connection, for two sets of master JVM
# options side by side in one run: bin/herd's defaults (conf/jvm.options') and OLD_OPTS (the
# options herd shipped before issue 14). For each: RSS idle, then at least REQUESTS
# connection-per-request requests with wrk on loopback (hello, 2 workers, handoff; wrk stops on
# time only, so the run lasts what a 2 s warm-up's rate says REQUESTS take, and usually serves
# more as the JIT warms up), then RSS after, req/s, and what the master allocated and how many
# young GCs it ran over them (heap bytes per connection: the hot path's garbage, plus Jolokia's
# one read before and after). The warm-up is not counted. A run of bin/herd makes and uses the
# master's AOT cache as usual (HERD_AOT=off for none).
# Targets (issue 14): RSS <= 64 MiB idle, <= 72 MiB after load; throughput ratio ~1.
#
#   bench/master.sh [REQUESTS=100000] [SOAK_SECONDS=0]
# SOAK_SECONDS > 0 adds a connection-per-request soak of that long (wrk -c50) before the last RSS.
# NEW_OPTS / OLD_OPTS override either side's options (HERD_JAVA_OPTS for bin/herd run).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"
REQUESTS=${1:-100000}
SOAK_SECONDS=${2:-0}
PORT=${PORT:-18091}
OLD_OPTS=${OLD_OPTS:--XX:+UseSerialGC -Xmx256m -XX:MaxDirectMemorySize=256m -XX:+ExitOnOutOfMemoryError}
NEW_OPTS=${NEW_OPTS:-}   # empty: bin/herd's defaults
DEFAULTS="(bin/herd's defaults)"

rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
young_gcs() { "$JAVA_HOME/bin/jstat" -gc "$1" | awk 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "YGC") column = i} NR == 2 {print $column}'; }
allocated_bytes() { # the master's heap allocation so far, as its Threading MBean counts it
  curl -sf -u "herd:$(cat "$work/jolokia.password")" "${jolokia}read/java.lang:type=Threading/TotalThreadAllocatedBytes" \
    | sed -n 's/.*"value":\([0-9]*\).*/\1/p'
}

# measure NAME OPTS PORT: one herd run with master options OPTS (empty: bin/herd's defaults).
measure() {
  local name=$1 opts=$2 port=$3
  hello_config "$port"
  HERD_JAVA_OPTS="$opts" "$HERD_HOME/bin/herd" run "$work/herd.properties" > "$work/herd.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do [ "$(grep -c -- '-> online' "$work/herd.log" 2>/dev/null)" -ge 2 ] && break; sleep 0.1; done
  [ "$(grep -c -- '-> online' "$work/herd.log")" -ge 2 ] || { echo "bench: herd's workers did not come online" >&2; cat "$work/herd.log" >&2; exit 1; }
  jolokia=$(sed -n 's/.*Jolokia on \(http[^ ]*\).*/\1/p' "$work/herd.log" | head -n1)
  wait_for "$port"
  sleep 5
  local idle gcs0 bytes0 rps requests gcs1 bytes1 after soaked=-
  idle=$(rss_mib "$pid")
  # wrk counts requests but stops on time only: run it long enough for REQUESTS at the rate a short run shows
  wrk -t1 -c50 -d2s -H "Connection: close" "http://127.0.0.1:$port/" > "$work/wrk.out" 2>&1
  local seconds
  seconds=$(awk -v n="$REQUESTS" '/^Requests\/sec:/ {s = int(n / $2 + 0.999); print (s < 1 ? 1 : s)}' "$work/wrk.out")
  gcs0=$(young_gcs "$pid"); bytes0=$(allocated_bytes)
  wrk -t1 -c50 -d"${seconds}s" -H "Connection: close" "http://127.0.0.1:$port/" > "$work/wrk.out" 2>&1
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
  requests=$(awk '/ requests in / {print $1}' "$work/wrk.out")
  gcs1=$(young_gcs "$pid"); bytes1=$(allocated_bytes)
  after=$(rss_mib "$pid")
  if [ "$SOAK_SECONDS" -gt 0 ]; then
    wrk -t1 -c50 -d"${SOAK_SECONDS}s" -H "Connection: close" "http://127.0.0.1:$port/" > /dev/null 2>&1
    soaked=$(rss_mib "$pid")
  fi
  printf '%-4s %9s %10s %10s %9s %10.0f %9d %14.0f   %s\n' "$name" "$idle" "$after" "$soaked" "$requests" "$rps" "$((gcs1 - gcs0))" \
    "$(echo "($bytes1 - $bytes0) / $requests" | bc -l)" "${opts:-$DEFAULTS}"
  echo "$rps" > "$work/$name.rps"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "master RSS (MiB) and cost over about $REQUESTS connection-per-request requests (wrk -t1 -c50, loopback)"
printf '%-4s %9s %10s %10s %9s %10s %9s %14s   %s\n' set idle after soaked requests req/s "young GCs" "bytes/conn" options
measure old "$OLD_OPTS" "$PORT"
measure new "$NEW_OPTS" "$((PORT + 1))"
printf 'throughput new / old: %.2f\n' "$(echo "$(cat "$work/new.rps") / $(cat "$work/old.rps")" | bc -l)"
