package io.herd.service;

/**
 * The one place herd touches {@code sun.misc.Signal} (module jdk.unsupported, exported to all):
 * without it a SIGTERM would end the JVM with status 143 through the shutdown hooks, where an
 * orderly stop that exits 0 is what systemd and operators expect.
 */
final class Signals {
    private Signals() {
    }

    /** Runs {@code handler} on SIGTERM and SIGINT, instead of the JVM's default exit. */
    @SuppressWarnings("removal")
    static void onStop(Runnable handler) {
        for (String name : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> handler.run());
        }
    }

    /** Runs {@code handler} on SIGUSR2, as jsvc calls DaemonUserSignal.signal(). */
    @SuppressWarnings("removal")
    static void onUser2(Runnable handler) {
        sun.misc.Signal.handle(new sun.misc.Signal("USR2"), signal -> handler.run());
    }
}
