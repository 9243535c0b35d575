#!/usr/bin/env bash
# What herd's proxy dispatch costs against HAProxy: the plain example (the JDK's HTTP server, no
# herd code) runs as 2 worker JVMs under herd in proxy dispatch; HAProxy (mode tcp, round-robin)
# is put in front of the same two workers. wrk measures both side by side in one run on loopback,
# keep-alive (-c50) and one connection per request (Connection: close), rounds interleaved.
# Prints req/s and p99 for each, and the ratio herd / HAProxy (target: keep-alive >= 1.0).
# The machine is shared: read the ratios, not the numbers.
#
# Then a reload under keep-alive load (issue 16): plain without a graceful shutdown
# (PLAIN_SHUTDOWN=abrupt: its JVM exits at SIGTERM, cutting what is open), kill.timeout 3s, one
# reload under wrk -c10, run with proxy.http off and on; prints the requests and the errors
# (socket errors + non-2xx) of each. Target: 0 errors with proxy.http.
#
#   bench/proxy.sh [ROUNDS=3] [SECONDS=10]
# HERD_PROXY_THREADS sets herd.proxy.threads (default: herd's, one per core); HAProxy runs with
# its defaults (one thread per core too). PROXY_HTTP=true runs the table with app.plain.proxy.http
# on (what following HTTP costs the relay). PARTS=table or PARTS=reload runs only that part
# (default: both); RELOAD_SECONDS (default 20): the reload comes that long / 2 after Reload.java
# has attached (a few seconds after it starts), and wrk runs 15 s longer than that, so that the
# drain and the SIGTERM after it (up to 2 x kill.timeout for the 2 workers) fall inside its run.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-10}
HERD_PORT=${HERD_PORT:-18083}
HAPROXY_PORT=${HAPROXY_PORT:-18084}
PARTS=${PARTS:-table reload}
RELOAD_SECONDS=${RELOAD_SECONDS:-20}

command -v haproxy >/dev/null || { echo "bench: installing haproxy" >&2; apt-get install -y -qq haproxy >/dev/null || { apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; }; }
[ -f "$HERD_HOME/examples/plain/target/plain.jar" ] || (cd "$HERD_HOME" && mvn -B -q -DskipTests package)

# plain_config [EXTRA KEY = VALUE LINES]: herd with plain, 2 workers, in proxy dispatch on HERD_PORT.
plain_config() {
  cat > "$work/herd.properties" <<CONF
herd.logs.dir = $work/logs
herd.jolokia.port = 0
herd.jolokia.password.file = $work/jolokia.password
${HERD_PROXY_THREADS:+herd.proxy.threads = $HERD_PROXY_THREADS}
app.plain.listen = 127.0.0.1:$HERD_PORT
app.plain.instances = 2
app.plain.jar = $HERD_HOME/examples/plain/target/plain.jar
app.plain.jvm.options = -XX:+UseSerialGC -Xmx64m -Xss256k
app.plain.dispatch = proxy
${1:-}
CONF
}

# stop_herd: stops the herd started last, and waits (bounded) until it has exited.
stop_herd() {
  local state
  kill "$herd_pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    state=$(awk '{print $3}' "/proc/$herd_pid/stat" 2>/dev/null || echo gone)
    if [ "$state" = gone ] || [ "$state" = Z ]; then wait "$herd_pid" 2>/dev/null || true; return 0; fi
    sleep 0.1
  done
  echo "bench: herd (pid $herd_pid) did not stop" >&2; exit 1
}

# wants PART: true when PARTS names it.
wants() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# reload_under_load PROXY_HTTP: plain without a graceful shutdown under wrk -c10 keep-alive, one
# reload inside; prints the requests and the errors counted.
reload_under_load() {
  plain_config "app.plain.proxy.http = $1
app.plain.env.PLAIN_SHUTDOWN = abrupt
app.plain.kill.timeout = 3s"
  start_herd
  wait_for "$HERD_PORT"
  wrk -t1 -c10 -d2s "http://127.0.0.1:$HERD_PORT/" >/dev/null # warm-up
  "$JAVA" "$HERD_HOME/bench/Reload.java" once "$herd_pid" plain "$RELOAD_SECONDS" 2> "$work/trigger.log" &
  local trigger=$! requests errors
  wrk -t1 -c10 -d"$((RELOAD_SECONDS + 15))s" "http://127.0.0.1:$HERD_PORT/" > "$work/wrk.out" 2>&1
  wait "$trigger" || { echo "bench: the reload did not run" >&2; cat "$work/trigger.log" >&2; exit 1; }
  requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  # "Socket errors: connect A, read B, write C, timeout D" and "Non-2xx or 3xx responses: E"
  errors=$(awk '/Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10} /Non-2xx/ {n += $NF} END {print n + 0}' "$work/wrk.out")
  printf 'proxy.http = %-5s  requests %8s  errors %4s   (%s)\n' "$1" "$requests" "$errors" \
    "$(grep -v '^$' "$work/trigger.log" | tail -n 1)"
  grep -E 'Socket errors|Non-2xx' "$work/wrk.out" | sed 's/^/    /' || true
  stop_herd
}

if wants table; then
plain_config "${PROXY_HTTP:+app.plain.proxy.http = $PROXY_HTTP}"
start_herd

# The workers' own ports, from herd's log: HAProxy balances over the very same JVMs.
mapfile -t ports < <(sed -n 's/.*launching, to listen on port \([0-9]*\).*/\1/p' "$work/herd.log")
[ "${#ports[@]}" -eq 2 ] || { echo "bench: expected 2 worker ports in herd's log" >&2; cat "$work/herd.log" >&2; exit 1; }
cat > "$work/haproxy.cfg" <<CONF
global
  maxconn 4096
defaults
  mode tcp
  timeout connect 5s
  timeout client 5m
  timeout server 5m
frontend plain
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend workers
backend workers
  balance roundrobin
  server w0 127.0.0.1:${ports[0]}
  server w1 127.0.0.1:${ports[1]}
CONF
haproxy -db -f "$work/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
pids+=($!)

wait_for "$HAPROXY_PORT"; wait_for "$HERD_PORT"
[ -n "${PROXY_HTTP:-}" ] && echo "app.plain.proxy.http = $PROXY_HTTP"
compare haproxy "$HAPROXY_PORT"
stop_herd
fi

if wants reload; then
  echo
  echo "== reload under keep-alive load: plain without a graceful shutdown, kill.timeout 3s, wrk -c10 -d$((RELOAD_SECONDS + 15))s, one reload inside"
  reload_under_load false
  reload_under_load true
fi
