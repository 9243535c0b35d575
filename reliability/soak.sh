#!/usr/bin/env bash
# The soak: hello on 2 workers under a steady wrk load (-c20) for MINUTES, with a graceful reload
# every RELOAD_EVERY seconds (60) and a scale change (3, then back to 2) every SCALE_EVERY seconds
# (300). Passes when no request failed and the master's RSS stayed flat (the highest sample of the
# second half is within 20% of the first half's); prints the RSS samples either way.
#
#   reliability/soak.sh [MINUTES=30]
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/../bench/lib.sh"
MINUTES=${1:-30}
RELOAD_EVERY=${RELOAD_EVERY:-60}
SCALE_EVERY=${SCALE_EVERY:-300}
PORT=${HERD_PORT:-18085}

hello_config "$PORT"
start_herd
url=$(sed -n 's/.*Jolokia on \(http[^ ]*\).*/\1/p' "$work/herd.log" | head -n 1)
herd() { "$HERD_HOME/bin/herd" "$@" --url "$url" --password-file "$work/jolokia.password"; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$herd_pid/status"; }

wrk -t1 -c20 -d"${MINUTES}m" --latency "http://127.0.0.1:$PORT/" > "$work/wrk.out" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")

samples=()
reloads=0; scales=0; failed_ops=0; instances=2
start=$(date +%s); end=$((start + MINUTES * 60))
next_reload=$((start + RELOAD_EVERY)); next_scale=$((start + SCALE_EVERY))
while [ "$(date +%s)" -lt "$end" ]; do
  sleep 5
  now=$(date +%s)
  if [ "$now" -ge "$next_scale" ] && [ "$now" -lt "$end" ]; then
    instances=$((instances == 2 ? 3 : 2))
    herd scale hello "$instances" > /dev/null || failed_ops=$((failed_ops + 1))
    scales=$((scales + 1)); next_scale=$((next_scale + SCALE_EVERY))
  fi
  if [ "$now" -ge "$next_reload" ] && [ "$now" -lt "$end" ]; then
    herd graceful-reload hello > /dev/null || failed_ops=$((failed_ops + 1))
    reloads=$((reloads + 1)); next_reload=$((next_reload + RELOAD_EVERY))
    samples+=("$(rss)")
    echo "soak: $(( (now - start) / 60 )) min: $reloads reloads, $scales scale changes, master RSS ${samples[-1]} KiB" >&2
  fi
done
wait "$wrk_pid" || true

requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
errors=$(awk '/Socket errors|Non-2xx/ {print}' "$work/wrk.out" | tr '\n' ' ')
echo "soak: $MINUTES min, $requests requests, $reloads graceful reloads, $scales scale changes, $failed_ops failed operations"
echo "soak: request errors: ${errors:-none}"
echo "soak: master RSS (KiB) after each reload: ${samples[*]:-none}"
verdict=0
[ -z "$errors" ] && [ "$failed_ops" -eq 0 ] || verdict=1
if [ "${#samples[@]}" -ge 2 ]; then
  half=$(( ${#samples[@]} / 2 ))
  first=$(printf '%s\n' "${samples[@]:0:$half}" | sort -n | tail -n 1)
  second=$(printf '%s\n' "${samples[@]:$half}" | sort -n | tail -n 1)
  if [ "$second" -gt $((first * 120 / 100)) ]; then
    echo "soak: master RSS grew: $first KiB at most in the first half, $second KiB in the second"; verdict=1
  else
    echo "soak: master RSS flat: $first KiB at most in the first half, $second KiB in the second"
  fi
fi
[ "$verdict" -eq 0 ] && echo "soak: PASSED" || echo "soak: FAILED"
exit "$verdict"
