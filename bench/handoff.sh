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

wait_for "$ALONE_PORT"; wait_for "$HERD_PORT"
compare alone "$ALONE_PORT"
