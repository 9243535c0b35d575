package io.herd.internal;

import io.herd.ipc.Unix;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What sd_notify(3) does, without libsystemd: each message one datagram to the socket systemd
 * names in {@code NOTIFY_SOCKET}, its lines {@code KEY=value} ("READY=1", "STATUS=...").
 *
 * <p>Made from the service's environment once. Without {@code NOTIFY_SOCKET} (not started by
 * systemd as {@code Type=notify}) every message is dropped and nothing native is called. A
 * message that cannot be sent is logged, the first time only, and never stops the service:
 * systemd decides what a missing READY or WATCHDOG means.
 */
public final class SystemdNotifier {
    private static final System.Logger LOG = System.getLogger(SystemdNotifier.class.getName());

    /** Where systemd listens: a path, or "@name" in the abstract namespace; null for none. */
    private final String socket;
    /** Half of WATCHDOG_USEC, when systemd watches this process; else null. */
    private final Duration watchdogInterval;
    private final AtomicBoolean failureLogged = new AtomicBoolean();

    private SystemdNotifier(String socket, Duration watchdogInterval) {
        this.socket = socket;
        this.watchdogInterval = watchdogInterval;
    }

    /**
     * From {@code environment} (the service's own, {@link System#getenv()}), as systemd sets it
     * for the process it started, {@code pid}.
     *
     * @param pid this process's id: {@code WATCHDOG_PID}, when set, must name it for the watchdog
     *            to be this process's (it may be meant for another process of the unit)
     */
    public static SystemdNotifier fromEnvironment(Map<String, String> environment, long pid) {
        String socket = environment.get("NOTIFY_SOCKET");
        if (socket == null || socket.isEmpty()) return new SystemdNotifier(null, null);
        return new SystemdNotifier(socket, watchdogInterval(environment, pid));
    }

    /** Half of {@code WATCHDOG_USEC}, the interval sd_watchdog_enabled(3) advises; null when the watchdog is off or another process's. */
    private static Duration watchdogInterval(Map<String, String> environment, long pid) {
        String usec = environment.get("WATCHDOG_USEC");
        if (usec == null) return null;
        String watchdogPid = environment.get("WATCHDOG_PID");
        if (watchdogPid != null && !watchdogPid.equals(Long.toString(pid))) return null;
        long micros;
        try {
            micros = Long.parseLong(usec.trim());
        } catch (NumberFormatException e) {
            LOG.log(Level.WARNING, "WATCHDOG_USEC={0} is not a number of microseconds: no watchdog", usec);
            return null;
        }
        return micros > 1 ? Duration.ofNanos(micros / 2 * 1_000) : null;
    }

    /** True when systemd listens: NOTIFY_SOCKET is set. */
    public boolean enabled() {
        return socket != null;
    }

    /** How often systemd expects WATCHDOG=1 (half its WatchdogSec); null when it does not watch this process. */
    public Duration watchdogInterval() {
        return watchdogInterval;
    }

    /**
     * Sends one message, its lines together ("READY=1", "STATUS=hello 2/2 online"). Synchronized,
     * so that messages from several threads reach systemd in the order they were sent.
     */
    public synchronized void send(String... lines) {
        if (socket == null) return;
        String message = String.join("\n", lines);
        try {
            Unix.sendDatagram(socket, message.getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            if (failureLogged.compareAndSet(false, true)) {
                LOG.log(Level.WARNING, "cannot notify systemd at NOTIFY_SOCKET={0}: {1} (said once; the service goes on)", socket, e.getMessage());
            }
        }
    }

    /**
     * CLOCK_MONOTONIC now, in microseconds, as {@code MONOTONIC_USEC=} wants it: on Linux the
     * JVM's {@link System#nanoTime()} reads that clock (the service's notification test checks it
     * against a receiver's own clock_gettime).
     */
    public static long monotonicMicros() {
        return System.nanoTime() / 1_000;
    }

    /** A STATUS= line's text on one line: a newline would end the field and start a bogus one. */
    public static String oneLine(String text) {
        return text.replace('\n', ' ').replace('\r', ' ');
    }
}
