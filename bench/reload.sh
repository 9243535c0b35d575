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
HERD_HOME=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
. "$HERD_HOME/bin/java25.sh"
find_java25
SECONDS_PER_RUN=${1:-20}
PORT=${HERD_PORT:-18083}

command -v wrk >/dev/null || { echo "bench: installing wrk" >&2; apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }
[ -f "$HERD_HOME/service/target/herd-service.jar" ] && [ -f "$HERD_HOME/examples/hello/target/hello.jar" ] \
  || (cd "$HERD_HOME" && mvn -B -q -DskipTests package)

work=$(mktemp -d /tmp/herd-bench.XXXXXX)
herd_pid=
cleanup() {
  [ -n "$herd_pid" ] && { kill "$herd_pid" 2>/dev/null || true; wait "$herd_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/herd.properties" <<CONF
herd.logs.dir = $work/logs
app.hello.listen = 127.0.0.1:$PORT
app.hello.instances = 2
app.hello.jar = $HERD_HOME/examples/hello/target/hello.jar
app.hello.jvm.options = -XX:+UseSerialGC -Xmx64m -Xss256k
app.hello.kill.timeout = 10s
CONF
"$HERD_HOME/bin/herd" run "$work/herd.properties" > "$work/herd.log" 2>&1 &
herd_pid=$!
for _ in $(seq 1 300); do [ "$(grep -c -- '-> online' "$work/herd.log")" -ge 2 ] && break; sleep 0.1; done
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
