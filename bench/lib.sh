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

# start_herd: runs bin/herd on $work/herd.properties and waits until both workers are online.
start_herd() {
  HERD_JAVA_OPTS="${HERD_JAVA_OPTS:--XX:+UseSerialGC -Xmx256m}" "$HERD_HOME/bin/herd" run "$work/herd.properties" > "$work/herd.log" 2>&1 &
  herd_pid=$!
  pids+=("$herd_pid")
  for _ in $(seq 1 300); do [ "$(grep -c -- '-> online' "$work/herd.log")" -ge 2 ] && return 0; sleep 0.1; done
  echo "bench: herd's workers did not come online" >&2; cat "$work/herd.log" >&2; exit 1
}
