#!/usr/bin/env bash
# examples/fleet/fleet.sh: herd in a fleet, built on this machine, and measured.
#
# Three "hosts" (network namespaces, each with its own address on a private bridge), one herd in
# each clustering examples/hello over 2 workers, and a real HAProxy in front of them that learns
# each host's state from herd's agent (app.hello.agent.listen, HAProxy's agent-check). Under wrk,
# through HAProxy with `retries 0` (so a failure is never hidden by a second try elsewhere):
#   a. one host's herd is stopped (SIGTERM) and started again;
#   b. all three hosts are reloaded, host by host, with ONE command: bin/herd --hosts-file F reload hello.
# It counts the failed requests of each phase twice, as wrk saw them (socket errors, timeouts,
# non-2xx) and as HAProxy did (its stats socket), prints a short report, and exits
#   0   no request failed and every step worked;
#   1   a request failed, or a step did not work (the report says which);
#   77  skipped: this machine cannot build the fleet (not root, no `ip netns`, no haproxy or wrk);
#       the one line on stderr says why.
# Everything it makes (processes, namespaces, veths, the bridge, its scratch directory) is removed
# on every way out, a failure midway included. FLEET_KEEP=1 keeps the scratch directory (configs
# and logs) for a look afterwards. Needs root: network namespaces and a bridge are the kernel's.
set -euo pipefail

HERD_HOME=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
SKIPPED=77
HOSTS=(1 2 3)
# The drain delay covers HAProxy's arithmetic (see haproxy.cfg below): on SIGTERM herd's agent says
# "drain", and HAProxy, which asks every AGENT_INTER, takes the host out of rotation at the first
# such answer: one interval for the check in flight + one for the answer = 1 s. (The plain check,
# a TCP connect every CHECK_INTER, FALL failures to go down, is for a host that dies without a
# word; a draining host still accepts.) Doubled for a machine where nine JVMs, HAProxy and wrk
# share two cores: 2 s. FLEET_DRAIN_DELAY=0s shows what happens without one.
AGENT_INTER=500ms
CHECK_INTER=500ms
CHECK_FALL=2
CHECK_RISE=2
DRAIN_DELAY=${FLEET_DRAIN_DELAY:-2s}
CONNECTIONS=${FLEET_CONNECTIONS:-8}
APP_PORT=8080      # hello, on each host's address
AGENT_PORT=8082    # herd's agent for HAProxy
HEALTH_PORT=8081   # herd's health endpoint (what a cloud balancer or Kubernetes would probe)
JOLOKIA_PORT=8778  # what the CLI talks to, from the root namespace
STATS_PORT=8404    # HAProxy's stats socket, on the bridge's address

say() { echo "fleet: $*"; }
skip() { echo "fleet: SKIPPED: $*" >&2; exit "$SKIPPED"; }

# ---------- can this machine build a fleet at all? ----------
[ "$(id -u)" = 0 ] || skip "network namespaces and a bridge need root (running as $(id -un))"
command -v ip >/dev/null || skip "no 'ip' command (iproute2) to make network namespaces"
for tool in haproxy wrk; do
  if ! command -v "$tool" >/dev/null; then
    if command -v apt-get >/dev/null; then
      say "installing $tool"
      apt-get install -y -qq "$tool" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null 2>&1; } || true
    fi
    command -v "$tool" >/dev/null || skip "$tool is not installed and could not be installed (apt-get install $tool)"
  fi
done

# ---------- what this run makes, and how it is all taken down again ----------
RUN=$$   # in every name, so that two runs, or the remains of a crashed one, never collide
WORK=$(mktemp -d "${TMPDIR:-/tmp}/herd-fleet.$RUN.XXXXXX")
BRIDGE=hfb$RUN                # interface names: 15 characters at most
NAMESPACES=()                 # made so far, for cleanup
declare -A HERD_PID=()        # host -> its master's pid (ip netns exec and bin/herd both exec: one pid)
HAPROXY_PID=""
WRK_PID=""
CLI_PID=""
BRIDGE_MADE=""

cleanup() {
  local status=$? pid ns deadline
  set +e
  trap - EXIT INT TERM
  [ -n "$WRK_PID" ] && kill -TERM "$WRK_PID" 2>/dev/null
  [ -n "$CLI_PID" ] && kill -TERM "$CLI_PID" 2>/dev/null   # timeout(1), which passes it on to the CLI
  # Each herd gets a SIGTERM first, so that it stops its workers itself; whatever is still running
  # in one of our namespaces after that (a master that hung, an orphaned worker) is killed: the
  # namespace's own list of pids holds exactly the processes this run started there.
  for pid in "${HERD_PID[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  deadline=$((SECONDS + 30))
  for ns in "${NAMESPACES[@]}"; do
    while [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  [ -n "$HAPROXY_PID" ] && kill -TERM "$HAPROXY_PID" 2>/dev/null
  wait 2>/dev/null
  # Deleting a namespace deletes the veth end inside it, and with it its peer in the root namespace.
  for ns in "${NAMESPACES[@]}"; do ip netns delete "$ns" 2>/dev/null; done
  [ -n "$BRIDGE_MADE" ] && ip link delete "$BRIDGE" 2>/dev/null
  if [ "${FLEET_KEEP:-0}" = 1 ]; then echo "fleet: kept $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------- the network: a bridge in the root namespace, one namespace per host ----------
# A /24 of 10.77.0.0/16 that no interface here uses yet (another run's, for instance).
pick_subnet() {
  local try octet used
  used=$(ip -4 -o addr show)
  for try in $(seq 0 253); do
    octet=$(( (RUN + try) % 254 + 1 ))
    grep -q " 10\.77\.$octet\." <<< "$used" || { echo "10.77.$octet"; return; }
  done
  return 1
}
NET=$(pick_subnet) || { say "no free /24 left in 10.77.0.0/16"; exit 1; }
BALANCER=$NET.1
host_address() { echo "$NET.$((10 + $1))"; }
namespace() { echo "herd-fleet-$RUN-$1"; }

if ! ip netns add "$(namespace 1)" 2> "$WORK/netns.err"; then
  skip "network namespaces are not available here: ip netns add: $(cat "$WORK/netns.err")"
fi
NAMESPACES+=("$(namespace 1)")
for host in "${HOSTS[@]:1}"; do ip netns add "$(namespace "$host")"; NAMESPACES+=("$(namespace "$host")"); done
ip link add "$BRIDGE" type bridge
BRIDGE_MADE=yes
ip addr add "$BALANCER/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
for host in "${HOSTS[@]}"; do
  ns=$(namespace "$host")
  ip link add "hf${RUN}r$host" type veth peer name "hf${RUN}n$host"
  ip link set "hf${RUN}r$host" master "$BRIDGE" up
  ip link set "hf${RUN}n$host" netns "$ns"
  ip -n "$ns" link set "hf${RUN}n$host" name eth0
  ip -n "$ns" addr add "$(host_address "$host")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done
say "3 hosts on $NET.0/24: $(for h in "${HOSTS[@]}"; do printf '%s ' "$(host_address "$h")"; done)(HAProxy on $BALANCER)"

# ---------- herd on each host ----------
. "$HERD_HOME/bin/java25.sh"
find_java25
if [ ! -f "$HERD_HOME/service/target/herd-service.jar" ] || [ ! -f "$HERD_HOME/examples/hello/target/hello.jar" ]; then
  "$HERD_HOME/bin/herd" build   # once, here, not three times at once inside the namespaces
fi

write_herd_config() { # HOST: the host's own configuration, logs and Jolokia passwords, under $WORK/hostN
  local host=$1 dir="$WORK/host$1" address
  address=$(host_address "$1")
  mkdir -p "$dir"
  cat > "$dir/herd.properties" <<EOF
herd.logs.dir = $dir/logs
herd.stop.timeout = 10s
# On SIGTERM the agent says "drain" and hello keeps being served this long, so that HAProxy has
# stopped sending anything here before herd lets go of the port.
herd.drain.delay = $DRAIN_DELAY
herd.health.listen = $address:$HEALTH_PORT
herd.jolokia.host = $address
herd.jolokia.port = $JOLOKIA_PORT
herd.jolokia.password.file = $dir/jolokia.password
herd.jolokia.monitor.password.file = $dir/jolokia-monitor.password
herd.jolokia.policy = $HERD_HOME/conf/jolokia-access.xml
app.hello.listen = $address:$APP_PORT
app.hello.instances = 2
app.hello.jar = $HERD_HOME/examples/hello/target/hello.jar
app.hello.jvm.options = -XX:+UseSerialGC -Xmx32m -Xss256k -XX:TieredStopAtLevel=1
app.hello.agent.listen = $address:$AGENT_PORT
EOF
  # the CLI's hosts file: one "url [password-file]" a line, the file relative to the hosts file
  echo "$address:$JOLOKIA_PORT host$host/jolokia.password" >> "$WORK/hosts"
}

start_herd() { # HOST: bin/herd run in the host's namespace, in the background
  local host=$1
  # HERD_AOT=off: no background JVM assembling a cache, so that every process this run starts is
  # one it knows and ends (and nothing is written under herd's home).
  HERD_AOT=off ip netns exec "$(namespace "$host")" "$HERD_HOME/bin/herd" run "$WORK/host$host/herd.properties" \
    >> "$WORK/host$host/console.log" 2>&1 &
  HERD_PID[$host]=$!
}

# ---------- HAProxy ----------
# `show stat` on the stats socket, as CSV (bash's /dev/tcp: no socat needed).
haproxy_stat() {
  local fd
  exec {fd}<>"/dev/tcp/$BALANCER/$STATS_PORT" || return 1
  echo "show stat" >&"$fd"
  cat <&"$fd"
  exec {fd}>&-
}
# server_state HOST: "STATUS WEIGHT" of HAProxy's server hostN (e.g. "UP 100", "DRAIN (agent) 100").
server_state() { haproxy_stat | awk -F, -v s="host$1" '$1 == "hello" && $2 == s { print $18, $19 }'; }
# frontend_counts: "REQUESTS 5XX" of the frontend so far: every request, and every answer of 502
# (a server closed or reset its connection), 503 (no server, or its connect failed) or 504 that
# HAProxy gave a client. Its requests are a few more than wrk's: those wrk cut short as it stopped
# (a 400 or none for them, not a failure).
frontend_counts() { haproxy_stat | awk -F, '$1 == "fleet" && $2 == "FRONTEND" { print $49, $44 }'; }

cat > "$WORK/haproxy.cfg" <<EOF
global
    # Every event goes to stdout, which is $WORK/haproxy.log: a request that failed (only those: see
    # dontlog-normal) with its termination state, and each server's changes of state.
    log stdout format raw local0
    stats socket ipv4@$BALANCER:$STATS_PORT level user
    maxconn 2000

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    # A request is sent to one server, once: a failure anywhere is a failure the client sees, and
    # counted. (A balancer that retries elsewhere could hide a host that drops connections.)
    retries 0
    # No keep-alive towards the servers: each request gets a connection of its own, which the
    # server closes after its response. A draining hello closes its idle keep-alive connections,
    # and a request HAProxy sent on one at that moment would be lost; with no idle server
    # connection, there is none to lose. (http-reuse never with server-side keep-alive would still
    # keep a client's server connection open between its requests; HAProxy's default, http-reuse
    # safe, leaves such a request for the client to retry.) The price is a new connection, and one
    # handoff, per request: without this line, runs here at -c50 also lost nothing (the race is
    # narrow) and carried 4-5 times the requests.
    option http-server-close
    # A request waits this long for a server's connection: herd's master accepts even while no
    # worker is ready (its queue), so a slow connect means a dead host, not a busy one.
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 10s

frontend fleet
    bind $BALANCER:$APP_PORT
    default_backend hello

backend hello
    balance roundrobin
    # check: a TCP connect to hello's port every $CHECK_INTER; $CHECK_FALL failures take the server
    #   down, $CHECK_RISE successes bring it back. It notices a host that died without a word.
    # agent-check: herd's own answer every $AGENT_INTER: "up N%" sets the weight (the share of
    #   its workers online), "drain" takes it out of rotation at once while it still serves what
    #   it has, "maint" and "down" likewise. "ready" cancels a drain or maint state.
    # weight 100: the agent's percentage is of this, so that "up 50%" is 50, not 1 x 50% rounded to 0.
    default-server check inter $CHECK_INTER fall $CHECK_FALL rise $CHECK_RISE agent-check agent-inter $AGENT_INTER agent-port $AGENT_PORT weight 100
EOF
for host in "${HOSTS[@]}"; do
  echo "    server host$host $(host_address "$host"):$APP_PORT agent-addr $(host_address "$host")" >> "$WORK/haproxy.cfg"
done

# ---------- waiting, always bounded ----------
# await SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds; gives up after SECONDS.
await() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then say "gave up after ${seconds}s waiting for $what"; return 1; fi
    sleep 0.2
  done
}
exited() { ! kill -0 "$1" 2>/dev/null; }
server_serving() { [ "$(server_state "$1")" = "UP 100" ]; }   # in rotation, at full weight
# Out of rotation: DRAIN, MAINT, DOWN (not "UP 1/2", which is up with one failed check).
out_of_rotation() { local state; state=$(server_state "$1"); [ -n "$state" ] && [[ $state != UP* ]]; }
all_serving() { local h; for h in "${HOSTS[@]}"; do server_serving "$h" || return 1; done; }
health_answers() { # HOST CODE: herd's health endpoint answers /health/hello with CODE
  local fd line
  exec {fd}<>"/dev/tcp/$(host_address "$1")/$HEALTH_PORT" || return 1
  printf 'GET /health/hello HTTP/1.1\r\nHost: fleet\r\nConnection: close\r\n\r\n' >&"$fd"
  read -r line <&"$fd"
  exec {fd}>&-
  [[ $line == "HTTP/1."?" $2"* ]]
}

# ---------- load: wrk through HAProxy, one run per phase ----------
# wrk -d bounds it; the phase stops it sooner with SIGINT, on which wrk prints its summary.
start_load() { # PHASE
  START_COUNTS=$(frontend_counts)
  wrk -t1 -c"$CONNECTIONS" -d120s --timeout 5s "http://$BALANCER:$APP_PORT/" > "$WORK/wrk-$1.txt" 2>&1 &
  WRK_PID=$!
  sleep 2   # some load before anything happens
}
FAILURES=0
REPORT=()
stop_load() { # PHASE TITLE
  local phase=$1 title=$2 requests socket non2xx failed end_counts haproxy_requests haproxy_failed
  sleep 2   # and some after
  if ! kill -0 "$WRK_PID" 2>/dev/null; then say "wrk ended before phase $phase did"; FAILURES=$((FAILURES + 1)); fi
  kill -INT "$WRK_PID" 2>/dev/null || true
  wait "$WRK_PID" || true
  WRK_PID=""
  sleep 0.5   # HAProxy sees wrk's connections close
  end_counts=$(frontend_counts)
  requests=$(awk '/requests in/ { print $1 }' "$WORK/wrk-$phase.txt")
  # "Socket errors: connect 0, read 0, write 0, timeout 0", only when there were some
  socket=$(awk '/Socket errors/ { gsub(",", ""); for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) n += $i; print n + 0 }' "$WORK/wrk-$phase.txt")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$WORK/wrk-$phase.txt")
  failed=$(( ${socket:-0} + ${non2xx:-0} ))
  read -r haproxy_requests haproxy_failed < <(awk -v a="$START_COUNTS" -v b="$end_counts" \
    'BEGIN { split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2] }')
  [ -n "$requests" ] || { say "wrk printed no summary: $(cat "$WORK/wrk-$phase.txt")"; requests=0; failed=1; }
  REPORT+=("$(printf '%-40s %12s %10s %16s %12s' "$phase. $title" "$requests" "$failed" "$haproxy_requests" "$haproxy_failed")")
  [ "$failed" = 0 ] && [ "$haproxy_failed" = 0 ] || FAILURES=$((FAILURES + 1))
}

# ---------- the run ----------
: > "$WORK/hosts"
for host in "${HOSTS[@]}"; do write_herd_config "$host"; start_herd "$host"; done
haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!
await 10 "HAProxy's stats socket" haproxy_stat
await 120 "every host in rotation at full weight (herd's agent: up 100%)" all_serving
for host in "${HOSTS[@]}"; do await 10 "host$host's /health/hello to answer 200" health_answers "$host" 200; done
say "3 hosts serving through HAProxy; load: wrk -c$CONNECTIONS through $BALANCER:$APP_PORT"

# a. One host stopped and started again.
start_load a
phase_start=$SECONDS
kill -TERM "${HERD_PID[1]}"
await 5 "HAProxy to take host1 out of rotation (its agent: drain)" out_of_rotation 1 || FAILURES=$((FAILURES + 1))
stop_status=0
if ! await 60 "host1's herd to exit (drain delay + herd.stop.timeout)" exited "${HERD_PID[1]}"; then
  FAILURES=$((FAILURES + 1))
  kill -KILL "${HERD_PID[1]}"   # (its workers notice their master's end and exit)
fi
wait "${HERD_PID[1]}" || stop_status=$?
[ "$stop_status" = 0 ] || { say "host1's herd exited with $stop_status on SIGTERM (see $WORK/host1/console.log)"; FAILURES=$((FAILURES + 1)); }
say "a. host1 stopped after $((SECONDS - phase_start))s; HAProxy: $(server_state 1)"
start_herd 1
await 120 "HAProxy to put host1 back in rotation at full weight" server_serving 1 || FAILURES=$((FAILURES + 1))
say "a. host1 back in rotation after $((SECONDS - phase_start))s"
stop_load a "host1 stopped and started again"

# b. A rolling reload across the three hosts, from one command.
start_load b
phase_start=$SECONDS
reload_status=0
# In the background and waited for, so that a SIGTERM to this script is acted on at once.
HERD_AOT=off timeout 180 "$HERD_HOME/bin/herd" --hosts-file "$WORK/hosts" reload hello > "$WORK/reload.txt" 2>&1 &
CLI_PID=$!
wait "$CLI_PID" || reload_status=$?
CLI_PID=""
sed 's/^/fleet:   | /' "$WORK/reload.txt"
[ "$reload_status" = 0 ] || { say "b. herd --hosts-file reload hello exited with $reload_status"; FAILURES=$((FAILURES + 1)); }
await 60 "every host back in rotation at full weight" all_serving || FAILURES=$((FAILURES + 1))
say "b. rolling reload over after $((SECONDS - phase_start))s"
stop_load b "rolling reload of 3 hosts, one command"

# ---------- the report ----------
say "$(printf '%-40s %12s %10s %16s %12s' phase "wrk requests" "wrk failed" "HAProxy requests" "HAProxy 5xx")"
for line in "${REPORT[@]}"; do say "$line"; done
# The requests HAProxy failed, as it logged them (dontlog-normal: only those), with the
# termination state that says who gave up (HAProxy's manual, "Session state at disconnection").
# A request's line: client [date] frontend backend/server timers STATUS bytes ... state ...
awk '$6 ~ /^5[0-9][0-9]$/' "$WORK/haproxy.log" > "$WORK/failed-requests.log"
if [ -s "$WORK/failed-requests.log" ]; then
  say "HAProxy's log of the failed requests ($(wc -l < "$WORK/failed-requests.log"); the first 10):"
  head -10 "$WORK/failed-requests.log" | sed 's/^/fleet:   | /'
fi
if [ "$FAILURES" -gt 0 ]; then
  say "the last lines of host1's herd (stopped and started in phase a):"
  tail -n 15 "$WORK/host1/console.log" | sed 's/^/fleet:   | /'
  say "FAILED: $FAILURES problem(s) above (FLEET_KEEP=1 keeps every log and config)"
  exit 1
fi
say "OK: no request failed"
