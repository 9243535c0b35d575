#!/usr/bin/env bash
# What a crash, a deploy and a long run cost under herd, beside PM2's yardsticks (issue 14), in one
# run on this machine:
#   - hello alone, spawn -> first 200, and kill -9 of a herd worker -> back in rotation, with
#     spares 0 and 1, interleaved round by round (median of ROUNDS);
#   - scale 2 -> 4; a reload of 2 workers under wrk -c50 (time, errors);
#   - the master's RSS idle, after 100,000 connection-per-request requests and after a soak;
#   - the wall time of `herd list`;
#   - chaos: a random worker SIGKILLed every 2 s under wrk -c50; each worker's share of the run
#     online, the restart delays, and whether all are online at the end.
# PM2's figures are /work/shared/notes/yardsticks.md's (PM2 7.0.4, node 20, measured on this kind
# of machine); PM2 is not run here. A feature missing from this build (app.<name>.spares refused
# as an unknown key) prints its rows as n/a. The machine is shared: read ratios, not numbers.
#
#   bench/lifecycle.sh
# Environment: ROUNDS (10), SOAK_SECONDS (600), CHAOS_SECONDS (60), CHAOS_SPARES (0),
#   RELOAD_LOAD_SECONDS (8, each wrk run around a reload), CONNECTIONS_CLOSED (100000),
#   BENCH_LOGS (a directory to keep herd's logs and wrk's reports in),
#   HERD_JAVA_OPTS (the master's JVM options; unset: bin/herd's own defaults, which are what is
#   measured), HERD_WORKER_EXTRA_OPTS (more JVM options for hello, alone and under herd alike).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"
ROUNDS=${ROUNDS:-10}
SOAK_SECONDS=${SOAK_SECONDS:-600}
CHAOS_SECONDS=${CHAOS_SECONDS:-60}
CHAOS_SPARES=${CHAOS_SPARES:-0}
RELOAD_LOAD_SECONDS=${RELOAD_LOAD_SECONDS:-8}
CONNECTIONS_CLOSED=${CONNECTIONS_CLOSED:-100000}
KILL_SETTLE_SECONDS=2   # a killed worker has served this long (more than min.uptime's 1 s default)
WORKER_OPTS="-XX:+UseSerialGC -Xmx64m -Xss256k ${HERD_WORKER_EXTRA_OPTS:-}"  # hello's, alone and under herd
HELLO_JAR="$HERD_HOME/examples/hello/target/hello.jar"

# BENCH_LOGS: herd's logs and wrk's reports are kept there when the run ends, however it ends.
keep_logs() {
  [ -n "${BENCH_LOGS:-}" ] || return 0
  mkdir -p "$BENCH_LOGS"
  for log in "$work"/*/herd.log; do [ -f "$log" ] && cp "$log" "$BENCH_LOGS/herd-$(basename "$(dirname "$log")").log"; done
  cp "$work"/wrk-*.out "$work"/chaos.out "$BENCH_LOGS/" 2>/dev/null || true
}
trap 'keep_logs; cleanup' EXIT

# The stopwatch for what needs millisecond timing (bench/Lifecycle.java), compiled once.
mkdir -p "$work/classes"
"$JAVA_HOME/bin/javac" -d "$work/classes" "$HERD_HOME/bench/Lifecycle.java"
stopwatch() { "$JAVA" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$work/classes" Lifecycle "$@"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -g | awk 'NF {v[++n] = $1} END {if (n == 0) print "-"; else if (n % 2) print v[(n + 1) / 2]; else printf "%.1f\n", (v[n / 2] + v[n / 2 + 1]) / 2}'; }
bench_start=$(date +%s)
progress() { echo "lifecycle [$(( $(date +%s) - bench_start )) s]: $*" >&2; }

# --- herd instances, each with its own scratch config, logs and Jolokia password in $work/NAME ---
declare -A herd_pid jolokia_url

# start_instance NAME PORT INSTANCES SPARES: runs bin/herd on a scratch config and waits until its
# workers are online (and its spares ready). Returns 1 when this build refuses app.hello.spares.
start_instance() {
  local name=$1 port=$2 instances=$3 spares=$4 dir="$work/$1" pid url=""
  mkdir -p "$dir"
  {
    echo "herd.logs.dir = $dir/logs"
    echo "herd.jolokia.port = 0"
    echo "herd.jolokia.password.file = $dir/jolokia.password"
    echo "herd.jolokia.monitor.password.file = $dir/jolokia-monitor.password"
    echo "app.hello.listen = 127.0.0.1:$port"
    echo "app.hello.instances = $instances"
    echo "app.hello.jar = $HELLO_JAR"
    echo "app.hello.jvm.options = $WORKER_OPTS"
    [ "$spares" -eq 0 ] || echo "app.hello.spares = $spares"
  } > "$dir/herd.properties"
  # HERD_JAVA_OPTS, when set, reaches bin/herd as it is; unset, bin/herd's defaults apply.
  "$HERD_HOME/bin/herd" run "$dir/herd.properties" > "$dir/herd.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" || true
      grep -q 'app\.hello\.spares: unknown key' "$dir/herd.log" && return 1
      echo "bench: herd ($name) exited before its workers were online:" >&2; cat "$dir/herd.log" >&2; exit 1
    fi
    [ -n "$url" ] || url=$(sed -n 's/.*Jolokia on \(http[^ ]*\).*/\1/p' "$dir/herd.log" | head -n 1)
    if [ -n "$url" ] && [ -s "$dir/jolokia.password" ]; then
      # (called as a condition, where set -e does not act: failures exit by hand)
      herd_pid[$name]=$(master_pid "$pid") || exit 1
      jolokia_url[$name]=$url
      wait_complement "$name" "$instances" "$spares"
      return 0
    fi
    sleep 0.1
  done
  echo "bench: herd ($name) did not open its Jolokia endpoint within 60 s" >&2; cat "$dir/herd.log" >&2; exit 1
}

stop_instance() {
  local pid=${herd_pid[$1]}
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# jolokia NAME JSON: one request to the instance's Jolokia endpoint as the operator; the answer.
jolokia() {
  curl -sS -m 300 -u "herd:$(cat "$work/$1/jolokia.password")" -H 'Content-Type: application/json' \
    -d "$2" "${jolokia_url[$1]}"
}
exec_op() { # NAME OPERATION [ARGUMENT]
  local arguments=""
  [ $# -ge 3 ] && arguments=",\"arguments\":[$3]"
  jolokia "$1" "{\"type\":\"exec\",\"mbean\":\"herd:type=Cluster,name=hello\",\"operation\":\"$2\"$arguments}"
}
count_state() { # NAME STATE: workers in that state now
  jolokia "$1" '{"type":"read","mbean":"herd:type=Cluster,name=hello","attribute":"Workers"}' \
    | grep -o "\"state\":\"$2\"" | wc -l
}
result_message() { sed -n 's/.*"message":"\([^"]*\)".*/\1/p' | head -n 1; }
succeeded() { grep -q '"succeeded":true'; }

# wait_complement NAME INSTANCES SPARES: until INSTANCES workers are online, then (if any) SPARES
# are ready; a spare state the build does not report is said once, not fatal.
wait_complement() {
  local name=$1 instances=$2 spares=$3
  for _ in $(seq 1 600); do [ "$(count_state "$name" online)" -ge "$instances" ] && break; sleep 0.1; done
  [ "$(count_state "$name" online)" -ge "$instances" ] \
    || { echo "bench: herd ($name): $instances workers not online within 60 s" >&2; tail -n 30 "$work/$name/herd.log" >&2; exit 1; }
  [ "$spares" -eq 0 ] && return 0
  for _ in $(seq 1 300); do [ "$(count_state "$name" spare)" -ge "$spares" ] && return 0; sleep 0.1; done
  echo "bench: herd ($name): no worker in state spare within 30 s; measuring anyway" >&2
}

rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# wrk_errors FILE: non-2xx responses plus socket errors, and their detail.
wrk_errors() {
  awk '/Non-2xx/ {n += $NF; l = $0; sub(/^ +/, "", l); d = d l "; "}
       /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10; l = $0; sub(/^ +/, "", l); d = d l "; "}
       END {printf "%d%s\n", n, (d == "" ? "" : " (" substr(d, 1, length(d) - 2) ")")}' "$1"
}

ports=$(stopwatch ports 4)
read -r port_alone port_main port_spare port_chaos <<< "$(echo $ports)"

# ------------------------------------------------------------------------------------------------
progress "starting herd (2 workers, spares 0) on $port_main and herd (2 workers, spares 1) on $port_spare"
start_instance main "$port_main" 2 0
spares_available=1
start_instance spare "$port_spare" 2 1 || { spares_available=0; progress "this build refuses app.hello.spares: spare rows are n/a"; }
# What the master runs with (bin/herd's defaults unless HERD_JAVA_OPTS is set): its -X options, not -Xlog.
master_flags_from=$([ -n "${HERD_JAVA_OPTS:-}" ] && echo HERD_JAVA_OPTS || echo "bin/herd's defaults")
master_flags=$(tr '\0' '\n' < "/proc/${herd_pid[main]}/cmdline" | grep -- '^-X' | grep -v -- '^-Xlog' | tr '\n' ' ')

progress "master RSS idle (5 s after its workers came online)"
sleep 5
rss_idle=$(rss_mib "${herd_pid[main]}")

progress "herd list, $ROUNDS times"
list_ms=()
for _ in $(seq 1 "$ROUNDS"); do
  t0=$(now_ms)
  "$HERD_HOME/bin/herd" list --url "${jolokia_url[main]}" --password-file "$work/main/jolokia.password" > "$work/list.out" 2>&1 \
    || { echo "bench: herd list failed:" >&2; cat "$work/list.out" >&2; exit 1; }
  list_ms+=($(( $(now_ms) - t0 )))
done

# warm_aot_cache NAME: a herd that trains hello's AOT cache (app.hello.aot = auto, no cache yet for
# these jars, JDK and options) writes it only when a training worker is stopped by herd: one
# graceful reload, then up to 60 s for the cache, so that the kills below measure the steady state
# of a service that has run before, not a first start. Nothing to do when the cache already exists
# or this build has no AOT caches.
warm_aot_cache() {
  local name=$1 log="$work/$1/herd.log"
  grep -q 'trains the AOT cache' "$log" || return 0
  progress "  $name: a graceful reload, so that the worker training hello's AOT cache writes it"
  exec_op "$name" gracefulReload | succeeded || { echo "bench: the warm-up reload failed" >&2; exit 1; }
  for _ in $(seq 1 600); do
    grep -q 'the AOT cache .* was written\|JVM refused the AOT cache\|training the AOT cache exited' "$log" && return 0
    sleep 0.1
  done
  progress "  $name: no AOT cache after 60 s; measuring without"
}
progress "AOT cache warm-up"
warm_aot_cache main
[ "$spares_available" = 1 ] && warm_aot_cache spare

# kill_round NAME PORT ROUND SPARES: one kill -9, timed; appends to kill_rotation[NAME] and
# kill_log[NAME], then waits until the app is whole again and its workers have served a while.
declare -A kill_rotation kill_log
kill_round() {
  local name=$1 port=$2 round=$3 spares=$4 measured rotation log victim new polls failed
  measured=$(stopwatch kill "$port" "${herd_pid[$name]}" 2 "$round" "$work/$name/herd.log")
  read -r rotation log victim new polls failed <<< "$measured"
  progress "  $name: killed $victim, $new answered after $rotation ms (master's log: online after $log ms;" \
    "$polls polls, one per $(awk -v t="$rotation" -v n="$polls" 'BEGIN {printf "%.1f", t / n}') ms; $failed failed)"
  kill_rotation[$name]+="$rotation "
  [ "$log" = - ] || kill_log[$name]+="$log "
  wait_complement "$name" 2 "$spares"
  sleep "$KILL_SETTLE_SECONDS"
}

progress "hello alone spawn -> first 200, and kill -9 -> back in rotation, interleaved, $ROUNDS rounds"
alone_ms=()
for round in $(seq 0 $((ROUNDS - 1))); do
  # shellcheck disable=SC2086
  alone_ms+=("$(stopwatch alone "$port_alone" "$JAVA" $WORKER_OPTS -jar "$HELLO_JAR" "$port_alone")")
  progress "  round $((round + 1)): hello alone answered after ${alone_ms[-1]} ms"
  kill_round main "$port_main" "$round" 0
  if [ "$spares_available" -eq 1 ]; then kill_round spare "$port_spare" "$round" 1; fi
done

# scale_rounds NAME SPARES -> median of 3 scale 2 -> 4, the operation's own return time (Jolokia)
scale_rounds() {
  local name=$1 spares=$2 times=() t0 answer
  for _ in 1 2 3; do
    t0=$(now_ms)
    answer=$(exec_op "$name" scale 4)
    times+=($(( $(now_ms) - t0 )))
    echo "$answer" | succeeded || { echo "bench: scale 4 failed: $answer" >&2; exit 1; }
    progress "  $name: scale 2 -> 4 in ${times[-1]} ms: $(echo "$answer" | result_message)"
    exec_op "$name" scale 2 | succeeded || { echo "bench: scale 2 failed" >&2; exit 1; }
    wait_complement "$name" 2 "$spares"
    sleep 1
  done
  median "${times[@]}"
}
progress "scale 2 -> 4, 3 times each"
scale_main=$(scale_rounds main 0)
scale_spare="n/a"
if [ "$spares_available" -eq 1 ]; then
  scale_spare=$(scale_rounds spare 1)
  stop_instance spare
fi

# reload_under_load HOW: one wrk -c50 run of RELOAD_LOAD_SECONDS with a reload 2 s in, through
# Jolokia (the operation's own time) or the CLI (including its JVM's start); "ms errors".
reload_under_load() {
  local how=$1 wrk_pid t0 ms answer
  wrk -t1 -c50 -d"${RELOAD_LOAD_SECONDS}s" "http://127.0.0.1:$port_main/" > "$work/wrk-reload-$how.out" 2>&1 &
  wrk_pid=$!
  pids+=("$wrk_pid")
  sleep 2
  t0=$(now_ms)
  if [ "$how" = jolokia ]; then
    answer=$(exec_op main reload)
  else
    answer=$("$HERD_HOME/bin/herd" reload hello --url "${jolokia_url[main]}" --password-file "$work/main/jolokia.password" 2>&1) || true
  fi
  ms=$(( $(now_ms) - t0 ))
  wait "$wrk_pid" || true
  progress "  reload through $how: $ms ms: $(echo "$answer" | { [ "$how" = jolokia ] && result_message || grep -m1 '^reload'; })"
  case "$how" in jolokia) echo "$answer" | succeeded ;; *) echo "$answer" | grep -q '^reload: replaced' ;; esac \
    || { echo "bench: the reload failed: $answer" >&2; exit 1; }
  echo "$ms $(wrk_errors "$work/wrk-reload-$how.out")"
}
progress "reload of 2 under wrk -c50 (${RELOAD_LOAD_SECONDS} s runs): through Jolokia, then through the CLI"
measured=$(reload_under_load jolokia)
read -r reload_ms reload_errors <<< "$measured"
wait_complement main 2 0
sleep 1
measured=$(reload_under_load cli)
read -r reload_cli_ms reload_cli_errors <<< "$measured"
wait_complement main 2 0

progress "$CONNECTIONS_CLOSED connection-per-request requests (wrk -c50, Connection: close)"
# wrk's run lasts its -d whatever its threads do, so the script tells us when it has its count
# (a file), and SIGINT ends wrk there, with its report; -d300s bounds it all.
cat > "$work/count.lua" <<LUA
local responses = 0
function response(status, headers, body)
  responses = responses + 1
  if responses == $CONNECTIONS_CLOSED then
    io.open("$work/closed.done", "w"):close()
    wrk.thread:stop()
  end
end
LUA
wrk -t1 -c50 -d300s -H 'Connection: close' -s "$work/count.lua" "http://127.0.0.1:$port_main/" > "$work/wrk-closed.out" 2>&1 &
closed_wrk=$!
pids+=("$closed_wrk")
while kill -0 "$closed_wrk" 2>/dev/null && [ ! -e "$work/closed.done" ]; do sleep 0.1; done
kill -INT "$closed_wrk" 2>/dev/null || true
wait "$closed_wrk" || true
closed_requests=$(awk '/requests in/ {print $1}' "$work/wrk-closed.out")
closed_errors=$(wrk_errors "$work/wrk-closed.out")
rss_closed=$(rss_mib "${herd_pid[main]}")

# reliability/soak.sh's recipe: a graceful reload every 60 s (every half of a soak shorter than 2 min).
reload_every=$(( SOAK_SECONDS >= 120 ? 60 : SOAK_SECONDS / 2 ))
progress "soak: ${SOAK_SECONDS} s of wrk -c20 keep-alive with a graceful reload every $reload_every s"
wrk -t1 -c20 -d"${SOAK_SECONDS}s" "http://127.0.0.1:$port_main/" > "$work/wrk-soak.out" 2>&1 &
soak_wrk=$!
pids+=("$soak_wrk")
soak_start=$(date +%s)
soak_samples=()
soak_reloads=0
next_reload=$((soak_start + reload_every))
while kill -0 "$soak_wrk" 2>/dev/null && [ "$(date +%s)" -lt $((soak_start + SOAK_SECONDS + 30)) ]; do
  sleep 5
  if [ "$(date +%s)" -ge "$next_reload" ] && [ "$(date +%s)" -lt $((soak_start + SOAK_SECONDS - 3)) ]; then
    exec_op main gracefulReload | succeeded || progress "  a graceful reload in the soak failed"
    soak_reloads=$((soak_reloads + 1)); next_reload=$((next_reload + reload_every))
  fi
  soak_samples+=("$(rss_mib "${herd_pid[main]}")")
done
wait "$soak_wrk" || true
soak_errors=$(wrk_errors "$work/wrk-soak.out")
rss_soak=$(rss_mib "${herd_pid[main]}")
progress "  master RSS every 5 s (MiB): ${soak_samples[*]}"
stop_instance main

progress "chaos: ${CHAOS_SECONDS} s under wrk -c50, a random online worker SIGKILLed every 2 s (spares $CHAOS_SPARES)"
chaos_note=""
if start_instance chaos "$port_chaos" 2 "$CHAOS_SPARES"; then
  wrk -t1 -c50 -d"${CHAOS_SECONDS}s" "http://127.0.0.1:$port_chaos/" > "$work/wrk-chaos.out" 2>&1 &
  chaos_wrk=$!
  pids+=("$chaos_wrk")
  stopwatch chaos "${herd_pid[chaos]}" "${jolokia_url[chaos]}" "$work/chaos/jolokia.password" hello 2 "$CHAOS_SECONDS" 2000 > "$work/chaos.out"
  wait "$chaos_wrk" || true
  chaos_delays=$(grep -o 'restart [0-9]* in [0-9]* ms' "$work/chaos/herd.log" | awk '{print $4}' | tr '\n' ' ')
  chaos_errors=$(wrk_errors "$work/wrk-chaos.out")
  chaos_min=$(sed -n 's/^chaos: worker #[0-9]* online \([0-9.]*\) %.*/\1/p' "$work/chaos.out" | sort -g | head -n 1)
  chaos_capacity=$(sed -n 's/^chaos: capacity .* \([0-9.]*\) %$/\1/p' "$work/chaos.out")
  chaos_end=$(sed -n 's/^chaos: at the end \([0-9]* of [0-9]*\) online.*/\1/p' "$work/chaos.out")
  stop_instance chaos
else
  chaos_note="n/a (no spares in this build)"
fi

# ------------------------------------------------------------------------------------------------
# verdict VALUE OP LIMIT: "meets" or "misses" the target (VALUE OP LIMIT, numerically)
verdict() {
  case "$1" in n/a*|-|"") echo "-"; return ;; esac
  awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "meets" : "MISSES"}'
}
ratio() { case "$1" in n/a*|-|"") echo "-" ;; *) awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f\n", a / b}' ;; esac; }
row() { printf '%-46s %-30s %-22s %-7s %-22s %s\n' "$@"; }

alone=$(median "${alone_ms[@]}")
kill_main=$(median ${kill_rotation[main]})
kill_main_log=$(median ${kill_log[main]:-})
if [ "$spares_available" -eq 1 ]; then
  kill_spare=$(median ${kill_rotation[spare]}); kill_spare_log=$(median ${kill_log[spare]:-})
  kill_spare_shown="$kill_spare ms (log: $kill_spare_log)"
else
  kill_spare="n/a"; kill_spare_shown="n/a (no spares in this build)"
fi
scale_spare_shown=$([ "$spares_available" -eq 1 ] && echo "$scale_spare ms" || echo "n/a (no spares in this build)")
alone_target=$(awk -v a="$alone" 'BEGIN {printf "%.0f", a + 100}')

echo
echo "== herd lifecycle, $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$HERD_HOME" rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores"
echo "   master's -X options: ${master_flags:-none} (from ${master_flags_from}); hello's: $WORKER_OPTS"
echo "   PM2 column: /work/shared/notes/yardsticks.md (PM2 7.0.4 cluster mode, node 20, measured on this kind of machine; not run here)"
echo "   kill -9 -> back in rotation = from the SIGKILL until a worker that was not serving before answers a new"
echo "   connection (X-Herd-Worker's pid; a new connection every ~1 ms plus its own time: each round on stderr says"
echo "   how often); (log: ...) = until the master's log line '-> online'"
echo
row "measure" "herd (this run)" "target (issue 14)" "" "PM2 (yardsticks.md)" "herd / PM2"
row "hello alone, spawn -> first 200 (median $ROUNDS)" "$alone ms" "<= 150 ms" "$(verdict "$alone" "<=" 150)" "-" "-"
row "kill -9 -> in rotation, spares 0 (median $ROUNDS)" "$kill_main ms (log: $kill_main_log)" "<= $alone_target ms (alone+100)" \
  "$(verdict "$kill_main" "<=" "$alone_target")" "113 ms" "$(ratio "$kill_main" 113)"
row "kill -9 -> in rotation, spares 1 (median $ROUNDS)" "$kill_spare_shown" "<= 50 ms" "$(verdict "$kill_spare" "<=" 50)" \
  "113 ms" "$(ratio "$kill_spare" 113)"
row "  ... spares 0 / hello alone" "$(ratio "$kill_main" "$alone")" "-" "-" "-" "-"
row "scale 2 -> 4, all online (Jolokia, median 3)" "$scale_main ms" "-" "-" "323 ms" "$(ratio "$scale_main" 323)"
row "  ... with spares 1" "$scale_spare_shown" "-" "-" "323 ms" "$(ratio "$scale_spare" 323)"
row "reload of 2 under wrk -c50 (Jolokia op)" "$reload_ms ms" "<= 1200 ms" "$(verdict "$reload_ms" "<=" 1200)" "~950 ms" "$(ratio "$reload_ms" 950)"
row "  ... its wrk errors (non-2xx + socket)" "$reload_errors" "0" "$(verdict "${reload_errors%% *}" "<=" 0)" "~135 read errors/run" "-"
row "reload of 2 under wrk -c50, CLI incl. start" "$reload_cli_ms ms, errors $reload_cli_errors" "-" "-" "2300-2700 ms" "$(ratio "$reload_cli_ms" 2500)"
row "master RSS idle" "$rss_idle MiB" "<= 64 MiB" "$(verdict "$rss_idle" "<=" 64)" "55-57 MiB" "$(ratio "$rss_idle" 56)"
row "master RSS after $closed_requests conn-per-request" "$rss_closed MiB (errors $closed_errors)" "flat" "-" "55-57 MiB" "$(ratio "$rss_closed" 56)"
row "master RSS after a ${SOAK_SECONDS} s soak ($soak_reloads reloads)" "$rss_soak MiB (errors $soak_errors)" "<= 72 MiB" "$(verdict "$rss_soak" "<=" 72)" "55-57 MiB" "$(ratio "$rss_soak" 56)"
row "herd list, wall time (median $ROUNDS)" "$(median "${list_ms[@]}") ms" "<= 400 ms" "$(verdict "$(median "${list_ms[@]}")" "<=" 400)" "-" "-"
if [ -z "$chaos_note" ]; then
  if [ "$CHAOS_SPARES" -eq 0 ]; then
    row "chaos ${CHAOS_SECONDS} s: least online worker" "$chaos_min %" ">= 95 %" "$(verdict "$chaos_min" ">=" 95)" "-" "-"
    row "  ... capacity (mean online / 2)" "$chaos_capacity %" "-" "-" "-" "-"
  else
    # A spare that takes a place keeps its own index, so no index stays in rotation: what the
    # target means here is that the app's places stay filled.
    row "chaos ${CHAOS_SECONDS} s, spares $CHAOS_SPARES: capacity" "$chaos_capacity % (mean online / 2)" ">= 95 %" "$(verdict "$chaos_capacity" ">=" 95)" "-" "-"
  fi
  row "  ... online at the end" "$chaos_end" "2 of 2" "$([ "${chaos_end%% *}" = 2 ] && echo meets || echo MISSES)" "-" "-"
  row "  ... wrk errors" "$chaos_errors" "-" "-" "-" "-"
  echo
  echo "chaos detail (Jolokia's Workers table polled every ~100 ms; restart delays from the master's log):"
  cat "$work/chaos.out"
  echo "chaos: restart delays (ms): ${chaos_delays:-none}"
else
  row "chaos (spares $CHAOS_SPARES)" "$chaos_note" ">= 95 %" "-" "-" "-"
fi
echo
echo "each kill, spares 0 (ms to rotation): ${kill_rotation[main]}"
[ "$spares_available" -eq 0 ] || echo "each kill, spares 1 (ms to rotation): ${kill_rotation[spare]}"
echo "restart delays in the kill rounds, spares 0 (ms): $(grep -o 'restart [0-9]* in [0-9]* ms' "$work/main/herd.log" | awk '{print $4}' | tr '\n' ' ')"
echo "hello alone (ms): ${alone_ms[*]}"
echo "herd list (ms): ${list_ms[*]}"
