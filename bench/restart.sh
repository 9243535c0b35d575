#!/usr/bin/env bash
# A restart of the whole service, with and without socket activation (issue 15): hello, 2 workers
# on loopback, under a steady client that opens a new connection per request (bench/restart_load.py:
# CLIENTS threads, one request each every INTERVAL_MS, Connection: close), while herd is stopped
# (SIGTERM, waiting for its exit) and started again, twice, in two modes one after the other:
#   bind      herd binds its own port (plain `bin/herd run`): while no herd listens, connections
#             are refused;
#   systemd   the port's listening socket is held by service/src/test/resources/pass-sockets.py,
#             the tests' stand-in for systemd's socket activation, which runs the same
#             `bin/herd run` three times and passes it the socket (LISTEN_FDS): connections made
#             while no herd runs wait in the kernel's accept queue, and the next herd serves them.
# How to read the table, one row per mode:
#   served / refused / other   every request of the run: an HTTP 200 / ECONNREFUSED / anything else
#                              (a reset, a 30 s timeout, a bad answer; their kinds on stderr)
#   gap (ms)                   each restart: from the SIGTERM to the first request served after
#                              that herd exited (the new herd's first answer), mostly the new herd's start
#   exit (ms)                  each restart: from the SIGTERM to that herd's exit (its drain)
#   in the gaps                the requests begun inside the gaps: begun / served / refused / other
#   slowest served (ms)        the longest a served request waited, connect to last byte
# Expected: bind refuses > 0 (every attempt in its gaps); systemd refuses 0 and serves what was begun
# in its gaps, its slowest served request about as long as a gap. The gaps are herd's own start
# (a master JVM and 2 workers on this shared machine): compare the two rows, not the numbers.
#
#   bench/restart.sh
# Environment: CLIENTS (4), INTERVAL_MS (20: 4 clients make up to 200 requests/s),
#   STEADY_SECONDS (3, the load before, between and after the restarts).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"
CLIENTS=${CLIENTS:-4}
INTERVAL_MS=${INTERVAL_MS:-20}
STEADY_SECONDS=${STEADY_SECONDS:-3}
RESTARTS=2
# Used where the tests use it (SocketActivationTest), not copied: one stand-in for systemd to keep right.
PASS_SOCKETS="$HERD_HOME/service/src/test/resources/pass-sockets.py"
LOAD="$HERD_HOME/bench/restart_load.py"
# The interpreter itself: a pyenv shim runs helpers as its children before it execs python, and
# pass-sockets.py's children must be the herds alone.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
progress() { echo "restart: $*" >&2; }

# forget PID: off the list cleanup kills (an exited pid may be some other process's soon).
forget() {
  local kept=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

# A herd that pass-sockets.py started is not this shell's child: on the way out, stop it (the one
# known, or pass-sockets.py's java child, should the script end before it knew it) and give it
# 30 s to stop its workers, before lib.sh's cleanup kills the rest and removes $work.
systemd_herd=""
pass_sockets=""
finish() {
  local herd=$systemd_herd
  [ -n "$herd" ] || [ -z "$pass_sockets" ] || herd=$(pgrep -P "$pass_sockets" -x java | head -n 1 || true)
  if [ -n "$herd" ] && kill -0 "$herd" 2>/dev/null; then
    kill "$herd" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$herd" 2>/dev/null || break; sleep 0.1; done
  fi
  cleanup
}
trap finish EXIT

# gone PID: the process has exited: a zombie ("Z", a child of this shell not yet waited for), or no
# /proc/PID/stat at all (bash reaps its children as they end, even between two reads of it).
gone() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
  [ -z "$state" ] || [ "$state" = Z ]
}

# wait_online DIR COUNT: until herd's output in DIR shows COUNT workers online in all (each start adds 2).
wait_online() {
  for _ in $(seq 1 600); do
    [ "$(grep -c -- '-> online' "$1/herd.log")" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "bench: herd's workers did not come online within 60 s:" >&2; tail -n 30 "$1/herd.log" >&2; exit 1
}

# --- mode bind: bin/herd run, which binds the port itself --------------------------------------
bind_start() { # DIR
  "$HERD_HOME/bin/herd" run "$1/herd.properties" >> "$1/herd.log" 2>&1 &
  bind_herd=$!
  pids+=("$bind_herd")
}
bind_stop() { # DIR
  echo "stop $(now_ms)" >> "$1/events"
  kill -TERM "$bind_herd"
  local exited=""
  for _ in $(seq 1 1500); do gone "$bind_herd" && { exited=1; break; }; sleep 0.02; done
  [ -n "$exited" ] || { echo "bench: herd did not exit within 30 s of SIGTERM" >&2; exit 1; }
  echo "exited $(now_ms)" >> "$1/events"
  wait "$bind_herd" || true
  forget "$bind_herd"
}

# --- mode systemd: pass-sockets.py holds the socket and runs bin/herd run 1 + RESTARTS times ------
systemd_start() { # DIR
  local dir=$1
  if [ -z "$pass_sockets" ]; then
    mkfifo "$dir/next"
    exec {next_run}<> "$dir/next"   # held open: pass-sockets.py reads a line from it before each rerun
    "$PYTHON" "$PASS_SOCKETS" --runs $((RESTARTS + 1)) "tcp:127.0.0.1:$port:hello" -- \
      "$HERD_HOME/bin/herd" run "$dir/herd.properties" < "$dir/next" >> "$dir/herd.log" 2>&1 &
    pass_sockets=$!
    pids+=("$pass_sockets")
  else
    echo >&"$next_run"   # (the herd before has exited and been waited for: a child now is the new one)
  fi
  # bin/herd execs java, so pass-sockets.py's child, once it is java, is herd's master, the
  # LISTEN_PID it was given.
  for _ in $(seq 1 100); do
    systemd_herd=$(pgrep -P "$pass_sockets" -x java | head -n 1 || true)
    [ -n "$systemd_herd" ] && return 0
    sleep 0.1
  done
  echo "bench: pass-sockets.py started no herd:" >&2; cat "$dir/herd.log" >&2; exit 1
}
systemd_stop() { # DIR
  local dir=$1 herds
  herds=$(grep -c '^exited ' "$dir/herd.log" || true)
  echo "stop $(now_ms)" >> "$dir/events"
  kill -TERM "$systemd_herd"
  # pass-sockets.py prints "exited STATUS" once it has waited for herd
  for _ in $(seq 1 1500); do [ "$(grep -c '^exited ' "$dir/herd.log" || true)" -gt "$herds" ] && break; sleep 0.02; done
  [ "$(grep -c '^exited ' "$dir/herd.log" || true)" -gt "$herds" ] || { echo "bench: herd did not exit within 30 s of SIGTERM" >&2; exit 1; }
  echo "exited $(now_ms)" >> "$dir/events"
  systemd_herd=""
}

# measure MODE PORT: the run of one mode; restart_load.py's line ("served refused other gaps exits
# slowest window") in $work/MODE/load.out. (Not in a $(...) subshell: pids and systemd_herd are
# the cleanup's.)
measure() {
  local mode=$1 dir="$work/$1" load starts
  port=$2
  mkdir -p "$dir"
  : > "$dir/events"
  : > "$dir/herd.log"
  hello_config "$port"
  mv "$work/herd.properties" "$dir/herd.properties"

  progress "$mode: starting herd on 127.0.0.1:$port"
  "${mode}_start" "$dir"
  wait_online "$dir" 2
  "$PYTHON" "$LOAD" "$port" "$CLIENTS" "$INTERVAL_MS" "$dir/events" "$dir/load.done" 120 \
    > "$dir/load.out" 2> "$dir/load.err" &
  load=$!
  pids+=("$load")
  sleep "$STEADY_SECONDS"
  for starts in $(seq 2 $((RESTARTS + 1))); do
    progress "$mode: restart $((starts - 1)) of $RESTARTS: SIGTERM, its exit, a new herd"
    "${mode}_stop" "$dir"
    "${mode}_start" "$dir"
    wait_online "$dir" $((2 * starts))
    sleep "$STEADY_SECONDS"
  done
  touch "$dir/load.done"
  wait "$load" || { echo "bench: the client failed:" >&2; cat "$dir/load.err" >&2; exit 1; }
  forget "$load"
  "${mode}_stop" "$dir"
  if [ "$mode" = systemd ]; then
    wait "$pass_sockets" || true
    forget "$pass_sockets"
    pass_sockets=""
    exec {next_run}>&-
    grep -q 'adopted .* from systemd for app hello' "$dir/herd.log" \
      || { echo "bench: herd did not adopt pass-sockets.py's socket:" >&2; cat "$dir/herd.log" >&2; exit 1; }
  fi
  { echo "$mode:"; cat "$dir/load.err"; } >&2
}

read -r port_bind port_systemd <<< "$("$PYTHON" -c '
import socket
held = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]  # all open at once: they differ
print(*(s.getsockname()[1] for s in held))')"

measure bind "$port_bind"
measure systemd "$port_systemd"

echo
echo "== herd restarted $RESTARTS times under $CLIENTS clients, a new connection every ${INTERVAL_MS} ms each," \
  "$(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$HERD_HOME" rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores"
row() { printf '%-8s %7s %8s %6s  %-11s %-11s %-28s %s\n' "$@"; }
row mode served refused other "gap (ms)" "exit (ms)" "in the gaps: begun/srv/ref/oth" "slowest served (ms)"
for mode in bind systemd; do
  read -r served refused other gaps exits slowest window < "$work/$mode/load.out"
  row "$mode" "$served" "$refused" "$other" "$gaps" "$exits" "$window" "$slowest"
  declare "refused_$mode=$refused" "window_$mode=$window"
done
IFS=/ read -r begun_in_gaps served_in_gaps _ <<< "$window_systemd"
meets() { if "$@"; then echo meets; else echo MISSES; fi; }
echo "expected: bind refuses some ($(meets [ "$refused_bind" -gt 0 ])); systemd refuses none" \
  "($(meets [ "$refused_systemd" -eq 0 ])) and serves all begun in its gaps ($(meets [ "$served_in_gaps" -eq "$begun_in_gaps" -a "$begun_in_gaps" -gt 0 ]))"
