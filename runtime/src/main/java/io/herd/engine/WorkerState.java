package io.herd.engine;

import java.util.EnumSet;
import java.util.Set;

/**
 * Where a worker is in its life. Only its cluster's event thread moves a worker from one state to
 * the next, and only along the arrows listed here. A worker is one JVM: a restart is a new worker
 * for the same instance index, so the one that died ends in WAITING_RESTART (its replacement
 * is coming) or ERRORED (none is).
 */
public enum WorkerState {
    /** Its JVM is starting; it gets no connections before it says it is ready. */
    LAUNCHING,
    /** Ready and in rotation: it gets new connections. */
    ONLINE,
    /**
     * A warm spare ({@code spares}): ready, but out of rotation, and gets no connections until it
     * takes a place: a crashed worker's, or one a scale-up adds. It then goes online at once.
     */
    SPARE,
    /** Out of rotation and asked to stop; it finishes what it has. */
    STOPPING,
    /** Its JVM has exited. */
    STOPPED,
    /**
     * It crashed too often in a row, or its SDK speaks no IPC version the master does; it is not
     * restarted until an operator acts.
     */
    ERRORED,
    /** Its JVM exited unexpectedly; it is restarted after a back-off delay. */
    WAITING_RESTART;

    private Set<WorkerState> next;

    static {
        LAUNCHING.next = EnumSet.of(ONLINE, SPARE, STOPPING, STOPPED);
        ONLINE.next = EnumSet.of(STOPPING, STOPPED);
        SPARE.next = EnumSet.of(ONLINE, STOPPING, STOPPED);
        STOPPING.next = EnumSet.of(STOPPED);
        STOPPED.next = EnumSet.of(WAITING_RESTART, ERRORED);
        WAITING_RESTART.next = EnumSet.of(STOPPED);
        ERRORED.next = EnumSet.noneOf(WorkerState.class);
    }

    /** True while its JVM runs and herd has not asked it to stop: launching, online or spare. */
    public boolean running() {
        return this == LAUNCHING || this == ONLINE || this == SPARE;
    }

    public boolean canMoveTo(WorkerState target) {
        return next.contains(target);
    }

    /** The name operators read: lower case, as PM2 shows it ("waiting restart"). */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    }
}
