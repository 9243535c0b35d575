# Sourced by the bench scripts: a JDK 25, wrk, a built herd, a scratch directory cleaned on exit
# (with every process the script started, by pid), and a herd configuration for hello.
HERD_HOME=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
. "$HERD_HOME/bin/java25.sh"
find_java25

command -v wrk >/dev/null || { echo "bench: installing wrk" >&2; apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }
[ -f "$HERD_HOME/service/target/herd-service.jar" ] && [ -f "$HERD_HOME/examples/hello/target/hello.jar" ] \
  || (cd "$HERD_HOME" && mvn -B -q -DskipTests package)

work=$(mktemp -d /tmp/herd-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# hello_config PORT [EXTRA KEY = VALUE LINES]: a herd configuration with hello, 2 workers, on PORT.
hello_config() {
  cat > "$work/herd.properties" <<CONF
herd.logs.dir = $work/logs
herd.jolokia.port = 0
herd.jolokia.password.file = $work/jolokia.password
app.hello.listen = 127.0.0.1:$1
app.hello.instances = 2
app.hello.jar = $HERD_HOME/examples/hello/target/hello.jar
app.hello.jvm.options = -XX:+UseSerialGC -Xmx64m -Xss256k ${HERD_WORKER_EXTRA_OPTS:-}
${2:-}
CONF
}

# start_herd: runs bin/herd on $work/herd.properties and waits until both workers are online. The
# master runs with what herd ships (conf/jvm.options, through bin/herd) unless HERD_JAVA_OPTS says otherwise.
start_herd() {
  "$HERD_HOME/bin/herd" run "$work/herd.properties" > "$work/herd.log" 2>&1 &
  herd_pid=$!
  pids+=("$herd_pid")
  for _ in $(seq 1 300); do [ "$(grep -c -- '-> online' "$work/herd.log")" -ge 2 ] && return 0; sleep 0.1; done
  echo "bench: herd's workers did not come online" >&2; cat "$work/herd.log" >&2; exit 1
}

# wait_for PORT: until something answers HTTP there.
wait_for() {
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$1/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench: nothing answers on port $1" >&2; cat "$work"/*.log >&2; exit 1
}

# wrk_run PORT MODE (keepalive|close) -> "req/s p99_ms"; socket errors go to stderr.
wrk_run() {
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

# compare NAME PORT: herd on HERD_PORT against the yardstick NAME on PORT, ROUNDS interleaved
# rounds of keep-alive and connection-per-request runs after a warm-up of each; prints each run
# and the mean ratio herd / NAME per mode.
compare() {
  local name=$1 port=$2 mode round a_rps a_p99 h_rps h_p99
  echo "warming up (a run of each kind on each, as long as a measured one)..." >&2
  for p in "$port" "$HERD_PORT"; do
    wrk_run "$p" keepalive >/dev/null; wrk_run "$p" close >/dev/null
  done
  declare -A sum
  printf '%-6s %-10s %14s %10s\n' round mode "$name req/s" "herd req/s"
  for round in $(seq 1 "$ROUNDS"); do
    for mode in keepalive close; do
      read -r a_rps a_p99 < <(wrk_run "$port" "$mode")
      read -r h_rps h_p99 < <(wrk_run "$HERD_PORT" "$mode")
      printf '%-6s %-10s %14.0f %10.0f   p99 %6.2f ms vs %6.2f ms   ratio %.2f\n' "$round" "$mode" "$a_rps" "$h_rps" "$a_p99" "$h_p99" \
        "$(echo "$h_rps / $a_rps" | bc -l)"
      sum[$mode-yardstick]=$(echo "${sum[$mode-yardstick]:-0} + $a_rps" | bc -l)
      sum[$mode-herd]=$(echo "${sum[$mode-herd]:-0} + $h_rps" | bc -l)
    done
  done
  echo
  for mode in keepalive close; do
    printf 'herd / %s, %-9s (mean of %d rounds): %.2f\n' "$name" "$mode" "$ROUNDS" "$(echo "${sum[$mode-herd]} / ${sum[$mode-yardstick]}" | bc -l)"
  done
}
