"""Start-up timings for bench/startup.sh: spawn -> first HTTP 200, interleaved round by round.

usage: startup.py ROUNDS PORT YARDSTICK_CMD ALONE_CMD MANAGED_CMD
  YARDSTICK_CMD, ALONE_CMD  commands (one string each, split on spaces) of servers that bind
                            127.0.0.1:PORT themselves ({port} stands for PORT)
  MANAGED_CMD               a herd-sdk app started as a herd worker, under a fake master played
                            here: it listens on the IPC socket (HERD_IPC), answers the worker's
                            HELLO, waits for READY, then hands it one TCP connection (SCM_RIGHTS)
                            and sends a request over it.
Prints each variant's median and min, and the differences to the yardstick.
"""
import os, socket, statistics, struct, subprocess, sys, tempfile, time

HELLO, HANDOFF, READY = 20, 1, 10
LIMIT = 10.0  # seconds a start may take before the run is abandoned


def frame(kind, family=0, count=0, ident=0, payload=b""):
    # docs/IPC.md: type, family, payload length, count, id; host byte order
    return struct.pack("=BBHiq", kind, family, len(payload), count, ident) + payload


def cpu_ms(pid):
    """CPU time (all threads) the process has used so far, from /proc/<pid>/task/*/schedstat."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e6


def request(sock):
    sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
    answer = sock.recv(100)
    if not answer.startswith(b"HTTP/1.1 200"):
        raise RuntimeError("unexpected answer %r" % answer)


def alone(cmd, port):
    """ms from spawn to the first 200 of a server binding its own port."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - t0 < LIMIT:
            if p.poll() is not None:
                raise RuntimeError("%s exited with %d" % (cmd[0], p.returncode))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=LIMIT) as s:
                    request(s)
                    return {"200": (time.monotonic() - t0) * 1000, "cpu@200": cpu_ms(p.pid)}
            except ConnectionRefusedError:
                time.sleep(0.001)
        raise RuntimeError("nothing answered on port %d within %.0f s" % (port, LIMIT))
    finally:
        p.kill()
        p.wait()


def managed(cmd):
    """ms from spawn to the worker's HELLO, READY and first 200 (through a handed-off connection)."""
    directory = tempfile.mkdtemp(prefix="herd-startup.")
    path = os.path.join(directory, "ipc.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(1)
    listener.settimeout(LIMIT)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(1)
    env = dict(os.environ, HERD_IPC=path, HERD_APP="bench", HERD_INSTANCE="0")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marks = {}
    try:
        channel, _ = listener.accept()
        channel.settimeout(LIMIT)
        first = channel.recv(300)
        if not first or first[0] != HELLO:
            raise RuntimeError("the worker's first message is not a HELLO: %r" % first)
        marks["hello"] = time.monotonic()
        _, _, _, newest, oldest = struct.unpack("=BBHiq", first[:16])
        channel.send(frame(HELLO, count=newest, ident=oldest, payload=b"startup-bench"))  # speak what it speaks
        ready = channel.recv(300)
        if not ready or ready[0] != READY:
            raise RuntimeError("expected READY, got %r" % ready)
        marks["ready"] = time.monotonic()
        cpu = cpu_ms(p.pid)
        with socket.create_connection(tcp.getsockname()) as client:
            accepted, _ = tcp.accept()
            socket.send_fds(channel, [frame(HANDOFF, family=4, ident=1)], [accepted.fileno()])
            accepted.close()
            client.settimeout(LIMIT)
            request(client)
        marks["200"] = time.monotonic()
        cpu_at_200 = cpu_ms(p.pid)
        channel.close()
        result = {k: (v - t0) * 1000 for k, v in marks.items()}
        result["cpu@ready"] = cpu
        result["cpu@200"] = cpu_at_200
        return result
    finally:
        p.kill()
        p.wait()
        listener.close()
        tcp.close()
        os.unlink(path)
        os.rmdir(directory)


def main():
    rounds, port = int(sys.argv[1]), int(sys.argv[2])
    commands = [c.replace("{port}", str(port)).split() for c in sys.argv[3:6]]
    names = ["no-SDK yardstick", "hello alone", "hello managed"]
    runs = {name: [] for name in names}
    for _ in range(rounds):
        runs[names[0]].append(alone(commands[0], port))
        runs[names[1]].append(alone(commands[1], port))
        runs[names[2]].append(managed(commands[2]))

    def median(name, mark):
        return statistics.median(r[mark] for r in runs[name])

    print("%-18s %-10s %9s %7s   all" % ("variant", "spawn ->", "median", "min"))
    for name in names:
        for mark in ["hello", "ready", "200", "cpu@ready", "cpu@200"]:
            if mark not in runs[name][0]:
                continue
            values = [r[mark] for r in runs[name]]
            print("%-18s %-10s %6.0f ms %4.0f ms   %s" % (name, mark, statistics.median(values), min(values),
                                                        " ".join("%.0f" % v for v in values)))
    base, base_cpu = median(names[0], "200"), median(names[0], "cpu@200")
    print()
    print("The SDK's cost, medians against the yardstick's (CPU time is the steadier on a busy machine):")
    print("hello alone  : first 200 %+4.0f ms (x%.2f); CPU to the first 200 %+4.0f ms (x%.2f)" % (
        median(names[1], "200") - base, median(names[1], "200") / base,
        median(names[1], "cpu@200") - base_cpu, median(names[1], "cpu@200") / base_cpu))
    print("hello managed: first 200 %+4.0f ms (x%.2f); CPU to the first 200 %+4.0f ms (x%.2f); READY %+.0f ms" % (
        median(names[2], "200") - base, median(names[2], "200") / base,
        median(names[2], "cpu@200") - base_cpu, median(names[2], "cpu@200") / base_cpu, median(names[2], "ready") - base))


if __name__ == "__main__":
    main()
