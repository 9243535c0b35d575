#!/usr/bin/env bash
# How fast a herd worker starts, and what herd-sdk adds to an app's start. In one run:
#   1. spawn -> first HTTP 200, interleaved round by round (ROUNDS, default 15), of
#      - a yardstick: bench/NoSdkHello.java, hello's serving loop on the plain JDK, no SDK;
#      - hello alone (the SDK binds the port itself);
#      - hello managed: started as a herd worker under a fake master (bench/startup.py), which
#        times its HELLO, its READY and the first 200 through a handed-off connection;
#   2. the real thing: herd run with 2 hello workers; the master's "ready after N ms" (launch ->
#      ready) for the two started with the master, and for KILLS (default 5) replacements of a
#      worker killed with SIGKILL at idle.
# Prints medians and the SDK's added milliseconds. Needs python3.
# Usage: bench/startup.sh            (ROUNDS=N KILLS=N PORT=N to change the defaults)
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib.sh"
command -v python3 >/dev/null || { echo "bench: startup.sh needs python3" >&2; exit 1; }
ROUNDS=${ROUNDS:-15}
KILLS=${KILLS:-5}
PORT=${PORT:-18470}

# The yardstick runs from a jar, as hello does (the source launcher would compile it at every start).
mkdir -p "$work/nosdk"
"$JAVA_HOME/bin/javac" -d "$work/nosdk" "$HERD_HOME/bench/NoSdkHello.java"
"$JAVA_HOME/bin/jar" --create --file "$work/nosdk.jar" --main-class NoSdkHello -C "$work/nosdk" .

# What a herd worker gets from the master (WorkerLauncher), and the options bench/lib.sh gives hello.
HERD_FLAGS="--add-opens java.base/sun.nio.ch=ALL-UNNAMED --enable-native-access=ALL-UNNAMED"
OPTS="-XX:+UseSerialGC -Xmx64m -Xss256k"
HELLO_JAR="$HERD_HOME/examples/hello/target/hello.jar"

echo "== spawn -> first 200, $ROUNDS interleaved rounds (JVM options: $OPTS)"
python3 "$HERD_HOME/bench/startup.py" "$ROUNDS" "$PORT" \
  "$JAVA $OPTS -jar $work/nosdk.jar {port}" \
  "$JAVA $OPTS -jar $HELLO_JAR {port}" \
  "$JAVA $HERD_FLAGS $OPTS -jar $HELLO_JAR"

echo
echo "== under herd run: the master's launch -> ready"
hello_config "$((PORT + 1))"
start_herd
ready_lines() { grep -o 'ready after [0-9]* ms' "$work/herd.log" | grep -o '[0-9]*' || true; }
at_start=$(ready_lines | tr '\n' ' ')
for _ in $(seq 1 "$KILLS"); do
  sleep 1.5 # past min.uptime (1 s): a stable worker, restarted after restart.delay
  before=$(ready_lines | wc -l)
  victim=$(grep -o 'hello#[0-9] (pid [0-9]*): launching -> online' "$work/herd.log" | tail -n1 | grep -o 'pid [0-9]*' | cut -d' ' -f2)
  kill -9 "$victim"
  for _ in $(seq 1 100); do [ "$(ready_lines | wc -l)" -gt "$before" ] && break; sleep 0.05; done
  [ "$(ready_lines | wc -l)" -gt "$before" ] || { echo "bench: no replacement came online" >&2; cat "$work/herd.log" >&2; exit 1; }
done
restarts=$(ready_lines | tail -n +3 | tr '\n' ' ')
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
echo "two workers started with the master: ready after $at_start(ms)"
echo "replacements of a SIGKILLed worker:  ready after $restarts(ms), median $(echo "$restarts" | median) ms"
