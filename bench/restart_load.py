"""The steady client of bench/restart.sh: CLIENTS threads, each opening a new connection per request
(GET / with Connection: close) every INTERVAL_MS, until STOP_FILE exists (or MAX_SECONDS pass).

usage: restart_load.py PORT CLIENTS INTERVAL_MS EVENTS STOP_FILE MAX_SECONDS

Each request ends as one of
  served    an HTTP 200, read to the end (its wait: from before connect() to the last byte)
  refused   connect() failed with ECONNREFUSED: nothing listened on the port
  other     anything else: a reset, a timeout (TIMEOUT seconds), a short or non-200 answer
EVENTS is the file where restart.sh writes "stop MS" (SIGTERM sent) and "exited MS" (that herd
has exited), wall-clock milliseconds, one pair per restart. At the end, prints one line:
  served refused other gaps exits slowest_ms window
gaps: each restart's stop -> the first request served after that herd exited (ms, comma-separated);
exits: each restart's stop -> that herd's exit (ms, comma-separated);
window: of the requests begun inside those gaps, "begun/served/refused/other".
Each gap's detail (its slowest served request) and the error kinds go to stderr.
"""
import collections
import os
import socket
import sys
import threading
import time

TIMEOUT = 30.0  # seconds one request may take (connect, send, read) before it counts as other


def now_ms():
    return time.time() * 1000.0


def one_request(port):
    """("served", None) or ("refused", None) or ("other", kind); never raises."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = b""
            while len(answer) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
    except ConnectionRefusedError:
        return "refused", None
    except OSError as e:  # resets, timeouts, broken pipes
        return "other", type(e).__name__
    if not answer.startswith(b"HTTP/1.1 200"):
        return "other", "answer: " + (answer.split(b"\r\n", 1)[0].decode("latin-1") or "empty")
    if not answer.endswith(b"hello world"):
        return "other", "short body"
    return "served", None


def client(port, interval_ms, stop_file, deadline, records, lock):
    next_at = time.monotonic()
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        begun = now_ms()
        outcome, kind = one_request(port)
        with lock:
            records.append((begun, now_ms(), outcome, kind))
        next_at += interval_ms / 1000.0
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            next_at = time.monotonic()  # fell behind (a long wait): no burst to catch up


def restarts(events_file):
    """[(stop_ms, exited_ms), ...] from restart.sh's events file."""
    stops, exits = [], []
    with open(events_file) as f:
        for line in f:
            what, ms = line.split()
            (stops if what == "stop" else exits).append(float(ms))
    return list(zip(stops, exits))


def main():
    port, clients, interval_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    events_file, stop_file, max_seconds = sys.argv[4], sys.argv[5], float(sys.argv[6])
    deadline = time.monotonic() + max_seconds
    records, lock = [], threading.Lock()
    threads = [threading.Thread(target=client, args=(port, interval_ms, stop_file, deadline, records, lock))
               for _ in range(clients)]
    for t in threads:
        t.start()
        time.sleep(interval_ms / 1000.0 / clients)  # spread the clients over the interval
    for t in threads:
        t.join()

    count = collections.Counter(outcome for _, _, outcome, _ in records)
    kinds = collections.Counter(kind for _, _, outcome, kind in records if outcome == "other")
    served = sorted((begun, ended) for begun, ended, outcome, _ in records if outcome == "served")
    slowest = max((ended - begun for begun, ended in served), default=0)

    gaps, exits, window = [], [], collections.Counter()
    for number, (stop, exited) in enumerate(restarts(events_file), 1):
        exits.append("%.0f" % (exited - stop))
        first = min((ended for _, ended in served if ended > exited), default=None)
        if first is None:
            gaps.append("none")
            continue
        gaps.append("%.0f" % (first - stop))
        inside = [(begun, ended, outcome) for begun, ended, outcome, _ in records if stop <= begun < first]
        window.update(outcome for _, _, outcome in inside)
        longest = max(((ended - begun, begun) for begun, ended, outcome in inside if outcome == "served"), default=None)
        others = ["%s begun at +%.0f ms" % (kind, begun - stop)
                  for begun, _, outcome, kind in records if outcome == "other" and stop <= begun < first]
        print("  restart %d: herd exited %.0f ms after SIGTERM, the next served %.0f ms after it; %s%s" % (
            number, exited - stop, first - stop,
            "the longest wait begun in the gap: %.0f ms, begun at +%.0f ms" % (longest[0], longest[1] - stop)
            if longest else "no request begun in the gap was served",
            "; other: " + ", ".join(others) if others else ""), file=sys.stderr)
    print("%d %d %d %s %s %.0f %d/%d/%d/%d" % (
        count["served"], count["refused"], count["other"], ",".join(gaps) or "-", ",".join(exits) or "-",
        slowest, sum(window.values()), window["served"], window["refused"], window["other"]))
    begun, ended = max(served, key=lambda r: r[1] - r[0], default=(0, 0))
    if served:
        print("  the slowest served request: %.0f ms, begun at %s" % (
            ended - begun, time.strftime("%H:%M:%S", time.gmtime(begun / 1000)) + ".%03d" % (begun % 1000)), file=sys.stderr)
    for kind, n in kinds.most_common():
        print("  other: %d x %s" % (n, kind), file=sys.stderr)


main()
