#!/usr/bin/env python3
"""Stands in for systemd's socket activation in herd's tests, where systemd-socket-activate cannot:
holds the sockets itself and passes them, as descriptors 3, 4, ..., with LISTEN_FDS, LISTEN_FDNAMES
and LISTEN_PID, to a command it runs once, or again and again (a service restarted by systemd).

usage: pass-sockets.py [--runs N] [--wrong-pid] SOCKET... -- COMMAND...

SOCKET is one of
  tcp:HOST:PORT:NAME    a listening TCP socket (backlog 128)
  connected:NAME        a TCP connection (to a listener made for it), not a listening socket
  udp:HOST:PORT:NAME    a UDP socket
  file:NAME             /dev/null, no socket at all

--runs N     runs COMMAND N times, one after the other: before each run but the first, waits
             for a line on stdin; prints "exited STATUS" after each. Without it, execs COMMAND.
--wrong-pid  sets LISTEN_PID to this script's parent instead of COMMAND's pid.
"""
import fcntl
import os
import socket
import sys

# Every object made here stays referenced until the end: one collected would close its descriptor.
kept = []


def make(spec):
    kind, _, rest = spec.partition(":")
    if kind == "tcp":
        host, port, name = rest.rsplit(":", 2)
        host = host.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        s.listen(128)
        print("listening on %s:%d as %s" % (host, s.getsockname()[1], name), flush=True)
        return s, name
    if kind == "connected":
        server = socket.create_server(("127.0.0.1", 0))
        kept.append(server)
        s = socket.create_connection(server.getsockname())
        return s, rest
    if kind == "udp":
        host, port, name = rest.rsplit(":", 2)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, int(port)))
        return s, name
    if kind == "file":
        return open("/dev/null", "rb"), rest
    raise SystemExit("unknown socket kind: " + spec)


def main():
    args = sys.argv[1:]
    runs, wrong_pid = 0, False
    while args and args[0].startswith("--") and args[0] != "--":
        if args[0] == "--runs":
            runs = int(args[1])
            args = args[2:]
        elif args[0] == "--wrong-pid":
            wrong_pid = True
            args = args[1:]
        else:
            raise SystemExit("unknown option " + args[0])
    split = args.index("--")
    sockets = [make(spec) for spec in args[:split]]
    command = args[split + 1:]

    # Descriptors 3, 4, ... in order, inheritable, as systemd passes them: first out of the way
    # (a socket may have one of those numbers now), then into place.
    kept.extend(s for s, _ in sockets)
    out_of_the_way = [fcntl.fcntl(s.fileno(), fcntl.F_DUPFD_CLOEXEC, 100) for s, _ in sockets]
    for i, fd in enumerate(out_of_the_way):
        os.dup2(fd, 3 + i, inheritable=True)
    os.environ["LISTEN_FDS"] = str(len(sockets))
    os.environ["LISTEN_FDNAMES"] = ":".join(name for _, name in sockets)

    def child_environment():
        os.environ["LISTEN_PID"] = str(os.getppid() if wrong_pid else os.getpid())

    if runs == 0:
        child_environment()
        os.execvp(command[0], command)
    for run in range(runs):
        if run > 0 and not sys.stdin.readline():
            break
        pid = os.fork()
        if pid == 0:
            child_environment()
            os.execvp(command[0], command)
        _, status = os.waitpid(pid, 0)
        print("exited %d" % os.waitstatus_to_exitcode(status), flush=True)


main()
