#!/usr/bin/env bash
# What herd's dispatch costs: the hello example served (a) alone on its port, one JVM, and
# (b) by herd with 2 worker JVMs, measured side by side in one run with wrk on loopback:
# keep-alive (-c50) and one connection per request (Connection: close), rounds interleaved.
# Prints req/s and p99 for each, the ratio herd / alone, and for each connection-per-request run
# the master's CPU per connection (CPU time of the master JVM ÷ connections). The machine is
# shared: read the ratios and the CPU per connection, not the req/s.
# Targets (issue 16): connection per request >= 0.90 with handoff, >= 0.95 with shared;
# keep-alive >= 0.97 with both.
#
#   [DISPATCH=handoff|shared] bench/handoff.sh [ROUNDS=3] [SECONDS=10]
# DISPATCH: app.hello.dispatch for herd (default handoff: the master accepts and hands each
# connection to a worker; shared: the workers accept from the listening socket themselves).
# HERD_WORKER_EXTRA_OPTS adds JVM options to herd's workers only, for experiments (e.g.
# -Djdk.virtualThreadScheduler.parallelism=1 gives keep-alive ~1.00 but a p99 several times worse).
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-10}
ALONE_PORT=${ALONE_PORT:-18081}
HERD_PORT=${HERD_PORT:-18082}
JVM_OPTS="-XX:+UseSerialGC -Xmx64m -Xss256k"   # hello's options, alone and under herd alike
DISPATCH=${DISPATCH:-handoff}
case "$DISPATCH" in
  handoff|shared) ;;
  *) echo "bench: DISPATCH=$DISPATCH: expected handoff or shared" >&2; exit 2 ;;
esac

echo "dispatch: $DISPATCH"
hello_config "$HERD_PORT" "app.hello.dispatch = $DISPATCH"

# shellcheck disable=SC2086
"$JAVA" $JVM_OPTS -jar "$HERD_HOME/examples/hello/target/hello.jar" "$ALONE_PORT" > "$work/alone.log" 2>&1 &
pids+=($!)
start_herd

wait_for "$ALONE_PORT"; wait_for "$HERD_PORT"
compare alone "$ALONE_PORT"
