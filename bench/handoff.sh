#!/usr/bin/env bash
# What herd's handoff costs: the hello example served (a) alone on its port, one JVM, and
# (b) by herd with 2 worker JVMs, measured side by side in one run with wrk on loopback:
# keep-alive (-c50) and one connection per request (Connection: close), rounds interleaved.
# Prints req/s and p99 for each, and the ratio herd / alone (targets: keep-alive >= 0.95,
# connection per request >= 0.85). The machine is shared: read the ratios, not the numbers.
#
#   bench/handoff.sh [ROUNDS=3] [SECONDS=10]
# HERD_WORKER_EXTRA_OPTS adds JVM options to herd's workers only, for experiments (e.g.
# -Djdk.virtualThreadScheduler.parallelism=1 gives keep-alive ~1.00 but a p99 several times worse).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-10}
ALONE_PORT=${ALONE_PORT:-18081}
HERD_PORT=${HERD_PORT:-18082}
JVM_OPTS="-XX:+UseSerialGC -Xmx64m -Xss256k"   # hello's options, alone and under herd alike

hello_config "$HERD_PORT"

# shellcheck disable=SC2086
"$JAVA" $JVM_OPTS -jar "$HERD_HOME/examples/hello/target/hello.jar" "$ALONE_PORT" > "$work/alone.log" 2>&1 &
pids+=($!)
start_herd

wait_for() { # port: until two different answers come back (herd) or one (alone)
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$1/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench: nothing answers on port $1" >&2; cat "$work"/*.log >&2; exit 1
}
wait_for "$ALONE_PORT"; wait_for "$HERD_PORT"

# run PORT MODE -> "req/s p99_ms"
run() {
  local header=()
  [ "$2" = close ] && header=(-H "Connection: close")
  wrk -t1 -c50 -d"${SECONDS_PER_RUN}s" --latency "${header[@]}" "http://127.0.0.1:$1/" > "$work/wrk.out" 2>&1
  local rps p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' "$work/wrk.out")
  errors=$(awk '/Socket errors|Non-2xx/ {print}' "$work/wrk.out" | tr '\n' ' ')
  [ -n "$errors" ] && echo "    ($2 on $1: $errors)" >&2
  echo "$rps $p99"
}

echo "warming up (a run of each kind on each, as long as a measured one: two JVMs to JIT behind herd)..." >&2
for port in "$ALONE_PORT" "$HERD_PORT"; do
  run "$port" keepalive >/dev/null; run "$port" close >/dev/null
done

declare -A sum
printf '%-6s %-10s %14s %10s\n' round mode "alone req/s" "herd req/s"
for round in $(seq 1 "$ROUNDS"); do
  for mode in keepalive close; do
    read -r a_rps a_p99 < <(run "$ALONE_PORT" "$mode")
    read -r h_rps h_p99 < <(run "$HERD_PORT" "$mode")
    printf '%-6s %-10s %14.0f %10.0f   p99 %6.2f ms vs %6.2f ms   ratio %.2f\n' "$round" "$mode" "$a_rps" "$h_rps" "$a_p99" "$h_p99" \
      "$(echo "$h_rps / $a_rps" | bc -l)"
    sum[$mode-alone]=$(echo "${sum[$mode-alone]:-0} + $a_rps" | bc -l)
    sum[$mode-herd]=$(echo "${sum[$mode-herd]:-0} + $h_rps" | bc -l)
  done
done
echo
for mode in keepalive close; do
  printf 'herd / alone, %-9s (mean of %d rounds): %.2f\n' "$mode" "$ROUNDS" "$(echo "${sum[$mode-herd]} / ${sum[$mode-alone]}" | bc -l)"
done
