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

# hello_config PORT [EXTRA KEY = VALUE LINES]: a herd configuration with hello on PORT, with
# HERD_INSTANCES workers (default 2).
HERD_INSTANCES=${HERD_INSTANCES:-2}
hello_config() {
  cat > "$work/herd.properties" <<CONF
herd.logs.dir = $work/logs
herd.jolokia.port = 0
herd.jolokia.password.file = $work/jolokia.password
app.hello.listen = 127.0.0.1:$1
app.hello.instances = $HERD_INSTANCES
app.hello.jar = $HERD_HOME/examples/hello/target/hello.jar
app.hello.jvm.options = -XX:+UseSerialGC -Xmx64m -Xss256k ${HERD_WORKER_EXTRA_OPTS:-}
${2:-}
CONF
}

# master_pid PID: the master JVM's pid: PID itself when bin/herd exec'd java, else its java child.
master_pid() {
  local pid=$1 child
  for _ in $(seq 1 100); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = java ] && { echo "$pid"; return; }
    child=$(pgrep -P "$pid" -x java | head -n 1 || true)
    [ -n "$child" ] && { echo "$child"; return; }
    sleep 0.1
  done
  echo "bench: no master JVM under pid $pid" >&2; exit 1
}

# start_herd: runs bin/herd on $work/herd.properties and waits until its workers are online;
# herd_pid is then the master JVM's pid (what cpu_ticks measures), not a shell's. The master runs
# with what herd ships (conf/jvm.options, through bin/herd) unless HERD_JAVA_OPTS says otherwise.
start_herd() {
  "$HERD_HOME/bin/herd" run "$work/herd.properties" > "$work/herd.log" 2>&1 &
  herd_pid=$!
  pids+=("$herd_pid")
  herd_pid=$(master_pid "$herd_pid")
  for _ in $(seq 1 300); do [ "$(grep -c -- '-> online' "$work/herd.log")" -ge "$HERD_INSTANCES" ] && return 0; sleep 0.1; done
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

# cpu_ticks PID: the CPU time PID has used so far, user + system, in clock ticks (CLK_TCK a second).
cpu_ticks() {
  local stat fields
  stat=$(< "/proc/$1/stat")
  # The second field, the command in parentheses, may hold spaces: split what follows its ')'.
  read -r -a fields <<< "${stat##*) }"
  # fields[0] is stat's field 3 (state), so utime (field 14) and stime (field 15) are 11 and 12.
  echo $(( fields[11] + fields[12] ))
}
CLK_TCK=$(getconf CLK_TCK)

# wrk_run PORT MODE (keepalive|close) -> "req/s p99_ms requests"; socket errors go to stderr.
wrk_run() {
  local header=()
  [ "$2" = close ] && header=(-H "Connection: close")
  wrk -t1 -c50 -d"${SECONDS_PER_RUN}s" --latency "${header[@]}" "http://127.0.0.1:$1/" > "$work/wrk.out" 2>&1
  local rps p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' "$work/wrk.out")
  errors=$(awk '/Socket errors|Non-2xx/ {print}' "$work/wrk.out" | tr '\n' ' ')
  [ -n "$errors" ] && echo "    ($2 on $1: $errors)" >&2
  echo "$rps $p99 $(awk '/ requests in / {print $1}' "$work/wrk.out")"
}

# compare NAME PORT: herd on HERD_PORT against the yardstick NAME on PORT, ROUNDS interleaved
# rounds of keep-alive and connection-per-request runs after a warm-up of each; prints each run
# and the mean ratio herd / NAME per mode. For each connection-per-request run of herd it also
# prints the master's CPU per connection: the CPU time (user + system) the master JVM used during
# the run divided by the requests wrk made, each on its own connection. That is the master's whole
# cost, its housekeeping included, and does not depend on how busy the machine's cores were.
compare() {
  local name=$1 port=$2 mode round a_rps a_p99 a_requests h_rps h_p99 h_requests ticks_before ticks
  echo "warming up (a run of each kind on each, as long as a measured one)..." >&2
  for p in "$port" "$HERD_PORT"; do
    wrk_run "$p" keepalive >/dev/null; wrk_run "$p" close >/dev/null
  done
  declare -A sum
  printf '%-6s %-10s %14s %10s\n' round mode "$name req/s" "herd req/s"
  for round in $(seq 1 "$ROUNDS"); do
    for mode in keepalive close; do
      read -r a_rps a_p99 a_requests < <(wrk_run "$port" "$mode")
      ticks_before=$(cpu_ticks "$herd_pid")
      read -r h_rps h_p99 h_requests < <(wrk_run "$HERD_PORT" "$mode")
      ticks=$(( $(cpu_ticks "$herd_pid") - ticks_before ))
      printf '%-6s %-10s %14.0f %10.0f   p99 %6.2f ms vs %6.2f ms   ratio %.2f\n' "$round" "$mode" "$a_rps" "$h_rps" "$a_p99" "$h_p99" \
        "$(echo "$h_rps / $a_rps" | bc -l)"
      [ "$mode" = close ] && printf '%-17s master CPU per connection: %.1f µs\n' '' "$(cpu_per_request "$ticks" "$h_requests")"
      sum[$mode-yardstick]=$(echo "${sum[$mode-yardstick]:-0} + $a_rps" | bc -l)
      sum[$mode-herd]=$(echo "${sum[$mode-herd]:-0} + $h_rps" | bc -l)
      sum[$mode-ticks]=$(( ${sum[$mode-ticks]:-0} + ticks ))
      sum[$mode-requests]=$(( ${sum[$mode-requests]:-0} + h_requests ))
    done
  done
  echo
  for mode in keepalive close; do
    printf 'herd / %s, %-9s (mean of %d rounds): %.2f\n' "$name" "$mode" "$ROUNDS" "$(echo "${sum[$mode-herd]} / ${sum[$mode-yardstick]}" | bc -l)"
  done
  printf 'master CPU per connection (all %d rounds): %.1f µs\n' "$ROUNDS" "$(cpu_per_request "${sum[close-ticks]}" "${sum[close-requests]}")"
  warn_if_workers_replaced
}

# warn_if_workers_replaced: says so when more workers came online than the HERD_INSTANCES of the start: a reload
# or a restart happened during the runs (a crash, a health check, a SIGUSR2 from someone else on a
# shared machine), and the figures do not measure dispatch alone.
warn_if_workers_replaced() {
  local online
  online=$(grep -c -- '-> online' "$work/herd.log" || true)
  [ "$online" -le "$HERD_INSTANCES" ] && return 0
  echo "bench: WARNING: $((online - HERD_INSTANCES)) more workers came online during the runs: herd replaced workers, the figures are suspect" >&2
  grep -i -- 'SIGUSR2\|reload\|restart\|exited' "$work/herd.log" | head -5 >&2
}

# cpu_per_request TICKS REQUESTS -> microseconds of CPU per request.
cpu_per_request() {
  echo "$1 * 1000000 / $CLK_TCK / $2" | bc -l
}
