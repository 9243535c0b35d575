package io.herd.engine;

/**
 * When a worker that exited unexpectedly is started again, PM2's way: an exponential back-off
 * (×1.5 from 100 ms, capped at 15 s, back to 100 ms once a worker stayed up 30 s), and an
 * instance that crashed more than 16 times in a row within a second of starting is errored
 * rather than restarted forever.
 */
final class RestartPolicy {
    static final long FIRST_DELAY_MILLIS = 100;
    static final long MAX_DELAY_MILLIS = 15_000;
    static final long STABLE_AFTER_MILLIS = 30_000;
    static final long MIN_UPTIME_MILLIS = 1_000;
    static final int MAX_UNSTABLE_RESTARTS = 16;

    record Decision(boolean errored, long delayMillis) {
    }

    Decision afterExit(Cluster.Slot slot, long aliveMillis) {
        slot.unstableRestarts = aliveMillis < MIN_UPTIME_MILLIS ? slot.unstableRestarts + 1 : 0;
        if (slot.unstableRestarts > MAX_UNSTABLE_RESTARTS) return new Decision(true, 0);
        if (aliveMillis >= STABLE_AFTER_MILLIS || slot.nextDelayMillis == 0) slot.nextDelayMillis = FIRST_DELAY_MILLIS;
        long delay = slot.nextDelayMillis;
        slot.nextDelayMillis = Math.min((long) (delay * 1.5), MAX_DELAY_MILLIS);
        return new Decision(false, delay);
    }
}
