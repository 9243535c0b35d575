#!/usr/bin/env bash
# What herd's proxy dispatch costs against HAProxy: the plain example (the JDK's HTTP server, no
# herd code) runs as 2 worker JVMs under herd in proxy dispatch; HAProxy (mode tcp, round-robin)
# is put in front of the same two workers. wrk measures both side by side in one run on loopback,
# keep-alive (-c50) and one connection per request (Connection: close), rounds interleaved.
# Prints req/s and p99 for each, and the ratio herd / HAProxy (target: keep-alive >= 1.0).
# The machine is shared: read the ratios, not the numbers.
#
#   bench/proxy.sh [ROUNDS=3] [SECONDS=10]
# HERD_PROXY_THREADS sets herd.proxy.threads (default: herd's, one per core); HAProxy runs with
# its defaults (one thread per core too).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-10}
HERD_PORT=${HERD_PORT:-18083}
HAPROXY_PORT=${HAPROXY_PORT:-18084}

command -v haproxy >/dev/null || { echo "bench: installing haproxy" >&2; apt-get install -y -qq haproxy >/dev/null || { apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; }; }
[ -f "$HERD_HOME/examples/plain/target/plain.jar" ] || (cd "$HERD_HOME" && mvn -B -q -DskipTests package)

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
CONF
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
compare haproxy "$HAPROXY_PORT"
